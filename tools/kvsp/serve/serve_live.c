/* kvsp serve --live: fragments become available at the pace they were
 * recorded. A GetMedia response that has sent every released fragment is
 * suspended (MHD_suspend_connection, so the event loop never blocks or
 * spins on it) and a clock thread resumes it when its next fragment is
 * due. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "serve.h"

int64_t serve_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t serve_release_ms(const serve_ctx *ctx, const serve_fragment *f)
{
    return ctx->start_ms + f->release_offset_ms;
}

int serve_released(const serve_ctx *ctx, const serve_fragment *f, int64_t now_ms)
{
    return !ctx->cfg.live || now_ms >= serve_release_ms(ctx, f);
}

static void unlink_waiter(serve_live *l, serve_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
}

/* Resumes the due connections (all of them when stopping) and returns the
 * earliest wake-up time left, INT64_MAX if none. Called with the lock held. */
static int64_t resume_due(serve_live *l, int64_t now)
{
    int64_t next = INT64_MAX;
    serve_waiter *w = l->head;
    while (w) {
        serve_waiter *after = w->next;
        if (l->stopping || w->wake_ms <= now) {
            unlink_waiter(l, w);
            MHD_resume_connection(w->conn);
        } else if (w->wake_ms < next) {
            next = w->wake_ms;
        }
        w = after;
    }
    return next;
}

static void *clock_thread(void *arg)
{
    serve_live *l = arg;
    pthread_mutex_lock(&l->lock);
    for (;;) {
        int64_t next = resume_due(l, serve_now_ms());
        if (l->stopping)
            break;
        if (next == INT64_MAX) {
            pthread_cond_wait(&l->cond, &l->lock);
            continue;
        }
        struct timespec until = {(time_t)(next / 1000), (long)(next % 1000) * 1000000L};
        int rc = pthread_cond_timedwait(&l->cond, &l->lock, &until);
        if (rc != 0 && rc != ETIMEDOUT && rc != EINTR)
            break;
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int serve_live_start(serve_live *l)
{
    memset(l, 0, sizeof *l);
    if (pthread_mutex_init(&l->lock, NULL) != 0)
        return -1;
    if (pthread_cond_init(&l->cond, NULL) != 0) {
        pthread_mutex_destroy(&l->lock);
        return -1;
    }
    if (pthread_create(&l->thread, NULL, clock_thread, l) != 0) {
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->lock);
        return -1;
    }
    l->running = 1;
    return 0;
}

int serve_live_wait(serve_live *l, serve_waiter *w, struct MHD_Connection *c, int64_t wake_ms)
{
    if (!l->running)
        return -1;
    pthread_mutex_lock(&l->lock);
    if (l->stopping) {
        pthread_mutex_unlock(&l->lock);
        return -1;
    }
    /* Suspended before the clock thread can see it: resuming a connection
     * that is not suspended is undefined. */
    MHD_suspend_connection(c);
    w->conn = c;
    w->wake_ms = wake_ms;
    w->prev = NULL;
    w->next = l->head;
    if (l->head)
        l->head->prev = w;
    l->head = w;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->lock);
    return 0;
}

void serve_live_stop(serve_live *l)
{
    if (!l->running)
        return;
    pthread_mutex_lock(&l->lock);
    l->stopping = 1;
    resume_due(l, INT64_MAX);
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

void serve_live_join(serve_live *l)
{
    if (!l->running)
        return;
    pthread_join(l->thread, NULL);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->lock);
    l->running = 0;
}
