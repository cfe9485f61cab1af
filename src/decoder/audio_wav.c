/* The WAV header rule: the one place that says how a WAV file of the audio
 * sink's PCM begins, for `kvsp audio --format wav` (tools/kvsp/
 * audio_writer.c) and the Python package's kvsp.write_wav, so that both
 * write the same bytes for the same PCM.
 *
 * The header is the canonical 44-byte RIFF/WAVE one: a 16-byte "fmt "
 * chunk (PCM format 1 for integers, IEEE float format 3 for f32) and the
 * "data" chunk's size. No WAVE_FORMAT_EXTENSIBLE: sox, ffprobe and
 * Python's wave module read the plain form for any channel count, and a
 * channel mask would claim a speaker layout the stream never said.
 *
 * RIFF sizes are 32-bit: PCM past 4 GiB cannot be described, so the sizes
 * are capped at their maximum (readers that meet the cap read to the end
 * of the file, which is what such a file holds). */
#include <string.h>

#include "kvsparser/audio.h"
#include "kvsparser/status.h"

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int kvsp_audio_wav_header(uint8_t header[KVSP_WAV_HEADER_SIZE], int sample_rate, int channels,
                          int bytes_per_sample, int is_float, uint64_t data_bytes)
{
    if (!header || sample_rate <= 0 || channels <= 0 || channels > 0xFFFF ||
        (bytes_per_sample != 2 && bytes_per_sample != 4) || (is_float && bytes_per_sample != 4))
        return KVSP_ERR_INVALID_ARG;
    /* block align and byte rate must fit their 16 and 32 bits */
    uint64_t align = (uint64_t)channels * (uint64_t)bytes_per_sample;
    uint64_t rate = (uint64_t)sample_rate * align;
    if (align > 0xFFFF || rate > 0xFFFFFFFFu)
        return KVSP_ERR_INVALID_ARG;
    const uint64_t max_data = 0xFFFFFFFFu - (KVSP_WAV_HEADER_SIZE - 8);
    uint64_t data = data_bytes > max_data ? max_data : data_bytes;
    memcpy(header, "RIFF", 4);
    put_le(header + 4, (KVSP_WAV_HEADER_SIZE - 8) + data, 4);
    memcpy(header + 8, "WAVEfmt ", 8);
    put_le(header + 16, 16, 4);
    put_le(header + 20, is_float ? 3 : 1, 2);
    put_le(header + 22, (uint64_t)channels, 2);
    put_le(header + 24, (uint64_t)sample_rate, 4);
    put_le(header + 28, rate, 4);
    put_le(header + 32, align, 2);
    put_le(header + 34, (uint64_t)bytes_per_sample * 8, 2);
    memcpy(header + 36, "data", 4);
    put_le(header + 40, data, 4);
    return KVSP_OK;
}
