/* An audio output: counting source samples, silence for gaps, conversion. */
#include "audio_output.h"

#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc_internal.h"

/* Silence and conversion go in pieces of at most this many samples, which
 * bounds the buffer whatever the gap or block size. */
#define PIECE 4096

static enum AVSampleFormat out_format(kvsp_audio_sample_format f)
{
    switch (f) {
    case KVSP_AUDIO_S32: return AV_SAMPLE_FMT_S32;
    case KVSP_AUDIO_F32: return AV_SAMPLE_FMT_FLT;
    default: return AV_SAMPLE_FMT_S16;
    }
}

static char *copy(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *c = kvsp_ext_malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

void kvsp_audio_out_free(kvsp_audio_out *o)
{
    swr_free(&o->swr);
    kvsp_ext_free(o->track_name);
    kvsp_ext_free(o->codec_id);
    kvsp_ext_free(o->fragment_number);
    kvsp_ext_free(o->buf);
    memset(o, 0, sizeof *o);
}

static int open_swr(kvsp_audio_out *o)
{
    AVChannelLayout in, out;
    av_channel_layout_default(&in, o->info.source_channels);
    av_channel_layout_default(&out, o->info.channels);
    int rc = swr_alloc_set_opts2(&o->swr, &out, o->out_fmt, o->info.sample_rate, &in, o->in_fmt,
                                 o->info.source_sample_rate, 0, NULL);
    av_channel_layout_uninit(&in);
    av_channel_layout_uninit(&out);
    if (rc < 0 || swr_init(o->swr) < 0)
        return KVSP_ERR_INVALID_ARG;
    return KVSP_OK;
}

int kvsp_audio_out_begin(kvsp_audio_out *o, const kvsp_audio_options *opts,
                         const kvsp_audio_output *info, enum AVSampleFormat in_fmt, double t0_ms)
{
    memset(o, 0, sizeof *o);
    o->opts = opts;
    o->info = *info;
    o->in_fmt = in_fmt;
    o->out_fmt = out_format(opts->sample_format);
    o->info.sample_format = opts->sample_format;
    o->info.sample_rate = opts->sample_rate > 0 ? opts->sample_rate : info->source_sample_rate;
    o->info.channels = opts->channels > 0 ? opts->channels : info->source_channels;
    o->info.bytes_per_sample = av_get_bytes_per_sample(o->out_fmt);
    o->track_name = copy(info->track_name);
    o->codec_id = copy(info->codec_id);
    o->fragment_number = copy(info->first_fragment_number);
    o->info.track_name = o->track_name;
    o->info.codec_id = o->codec_id;
    o->info.first_fragment_number = o->fragment_number;
    o->t0_ms = t0_ms;
    /* One piece of the larger of source and output, for silence and for
     * converted samples alike. */
    int in_bytes = av_get_bytes_per_sample(in_fmt) * info->source_channels;
    int out_bytes = o->info.bytes_per_sample * o->info.channels;
    double ratio = (double)o->info.sample_rate / info->source_sample_rate;
    size_t out_piece = (size_t)(PIECE * (ratio > 1 ? ratio : 1)) + 256;
    o->buf_size = (size_t)(in_bytes > out_bytes ? in_bytes : out_bytes) * out_piece;
    o->buf = kvsp_ext_malloc(o->buf_size);
    if ((info->track_name && !o->track_name) || (info->codec_id && !o->codec_id) ||
        (info->first_fragment_number && !o->fragment_number) || !o->buf) {
        kvsp_audio_out_free(o);
        return KVSP_ERR_NOMEM;
    }
    if ((in_fmt != o->out_fmt || o->info.sample_rate != info->source_sample_rate ||
         o->info.channels != info->source_channels) &&
        open_swr(o) < 0) {
        kvsp_audio_out_free(o);
        return KVSP_ERR_INVALID_ARG;
    }
    o->open = 1;
    int rc = opts->on_start ? opts->on_start(opts->user, &o->info) : KVSP_OK;
    return rc < 0 ? rc : KVSP_OK;
}

static int hand_out(kvsp_audio_out *o, const uint8_t *data, int samples)
{
    if (samples <= 0)
        return KVSP_OK;
    int rc =
        o->opts->on_pcm ? o->opts->on_pcm(o->opts->user, &o->info, data, (size_t)samples) : KVSP_OK;
    o->info.samples += (uint64_t)samples;
    return rc < 0 ? rc : KVSP_OK;
}

/* Converts one piece (at most PIECE samples), or with NULL planes drains
 * the resampler. The buffer grows to what swr says one call may give, so
 * that a call never leaves output behind (a second call without input
 * would be a drain). */
static int convert(kvsp_audio_out *o, const uint8_t *const *planes, int samples)
{
    size_t frame = (size_t)o->info.bytes_per_sample * (size_t)o->info.channels;
    for (;;) {
        int need = swr_get_out_samples(o->swr, samples);
        if (need < 0)
            return KVSP_ERR_INVALID_ARG;
        if ((size_t)need + 16 > o->buf_size / frame) {
            size_t size = ((size_t)need + 16) * frame;
            uint8_t *bigger = kvsp_ext_realloc(o->buf, size);
            if (!bigger)
                return KVSP_ERR_NOMEM;
            o->buf = bigger;
            o->buf_size = size;
        }
        uint8_t *out[1] = {o->buf};
        int got =
            swr_convert(o->swr, out, (int)(o->buf_size / frame), (const uint8_t **)planes, samples);
        if (got < 0)
            return KVSP_ERR_INVALID_ARG;
        int rc = hand_out(o, o->buf, got);
        if (rc < 0 || planes || got == 0)
            return rc;
    }
}

int kvsp_audio_out_write(kvsp_audio_out *o, const uint8_t *const *planes, int samples)
{
    o->position += (uint64_t)(samples > 0 ? samples : 0);
    if (!o->swr)
        return hand_out(o, planes[0], samples);
    int planar = av_sample_fmt_is_planar(o->in_fmt);
    int nplanes = planar ? o->info.source_channels : 1;
    int step = av_get_bytes_per_sample(o->in_fmt) * (planar ? 1 : o->info.source_channels);
    const uint8_t *piece[64];
    for (int done = 0; done < samples; done += PIECE) {
        int n = samples - done < PIECE ? samples - done : PIECE;
        for (int p = 0; p < nplanes && p < 64; p++)
            piece[p] = planes[p] + (size_t)done * (size_t)step;
        int rc = convert(o, piece, n);
        if (rc < 0)
            return rc;
    }
    return KVSP_OK;
}

int kvsp_audio_out_silence(kvsp_audio_out *o, uint64_t samples, double producer_ms)
{
    kvsp_audio_gap g;
    memset(&g, 0, sizeof g);
    g.position = o->position;
    g.samples = samples;
    g.ms = (double)samples * 1000.0 / o->info.source_sample_rate;
    g.producer_ms = producer_ms;
    o->info.gaps++;
    o->info.gap_samples += samples;
    if (o->opts->on_gap) {
        int rc = o->opts->on_gap(o->opts->user, &o->info, &g);
        if (rc < 0)
            return rc;
    }
    /* Silence in the source format, interleaved, one piece at a time; the
     * conversion buffer holds it when there is no conversion, else a
     * separate piece. */
    int ch = o->info.source_channels;
    enum AVSampleFormat packed = av_get_packed_sample_fmt(o->in_fmt);
    size_t piece_bytes = (size_t)av_get_bytes_per_sample(packed) * (size_t)ch * PIECE;
    uint8_t *zero = kvsp_ext_malloc(piece_bytes);
    if (!zero)
        return KVSP_ERR_NOMEM;
    uint8_t *planes[1] = {zero};
    av_samples_set_silence(planes, 0, PIECE, ch, packed);
    /* A planar source takes the same zeros for every plane. */
    const uint8_t *pl[64];
    for (int p = 0; p < 64; p++)
        pl[p] = zero;
    int rc = KVSP_OK;
    while (samples > 0 && rc == KVSP_OK) {
        int n = samples > PIECE ? PIECE : (int)samples;
        rc = kvsp_audio_out_write(o, pl, n);
        samples -= (uint64_t)n;
    }
    kvsp_ext_free(zero);
    return rc;
}

int kvsp_audio_out_end(kvsp_audio_out *o)
{
    if (!o->open)
        return KVSP_OK;
    int rc = o->swr ? convert(o, NULL, 0) : KVSP_OK;
    int rc2 = o->opts->on_end ? o->opts->on_end(o->opts->user, &o->info) : KVSP_OK;
    kvsp_audio_out_free(o);
    return rc < 0 ? rc : rc2 < 0 ? rc2 : KVSP_OK;
}
