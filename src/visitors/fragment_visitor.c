/* The fragment metadata visitor. One fragment is one Segment; its record is
 * built as the Segment's children arrive and reported when the Segment ends
 * (or, cut short, when the consumer calls finish). Strings live in a
 * per-fragment arena; tracks, tags and per-track frame counts in arrays that
 * are reused from fragment to fragment. */
#include <stdlib.h>
#include <string.h>

#include "fragment_fields.h"
#include "fragment_internal.h"
#include "fragment_state.h"
#include "../reader/content_cursor.h"
#include "kvs_tags.h"
#include "simple_tag_shape.h"
#include "kvsparser/fragment.h"
#include "../alloc_internal.h"
#include "../compiler.h"

kvsp_fragment_visitor *kvsp_fragment_visitor_create(const kvsp_fragment_options *opts)
{
    kvsp_fragment_options o;
    memset(&o, 0, sizeof o);
    if (opts)
        o = *opts;
    if (!o.max_tracks)
        o.max_tracks = KVSP_DEFAULT_MAX_TRACKS;
    if (!o.max_tags)
        o.max_tags = KVSP_DEFAULT_MAX_TAGS;
    if (!o.max_metadata_bytes)
        o.max_metadata_bytes = KVSP_DEFAULT_MAX_METADATA_BYTES;
    kvsp_fragment_visitor *fv = kvsp_calloc(1, sizeof *fv);
    if (!fv)
        return NULL;
    fv->opts = o;
    kvsp_arena_init(&fv->arena, o.max_metadata_bytes);
    kvsp_fragment_visitor_reset(fv);
    return fv;
}

void kvsp_fragment_visitor_destroy(kvsp_fragment_visitor *fv)
{
    if (!fv)
        return;
    kvsp_arena_free(&fv->arena);
    kvsp_free(fv->tracks);
    kvsp_free(fv->tags);
    kvsp_free(fv->per_track);
    kvsp_free(fv->token);
    kvsp_free(fv);
}

static void clear_fragment(kvsp_fragment_visitor *fv)
{
    kvsp_arena_clear(&fv->arena);
    memset(&fv->frag, 0, sizeof fv->frag);
    fv->frag.info.timecode_scale = DEFAULT_TIMECODE_SCALE;
    fv->open = fv->damaged = fv->getmedia = 0;
    fv->in_info = fv->in_cluster = 0;
    fv->track_count = fv->cur_track = 0;
    fv->tag_count = 0;
    fv->tag_depth = fv->tag_overflow = 0;
    fv->per_track_count = 0;
    fv->in_place_depth = NOT_IN_PLACE;
}

void kvsp_fragment_visitor_reset(kvsp_fragment_visitor *fv)
{
    if (!fv)
        return;
    clear_fragment(fv);
    fv->pending_begin = 0;
    fv->header_seen_size = 0;
    fv->has_token = fv->has_millis_behind_now = 0;
    fv->events = fv->count = fv->furthest = 0;
}

/* Grows an array of elements of `size` bytes to hold `need`, at most `limit`. */
static int grow(void **array, size_t *cap, size_t need, size_t size, size_t limit)
{
    if (need <= *cap)
        return KVSP_OK;
    if (need > limit)
        return KVSP_ERR_METADATA_LIMIT;
    size_t cap2 = *cap ? *cap * 2 : 8;
    if (cap2 > limit)
        cap2 = limit;
    void *bigger = kvsp_realloc(*array, cap2 * size);
    if (!bigger)
        return KVSP_ERR_NOMEM;
    *array = bigger;
    *cap = cap2;
    return KVSP_OK;
}

static int arena_error(arena_status st)
{
    return st == ARENA_NOMEM ? KVSP_ERR_NOMEM : KVSP_ERR_METADATA_LIMIT;
}

static int copy_bytes_as_string(kvsp_fragment_visitor *fv, const uint8_t *data, size_t size,
                                const char **out, size_t *len)
{
    arena_status st;
    char *s = arena_string(&fv->arena, data, size, len, &st);
    if (!s)
        return arena_error(st);
    *out = s;
    return KVSP_OK;
}

static int copy_string(kvsp_fragment_visitor *fv, const kvsp_event *ev, const char **out,
                       size_t *len)
{
    return copy_bytes_as_string(fv, ev->data, ev->data_size, out, len);
}

