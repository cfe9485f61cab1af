/* kvsp serve: the JSON operations (REST-JSON, POST /operationName) other
 * than the media ones: GetDataEndpoint, DescribeStream, ListStreams,
 * ListFragments (and GetHLSStreamingSessionURL from serve_hls.c). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "serve_hls.h"
#include "../json_line.h"
#include "serve.h"

#define LIST_DEFAULT_MAX 100
#define LIST_MAX 1000
#define NEXT_TOKEN_PREFIX "kvsp-serve-next-"

static int invalid(struct MHD_Connection *c, const char *message)
{
    return serve_error(c, MHD_HTTP_BAD_REQUEST, "InvalidArgumentException", "%s", message);
}

serve_stream *serve_request_stream(serve_ctx *ctx, struct MHD_Connection *c, json_t *req,
                                   int *result)
{
    json_t *name = json_object_get(req, "StreamName");
    json_t *arn = json_object_get(req, "StreamARN");
    if ((name && !json_is_string(name)) || (arn && !json_is_string(arn)) || (!name && !arn)) {
        *result = invalid(c, "StreamName or StreamARN must be given as a string");
        return NULL;
    }
    serve_stream *s = serve_find_stream(ctx, name ? json_string_value(name) : NULL,
                                        arn ? json_string_value(arn) : NULL);
    if (!s)
        *result = serve_error(c, MHD_HTTP_NOT_FOUND, "ResourceNotFoundException",
                              "The requested stream %s was not found",
                              name ? json_string_value(name) : json_string_value(arn));
    return s;
}

/* Timestamps come as epoch seconds, a number (botocore sends a float or an
 * integer) or, leniently, a numeric string. */
int serve_json_timestamp_ms(json_t *v, int64_t *ms)
{
    double seconds;
    if (json_is_number(v)) {
        seconds = json_number_value(v);
    } else if (json_is_string(v)) {
        char *end;
        seconds = strtod(json_string_value(v), &end);
        if (end == json_string_value(v) || *end)
            return -1;
    } else {
        return -1;
    }
    if (!isfinite(seconds) || fabs(seconds) > 1e13)
        return -1;
    *ms = (int64_t)llround(seconds * 1000.0);
    return 0;
}

static json_t *json_seconds(int64_t ms)
{
    return json_real((double)ms / 1000.0);
}

static int get_data_endpoint(serve_ctx *ctx, struct MHD_Connection *c, json_t *req)
{
    int result;
    json_t *api = json_object_get(req, "APIName");
    if (!json_is_string(api))
        return invalid(c, "APIName must be given");
    if (!serve_request_stream(ctx, c, req, &result))
        return result;
    /* Behind a TLS terminator or proxy, clients must be sent to the public
     * address (--public-url), not to the loopback one kvsp serve listens on. */
    const char *endpoint = ctx->cfg.public_url[0] ? ctx->cfg.public_url : ctx->endpoint;
    return serve_json(c, json_pack("{s:s}", "DataEndpoint", endpoint));
}

/* A StreamInfo as DescribeStream and ListStreams give it. */
static json_t *stream_info(const serve_ctx *ctx, const serve_stream *s)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:i, s:s}", "StreamName", s->name, "StreamARN",
                     s->arn, "Status", "ACTIVE", "Version", "0", "CreationTime",
                     json_seconds(ctx->base_ms), "DataRetentionInHours", 24, "MediaType",
                     "video/h264");
}

static int describe_stream(serve_ctx *ctx, struct MHD_Connection *c, json_t *req)
{
    int result;
    serve_stream *s = serve_request_stream(ctx, c, req, &result);
    if (!s)
        return result;
    return serve_json(c, json_pack("{s:o}", "StreamInfo", stream_info(ctx, s)));
}

/* ListStreams: the streams in name order (the directory's .mkv files),
 * MaxResults (1-10000, default 10000) at a time. The NextToken is the index
 * of the next stream, in the characters KVS allows a token ([a-zA-Z0-9+/=]). */
#define STREAMS_MAX 10000
#define STREAMS_TOKEN_PREFIX "kvspserve"

