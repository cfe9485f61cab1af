/* The segment merger. Events of three subtrees are re-encoded into
 * buffers: the EBML header and Tracks of each fragment (to decide whether it
 * continues the current output Segment) and each Cluster (written once it
 * ends, with its timecode moved onto the output timeline). Data elements are
 * copied byte for byte; masters get 8-byte sizes patched at their end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ebml/element_table.h"
#include "../visitors/meta_pair.h"
#include "ebml_out.h"
#include "kvsparser/merger.h"
#include "segment_writer.h"
#include "fragment_tags.h"
#include "timeline.h"
#include "../alloc_internal.h"

/* Nesting inside a copied subtree (TrackEntry/Video/Colour/..., or
 * BlockGroup/BlockAdditions/...); deeper content is not Matroska. */
#define MAX_COPY_DEPTH 16

typedef enum capture_kind {
    CAPTURE_NONE,
    CAPTURE_EBML,
    CAPTURE_TRACKS,
    CAPTURE_CLUSTER
} capture_kind;

struct kvsp_merger {
    meta_pair mp;
    kvsp_merge_options opts;
    segment_writer sw;
    timeline tl;
    kvsp_merge_stats stats;

    capture_kind capture;
    uint32_t capture_depth; /* reader depth of the subtree's root */
    size_t marks[MAX_COPY_DEPTH];
    uint32_t open_masters; /* copied masters open below the root */
    uint32_t skip_depth;   /* >0: inside a master that is not copied */

    ebml_out ebml_header, tracks;         /* of the current fragment */
    ebml_out seg_ebml_header, seg_tracks; /* of the open output Segment */
    uint64_t seg_scale;
    int seg_open;

    ebml_out cluster;     /* body of the cluster being read */
    int cluster_has_time; /* its Timestamp was written */
    int64_t cluster_in;   /* its input timecode */
    int64_t cluster_out;  /* and output timecode */
    cue_point *pending_cues;
    size_t pending_count, pending_cap;
    size_t group_start; /* BlockGroup being copied: its offset in the body */
    int group_referenced;
    int group_has_block;
    kvsp_block group_block;
    int64_t group_duration; /* its BlockDuration, -1 if none */

    int fragment_placed;    /* its first cluster was placed on the timeline */
    int64_t fragment_delta; /* output - input timecode for its clusters */
    ebml_out fragment_tags; /* its KVS tags, written after its clusters */
};

static int copy_ignored(uint32_t id)
{
    return id == KVSP_ID_CRC32 || id == KVSP_ID_VOID || id == KVSP_ID_POSITION ||
           id == KVSP_ID_PREV_SIZE;
}

/* A known-size input Cluster may hold elements that belong elsewhere (e.g.
 * an EBML header field). Copied into a live-style unknown-size Cluster they
 * would end it, so only what the schema places under a Cluster (and IDs it
 * does not know) is copied. */
static int misplaced(const kvsp_merger *m, const kvsp_event *ev)
{
    return m->capture == CAPTURE_CLUSTER && ev->info &&
           !kvsp_element_has_ancestor(ev->info, KVSP_ID_CLUSTER);
}

static ebml_out *capture_buffer(kvsp_merger *m)
{
    switch (m->capture) {
    case CAPTURE_EBML: return &m->ebml_header;
    case CAPTURE_TRACKS: return &m->tracks;
    case CAPTURE_CLUSTER: return &m->cluster;
    default: return NULL;
    }
}

static void begin_capture(kvsp_merger *m, capture_kind kind, const kvsp_event *ev)
{
    m->capture = kind;
    m->capture_depth = ev->depth;
    m->open_masters = 0;
    m->skip_depth = 0;
    ebml_out *o = capture_buffer(m);
    kvsp_ebml_out_clear(o);
    /* the root itself; a Cluster's header is written later */
    if (kind != CAPTURE_CLUSTER)
        m->marks[0] = kvsp_ebml_out_begin(o, ev->id);
}

/* ---- the open output Segment ---- */

static double ticks_to_ms(int64_t ticks, uint64_t scale)
{
    return (double)ticks * (double)scale / 1e6;
}

static int close_segment(kvsp_merger *m)
{
    if (!m->seg_open)
        return KVSP_OK;
    m->seg_open = 0;
    int64_t end = kvsp_timeline_end(&m->tl);
    m->stats.duration_ms += ticks_to_ms(end, m->seg_scale);
    return kvsp_segment_writer_close(&m->sw, (double)end);
}

