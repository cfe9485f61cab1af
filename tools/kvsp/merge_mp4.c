/* kvsp merge to MP4 (kvsp-full): the MP4 sink's files or stdout, and each
 * file's sidecar OUT.json with the KVS fragments it holds. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <libavutil/log.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_log.h"
#include "json_line.h"
#include "kvsparser/mp4.h"

typedef struct mp4_cli {
    const char *base;
    const char *timeline;
    char **names;    /* every file begun */
    cli_jl **placed; /* per file: its sidecar, written as fragments are placed */
    unsigned count;
    int write_error;
} mp4_cli;

static int write_stdout(void *user, const void *data, size_t len)
{
    (void)user;
    return cli_write_all(STDOUT_FILENO, data, len, -1);
}

static int grow(mp4_cli *c, char *name)
{
    char **names = realloc(c->names, (c->count + 1) * sizeof *names);
    if (names)
        c->names = names;
    cli_jl **placed = names ? realloc(c->placed, (c->count + 1) * sizeof *placed) : NULL;
    if (placed)
        c->placed = placed;
    cli_jl *doc = calloc(1, sizeof *doc);
    if (!names || !placed || !doc) {
        free(name);
        free(doc);
        return KVSP_ERR_NOMEM;
    }
    /* {"file":..., "timeline":..., "fragments":[ ... then one object per
     * fragment placed; write_sidecars closes it. */
    cli_jl_begin(doc);
    cli_jl_cstring(doc, "file", name);
    cli_jl_cstring(doc, "timeline", c->timeline);
    cli_jl_open(doc, "fragments", '[');
    c->names[c->count] = name;
    c->placed[c->count] = doc;
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

static void optional_ms(cli_jl *w, const char *key, const kvsp_fragment *f, uint32_t bit,
                        int64_t ms)
{
    if (f->present & bit)
        cli_jl_int(w, key, ms);
    else
        cli_jl_null(w, key);
}

static int on_placed(void *user, const kvsp_mp4_placed *p)
{
    mp4_cli *c = user;
    if (!c->names && grow(c, NULL) != KVSP_OK) /* stdout: one list */
        return KVSP_ERR_NOMEM;
    if (p->file >= c->count)
        return KVSP_OK;
    const kvsp_fragment *f = p->fragment;
    cli_jl *w = c->placed[p->file];
    cli_jl_open(w, NULL, '{');
    cli_jl_int(w, "index", (int64_t)f->index);
    cli_jl_cstring(w, "fragment_number", f->fragment_number);
    optional_ms(w, "producer_timestamp_ms", f, KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP,
                f->producer_timestamp_ms);
    optional_ms(w, "server_timestamp_ms", f, KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP,
                f->server_timestamp_ms);
    cli_jl_ms(w, "pts_ms", p->pts_ms);
    cli_jl_close(w, '{');
    return w->failed ? KVSP_ERR_NOMEM : KVSP_OK;
}

static int write_sidecars(mp4_cli *c)
{
    int rc = 0;
    for (unsigned i = 0; i < c->count && c->names[i]; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s.json", c->names[i]) < 0)
            return -1;
        cli_jl *doc = c->placed[i];
        cli_jl_close(doc, '[');
        FILE *out = fopen(path, "w");
        int failed = !out || cli_jl_end(doc, out) != 0;
        if (out && fclose(out) != 0)
            failed = 1;
        if (failed) {
            cli_error("kvsp merge: %s: cannot write\n", path);
            rc = -1;
        }
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
    /* --from/--to: the same cut as for Matroska (the library's clip,
     * src/merger/merge_clip.c), before the sink */
    kvsp_fragment_visitor *meta = in->range ? kvsp_fragment_visitor_create(NULL) : NULL;
    kvsp_merge_clip_options clip_opts = {in->range_from_ms, in->range_to_ms, in->range_server,
                                         in->reader};
    kvsp_merge_clip *range =
        in->range && sink && meta ? kvsp_merge_clip_create_for(&clip_opts, meta, &v) : NULL;
    if (range) {
        in->feed = cli_clip_feed;
        in->feed_user = range;
    }
    int st = (sink && r && (range || !in->range)) ? cli_merge_feed(in, r, &v) : KVSP_ERR_NOMEM;
    if (range && st >= 0)
        st = kvsp_merge_clip_finish(range);
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
        if (c.placed[i])
            cli_jl_free(c.placed[i]);
        free(c.placed[i]);
    }
    free(c.names);
    free(c.placed);
    kvsp_reader_destroy(r);
    kvsp_merge_clip_destroy(range);
    kvsp_mp4_sink_destroy(sink);
    kvsp_fragment_visitor_destroy(meta);
    return cli_exit_status(st < 0 ? st : fin);
}
