/* Running visitors over a reader's events, with pause and resume. */
#include "kvsparser/visitor.h"

#include "../reader/reader_internal.h"

/* Inlined into kvsp_reader_run: the exported function would be called
 * through the PLT (it may be interposed), once per event. */
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
 * run resumes the visitor first; an error becomes the reader's sticky error. */
static int settle(kvsp_reader *r, int rc, uint64_t offset, const char *where)
{
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
    kvsp_event ev;
    int st;
    while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK) {
        int rc = dispatch(v, &ev);
        if (rc == KVSP_OK)
            continue;
        rc = settle(r, rc, ev.offset, ev.name);
        if (rc != KVSP_OK)
            return rc;
    }
    return st;
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
