/* kvsp frames -o DIR / --framemd5: decoded pictures to image files and an
 * index, or to checksums in the format of ffmpeg -f framemd5. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <libavutil/log.h>
#include <libavutil/md5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_line.h"
#include "cli_log.h"
#include "frames_cli.h"
#include "image_writer.h"
#include "kvsparser/decoder.h"

typedef struct extract_state {
    const frames_args *args;
    image_writer *writer;
    FILE *index;
    char *path;
    size_t path_cap;
    int header_done;
    int progress;
    int to_stdout; /* -o - */
} extract_state;

static void print_framemd5_header(const kvsp_picture *p)
{
    printf(
        "#format: frame checksums\n#version: 2\n#hash: MD5\n#tb 0: 1/1000\n#media_type 0: video\n"
        "#codec_id 0: rawvideo\n#dimensions 0: %dx%d\n#sar 0: 1/1\n"
        "#stream#, dts,        pts, duration,     size, hash\n",
        p->width, p->height);
}

static int framemd5_line(extract_state *s, const kvsp_picture *p)
{
    size_t size;
    const uint8_t *bytes = image_writer_pack(s->writer, p, &size);
    if (!bytes)
        return KVSP_ERR_NOMEM;
    uint8_t md5[16];
    av_md5_sum(md5, bytes, size);
    if (!s->header_done) {
        print_framemd5_header(p);
        s->header_done = 1;
    }
    int64_t pts = (int64_t)(p->pts_ms + (p->pts_ms < 0 ? -0.5 : 0.5));
    printf("0, %10" PRId64 ", %10" PRId64 ", %8d, %8zu, ", pts, pts, 1, size);
    for (int i = 0; i < 16; i++)
        printf("%02x", md5[i]);
    putchar('\n');
    return KVSP_OK;
}

/* -o - with --format raw: the packed picture to stdout, nothing else, so
 * that a model can read fixed-size records from a pipe. */
static int write_to_stdout(extract_state *s, const kvsp_picture *p)
{
    size_t size;
    const uint8_t *bytes = image_writer_pack(s->writer, p, &size);
    if (!bytes)
        return KVSP_ERR_NOMEM;
    return fwrite(bytes, 1, size, stdout) == size ? KVSP_OK : KVSP_ERR_IO;
}

static int write_image(extract_state *s, const kvsp_picture *p)
{
    if (s->to_stdout)
        return write_to_stdout(s, p);
    size_t need = strlen(s->args->out_dir) + 64;
    if (need > s->path_cap) {
        char *bigger = realloc(s->path, need);
        if (!bigger)
            return KVSP_ERR_NOMEM;
        s->path = bigger;
        s->path_cap = need;
    }
    const char *ext = image_writer_extension(s->args->format);
    const char *name = s->path + snprintf(s->path, s->path_cap, "%s/", s->args->out_dir);
    snprintf(s->path + strlen(s->path), s->path_cap - strlen(s->path), "frame-%06" PRIu64 ".%s",
             p->index + 1, ext);
    if (image_writer_write(s->writer, p, s->path) != 0) {
        cli_error("kvsp frames: %s: %s\n", s->path, errno ? strerror(errno) : "cannot encode");
        return KVSP_ERR_IO;
    }
    cli_jl *w = cli_jl_stdout();
    cli_jl_begin(w);
    cli_jl_cstring(w, "file", name);
    cli_jl_cstring(w, "fragment_number", p->fragment_number);
    cli_jl_ms(w, "pts_ms", p->pts_ms);
    if (p->present & KVSP_FRAME_HAS_PRODUCER_TIME)
        cli_jl_ms(w, "producer_timestamp_ms", p->producer_timestamp_ms);
    else
        cli_jl_null(w, "producer_timestamp_ms");
    if (p->present & KVSP_FRAME_HAS_SERVER_TIME)
        cli_jl_ms(w, "server_timestamp_ms", p->server_timestamp_ms);
    else
        cli_jl_null(w, "server_timestamp_ms");
    cli_jl_bool(w, "keyframe", p->keyframe);
    cli_jl_int(w, "width", p->width);
    cli_jl_int(w, "height", p->height);
    cli_jl_int(w, "fragment_index", (int64_t)p->fragment_index);
    cli_jl_int(w, "track", (int64_t)p->track);
    if (cli_jl_end(w, s->index) != 0)
        return KVSP_ERR_IO;
    if (s->progress)
        fprintf(stderr, "\rkvsp frames: %" PRIu64 " pictures", p->index + 1);
    return KVSP_OK;
}

static int on_picture(void *user, const kvsp_picture *p)
{
    extract_state *s = user;
    return s->args->framemd5 ? framemd5_line(s, p) : write_image(s, p);
}

