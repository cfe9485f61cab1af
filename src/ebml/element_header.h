/* EBML element headers (RFC 8794 sections 4-6) and the sizes a value type
 * may have: the one place the library reads them. The reader's general and
 * fast paths, the content cursor and the SimpleTag shape check all call
 * these, so that they cannot disagree about which bytes are an element
 * (e82772b was such a disagreement: one path refused ChapterDisplay's ID
 * 0x80, the others took it).
 *
 * A header is an element ID (a VINT of 1-4 bytes kept with its length
 * marker, e.g. 0x1A45DFA3) followed by a data size (a VINT of 1-8 bytes,
 * marker removed); a size with every value bit set means "unknown".
 *
 * kvsp_ebml_header_fast: the header at p, when 12 bytes are readable.
 *
 *   Entry assumptions:
 *     p[0..12) may be read (the longest header: a 4-byte ID and an 8-byte
 *     size), whether or not the header is that long
 *
 *   On return:
 *     the header's length (2 to 12), *id (with its marker) and *size (the
 *     value, or KVSP_SIZE_UNKNOWN for an unknown size); or 0 when the
 *     first byte starts no ID of 1-4 bytes or the size field would be
 *     longer than 8 bytes (*id and *size untouched)
 *
 *   Never:
 *     reads beyond p[11]; branches on bytes past the header except to
 *     load them; refuses a reserved ID (an ID whose value bits are all 0
 *     or all 1): the caller looks the ID up, and one the schema does not
 *     know is checked with kvsp_ebml_id_bits_reserved or goes to the slow
 *     entry
 *
 * kvsp_ebml_header_slow: the header at p[0..n), byte by byte.
 *
 *   Entry assumptions:
 *     n >= 1; p[0..n) may be read; the element table is built
 *     (kvsp_element_tables_init)
 *
 *   On return, checked in this order as the bytes arrive:
 *     KVSP_ERR_INVALID_ID   the first byte starts no ID of 1-4 bytes
 *     0                     more bytes are needed (the ID's and the size's
 *                           first byte, then the whole size)
 *     KVSP_ERR_INVALID_ID   a reserved ID the schema does not define
 *                           (kvsp_ebml_id_refused)
 *     KVSP_ERR_INVALID_SIZE the size field would be longer than 8 bytes
 *     0                     more bytes are needed for the size
 *     the header's length, *id and *size as the fast entry gives them
 *
 *   Never:
 *     reads p[n] or beyond; writes *id or *size unless it returns a length.
 *     Fed the same complete header, both entries give the same length, ID
 *     and size (tests/test_ebml_header.c holds them to it).
 *
 * kvsp_ebml_value_size_status: whether a data element of a type may have
 * a size: integers and dates at most 8 bytes, floats 0, 4 or 8 bytes, any
 * size for the rest. KVSP_OK, KVSP_ERR_BAD_INTEGER or KVSP_ERR_BAD_FLOAT;
 * limits (element and string sizes) are the reader's, not the format's. */
#ifndef KVSP_EBML_ELEMENT_HEADER_H
#define KVSP_EBML_ELEMENT_HEADER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kvsparser/element.h"
#include "kvsparser/reader.h"
#include "kvsparser/status.h"

#include "../compiler.h"
#include "element_table.h"
#include "vint.h"

/* Big-endian loads; memcpy keeps them legal at any alignment and compiles
 * to one load. */
static inline uint32_t kvsp_load_be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return __builtin_bswap32(v);
}

static inline uint64_t kvsp_load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return __builtin_bswap64(v);
}

