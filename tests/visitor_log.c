#include "visitor_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct log_state {
    log_buf *out;
    int pause_every;
    int calls;
} log_state;

static int maybe_pause(log_state *s)
{
    return s->pause_every && ++s->calls % s->pause_every == 0 ? KVSP_PAUSED : KVSP_OK;
}

static void log_str(log_buf *out, const char *key, const char *s)
{
    if (s)
        log_printf(out, " %s=\"%s\"", key, s);
    else
        log_printf(out, " %s=-", key);
}

void log_fragment(log_buf *out, const kvsp_fragment *f)
{
    log_printf(out, "fragment %" PRIu64 " @%" PRIu64 "-%" PRIu64 " present=%x complete=%d after=%d",
               f->index, f->offset, f->end_offset, f->present, f->complete, f->tags_after_cluster);
    log_str(out, "number", f->fragment_number);
    log_printf(out, " server=%" PRId64 " producer=%" PRId64 " mbn=%" PRId64, f->server_timestamp_ms,
               f->producer_timestamp_ms, f->millis_behind_now);
    log_str(out, "token", f->continuation_token);
    log_printf(out, " error_id=%" PRId64, f->error_id);
    log_str(out, "error_id_text", f->error_id_text);
    log_str(out, "error_code", f->error_code);
    log_str(out, "error_message", f->error_message);
    log_printf(out, " scale=%" PRIu64 " duration=%d/%.17g", f->info.timecode_scale,
               f->info.has_duration, f->info.duration);
    log_str(out, "title", f->info.title);
    log_str(out, "muxing", f->info.muxing_app);
    log_str(out, "writing", f->info.writing_app);
    log_printf(out, " cluster=%" PRId64 " frames=%" PRIu64 " first=%" PRId64 " last=%" PRId64,
               f->cluster_timecode, f->frames, f->first_timecode, f->last_timecode);
    for (size_t i = 0; i < f->frames_track_count; i++)
        log_printf(out, " t%" PRIu64 ":%" PRIu64, f->frames_per_track[i].track,
                   f->frames_per_track[i].frames);
    for (size_t i = 0; i < f->track_count; i++) {
        const kvsp_track *t = &f->tracks[i];
        log_printf(out,
                   "\n  track %x n=%" PRIu64 " uid=%" PRIu64 " type=%" PRIu64 " dd=%" PRIu64
                   " %" PRIu64 "x%" PRIu64 " disp=%" PRIu64 "x%" PRIu64
                   " rate=%.17g out=%.17g ch=%" PRIu64 " bits=%" PRIu64 " cp=%zu/%016" PRIx64,
                   t->present, t->number, t->uid, t->type, t->default_duration_ns, t->pixel_width,
                   t->pixel_height, t->display_width, t->display_height, t->sampling_frequency,
                   t->output_sampling_frequency, t->channels, t->bit_depth, t->codec_private_size,
                   t->codec_private ? fnv1a(t->codec_private, t->codec_private_size) : 0);
        log_str(out, "codec", t->codec_id);
        log_str(out, "name", t->name);
        log_str(out, "lang", t->language);
    }
    for (size_t i = 0; i < f->tag_count; i++) {
        const kvsp_tag *t = &f->tags[i];
        log_printf(out, "\n  tag depth=%u", t->depth);
        log_str(out, "name", t->name);
        log_str(out, "value", t->value);
        log_printf(out, " binary=%zu/%016" PRIx64, t->binary_size,
                   t->binary ? fnv1a(t->binary, t->binary_size) : 0);
    }
    log_append(out, "\n", 1);
}

static int on_fragment(void *user, const kvsp_fragment *f)
{
    log_state *s = user;
    log_fragment(s->out, f);
    return maybe_pause(s);
}

