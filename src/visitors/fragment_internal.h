#ifndef KVSP_FRAGMENT_INTERNAL_H
#define KVSP_FRAGMENT_INTERNAL_H

#include <stdint.h>

#include "kvsparser/fragment.h"

/* Events the fragment visitor has seen: a visitor that reads its metadata
 * compares this with its own count to make sure the fragment visitor ran
 * first on every event. */
uint64_t kvsp_fragment_visitor_events(const kvsp_fragment_visitor *fv);
/* Where that count lives, for a check inline on every event (meta_pair.h). */
const uint64_t *kvsp_fragment_visitor_events_counter(const kvsp_fragment_visitor *fv);

/* kvsp_ticks_to_ns, inline for the per-frame timing. */
static inline int kvsp_ticks_to_ns_inline(int64_t ticks, uint64_t timecode_scale, int64_t *ns)
{
    if (timecode_scale > (uint64_t)INT64_MAX)
        return -1;
    int64_t product;
    if (__builtin_mul_overflow(ticks, (int64_t)timecode_scale, &product))
        return -1;
    *ns = product;
    return 0;
}

/* Milliseconds of ns as the double nearest them while ns fits a double's 53
 * bits (one rounding, in the division); past 2^53 ns the whole milliseconds
 * and the rest apart, so a whole number of ms stays exact: (double)ns / 1e6
 * rounds ns first, and an epoch in ms such as 1700587217870 came back as
 * 1700587217870.0002. */
static inline double kvsp_ns_to_ms_inline(int64_t ns)
{
    const int64_t exact = INT64_C(1) << 53;
    if (ns >= -exact && ns <= exact)
        return (double)ns / 1e6;
    return (double)(ns / 1000000) + (double)(ns % 1000000) / 1e6;
}

#endif
