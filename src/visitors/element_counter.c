/* Element counts indexed by schema table position, so counting is one
 * schema lookup (a table load) and no allocation per element. */
#include <stdlib.h>
#include <string.h>

#include "kvsparser/element_visitors.h"
#include "../alloc_internal.h"

struct kvsp_element_counter {
    uint64_t unknown;
    uint64_t total;
    size_t n;
    uint64_t counts[]; /* one per schema element */
};

kvsp_element_counter *kvsp_element_counter_create(void)
{
    size_t n = kvsp_element_count();
    kvsp_element_counter *c = kvsp_calloc(1, sizeof *c + n * sizeof c->counts[0]);
    if (c)
        c->n = n;
    return c;
}

void kvsp_element_counter_destroy(kvsp_element_counter *c)
{
    kvsp_free(c);
}

void kvsp_element_counter_reset(kvsp_element_counter *c)
{
    if (!c)
        return;
    c->unknown = c->total = 0;
    memset(c->counts, 0, c->n * sizeof c->counts[0]);
}

static int count(void *user, const kvsp_event *ev)
{
    kvsp_element_counter *c = user;
    c->total++;
    if (ev->info)
        c->counts[ev->info - kvsp_element_at(0)]++;
    else
        c->unknown++;
    return KVSP_OK;
}

kvsp_visitor kvsp_element_counter_visitor(kvsp_element_counter *c)
{
    kvsp_visitor v;
    memset(&v, 0, sizeof v);
    v.user = c;
    v.on_start = v.on_data = count;
    return v;
}

uint64_t kvsp_element_counter_get(const kvsp_element_counter *c, uint32_t id)
{
    if (!c)
        return 0;
    if (id == 0)
        return c->unknown;
    const kvsp_element_info *info = kvsp_element_lookup(id);
    return info ? c->counts[info - kvsp_element_at(0)] : 0;
}

uint64_t kvsp_element_counter_total(const kvsp_element_counter *c)
{
    return c ? c->total : 0;
}
