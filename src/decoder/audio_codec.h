#ifndef KVSP_AUDIO_CODEC_H
#define KVSP_AUDIO_CODEC_H

#include <libavutil/samplefmt.h>
#include <stddef.h>
#include <stdint.h>

#include "kvsparser/audio.h"
#include "kvsparser/fragment.h"

/* What an audio track's blocks hold: PCM to copy (and how to unpack it to
 * an interleaved libavutil sample format) or a codec to decode. */
typedef struct kvsp_audio_format {
    kvsp_audio_source source;
    enum AVSampleFormat fmt; /* copied PCM after unpacking; NONE when decoded */
    int rate, channels;
    int bytes;        /* bytes per sample as stored */
    int big_endian;   /* stored big-endian: swapped when unpacked */
    int widen24;      /* 24-bit samples stored in 3 bytes: widened to s32 */
    const char *name; /* "s16le", "f32le", ... or "decoded" */
} kvsp_audio_format;

/* Decides how the track is read, from its TrackEntry, the fragment's tags
 * (Connect's MimeType) and an override (NULL: none). Returns 0, or -1 with
 * why filled in when the track cannot be read (an unknown WAVEFORMATEX, a
 * PCM depth we cannot unpack). */
int kvsp_audio_resolve(const kvsp_track *t, const kvsp_fragment *f,
                       const kvsp_audio_codec_override *ov, kvsp_audio_format *out, char *why,
                       size_t why_size);

/* The value of the fragment's first user tag of that name
 * (case-insensitive), or NULL. */
const char *kvsp_audio_fragment_tag(const kvsp_fragment *f, const char *name);

#endif
