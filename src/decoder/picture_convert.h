#ifndef KVSP_PICTURE_CONVERT_H
#define KVSP_PICTURE_CONVERT_H

#include <libavutil/frame.h>

#include "kvsparser/decoder.h"

/* Colour conversion and scaling with libswscale into a reused frame. The
 * scaler context is cached and only rebuilt when the input changes. A
 * converter is used by one thread at a time. */
typedef struct picture_converter {
    struct SwsContext *sws;
    AVFrame *out;
    int threads; /* libswscale's slice threads; 0 or 1: none (set before the first run) */
    int in_w, in_h, in_fmt, out_w, out_h, out_fmt; /* what sws was made for */
} picture_converter;

void kvsp_converter_free(picture_converter *c);
/* The picture to deliver: in itself when no conversion is asked for, else
 * the converted frame (owned by the converter). NULL on failure. */
const AVFrame *kvsp_converter_run(picture_converter *c, const AVFrame *in, kvsp_pixel_format format,
                                  int width, int height);
/* The same into *out (allocated, or reallocated for another size or
 * format, here; freed by the caller with av_frame_free), for a caller that
 * keeps several converted pictures at once (picture_pipeline.c). */
const AVFrame *kvsp_converter_run_into(picture_converter *c, const AVFrame *in, AVFrame **out,
                                       kvsp_pixel_format format, int width, int height);

#endif
