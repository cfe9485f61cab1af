/* kvsp audio: the audio sink's outputs to files and their index lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <libavutil/log.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio_cli.h"
#include "cli_log.h"
#include "audio_writer.h"
#include "json_line.h"
#include "frames_cli.h"
#include "kvsparser/audio.h"

/* Gaps listed per file in the index; the counts cover all of them. */
#define MAX_LISTED_GAPS 1000
#define MAX_OPEN 64

typedef struct open_file {
    const kvsp_audio_output *out; /* the sink's, stable while it is open */
    audio_writer *writer;
    char *path;
    const char *name;     /* path without the directory */
    kvsp_audio_gap *gaps; /* the first MAX_LISTED_GAPS, for the index line */
    size_t gap_count, gap_cap;
} open_file;

typedef struct audio_state {
    const audio_args *args;
    int single; /* --track N -o FILE (not a directory) */
    FILE *index;
    open_file files[MAX_OPEN];
} audio_state;

static open_file *find(audio_state *s, const kvsp_audio_output *out)
{
    for (int i = 0; i < MAX_OPEN; i++)
        if (s->files[i].out == out)
            return &s->files[i];
    return NULL;
}

/* Names keep letters, digits, '.', '-' and '_'; other bytes become '_'. */
static void clean_name(char *dst, size_t size, const char *name)
{
    size_t i = 0;
    for (; name && name[i] && i + 1 < size; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
        dst[i] = ok ? c : '_';
    }
    dst[i] = '\0';
}

static char *file_path(const audio_state *s, const kvsp_audio_output *out)
{
    const char *ext = audio_file_extension((audio_file_format)s->args->format);
    char name[128], piece[32] = "";
    clean_name(name, sizeof name, out->track_name);
    char *path = NULL;
    int n;
    if (s->single) {
        /* -o FILE: later pieces as FILE-K before its extension */
        const char *o = s->args->output;
        if (out->index == 0)
            return strdup(o);
        const char *dot = strrchr(o, '.');
        const char *slash = strrchr(o, '/');
        size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - o) : strlen(o);
        n = asprintf(&path, "%.*s-%" PRIu64 "%s", (int)stem, o, out->index, o + stem);
    } else {
        if (out->index)
            snprintf(piece, sizeof piece, "-%" PRIu64, out->index);
        n = asprintf(&path, "%s/track-%" PRIu64 "%s%s%s.%s", s->args->output, out->track,
                     name[0] ? "-" : "", name, piece, ext);
    }
    return n < 0 ? NULL : path;
}

static int on_start(void *user, const kvsp_audio_output *out)
{
    audio_state *s = user;
    open_file *f = find(s, NULL);
    if (!f) {
        cli_error("kvsp audio: more than %d files open at once\n", MAX_OPEN);
        return KVSP_ERR_IO;
    }
    f->path = file_path(s, out);
    if (!f->path)
        return KVSP_ERR_NOMEM;
    const char *slash = strrchr(f->path, '/');
    f->name = s->single ? f->path : (slash ? slash + 1 : f->path);
    const char *why = NULL;
    f->writer = audio_writer_open(f->path, (audio_file_format)s->args->format, out->sample_rate,
                                  out->channels, out->bytes_per_sample,
                                  out->sample_format == KVSP_AUDIO_F32, &why);
    if (!f->writer) {
        cli_error("kvsp audio: %s: %s\n", f->path, why ? why : strerror(errno));
        free(f->path);
        f->path = NULL;
        return KVSP_ERR_IO;
    }
    f->out = out;
    return KVSP_OK;
}

static int on_pcm(void *user, const kvsp_audio_output *out, const uint8_t *data, size_t samples)
{
    open_file *f = find(user, out);
    if (!f || audio_writer_write(f->writer, data, samples) != 0) {
        cli_error("kvsp audio: %s: %s\n", f ? f->path : "?", strerror(errno));
        return KVSP_ERR_IO;
    }
    return KVSP_OK;
}

static int on_gap(void *user, const kvsp_audio_output *out, const kvsp_audio_gap *g)
{
    open_file *f = find(user, out);
    if (g->overlap)
        cli_error("kvsp audio: track %" PRIu64
                  " at producer time %.3f ms: %.3f ms overlap dropped\n",
                  out->track, g->producer_ms, g->ms);
    if (!f || g->overlap || f->gap_count >= MAX_LISTED_GAPS)
        return KVSP_OK;
    if (f->gap_count == f->gap_cap) {
        size_t cap = f->gap_cap ? 2 * f->gap_cap : 16;
        kvsp_audio_gap *bigger = realloc(f->gaps, cap * sizeof *bigger);
        if (!bigger)
            return KVSP_ERR_NOMEM;
        f->gaps = bigger;
        f->gap_cap = cap;
    }
    f->gaps[f->gap_count++] = *g;
    return KVSP_OK;
}

