/* The push-fed element reader: a state machine over the bytes at r->pos that
 * produces one event per kvsp_reader_next() call and can stop after any byte. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader_fast.h"
#include "../alloc_internal.h"
#include "../error_format.h"

#define NO_EVENT KVSP_NO_EVENT

static const char *element_name(const kvsp_element_info *info)
{
    return info ? info->name : "Unknown";
}

/* Errors are rare: cold keeps their formatting out of the hot paths'
 * register allocation and code layout. */
static int raise_error(kvsp_reader *r, kvsp_event *ev, int status, uint64_t offset,
                       int structure_intact, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7), cold, noinline))
#endif
    ;

static int raise_error(kvsp_reader *r, kvsp_event *ev, int status, uint64_t offset,
                       int structure_intact, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* The status is stored below: only when the error is not recovered. */
    kvsp_error_vformat(r->error_msg, sizeof r->error_msg, NULL, status, fmt, ap);
    va_end(ap);
    r->error_offset = offset;
    int recoverable = r->opts.resync && status != KVSP_ERR_NOMEM && status != KVSP_ERR_TRUNCATED;
    if (!recoverable) {
        r->error = status;
        return status;
    }
    memset(ev, 0, sizeof *ev);
    ev->type = KVSP_EV_ERROR;
    ev->status = status;
    ev->offset = offset;
    ev->name = kvsp_status_name(status);
    ev->data = (const uint8_t *)r->error_msg;
    ev->data_size = strlen(r->error_msg);
    ev->depth = r->depth;
    if (!structure_intact) {
        /* The bytes at r->pos cannot be trusted to be an element boundary. */
        r->state = ST_RESYNC_SCAN;
        r->resync_error = status;
        r->sync_window = 0;
        r->sync_scanned = 0;
        r->hdr_len = 0;
    } else {
        r->state = ST_HEADER;
        r->hdr_len = 0;
    }
    return KVSP_OK;
}

static void consume(kvsp_reader *r, size_t n)
{
    r->in_pos += n;
    r->pos += n;
}

int kvsp_reader_pop(kvsp_reader *r, kvsp_event *ev, uint64_t end_offset)
{
    open_master m = r->stack[--r->depth];
    if (m.action != KVSP_FILTER_DELIVER)
        return NO_EVENT;
    kvsp_event_fill(ev, KVSP_EV_END, m.id, m.info, m.offset, m.header_size, m.size, r->depth);
    ev->end_offset = end_offset;
    return KVSP_OK;
}

/* Parses an element header from p[0..n), n >= 1 (kvsp_ebml_header_slow):
 * returns its length, 0 if more bytes are needed, or a negative status. */
static int parse_header(const uint8_t *p, size_t n, element_header *el)
{
    int len = kvsp_ebml_header_slow(p, n, &el->id, &el->size);
    if (len > 0)
        el->header_size = (uint32_t)len;
    return len;
}

static int header_error(kvsp_reader *r, kvsp_event *ev, int status)
{
    if (status == KVSP_ERR_INVALID_ID)
        return raise_error(r, ev, status, r->el.offset, 0, "invalid element ID at offset %llu",
                           (unsigned long long)r->el.offset);
    return raise_error(r, ev, status, r->el.offset, 0,
                       "invalid size field (longer than 8 bytes) at offset %llu",
                       (unsigned long long)r->el.offset);
}

/* Reads header bytes; zero-copy when the whole header lies in the chunk. */
static int read_header(kvsp_reader *r, kvsp_event *ev)
{
    const uint8_t *in = r->in + r->in_pos;
    size_t avail = r->in_len - r->in_pos;
    int len;
    if (r->hdr_len == 0) {
        r->el.offset = r->pos;
        len = parse_header(in, avail, &r->el);
        if (len > 0) {
            consume(r, (size_t)len);
            r->state = ST_PLACE;
            return NO_EVENT;
        }
        if (len < 0)
            return header_error(r, ev, len);
        memcpy(r->hdr, in, avail); /* avail < 12: the header is longer */
        r->hdr_len = (unsigned)avail;
        consume(r, avail);
        return NO_EVENT;
    }
    size_t take = sizeof r->hdr - r->hdr_len;
    if (take > avail)
        take = avail;
    memcpy(r->hdr + r->hdr_len, in, take);
    len = parse_header(r->hdr, r->hdr_len + take, &r->el);
    if (len < 0)
        return header_error(r, ev, len);
    if (len == 0) {
        r->hdr_len += (unsigned)take;
        consume(r, take);
        return NO_EVENT;
    }
    consume(r, (size_t)len - r->hdr_len); /* bytes beyond the header stay in the input */
    r->hdr_len = 0;
    r->state = ST_PLACE;
    return NO_EVENT;
}

