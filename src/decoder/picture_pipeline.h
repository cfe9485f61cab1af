#ifndef KVSP_PICTURE_PIPELINE_H
#define KVSP_PICTURE_PIPELINE_H

#include <libavutil/frame.h>
#include <stddef.h>

#include "kvsparser/decoder.h"

/* Conversion (libswscale) of decoded pictures on a thread of its own, so
 * that the thread feeding libavcodec keeps its frame threads busy instead
 * of scaling. Pictures are handed back to the caller's thread, in the order
 * they were pushed, through a deliver callback called only from
 * kvsp_pipeline_push and kvsp_pipeline_flush: the decoder's on_picture runs
 * on the thread that feeds the decoder, as without the pipeline. At most
 * KVSP_PIPELINE_DEPTH pictures are in flight (each a reference to a decoded
 * frame plus its converted copy). */
#define KVSP_PIPELINE_DEPTH 6

typedef struct picture_pipeline picture_pipeline;

/* out: the converted picture (valid during the call), or NULL when it could
 * not be converted (out of memory); meta: the bytes pushed with it. A
 * negative return stops the delivery and is returned by push / flush. */
typedef int (*kvsp_pipeline_deliver)(void *user, const AVFrame *out, const void *meta);

/* Pictures converted to format and size as kvsp_converter_run does, each
 * split over slice_threads of libswscale's (same bytes); meta of meta_size
 * bytes travels with each. NULL if out of memory or no thread could be
 * started. */
picture_pipeline *kvsp_pipeline_create(kvsp_pixel_format format, int width, int height,
                                       int slice_threads, size_t meta_size,
                                       kvsp_pipeline_deliver deliver, void *user);
/* Stops the thread (after the picture it is converting) and frees what is
 * still queued, undelivered. NULL is a no-op. */
void kvsp_pipeline_destroy(picture_pipeline *p);
/* Queues one picture (a new reference to frame), delivering the converted
 * ones first, and waiting for the oldest when all slots are taken. */
int kvsp_pipeline_push(picture_pipeline *p, const AVFrame *frame, const void *meta);
/* Delivers the pictures converted so far; with wait, every queued one. */
int kvsp_pipeline_flush(picture_pipeline *p, int wait);

#endif