static int copy_binary(kvsp_fragment_visitor *fv, const kvsp_event *ev, const uint8_t **out,
                       size_t *size)
{
    arena_status st;
    uint8_t *p = kvsp_arena_alloc(&fv->arena, ev->data_size, &st);
    if (!p)
        return arena_error(st);
    if (ev->data_size)
        memcpy(p, ev->data, ev->data_size);
    *out = p;
    *size = ev->data_size;
    return KVSP_OK;
}

static void begin_fragment(kvsp_fragment_visitor *fv, const kvsp_event *ev)
{
    clear_fragment(fv);
    fv->open = 1;
    fv->frag.index = fv->count;
    fv->frag.offset = ev->offset;
    fv->frag.end_offset = ev->offset + ev->header_size;
}

static int report(kvsp_fragment_visitor *fv, uint64_t end_offset, int ended)
{
    kvsp_fragment *f = &fv->frag;
    f->end_offset = end_offset;
    int needs_closing_tags = fv->getmedia && (f->present & KVSP_FRAGMENT_HAS_CLUSTER);
    f->complete = ended && !fv->damaged && (!needs_closing_tags || f->tags_after_cluster);
    sync_record(fv);
    fv->open = 0;
    fv->count++;
    return fv->opts.on_fragment ? fv->opts.on_fragment(fv->opts.user, f) : KVSP_OK;
}

/* Every event counts (for the frame visitor's order check) and moves the
 * point a fragment cut short is said to end at. */
static void note_event(kvsp_fragment_visitor *fv, uint64_t reached)
{
    fv->events++;
    if (reached > fv->furthest)
        fv->furthest = reached;
}

static int on_segment_start(kvsp_fragment_visitor *fv, const kvsp_event *ev)
{
    if (!fv->open) {
        begin_fragment(fv, ev);
        return KVSP_OK;
    }
    /* A Segment inside an unfinished one only happens after a resync: the
     * old fragment is reported as cut short before the new one begins. */
    int rc = report(fv, ev->offset, 0);
    if (rc == KVSP_PAUSED) {
        fv->pending_begin = 1;
        fv->pending_event = *ev;
        return rc;
    }
    begin_fragment(fv, ev);
    return rc;
}

static int begin_simple_tag(kvsp_fragment_visitor *fv)
{
    if (fv->tag_depth >= MAX_TAG_NESTING) {
        fv->tag_overflow++; /* too deep to keep; its values are dropped */
        return KVSP_OK;
    }
    int rc = grow((void **)&fv->tags, &fv->tag_cap, fv->tag_count + 1, sizeof *fv->tags,
                  fv->opts.max_tags);
    if (rc)
        return rc;
    kvsp_tag *t = &fv->tags[fv->tag_count];
    memset(t, 0, sizeof *t);
    t->name = "";
    t->depth = fv->tag_depth;
    fv->tag_stack[fv->tag_depth++] = fv->tag_count++;
    return KVSP_OK;
}

static int start_event(kvsp_fragment_visitor *fv, const kvsp_event *ev)
{
    if (ev->id == KVSP_ID_SEGMENT)
        return on_segment_start(fv, ev);
    if (!fv->open)
        return KVSP_OK;
    kvsp_fragment *f = &fv->frag;
    switch (ev->id) {
    case KVSP_ID_INFO: fv->in_info = 1; break;
    case KVSP_ID_TRACK_ENTRY: {
        int rc = grow((void **)&fv->tracks, &fv->track_cap, fv->track_count + 1, sizeof *fv->tracks,
                      fv->opts.max_tracks);
        if (rc)
            return rc;
        memset(&fv->tracks[fv->track_count], 0, sizeof *fv->tracks);
        fv->cur_track = ++fv->track_count;
        break;
    }
    case KVSP_ID_TAGS:
        if (f->present & KVSP_FRAGMENT_HAS_CLUSTER)
            f->tags_after_cluster = 1;
        break;
    case KVSP_ID_SIMPLETAG: return begin_simple_tag(fv);
    case KVSP_ID_CLUSTER:
        f->present |= KVSP_FRAGMENT_HAS_CLUSTER;
        f->present &= ~KVSP_FRAGMENT_HAS_CLUSTER_TIMECODE;
        f->cluster_timecode = 0;
        fv->in_cluster = 1;
        break;
    default: break;
    }
    return KVSP_OK;
}

