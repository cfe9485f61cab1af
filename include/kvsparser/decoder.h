#ifndef KVSPARSER_DECODER_H
#define KVSPARSER_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/export.h"
#include "kvsparser/frames.h"
#include "kvsparser/visitor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The frame decoder (libkvsparser-decoder, built when FFmpeg's libavcodec,
 * libavutil and libswscale are found): a visitor that decodes a video track
 * with libavcodec and hands decoded pictures, with the metadata of the frame
 * they came from, to a callback. H.264 and H.265 are opened from their codec
 * private data (avcC / hvcC); other codecs libavcodec knows by Matroska codec
 * ID work too. A new codec private data (e.g. a resolution change) reopens
 * the decoder; a stream starting mid-GOP skips to its first keyframe; frames
 * the decoder rejects or marks corrupt are counted and skipped. */

/* A picture already in the asked format and size is handed out as decoded,
 * without a copy or conversion (e.g. KVSP_PIX_YUV420P for H.264 4:2:0). */
typedef enum kvsp_pixel_format {
    KVSP_PIX_NATIVE = 0, /* as decoded (e.g. yuv420p, nv12): no conversion */
    KVSP_PIX_RGB24,
    KVSP_PIX_BGR24,
    KVSP_PIX_GRAY8,
    KVSP_PIX_YUV420P
} kvsp_pixel_format;

typedef enum kvsp_sampling {
    KVSP_SAMPLE_ALL = 0,
    KVSP_SAMPLE_EVERY_N,  /* the 1st, (N+1)th, ... decoded picture */
    KVSP_SAMPLE_INTERVAL, /* the first picture of every interval_ms of presentation time;
                           * frames no kept picture needs are not decoded */
    KVSP_SAMPLE_KEYFRAMES /* keyframes only; other frames are not decoded at all */
} kvsp_sampling;

typedef enum kvsp_window {
    KVSP_WINDOW_NONE = 0,
    KVSP_WINDOW_PRODUCER,
    KVSP_WINDOW_SERVER
} kvsp_window;

#define KVSP_PICTURE_MAX_PLANES 4

typedef struct kvsp_picture {
    int width, height;
    int pixel_format;              /* FFmpeg's AVPixelFormat */
    const char *pixel_format_name; /* "yuv420p", "rgb24", ... */
    const uint8_t *planes[KVSP_PICTURE_MAX_PLANES];
    int strides[KVSP_PICTURE_MAX_PLANES];
    const void *av_frame; /* the AVFrame, for callers that use libav* themselves */
    /* The frame the picture was decoded from. */
    uint64_t track;
    uint64_t fragment_index;
    const char *fragment_number; /* NULL without the tag */
    int keyframe;
    uint32_t present; /* KVSP_FRAME_HAS_* of the frame */
    int64_t pts_ns;
    double pts_ms;
    double producer_timestamp_ms;
    double server_timestamp_ms;
    uint64_t index; /* decoded pictures before this one */
} kvsp_picture;

/* Decoded audio (on request): interleaved or planar samples as libavcodec
 * gives them. */
typedef struct kvsp_audio {
    int sample_rate;
    int channels;
    int sample_format; /* FFmpeg's AVSampleFormat */
    int samples;       /* per channel */
    const uint8_t *const *data;
    const void *av_frame;
    uint64_t track;
    double pts_ms;
    /* Of the frame the samples were decoded from, as its kvsp_frame's. */
    uint32_t present; /* KVSP_FRAME_HAS_* */
    double producer_timestamp_ms;
    double server_timestamp_ms;
    uint64_t fragment_index;
    const char *fragment_number; /* NULL without the tag */
    uint32_t index_in_block;     /* laced blocks: which frame of the lace */
} kvsp_audio;

/* Zeroed (or NULL) options are the defaults: every picture of the first
 * video track as decoded. */
