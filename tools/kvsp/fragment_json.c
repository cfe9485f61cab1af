/* JSON renderings of fragment records and frames, shared by kvsp fragments
 * and kvsp frames. Absent values are null so every line has the same keys. */
#include <inttypes.h>
#include <stdio.h>

#include "fragment_json.h"
#include "../../src/visitors/fragment_fields.h"

/* A field's value as its row says (fragment_fields.h): null when absent. */
static void field_json(cli_jl *w, const void *record, const kvsp_field *f)
{
    if (!kvsp_field_present(record, f)) {
        cli_jl_null(w, f->key);
        return;
    }
    const void *value = kvsp_field_at_const(record, f->offset);
    switch ((kvsp_field_type)f->type) {
    case KVSP_FIELD_UINT: {
        uint64_t v = *(const uint64_t *)value;
        if (f->flags & KVSP_FIELD_JSON_TYPE_NAME)
            cli_jl_cstring(w, f->key, kvsp_track_type_name(v));
        else
            cli_jl_int(w, f->key, (int64_t)v);
        return;
    }
    case KVSP_FIELD_FLOAT: {
        double v = *(const double *)value;
        if (f->flags & KVSP_FIELD_JSON_REAL)
            cli_jl_real(w, f->key, v);
        else
            cli_jl_ms(w, f->key, v);
        return;
    }
    case KVSP_FIELD_STRING: cli_jl_cstring(w, f->key, *(const char *const *)value); return;
    case KVSP_FIELD_BINARY:
        cli_jl_int(w, f->key,
                   (int64_t) * (const size_t *)kvsp_field_at_const(record, f->size_offset));
        return;
    }
    cli_jl_null(w, f->key);
}

/* The rows of a table from `first` on that have a key, in order. */
static void set_fields(cli_jl *w, const void *record, const kvsp_field *table, size_t first,
                       size_t count)
{
    for (size_t i = first; i < count; i++)
        if (table[i].key)
            field_json(w, record, &table[i]);
}

static void optional_int(cli_jl *w, const char *key, bool present, int64_t v)
{
    if (present)
        cli_jl_int(w, key, v);
    else
        cli_jl_null(w, key);
}

static void ticks_ms(cli_jl *w, const char *key, bool present, int64_t ticks, uint64_t scale)
{
    double ms;
    if (present && kvsp_ticks_to_ms(ticks, scale, &ms) == 0)
        cli_jl_ms(w, key, ms);
    else
        cli_jl_null(w, key);
}

void fragment_json(cli_jl *w, const kvsp_fragment *f)
{
    uint32_t p = f->present;
    cli_jl_int(w, "index", (int64_t)f->index);
    cli_jl_cstring(w, "fragment_number", f->fragment_number);
    optional_int(w, "server_timestamp_ms", p & KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP,
                 f->server_timestamp_ms);
    optional_int(w, "producer_timestamp_ms", p & KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP,
                 f->producer_timestamp_ms);
    optional_int(w, "millis_behind_now", p & KVSP_FRAGMENT_HAS_MILLIS_BEHIND_NOW,
                 f->millis_behind_now);
    cli_jl_cstring(w, "continuation_token", f->continuation_token);
    if (p & KVSP_FRAGMENT_HAS_ERROR_ID)
        cli_jl_int(w, "error_id", f->error_id);
    else
        cli_jl_cstring(w, "error_id", f->error_id_text);
    cli_jl_cstring(w, "error_code", f->error_code);
    cli_jl_cstring(w, "error_message", f->error_message);
    cli_jl_bool(w, "complete", f->complete);
    cli_jl_int(w, "offset", (int64_t)f->offset);
    cli_jl_int(w, "end_offset", (int64_t)f->end_offset);
    /* Info's first row, the time scale, before the cluster's times; its
     * other rows after the frame times. */
    set_fields(w, &f->info, kvsp_info_fields, 0, 1);
    optional_int(w, "cluster_timecode", p & KVSP_FRAGMENT_HAS_CLUSTER, f->cluster_timecode);
    cli_jl_int(w, "frames", (int64_t)f->frames);
    cli_jl_open(w, "frames_per_track", '{');
    for (size_t i = 0; i < f->frames_track_count; i++) {
        char key[24];
        snprintf(key, sizeof key, "%" PRIu64, f->frames_per_track[i].track);
        cli_jl_int(w, key, (int64_t)f->frames_per_track[i].frames);
    }
    cli_jl_close(w, '{');
    bool frames = (p & KVSP_FRAGMENT_HAS_FRAMES) != 0;
    ticks_ms(w, "first_pts_ms", frames, f->first_timecode, f->info.timecode_scale);
    ticks_ms(w, "last_pts_ms", frames, f->last_timecode, f->info.timecode_scale);
    set_fields(w, &f->info, kvsp_info_fields, 1, KVSP_INFO_FIELD_COUNT);
    cli_jl_open(w, "tracks", '[');
    for (size_t i = 0; i < f->track_count; i++) {
        cli_jl_open(w, NULL, '{');
        set_fields(w, &f->tracks[i], kvsp_track_fields, 0, KVSP_TRACK_FIELD_COUNT);
        cli_jl_close(w, '{');
    }
    cli_jl_close(w, '[');
    cli_jl_open(w, "tags", '[');
    for (size_t i = 0; i < f->tag_count; i++) {
        const kvsp_tag *t = &f->tags[i];
        cli_jl_open(w, NULL, '{');
        cli_jl_cstring(w, "name", t->name);
        cli_jl_string(w, "value", t->value, t->value_size);
        cli_jl_hex(w, "binary", t->binary, t->binary_size);
        cli_jl_int(w, "depth", t->depth);
        cli_jl_close(w, '{');
    }
    cli_jl_close(w, '[');
}

static void optional_ms(cli_jl *w, const char *key, bool present, double ms)
{
    if (present)
        cli_jl_ms(w, key, ms);
    else
        cli_jl_null(w, key);
}

void frame_json(cli_jl *w, const kvsp_frame *fr)
{
    const kvsp_fragment *f = fr->fragment;
    uint32_t p = fr->present;
    cli_jl_int(w, "track", (int64_t)fr->track);
    optional_int(w, "fragment_index", f != NULL, f ? (int64_t)f->index : 0);
    cli_jl_cstring(w, "fragment_number", f ? f->fragment_number : NULL);
    cli_jl_int(w, "timecode", fr->timecode);
    optional_ms(w, "pts_ms", p & KVSP_FRAME_HAS_PTS, fr->pts_ms);
    optional_ms(w, "producer_timestamp_ms", p & KVSP_FRAME_HAS_PRODUCER_TIME,
                fr->producer_timestamp_ms);
    optional_ms(w, "server_timestamp_ms", p & KVSP_FRAME_HAS_SERVER_TIME, fr->server_timestamp_ms);
    cli_jl_bool(w, "keyframe", fr->keyframe);
    cli_jl_bool(w, "invisible", fr->invisible);
    cli_jl_bool(w, "discardable", fr->discardable);
    cli_jl_int(w, "size", (int64_t)fr->size);
    cli_jl_int(w, "lace_index", fr->index_in_block);
    cli_jl_int(w, "lace_frames", fr->frames_in_block);
    optional_int(w, "duration", p & KVSP_FRAME_HAS_DURATION, (int64_t)fr->duration);
    cli_jl_int(w, "block_offset", (int64_t)fr->block_offset);
}
