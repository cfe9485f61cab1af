/* The frame visitor. A SimpleBlock's frames go out while its event is
 * current, zero-copy. A Block in a BlockGroup is copied and held until the
 * BlockGroup ends, because whether it is a keyframe depends on
 * ReferenceBlock children that may come after it and the event's payload
 * does not outlive the event. */
#include <stdlib.h>
#include <string.h>

#include "../compiler.h"
#include "fragment_internal.h"
#include "fragment_state.h"
#include "meta_pair.h"
#include "kvsparser/frames.h"
#include "../alloc_internal.h"

/* The block whose frames are being handed out; `next` < `count` while a
 * paused sink still owes us the rest. */
typedef struct emission {
    const uint8_t *data;
    const size_t *sizes;
    uint32_t count;
    uint32_t next;
    size_t offset; /* of frame `next` within data */
    kvsp_frame frame;
} emission;

/* A Block waiting for its BlockGroup to end. */
typedef struct held_block {
    int active; /* inside a BlockGroup */
    int has_block;
    int referenced;
    uint8_t *data; /* owned copy, reused from group to group */
    size_t size, cap;
    size_t sizes[KVSP_MAX_LACED_FRAMES];
    kvsp_block block;
    uint64_t offset;
    uint64_t duration;
    int has_duration;
} held_block;

struct kvsp_frame_visitor {
    meta_pair mp;
    kvsp_frame_options opts;
    kvsp_visitor sink;
    uint64_t delivered;
    emission em;
    held_block held;
};

static int wanted(const kvsp_frame_visitor *fv, uint64_t track, const kvsp_track *info)
{
    if (fv->opts.track && track != fv->opts.track)
        return 0;
    if (fv->opts.track_type &&
        (!info || !(info->present & KVSP_TRACK_HAS_TYPE) || info->type != fv->opts.track_type))
        return 0;
    return 1;
}

/* The milliseconds of ns = ticks * scale (kvsp_ns_to_ms_inline), bit for
 * bit, without a division at Matroska's usual 1 ms TimecodeScale while ns is
 * a whole number of milliseconds the double holds exactly: they are then
 * ticks itself. The division's latency was half of a block's cost. */
static inline double ticks_to_ms(int64_t ticks, uint64_t scale, int64_t ns)
{
    const int64_t exact_ms = (INT64_C(1) << 53) / 1000000;
    if (scale == 1000000u && ticks >= -exact_ms && ticks <= exact_ms)
        return (double)ticks;
    return kvsp_ns_to_ms_inline(ns);
}

/* Fills the parts of the frame common to every frame of the block. */
static KVSP_ALWAYS_INLINE void frame_timing(kvsp_frame *fr, const kvsp_block *b,
                                            const kvsp_fragment *frag)
{
    /* The usual 1 ms scale with times within 104 days of 0 (|ticks| <=
     * exact_ms, block timecodes being 16-bit): nothing overflows and each
     * value is the general path's, bit for bit, without its checks. */
    const int64_t exact_ms = (INT64_C(1) << 53) / 1000000;
    const int64_t cluster_bound = exact_ms - INT16_MAX - 1;
    if (frag && frag->info.timecode_scale == 1000000u && frag->cluster_timecode >= -cluster_bound &&
        frag->cluster_timecode <= cluster_bound) {
        int64_t tc = frag->cluster_timecode + b->timecode;
        double offset_ms = (double)b->timecode;
        uint32_t present = KVSP_FRAME_HAS_PTS;
        fr->timecode = tc;
        fr->pts_ns = tc * 1000000;
        fr->pts_ms = (double)tc;
        if (frag->present & KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP) {
            fr->producer_timestamp_ms = (double)frag->producer_timestamp_ms + offset_ms;
            present |= KVSP_FRAME_HAS_PRODUCER_TIME;
        }
        if (frag->present & KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP) {
            fr->server_timestamp_ms = (double)frag->server_timestamp_ms + offset_ms;
            present |= KVSP_FRAME_HAS_SERVER_TIME;
        }
        fr->present |= present;
        return;
    }
    int64_t cluster = frag ? frag->cluster_timecode : 0;
    uint64_t scale = frag ? frag->info.timecode_scale : 1000000u;
    if (__builtin_add_overflow(cluster, (int64_t)b->timecode, &fr->timecode))
        fr->timecode = cluster;
    if (kvsp_ticks_to_ns_inline(fr->timecode, scale, &fr->pts_ns) == 0) {
        fr->present |= KVSP_FRAME_HAS_PTS;
        fr->pts_ms = ticks_to_ms(fr->timecode, scale, fr->pts_ns);
    }
    int64_t offset_ns;
    if (!frag || kvsp_ticks_to_ns_inline(b->timecode, scale, &offset_ns) != 0)
        return;
    double offset_ms = ticks_to_ms(b->timecode, scale, offset_ns);
    if (frag->present & KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP) {
        fr->producer_timestamp_ms = (double)frag->producer_timestamp_ms + offset_ms;
        fr->present |= KVSP_FRAME_HAS_PRODUCER_TIME;
    }
    if (frag->present & KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP) {
        fr->server_timestamp_ms = (double)frag->server_timestamp_ms + offset_ms;
        fr->present |= KVSP_FRAME_HAS_SERVER_TIME;
    }
}