static const char *source_name(kvsp_audio_source s)
{
    switch (s) {
    case KVSP_AUDIO_CONNECT_L16: return "connect-l16";
    case KVSP_AUDIO_OVERRIDDEN: return "override";
    case KVSP_AUDIO_DECODED: return "decoded";
    default: return "copied";
    }
}

static void optional_ms(cli_jl *w, const char *key, int present, double ms)
{
    if (present)
        cli_jl_ms(w, key, ms);
    else
        cli_jl_null(w, key);
}

static void index_line(cli_jl *w, const open_file *f, const kvsp_audio_output *out)
{
    static const char *const sample_formats[] = {"s16", "s32", "f32"};
    int producer = (out->present & KVSP_AUDIO_HAS_PRODUCER_TIME) != 0;
    int server = (out->present & KVSP_AUDIO_HAS_SERVER_TIME) != 0;
    cli_jl_cstring(w, "file", f->name);
    cli_jl_int(w, "track", (int64_t)out->track);
    cli_jl_cstring(w, "name", out->track_name);
    cli_jl_cstring(w, "codec", out->codec_id);
    cli_jl_cstring(w, "source", source_name(out->source));
    cli_jl_cstring(w, "source_codec", out->source_codec);
    cli_jl_int(w, "sample_rate", out->sample_rate);
    cli_jl_int(w, "channels", out->channels);
    cli_jl_cstring(w, "sample_format", sample_formats[out->sample_format]);
    cli_jl_int(w, "source_sample_rate", out->source_sample_rate);
    cli_jl_int(w, "source_channels", out->source_channels);
    optional_ms(w, "first_producer_timestamp_ms", producer, out->first_producer_ms);
    optional_ms(w, "last_producer_timestamp_ms", producer, out->last_producer_ms);
    optional_ms(w, "first_server_timestamp_ms", server, out->first_server_ms);
    optional_ms(w, "last_server_timestamp_ms", server, out->last_server_ms);
    cli_jl_ms(w, "first_pts_ms", out->first_pts_ms);
    cli_jl_ms(w, "last_pts_ms", out->last_pts_ms);
    cli_jl_cstring(w, "first_fragment_number", out->first_fragment_number);
    cli_jl_int(w, "samples", (int64_t)out->samples);
    cli_jl_ms(w, "duration_ms", (double)out->samples * 1000.0 / out->sample_rate);
    cli_jl_int(w, "blocks", (int64_t)out->blocks);
    cli_jl_open(w, "gaps", '[');
    for (size_t i = 0; i < f->gap_count; i++) {
        const kvsp_audio_gap *g = &f->gaps[i];
        cli_jl_open(w, NULL, '{');
        cli_jl_int(w, "position", (int64_t)g->position);
        cli_jl_int(w, "samples", (int64_t)g->samples);
        cli_jl_ms(w, "ms", g->ms);
        cli_jl_ms(w, "producer_timestamp_ms", g->producer_ms);
        cli_jl_close(w, '{');
    }
    cli_jl_close(w, '[');
    cli_jl_int(w, "gap_count", (int64_t)out->gaps);
    cli_jl_int(w, "gap_samples", (int64_t)out->gap_samples);
    cli_jl_int(w, "overlaps", (int64_t)out->overlaps);
    cli_jl_int(w, "overlap_samples", (int64_t)out->overlap_samples);
}

static int on_end(void *user, const kvsp_audio_output *out)
{
    audio_state *s = user;
    open_file *f = find(s, out);
    if (!f)
        return KVSP_OK;
    int rc = audio_writer_close(f->writer) == 0 ? KVSP_OK : KVSP_ERR_IO;
    if (rc < 0)
        cli_error("kvsp audio: %s: %s\n", f->path, strerror(errno));
    cli_jl *w = cli_jl_stdout();
    cli_jl_begin(w);
    index_line(w, f, out);
    if (cli_jl_end(w, s->index ? s->index : stdout) != 0)
        rc = KVSP_ERR_IO;
    free(f->gaps);
    free(f->path);
    memset(f, 0, sizeof *f);
    return rc;
}

