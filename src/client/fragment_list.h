#ifndef KVSP_FRAGMENT_LIST_H
#define KVSP_FRAGMENT_LIST_H

#include <jansson.h>
#include <stddef.h>

#include "kvsparser/client.h"

/* The records of ListFragments pages, growing page by page (allocated with
 * kvsp_set_allocator's functions; freed with kvsp_client_free). */
typedef struct fragment_list {
    kvsp_listed_fragment *items;
    size_t count, cap;
} fragment_list;

/* Appends one answer's fragments. *next is its NextToken (allocated, or
 * NULL at the last page). Returns KVSP_OK, KVSP_ERR_SERVICE for an answer
 * that is not what ListFragments returns (why says what is wrong) or
 * KVSP_ERR_NOMEM; the records taken before an error stay in the list. */
int kvsp_fragment_list_page(const char *text, size_t len, fragment_list *list, char **next,
                            char *why, size_t why_size);

#endif
