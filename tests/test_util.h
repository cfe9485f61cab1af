#ifndef KVSP_TEST_UTIL_H
#define KVSP_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/kvsparser.h"

/* A growable text buffer holding an event log. */
typedef struct log_buf {
    char *data;
    size_t len;
    size_t cap;
} log_buf;

void log_free(log_buf *log);
void log_append(log_buf *log, const char *text, size_t n);
void log_printf(log_buf *log, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* FNV-1a, 64 bits. */
uint64_t fnv1a(const uint8_t *p, size_t n);

/* Reads a whole file; returns 0 on success. */
int load_file(const char *path, uint8_t **data, size_t *len);

/* Picks the size of the next chunk given the bytes left. */
typedef size_t (*chunker_fn)(void *state, size_t remaining);

typedef struct fixed_chunker {
    size_t size;
} fixed_chunker;
size_t fixed_chunks(void *state, size_t remaining);

typedef struct random_chunker {
    uint64_t state;
    size_t max;
} random_chunker;
size_t random_chunks(void *state, size_t remaining);

/* Feeds data in chunks, pulling events (use_visitor == 0) or running a
 * visitor (1), and writes one line per event: the JSON rendering plus an
 * FNV-1a hash of the payload, then a final status line. Returns the final
 * status (KVSP_DONE or an error). */
int run_event_log(const uint8_t *data, size_t len, const kvsp_reader_options *opts,
                  chunker_fn chunker, void *chunker_state, int use_visitor, log_buf *out);

/* Files ending in .mkv in a directory, sorted; NULL-terminated array the
 * caller frees with free_list. Returns NULL if the directory is absent. */
char **list_mkv_files(const char *dir);
void free_list(char **list);

/* The skip convention (README, Tests; tests/kvsp_testing.py is the Python
 * side). A test that cannot run for want of data or a tool says why and
 * exits 77, which ctest counts as skipped (SKIP_RETURN_CODE). With CI=true
 * in the environment a skip is a failure (exit 1, "CI: cannot skip: why"),
 * unless ctest marked the test allowed to (KVSP_SKIP_ALLOWED=1, given to
 * the tests named in tests/allowed_skips.txt). */
#define KVSP_TEST_SKIPPED 77

/* The whole test cannot run: returns the exit status (77, or 1 in CI). */
int kvsp_test_skip(const char *why);
/* A part of the test cannot run (an input absent, ...): noted, and the run
 * ends in a skip (kvsp_test_status) unless something failed. */
void kvsp_test_skipped_part(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Inside a cmocka test: notes the part, then leaves the test as cmocka's
 * skip() does. */
void kvsp_test_skip_case(const char *why);
/* The exit status of a run whose cmocka groups returned `failed`: 1 when
 * something failed, else a skip when a part was skipped, else 0. */
int kvsp_test_status(int failed);

#endif
