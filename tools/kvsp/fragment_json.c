/* JSON renderings of fragment records and frames, shared by kvsp fragments
 * and kvsp frames. Absent values are null so every line has the same keys. */
#include <inttypes.h>
#include <stdio.h>

#include "cli_json.h"
#include "fragment_json.h"
#include "../../src/visitors/fragment_fields.h"

#define OPTIONAL(cond, value) ((cond) ? (value) : json_null())

/* A field's value as its row says (fragment_fields.h): null when absent. */
static json_t *field_json(const void *record, const kvsp_field *f)
{
    if (!kvsp_field_present(record, f))
        return json_null();
    const void *value = kvsp_field_at_const(record, f->offset);
    switch ((kvsp_field_type)f->type) {
    case KVSP_FIELD_UINT: {
        uint64_t v = *(const uint64_t *)value;
        if (f->flags & KVSP_FIELD_JSON_TYPE_NAME)
            return json_string(kvsp_track_type_name(v));
        return json_integer((json_int_t)v);
    }
    case KVSP_FIELD_FLOAT: {
        double v = *(const double *)value;
        return (f->flags & KVSP_FIELD_JSON_REAL) ? json_real(v) : cli_json_ms(v);
    }
    case KVSP_FIELD_STRING: return cli_json_cstring(*(const char *const *)value);
    case KVSP_FIELD_BINARY:
        return json_integer((json_int_t) * (const size_t *)kvsp_field_at_const(record, f->size_offset));
    }
    return json_null();
}

/* The rows of a table from `first` on that have a key, in order. */
static void set_fields(json_t *o, const void *record, const kvsp_field *table, size_t first, size_t count)
{
    for (size_t i = first; i < count; i++)
        if (table[i].key)
            cli_json_set(o, table[i].key, field_json(record, &table[i]));
}

static json_t *track_json(const kvsp_track *t)
{
    json_t *o = json_object();
    set_fields(o, t, kvsp_track_fields, 0, KVSP_TRACK_FIELD_COUNT);
    return o;
}

static json_t *tag_json(const kvsp_tag *t)
{
    json_t *o = json_object();
    cli_json_set(o, "name", cli_json_cstring(t->name));
    cli_json_set(o, "value", cli_json_string(t->value, t->value_size));
    cli_json_set(o, "binary", cli_json_hex(t->binary, t->binary_size));
    cli_json_set(o, "depth", json_integer(t->depth));
    return o;
}

static json_t *ticks_ms(int64_t ticks, uint64_t scale)
{
    double ms;
    return kvsp_ticks_to_ms(ticks, scale, &ms) == 0 ? cli_json_ms(ms) : json_null();
}

json_t *fragment_json(const kvsp_fragment *f)
{
    uint32_t p = f->present;
    json_t *o = json_object();
    cli_json_set(o, "index", json_integer((json_int_t)f->index));
    cli_json_set(o, "fragment_number", cli_json_cstring(f->fragment_number));
    cli_json_set(o, "server_timestamp_ms",
                 OPTIONAL(p & KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP, json_integer(f->server_timestamp_ms)));
    cli_json_set(o, "producer_timestamp_ms",
                 OPTIONAL(p & KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP, json_integer(f->producer_timestamp_ms)));
    cli_json_set(o, "millis_behind_now",
                 OPTIONAL(p & KVSP_FRAGMENT_HAS_MILLIS_BEHIND_NOW, json_integer(f->millis_behind_now)));
    cli_json_set(o, "continuation_token", cli_json_cstring(f->continuation_token));
    cli_json_set(o, "error_id", (p & KVSP_FRAGMENT_HAS_ERROR_ID) ? json_integer(f->error_id)
                                                                : cli_json_cstring(f->error_id_text));
    cli_json_set(o, "error_code", cli_json_cstring(f->error_code));
    cli_json_set(o, "error_message", cli_json_cstring(f->error_message));
    cli_json_set(o, "complete", json_boolean(f->complete));
    cli_json_set(o, "offset", json_integer((json_int_t)f->offset));
    cli_json_set(o, "end_offset", json_integer((json_int_t)f->end_offset));
    /* Info's first row, the time scale, before the cluster's times; its
     * other rows after the frame times. */
    set_fields(o, &f->info, kvsp_info_fields, 0, 1);
    cli_json_set(o, "cluster_timecode",
                 OPTIONAL(p & KVSP_FRAGMENT_HAS_CLUSTER, json_integer(f->cluster_timecode)));
    cli_json_set(o, "frames", json_integer((json_int_t)f->frames));
    json_t *per_track = json_object();
    for (size_t i = 0; i < f->frames_track_count; i++) {
        char key[24];
        snprintf(key, sizeof key, "%" PRIu64, f->frames_per_track[i].track);
        json_object_set_new(per_track, key, json_integer((json_int_t)f->frames_per_track[i].frames));
    }
    cli_json_set(o, "frames_per_track", per_track);
    int frames = (p & KVSP_FRAGMENT_HAS_FRAMES) != 0;
    cli_json_set(o, "first_pts_ms", OPTIONAL(frames, ticks_ms(f->first_timecode, f->info.timecode_scale)));
    cli_json_set(o, "last_pts_ms", OPTIONAL(frames, ticks_ms(f->last_timecode, f->info.timecode_scale)));
    set_fields(o, &f->info, kvsp_info_fields, 1, KVSP_INFO_FIELD_COUNT);
    json_t *tracks = json_array();
    for (size_t i = 0; i < f->track_count; i++)
        json_array_append_new(tracks, track_json(&f->tracks[i]));
    cli_json_set(o, "tracks", tracks);
    json_t *tags = json_array();
    for (size_t i = 0; i < f->tag_count; i++)
        json_array_append_new(tags, tag_json(&f->tags[i]));
    cli_json_set(o, "tags", tags);
    return o;
}

json_t *frame_json(const kvsp_frame *fr)
{
    const kvsp_fragment *f = fr->fragment;
    uint32_t p = fr->present;
    json_t *o = json_object();
    cli_json_set(o, "track", json_integer((json_int_t)fr->track));
    cli_json_set(o, "fragment_index", OPTIONAL(f, json_integer(f ? (json_int_t)f->index : 0)));
    cli_json_set(o, "fragment_number", cli_json_cstring(f ? f->fragment_number : NULL));
    cli_json_set(o, "timecode", json_integer(fr->timecode));
    cli_json_set(o, "pts_ms", OPTIONAL(p & KVSP_FRAME_HAS_PTS, cli_json_ms(fr->pts_ms)));
    cli_json_set(o, "producer_timestamp_ms",
                 OPTIONAL(p & KVSP_FRAME_HAS_PRODUCER_TIME, cli_json_ms(fr->producer_timestamp_ms)));
    cli_json_set(o, "server_timestamp_ms",
                 OPTIONAL(p & KVSP_FRAME_HAS_SERVER_TIME, cli_json_ms(fr->server_timestamp_ms)));
    cli_json_set(o, "keyframe", json_boolean(fr->keyframe));
    cli_json_set(o, "invisible", json_boolean(fr->invisible));
    cli_json_set(o, "discardable", json_boolean(fr->discardable));
    cli_json_set(o, "size", json_integer((json_int_t)fr->size));
    cli_json_set(o, "lace_index", json_integer(fr->index_in_block));
    cli_json_set(o, "lace_frames", json_integer(fr->frames_in_block));
    cli_json_set(o, "duration", OPTIONAL(p & KVSP_FRAME_HAS_DURATION, json_integer((json_int_t)fr->duration)));
    cli_json_set(o, "block_offset", json_integer((json_int_t)fr->block_offset));
    return o;
}