static inline int count_frames(kvsp_fragment_visitor *fv, const kvsp_block *b)
{
    kvsp_fragment *f = &fv->frag;
    /* Blocks of one track come in runs: its slot is likely the last one's. */
    size_t i = fv->last_track_slot;
    if (i >= fv->per_track_count || fv->per_track[i].track != b->track) {
        i = 0;
        while (i < fv->per_track_count && fv->per_track[i].track != b->track)
            i++;
    }
    fv->last_track_slot = i;
    if (i == fv->per_track_count) {
        int rc = grow((void **)&fv->per_track, &fv->per_track_cap, i + 1, sizeof *fv->per_track,
                      fv->opts.max_tracks);
        if (rc)
            return rc;
        fv->per_track[i].track = b->track;
        fv->per_track[i].frames = 0;
        fv->per_track_count++;
    }
    fv->per_track[i].frames += b->frame_count;
    f->frames += b->frame_count;
    int64_t tc;
    if (__builtin_add_overflow(f->cluster_timecode, (int64_t)b->timecode, &tc))
        tc = f->cluster_timecode; /* a hostile Timestamp at the edge of int64 */
    if (!(f->present & KVSP_FRAGMENT_HAS_FRAMES))
        f->first_timecode = tc;
    f->last_timecode = tc;
    f->present |= KVSP_FRAGMENT_HAS_FRAMES;
    return KVSP_OK;
}

/* Stores a TrackEntry's or Info's child in the field of the record its
 * row names (fragment_fields.h). */
static KVSP_ALWAYS_INLINE int take_field(kvsp_fragment_visitor *fv, void *record,
                                         const kvsp_field *f, const kvsp_event *ev)
{
    void *value = kvsp_field_at(record, f->offset);
    switch ((kvsp_field_type)f->type) {
    case KVSP_FIELD_UINT:
        if ((f->flags & KVSP_FIELD_NONZERO) && !ev->value.u)
            return KVSP_OK; /* 0 would make every time 0: the default stays */
        *(uint64_t *)value = ev->value.u;
        break;
    case KVSP_FIELD_FLOAT: *(double *)value = ev->value.f; break;
    case KVSP_FIELD_STRING:
        if ((f->flags & KVSP_FIELD_IF_UNSET) && *(const char **)value)
            return KVSP_OK;
        return copy_string(fv, ev, value, NULL);
    case KVSP_FIELD_BINARY:
        return copy_binary(fv, ev, value, kvsp_field_at(record, f->size_offset));
    }
    kvsp_field_mark(record, f);
    return KVSP_OK;
}

static int track_data(kvsp_fragment_visitor *fv, const kvsp_event *ev)
{
    const kvsp_field *f = kvsp_field_find(kvsp_track_fields, KVSP_TRACK_FIELD_COUNT, ev->id);
    return f ? take_field(fv, &fv->tracks[fv->cur_track - 1], f, ev) : KVSP_OK;
}

static int info_data(kvsp_fragment_visitor *fv, const kvsp_event *ev)
{
    const kvsp_field *f = kvsp_field_find(kvsp_info_fields, KVSP_INFO_FIELD_COUNT, ev->id);
    return f ? take_field(fv, &fv->frag.info, f, ev) : KVSP_OK;
}

static int tag_string(kvsp_fragment_visitor *fv, uint32_t id, const uint8_t *data, size_t size)
{
    kvsp_tag *t = &fv->tags[fv->tag_stack[fv->tag_depth - 1]];
    if (id == KVSP_ID_TAG_NAME)
        return copy_bytes_as_string(fv, data, size, &t->name, NULL);
    return copy_bytes_as_string(fv, data, size, &t->value, &t->value_size);
}

static int tag_data(kvsp_fragment_visitor *fv, const kvsp_event *ev)
{
    kvsp_tag *t = &fv->tags[fv->tag_stack[fv->tag_depth - 1]];
    switch (ev->id) {
    case KVSP_ID_TAG_NAME:
    case KVSP_ID_TAG_STRING: return tag_string(fv, ev->id, ev->data, ev->data_size);
    case KVSP_ID_TAG_BINARY: return copy_binary(fv, ev, &t->binary, &t->binary_size);
    default: break;
    }
    return KVSP_OK;
}

