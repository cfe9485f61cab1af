/* The reader's per-element fast path, inline in both kvsp_reader_next and
 * kvsp_reader_run so that the run loop pays no call per element.
 *
 * The common case in one pass: at an element boundary, with the whole header
 * in the current chunk, a schema element of known size to be delivered,
 * inside a known-size master with room for it (and, for a data element, its
 * payload in the chunk too), is read and delivered here, with the header
 * kept in registers rather than in the reader. Everything else (headers that
 * straddle chunks, unknown sizes, filters, unknown or reserved IDs, limits,
 * errors, end of input) goes through kvsp_reader_step, which parses the same
 * bytes again and gives the same events: this path only saves work. */
#ifndef KVSP_READER_FAST_H
#define KVSP_READER_FAST_H

#include <string.h>

#include "../compiler.h"
#include "block.h"
#include "../ebml/element_table.h"
#include "reader_internal.h"
#include "../ebml/vint.h"


/* Big-endian loads; memcpy keeps them legal at any alignment and compiles
 * to one load. */
static inline uint32_t kvsp_load_be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return __builtin_bswap32(v);
}

static inline uint64_t kvsp_load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return __builtin_bswap64(v);
}

/* Every field is written once (no memset first): this runs for every event. */
static KVSP_ALWAYS_INLINE void kvsp_event_fill(kvsp_event *ev, kvsp_event_type type, uint32_t id,
                                               const kvsp_element_info *info, uint64_t offset,
                                               uint32_t header_size, uint64_t size, uint32_t depth)
{
    ev->type = type;
    ev->id = id;
    ev->name = info ? info->name : "Unknown";
    ev->info = info;
    ev->value_type = info ? info->type : KVSP_TYPE_UNKNOWN;
    ev->offset = offset;
    ev->header_size = header_size;
    ev->size = size;
    ev->end_offset = 0;
    ev->depth = depth;
    ev->value.u = 0;
    ev->data = NULL;
    ev->data_size = 0;
    ev->block = NULL;
    ev->status = 0;
    ev->skipped = 0;
}

