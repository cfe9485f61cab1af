#ifndef KVSP_AUDIO_WRITER_H
#define KVSP_AUDIO_WRITER_H

#include <stddef.h>
#include <stdint.h>

/* One audio file of kvsp audio: WAV (header patched at the end), raw
 * interleaved samples, or FLAC encoded with libavcodec. */
typedef enum audio_file_format { AUDIO_WAV, AUDIO_RAW, AUDIO_FLAC } audio_file_format;

typedef struct audio_writer audio_writer;

/* bytes_per_sample: 2 (s16) or 4 (s32, or float when is_float). NULL with
 * errno set, or with *why for an encoder that cannot be opened. */
audio_writer *audio_writer_open(const char *path, audio_file_format format, int rate, int channels,
                                int bytes_per_sample, int is_float, const char **why);
/* Interleaved samples (per channel count). 0 or -1. */
int audio_writer_write(audio_writer *w, const uint8_t *data, size_t samples);
/* Finishes the file (WAV sizes, FLAC's last frame and STREAMINFO) and
 * frees; 0 or -1. */
int audio_writer_close(audio_writer *w);

const char *audio_file_extension(audio_file_format format);

#endif
