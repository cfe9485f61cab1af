#include "meta_pair.h"

#include <string.h>

#include "fragment_internal.h"

int kvsp_meta_pair_init(meta_pair *p, kvsp_fragment_visitor *meta, kvsp_visitor core)
{
    memset(p, 0, sizeof *p);
    if (!meta) {
        p->own_meta = kvsp_fragment_visitor_create(NULL);
        if (!p->own_meta)
            return -1;
        kvsp_visitor pair[2] = {kvsp_fragment_visitor_visitor(p->own_meta), core};
        p->pair = kvsp_composite_create(pair, 2);
        if (!p->pair) {
            kvsp_meta_pair_free(p);
            return -1;
        }
        meta = p->own_meta;
    }
    p->meta = meta;
    p->core = core;
    p->events = kvsp_fragment_visitor_events(meta);
    p->meta_events = kvsp_fragment_visitor_events_counter(meta);
    return 0;
}

void kvsp_meta_pair_free(meta_pair *p)
{
    kvsp_composite_destroy(p->pair);
    kvsp_fragment_visitor_destroy(p->own_meta);
    memset(p, 0, sizeof *p);
}

kvsp_visitor kvsp_meta_pair_visitor(const meta_pair *p)
{
    return p->pair ? kvsp_composite_visitor(p->pair) : p->core;
}
