#ifndef KVSP_SEGMENT_WRITER_H
#define KVSP_SEGMENT_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "ebml_out.h"
#include "kvsparser/merger.h"

/* One output Segment: its head (EBML header, SeekHead space, Info, Tracks),
 * its clusters and tags as they come, and on close the Cues and the patches
 * that make a seekable file (Segment size, Duration, SeekHead). */

typedef struct cue_point {
    int64_t time; /* ticks */
    uint64_t track;
    uint64_t cluster_position;  /* relative to the Segment's data */
    uint64_t relative_position; /* of the block in the cluster's data; 0: none */
} cue_point;

typedef struct segment_writer {
    kvsp_merge_output out;
    int seekable;
    int open;
    int error;
    uint64_t pos; /* bytes written to the current output file */
    uint64_t segment_size_at;
    uint64_t data_start; /* of the Segment's data */
    uint64_t seek_head_at;
    uint64_t duration_at;
    /* relative to data_start; tags_pos 0: none */
    uint64_t info_pos, tracks_pos, tags_pos, cues_pos;
    cue_point *cues;
    size_t cue_count, cue_cap;
    ebml_out scratch;
} segment_writer;

void kvsp_segment_writer_init(segment_writer *sw, const kvsp_merge_output *out);
void kvsp_segment_writer_free(segment_writer *sw);
/* Starts a Segment. The EBML header and Tracks are complete elements. */
int kvsp_segment_writer_open(segment_writer *sw, const uint8_t *ebml_header, size_t ebml_len,
                             uint64_t timecode_scale, const uint8_t *tracks, size_t tracks_len,
                             const char *writing_app);
/* Writes a Cluster with the given body (Timestamp and blocks); its cue
 * points' relative positions are offsets in body. */
int kvsp_segment_writer_cluster(segment_writer *sw, const uint8_t *body, size_t len,
                                const cue_point *cues, size_t ncues);
/* Writes a complete element (e.g. Tags) at Segment level. */
int kvsp_segment_writer_element(segment_writer *sw, const uint8_t *element, size_t len,
                                int is_tags);
/* Ends the Segment; duration in ticks. */
int kvsp_segment_writer_close(segment_writer *sw, double duration);
/* Starts the next output file (if the output can), for the next kvsp_segment_writer_open. */
int kvsp_segment_writer_next_file(segment_writer *sw);

#endif
