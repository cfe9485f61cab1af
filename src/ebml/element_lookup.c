/* Element lookup. Every element header costs one lookup, and an element
 * under an unknown-size master also a walk up its schema ancestors, so both
 * are made cheap: 1- and 2-byte IDs index tables directly, the few longer
 * IDs go through a small hash table, and ancestors are table indexes, all
 * built once per process. */
#include <pthread.h>
#include <stddef.h>

#include "element_table.h"
#include "kvsparser/element.h"

uint16_t kvsp_element_id1[0x80];
uint16_t kvsp_element_id2[0x4000];
uint16_t kvsp_element_id_hash[ELEMENT_HASH_SLOTS];
static uint16_t parent_index[1024]; /* ELEMENT_NO_PARENT at the top */
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

static void add(uint32_t id, uint16_t slot)
{
    if (id >= 0x80 && id <= 0xFF) {
        kvsp_element_id1[id - 0x80] = slot;
    } else if (id >= 0x4000 && id <= 0x7FFF) {
        kvsp_element_id2[id - 0x4000] = slot;
    } else {
        /* At most ELEMENT_HASH_SLOTS - 1 long IDs (the schema has 27): a
         * free slot always ends a probe. */
        unsigned h = kvsp_element_hash(id);
        while (kvsp_element_id_hash[h])
            h = (h + 1) & (ELEMENT_HASH_SLOTS - 1);
        kvsp_element_id_hash[h] = slot;
    }
}

static void build(void)
{
    size_t longer = 0;
    for (size_t i = 0; i < kvsp_element_table_count && i < 1024; i++) {
        const kvsp_element_info *e = &kvsp_element_table[i];
        /* A free hash slot must end every probe; the schema has 27 long IDs
         * (test_element_table finds every element, so it would notice). */
        if (e->id <= 0x7FFF || ++longer < ELEMENT_HASH_SLOTS)
            add(e->id, (uint16_t)(i + 1));
        const kvsp_element_info *p = e->parent_id ? search(e->parent_id) : NULL;
        parent_index[i] = p ? (uint16_t)(p - kvsp_element_table) : ELEMENT_NO_PARENT;
    }
}

void kvsp_element_tables_init(void)
{
    pthread_once(&built, build);
}

/* Whether id has the form of an element ID: 1 to 4 bytes, the first with
 * its length marker (what kvsp_element_slot expects). */
static int well_formed(uint32_t id)
{
    return (id >= 0x80 && id <= 0xFF) || (id >= 0x4000 && id <= 0x7FFF) ||
           (id >= 0x200000 && id <= 0x3FFFFF) || (id >= 0x10000000 && id <= 0x1FFFFFFF);
}

const kvsp_element_info *kvsp_element_lookup(uint32_t id)
{
    if (!well_formed(id))
        return NULL;
    pthread_once(&built, build);
    unsigned slot = kvsp_element_slot(id);
    return slot ? &kvsp_element_table[slot - 1] : NULL;
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
