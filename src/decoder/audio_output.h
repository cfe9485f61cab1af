#ifndef KVSP_AUDIO_OUTPUT_H
#define KVSP_AUDIO_OUTPUT_H

#include <libavutil/samplefmt.h>
#include <stdint.h>

#include "kvsparser/audio.h"

struct SwrContext;

/* One output of the audio sink: source samples (any libavutil format,
 * planar or interleaved) counted on its timeline and handed out converted
 * (resampled, mixed, formatted by libswresample) or, when nothing changes,
 * as they are. */
typedef struct kvsp_audio_out {
    kvsp_audio_output info;                        /* what the callbacks see */
    char *track_name, *codec_id, *fragment_number; /* owned copies behind info */
    enum AVSampleFormat in_fmt, out_fmt;
    struct SwrContext *swr; /* NULL: handed out as they come */
    double t0_ms;           /* the time of source sample 0 */
    uint64_t position;      /* source samples placed */
    uint8_t *buf;           /* converted samples, or silence */
    size_t buf_size;
    const kvsp_audio_options *opts;
    int open;
} kvsp_audio_out;

/* Starts an output at t0_ms for samples of in_fmt at info->source_*;
 * info holds the rest (track, name, codec, times of the first block); the
 * strings are copied. Calls on_start. */
int kvsp_audio_out_begin(kvsp_audio_out *o, const kvsp_audio_options *opts,
                         const kvsp_audio_output *info, enum AVSampleFormat in_fmt, double t0_ms);
/* Source samples into the output: planes as libavutil lays them out. */
int kvsp_audio_out_write(kvsp_audio_out *o, const uint8_t *const *planes, int samples);
/* Silence of that many source samples, reported as a gap. */
int kvsp_audio_out_silence(kvsp_audio_out *o, uint64_t samples, double producer_ms);
/* Drains the resampler, calls on_end and frees; harmless when not open. */
int kvsp_audio_out_end(kvsp_audio_out *o);
/* Frees without calling back. */
void kvsp_audio_out_free(kvsp_audio_out *o);

#endif