/* Whether a tag's data goes to the innermost SimpleTag: a TrackEntry or
 * Info around it takes it first, and one nested too deep is dropped. */
static int takes_tag_data(const kvsp_fragment_visitor *fv)
{
    return fv->open && !fv->cur_track && !fv->in_info && fv->tag_depth && !fv->tag_overflow;
}

static int data_event(kvsp_fragment_visitor *fv, const kvsp_event *ev)
{
    if (!fv->open)
        return KVSP_OK;
    if (ev->block)
        return count_frames(fv, ev->block);
    if (ev->id == KVSP_ID_CLUSTER_TIMECODE && fv->in_cluster) {
        fv->frag.cluster_timecode = (int64_t)ev->value.u;
        fv->frag.present |= KVSP_FRAGMENT_HAS_CLUSTER_TIMECODE;
        return KVSP_OK;
    }
    if (fv->cur_track)
        return track_data(fv, ev);
    if (fv->in_info)
        return info_data(fv, ev);
    if (takes_tag_data(fv))
        return tag_data(fv, ev);
    return KVSP_OK;
}

static int remember_token(kvsp_fragment_visitor *fv, const char *token, size_t len)
{
    if (len + 1 > fv->token_cap) {
        char *bigger = kvsp_realloc(fv->token, len + 1);
        if (!bigger)
            return KVSP_ERR_NOMEM;
        fv->token = bigger;
        fv->token_cap = len + 1;
    }
    memcpy(fv->token, token, len + 1);
    fv->has_token = 1;
    return KVSP_OK;
}

/* Decodes an AWS_KINESISVIDEO_* tag into the record. Returns 1 if it was
 * taken, 0 if it stays a user tag (unknown name or a value that does not
 * parse), or an error. */
static int take_kvs_tag(kvsp_fragment_visitor *fv, const kvsp_tag *t)
{
    kvs_tag_kind kind = kvsp_tag_classify_cstr(t->name);
    if (kind == KVS_TAG_NONE || !t->value)
        return 0;
    kvsp_fragment *f = &fv->frag;
    int64_t ms;
    long long n;
    switch (kind) {
    case KVS_TAG_FRAGMENT_NUMBER: f->fragment_number = t->value; break;
    case KVS_TAG_SERVER_TIMESTAMP:
    case KVS_TAG_SERVER_SIDE_TIMESTAMP:
        if (kvsp_parse_seconds_ms(t->value, t->value_size, &ms) != 0)
            return 0;
        f->server_timestamp_ms = ms;
        f->present |= KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP;
        fv->getmedia |= kind == KVS_TAG_SERVER_TIMESTAMP;
        break;
    case KVS_TAG_PRODUCER_TIMESTAMP:
    case KVS_TAG_PRODUCER_SIDE_TIMESTAMP:
        if (kvsp_parse_seconds_ms(t->value, t->value_size, &ms) != 0)
            return 0;
        f->producer_timestamp_ms = ms;
        f->present |= KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP;
        fv->getmedia |= kind == KVS_TAG_PRODUCER_TIMESTAMP;
        break;
    case KVS_TAG_MILLIS_BEHIND_NOW:
        if (kvsp_parse_int64(t->value, t->value_size, &n) != 0)
            return 0;
        f->millis_behind_now = fv->millis_behind_now = n;
        f->present |= KVSP_FRAGMENT_HAS_MILLIS_BEHIND_NOW;
        fv->has_millis_behind_now = 1;
        break;
    case KVS_TAG_CONTINUATION_TOKEN: {
        int rc = remember_token(fv, t->value, t->value_size);
        if (rc)
            return rc;
        f->continuation_token = t->value;
        break;
    }
    case KVS_TAG_ERROR_ID:
        f->error_id_text = t->value;
        if (kvsp_parse_int64(t->value, t->value_size, &n) == 0) {
            f->error_id = n;
            f->present |= KVSP_FRAGMENT_HAS_ERROR_ID;
        }
        break;
    case KVS_TAG_ERROR_CODE:
    case KVS_TAG_EXCEPTION_ERROR_CODE: f->error_code = t->value; break;
    case KVS_TAG_EXCEPTION_MESSAGE: f->error_message = t->value; break;
    case KVS_TAG_NONE: return 0;
    }
    return 1;
}

