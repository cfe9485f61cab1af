#define _POSIX_C_SOURCE 200809L
/* The consumer: many streams on one libcurl multi handle, one thread. The
 * only timers of its own are the streams waiting to reconnect.
 *
 * kvsp_consumer_run waits with epoll on Linux and drives libcurl with
 * curl_multi_socket_action (the socket and timer callbacks below keep the
 * epoll set), so that hundreds of mostly idle streams cost nothing between
 * their fragments; elsewhere, and for applications with their own loop
 * (fdset/timeout/perform), curl_multi_poll / curl_multi_perform. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

#include "consumer_internal.h"

#define MAX_WAIT_MS 200 /* so that a stop request is seen soon */

#define DEFAULT_MAX_FRAGMENT (256u << 20)

/* How often the run loop copies the stats for other threads: rare enough
 * to cost nothing, often enough for a scrape every second. */
#define PUBLISH_S 0.05

#ifdef __linux__
/* CURLMOPT_SOCKETFUNCTION: what libcurl waits for on a socket. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *user, void *socketp)
{
    (void)easy;
    (void)socketp;
    kvsp_consumer *c = user;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.fd = fd;
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
        epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: when libcurl wants socket_action(TIMEOUT). */
static int on_timer(CURLM *multi, long timeout_ms, void *user)
{
    (void)multi;
    kvsp_consumer *c = user;
    c->timer_at = timeout_ms < 0 ? -1 : kvsp_client_now() + (double)timeout_ms / 1000.0;
    return 0;
}

static void watch_sockets(kvsp_consumer *c)
{
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (c->epfd < 0)
        return; /* run falls back to curl_multi_poll */
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
}
#else
static void watch_sockets(kvsp_consumer *c)
{
    (void)c;
}
#endif

kvsp_consumer *kvsp_consumer_create(kvsp_client *client, const kvsp_consumer_options *opts)
{
    if (!client)
        return NULL;
    kvsp_consumer *c = kvsp_ext_calloc(1, sizeof *c);
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
    c->epfd = -1;
    c->timer_at = -1;
    c->multi = curl_multi_init();
    if (!c->multi || pthread_mutex_init(&c->lock, NULL) != 0) {
        if (c->multi)
            curl_multi_cleanup(c->multi);
        kvsp_ext_free(c);
        return NULL;
    }
    watch_sockets(c);
    return c;
}

void kvsp_consumer_destroy(kvsp_consumer *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->count; i++) {
        if (c->streams[i]->in_multi)
            curl_multi_remove_handle(c->multi, c->streams[i]->easy);
        kvsp_stream_free(c->streams[i]);
    }
    kvsp_ext_free(c->streams);
    curl_multi_cleanup(c->multi);
    if (c->epfd >= 0)
        close(c->epfd);
    pthread_mutex_destroy(&c->lock);
    kvsp_ext_free(c);
}

static int consumer_fail(kvsp_consumer *c, int status, const char *what)
{
    c->error = status;
    snprintf(c->message, sizeof c->message, "%s", what);
    return status;
}

int kvsp_consumer_add(kvsp_consumer *c, const kvsp_stream_options *opts)
{
    if (!c)
        return KVSP_ERR_INVALID_ARG;
    if (!opts || !opts->stream)
        return consumer_fail(c, KVSP_ERR_INVALID_ARG, "no stream options or no stream name");
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        pthread_mutex_lock(&c->lock); /* a snapshot may be reading the array */
        consumer_stream **bigger = kvsp_ext_realloc(c->streams, cap * sizeof *bigger);
        if (bigger) {
            c->streams = bigger;
            c->cap = cap;
        }
        pthread_mutex_unlock(&c->lock);
        if (!bigger)
            return consumer_fail(c, KVSP_ERR_NOMEM, "out of memory");
    }
    consumer_stream *s = kvsp_ext_calloc(1, sizeof *s);
    if (!s)
        return consumer_fail(c, KVSP_ERR_NOMEM, "out of memory");
    s->owner = c;
    s->opts = *opts;
    s->name = kvsp_ext_strdup(opts->stream);
    s->start_value = opts->start.value ? kvsp_ext_strdup(opts->start.value) : NULL;
    s->opts.stream = s->name;
    s->opts.start.value = s->start_value;
    s->reader = opts->reader;
    if (!s->reader && opts->visitor)
        s->reader = s->own_reader = kvsp_reader_create(NULL);
    s->stats.millis_behind_now = -1;
    s->last_byte_at = s->last_fragment_at = kvsp_client_now();
    /* Without a visitor only the metadata is wanted: no bytes are kept. */
    int keep = opts->visitor != NULL;
    if (!s->name || (opts->start.value && !s->start_value) || (keep && !s->reader) ||
        kvsp_splitter_init(&s->split, c->opts.max_fragment_bytes, keep) != 0) {
        kvsp_stream_free(s);
        return consumer_fail(c, KVSP_ERR_NOMEM, "out of memory");
    }
    s->stats.state = KVSP_STREAM_BACKOFF; /* connects at the first perform */
    s->wake_at = 0;
    s->published = s->stats;
    s->published_byte_at = s->published_fragment_at = s->last_byte_at;
    pthread_mutex_lock(&c->lock);
    c->streams[c->count] = s;
    int index = (int)c->count++;
    pthread_mutex_unlock(&c->lock);
    return index;
}

