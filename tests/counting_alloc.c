#include <stdlib.h>

#include "counting_alloc.h"

long counted_allocations, counted_live, counted_fail_at;
static int fail_the_rest;

static int fails(void)
{
    ++counted_allocations;
    return counted_fail_at && (fail_the_rest ? counted_allocations >= counted_fail_at
                                             : counted_allocations == counted_fail_at);
}

static void *count_malloc(size_t n)
{
    if (fails())
        return NULL;
    void *p = malloc(n);
    counted_live += p != NULL;
    return p;
}

/* realloc(NULL, n) is a new block; a failed realloc keeps the old one. */
static void *count_realloc(void *p, size_t n)
{
    if (fails())
        return NULL;
    void *q = realloc(p, n);
    counted_live += q && !p;
    return q;
}

static void count_free(void *p)
{
    counted_live -= p != NULL;
    free(p);
}

const kvsp_allocator counting_allocator = {count_malloc, count_realloc, count_free};

void counting_reset(long fail_at)
{
    counted_allocations = 0;
    counted_live = 0;
    counted_fail_at = fail_at;
    fail_the_rest = 0;
}

void counting_fail_from(long first)
{
    counting_reset(first);
    fail_the_rest = 1;
}
