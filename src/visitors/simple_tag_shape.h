/* The usual shape of a SimpleTag: a TagName and a TagString, nothing else,
 * as KVS writes all of its AWS_KINESISVIDEO_* tags and most producers
 * their own. A stress fragment carries two dozen of them; reading each
 * child through the content cursor and the fragment visitor's event
 * handlers cost some 250 instructions, most of a fragment's metadata.
 *
 * This check accepts only a SimpleTag the reader would deliver as a START,
 * plain DATA events and an END: two-byte IDs, the SimpleTag's then only
 * TagName or TagString (strings, so any size is one the reader delivers
 * once the enclosing master's content was offered), sizes of known length
 * and value, every element inside its parent. Anything else (a nested
 * SimpleTag, TagBinary, TagLanguage, an unknown or damaged child) is left
 * to the cursor. */
#ifndef KVSP_SIMPLE_TAG_SHAPE_H
#define KVSP_SIMPLE_TAG_SHAPE_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/element.h"
#include "../ebml/element_header.h"

/* Children beyond this many (duplicated names or values) are left to the
 * cursor too: they are rare and the check stays a short loop. */
#define SIMPLE_TAG_SHAPE_MAX_CHILDREN 4

typedef struct simple_tag_child {
    uint32_t id; /* KVSP_ID_TAG_NAME or KVSP_ID_TAG_STRING */
    const uint8_t *data;
    size_t size;
} simple_tag_child;

typedef struct simple_tag_shape {
    unsigned count;
    simple_tag_child child[SIMPLE_TAG_SHAPE_MAX_CHILDREN];
} simple_tag_shape;

/* An element header at p[0..room), with p[0..readable) readable (room <=
 * readable): the ID, the data size and the header's length, or 0 where the
 * reader would not deliver the element as it is (a damaged header, an
 * unknown size, a size running past `room`). Reserved IDs are not refused:
 * the callers take only the three IDs of a SimpleTag and its strings. */
static inline unsigned simple_tag_header(const uint8_t *p, size_t room, size_t readable,
                                         uint32_t *id, size_t *size)
{
    uint64_t value;
    unsigned len;
    if (readable >= 12) {
        len = kvsp_ebml_header_fast(p, id, &value);
    } else {
        int st = room ? kvsp_ebml_header_slow(p, room, id, &value) : 0;
        len = st > 0 ? (unsigned)st : 0;
    }
    if (!len || len > room || value > room - len)
        return 0; /* the unknown size, the largest value, is refused here too */
    *size = (size_t)value;
    return len;
}

/* The layout nearly every SimpleTag has, checked in one go: all three
 * sizes in one byte, TagName then TagString. Returns the SimpleTag's length
 * (the children into `shape`), or 0 to try the general reading below. */
static inline size_t simple_tag_shape_short(const uint8_t *p, size_t room, simple_tag_shape *shape)
{
    if (room < 9 || p[0] != 0x67 || p[1] != 0xC8)
        return 0;
    size_t n = kvsp_ebml_size1(p[2]);
    if (n >= KVSP_EBML_SIZE1_UNKNOWN || n > room - 3 || n < 6)
        return 0;
    const uint8_t *name = p + 3;
    if (name[0] != 0x45 || name[1] != 0xA3)
        return 0;
    size_t name_size = kvsp_ebml_size1(name[2]);
    if (name_size > n - 6) /* also refuses the unknown and longer sizes: n - 6 < 0x7F */
        return 0;
    const uint8_t *value = name + 3 + name_size;
    if (value[0] != 0x44 || value[1] != 0x87)
        return 0;
    size_t value_size = kvsp_ebml_size1(value[2]);
    if (value_size != n - 6 - name_size) /* the same */
        return 0;
    shape->count = 2;
    shape->child[0] = (simple_tag_child){KVSP_ID_TAG_NAME, name + 3, name_size};
    shape->child[1] = (simple_tag_child){KVSP_ID_TAG_STRING, value + 3, value_size};
    return 3 + n;
}

/* Reads the SimpleTag element at p[0..room) into `shape` and returns its
 * length if it has the usual shape, else 0. p[0..readable) may be read
 * (room <= readable), for the header decoder's loads. */
static inline size_t simple_tag_shape_read(const uint8_t *p, size_t room, size_t readable,
                                           simple_tag_shape *shape)
{
    size_t length = simple_tag_shape_short(p, room, shape);
    if (length)
        return length;
    uint32_t id;
    size_t n;
    unsigned header = simple_tag_header(p, room, readable, &id, &n);
    if (!header || id != KVSP_ID_SIMPLETAG)
        return 0;
    const uint8_t *content = p + header;
    size_t pos = 0;
    unsigned count = 0;
    while (pos < n) {
        simple_tag_child *child = &shape->child[count];
        size_t size;
        unsigned child_header =
            simple_tag_header(content + pos, n - pos, readable - header - pos, &child->id, &size);
        if (!child_header || count == SIMPLE_TAG_SHAPE_MAX_CHILDREN ||
            (child->id != KVSP_ID_TAG_NAME && child->id != KVSP_ID_TAG_STRING))
            return 0;
        child->data = content + pos + child_header;
        child->size = size;
        count++;
        pos += child_header + size;
    }
    shape->count = count;
    return header + n;
}

#endif
