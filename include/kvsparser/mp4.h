#ifndef KVSPARSER_MP4_H
#define KVSPARSER_MP4_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/export.h"
#include "kvsparser/fragment.h"
#include "kvsparser/merger.h"
#include "kvsparser/visitor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The MP4 sink (libkvsparser-mp4, built when FFmpeg's libavformat is
 * found): a visitor that writes a chain of fragments as MP4 with
 * libavformat's MP4 muxer. Frames are copied as they are, never decoded:
 * H.264 (V_MPEG4/ISO/AVC, avcC codec private data), H.265
 * (V_MPEGH/ISO/HEVC, hvcC) and AAC (A_AAC, AudioSpecificConfig); other
 * tracks are left out (counted in the stats).
 *
 * Frames are placed on the output timeline by the segment merger's rule
 * (kvsparser/merger.h, kvsp_merge_timeline), so an MP4 and an MKV of the
 * same input have the same frame times. A fragment with other tracks or
 * codec private data than the open file's ends that file, as for the
 * merger (kvsp_merge_split). Decode times are made from the presentation
 * times (B-frames: a track's first GOP is held to measure its reorder
 * delay; README "B-frames"); a frame that does not fit that delay, or
 * whose time repeats, is moved one tick after the previous decode time
 * (stats.retimed). */

typedef struct kvsp_mp4_output {
    void *user;
    /* A stream (pipe, stdout): fragmented MP4 appended through write, which
     * returns 0 or a negative status. NULL for files. */
    int (*write)(void *user, const void *data, size_t len);
    /* Files: the path of output file `index` (0 first, then one per change
     * of tracks) into buf; returns 0 or a negative status. libavformat
     * opens the file itself (a progressive MP4 moves its index, the moov
     * box, to the front at the end, which reads the file back). */
    int (*file_name)(void *user, unsigned index, char *buf, size_t size);
} kvsp_mp4_output;

/* One fragment placed in the output, reported once its first frame is. */
typedef struct kvsp_mp4_placed {
    const kvsp_fragment *fragment; /* as read so far: number and timestamps are known */
    unsigned file;                 /* output file index */
    double pts_ms;                 /* its first frame's time in the output file */
} kvsp_mp4_placed;

typedef int (*kvsp_mp4_placed_cb)(void *user, const kvsp_mp4_placed *placed);

/* Zeroed (or NULL) options are the defaults. */
typedef struct kvsp_mp4_options {
    kvsp_merge_timeline timeline; /* 0: KVSP_MERGE_TIMELINE_PRODUCER */
    /* KVSP_MERGE_SPLIT_NEW_FILE (0): next file; on a stream (or with
     * NEW_SEGMENT) a new initialization segment (ftyp, moov) in the same
     * stream, as Media Source Extensions accept. STOP ends the output. */
    kvsp_merge_split split;
    int fragmented;               /* files: fragmented instead of progressive */
    kvsp_mp4_placed_cb on_placed; /* may be NULL */
    void *user;
    /* Fragmented output: added to every frame's time, in milliseconds, so
     * that a piece of a longer stream (an HLS media segment made from one
     * fragment) starts where it lies in that stream (its tfdt) rather than
     * at 0. 0: the output starts at 0. */
    int64_t time_offset_ms;
} kvsp_mp4_options;

typedef struct kvsp_mp4_stats {
    uint64_t fragments;         /* fragments with frames read */
    uint64_t fragments_written; /* fragments with frames in the output */
    uint64_t frames;            /* frames written */
    uint64_t frames_left_out;   /* frames of tracks MP4 does not take here */
    uint64_t retimed;           /* frames moved because their time did not advance */
    uint64_t files;             /* output files (or initialization segments) begun */
    uint64_t gaps;              /* producer-timeline gaps, as kvsp_merge_stats counts them */
    double gap_ms;
    double duration_ms; /* of all outputs together */
    int stopped;        /* KVSP_MERGE_SPLIT_STOP ended the output */
} kvsp_mp4_stats;

typedef struct kvsp_mp4_sink kvsp_mp4_sink;

/* opts NULL means defaults; output and options are copied. NULL when out
 * has neither write nor file_name, or on allocation failure. */
KVSP_API kvsp_mp4_sink *kvsp_mp4_sink_create(const kvsp_mp4_options *opts,
                                             const kvsp_mp4_output *out);
KVSP_API void kvsp_mp4_sink_destroy(kvsp_mp4_sink *s);
/* The visitor to run over the input (it runs its own fragment and frame
 * visitors). */
KVSP_API kvsp_visitor kvsp_mp4_sink_visitor(kvsp_mp4_sink *s);
/* End of input: writes the buffered frames and completes the last file.
 * Returns 0 or the first error. */
KVSP_API int kvsp_mp4_sink_finish(kvsp_mp4_sink *s);
KVSP_API const kvsp_mp4_stats *kvsp_mp4_sink_stats(const kvsp_mp4_sink *s);
/* The first error's description ("" if none). */
KVSP_API const char *kvsp_mp4_sink_error(const kvsp_mp4_sink *s);

#ifdef __cplusplus
}
#endif

#endif
