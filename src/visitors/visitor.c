#include "kvsparser/visitor.h"

int kvsp_visitor_dispatch(const kvsp_visitor *v, const kvsp_event *ev)
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

int kvsp_reader_run(kvsp_reader *r, const kvsp_visitor *v)
{
    if (!r || !v)
        return KVSP_ERR_INVALID_ARG;
    kvsp_event ev;
    int st;
    while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK) {
        int rc = kvsp_visitor_dispatch(v, &ev);
        if (rc == KVSP_PAUSED)
            return KVSP_PAUSED;
        if (rc < 0) {
            kvsp_reader_fail(r, rc, ev.offset, "stopped by a visitor at %s", ev.name);
            return rc;
        }
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
