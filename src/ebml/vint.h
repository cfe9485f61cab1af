#ifndef KVSP_VINT_H
#define KVSP_VINT_H

#include <stddef.h>
#include <stdint.h>

/* EBML variable-size integers (RFC 8794 section 4). The length is one more
 * than the number of leading zero bits of the first byte; a first byte of 0
 * would mean more than 8 bytes, which EBML forbids. Returns 0 for that. */
static inline unsigned kvsp_vint_length(uint8_t first)
{
    if (first == 0)
        return 0;
    return (unsigned)__builtin_clz((unsigned)first) - (unsigned)(8 * (sizeof(unsigned) - 1)) + 1;
}

/* Value bits of a VINT of length len (marker removed). */
static inline uint64_t kvsp_vint_value(const uint8_t *p, unsigned len)
{
    uint64_t v = p[0] & (0xFFu >> len);
    for (unsigned i = 1; i < len; i++)
        v = (v << 8) | p[i];
    return v;
}

/* All value bits set: the reserved "unknown size" value of that length. */
static inline int kvsp_vint_is_all_ones(uint64_t value, unsigned len)
{
    return value == ((uint64_t)1 << (7 * len)) - 1;
}

/* Reads one VINT from p[0..n). Returns its length, 0 if more bytes are
 * needed, or -1 if invalid (longer than max_len bytes). */
static inline int kvsp_vint_read(const uint8_t *p, size_t n, unsigned max_len, uint64_t *value)
{
    if (n == 0)
        return 0;
    unsigned len = kvsp_vint_length(p[0]);
    if (len == 0 || len > max_len)
        return -1;
    if (n < len)
        return 0;
    *value = kvsp_vint_value(p, len);
    return (int)len;
}

#endif
