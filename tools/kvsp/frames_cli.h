#ifndef KVSP_FRAMES_CLI_H
#define KVSP_FRAMES_CLI_H

#include <stdint.h>

#include "cli.h"
#include "kvsparser/decoder.h"

/* What kvsp frames was asked for. */
typedef enum image_format { IMAGE_PNG, IMAGE_JPEG, IMAGE_PPM, IMAGE_RAW } image_format;

typedef struct frames_args {
    int list;
    int framemd5;
    const char *out_dir;
    image_format format;
    int pix_fmt;  /* kvsp_pixel_format; -1: the format's default */
    int sampling; /* kvsp_sampling */
    uint64_t every_n;
    double interval_ms;
    int width, height;
    int threads;
    kvsp_frame_options opts; /* --track, --type */
} frames_args;

/* Decodes and writes pictures (or framemd5 lines); returns the exit status.
 * Only in builds with the decoder. */
int frames_extract(const frames_args *args, cli_input_options *in);
/* mkdir -p; 0 or -1 with errno (kvsp-full only, beside frames_extract). */
int cli_make_dirs(const char *path);

#endif