/* Hands out frames em.next.. of the current block. */
static inline int emit_rest(kvsp_frame_visitor *fv)
{
    emission *em = &fv->em;
    while (em->next < em->count) {
        kvsp_frame *fr = &em->frame;
        fr->index_in_block = em->next;
        fr->data = em->data + em->offset;
        fr->size = em->sizes[em->next];
        em->offset += fr->size;
        em->next++;
        fv->delivered++;
        int rc = fv->sink.on_frame ? fv->sink.on_frame(fv->sink.user, fr) : KVSP_OK;
        if (rc != KVSP_OK)
            return rc; /* KVSP_PAUSED: on_resume goes on from em->next */
    }
    return KVSP_OK;
}

static KVSP_ALWAYS_INLINE int emit_block(kvsp_frame_visitor *fv, const kvsp_block *b,
                                         const uint8_t *data, const size_t *sizes, int keyframe,
                                         uint64_t offset, const held_block *group)
{
    const kvsp_track *info;
    const kvsp_fragment *frag = fragment_block_context(fv->mp.meta, b->track, &info);
    if (!wanted(fv, b->track, info))
        return KVSP_OK;
    emission *em = &fv->em;
    kvsp_frame *fr = &em->frame;
    /* Every field set once: a memset of the frame compiled to a rep stos,
     * slow to start for 136 bytes, once per block. */
    fr->track = b->track;
    fr->track_info = info;
    fr->fragment = frag;
    fr->data = NULL;
    fr->size = 0;
    fr->index_in_block = 0;
    fr->frames_in_block = b->frame_count;
    fr->present = 0;
    fr->keyframe = keyframe;
    fr->invisible = b->invisible;
    fr->discardable = b->discardable;
    fr->timecode = fr->pts_ns = 0;
    fr->pts_ms = fr->producer_timestamp_ms = fr->server_timestamp_ms = 0;
    fr->duration = 0;
    fr->block_offset = offset;
    if (group && group->has_duration) {
        fr->duration = group->duration;
        fr->present |= KVSP_FRAME_HAS_DURATION;
    }
    frame_timing(fr, b, fr->fragment);
    em->data = data;
    em->sizes = sizes;
    em->count = b->frame_count;
    em->next = 0;
    em->offset = 0;
    return emit_rest(fv);
}

static int check_order(kvsp_frame_visitor *fv)
{
    return meta_pair_check(&fv->mp);
}

static int hold_block(held_block *h, const kvsp_event *ev)
{
    const kvsp_block *b = ev->block;
    size_t total = 0;
    for (uint32_t i = 0; i < b->frame_count; i++)
        total += b->frame_sizes[i]; /* frames lie within the element: no overflow */
    if (total > h->cap) {
        uint8_t *bigger = kvsp_realloc(h->data, total);
        if (!bigger)
            return KVSP_ERR_NOMEM;
        h->data = bigger;
        h->cap = total;
    }
    if (total)
        memcpy(h->data, b->frames, total);
    memcpy(h->sizes, b->frame_sizes, b->frame_count * sizeof h->sizes[0]);
    h->block = *b;
    h->block.frame_sizes = h->sizes;
    /* Empty frames still point somewhere, as the reader's empty payloads do. */
    h->block.frames = h->data ? h->data : (const uint8_t *)"";
    h->size = total;
    h->offset = ev->offset;
    h->has_block = 1;
    return KVSP_OK;
}

