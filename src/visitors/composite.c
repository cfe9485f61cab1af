/* Several visitors on one event stream. The only state is where a paused
 * child left off: which item (event or frame) was being handed out and to
 * which child, so that resuming neither skips nor repeats a delivery.
 *
 * Every event of the reader passes through here, so the common path is
 * lean: per event type, the children that have a callback for it are listed
 * once at creation (no per-child switch or NULL test per event), and the
 * event is copied only when a child pauses (its payload stays valid while
 * the run is paused, but the caller's event struct does not). */
#include <stdlib.h>
#include <string.h>

#include "kvsparser/visitor.h"
#include "../alloc_internal.h"

typedef enum pending_kind { PENDING_NONE, PENDING_EVENT, PENDING_FRAME } pending_kind;

typedef int (*event_callback)(void *user, const kvsp_event *ev);

/* A child's callback for one event type. */
typedef struct target {
    event_callback cb;
    void *user;
    size_t child;
} target;

#define EVENT_TYPES 6 /* kvsp_event_type values 1..5; 0 and others have no targets */

struct kvsp_composite {
    kvsp_visitor *children;
    size_t n;
    target *targets;             /* grouped by event type, children in order */
    size_t first[EVENT_TYPES + 1]; /* type t's targets: [first[t], first[t + 1]) */
    pending_kind pending;
    size_t paused_child; /* the child that returned KVSP_PAUSED */
    kvsp_event event;    /* copy of the event being delivered; its payload
                            pointers stay valid while the run is paused */
    const struct kvsp_frame *frame;
};

static event_callback callback_for(const kvsp_visitor *v, kvsp_event_type type)
{
    switch (type) {
    case KVSP_EV_START: return v->on_start;
    case KVSP_EV_END: return v->on_end;
    case KVSP_EV_DATA: return v->on_data;
    case KVSP_EV_ERROR: return v->on_error;
    case KVSP_EV_RESYNC: return v->on_resync;
    }
    return NULL;
}

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
        c->targets = kvsp_malloc(n * (EVENT_TYPES - 1) * sizeof *c->targets);
        if (!c->targets) {
            kvsp_composite_destroy(c);
            return NULL;
        }
    }
    c->n = n;
    size_t k = 0;
    for (unsigned t = 0; t < EVENT_TYPES; t++) {
        c->first[t] = k;
        for (size_t i = 0; t && i < n; i++) {
            event_callback cb = callback_for(&children[i], (kvsp_event_type)t);
            if (cb)
                c->targets[k++] = (target){cb, children[i].user, i};
        }
    }
    c->first[EVENT_TYPES] = k;
    return c;
}

void kvsp_composite_destroy(kvsp_composite *c)
{
    if (!c)
        return;
    kvsp_free(c->children);
    kvsp_free(c->targets);
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
    unsigned t = (unsigned)ev->type < EVENT_TYPES ? (unsigned)ev->type : 0;
    for (size_t k = c->first[t], end = c->first[t + 1]; k < end; k++) {
        const target *tg = &c->targets[k];
        int rc = tg->cb(tg->user, ev);
        if (rc == KVSP_PAUSED) {
            c->event = *ev; /* on_resume goes on with the children after this one */
            c->pending = PENDING_EVENT;
            c->paused_child = tg->child;
            return KVSP_PAUSED;
        }
        if (rc < 0)
            return rc;
    }
    return KVSP_OK;
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
