#ifndef KVSP_READER_INTERNAL_H
#define KVSP_READER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/reader.h"
#include "../ebml/element_table.h"

/* What the reader is doing with the bytes at r->pos. */
typedef enum reader_state {
    ST_HEADER,       /* reading an element's ID and size (hdr_len bytes so far) */
    ST_PLACE,        /* a header is complete; it may first end open masters */
    ST_DATA,         /* collecting a data element's payload */
    ST_SKIP,         /* passing over filtered bytes */
    ST_RESYNC_SCAN,  /* resync mode: looking for an EBML header or Cluster ID */
    ST_RESYNC_CLOSE, /* resync mode: ending masters the sync point leaves */
    ST_DONE
} reader_state;

/* An open master element. limit is where it must end at the latest: its own
 * end when its size is known, else its parent's limit (or unknown). */
typedef struct open_master {
    const kvsp_element_info *info;
    uint32_t id;
    uint32_t header_size;
    uint64_t offset;
    uint64_t size;
    uint64_t limit;
    /* The reader's fast path takes a child only while it fits before this
     * offset: limit, or the largest offset when that is unknown too (so no
     * child's end overflows). */
    uint64_t fast_end;
    uint8_t action;
} open_master;

/* Whether an element may lie inside an open master of unknown size: RFC 8794
 * section 6.2 ends such a master at the first element that is not one of its
 * descendants. IDs the schema does not know (info NULL) stay inside. */
static inline int kvsp_belongs_to(const open_master *m, const kvsp_element_info *info, uint32_t id)
{
    if (!info || (info->flags & KVSP_ELEMENT_GLOBAL))
        return 1;
    if ((info->flags & KVSP_ELEMENT_RECURSIVE) && m->id == id)
        return 1;
    return kvsp_element_has_ancestor(info, m->id);
}

/* The element whose header was read last. */
typedef struct element_header {
    uint32_t id;
    uint32_t header_size;
    uint64_t offset;
    uint64_t size;
    const kvsp_element_info *info;
    uint8_t action;
} element_header;

struct kvsp_reader {
    kvsp_reader_options opts;

    const uint8_t *in; /* the caller's current chunk (not owned) */
    size_t in_len;
    size_t in_pos;
    uint64_t pos; /* absolute stream offset of in[in_pos] */
    int finishing;
    reader_state state;

    uint8_t hdr[12]; /* a header that straddles chunks: ID (<= 4) + size (<= 8) */
    unsigned hdr_len;
    element_header el;

    uint8_t *buf; /* a data element that straddles chunks */
    size_t buf_cap;
    size_t buf_len;
    uint64_t skip_left;

    open_master *stack; /* opts.limits.max_depth entries, allocated once */
    uint32_t depth;

    uint8_t *filter; /* per element table index */
    uint8_t filter_unknown;
    /* START events carry their master's content (see reader.h) when it lies
     * in the chunk, is at most content_max bytes and the master's depth is
     * below content_depth_max. Bounds chosen so that no element of such
     * content can break a limit the reader enforces, apart from nesting
     * deeper than KVSP_CONTENT_MAX_NESTING below the master, which a reader
     * of the content refuses (content.h); content_depth_max is 0 while the
     * filter hides or skips anything. */
    uint64_t content_max;
    uint32_t content_depth_max;
    /* The filter delivers SimpleBlocks: the fast path may take them
     * without looking the ID up (simple_block_info is its entry). */
    int simple_block_fast;
    const kvsp_element_info *simple_block_info;

    kvsp_block block;
    size_t lace_sizes[KVSP_MAX_LACED_FRAMES];

    int error;
    /* A visitor paused the last run: its event's payload must stay valid, so
     * no new input until the run is resumed. */
    int visitor_paused;
    uint64_t error_offset;
    char error_msg[192];

    /* resync mode */
    int resync_error;      /* the error being recovered from */
    uint32_t sync_window;  /* last four bytes scanned */
    uint64_t sync_scanned; /* bytes scanned since the error */
    uint32_t sync_id;
    uint32_t sync_keep_depth;
};

/* A step that consumed input or changed state without producing an event. */
#define KVSP_NO_EVENT 100

/* Ends the innermost open master: an END event, or KVSP_NO_EVENT if hidden. */
int kvsp_reader_pop(kvsp_reader *r, kvsp_event *ev, uint64_t end_offset);
/* One step of the general state machine, from any state: KVSP_OK with *ev
 * filled, KVSP_NO_EVENT, or a status (reader.c). */
int kvsp_reader_step(kvsp_reader *r, kvsp_event *ev);
/* Reports a SimpleBlock or Block whose payload does not parse (consumed
 * already): the reader's error, or an ERROR event in resync mode. */
int kvsp_reader_block_error(kvsp_reader *r, kvsp_event *ev, int status,
                            const kvsp_element_info *info, uint64_t offset);
int kvsp_reader_resync_scan(kvsp_reader *r);
/* kvsp_reader_skip without the argument checks, for the run loop. */
int kvsp_reader_skip_content(kvsp_reader *r);
/* Recomputes content_max, content_depth_max and simple_block_fast after the
 * options or the filter changed. */
void kvsp_reader_content_bounds(kvsp_reader *r);
int kvsp_reader_resync_close(kvsp_reader *r, kvsp_event *ev);

#endif
