#ifndef KVSP_RENDER_SOURCE_H
#define KVSP_RENDER_SOURCE_H

#include "picture_queue.h"

/* The decoding thread: reads a file, stdin or a live stream, decodes its
 * video track with the library's frame decoder and puts yuv420p pictures
 * into the queue, then finishes the queue with the outcome. */

typedef struct source_options {
    const char *path;   /* file; NULL or "-" for stdin */
    const char *stream; /* or: a KVS stream name or ARN, read with GetMedia */
    const char *start;  /* start selector ("now", "earliest", ...) */
    const char *region, *endpoint_url, *profile;
} source_options;

typedef struct source source;

source *source_start(const source_options *opts, picture_queue *q);
/* Waits for the thread: call after the queue ended or was closed. */
void source_join(source *s);

#endif