/* Big-endian value of p[0..n), n <= 8. */
static inline uint64_t kvsp_be_value(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The event's value from its payload (ev->value_type set; sizes checked). */
static inline void kvsp_event_decode(kvsp_event *ev, const uint8_t *p, size_t n)
{
    switch (ev->value_type) {
    case KVSP_TYPE_UINT: ev->value.u = kvsp_be_value(p, n); break;
    case KVSP_TYPE_INT:
    case KVSP_TYPE_DATE: {
        uint64_t v = kvsp_be_value(p, n);
        if (n && n < 8 && (p[0] & 0x80))
            v |= UINT64_MAX << (8 * n); /* sign extension */
        ev->value.i = (int64_t)v;
        break;
    }
    case KVSP_TYPE_FLOAT:
        if (n == 4) {
            uint32_t bits = (uint32_t)kvsp_be_value(p, 4);
            float f;
            memcpy(&f, &bits, sizeof f);
            ev->value.f = f;
        } else if (n == 8) {
            uint64_t bits = kvsp_be_value(p, 8);
            memcpy(&ev->value.f, &bits, sizeof ev->value.f);
        }
        break;
    default:
        break;
    }
}

/* Whether a data element's size suits its type and the limits (what
 * kvsp_reader_step would otherwise refuse with an error). */
static inline int kvsp_data_size_ok(const kvsp_reader *r, kvsp_type type, uint64_t size)
{
    if (size > r->opts.limits.max_element_size)
        return 0;
    switch (type) {
    case KVSP_TYPE_UINT:
    case KVSP_TYPE_INT:
    case KVSP_TYPE_DATE: return size <= 8;
    case KVSP_TYPE_FLOAT: return size == 0 || size == 4 || size == 8;
    case KVSP_TYPE_STRING:
    case KVSP_TYPE_UTF8: return size <= r->opts.limits.max_string_size;
    default: return 1;
    }
}

static KVSP_ALWAYS_INLINE int kvsp_fast_block(kvsp_reader *r, kvsp_event *ev, int simple,
                                             const kvsp_element_info *info, uint64_t pos,
                                             const uint8_t *p, size_t n)
{
    int st = kvsp_block_parse_inline(&r->block, r->lace_sizes, simple, p, n);
    if (st != KVSP_OK)
        return kvsp_reader_block_error(r, ev, st, info, pos);
    ev->block = &r->block;
    return KVSP_OK;
}

/* A SimpleBlock (a 1-byte ID) whose header is at in[0..header_size): the
 * checks and the event of the path below for it, without the table lookup,
 * the filter and the type's size rule (a binary element: only the element
 * size limit), which simple_block_fast stands for. One per frame. */
static KVSP_ALWAYS_INLINE int kvsp_fast_simple_block(kvsp_reader *r, kvsp_event *ev,
                                                     const open_master *top, const uint8_t *in,
                                                     unsigned header_size, uint64_t size,
                                                     uint64_t all_ones)
{
    uint64_t pos = r->pos;
    uint64_t data_pos = pos + header_size;
    size_t in_pos = r->in_pos;
    if (size == all_ones || data_pos > top->fast_end || size > top->fast_end - data_pos ||
        size > r->opts.limits.max_element_size || size > r->in_len - in_pos - header_size ||
        (top->size == KVSP_SIZE_UNKNOWN && !kvsp_belongs_to(top, r->simple_block_info, KVSP_ID_SIMPLEBLOCK)))
        return kvsp_reader_step(r, ev);
    const uint8_t *p = in + header_size;
    size_t n = (size_t)size;
    r->in_pos = in_pos + header_size + n;
    r->pos = data_pos + n;
    kvsp_event_fill(ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK, r->simple_block_info, pos, header_size,
                    size, r->depth);
    ev->end_offset = data_pos + n;
    ev->data = n ? p : (const uint8_t *)"";
    ev->data_size = n;
    return kvsp_fast_block(r, ev, 1, r->simple_block_info, pos, p, n);
}

/* One step from an element boundary (state ST_HEADER, no header bytes
 * held): KVSP_OK with *ev filled, KVSP_NO_EVENT, or a status. */
static KVSP_ALWAYS_INLINE int kvsp_reader_next_fast(kvsp_reader *r, kvsp_event *ev)
{
    uint32_t depth = r->depth;
    if (depth == 0)
        return kvsp_reader_step(r, ev); /* top level: an EBML header or Segment */
    open_master *top = &r->stack[depth - 1];
    uint64_t pos = r->pos;
    if (top->limit == pos)
        return kvsp_reader_pop(r, ev, pos);
    size_t in_pos = r->in_pos;
    if (r->in_len - in_pos < 12) /* the longest header: 4-byte ID + 8-byte size */
        return kvsp_reader_step(r, ev);
    const uint8_t *in = r->in + in_pos;
    unsigned id_len = kvsp_vint_length(in[0]);
    unsigned size_len = kvsp_vint_length(in[id_len & 7]);
    if (id_len == 0 || id_len > 4 || size_len == 0)
        return kvsp_reader_step(r, ev); /* it reports the error */
    uint32_t id = kvsp_load_be32(in) >> (32 - 8 * id_len);
    uint64_t all_ones = ((uint64_t)1 << (7 * size_len)) - 1;
    uint64_t size = (kvsp_load_be64(in + id_len) >> (64 - 8 * size_len)) & all_ones;
    unsigned header_size = id_len + size_len;
    if (id == KVSP_ID_SIMPLEBLOCK && r->simple_block_fast)
        return kvsp_fast_simple_block(r, ev, top, in, header_size, size, all_ones);
    uint64_t data_pos = pos + header_size;
    unsigned slot = kvsp_element_slot(id);
    /* An unknown size (all ones) never fits. Unknown IDs (slot 0), reserved
     * ones among them, take the general path, and so does an element that
     * ends a master of unknown size. */
    if (!slot || size == all_ones || data_pos > top->fast_end || size > top->fast_end - data_pos ||
        r->filter[slot - 1] != KVSP_FILTER_DELIVER)
        return kvsp_reader_step(r, ev);
    const kvsp_element_info *info = &kvsp_element_table[slot - 1];
    if (top->size == KVSP_SIZE_UNKNOWN && !kvsp_belongs_to(top, info, id))
        return kvsp_reader_step(r, ev);
    if (info->type == KVSP_TYPE_MASTER) {
        if (depth >= r->opts.limits.max_depth)
            return kvsp_reader_step(r, ev); /* it reports the error */
        open_master *m = top + 1;
        m->info = info;
        m->id = id;
        m->header_size = header_size;
        m->offset = pos;
        m->size = size;
        m->limit = m->fast_end = data_pos + size; /* within top's limit: no overflow */
        m->action = KVSP_FILTER_DELIVER;
        r->depth = depth + 1;
        r->in_pos = in_pos + header_size;
        r->pos = data_pos;
        kvsp_event_fill(ev, KVSP_EV_START, id, info, pos, header_size, size, depth);
        if (depth < r->content_depth_max && size <= r->content_max &&
            size <= r->in_len - in_pos - header_size) {
            ev->data = in + header_size;
            ev->data_size = (size_t)size;
        }
        return KVSP_OK;
    }
    if (!kvsp_data_size_ok(r, info->type, size) || size > r->in_len - in_pos - header_size)
        return kvsp_reader_step(r, ev); /* an error, or a payload to collect across chunks */
    const uint8_t *p = in + header_size;
    size_t n = (size_t)size;
    r->in_pos = in_pos + header_size + n;
    r->pos = data_pos + n;
    kvsp_event_fill(ev, KVSP_EV_DATA, id, info, pos, header_size, size, depth);
    ev->end_offset = data_pos + n;
    ev->data = n ? p : (const uint8_t *)"";
    ev->data_size = n;
    kvsp_event_decode(ev, p, n);
    if (id == KVSP_ID_SIMPLEBLOCK || id == KVSP_ID_BLOCK)
        return kvsp_fast_block(r, ev, id == KVSP_ID_SIMPLEBLOCK, info, pos, p, n);
    return KVSP_OK;
}

#endif
