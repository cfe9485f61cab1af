/* Shared helpers for the libFuzzer targets: a tiny deterministic PRNG seeded
 * from the input's first bytes, used to pick chunk sizes. */
#ifndef KVSP_FUZZ_COMMON_H
#define KVSP_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/visitor.h"

typedef struct fuzz_chunker {
    uint64_t state;
    /* 0: whole input, 1: 1-byte chunks (for the last 64 KiB), 2: fixed size, 3: random sizes */
    uint8_t mode;
    size_t fixed;
} fuzz_chunker;

/* Consumes up to 3 leading bytes of the input to set up the chunker. */
static inline void fuzz_chunker_init(fuzz_chunker *c, const uint8_t **data, size_t *size)
{
    uint8_t b[3] = {0, 0, 0};
    for (int i = 0; i < 3 && *size > 0; i++) {
        b[i] = **data;
        (*data)++;
        (*size)--;
    }
    c->mode = b[0] & 3;
    c->fixed = (size_t)b[1] + 1;
    c->state = 0x9E3779B97F4A7C15ull ^ ((uint64_t)b[0] << 16 | (uint64_t)b[1] << 8 | b[2]);
}

static inline size_t fuzz_chunker_next(fuzz_chunker *c, size_t remaining)
{
    size_t n;
    switch (c->mode) {
    case 0: n = remaining; break;
    case 1: n = remaining > 65536 ? c->fixed : 1; break; /* byte by byte near the end */
    case 2: n = c->fixed; break;
    default:
        c->state ^= c->state << 13;
        c->state ^= c->state >> 7;
        c->state ^= c->state << 17;
        n = (size_t)(c->state % 4096) + 1;
        break;
    }
    if (n > remaining)
        n = remaining;
    return n ? n : 1;
}

/* Reads every byte of a payload so that ASan sees out-of-bounds pointers. */
static inline uint8_t fuzz_touch(const uint8_t *p, size_t n)
{
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    return x;
}

/* Feeds the whole input in the chunker's chunks, then finishes; the final
 * status of the run. */
static inline int fuzz_run_reader(kvsp_reader *r, const kvsp_visitor *v, fuzz_chunker *ch,
                                  const uint8_t *data, size_t size)
{
    int st = KVSP_NEED_DATA;
    size_t pos = 0;
    while (pos < size && st == KVSP_NEED_DATA) {
        size_t n = fuzz_chunker_next(ch, size - pos);
        st = kvsp_reader_push(r, data + pos, n, v);
        pos += n;
    }
    if (st == KVSP_NEED_DATA) {
        kvsp_reader_finish(r);
        st = kvsp_reader_run(r, v);
    }
    return st;
}

#endif
