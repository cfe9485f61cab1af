#include "ebml_out.h"

#include <stdlib.h>
#include <string.h>
#include "../alloc_internal.h"

/* The exported hook functions, not the hidden kvsp_realloc: this file is
 * also compiled into kvsp-full (kvsp_ebml_out in CMakeLists.txt), which sees
 * only what the shared library exports. The buffer grows rarely (it is
 * reused), so the indirect call costs nothing measurable. */

void kvsp_ebml_out_free(ebml_out *o)
{
    kvsp_ext_free(o->data);
    memset(o, 0, sizeof *o);
}

void kvsp_ebml_out_clear(ebml_out *o)
{
    o->len = 0;
}

void kvsp_ebml_out_bytes(ebml_out *o, const void *p, size_t n)
{
    if (o->failed)
        return;
    if (n > o->cap - o->len) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap - o->len < n) {
            if (cap > SIZE_MAX / 2) {
                o->failed = 1;
                return;
            }
            cap *= 2;
        }
        uint8_t *bigger = kvsp_ext_realloc(o->data, cap);
        if (!bigger) {
            o->failed = 1;
            return;
        }
        o->data = bigger;
        o->cap = cap;
    }
    if (n)
        memcpy(o->data + o->len, p, n);
    o->len += n;
}

void kvsp_ebml_out_id(ebml_out *o, uint32_t id)
{
    uint8_t b[4];
    unsigned n = id > 0xFFFFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1;
    for (unsigned i = 0; i < n; i++)
        b[i] = (uint8_t)(id >> (8 * (n - 1 - i)));
    kvsp_ebml_out_bytes(o, b, n);
}

void kvsp_ebml_out_size(ebml_out *o, uint64_t size, unsigned len)
{
    if (len == 0) {
        len = 1;
        /* All-ones is reserved for "unknown", hence the - 1. */
        while (len < 8 && size >= (1ull << (7 * len)) - 1)
            len++;
    }
    uint8_t b[8];
    for (unsigned i = 0; i < len; i++)
        b[i] = (uint8_t)(size >> (8 * (len - 1 - i)));
    b[0] |= (uint8_t)(0x80 >> (len - 1));
    kvsp_ebml_out_bytes(o, b, len);
}

void kvsp_ebml_out_unknown_size(ebml_out *o)
{
    static const uint8_t unknown[8] = {0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    kvsp_ebml_out_bytes(o, unknown, sizeof unknown);
}

void kvsp_ebml_out_uint(ebml_out *o, uint32_t id, uint64_t v)
{
    uint8_t b[8];
    unsigned n = 1;
    while (n < 8 && (v >> (8 * n)))
        n++;
    for (unsigned i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    kvsp_ebml_out_id(o, id);
    kvsp_ebml_out_size(o, n, 0);
    kvsp_ebml_out_bytes(o, b, n);
}

void kvsp_ebml_out_put_double(uint8_t *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(bits >> (8 * (7 - i)));
}

void kvsp_ebml_out_float(ebml_out *o, uint32_t id, double v)
{
    uint8_t b[8];
    kvsp_ebml_out_put_double(b, v);
    kvsp_ebml_out_id(o, id);
    kvsp_ebml_out_size(o, 8, 0);
    kvsp_ebml_out_bytes(o, b, 8);
}

void kvsp_ebml_out_string(ebml_out *o, uint32_t id, const char *s)
{
    kvsp_ebml_out_binary(o, id, s, strlen(s));
}

void kvsp_ebml_out_binary(ebml_out *o, uint32_t id, const void *p, size_t n)
{
    kvsp_ebml_out_id(o, id);
    kvsp_ebml_out_size(o, n, 0);
    kvsp_ebml_out_bytes(o, p, n);
}

size_t kvsp_ebml_out_begin(ebml_out *o, uint32_t id)
{
    kvsp_ebml_out_id(o, id);
    size_t mark = o->len;
    kvsp_ebml_out_size(o, 0, 8);
    return mark;
}

void kvsp_ebml_out_put_size8(uint8_t *p, uint64_t size)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(size >> (8 * (7 - i)));
    p[0] = 0x01;
}

void kvsp_ebml_out_end(ebml_out *o, size_t mark)
{
    if (o->failed)
        return;
    kvsp_ebml_out_put_size8(o->data + mark, o->len - mark - 8);
}
