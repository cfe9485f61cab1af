#ifndef KVSP_CLI_H
#define KVSP_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kvsparser/kvsparser.h"

/* Exit statuses shared by every subcommand. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_BAD_INPUT = 1, /* bad or truncated input */
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_SERVICE = 3 /* network or service error */
};

#define CLI_DEFAULT_CHUNK_SIZE 65536

/* Options every reading subcommand accepts. */
typedef struct cli_input_options {
    const char *path; /* NULL or "-" for stdin */
    size_t chunk_size;
    kvsp_reader_options reader;
} cli_input_options;

void cli_input_options_init(cli_input_options *o);

/* Parses a byte count with an optional K, M or G suffix (powers of 1024).
 * Returns 0 on success. */
int cli_parse_size(const char *text, uint64_t *out);

/* Handles the long options common to reading subcommands (--chunk-size,
 * --resync, --max-depth, --max-element-size, --max-string-size). Returns 1 if
 * the option was one of them, 0 if not, -1 on a bad value (message printed). */
int cli_common_option(cli_input_options *o, const char *name, const char *value);

/* Reads the input in chunks and runs the reader with the visitor until the
 * end of input. Returns KVSP_OK, a reader error, or KVSP_ERR_IO (errno set). */
int cli_run_reader(const cli_input_options *o, kvsp_reader *r, const kvsp_visitor *v);

/* Prints "kvsp CMD: INPUT: offset N: message" on stderr. */
void cli_report_error(const char *cmd, const cli_input_options *o, const kvsp_reader *r,
                      int status);
/* Maps a status to the exit statuses above. */
int cli_exit_status(int status);

const char *cli_input_name(const cli_input_options *o);

/* A subcommand's own option (getopt value c). Returns 0, or -1 after
 * printing why the value is bad. */
typedef int (*cli_option_fn)(void *user, int c, const char *value);

/* getopt_long over argv with the common options (handled here) and the
 * subcommand's own (handed to own); fills in->path from the one optional
 * operand. Returns -1 to go on, or the exit status to return now (help,
 * usage error). */
int cli_parse_input_args(int argc, char **argv, const struct option *longopts,
                         cli_input_options *in, cli_option_fn own, void *user,
                         void (*usage)(FILE *out));

/* Subcommands: each takes argv with argv[0] being its name and returns the
 * exit status. */
int cmd_inspect(int argc, char **argv);
int cmd_fragments(int argc, char **argv);
int cmd_frames(int argc, char **argv);

/* getopt_long entries for the common options; they return 0 and are handed
 * to cli_common_option by name. */
#define CLI_COMMON_LONG_OPTIONS                            \
    {"chunk-size", required_argument, NULL, 0},            \
    {"resync", no_argument, NULL, 0},                      \
    {"max-depth", required_argument, NULL, 0},             \
    {"max-element-size", required_argument, NULL, 0},      \
    {"max-string-size", required_argument, NULL, 0},       \
    {"help", no_argument, NULL, 'h'}

#define CLI_COMMON_OPTIONS_HELP                                                    \
    "  --chunk-size N        feed the reader N bytes per call (default 65536)\n"  \
    "  --resync              after bad input, skip to the next EBML header or\n"  \
    "                        Cluster and go on\n"                                  \
    "  --max-depth N         nesting limit (default 64)\n"                         \
    "  --max-element-size N  largest data element, e.g. 64M (default 256M)\n"      \
    "  --max-string-size N   largest string element (default 1M)\n"               \
    "  -h, --help            show this help\n"

#endif
