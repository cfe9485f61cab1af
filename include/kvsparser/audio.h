#ifndef KVSPARSER_AUDIO_H
#define KVSPARSER_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/decoder.h" /* kvsp_window */
#include "kvsparser/export.h"
#include "kvsparser/fragment.h"
#include "kvsparser/visitor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The audio sink (in libkvsparser-decoder; resampling with libswresample):
 * per audio track, interleaved PCM placed on the producer timeline.
 *
 * Timing comes from each block's producer time (the fragment's producer
 * timestamp plus the block's offset in its Cluster; the block's pts where
 * the fragment has none), never from block sizes: a block lands where its
 * time says, counted from the first block of its output (the later frames
 * of a laced block, which share its time, follow on from the first). Up to one
 * timecode tick (at least 1 ms) of difference is taken as rounding of the
 * timecodes and the block follows on directly; a later block leaves a gap
 * of silence of the missing length; a block that starts before the
 * samples already handed out overlaps, and its first samples are dropped
 * (reported as an overlap). A gap longer than split_on_gap_ms (or time
 * going back by more) ends the output and starts a new one, as does a
 * change of codec, sample rate or channel count. Gaps are computed at the
 * source's sample rate, before resampling.
 *
 * PCM (A_PCM/INT/LIT, A_PCM/INT/BIG, A_PCM/FLOAT/IEEE, A_MS/ACM with a PCM
 * WAVEFORMATEX) is copied, not decoded; when neither the sample format nor
 * the rate nor the channel count changes its bytes are handed out as they
 * came. Other codecs (AAC, Opus, ...) are decoded with libavcodec.
 *
 * Amazon Connect's live media streams label 8 kHz s16le mono PCM as A_AAC
 * (2 bytes of codec private data, no Audio master) with a MimeType tag
 * "audio/L16;rate=8000;channels=1": such a track is copied as the PCM the
 * tag describes (8000 Hz mono s16le without the tag), never decoded.
 * Outputs are keyed by the TrackEntry's Name when it has one (Connect's
 * AUDIO_FROM_CUSTOMER / AUDIO_TO_CUSTOMER may swap track numbers between
 * fragments), else by the track number. */

typedef enum kvsp_audio_sample_format {
    KVSP_AUDIO_S16 = 0, /* signed 16-bit, native byte order */
    KVSP_AUDIO_S32,
    KVSP_AUDIO_F32
} kvsp_audio_sample_format;

/* How the PCM of an output is obtained. */
typedef enum kvsp_audio_source {
    KVSP_AUDIO_COPIED = 0,  /* PCM codec, copied */
    KVSP_AUDIO_CONNECT_L16, /* Connect profile: A_AAC label over L16 PCM, copied */
    KVSP_AUDIO_OVERRIDDEN,  /* a kvsp_audio_codec_override said which PCM */
    KVSP_AUDIO_DECODED      /* decoded with libavcodec */
} kvsp_audio_source;

/* Treats a track as another codec than its CodecID says. Matches a track
 * by Name (when track_name is set) or by number. */
typedef struct kvsp_audio_codec_override {
    const char *track_name;
    uint64_t track_number;
    const char *codec_id; /* a Matroska CodecID, e.g. "A_PCM/INT/LIT" */
    int sample_rate;      /* 0: the track's (PCM: 8000 if it has none) */
    int channels;         /* 0: the track's (PCM: 1 if it has none) */
    int bit_depth;        /* PCM only; 0: the track's, else 16 (float 32) */
} kvsp_audio_codec_override;

/* kvsp_audio_output.present */
#define KVSP_AUDIO_HAS_PRODUCER_TIME (1u << 0)
#define KVSP_AUDIO_HAS_SERVER_TIME (1u << 1)

/* One continuous piece of a track. Strings are owned by the sink and valid
 * until the output's on_end returns. */
typedef struct kvsp_audio_output {
    uint64_t track;         /* the track's number where the sink first saw it */
    const char *track_name; /* NULL when the TrackEntry has no Name */
    const char *codec_id;   /* the TrackEntry's CodecID */
    kvsp_audio_source source;
    const char *source_codec;  /* the PCM copied ("s16le", "f32le", ...) or the decoder */
    uint64_t index;            /* outputs of the same track before this one */
    int sample_rate, channels; /* of the PCM handed out */
    int source_sample_rate, source_channels;
    kvsp_audio_sample_format sample_format;
    int bytes_per_sample;                       /* one channel's sample */
    uint32_t present;                           /* KVSP_AUDIO_HAS_*: of the first block */
    double first_producer_ms, last_producer_ms; /* of its first and last block */
    double first_server_ms, last_server_ms;
    double first_pts_ms, last_pts_ms;
    const char *first_fragment_number;  /* NULL without the tag */
    uint64_t samples;                   /* per channel, handed out so far */
    uint64_t blocks;                    /* frames of the track placed in it */
    uint64_t gaps, gap_samples;         /* silences inserted, at the source rate */
    uint64_t overlaps, overlap_samples; /* samples dropped, at the source rate */
} kvsp_audio_output;

