#ifndef KVSP_IMAGE_WRITER_H
#define KVSP_IMAGE_WRITER_H

#include "frames_cli.h"
#include "kvsparser/decoder.h"

/* Writes pictures as image files: PNG and JPEG through libavcodec's
 * encoders (kept open while the picture size stays the same), PPM and raw
 * planes directly. */
typedef struct image_writer image_writer;

image_writer *image_writer_create(image_format format);
void image_writer_destroy(image_writer *w);
/* The pixel format pictures must have for this image format (a
 * kvsp_pixel_format), given what the user asked for (-1: default). -1 if
 * the combination is not possible. */
int image_writer_pixel_format(image_format format, int asked);
const char *image_writer_extension(image_format format);
/* 0, or -1 with errno or a message on stderr. */
int image_writer_write(image_writer *w, const kvsp_picture *p, const char *path);
/* The bytes of the picture, planes packed without padding, as ffmpeg's
 * rawvideo gives them: the writer's buffer, or the picture's own plane
 * when it has no padding; valid until the next call or the picture's end. */
const uint8_t *image_writer_pack(image_writer *w, const kvsp_picture *p, size_t *size);

#endif
