#ifndef KVSP_SERVE_H
#define KVSP_SERVE_H

/* kvsp serve: a local stand-in for the Kinesis Video Streams media APIs,
 * serving .mkv files of a directory as streams. Shared types of the
 * serve_*.c files. */

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ebml_out.h" /* kvsp_ebml_out (CMakeLists.txt) */
#include "kvsparser/fragment.h"

struct MHD_Connection;
struct MHD_Daemon;

/* Fragment numbers as KVS gives them; --number-digits makes them longer,
 * up to KVSP_FRAGMENT_NUMBER_MAX. */
#define SERVE_FRAGMENT_NUMBER_DIGITS 47
/* Server timestamps trail producer timestamps by this much, as an upload
 * would. */
#define SERVE_SERVER_DELAY_MS 250
/* The longest --public-url, with its terminating NUL. */
#define SERVE_PUBLIC_URL_MAX 512
/* When no --start-time is given and not --live: 2023-11-14T22:13:20Z. */
#define SERVE_DEFAULT_BASE_MS 1700000000000LL

/* Info and Tracks in effect for some fragments, re-encoded without
 * CRC-32, Void or Duration. */
typedef struct serve_header {
    ebml_out info;
    ebml_out tracks;
    uint64_t timecode_scale;
} serve_header;

typedef struct serve_fragment {
    char number[KVSP_FRAGMENT_NUMBER_MAX + 1];
    uint64_t offset; /* the Cluster's bytes in the file, header included */
    uint64_t size;
    /* A Cluster cut short by the end of the file: only its complete
     * children are in offset/size, sent after a new unknown-size header. */
    int reheader;
    uint32_t header; /* index into the stream's headers */
    uint32_t frames;
    int64_t cluster_timecode;
    int64_t offset_ms; /* producer time since the stream's first fragment */
    int64_t producer_ms;
    int64_t server_ms;
    int64_t duration_ms;
    int64_t release_offset_ms; /* --live: released this long after the start */
    /* The producer's SimpleTags before the Cluster (ContactId, MimeType, ...;
     * not the AWS_KINESISVIDEO_* ones, which serve writes anew), re-encoded:
     * KVS keeps them in each fragment it returns. */
    ebml_out tags;
} serve_fragment;

typedef struct serve_stream {
    char *name;
    char *path;
    char *arn;
    int fd; /* shared by every request: reads use pread */
    char doctype[32];
    serve_header *headers;
    size_t header_count;
    serve_fragment *fragments;
    size_t count;
    int64_t delay_ms;       /* --live-stagger: this stream starts that much later */
    unsigned number_digits; /* of its fragment numbers */
} serve_stream;

/* --fault-cut-at / --fault-end-at: where a GetMedia response stops once. */
typedef struct serve_cut {
    uint64_t fragment; /* index of the fragment in its stream */
    uint64_t byte;     /* bytes of that fragment sent before the cut */
    int end_cleanly;   /* end the chunked body instead of dropping the connection */
    atomic_int used;   /* each point cuts one response only */
} serve_cut;

/* Faults of one media response (GetMedia or GetMediaForFragmentList),
 * chosen by its index K among the media responses the server has started,
 * from 0 (serve_faults.c). */
typedef enum serve_fault_kind {
    SERVE_FAULT_STALL,          /* B bytes of the body, then nothing, open */
    SERVE_FAULT_GARBAGE,        /* 200 with B random bytes instead of MKV */
    SERVE_FAULT_CHUNK_BAD_SIZE, /* B bytes well chunked, then a non-hex size line */
    SERVE_FAULT_CHUNK_SHORT,    /* ... then a chunk shorter than declared, close */
    SERVE_FAULT_CHUNK_NO_END    /* ... then close without the zero-size chunk */
} serve_fault_kind;

typedef struct serve_response_fault {
    serve_fault_kind kind;
    uint64_t response; /* K */
    uint64_t bytes;    /* B */
} serve_response_fault;

/* --fault-list-json: how ListFragments answers are spoiled. */
typedef enum serve_list_fault {
    SERVE_LIST_OK = 0,
    SERVE_LIST_TRUNCATED,   /* the JSON cut in half */
    SERVE_LIST_NOT_JSON,    /* an HTML page with status 200 */
    SERVE_LIST_SHAPE,       /* "Fragments" an object, not a list */
    SERVE_LIST_TYPES,       /* a FragmentNumber that is a number */
    SERVE_LIST_LONG_NUMBER, /* a FragmentNumber of 100,000 digits */
    SERVE_LIST_HUGE,        /* a 5 MiB string in the answer */
    SERVE_LIST_ERROR_TEXT   /* HTTP 500 with a text/html body */
} serve_list_fault;