static void on_corrupt(void *user, uint64_t track, double pts_ms, const char *why)
{
    (void)user;
    cli_error("kvsp audio: track %" PRIu64 " at %.3f ms: %s\n", track, pts_ms, why);
}

static int open_index(audio_state *s)
{
    struct stat st;
    s->single = s->args->track && !(stat(s->args->output, &st) == 0 && S_ISDIR(st.st_mode));
    if (s->single)
        return 0;
    if (cli_make_dirs(s->args->output) != 0) {
        cli_error("kvsp audio: %s: %s\n", s->args->output, strerror(errno));
        return -1;
    }
    char *path = NULL;
    if (asprintf(&path, "%s/index.jsonl", s->args->output) < 0)
        return -1;
    s->index = fopen(path, "w");
    if (!s->index)
        cli_error("kvsp audio: %s: %s\n", path, strerror(errno));
    free(path);
    return s->index ? 0 : -1;
}

int audio_extract(const audio_args *args, cli_input_options *in)
{
    av_log_set_level(AV_LOG_QUIET);
    audio_state s;
    memset(&s, 0, sizeof s);
    s.args = args;
    if (open_index(&s) != 0)
        return CLI_EXIT_BAD_INPUT;
    kvsp_audio_codec_override ov[AUDIO_CLI_MAX_OVERRIDES];
    memset(ov, 0, sizeof ov);
    for (int i = 0; i < args->noverrides; i++) {
        uint64_t number = 0;
        if (cli_parse_size(args->overrides[i].track, &number) == 0 && number)
            ov[i].track_number = number;
        else
            ov[i].track_name = args->overrides[i].track;
        ov[i].codec_id = args->overrides[i].codec;
        ov[i].sample_rate = args->overrides[i].rate;
        ov[i].channels = args->overrides[i].channels;
    }
    kvsp_audio_options o;
    memset(&o, 0, sizeof o);
    o.track = args->track;
    o.sample_rate = args->sample_rate;
    o.channels = args->channels;
    o.sample_format = (kvsp_audio_sample_format)args->sample_format;
    o.split_on_gap_ms = args->split_on_gap_s > 0 ? args->split_on_gap_s * 1000 : -1;
    o.contact_id = args->contact_id;
    o.overrides = ov;
    o.override_count = (size_t)args->noverrides;
    o.on_start = on_start;
    o.on_pcm = on_pcm;
    o.on_gap = on_gap;
    o.on_end = on_end;
    o.on_corrupt = on_corrupt;
    o.user = &s;
    if (in->range) { /* --from/--to */
        o.window = in->range_server ? KVSP_WINDOW_SERVER : KVSP_WINDOW_PRODUCER;
        o.window_from_ms = in->range_from_ms;
        o.window_to_ms = in->range_to_ms;
    }
    kvsp_audio_sink *sink = kvsp_audio_sink_create(NULL, &o);
    kvsp_reader *r = kvsp_reader_create(&in->reader);
    int st = KVSP_ERR_NOMEM;
    if (sink && r) {
        kvsp_visitor v = kvsp_audio_sink_visitor(sink);
        st = cli_run_reader(in, r, &v);
        int fin = kvsp_audio_sink_finish(sink);
        if (st >= 0 && fin < 0)
            st = fin;
    }
    if (st < 0 && sink && kvsp_audio_sink_error(sink) < 0)
        cli_error("kvsp audio: %s\n", kvsp_audio_sink_error_message(sink));
    else if (st < 0 && r)
        cli_report_error("audio", in, r, st);
    if (sink) {
        const kvsp_audio_stats *as = kvsp_audio_sink_stats(sink);
        cli_error("kvsp audio: %" PRIu64 " audio frames, %" PRIu64 " placed, %" PRIu64
                  " of other contacts, %" PRIu64 " unusable, %" PRIu64 " file(s)\n",
                  as->frames, as->placed, as->filtered, as->corrupt, as->outputs);
    }
    if (s.index && fclose(s.index) != 0 && st >= 0)
        st = KVSP_ERR_IO;
    kvsp_audio_sink_destroy(sink);
    kvsp_reader_destroy(r);
    for (int i = 0; i < MAX_OPEN; i++) {
        audio_writer_close(s.files[i].writer);
        free(s.files[i].gaps);
        free(s.files[i].path);
    }
    return cli_exit_status(st);
}