/* Big-endian value of p[0..n), n <= 8. */
static inline uint64_t kvsp_be_value(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Whether an ID's value bits (marker removed) of an ID of len bytes are
 * all 0 or all 1, which RFC 8794 section 5 reserves. */
static inline int kvsp_ebml_id_value_reserved(uint64_t value_bits, unsigned len)
{
    return value_bits == 0 || kvsp_vint_is_all_ones(value_bits, len);
}

/* The same for a well-formed ID (1-4 bytes with its marker). */
static inline int kvsp_ebml_id_bits_reserved(uint32_t id)
{
    unsigned len = id <= 0xFF ? 1 : id <= 0xFFFF ? 2 : id <= 0xFFFFFF ? 3 : 4;
    return kvsp_ebml_id_value_reserved(id & (((uint32_t)1 << (7 * len)) - 1), len);
}

/* A reserved ID the schema does not give a meaning anyway (Matroska keeps
 * ChapterDisplay at 0x80): no element may have it. */
static inline int kvsp_ebml_id_refused(uint32_t id)
{
    return kvsp_ebml_id_bits_reserved(id) && !kvsp_element_slot(id);
}

static KVSP_ALWAYS_INLINE unsigned kvsp_ebml_header_fast(const uint8_t *p, uint32_t *id,
                                                         uint64_t *size)
{
    unsigned id_len = kvsp_vint_length(p[0]);
    unsigned size_len = kvsp_vint_length(p[id_len & 7]); /* in bounds even for a bad id_len */
    if (id_len == 0 || id_len > 4 || size_len == 0)
        return 0;
    uint64_t all_ones = ((uint64_t)1 << (7 * size_len)) - 1;
    uint64_t value = (kvsp_load_be64(p + id_len) >> (64 - 8 * size_len)) & all_ones;
    *id = kvsp_load_be32(p) >> (32 - 8 * id_len);
    *size = value == all_ones ? KVSP_SIZE_UNKNOWN : value;
    return id_len + size_len;
}

static inline int kvsp_ebml_header_slow(const uint8_t *p, size_t n, uint32_t *id, uint64_t *size)
{
    unsigned id_len = kvsp_vint_length(p[0]);
    if (id_len == 0 || id_len > 4)
        return KVSP_ERR_INVALID_ID;
    if (n < id_len + 1u)
        return 0;
    uint32_t id_value = (uint32_t)kvsp_be_value(p, id_len);
    uint32_t value_bits = id_value & (((uint32_t)1 << (7 * id_len)) - 1);
    if (kvsp_ebml_id_value_reserved(value_bits, id_len) && !kvsp_element_slot(id_value))
        return KVSP_ERR_INVALID_ID; /* kvsp_ebml_id_refused, with the length at hand */
    unsigned size_len = kvsp_vint_length(p[id_len]);
    if (size_len == 0)
        return KVSP_ERR_INVALID_SIZE;
    if (n < id_len + size_len)
        return 0;
    uint64_t value = kvsp_vint_value(p + id_len, size_len);
    *id = id_value;
    *size = kvsp_vint_is_all_ones(value, size_len) ? KVSP_SIZE_UNKNOWN : value;
    return (int)(id_len + size_len);
}

/* A size field's first byte read as a one-byte size, the form nearly every
 * small element has: the value when below KVSP_EBML_SIZE1_UNKNOWN, exactly
 * that for the unknown size (0xFF), above it when the field is longer than
 * a byte. So one comparison against a bound below 0x7F refuses both. */
#define KVSP_EBML_SIZE1_UNKNOWN 0x7Fu
static inline unsigned kvsp_ebml_size1(uint8_t byte)
{
    return byte ^ 0x80u;
}

static inline int kvsp_ebml_value_size_status(kvsp_type type, uint64_t size)
{
    switch (type) {
    case KVSP_TYPE_UINT:
    case KVSP_TYPE_INT:
    case KVSP_TYPE_DATE: return size <= 8 ? KVSP_OK : KVSP_ERR_BAD_INTEGER;
    case KVSP_TYPE_FLOAT: return size == 0 || size == 4 || size == 8 ? KVSP_OK : KVSP_ERR_BAD_FLOAT;
    default: return KVSP_OK;
    }
}

#endif
