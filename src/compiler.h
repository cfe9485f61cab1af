/* Compiler hints shared by the library's hot paths. */
#ifndef KVSP_COMPILER_H
#define KVSP_COMPILER_H

/* For the few functions on the per-element and per-block paths whose call
 * cost more than their body (measured with callgrind, see BENCHMARKS.md). */
#if defined(__GNUC__)
#define KVSP_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define KVSP_ALWAYS_INLINE inline
#endif

#endif