/* A silence inserted or an overlap dropped. */
typedef struct kvsp_audio_gap {
    int overlap;        /* 0: silence inserted; 1: samples dropped */
    uint64_t position;  /* source-rate samples into the output where it is */
    uint64_t samples;   /* its length at the source rate */
    double ms;          /* its length in ms */
    double producer_ms; /* the time of the block after it (or overlapping) */
} kvsp_audio_gap;

#define KVSP_AUDIO_DEFAULT_SPLIT_MS 2000.0
#define KVSP_AUDIO_MAX_FILL_MS 86400000.0

/* Zeroed options are the defaults: every audio track, each at its own rate
 * and channel count, as signed 16-bit. */
typedef struct kvsp_audio_options {
    uint64_t track;         /* only this track number; 0: every audio track */
    const char *track_name; /* only the track of this Name; NULL: any */
    int sample_rate;        /* resample to this; 0: keep */
    int channels;           /* mix to this many; 0: keep */
    kvsp_audio_sample_format sample_format;
    /* 0: KVSP_AUDIO_DEFAULT_SPLIT_MS; negative: fill gaps up to
     * KVSP_AUDIO_MAX_FILL_MS (a longer one, or time going back by more than
     * the default, still starts a new output) */
    double split_on_gap_ms;
    /* Only the fragments of this call: those whose ContactId tag is it, and
     * those without the tag after one of them. NULL: every fragment. */
    const char *contact_id;
    const kvsp_audio_codec_override *overrides;
    size_t override_count;
    /* Each callback returns KVSP_OK, or an error that stops the run. */
    int (*on_start)(void *user, const kvsp_audio_output *out);
    /* Interleaved samples (samples per channel) of out's format. */
    int (*on_pcm)(void *user, const kvsp_audio_output *out, const uint8_t *data, size_t samples);
    int (*on_gap)(void *user, const kvsp_audio_output *out, const kvsp_audio_gap *gap);
    int (*on_end)(void *user, const kvsp_audio_output *out);
    /* Optional: a frame that could not be decoded or copied. */
    void (*on_corrupt)(void *user, uint64_t track, double pts_ms, const char *why);
    void *user;
    /* Optional time window, as the decoder's (decoder.h): only frames whose
     * time is in [window_from_ms, window_to_ms] are placed; the others are
     * counted as filtered. */
    kvsp_window window;
    double window_from_ms, window_to_ms;
} kvsp_audio_options;

typedef struct kvsp_audio_stats {
    uint64_t frames;   /* audio frames seen */
    uint64_t placed;   /* frames placed in an output */
    uint64_t filtered; /* frames of fragments of another contact */
    uint64_t corrupt;  /* frames that could not be used */
    uint64_t outputs;  /* outputs started */
} kvsp_audio_stats;

typedef struct kvsp_audio_sink kvsp_audio_sink;

/* meta: a fragment visitor run before the sink (see frames.h), or NULL for
 * the sink's own. The options (and the strings and overrides they point
 * to, which must stay valid) are copied. NULL on bad options or memory. */
KVSP_API kvsp_audio_sink *kvsp_audio_sink_create(kvsp_fragment_visitor *meta,
                                                 const kvsp_audio_options *opts);
KVSP_API void kvsp_audio_sink_destroy(kvsp_audio_sink *s);
KVSP_API kvsp_visitor kvsp_audio_sink_visitor(kvsp_audio_sink *s);
/* End of input: drains decoders and resamplers and ends every output. */
KVSP_API int kvsp_audio_sink_finish(kvsp_audio_sink *s);
KVSP_API const kvsp_audio_stats *kvsp_audio_sink_stats(const kvsp_audio_sink *s);
/* The sink's own last error (as kvsp_decoder_error) and its message. */
KVSP_API int kvsp_audio_sink_error(const kvsp_audio_sink *s);
KVSP_API const char *kvsp_audio_sink_error_message(const kvsp_audio_sink *s);

/* The WAV file of an output's PCM (`kvsp audio --format wav` and the Python
 * package write it): a header of *header_size bytes (at most
 * KVSP_WAV_HEADER_MAX: 44 for plain PCM; WAVE_FORMAT_EXTENSIBLE with a
 * channel mask for more than two channels, 32-bit or float samples, or
 * rates above 48 kHz; a "fact" chunk for float), then the interleaved
 * samples little-endian. Fills header for data_bytes of PCM (sizes capped
 * at the 32-bit RIFF maximum) of bytes_per_sample 2 (s16) or 4 (s32, or
 * f32 when is_float). The size depends on the format alone, never on
 * data_bytes, so a placeholder written at open is overwritten in place.
 * KVSP_OK or KVSP_ERR_INVALID_ARG. */
#define KVSP_WAV_HEADER_MAX 80
KVSP_API int kvsp_audio_wav_header(uint8_t header[KVSP_WAV_HEADER_MAX], int sample_rate,
                                   int channels, int bytes_per_sample, int is_float,
                                   uint64_t data_bytes, size_t *header_size);

#ifdef __cplusplus
}
#endif

#endif