static void on_corrupt(void *user, uint64_t track, double pts_ms, const char *why)
{
    (void)user;
    cli_warn("kvsp frames: track %" PRIu64 " at %.3f ms: %s; skipped\n", track, pts_ms, why);
}

/* mkdir -p */
int cli_make_dirs(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int rc = 0;
    for (char *p = copy + 1; rc == 0; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char was = *p;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST)
            rc = -1;
        *p = was;
        if (!was)
            break;
    }
    free(copy);
    return rc;
}

static int open_output(extract_state *s)
{
    if (s->args->framemd5 || s->to_stdout)
        return 0;
    if (cli_make_dirs(s->args->out_dir) != 0) {
        cli_error("kvsp frames: %s: %s\n", s->args->out_dir, strerror(errno));
        return -1;
    }
    size_t n = strlen(s->args->out_dir) + 16;
    char *index = malloc(n);
    if (!index)
        return -1;
    snprintf(index, n, "%s/index.jsonl", s->args->out_dir);
    s->index = fopen(index, "w");
    if (!s->index)
        cli_error("kvsp frames: %s: %s\n", index, strerror(errno));
    free(index);
    return s->index ? 0 : -1;
}

int frames_extract(const frames_args *args, cli_input_options *in)
{
    image_format format = args->framemd5 ? IMAGE_RAW : args->format;
    int pix = args->framemd5 ? (args->pix_fmt < 0 ? KVSP_PIX_NATIVE : args->pix_fmt)
                             : image_writer_pixel_format(format, args->pix_fmt);
    if (pix < 0) {
        cli_error("kvsp frames: that --pix-fmt cannot be written as %s\n",
                  image_writer_extension(format));
        return CLI_EXIT_USAGE;
    }
    /* Decoding problems are reported once each, by on_corrupt, not by
     * libavcodec's own log. */
    av_log_set_level(AV_LOG_QUIET);
    extract_state s;
    memset(&s, 0, sizeof s);
    s.args = args;
    s.to_stdout = args->out_dir && strcmp(args->out_dir, "-") == 0;
    s.progress = !args->framemd5 && !s.to_stdout && isatty(STDERR_FILENO) &&
                 cli_log_get_format() == CLI_LOG_TEXT;
    s.writer = image_writer_create(format);
    if (!s.writer || open_output(&s) != 0) {
        image_writer_destroy(s.writer);
        return CLI_EXIT_BAD_INPUT;
    }
    kvsp_decode_options o;
    memset(&o, 0, sizeof o);
    o.track = args->opts.track;
    o.pixel_format = (kvsp_pixel_format)pix;
    o.width = args->width;
    o.height = args->height;
    o.sampling = (kvsp_sampling)args->sampling;
    o.every_n = args->every_n ? args->every_n : 1;
    o.interval_ms = args->interval_ms;
    o.threads = args->threads;
    o.on_picture = on_picture;
    o.on_corrupt = on_corrupt;
    o.user = &s;
    if (in->range) { /* --from/--to: earlier pictures are decoded as references, not written */
        o.window = in->range_server ? KVSP_WINDOW_SERVER : KVSP_WINDOW_PRODUCER;
        o.window_from_ms = in->range_from_ms;
        o.window_to_ms = in->range_to_ms;
    }
    kvsp_decoder *d = kvsp_decoder_create(NULL, &o);
    kvsp_reader *r = kvsp_reader_create(&in->reader);
    int st = KVSP_ERR_NOMEM;
    if (d && r) {
        kvsp_visitor v = kvsp_decoder_visitor(d);
        st = cli_run_reader(in, r, &v);
        int fin = kvsp_decoder_finish(d);
        if (st >= 0 && fin < 0)
            st = fin;
    }
    if (s.progress)
        fputc('\n', stderr);
    fflush(stdout);
    if (st < 0 && d && kvsp_decoder_error(d) < 0)
        cli_error("kvsp frames: %s\n", kvsp_decoder_error_message(d));
    else if (st < 0 && r)
        cli_report_error("frames", in, r, st);
    if (d) {
        const kvsp_decode_stats *ds = kvsp_decoder_stats(d);
        cli_info("kvsp frames: %" PRIu64 " frames, %" PRIu64 " decoded, %" PRIu64 " kept, %" PRIu64
                 " skipped before a keyframe, %" PRIu64 " corrupt, %" PRIu64 " decoder reopen(s)\n",
                 ds->frames, ds->decoded, ds->delivered, ds->skipped_to_keyframe, ds->corrupt,
                 ds->reopened);
    }
    if (s.index && fclose(s.index) != 0 && st >= 0)
        st = KVSP_ERR_IO;
    kvsp_decoder_destroy(d);
    kvsp_reader_destroy(r);
    image_writer_destroy(s.writer);
    free(s.path);
    return cli_exit_status(st);
}
