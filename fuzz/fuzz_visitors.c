/* libFuzzer target: the fragment metadata visitor and the frame visitor
 * (kvsp_frame_visitor_create(NULL, ...), which runs its own fragment visitor)
 * on the input, fed in chunks chosen by the input's first bytes. Every
 * fragment's strings, tracks and tags and every frame's bytes are read.
 *
 * It is also differential: the run is repeated with the input whole (or,
 * when the first run had it whole, in 1-byte chunks) and the two must give
 * the same records, frames and final status. A whole input offers every
 * small master's content, so the fragment visitor reads it in place and the
 * reader skips the children; 1-byte chunks offer none. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kvsparser/frames.h"
#include "kvsparser/reader.h"

/* FNV-1a over everything the visitors report. */
typedef struct digest {
    uint64_t h;
} digest;

static void mix(digest *d, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        d->h = (d->h ^ b[i]) * 0x100000001b3ull;
}

static void mix_u64(digest *d, uint64_t v)
{
    mix(d, &v, sizeof v);
}

static void mix_double(digest *d, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    mix_u64(d, bits);
}

/* A string with its length, so that NULL, "" and "x" all differ. */
static void mix_str(digest *d, const char *s)
{
    if (!s) {
        mix_u64(d, UINT64_MAX);
        return;
    }
    size_t n = strlen(s);
    mix_u64(d, n);
    mix(d, s, n);
}

static void mix_bytes(digest *d, const uint8_t *p, size_t n)
{
    mix_u64(d, p ? n : UINT64_MAX);
    if (p)
        mix(d, p, n);
}

static void mix_track(digest *d, const kvsp_track *t)
{
    mix_u64(d, t->present);
    mix_u64(d, t->number);
    mix_u64(d, t->uid);
    mix_u64(d, t->type);
    mix_u64(d, t->default_duration_ns);
    mix_u64(d, t->pixel_width);
    mix_u64(d, t->pixel_height);
    mix_u64(d, t->display_width);
    mix_u64(d, t->display_height);
    mix_double(d, t->sampling_frequency);
    mix_double(d, t->output_sampling_frequency);
    mix_u64(d, t->channels);
    mix_u64(d, t->bit_depth);
    mix_str(d, t->codec_id);
    mix_str(d, t->name);
    mix_str(d, t->language);
    mix_bytes(d, t->codec_private, t->codec_private_size);
}

static int on_fragment(void *user, const kvsp_fragment *f)
{
    digest *d = user;
    mix_u64(d, f->index);
    mix_u64(d, f->offset);
    mix_u64(d, f->end_offset);
    mix_u64(d, f->present);
    mix_u64(d, (uint64_t)f->complete << 1 | (uint64_t)f->tags_after_cluster);
    mix_str(d, f->fragment_number);
    mix_u64(d, (uint64_t)f->server_timestamp_ms);
    mix_u64(d, (uint64_t)f->producer_timestamp_ms);
    mix_u64(d, (uint64_t)f->millis_behind_now);
    mix_str(d, f->continuation_token);
    mix_u64(d, (uint64_t)f->error_id);
    mix_str(d, f->error_id_text);
    mix_str(d, f->error_code);
    mix_str(d, f->error_message);
    mix_u64(d, f->info.timecode_scale);
    mix_u64(d, (uint64_t)f->info.has_duration);
    mix_double(d, f->info.duration);
    mix_str(d, f->info.title);
    mix_str(d, f->info.muxing_app);
    mix_str(d, f->info.writing_app);
    mix_u64(d, (uint64_t)f->cluster_timecode);
    mix_u64(d, f->frames);
    mix_u64(d, (uint64_t)f->first_timecode);
    mix_u64(d, (uint64_t)f->last_timecode);
    for (size_t i = 0; i < f->frames_track_count; i++) {
        mix_u64(d, f->frames_per_track[i].track);
        mix_u64(d, f->frames_per_track[i].frames);
    }
    for (size_t i = 0; i < f->track_count; i++)
        mix_track(d, &f->tracks[i]);
    for (size_t i = 0; i < f->tag_count; i++) {
        const kvsp_tag *t = &f->tags[i];
        mix_u64(d, t->depth);
        mix_str(d, t->name);
        mix_bytes(d, (const uint8_t *)t->value, t->value_size);
        mix_bytes(d, t->binary, t->binary_size);
    }
    return KVSP_OK;
}

