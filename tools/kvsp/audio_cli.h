#ifndef KVSP_AUDIO_CLI_H
#define KVSP_AUDIO_CLI_H

#include <stdint.h>

#include "cli.h"

#define AUDIO_CLI_MAX_OVERRIDES 16

/* What kvsp audio was asked for (parsed in cmd_audio.c, in both
 * executables; run by audio_extract.c in kvsp-full). */
typedef struct audio_args {
    const char *output; /* DIR, or FILE with --track */
    uint64_t track;
    int format; /* audio_file_format */
    int sample_rate, channels;
    int sample_format;     /* kvsp_audio_sample_format */
    double split_on_gap_s; /* 0: never; default 2 */
    const char *contact_id;
    int noverrides;
    struct {
        const char *track; /* a number or a Name */
        char codec[64];
        int rate, channels;
    } overrides[AUDIO_CLI_MAX_OVERRIDES];
} audio_args;

/* Writes the audio files and index; returns the exit status. Only in
 * builds with the decoder. */
int audio_extract(const audio_args *args, cli_input_options *in);

#endif
