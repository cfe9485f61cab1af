/* Decode timestamps for a track of the MP4 sink (the rule: mp4_reorder.h). */
#include <string.h>

#include "../alloc_internal.h"
#include "kvsparser/status.h"
#include "mp4_reorder.h"

void kvsp_mp4_reorder_reset(mp4_reorder *r)
{
    /* the frames' buffers stay for the next output */
    for (size_t i = 0; i <= MP4_REORDER_MAX_HOLD; i++)
        r->q[i].size = 0;
    r->len = r->assigned = 0;
    r->streaming = r->held_key = r->delay = 0;
    r->step = 0;
    r->nwaiting = 0;
    r->has_last = 0;
    r->last_dts = 0;
    r->retimed = 0;
}

void kvsp_mp4_reorder_free(mp4_reorder *r)
{
    for (size_t i = 0; i <= MP4_REORDER_MAX_HOLD; i++) {
        kvsp_ext_free(r->q[i].data);
        r->q[i].data = NULL;
        r->q[i].cap = 0;
    }
}

/* The frame decodes at dts unless that does not come after the previous
 * decode time; it is shown no earlier than it decodes. */
static void fit(mp4_reorder *r, mp4_held *h, int64_t dts)
{
    int moved = 0;
    if (r->has_last && dts <= r->last_dts) {
        dts = r->last_dts + 1;
        moved = 1;
    }
    if (h->pts < dts) {
        h->pts = dts;
        moved = 1;
    }
    h->dts = dts;
    r->last_dts = dts;
    r->has_last = 1;
    r->retimed += (uint64_t)moved;
}

/* The held first GOP: its reorder delay, and decode times for all of it. */
static void measure(mp4_reorder *r)
{
    size_t n = r->len, order[MP4_REORDER_MAX_HOLD + 1];
    int64_t sorted[MP4_REORDER_MAX_HOLD + 1];
    /* presentation order, ties in decode order (insertion sort: n is small) */
    for (size_t i = 0; i < n; i++) {
        size_t k = i;
        while (k > 0 && r->q[order[k - 1]].pts > r->q[i].pts) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
    /* a frame decoded i-th and shown k-th, k < i: i - k frames that decode
     * before it show after it, so decoding must lag i - k frames behind */
    size_t delay = 0;
    for (size_t k = 0; k < n; k++) {
        sorted[k] = r->q[order[k]].pts;
        if (order[k] > k && order[k] - k > delay)
            delay = order[k] - k;
    }
    if (delay > MP4_REORDER_MAX_DELAY)
        delay = MP4_REORDER_MAX_DELAY;
    int64_t step = r->step;
    for (size_t k = 1; step <= 0 && k < n; k++)
        if (sorted[k] > sorted[k - 1])
            step = sorted[k] - sorted[k - 1];
    if (step <= 0)
        step = 1;
    for (size_t i = 0; i < n; i++)
        fit(r, &r->q[i], i < delay ? sorted[0] - (int64_t)(delay - i) * step : sorted[i - delay]);
    for (size_t k = 0; k < delay; k++)
        r->waiting[k] = sorted[n - delay + k];
    r->nwaiting = delay;
    r->delay = (int)delay;
    r->assigned = n;
    r->streaming = 1;
}

/* After the first GOP: the smallest presentation time not yet used. */
static void assign(mp4_reorder *r, mp4_held *h)
{
    size_t k = r->nwaiting;
    while (k > 0 && r->waiting[k - 1] > h->pts) {
        r->waiting[k] = r->waiting[k - 1];
        k--;
    }
    r->waiting[k] = h->pts;
    int64_t dts = r->waiting[0];
    memmove(r->waiting, r->waiting + 1, r->nwaiting * sizeof r->waiting[0]);
    fit(r, h, dts);
    r->assigned++;
}

int kvsp_mp4_reorder_push(mp4_reorder *r, const uint8_t *data, size_t size, int64_t pts,
                          int64_t own_duration, int keyframe, int64_t step)
{
    if (step > 0)
        r->step = step;
    if (!r->streaming && r->len && ((keyframe && r->held_key) || r->len >= MP4_REORDER_MAX_HOLD))
        measure(r);
    if (r->len > MP4_REORDER_MAX_HOLD)
        return KVSP_ERR_INVALID_ARG; /* the caller writes the ready frames after each push */
    mp4_held *h = &r->q[r->len];
    if (size > h->cap) {
        uint8_t *bigger = kvsp_ext_realloc(h->data, size);
        if (!bigger)
            return KVSP_ERR_NOMEM;
        h->data = bigger;
        h->cap = size;
    }
    if (size)
        memcpy(h->data, data, size);
    h->size = size;
    h->pts = pts;
    h->dts = pts;
    h->own_duration = own_duration;
    h->keyframe = keyframe;
    r->len++;
    r->held_key |= keyframe;
    if (r->streaming)
        assign(r, h);
    return KVSP_OK;
}

void kvsp_mp4_reorder_flush(mp4_reorder *r)
{
    if (!r->streaming && r->len)
        measure(r);
}

const mp4_held *kvsp_mp4_reorder_ready(const mp4_reorder *r, int flushed)
{
    return r->assigned >= (flushed ? 1u : 2u) ? &r->q[0] : NULL;
}

int kvsp_mp4_reorder_next_dts(const mp4_reorder *r, int64_t *dts)
{
    if (r->assigned < 2)
        return -1;
    *dts = r->q[1].dts;
    return 0;
}

void kvsp_mp4_reorder_pop(mp4_reorder *r)
{
    if (!r->len)
        return;
    mp4_held first = r->q[0]; /* its buffer goes to the free slot after the frames */
    memmove(r->q, r->q + 1, (r->len - 1) * sizeof r->q[0]);
    first.size = 0;
    r->q[r->len - 1] = first;
    r->len--;
    if (r->assigned)
        r->assigned--;
}
