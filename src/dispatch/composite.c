/* Several visitors on one event stream. The only state is where a paused
 * child left off: which item (event or frame) was being handed out and to
 * which child, so that resuming neither skips nor repeats a delivery.
 *
 * Every event of the reader passes through here, so the common path is
 * lean: per event type, the children that have a callback for it are listed
 * once at creation (no per-child switch or NULL test per event), and the
 * event is copied only when a child pauses (its payload stays valid while
 * the run is paused, but the caller's event struct does not). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "composite_internal.h"
#include "../alloc_internal.h"

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
        c->targets = kvsp_malloc(n * (COMPOSITE_EVENT_TYPES - 1) * sizeof *c->targets);
        if (!c->targets) {
            kvsp_composite_destroy(c);
            return NULL;
        }
    }
    c->n = n;
    size_t k = 0;
    for (unsigned t = 0; t < COMPOSITE_EVENT_TYPES; t++) {
        c->first[t] = k;
        for (size_t i = 0; t && i < n; i++) {
            event_callback cb = callback_for(&children[i], (kvsp_event_type)t);
            if (cb)
                c->targets[k++] = (composite_target){cb, children[i].user, i};
        }
    }
    c->first[COMPOSITE_EVENT_TYPES] = k;
    size_t voters = 0;
    int blind_reader = 0; /* reads children but cannot say it would skip them */
    for (size_t i = 0; i < n; i++) {
        voters += children[i].on_start != NULL;
        blind_reader |= !children[i].on_start && (children[i].on_data || children[i].on_end);
    }
    c->skip_votes_needed = voters && !blind_reader ? voters : SIZE_MAX;
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

/* Whether the pending item is a START whose children every voter asked to
 * skip. */
static int skip_agreed(const kvsp_composite *c)
{
    return c->pending == PENDING_EVENT && c->event.type == KVSP_EV_START &&
           c->votes == c->skip_votes_needed;
}

/* Hands the pending item to children first..n-1. */
static int deliver_from(kvsp_composite *c, size_t first)
{
    for (size_t i = first; i < c->n; i++) {
        int rc = deliver_one(c, i);
        if (rc == KVSP_SKIP && c->children[i].on_start)
            c->votes++;
        if (rc == KVSP_PAUSED) {
            c->paused_child = i;
            return KVSP_PAUSED;
        }
        if (rc < 0) {
            c->pending = PENDING_NONE;
            return rc;
        }
    }
    int rc = skip_agreed(c) ? KVSP_SKIP : KVSP_OK;
    c->pending = PENDING_NONE;
    return rc;
}

int kvsp_composite_on_event(void *user, const kvsp_event *ev)
{
    return kvsp_composite_event(user, ev);
}

static int on_frame(void *user, const struct kvsp_frame *frame)
{
    kvsp_composite *c = user;
    c->frame = frame;
    c->votes = 0;
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
        if (rc == KVSP_SKIP && child->on_start)
            c->votes++; /* its answer to the event it paused on */
    }
    return deliver_from(c, c->paused_child + 1);
}

kvsp_visitor kvsp_composite_visitor(kvsp_composite *c)
{
    kvsp_visitor v;
    memset(&v, 0, sizeof v);
    v.user = c;
    v.on_start = v.on_end = v.on_data = v.on_error = v.on_resync = kvsp_composite_on_event;
    v.on_frame = on_frame;
    v.on_resume = on_resume;
    return v;
}
