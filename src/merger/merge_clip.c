/* The merger's clip (kvsparser/merger.h, kvsp merge --from/--to, the Python
 * package's kvsp.merge of a range): the clip starts at the keyframe at or
 * before `from` and ends with the last frame at or before `to`.
 *
 * The keyframe is only known once a frame at or after `from` has been
 * seen, so the input is read twice over as it arrives: a look-ahead reader
 * (A, a frame visitor) sees every chunk first, while the bytes are held
 * from the start (EBML header) of the fragment of the latest keyframe at or
 * before `from`; earlier held bytes are dropped as later keyframes come,
 * so what is held is about one fragment (at most MERGE_CLIP_MAX_HOLD).
 * Once A sees a frame at or after `from`, the held bytes and everything
 * after them go to the merger's reader (B), whose blocks are filtered by
 * time: SimpleBlocks and BlockGroups before that keyframe or after `to`
 * are not copied. A BlockGroup's start is held until its Block gives the
 * time (writers put the Block first; a group with another child before its
 * Block is copied as it is). A Cluster reaches the merger only with its
 * first block kept: its start and Timestamp are held until then, so no
 * empty clusters are written. "The merger" is any downstream visitor: the
 * MKV merger, or the MP4 sink (kvsp merge -o clip.mp4).
 *
 * Times are on the chosen timeline by the rule of every time range
 * (kvsp_frame_time_ms, kvsp_block_time_ms in frames.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kvsparser/frames.h"
#include "kvsparser/merger.h"
#include "kvsparser/reader.h"

#include "../alloc_internal.h"

#define MERGE_CLIP_MAX_HOLD ((size_t)1 << 30)

struct kvsp_merge_clip {
    kvsp_merge_clip_options opts;
    /* A: the look-ahead */
    kvsp_reader *ra;
    kvsp_frame_visitor *frames;
    kvsp_composite *a_pair;
    kvsp_visitor va;
    uint64_t fragment_start; /* A's offset of the current fragment's EBML header */
    double key_ms;           /* the latest keyframe at or before from */
    uint64_t key_start;      /* where its fragment starts */
    int have_key, found;
    /* the held bytes, from stream offset held_base */
    uint8_t *held;
    size_t held_len, held_cap;
    uint64_t held_base;
    /* B: the merger's */
    kvsp_reader *rb;
    kvsp_fragment_visitor *meta;
    kvsp_visitor merger;
    kvsp_composite *b_pair;
    kvsp_visitor vb;
    int passing;
    int64_t cluster_tc;
    double start_ms;
    /* the Cluster held back until a block of it is kept */
    int cluster_held, cluster_sent;
    uint32_t cluster_depth;
    kvsp_event cluster_start, cluster_time;
    uint8_t time_bytes[16];
    /* the BlockGroup being read */
    enum { GROUP_NONE, GROUP_HELD, GROUP_COPIED, GROUP_DROPPED } group;
    uint32_t group_depth;
    kvsp_event group_start;
};

static int send_cluster(kvsp_merge_clip *m)
{
    if (!m->cluster_held || m->cluster_sent)
        return KVSP_OK;
    m->cluster_sent = 1;
    int st = kvsp_visitor_dispatch(&m->merger, &m->cluster_start);
    if (st == KVSP_OK && m->cluster_time.id)
        st = kvsp_visitor_dispatch(&m->merger, &m->cluster_time);
    return st;
}

/* The held BlockGroup's start goes out (after its Cluster's, if held). */
static int send_group(kvsp_merge_clip *m)
{
    m->group = GROUP_COPIED;
    int st = send_cluster(m);
    return st == KVSP_OK ? kvsp_visitor_dispatch(&m->merger, &m->group_start) : st;
}

static int a_start(void *user, const kvsp_event *ev)
{
    kvsp_merge_clip *m = user;
    if (ev->id == KVSP_ID_EBML && ev->depth == 0)
        m->fragment_start = ev->offset;
    return KVSP_OK;
}

