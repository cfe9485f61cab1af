/* The in-place content cursor (kvsparser/content.h), inline: the reader
 * layer's documented internal interface for the visitors. The fragment
 * visitor reads the small masters of every fragment with it (a call per
 * element cost a fifth of the element); kvsp_content_next (reader_api.c) is
 * the same step for everyone else. It needs only the ebml layer and the
 * event filling shared with the reader (event_fill.h), not the reader's
 * state: a visitor including it sees no kvsp_reader internals.
 *
 * Who may include it: the reader (reader_api.c) and src/visitors/ (today
 * fragment_visitor.c). Nothing else: other code uses kvsparser/content.h.
 *
 * It repeats the reader's checks for the elements it accepts, so that what
 * it delivers is what the reader would deliver; where the reader would take
 * its general path (an error, an unknown size, a block) it defers instead,
 * and the reader reads the bytes itself.
 *
 * Entry assumptions (kvsp_content_step):
 *   - c was set up by kvsp_content_open from a START event the reader
 *     delivered with its content (ev->data), and stepped only by
 *     kvsp_content_step since; the content stays valid meanwhile (until the
 *     reader's next feed).
 *   - Sizes within the reader's limits (max_element_size, the string limit)
 *     are guaranteed by the reader, which offers only content no larger
 *     than them; the cursor does not check them again.
 *   - The reader offers content only with room for KVSP_CONTENT_MAX_NESTING
 *     levels below its max_depth, so the nesting the cursor accepts is
 *     depth the reader would accept.
 * Results:
 *   - KVSP_OK: *ev is the next event (START of a nested master, with its
 *     content; DATA with its value decoded; END of a nested master), filled
 *     exactly as the reader fills it; payloads point into the content.
 *   - KVSP_DONE: the content is read to its end, every nested master closed
 *     (the master's own END is the reader's to deliver).
 *   - KVSP_DEFERRED: the next element is one the reader must read itself (a
 *     malformed or reserved header, an overrun, an unknown size, a Block or
 *     SimpleBlock, a data size the format refuses, nesting too deep); the
 *     caller undoes what it did with earlier events and lets the reader
 *     deliver the children. *ev and c are then of no use. */
#ifndef KVSP_CONTENT_CURSOR_H
#define KVSP_CONTENT_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/content.h"
#include "kvsparser/status.h"

#include "../compiler.h"
#include "../ebml/element_header.h"
#include "../ebml/element_table.h"
#include "event_fill.h"

static inline int kvsp_content_close(kvsp_content *c, kvsp_event *ev)
{
    const kvsp_content_master *m = &c->open[--c->nesting];
    c->limit = c->nesting ? c->open[c->nesting - 1].end : c->end;
    kvsp_event_fill(ev, KVSP_EV_END, m->id, m->info, m->offset, m->header_size, m->size,
                    c->depth + c->nesting);
    ev->end_offset = c->offset + m->end;
    return KVSP_OK;
}

/* Whether a data element of this type and size is one the reader delivers
 * rather than reports (limits aside, see above). */
static inline int kvsp_content_plain_data(const kvsp_element_info *info, uint64_t size)
{
    if (!info)
        return 1; /* an unknown ID: delivered as binary */
    if (info->id == KVSP_ID_SIMPLEBLOCK || info->id == KVSP_ID_BLOCK)
        return 0; /* the reader parses blocks; left to it */
    return kvsp_ebml_value_size_status(info->type, size) == KVSP_OK;
}

static KVSP_ALWAYS_INLINE int kvsp_content_step(kvsp_content *c, kvsp_event *ev)
{
    size_t pos = c->pos, limit = c->limit;
    if (pos == limit)
        return c->nesting ? kvsp_content_close(c, ev) : KVSP_DONE;
    /* The header must lie within the innermost master: the reader reads
     * past it only to report the overrun. */
    const uint8_t *p = c->base + pos;
    size_t room = limit - pos;
    uint32_t id;
    uint64_t size;
    unsigned header_size;
    if (c->end - pos >= 12) {
        /* Loads of the longest header stay inside the content. */
        header_size = kvsp_ebml_header_fast(p, &id, &size);
        if (!header_size || header_size > room)
            return KVSP_DEFERRED; /* an error, or an overrun */
    } else {
        int len = kvsp_ebml_header_slow(p, room, &id, &size);
        if (len <= 0)
            return KVSP_DEFERRED; /* an error, or a header running past the master */
        header_size = (unsigned)len;
    }
    if (size > room - header_size)
        return KVSP_DEFERRED; /* an overrun, or an unknown size (the largest value) */
    unsigned slot = kvsp_element_slot(id);
    const kvsp_element_info *info = slot ? &kvsp_element_table[slot - 1] : NULL;
    if (!slot && kvsp_ebml_id_bits_reserved(id))
        return KVSP_DEFERRED;
    uint64_t offset = c->offset + pos;
    uint32_t depth = c->depth + c->nesting;
    size_t data_pos = pos + header_size;
    size_t n = (size_t)size;
    if (info && info->type == KVSP_TYPE_MASTER) {
        if (c->nesting == KVSP_CONTENT_MAX_NESTING)
            return KVSP_DEFERRED;
        kvsp_content_master *m = &c->open[c->nesting++];
        m->info = info;
        m->id = id;
        m->header_size = header_size;
        m->offset = offset;
        m->size = size;
        m->end = c->limit = data_pos + n;
        c->pos = data_pos;
        kvsp_event_fill(ev, KVSP_EV_START, id, info, offset, header_size, size, depth);
        ev->data = c->base + data_pos;
        ev->data_size = n;
        return KVSP_OK;
    }
    if (!kvsp_content_plain_data(info, size))
        return KVSP_DEFERRED;
    c->pos = data_pos + n;
    kvsp_event_fill(ev, KVSP_EV_DATA, id, info, offset, header_size, size, depth);
    ev->end_offset = offset + header_size + size;
    ev->data = n ? c->base + data_pos : (const uint8_t *)"";
    ev->data_size = n;
    kvsp_event_decode(ev, c->base + data_pos, n);
    return KVSP_OK;
}

#endif
