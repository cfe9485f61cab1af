#ifndef KVSP_MP4_MUX_H
#define KVSP_MP4_MUX_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/fragment.h"
#include "kvsparser/mp4.h"

/* One MP4 output (a file or an initialization segment and its fragments
 * on a stream) through libavformat's MP4 muxer. Tracks are described from
 * Matroska TrackEntries; packets go in as they are, with times in ticks
 * of the Segment's TimecodeScale. */

#define MP4_MUX_MAX_STREAMS 16

struct AVFormatContext;
struct AVIOContext;

typedef struct mp4_mux {
    struct AVFormatContext *oc;
    struct AVIOContext *io; /* ours, for a stream; NULL when libavformat opened a file */
    int (*write)(void *user, const void *data, size_t len);
    void *user;
    int write_status; /* the first error write returned */
    int header_written;
    int fragmented;
    int has_video;
    int tb_num, tb_den; /* ticks: the TimecodeScale as a fraction of a second */
    char *message;      /* the sink's error buffer */
    size_t message_size;
} mp4_mux;

/* The libavformat codec for a Matroska codec ID that MP4 takes here (H.264,
 * H.265, AAC), or 0. */
int kvsp_mp4_codec(const char *codec_id);

/* path: a file libavformat opens; NULL: a stream through write. */
int kvsp_mp4_mux_open(mp4_mux *m, const char *path, int (*write)(void *, const void *, size_t),
                      void *user, int fragmented, uint64_t timecode_scale, char *message,
                      size_t message_size);
/* Adds a stream for a track (kvsp_mp4_codec(t->codec_id) != 0); returns
 * its index or a negative status. */
int kvsp_mp4_mux_add(mp4_mux *m, const kvsp_track *t);
/* offset_us: added to every packet's time (fragmented output only). */
int kvsp_mp4_mux_begin(mp4_mux *m, int64_t offset_us);
/* duration: to the next packet's decode time (MP4 keeps sample durations
 * in decode order). */
int kvsp_mp4_mux_packet(mp4_mux *m, int stream, const uint8_t *data, size_t size, int64_t pts,
                        int64_t dts, int64_t duration, int keyframe);
/* Writes the trailer (a progressive file: moov moved to the front) and
 * closes; frees everything also after an error. */
int kvsp_mp4_mux_close(mp4_mux *m);

#endif
