/* The audio sink: a frame visitor's sink that sorts audio frames into
 * per-track outputs on the producer timeline (see kvsparser/audio.h). PCM
 * is unpacked here; other codecs go through one kvsp_decoder per track. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc_internal.h"
#include "../error_format.h"
#include "audio_codec.h"
#include "audio_output.h"
#include "decoder_internal.h"
#include "kvsparser/audio.h"
#include "kvsparser/frames.h"

/* Bounded like the fragment visitor's tracks. */
#define MAX_TRACKS KVSP_DEFAULT_MAX_TRACKS
#define NAME_MAX_BYTES 256

typedef struct track_state {
    struct kvsp_audio_sink *sink;
    char name[NAME_MAX_BYTES]; /* the key when has_name */
    int has_name;
    uint64_t key_number; /* the key otherwise */
    uint64_t number;     /* the track number now */
    kvsp_audio_format fmt;
    int resolved; /* fmt is for the current TrackEntry */
    const kvsp_track *resolved_for;
    uint64_t resolved_fragment;
    kvsp_decoder *dec; /* decoded tracks */
    kvsp_audio_out out;
    uint64_t outputs;
    double tick_ms;          /* the fragment's timecode tick */
    const kvsp_frame *frame; /* the frame being decoded, for its track info */
    int refused;             /* a track that cannot be read, said once */
} track_state;

struct kvsp_audio_sink {
    kvsp_audio_options opts;
    kvsp_frame_visitor *frames;
    track_state *tracks[MAX_TRACKS];
    size_t ntracks;
    uint64_t contact_fragment; /* fragment index + 1 the contact was decided for */
    int contact_keep;
    kvsp_audio_stats stats;
    int error;
    char message[160];
};

