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
#include <sys/stat.h>

#include <cmocka.h>

#include "test_util.h"

#define RANDOM_SPLITS 12

static void report_difference(const char *what, const log_buf *want, const log_buf *got)
{
    size_t i = 0, line = 1, line_start = 0;
    while (i < want->len && i < got->len && want->data[i] == got->data[i]) {
        if (want->data[i] == '\n') {
            line++;
            line_start = i + 1;
        }
        i++;
    }
    print_error("%s: event log differs at line %zu\n  want: %.300s\n  got:  %.300s\n", what,
                line, want->data + line_start, got->data + line_start);
}

static void check_same(const char *what, const log_buf *want, const log_buf *got)
{
    if (want->len != got->len || memcmp(want->data, got->data, want->len) != 0) {
        report_difference(what, want, got);
        fail();
    }
}

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
    check_same("visitor, whole file", &ref, &got);
    log_free(&got);

    static const size_t big_sizes[] = {100, 255, 256, 1000, 4096, 16384, 65536, 1 << 20};
    for (size_t size = 1; size <= 64 + sizeof big_sizes / sizeof big_sizes[0]; size++) {
        fixed_chunker c = {size <= 64 ? size : big_sizes[size - 65]};
        int use_visitor = (int)(size & 1);
        char what[96];
        snprintf(what, sizeof what, "%s, chunks of %zu bytes", use_visitor ? "visitor" : "pull",
                 c.size);
        run_event_log(data, len, NULL, fixed_chunks, &c, use_visitor, &got);
        check_same(what, &ref, &got);
        log_free(&got);
    }
    for (int seed = 1; seed <= RANDOM_SPLITS; seed++) {
        random_chunker c = {0x9E3779B97F4A7C15ull * (uint64_t)seed, seed % 2 ? 17 : 5000};
        char what[96];
        snprintf(what, sizeof what, "random split seed %d", seed);
        run_event_log(data, len, NULL, random_chunks, &c, seed % 3 == 0, &got);
        check_same(what, &ref, &got);
        log_free(&got);
    }
    log_free(&ref);
    free(data);
}

static void add_path(struct CMUnitTest **tests, size_t *n, const char *path)
{
    *tests = realloc(*tests, (*n + 1) * sizeof **tests);
    struct CMUnitTest t = {strrchr(path, '/') ? strrchr(path, '/') + 1 : path, test_file, NULL,
                           NULL, (void *)path};
    (*tests)[(*n)++] = t;
}

int main(int argc, char **argv)
{
    struct CMUnitTest *tests = NULL;
    size_t n = 0;
    char **lists[16] = {0};
    int nlists = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0)
            continue; /* an absent optional folder (e.g. the shared captures) */
        if (S_ISDIR(st.st_mode) && nlists < 16) {
            char **files = list_mkv_files(argv[i]);
            lists[nlists++] = files;
            for (char **f = files; f && *f; f++)
                add_path(&tests, &n, *f);
        } else if (!S_ISDIR(st.st_mode)) {
            add_path(&tests, &n, argv[i]);
        }
    }
    if (n == 0) {
        printf("no input files found: skipped\n");
        return 77;
    }
    int failed = _cmocka_run_group_tests("split_invariance", tests, n, NULL, NULL);
    for (int i = 0; i < nlists; i++)
        free_list(lists[i]);
    free(tests);
    return failed;
}
