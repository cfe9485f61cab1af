#ifndef KVSPARSER_FRAMES_H
#define KVSPARSER_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/export.h"
#include "kvsparser/fragment.h"
#include "kvsparser/visitor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* kvsp_frame.present bits */
#define KVSP_FRAME_HAS_PTS (1u << 0)           /* pts_ns did not overflow */
#define KVSP_FRAME_HAS_PRODUCER_TIME (1u << 1) /* the fragment had a producer timestamp */
#define KVSP_FRAME_HAS_SERVER_TIME (1u << 2)   /* the fragment had a server timestamp */
#define KVSP_FRAME_HAS_DURATION (1u << 3)      /* a BlockGroup's BlockDuration */

/* One frame: a SimpleBlock's or Block's payload, or one frame of a laced
 * block. Valid during the on_frame callback (and while a run it paused is
 * paused). */
typedef struct kvsp_frame {
    uint64_t track;
    const kvsp_track *track_info;  /* NULL when Tracks did not describe the track */
    const kvsp_fragment *fragment; /* the fragment as read so far (NULL outside one) */
    const uint8_t *data;           /* zero-copy unless the block straddled input
                                      chunks or sat in a BlockGroup */
    size_t size;
    uint32_t index_in_block; /* laced blocks: which frame of the lace */
    uint32_t frames_in_block;
    uint32_t present; /* KVSP_FRAME_HAS_* */
    int keyframe;     /* SimpleBlock flag; in a BlockGroup, no ReferenceBlock */
    int invisible;
    int discardable;
    int64_t timecode; /* Cluster Timestamp + block timecode, in TimecodeScale ticks */
    int64_t pts_ns;   /* timecode * TimecodeScale */
    double pts_ms;
    /* Fragment timestamp + the block's offset from its Cluster, in ms since
     * the epoch (fractional when TimecodeScale is finer than 1 ms). */
    double producer_timestamp_ms;
    double server_timestamp_ms;
    uint64_t duration;     /* in ticks, with KVSP_FRAME_HAS_DURATION */
    uint64_t block_offset; /* stream offset of the SimpleBlock or Block element */
} kvsp_frame;

typedef struct kvsp_frame_options {
    uint64_t track;      /* only this track number; 0 for all */
    uint64_t track_type; /* only tracks of this type (KVSP_TRACK_VIDEO, ...); 0 for all */
} kvsp_frame_options;

/* The frame visitor splits blocks into frames and hands each to sink's
 * on_frame, with its timing and metadata.
 *
 * It reads track and fragment metadata from a fragment visitor. With
 * meta == NULL it makes and runs its own (kvsp_frame_visitor_metadata gives
 * it). With a fragment visitor of yours, run yours on every event before the
 * frame visitor (first in a composite); otherwise the run stops with
 * KVSP_ERR_VISITOR_ORDER. opts may be NULL (every frame). The sink is
 * copied. */
typedef struct kvsp_frame_visitor kvsp_frame_visitor;

KVSP_API kvsp_frame_visitor *kvsp_frame_visitor_create(kvsp_fragment_visitor *meta,
                                                       const kvsp_frame_options *opts,
                                                       const kvsp_visitor *sink);
KVSP_API void kvsp_frame_visitor_destroy(kvsp_frame_visitor *fv);
KVSP_API kvsp_visitor kvsp_frame_visitor_visitor(kvsp_frame_visitor *fv);
KVSP_API kvsp_fragment_visitor *kvsp_frame_visitor_metadata(kvsp_frame_visitor *fv);
/* Frames delivered so far. */
KVSP_API uint64_t kvsp_frame_visitor_count(const kvsp_frame_visitor *fv);

/* The time rule of a time range (kvsp's --from/--to, kvsp_merge_clip):
 * a frame's time in ms since the epoch on the producer timeline (server 0)
 * is its producer time (fragment producer timestamp plus its offset in
 * the Cluster) or, without KVS tags (a plain file), its presentation time;
 * on the server timeline (server 1) its server time. KVSP_OK, or
 * KVSP_ERR_INVALID_ARG when it has no time on that timeline. */
KVSP_API int kvsp_frame_time_ms(const kvsp_frame *f, int server, double *ms);
/* The same for a block not yet made a frame: f its fragment (NULL: none),
 * cluster_tc its Cluster's timecode, rel its timecode in the Cluster. */
KVSP_API int kvsp_block_time_ms(const kvsp_fragment *f, int64_t cluster_tc, int16_t rel, int server,
                                double *ms);

/* The window rule of a time range, the one place the CLI's --from/--to,
 * the decoder's and audio sink's windows and the Python package's
 * kvsp.Window apply it. 1 when the frame's time on that timeline
 * (kvsp_frame_time_ms) is in [from_ms, to_ms] (inclusive); 0 when it is
 * outside or has no time on it. */
KVSP_API int kvsp_window_contains(const kvsp_frame *f, int server, double from_ms, double to_ms);
/* 1 when the fragment's first-to-last frame span on that timeline overlaps
 * [from_ms, to_ms] (the fragments `kvsp fragments --from --to` prints);
 * 0 when not, when it has no frames, or no time on that timeline. */
KVSP_API int kvsp_window_overlaps_fragment(const kvsp_fragment *f, int server, double from_ms,
                                           double to_ms);

#ifdef __cplusplus
}
#endif

#endif