static int on_frame(void *user, const kvsp_frame *fr)
{
    log_state *s = user;
    log_printf(
        s->out,
        "frame t=%" PRIu64 " frag=%" PRId64 " tc=%" PRId64 " pts=%" PRId64
        " prod=%.3f srv=%.3f present=%x key=%d inv=%d disc=%d size=%zu lace=%u/%u dur=%" PRIu64
        " off=%" PRIu64 " hash=%016" PRIx64 " type=%" PRIu64 "\n",
        fr->track, fr->fragment ? (int64_t)fr->fragment->index : -1, fr->timecode, fr->pts_ns,
        fr->producer_timestamp_ms, fr->server_timestamp_ms, fr->present, fr->keyframe,
        fr->invisible, fr->discardable, fr->size, fr->index_in_block, fr->frames_in_block,
        fr->duration, fr->block_offset, fnv1a(fr->data, fr->size),
        fr->track_info ? fr->track_info->type : 0);
    return maybe_pause(s);
}

static int watch_event(void *user, const kvsp_event *ev)
{
    (void)ev;
    ++*(uint64_t *)user;
    return KVSP_OK;
}

/* Runs until the input is consumed, resuming every pause. */
static int run_all(kvsp_reader *r, const kvsp_visitor *v, const uint8_t *data, size_t n)
{
    int st = kvsp_reader_push(r, data, n, v);
    while (st == KVSP_PAUSED) {
        /* While paused, new input is refused (after finish, all input is). */
        int refused = kvsp_reader_feed(r, "x", 1);
        if (refused != KVSP_ERR_INPUT_PENDING && refused != KVSP_ERR_FINISHED)
            return KVSP_ERR_INVALID_ARG;
        st = kvsp_reader_push(r, NULL, 0, v);
    }
    return st;
}

int run_visitor_log(const uint8_t *data, size_t len, const visitor_run *run, log_buf *out)
{
    log_state fs = {out, run->pause_every, 0}, ms = {out, run->pause_every, 0};
    kvsp_fragment_options fo;
    memset(&fo, 0, sizeof fo);
    fo.on_fragment = on_fragment;
    fo.user = &ms;
    kvsp_fragment_visitor *meta = kvsp_fragment_visitor_create(&fo);
    kvsp_visitor sink;
    memset(&sink, 0, sizeof sink);
    sink.user = &fs;
    sink.on_frame = on_frame;
    kvsp_frame_visitor *frames = kvsp_frame_visitor_create(meta, &run->frames, &sink);
    uint64_t watched = 0;
    kvsp_visitor watcher;
    memset(&watcher, 0, sizeof watcher);
    watcher.user = &watched;
    watcher.on_start = watcher.on_data = watcher.on_end = watch_event;
    kvsp_visitor all[3] = {kvsp_fragment_visitor_visitor(meta), kvsp_frame_visitor_visitor(frames),
                           watcher};
    kvsp_composite *c = kvsp_composite_create(all, run->watch ? 3 : 2);
    kvsp_reader *r = kvsp_reader_create(NULL);
    if (!meta || !frames || !c || !r)
        abort();
    kvsp_visitor v = kvsp_composite_visitor(c);

    size_t pos = 0;
    int st = KVSP_NEED_DATA;
    while (pos < len && st == KVSP_NEED_DATA) {
        size_t n = run->chunker(run->chunker_state, len - pos);
        st = run_all(r, &v, data + pos, n);
        pos += n;
    }
    if (st == KVSP_NEED_DATA) {
        kvsp_reader_finish(r);
        st = run_all(r, &v, NULL, 0);
    }
    ms.pause_every = 0; /* the final report is not resumable: no run follows */
    kvsp_fragment_visitor_finish(meta);
    log_printf(out, "status %s at %" PRIu64 " token=%s\n", kvsp_status_name(st),
               kvsp_reader_error_offset(r),
               kvsp_fragment_visitor_continuation_token(meta)
                   ? kvsp_fragment_visitor_continuation_token(meta)
                   : "-");
    kvsp_reader_destroy(r);
    kvsp_composite_destroy(c);
    kvsp_frame_visitor_destroy(frames);
    kvsp_fragment_visitor_destroy(meta);
    return st;
}
