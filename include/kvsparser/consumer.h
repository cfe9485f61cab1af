#ifndef KVSPARSER_CONSUMER_H
#define KVSPARSER_CONSUMER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/select.h>

#include "kvsparser/client.h"
#include "kvsparser/fragment.h"
#include "kvsparser/visitor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Resilient live consumption (libkvsparser-client): one or many streams read
 * with GetMedia on one thread, through libcurl's multi interface.
 *
 * Each stream's bytes are cut into whole fragments before anything sees
 * them: a fragment is delivered (its bytes pushed into the stream's visitor,
 * then on_fragment called) once its closing Tags, the next EBML header or
 * the clean end of a response shows it is complete. When a connection ends
 * or fails mid-fragment, that partial fragment is dropped and the stream
 * reconnects with CONTINUATION_TOKEN set to the token of the last complete
 * fragment (or starting at the fragment after the last one delivered when
 * the service sent no token yet): no fragment is lost or delivered twice.
 * Throttling, 5xx and network errors are retried with exponential backoff
 * and jitter; 403 and 404 stop the stream with a clear error, and so does a
 * network error before the service has answered at all (a wrong endpoint).
 * A connection on which nothing arrives for the client's stall timeout
 * (kvsp_client_options.stall_timeout_ms) is given up and resumed the same
 * way; with a silent producer that only means a reconnect per timeout.
 * An ExpiredTokenException is retried once with fresh credentials when the
 * provider can renew them (ECS, instance metadata), else it stops the
 * stream like any 403. A payload that is not MKV (the reader fails on it)
 * stops the stream with the reader's status and the offset: asking again
 * would most likely get the same bytes. */

typedef struct kvsp_consumer kvsp_consumer;

typedef enum kvsp_stream_state {
    KVSP_STREAM_CONNECTING = 0,
    KVSP_STREAM_STREAMING,
    KVSP_STREAM_BACKOFF, /* waiting before reconnecting */
    KVSP_STREAM_DONE,    /* ended cleanly (not following) */
    KVSP_STREAM_FAILED   /* stopped by an error that retrying cannot fix */
} kvsp_stream_state;

typedef struct kvsp_stream_stats {
    kvsp_stream_state state;
    uint64_t fragments; /* delivered */
    uint64_t frames;
    uint64_t bytes;         /* received, including dropped partial fragments */
    uint64_t dropped_bytes; /* of partial fragments dropped at a reconnect */
    uint64_t reconnects;
    uint64_t throttled;             /* throttling answers seen */
    uint64_t error_tags;            /* fragments carrying AWS_KINESISVIDEO_ERROR_* */
    int64_t millis_behind_now;      /* -1 until known */
    const char *continuation_token; /* of the last complete fragment, or NULL */
    const char *last_fragment_number;
    double seconds_since_last_byte;
    int last_status;        /* KVSP_OK or the error that stopped the stream */
    const char *last_error; /* message of the last error or retry cause */
    uint64_t stalls;        /* connections given up by the stall timeout */
    /* Failures by kind, each counted once per failed attempt (throttling
     * answers are `throttled` above): */
    uint64_t network_errors;            /* no connection, no DNS answer, a transfer cut
                                           off or stalled, a response ended inside a fragment */
    uint64_t service_errors;            /* error answers other than throttling (4xx, 5xx),
                                           unusable GetDataEndpoint answers, error-tag fragments */
    uint64_t payload_errors;            /* bytes that are not MKV, a fragment over
                                           max_fragment_bytes, or rejected by the visitor */
    double seconds_since_last_fragment; /* since the stream was added before the first */
    unsigned attempts;                  /* consecutive failed attempts; 0 after a fragment */
    long last_http_status;              /* of the last error answer, 0 for none */
    const char *last_exception;         /* AWS exception name of that answer, or NULL */
    const char *data_endpoint;          /* the GetMedia data endpoint in use, or NULL */
} kvsp_stream_stats;

