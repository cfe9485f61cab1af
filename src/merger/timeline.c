#include "timeline.h"

#include <stdint.h>
#include <string.h>

void kvsp_timeline_reset(timeline *tl, kvsp_merge_timeline mode, uint64_t scale,
                         const kvsp_track *tracks, size_t ntracks)
{
    memset(tl, 0, sizeof *tl);
    tl->mode = mode;
    tl->scale = scale ? scale : 1000000u;
    for (size_t i = 0; i < ntracks; i++) {
        const kvsp_track *t = &tracks[i];
        if (!(t->present & KVSP_TRACK_HAS_NUMBER))
            continue;
        if (i == 0 || !tl->first_track)
            tl->first_track = t->number;
        if (!tl->has_cue_track && t->type == KVSP_TRACK_VIDEO) {
            tl->has_cue_track = 1;
            tl->cue_track = t->number;
        }
        if (tl->nclocks < TIMELINE_MAX_TRACKS) {
            track_clock *c = &tl->clocks[tl->nclocks++];
            c->track = t->number;
            if (t->present & KVSP_TRACK_HAS_DEFAULT_DURATION)
                c->default_duration_ns = t->default_duration_ns;
        }
    }
}

static track_clock *clock_of(timeline *tl, uint64_t track)
{
    for (size_t i = 0; i < tl->nclocks; i++)
        if (tl->clocks[i].track == track)
            return &tl->clocks[i];
    if (tl->nclocks == TIMELINE_MAX_TRACKS)
        return NULL;
    track_clock *c = &tl->clocks[tl->nclocks++];
    memset(c, 0, sizeof *c);
    c->track = track;
    return c;
}

/* How long a block of this track lasts: its BlockDuration (duration >= 0),
 * else its frames times the track's DefaultDuration (in whole ticks), else
 * the gap before it, else one tick. */
static int64_t block_duration(const timeline *tl, const track_clock *c, uint32_t frames,
                              int64_t duration)
{
    if (duration >= 0)
        return duration;
    if (frames == 0)
        frames = 1;
    if (c && c->default_duration_ns > 0) {
        if (c->default_duration_ns > UINT64_MAX / frames)
            return INT64_MAX;
        uint64_t ticks = c->default_duration_ns * frames / tl->scale;
        if (ticks > 0)
            return ticks > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)ticks;
    }
    if (c && c->gap > 0)
        return c->gap;
    return 1;
}

int64_t kvsp_timeline_place(timeline *tl, const kvsp_fragment *f, int64_t tc_in, int64_t *gap)
{
    *gap = 0;
    int producer = f && (f->present & KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP);
    if (tl->mode == KVSP_MERGE_TIMELINE_ORIGINAL)
        return 0;
    if (!tl->any) {
        /* The Segment's first fragment starts at 0. */
        if (producer) {
            tl->has_origin = 1;
            tl->origin_producer_ms = f->producer_timestamp_ms;
        }
        return -tc_in;
    }
    int64_t target = tl->end;
    if (tl->mode == KVSP_MERGE_TIMELINE_PRODUCER && producer && tl->has_origin) {
        /* ms -> ticks; scale is ns per tick */
        int64_t ms = f->producer_timestamp_ms - tl->origin_producer_ms;
        int64_t at = (int64_t)((double)ms * 1e6 / (double)tl->scale);
        /* Fragments that overlap or go back are moved after the last block:
         * the output must not go backwards. */
        target = at > tl->last_block ? at : tl->last_block + 1;
        const track_clock *c = clock_of(tl, tl->cue_track ? tl->cue_track : tl->first_track);
        int64_t frame = block_duration(tl, c, 1, -1);
        int64_t slack = frame > INT64_MAX / 2 ? INT64_MAX : 2 * frame;
        if (target > tl->end && target - tl->end > slack)
            *gap = target - tl->end;
    }
    return target - tc_in;
}

int kvsp_timeline_goes_back(const timeline *tl, int64_t tc_out)
{
    /* At or before the latest block: the blocks would overlap or go back. */
    return tl->mode == KVSP_MERGE_TIMELINE_ORIGINAL &&
           ((tl->any && tc_out <= tl->last_block) ||
            (tl->any_cluster && tc_out < tl->last_cluster));
}

void kvsp_timeline_cluster(timeline *tl, int64_t tc_out)
{
    if (!tl->any_cluster || tc_out > tl->last_cluster)
        tl->last_cluster = tc_out;
    tl->any_cluster = 1;
}

void kvsp_timeline_block(timeline *tl, uint64_t track, int64_t time, uint32_t frames,
                         int64_t duration)
{
    track_clock *c = clock_of(tl, track);
    if (c) {
        if (c->seen && time > c->last)
            c->gap = time - c->last;
        c->last = time;
        c->seen = 1;
    }
    int64_t length = block_duration(tl, c, frames, duration);
    int64_t end = time > INT64_MAX - length ? INT64_MAX : time + length;
    if (!tl->any || time > tl->last_block)
        tl->last_block = time;
    if (!tl->any || end > tl->end)
        tl->end = end;
    tl->any = 1;
}

int64_t kvsp_timeline_end(const timeline *tl)
{
    return tl->any ? tl->end : 0;
}
