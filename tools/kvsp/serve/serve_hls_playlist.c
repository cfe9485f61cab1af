/* kvsp serve: the HLS endpoints a session URL leads to (GET /hls/v1/...):
 * getHLSMasterPlaylist.m3u8, getHLSMediaPlaylist.m3u8, getMP4InitFragment.mp4
 * and getMP4MediaFragment.mp4, with the query parameters KVS uses
 * (SessionToken, TrackNumber, FragmentNumber). One KVS fragment is one
 * media segment, made on request (serve_hls_mp4.c). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "serve_hls.h"

#define HLS_PREFIX "/hls/v1/"

static void put(ebml_out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void put(ebml_out *o, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        kvsp_ebml_out_bytes(o, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static int send_bytes(struct MHD_Connection *c, ebml_out *o, const char *type)
{
    if (o->failed) {
        kvsp_ebml_out_free(o);
        return serve_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "InternalFailure", "out of memory");
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(o->len, o->data ? o->data : (void *)"",
                                                             MHD_RESPMEM_MUST_COPY);
    kvsp_ebml_out_free(o);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    serve_add_request_id(r);
    int ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* "2023-11-14T22:13:20.000Z" */
static void iso_time(char *out, size_t size, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%03dZ", base, (int)(ms % 1000));
}

/* KVS's ON_DISCONTINUITY: a gap or overlap of more than this between fragments. */
#define DISCONTINUITY_MS 50

/* Whether a discontinuity tag goes before fragment k (k > 0): always where
 * the tracks change (a new initialization part), and as the session's mode
 * says: ALWAYS, or ON_DISCONTINUITY where the fragment does not begin
 * where the one before ended. A fragment's length (ListFragments') runs
 * from its first frame to its last: it ends one frame spacing later. */
static int discontinuity_before(const serve_stream *s, const serve_hls_session *h, size_t k)
{
    const serve_fragment *a = &s->fragments[k - 1], *b = &s->fragments[k];
    if (a->header != b->header || h->discontinuity == SERVE_HLS_DISC_ALWAYS)
        return 1;
    int64_t end = a->offset_ms + a->duration_ms +
                  (a->frames > 1 ? a->duration_ms / (int64_t)(a->frames - 1) : 0);
    int64_t off = b->offset_ms - end;
    return h->discontinuity == SERVE_HLS_DISC_ON_DISCONTINUITY &&
           (off > DISCONTINUITY_MS || off < -DISCONTINUITY_MS);
}

static void token_args(ebml_out *o, const char *token)
{
    put(o, "SessionToken=%s&TrackNumber=1", token);
}

static void map_line(ebml_out *o, const serve_stream *s, size_t k, const char *token)
{
    put(o, "#EXT-X-MAP:URI=\"getMP4InitFragment.mp4?");
    token_args(o, token);
    /* tracks other than the stream's first: the init part of fragment k's */
    if (s->fragments[k].header != s->fragments[0].header)
        put(o, "&FragmentNumber=%s", s->fragments[k].number);
    put(o, "\"\n");
}

