/* kvsp serve: GetHLSStreamingSessionURL (POST /getHLSStreamingSessionURL),
 * checked as KVS checks it, and the session token its URL carries. The
 * token holds the whole session (stream, mode, range, expiry), so the
 * endpoints it is sent to need no state. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "serve_hls.h"

#define EXPIRES_DEFAULT_S 300
#define EXPIRES_MIN_S 300
#define EXPIRES_MAX_S 43200
#define MAX_FRAGMENTS_LIVE 5
#define MAX_FRAGMENTS_ON_DEMAND 1000
#define MAX_FRAGMENTS_LIMIT 5000
#define ON_DEMAND_RANGE_MAX_MS (24LL * 3600 * 1000)
#define TOKEN_PREFIX "kvsphls1"

static int invalid(struct MHD_Connection *c, const char *message)
{
    return serve_error(c, MHD_HTTP_BAD_REQUEST, "InvalidArgumentException", "%s", message);
}

/* Only [A-Za-z0-9_-]: the token goes into URLs unescaped. */
void serve_hls_token(const serve_hls_session *h, char *out, size_t size)
{
    static const char disc[] = "NAD", modes[] = "LOR";
    snprintf(out, size,
             TOKEN_PREFIX "-%zu-%c%c%c%c-%" PRId64 "-%" PRId64 "-%u-%" PRId64 "-%" PRId64,
             h->stream, modes[h->mode], h->by_server ? 'S' : 'P', disc[h->discontinuity],
             h->show_time ? 'T' : 'N', h->from_ms, h->to_ms, h->max, h->created_ms, h->expires_ms);
}

int serve_hls_parse_token(const serve_ctx *ctx, const char *token, serve_hls_session *h)
{
    char mode, sel, disc, show, rest;
    long long stream, from, to, created, expires;
    unsigned max;
    memset(h, 0, sizeof *h);
    if (!token || strlen(token) >= SERVE_HLS_TOKEN_MAX ||
        sscanf(token, TOKEN_PREFIX "-%lld-%c%c%c%c-%lld-%lld-%u-%lld-%lld%c", &stream, &mode, &sel,
               &disc, &show, &from, &to, &max, &created, &expires, &rest) != 10)
        return -1;
    if (stream < 0 || (unsigned long long)stream >= ctx->stream_count || !strchr("LOR", mode) ||
        !strchr("SP", sel) || !strchr("NAD", disc) || !strchr("TN", show) || max < 1 ||
        max > MAX_FRAGMENTS_LIMIT)
        return -1;
    h->stream = (size_t)stream;
    h->mode = mode == 'L'   ? SERVE_HLS_LIVE
              : mode == 'O' ? SERVE_HLS_ON_DEMAND
                            : SERVE_HLS_LIVE_REPLAY;
    h->by_server = sel == 'S';
    h->discontinuity = disc == 'A'   ? SERVE_HLS_DISC_ALWAYS
                       : disc == 'D' ? SERVE_HLS_DISC_ON_DISCONTINUITY
                                     : SERVE_HLS_DISC_NEVER;
    h->show_time = show == 'T';
    h->from_ms = from;
    h->to_ms = to;
    h->max = max;
    h->created_ms = created;
    h->expires_ms = expires;
    char again[SERVE_HLS_TOKEN_MAX];
    serve_hls_token(h, again, sizeof again);
    return strcmp(again, token) == 0 ? 0 : -1; /* one spelling per session */
}

static int64_t stamp(const serve_fragment *f, int by_server)
{
    return by_server ? f->server_ms : f->producer_ms;
}

/* The first fragment with a timestamp at or after ms (count if none);
 * both timelines increase with the fragment index. */
