/* Pairing a visitor with the fragment visitor whose metadata it reads:
 * the visitors layer's documented internal interface for the layer above.
 *
 * Who may include it: src/visitors/ (frame_visitor.c) and src/merger/
 * (merger.c). The merger is a visitor built on fragment metadata like the
 * frame visitor, and must run after the same fragment visitor, with the same
 * event counting, to refuse a reader that hands it an event first
 * (KVSP_ERR_VISITOR_ORDER);
 * one copy of that rule keeps both in step. Both are in the core library,
 * so the kvsp_meta_pair_* symbols need no export. Nothing outside the core
 * library may include it (the shared library does not export them). */
#ifndef KVSP_META_PAIR_H
#define KVSP_META_PAIR_H

#include <stdint.h>

#include "kvsparser/fragment.h"
#include "kvsparser/status.h"
#include "kvsparser/visitor.h"

/* The one set-up of the visitors that read fragment metadata (frames,
 * merger): the fragment visitor they read, which must see every event first,
 * their own core visitor, and the teardown. Given no fragment visitor, they
 * get their own, run before the core by a composite. */
typedef struct meta_pair {
    kvsp_fragment_visitor *meta;
    kvsp_fragment_visitor *own_meta;
    kvsp_composite *pair;        /* own_meta, then core; NULL with a caller's meta */
    kvsp_visitor core;           /* the visitor's own handlers */
    uint64_t events;             /* events the visitor has seen */
    const uint64_t *meta_events; /* meta's own count, read on every event */
} meta_pair;

/* Keeps core for kvsp_meta_pair_visitor. Returns 0, or -1 on allocation
 * failure (p is then freed). */
int kvsp_meta_pair_init(meta_pair *p, kvsp_fragment_visitor *meta, kvsp_visitor core);
void kvsp_meta_pair_free(meta_pair *p);
/* The visitor to hand to a reader: the pair, or core itself. */
kvsp_visitor kvsp_meta_pair_visitor(const meta_pair *p);
/* Counts an event; KVSP_ERR_VISITOR_ORDER if the fragment visitor did not
 * see it first. Inline: it runs for every event. */
static inline int meta_pair_check(meta_pair *p)
{
    return *p->meta_events == ++p->events ? KVSP_OK : KVSP_ERR_VISITOR_ORDER;
}

#endif