static int list_streams(serve_ctx *ctx, struct MHD_Connection *c, json_t *req)
{
    size_t max = STREAMS_MAX, start = 0;
    json_t *m = json_object_get(req, "MaxResults");
    if (m) {
        if (!json_is_integer(m) || json_integer_value(m) < 1 || json_integer_value(m) > STREAMS_MAX)
            return invalid(c, "MaxResults must be an integer from 1 to 10000");
        max = (size_t)json_integer_value(m);
    }
    json_t *token = json_object_get(req, "NextToken");
    if (token) {
        const char *t = json_string_value(token);
        size_t plen = strlen(STREAMS_TOKEN_PREFIX);
        char *end;
        if (!t || strncmp(t, STREAMS_TOKEN_PREFIX, plen) != 0 || !t[plen] ||
            (start = strtoul(t + plen, &end, 10), *end) || start > ctx->stream_count)
            return invalid(c, "NextToken is not one this server returned");
    }
    const char *prefix = "";
    json_t *cond = json_object_get(req, "StreamNameCondition");
    if (cond) {
        const char *op = json_string_value(json_object_get(cond, "ComparisonOperator"));
        const char *value = json_string_value(json_object_get(cond, "ComparisonValue"));
        if (!json_is_object(cond) || (op && strcmp(op, "BEGINS_WITH") != 0) || !value)
            return invalid(c, "StreamNameCondition needs ComparisonOperator BEGINS_WITH and a "
                              "ComparisonValue");
        prefix = value;
    }
    json_t *list = json_array();
    size_t n = 0, k = start;
    for (; list && k < ctx->stream_count; k++) {
        const serve_stream *s = &ctx->streams[k];
        if (strncmp(s->name, prefix, strlen(prefix)) != 0)
            continue;
        if (n == max)
            break;
        json_t *info = stream_info(ctx, s);
        if (!info || json_array_append_new(list, info) != 0) {
            json_decref(list);
            list = NULL;
        }
        n++;
    }
    json_t *out = list ? json_pack("{s:o}", "StreamInfoList", list) : NULL;
    if (!out)
        return MHD_NO;
    if (k < ctx->stream_count) {
        char next[64];
        snprintf(next, sizeof next, STREAMS_TOKEN_PREFIX "%zu", k);
        json_object_set_new(out, "NextToken", json_string(next));
    }
    return serve_json(c, out);
}

typedef struct list_query {
    int by_server; /* -1: no selector */
    int64_t from_ms, to_ms;
    size_t start;
    size_t max;
} list_query;

static int parse_list_query(struct MHD_Connection *c, json_t *req, list_query *q, int *result)
{
    q->by_server = -1;
    q->start = 0;
    q->max = LIST_DEFAULT_MAX;
    json_t *max = json_object_get(req, "MaxResults");
    if (max) {
        if (!json_is_integer(max) || json_integer_value(max) < 1 ||
            json_integer_value(max) > LIST_MAX) {
            *result = invalid(c, "MaxResults must be an integer from 1 to 1000");
            return -1;
        }
        q->max = (size_t)json_integer_value(max);
    }
    json_t *token = json_object_get(req, "NextToken");
    if (token) {
        const char *t = json_string_value(token);
        char *end;
        if (!t || strncmp(t, NEXT_TOKEN_PREFIX, strlen(NEXT_TOKEN_PREFIX)) != 0 ||
            (q->start = strtoul(t + strlen(NEXT_TOKEN_PREFIX), &end, 10), *end)) {
            *result = invalid(c, "NextToken is not one this server returned");
            return -1;
        }
    }
    json_t *sel = json_object_get(req, "FragmentSelector");
    if (!sel)
        return 0;
    const char *type = json_string_value(json_object_get(sel, "FragmentSelectorType"));
    json_t *range = json_object_get(sel, "TimestampRange");
    if (!type ||
        (strcmp(type, "SERVER_TIMESTAMP") != 0 && strcmp(type, "PRODUCER_TIMESTAMP") != 0)) {
        *result = invalid(c, "FragmentSelectorType must be SERVER_TIMESTAMP or PRODUCER_TIMESTAMP");
        return -1;
    }
    if (!json_is_object(range) ||
        serve_json_timestamp_ms(json_object_get(range, "StartTimestamp"), &q->from_ms) != 0 ||
        serve_json_timestamp_ms(json_object_get(range, "EndTimestamp"), &q->to_ms) != 0 ||
        q->from_ms > q->to_ms) {
        *result = invalid(c, "TimestampRange needs StartTimestamp <= EndTimestamp (epoch seconds)");
        return -1;
    }
    q->by_server = strcmp(type, "SERVER_TIMESTAMP") == 0;
    return 0;
}

static int list_matches(const serve_ctx *ctx, const list_query *q, const serve_fragment *f,
                        int64_t now)
{
    if (!serve_released(ctx, f, now))
        return 0;
    if (q->by_server < 0)
        return 1;
    int64_t t = q->by_server ? f->server_ms : f->producer_ms;
    return t >= q->from_ms && t <= q->to_ms;
}

/* KVS does not promise any order within a page; neither do we, so that
 * clients sort (numerically) themselves. A fixed seed keeps it repeatable. */
