#include "block.h"

#include "kvsparser/status.h"
#include "../ebml/vint.h"

/* Xiph lacing: each size but the last is a run of 255s ended by a smaller byte. */
static int read_xiph_sizes(size_t *sizes, uint32_t count, const uint8_t *p, size_t n, size_t *pos)
{
    for (uint32_t i = 0; i + 1 < count; i++) {
        size_t size = 0;
        uint8_t byte;
        do {
            if (*pos >= n)
                return KVSP_ERR_BAD_LACING;
            byte = p[(*pos)++];
            size += byte; /* bounded by n * 255: cannot overflow size_t */
        } while (byte == 255);
        sizes[i] = size;
    }
    return KVSP_OK;
}

/* EBML lacing: the first size as a VINT, then signed VINT differences. */
static int read_ebml_sizes(size_t *sizes, uint32_t count, const uint8_t *p, size_t n, size_t *pos)
{
    int64_t prev = 0;
    for (uint32_t i = 0; i + 1 < count; i++) {
        uint64_t raw;
        int len = kvsp_vint_read(p + *pos, n - *pos, 8, &raw);
        if (len <= 0)
            return KVSP_ERR_BAD_LACING;
        *pos += (size_t)len;
        int64_t size;
        if (i == 0) {
            if (raw > (uint64_t)n)
                return KVSP_ERR_BAD_LACING;
            size = (int64_t)raw;
        } else {
            int64_t bias = ((int64_t)1 << (7 * len - 1)) - 1;
            size = prev + ((int64_t)raw - bias); /* |terms| < 2^56: no overflow */
        }
        if (size < 0 || (uint64_t)size > (uint64_t)n)
            return KVSP_ERR_BAD_LACING;
        sizes[i] = (size_t)size;
        prev = size;
    }
    return KVSP_OK;
}

int kvsp_block_parse(kvsp_block *b, size_t *sizes, int simple, const uint8_t *p, size_t n)
{
    uint64_t track;
    int len = kvsp_vint_read(p, n, 8, &track);
    if (len <= 0 || n - (size_t)len < 3)
        return KVSP_ERR_BAD_BLOCK;
    size_t pos = (size_t)len;
    uint8_t flags = p[pos + 2];
    b->track = track;
    b->timecode = (int16_t)(uint16_t)((p[pos] << 8) | p[pos + 1]);
    kvsp_block_set_flags(b, simple, flags);
    b->frame_sizes = sizes;
    pos += 3;

    if (b->lacing == KVSP_LACING_NONE) {
        b->frame_count = 1;
        sizes[0] = n - pos;
        b->frames = p + pos;
        return KVSP_OK;
    }
    if (pos >= n)
        return KVSP_ERR_BAD_LACING;
    uint32_t count = (uint32_t)p[pos++] + 1;
    b->frame_count = count;
    int st = KVSP_OK;
    if (b->lacing == KVSP_LACING_XIPH)
        st = read_xiph_sizes(sizes, count, p, n, &pos);
    else if (b->lacing == KVSP_LACING_EBML)
        st = read_ebml_sizes(sizes, count, p, n, &pos);
    if (st != KVSP_OK)
        return st;

    size_t remaining = n - pos;
    if (b->lacing == KVSP_LACING_FIXED) {
        if (remaining % count != 0)
            return KVSP_ERR_BAD_LACING;
        for (uint32_t i = 0; i < count; i++)
            sizes[i] = remaining / count;
    } else {
        size_t sum = 0;
        for (uint32_t i = 0; i + 1 < count; i++) {
            if (sizes[i] > remaining - sum)
                return KVSP_ERR_BAD_LACING;
            sum += sizes[i];
        }
        sizes[count - 1] = remaining - sum;
    }
    b->frames = p + pos;
    return KVSP_OK;
}

int kvsp_block_frame(const kvsp_block *b, uint32_t i, const uint8_t **data, size_t *size)
{
    if (!b || !data || !size || i >= b->frame_count)
        return KVSP_ERR_INVALID_ARG;
    size_t offset = 0;
    for (uint32_t k = 0; k < i; k++)
        offset += b->frame_sizes[k];
    *data = b->frames + offset;
    *size = b->frame_sizes[i];
    return KVSP_OK;
}