static int media_playlist(serve_ctx *ctx, struct MHD_Connection *c, const serve_hls_session *h,
                          const char *token)
{
    const serve_stream *s = &ctx->streams[h->stream];
    size_t first, end;
    int complete = serve_hls_window(ctx, h, serve_now_ms(), &first, &end);
    int64_t longest = 1;
    for (size_t k = 0; k < s->count; k++) /* the whole stream's: it must not change */
        if (s->fragments[k].duration_ms > longest)
            longest = s->fragments[k].duration_ms;
    size_t removed = 0; /* discontinuity tags before the window */
    for (size_t k = 1; k <= first && k < s->count; k++)
        removed += (size_t)discontinuity_before(s, h, k);
    ebml_out o;
    memset(&o, 0, sizeof o);
    put(&o, "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    put(&o, "#EXT-X-TARGETDURATION:%" PRId64 "\n", (longest + 999) / 1000);
    put(&o, "#EXT-X-MEDIA-SEQUENCE:%zu\n", first);
    if (removed)
        put(&o, "#EXT-X-DISCONTINUITY-SEQUENCE:%zu\n", removed);
    if (h->mode == SERVE_HLS_ON_DEMAND)
        put(&o, "#EXT-X-PLAYLIST-TYPE:VOD\n");
    for (size_t k = first; k < end; k++) {
        const serve_fragment *f = &s->fragments[k];
        if (k == first) {
            map_line(&o, s, k, token);
        } else if (discontinuity_before(s, h, k)) {
            put(&o, "#EXT-X-DISCONTINUITY\n");
            if (f->header != s->fragments[k - 1].header)
                map_line(&o, s, k, token);
        }
        if (h->show_time) {
            char when[40];
            iso_time(when, sizeof when, h->by_server ? f->server_ms : f->producer_ms);
            put(&o, "#EXT-X-PROGRAM-DATE-TIME:%s\n", when);
        }
        put(&o, "#EXTINF:%" PRId64 ".%03d,\ngetMP4MediaFragment.mp4?", f->duration_ms / 1000,
            (int)(f->duration_ms % 1000));
        token_args(&o, token);
        put(&o, "&FragmentNumber=%s\n", f->number);
    }
    if (complete)
        put(&o, "#EXT-X-ENDLIST\n");
    return send_bytes(c, &o, "application/x-mpegURL");
}

static int master_playlist(serve_ctx *ctx, struct MHD_Connection *c, const serve_hls_session *h,
                           const char *token)
{
    const serve_stream *s = &ctx->streams[h->stream];
    size_t first, end;
    serve_hls_window(ctx, h, serve_now_ms(), &first, &end);
    serve_hls_tracks t;
    char why[256];
    ebml_out init;
    memset(&init, 0, sizeof init);
    int rc = serve_hls_mp4(s, first < s->count ? first : 0, 1, &init, &t, why, sizeof why);
    kvsp_ebml_out_free(&init);
    if (rc)
        return serve_error(c, MHD_HTTP_BAD_REQUEST, "UnsupportedStreamMediaTypeException",
                           "stream %s: %s", s->name, why);
    uint64_t bandwidth = 1;
    for (size_t k = 0; k < s->count; k++) {
        const serve_fragment *f = &s->fragments[k];
        uint64_t bps = f->size * 8000 / (uint64_t)(f->duration_ms > 0 ? f->duration_ms : 1);
        if (bps > bandwidth)
            bandwidth = bps;
    }
    ebml_out o;
    memset(&o, 0, sizeof o);
    put(&o, "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    put(&o, "#EXT-X-STREAM-INF:BANDWIDTH=%" PRIu64, bandwidth);
    if (t.codecs[0])
        put(&o, ",CODECS=\"%s\"", t.codecs);
    if (t.width && t.height)
        put(&o, ",RESOLUTION=%ux%u", t.width, t.height);
    put(&o, "\ngetHLSMediaPlaylist.m3u8?");
    token_args(&o, token);
    put(&o, "\n");
    return send_bytes(c, &o, "application/x-mpegURL");
}

static int mp4_part(serve_ctx *ctx, struct MHD_Connection *c, const serve_hls_session *h, int init)
{
    const serve_stream *s = &ctx->streams[h->stream];
    const char *number = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "FragmentNumber");
    if (!number && !init)
        return serve_error(c, MHD_HTTP_BAD_REQUEST, "InvalidArgumentException",
                           "FragmentNumber is required");
    long k = number ? serve_find_fragment(s, number) : 0;
    if (k < 0 || (size_t)k >= s->count ||
        (!init && !serve_hls_in_session(ctx, h, (size_t)k, serve_now_ms())))
        return serve_error(c, MHD_HTTP_NOT_FOUND, "ResourceNotFoundException",
                           "Fragment %s not found in this session of stream %s",
                           number ? number : "0", s->name);
    char why[256];
    ebml_out o;
    memset(&o, 0, sizeof o);
    int rc = serve_hls_mp4(s, (size_t)k, init, &o, NULL, why, sizeof why);
    if (rc) {
        kvsp_ebml_out_free(&o);
        return serve_error(c, MHD_HTTP_BAD_REQUEST, "UnsupportedStreamMediaTypeException",
                           "stream %s fragment %s: %s", s->name, s->fragments[k].number, why);
    }
    return send_bytes(c, &o, "video/mp4");
}

int serve_hls_get(serve_ctx *ctx, struct MHD_Connection *c, const char *url)
{
    static const char *const names[] = {"getHLSMasterPlaylist.m3u8", "getHLSMediaPlaylist.m3u8",
                                        "getMP4InitFragment.mp4", "getMP4MediaFragment.mp4"};
    size_t which = 0;
    int ours = strncmp(url, HLS_PREFIX, strlen(HLS_PREFIX)) == 0;
    while (ours && which < 4 && strcmp(url + strlen(HLS_PREFIX), names[which]) != 0)
        which++;
    if (!ours || which == 4)
        return serve_error(c, MHD_HTTP_NOT_FOUND, "UnknownOperationException",
                           "GET %s is not an operation of this service", url);
    const char *token = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "SessionToken");
    serve_hls_session h;
    if (!token || serve_hls_parse_token(ctx, token, &h) != 0)
        return serve_error(c, MHD_HTTP_BAD_REQUEST, "InvalidArgumentException",
                           "SessionToken is missing or not one this server gave");
    if (serve_now_ms() > h.expires_ms)
        return serve_error(c, MHD_HTTP_FORBIDDEN, "ExpiredTokenException",
                           "The session token has expired");
    const char *track = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "TrackNumber");
    if (which > 0 && track && strcmp(track, "1") != 0)
        return serve_error(c, MHD_HTTP_NOT_FOUND, "ResourceNotFoundException",
                           "TrackNumber %s: kvsp serve puts every track in track 1's playlist",
                           track);
    switch (which) {
    case 0: return master_playlist(ctx, c, &h, token);
    case 1: return media_playlist(ctx, c, &h, token);
    default: return mp4_part(ctx, c, &h, which == 2);
    }
}
