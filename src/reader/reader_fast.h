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
#include "../ebml/element_header.h"
#include "event_fill.h"
#include "reader_internal.h"

/* The status kvsp_reader_step reports for a data element of this type and
 * size, KVSP_OK if none: the limit on elements, the format's rule for the
 * type (kvsp_ebml_value_size_status), the limit on strings. */
static inline int kvsp_reader_data_size_status(const kvsp_reader *r, kvsp_type type, uint64_t size)
{
    if (size > r->opts.limits.max_element_size)
        return KVSP_ERR_ELEMENT_TOO_LARGE;
    int st = kvsp_ebml_value_size_status(type, size);
    if (st == KVSP_OK && (type == KVSP_TYPE_STRING || type == KVSP_TYPE_UTF8) &&
        size > r->opts.limits.max_string_size)
        st = KVSP_ERR_STRING_TOO_LONG;
    return st;
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
 * size limit), which simple_block_fast stands for. One per frame. An
 * unknown size (KVSP_SIZE_UNKNOWN) is above any fast_end: the general path. */
static KVSP_ALWAYS_INLINE int kvsp_fast_simple_block(kvsp_reader *r, kvsp_event *ev,
                                                     const open_master *top, const uint8_t *in,
                                                     unsigned header_size, uint64_t size)
{
    uint64_t pos = r->pos;
    uint64_t data_pos = pos + header_size;
    size_t in_pos = r->in_pos;
    if (data_pos > top->fast_end || size > top->fast_end - data_pos ||
        size > r->opts.limits.max_element_size || size > r->in_len - in_pos - header_size ||
        (top->size == KVSP_SIZE_UNKNOWN &&
         !kvsp_belongs_to(top, r->simple_block_info, KVSP_ID_SIMPLEBLOCK)))
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
    uint32_t id;
    uint64_t size;
    unsigned header_size = kvsp_ebml_header_fast(in, &id, &size);
    if (!header_size)
        return kvsp_reader_step(r, ev); /* it reports the error */
    if (id == KVSP_ID_SIMPLEBLOCK && r->simple_block_fast)
        return kvsp_fast_simple_block(r, ev, top, in, header_size, size);
    uint64_t data_pos = pos + header_size;
    unsigned slot = kvsp_element_slot(id);
    /* An unknown size (KVSP_SIZE_UNKNOWN, above any fast_end) never fits.
     * Unknown IDs (slot 0), reserved ones among them, take the general path,
     * and so does an element that ends a master of unknown size. */
    if (!slot || data_pos > top->fast_end || size > top->fast_end - data_pos ||
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
    if (kvsp_reader_data_size_status(r, info->type, size) != KVSP_OK ||
        size > r->in_len - in_pos - header_size)
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
