#ifndef KVSP_CONSUMER_INTERNAL_H
#define KVSP_CONSUMER_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>

#include "../alloc_internal.h"
#include "client_internal.h"
#include "fragment_splitter.h"
#include "kvsparser/consumer.h"

/* What the stream's transfer is: GetDataEndpoint, then GetMedia. */
enum { PHASE_ENDPOINT, PHASE_MEDIA };

/* One stream of a consumer: its GetDataEndpoint and GetMedia transfers (on
 * the multi handle, never blocking the others), the fragment splitter in
 * front of the caller's visitor, and where to resume. */
typedef struct consumer_stream {
    kvsp_consumer *owner;
    kvsp_stream_options opts;
    char *name;
    char *start_value;
    CURL *easy;
    struct curl_slist *headers;
    int in_multi;
    fragment_splitter split;
    kvsp_reader *reader; /* the caller's, or own_reader */
    kvsp_reader *own_reader;
    kvsp_stream_stats stats;
    char token[512]; /* continuation token of the last complete fragment */
    char last_number[KVSP_FRAGMENT_NUMBER_MAX + 1]; /* number of the last fragment delivered */
    /* a resumed FRAGMENT_NUMBER start repeats this one */
    char skip_number[KVSP_FRAGMENT_NUMBER_MAX + 1];
    char error[512];
    char error_type[128];
    char curl_error[CURL_ERROR_SIZE]; /* libcurl's message for the transfer (its error buffer) */
    char last_exception[128]; /* stats.last_exception: error_type of the last error answer */
    char *answer;             /* GetDataEndpoint's answer or an error's body, bounded */
    size_t answer_len;
    int phase;          /* PHASE_* of the current transfer */
    int reached;        /* the service answered once: network errors are retried */
    char *endpoint;     /* the stream's GET_MEDIA data endpoint, or NULL */
    double endpoint_at; /* when it was fetched */
    int fail_status;    /* set by callbacks: stop this stream with it */
    int retry_soon;     /* an error tag asked for a new connection */
    int delivered_this_response;
    int attempts;            /* consecutive failures, for the backoff */
    double wake_at;          /* BACKOFF: when to connect again */
    double last_byte_at;     /* header or body byte, or the connect */
    int stalled;             /* the transfer was given up by the stall timeout */
    int token_refreshed;     /* an ExpiredTokenException got fresh credentials */
    double last_fragment_at; /* the last delivery, or when the stream was added */
    /* What kvsp_consumer_stats_snapshot hands to other threads: a copy of
     * stats and the two times, taken under the consumer's lock. */
    kvsp_stream_stats published;
    double published_byte_at, published_fragment_at;
} consumer_stream;

struct kvsp_consumer {
    kvsp_client *client;
    CURLM *multi;
    kvsp_consumer_options opts;
    consumer_stream **streams;
    size_t count, cap;
    volatile int stop;
    unsigned rng;
    /* kvsp_consumer_run on Linux: libcurl's sockets in an epoll set and
     * curl_multi_socket_action, so that a wakeup costs what the ready
     * sockets need, not a poll of every stream's. -1: not in use. */
    int epfd;
    double timer_at; /* libcurl's timer (monotonic seconds), < 0: none */
    /* Guards the streams' published copies (and the streams array against
     * an add) for kvsp_consumer_stats_snapshot; the hot path never takes
     * it, the run loop once per round at most every PUBLISH_S. */
    pthread_mutex_t lock;
    double published_at;
    int error;         /* kvsp_consumer_error */
    char message[640]; /* its message */
};

/* Starts (or restarts) the stream's GetMedia. */
int kvsp_stream_connect(consumer_stream *s);
/* A transfer of the stream finished with this libcurl result. */
void kvsp_stream_done(consumer_stream *s, CURLcode result);
void kvsp_stream_free(consumer_stream *s);
/* With give_up, ends the transfers on which nothing arrived for the stall
 * timeout (as failed: they resume). Returns the ms until the next could be
 * due, -1 if none. */
long kvsp_streams_check_stalls(kvsp_consumer *c, int give_up);
/* Copies every stream's stats for kvsp_consumer_stats_snapshot (under the
 * lock), at most every PUBLISH_S unless force. */
void kvsp_consumer_publish(kvsp_consumer *c, int force);

#endif
