#include "file_tests.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "test_util.h"

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
    print_error("%s: event log differs at line %zu\n  want: %.300s\n  got:  %.300s\n", what, line,
                want->data + line_start, got->data + line_start);
}

void assert_same_log(const char *what, const log_buf *want, const log_buf *got)
{
    if (want->len != got->len || memcmp(want->data, got->data, want->len) != 0) {
        report_difference(what, want, got);
        fail();
    }
}

static void add_path(struct CMUnitTest **tests, size_t *n, const char *path, void (*fn)(void **))
{
    struct CMUnitTest *bigger = realloc(*tests, (*n + 1) * sizeof **tests);
    if (!bigger)
        abort();
    *tests = bigger;
    struct CMUnitTest t = {strrchr(path, '/') ? strrchr(path, '/') + 1 : path, fn, NULL, NULL,
                           (void *)path};
    (*tests)[(*n)++] = t;
}

int run_tests_on_files(const char *group, int argc, char **argv, void (*fn)(void **state))
{
    struct CMUnitTest *tests = NULL;
    size_t n = 0;
    char **lists[16] = {0};
    int nlists = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            kvsp_test_skipped_part("%s absent", argv[i]);
            continue;
        }
        if (S_ISDIR(st.st_mode) && nlists < 16) {
            char **files = list_mkv_files(argv[i]);
            lists[nlists++] = files;
            if (!files || !files[0])
                kvsp_test_skipped_part("no .mkv file in %s", argv[i]);
            for (char **f = files; f && *f; f++)
                add_path(&tests, &n, *f, fn);
        } else if (!S_ISDIR(st.st_mode)) {
            add_path(&tests, &n, argv[i], fn);
        }
    }
    if (n == 0 && argc < 2)
        return kvsp_test_skip("no input file or folder given");
    int failed = n ? _cmocka_run_group_tests(group, tests, n, NULL, NULL) : 0;
    for (int i = 0; i < nlists; i++)
        free_list(lists[i]);
    free(tests);
    return kvsp_test_status(failed);
}
