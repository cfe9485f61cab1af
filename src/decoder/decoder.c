/* The frame decoder: a frame visitor's sink that feeds libavcodec. Packets
 * carry a sequence number as their pts, so that a picture coming out later
 * (reordering, frame threads) finds the metadata of the frame it came from
 * in a small ring. */
#include <libavcodec/avcodec.h>
#include <libavutil/cpu.h>
#include <libavutil/pixdesc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc_internal.h"
#include "../error_format.h"
#include "codec_map.h"
#include "decoder_internal.h"
#include "kvsparser/decoder.h"
#include "picture_convert.h"
#include "picture_pipeline.h"
#include "random_access.h"

/* Frames a decoder may hold before a picture comes out: reordering depth
 * plus one per frame thread, far below this. */
#define META_RING 1024

/* Interval sampling and time windows hold the frames no kept picture may
 * need yet undecoded, since the next kept one may not need them either (see
 * hold_or_decode); at most this many bytes and frames, beyond which they are
 * decoded as they come. A 2 s GOP at 30 fps holds at most 59 frames, some
 * 300 KB in the captures. */
#define HOLD_MAX_BYTES (32u << 20)
#define HOLD_MAX_FRAMES 1024

typedef struct frame_meta {
    uint64_t id;
    uint64_t track, fragment_index;
    int keyframe;
    uint32_t present;
    uint32_t index_in_block;
    int64_t pts_ns;
    double pts_ms, producer_ms, server_ms;
    char fragment_number[KVSP_FRAGMENT_NUMBER_MAX + 1];
    int has_fragment_number;
} frame_meta;

/* One open libavcodec decoder and the codec private data it was opened with. */
typedef struct stream_decoder {
    AVCodecContext *ctx;
    uint64_t track;
    uint8_t *extradata;
    size_t extradata_size;
    int waiting_keyframe;
    enum AVCodecID codec;
    int nal_length_size; /* of an H.264 / H.265 track; 0: frames are never known as IDRs */
} stream_decoder;

/* A frame held undecoded: its packet and the metadata of its picture. */
typedef struct held_frame {
    AVPacket *packet;
    frame_meta meta;
} held_frame;

struct kvsp_decoder {
    kvsp_decode_options opts;
    kvsp_frame_visitor *frames;
    stream_decoder video, audio;
    AVPacket *packet;
    AVFrame *picture;
    picture_converter converter;
    picture_pipeline *pipeline; /* NULL: pictures converted on the caller's thread */
    frame_meta ring[META_RING];
    held_frame *held;
    size_t held_count, held_bytes;
    uint64_t next_id;
    double next_keep_ms;
    int kept_any;
    kvsp_decode_stats stats;
    int error; /* kvsp_decoder_error */
    char message[160];
};

/* An error of the decoder's own (not of a callback): kept for
 * kvsp_decoder_error and returned. */
