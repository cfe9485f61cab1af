/* Calling a visitor's callbacks from outside a run (a composite, tests,
 * callers that pull events with kvsp_reader_next). */
#include "kvsparser/visitor.h"

#include "dispatch.h"

int kvsp_visitor_dispatch(const kvsp_visitor *v, const kvsp_event *ev)
{
    return kvsp_dispatch_inline(v, ev);
}

int kvsp_visitor_frame(const kvsp_visitor *v, const struct kvsp_frame *frame)
{
    return v->on_frame ? v->on_frame(v->user, frame) : KVSP_OK;
}