static int active(const consumer_stream *s)
{
    return s->stats.state != KVSP_STREAM_DONE && s->stats.state != KVSP_STREAM_FAILED;
}

/* Connects the streams whose backoff is over. */
static void wake_streams(kvsp_consumer *c)
{
    double now = kvsp_client_now();
    for (size_t i = 0; i < c->count; i++) {
        consumer_stream *s = c->streams[i];
        if (s->stats.state != KVSP_STREAM_BACKOFF || s->in_multi || s->wake_at > now)
            continue;
        int st = kvsp_stream_connect(s);
        if (st < 0) {
            s->stats.state = KVSP_STREAM_FAILED;
            s->stats.last_status = st;
        }
    }
}

/* The consumer's error: that of the first stream that failed. */
static void take_stream_errors(kvsp_consumer *c)
{
    for (size_t i = 0; i < c->count; i++) {
        const consumer_stream *s = c->streams[i];
        if (s->stats.state != KVSP_STREAM_FAILED)
            continue;
        c->error = s->stats.last_status ? s->stats.last_status : KVSP_ERR_NETWORK;
        snprintf(c->message, sizeof c->message, "stream %s: %s", s->name,
                 s->stats.last_error ? s->stats.last_error : kvsp_status_str(c->error));
        return;
    }
}

/* Finished transfers to their streams; then the streams due connect.
 * Returns the number of streams still active. */
static int after_transfers(kvsp_consumer *c)
{
    CURLMsg *msg;
    int left;
    kvsp_streams_check_stalls(c, 1);
    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        consumer_stream *s = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        if (s)
            kvsp_stream_done(s, msg->data.result);
    }
    wake_streams(c);
    take_stream_errors(c);
    kvsp_consumer_publish(c, 0);
    int n = 0;
    for (size_t i = 0; i < c->count; i++)
        n += active(c->streams[i]);
    return n;
}

int kvsp_consumer_perform(kvsp_consumer *c)
{
    if (!c)
        return KVSP_ERR_INVALID_ARG;
    wake_streams(c);
    int running;
    curl_multi_perform(c->multi, &running);
    return after_transfers(c);
}

long kvsp_consumer_timeout(kvsp_consumer *c)
{
    long ms = -1;
    curl_multi_timeout(c->multi, &ms);
    long stall = kvsp_streams_check_stalls(c, 0);
    if (stall >= 0 && (ms < 0 || stall < ms))
        ms = stall;
    double now = kvsp_client_now();
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
    return curl_multi_fdset(c->multi, read, write, except, max_fd) == CURLM_OK ? KVSP_OK
                                                                               : KVSP_ERR_NETWORK;
}

void kvsp_consumer_stop(kvsp_consumer *c)
{
    if (c)
        c->stop = 1;
}

/* How long the run loop may sleep: until libcurl's timer (timer_at, with
 * the socket interface) or the first stream's reconnect, at most
 * MAX_WAIT_MS. */
static int wait_ms(kvsp_consumer *c, int socket_api)
{
    long ms;
    if (socket_api) {
        ms = -1;
        if (c->timer_at >= 0) {
            double left = c->timer_at - kvsp_client_now();
            ms = left <= 0 ? 0 : (long)(left * 1000.0) + 1;
        }
        double now = kvsp_client_now();
        for (size_t i = 0; i < c->count; i++) {
            const consumer_stream *s = c->streams[i];
            if (s->stats.state != KVSP_STREAM_BACKOFF || s->in_multi)
                continue;
            long wait = s->wake_at <= now ? 0 : (long)((s->wake_at - now) * 1000.0) + 1;
            if (ms < 0 || wait < ms)
                ms = wait;
        }
    } else {
        ms = kvsp_consumer_timeout(c);
    }
    return ms < 0 || ms > MAX_WAIT_MS ? MAX_WAIT_MS : (int)ms;
}

