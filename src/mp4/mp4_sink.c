/* The MP4 sink: frames from the frame visitor, placed on the merger's
 * output timeline (src/merger/timeline.c: the same calls in the same order
 * as the merger makes them, so that MP4 and MKV agree), given decode times
 * (mp4_reorder.c: a track's first GOP is held for that) and handed to
 * libavformat one frame late, when the next frame's decode time gives its
 * duration. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../alloc_internal.h"
#include "../error_format.h"
#include "kvsparser/frames.h"
#include "kvsparser/mp4.h"
#include "mp4_mux.h"
#include "mp4_reorder.h"
#include "timeline.h"

#define NAME_SIZE 4096

typedef struct out_track {
    uint64_t number;
    int stream;            /* -1: a codec MP4 does not take here */
    int64_t default_ticks; /* DefaultDuration in ticks, 0 if none */
    uint64_t default_ns;   /* DefaultDuration, 0 if none */
    mp4_reorder frames;    /* the frames not yet written */
    uint64_t retimed;      /* of frames.retimed, counted in the stats */
    int has_last;
    int64_t last, last_delta; /* the last decode time written, and the step to it */
} out_track;

struct kvsp_mp4_sink {
    kvsp_mp4_options opts;
    kvsp_mp4_output out;
    kvsp_frame_visitor *fv;
    kvsp_mp4_stats stats;
    char message[KVSP_ERROR_MESSAGE_SIZE];
    int error;

    /* the open output */
    int open;
    mp4_mux mux;
    unsigned next_file;
    timeline tl;
    uint64_t scale;
    uint8_t *sig; /* its tracks, as compared with each fragment's */
    size_t sig_len, sig_cap;
    out_track tracks[TIMELINE_MAX_TRACKS];
    size_t ntracks;

    /* the fragment being read */
    int in_fragment;
    uint64_t fragment_index;
    int placed;
    int reported;
    int64_t delta; /* output - input time of its clusters */
    int has_cluster;
    int64_t cluster_in, cluster_out;
    uint8_t *frag_sig;
    size_t frag_sig_len, frag_sig_cap;
};