static int on_start(void *user, const kvsp_event *ev)
{
    kvsp_frame_visitor *fv = user;
    int rc = check_order(fv);
    if (rc)
        return rc;
    if (ev->id == KVSP_ID_BLOCKGROUP) {
        held_block *h = &fv->held;
        h->active = 1;
        h->has_block = h->referenced = h->has_duration = 0;
        return KVSP_OK;
    }
    /* Blocks lie in Clusters (and their BlockGroups) of a Segment: the rest
     * (Tags, Tracks, the EBML header) need not be read for this visitor. */
    return ev->id == KVSP_ID_SEGMENT || ev->id == KVSP_ID_CLUSTER ? KVSP_OK : KVSP_SKIP;
}

static int on_data(void *user, const kvsp_event *ev)
{
    kvsp_frame_visitor *fv = user;
    int rc = check_order(fv);
    if (rc)
        return rc;
    held_block *h = &fv->held;
    if (ev->id == KVSP_ID_SIMPLEBLOCK && ev->block)
        return emit_block(fv, ev->block, ev->block->frames, ev->block->frame_sizes,
                          ev->block->keyframe, ev->offset, NULL);
    if (ev->id == KVSP_ID_BLOCK && ev->block) {
        if (!h->active) /* outside a BlockGroup: nothing says it is a keyframe */
            return emit_block(fv, ev->block, ev->block->frames, ev->block->frame_sizes, 0,
                              ev->offset, NULL);
        return hold_block(h, ev);
    }
    if (h->active && ev->id == KVSP_ID_REFERENCE_BLOCK)
        h->referenced = 1;
    if (h->active && ev->id == KVSP_ID_BLOCK_DURATION) {
        h->duration = ev->value.u;
        h->has_duration = 1;
    }
    return KVSP_OK;
}

static int on_end(void *user, const kvsp_event *ev)
{
    kvsp_frame_visitor *fv = user;
    int rc = check_order(fv);
    if (rc)
        return rc;
    held_block *h = &fv->held;
    if (ev->id != KVSP_ID_BLOCKGROUP || !h->active)
        return KVSP_OK;
    h->active = 0;
    if (!h->has_block)
        return KVSP_OK;
    return emit_block(fv, &h->block, h->block.frames, h->sizes, !h->referenced, h->offset, h);
}

static int on_other(void *user, const kvsp_event *ev)
{
    (void)ev;
    return check_order(user);
}

static int on_resume(void *user)
{
    kvsp_frame_visitor *fv = user;
    if (fv->sink.on_resume) {
        int rc = fv->sink.on_resume(fv->sink.user);
        if (rc != KVSP_OK)
            return rc;
    }
    return emit_rest(fv);
}

static kvsp_visitor core_visitor(kvsp_frame_visitor *fv)
{
    kvsp_visitor v;
    memset(&v, 0, sizeof v);
    v.user = fv;
    v.on_start = on_start;
    v.on_end = on_end;
    v.on_data = on_data;
    v.on_error = v.on_resync = on_other;
    v.on_resume = on_resume;
    return v;
}

kvsp_frame_visitor *kvsp_frame_visitor_create(kvsp_fragment_visitor *meta,
                                              const kvsp_frame_options *opts,
                                              const kvsp_visitor *sink)
{
    if (!sink)
        return NULL;
    kvsp_frame_visitor *fv = kvsp_calloc(1, sizeof *fv);
    if (!fv)
        return NULL;
    fv->sink = *sink;
    if (opts)
        fv->opts = *opts;
    if (kvsp_meta_pair_init(&fv->mp, meta, core_visitor(fv)) != 0) {
        kvsp_free(fv);
        return NULL;
    }
    return fv;
}

void kvsp_frame_visitor_destroy(kvsp_frame_visitor *fv)
{
    if (!fv)
        return;
    kvsp_meta_pair_free(&fv->mp);
    kvsp_free(fv->held.data);
    kvsp_free(fv);
}

kvsp_visitor kvsp_frame_visitor_visitor(kvsp_frame_visitor *fv)
{
    return kvsp_meta_pair_visitor(&fv->mp);
}

kvsp_fragment_visitor *kvsp_frame_visitor_metadata(kvsp_frame_visitor *fv)
{
    return fv ? fv->mp.meta : NULL;
}

uint64_t kvsp_frame_visitor_count(const kvsp_frame_visitor *fv)
{
    return fv ? fv->delivered : 0;
}
