/* Output Segments. A seekable Segment is written front to back with room
 * left for what is only known at its end (sizes, Duration, SeekHead), which
 * kvsp_segment_writer_close patches in; nothing already written is ever read back. */
#include "segment_writer.h"

#include <stdlib.h>
#include <string.h>

#include "kvsparser/element.h"
#include "kvsparser/version.h"
#include "../alloc_internal.h"

/* The SeekHead written into the reserved space lists Info, Tracks, Cues and
 * the first Tags: at most 12 + 4 * 28 bytes, plus a Void of at least 2. */
#define SEEK_HEAD_SPACE 160u

void kvsp_segment_writer_init(segment_writer *sw, const kvsp_merge_output *out)
{
    memset(sw, 0, sizeof *sw);
    sw->out = *out;
    sw->seekable = out->patch != NULL;
}

void kvsp_segment_writer_free(segment_writer *sw)
{
    kvsp_free(sw->cues);
    kvsp_ebml_out_free(&sw->scratch);
}

static int emit(segment_writer *sw, const void *p, size_t n)
{
    if (sw->error)
        return sw->error;
    int rc = sw->out.write(sw->out.user, p, n);
    if (rc < 0)
        return sw->error = rc;
    sw->pos += n;
    return KVSP_OK;
}

static int emit_scratch(segment_writer *sw)
{
    if (sw->scratch.failed)
        return sw->error = KVSP_ERR_NOMEM;
    return emit(sw, sw->scratch.data, sw->scratch.len);
}

static int patch(segment_writer *sw, uint64_t offset, const void *p, size_t n)
{
    if (sw->error)
        return sw->error;
    int rc = sw->out.patch(sw->out.user, offset, p, n);
    return rc < 0 ? (sw->error = rc) : KVSP_OK;
}

int kvsp_segment_writer_open(segment_writer *sw, const uint8_t *ebml_header, size_t ebml_len,
                             uint64_t timecode_scale, const uint8_t *tracks, size_t tracks_len,
                             const char *writing_app)
{
    ebml_out *o = &sw->scratch;
    kvsp_ebml_out_clear(o);
    kvsp_ebml_out_bytes(o, ebml_header, ebml_len);
    kvsp_ebml_out_id(o, KVSP_ID_SEGMENT);
    uint64_t size_at = sw->pos + o->len;
    if (sw->seekable)
        kvsp_ebml_out_size(o, 0, 8);
    else
        kvsp_ebml_out_unknown_size(o);
    uint64_t data_start = sw->pos + o->len;
    if (sw->seekable) {
        sw->seek_head_at = data_start;
        kvsp_ebml_out_id(o, KVSP_ID_VOID);
        kvsp_ebml_out_size(o, SEEK_HEAD_SPACE - 9, 8);
        uint8_t zeros[SEEK_HEAD_SPACE - 9] = {0};
        kvsp_ebml_out_bytes(o, zeros, sizeof zeros);
    }
    sw->info_pos = sw->pos + o->len - data_start;
    size_t info = kvsp_ebml_out_begin(o, KVSP_ID_INFO);
    kvsp_ebml_out_uint(o, KVSP_ID_TIMECODE_SCALE, timecode_scale);
    kvsp_ebml_out_string(o, KVSP_ID_MUXING_APP, "libkvsparser " KVSP_VERSION_STRING);
    kvsp_ebml_out_string(o, KVSP_ID_WRITING_APP,
                         writing_app ? writing_app : "libkvsparser " KVSP_VERSION_STRING);
    if (sw->seekable) {
        kvsp_ebml_out_id(o, KVSP_ID_DURATION);
        kvsp_ebml_out_size(o, 8, 0);
        sw->duration_at = sw->pos + o->len;
        kvsp_ebml_out_bytes(o, "\0\0\0\0\0\0\0\0", 8);
    }
    kvsp_ebml_out_end(o, info);
    sw->tracks_pos = sw->pos + o->len - data_start;
    kvsp_ebml_out_bytes(o, tracks, tracks_len);
    sw->segment_size_at = size_at;
    sw->data_start = data_start;
    sw->tags_pos = sw->cues_pos = 0;
    sw->cue_count = 0;
    sw->open = 1;
    return emit_scratch(sw);
}

static int add_cue(segment_writer *sw, const cue_point *c)
{
    if (sw->cue_count == sw->cue_cap) {
        size_t cap = sw->cue_cap ? sw->cue_cap * 2 : 256;
        cue_point *bigger = kvsp_realloc(sw->cues, cap * sizeof *bigger);
        if (!bigger)
            return sw->error = KVSP_ERR_NOMEM;
        sw->cues = bigger;
        sw->cue_cap = cap;
    }
    sw->cues[sw->cue_count++] = *c;
    return KVSP_OK;
}