static int on_frame(void *user, const kvsp_frame *f)
{
    digest *d = user;
    mix_u64(d, f->track);
    mix_u64(d, f->fragment ? f->fragment->index : UINT64_MAX);
    mix_str(d, f->fragment ? f->fragment->fragment_number : NULL);
    mix_str(d, f->track_info ? f->track_info->codec_id : NULL);
    mix_u64(d, (uint64_t)f->timecode);
    mix_u64(d, (uint64_t)f->pts_ns);
    mix_double(d, f->pts_ms);
    mix_double(d, f->producer_timestamp_ms);
    mix_double(d, f->server_timestamp_ms);
    mix_u64(d, f->present);
    mix_u64(d, (uint64_t)f->keyframe << 2 | (uint64_t)f->invisible << 1 | (uint64_t)f->discardable);
    mix_u64(d, f->index_in_block);
    mix_u64(d, f->frames_in_block);
    mix_u64(d, f->duration);
    mix_u64(d, f->block_offset);
    mix_bytes(d, f->data, f->size);
    return KVSP_OK;
}

/* One run over the input; the digest of what came out. */
static uint64_t run(const uint8_t *data, size_t size, fuzz_chunker *ch)
{
    digest records = {0xcbf29ce484222325ull}, frames_seen = {0xcbf29ce484222325ull};
    kvsp_fragment_options fo;
    memset(&fo, 0, sizeof fo);
    fo.on_fragment = on_fragment;
    fo.user = &records;
    kvsp_fragment_visitor *meta = kvsp_fragment_visitor_create(&fo);
    kvsp_visitor sink_v = {0};
    sink_v.on_frame = on_frame;
    sink_v.user = &frames_seen;
    /* Its own fragment visitor (meta == NULL), plus a standalone one. */
    kvsp_frame_visitor *frames = kvsp_frame_visitor_create(NULL, NULL, &sink_v);
    if (!meta || !frames)
        abort();
    kvsp_visitor children[2] = {kvsp_fragment_visitor_visitor(meta),
                                kvsp_frame_visitor_visitor(frames)};
    kvsp_composite *comp = kvsp_composite_create(children, 2);
    if (!comp)
        abort();
    kvsp_visitor v = kvsp_composite_visitor(comp);

    kvsp_reader *r = kvsp_reader_create(NULL);
    if (!r)
        abort();
    int st = fuzz_run_reader(r, &v, ch, data, size);
    if (st != KVSP_DONE && st >= 0)
        abort(); /* a run ends done or in an error */
    kvsp_fragment_visitor_finish(meta);
    kvsp_fragment_visitor_finish(kvsp_frame_visitor_metadata(frames));
    mix_str(&records, kvsp_fragment_visitor_continuation_token(meta));
    mix_u64(&records, kvsp_frame_visitor_count(frames));
    mix_u64(&records, (uint64_t)(int64_t)st);
    mix_u64(&records, st < 0 ? kvsp_reader_error_offset(r) : 0);

    kvsp_reader_destroy(r);
    kvsp_composite_destroy(comp);
    kvsp_frame_visitor_destroy(frames);
    kvsp_fragment_visitor_destroy(meta);
    return records.h ^ (frames_seen.h * 31);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_chunker ch;
    fuzz_chunker_init(&ch, &data, &size);
    int was_whole = ch.mode == 0;
    uint64_t first = run(data, size, &ch);

    /* 1-byte chunks cost a call per byte: only for inputs of fuzzing size. */
    if (was_whole && size > 65536)
        return 0;
    fuzz_chunker other = ch;
    other.mode = was_whole ? 2 : 0;
    other.fixed = 1;
    if (run(data, size, &other) != first)
        abort(); /* the chunking changed what the visitors report */
    return 0;
}
