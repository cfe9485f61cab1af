/* Resync mode: after an error, scan for the next EBML header or Cluster ID,
 * end the masters that the sync point leaves, and carry on from there. */
#include <string.h>

#include "reader_internal.h"

/* Depth to keep when resuming at a Cluster: everything up to the innermost
 * open Segment. Returns 0 when no Segment is open, so a Cluster cannot be a
 * sync point. */
static uint32_t segment_depth(const kvsp_reader *r)
{
    for (uint32_t d = r->depth; d > 0; d--)
        if (r->stack[d - 1].id == KVSP_ID_SEGMENT)
            return d;
    return 0;
}

int kvsp_reader_resync_scan(kvsp_reader *r)
{
    while (r->in_pos < r->in_len) {
        r->sync_window = (r->sync_window << 8) | r->in[r->in_pos];
        r->in_pos++;
        r->pos++;
        r->sync_scanned++;
        /* A sync point must lie past the error's offset: a bad header that
         * starts with a sync ID is not found again, so the scan progresses. */
        if (r->sync_scanned < 4 || r->pos - 4 <= r->error_offset)
            continue;
        if (r->sync_window == KVSP_ID_EBML) {
            r->sync_keep_depth = 0;
        } else if (r->sync_window == KVSP_ID_CLUSTER && segment_depth(r) > 0) {
            r->sync_keep_depth = segment_depth(r);
        } else {
            continue;
        }
        r->sync_id = r->sync_window;
        r->state = ST_RESYNC_CLOSE;
        break;
    }
    return KVSP_NO_EVENT;
}

int kvsp_reader_resync_close(kvsp_reader *r, kvsp_event *ev)
{
    uint64_t sync_offset = r->pos - 4;
    if (r->depth) {
        /* A known-size master the sync point lies beyond has ended already,
         * at its own end; the others end where the sync point starts. */
        uint64_t limit = r->stack[r->depth - 1].limit;
        int passed = limit <= sync_offset;
        if (passed && r->sync_keep_depth >= r->depth)
            r->sync_keep_depth = r->depth - 1;
        if (r->depth > r->sync_keep_depth)
            return kvsp_reader_pop(r, ev, passed ? limit : sync_offset);
    }
    /* Resume with the sync ID as the first bytes of the next header. */
    for (int i = 0; i < 4; i++)
        r->hdr[i] = (uint8_t)(r->sync_id >> (24 - 8 * i));
    r->hdr_len = 4;
    r->el.offset = sync_offset;
    r->state = ST_HEADER;
    memset(ev, 0, sizeof *ev);
    ev->type = KVSP_EV_RESYNC;
    ev->status = r->resync_error;
    ev->id = r->sync_id;
    ev->info = kvsp_element_lookup(r->sync_id);
    ev->name = ev->info ? ev->info->name : "Unknown";
    ev->offset = sync_offset;
    ev->skipped = sync_offset - r->error_offset;
    ev->depth = r->depth;
    return KVSP_OK;
}