static int fail(kvsp_decoder *d, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(kvsp_decoder *d, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvsp_ext_error_vformat(d->message, sizeof d->message, &d->error, status, fmt, ap);
    va_end(ap);
    return status;
}

static void close_stream(stream_decoder *s)
{
    avcodec_free_context(&s->ctx);
    kvsp_ext_free(s->extradata);
    s->extradata = NULL;
    s->extradata_size = 0;
}

static int same_codec_private(const stream_decoder *s, const kvsp_track *t)
{
    return s->extradata_size == t->codec_private_size &&
           (t->codec_private_size == 0 ||
            memcmp(s->extradata, t->codec_private, t->codec_private_size) == 0);
}

/* Frame threads when none are asked for: as many as cores; with the
 * conversion thread one more, as ffmpeg's auto, so that a frame thread is
 * ready whenever a core is free of scaling (BENCHMARKS.md, "Scaled RGB on
 * its own thread"). Keyframes only keeps as many as cores: its frames do
 * not depend on each other. */
static int default_threads(const kvsp_decoder *d)
{
    int cores = av_cpu_count();
    return d->pipeline && d->opts.sampling != KVSP_SAMPLE_KEYFRAMES ? cores + 1 : cores;
}

static int open_stream(kvsp_decoder *d, stream_decoder *s, const kvsp_track *t)
{
    enum AVCodecID id = kvsp_codec_from_matroska(t->codec_id);
    const AVCodec *codec = id == AV_CODEC_ID_NONE ? NULL : avcodec_find_decoder(id);
    if (!codec)
        return fail(d, KVSP_ERR_INVALID_ARG, "no decoder for codec %s",
                    t->codec_id ? t->codec_id : "(none)");
    s->ctx = avcodec_alloc_context3(codec);
    if (!s->ctx)
        return fail(d, KVSP_ERR_NOMEM, "out of memory opening the %s decoder", codec->name);
    if (t->codec_private_size) {
        s->ctx->extradata = av_mallocz(t->codec_private_size + AV_INPUT_BUFFER_PADDING_SIZE);
        s->extradata = kvsp_ext_malloc(t->codec_private_size);
        if (!s->ctx->extradata || !s->extradata)
            return fail(d, KVSP_ERR_NOMEM, "out of memory opening the %s decoder", codec->name);
        memcpy(s->ctx->extradata, t->codec_private, t->codec_private_size);
        memcpy(s->extradata, t->codec_private, t->codec_private_size);
        s->ctx->extradata_size = (int)t->codec_private_size;
        s->extradata_size = t->codec_private_size;
    }
    if (codec->type == AVMEDIA_TYPE_VIDEO) {
        s->ctx->width = (int)t->pixel_width;
        s->ctx->height = (int)t->pixel_height;
        s->ctx->thread_count = d->opts.threads > 0 ? d->opts.threads : default_threads(d);
    } else {
        if (t->present & KVSP_TRACK_HAS_SAMPLING_FREQUENCY)
            s->ctx->sample_rate = (int)t->sampling_frequency;
        if (t->present & KVSP_TRACK_HAS_CHANNELS)
            av_channel_layout_default(&s->ctx->ch_layout, (int)t->channels);
    }
    s->ctx->pkt_timebase = (AVRational){1, 1000};
    int rc = avcodec_open2(s->ctx, codec, NULL);
    if (rc < 0)
        return fail(d, KVSP_ERR_INVALID_ARG, "cannot open the %s decoder", codec->name);
    s->track = t->number;
    s->waiting_keyframe = codec->type == AVMEDIA_TYPE_VIDEO;
    s->codec = id;
    s->nal_length_size = kvsp_nal_length_size(id, t->codec_private, t->codec_private_size);
    return KVSP_OK;
}

static void corrupt(kvsp_decoder *d, uint64_t track, double pts_ms, const char *why)
{
    d->stats.corrupt++;
    if (d->opts.on_corrupt)
        d->opts.on_corrupt(d->opts.user, track, pts_ms, why);
}

static int in_window(const kvsp_decoder *d, const frame_meta *m);

/* 1 if the frame's picture cannot be kept: outside the time window, or
 * before the next kept time of interval sampling (next_keep_ms only grows). */
static int never_kept(const kvsp_decoder *d, const frame_meta *m)
{
    if (!in_window(d, m))
        return 1;
    return d->opts.sampling == KVSP_SAMPLE_INTERVAL && d->kept_any && m->pts_ms < d->next_keep_ms;
}

static int in_window(const kvsp_decoder *d, const frame_meta *m)
{
    const kvsp_decode_options *o = &d->opts;
    if (o->window == KVSP_WINDOW_NONE)
        return 1;
    /* The frame's times as it had them, for the one window rule. */
    kvsp_frame f = {0};
    f.present = m->present;
    f.pts_ms = m->pts_ms;
    f.producer_timestamp_ms = m->producer_ms;
    f.server_timestamp_ms = m->server_ms;
    return kvsp_window_contains(&f, o->window == KVSP_WINDOW_SERVER, o->window_from_ms,
                                o->window_to_ms);
}

static int keep_picture(kvsp_decoder *d, const frame_meta *m)
{
    uint64_t index = d->stats.decoded - d->stats.outside_window - 1;
    switch (d->opts.sampling) {
    case KVSP_SAMPLE_EVERY_N: return index % (d->opts.every_n ? d->opts.every_n : 1) == 0;
    case KVSP_SAMPLE_INTERVAL:
        if (!d->kept_any) {
            d->next_keep_ms = m->pts_ms + d->opts.interval_ms;
            return 1;
        }
        if (m->pts_ms < d->next_keep_ms)
            return 0;
        while (d->next_keep_ms <= m->pts_ms)
            d->next_keep_ms += d->opts.interval_ms;
        return 1;
    default: return 1;
    }
}

/* Hands one kept picture, converted (out) or not (NULL: out of memory), to
 * on_picture: called on the caller's thread, directly or from the pipeline. */
static int hand_out(void *user, const AVFrame *out, const void *meta)
{
    kvsp_decoder *d = user;
    const frame_meta *m = meta;
    if (!out)
        return fail(d, KVSP_ERR_NOMEM, "out of memory converting a picture");
    kvsp_picture p;
    memset(&p, 0, sizeof p);
    p.width = out->width;
    p.height = out->height;
    p.pixel_format = out->format;
    p.pixel_format_name = av_get_pix_fmt_name((enum AVPixelFormat)out->format);
    for (int i = 0; i < KVSP_PICTURE_MAX_PLANES; i++) {
        p.planes[i] = out->data[i];
        p.strides[i] = out->linesize[i];
    }
    p.av_frame = out;
    p.track = m->track;
    p.fragment_index = m->fragment_index;
    p.fragment_number = m->has_fragment_number ? m->fragment_number : NULL;
    p.keyframe = m->keyframe;
    p.present = m->present;
    p.pts_ns = m->pts_ns;
    p.pts_ms = m->pts_ms;
    p.producer_timestamp_ms = m->producer_ms;
    p.server_timestamp_ms = m->server_ms;
    p.index = d->stats.delivered++;
    int rc = d->opts.on_picture ? d->opts.on_picture(d->opts.user, &p) : KVSP_OK;
    return rc < 0 ? rc : KVSP_OK;
}

static int deliver_picture(kvsp_decoder *d, const AVFrame *frame)
{
    d->stats.decoded++;
    const frame_meta *m = &d->ring[(uint64_t)frame->pts % META_RING];
    if (frame->pts < 0 || m->id != (uint64_t)frame->pts)
        m = NULL;
    if (frame->flags & AV_FRAME_FLAG_CORRUPT || frame->decode_error_flags) {
        corrupt(d, d->video.track, m ? m->pts_ms : 0, "picture marked corrupt by the decoder");
        return KVSP_OK;
    }
    frame_meta none;
    if (!m) {
        memset(&none, 0, sizeof none);
        m = &none;
    }
    if (!in_window(d, m)) {
        d->stats.outside_window++;
        return KVSP_OK; /* decoded as a reference, not converted */
    }
    if (!keep_picture(d, m))
        return KVSP_OK; /* not converted: sampling drops it first */
    d->kept_any = 1;
    if (d->pipeline)
        return kvsp_pipeline_push(d->pipeline, frame, m);
    return hand_out(d,
                    kvsp_converter_run(&d->converter, frame, d->opts.pixel_format, d->opts.width,
                                       d->opts.height),
                    m);
}

static int deliver_audio(kvsp_decoder *d, const AVFrame *frame)
{
    d->stats.audio_frames++;
    const frame_meta *m = &d->ring[(uint64_t)frame->pts % META_RING];
    kvsp_audio a;
    memset(&a, 0, sizeof a);
    a.sample_rate = frame->sample_rate;
    a.channels = frame->ch_layout.nb_channels;
    a.sample_format = frame->format;
    a.samples = frame->nb_samples;
    a.data = (const uint8_t *const *)frame->extended_data;
    a.av_frame = frame;
    a.track = d->audio.track;
    if (frame->pts >= 0 && m->id == (uint64_t)frame->pts) {
        a.pts_ms = m->pts_ms;
        a.present = m->present;
        a.producer_timestamp_ms = m->producer_ms;
        a.server_timestamp_ms = m->server_ms;
        a.fragment_index = m->fragment_index;
        a.fragment_number = m->has_fragment_number ? m->fragment_number : NULL;
        a.index_in_block = m->index_in_block;
    }
    int rc = d->opts.on_audio(d->opts.user, &a);
    return rc < 0 ? rc : KVSP_OK;
}

/* Takes every picture or audio frame the decoder has ready. */
static int receive(kvsp_decoder *d, stream_decoder *s)
{
    for (;;) {
        int rc = avcodec_receive_frame(s->ctx, d->picture);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return KVSP_OK;
        if (rc < 0) {
            corrupt(d, s->track, 0, "decoding failed");
            return KVSP_OK;
        }
        rc = s == &d->video ? deliver_picture(d, d->picture) : deliver_audio(d, d->picture);
        av_frame_unref(d->picture);
        if (rc < 0)
            return rc;
    }
}

static int drain(kvsp_decoder *d, stream_decoder *s)
{
    if (!s->ctx)
        return KVSP_OK;
    avcodec_send_packet(s->ctx, NULL);
    int rc = receive(d, s);
    avcodec_flush_buffers(s->ctx);
    return rc;
}

static void fill_meta(frame_meta *m, const kvsp_frame *fr)
{
    m->track = fr->track;
    m->fragment_index = fr->fragment ? fr->fragment->index : 0;
    m->has_fragment_number = fr->fragment && fr->fragment->fragment_number;
    if (m->has_fragment_number)
        snprintf(m->fragment_number, sizeof m->fragment_number, "%s",
                 fr->fragment->fragment_number);
    m->keyframe = fr->keyframe;
    m->present = fr->present;
    m->index_in_block = fr->index_in_block;
    m->pts_ns = fr->pts_ns;
    m->pts_ms = fr->pts_ms;
    m->producer_ms = fr->producer_timestamp_ms;
    m->server_ms = fr->server_timestamp_ms;
}

static int make_packet(kvsp_decoder *d, AVPacket *pkt, const kvsp_frame *fr)
{
    if (fr->size > INT32_MAX - AV_INPUT_BUFFER_PADDING_SIZE ||
        av_new_packet(pkt, (int)fr->size) < 0)
        return fail(d, KVSP_ERR_NOMEM, "out of memory for a frame of %zu bytes", fr->size);
    memcpy(pkt->data, fr->data, fr->size);
    if (fr->keyframe)
        pkt->flags |= AV_PKT_FLAG_KEY;
    return KVSP_OK;
}

/* Sends one packet (unreferenced after) with its metadata under the next
 * sequence number, and takes the pictures that are ready. */
static int send(kvsp_decoder *d, stream_decoder *s, const frame_meta *meta, AVPacket *pkt)
{
    uint64_t id = d->next_id++;
    frame_meta *m = &d->ring[id % META_RING];
    *m = *meta;
    m->id = id;
    pkt->pts = pkt->dts = (int64_t)id;
    int rc = avcodec_send_packet(s->ctx, pkt);
    av_packet_unref(pkt);
    if (rc < 0 && rc != AVERROR(EAGAIN)) {
        corrupt(d, m->track, m->pts_ms, "frame rejected by the decoder");
        return KVSP_OK;
    }
    return receive(d, s);
}

static int decode(kvsp_decoder *d, stream_decoder *s, const kvsp_frame *fr)
{
    frame_meta meta;
    fill_meta(&meta, fr);
    int rc = make_packet(d, d->packet, fr);
    return rc < 0 ? rc : send(d, s, &meta, d->packet);
}

/* Held frames no kept picture needs: freed undecoded. */
static void drop_held(kvsp_decoder *d)
{
    for (size_t i = 0; i < d->held_count; i++)
        av_packet_free(&d->held[i].packet);
    d->stats.not_decoded += d->held_count;
    d->held_count = 0;
    d->held_bytes = 0;
}

/* Held frames a coming picture depends on: decoded in their order. */
static int decode_held(kvsp_decoder *d)
{
    int rc = KVSP_OK;
    size_t i = 0;
    for (; i < d->held_count && rc >= 0; i++) {
        rc = send(d, &d->video, &d->held[i].meta, d->held[i].packet);
        av_packet_free(&d->held[i].packet);
    }
    for (; i < d->held_count; i++)
        av_packet_free(&d->held[i].packet);
    d->held_count = 0;
    d->held_bytes = 0;
    return rc;
}

static int hold(kvsp_decoder *d, const kvsp_frame *fr, const frame_meta *meta)
{
    if (!d->held) {
        d->held = kvsp_ext_calloc(HOLD_MAX_FRAMES, sizeof *d->held);
        if (!d->held)
            return fail(d, KVSP_ERR_NOMEM, "out of memory holding frames");
    }
    held_frame *h = &d->held[d->held_count];
    h->packet = av_packet_alloc();
    if (!h->packet)
        return fail(d, KVSP_ERR_NOMEM, "out of memory holding frames");
    int rc = make_packet(d, h->packet, fr);
    if (rc < 0) {
        av_packet_free(&h->packet);
        return rc;
    }
    h->meta = *meta;
    d->held_count++;
    d->held_bytes += fr->size;
    return KVSP_OK;
}

/* Interval sampling and time windows: a frame is decoded only if a kept
 * picture depends on it. A frame outside the window or before the next kept
 * time (next_keep_ms only grows, and lags the packets by the decoder's
 * delay, so the test errs on the side of decoding) is not kept itself: it
 * is held. An IDR needs no earlier frame, so the held ones are dropped
 * when one arrives; any other frame that may be kept needs them, so they
 * are decoded first. Pictures are therefore those of decoding every frame,
 * only fewer of them are decoded. */
static int hold_or_decode(kvsp_decoder *d, const kvsp_frame *fr)
{
    stream_decoder *s = &d->video;
    if (kvsp_frame_is_idr(s->codec, s->nal_length_size, fr->data, fr->size))
        drop_held(d);
    frame_meta meta;
    fill_meta(&meta, fr);
    if (never_kept(d, &meta) && d->held_count < HOLD_MAX_FRAMES &&
        fr->size <= HOLD_MAX_BYTES - d->held_bytes)
        return hold(d, fr, &meta);
    int rc = decode_held(d);
    return rc < 0 ? rc : decode(d, s, fr);
}

/* (Re)opens the stream's decoder for the track's codec private data. */
static int ensure_open(kvsp_decoder *d, stream_decoder *s, const kvsp_track *t)
{
    if (s->ctx && same_codec_private(s, t))
        return KVSP_OK;
    if (s->ctx) {
        if (s == &d->video)
            drop_held(d); /* the new decoder starts at a keyframe: nothing kept needs them */
        int rc = drain(d, s);
        close_stream(s);
        d->stats.reopened++;
        if (rc < 0)
            return rc;
    }
    int rc = open_stream(d, s, t);
    if (rc < 0)
        close_stream(s);
    return rc;
}

int kvsp_decoder_push_frame(kvsp_decoder *d, const kvsp_frame *fr)
{
    const kvsp_track *t = fr->track_info;
    if (!t)
        return KVSP_OK;
    if (!d->video.track && t->type == KVSP_TRACK_VIDEO &&
        (!d->opts.track || d->opts.track == fr->track))
        d->video.track = fr->track;
    if (fr->track == d->video.track) {
        d->stats.frames++;
        int rc = ensure_open(d, &d->video, t);
        if (rc < 0)
            return rc;
        if (d->video.waiting_keyframe && !fr->keyframe) {
            d->stats.skipped_to_keyframe++;
            return KVSP_OK;
        }
        d->video.waiting_keyframe = 0;
        if (d->opts.sampling == KVSP_SAMPLE_KEYFRAMES && !fr->keyframe) {
            d->stats.not_decoded++;
            return KVSP_OK;
        }
        if ((d->opts.sampling == KVSP_SAMPLE_INTERVAL && d->kept_any) ||
            d->opts.window != KVSP_WINDOW_NONE)
            rc = hold_or_decode(d, fr);
        else
            rc = decode(d, &d->video, fr);
        /* What the conversion thread finished meanwhile goes out now, not
         * with the next picture: a live stream's pictures come out as soon
         * as they are converted, at most a frame later. */
        if (rc >= 0 && d->pipeline)
            rc = kvsp_pipeline_flush(d->pipeline, 0);
        return rc;
    }
    if (d->opts.on_audio && t->type == KVSP_TRACK_AUDIO &&
        (!d->opts.audio_track || d->opts.audio_track == fr->track) &&
        (!d->audio.track || d->audio.track == fr->track)) {
        d->audio.track = fr->track;
        int rc = ensure_open(d, &d->audio, t);
        return rc < 0 ? rc : decode(d, &d->audio, fr);
    }
    return KVSP_OK;
}

static int on_frame(void *user, const kvsp_frame *fr)
{
    return kvsp_decoder_push_frame(user, fr);
}

kvsp_decoder *kvsp_decoder_create(kvsp_fragment_visitor *meta, const kvsp_decode_options *opts)
{
    kvsp_decode_options defaults;
    if (!opts) {
        memset(&defaults, 0, sizeof defaults);
        opts = &defaults;
    }
    if ((opts->sampling == KVSP_SAMPLE_INTERVAL && !(opts->interval_ms > 0)) || opts->width < 0 ||
        opts->height < 0)
        return NULL;
    kvsp_decoder *d = kvsp_ext_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->opts = *opts;
    for (size_t i = 0; i < META_RING; i++)
        d->ring[i].id = UINT64_MAX;
    d->packet = av_packet_alloc();
    d->picture = av_frame_alloc();
    kvsp_visitor sink;
    memset(&sink, 0, sizeof sink);
    sink.user = d;
    sink.on_frame = on_frame;
    d->frames = kvsp_frame_visitor_create(meta, NULL, &sink);
    if (!d->packet || !d->picture || !d->frames) {
        kvsp_decoder_destroy(d);
        return NULL;
    }
    /* Scaling costs about as much as decoding (a bicubic 640x360 to 224x224
     * RGB as much as an H.264 P frame): done on the decoding thread it
     * leaves libavcodec's frame threads waiting for their next packet. With
     * more than one thread asked for, it gets a thread of its own, which
     * splits each picture over as many slice threads (BENCHMARKS.md,
     * "Scaled RGB on its own thread"). */
    int threads = opts->threads > 0 ? opts->threads : av_cpu_count();
    if (threads > 1 && (opts->pixel_format != KVSP_PIX_NATIVE || opts->width || opts->height)) {
        d->pipeline = kvsp_pipeline_create(opts->pixel_format, opts->width, opts->height, threads,
                                           sizeof(frame_meta), hand_out, d);
        if (!d->pipeline) {
            kvsp_decoder_destroy(d);
            return NULL;
        }
    }
    return d;
}

void kvsp_decoder_destroy(kvsp_decoder *d)
{
    if (!d)
        return;
    kvsp_pipeline_destroy(d->pipeline); /* first: its thread stops before anything is freed */
    drop_held(d);
    kvsp_ext_free(d->held);
    close_stream(&d->video);
    close_stream(&d->audio);
    kvsp_converter_free(&d->converter);
    av_packet_free(&d->packet);
    av_frame_free(&d->picture);
    kvsp_frame_visitor_destroy(d->frames);
    kvsp_ext_free(d);
}

kvsp_visitor kvsp_decoder_visitor(kvsp_decoder *d)
{
    return kvsp_frame_visitor_visitor(d->frames);
}

int kvsp_decoder_finish(kvsp_decoder *d)
{
    if (!d)
        return KVSP_ERR_INVALID_ARG;
    drop_held(d); /* after the last kept picture: never decoded */
    int rc = drain(d, &d->video);
    if (rc >= 0 && d->pipeline) /* after an error no picture follows, as from drain */
        rc = kvsp_pipeline_flush(d->pipeline, 1);
    int rc2 = drain(d, &d->audio);
    return rc < 0 ? rc : rc2;
}

const kvsp_decode_stats *kvsp_decoder_stats(const kvsp_decoder *d)
{
    return d ? &d->stats : NULL;
}

int kvsp_decoder_error(const kvsp_decoder *d)
{
    return d ? d->error : KVSP_ERR_INVALID_ARG;
}

const char *kvsp_decoder_error_message(const kvsp_decoder *d)
{
    return d ? d->message : "";
}
