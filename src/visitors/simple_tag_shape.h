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
#include "../ebml/vint.h"

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

/* An element header of a two-byte ID at p[0..room): the ID, the data size
 * and the header's length, or 0 where the reader would not deliver the
 * element as it is (an unknown size, a size running past `room`). */
static inline unsigned simple_tag_header(const uint8_t *p, size_t room, uint32_t *id, size_t *size)
{
    if (room < 3)
        return 0;
    if (p[2] & 0x80) { /* a one-byte size, as tags nearly always have */
        size_t value = p[2] & 0x7Fu;
        if (value == 0x7F || value > room - 3)
            return 0;
        *id = (uint32_t)p[0] << 8 | p[1];
        *size = value;
        return 3;
    }
    unsigned size_len = kvsp_vint_length(p[2]);
    if (size_len == 0 || room - 2 < size_len)
        return 0;
    uint64_t value = kvsp_vint_value(p + 2, size_len);
    if (kvsp_vint_is_all_ones(value, size_len) || value > room - 2 - size_len)
        return 0;
    *id = (uint32_t)p[0] << 8 | p[1];
    *size = (size_t)value;
    return 2 + size_len;
}

/* The layout nearly every SimpleTag has, checked in one go: all three
 * sizes in one byte, TagName then TagString. Returns the SimpleTag's length
 * (the children into `shape`), or 0 to try the general reading below. */
static inline size_t simple_tag_shape_short(const uint8_t *p, size_t room, simple_tag_shape *shape)
{
    if (room < 9 || p[0] != 0x67 || p[1] != 0xC8 || !(p[2] & 0x80))
        return 0;
    size_t n = p[2] & 0x7Fu;
    if (n == 0x7F || n > room - 3 || n < 6)
        return 0;
    const uint8_t *name = p + 3;
    if (name[0] != 0x45 || name[1] != 0xA3 || !(name[2] & 0x80))
        return 0;
    size_t name_size = name[2] & 0x7Fu;
    if (name_size > n - 6) /* also refuses 0x7F, the unknown size: n - 6 < 0x7F */
        return 0;
    const uint8_t *value = name + 3 + name_size;
    if (value[0] != 0x44 || value[1] != 0x87 || !(value[2] & 0x80))
        return 0;
    size_t value_size = value[2] & 0x7Fu;
    if (value_size != n - 6 - name_size) /* also refuses 0x7F */
        return 0;
    shape->count = 2;
    shape->child[0] = (simple_tag_child){KVSP_ID_TAG_NAME, name + 3, name_size};
    shape->child[1] = (simple_tag_child){KVSP_ID_TAG_STRING, value + 3, value_size};
    return 3 + n;
}

/* Reads the SimpleTag element at p[0..room) into `shape` and returns its
 * length if it has the usual shape, else 0. */
static inline size_t simple_tag_shape_read(const uint8_t *p, size_t room, simple_tag_shape *shape)
{
    size_t length = simple_tag_shape_short(p, room, shape);
    if (length)
        return length;
    uint32_t id;
    size_t n;
    unsigned header = simple_tag_header(p, room, &id, &n);
    if (!header || id != KVSP_ID_SIMPLETAG)
        return 0;
    const uint8_t *content = p + header;
    size_t pos = 0;
    unsigned count = 0;
    while (pos < n) {
        simple_tag_child *child = &shape->child[count];
        size_t size;
        unsigned child_header = simple_tag_header(content + pos, n - pos, &child->id, &size);
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