static size_t first_at(const serve_stream *s, int64_t ms, int by_server)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (stamp(&s->fragments[mid], by_server) < ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int serve_hls_window(const serve_ctx *ctx, const serve_hls_session *h, int64_t now, size_t *first,
                     size_t *end)
{
    const serve_stream *s = &ctx->streams[h->stream];
    size_t released = 0; /* fragments are released in index order */
    while (released < s->count && serve_released(ctx, &s->fragments[released], now))
        released++;
    if (h->mode == SERVE_HLS_LIVE) {
        /* the newest fragments: a window that slides as --live goes on; a
         * file's stream ends with the file */
        *end = released;
        *first = released > h->max ? released - h->max : 0;
        return released == s->count;
    }
    size_t a = first_at(s, h->from_ms, h->by_server);
    size_t all = h->to_ms == INT64_MAX ? s->count : first_at(s, h->to_ms + 1, h->by_server);
    size_t b = all < released ? all : released;
    if (a > b)
        a = b;
    if (h->mode == SERVE_HLS_ON_DEMAND) {
        *first = a;
        *end = b - a > h->max ? a + h->max : b;
        return 1;
    }
    /* LIVE_REPLAY: from the range's first fragment, each next one added once
     * the ones before it have lasted their time since the session began,
     * in a window of the newest, as LIVE */
    size_t k = a;
    while (k < b &&
           (k == a || s->fragments[k].offset_ms - s->fragments[a].offset_ms <= now - h->created_ms))
        k++;
    *end = k;
    *first = k - a > h->max ? k - h->max : a;
    return k == all;
}

int serve_hls_in_session(const serve_ctx *ctx, const serve_hls_session *h, size_t k, int64_t now)
{
    const serve_fragment *f = &ctx->streams[h->stream].fragments[k];
    int64_t t = stamp(f, h->by_server);
    if (!serve_released(ctx, f, now))
        return 0;
    if (h->mode == SERVE_HLS_LIVE)
        return 1;
    size_t first, end;
    if (h->mode == SERVE_HLS_LIVE_REPLAY) {
        serve_hls_window(ctx, h, now, &first, &end);
        if (k >= end)
            return 0; /* not added yet */
    }
    return t >= h->from_ms && t <= h->to_ms;
}

/* An optional enumeration: *index of value in names, or def when absent. */
static int enum_field(json_t *req, const char *key, const char *const *names, size_t n, int def,
                      int *index)
{
    json_t *v = json_object_get(req, key);
    *index = def;
    if (!v)
        return 0;
    for (size_t i = 0; json_is_string(v) && i < n; i++)
        if (strcmp(json_string_value(v), names[i]) == 0) {
            *index = (int)i;
            return 0;
        }
    return -1;
}

static int int_field(json_t *req, const char *key, long long min, long long max, long long def,
                     long long *out)
{
    json_t *v = json_object_get(req, key);
    *out = def;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

/* HLSFragmentSelector: its type, and the range ON_DEMAND needs (LIVE takes none). */
static int parse_selector(struct MHD_Connection *c, json_t *req, serve_hls_session *h, int *result)
{
    static const char *const types[] = {"SERVER_TIMESTAMP", "PRODUCER_TIMESTAMP"};
    json_t *sel = json_object_get(req, "HLSFragmentSelector");
    int type = 0;
    json_t *range = sel ? json_object_get(sel, "TimestampRange") : NULL;
    if ((sel && !json_is_object(sel)) ||
        enum_field(sel ? sel : req, sel ? "FragmentSelectorType" : "", types, 2, 0, &type) != 0) {
        *result = invalid(c, "HLSFragmentSelector.FragmentSelectorType must be SERVER_TIMESTAMP "
                             "or PRODUCER_TIMESTAMP");
        return -1;
    }
    h->by_server = type == 0;
    h->from_ms = 0;
    h->to_ms = INT64_MAX;
    if (h->mode == SERVE_HLS_LIVE) {
        if (range) {
            *result = invalid(c, "TimestampRange must not be set when PlaybackMode is LIVE");
            return -1;
        }
        return 0;
    }
    json_t *end = json_object_get(range, "EndTimestamp");
    if (!json_is_object(range) ||
        serve_json_timestamp_ms(json_object_get(range, "StartTimestamp"), &h->from_ms) != 0 ||
        ((end || h->mode == SERVE_HLS_ON_DEMAND) && serve_json_timestamp_ms(end, &h->to_ms) != 0)) {
        *result = invalid(c, h->mode == SERVE_HLS_ON_DEMAND
                                 ? "PlaybackMode ON_DEMAND needs HLSFragmentSelector."
                                   "TimestampRange with StartTimestamp and EndTimestamp"
                                 : "PlaybackMode LIVE_REPLAY needs HLSFragmentSelector."
                                   "TimestampRange with StartTimestamp");
        return -1;
    }
    if (h->to_ms <= h->from_ms ||
        (h->to_ms != INT64_MAX && h->to_ms - h->from_ms > ON_DEMAND_RANGE_MAX_MS)) {
        *result = invalid(c, "EndTimestamp must be after StartTimestamp, by at most 24 hours");
        return -1;
    }
    return 0;
}

int serve_get_hls_streaming_session_url(serve_ctx *ctx, struct MHD_Connection *c, json_t *req)
{
    static const char *const modes[] = {"LIVE", "ON_DEMAND", "LIVE_REPLAY"};
    static const char *const formats[] = {"FRAGMENTED_MP4", "MPEG_TS"};
    static const char *const discs[] = {"NEVER", "ALWAYS", "ON_DISCONTINUITY"};
    static const char *const shows[] = {"NEVER", "ALWAYS"};
    int result, mode, format, disc, show;
    long long expires, max;
    serve_stream *s = serve_request_stream(ctx, c, req, &result);
    if (!s)
        return result;
    serve_hls_session h;
    memset(&h, 0, sizeof h);
    h.stream = (size_t)(s - ctx->streams);
    if (enum_field(req, "PlaybackMode", modes, 3, 0, &mode) != 0)
        return invalid(c, "PlaybackMode must be LIVE, LIVE_REPLAY or ON_DEMAND");
    h.mode = mode == 0 ? SERVE_HLS_LIVE : mode == 1 ? SERVE_HLS_ON_DEMAND : SERVE_HLS_LIVE_REPLAY;
    if (parse_selector(c, req, &h, &result) != 0)
        return result;
    if (enum_field(req, "ContainerFormat", formats, 2, 0, &format) != 0 || format != 0)
        return invalid(c, "ContainerFormat must be FRAGMENTED_MP4 (MPEG_TS is not supported by "
                          "kvsp serve)");
    /* KVS's defaults: flags where server timestamps make gaps and overlaps */
    if (enum_field(req, "DiscontinuityMode", discs, 3, h.by_server ? 1 : 0, &disc) != 0)
        return invalid(c, "DiscontinuityMode must be ALWAYS, NEVER or ON_DISCONTINUITY");
    h.discontinuity = (serve_hls_disc)disc;
    if (enum_field(req, "DisplayFragmentTimestamp", shows, 2, 0, &show) != 0)
        return invalid(c, "DisplayFragmentTimestamp must be ALWAYS or NEVER");
    h.show_time = show == 1;
    if (int_field(req, "Expires", EXPIRES_MIN_S, EXPIRES_MAX_S, EXPIRES_DEFAULT_S, &expires) != 0)
        return invalid(c, "Expires must be an integer from 300 to 43200 (seconds)");
    if (int_field(req, "MaxMediaPlaylistFragmentResults", 1, MAX_FRAGMENTS_LIMIT,
                  h.mode == SERVE_HLS_ON_DEMAND ? MAX_FRAGMENTS_ON_DEMAND : MAX_FRAGMENTS_LIVE,
                  &max) != 0)
        return invalid(c, "MaxMediaPlaylistFragmentResults must be an integer from 1 to 5000");
    h.max = (unsigned)max;
    int64_t now = serve_now_ms();
    h.created_ms = now;
    h.expires_ms = now + expires * 1000;
    size_t first, end;
    serve_hls_window(ctx, &h, now, &first, &end);
    if (first == end)
        return serve_error(c, MHD_HTTP_NOT_FOUND, "ResourceNotFoundException",
                           h.mode == SERVE_HLS_LIVE
                               ? "No fragments found in stream %s for a LIVE session"
                               : "No fragments found in stream %s in the requested time range",
                           s->name);
    char token[SERVE_HLS_TOKEN_MAX], url[SERVE_PUBLIC_URL_MAX + 2 * SERVE_HLS_TOKEN_MAX];
    serve_hls_token(&h, token, sizeof token);
    snprintf(url, sizeof url, "%s/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=%s",
             ctx->cfg.public_url[0] ? ctx->cfg.public_url : ctx->endpoint, token);
    return serve_json(c, json_pack("{s:s}", "HLSStreamingSessionURL", url));
}