static int open_master_element(kvsp_reader *r, kvsp_event *ev)
{
    element_header *el = &r->el;
    if (el->action == KVSP_FILTER_SKIP && el->size != KVSP_SIZE_UNKNOWN) {
        r->skip_left = el->size;
        r->state = ST_SKIP;
        return NO_EVENT;
    }
    if (r->depth >= r->opts.limits.max_depth)
        return raise_error(r, ev, KVSP_ERR_TOO_DEEP, el->offset, 0,
                           "%s at offset %llu nested deeper than %u", element_name(el->info),
                           (unsigned long long)el->offset, r->opts.limits.max_depth);
    uint64_t limit = r->depth ? r->stack[r->depth - 1].limit : KVSP_SIZE_UNKNOWN;
    if (el->size != KVSP_SIZE_UNKNOWN) {
        if (el->size > UINT64_MAX - 1 - el->offset - el->header_size)
            return raise_error(r, ev, KVSP_ERR_INVALID_SIZE, el->offset, 0,
                               "%s at offset %llu: size overflows the stream offset",
                               element_name(el->info), (unsigned long long)el->offset);
        limit = el->offset + el->header_size + el->size;
    }
    open_master *m = &r->stack[r->depth++];
    m->info = el->info;
    m->id = el->id;
    m->header_size = el->header_size;
    m->offset = el->offset;
    m->size = el->size;
    m->limit = limit;
    m->fast_end = limit != KVSP_SIZE_UNKNOWN ? limit : KVSP_SIZE_UNKNOWN - 1;
    m->action = el->action == KVSP_FILTER_DELIVER ? KVSP_FILTER_DELIVER : KVSP_FILTER_HIDE;
    r->state = ST_HEADER;
    if (m->action != KVSP_FILTER_DELIVER)
        return NO_EVENT;
    kvsp_event_fill(ev, KVSP_EV_START, el->id, el->info, el->offset, el->header_size, el->size,
                    r->depth - 1);
    if (r->depth - 1 < r->content_depth_max && el->size <= r->content_max &&
        el->size <= r->in_len - r->in_pos) {
        ev->data = el->size ? r->in + r->in_pos : (const uint8_t *)"";
        ev->data_size = (size_t)el->size;
    }
    return KVSP_OK;
}

static int check_data_size(kvsp_reader *r, kvsp_event *ev, kvsp_type type)
{
    element_header *el = &r->el;
    const char *name = element_name(el->info);
    unsigned long long off = (unsigned long long)el->offset, size = el->size;
    int st = kvsp_reader_data_size_status(r, type, el->size);
    switch (st) {
    case KVSP_OK: return NO_EVENT;
    case KVSP_ERR_ELEMENT_TOO_LARGE:
        return raise_error(r, ev, st, el->offset, 0,
                           "%s at offset %llu: size %llu over the limit of %llu", name, off, size,
                           (unsigned long long)r->opts.limits.max_element_size);
    case KVSP_ERR_BAD_INTEGER:
        return raise_error(r, ev, st, el->offset, 0, "%s at offset %llu: integer of %llu bytes",
                           name, off, size);
    case KVSP_ERR_BAD_FLOAT:
        return raise_error(r, ev, st, el->offset, 0, "%s at offset %llu: float of %llu bytes", name,
                           off, size);
    default:
        return raise_error(r, ev, st, el->offset, 0,
                           "%s at offset %llu: string of %llu bytes over the limit of %llu", name,
                           off, size, (unsigned long long)r->opts.limits.max_string_size);
    }
}

static int begin_data_element(kvsp_reader *r, kvsp_event *ev, kvsp_type type)
{
    element_header *el = &r->el;
    if (el->size == KVSP_SIZE_UNKNOWN)
        return raise_error(r, ev, KVSP_ERR_UNKNOWN_SIZE, el->offset, 0,
                           "%s at offset %llu has an unknown size", element_name(el->info),
                           (unsigned long long)el->offset);
    if (el->action != KVSP_FILTER_DELIVER) {
        r->skip_left = el->size;
        r->state = ST_SKIP;
        return NO_EVENT;
    }
    int st = check_data_size(r, ev, type);
    if (st != NO_EVENT)
        return st;
    r->buf_len = 0;
    r->state = ST_DATA;
    return NO_EVENT;
}