static int end_simple_tag(kvsp_fragment_visitor *fv)
{
    if (fv->tag_overflow) {
        fv->tag_overflow--;
        return KVSP_OK;
    }
    if (!fv->tag_depth)
        return KVSP_OK;
    size_t index = fv->tag_stack[--fv->tag_depth];
    /* Only a top-level tag with no nested tags after it is decoded, so
     * removing it keeps the user tags in order. */
    if (fv->tags[index].depth != 0 || index + 1 != fv->tag_count)
        return KVSP_OK;
    int taken = take_kvs_tag(fv, &fv->tags[index]);
    if (taken < 0)
        return taken;
    if (taken)
        fv->tag_count--;
    return KVSP_OK;
}

static int end_event(kvsp_fragment_visitor *fv, const kvsp_event *ev)
{
    if (!fv->open)
        return KVSP_OK;
    switch (ev->id) {
    case KVSP_ID_SEGMENT: return report(fv, ev->end_offset, 1);
    case KVSP_ID_INFO: fv->in_info = 0; break;
    case KVSP_ID_TRACK_ENTRY: fv->cur_track = 0; break;
    case KVSP_ID_SIMPLETAG: return end_simple_tag(fv);
    case KVSP_ID_CLUSTER: fv->in_cluster = 0; break;
    default: break;
    }
    return KVSP_OK;
}

/* What reading a master in place may change, to put back if it fails. It
 * starts outside Info, a TrackEntry, a Cluster and any SimpleTag (only the
 * master's own START may have entered one), and what its children add
 * (tracks, tags, strings) goes after what is there. */
typedef struct in_place_checkpoint {
    kvsp_fragment frag;
    size_t track_count, tag_count, cur_track;
    int in_info;
    arena_mark mark;
    int getmedia, has_token, has_millis_behind_now;
    int64_t millis_behind_now;
} in_place_checkpoint;

static void save_state(const kvsp_fragment_visitor *fv, in_place_checkpoint *cp)
{
    cp->frag = fv->frag;
    cp->track_count = fv->track_count;
    cp->tag_count = fv->tag_count;
    cp->cur_track = fv->cur_track;
    cp->in_info = fv->in_info;
    cp->mark = kvsp_arena_get_mark(&fv->arena);
    cp->getmedia = fv->getmedia;
    cp->has_token = fv->has_token;
    cp->has_millis_behind_now = fv->has_millis_behind_now;
    cp->millis_behind_now = fv->millis_behind_now;
}

/* The continuation token's buffer is not put back: a failed pass is read
 * again from the reader's events, which take the same tags up to the same
 * point and so leave the same token. */
static void restore_state(kvsp_fragment_visitor *fv, const in_place_checkpoint *cp)
{
    fv->frag = cp->frag;
    fv->track_count = cp->track_count;
    fv->tag_count = cp->tag_count;
    fv->cur_track = cp->cur_track;
    fv->in_info = cp->in_info;
    fv->tag_depth = fv->tag_overflow = 0;
    kvsp_arena_rewind(&fv->arena, cp->mark);
    fv->getmedia = cp->getmedia;
    fv->has_token = cp->has_token;
    fv->has_millis_behind_now = cp->has_millis_behind_now;
    fv->millis_behind_now = cp->millis_behind_now;
}

/* A child of a master read in place, handled as its event is. A Segment or
 * Cluster inside (which would report a fragment or count frames) is left
 * to the reader's events. */
static int in_place_event(kvsp_fragment_visitor *fv, const kvsp_event *ev)
{
    switch (ev->type) {
    case KVSP_EV_START:
        if (ev->id == KVSP_ID_SEGMENT || ev->id == KVSP_ID_CLUSTER)
            return KVSP_DEFERRED;
        return start_event(fv, ev);
    case KVSP_EV_DATA: return data_event(fv, ev);
    case KVSP_EV_END: return end_event(fv, ev);
    default: return KVSP_DEFERRED;
    }
}

