#ifndef KVSP_MP4_REORDER_H
#define KVSP_MP4_REORDER_H

#include <stddef.h>
#include <stdint.h>

/* Decode timestamps for one MP4 track. Matroska stores frames in decode
 * order with their presentation times only; with B-frames those go back
 * and forth, while MP4 wants a decode time per frame that grows strictly
 * and is never after the frame's presentation time.
 *
 * The rule: with a reorder delay of d frames, frame i decodes at the
 * (i-d)-th smallest presentation time of the track; the first d frames
 * before the smallest, one frame step apart (negative times: libavformat
 * writes an edit list, so that presentation times stay as they are). d is
 * measured on the track's first GOP, which is held until the next keyframe
 * (or MP4_REORDER_MAX_HOLD frames): the largest number of places a frame
 * comes before its place in presentation order. After that, frames pass
 * through a set of the d pending presentation times. A frame reordered by
 * more than d, or a time that repeats, cannot fit: it is moved to one
 * tick after the previous decode time (and counted as retimed), which is
 * what the sink did for every frame before there were decode times. */

#define MP4_REORDER_MAX_HOLD 128
#define MP4_REORDER_MAX_DELAY 16

typedef struct mp4_held {
    uint8_t *data;
    size_t size, cap;
    int64_t pts, dts;
    int64_t own_duration; /* its BlockDuration (or share of a lace), -1 if none */
    int keyframe;
} mp4_held;

typedef struct mp4_reorder {
    mp4_held q[MP4_REORDER_MAX_HOLD + 1]; /* in decode order; the first `assigned` have dts */
    size_t len, assigned;
    int streaming; /* the first GOP is measured */
    int held_key;  /* a keyframe is among the held frames */
    int delay;
    int64_t step;                           /* for the first frames' decode times */
    int64_t waiting[MP4_REORDER_MAX_DELAY]; /* presentation times not yet used, ascending */
    size_t nwaiting;
    int has_last;
    int64_t last_dts;
    uint64_t retimed;
} mp4_reorder;

void kvsp_mp4_reorder_reset(mp4_reorder *r);
void kvsp_mp4_reorder_free(mp4_reorder *r);
/* Adds a frame (its bytes copied). step: the track's frame duration in
 * ticks if known (DefaultDuration), else 0. KVSP_ERR_NOMEM or KVSP_OK. */
int kvsp_mp4_reorder_push(mp4_reorder *r, const uint8_t *data, size_t size, int64_t pts,
                          int64_t own_duration, int keyframe, int64_t step);
/* At the end of the output: every held frame gets its decode time. */
void kvsp_mp4_reorder_flush(mp4_reorder *r);
/* The first frame, once it and (unless flushed) the next have decode
 * times; NULL otherwise. */
const mp4_held *kvsp_mp4_reorder_ready(const mp4_reorder *r, int flushed);
/* The next frame's decode time after the ready one, or -1 if none. */
int kvsp_mp4_reorder_next_dts(const mp4_reorder *r, int64_t *dts);
void kvsp_mp4_reorder_pop(mp4_reorder *r);

#endif
