#ifndef KVSPARSER_ALLOC_H
#define KVSPARSER_ALLOC_H

#include <stddef.h>

#include "kvsparser/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The memory functions of the core library (reader, visitors, merger) and
 * of libkvsparser-client's own allocations (not libcurl's, OpenSSL's or
 * Jansson's). For
 * applications with their own allocator, and for tests that count
 * allocations or make the i-th one fail. Set it before creating any object
 * and keep it while they live; NULL restores malloc, realloc and free. Not
 * thread-safe: it is process-wide. */
typedef struct kvsp_allocator {
    void *(*malloc)(size_t size);
    void *(*realloc)(void *p, size_t size);
    void (*free)(void *p);
} kvsp_allocator;

KVSP_API void kvsp_set_allocator(const kvsp_allocator *allocator);

#ifdef __cplusplus
}
#endif

#endif
