#define _POSIX_C_SOURCE 200809L
/* The consumer: many streams on one libcurl multi handle, one thread. The
 * only timers of its own are the streams waiting to reconnect. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consumer_internal.h"

#define DEFAULT_MAX_FRAGMENT (256u << 20)

double consumer_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

kvsp_consumer *kvsp_consumer_create(kvsp_client *client, const kvsp_consumer_options *opts)
{
    if (!client)
        return NULL;
    kvsp_consumer *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (opts)
        c->opts = *opts;
    if (c->opts.max_backoff_ms <= 0)
        c->opts.max_backoff_ms = 30000;
    if (c->opts.initial_backoff_ms <= 0)
        c->opts.initial_backoff_ms = 200;
    if (!c->opts.max_fragment_bytes)
        c->opts.max_fragment_bytes = DEFAULT_MAX_FRAGMENT;
    c->client = client;
    c->rng = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)c;
    c->multi = curl_multi_init();
    if (!c->multi) {
        free(c);
        return NULL;
    }
    return c;
}

void kvsp_consumer_destroy(kvsp_consumer *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->count; i++) {
        if (c->streams[i]->in_multi)
            curl_multi_remove_handle(c->multi, c->streams[i]->easy);
        stream_free(c->streams[i]);
    }
    free(c->streams);
    curl_multi_cleanup(c->multi);
    free(c);
}

int kvsp_consumer_add(kvsp_consumer *c, const kvsp_stream_options *opts)
{
    if (!c || !opts || !opts->stream)
        return KVSP_ERR_INVALID_ARG;
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        consumer_stream **bigger = realloc(c->streams, cap * sizeof *bigger);
        if (!bigger)
            return KVSP_ERR_NOMEM;
        c->streams = bigger;
        c->cap = cap;
    }
    consumer_stream *s = calloc(1, sizeof *s);
    if (!s)
        return KVSP_ERR_NOMEM;
    s->owner = c;
    s->opts = *opts;
    s->name = strdup(opts->stream);
    s->start_value = opts->start.value ? strdup(opts->start.value) : NULL;
    s->opts.stream = s->name;
    s->opts.start.value = s->start_value;
    s->reader = opts->reader;
    if (!s->reader && opts->visitor)
        s->reader = s->own_reader = kvsp_reader_create(NULL);
    s->stats.millis_behind_now = -1;
    s->last_byte_at = consumer_now();
    if (!s->name || (opts->visitor && !s->reader) || splitter_init(&s->split, c->opts.max_fragment_bytes) != 0) {
        stream_free(s);
        return KVSP_ERR_NOMEM;
    }
    s->stats.state = KVSP_STREAM_BACKOFF; /* connects at the first perform */
    s->wake_at = 0;
    c->streams[c->count] = s;
    return (int)c->count++;
}

static int active(const consumer_stream *s)
{
    return s->stats.state != KVSP_STREAM_DONE && s->stats.state != KVSP_STREAM_FAILED;
}

/* Connects the streams whose backoff is over. */
static void wake_streams(kvsp_consumer *c)
{
    double now = consumer_now();
    for (size_t i = 0; i < c->count; i++) {
        consumer_stream *s = c->streams[i];
        if (s->stats.state != KVSP_STREAM_BACKOFF || s->in_multi || s->wake_at > now)
            continue;
        int st = stream_connect(s);
        if (st < 0) {
            s->stats.state = KVSP_STREAM_FAILED;
            s->stats.last_status = st;
        }
    }
}

int kvsp_consumer_perform(kvsp_consumer *c)
{
    if (!c)
        return KVSP_ERR_INVALID_ARG;
    wake_streams(c);
    int running;
    curl_multi_perform(c->multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        consumer_stream *s = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        if (s)
            stream_done(s, msg->data.result);
    }
    wake_streams(c);
    int n = 0;
    for (size_t i = 0; i < c->count; i++)
        n += active(c->streams[i]);
    return n;
}

long kvsp_consumer_timeout(kvsp_consumer *c)
{
    long ms = -1;
    curl_multi_timeout(c->multi, &ms);
    double now = consumer_now();
    for (size_t i = 0; i < c->count; i++) {
        const consumer_stream *s = c->streams[i];
        if (s->stats.state != KVSP_STREAM_BACKOFF || s->in_multi)
            continue;
        long wait = s->wake_at <= now ? 0 : (long)((s->wake_at - now) * 1000.0) + 1;
        if (ms < 0 || wait < ms)
            ms = wait;
    }
    return ms;
}

int kvsp_consumer_fdset(kvsp_consumer *c, fd_set *read, fd_set *write, fd_set *except, int *max_fd)
{
    return curl_multi_fdset(c->multi, read, write, except, max_fd) == CURLM_OK ? KVSP_OK : KVSP_ERR_NETWORK;
}

void kvsp_consumer_stop(kvsp_consumer *c)
{
    if (c)
        c->stop = 1;
}

int kvsp_consumer_run(kvsp_consumer *c)
{
    if (!c)
        return KVSP_ERR_INVALID_ARG;
    while (!c->stop && kvsp_consumer_perform(c) > 0) {
        long ms = kvsp_consumer_timeout(c);
        if (ms < 0 || ms > 200)
            ms = 200; /* so that a stop request is seen soon */
        curl_multi_poll(c->multi, NULL, 0, (int)ms, NULL);
    }
    int status = KVSP_OK;
    for (size_t i = 0; i < c->count; i++)
        if (c->streams[i]->stats.state == KVSP_STREAM_FAILED && status == KVSP_OK)
            status = c->streams[i]->stats.last_status ? c->streams[i]->stats.last_status : KVSP_ERR_NETWORK;
    return status;
}

size_t kvsp_consumer_stream_count(const kvsp_consumer *c)
{
    return c ? c->count : 0;
}

const kvsp_stream_stats *kvsp_consumer_stats(kvsp_consumer *c, size_t index)
{
    if (!c || index >= c->count)
        return NULL;
    consumer_stream *s = c->streams[index];
    s->stats.seconds_since_last_byte = consumer_now() - s->last_byte_at;
    return &s->stats;
}
