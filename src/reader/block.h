#ifndef KVSP_BLOCK_H
#define KVSP_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/reader.h"

/* Parses a SimpleBlock (simple != 0) or Block payload: track, timecode, flags
 * and lacing. sizes must hold KVSP_MAX_LACED_FRAMES entries. Returns KVSP_OK,
 * KVSP_ERR_BAD_BLOCK (header cut short) or KVSP_ERR_BAD_LACING. */
int kvsp_block_parse(kvsp_block *b, size_t *sizes, int simple, const uint8_t *p, size_t n);

#endif