int kvsp_segment_writer_cluster(segment_writer *sw, const uint8_t *body, size_t len,
                                const cue_point *cues, size_t ncues)
{
    uint64_t cluster_position = sw->pos - sw->data_start;
    ebml_out *o = &sw->scratch;
    kvsp_ebml_out_clear(o);
    kvsp_ebml_out_id(o, KVSP_ID_CLUSTER);
    if (sw->seekable)
        kvsp_ebml_out_size(o, len, 8);
    else
        kvsp_ebml_out_unknown_size(o);
    int rc = emit_scratch(sw);
    if (rc == KVSP_OK)
        rc = emit(sw, body, len);
    for (size_t i = 0; rc == KVSP_OK && sw->seekable && i < ncues; i++) {
        cue_point c = cues[i];
        c.cluster_position = cluster_position;
        rc = add_cue(sw, &c);
    }
    return rc;
}

int kvsp_segment_writer_element(segment_writer *sw, const uint8_t *element, size_t len, int is_tags)
{
    if (is_tags && !sw->tags_pos)
        sw->tags_pos = sw->pos - sw->data_start;
    return emit(sw, element, len);
}

static void write_cues(segment_writer *sw)
{
    ebml_out *o = &sw->scratch;
    kvsp_ebml_out_clear(o);
    size_t cues = kvsp_ebml_out_begin(o, KVSP_ID_CUES);
    for (size_t i = 0; i < sw->cue_count; i++) {
        const cue_point *c = &sw->cues[i];
        size_t point = kvsp_ebml_out_begin(o, KVSP_ID_CUE_POINT);
        kvsp_ebml_out_uint(o, KVSP_ID_CUE_TIME, (uint64_t)(c->time < 0 ? 0 : c->time));
        size_t positions = kvsp_ebml_out_begin(o, KVSP_ID_CUE_TRACK_POSITIONS);
        kvsp_ebml_out_uint(o, KVSP_ID_CUE_TRACK, c->track);
        kvsp_ebml_out_uint(o, KVSP_ID_CUE_CLUSTER_POSITION, c->cluster_position);
        if (c->relative_position)
            kvsp_ebml_out_uint(o, KVSP_ID_CUE_RELATIVE_POSITION, c->relative_position);
        kvsp_ebml_out_end(o, positions);
        kvsp_ebml_out_end(o, point);
    }
    kvsp_ebml_out_end(o, cues);
}

static void seek_entry(ebml_out *o, uint32_t id, uint64_t position)
{
    uint8_t raw_id[4];
    unsigned n = id > 0xFFFFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1;
    for (unsigned i = 0; i < n; i++)
        raw_id[i] = (uint8_t)(id >> (8 * (n - 1 - i)));
    size_t seek = kvsp_ebml_out_begin(o, KVSP_ID_SEEK);
    kvsp_ebml_out_binary(o, KVSP_ID_SEEK_ID, raw_id, n);
    kvsp_ebml_out_uint(o, KVSP_ID_SEEK_POSITION, position);
    kvsp_ebml_out_end(o, seek);
}

/* The SeekHead plus a Void filling the rest of the reserved space. */
static void build_seek_head(segment_writer *sw)
{
    ebml_out *o = &sw->scratch;
    kvsp_ebml_out_clear(o);
    size_t head = kvsp_ebml_out_begin(o, KVSP_ID_SEEKHEAD);
    seek_entry(o, KVSP_ID_INFO, sw->info_pos);
    seek_entry(o, KVSP_ID_TRACKS, sw->tracks_pos);
    if (sw->cues_pos)
        seek_entry(o, KVSP_ID_CUES, sw->cues_pos);
    if (sw->tags_pos)
        seek_entry(o, KVSP_ID_TAGS, sw->tags_pos);
    kvsp_ebml_out_end(o, head);
    size_t rest = SEEK_HEAD_SPACE - o->len;
    kvsp_ebml_out_id(o, KVSP_ID_VOID);
    kvsp_ebml_out_size(o, rest - 2, 1);
    uint8_t zeros[SEEK_HEAD_SPACE] = {0};
    kvsp_ebml_out_bytes(o, zeros, rest - 2);
}

int kvsp_segment_writer_close(segment_writer *sw, double duration)
{
    if (!sw->open)
        return sw->error;
    sw->open = 0;
    if (!sw->seekable)
        return sw->error;
    if (sw->cue_count) {
        sw->cues_pos = sw->pos - sw->data_start;
        write_cues(sw);
        emit_scratch(sw);
    }
    uint8_t bytes[8];
    kvsp_ebml_out_put_size8(bytes, sw->pos - sw->data_start);
    patch(sw, sw->segment_size_at, bytes, 8);
    kvsp_ebml_out_put_double(bytes, duration);
    patch(sw, sw->duration_at, bytes, 8);
    build_seek_head(sw);
    if (sw->scratch.failed)
        return sw->error = KVSP_ERR_NOMEM;
    patch(sw, sw->seek_head_at, sw->scratch.data, sw->scratch.len);
    return sw->error;
}

int kvsp_segment_writer_next_file(segment_writer *sw)
{
    if (sw->error || !sw->out.next_file)
        return sw->error;
    int rc = sw->out.next_file(sw->out.user);
    if (rc < 0)
        return sw->error = rc;
    sw->pos = 0;
    return KVSP_OK;
}
