/* Reader lifecycle, input, filter and error accessors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content_cursor.h"
#include "../ebml/element_table.h"
#include "reader_internal.h"
#include "../alloc_internal.h"
#include "../error_format.h"

kvsp_reader *kvsp_reader_create(const kvsp_reader_options *opts)
{
    kvsp_reader_options o;
    memset(&o, 0, sizeof o);
    if (opts)
        o = *opts;
    if (!o.limits.max_depth)
        o.limits.max_depth = KVSP_DEFAULT_MAX_DEPTH;
    if (!o.limits.max_element_size)
        o.limits.max_element_size = KVSP_DEFAULT_MAX_ELEMENT_SIZE;
    if (!o.limits.max_string_size)
        o.limits.max_string_size = KVSP_DEFAULT_MAX_STRING_SIZE;
    if (o.limits.max_depth > KVSP_MAX_DEPTH_LIMIT)
        return NULL;
    kvsp_element_tables_init(); /* the reader's lookups then need no pthread_once */
    kvsp_reader *r = kvsp_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->opts = o;
    r->stack = kvsp_calloc(o.limits.max_depth, sizeof *r->stack);
    r->filter = kvsp_calloc(kvsp_element_table_count, 1);
    if (!r->stack || !r->filter) {
        kvsp_reader_destroy(r);
        return NULL;
    }
    kvsp_reader_reset(r);
    kvsp_reader_content_bounds(r);
    return r;
}

void kvsp_reader_content_bounds(kvsp_reader *r)
{
    const kvsp_limits *lim = &r->opts.limits;
    r->content_max =
        lim->max_string_size < lim->max_element_size ? lim->max_string_size : lim->max_element_size;
    int delivers_all = r->filter_unknown == KVSP_FILTER_DELIVER;
    for (size_t i = 0; delivers_all && i < kvsp_element_table_count; i++)
        delivers_all = r->filter[i] == KVSP_FILTER_DELIVER;
    r->content_depth_max = delivers_all && lim->max_depth > KVSP_CONTENT_MAX_NESTING
                               ? lim->max_depth - KVSP_CONTENT_MAX_NESTING
                               : 0;
    unsigned slot = kvsp_element_slot(KVSP_ID_SIMPLEBLOCK);
    r->simple_block_info = &kvsp_element_table[slot - 1];
    r->simple_block_fast = r->filter[slot - 1] == KVSP_FILTER_DELIVER;
}

void kvsp_reader_destroy(kvsp_reader *r)
{
    if (!r)
        return;
    kvsp_free(r->buf);
    kvsp_free(r->stack);
    kvsp_free(r->filter);
    kvsp_free(r);
}

void kvsp_reader_reset(kvsp_reader *r)
{
    if (!r)
        return;
    r->in = NULL;
    r->in_len = r->in_pos = 0;
    r->pos = 0;
    r->finishing = 0;
    r->visitor_paused = 0;
    r->state = ST_HEADER;
    r->hdr_len = 0;
    r->buf_len = 0;
    r->skip_left = 0;
    r->depth = 0;
    r->error = 0;
    r->error_offset = 0;
    r->error_msg[0] = '\0';
    r->resync_error = 0;
}

int kvsp_reader_feed(kvsp_reader *r, const void *data, size_t len)
{
    if (!r || (!data && len))
        return KVSP_ERR_INVALID_ARG;
    if (r->error)
        return r->error;
    if (r->finishing)
        return KVSP_ERR_FINISHED;
    if (r->in_pos < r->in_len || r->visitor_paused)
        return KVSP_ERR_INPUT_PENDING;
    r->in = data;
    r->in_len = len;
    r->in_pos = 0;
    return KVSP_OK;
}

int kvsp_reader_finish(kvsp_reader *r)
{
    if (!r)
        return KVSP_ERR_INVALID_ARG;
    r->finishing = 1;
    return r->error;
}

int kvsp_reader_set_filter(kvsp_reader *r, uint32_t id, kvsp_filter_action action)
{
    if (!r || action > KVSP_FILTER_SKIP)
        return KVSP_ERR_INVALID_ARG;
    if (id == 0) {
        r->filter_unknown = (uint8_t)action;
        kvsp_reader_content_bounds(r);
        return KVSP_OK;
    }
    const kvsp_element_info *info = kvsp_element_lookup(id);
    if (!info)
        return KVSP_ERR_INVALID_ARG;
    r->filter[info - kvsp_element_table] = (uint8_t)action;
    kvsp_reader_content_bounds(r);
    return KVSP_OK;
}

void kvsp_reader_set_filter_all(kvsp_reader *r, kvsp_filter_action action)
{
    if (!r || action > KVSP_FILTER_SKIP)
        return;
    memset(r->filter, (int)action, kvsp_element_table_count);
    r->filter_unknown = (uint8_t)action;
    kvsp_reader_content_bounds(r);
}

uint64_t kvsp_reader_offset(const kvsp_reader *r)
{
    return r ? r->pos : 0;
}

size_t kvsp_reader_pending(const kvsp_reader *r)
{
    return r ? r->in_len - r->in_pos : 0;
}

int kvsp_reader_error(const kvsp_reader *r)
{
    return r ? r->error : KVSP_ERR_INVALID_ARG;
}

uint64_t kvsp_reader_error_offset(const kvsp_reader *r)
{
    return r ? r->error_offset : 0;
}

const char *kvsp_reader_error_message(const kvsp_reader *r)
{
    if (!r)
        return "";
    return r->error_msg[0] ? r->error_msg : kvsp_status_str(r->error);
}

int kvsp_reader_fail(kvsp_reader *r, int status, uint64_t offset, const char *fmt, ...)
{
    if (!r || status >= 0)
        return KVSP_ERR_INVALID_ARG;
    va_list ap;
    va_start(ap, fmt);
    kvsp_error_vformat(r->error_msg, sizeof r->error_msg, &r->error, status, fmt, ap);
    va_end(ap);
    r->error_offset = offset;
    return status;
}

/* The content cursor (kvsparser/content.h); its step is content_cursor.h. */
int kvsp_content_open(kvsp_content *c, const kvsp_event *start)
{
    if (!c || !start || start->type != KVSP_EV_START || !start->data)
        return KVSP_ERR_INVALID_ARG;
    c->base = start->data;
    c->offset = start->offset + start->header_size;
    c->pos = 0;
    c->end = c->limit = start->data_size;
    c->depth = start->depth + 1;
    c->nesting = 0;
    return KVSP_OK;
}

int kvsp_content_next(kvsp_content *c, kvsp_event *ev)
{
    return kvsp_content_step(c, ev);
}