static int a_frame(void *user, const kvsp_frame *f)
{
    kvsp_merge_clip *m = user;
    double t;
    if (m->found || kvsp_frame_time_ms(f, m->opts.server, &t) != KVSP_OK)
        return KVSP_OK;
    if (t < m->opts.from_ms) {
        if (f->keyframe &&
            (!f->track_info || f->track_info->type == KVSP_TRACK_VIDEO || !m->have_key)) {
            m->key_ms = t;
            m->key_start = m->fragment_start;
            m->have_key = 1;
        }
        return KVSP_OK;
    }
    if (f->keyframe && t == m->opts.from_ms) { /* the keyframe at `from` itself */
        m->key_ms = t;
        m->key_start = m->fragment_start;
        m->have_key = 1;
    }
    m->found = 1;
    m->start_ms = m->have_key ? m->key_ms : m->opts.from_ms;
    return KVSP_OK;
}

/* B's filter: the block's time on the --timestamp timeline, as a frame's. */
static int b_data(void *user, const kvsp_event *ev)
{
    kvsp_merge_clip *m = user;
    if (m->group == GROUP_DROPPED && ev->depth > m->group_depth)
        return KVSP_OK;
    if (m->group == GROUP_HELD && ev->depth > m->group_depth) {
        double t;
        if (ev->id == KVSP_ID_BLOCK && ev->block &&
            (kvsp_block_time_ms(kvsp_fragment_visitor_current(m->meta), m->cluster_tc,
                                ev->block->timecode, m->opts.server, &t) != KVSP_OK ||
             !(t >= m->start_ms && t <= m->opts.to_ms))) {
            m->group = GROUP_DROPPED; /* not copied, nor the rest of the group */
            return KVSP_OK;
        }
        int st = send_group(m); /* kept, or another child first: copied as it is */
        return st == KVSP_OK ? kvsp_visitor_dispatch(&m->merger, ev) : st;
    }
    int in_held = m->cluster_held && !m->cluster_sent && ev->depth == m->cluster_depth + 1;
    if (ev->id == KVSP_ID_CLUSTER_TIMECODE && ev->value_type == KVSP_TYPE_UINT)
        m->cluster_tc = (int64_t)ev->value.u;
    if (in_held && ev->id == KVSP_ID_CLUSTER_TIMECODE && !m->cluster_time.id &&
        ev->data_size <= sizeof m->time_bytes) {
        m->cluster_time = *ev; /* its bytes, which the reader may move, copied */
        memcpy(m->time_bytes, ev->data, ev->data_size);
        m->cluster_time.data = m->time_bytes;
        return KVSP_OK;
    }
    if (ev->id == KVSP_ID_SIMPLEBLOCK && ev->block) {
        double t;
        if (kvsp_block_time_ms(kvsp_fragment_visitor_current(m->meta), m->cluster_tc,
                               ev->block->timecode, m->opts.server, &t) != KVSP_OK ||
            !(t >= m->start_ms && t <= m->opts.to_ms))
            return KVSP_OK; /* not copied */
        int st = send_cluster(m);
        if (st != KVSP_OK)
            return st;
    } else if (in_held) {
        return KVSP_OK; /* Position, PrevSize, Void...: the merger rewrites those anyway */
    }
    return kvsp_visitor_dispatch(&m->merger, ev);
}

