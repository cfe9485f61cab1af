/* kvsp merge: a chain of fragments into playable, seekable Matroska files,
 * or MP4 files (merge_mp4.c, in kvsp-full). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_log.h"

/* The output files: OUT, then OUT with .1, .2, ... before its extension. */
typedef struct merge_sink {
    const char *base;
    int fd;
    int to_stdout;
    unsigned index;
    char *name;
    char **names; /* every file written, for the summary */
    unsigned count;
} merge_sink;

int cli_write_all(int fd, const void *data, size_t len, int64_t offset)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t n = offset < 0 ? write(fd, p, len) : pwrite(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return KVSP_ERR_IO;
        p += n;
        len -= (size_t)n;
        if (offset >= 0)
            offset += n;
    }
    return KVSP_OK;
}

static int sink_write(void *user, const void *data, size_t len)
{
    merge_sink *s = user;
    return cli_write_all(s->fd, data, len, -1);
}

static int sink_patch(void *user, uint64_t offset, const void *data, size_t len)
{
    merge_sink *s = user;
    return cli_write_all(s->fd, data, len, (int64_t)offset);
}

char *cli_numbered_name(const char *base, unsigned index)
{
    const char *slash = strrchr(base, '/');
    const char *dot = strrchr(base, '.');
    if (!dot || (slash && dot < slash) || dot == base || (slash && dot == slash + 1))
        dot = base + strlen(base);
    size_t cap = strlen(base) + 16;
    char *name = malloc(cap);
    if (name)
        snprintf(name, cap, "%.*s.%u%s", (int)(dot - base), base, index, dot);
    return name;
}

static int sink_open(merge_sink *s)
{
    char *name = s->index ? cli_numbered_name(s->base, s->index) : strdup(s->base);
    char **names = name ? realloc(s->names, (s->count + 1) * sizeof *names) : NULL;
    if (!names) {
        free(name);
        return KVSP_ERR_NOMEM;
    }
    s->names = names;
    s->names[s->count++] = name;
    s->name = name;
    s->fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    return s->fd < 0 ? KVSP_ERR_IO : KVSP_OK;
}

static int sink_next_file(void *user)
{
    merge_sink *s = user;
    if (close(s->fd) != 0)
        return KVSP_ERR_IO;
    s->index++;
    return sink_open(s);
}

static void progress(void *user, uint64_t bytes)
{
    uint64_t *next = user;
    if (bytes < *next)
        return;
    fprintf(stderr, "\rkvsp merge: %" PRIu64 " MiB read", bytes >> 20);
    *next = bytes + (16u << 20);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kvsp merge [OPTIONS] [INPUT...] -o OUT\n\n"
            "Merges a chain of fragments (GetMedia or GetMediaForFragmentList payloads;\n"
            "several inputs are read one after the other) into one continuous Matroska\n"
            "file. A regular OUT is completed as a seekable file (SeekHead, Duration,\n"
            "Cues); -o - writes live-style Matroska to stdout, fragment by fragment.\n\n"
            "  -o, --output OUT      output file, or - for stdout (required)\n"
            "  --timeline MODE       producer (default): fragments placed by producer\n"
            "                        timestamp, gaps kept; original: input timecodes;\n"
            "                        pack: back to back, no gaps\n"
            "  --on-change ACTION    when tracks or codec private data change:\n"
            "                        new-file (default; OUT.1.mkv, ...), new-segment,\n"
            "                        or stop\n"
            "  --no-kvs-tags         do not keep each fragment's number and timestamps\n"
            "                        as Tags (MP4: see --format)\n"
            "  --format FMT          mkv, mp4 (progressive, its index first; fragmented\n"
            "                        on a pipe or stdout) or fmp4 (fragmented); default:\n"
            "                        mp4 when OUT ends in .mp4 or .m4v, else mkv. MP4\n"
            "                        takes H.264, H.265 and AAC, copied without\n"
            "                        decoding; each fragment's number, timestamps and\n"
            "                        first frame's time go to OUT.json\n" CLI_COMMON_OPTIONS_HELP);
}

