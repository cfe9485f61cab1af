#ifndef KVSP_TEST_COUNTING_ALLOC_H
#define KVSP_TEST_COUNTING_ALLOC_H

#include "kvsparser/alloc.h"

/* An allocator for kvsp_set_allocator that counts allocations and live
 * blocks, and makes the fail_at-th allocation fail (0: none), for the tests
 * that allocation failure leaks nothing and that the hot path does not
 * allocate. */
extern long counted_allocations, counted_live, counted_fail_at;
extern const kvsp_allocator counting_allocator;

/* Zeroes the counts and sets which allocation fails. */
void counting_reset(long fail_at);
/* Zeroes the counts; the first-th allocation and every one after it fail,
 * as when memory has run out: a failure the library retries fails again. */
void counting_fail_from(long first);

#endif
