/* Memory for decoded pictures, recycled.
 *
 * A picture of 640x360 RGB is 691 KB: above glibc's mmap threshold, so a
 * fresh malloc per picture was a fresh mapping, and the kernel's page
 * faults and zeroing of its pages took a quarter of the CPU time of
 * kvsp.decode() (perf; PyAV, whose buffers come from pools, spent 7% in
 * the kernel). Blocks freed by their last numpy array come back here and
 * are handed out again, already mapped. The pool is bounded (blocks and
 * bytes), so a long stream does not grow the process; the decoder's
 * callback takes blocks without the GIL, so a mutex guards it. */
#include "native.h"

#include <pthread.h>
#include <stdlib.h>

#define POOL_BLOCKS 16
#define POOL_BYTES ((size_t)128 << 20)

/* Before the pixels: the block's capacity; 64 bytes keep them aligned. */
typedef union {
    size_t capacity;
    unsigned char align[64];
} block_header;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static block_header *pool[POOL_BLOCKS];
static int pool_count;
static size_t pool_bytes;

void *kvsp_py_pixels_alloc(size_t size)
{
    if (size == 0)
        size = 1;
    block_header *h = NULL;
    pthread_mutex_lock(&pool_lock);
    /* The same size comes back picture after picture: a block at least as
     * large, and not more than twice (a smaller stream must not pin a
     * large block it does not use). */
    for (int i = 0; i < pool_count; i++) {
        if (pool[i]->capacity >= size && pool[i]->capacity / 2 <= size) {
            h = pool[i];
            pool[i] = pool[--pool_count];
            pool_bytes -= h->capacity;
            break;
        }
    }
    pthread_mutex_unlock(&pool_lock);
    if (!h) {
        if (size > SIZE_MAX - sizeof *h)
            return NULL;
        h = malloc(sizeof *h + size);
        if (!h)
            return NULL;
        h->capacity = size;
    }
    return h + 1;
}

void kvsp_py_pixels_free(void *pixels)
{
    if (!pixels)
        return;
    block_header *h = (block_header *)pixels - 1;
    pthread_mutex_lock(&pool_lock);
    if (pool_count == POOL_BLOCKS || h->capacity > POOL_BYTES - pool_bytes) {
        /* Full: the oldest kept block goes, so the pool follows a change
         * of picture size. */
        if (pool_count > 0) {
            block_header *old = pool[0];
            pool[0] = pool[--pool_count];
            pool_bytes -= old->capacity;
            free(old);
        }
    }
    if (pool_count < POOL_BLOCKS && h->capacity <= POOL_BYTES - pool_bytes) {
        pool[pool_count++] = h;
        pool_bytes += h->capacity;
        h = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    free(h);
}