static void shuffle(size_t *idx, size_t n, size_t seed)
{
    uint64_t x = 0x9E3779B97F4A7C15ull ^ (uint64_t)seed;
    for (size_t i = n; i > 1; i--) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = (size_t)((x >> 33) % i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
    int sorted = 1;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = idx[i - 1] < idx[i];
    if (sorted && n > 1) {
        size_t t = idx[0];
        idx[0] = idx[n - 1];
        idx[n - 1] = t;
    }
}

/* A page of ListFragments, written as text: for a long stream (a month is
 * 1.3 million fragments, 1,300 pages) building Jansson objects and dumping
 * them took most of the listing's time. The text is what json_dumps gave
 * for the same values (keys in this order, timestamps as exact seconds). */
static char *page_text(const serve_stream *s, const size_t *page, size_t n, int more, size_t next)
{
    cli_jl w = {0};
    cli_jl_begin(&w);
    cli_jl_open(&w, "Fragments", '[');
    for (size_t i = 0; i < n; i++) {
        const serve_fragment *f = &s->fragments[page[i]];
        uint64_t size;
        if (serve_fragment_list_size(s, f, &size) != 0) {
            cli_jl_free(&w);
            return NULL;
        }
        cli_jl_open(&w, NULL, '{');
        cli_jl_cstring(&w, "FragmentNumber", f->number);
        cli_jl_int(&w, "FragmentSizeInBytes", (int64_t)size);
        cli_jl_seconds(&w, "ProducerTimestamp", f->producer_ms);
        cli_jl_seconds(&w, "ServerTimestamp", f->server_ms);
        cli_jl_int(&w, "FragmentLengthInMilliseconds", f->duration_ms);
        cli_jl_close(&w, '{');
    }
    cli_jl_close(&w, '[');
    if (more) {
        char token[64];
        snprintf(token, sizeof token, NEXT_TOKEN_PREFIX "%zu", next);
        cli_jl_cstring(&w, "NextToken", token);
    }
    char *text = cli_jl_end_string(&w);
    cli_jl_free(&w);
    return text;
}

static int answer_page(serve_ctx *ctx, struct MHD_Connection *c, serve_stream *s,
                       const size_t *page, size_t n, int more, size_t next)
{
    char *text = page_text(s, page, n, more, next);
    if (!text)
        return MHD_NO; /* out of memory: no listing with holes */
    if (ctx->cfg.list_fault == SERVE_LIST_OK)
        return serve_json_text(c, text);
    /* --fault-list-json spoils the parsed answer */
    json_t *good = json_loads(text, 0, NULL);
    free(text);
    return good ? serve_fault_list_json(ctx, c, good) : MHD_NO;
}

/* --list-unordered: every match in one shuffle (a fixed seed, so that the
 * pages of one listing fit together), paged by position in it. */
static int list_unordered(serve_ctx *ctx, struct MHD_Connection *c, serve_stream *s,
                          const list_query *q, int64_t now)
{
    size_t *all = malloc((s->count + 1) * sizeof *all);
    if (!all)
        return MHD_NO;
    size_t n = 0;
    for (size_t k = 0; k < s->count; k++)
        if (list_matches(ctx, q, &s->fragments[k], now))
            all[n++] = k;
    shuffle(all, n, 7);
    size_t first = q->start < n ? q->start : n;
    size_t take = n - first < q->max ? n - first : q->max;
    int rc = answer_page(ctx, c, s, all + first, take, first + take < n, first + take);
    free(all);
    return rc;
}

static int list_fragments(serve_ctx *ctx, struct MHD_Connection *c, json_t *req)
{
    int result;
    list_query q;
    serve_stream *s = serve_request_stream(ctx, c, req, &result);
    if (!s || parse_list_query(c, req, &q, &result) != 0)
        return result;
    size_t *page = malloc((q.max + 1) * sizeof *page);
    if (!page)
        return MHD_NO;
    int64_t now = serve_now_ms();
    size_t n = 0, k = q.start, next = 0;
    int more = 0;
    if (ctx->cfg.list_unordered) { /* the token is a position in one shuffle of every match */
        free(page);
        return list_unordered(ctx, c, s, &q, now);
    }
    for (; k < s->count; k++) {
        if (!list_matches(ctx, &q, &s->fragments[k], now))
            continue;
        if (n == q.max) {
            more = 1;
            next = k;
            break;
        }
        page[n++] = k;
    }
    shuffle(page, n, q.start + n);
    int rc = answer_page(ctx, c, s, page, n, more, next);
    free(page);
    return rc;
}

int serve_api_dispatch(serve_ctx *ctx, struct MHD_Connection *c, const char *url, const char *body,
                       size_t body_size)
{
    static const struct {
        const char *path;
        int (*run)(serve_ctx *, struct MHD_Connection *, json_t *);
    } ops[] = {
        {"/getDataEndpoint", get_data_endpoint},
        {"/describeStream", describe_stream},
        {"/listStreams", list_streams},
        {"/listFragments", list_fragments},
        {"/getMedia", serve_get_media},
        {"/getMediaForFragmentList", serve_get_media_for_fragment_list},
        {"/getHLSStreamingSessionURL", serve_get_hls_streaming_session_url},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (strcmp(url, ops[i].path) != 0)
            continue;
        json_error_t err;
        /* botocore sends "{}" for no parameters; an empty body means the same. */
        json_t *req = body_size ? json_loadb(body, body_size, 0, &err) : json_object();
        if (!json_is_object(req)) {
            json_decref(req);
            return serve_error(c, MHD_HTTP_BAD_REQUEST, "InvalidArgumentException",
                               "The request body is not a JSON object%s%s", req ? "" : ": ",
                               req ? "" : err.text);
        }
        int result = ops[i].run(ctx, c, req);
        json_decref(req);
        return result;
    }
    return serve_error(c, MHD_HTTP_NOT_FOUND, "UnknownOperationException",
                       "%s is not an operation of this service", url);
}
