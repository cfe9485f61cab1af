#ifndef KVSP_FRAGMENT_INTERNAL_H
#define KVSP_FRAGMENT_INTERNAL_H

#include <stdint.h>

#include "kvsparser/fragment.h"

/* Events the fragment visitor has seen: a visitor that reads its metadata
 * compares this with its own count to make sure the fragment visitor ran
 * first on every event. */
uint64_t kvsp_fragment_visitor_events(const kvsp_fragment_visitor *fv);

#endif
