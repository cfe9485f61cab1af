/* kvsp serve: GetMedia and GetMediaForFragmentList requests: which
 * fragments to send; serve_body.c sends them. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "serve.h"

#define FRAGMENT_LIST_MAX 1000

static int invalid(struct MHD_Connection *c, const char *message)
{
    return serve_error(c, MHD_HTTP_BAD_REQUEST, "InvalidArgumentException", "%s", message);
}

/* The first fragment whose timestamp is at or after ms (count if none). */
static size_t first_at(const serve_stream *s, int64_t ms, int by_server)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const serve_fragment *f = &s->fragments[mid];
        if ((by_server ? f->server_ms : f->producer_ms) < ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* NOW: only fragments that arrive from now on; without --live none will. */
static size_t first_new(const serve_ctx *ctx, const serve_stream *s)
{
    if (!ctx->cfg.live)
        return s->count;
    int64_t now = serve_now_ms();
    size_t k = 0;
    while (k < s->count && serve_released(ctx, &s->fragments[k], now))
        k++;
    return k;
}

/* Where GetMedia starts, or -1 after queueing the error (*result). */
static long start_index(serve_ctx *ctx, struct MHD_Connection *c, serve_stream *s, json_t *sel,
                        int *result)
{
    const char *type = json_string_value(json_object_get(sel, "StartSelectorType"));
    if (!type) {
        *result = invalid(c, "StartSelector.StartSelectorType is required");
        return -1;
    }
    if (strcmp(type, "EARLIEST") == 0)
        return 0;
    if (strcmp(type, "NOW") == 0)
        return (long)first_new(ctx, s);
    if (strcmp(type, "FRAGMENT_NUMBER") == 0 || strcmp(type, "CONTINUATION_TOKEN") == 0) {
        int after = strcmp(type, "CONTINUATION_TOKEN") == 0;
        const char *key = after ? "ContinuationToken" : "AfterFragmentNumber";
        const char *value = json_string_value(json_object_get(sel, key));
        if (!value) {
            *result = serve_error(c, MHD_HTTP_BAD_REQUEST, "InvalidArgumentException",
                                  "StartSelector.%s is required with %s", key, type);
            return -1;
        }
        long k = serve_find_fragment(s, value);
        if (k < 0) {
            *result = after ? serve_error(c, MHD_HTTP_BAD_REQUEST, "InvalidArgumentException",
                                          "ContinuationToken %s is not valid", value)
                            : serve_error(c, MHD_HTTP_NOT_FOUND, "ResourceNotFoundException",
                                          "Fragment %s not found", value);
            return -1;
        }
        /* AfterFragmentNumber is where to start (that fragment included);
         * a continuation token, the last fragment already received. */
        return after ? k + 1 : k;
    }
    if (strcmp(type, "SERVER_TIMESTAMP") == 0 || strcmp(type, "PRODUCER_TIMESTAMP") == 0) {
        int64_t ms;
        if (serve_json_timestamp_ms(json_object_get(sel, "StartTimestamp"), &ms) != 0) {
            *result = invalid(c, "StartSelector.StartTimestamp (epoch seconds) is required");
            return -1;
        }
        return (long)first_at(s, ms, type[0] == 'S');
    }
    *result = serve_error(c, MHD_HTTP_BAD_REQUEST, "InvalidArgumentException",
                          "StartSelectorType %s is not one of NOW, EARLIEST, FRAGMENT_NUMBER, "
                          "SERVER_TIMESTAMP, PRODUCER_TIMESTAMP, CONTINUATION_TOKEN",
                          type);
    return -1;
}

int serve_get_media(serve_ctx *ctx, struct MHD_Connection *c, json_t *req)
{
    int result;
    serve_stream *s = serve_request_stream(ctx, c, req, &result);
    if (!s)
        return result;
    json_t *sel = json_object_get(req, "StartSelector");
    if (!json_is_object(sel))
        return invalid(c, "StartSelector is required");
    long first = start_index(ctx, c, s, sel, &result);
    if (first < 0)
        return result;
    serve_body *b = serve_body_create(ctx, s, c, SERVE_GET_MEDIA, (size_t)first, NULL, 0);
    return b ? serve_body_queue(b) : MHD_NO;
}

int serve_get_media_for_fragment_list(serve_ctx *ctx, struct MHD_Connection *c, json_t *req)
{
    int result;
    serve_stream *s = serve_request_stream(ctx, c, req, &result);
    if (!s)
        return result;
    json_t *numbers = json_object_get(req, "Fragments");
    size_t n = json_array_size(numbers);
    if (!json_is_array(numbers) || n < 1 || n > FRAGMENT_LIST_MAX)
        return invalid(c, "Fragments must be a list of 1 to 1000 fragment numbers");
    size_t *list = malloc(n * sizeof *list);
    if (!list)
        return MHD_NO;
    int64_t now = serve_now_ms();
    for (size_t i = 0; i < n; i++) {
        const char *number = json_string_value(json_array_get(numbers, i));
        long k = number ? serve_find_fragment(s, number) : -1;
        if (k < 0 || !serve_released(ctx, &s->fragments[k], now)) {
            free(list);
            if (!number)
                return invalid(c, "Fragments must hold fragment numbers as strings");
            return serve_error(c, MHD_HTTP_NOT_FOUND, "ResourceNotFoundException",
                               "Fragment %s not found in stream %s", number, s->name);
        }
        list[i] = (size_t)k;
    }
    serve_body *b = serve_body_create(ctx, s, c, SERVE_FRAGMENT_LIST, 0, list, n);
    return b ? serve_body_queue(b) : MHD_NO;
}