static int pick(const char *value, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    cli_error("kvsp merge: unknown value '%s'\n", value);
    return -1;
}

static int merge_option(void *user, int c, const char *value)
{
    merge_args *a = user;
    static const char *const timelines[] = {"producer", "original", "pack"};
    static const char *const actions[] = {"new-file", "new-segment", "stop"};
    static const char *const formats[] = {"mkv", "mp4", "fmp4"};
    int v;
    switch (c) {
    case 'F':
        if (pick(value, formats, 3, &v) < 0)
            return -1;
        a->format = (merge_format)v;
        a->format_given = 1;
        return 0;
    case 'o': a->output = value; return 0;
    case 'n': a->opts.drop_kvs_tags = 1; return 0;
    case 't':
        if (pick(value, timelines, 3, &v) < 0)
            return -1;
        a->opts.timeline = (kvsp_merge_timeline)v;
        return 0;
    case 'c':
        if (pick(value, actions, 3, &v) < 0)
            return -1;
        a->opts.split = (kvsp_merge_split)v;
        return 0;
    default: return -1;
    }
}

static void summary(const kvsp_merge_stats *s, const merge_sink *sink)
{
    cli_info("kvsp merge: %" PRIu64 " fragments (%" PRIu64 " with clusters), %" PRIu64
             " frames, %" PRIu64 " clusters, %" PRIu64 " segment(s), duration %.3f s, %" PRIu64
             " gap(s) (%.3f s)%s\n",
             s->fragments, s->fragments_written, s->frames, s->clusters, s->segments,
             s->duration_ms / 1000, s->gaps, s->gap_ms / 1000,
             s->stopped ? "; stopped at a track change" : "");
    if (sink->to_stdout)
        cli_info("kvsp merge: output: stdout\n");
    for (unsigned i = 0; i < sink->count; i++)
        cli_info("kvsp merge: output: %s\n", sink->names[i]);
}

int cli_merge_feed(cli_input_options *in, kvsp_reader *r, const kvsp_visitor *v)
{
    int st = KVSP_OK;
    if (in->stream)
        return cli_run_reader(in, r, v);
    if (in->npaths == 0)
        st = cli_feed_path(in, NULL, r, v);
    for (int i = 0; st == KVSP_OK && i < in->npaths; i++)
        st = cli_feed_path(in, in->paths[i], r, v);
    int start = cli_start_finish(in); /* --start: the inputs are one stream */
    if (st == KVSP_OK)
        st = start;
    if (st == KVSP_OK)
        st = cli_finish_reader(r, v);
    return st;
}

int cli_clip_feed(void *user, const void *data, size_t len)
{
    return kvsp_merge_clip_feed(user, data, len);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcasecmp(s + n - k, suffix) == 0;
}

