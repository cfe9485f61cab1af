/* The core property of a push parser: however the input is split into
 * chunks, the events are identical. For each file given (or each .mkv in a
 * directory given), compares the event log of one whole-file feed with the
 * logs of 1-byte feeds, every chunk size 1-64, larger sizes and random splits,
 * through both the pull API and the visitor API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "file_tests.h"
#include "test_util.h"

#define RANDOM_SPLITS 12

static void test_file(void **state)
{
    const char *path = *state;
    uint8_t *data;
    size_t len;
    assert_int_equal(load_file(path, &data, &len), 0);

    log_buf ref = {0}, got = {0};
    fixed_chunker whole = {len ? len : 1};
    run_event_log(data, len, NULL, fixed_chunks, &whole, 0, &ref);
    assert_true(ref.len > 0);

    run_event_log(data, len, NULL, fixed_chunks, &whole, 1, &got);
    assert_same_log("visitor, whole file", &ref, &got);
    log_free(&got);

    static const size_t big_sizes[] = {100, 255, 256, 1000, 4096, 16384, 65536, 1 << 20};
    for (size_t size = 1; size <= 64 + sizeof big_sizes / sizeof big_sizes[0]; size++) {
        fixed_chunker c = {size <= 64 ? size : big_sizes[size - 65]};
        int use_visitor = (int)(size & 1);
        char what[96];
        snprintf(what, sizeof what, "%s, chunks of %zu bytes", use_visitor ? "visitor" : "pull",
                 c.size);
        run_event_log(data, len, NULL, fixed_chunks, &c, use_visitor, &got);
        assert_same_log(what, &ref, &got);
        log_free(&got);
    }
    for (int seed = 1; seed <= RANDOM_SPLITS; seed++) {
        random_chunker c = {0x9E3779B97F4A7C15ull * (uint64_t)seed, seed % 2 ? 17 : 5000};
        char what[96];
        snprintf(what, sizeof what, "random split seed %d", seed);
        run_event_log(data, len, NULL, random_chunks, &c, seed % 3 == 0, &got);
        assert_same_log(what, &ref, &got);
        log_free(&got);
    }
    log_free(&ref);
    free(data);
}

int main(int argc, char **argv)
{
    return run_tests_on_files("split_invariance", argc, argv, test_file);
}
