#ifndef KVSP_ALLOC_INTERNAL_H
#define KVSP_ALLOC_INTERNAL_H

#include <stddef.h>

#include "kvsparser/export.h"

/* Every allocation of the core library goes through these, so that an
 * application's kvsp_set_allocator sees them all. */
void *kvsp_malloc(size_t size);
void *kvsp_calloc(size_t n, size_t size);
void *kvsp_realloc(void *p, size_t size);
void kvsp_free(void *p);

/* The same functions, exported for libkvsparser-client (not part of the
 * API), so that its own allocations follow kvsp_set_allocator too. The
 * core keeps calling the hidden ones above: no PLT on its paths. */
KVSP_API void *kvsp_ext_malloc(size_t size);
KVSP_API void *kvsp_ext_calloc(size_t n, size_t size);
KVSP_API void *kvsp_ext_realloc(void *p, size_t size);
KVSP_API void kvsp_ext_free(void *p);
KVSP_API char *kvsp_ext_strdup(const char *s);

#endif