int cmd_merge(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"timeline", required_argument, NULL, 't'},
        {"on-change", required_argument, NULL, 'c'},
        {"no-kvs-tags", no_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'F'},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    merge_args args;
    memset(&args, 0, sizeof args);
    memset(&args.opts, 0, sizeof args.opts);
    args.opts.writing_app = "kvsp merge " KVSP_VERSION_STRING;
    cli_input_options in;
    cli_command_spec spec = {longopts, "o:", merge_option, &args, usage, 1 << 20};
    int rc = cli_parse_input_args(argc, argv, &spec, &in);
    if (rc >= 0)
        return rc;
    if (!args.output) {
        cli_usage_error(usage);
        return CLI_EXIT_USAGE;
    }
    if (!args.format_given && (ends_with(args.output, ".mp4") || ends_with(args.output, ".m4v")))
        args.format = MERGE_FORMAT_MP4;
    if (args.format != MERGE_FORMAT_MKV) {
#ifdef KVSP_HAVE_MP4
        return merge_mp4(&in, &args);
#else
        return cli_delegate("kvsp merge to MP4", CLI_FEATURE_MP4);
#endif
    }
    merge_sink sink;
    memset(&sink, 0, sizeof sink);
    sink.base = args.output;
    kvsp_merge_output out = {&sink, sink_write, sink_patch, sink_next_file};
    if (strcmp(args.output, "-") == 0) {
        sink.fd = STDOUT_FILENO;
        sink.to_stdout = 1;
        out.patch = NULL;
        out.next_file = NULL;
    } else if (sink_open(&sink) != KVSP_OK) {
        cli_error("kvsp merge: %s: %s\n", args.output, strerror(errno));
        free(sink.names ? sink.names[0] : NULL);
        free(sink.names);
        return CLI_EXIT_BAD_INPUT;
    } else {
        struct stat stat_buf;
        if (fstat(sink.fd, &stat_buf) == 0 && !S_ISREG(stat_buf.st_mode)) {
            out.patch = NULL; /* a FIFO or device: live-style */
            out.next_file = NULL;
        }
    }
    uint64_t next_progress = 16u << 20;
    if (isatty(STDERR_FILENO) && cli_log_get_format() == CLI_LOG_TEXT) {
        in.progress = progress;
        in.progress_user = &next_progress;
    }
    /* --from/--to: the input goes through the library's clip, which feeds
     * the merger from the keyframe at or before --from; meta is its own (the
     * merger keeps its own too: it must see every event it is given) */
    kvsp_fragment_visitor *meta = in.range ? kvsp_fragment_visitor_create(NULL) : NULL;
    kvsp_merger *merger = !in.range || meta ? kvsp_merger_create(NULL, &args.opts, &out) : NULL;
    kvsp_merge_clip_options clip_opts = {in.range_from_ms, in.range_to_ms, in.range_server,
                                         in.reader};
    kvsp_merge_clip *range =
        in.range && merger ? kvsp_merge_clip_create(&clip_opts, meta, merger) : NULL;
    if (range) {
        in.feed = cli_clip_feed;
        in.feed_user = range;
    }
    kvsp_reader *r = kvsp_reader_create(&in.reader);
    kvsp_visitor v = merger ? kvsp_merger_visitor(merger) : (kvsp_visitor){0};
    int st = (merger && r && (range || !in.range)) ? cli_merge_feed(&in, r, &v) : KVSP_ERR_NOMEM;
    if (range && st >= 0)
        st = kvsp_merge_clip_finish(range);
    int fin = merger ? kvsp_merger_finish(merger) : KVSP_OK;
    if (in.progress)
        fputc('\n', stderr);
    if (st < 0)
        cli_report_error("merge", &in, r, st);
    if (fin < 0)
        cli_error("kvsp merge: %s: %s\n", args.output, kvsp_status_str(fin));
    if (merger)
        summary(kvsp_merger_stats(merger), &sink);
    if (!sink.to_stdout && sink.fd >= 0 && close(sink.fd) != 0 && fin == KVSP_OK)
        fin = KVSP_ERR_IO;
    /* A failed run leaves no 0-byte file (issue 19); one that failed after
     * some fragments keeps its complete part, as README documents. */
    for (unsigned i = 0; !sink.to_stdout && (st < 0 || fin < 0) && i < sink.count; i++) {
        struct stat sb;
        if (stat(sink.names[i], &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0 &&
            unlink(sink.names[i]) == 0)
            cli_info("kvsp merge: removed the empty %s\n", sink.names[i]);
    }
    for (unsigned i = 0; i < sink.count; i++)
        free(sink.names[i]);
    free(sink.names);
    kvsp_reader_destroy(r);
    kvsp_merge_clip_destroy(range);
    kvsp_merger_destroy(merger);
    kvsp_fragment_visitor_destroy(meta);
    return cli_exit_status(st < 0 ? st : fin);
}
