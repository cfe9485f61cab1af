#ifndef KVSP_PICTURE_CONVERT_H
#define KVSP_PICTURE_CONVERT_H

#include <libavutil/frame.h>

#include "kvsparser/decoder.h"

/* Colour conversion and scaling with libswscale into a reused frame. The
 * scaler context is cached and only rebuilt when the input changes. */
typedef struct picture_converter {
    struct SwsContext *sws;
    AVFrame *out;
} picture_converter;

void kvsp_converter_free(picture_converter *c);
/* The picture to deliver: in itself when no conversion is asked for, else
 * the converted frame (owned by the converter). NULL on failure. */
const AVFrame *kvsp_converter_run(picture_converter *c, const AVFrame *in, kvsp_pixel_format format,
                                  int width, int height);

#endif
