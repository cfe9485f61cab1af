#ifndef KVSP_CLI_H
#define KVSP_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "kvsparser/kvsparser.h"

/* Exit statuses shared by every subcommand. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_BAD_INPUT = 1, /* bad or truncated input */
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_SERVICE = 3, /* network or service error */
    CLI_EXIT_CONFIG = 4   /* the client cannot be configured: profile, region, credentials */
};

#define CLI_DEFAULT_CHUNK_SIZE 65536

/* Options every reading subcommand accepts. */
typedef struct cli_input_options {
    const char *path;         /* NULL or "-" for stdin */
    const char *const *paths; /* every input operand */
    int npaths;
    size_t chunk_size;
    kvsp_reader_options reader;
    /* --stream: read GetMedia of this stream instead of a file. */
    const char *stream;        /* the first --stream */
    const char *streams[1024]; /* every --stream */
    int nstreams;
    int follow;                           /* --follow: read live until interrupted */
    const char *checkpoint;               /* --checkpoint FILE: the last continuation token */
    const char *metrics;                  /* --metrics [ADDR:]PORT: Prometheus text over HTTP */
    struct sockaddr_storage metrics_addr; /* where, parsed */
    socklen_t metrics_addr_len;
    const char *start; /* --start, default "now" (a file: earliest) */
    /* --start on a file or stdin (cli_start.c): the scan for the start */
    struct cli_start_state *start_state;
    char start_error[640]; /* why the start was not found; "" */
    const char *region;
    const char *endpoint_url;
    const char *profile;
    const char *ca_bundle;
    int verbose;
    long stall_timeout_ms;   /* --stall-timeout: 0 the default, -1 none */
    char client_error[512];  /* the service or network error of a --stream read */
    long client_http_status; /* with it, for the log's fields: 0 or the HTTP status */
    char client_exception[128];
    char client_host[256];
    /* --from/--to (cli_range.c): bit 0 from, bit 1 to given. */
    int range;
    double range_from_s, range_to_s;   /* epoch seconds (open ends: +-1e10) */
    double range_from_ms, range_to_ms; /* the same in ms (open ends: +-inf) */
    int range_server;                  /* --timestamp server */
    int range_parallel;                /* --parallel N, 0: the library's */
    /* If set, each chunk of input goes here instead of to the reader
     * (kvsp merge --from/--to); returns KVSP_OK or a negative status. */
    int (*feed)(void *user, const void *data, size_t len);
    void *feed_user;
    /* Called after each chunk with the bytes read so far, if set. */
    void (*progress)(void *user, uint64_t bytes);
    void *progress_user;
} cli_input_options;

void cli_input_options_init(cli_input_options *o);

/* Parses a byte count with an optional K, M or G suffix (powers of 1024).
 * Returns 0 on success. */
int cli_parse_size(const char *text, uint64_t *out);

/* Handles the long options common to reading subcommands (--chunk-size,
 * --resync, --max-depth, --max-element-size, --max-string-size). Returns 1 if
 * the option was one of them, 0 if not, -1 on a bad value (message printed). */
int cli_common_option(cli_input_options *o, const char *name, const char *value);

/* cli_range.c: --from, --to, --timestamp, --parallel (1 if name was one,
 * 0 if not, -1 after saying why a value is bad); after parsing, fills the
 * open ends and checks the range (0, or -1 after saying why). */
int cli_range_option(cli_input_options *o, const char *name, const char *value);
int cli_range_check(cli_input_options *o);
/* ISO 8601 with a zone, or epoch seconds; 0 on success. */
int cli_parse_time(const char *text, double *seconds);
/* A frame's time on the --timestamp timeline; -1 if it has none. */
int cli_frame_time_ms(const cli_input_options *o, const kvsp_frame *f, double *ms);
/* Where a frame is against the range: -1 before (or without a time), 0 in
 * it (always without --from/--to), 1 after. */
int cli_range_frame(const cli_input_options *o, const kvsp_frame *f);
/* A block's time on the --timestamp timeline, as its frames' (f: the
 * fragment it is in, NULL if none; cluster_tc: its Cluster's Timestamp;
 * rel: its relative timecode); -1 if it has none. */
int cli_block_time_ms(const cli_input_options *o, const kvsp_fragment *f, int64_t cluster_tc,
                      int16_t rel, double *ms);
/* 1 if the fragment's frames overlap the range (always without one). */
int cli_range_fragment(const cli_input_options *o, const kvsp_fragment *f);