typedef struct kvsp_decode_options {
    uint64_t track;                 /* video track number; 0: the first video track */
    kvsp_pixel_format pixel_format; /* 0: KVSP_PIX_NATIVE */
    int width, height;              /* output size; 0 keeps it; one side alone keeps the aspect */
    kvsp_sampling sampling;         /* 0: KVSP_SAMPLE_ALL */
    uint64_t every_n;               /* KVSP_SAMPLE_EVERY_N; 0: 1 */
    double interval_ms;             /* KVSP_SAMPLE_INTERVAL: required, > 0 */
    /* Decoder threads; 0: as many as cores (one more with the conversion
     * thread below, except for keyframes only). With more than one and a
     * conversion asked for (pixel_format, width or height), pictures are
     * converted on a thread of the decoder's own, split over as many slice
     * threads, at most 6 at a time: on_picture is still called, in order,
     * on the thread that feeds the decoder (during its visitor's callbacks
     * and kvsp_decoder_finish), up to a few pictures later. */
    int threads;
    int (*on_picture)(void *user, const kvsp_picture *picture);
    /* Optional: decode the first audio track too (AAC and the like). */
    int (*on_audio)(void *user, const kvsp_audio *audio);
    /* with on_audio: that audio track number; 0: the first audio track */
    uint64_t audio_track;
    /* Optional: told of each frame that could not be decoded. */
    void (*on_corrupt)(void *user, uint64_t track, double pts_ms, const char *why);
    void *user;
    /* Optional time window: only pictures whose frame time is in
     * [window_from_ms, window_to_ms] (inclusive, ms since the epoch) are
     * converted and delivered; the others are decoded only when a picture
     * in the window needs them as references (held undecoded until then,
     * dropped at the next H.264/H.265 IDR or the end: not_decoded), and
     * those decoded are counted in outside_window.
     * The frame time is the producer timestamp of the frame (its pts
     * without one) for KVSP_WINDOW_PRODUCER, the server timestamp for
     * KVSP_WINDOW_SERVER (frames without one are outside). Sampling
     * (every_n, interval_ms) counts from the first picture in the window. */
    kvsp_window window; /* 0: KVSP_WINDOW_NONE */
    double window_from_ms, window_to_ms;
} kvsp_decode_options;

typedef struct kvsp_decode_stats {
    uint64_t frames;              /* frames of the video track seen */
    uint64_t decoded;             /* pictures out of the decoder */
    uint64_t delivered;           /* pictures handed to on_picture */
    uint64_t skipped_to_keyframe; /* frames before the first keyframe (or after a reopen) */
    uint64_t not_decoded;         /* frames no kept picture needs, never decoded: non-keyframes
                                   * in keyframes mode; with interval_ms, frames after a kept
                                   * picture up to the next IDR (H.264, H.265) or the end */
    uint64_t corrupt;             /* frames rejected or pictures marked corrupt */
    uint64_t reopened;            /* decoder reopened for new codec private data */
    uint64_t audio_frames;        /* decoded audio frames */
    uint64_t outside_window;      /* pictures decoded but outside the time window */
} kvsp_decode_stats;

typedef struct kvsp_decoder kvsp_decoder;

/* meta: a fragment visitor run before the decoder (see frames.h), or NULL
 * for the decoder's own. NULL on bad options or allocation failure. */
KVSP_API kvsp_decoder *kvsp_decoder_create(kvsp_fragment_visitor *meta,
                                           const kvsp_decode_options *opts);
KVSP_API void kvsp_decoder_destroy(kvsp_decoder *d);
KVSP_API kvsp_visitor kvsp_decoder_visitor(kvsp_decoder *d);
/* End of input: drains the pictures the decoder still holds. */
KVSP_API int kvsp_decoder_finish(kvsp_decoder *d);
/* Counts so far, owned by the decoder: valid (and updated as it runs)
 * until kvsp_decoder_destroy. */
KVSP_API const kvsp_decode_stats *kvsp_decoder_stats(const kvsp_decoder *d);
/* The last error the decoder raised itself (opening a codec, memory; not
 * one a callback returned), KVSP_OK if none, and its message ("" if none),
 * owned by the decoder, valid until its next error or destruction. Like
 * every visitor's error it also stops the run, as the reader's error. */
KVSP_API int kvsp_decoder_error(const kvsp_decoder *d);
KVSP_API const char *kvsp_decoder_error_message(const kvsp_decoder *d);

#ifdef __cplusplus
}
#endif

#endif
