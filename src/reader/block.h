#ifndef KVSP_BLOCK_H
#define KVSP_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/reader.h"
#include "kvsparser/status.h"

/* The flag bits of a Block header (Matroska spec, SimpleBlock/Block). Keyframe
 * and discardable exist only in SimpleBlock; a Block's 0x80 and 0x01 are reserved. */
#define KVSP_BLOCK_FLAG_KEYFRAME 0x80u
#define KVSP_BLOCK_FLAG_INVISIBLE 0x08u
#define KVSP_BLOCK_FLAG_DISCARDABLE 0x01u

/* The one decoder of the flags byte: both parse paths below call it, so the
 * inline and the general path cannot read the bits differently. */
static inline void kvsp_block_set_flags(kvsp_block *b, int simple, uint8_t flags)
{
    b->flags = flags;
    b->simple = simple ? 1 : 0;
    b->keyframe = simple && (flags & KVSP_BLOCK_FLAG_KEYFRAME) ? 1 : 0;
    b->invisible = (flags & KVSP_BLOCK_FLAG_INVISIBLE) ? 1 : 0;
    b->discardable = simple && (flags & KVSP_BLOCK_FLAG_DISCARDABLE) ? 1 : 0;
    b->lacing = (kvsp_lacing)((flags >> 1) & 3);
}

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
    kvsp_block_set_flags(b, simple, flags); /* lacing bits are 0 here: NONE */
    b->frame_sizes = sizes;
    b->frame_count = 1;
    sizes[0] = n - 4;
    b->frames = p + 4;
    return KVSP_OK;
}

#endif
