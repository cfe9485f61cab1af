#ifndef KVSP_SERVE_HLS_H
#define KVSP_SERVE_HLS_H

/* kvsp serve: HLS as KVS gives it (GetHLSStreamingSessionURL and the
 * endpoints its URL points to). Shared by serve_hls*.c. */

#include "serve.h"

/* What a session token says; the token carries all of it, so the server
 * keeps no session state. */
typedef enum serve_hls_disc {
    SERVE_HLS_DISC_NEVER,
    SERVE_HLS_DISC_ALWAYS,
    SERVE_HLS_DISC_ON_DISCONTINUITY
} serve_hls_disc;

typedef enum serve_hls_mode {
    SERVE_HLS_LIVE,
    SERVE_HLS_ON_DEMAND,
    SERVE_HLS_LIVE_REPLAY
} serve_hls_mode;

typedef struct serve_hls_session {
    size_t stream; /* index in ctx->streams */
    serve_hls_mode mode;
    int by_server; /* SERVER_TIMESTAMP, else PRODUCER_TIMESTAMP */
    serve_hls_disc discontinuity;
    int show_time; /* DisplayFragmentTimestamp ALWAYS: EXT-X-PROGRAM-DATE-TIME */
    /* the TimestampRange of ON_DEMAND and LIVE_REPLAY (to_ms INT64_MAX: none) */
    int64_t from_ms, to_ms;
    int64_t created_ms; /* wall clock: LIVE_REPLAY adds fragments at their pace from then */
    unsigned max;       /* MaxMediaPlaylistFragmentResults */
    int64_t expires_ms; /* wall clock */
} serve_hls_session;

/* The longest token serve_hls_token writes, with its NUL. */
#define SERVE_HLS_TOKEN_MAX 160

/* The picture and codecs of a fragment's MP4 tracks, for the master playlist. */
typedef struct serve_hls_tracks {
    char codecs[96];
    unsigned width, height; /* 0: unknown */
} serve_hls_tracks;

/* serve_hls.c */
void serve_hls_token(const serve_hls_session *h, char *out, size_t size);
/* 0, or -1 if the token is not one this server made. */
int serve_hls_parse_token(const serve_ctx *ctx, const char *token, serve_hls_session *h);
/* The fragments of the session's media playlist now: [*first, *end), maybe
 * none. Returns 1 when the playlist is complete (EXT-X-ENDLIST). */
int serve_hls_window(const serve_ctx *ctx, const serve_hls_session *h, int64_t now, size_t *first,
                     size_t *end);
/* Whether fragment k may be asked for in the session now. */
int serve_hls_in_session(const serve_ctx *ctx, const serve_hls_session *h, size_t k, int64_t now);
int serve_get_hls_streaming_session_url(serve_ctx *ctx, struct MHD_Connection *c, json_t *req);

/* serve_hls_playlist.c: GET /hls/v1/...; returns an MHD result. */
int serve_hls_get(serve_ctx *ctx, struct MHD_Connection *c, const char *url);

/* serve_hls_mp4.c: fragment k of s as fMP4 into out (appended): its
 * initialization part (ftyp, moov) with init, else its media part (moof,
 * mdat). tracks (may be NULL) gets its codecs. Returns 0 or a negative
 * status, with a reason in why. */
int serve_hls_mp4(const serve_stream *s, size_t k, int init, ebml_out *out,
                  serve_hls_tracks *tracks, char *why, size_t why_size);

#endif
