#ifndef KVSP_BLOCK_H
#define KVSP_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/reader.h"
#include "kvsparser/status.h"

/* Parses a SimpleBlock (simple != 0) or Block payload: track, timecode, flags
 * and lacing. sizes must hold KVSP_MAX_LACED_FRAMES entries. Returns KVSP_OK,
 * KVSP_ERR_BAD_BLOCK (header cut short) or KVSP_ERR_BAD_LACING. */
int kvsp_block_parse(kvsp_block *b, size_t *sizes, int simple, const uint8_t *p, size_t n);

/* kvsp_block_parse with the usual case inline: a 1-byte track number and no
 * lacing (every SimpleBlock KVS producers write), same result. */
static inline int kvsp_block_parse_inline(kvsp_block *b, size_t *sizes, int simple,
                                          const uint8_t *p, size_t n)
{
    if (n < 4 || !(p[0] & 0x80) || (p[3] & 0x06))
        return kvsp_block_parse(b, sizes, simple, p, n);
    uint8_t flags = p[3];
    b->track = p[0] & 0x7Fu;
    b->timecode = (int16_t)(uint16_t)((p[1] << 8) | p[2]);
    b->flags = flags;
    b->simple = simple ? 1 : 0;
    b->keyframe = simple && (flags & 0x80u) ? 1 : 0;
    b->invisible = (flags & 0x08u) ? 1 : 0;
    b->discardable = simple && (flags & 0x01u) ? 1 : 0;
    b->lacing = KVSP_LACING_NONE;
    b->frame_sizes = sizes;
    b->frame_count = 1;
    sizes[0] = n - 4;
    b->frames = p + 4;
    return KVSP_OK;
}

#endif