static int b_start(void *user, const kvsp_event *ev)
{
    kvsp_merge_clip *m = user;
    if (m->group == GROUP_DROPPED && ev->depth > m->group_depth)
        return KVSP_OK;
    if (m->group == GROUP_HELD && ev->depth > m->group_depth) {
        int st = send_group(m); /* a master before the Block: the group is copied */
        return st == KVSP_OK ? kvsp_visitor_dispatch(&m->merger, ev) : st;
    }
    if (ev->id == KVSP_ID_BLOCKGROUP && m->group == GROUP_NONE) {
        m->group = GROUP_HELD; /* until its Block says when it is */
        m->group_depth = ev->depth;
        m->group_start = *ev;
        return KVSP_OK;
    }
    if (ev->id == KVSP_ID_CLUSTER) {
        m->cluster_held = 1;
        m->cluster_sent = 0;
        m->cluster_depth = ev->depth;
        m->cluster_start = *ev;
        memset(&m->cluster_time, 0, sizeof m->cluster_time);
        return KVSP_OK;
    }
    if (m->cluster_held && !m->cluster_sent && ev->depth > m->cluster_depth) {
        int st = send_cluster(m); /* a BlockGroup or another master: copied as it is */
        if (st != KVSP_OK)
            return st;
    }
    return kvsp_visitor_dispatch(&m->merger, ev);
}

static int b_end(void *user, const kvsp_event *ev)
{
    kvsp_merge_clip *m = user;
    if (m->group != GROUP_NONE && ev->depth >= m->group_depth) {
        if (ev->depth > m->group_depth && m->group == GROUP_DROPPED)
            return KVSP_OK;
        if (ev->depth == m->group_depth && ev->id == KVSP_ID_BLOCKGROUP) {
            int copied = m->group == GROUP_COPIED;
            m->group = GROUP_NONE;
            if (!copied)
                return KVSP_OK; /* dropped, or without a Block */
        }
    }
    if (m->cluster_held && ev->depth == m->cluster_depth && ev->id == KVSP_ID_CLUSTER) {
        int sent = m->cluster_sent;
        m->cluster_held = m->cluster_sent = 0;
        if (!sent)
            return KVSP_OK; /* no block kept: the cluster is not written */
    }
    return kvsp_visitor_dispatch(&m->merger, ev);
}

static int b_other(void *user, const kvsp_event *ev)
{
    kvsp_merge_clip *m = user;
    return kvsp_visitor_dispatch(&m->merger, ev);
}

static int b_resync(void *user, const kvsp_event *ev)
{
    kvsp_merge_clip *m = user;
    m->group = GROUP_NONE; /* the group's end will not come */
    return kvsp_visitor_dispatch(&m->merger, ev);
}

kvsp_merge_clip *kvsp_merge_clip_create(const kvsp_merge_clip_options *opts,
                                        kvsp_fragment_visitor *meta, kvsp_merger *merger)
{
    if (!merger)
        return NULL;
    kvsp_visitor v = kvsp_merger_visitor(merger);
    return kvsp_merge_clip_create_for(opts, meta, &v);
}

kvsp_merge_clip *kvsp_merge_clip_create_for(const kvsp_merge_clip_options *opts,
                                            kvsp_fragment_visitor *meta,
                                            const kvsp_visitor *downstream)
{
    if (!opts || !meta || !downstream || isnan(opts->from_ms) || isnan(opts->to_ms))
        return NULL;
    kvsp_merge_clip *m = kvsp_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->opts = *opts;
    m->meta = meta;
    m->merger = *downstream;
    kvsp_visitor sink;
    memset(&sink, 0, sizeof sink);
    sink.on_frame = a_frame;
    sink.user = m;
    m->frames = kvsp_frame_visitor_create(NULL, NULL, &sink);
    kvsp_visitor a[2], b[2];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    if (m->frames)
        a[0] = kvsp_frame_visitor_visitor(m->frames);
    a[1].on_start = a_start;
    a[1].user = m;
    b[0] = kvsp_fragment_visitor_visitor(meta);
    b[1].on_start = b_start;
    b[1].on_end = b_end;
    b[1].on_data = b_data;
    b[1].on_error = b_other;
    b[1].on_resync = b_resync;
    b[1].user = m;
    m->a_pair = m->frames ? kvsp_composite_create(a, 2) : NULL;
    m->b_pair = kvsp_composite_create(b, 2);
    m->ra = kvsp_reader_create(&opts->reader);
    m->rb = kvsp_reader_create(&opts->reader);
    if (!m->a_pair || !m->b_pair || !m->ra || !m->rb) {
        kvsp_merge_clip_destroy(m);
        return NULL;
    }
    m->va = kvsp_composite_visitor(m->a_pair);
    m->vb = kvsp_composite_visitor(m->b_pair);
    return m;
}

