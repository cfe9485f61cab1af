#include <stddef.h>

#include "element_table.h"
#include "kvsparser/element.h"

const kvsp_element_info *kvsp_element_lookup(uint32_t id)
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