/* The masters a fragment has besides its Cluster, small and read whole when
 * their content came with their START, so that the reader can pass over
 * their children: about 30 elements per GetMedia fragment (the EBML header,
 * Info, Tracks, and two Tags of several SimpleTags), each an event through
 * every visitor otherwise. */
static int read_whole(const kvsp_event *ev)
{
    switch (ev->id) {
    case KVSP_ID_EBML:
    case KVSP_ID_INFO:
    case KVSP_ID_TRACKS:
    case KVSP_ID_TAGS: return ev->data != NULL;
    default: return 0;
    }
}

/* A usual SimpleTag outside any other: what begin_simple_tag, tag_string
 * for each child and end_simple_tag do, in one go (the tag stack is left
 * as they leave it, empty). On an error the caller puts everything back. */
static int take_top_level_tag(kvsp_fragment_visitor *fv, const simple_tag_shape *shape)
{
    size_t index = fv->tag_count;
    int rc = grow((void **)&fv->tags, &fv->tag_cap, index + 1, sizeof *fv->tags, fv->opts.max_tags);
    if (rc)
        return rc;
    kvsp_tag *t = &fv->tags[index];
    memset(t, 0, sizeof *t);
    t->name = "";
    for (unsigned i = 0; i < shape->count; i++) {
        const simple_tag_child *child = &shape->child[i];
        rc = child->id == KVSP_ID_TAG_NAME
                 ? copy_bytes_as_string(fv, child->data, child->size, &t->name, NULL)
                 : copy_bytes_as_string(fv, child->data, child->size, &t->value, &t->value_size);
        if (rc)
            return rc;
    }
    fv->tag_count = index + 1;
    int taken = take_kvs_tag(fv, t);
    if (taken < 0)
        return taken;
    if (taken)
        fv->tag_count = index;
    return KVSP_OK;
}

/* Inside a Tag read in place: the SimpleTags at the cursor that have the
 * usual shape (simple_tag_shape.h), each at once with the handlers its
 * events would reach, the cursor then moved past it. It stops at anything
 * else, which the cursor reads as usual. Only where those handlers keep
 * the tag and give it its strings (in a fragment, not inside a TrackEntry
 * or Info, not nested too deep to keep: begin_simple_tag and
 * takes_tag_data), and where the cursor would not defer the SimpleTag for
 * its nesting. */
static int usual_simple_tags(kvsp_fragment_visitor *fv, kvsp_content *c)
{
    if (!fv->open || fv->cur_track || fv->in_info || fv->tag_overflow ||
        fv->tag_depth >= MAX_TAG_NESTING || c->nesting == KVSP_CONTENT_MAX_NESTING)
        return KVSP_OK;
    simple_tag_shape shape;
    size_t length;
    while ((length = simple_tag_shape_read(c->base + c->pos, c->limit - c->pos, c->end - c->pos,
                                           &shape)) != 0) {
        int rc;
        if (fv->tag_depth == 0) {
            rc = take_top_level_tag(fv, &shape);
        } else {
            rc = begin_simple_tag(fv);
            for (unsigned i = 0; rc == KVSP_OK && i < shape.count; i++)
                rc = tag_string(fv, shape.child[i].id, shape.child[i].data, shape.child[i].size);
            if (rc == KVSP_OK)
                rc = end_simple_tag(fv);
        }
        if (rc != KVSP_OK)
            return rc;
        c->pos += length;
    }
    return KVSP_OK;
}

static int passed_in_place(kvsp_fragment_visitor *fv, const kvsp_event *master);

/* Whether this is the content of the last EBML header read in place, again
 * outside a fragment: reading it would give the same, nothing. */
static int header_seen_again(const kvsp_fragment_visitor *fv, const kvsp_event *ev)
{
    return ev->id == KVSP_ID_EBML && !fv->open && fv->header_seen_size &&
           ev->data_size == fv->header_seen_size &&
           memcmp(ev->data, fv->header_seen, ev->data_size) == 0;
}

/* Reads a master in one pass from its content, with the same handlers as
 * its children's events; gives exactly what they would. On anything the
 * content cursor defers, or an error (a limit), everything is put back and
 * the reader's events bring the children, and the error, as usual. */