static int fail(kvsp_audio_sink *s, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(kvsp_audio_sink *s, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvsp_ext_error_vformat(s->message, sizeof s->message, &s->error, status, fmt, ap);
    va_end(ap);
    return status;
}

static void corrupt(kvsp_audio_sink *s, uint64_t track, double pts_ms, const char *why)
{
    s->stats.corrupt++;
    if (s->opts.on_corrupt)
        s->opts.on_corrupt(s->opts.user, track, pts_ms, why);
}

static const kvsp_audio_codec_override *find_override(const kvsp_audio_sink *s, const kvsp_track *t)
{
    for (size_t i = 0; i < s->opts.override_count; i++) {
        const kvsp_audio_codec_override *o = &s->opts.overrides[i];
        if (o->track_name ? (t->name && strcmp(o->track_name, t->name) == 0)
                          : o->track_number == t->number)
            return o;
    }
    return NULL;
}

static track_state *find_track(kvsp_audio_sink *s, const kvsp_track *t)
{
    for (size_t i = 0; i < s->ntracks; i++) {
        track_state *ts = s->tracks[i];
        if (t->name ? ts->has_name && strcmp(ts->name, t->name) == 0
                    : !ts->has_name && ts->key_number == t->number)
            return ts;
    }
    if (s->ntracks == MAX_TRACKS || (t->name && strlen(t->name) >= NAME_MAX_BYTES))
        return NULL;
    track_state *ts = kvsp_ext_calloc(1, sizeof *ts);
    if (!ts)
        return NULL;
    ts->sink = s;
    ts->has_name = t->name != NULL;
    if (t->name)
        memcpy(ts->name, t->name, strlen(t->name) + 1);
    ts->key_number = t->number;
    ts->number = t->number;
    s->tracks[s->ntracks++] = ts;
    return ts;
}

/* ContactId decides for a whole fragment; a fragment without it belongs to
 * the run of fragments before it. */
static int contact_kept(kvsp_audio_sink *s, const kvsp_fragment *f)
{
    if (!s->opts.contact_id)
        return 1;
    if (!f)
        return s->contact_keep;
    if (s->contact_fragment != f->index + 1) {
        s->contact_fragment = f->index + 1;
        const char *id = kvsp_audio_fragment_tag(f, "ContactId");
        if (id)
            s->contact_keep = strcmp(id, s->opts.contact_id) == 0;
    }
    return s->contact_keep;
}

static int end_output(track_state *ts)
{
    return kvsp_audio_out_end(&ts->out);
}

static double frame_time(uint32_t present, double producer_ms, double pts_ms)
{
    return (present & KVSP_FRAME_HAS_PRODUCER_TIME) ? producer_ms : pts_ms;
}

typedef struct placement {
    enum AVSampleFormat fmt;
    int rate, channels;
    const char *source_codec;
    uint32_t present;
    double producer_ms, server_ms, pts_ms;
    const char *fragment_number;
    int in_lace; /* a laced block's later frame: its time is the block's */
} placement;

static int begin_output(track_state *ts, const kvsp_track *t, const placement *p)
{
    kvsp_audio_sink *s = ts->sink;
    kvsp_audio_output info;
    memset(&info, 0, sizeof info);
    info.track = ts->key_number;
    info.track_name = t->name;
    info.codec_id = t->codec_id;
    info.source = ts->fmt.source;
    info.source_codec = p->source_codec;
    info.index = ts->outputs;
    info.source_sample_rate = p->rate;
    info.source_channels = p->channels;
    info.present = p->present & (KVSP_AUDIO_HAS_PRODUCER_TIME | KVSP_AUDIO_HAS_SERVER_TIME);
    info.first_producer_ms = info.last_producer_ms = p->producer_ms;
    info.first_server_ms = info.last_server_ms = p->server_ms;
    info.first_pts_ms = info.last_pts_ms = p->pts_ms;
    info.first_fragment_number = p->fragment_number;
    int rc = kvsp_audio_out_begin(&ts->out, &s->opts, &info, p->fmt,
                                  frame_time(p->present, p->producer_ms, p->pts_ms));
    if (rc == KVSP_ERR_NOMEM)
        return fail(s, rc, "out of memory starting audio output");
    if (rc == KVSP_ERR_INVALID_ARG)
        return fail(s, rc, "cannot convert track %llu from %d Hz, %d channels",
                    (unsigned long long)ts->number, p->rate, p->channels);
    if (rc < 0)
        return rc;
    ts->outputs++;
    s->stats.outputs++;
    return KVSP_OK;
}

static uint32_t audio_present(uint32_t frame_present)
{
    return (frame_present & KVSP_FRAME_HAS_PRODUCER_TIME ? KVSP_AUDIO_HAS_PRODUCER_TIME : 0) |
           (frame_present & KVSP_FRAME_HAS_SERVER_TIME ? KVSP_AUDIO_HAS_SERVER_TIME : 0);
}

/* Puts one block's samples where its time says (see kvsparser/audio.h). */
static int place(track_state *ts, const kvsp_track *t, const placement *p,
                 const uint8_t *const *planes, int samples)
{
    kvsp_audio_sink *s = ts->sink;
    kvsp_audio_out *o = &ts->out;
    int rc;
    if (o->open && (o->in_fmt != p->fmt || o->info.source_sample_rate != p->rate ||
                    o->info.source_channels != p->channels || o->info.source != ts->fmt.source)) {
        if ((rc = end_output(ts)) < 0)
            return rc;
    }
    double when = frame_time(p->present, p->producer_ms, p->pts_ms);
    int64_t delta = 0;
    /* The frames of a lace share the block's time: after the first, each
     * follows on from the one before. */
    if (o->open && !p->in_lace) {
        double split_ms =
            s->opts.split_on_gap_ms == 0 ? KVSP_AUDIO_DEFAULT_SPLIT_MS : s->opts.split_on_gap_ms;
        /* Without splitting, gaps up to a day are filled; time going back
         * by more than the default always starts anew (nothing would be
         * placed until it caught up). */
        double gap_limit = split_ms > 0 ? split_ms : KVSP_AUDIO_MAX_FILL_MS;
        double back_limit = split_ms > 0 ? split_ms : KVSP_AUDIO_DEFAULT_SPLIT_MS;
        double at = (when - o->t0_ms) * p->rate / 1000.0;
        double delta_ms = (at - (double)o->position) * 1000.0 / p->rate;
        if (!(delta_ms <= gap_limit && delta_ms >= -back_limit)) { /* also NaN */
            if ((rc = end_output(ts)) < 0)
                return rc;
            delta = 0;
        } else {
            delta = (int64_t)llround(at) - (int64_t)o->position;
        }
    }
    if (!o->open && (rc = begin_output(ts, t, p)) < 0)
        return rc;
    /* Timecodes are rounded to their tick: a block within one tick (and at
     * least 1 ms) of where the last one ended follows on directly. */
    double tol_ms = ts->tick_ms > 1 ? ts->tick_ms : 1;
    int64_t tol = (int64_t)ceil(tol_ms * p->rate / 1000.0);
    int skip = 0;
    if (delta > tol) {
        if ((rc = kvsp_audio_out_silence(o, (uint64_t)delta, when)) < 0)
            return rc;
    } else if (delta < -tol) {
        skip = -delta > samples ? samples : (int)-delta;
        kvsp_audio_gap g;
        memset(&g, 0, sizeof g);
        g.overlap = 1;
        g.position = o->position;
        g.samples = (uint64_t)-delta;
        g.ms = (double)-delta * 1000.0 / p->rate;
        g.producer_ms = when;
        o->info.overlaps++;
        o->info.overlap_samples += (uint64_t)skip;
        if (s->opts.on_gap && (rc = s->opts.on_gap(s->opts.user, &o->info, &g)) < 0)
            return rc;
    }
    o->info.blocks++;
    o->info.last_producer_ms = p->producer_ms;
    o->info.last_server_ms = p->server_ms;
    o->info.last_pts_ms = p->pts_ms;
    s->stats.placed++;
    if (skip >= samples)
        return KVSP_OK;
    const uint8_t *moved[64];
    int planar = av_sample_fmt_is_planar(p->fmt);
    int nplanes = planar ? p->channels : 1;
    size_t step = (size_t)av_get_bytes_per_sample(p->fmt) * (size_t)(planar ? 1 : p->channels);
    for (int i = 0; i < nplanes && i < 64; i++)
        moved[i] = planes[i] + (size_t)skip * step;
    return kvsp_audio_out_write(o, moved, samples - skip);
}

/* Unpacks a copied PCM block to fmt (swapping, widening) and places it. */
static int place_pcm(track_state *ts, const kvsp_frame *fr)
{
    const kvsp_audio_format *f = &ts->fmt;
    size_t frame_bytes = (size_t)f->bytes * (size_t)f->channels;
    size_t samples = fr->size / frame_bytes;
    if (fr->size % frame_bytes)
        corrupt(ts->sink, fr->track, fr->pts_ms,
                "block is not a whole number of samples; the rest is dropped");
    if (samples > INT32_MAX / 8)
        return KVSP_OK;
    placement p;
    memset(&p, 0, sizeof p);
    p.fmt = f->fmt;
    p.rate = f->rate;
    p.channels = f->channels;
    p.source_codec = f->name;
    p.present = audio_present(fr->present);
    p.producer_ms = fr->producer_timestamp_ms;
    p.server_ms = fr->server_timestamp_ms;
    p.pts_ms = fr->pts_ms;
    p.fragment_number = fr->fragment ? fr->fragment->fragment_number : NULL;
    p.in_lace = fr->index_in_block > 0;
    if (!f->big_endian && !f->widen24) {
        const uint8_t *planes[1] = {fr->data};
        return place(ts, fr->track_info, &p, planes, (int)samples);
    }
    size_t out_bytes = (size_t)av_get_bytes_per_sample(f->fmt);
    size_t n = samples * (size_t)f->channels;
    uint8_t *buf = kvsp_ext_malloc(n * out_bytes + 1);
    if (!buf)
        return fail(ts->sink, KVSP_ERR_NOMEM, "out of memory unpacking PCM");
    const uint8_t *in = fr->data;
    for (size_t i = 0; i < n; i++, in += f->bytes) {
        uint8_t *o = buf + i * out_bytes;
        if (f->widen24) {
            /* 24-bit to the top of a 32-bit sample, as libavcodec does */
            const uint8_t b0 = f->big_endian ? in[2] : in[0], b1 = in[1],
                          b2 = f->big_endian ? in[0] : in[2];
            uint32_t v = (uint32_t)b0 << 8 | (uint32_t)b1 << 16 | (uint32_t)b2 << 24;
            memcpy(o, &v, 4);
        } else {
            for (size_t k = 0; k < out_bytes; k++)
                o[k] = in[out_bytes - 1 - k];
        }
    }
    const uint8_t *planes[1] = {buf};
    int rc = place(ts, fr->track_info, &p, planes, (int)samples);
    kvsp_ext_free(buf);
    return rc;
}

static int on_decoded(void *user, const kvsp_audio *a)
{
    track_state *ts = user;
    placement p;
    memset(&p, 0, sizeof p);
    p.fmt = (enum AVSampleFormat)a->sample_format;
    p.rate = a->sample_rate;
    p.channels = a->channels;
    p.source_codec = "decoded";
    p.present = audio_present(a->present);
    p.producer_ms = a->producer_timestamp_ms;
    p.server_ms = a->server_timestamp_ms;
    p.pts_ms = a->pts_ms;
    p.fragment_number = a->fragment_number;
    p.in_lace = a->index_in_block > 0;
    if (p.rate <= 0 || p.channels <= 0 || p.channels > 64)
        return KVSP_OK;
    const kvsp_track *t = ts->frame ? ts->frame->track_info : NULL;
    kvsp_track none;
    if (!t) {
        memset(&none, 0, sizeof none);
        none.number = ts->number;
        t = &none;
    }
    return place(ts, t, &p, a->data, a->samples);
}

static void on_decoder_corrupt(void *user, uint64_t track, double pts_ms, const char *why)
{
    track_state *ts = user;
    corrupt(ts->sink, track, pts_ms, why);
}

static int push_decoded(track_state *ts, const kvsp_frame *fr)
{
    kvsp_audio_sink *s = ts->sink;
    if (ts->dec && ts->number != fr->track) {
        /* The same named track under another number: a new decoder. */
        kvsp_decoder_finish(ts->dec);
        kvsp_decoder_destroy(ts->dec);
        ts->dec = NULL;
    }
    if (!ts->dec) {
        kvsp_decode_options o;
        memset(&o, 0, sizeof o);
        o.on_audio = on_decoded;
        o.audio_track = fr->track;
        o.on_corrupt = on_decoder_corrupt;
        o.user = ts;
        ts->dec = kvsp_decoder_create(NULL, &o);
        if (!ts->dec)
            return fail(s, KVSP_ERR_NOMEM, "out of memory creating an audio decoder");
    }
    ts->number = fr->track;
    ts->frame = fr;
    int rc = kvsp_decoder_push_frame(ts->dec, fr);
    ts->frame = NULL;
    if (rc < 0 && kvsp_decoder_error(ts->dec) < 0) {
        /* No decoder for it: the track is left out, the rest goes on. */
        if (!ts->refused)
            corrupt(s, fr->track, fr->pts_ms, kvsp_decoder_error_message(ts->dec));
        ts->refused = 1;
        kvsp_decoder_destroy(ts->dec);
        ts->dec = NULL;
        return KVSP_OK;
    }
    return rc;
}

static int in_window(const kvsp_audio_options *o, const kvsp_frame *fr)
{
    if (o->window == KVSP_WINDOW_NONE)
        return 1;
    return kvsp_window_contains(fr, o->window == KVSP_WINDOW_SERVER, o->window_from_ms,
                                o->window_to_ms);
}

static int on_frame(void *user, const kvsp_frame *fr)
{
    kvsp_audio_sink *s = user;
    const kvsp_track *t = fr->track_info;
    if (!t)
        return KVSP_OK;
    const kvsp_audio_codec_override *ov = find_override(s, t);
    if (t->type != KVSP_TRACK_AUDIO && !ov)
        return KVSP_OK;
    if ((s->opts.track && s->opts.track != fr->track) ||
        (s->opts.track_name && (!t->name || strcmp(s->opts.track_name, t->name) != 0)))
        return KVSP_OK;
    s->stats.frames++;
    if (!contact_kept(s, fr->fragment) || !in_window(&s->opts, fr)) {
        s->stats.filtered++;
        return KVSP_OK;
    }
    track_state *ts = find_track(s, t);
    if (!ts)
        return fail(s, KVSP_ERR_METADATA_LIMIT, "too many audio tracks (or a Name too long)");
    uint64_t fragment = fr->fragment ? fr->fragment->index + 1 : 0;
    if (!ts->resolved || ts->resolved_for != t || ts->resolved_fragment != fragment) {
        char why[128];
        kvsp_audio_format f;
        if (kvsp_audio_resolve(t, fr->fragment, ov, &f, why, sizeof why) < 0) {
            if (!ts->refused)
                corrupt(s, fr->track, fr->pts_ms, why);
            ts->refused = 1;
            return KVSP_OK;
        }
        ts->refused = 0;
        ts->fmt = f;
        ts->resolved = 1;
        ts->resolved_for = t;
        ts->resolved_fragment = fragment;
        ts->tick_ms = fr->fragment ? (double)fr->fragment->info.timecode_scale / 1e6 : 1;
    }
    if (ts->fmt.source == KVSP_AUDIO_DECODED)
        return push_decoded(ts, fr);
    ts->number = fr->track;
    return place_pcm(ts, fr);
}

kvsp_audio_sink *kvsp_audio_sink_create(kvsp_fragment_visitor *meta, const kvsp_audio_options *opts)
{
    kvsp_audio_options defaults;
    if (!opts) {
        memset(&defaults, 0, sizeof defaults);
        opts = &defaults;
    }
    if (opts->sample_rate < 0 || opts->sample_rate > 768000 || opts->channels < 0 ||
        opts->channels > 64 || (unsigned)opts->sample_format > KVSP_AUDIO_F32 ||
        (opts->override_count && !opts->overrides))
        return NULL;
    for (size_t i = 0; i < opts->override_count; i++)
        if (!opts->overrides[i].codec_id)
            return NULL;
    kvsp_audio_sink *s = kvsp_ext_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->opts = *opts;
    kvsp_visitor sink;
    memset(&sink, 0, sizeof sink);
    sink.user = s;
    sink.on_frame = on_frame;
    s->frames = kvsp_frame_visitor_create(meta, NULL, &sink);
    if (!s->frames) {
        kvsp_ext_free(s);
        return NULL;
    }
    return s;
}

void kvsp_audio_sink_destroy(kvsp_audio_sink *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ntracks; i++) {
        kvsp_decoder_destroy(s->tracks[i]->dec);
        kvsp_audio_out_free(&s->tracks[i]->out);
        kvsp_ext_free(s->tracks[i]);
    }
    kvsp_frame_visitor_destroy(s->frames);
    kvsp_ext_free(s);
}

kvsp_visitor kvsp_audio_sink_visitor(kvsp_audio_sink *s)
{
    return kvsp_frame_visitor_visitor(s->frames);
}

int kvsp_audio_sink_finish(kvsp_audio_sink *s)
{
    if (!s)
        return KVSP_ERR_INVALID_ARG;
    int rc = KVSP_OK;
    for (size_t i = 0; i < s->ntracks; i++) {
        track_state *ts = s->tracks[i];
        int r = ts->dec ? kvsp_decoder_finish(ts->dec) : KVSP_OK;
        int r2 = end_output(ts);
        if (rc == KVSP_OK)
            rc = r < 0 ? r : r2;
    }
    return rc;
}

const kvsp_audio_stats *kvsp_audio_sink_stats(const kvsp_audio_sink *s)
{
    return s ? &s->stats : NULL;
}

int kvsp_audio_sink_error(const kvsp_audio_sink *s)
{
    return s ? s->error : KVSP_ERR_INVALID_ARG;
}

const char *kvsp_audio_sink_error_message(const kvsp_audio_sink *s)
{
    return s ? s->message : "";
}
