/* Running visitors over a reader's events, with pause and resume. The loop
 * is kvsp_reader_next's with the fast path inline, so that an element costs
 * no call besides the visitor's own. */
#include "kvsparser/visitor.h"

#include "../reader/reader_fast.h"
#include "composite_internal.h"

/* The visitor's callback for an event, inline for the run loop: the
 * exported kvsp_visitor_dispatch would be called through the PLT (it may be
 * interposed), once per event. */
static inline int dispatch(const kvsp_visitor *v, const kvsp_event *ev)
{
    int (*cb)(void *, const kvsp_event *) = NULL;
    switch (ev->type) {
    case KVSP_EV_START: cb = v->on_start; break;
    case KVSP_EV_END: cb = v->on_end; break;
    case KVSP_EV_DATA: cb = v->on_data; break;
    case KVSP_EV_ERROR: cb = v->on_error; break;
    case KVSP_EV_RESYNC: cb = v->on_resync; break;
    }
    return cb ? cb(v->user, ev) : KVSP_OK;
}

int kvsp_visitor_dispatch(const kvsp_visitor *v, const kvsp_event *ev)
{
    return dispatch(v, ev);
}

int kvsp_visitor_frame(const kvsp_visitor *v, const struct kvsp_frame *frame)
{
    return v->on_frame ? v->on_frame(v->user, frame) : KVSP_OK;
}

/* A visitor's verdict on an event: PAUSED marks the reader so that the next
 * run resumes the visitor first; an error becomes the reader's sticky error;
 * SKIP passes over the children of the master just started (refused after
 * any other event, and for an unknown size: the children then come). */
static int settle(kvsp_reader *r, int rc, uint64_t offset, const char *where)
{
    if (rc == KVSP_SKIP) {
        (void)kvsp_reader_skip_content(r);
        return KVSP_OK;
    }
    if (rc == KVSP_PAUSED) {
        r->visitor_paused = 1;
        return KVSP_PAUSED;
    }
    if (rc < 0) {
        kvsp_reader_fail(r, rc, offset, "stopped by a visitor at %s", where);
        return rc;
    }
    return KVSP_OK;
}

int kvsp_reader_run(kvsp_reader *r, const kvsp_visitor *v)
{
    if (!r || !v)
        return KVSP_ERR_INVALID_ARG;
    if (r->visitor_paused) {
        r->visitor_paused = 0;
        int rc = v->on_resume ? v->on_resume(v->user) : KVSP_OK;
        rc = settle(r, rc, kvsp_reader_offset(r), "resume");
        if (rc != KVSP_OK)
            return rc;
    }
    /* A composite's loop over its children runs here inline. */
    kvsp_composite *composite = NULL;
    if (v->on_start == kvsp_composite_on_event && v->on_end == kvsp_composite_on_event &&
        v->on_data == kvsp_composite_on_event && v->on_error == kvsp_composite_on_event &&
        v->on_resync == kvsp_composite_on_event)
        composite = v->user;
    kvsp_event ev;
    for (;;) {
        if (r->error)
            return r->error;
        int st = r->state == ST_HEADER && r->hdr_len == 0 ? kvsp_reader_next_fast(r, &ev)
                                                          : kvsp_reader_step(r, &ev);
        if (st == KVSP_NO_EVENT)
            continue;
        if (st != KVSP_OK)
            return st;
        int rc = composite ? kvsp_composite_event(composite, &ev) : dispatch(v, &ev);
        if (rc == KVSP_OK)
            continue;
        rc = settle(r, rc, ev.offset, ev.name);
        if (rc != KVSP_OK)
            return rc;
    }
}

int kvsp_reader_push(kvsp_reader *r, const void *data, size_t len, const kvsp_visitor *v)
{
    if (data || len) {
        int st = kvsp_reader_feed(r, data, len);
        if (st != KVSP_OK)
            return st;
    }
    return kvsp_reader_run(r, v);
}
