#ifndef KVSP_EBML_BUILDER_H
#define KVSP_EBML_BUILDER_H

#include <stddef.h>
#include <stdint.h>

/* Writes EBML by hand, including the broken encodings tests need. */
typedef struct ebml_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} ebml_buf;

void eb_free(ebml_buf *b);
void eb_bytes(ebml_buf *b, const void *p, size_t n);
void eb_byte(ebml_buf *b, uint8_t v);
/* An ID as written in the schema (marker bits included). */
void eb_id(ebml_buf *b, uint32_t id);
/* A size VINT of exactly len bytes (1-8); len 0 picks the shortest. */
void eb_size(ebml_buf *b, uint64_t size, unsigned len);
/* The reserved unknown size of len bytes (0xFF for 1, 0x01FF..FF for 8). */
void eb_unknown_size(ebml_buf *b, unsigned len);
void eb_uint(ebml_buf *b, uint32_t id, uint64_t v);
void eb_string(ebml_buf *b, uint32_t id, const char *s);
void eb_binary(ebml_buf *b, uint32_t id, const void *p, size_t n);
/* A master of known size: begin writes the ID and reserves an 8-byte size,
 * end patches it. */
size_t eb_begin(ebml_buf *b, uint32_t id);
void eb_end(ebml_buf *b, size_t mark);
/* A master of unknown size, ended by whatever follows. */
void eb_begin_unknown(ebml_buf *b, uint32_t id, unsigned size_len);
/* EBML header with DocType matroska. */
void eb_ebml_header(ebml_buf *b);
/* An unlaced SimpleBlock: track 1, timecode, flags, payload of n bytes of v. */
void eb_simple_block(ebml_buf *b, int16_t timecode, uint8_t flags, size_t n, uint8_t v);

#endif
