/* Reading the SigV4 test suite's raw requests. Failures to allocate abort:
 * this is test code and a half-built request would only blur the report. */
#define _POSIX_C_SOURCE 200809L

#include "sigv4_test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *need(void *p)
{
    if (!p) {
        fputs("out of memory\n", stderr);
        abort();
    }
    return p;
}

static void text_put(sigv4_text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->data = need(realloc(t->data, t->cap));
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

void sigv4_text_add(sigv4_text *t, const char *s)
{
    text_put(t, s, strlen(s));
}

void sigv4_text_add_encoded(sigv4_text *t, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~", *c)) {
            text_put(t, (const char *)c, 1);
        } else {
            char e[3] = {'%', hex[*c >> 4], hex[*c & 15]};
            text_put(t, e, 3);
        }
    }
}

char *sigv4_read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    sigv4_text t = {0};
    char chunk[4096];
    size_t n;
    text_put(&t, "", 0);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        text_put(&t, chunk, n);
    fclose(f);
    if (len)
        *len = t.len;
    return t.data;
}

void sigv4_add_header(sigv4_http_request *r, const char *name, const char *value)
{
    if (r->header_count == SIGV4_MAX_HEADERS) {
        fputs("too many headers\n", stderr);
        abort();
    }
    r->headers[r->header_count].name = need(strdup(name));
    r->headers[r->header_count].value = need(strdup(value));
    r->header_count++;
}

void sigv4_free_request(sigv4_http_request *r)
{
    free(r->method);
    free(r->path);
    free(r->query);
    for (size_t i = 0; i < r->header_count; i++) {
        free((void *)r->headers[i].name);
        free((void *)r->headers[i].value);
    }
    free(r->body);
    memset(r, 0, sizeof *r);
}

static char *copy(const char *s, size_t n)
{
    char *p = need(malloc(n + 1));
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* An obsolete line folding is one space between the two parts (RFC 9112);
 * the signer then collapses any run of spaces. */
static void continue_value(sigv4_http_request *r, const char *line, size_t n)
{
    kvsp_sigv4_header *h = &r->headers[r->header_count - 1];
    while (n && (*line == ' ' || *line == '\t')) {
        line++;
        n--;
    }
    size_t old = strlen(h->value);
    char *v = need(realloc((void *)h->value, old + n + 2));
    v[old] = ' ';
    memcpy(v + old + 1, line, n);
    v[old + n + 1] = '\0';
    h->value = v;
}

static int request_line(sigv4_http_request *r, const char *line, size_t n)
{
    const char *first = memchr(line, ' ', n);
    const char *last = line + n;
    while (last > line && last[-1] != ' ')
        last--;
    if (!first || last <= first + 1)
        return 0;
    /* The target runs from after the first space to before the last one:
     * "GET /example space/ HTTP/1.1". */
    const char *target = first + 1;
    size_t tlen = (size_t)(last - 1 - target);
    const char *q = memchr(target, '?', tlen);
    r->method = copy(line, (size_t)(first - line));
    r->path = copy(target, q ? (size_t)(q - target) : tlen);
    if (q)
        r->query = copy(q + 1, tlen - (size_t)(q + 1 - target));
    return 1;
}

int sigv4_parse_request(const char *path, sigv4_http_request *r)
{
    memset(r, 0, sizeof *r);
    size_t size;
    char *text = sigv4_read_text(path, &size);
    if (!text)
        return 0;
    const char *p = text, *end = text + size;
    int ok = 1, first = 1;
    while (ok && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        size_t n = (size_t)((nl ? nl : end) - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (first) {
            ok = request_line(r, p, n);
            first = 0;
        } else if (n == 0) {
            p = next;
            break; /* the body follows */
        } else if (*p == ' ' || *p == '\t') {
            ok = r->header_count > 0;
            if (ok)
                continue_value(r, p, n);
        } else {
            const char *colon = memchr(p, ':', n);
            ok = colon != NULL;
            if (ok) {
                char *name = copy(p, (size_t)(colon - p));
                char *value = copy(colon + 1, n - (size_t)(colon + 1 - p));
                sigv4_add_header(r, name, value);
                free(name);
                free(value);
            }
        }
        p = next;
    }
    if (ok && p < end) {
        r->body_len = (size_t)(end - p);
        r->body = copy(p, r->body_len);
    }
    free(text);
    return ok && r->method;
}
