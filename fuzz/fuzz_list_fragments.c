/* libFuzzer target: the client's JSON handling of ListFragments responses.
 *
 * No public entry point parses ListFragments JSON without a network call, so
 * this target compiles the real src/client/media_apis.c into itself and
 * replaces the HTTP layer (kvsp_http_post, kvsp_endpoint_for, ...; see the stubs
 * below) with one that answers each request with the next page of the fuzz
 * input. kvsp_client_list_fragments then runs unchanged: JSON parsing of
 * every page, the Fragments array, NextToken pagination, growing the result
 * and sorting it with kvsp_fragment_number_cmp. The public parsers
 * kvsp_start_selector_parse and kvsp_fragment_number_cmp (the real
 * src/client/start_selector.c) are fuzzed too.
 *
 * The same input also goes through the error-response parsing
 * (src/client/service_error.c): the selector text as an x-amzn-ErrorType
 * header line, the page bytes as an error body.
 *
 * Not covered here: the HTTP/curl code, GetDataEndpoint's JSON and the
 * credential parsers.
 *
 * Input layout, '\0'-separated: start selector text, fragment number A,
 * fragment number B, then one ListFragments response body per page. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

/* ---- stubs for the HTTP layer, serving pages from the fuzz input ---- */

typedef struct page_source {
    const uint8_t *p, *end;
    int served;
} page_source;

static page_source pages;

int kvsp_http_post(kvsp_client *c, http_call *call)
{
    (void)c;
    if (pages.p >= pages.end || pages.served >= 64)
        return KVSP_ERR_NETWORK; /* no more pages: as if the connection failed */
    const uint8_t *nul = memchr(pages.p, 0, (size_t)(pages.end - pages.p));
    size_t n = nul ? (size_t)(nul - pages.p) : (size_t)(pages.end - pages.p);
    call->response = malloc(n + 1);
    if (!call->response)
        return KVSP_ERR_NOMEM;
    memcpy(call->response, pages.p, n);
    call->response[n] = 0;
    call->response_len = n;
    call->status = 200;
    pages.p += n + (nul ? 1 : 0);
    pages.served++;
    return KVSP_OK;
}

void kvsp_http_call_free(http_call *call)
{
    free(call->response);
    call->response = NULL;
}

void kvsp_client_clear_error(kvsp_client *c)
{
    c->error_status = KVSP_OK;
    c->error[0] = '\0';
}

int kvsp_client_fail(kvsp_client *c, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    return status;
}

int kvsp_endpoint_for(kvsp_client *c, const char *stream, const char *api, const char **url)
{
    (void)c, (void)stream, (void)api;
    *url = "https://fuzz.invalid";
    return KVSP_OK;
}

void kvsp_endpoint_forget(kvsp_client *c, const char *stream, const char *api)
{
    (void)c, (void)stream, (void)api;
}

json_t *kvsp_stream_body(const char *stream)
{
    json_t *o = json_object();
    json_object_set_new(o, "StreamName", json_string(stream));
    return o;
}

/* ---- the target ---- */

static volatile uint64_t sink;

static const char *take_string(const uint8_t **p, const uint8_t *end, char *buf, size_t cap)
{
    const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
    size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(buf, *p, k);
    buf[k] = 0;
    *p += n + (nul ? 1 : 0);
    return buf;
}

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    static char selector[4096], a[4096], b[4096];
    take_string(&p, end, selector, sizeof selector);
    take_string(&p, end, a, sizeof a);
    take_string(&p, end, b, sizeof b);

    kvsp_start_selector sel;
    if (kvsp_start_selector_parse(selector, &sel) == KVSP_OK && sel.value)
        sink += strlen(sel.value);

    /* A total order: antisymmetric and reflexive. */
    if (sign(kvsp_fragment_number_cmp(a, b)) != -sign(kvsp_fragment_number_cmp(b, a)) ||
        kvsp_fragment_number_cmp(a, a) != 0)
        abort();

    pages.p = p;
    pages.end = end;
    pages.served = 0;
    kvsp_client *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    kvsp_listed_fragment *out = NULL;
    size_t count = 0;
    int rc = kvsp_client_list_fragments(c, "stream", (kvsp_timestamp_type)(size % 3), 1.0, 2.0,
                                        &out, &count);
    if (rc == KVSP_OK) {
        for (size_t i = 0; i < count; i++) {
            if (memchr(out[i].fragment_number, 0, sizeof out[i].fragment_number) == NULL)
                abort(); /* not NUL-terminated */
            if (i &&
                kvsp_fragment_number_cmp(out[i - 1].fragment_number, out[i].fragment_number) > 0)
                abort(); /* not sorted */
            sink += (uint64_t)out[i].server_timestamp_ms + (uint64_t)out[i].producer_timestamp_ms +
                    (uint64_t)out[i].length_ms + out[i].size;
        }
    } else if (out || count) {
        abort(); /* on failure nothing is returned */
    }
    kvsp_client_free(out);
    free(c);

    /* The error path: the selector text as an x-amzn-ErrorType header line
     * (into buffers of every size, 0 included), the pages' bytes as an
     * error body. */
    char type[64] = "", msg[512];
    kvsp_http_error_type_header(selector, strlen(selector), type, size % sizeof type);
    if (!memchr(type, 0, sizeof type))
        abort();
    size_t body_len = (size_t)(end - p);
    char *body = malloc(body_len + 1);
    if (!body)
        abort();
    memcpy(body, p, body_len);
    body[body_len] = 0;
    if (kvsp_http_error_message(msg, sizeof msg, type, sizeof type, 400 + (long)(size % 200),
                                body) != KVSP_ERR_SERVICE)
        abort();
    if (!memchr(msg, 0, sizeof msg) || !memchr(type, 0, sizeof type))
        abort();
    sink += strlen(msg);
    free(body);
    return 0;
}