static int place_element(kvsp_reader *r, kvsp_event *ev)
{
    element_header *el = &r->el;
    unsigned slot = kvsp_element_slot(el->id);
    el->info = slot ? &kvsp_element_table[slot - 1] : NULL;
    if (r->depth) {
        const open_master *top = &r->stack[r->depth - 1];
        if (top->size == KVSP_SIZE_UNKNOWN && !kvsp_belongs_to(top, el->info, el->id))
            return kvsp_reader_pop(r, ev, el->offset); /* the element is placed again after */
        if (top->limit != KVSP_SIZE_UNKNOWN) {
            uint64_t room = el->offset < top->limit ? top->limit - el->offset : 0;
            if (el->header_size > room ||
                (el->size != KVSP_SIZE_UNKNOWN && el->size > room - el->header_size))
                return raise_error(r, ev, KVSP_ERR_CHILD_OVERRUN, el->offset, 0,
                                   "%s at offset %llu extends past the end of %s at %llu",
                                   element_name(el->info), (unsigned long long)el->offset,
                                   element_name(top->info), (unsigned long long)top->limit);
        }
    } else if (el->id != KVSP_ID_EBML && el->id != KVSP_ID_SEGMENT &&
               !(el->info && (el->info->flags & KVSP_ELEMENT_GLOBAL))) {
        return raise_error(r, ev, KVSP_ERR_NOT_TOP_LEVEL, el->offset, 0,
                           "%s (ID 0x%X) at offset %llu where only EBML or Segment may start",
                           element_name(el->info), el->id, (unsigned long long)el->offset);
    }
    el->action = slot ? r->filter[slot - 1] : r->filter_unknown;
    kvsp_type type = el->info ? el->info->type : KVSP_TYPE_UNKNOWN;
    if (type == KVSP_TYPE_MASTER)
        return open_master_element(r, ev);
    return begin_data_element(r, ev, type);
}

int kvsp_reader_block_error(kvsp_reader *r, kvsp_event *ev, int status,
                            const kvsp_element_info *info, uint64_t offset)
{
    return raise_error(r, ev, status, offset, 1, "%s at offset %llu: %s", element_name(info),
                       (unsigned long long)offset, kvsp_status_str(status));
}

static int emit_data(kvsp_reader *r, kvsp_event *ev, const uint8_t *p)
{
    element_header *el = &r->el;
    size_t n = (size_t)el->size;
    r->state = ST_HEADER;
    r->hdr_len = 0;
    kvsp_event_fill(ev, KVSP_EV_DATA, el->id, el->info, el->offset, el->header_size, el->size,
                    r->depth);
    ev->end_offset = el->offset + el->header_size + el->size;
    ev->data = p;
    ev->data_size = n;
    kvsp_event_decode(ev, p, n);
    if (el->id == KVSP_ID_SIMPLEBLOCK || el->id == KVSP_ID_BLOCK) {
        int st =
            kvsp_block_parse_inline(&r->block, r->lace_sizes, el->id == KVSP_ID_SIMPLEBLOCK, p, n);
        if (st != KVSP_OK)
            return kvsp_reader_block_error(r, ev, st, el->info, el->offset);
        ev->block = &r->block;
    }
    return KVSP_OK;
}

static int grow_buffer(kvsp_reader *r, size_t need, size_t total)
{
    if (need <= r->buf_cap)
        return KVSP_OK;
    size_t cap = r->buf_cap ? r->buf_cap : 4096;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > total)
        cap = total; /* never more than the element: a declared size alone allocates nothing */
    uint8_t *p = kvsp_realloc(r->buf, cap);
    if (!p)
        return KVSP_ERR_NOMEM;
    r->buf = p;
    r->buf_cap = cap;
    return KVSP_OK;
}

static int read_data(kvsp_reader *r, kvsp_event *ev)
{
    size_t total = (size_t)r->el.size;
    size_t avail = r->in_len - r->in_pos;
    if (r->buf_len == 0 && avail >= total) {
        const uint8_t *p = r->in + r->in_pos;
        consume(r, total);
        return emit_data(r, ev, p);
    }
    size_t take = total - r->buf_len;
    if (take > avail)
        take = avail;
    if (grow_buffer(r, r->buf_len + take, total) != KVSP_OK)
        return raise_error(r, ev, KVSP_ERR_NOMEM, r->el.offset, 0,
                           "no memory for %s of %zu bytes at offset %llu", element_name(r->el.info),
                           total, (unsigned long long)r->el.offset);
    memcpy(r->buf + r->buf_len, r->in + r->in_pos, take);
    r->buf_len += take;
    consume(r, take);
    if (r->buf_len == total)
        return emit_data(r, ev, r->buf);
    return NO_EVENT;
}

