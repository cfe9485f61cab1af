/* Filling an event from a decoded element header: the one place that says
 * what every field of a kvsp_event holds when the reader (reader.c, its fast
 * path reader_fast.h) or the content cursor (content_cursor.h) delivers an
 * element. Internal to the reader layer; it needs only the public event type
 * and the ebml layer, so that content_cursor.h can give it to the visitors
 * without the reader's state (reader_internal.h).
 *
 * Entry: for kvsp_event_decode, ev->value_type set by kvsp_event_fill and n
 * already checked against the type's size rule (kvsp_ebml_value_size_status). */
#ifndef KVSP_EVENT_FILL_H
#define KVSP_EVENT_FILL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kvsparser/reader.h"

#include "../compiler.h"
#include "../ebml/element_header.h"

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
    default: break;
    }
}

#endif