/* cli_start.c: --start on a file or stdin reads it as GetMedia with that
 * selector would return it: from the fragment numbered N (fragment:N), the
 * one after T (continuation:T), or the first whose producer (server)
 * timestamp is at or after T (producer-ts:T, server-ts:T; epoch seconds or
 * ISO 8601). Setup after parsing: 0, or -1 after saying why. */
typedef struct cli_start_state cli_start_state;
int cli_start_setup(cli_input_options *o);
/* Hands bytes of the input to the reader: all of them, with deliver,
 * without a start, else those from the start fragment on. */
typedef int (*cli_deliver_fn)(const cli_input_options *o, kvsp_reader *r, const kvsp_visitor *v,
                              const uint8_t *data, size_t len);
int cli_start_push(const cli_input_options *o, const uint8_t *data, size_t len, kvsp_reader *r,
                   const kvsp_visitor *v, cli_deliver_fn deliver);
/* After the input: KVSP_OK, or KVSP_ERR_INVALID_ARG with o->start_error
 * saying why (no such fragment; bad input before it). Frees the scan. */
int cli_start_finish(cli_input_options *o);

/* Reads the input in chunks and runs the reader with the visitor until the
 * end of input. Returns KVSP_OK, a reader error, or KVSP_ERR_IO (errno set). */
int cli_run_reader(cli_input_options *o, kvsp_reader *r, const kvsp_visitor *v);
/* The same in two steps, for several inputs read as one stream: feed each
 * file (or stdin for NULL / "-") without finishing, then finish once. */
int cli_feed_path(const cli_input_options *o, const char *path, kvsp_reader *r,
                  const kvsp_visitor *v);
int cli_finish_reader(kvsp_reader *r, const kvsp_visitor *v);

/* Prints "kvsp CMD: INPUT: offset N: message" on stderr. */
void cli_report_error(const char *cmd, const cli_input_options *o, const kvsp_reader *r,
                      int status);
/* Maps a status to the exit statuses above. */
/* Makes every later failing cli_exit_status CLI_EXIT_CONFIG. */
void cli_note_config_error(void);
int cli_exit_status(int status);

const char *cli_input_name(const cli_input_options *o);

/* A subcommand's own option (getopt value c). Returns 0, or -1 after
 * printing why the value is bad. */
typedef int (*cli_option_fn)(void *user, int c, const char *value);

/* How a subcommand's command line looks. */
typedef struct cli_command_spec {
    const struct option *longopts; /* own options, then CLI_COMMON_LONG_OPTIONS */
    const char *shortopts;         /* own short options besides -h; may be NULL */
    cli_option_fn own;             /* handles own options; may be NULL */
    void *user;
    void (*usage)(FILE *out);
    int max_inputs; /* input operands allowed */
} cli_command_spec;

/* getopt_long over argv with the common options (handled here) and the
 * subcommand's own (handed to spec->own); fills in->path from the first
 * operand and in->paths with all of them. Returns -1 to go on, or the exit
 * status to return now (help, usage error). */
int cli_parse_input_args(int argc, char **argv, const cli_command_spec *spec,
                         cli_input_options *in);

/* Subcommands: each takes argv with argv[0] being its name and returns the
 * exit status. */
