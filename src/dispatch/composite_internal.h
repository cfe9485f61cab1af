#ifndef KVSP_COMPOSITE_INTERNAL_H
#define KVSP_COMPOSITE_INTERNAL_H

#include <stddef.h>

#include "kvsparser/visitor.h"

typedef enum pending_kind { PENDING_NONE, PENDING_EVENT, PENDING_FRAME } pending_kind;

typedef int (*event_callback)(void *user, const kvsp_event *ev);

/* A child's callback for one event type. */
typedef struct composite_target {
    event_callback cb;
    void *user;
    size_t child;
} composite_target;

#define COMPOSITE_EVENT_TYPES 6 /* kvsp_event_type values 1..5; 0 and others have no targets */

struct kvsp_composite {
    kvsp_visitor *children;
    size_t n;
    composite_target *targets;               /* grouped by event type, children in order */
    size_t first[COMPOSITE_EVENT_TYPES + 1]; /* type t's targets: [first[t], first[t + 1]) */
    /* A START is skipped when this many children (those with on_start)
     * answer KVSP_SKIP; SIZE_MAX when some child would read the children
     * without an on_start to say so, or none has one. */
    size_t skip_votes_needed;
    size_t votes; /* KVSP_SKIP answers so far for the pending START */
    pending_kind pending;
    size_t paused_child; /* the child that returned KVSP_PAUSED */
    kvsp_event event;    /* copy of the event being delivered; its payload
                            pointers stay valid while the run is paused */
    const struct kvsp_frame *frame;
};

/* A composite's event callback (every event type). kvsp_reader_run knows a
 * composite by it and runs kvsp_composite_event inline instead: one call
 * per element fewer on the path every element takes. */
int kvsp_composite_on_event(void *user, const kvsp_event *ev);

/* Hands the event to the children that have a callback for its type. */
static inline int kvsp_composite_event(kvsp_composite *c, const kvsp_event *ev)
{
    unsigned t = (unsigned)ev->type < COMPOSITE_EVENT_TYPES ? (unsigned)ev->type : 0;
    size_t skips = 0;
    for (size_t k = c->first[t], end = c->first[t + 1]; k < end; k++) {
        const composite_target *tg = &c->targets[k];
        int rc = tg->cb(tg->user, ev);
        if (rc == KVSP_OK)
            continue;
        if (rc == KVSP_SKIP) {
            skips++;
            continue;
        }
        if (rc == KVSP_PAUSED) {
            c->event = *ev; /* on_resume goes on with the children after this one */
            c->pending = PENDING_EVENT;
            c->paused_child = tg->child;
            c->votes = skips;
            return KVSP_PAUSED;
        }
        if (rc < 0)
            return rc;
    }
    return t == KVSP_EV_START && skips == c->skip_votes_needed ? KVSP_SKIP : KVSP_OK;
}

#endif
