#include <stdlib.h>
#include <string.h>

#include "alloc_internal.h"
#include "kvsparser/alloc.h"

static kvsp_allocator current = {malloc, realloc, free};

void kvsp_set_allocator(const kvsp_allocator *allocator)
{
    if (allocator && allocator->malloc && allocator->realloc && allocator->free)
        current = *allocator;
    else
        current = (kvsp_allocator){malloc, realloc, free};
}

void *kvsp_malloc(size_t size)
{
    return current.malloc(size ? size : 1);
}

void *kvsp_calloc(size_t n, size_t size)
{
    if (size && n > (size_t)-1 / size)
        return NULL;
    void *p = kvsp_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *kvsp_realloc(void *p, size_t size)
{
    return current.realloc(p, size ? size : 1);
}

void kvsp_free(void *p)
{
    if (p)
        current.free(p);
}

void *kvsp_ext_malloc(size_t size)
{
    return kvsp_malloc(size);
}

void *kvsp_ext_calloc(size_t n, size_t size)
{
    return kvsp_calloc(n, size);
}

void *kvsp_ext_realloc(void *p, size_t size)
{
    return kvsp_realloc(p, size);
}

void kvsp_ext_free(void *p)
{
    kvsp_free(p);
}

char *kvsp_ext_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = kvsp_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}