void kvsp_merge_clip_destroy(kvsp_merge_clip *m)
{
    if (!m)
        return;
    kvsp_composite_destroy(m->a_pair);
    kvsp_composite_destroy(m->b_pair);
    kvsp_frame_visitor_destroy(m->frames);
    kvsp_reader_destroy(m->ra);
    kvsp_reader_destroy(m->rb);
    kvsp_free(m->held);
    kvsp_free(m);
}

static int push_b(kvsp_merge_clip *m, const void *data, size_t len)
{
    int st = kvsp_reader_push(m->rb, data, len, &m->vb);
    while (st == KVSP_PAUSED)
        st = kvsp_reader_run(m->rb, &m->vb);
    return st == KVSP_NEED_DATA ? KVSP_OK : st;
}

static int hold(kvsp_merge_clip *m, const void *data, size_t len)
{
    /* drop what is before the fragment of the latest keyframe */
    if (m->have_key && m->key_start > m->held_base) {
        size_t drop = (size_t)(m->key_start - m->held_base);
        if (drop > m->held_len)
            drop = m->held_len;
        if (drop < m->held_len) /* (nothing held yet: held is NULL, no move) */
            memmove(m->held, m->held + drop, m->held_len - drop);
        m->held_len -= drop;
        m->held_base += drop;
    }
    if (len > MERGE_CLIP_MAX_HOLD - m->held_len)
        return KVSP_ERR_ELEMENT_TOO_LARGE;
    if (m->held_len + len > m->held_cap) {
        size_t cap = m->held_cap ? m->held_cap : 1 << 20;
        while (cap < m->held_len + len)
            cap *= 2;
        uint8_t *bigger = kvsp_realloc(m->held, cap);
        if (!bigger)
            return KVSP_ERR_NOMEM;
        m->held = bigger;
        m->held_cap = cap;
    }
    memcpy(m->held + m->held_len, data, len);
    m->held_len += len;
    return KVSP_OK;
}

int kvsp_merge_clip_feed(kvsp_merge_clip *m, const void *data, size_t len)
{
    if (m->passing)
        return push_b(m, data, len);
    int st = kvsp_reader_push(m->ra, data, len, &m->va);
    while (st == KVSP_PAUSED)
        st = kvsp_reader_run(m->ra, &m->va);
    if (st < 0 && st != KVSP_NEED_DATA)
        return st;
    st = hold(m, data, len);
    if (st < 0 || !m->found)
        return st;
    /* the start is known: from the keyframe's fragment on, to B */
    size_t skip =
        m->have_key && m->key_start > m->held_base ? (size_t)(m->key_start - m->held_base) : 0;
    m->passing = 1;
    st = skip < m->held_len ? push_b(m, m->held + skip, m->held_len - skip) : KVSP_OK;
    kvsp_free(m->held);
    m->held = NULL;
    m->held_len = m->held_cap = 0;
    return st;
}

int kvsp_merge_clip_finish(kvsp_merge_clip *m)
{
    if (!m->passing)
        return KVSP_OK; /* no frame in the range: an empty clip */
    kvsp_reader_finish(m->rb);
    int st;
    do
        st = kvsp_reader_run(m->rb, &m->vb);
    while (st == KVSP_PAUSED);
    return st == KVSP_DONE ? KVSP_OK : st;
}

const kvsp_reader *kvsp_merge_clip_reader(const kvsp_merge_clip *m)
{
    return m->passing ? m->rb : m->ra;
}