#ifdef __linux__
/* One round with epoll: wait, then hand libcurl the ready sockets and,
 * when due, its timeout. Returns the streams still active. */
static int run_epoll(kvsp_consumer *c)
{
    struct epoll_event ev[64];
    int running;
    int n = epoll_wait(c->epfd, ev, (int)(sizeof ev / sizeof ev[0]), wait_ms(c, 1));
    for (int i = 0; i < n; i++) {
        int mask = 0;
        if (ev[i].events & (EPOLLIN | EPOLLHUP))
            mask |= CURL_CSELECT_IN;
        if (ev[i].events & EPOLLOUT)
            mask |= CURL_CSELECT_OUT;
        if (ev[i].events & EPOLLERR)
            mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(c->multi, ev[i].data.fd, mask, &running);
    }
    if (c->timer_at >= 0 && c->timer_at <= kvsp_client_now()) {
        c->timer_at = -1;
        curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    return after_transfers(c);
}
#endif

int kvsp_consumer_run(kvsp_consumer *c)
{
    if (!c)
        return KVSP_ERR_INVALID_ARG;
    c->error = KVSP_OK; /* an earlier kvsp_consumer_add's error is not the run's */
    c->message[0] = '\0';
#ifdef __linux__
    if (c->epfd >= 0) {
        /* Streams connect in after_transfers; libcurl's timer then asks for
         * socket_action(TIMEOUT) to start them. */
        int active = after_transfers(c);
        while (!c->stop && active > 0)
            active = run_epoll(c);
    } else
#endif
    {
        while (!c->stop && kvsp_consumer_perform(c) > 0)
            curl_multi_poll(c->multi, NULL, 0, wait_ms(c, 0), NULL);
    }
    take_stream_errors(c);
    kvsp_consumer_publish(c, 1);
    return c->error;
}

int kvsp_consumer_error(const kvsp_consumer *c)
{
    return c ? c->error : KVSP_ERR_INVALID_ARG;
}

const char *kvsp_consumer_error_message(const kvsp_consumer *c)
{
    return c ? c->message : "";
}

size_t kvsp_consumer_stream_count(const kvsp_consumer *c)
{
    return c ? c->count : 0;
}

const kvsp_stream_stats *kvsp_consumer_stats(const kvsp_consumer *c, size_t index)
{
    if (!c || index >= c->count)
        return NULL;
    consumer_stream *s = c->streams[index];
    double now = kvsp_client_now();
    s->stats.seconds_since_last_byte = now - s->last_byte_at;
    s->stats.seconds_since_last_fragment = now - s->last_fragment_at;
    return &s->stats;
}

void kvsp_consumer_publish(kvsp_consumer *c, int force)
{
    double now = kvsp_client_now();
    if (!force && now - c->published_at < PUBLISH_S)
        return;
    c->published_at = now;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->count; i++) {
        consumer_stream *s = c->streams[i];
        s->published = s->stats;
        s->published_byte_at = s->last_byte_at;
        s->published_fragment_at = s->last_fragment_at;
    }
    pthread_mutex_unlock(&c->lock);
}

int kvsp_consumer_stats_snapshot(const kvsp_consumer *c, size_t index, kvsp_stream_stats *out)
{
    if (!c || !out)
        return KVSP_ERR_INVALID_ARG;
    kvsp_consumer *m = (kvsp_consumer *)c; /* the lock is not part of the state */
    int st = KVSP_ERR_INVALID_ARG;
    pthread_mutex_lock(&m->lock);
    if (index < c->count) {
        const consumer_stream *s = c->streams[index];
        double now = kvsp_client_now();
        *out = s->published;
        out->seconds_since_last_byte = now - s->published_byte_at;
        out->seconds_since_last_fragment = now - s->published_fragment_at;
        st = KVSP_OK;
    }
    pthread_mutex_unlock(&m->lock);
    if (st == KVSP_OK) {
        out->continuation_token = out->last_fragment_number = NULL;
        out->last_error = out->last_exception = out->data_endpoint = NULL;
    }
    return st;
}
