/* Several visitors on one event stream. The only state is where a paused
 * child left off: which item (event or frame) was being handed out and to
 * which child, so that resuming neither skips nor repeats a delivery. */
#include <stdlib.h>
#include <string.h>

#include "kvsparser/visitor.h"
#include "../alloc_internal.h"

typedef enum pending_kind { PENDING_NONE, PENDING_EVENT, PENDING_FRAME } pending_kind;

struct kvsp_composite {
    kvsp_visitor *children;
    size_t n;
    pending_kind pending;
    size_t paused_child; /* the child that returned KVSP_PAUSED */
    kvsp_event event;    /* copy of the event being delivered; its payload
                            pointers stay valid while the run is paused */
    const struct kvsp_frame *frame;
};

kvsp_composite *kvsp_composite_create(const kvsp_visitor *children, size_t n)
{
    if (n && !children)
        return NULL;
    kvsp_composite *c = kvsp_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (n) {
        c->children = kvsp_malloc(n * sizeof *children);
        if (!c->children) {
            kvsp_free(c);
            return NULL;
        }
        memcpy(c->children, children, n * sizeof *children);
    }
    c->n = n;
    return c;
}

void kvsp_composite_destroy(kvsp_composite *c)
{
    if (!c)
        return;
    kvsp_free(c->children);
    kvsp_free(c);
}

static int deliver_one(kvsp_composite *c, size_t i)
{
    if (c->pending == PENDING_FRAME)
        return kvsp_visitor_frame(&c->children[i], c->frame);
    return kvsp_visitor_dispatch(&c->children[i], &c->event);
}

/* Hands the pending item to children first..n-1. */
static int deliver_from(kvsp_composite *c, size_t first)
{
    for (size_t i = first; i < c->n; i++) {
        int rc = deliver_one(c, i);
        if (rc == KVSP_PAUSED) {
            c->paused_child = i;
            return KVSP_PAUSED;
        }
        if (rc < 0) {
            c->pending = PENDING_NONE;
            return rc;
        }
    }
    c->pending = PENDING_NONE;
    return KVSP_OK;
}

static int on_event(void *user, const kvsp_event *ev)
{
    kvsp_composite *c = user;
    c->event = *ev;
    c->pending = PENDING_EVENT;
    return deliver_from(c, 0);
}

static int on_frame(void *user, const struct kvsp_frame *frame)
{
    kvsp_composite *c = user;
    c->frame = frame;
    c->pending = PENDING_FRAME;
    return deliver_from(c, 0);
}

static int on_resume(void *user)
{
    kvsp_composite *c = user;
    if (c->pending == PENDING_NONE)
        return KVSP_OK;
    const kvsp_visitor *child = &c->children[c->paused_child];
    if (child->on_resume) {
        int rc = child->on_resume(child->user);
        if (rc == KVSP_PAUSED)
            return KVSP_PAUSED;
        if (rc < 0) {
            c->pending = PENDING_NONE;
            return rc;
        }
    }
    return deliver_from(c, c->paused_child + 1);
}

kvsp_visitor kvsp_composite_visitor(kvsp_composite *c)
{
    kvsp_visitor v;
    memset(&v, 0, sizeof v);
    v.user = c;
    v.on_start = v.on_end = v.on_data = v.on_error = v.on_resync = on_event;
    v.on_frame = on_frame;
    v.on_resume = on_resume;
    return v;
}
