/* Element lookup. Every element header costs one lookup, and an element
 * under an unknown-size master also a walk up its schema ancestors, so both
 * are made cheap: 1-byte IDs (SimpleBlock, Timestamp, ...) index a table and
 * ancestors are table indexes, both built once per process. */
#include <pthread.h>
#include <stddef.h>

#include "element_table.h"
#include "kvsparser/element.h"

static const kvsp_element_info *one_byte[128]; /* IDs 0x80-0xFF */
static uint16_t parent_index[1024];            /* ELEMENT_NO_PARENT at the top */
static pthread_once_t built = PTHREAD_ONCE_INIT;

static const kvsp_element_info *search(uint32_t id)
{
    size_t lo = 0, hi = kvsp_element_table_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t mid_id = kvsp_element_table[mid].id;
        if (mid_id == id)
            return &kvsp_element_table[mid];
        if (mid_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void build(void)
{
    for (size_t i = 0; i < kvsp_element_table_count && i < 1024; i++) {
        const kvsp_element_info *e = &kvsp_element_table[i];
        if (e->id >= 0x80 && e->id <= 0xFF)
            one_byte[e->id - 0x80] = e;
        const kvsp_element_info *p = e->parent_id ? search(e->parent_id) : NULL;
        parent_index[i] = p ? (uint16_t)(p - kvsp_element_table) : ELEMENT_NO_PARENT;
    }
}

const kvsp_element_info *kvsp_element_lookup(uint32_t id)
{
    if (id >= 0x80 && id <= 0xFF) {
        pthread_once(&built, build);
        return one_byte[id - 0x80];
    }
    return search(id);
}

int kvsp_element_has_ancestor(const kvsp_element_info *info, uint32_t ancestor_id)
{
    pthread_once(&built, build);
    size_t i = (size_t)(info - kvsp_element_table);
    for (i = parent_index[i]; i != ELEMENT_NO_PARENT; i = parent_index[i])
        if (kvsp_element_table[i].id == ancestor_id)
            return 1;
    return 0;
}

const kvsp_element_info *kvsp_element_at(size_t index)
{
    return index < kvsp_element_table_count ? &kvsp_element_table[index] : NULL;
}

size_t kvsp_element_count(void)
{
    return kvsp_element_table_count;
}

const char *kvsp_type_name(kvsp_type type)
{
    switch (type) {
    case KVSP_TYPE_MASTER: return "master";
    case KVSP_TYPE_UINT: return "uinteger";
    case KVSP_TYPE_INT: return "integer";
    case KVSP_TYPE_FLOAT: return "float";
    case KVSP_TYPE_STRING: return "string";
    case KVSP_TYPE_UTF8: return "utf-8";
    case KVSP_TYPE_DATE: return "date";
    case KVSP_TYPE_BINARY: return "binary";
    case KVSP_TYPE_UNKNOWN: break;
    }
    return "unknown";
}
