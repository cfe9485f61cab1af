/* The WAV header rule: the one place that says how a WAV file of the audio
 * sink's PCM begins, for `kvsp audio --format wav` (tools/kvsp/
 * audio_writer.c) and the Python package's kvsp.write_wav, so that both
 * write the same bytes for the same PCM.
 *
 * Plain PCM (format 1, a 16-byte "fmt " chunk, 44 bytes in all) for mono
 * and stereo s16 up to 48 kHz. WAVE_FORMAT_EXTENSIBLE (a 40-byte "fmt "
 * chunk with a channel mask and the sub-format GUID) where Microsoft's WAV
 * rules want it: more than two channels or more than 16 bits a sample;
 * above 48 kHz too, as ffmpeg's WAV muxer does, so that readers agree.
 * The mask is libavutil's default layout for the channel count (5.1 for
 * six), 0 (no speaker positions) where it has none. Float, a format other
 * than PCM, also needs the "fact" chunk (the sample count).
 *
 * RIFF sizes are 32-bit: PCM past 4 GiB cannot be described, so the sizes
 * are capped at their maximum (readers that meet the cap read to the end
 * of the file, which is what such a file holds). */
#include <string.h>

#include <libavutil/channel_layout.h>

#include "kvsparser/audio.h"
#include "kvsparser/status.h"

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t wav_channel_mask(int channels)
{
    AVChannelLayout l;
    memset(&l, 0, sizeof l);
    av_channel_layout_default(&l, channels);
    uint64_t mask = l.order == AV_CHANNEL_ORDER_NATIVE ? l.u.mask : 0;
    av_channel_layout_uninit(&l);
    /* the mask's field is 32 bits wide */
    return mask <= 0xFFFFFFFFu ? (uint32_t)mask : 0;
}

int kvsp_audio_wav_header(uint8_t header[KVSP_WAV_HEADER_MAX], int sample_rate, int channels,
                          int bytes_per_sample, int is_float, uint64_t data_bytes,
                          size_t *header_size)
{
    if (!header || !header_size || sample_rate <= 0 || channels <= 0 || channels > 0xFFFF ||
        (bytes_per_sample != 2 && bytes_per_sample != 4) || (is_float && bytes_per_sample != 4))
        return KVSP_ERR_INVALID_ARG;
    /* block align and byte rate must fit their 16 and 32 bits */
    uint64_t align = (uint64_t)channels * (uint64_t)bytes_per_sample;
    uint64_t rate = (uint64_t)sample_rate * align;
    if (align > 0xFFFF || rate > 0xFFFFFFFFu)
        return KVSP_ERR_INVALID_ARG;
    /* KSDATAFORMAT_SUBTYPE_PCM; its first byte is 3 for ..._IEEE_FLOAT */
    static const uint8_t subformat[16] = {1,    0, 0,    0,    0,    0,    0x10, 0,
                                          0x80, 0, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
    int ext = channels > 2 || bytes_per_sample > 2 || sample_rate > 48000;
    uint32_t fmt_size = ext ? 40 : 16;
    size_t size = 20 + fmt_size + (is_float ? 12 : 0) + 8;
    const uint64_t max_data = 0xFFFFFFFFu - (size - 8);
    uint64_t data = data_bytes > max_data ? max_data : data_bytes;
    memcpy(header, "RIFF", 4);
    put_le(header + 4, (size - 8) + data, 4);
    memcpy(header + 8, "WAVEfmt ", 8);
    put_le(header + 16, fmt_size, 4);
    put_le(header + 20, ext ? 0xFFFE : is_float ? 3 : 1, 2);
    put_le(header + 22, (uint64_t)channels, 2);
    put_le(header + 24, (uint64_t)sample_rate, 4);
    put_le(header + 28, rate, 4);
    put_le(header + 32, align, 2);
    put_le(header + 34, (uint64_t)bytes_per_sample * 8, 2);
    uint8_t *p = header + 36;
    if (ext) {
        put_le(p, 22, 2);                                 /* cbSize */
        put_le(p + 2, (uint64_t)bytes_per_sample * 8, 2); /* valid bits: all of them */
        put_le(p + 4, wav_channel_mask(channels), 4);
        memcpy(p + 8, subformat, 16);
        p[8] = is_float ? 3 : 1;
        p += 24;
    }
    if (is_float) {
        uint64_t samples = data_bytes / align;
        memcpy(p, "fact", 4);
        put_le(p + 4, 4, 4);
        put_le(p + 8, samples > 0xFFFFFFFFu ? 0xFFFFFFFFu : samples, 4);
        p += 12;
    }
    memcpy(p, "data", 4);
    put_le(p + 4, data, 4);
    *header_size = size;
    return KVSP_OK;
}