int kvsp_reader_skip_content(kvsp_reader *r)
{
    if (r->error)
        return r->error;
    if (r->state != ST_HEADER || r->hdr_len || !r->depth)
        return KVSP_ERR_INVALID_ARG;
    const open_master *top = &r->stack[r->depth - 1];
    /* Nothing of the master read yet: its START was the last event. */
    if (top->action != KVSP_FILTER_DELIVER || r->pos != top->offset + top->header_size)
        return KVSP_ERR_INVALID_ARG;
    if (top->size == KVSP_SIZE_UNKNOWN)
        return KVSP_ERR_INVALID_ARG; /* only its children would tell where it ends */
    uint64_t left = top->limit - r->pos;
    size_t avail = r->in_len - r->in_pos;
    if (left <= avail) {
        consume(r, (size_t)left);
        return KVSP_OK;
    }
    consume(r, avail);
    /* For the message if the input ends before the master does. */
    r->el.id = top->id;
    r->el.info = top->info;
    r->el.offset = top->offset;
    r->el.header_size = top->header_size;
    r->el.size = top->size;
    r->skip_left = left - avail;
    r->state = ST_SKIP;
    return KVSP_OK;
}

int kvsp_reader_skip(kvsp_reader *r)
{
    return r ? kvsp_reader_skip_content(r) : KVSP_ERR_INVALID_ARG;
}

static int skip_bytes(kvsp_reader *r)
{
    size_t avail = r->in_len - r->in_pos;
    size_t take = r->skip_left < avail ? (size_t)r->skip_left : avail;
    consume(r, take);
    r->skip_left -= take;
    if (r->skip_left == 0) {
        r->state = ST_HEADER;
        r->hdr_len = 0;
    }
    return NO_EVENT;
}

/* Input is exhausted and finish was called. */
static int end_of_input(kvsp_reader *r, kvsp_event *ev)
{
    if (r->state == ST_HEADER && r->hdr_len == 0) {
        if (r->depth == 0) {
            r->state = ST_DONE;
            return KVSP_DONE;
        }
        const open_master *top = &r->stack[r->depth - 1];
        if (top->size == KVSP_SIZE_UNKNOWN)
            return kvsp_reader_pop(r, ev, r->pos);
        return raise_error(r, ev, KVSP_ERR_TRUNCATED, top->offset, 0,
                           "input ends at offset %llu inside %s at offset %llu "
                           "(%llu bytes missing)",
                           (unsigned long long)r->pos, element_name(top->info),
                           (unsigned long long)top->offset,
                           (unsigned long long)(top->limit - r->pos));
    }
    if (r->state == ST_RESYNC_SCAN) {
        r->error = r->resync_error;
        snprintf(r->error_msg, sizeof r->error_msg,
                 "no EBML header or Cluster found in the %llu bytes after the error",
                 (unsigned long long)r->sync_scanned);
        return r->error;
    }
    const char *name = r->state == ST_HEADER ? "element header" : element_name(r->el.info);
    return raise_error(r, ev, KVSP_ERR_TRUNCATED, r->el.offset, 0,
                       "input ends at offset %llu inside %s at offset %llu",
                       (unsigned long long)r->pos, name, (unsigned long long)r->el.offset);
}

int kvsp_reader_step(kvsp_reader *r, kvsp_event *ev)
{
    int needs_input = 0;
    switch (r->state) {
    case ST_HEADER:
        if (r->hdr_len == 0 && r->depth && r->stack[r->depth - 1].limit == r->pos)
            return kvsp_reader_pop(r, ev, r->pos);
        needs_input = 1;
        break;
    case ST_PLACE: return place_element(r, ev);
    case ST_DATA:
        if (r->el.size == 0)
            return emit_data(r, ev, (const uint8_t *)"");
        needs_input = 1;
        break;
    case ST_SKIP:
        if (r->skip_left == 0) {
            r->state = ST_HEADER;
            return NO_EVENT;
        }
        needs_input = 1;
        break;
    case ST_RESYNC_SCAN: needs_input = 1; break;
    case ST_RESYNC_CLOSE: return kvsp_reader_resync_close(r, ev);
    case ST_DONE: return KVSP_DONE;
    }
    if (needs_input && r->in_pos == r->in_len)
        return r->finishing ? end_of_input(r, ev) : KVSP_NEED_DATA;
    switch (r->state) {
    case ST_HEADER: return read_header(r, ev);
    case ST_DATA: return read_data(r, ev);
    case ST_SKIP: return skip_bytes(r);
    default: return kvsp_reader_resync_scan(r);
    }
}

int kvsp_reader_next(kvsp_reader *r, kvsp_event *ev)
{
    if (!r || !ev)
        return KVSP_ERR_INVALID_ARG;
    for (;;) {
        if (r->error)
            return r->error;
        int st = r->state == ST_HEADER && r->hdr_len == 0 ? kvsp_reader_next_fast(r, ev)
                                                          : kvsp_reader_step(r, ev);
        if (st != NO_EVENT)
            return st;
    }
}
