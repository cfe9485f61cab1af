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

void eo_free(ebml_out *o);
void eo_clear(ebml_out *o);
void eo_bytes(ebml_out *o, const void *p, size_t n);
void eo_id(ebml_out *o, uint32_t id);
/* A size VINT in its shortest form, or of exactly len bytes (1-8). */
void eo_size(ebml_out *o, uint64_t size, unsigned len);
void eo_unknown_size(ebml_out *o);
void eo_uint(ebml_out *o, uint32_t id, uint64_t v);
void eo_float(ebml_out *o, uint32_t id, double v);
void eo_string(ebml_out *o, uint32_t id, const char *s);
void eo_binary(ebml_out *o, uint32_t id, const void *p, size_t n);
/* A master whose size is patched by eo_end: returns the mark to pass. */
size_t eo_begin(ebml_out *o, uint32_t id);
void eo_end(ebml_out *o, size_t mark);
/* Encodes an 8-byte size VINT at p (for patching output already written). */
void eo_put_size8(uint8_t *p, uint64_t size);
/* Encodes v as an 8-byte big-endian double at p. */
void eo_put_double(uint8_t *p, double v);

#endif
