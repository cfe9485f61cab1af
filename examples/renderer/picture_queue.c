#include "picture_queue.h"

#include <SDL.h>
#include <stdlib.h>

struct picture_queue {
    SDL_mutex *lock;
    SDL_cond *not_full;
    uint32_t wake_event;
    queued_picture *slots;
    int size, head, count;
    int finished, closed, status;
    char message[512];
};

picture_queue *picture_queue_create(int slots, uint32_t wake_event)
{
    picture_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->lock = SDL_CreateMutex();
    q->not_full = SDL_CreateCond();
    q->slots = calloc((size_t)slots, sizeof *q->slots);
    q->size = slots;
    q->wake_event = wake_event;
    if (!q->lock || !q->not_full || !q->slots) {
        picture_queue_destroy(q);
        return NULL;
    }
    return q;
}

void picture_queue_destroy(picture_queue *q)
{
    if (!q)
        return;
    for (int i = 0; q->slots && i < q->size; i++)
        free(q->slots[i].buffer);
    free(q->slots);
    SDL_DestroyCond(q->not_full);
    SDL_DestroyMutex(q->lock);
    free(q);
}

static void wake_renderer(const picture_queue *q)
{
    SDL_Event ev;
    SDL_zero(ev);
    ev.type = q->wake_event;
    SDL_PushEvent(&ev);
}

queued_picture *picture_queue_slot(picture_queue *q, int width, int height)
{
    SDL_LockMutex(q->lock);
    while (q->count == q->size && !q->closed)
        SDL_CondWait(q->not_full, q->lock);
    queued_picture *p = q->closed ? NULL : &q->slots[(q->head + q->count) % q->size];
    SDL_UnlockMutex(q->lock);
    if (!p)
        return NULL;
    /* The slot is the producer's until commit: fill it without the lock. */
    int cw = (width + 1) / 2, ch = (height + 1) / 2;
    size_t need = (size_t)width * (size_t)height + 2 * (size_t)cw * (size_t)ch;
    if (need > p->capacity) {
        uint8_t *bigger = realloc(p->buffer, need);
        if (!bigger)
            return NULL;
        p->buffer = bigger;
        p->capacity = need;
    }
    p->width = width;
    p->height = height;
    p->strides[0] = width;
    p->strides[1] = p->strides[2] = cw;
    p->planes[0] = p->buffer;
    p->planes[1] = p->planes[0] + (size_t)width * (size_t)height;
    p->planes[2] = p->planes[1] + (size_t)cw * (size_t)ch;
    return p;
}

void picture_queue_commit(picture_queue *q)
{
    SDL_LockMutex(q->lock);
    q->count++;
    SDL_UnlockMutex(q->lock);
    wake_renderer(q);
}

void picture_queue_finish(picture_queue *q, int status, const char *message)
{
    SDL_LockMutex(q->lock);
    q->finished = 1;
    q->status = status;
    SDL_snprintf(q->message, sizeof q->message, "%s", message ? message : "");
    SDL_UnlockMutex(q->lock);
    wake_renderer(q);
}

const queued_picture *picture_queue_peek(picture_queue *q)
{
    SDL_LockMutex(q->lock);
    const queued_picture *p = q->count ? &q->slots[q->head] : NULL;
    SDL_UnlockMutex(q->lock);
    return p;
}

void picture_queue_pop(picture_queue *q)
{
    SDL_LockMutex(q->lock);
    if (q->count) {
        q->head = (q->head + 1) % q->size;
        q->count--;
    }
    SDL_CondSignal(q->not_full);
    SDL_UnlockMutex(q->lock);
}

int picture_queue_ended(picture_queue *q, int *status, const char **message)
{
    SDL_LockMutex(q->lock);
    int ended = q->finished && q->count == 0;
    *status = q->status;
    *message = q->message; /* written once, before finished is set */
    SDL_UnlockMutex(q->lock);
    return ended;
}

void picture_queue_close(picture_queue *q)
{
    SDL_LockMutex(q->lock);
    q->closed = 1;
    SDL_CondSignal(q->not_full);
    SDL_UnlockMutex(q->lock);
}

int picture_queue_closed(picture_queue *q)
{
    SDL_LockMutex(q->lock);
    int closed = q->closed;
    SDL_UnlockMutex(q->lock);
    return closed;
}
