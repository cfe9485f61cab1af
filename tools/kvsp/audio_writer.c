/* WAV (the library's header rule), raw and FLAC files for kvsp audio. FLAC is libavcodec's encoder
 * behind a hand-written container: "fLaC", the STREAMINFO block the
 * encoder gives (rewritten at the end with the final one, which has the
 * sample count and MD5), then the encoded frames. */
#include "audio_writer.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvsparser/audio.h"

struct audio_writer {
    FILE *f;
    audio_file_format format;
    int rate, channels, bytes, is_float;
    uint64_t data_bytes;
    /* FLAC */
    AVCodecContext *enc;
    AVFrame *frame;
    AVPacket *packet;
    int pending; /* samples in frame, not yet encoded */
};

const char *audio_file_extension(audio_file_format format)
{
    return format == AUDIO_WAV ? "wav" : format == AUDIO_FLAC ? "flac" : "raw";
}

/* The header (the library's rule, kvsparser/audio.h), for the bytes
 * written so far: a placeholder at open, the final one at close. */
static int wav_header(audio_writer *w)
{
    uint8_t h[KVSP_WAV_HEADER_MAX];
    size_t size;
    if (kvsp_audio_wav_header(h, w->rate, w->channels, w->bytes, w->is_float, w->data_bytes,
                              &size) != KVSP_OK)
        return -1;
    return fwrite(h, 1, size, w->f) == size ? 0 : -1;
}

static int flac_streaminfo(audio_writer *w, const uint8_t *info, size_t size)
{
    uint8_t head[8] = {'f', 'L', 'a', 'C', 0x80, 0, 0, 34};
    if (size < 34)
        return -1;
    return fwrite(head, 1, 8, w->f) == 8 && fwrite(info, 1, 34, w->f) == 34 ? 0 : -1;
}

static int flac_open(audio_writer *w, const char **why)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_FLAC);
    if (!codec || w->is_float) {
        *why = w->is_float ? "FLAC holds integer samples only" : "no FLAC encoder in libavcodec";
        return -1;
    }
    w->enc = avcodec_alloc_context3(codec);
    w->frame = av_frame_alloc();
    w->packet = av_packet_alloc();
    if (!w->enc || !w->frame || !w->packet)
        return -1;
    w->enc->sample_rate = w->rate;
    w->enc->sample_fmt = w->bytes == 2 ? AV_SAMPLE_FMT_S16 : AV_SAMPLE_FMT_S32;
    w->enc->bits_per_raw_sample = w->bytes == 2 ? 16 : 24;
    av_channel_layout_default(&w->enc->ch_layout, w->channels);
    if (avcodec_open2(w->enc, codec, NULL) < 0) {
        *why = "cannot open the FLAC encoder";
        return -1;
    }
    w->frame->format = w->enc->sample_fmt;
    w->frame->nb_samples = w->enc->frame_size;
    w->frame->sample_rate = w->rate;
    if (av_channel_layout_copy(&w->frame->ch_layout, &w->enc->ch_layout) < 0 ||
        av_frame_get_buffer(w->frame, 0) < 0)
        return -1;
    return flac_streaminfo(w, w->enc->extradata, (size_t)w->enc->extradata_size);
}

static int flac_drain(audio_writer *w)
{
    for (;;) {
        int rc = avcodec_receive_packet(w->enc, w->packet);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return -1;
        size_t size;
        const uint8_t *info = av_packet_get_side_data(w->packet, AV_PKT_DATA_NEW_EXTRADATA, &size);
        if (info && size >= 34) {
            /* The final STREAMINFO: sample count and MD5 go back into the header. */
            long at = ftell(w->f);
            if (at < 0 || fseek(w->f, 8, SEEK_SET) != 0 || fwrite(info, 1, 34, w->f) != 34 ||
                fseek(w->f, at, SEEK_SET) != 0)
                return -1;
        }
        /* The last packet may carry only the new STREAMINFO. */
        size_t n = (size_t)w->packet->size;
        rc = n == 0 || fwrite(w->packet->data, 1, n, w->f) == n ? 0 : -1;
        av_packet_unref(w->packet);
        if (rc < 0)
            return -1;
    }
}

static int flac_send(audio_writer *w, int last)
{
    if (w->pending) {
        w->frame->nb_samples = w->pending;
        w->frame->pts = (int64_t)(w->data_bytes / (uint64_t)(w->bytes * w->channels)) - w->pending;
        if (avcodec_send_frame(w->enc, w->frame) < 0)
            return -1;
        w->pending = 0;
        if (flac_drain(w) < 0 || av_frame_make_writable(w->frame) < 0)
            return -1;
    }
    if (last && (avcodec_send_frame(w->enc, NULL) < 0 || flac_drain(w) < 0))
        return -1;
    return 0;
}

audio_writer *audio_writer_open(const char *path, audio_file_format format, int rate, int channels,
                                int bytes_per_sample, int is_float, const char **why)
{
    *why = NULL;
    audio_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->format = format;
    w->rate = rate;
    w->channels = channels;
    w->bytes = bytes_per_sample;
    w->is_float = is_float;
    w->f = fopen(path, "wb");
    int ok = w->f != NULL;
    if (ok && format == AUDIO_WAV)
        ok = wav_header(w) == 0;
    else if (ok && format == AUDIO_FLAC)
        ok = flac_open(w, why) == 0;
    if (!ok) {
        int e = errno;
        audio_writer_close(w);
        errno = e;
        return NULL;
    }
    return w;
}

int audio_writer_write(audio_writer *w, const uint8_t *data, size_t samples)
{
    size_t frame = (size_t)w->bytes * (size_t)w->channels;
    if (w->format != AUDIO_FLAC) {
        w->data_bytes += samples * frame;
        return fwrite(data, frame, samples, w->f) == samples ? 0 : -1;
    }
    while (samples > 0) {
        size_t room = (size_t)(w->enc->frame_size - w->pending);
        size_t n = samples < room ? samples : room;
        memcpy(w->frame->data[0] + (size_t)w->pending * frame, data, n * frame);
        w->pending += (int)n;
        w->data_bytes += n * frame;
        data += n * frame;
        samples -= n;
        if (w->pending == w->enc->frame_size && flac_send(w, 0) < 0)
            return -1;
    }
    return 0;
}

int audio_writer_close(audio_writer *w)
{
    if (!w)
        return 0;
    int rc = 0;
    if (w->f && w->format == AUDIO_FLAC && w->enc && avcodec_is_open(w->enc))
        rc = flac_send(w, 1);
    if (w->f && w->format == AUDIO_WAV && rc == 0)
        rc = fseek(w->f, 0, SEEK_SET) == 0 && wav_header(w) == 0 ? 0 : -1;
    if (w->f && fclose(w->f) != 0)
        rc = -1;
    avcodec_free_context(&w->enc);
    av_frame_free(&w->frame);
    av_packet_free(&w->packet);
    free(w);
    return rc;
}