typedef struct serve_config {
    const char *root;
    unsigned port;
    const char *access_key; /* NULL: requests are not authenticated */
    const char *secret_key;
    const char *region;
    int live;
    int have_start_time;
    int64_t start_time_ms;
    unsigned threads;
    uint64_t fault_close_after;      /* 0: off */
    uint64_t fault_limit_every;      /* 0: off */
    int64_t fault_error_at_fragment; /* -1: off */
    serve_cut *cuts;                 /* --fault-cut-at, --fault-end-at */
    size_t cut_count;
    int64_t live_stagger_ms;
    const char *log_fragments;    /* --log-fragments FILE */
    serve_response_fault *faults; /* --fault-stall-at, --fault-garbage, --fault-chunked */
    size_t fault_count;
    const char *expired_token;             /* --fault-expired-token */
    serve_list_fault list_fault;           /* --fault-list-json */
    int list_unordered;                    /* --list-unordered: one shuffle across all pages */
    unsigned number_digits;                /* --number-digits */
    uint64_t repeat;                       /* --repeat: each file's fragments this many times */
    uint64_t rate_per_connection;          /* --rate-per-connection, bytes/s; 0: off */
    int64_t session_limit_ms;              /* --session-limit; 0: off */
    uint64_t fault_cut_every;              /* --fault-cut-every; 0: off */
    char public_url[SERVE_PUBLIC_URL_MAX]; /* --public-url; "": the local endpoint */
} serve_config;

/* Suspended GetMedia responses of --live waiting for a fragment's release. */
typedef struct serve_waiter {
    struct MHD_Connection *conn;
    int64_t wake_ms;
    struct serve_waiter *prev, *next;
} serve_waiter;

typedef struct serve_live {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    int running;
    int stopping;
    serve_waiter *head;
} serve_live;

typedef struct serve_ctx {
    serve_config cfg;
    serve_stream *streams;
    size_t stream_count;
    int64_t start_ms; /* wall clock when the server started */
    int64_t base_ms;  /* producer timestamp of each stream's first fragment */
    unsigned port;
    char endpoint[64];
    struct MHD_Daemon *daemon;
    atomic_uint_fast64_t requests;
    atomic_uint_fast64_t media_responses;     /* K of the response faults */
    atomic_uint_fast64_t get_media_responses; /* for --fault-cut-every */
    /* Shutting down: GetMedia responses end at their next fragment boundary;
     * serve_http_drain waits for the open ones (active_bodies) to finish. */
    atomic_int stopping;
    atomic_long active_bodies;
    int quiesced;    /* the listening socket, given back by MHD_quiesce_daemon: */
    int quiesced_fd; /* closed after MHD_stop_daemon */
    serve_live live;
    FILE *fragment_log; /* --log-fragments */
    pthread_mutex_t log_lock;
} serve_ctx;

/* serve_index.c */
int serve_index_root(serve_ctx *ctx);
/* Sets the producer timestamp of each stream's first fragment (plus the
 * stream's delay_ms); the others keep their offsets from it. */
void serve_set_base(serve_ctx *ctx, int64_t base_ms);
void serve_streams_free(serve_ctx *ctx);
serve_stream *serve_find_stream(serve_ctx *ctx, const char *name, const char *arn);
/* Index of the fragment with this number, or -1. */
long serve_find_fragment(const serve_stream *s, const char *number);

/* serve_payload.c: the Matroska bytes of a fragment around its Cluster. */
/* "1700000000.113" */
void serve_format_seconds(char *out, size_t size, int64_t ms);
typedef enum serve_api { SERVE_GET_MEDIA, SERVE_FRAGMENT_LIST } serve_api;
void serve_fragment_head(ebml_out *o, const serve_stream *s, const serve_fragment *f,
                         serve_api api);
/* The head, and the Cluster header a reheadered fragment needs: what goes
 * before the fragment's Cluster bytes from the file. */
void serve_fragment_start(ebml_out *o, const serve_stream *s, const serve_fragment *f,
                          serve_api api);
/* The bytes GetMediaForFragmentList returns for f: ListFragments' size. */
int serve_fragment_list_size(const serve_stream *s, const serve_fragment *f, uint64_t *size);
void serve_fragment_tail(ebml_out *o, const serve_fragment *f, int64_t millis_behind_now);
void serve_error_fragment(ebml_out *o, const serve_stream *s, const serve_fragment *f,
                          const char *code, unsigned id);

/* serve_body.c: the streamed body of GetMedia and GetMediaForFragmentList. */
typedef struct serve_body serve_body;
/* first: the first fragment of GetMedia; list/count: the fragments of
 * GetMediaForFragmentList (taken over). */
