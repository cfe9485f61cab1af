/* Canonical request pieces of AWS Signature Version 4: URI, query string and
 * headers. The rules follow what AWS and its SDKs compute, including the
 * cases the published SigV4 test suite pins down. */
#include "sigv4_canonical.h"

#include <stdlib.h>
#include <string.h>

#include "../alloc_internal.h"
#include "kvsparser/status.h"

/* ---- string buffer ---- */

static int buf_reserve(kvsp_sigv4_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (extra < b->cap - b->len)
        return 0;
    if (extra > ((size_t)-1) / 2 - b->len) {
        b->failed = 1;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len <= extra)
        cap *= 2;
    char *p = kvsp_ext_realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void kvsp_sigv4_buf_put(kvsp_sigv4_buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void kvsp_sigv4_buf_puts(kvsp_sigv4_buf *b, const char *s)
{
    kvsp_sigv4_buf_put(b, s, strlen(s));
}

void kvsp_sigv4_buf_putc(kvsp_sigv4_buf *b, char c)
{
    kvsp_sigv4_buf_put(b, &c, 1);
}

void kvsp_sigv4_buf_free(kvsp_sigv4_buf *b)
{
    kvsp_ext_free(b->data);
    memset(b, 0, sizeof *b);
}

char *kvsp_sigv4_buf_take(kvsp_sigv4_buf *b)
{
    /* An empty result still has to be a string. */
    if (!b->failed && !b->data)
        kvsp_sigv4_buf_put(b, "", 0);
    if (b->failed) {
        kvsp_sigv4_buf_free(b);
        return NULL;
    }
    char *s = b->data;
    memset(b, 0, sizeof *b);
    return s;
}

/* ---- percent-encoding ---- */

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static void encode(kvsp_sigv4_buf *out, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            kvsp_sigv4_buf_putc(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            kvsp_sigv4_buf_put(out, e, 3);
        }
    }
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Query parameters are decoded before being encoded again so that the
 * canonical form does not depend on how the client chose to escape them
 * ("%7e" and "~" sign the same). A '%' not followed by two hex digits is
 * taken literally. '+' stays a plus sign: SigV4 has no form encoding. */
static char *decode_encode(const char *s, size_t n)
{
    kvsp_sigv4_buf plain = {0}, out = {0};
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
            (lo = hex_value(s[i + 2])) >= 0) {
            kvsp_sigv4_buf_putc(&plain, (char)(hi << 4 | lo));
            i += 2;
        } else {
            kvsp_sigv4_buf_putc(&plain, s[i]);
        }
    }
    if (plain.failed) {
        kvsp_sigv4_buf_free(&plain);
        return NULL;
    }
    encode(&out, plain.data, plain.len, 0);
    kvsp_sigv4_buf_free(&plain);
    return kvsp_sigv4_buf_take(&out);
}

/* ---- URI ---- */

typedef struct segment {
    const char *p;
    size_t n;
} segment;