static int same_bytes(const ebml_out *a, const ebml_out *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void copy_buffer(ebml_out *dst, const ebml_out *src)
{
    kvsp_ebml_out_clear(dst);
    kvsp_ebml_out_bytes(dst, src->data, src->len);
}

static int open_segment(kvsp_merger *m, const kvsp_fragment *f)
{
    copy_buffer(&m->seg_ebml_header, &m->ebml_header);
    copy_buffer(&m->seg_tracks, &m->tracks);
    if (m->seg_ebml_header.failed || m->seg_tracks.failed)
        return KVSP_ERR_NOMEM;
    m->seg_scale = f ? f->info.timecode_scale : 1000000u;
    kvsp_timeline_reset(&m->tl, m->opts.timeline, m->seg_scale, f ? f->tracks : NULL,
                        f ? f->track_count : 0);
    m->seg_open = 1;
    m->stats.segments++;
    if (m->stats.files == 0)
        m->stats.files = 1;
    return kvsp_segment_writer_open(&m->sw, m->seg_ebml_header.data, m->seg_ebml_header.len,
                                    m->seg_scale, m->seg_tracks.data, m->seg_tracks.len,
                                    m->opts.writing_app);
}

/* The fragment cannot go on in the open Segment: the caller's choice. */
static int split(kvsp_merger *m, const kvsp_fragment *f)
{
    int rc = close_segment(m);
    if (rc)
        return rc;
    if (m->opts.split == KVSP_MERGE_SPLIT_STOP) {
        m->stats.stopped = 1;
        return KVSP_OK;
    }
    if (m->opts.split == KVSP_MERGE_SPLIT_NEW_FILE && m->sw.out.next_file) {
        rc = kvsp_segment_writer_next_file(&m->sw);
        if (rc)
            return rc;
        m->stats.files++;
    }
    return open_segment(m, f);
}

/* ---- clusters ---- */

static int add_cue(kvsp_merger *m, int64_t time, uint64_t track, size_t relative)
{
    if (!m->sw.seekable)
        return KVSP_OK;
    if (m->pending_count == m->pending_cap) {
        size_t cap = m->pending_cap ? m->pending_cap * 2 : 16;
        cue_point *bigger = kvsp_realloc(m->pending_cues, cap * sizeof *bigger);
        if (!bigger)
            return KVSP_ERR_NOMEM;
        m->pending_cues = bigger;
        m->pending_cap = cap;
    }
    cue_point c = {time, track, 0, relative};
    m->pending_cues[m->pending_count++] = c;
    return KVSP_OK;
}

/* The cluster's input timecode is known: place it (and, for its fragment's
 * first cluster, the fragment), opening or splitting the output as needed. */
static int start_cluster(kvsp_merger *m, int64_t tc_in)
{
    const kvsp_fragment *f = kvsp_fragment_visitor_current(m->mp.meta);
    uint64_t scale = f ? f->info.timecode_scale : 1000000u;
    int rc = KVSP_OK;
    if (!m->fragment_placed) {
        if (!m->seg_open)
            rc = open_segment(m, f);
        else if (!same_bytes(&m->ebml_header, &m->seg_ebml_header) ||
                 !same_bytes(&m->tracks, &m->seg_tracks) || scale != m->seg_scale)
            rc = split(m, f);
        if (rc || m->stats.stopped)
            return rc;
        int64_t gap;
        m->fragment_delta = kvsp_timeline_place(&m->tl, f, tc_in, &gap);
        if (gap > 0) {
            m->stats.gaps++;
            m->stats.gap_ms += ticks_to_ms(gap, scale);
        }
        m->fragment_placed = 1;
        m->stats.fragments_written++;
        kvsp_fragment_tags_build(&m->fragment_tags, m->opts.drop_kvs_tags ? NULL : f);
        if (m->fragment_tags.failed)
            return KVSP_ERR_NOMEM;
    }
    int64_t tc_out = tc_in + m->fragment_delta;
    if (tc_out < 0)
        tc_out = 0;
    if (kvsp_timeline_goes_back(&m->tl, tc_out)) {
        rc = split(m, f);
        if (rc || m->stats.stopped)
            return rc;
    }
    m->cluster_out = tc_out;
    m->cluster_has_time = 1;
    m->pending_count = 0;
    kvsp_ebml_out_uint(&m->cluster, KVSP_ID_CLUSTER_TIMECODE, (uint64_t)tc_out);
    kvsp_timeline_cluster(&m->tl, tc_out);
    if (!m->tl.has_cue_track) /* audio only: a cue point per cluster */
        return add_cue(m, tc_out, m->tl.first_track, 0);
    return KVSP_OK;
}

static int flush_cluster(kvsp_merger *m)
{
    ebml_out *o = &m->cluster;
    while (m->open_masters) /* input cut inside a BlockGroup */
        kvsp_ebml_out_end(o, m->marks[m->open_masters--]);
    m->capture = CAPTURE_NONE;
    if (!m->cluster_has_time)
        return KVSP_OK; /* empty, or ignored after a stop */
    m->cluster_has_time = 0;
    if (o->failed)
        return KVSP_ERR_NOMEM;
    m->stats.clusters++;
    return kvsp_segment_writer_cluster(&m->sw, o->data, o->len, m->pending_cues, m->pending_count);
}

static int block(kvsp_merger *m, const kvsp_block *b, size_t position, int keyframe,
                 int64_t duration)
{
    int64_t time = m->cluster_out + b->timecode;
    kvsp_timeline_block(&m->tl, b->track, time, b->frame_count, duration);
    m->stats.frames += b->frame_count;
    m->stats.blocks++;
    if (keyframe && m->tl.has_cue_track && b->track == m->tl.cue_track)
        return add_cue(m, time, b->track, position);
    return KVSP_OK;
}

/* ---- fragments ---- */

static int end_fragment(kvsp_merger *m)
{
    int rc = KVSP_OK;
    if (m->fragment_placed && m->seg_open && m->fragment_tags.len)
        rc = kvsp_segment_writer_element(&m->sw, m->fragment_tags.data, m->fragment_tags.len, 1);
    m->fragment_placed = 0;
    kvsp_ebml_out_clear(&m->fragment_tags);
    return rc;
}

/* ---- events ---- */

static int check_order(kvsp_merger *m)
{
    return meta_pair_check(&m->mp);
}

static int on_start(void *user, const kvsp_event *ev)
{
    kvsp_merger *m = user;
    int rc = check_order(m);
    if (rc || m->stats.stopped)
        return rc;
    if (m->capture != CAPTURE_NONE) {
        if (m->skip_depth || copy_ignored(ev->id) || misplaced(m, ev) ||
            m->open_masters + 1 >= MAX_COPY_DEPTH) {
            m->skip_depth++;
            return KVSP_OK;
        }
        if (m->capture == CAPTURE_CLUSTER) {
            if (!m->cluster_has_time && (rc = start_cluster(m, 0)) != KVSP_OK)
                return rc;
            if (ev->id == KVSP_ID_BLOCKGROUP && m->open_masters == 0) {
                m->group_start = m->cluster.len;
                m->group_referenced = 0;
                m->group_has_block = 0;
                m->group_duration = -1;
            }
        }
        m->marks[++m->open_masters] = kvsp_ebml_out_begin(capture_buffer(m), ev->id);
        return KVSP_OK;
    }
    switch (ev->id) {
    case KVSP_ID_EBML: begin_capture(m, CAPTURE_EBML, ev); break;
    case KVSP_ID_SEGMENT:
        m->stats.fragments++;
        m->fragment_placed = 0;
        break;
    case KVSP_ID_TRACKS: begin_capture(m, CAPTURE_TRACKS, ev); break;
    case KVSP_ID_CLUSTER: begin_capture(m, CAPTURE_CLUSTER, ev); break;
    default: break;
    }
    return KVSP_OK;
}

static int on_data(void *user, const kvsp_event *ev)
{
    kvsp_merger *m = user;
    int rc = check_order(m);
    if (rc || m->stats.stopped || m->capture == CAPTURE_NONE || m->skip_depth ||
        copy_ignored(ev->id) || misplaced(m, ev))
        return rc;
    ebml_out *o = capture_buffer(m);
    if (m->capture == CAPTURE_CLUSTER) {
        if (ev->id == KVSP_ID_CLUSTER_TIMECODE && m->open_masters == 0) {
            if (m->cluster_has_time)
                return KVSP_OK; /* a second Timestamp: the first one counts */
            return start_cluster(m, (int64_t)ev->value.u);
        }
        if (!m->cluster_has_time && (rc = start_cluster(m, 0)) != KVSP_OK)
            return rc;
        if (m->stats.stopped)
            return KVSP_OK;
        if (ev->block && ev->id == KVSP_ID_SIMPLEBLOCK && m->open_masters == 0)
            rc = block(m, ev->block, o->len, ev->block->keyframe, -1);
        else if (ev->block && ev->id == KVSP_ID_BLOCK) {
            m->group_block = *ev->block;
            m->group_has_block = 1;
        } else if (ev->id == KVSP_ID_REFERENCE_BLOCK)
            m->group_referenced = 1;
        else if (ev->id == KVSP_ID_BLOCK_DURATION && m->open_masters == 1 &&
                 ev->value_type == KVSP_TYPE_UINT && ev->value.u <= (uint64_t)INT64_MAX)
            m->group_duration = (int64_t)ev->value.u;
    }
    kvsp_ebml_out_id(o, ev->id);
    kvsp_ebml_out_size(o, ev->data_size, 0);
    kvsp_ebml_out_bytes(o, ev->data, ev->data_size);
    return rc;
}

static int on_end(void *user, const kvsp_event *ev)
{
    kvsp_merger *m = user;
    int rc = check_order(m);
    if (rc || m->stats.stopped)
        return rc;
    if (m->capture != CAPTURE_NONE && ev->depth > m->capture_depth) {
        if (m->skip_depth) {
            m->skip_depth--;
            return KVSP_OK;
        }
        if (!m->open_masters)
            return KVSP_OK;
        kvsp_ebml_out_end(capture_buffer(m), m->marks[m->open_masters--]);
        if (m->capture == CAPTURE_CLUSTER && ev->id == KVSP_ID_BLOCKGROUP && m->open_masters == 0 &&
            m->group_has_block)
            return block(m, &m->group_block, m->group_start, !m->group_referenced,
                         m->group_duration);
        return KVSP_OK;
    }
    if (m->capture == CAPTURE_CLUSTER && ev->depth == m->capture_depth)
        return flush_cluster(m);
    if (m->capture != CAPTURE_NONE && ev->depth == m->capture_depth) {
        ebml_out *o = capture_buffer(m);
        kvsp_ebml_out_end(o, m->marks[0]);
        m->capture = CAPTURE_NONE;
        /* a copy cut short would be written as it is */
        return o->failed ? KVSP_ERR_NOMEM : KVSP_OK;
    }
    if (ev->id == KVSP_ID_SEGMENT)
        return end_fragment(m);
    return KVSP_OK;
}

static int on_other(void *user, const kvsp_event *ev)
{
    (void)ev;
    return check_order(user);
}

static kvsp_visitor core_visitor(kvsp_merger *m)
{
    kvsp_visitor v;
    memset(&v, 0, sizeof v);
    v.user = m;
    v.on_start = on_start;
    v.on_end = on_end;
    v.on_data = on_data;
    v.on_error = v.on_resync = on_other;
    return v;
}

/* ---- lifetime ---- */

kvsp_merger *kvsp_merger_create(kvsp_fragment_visitor *meta, const kvsp_merge_options *opts,
                                const kvsp_merge_output *out)
{
    if (!out || !out->write)
        return NULL;
    kvsp_merger *m = kvsp_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (opts)
        m->opts = *opts;
    kvsp_segment_writer_init(&m->sw, out);
    if (kvsp_meta_pair_init(&m->mp, meta, core_visitor(m)) != 0) {
        kvsp_merger_destroy(m);
        return NULL;
    }
    return m;
}

void kvsp_merger_destroy(kvsp_merger *m)
{
    if (!m)
        return;
    kvsp_meta_pair_free(&m->mp);
    kvsp_segment_writer_free(&m->sw);
    kvsp_ebml_out_free(&m->ebml_header);
    kvsp_ebml_out_free(&m->tracks);
    kvsp_ebml_out_free(&m->seg_ebml_header);
    kvsp_ebml_out_free(&m->seg_tracks);
    kvsp_ebml_out_free(&m->cluster);
    kvsp_ebml_out_free(&m->fragment_tags);
    kvsp_free(m->pending_cues);
    kvsp_free(m);
}

kvsp_visitor kvsp_merger_visitor(kvsp_merger *m)
{
    return kvsp_meta_pair_visitor(&m->mp);
}

int kvsp_merger_finish(kvsp_merger *m)
{
    if (!m)
        return KVSP_ERR_INVALID_ARG;
    int rc = KVSP_OK;
    if (!m->stats.stopped) {
        /* Input cut inside a cluster: its complete blocks are kept. */
        if (m->capture == CAPTURE_CLUSTER)
            rc = flush_cluster(m);
        m->capture = CAPTURE_NONE;
        int rc2 = end_fragment(m);
        rc = rc ? rc : rc2;
    }
    int rc3 = close_segment(m);
    return rc ? rc : rc3 ? rc3 : m->sw.error;
}

const kvsp_merge_stats *kvsp_merger_stats(const kvsp_merger *m)
{
    return m ? &m->stats : NULL;
}