typedef struct kvsp_stream_options {
    const char *stream;        /* name or ARN */
    kvsp_start_selector start; /* where to begin; value is copied */
    /* Receives the bytes of each complete fragment as reader events (as if
     * read from a file); may be NULL. They are pushed into `reader` if given
     * (the caller finishes it), else into a reader of the consumer's. */
    const kvsp_visitor *visitor;
    kvsp_reader *reader;
    /* Called once per complete fragment with its metadata; may be NULL. */
    int (*on_fragment)(void *user, const char *stream, const kvsp_fragment *fragment);
    /* An AWS_KINESISVIDEO_ERROR_* tag arrived. */
    void (*on_error_tag)(void *user, const char *stream, const kvsp_fragment *fragment);
    void *user;
    int follow; /* keep reading after a clean end of response (live) */
    /* Called before each retry after a failure with its reason (the stream's
     * last_error), so that a caller can say why it reconnects; may be NULL. */
    void (*on_retry)(void *user, const char *stream, const char *reason);
} kvsp_stream_options;

typedef struct kvsp_consumer_options {
    long max_backoff_ms;       /* 0: 30000 */
    long initial_backoff_ms;   /* 0: 200 */
    int max_retries;           /* consecutive failures before giving up; 0: unlimited */
    size_t max_fragment_bytes; /* a fragment larger than this fails the stream; 0: 256 MiB */
} kvsp_consumer_options;

/* The consumer borrows the client: destroy the consumer first. Zeroed (or
 * NULL) options are the defaults. NULL on allocation failure or without a
 * client. */
KVSP_API kvsp_consumer *kvsp_consumer_create(kvsp_client *client,
                                             const kvsp_consumer_options *opts);
KVSP_API void kvsp_consumer_destroy(kvsp_consumer *c);
/* Adds a stream (the options, the stream name and the start value are
 * copied; visitor, reader and user are borrowed until the consumer is
 * destroyed); returns its index, or a negative status. */
KVSP_API int kvsp_consumer_add(kvsp_consumer *c, const kvsp_stream_options *opts);

/* Runs until every stream is done or failed, or kvsp_consumer_stop.
 * Returns KVSP_OK, or the status of the first stream that failed (see
 * kvsp_consumer_error; every stream's own is in its stats). */
KVSP_API int kvsp_consumer_run(kvsp_consumer *c);
/* Asks run to return soon (e.g. from a signal handler: only sets a flag). */
KVSP_API void kvsp_consumer_stop(kvsp_consumer *c);

/* For applications with their own event loop: the descriptors to wait on
 * and for how long (ms, -1: no timer), then perform once they are ready or
 * the time has passed. perform returns the number of streams still active. */
KVSP_API int kvsp_consumer_fdset(kvsp_consumer *c, fd_set *read, fd_set *write, fd_set *except,
                                 int *max_fd);
KVSP_API long kvsp_consumer_timeout(kvsp_consumer *c);
KVSP_API int kvsp_consumer_perform(kvsp_consumer *c);

KVSP_API size_t kvsp_consumer_stream_count(const kvsp_consumer *c);
/* The stream's stats (index as kvsp_consumer_add returned it), NULL for
 * no such stream. Owned by the consumer: the pointer and the strings in it
 * stay valid until kvsp_consumer_destroy; the values change as the
 * consumer runs (seconds_since_last_byte is computed by this call). */
KVSP_API const kvsp_stream_stats *kvsp_consumer_stats(const kvsp_consumer *c, size_t index);
/* The same numbers copied into *out, for another thread than the one
 * running the consumer (a metrics endpoint, a watchdog): the only consumer
 * call that thread may make. The copy is consistent (all of one moment) and
 * is what the consumer's thread last published, at the end of a round of
 * work, at most every 50 ms: about a quarter of a second old at most while
 * it runs. The seconds_since_* fields are computed by this call. The string
 * fields are NULL in the copy (they change under the other thread). KVSP_OK,
 * or KVSP_ERR_INVALID_ARG for no such stream. */
KVSP_API int kvsp_consumer_stats_snapshot(const kvsp_consumer *c, size_t index,
                                          kvsp_stream_stats *out);

/* The consumer's last error: of the last kvsp_consumer_add that failed, or
 * of the first stream that failed in a run or perform ("stream NAME:
 * message"); KVSP_OK and "" when none. The message is owned by the
 * consumer and valid until its next call or destruction. */
KVSP_API int kvsp_consumer_error(const kvsp_consumer *c);
KVSP_API const char *kvsp_consumer_error_message(const kvsp_consumer *c);

#ifdef __cplusplus
}
#endif

#endif