serve_body *serve_body_create(serve_ctx *ctx, serve_stream *s, struct MHD_Connection *c,
                              serve_api api, size_t first, size_t *list, size_t count);
/* Queues the 200 response with the body streamed, or plays the response
 * fault chosen for it. Returns an MHD result. */
int serve_body_queue(serve_body *b);
/* The next bytes of the body, never waiting for --live fragments: > 0, or
 * 0 at the end (or where it would wait), -1 on a failure. */
ssize_t serve_body_fill(serve_body *b, char *buf, size_t max);
void serve_body_destroy(serve_body *b);

/* serve_faults.c: the response faults and their options. */
/* Parses the value of a fault option (its getopt value c, below); 0, or
 * -1 after printing why. */
enum {
    SERVE_OPT_STALL = 1000,
    SERVE_OPT_GARBAGE,
    SERVE_OPT_CHUNKED,
    SERVE_OPT_EXPIRED,
    SERVE_OPT_LIST_JSON
};
int serve_fault_option(serve_config *cfg, int c, const char *value);
/* The fault for media response k, or NULL. */
const serve_response_fault *serve_fault_for(const serve_config *cfg, uint64_t k);
/* Writes a malformed chunked response on the connection's socket itself
 * (MHD always chunks correctly) and returns MHD_NO so that MHD closes it. */
int serve_fault_raw_chunked(serve_body *b, struct MHD_Connection *c, const serve_response_fault *f);
/* --fault-expired-token: 1 after queueing the 403 (*result) if the request
 * carries that session token. */
int serve_fault_expired(serve_ctx *ctx, struct MHD_Connection *c, int *result);
/* --fault-list-json: queues the spoiled answer instead of `good` (taken). */
int serve_fault_list_json(serve_ctx *ctx, struct MHD_Connection *c, json_t *good);

/* serve_live.c: the clock of --live and the connections waiting on it. */
int64_t serve_now_ms(void);
/* Whether a fragment is available yet (always, unless --live). */
int serve_released(const serve_ctx *ctx, const serve_fragment *f, int64_t now_ms);
int64_t serve_release_ms(const serve_ctx *ctx, const serve_fragment *f);
int serve_live_start(serve_live *l);
/* Suspends the connection until wake_ms. Must be called from the content
 * reader. Returns 0, or -1 if the server is stopping. */
int serve_live_wait(serve_live *l, serve_waiter *w, struct MHD_Connection *c, int64_t wake_ms);
/* Resumes every waiting connection and refuses new waits. */
void serve_live_stop(serve_live *l);
void serve_live_join(serve_live *l);

/* serve_http.c */
int serve_http_start(serve_ctx *ctx);
/* Stops accepting connections and waits, at most timeout_ms, for the media
 * responses under way to end (at a fragment boundary, ctx->stopping being
 * set) and their last chunk to be sent. */
void serve_http_drain(serve_ctx *ctx, long timeout_ms);
void serve_http_stop(serve_ctx *ctx);
/* A KVS error: status, x-amzn-ErrorType and a JSON message. */
int serve_error(struct MHD_Connection *c, unsigned status, const char *type, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* x-amzn-RequestId, as every KVS response has, and the CORS header that
 * lets web pages read it. */
struct MHD_Response;
void serve_add_request_id(struct MHD_Response *r);
/* Sends the JSON object (reference taken) with status 200. */
int serve_json(struct MHD_Connection *c, json_t *obj);
/* Sends the JSON text (malloc'ed, taken; NULL: out of memory) with status 200. */
int serve_json_text(struct MHD_Connection *c, char *text);

/* serve_auth.c: SigV4 check of a request. Returns 0 if it may go on, or 1
 * after queueing the 403, with the MHD result in *result. */
int serve_auth_check(serve_ctx *ctx, struct MHD_Connection *c, const char *method, const char *url,
                     const void *body, size_t body_size, int *result);

/* serve_api.c: the JSON APIs, routed by path. Returns an MHD result. */
int serve_api_dispatch(serve_ctx *ctx, struct MHD_Connection *c, const char *url, const char *body,
                       size_t body_size);
/* The stream named by StreamName or StreamARN, or NULL after queueing the
 * error; *result is then the MHD result. */
serve_stream *serve_request_stream(serve_ctx *ctx, struct MHD_Connection *c, json_t *req,
                                   int *result);
/* Epoch seconds (a JSON number) to milliseconds. Returns 0, or -1. */
int serve_json_timestamp_ms(json_t *v, int64_t *ms);

/* serve_media.c */
int serve_get_media(serve_ctx *ctx, struct MHD_Connection *c, json_t *req);
int serve_get_media_for_fragment_list(serve_ctx *ctx, struct MHD_Connection *c, json_t *req);

#endif
