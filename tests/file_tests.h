#ifndef KVSP_FILE_TESTS_H
#define KVSP_FILE_TESTS_H

/* Runs fn as one cmocka test per input file: each argument is a file or a
 * folder whose .mkv files are taken; absent paths (an optional shared
 * folder) are passed over. fn gets the path as *state. Returns cmocka's
 * result, or 77 (skipped) when no file was found. */
int run_tests_on_files(const char *group, int argc, char **argv, void (*fn)(void **state));

#include "test_util.h"

/* Fails the current test, showing the first differing line, unless the two
 * logs are identical. */
void assert_same_log(const char *what, const log_buf *want, const log_buf *got);

#endif
