#include "ebml_builder.h"

#include <stdlib.h>
#include <string.h>

void eb_free(ebml_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void eb_bytes(ebml_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d)
            abort();
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void eb_byte(ebml_buf *b, uint8_t v)
{
    eb_bytes(b, &v, 1);
}

void eb_id(ebml_buf *b, uint32_t id)
{
    int started = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        uint8_t v = (uint8_t)(id >> shift);
        if (v || started || shift == 0) {
            eb_byte(b, v);
            started = 1;
        }
    }
}

void eb_size(ebml_buf *b, uint64_t size, unsigned len)
{
    if (len == 0) {
        len = 1;
        while (len < 8 && size >= ((uint64_t)1 << (7 * len)) - 1)
            len++;
    }
    uint64_t v = size | ((uint64_t)1 << (7 * len));
    for (int i = (int)len - 1; i >= 0; i--)
        eb_byte(b, (uint8_t)(v >> (8 * i)));
}

void eb_unknown_size(ebml_buf *b, unsigned len)
{
    eb_byte(b, (uint8_t)(0xFFu >> (len - 1)));
    for (unsigned i = 1; i < len; i++)
        eb_byte(b, 0xFF);
}

void eb_uint(ebml_buf *b, uint32_t id, uint64_t v)
{
    uint8_t tmp[8];
    unsigned n = 0;
    for (int shift = 56; shift >= 0; shift -= 8)
        if ((v >> shift) || n || shift == 0)
            tmp[n++] = (uint8_t)(v >> shift);
    eb_id(b, id);
    eb_size(b, n, 0);
    eb_bytes(b, tmp, n);
}

void eb_binary(ebml_buf *b, uint32_t id, const void *p, size_t n)
{
    eb_id(b, id);
    eb_size(b, n, 0);
    eb_bytes(b, p, n);
}

void eb_string(ebml_buf *b, uint32_t id, const char *s)
{
    eb_binary(b, id, s, strlen(s));
}

size_t eb_begin(ebml_buf *b, uint32_t id)
{
    eb_id(b, id);
    size_t mark = b->len;
    eb_size(b, 0, 8);
    return mark;
}

void eb_end(ebml_buf *b, size_t mark)
{
    uint64_t size = b->len - mark - 8;
    uint64_t v = size | ((uint64_t)1 << 56);
    for (int i = 0; i < 8; i++)
        b->data[mark + (size_t)i] = (uint8_t)(v >> (8 * (7 - i)));
}

void eb_begin_unknown(ebml_buf *b, uint32_t id, unsigned size_len)
{
    eb_id(b, id);
    eb_unknown_size(b, size_len);
}

void eb_ebml_header(ebml_buf *b)
{
    size_t m = eb_begin(b, 0x1A45DFA3);
    eb_uint(b, 0x4286, 1);
    eb_uint(b, 0x42F7, 1);
    eb_string(b, 0x4282, "matroska");
    eb_uint(b, 0x4287, 4);
    eb_uint(b, 0x4285, 2);
    eb_end(b, m);
}

void eb_simple_block(ebml_buf *b, int16_t timecode, uint8_t flags, size_t n, uint8_t v)
{
    eb_id(b, 0xA3);
    eb_size(b, 4 + n, 0);
    uint8_t hdr[4] = {0x81, (uint8_t)((uint16_t)timecode >> 8), (uint8_t)timecode, flags};
    eb_bytes(b, hdr, 4);
    for (size_t i = 0; i < n; i++)
        eb_byte(b, v);
}
