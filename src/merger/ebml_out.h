#ifndef KVSP_EBML_OUT_H
#define KVSP_EBML_OUT_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer that EBML elements are encoded into. Growth is
 * amortised and the buffer is reused, so a merger that buffers one cluster
 * at a time stops allocating once it has seen its largest cluster. A failed
 * allocation is remembered and reported once, at the end. */
typedef struct ebml_out {
    uint8_t *data;
    size_t len;
    size_t cap;
    int failed;
} ebml_out;

void kvsp_ebml_out_free(ebml_out *o);
void kvsp_ebml_out_clear(ebml_out *o);
void kvsp_ebml_out_bytes(ebml_out *o, const void *p, size_t n);
void kvsp_ebml_out_id(ebml_out *o, uint32_t id);
/* A size VINT in its shortest form, or of exactly len bytes (1-8). */
void kvsp_ebml_out_size(ebml_out *o, uint64_t size, unsigned len);
void kvsp_ebml_out_unknown_size(ebml_out *o);
void kvsp_ebml_out_uint(ebml_out *o, uint32_t id, uint64_t v);
void kvsp_ebml_out_float(ebml_out *o, uint32_t id, double v);
void kvsp_ebml_out_string(ebml_out *o, uint32_t id, const char *s);
void kvsp_ebml_out_binary(ebml_out *o, uint32_t id, const void *p, size_t n);
/* A master whose size is patched by kvsp_ebml_out_end: returns the mark to pass. */
size_t kvsp_ebml_out_begin(ebml_out *o, uint32_t id);
void kvsp_ebml_out_end(ebml_out *o, size_t mark);
/* Encodes an 8-byte size VINT at p (for patching output already written). */
void kvsp_ebml_out_put_size8(uint8_t *p, uint64_t size);
/* Encodes v as an 8-byte big-endian double at p. */
void kvsp_ebml_out_put_double(uint8_t *p, double v);

#endif
