/* Reading a master's content in place: the events of the content a START
 * event carries (kvsp_event.data), exactly as the reader would deliver
 * them, without the reader. A visitor that reads a small master this way
 * and answers KVSP_SKIP saves the reader, and every other visitor, one pass
 * per child.
 *
 *   kvsp_content c;
 *   kvsp_content_open(&c, start);
 *   while ((st = kvsp_content_next(&c, &ev)) == KVSP_OK) use(&ev);
 *   // KVSP_DONE: all of it read, answer KVSP_SKIP;
 *   // KVSP_DEFERRED: undo what use() did and answer KVSP_OK instead
 *
 * The cursor only accepts content the reader would deliver as plain events:
 * anything else (an element the reader would report an error for, an
 * unknown size, a SimpleBlock or Block, masters nested deeper than
 * KVSP_CONTENT_MAX_NESTING below the master) stops it with KVSP_DEFERRED,
 * and the content is then left to the reader. */
#ifndef KVSPARSER_CONTENT_H
#define KVSPARSER_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/export.h"
#include "kvsparser/reader.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The reader offers content only where it has room for this many levels
 * below the master before its own max_depth: then the cursor, which
 * refuses deeper nesting, never accepts what the reader would refuse. */
#define KVSP_CONTENT_MAX_NESTING 16

/* The cursor's state; its fields are private. */
typedef struct kvsp_content_master {
    const kvsp_element_info *info;
    uint32_t id;
    uint32_t header_size;
    uint64_t offset;
    uint64_t size;
    size_t end; /* relative to the content's start */
} kvsp_content_master;

typedef struct kvsp_content {
    const uint8_t *base;
    uint64_t offset; /* absolute stream offset of base[0] */
    size_t pos, end;
    size_t limit;   /* end of the innermost open master (or of the content) */
    uint32_t depth; /* of the master's children */
    uint32_t nesting;
    kvsp_content_master open[KVSP_CONTENT_MAX_NESTING];
} kvsp_content;

/* Starts reading the content of a START event. KVSP_ERR_INVALID_ARG if the
 * event carries none. */
KVSP_API int kvsp_content_open(kvsp_content *c, const kvsp_event *start);
/* Next event of the content: KVSP_OK, KVSP_DONE after its last child (the
 * master's own END is the reader's), or KVSP_DEFERRED. Payloads point into
 * the content; START events of nested masters carry their content too. */
KVSP_API int kvsp_content_next(kvsp_content *c, kvsp_event *ev);

#ifdef __cplusplus
}
#endif

#endif
