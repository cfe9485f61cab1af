/* A ring of KVSP_PIPELINE_DEPTH slots between the decoder's thread and one
 * conversion thread. Three counters, all under the lock, say where each
 * slot is: pictures [delivered, converted) are converted and wait for the
 * caller's thread, [converted, queued) wait for the conversion thread. Each
 * side touches a slot only while it is in its own range, so the pictures
 * themselves are used without the lock. One conversion thread keeps the
 * order without any reordering step. */
#include "picture_pipeline.h"

#include <pthread.h>
#include <string.h>

#include "../alloc_internal.h"
#include "kvsparser/status.h"
#include "picture_convert.h"

typedef struct pipeline_slot {
    AVFrame *in;          /* a reference to the decoded picture */
    AVFrame *out;         /* its converted copy, reused from slot to slot's next picture */
    const AVFrame *ready; /* in, out, or NULL if it could not be converted */
    int referenced;       /* av_frame_ref succeeded */
} pipeline_slot;

struct picture_pipeline {
    pthread_mutex_t lock;
    pthread_cond_t work; /* the conversion thread: a picture queued, or stop */
    pthread_cond_t done; /* the caller's thread: a picture converted */
    uint64_t queued, converted, delivered;
    int stop;
    pthread_t thread;
    picture_converter converter; /* the conversion thread's alone */
    kvsp_pixel_format format;
    int width, height;
    kvsp_pipeline_deliver deliver;
    void *user;
    size_t meta_size;
    unsigned char *meta; /* meta_size bytes per slot */
    pipeline_slot slots[KVSP_PIPELINE_DEPTH];
};

static void *convert_loop(void *arg)
{
    picture_pipeline *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->converted == p->queued)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->stop)
            break;
        pipeline_slot *s = &p->slots[p->converted % KVSP_PIPELINE_DEPTH];
        pthread_mutex_unlock(&p->lock);
        s->ready = s->referenced ? kvsp_converter_run_into(&p->converter, s->in, &s->out, p->format,
                                                           p->width, p->height)
                                 : NULL;
        pthread_mutex_lock(&p->lock);
        p->converted++;
        pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void free_slots(picture_pipeline *p)
{
    for (size_t i = 0; i < KVSP_PIPELINE_DEPTH; i++) {
        av_frame_free(&p->slots[i].in);
        av_frame_free(&p->slots[i].out);
    }
    kvsp_converter_free(&p->converter);
    kvsp_ext_free(p->meta);
}

picture_pipeline *kvsp_pipeline_create(kvsp_pixel_format format, int width, int height,
                                       int slice_threads, size_t meta_size,
                                       kvsp_pipeline_deliver deliver, void *user)
{
    picture_pipeline *p = kvsp_ext_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->format = format;
    p->width = width;
    p->height = height;
    p->deliver = deliver;
    p->user = user;
    p->meta_size = meta_size;
    p->converter.threads = slice_threads;
    p->meta = kvsp_ext_calloc(KVSP_PIPELINE_DEPTH, meta_size ? meta_size : 1);
    int ok = p->meta != NULL;
    for (size_t i = 0; i < KVSP_PIPELINE_DEPTH && ok; i++)
        ok = (p->slots[i].in = av_frame_alloc()) != NULL;
    if (ok && pthread_mutex_init(&p->lock, NULL) != 0)
        ok = 0;
    else if (ok && pthread_cond_init(&p->work, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        ok = 0;
    } else if (ok && pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->lock);
        ok = 0;
    } else if (ok && pthread_create(&p->thread, NULL, convert_loop, p) != 0) {
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->lock);
        ok = 0;
    }
    if (!ok) {
        free_slots(p);
        kvsp_ext_free(p);
        return NULL;
    }
    return p;
}

void kvsp_pipeline_destroy(picture_pipeline *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free_slots(p); /* av_frame_free unreferences what was never delivered */
    kvsp_ext_free(p);
}

/* Delivers converted pictures in order: while any is converted, and with
 * wait until `until` have been delivered. The first error stops it. */
static int deliver_until(picture_pipeline *p, uint64_t until, int wait)
{
    int rc = KVSP_OK;
    pthread_mutex_lock(&p->lock);
    while (p->delivered < until && rc >= 0) {
        if (p->delivered == p->converted) {
            if (!wait)
                break;
            pthread_cond_wait(&p->done, &p->lock);
            continue;
        }
        size_t i = p->delivered % KVSP_PIPELINE_DEPTH;
        pipeline_slot *s = &p->slots[i];
        pthread_mutex_unlock(&p->lock);
        rc = p->deliver(p->user, s->ready, p->meta + i * p->meta_size);
        av_frame_unref(s->in);
        pthread_mutex_lock(&p->lock);
        p->delivered++;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int kvsp_pipeline_push(picture_pipeline *p, const AVFrame *frame, const void *meta)
{
    /* queued is written by this thread alone: read without the lock. */
    int rc = deliver_until(p, p->queued, 0);
    /* Each delivery frees its slot, failed or not: a slot is free after this. */
    if (rc >= 0 && p->queued - p->delivered == KVSP_PIPELINE_DEPTH)
        rc = deliver_until(p, p->queued - KVSP_PIPELINE_DEPTH + 1, 1);
    size_t i = p->queued % KVSP_PIPELINE_DEPTH;
    pipeline_slot *s = &p->slots[i];
    s->referenced = av_frame_ref(s->in, frame) >= 0;
    memcpy(p->meta + i * p->meta_size, meta, p->meta_size);
    pthread_mutex_lock(&p->lock);
    p->queued++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int kvsp_pipeline_flush(picture_pipeline *p, int wait)
{
    return deliver_until(p, p->queued, wait);
}
