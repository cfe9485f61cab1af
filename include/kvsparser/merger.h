#ifndef KVSPARSER_MERGER_H
#define KVSPARSER_MERGER_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/export.h"
#include "kvsparser/fragment.h"
#include "kvsparser/reader.h"
#include "kvsparser/visitor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The segment merger: a visitor that turns a chain of fragments (each an EBML
 * header + Segment, as GetMedia returns them) into one continuous Matroska
 * stream that players and mkvmerge accept.
 *
 * Consecutive fragments with the same EBML header, TimecodeScale, track set
 * and codec private data share one output Segment. Each input Cluster is
 * buffered (memory is bounded by the largest cluster, plus 32 bytes per cue
 * point) and written with its timecode moved onto the output timeline;
 * blocks are copied byte for byte. Stale SeekHeads, Cues, CRC-32 and Void
 * elements of the input are not copied. */

typedef enum kvsp_merge_timeline {
    /* Each fragment placed by its producer timestamp relative to the first
     * fragment of the output, so real gaps stay gaps; without a producer
     * timestamp, right after the previous fragment. Never goes backwards. */
    KVSP_MERGE_TIMELINE_PRODUCER = 0,
    /* The input's cluster timecodes as they are; when they go backwards the
     * output is split as for a track change. */
    KVSP_MERGE_TIMELINE_ORIGINAL = 1,
    /* Fragments back to back, without gaps. */
    KVSP_MERGE_TIMELINE_PACK = 2
} kvsp_merge_timeline;

/* What to do when a fragment cannot continue the current Segment (other
 * tracks or codec private data, e.g. a camera changed resolution). */
typedef enum kvsp_merge_split {
    KVSP_MERGE_SPLIT_NEW_FILE = 0,    /* next output file; a new Segment if the output cannot */
    KVSP_MERGE_SPLIT_NEW_SEGMENT = 1, /* a new EBML header + Segment in the same output */
    KVSP_MERGE_SPLIT_STOP = 2         /* end the output; the rest of the input is ignored */
} kvsp_merge_split;

/* Where the merged stream goes. */
typedef struct kvsp_merge_output {
    void *user;
    /* Appends to the current output; returns 0 or a negative status. */
    int (*write)(void *user, const void *data, size_t len);
    /* Overwrites bytes at an offset of the current output. With it, each
     * Segment is completed as a seekable file (known sizes, SeekHead,
     * Duration, Cues); NULL (a pipe) gives live-style output: unknown-size
     * Segment and Clusters, no Cues, each fragment written once complete. */
    int (*patch)(void *user, uint64_t offset, const void *data, size_t len);
    /* Closes the current output file and starts the next one (offsets
     * start again at 0); NULL if the output is a single stream. */
    int (*next_file)(void *user);
} kvsp_merge_output;

/* Zeroed (or NULL) options are the defaults. */
typedef struct kvsp_merge_options {
    kvsp_merge_timeline timeline; /* 0: KVSP_MERGE_TIMELINE_PRODUCER */
    kvsp_merge_split split;       /* 0: KVSP_MERGE_SPLIT_NEW_FILE */
    int drop_kvs_tags;            /* by default each fragment's number and timestamps are
                                     kept as a Tags element after its clusters */
    const char *writing_app;      /* Info WritingApp; NULL for the library's name */
} kvsp_merge_options;

typedef struct kvsp_merge_stats {
    uint64_t fragments;         /* fragments read */
    uint64_t fragments_written; /* fragments with clusters in the output */
    uint64_t frames;            /* frames written, laces split (as kvsp frames --list counts) */
    uint64_t blocks;            /* blocks written (a laced block counts once) */
    uint64_t clusters;
    uint64_t segments;  /* output Segments */
    uint64_t files;     /* output files begun */
    uint64_t gaps;      /* producer-timeline gaps larger than two frame durations */
    double gap_ms;      /* their total length */
    double duration_ms; /* of all output Segments together */
    int stopped;        /* KVSP_MERGE_SPLIT_STOP ended the output */
} kvsp_merge_stats;

typedef struct kvsp_merger kvsp_merger;

/* meta: a fragment visitor that runs before the merger on every event (as
 * for the frame visitor), or NULL for the merger's own. opts NULL means
 * defaults. The output table is copied. */
KVSP_API kvsp_merger *kvsp_merger_create(kvsp_fragment_visitor *meta,
                                         const kvsp_merge_options *opts,
                                         const kvsp_merge_output *out);
KVSP_API void kvsp_merger_destroy(kvsp_merger *m);
KVSP_API kvsp_visitor kvsp_merger_visitor(kvsp_merger *m);
/* End of input: writes what is buffered and completes the last Segment.
 * Returns 0 or the first output error. */
KVSP_API int kvsp_merger_finish(kvsp_merger *m);
KVSP_API const kvsp_merge_stats *kvsp_merger_stats(const kvsp_merger *m);

/* A clip of the input for a merger (kvsp merge --from/--to): the merger is
 * fed from the keyframe at or before from_ms on, and only the blocks
 * (SimpleBlocks, and BlockGroups by their Block's time) with times in
 * [that keyframe, to_ms]; a Cluster left without blocks is not written. Times are ms since
 * the epoch on the producer timeline (a frame's fragment producer
 * timestamp plus its offset in the Cluster; without KVS tags, its
 * presentation time) or, with server set, the server timeline. The input
 * is read by two readers of the given options: one that looks ahead for
 * the keyframe while the bytes since the start of its fragment are held
 * (about one fragment, at most 1 GiB), and the merger's. */
typedef struct kvsp_merge_clip_options {
    double from_ms, to_ms; /* -INFINITY / INFINITY: unbounded */
    int server;            /* 0: producer timeline; 1: server timeline */
    kvsp_reader_options reader;
} kvsp_merge_clip_options;

typedef struct kvsp_merge_clip kvsp_merge_clip;

/* meta: a fragment visitor of the clip's own (it sees every event; the
 * merger, made with its own, only those kept), which must outlive it.
 * NULL on bad options or memory. */
KVSP_API kvsp_merge_clip *kvsp_merge_clip_create(const kvsp_merge_clip_options *opts,
                                                 kvsp_fragment_visitor *meta, kvsp_merger *merger);
/* The same clip fed to any downstream visitor instead of a merger (the MP4
 * sink's, kvsparser/mp4.h, for kvsp merge -o clip.mp4); *downstream is
 * copied, its user pointer must outlive the clip. */
KVSP_API kvsp_merge_clip *kvsp_merge_clip_create_for(const kvsp_merge_clip_options *opts,
                                                     kvsp_fragment_visitor *meta,
                                                     const kvsp_visitor *downstream);
KVSP_API void kvsp_merge_clip_destroy(kvsp_merge_clip *c);
/* The input's next bytes. KVSP_OK or a negative status (a reader's: see
 * kvsp_merge_clip_reader for its offset and message). */
KVSP_API int kvsp_merge_clip_feed(kvsp_merge_clip *c, const void *data, size_t len);
/* After the last byte: finishes the merger's reader (then call
 * kvsp_merger_finish). An input without a frame in the range is an empty
 * clip and KVSP_OK. */
KVSP_API int kvsp_merge_clip_finish(kvsp_merge_clip *c);
/* The reader that read last (the look-ahead one until the start is
 * known, then the merger's), for the error's offset and message. */
KVSP_API const kvsp_reader *kvsp_merge_clip_reader(const kvsp_merge_clip *c);

#ifdef __cplusplus
}
#endif

#endif
