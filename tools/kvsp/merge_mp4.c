/* kvsp merge to MP4 (kvsp-full): the MP4 sink's files or stdout, and each
 * file's sidecar OUT.json with the KVS fragments it holds. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <libavutil/log.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_log.h"
#include "cli_json.h"
#include "kvsparser/mp4.h"

typedef struct mp4_cli {
    const char *base;
    const char *timeline;
    char **names;    /* every file begun */
    json_t **placed; /* per file: its fragments */
    unsigned count;
    int write_error;
} mp4_cli;

static int write_stdout(void *user, const void *data, size_t len)
{
    (void)user;
    const char *p = data;
    while (len) {
        ssize_t n = write(STDOUT_FILENO, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return KVSP_ERR_IO;
        p += n;
        len -= (size_t)n;
    }
    return KVSP_OK;
}

static int grow(mp4_cli *c, char *name)
{
    char **names = realloc(c->names, (c->count + 1) * sizeof *names);
    if (names)
        c->names = names;
    json_t **placed = names ? realloc(c->placed, (c->count + 1) * sizeof *placed) : NULL;
    if (placed)
        c->placed = placed;
    json_t *list = json_array();
    if (!names || !placed || !list) {
        free(name);
        json_decref(list);
        return KVSP_ERR_NOMEM;
    }
    c->names[c->count] = name;
    c->placed[c->count] = list;
    c->count++;
    return KVSP_OK;
}

/* The same names as the Matroska merger's new files: OUT, OUT.1.mp4, ... */
static int file_name(void *user, unsigned index, char *buf, size_t size)
{
    mp4_cli *c = user;
    char *name = index ? cli_numbered_name(c->base, index) : strdup(c->base);
    if (!name || grow(c, name) != KVSP_OK)
        return KVSP_ERR_NOMEM;
    if (strlen(name) >= size)
        return KVSP_ERR_INVALID_ARG;
    memcpy(buf, name, strlen(name) + 1);
    return KVSP_OK;
}

static json_t *optional_ms(const kvsp_fragment *f, uint32_t bit, int64_t ms)
{
    return (f->present & bit) ? json_integer((json_int_t)ms) : json_null();
}

static int on_placed(void *user, const kvsp_mp4_placed *p)
{
    mp4_cli *c = user;
    if (!c->names && grow(c, NULL) != KVSP_OK) /* stdout: one list */
        return KVSP_ERR_NOMEM;
    if (p->file >= c->count)
        return KVSP_OK;
    const kvsp_fragment *f = p->fragment;
    json_t *o = json_object();
    if (!o)
        return KVSP_ERR_NOMEM;
    cli_json_set(o, "index", json_integer((json_int_t)f->index));
    cli_json_set(o, "fragment_number", cli_json_cstring(f->fragment_number));
    cli_json_set(o, "producer_timestamp_ms",
                 optional_ms(f, KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP, f->producer_timestamp_ms));
    cli_json_set(o, "server_timestamp_ms",
                 optional_ms(f, KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP, f->server_timestamp_ms));
    cli_json_set(o, "pts_ms", cli_json_ms(p->pts_ms));
    return json_array_append_new(c->placed[p->file], o) == 0 ? KVSP_OK : KVSP_ERR_NOMEM;
}

static int write_sidecars(mp4_cli *c)
{
    int rc = 0;
    for (unsigned i = 0; i < c->count && c->names[i]; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s.json", c->names[i]) < 0)
            return -1;
        json_t *doc = json_object();
        cli_json_set(doc, "file", json_string(c->names[i]));
        cli_json_set(doc, "timeline", json_string(c->timeline));
        cli_json_set(doc, "fragments", json_incref(c->placed[i]));
        if (!doc || json_dump_file(doc, path, JSON_INDENT(1)) != 0) {
            cli_error("kvsp merge: %s: cannot write\n", path);
            rc = -1;
        }
        json_decref(doc);
        free(path);
    }
    return rc;
}

/* stream: "stdout" or the FIFO's name; NULL for files */
static void summary(const kvsp_mp4_stats *s, const mp4_cli *c, const char *stream)
{
    cli_info("kvsp merge: %" PRIu64 " fragments (%" PRIu64 " written), %" PRIu64 " frames (%" PRIu64
             " left out, %" PRIu64 " retimed), %" PRIu64 " MP4 output(s), duration %.3f s, %" PRIu64
             " gap(s) (%.3f s)%s\n",
             s->fragments, s->fragments_written, s->frames, s->frames_left_out, s->retimed,
             s->files, s->duration_ms / 1000, s->gaps, s->gap_ms / 1000,
             s->stopped ? "; stopped at a track change" : "");
    if (stream)
        cli_info("kvsp merge: output: %s\n", stream);
    for (unsigned i = 0; !stream && i < c->count; i++)
        cli_info("kvsp merge: output: %s\n", c->names[i]);
}

int merge_mp4(cli_input_options *in, const merge_args *args)
{
    static const char *const timelines[] = {"producer", "original", "pack"};
    if (args->opts.split == KVSP_MERGE_SPLIT_NEW_SEGMENT)
        cli_warn("kvsp merge: MP4 has no segments: --on-change new-segment starts a new file\n");
    av_log_set_level(AV_LOG_ERROR);
    int to_stdout = strcmp(args->output, "-") == 0;
    struct stat sb;
    int regular = !to_stdout && (stat(args->output, &sb) != 0 || S_ISREG(sb.st_mode));
    mp4_cli c;
    memset(&c, 0, sizeof c);
    c.base = args->output;
    c.timeline =
        timelines[args->opts.timeline <= KVSP_MERGE_TIMELINE_PACK ? args->opts.timeline : 0];
    kvsp_mp4_options opts;
    memset(&opts, 0, sizeof opts);
    opts.timeline = args->opts.timeline;
    opts.split = args->opts.split;
    opts.fragmented = args->format == MERGE_FORMAT_FMP4 || !regular;
    opts.on_placed = on_placed;
    opts.user = &c;
    /* A pipe or device given by name is a stream too: libavformat could
     * not move the index to its front. */
    kvsp_mp4_output out = {&c, regular ? NULL : write_stdout, regular ? file_name : NULL};
    FILE *pipe_out = NULL;
    if (!to_stdout && !regular) {
        pipe_out = freopen(args->output, "wb", stdout);
        if (!pipe_out) {
            cli_error("kvsp merge: %s: %s\n", args->output, strerror(errno));
            return CLI_EXIT_BAD_INPUT;
        }
    }
    kvsp_mp4_sink *sink = kvsp_mp4_sink_create(&opts, &out);
    kvsp_reader *r = kvsp_reader_create(&in->reader);
    kvsp_visitor v = sink ? kvsp_mp4_sink_visitor(sink) : (kvsp_visitor){0};
    int st = (sink && r) ? cli_merge_feed(in, r, &v) : KVSP_ERR_NOMEM;
    int fin = sink ? kvsp_mp4_sink_finish(sink) : KVSP_OK;
    /* When the sink stopped the run, its error is the one to show. */
    if (st < 0 && !(fin < 0 && kvsp_mp4_sink_error(sink)[0]))
        cli_report_error("merge", in, r, st);
    if (fin < 0)
        cli_error("kvsp merge: %s: %s\n", args->output,
                  kvsp_mp4_sink_error(sink)[0] ? kvsp_mp4_sink_error(sink) : kvsp_status_str(fin));
    if (sink) {
        summary(kvsp_mp4_sink_stats(sink), &c,
                to_stdout ? "stdout"
                : regular ? NULL
                          : args->output);
        if (!to_stdout && regular && write_sidecars(&c) != 0 && fin == KVSP_OK)
            fin = KVSP_ERR_IO;
    }
    for (unsigned i = 0; i < c.count; i++) {
        /* a failed run leaves no empty file, as for Matroska */
        if ((st < 0 || fin < 0) && c.names[i] && stat(c.names[i], &sb) == 0 &&
            S_ISREG(sb.st_mode) && sb.st_size == 0 && unlink(c.names[i]) == 0)
            cli_info("kvsp merge: removed the empty %s\n", c.names[i]);
        free(c.names[i]);
        json_decref(c.placed[i]);
    }
    free(c.names);
    free(c.placed);
    kvsp_reader_destroy(r);
    kvsp_mp4_sink_destroy(sink);
    return cli_exit_status(st < 0 ? st : fin);
}
