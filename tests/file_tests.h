#ifndef KVSP_FILE_TESTS_H
#define KVSP_FILE_TESTS_H

/* Runs fn as one cmocka test per input file: each argument is a file or a
 * folder whose .mkv files are taken; an absent path (an optional shared
 * folder) or a folder without .mkv files is a skipped part. fn gets the
 * path as *state. Returns kvsp_test_status: 1 if a test failed, else a skip
 * (77, 1 in CI) if a part was skipped, else 0. */
int run_tests_on_files(const char *group, int argc, char **argv, void (*fn)(void **state));

#include "test_util.h"

/* Fails the current test, showing the first differing line, unless the two
 * logs are identical. */
void assert_same_log(const char *what, const log_buf *want, const log_buf *got);

#endif
