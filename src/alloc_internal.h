#ifndef KVSP_ALLOC_INTERNAL_H
#define KVSP_ALLOC_INTERNAL_H

#include <stddef.h>

/* Every allocation of the core library goes through these, so that an
 * application's kvsp_set_allocator sees them all. */
void *kvsp_malloc(size_t size);
void *kvsp_calloc(size_t n, size_t size);
void *kvsp_realloc(void *p, size_t size);
void kvsp_free(void *p);

#endif
