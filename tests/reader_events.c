#include "reader_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void record(event_list *l, const kvsp_event *ev)
{
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->items = realloc(l->items, (size_t)l->cap * sizeof *l->items);
        if (!l->items)
            abort();
    }
    event_record *e = &l->items[l->count++];
    memset(e, 0, sizeof *e);
    e->type = ev->type;
    e->id = ev->id;
    e->name = ev->name;
    e->value_type = ev->value_type;
    e->offset = ev->offset;
    e->size = ev->size;
    e->end_offset = ev->end_offset;
    e->header_size = ev->header_size;
    e->depth = ev->depth;
    e->u = ev->value.u;
    e->i = ev->value.i;
    e->f = ev->value.f;
    /* A START's content comes only when it lies in the chunk (test_content
     * checks it); the record is of what every chunking gives. */
    if (ev->type == KVSP_EV_START)
        return;
    e->data_size = ev->data_size;
    if (ev->data)
        memcpy(e->data_head, ev->data, ev->data_size < 16 ? ev->data_size : 16);
    if (ev->block) {
        e->has_block = 1;
        e->block = *ev->block;
        for (uint32_t k = 0; k < ev->block->frame_count && k < 8; k++)
            e->frame_sizes[k] = ev->block->frame_sizes[k];
        e->block.frame_sizes = NULL;
        e->block.frames = NULL;
    }
    e->status = ev->status;
    e->skipped = ev->skipped;
}

static int drain(kvsp_reader *r, event_list *out)
{
    kvsp_event ev;
    int st;
    while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK)
        record(out, &ev);
    return st;
}

int collect_with_reader(kvsp_reader *r, const uint8_t *data, size_t len, size_t chunk,
                        event_list *out)
{
    memset(out, 0, sizeof *out);
    if (chunk == 0)
        chunk = len ? len : 1;
    int st = KVSP_NEED_DATA;
    for (size_t pos = 0; pos < len && st == KVSP_NEED_DATA; pos += chunk) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        kvsp_reader_feed(r, data + pos, n);
        st = drain(r, out);
    }
    if (st == KVSP_NEED_DATA) {
        kvsp_reader_finish(r);
        st = drain(r, out);
    }
    out->status = st;
    out->error_offset = kvsp_reader_error_offset(r);
    snprintf(out->error_message, sizeof out->error_message, "%s", kvsp_reader_error_message(r));
    return st;
}

int collect_events(const uint8_t *data, size_t len, const kvsp_reader_options *opts, size_t chunk,
                   event_list *out)
{
    kvsp_reader *r = kvsp_reader_create(opts);
    if (!r)
        abort();
    int st = collect_with_reader(r, data, len, chunk, out);
    kvsp_reader_destroy(r);
    return st;
}

int find_event(const event_list *l, kvsp_event_type type, uint32_t id, int nth)
{
    for (int k = 0; k < l->count; k++)
        if (l->items[k].type == type && l->items[k].id == id && nth-- == 0)
            return k;
    return -1;
}

int count_events(const event_list *l, kvsp_event_type type, uint32_t id)
{
    int n = 0;
    for (int k = 0; k < l->count; k++)
        n += l->items[k].type == type && l->items[k].id == id;
    return n;
}

void event_list_free(event_list *l)
{
    free(l->items);
    memset(l, 0, sizeof *l);
}
