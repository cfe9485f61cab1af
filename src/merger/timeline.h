#ifndef KVSP_TIMELINE_H
#define KVSP_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/fragment.h"
#include "kvsparser/merger.h"

/* Where each fragment goes on the output timeline of one Segment, and how
 * far the Segment reaches. All times are in ticks of its TimecodeScale. */

#define TIMELINE_MAX_TRACKS 16

typedef struct track_clock {
    uint64_t track;
    int seen;
    int64_t last;                 /* latest block time */
    int64_t gap;                  /* between its last two blocks, 0 if unknown */
    uint64_t default_duration_ns; /* the track's DefaultDuration, 0 if none */
} track_clock;

typedef struct timeline {
    kvsp_merge_timeline mode;
    uint64_t scale;
    int has_origin;
    int64_t origin_producer_ms; /* producer time of the Segment's first fragment */
    int any;                    /* a block was placed */
    int64_t last_block;         /* latest block time */
    int64_t end;                /* latest block time + its duration */
    int any_cluster;
    int64_t last_cluster; /* latest cluster timecode written */
    track_clock clocks[TIMELINE_MAX_TRACKS];
    size_t nclocks;
    int has_cue_track;
    uint64_t cue_track;   /* the first video track: cue points at its keyframes */
    uint64_t first_track; /* audio-only: cue points at every cluster */
} timeline;

void kvsp_timeline_reset(timeline *tl, kvsp_merge_timeline mode, uint64_t scale,
                         const kvsp_track *tracks, size_t ntracks);
/* Output minus input timecode for a fragment whose first cluster has input
 * timecode tc_in; *gap gets the length of a producer-timeline gap (ticks),
 * 0 if none. */
int64_t kvsp_timeline_place(timeline *tl, const kvsp_fragment *f, int64_t tc_in, int64_t *gap);
/* Original timecodes: a cluster at tc_out would go backwards (start at or
 * before the latest block). */
int kvsp_timeline_goes_back(const timeline *tl, int64_t tc_out);
void kvsp_timeline_cluster(timeline *tl, int64_t tc_out);
/* A block of `frames` frames (laced, or 1) at `time`; duration: its
 * BlockDuration in ticks, or -1 if it has none. */
void kvsp_timeline_block(timeline *tl, uint64_t track, int64_t time, uint32_t frames,
                         int64_t duration);
int64_t kvsp_timeline_end(const timeline *tl);

#endif
