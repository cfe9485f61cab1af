/* Split invariance of the visitors: the fragment records and frames (with
 * a hash of every payload) are identical however the input is chunked (a
 * whole input has Tags read in place and skipped, 1-byte chunks none), also
 * when the frame sink and fragment callback pause the run after every call
 * and it is resumed, and when another visitor wants every event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "file_tests.h"
#include "visitor_log.h"

static void compare(const uint8_t *data, size_t len, const log_buf *ref, visitor_run *run,
                    const char *what)
{
    log_buf got = {0};
    run_visitor_log(data, len, run, &got);
    assert_same_log(what, ref, &got);
    log_free(&got);
}

static void test_file(void **state)
{
    const char *path = *state;
    uint8_t *data;
    size_t len;
    assert_int_equal(load_file(path, &data, &len), 0);

    log_buf ref = {0};
    fixed_chunker whole = {len ? len : 1};
    visitor_run run = {fixed_chunks, &whole, 0, {0, 0}, 0};
    run_visitor_log(data, len, &run, &ref);
    assert_non_null(strstr(ref.data, "fragment 0 "));

    char what[96];
    for (size_t size = 1; size <= 64; size++) {
        fixed_chunker c = {size};
        visitor_run r = {fixed_chunks, &c, 0, {0, 0}, 0};
        snprintf(what, sizeof what, "chunks of %zu bytes", size);
        compare(data, len, &ref, &r, what);
    }
    static const size_t big_sizes[] = {61, 64, 1000, 4096, 65536};
    for (size_t i = 0; i < sizeof big_sizes / sizeof big_sizes[0]; i++) {
        fixed_chunker c = {big_sizes[i]};
        visitor_run r = {fixed_chunks, &c, 0, {0, 0}, 0};
        snprintf(what, sizeof what, "chunks of %zu bytes", big_sizes[i]);
        compare(data, len, &ref, &r, what);
    }
    /* Tags read in place whose children come all the same. */
    static const size_t watched_sizes[] = {7, 4096};
    for (size_t i = 0; i < 2; i++) {
        fixed_chunker c = {watched_sizes[i]};
        visitor_run r = {fixed_chunks, &c, 0, {0, 0}, 1};
        snprintf(what, sizeof what, "chunks of %zu bytes, every event wanted", c.size);
        compare(data, len, &ref, &r, what);
    }
    {
        visitor_run r = {fixed_chunks, &whole, 2, {0, 0}, 1};
        compare(data, len, &ref, &r, "whole, every event wanted, pause every 2");
    }
    for (int seed = 1; seed <= 6; seed++) {
        random_chunker c = {0x9E3779B97F4A7C15ull * (uint64_t)seed, seed % 2 ? 17 : 5000};
        visitor_run r = {random_chunks, &c, seed % 3 ? seed : 1, {0, 0}, 0};
        snprintf(what, sizeof what, "random split seed %d, pause every %d", seed, r.pause_every);
        compare(data, len, &ref, &r, what);
    }
    log_free(&ref);
    free(data);
}

int main(int argc, char **argv)
{
    return run_tests_on_files("visitor_split", argc, argv, test_file);
}
