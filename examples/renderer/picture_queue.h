#ifndef KVSP_RENDER_PICTURE_QUEUE_H
#define KVSP_RENDER_PICTURE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/fragment.h" /* KVSP_FRAGMENT_NUMBER_MAX */

/* A small bounded queue of decoded pictures between the decoding thread
 * (producer) and the render thread (consumer). The producer copies a
 * picture's planes into a free slot and blocks while every slot is taken;
 * the render thread never blocks: it peeks at the oldest picture and pops it
 * once shown. Each commit wakes the render thread with an SDL event. */

/* What the window title shows about a picture. */
typedef struct picture_info {
    double pts_ms;
    uint64_t fragment_index;
    char fragment_number[KVSP_FRAGMENT_NUMBER_MAX + 1]; /* "" without the tag */
    int has_producer_time;
    double producer_timestamp_ms;
    int64_t millis_behind_now; /* latest seen in the stream; -1 when none yet */
} picture_info;

typedef struct queued_picture {
    int width, height;
    uint8_t *planes[3]; /* yuv420p: Y, U, V, packed (stride = plane width) */
    int strides[3];
    picture_info info;
    uint8_t *buffer; /* the planes' storage */
    size_t capacity;
} queued_picture;

typedef struct picture_queue picture_queue;

/* wake_event: an SDL event type (SDL_RegisterEvents) pushed on every change. */
picture_queue *picture_queue_create(int slots, uint32_t wake_event);
void picture_queue_destroy(picture_queue *q);

/* Producer: a free slot sized for a width x height yuv420p picture, waiting
 * while the queue is full; NULL once the consumer closed the queue (or out
 * of memory). Fill it, then commit. */
queued_picture *picture_queue_slot(picture_queue *q, int width, int height);
void picture_queue_commit(picture_queue *q);
/* Producer: no more pictures; status < 0 with a message on failure. */
void picture_queue_finish(picture_queue *q, int status, const char *message);

/* Consumer: the oldest picture, or NULL when none is ready. Valid until pop. */
const queued_picture *picture_queue_peek(picture_queue *q);
void picture_queue_pop(picture_queue *q);
/* Consumer: 1 once the producer finished and every picture was popped;
 * *status and *message tell how it finished. */
int picture_queue_ended(picture_queue *q, int *status, const char **message);
/* Consumer: stop; unblocks the producer, whose slot calls return NULL. */
void picture_queue_close(picture_queue *q);
int picture_queue_closed(picture_queue *q);

#endif