static int read_in_place(kvsp_fragment_visitor *fv, const kvsp_event *master)
{
    in_place_checkpoint cp;
    save_state(fv, &cp);
    kvsp_content content;
    kvsp_content_open(&content, master);
    kvsp_event ev;
    int st;
    while ((st = kvsp_content_step(&content, &ev)) == KVSP_OK) {
        st = in_place_event(fv, &ev);
        if (st != KVSP_OK)
            break;
        if (content.nesting && content.open[content.nesting - 1].id == KVSP_ID_TAG) {
            st = usual_simple_tags(fv, &content);
            if (st != KVSP_OK)
                break;
        }
    }
    if (st != KVSP_DONE) {
        restore_state(fv, &cp);
        return KVSP_OK;
    }
    if (master->id == KVSP_ID_EBML && !fv->open && master->data_size <= EBML_HEADER_SEEN_MAX) {
        memcpy(fv->header_seen, master->data, master->data_size);
        fv->header_seen_size = master->data_size;
    }
    return passed_in_place(fv, master);
}

/* The master's children were taken from its content: the reader may pass
 * over them, and if they come anyway they are ignored. */
static int passed_in_place(kvsp_fragment_visitor *fv, const kvsp_event *master)
{
    uint64_t end = master->offset + master->header_size + master->data_size;
    if (end > fv->furthest)
        fv->furthest = end;
    fv->in_place_depth = master->depth + 1;
    return KVSP_SKIP;
}

static int on_start(void *user, const kvsp_event *ev)
{
    kvsp_fragment_visitor *fv = user;
    note_event(fv, ev->offset + ev->header_size);
    if (ev->depth >= fv->in_place_depth)
        return KVSP_OK;
    int whole = read_whole(ev) && !fv->cur_track && !fv->in_info && !fv->in_cluster &&
                !fv->tag_depth && !fv->tag_overflow;
    int rc = start_event(fv, ev);
    if (rc == KVSP_OK && whole)
        return header_seen_again(fv, ev) ? passed_in_place(fv, ev) : read_in_place(fv, ev);
    return rc;
}

static int on_data(void *user, const kvsp_event *ev)
{
    kvsp_fragment_visitor *fv = user;
    note_event(fv, ev->end_offset);
    if (ev->depth >= fv->in_place_depth)
        return KVSP_OK;
    if (ev->block && fv->open)
        return count_frames(fv, ev->block); /* what data_event does with it, a call sooner */
    return data_event(fv, ev);
}

static int on_end(void *user, const kvsp_event *ev)
{
    kvsp_fragment_visitor *fv = user;
    note_event(fv, ev->end_offset);
    if (ev->depth >= fv->in_place_depth)
        return KVSP_OK;
    if (ev->depth + 1 == fv->in_place_depth)
        fv->in_place_depth = NOT_IN_PLACE; /* the master read in place ends */
    return end_event(fv, ev);
}

static int on_error(void *user, const kvsp_event *ev)
{
    kvsp_fragment_visitor *fv = user;
    (void)ev;
    fv->events++;
    if (fv->open)
        fv->damaged = 1;
    return KVSP_OK;
}

static int on_resync(void *user, const kvsp_event *ev)
{
    kvsp_fragment_visitor *fv = user;
    (void)ev;
    fv->events++;
    return KVSP_OK;
}

static int on_resume(void *user)
{
    kvsp_fragment_visitor *fv = user;
    if (fv->pending_begin) {
        fv->pending_begin = 0;
        begin_fragment(fv, &fv->pending_event);
    }
    return KVSP_OK;
}

kvsp_visitor kvsp_fragment_visitor_visitor(kvsp_fragment_visitor *fv)
{
    kvsp_visitor v;
    memset(&v, 0, sizeof v);
    v.user = fv;
    v.on_start = on_start;
    v.on_end = on_end;
    v.on_data = on_data;
    v.on_error = on_error;
    v.on_resync = on_resync;
    v.on_resume = on_resume;
    return v;
}

int kvsp_fragment_visitor_finish(kvsp_fragment_visitor *fv)
{
    if (!fv)
        return KVSP_ERR_INVALID_ARG;
    if (!fv->open)
        return KVSP_OK;
    return report(fv, fv->furthest, 0);
}