int cmd_inspect(int argc, char **argv);
int cmd_fragments(int argc, char **argv);
int cmd_frames(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_audio(int argc, char **argv);
#ifdef KVSP_HAVE_CLIENT
int cmd_get_media(int argc, char **argv);
int cmd_list_fragments(int argc, char **argv);
int cmd_get_media_for_fragment_list(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_run(int argc, char **argv);
#endif
#ifdef KVSP_HAVE_SERVE
int cmd_serve(int argc, char **argv);
#endif

/* Optional parts the lean `kvsp` front leaves to kvsp-full (cli_delegate.c). */
typedef enum cli_feature {
    CLI_FEATURE_CLIENT,
    CLI_FEATURE_DECODER,
    CLI_FEATURE_SERVE,
    CLI_FEATURE_MP4
} cli_feature;
/* The lean front's path, which it puts in the environment of kvsp-full:
 * `kvsp run` starts its per-item subcommands with it, sparing each item
 * the ~30 ms of loading kvsp-full's libraries when the subcommand does not
 * need them (merge, fragments). */
#define KVSP_FRONT_ENV "KVSP_FRONT_EXE"
/* Keeps argv as main got it, for the exec. */
void cli_delegate_init(int argc, char **argv);
/* Becomes kvsp-full with the original command line when it has the feature
 * (only the front's build says so); otherwise, or if it cannot, prints why
 * naming `what` and returns CLI_EXIT_USAGE. */
int cli_delegate(const char *what, cli_feature feature);
/* A subcommand that lives only in kvsp-full (get-media, serve, ...). */
int cli_delegate_command(int argc, char **argv);

/* kvsp merge's command line, shared with its MP4 half (merge_mp4.c). */
typedef enum merge_format { MERGE_FORMAT_MKV, MERGE_FORMAT_MP4, MERGE_FORMAT_FMP4 } merge_format;
typedef struct merge_args {
    const char *output;
    kvsp_merge_options opts;
    merge_format format;
    int format_given;
} merge_args;
/* OUT, then OUT with .1, .2, ... before its extension: the name of output
 * file `index` (malloc'd; NULL when out of memory). */
char *cli_numbered_name(const char *base, unsigned index);
/* Writes everything to fd, at the file position (offset < 0) or at offset,
 * retrying after EINTR; KVSP_OK or KVSP_ERR_IO. */
int cli_write_all(int fd, const void *data, size_t len, int64_t offset);
/* Feeds every input (or the --stream) through v and finishes the reader. */
int cli_merge_feed(cli_input_options *in, kvsp_reader *r, const kvsp_visitor *v);
/* cli_input_options.feed for --from/--to: the bytes go to the
 * kvsp_merge_clip that user is (to the MKV merger or the MP4 sink). */
int cli_clip_feed(void *user, const void *data, size_t len);
#ifdef KVSP_HAVE_MP4
int merge_mp4(cli_input_options *in, const merge_args *args);
#endif

/* The option groups, each with its help text below, so that a subcommand
 * lists (and accepts) only the groups it uses. All are handed to
 * cli_common_option by name. The tables are left as written, one option a
 * line: clang-format 14 packs several to a line and lays out an
 * initializer that ends a macro as a block. */
/* clang-format off */
/* Reaching KVS: every command that talks to the service. */
#define CLI_CONNECTION_LONG_OPTIONS                                                            \
    {"stream", required_argument, NULL, 0}, {"region", required_argument, NULL, 0},            \
        {"endpoint-url", required_argument, NULL, 0}, {"profile", required_argument, NULL, 0}, \
        {"ca-bundle", required_argument, NULL, 0}, {"verbose", no_argument, NULL, 0},          \
        {"stall-timeout", required_argument, NULL, 0},
/* Where GetMedia starts. */
#define CLI_START_LONG_OPTIONS {"start", required_argument, NULL, 0},
/* Reading a stream live through the reader. */
#define CLI_FOLLOW_LONG_OPTIONS                                                   \
    {"follow", no_argument, NULL, 0}, {"checkpoint", required_argument, NULL, 0}, \
        {"metrics", required_argument, NULL, 0},
/* How stderr lines look: every subcommand but serve. */
#define CLI_LOG_LONG_OPTIONS {"log-format", required_argument, NULL, 0},
/* Reading a stream from KVS instead of a file (builds with the client). */
#define CLI_CLIENT_LONG_OPTIONS \
    CLI_CONNECTION_LONG_OPTIONS \
    CLI_START_LONG_OPTIONS      \
    CLI_FOLLOW_LONG_OPTIONS
/* clang-format on */

#ifdef KVSP_HAVE_CLIENT
/* Feeds GetMedia of in->stream into the reader (not finished), resuming
 * after interruptions; with --follow until SIGINT/SIGTERM. */
int client_feed_stream(cli_input_options *in, kvsp_reader *r, const kvsp_visitor *v);
/* --stream with --from/--to (client_range.c): the range's payload, in
 * order, into the reader (not finished). */
int client_feed_range(cli_input_options *in, kvsp_reader *r, const kvsp_visitor *v);
/* kvsp fragments --stream A [--stream B ...]: lines as fragments complete. */
int client_fragments(cli_input_options *in);
#endif

/* clang-format off */
/* The time range (cli_range.c), for files and streams. */
#define CLI_RANGE_LONG_OPTIONS                             \
    {"from", required_argument, NULL, 0},                  \
    {"to", required_argument, NULL, 0},                    \
    {"timestamp", required_argument, NULL, 0},             \
    {"parallel", required_argument, NULL, 0},

/* The reader's limits and feeding, for subcommands that parse the media. */
#define CLI_READER_LONG_OPTIONS                            \
    {"chunk-size", required_argument, NULL, 0},            \
    {"resync", no_argument, NULL, 0},                      \
    {"max-depth", required_argument, NULL, 0},             \
    {"max-element-size", required_argument, NULL, 0},      \
    {"max-string-size", required_argument, NULL, 0},

/* getopt_long entries for the options of the reading subcommands; they
 * return 0 and are handed to cli_common_option by name. */
#define CLI_COMMON_LONG_OPTIONS                            \
    CLI_CLIENT_LONG_OPTIONS                                \
    CLI_RANGE_LONG_OPTIONS                                 \
    CLI_READER_LONG_OPTIONS                                \
    CLI_LOG_LONG_OPTIONS                                   \
    {"help", no_argument, NULL, 'h'}

/* The service commands (get-media, list-fragments, ...): no reader, no
 * --follow; get-media adds CLI_START_LONG_OPTIONS. */
#define CLI_SERVICE_LONG_OPTIONS                           \
    CLI_CONNECTION_LONG_OPTIONS                            \
    CLI_LOG_LONG_OPTIONS                                   \
    {"help", no_argument, NULL, 'h'}
/* clang-format on */

#define CLI_READER_OPTIONS_HELP                                                  \
    "  --chunk-size N        feed the reader N bytes per call (default 65536)\n" \
    "  --resync              after bad input, skip to the next EBML header or\n" \
    "                        Cluster and go on\n"                                \
    "  --max-depth N         nesting limit (default 64)\n"                       \
    "  --max-element-size N  largest data element, e.g. 64M (default 256M)\n"    \
    "  --max-string-size N   largest string element (default 1M)\n"

#define CLI_LOG_OPTION_HELP                                                        \
    "  --log-format FORMAT   stderr lines as text (default) or json: one object\n" \
    "                        per line with time, level, message, and stream,\n"    \
    "                        host, status, exception, attempt where known\n"
#define CLI_HELP_OPTION_HELP CLI_LOG_OPTION_HELP "  -h, --help            show this help\n"

#define CLI_RANGE_OPTIONS_HELP                                                        \
    "  --from T, --to T      only frames with times in [T, T] (ISO 8601 with zone,\n" \
    "                        e.g. 2026-12-04T10:02:00.5Z, or epoch seconds); with\n"  \
    "                        --stream the range is read with ListFragments and\n"     \
    "                        GetMediaForFragmentList instead of GetMedia\n"           \
    "  --timestamp TYPE      producer (default) or server: the timeline of T\n"       \
    "  --parallel N          --stream --from/--to: requests at a time, 1-5\n"         \
    "                        (default 3)\n"

#define CLI_COMMON_OPTIONS_HELP                                                     \
    CLI_READER_OPTIONS_HELP                                                         \
    CLI_RANGE_OPTIONS_HELP                                                          \
    "  --start SELECTOR      on INPUT (a GetMedia payload): from the fragment\n"    \
    "                        fragment:N, the one after continuation:T, or the\n"    \
    "                        first at or after producer-ts:T|server-ts:T (epoch\n"  \
    "                        seconds or ISO 8601) on, as GetMedia would;\n"         \
    "                        offsets then count from it\n"                          \
    "  --stream NAME         read GetMedia of a KVS stream (name or ARN) instead\n" \
    "                        of INPUT; --start earliest|now|fragment:N|\n"          \
    "                        continuation:T|server-ts:S|producer-ts:S (default\n"   \
    "                        now); --region, --endpoint-url, --profile,\n"          \
    "                        --ca-bundle, --verbose (requests on stderr);\n"        \
    "                        --follow: read live until interrupted;\n"              \
    "                        --checkpoint FILE: keep the last continuation token\n" \
    "                        there and start from it; --stall-timeout S: give up\n" \
    "                        a connection after S seconds without data (default\n"  \
    "                        30, 0: never), resuming or retrying it;\n"             \
    "                        --metrics [ADDR:]PORT: serve Prometheus metrics at\n"  \
    "                        http://ADDR:PORT/metrics (default 127.0.0.1)\n" CLI_HELP_OPTION_HELP

/* The service commands' part: CLI_SERVICE_LONG_OPTIONS. */
#define CLI_SERVICE_OPTIONS_HELP                                                  \
    "  --stream NAME         the KVS stream (name or ARN)\n"                      \
    "  --region REGION, --endpoint-url URL, --profile NAME, --ca-bundle FILE\n"   \
    "                        where and as whom to connect\n"                      \
    "  --verbose             requests on stderr\n"                                \
    "  --stall-timeout S     give up a connection after S seconds without data\n" \
    "                        (default 30, 0: never)\n" CLI_HELP_OPTION_HELP

#define CLI_START_OPTIONS_HELP                                                      \
    "  --start SELECTOR      earliest|now|fragment:N|continuation:T|server-ts:S|\n" \
    "                        producer-ts:S (default now)\n"

#endif
