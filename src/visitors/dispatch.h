#ifndef KVSP_DISPATCH_H
#define KVSP_DISPATCH_H

#include "kvsparser/visitor.h"

/* The visitor's callback for an event, inline for the run loop: the
 * exported kvsp_visitor_dispatch would be called through the PLT (it may be
 * interposed), once per event. */
static inline int kvsp_dispatch_inline(const kvsp_visitor *v, const kvsp_event *ev)
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

#endif