static int fail(kvsp_mp4_sink *s, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(kvsp_mp4_sink *s, int status, const char *fmt, ...)
{
    if (s->message[0])
        return status;
    va_list ap;
    va_start(ap, fmt);
    kvsp_ext_error_vformat(s->message, sizeof s->message, NULL, status, fmt, ap);
    va_end(ap);
    return status;
}

/* ---- which fragments can share a file ---- */

static int sig_add(uint8_t **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
    if (n > SIZE_MAX - *len)
        return KVSP_ERR_NOMEM;
    if (*len + n > *cap) {
        size_t want = *cap ? *cap : 256;
        while (want < *len + n)
            want = want > SIZE_MAX / 2 ? *len + n : want * 2;
        uint8_t *bigger = kvsp_ext_realloc(*buf, want);
        if (!bigger)
            return KVSP_ERR_NOMEM;
        *buf = bigger;
        *cap = want;
    }
    if (n)
        memcpy(*buf + *len, data, n);
    *len += n;
    return KVSP_OK;
}

/* What an MP4 track is made of, for every track of the fragment (a new or
 * missing track is a change too), and the TimecodeScale: the fields the
 * merger's byte comparison of Tracks covers that end up in an MP4. */
static int fragment_signature(kvsp_mp4_sink *s, const kvsp_fragment *f)
{
    s->frag_sig_len = 0;
    int rc = sig_add(&s->frag_sig, &s->frag_sig_len, &s->frag_sig_cap, &f->info.timecode_scale,
                     sizeof f->info.timecode_scale);
    for (size_t i = 0; rc == KVSP_OK && i < f->track_count; i++) {
        const kvsp_track *t = &f->tracks[i];
        struct {
            uint64_t present, number, type, width, height, channels, id_len, private_len;
            double rate, out_rate;
        } fixed;
        memset(&fixed, 0, sizeof fixed);
        fixed.present = t->present;
        fixed.number = t->number;
        fixed.type = t->type;
        fixed.width = t->pixel_width;
        fixed.height = t->pixel_height;
        fixed.channels = t->channels;
        fixed.rate = t->sampling_frequency;
        fixed.out_rate = t->output_sampling_frequency;
        fixed.id_len = t->codec_id ? strlen(t->codec_id) : 0;
        fixed.private_len = t->codec_private_size;
        rc = sig_add(&s->frag_sig, &s->frag_sig_len, &s->frag_sig_cap, &fixed, sizeof fixed);
        if (rc == KVSP_OK)
            rc = sig_add(&s->frag_sig, &s->frag_sig_len, &s->frag_sig_cap, t->codec_id,
                         fixed.id_len);
        if (rc == KVSP_OK)
            rc = sig_add(&s->frag_sig, &s->frag_sig_len, &s->frag_sig_cap, t->codec_private,
                         t->codec_private_size);
    }
    return rc == KVSP_OK ? rc : fail(s, rc, "out of memory comparing tracks");
}

/* ---- the open output ---- */

static double ticks_to_ms(int64_t ticks, uint64_t scale)
{
    return (double)ticks * (double)scale / 1e6;
}

/* A track's last frame lasts as the merger's timeline has it: its
 * BlockDuration, else DefaultDuration, else the gap before it. */
static int64_t last_duration(const out_track *t, const mp4_held *h)
{
    if (h->own_duration >= 0)
        return h->own_duration;
    if (t->default_ticks > 0)
        return t->default_ticks;
    return t->last_delta > 0 ? t->last_delta : 1;
}

/* Writes the frames whose duration is known (all of them at the end). */
static int write_ready(kvsp_mp4_sink *s, out_track *t, int at_end)
{
    const mp4_held *h;
    s->stats.retimed += t->frames.retimed - t->retimed;
    t->retimed = t->frames.retimed;
    while ((h = kvsp_mp4_reorder_ready(&t->frames, at_end)) != NULL) {
        int64_t next, duration;
        if (t->has_last)
            t->last_delta = h->dts - t->last;
        t->has_last = 1;
        t->last = h->dts;
        if (kvsp_mp4_reorder_next_dts(&t->frames, &next) == 0)
            duration = next - h->dts;
        else
            duration = last_duration(t, h);
        if (duration < 1)
            duration = 1;
        int rc = kvsp_mp4_mux_packet(&s->mux, t->stream, h->data, h->size, h->pts, h->dts, duration,
                                     h->keyframe);
        if (rc)
            return rc;
        s->stats.frames++;
        kvsp_mp4_reorder_pop(&t->frames);
    }
    return KVSP_OK;
}

static int close_output(kvsp_mp4_sink *s)
{
    if (!s->open)
        return KVSP_OK;
    s->open = 0;
    int rc = KVSP_OK;
    for (size_t i = 0; i < s->ntracks && rc == KVSP_OK; i++) {
        kvsp_mp4_reorder_flush(&s->tracks[i].frames);
        if (s->tracks[i].stream >= 0)
            rc = write_ready(s, &s->tracks[i], 1);
    }
    s->stats.duration_ms += ticks_to_ms(kvsp_timeline_end(&s->tl), s->scale);
    int rc2 = kvsp_mp4_mux_close(&s->mux);
    return rc ? rc : rc2;
}

static int open_output(kvsp_mp4_sink *s, const kvsp_fragment *f)
{
    int supported = 0;
    for (size_t i = 0; i < f->track_count; i++)
        supported |=
            (f->tracks[i].present & KVSP_TRACK_HAS_NUMBER) && kvsp_mp4_codec(f->tracks[i].codec_id);
    if (!supported) /* before a file is made */
        return fail(s, KVSP_ERR_INVALID_ARG, "no track MP4 takes here (H.264, H.265 or AAC)");
    char name[NAME_SIZE];
    const char *path = NULL;
    if (s->out.file_name) {
        int rc = s->out.file_name(s->out.user, s->next_file, name, sizeof name);
        if (rc < 0)
            return fail(s, rc, "no name for output file %u", s->next_file);
        path = name;
    }
    s->scale = f->info.timecode_scale ? f->info.timecode_scale : 1000000u;
    int rc = kvsp_mp4_mux_open(&s->mux, path, s->out.write, s->out.user, s->opts.fragmented,
                               s->scale, s->message, sizeof s->message);
    s->open = 1; /* closed (freed) from here on, also after an error */
    s->next_file++;
    s->stats.files++;
    if (rc)
        return rc;
    s->ntracks = 0;
    int streams = 0;
    for (size_t i = 0; i < f->track_count && s->ntracks < TIMELINE_MAX_TRACKS; i++) {
        const kvsp_track *tr = &f->tracks[i];
        if (!(tr->present & KVSP_TRACK_HAS_NUMBER))
            continue;
        out_track *t = &s->tracks[s->ntracks++];
        kvsp_mp4_reorder_reset(&t->frames); /* its buffers kept */
        t->retimed = 0;
        t->has_last = 0;
        t->last = t->last_delta = 0;
        t->default_ns = 0;
        t->default_ticks = 0;
        t->number = tr->number;
        t->stream = -1;
        if ((tr->present & KVSP_TRACK_HAS_DEFAULT_DURATION) &&
            tr->default_duration_ns / s->scale <= INT64_MAX) {
            t->default_ns = tr->default_duration_ns;
            t->default_ticks = (int64_t)(tr->default_duration_ns / s->scale);
        }
        if (kvsp_mp4_codec(tr->codec_id)) {
            t->stream = kvsp_mp4_mux_add(&s->mux, tr);
            if (t->stream < 0)
                return t->stream;
            streams++;
        }
    }
    if (!streams)
        return fail(s, KVSP_ERR_INVALID_ARG, "no MP4 track among the first %d",
                    TIMELINE_MAX_TRACKS);
    int64_t offset_ms = s->opts.time_offset_ms;
    if (offset_ms < -INT64_MAX / 1000 || offset_ms > INT64_MAX / 1000)
        return fail(s, KVSP_ERR_INVALID_ARG, "time offset %lld ms out of range",
                    (long long)offset_ms);
    rc = kvsp_mp4_mux_begin(&s->mux, offset_ms * 1000);
    if (rc)
        return rc;
    kvsp_timeline_reset(&s->tl, s->opts.timeline, s->scale, f->tracks, f->track_count);
    s->sig_len = 0;
    rc = sig_add(&s->sig, &s->sig_len, &s->sig_cap, s->frag_sig, s->frag_sig_len);
    return rc ? fail(s, rc, "out of memory") : KVSP_OK;
}

/* The fragment cannot go on in the open output: the caller's choice. */
static int split(kvsp_mp4_sink *s, const kvsp_fragment *f)
{
    int rc = close_output(s);
    if (rc)
        return rc;
    if (s->opts.split == KVSP_MERGE_SPLIT_STOP) {
        s->stats.stopped = 1;
        return KVSP_OK;
    }
    return open_output(s, f); /* the next file, or the next initialization segment of a stream */
}

/* ---- frames ---- */

static out_track *track_of(kvsp_mp4_sink *s, uint64_t number)
{
    for (size_t i = 0; i < s->ntracks; i++)
        if (s->tracks[i].number == number)
            return &s->tracks[i];
    return NULL;
}

/* The fragment's first frame: place the fragment, opening or splitting the
 * output as needed (the merger's start_cluster). */
static int place_fragment(kvsp_mp4_sink *s, const kvsp_fragment *f, int64_t cluster_in)
{
    int rc = fragment_signature(s, f);
    if (rc)
        return rc;
    uint64_t scale = f->info.timecode_scale ? f->info.timecode_scale : 1000000u;
    if (!s->open)
        rc = open_output(s, f);
    else if (s->frag_sig_len != s->sig_len || memcmp(s->frag_sig, s->sig, s->sig_len) != 0 ||
             scale != s->scale)
        rc = split(s, f);
    if (rc || s->stats.stopped)
        return rc;
    int64_t gap;
    s->delta = kvsp_timeline_place(&s->tl, f, cluster_in, &gap);
    if (gap > 0) {
        s->stats.gaps++;
        s->stats.gap_ms += ticks_to_ms(gap, s->scale);
    }
    s->placed = 1;
    s->reported = 0;
    s->has_cluster = 0;
    s->stats.fragments_written++;
    return KVSP_OK;
}

static int start_cluster(kvsp_mp4_sink *s, const kvsp_fragment *f, int64_t cluster_in)
{
    int64_t tc_out = cluster_in + s->delta;
    if (tc_out < 0)
        tc_out = 0;
    if (kvsp_timeline_goes_back(&s->tl, tc_out)) {
        int rc = split(s, f);
        if (rc || s->stats.stopped)
            return rc;
    }
    kvsp_timeline_cluster(&s->tl, tc_out);
    s->has_cluster = 1;
    s->cluster_in = cluster_in;
    s->cluster_out = tc_out;
    return KVSP_OK;
}

/* Laced frames share their block's time: the block's length (as the
 * timeline has it: BlockDuration, else DefaultDuration per frame) is spread
 * evenly over them, frame i at floor(length * i / frames), as FFmpeg's
 * Matroska demuxer places them, so that the last one ends where the block
 * does. Without a length they stay together and are retimed. */
static uint64_t block_length(const kvsp_mp4_sink *s, const out_track *t, const kvsp_frame *fr)
{
    uint64_t frames = fr->frames_in_block ? fr->frames_in_block : 1;
    uint64_t length = 0;
    if (fr->present & KVSP_FRAME_HAS_DURATION)
        length = fr->duration;
    else if (t->default_ns > 0 && t->default_ns <= UINT64_MAX / frames)
        length = t->default_ns * frames / s->scale;
    return length > (uint64_t)INT64_MAX / frames ? 0 : length;
}

static int64_t lace_offset(uint64_t length, const kvsp_frame *fr, uint32_t index)
{
    uint64_t frames = fr->frames_in_block ? fr->frames_in_block : 1;
    return (int64_t)(length * index / frames);
}

/* Into the track's frames, with its own length: a share of a laced
 * block's, else its BlockDuration. */
static int push_frame(kvsp_mp4_sink *s, out_track *t, const kvsp_frame *fr, int64_t time)
{
    int64_t own;
    uint64_t length = block_length(s, t, fr);
    if (fr->frames_in_block > 1 && length)
        own = lace_offset(length, fr, fr->index_in_block + 1) -
              lace_offset(length, fr, fr->index_in_block);
    else
        own = (fr->present & KVSP_FRAME_HAS_DURATION) && fr->duration <= INT64_MAX
                  ? (int64_t)fr->duration
                  : -1;
    int rc = kvsp_mp4_reorder_push(&t->frames, fr->data, fr->size, time, own, fr->keyframe,
                                   t->default_ticks);
    if (rc)
        return fail(s, rc, "out of memory for a frame of %zu bytes", fr->size);
    return write_ready(s, t, 0);
}

static int frame_out(kvsp_mp4_sink *s, const kvsp_frame *fr)
{
    const kvsp_fragment *f = fr->fragment;
    if (!f) {
        s->stats.frames_left_out++;
        return KVSP_OK;
    }
    if (!s->in_fragment || f->index != s->fragment_index) {
        s->in_fragment = 1;
        s->fragment_index = f->index;
        s->placed = 0;
        s->stats.fragments++;
    }
    int64_t cluster_in =
        (f->present & KVSP_FRAGMENT_HAS_CLUSTER_TIMECODE) ? f->cluster_timecode : 0;
    int rc = KVSP_OK;
    if (!s->placed && (rc = place_fragment(s, f, cluster_in)) != KVSP_OK)
        return rc;
    if (s->stats.stopped)
        return KVSP_OK;
    if ((!s->has_cluster || cluster_in != s->cluster_in) &&
        (rc = start_cluster(s, f, cluster_in)) != KVSP_OK)
        return rc;
    if (s->stats.stopped)
        return KVSP_OK;
    int64_t time = s->cluster_out + (fr->timecode - s->cluster_in);
    if (fr->index_in_block == 0)
        kvsp_timeline_block(&s->tl, fr->track, time, fr->frames_in_block,
                            (fr->present & KVSP_FRAME_HAS_DURATION) && fr->duration <= INT64_MAX
                                ? (int64_t)fr->duration
                                : -1);
    out_track *t = track_of(s, fr->track);
    if (t && fr->index_in_block)
        time += lace_offset(block_length(s, t, fr), fr, fr->index_in_block);
    if (!s->reported && s->opts.on_placed) {
        kvsp_mp4_placed p = {f, s->next_file - 1, ticks_to_ms(time, s->scale)};
        s->reported = 1;
        if ((rc = s->opts.on_placed(s->opts.user, &p)) != KVSP_OK)
            return fail(s, rc, "stopped by the on_placed callback");
    }
    if (!t || t->stream < 0) {
        s->stats.frames_left_out++;
        return KVSP_OK;
    }
    return push_frame(s, t, fr, time);
}

static int on_frame(void *user, const kvsp_frame *fr)
{
    kvsp_mp4_sink *s = user;
    if (s->error || s->stats.stopped)
        return s->error;
    int rc = frame_out(s, fr);
    if (rc < 0)
        s->error = rc;
    return rc;
}

/* ---- lifetime ---- */

kvsp_mp4_sink *kvsp_mp4_sink_create(const kvsp_mp4_options *opts, const kvsp_mp4_output *out)
{
    if (!out || (!out->write && !out->file_name))
        return NULL;
    kvsp_mp4_sink *s = kvsp_ext_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (opts)
        s->opts = *opts;
    s->out = *out;
    if (s->out.file_name)
        s->out.write = NULL;
    kvsp_visitor sink;
    memset(&sink, 0, sizeof sink);
    sink.user = s;
    sink.on_frame = on_frame;
    s->fv = kvsp_frame_visitor_create(NULL, NULL, &sink);
    if (!s->fv) {
        kvsp_ext_free(s);
        return NULL;
    }
    return s;
}

void kvsp_mp4_sink_destroy(kvsp_mp4_sink *s)
{
    if (!s)
        return;
    if (s->open) {
        s->open = 0;
        kvsp_mp4_mux_close(&s->mux);
    }
    for (size_t i = 0; i < TIMELINE_MAX_TRACKS; i++)
        kvsp_mp4_reorder_free(&s->tracks[i].frames);
    kvsp_ext_free(s->sig);
    kvsp_ext_free(s->frag_sig);
    kvsp_frame_visitor_destroy(s->fv);
    kvsp_ext_free(s);
}

kvsp_visitor kvsp_mp4_sink_visitor(kvsp_mp4_sink *s)
{
    return kvsp_frame_visitor_visitor(s->fv);
}

int kvsp_mp4_sink_finish(kvsp_mp4_sink *s)
{
    if (!s)
        return KVSP_ERR_INVALID_ARG;
    int rc = close_output(s);
    if (rc < 0 && !s->error)
        s->error = rc;
    return s->error;
}

const kvsp_mp4_stats *kvsp_mp4_sink_stats(const kvsp_mp4_sink *s)
{
    return s ? &s->stats : NULL;
}

const char *kvsp_mp4_sink_error(const kvsp_mp4_sink *s)
{
    return s ? s->message : "";
}