int kvsp_sigv4_canonical_uri(kvsp_sigv4_buf *out, const char *path, int normalize)
{
    if (!path || !*path) {
        kvsp_sigv4_buf_putc(out, '/');
        return out->failed ? KVSP_ERR_NOMEM : KVSP_OK;
    }
    if (path[0] != '/')
        kvsp_sigv4_buf_putc(out, '/');
    if (!normalize) {
        encode(out, path, strlen(path), 1);
        return out->failed ? KVSP_ERR_NOMEM : KVSP_OK;
    }

    size_t count = 1;
    for (const char *c = path; *c; c++)
        count += *c == '/';
    segment *kept = kvsp_ext_malloc(count * sizeof *kept);
    if (!kept)
        return KVSP_ERR_NOMEM;
    size_t depth = 0;
    for (const char *p = path;;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        /* Empty segments are duplicate slashes, which AWS collapses. */
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (depth)
                depth--;
        } else if (n && !(n == 1 && p[0] == '.')) {
            kept[depth].p = p;
            kept[depth].n = n;
            depth++;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (path[0] == '/')
        kvsp_sigv4_buf_putc(out, '/');
    for (size_t i = 0; i < depth; i++) {
        if (i)
            kvsp_sigv4_buf_putc(out, '/');
        encode(out, kept[i].p, kept[i].n, 1);
    }
    /* A trailing slash survives, as in the SDKs, unless nothing is left
     * before it ("/a/.." and "/a/../" both become "/"). */
    if (depth && path[strlen(path) - 1] == '/')
        kvsp_sigv4_buf_putc(out, '/');
    kvsp_ext_free(kept);
    return out->failed ? KVSP_ERR_NOMEM : KVSP_OK;
}

/* ---- query ---- */

typedef struct param {
    char *key;
    char *value;
} param;

static int param_cmp(const void *a, const void *b)
{
    const param *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

int kvsp_sigv4_canonical_query(kvsp_sigv4_buf *out, const char *query)
{
    if (!query || !*query)
        return KVSP_OK;
    size_t count = 1;
    for (const char *c = query; *c; c++)
        count += *c == '&';
    param *params = kvsp_ext_calloc(count, sizeof *params);
    if (!params)
        return KVSP_ERR_NOMEM;
    size_t n = 0;
    int rc = KVSP_OK;
    for (const char *p = query;;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len) { /* "a=1&&b=2": the empty parameter is no parameter */
            const char *eq = memchr(p, '=', len);
            size_t klen = eq ? (size_t)(eq - p) : len;
            params[n].key = decode_encode(p, klen);
            params[n].value = eq ? decode_encode(eq + 1, len - klen - 1) : decode_encode("", 0);
            n++;
            if (!params[n - 1].key || !params[n - 1].value) {
                rc = KVSP_ERR_NOMEM;
                break;
            }
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (rc == KVSP_OK) {
        /* Encoded strings are ASCII, so strcmp is the byte order AWS sorts by. */
        qsort(params, n, sizeof *params, param_cmp);
        for (size_t i = 0; i < n; i++) {
            if (i)
                kvsp_sigv4_buf_putc(out, '&');
            kvsp_sigv4_buf_puts(out, params[i].key);
            kvsp_sigv4_buf_putc(out, '=');
            kvsp_sigv4_buf_puts(out, params[i].value);
        }
        if (out->failed)
            rc = KVSP_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        kvsp_ext_free(params[i].key);
        kvsp_ext_free(params[i].value);
    }
    kvsp_ext_free(params);
    return rc;
}

/* ---- headers ---- */

static int is_space(char c)
{
    /* CR and LF too: a folded (multi-line) value is one value. */
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The trimmed name; *len is 0 when it is not a valid token: a
 * ':' or line break in a name would let one header forge another line of
 * the canonical request. */
static const char *trim_name(const char *name, size_t *len)
{
    const char *s = name;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i]))
            n = 0;
    *len = n;
    return s;
}

int kvsp_sigv4_header_is(const char *name, const char *lower, size_t len)
{
    size_t n;
    const char *s = trim_name(name, &n);
    if (n != len)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lower[i])
            return 0;
    }
    return 1;
}

typedef struct entry {
    char *name;
    char *value;
    size_t order; /* qsort is not stable; values of one name keep their order */
} entry;

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int canonical_entry(entry *e, const kvsp_sigv4_header *h)
{
    if (!h->name || !h->value)
        return KVSP_ERR_INVALID_ARG;
    size_t n;
    const char *name = trim_name(h->name, &n);
    if (!n)
        return KVSP_ERR_INVALID_ARG;
    e->name = kvsp_ext_malloc(n + 1);
    if (!e->name)
        return KVSP_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        e->name[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
    e->name[n] = '\0';

    /* Trimmed, each run of white space one space. */
    kvsp_sigv4_buf v = {0};
    int pending_space = 0;
    for (const char *c = h->value; *c; c++) {
        if (is_space(*c)) {
            pending_space = v.len > 0;
            continue;
        }
        if (pending_space)
            kvsp_sigv4_buf_putc(&v, ' ');
        pending_space = 0;
        kvsp_sigv4_buf_putc(&v, *c);
    }
    e->value = kvsp_sigv4_buf_take(&v);
    return e->value ? KVSP_OK : KVSP_ERR_NOMEM;
}

int kvsp_sigv4_canonical_headers(kvsp_sigv4_buf *lines, kvsp_sigv4_buf *names,
                                 const kvsp_sigv4_header *headers, size_t count)
{
    if (count && !headers)
        return KVSP_ERR_INVALID_ARG;
    if (!count)
        return KVSP_OK;
    entry *e = kvsp_ext_calloc(count, sizeof *e);
    if (!e)
        return KVSP_ERR_NOMEM;
    int rc = KVSP_OK;
    for (size_t i = 0; i < count && rc == KVSP_OK; i++) {
        e[i].order = i;
        rc = canonical_entry(&e[i], &headers[i]);
    }
    if (rc == KVSP_OK) {
        qsort(e, count, sizeof *e, entry_cmp);
        for (size_t i = 0; i < count; i++) {
            if (i && strcmp(e[i].name, e[i - 1].name) == 0) {
                /* A repeated header is one line, values comma-separated in
                 * the order they were given. */
                kvsp_sigv4_buf_putc(lines, ',');
            } else {
                if (i) {
                    kvsp_sigv4_buf_putc(lines, '\n');
                    kvsp_sigv4_buf_putc(names, ';');
                }
                kvsp_sigv4_buf_puts(lines, e[i].name);
                kvsp_sigv4_buf_putc(lines, ':');
                kvsp_sigv4_buf_puts(names, e[i].name);
            }
            kvsp_sigv4_buf_puts(lines, e[i].value);
        }
        kvsp_sigv4_buf_putc(lines, '\n');
        if (lines->failed || names->failed)
            rc = KVSP_ERR_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        kvsp_ext_free(e[i].name);
        kvsp_ext_free(e[i].value);
    }
    kvsp_ext_free(e);
    return rc;
}
