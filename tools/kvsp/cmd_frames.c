/* kvsp frames --list: one JSON line per frame. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_log.h"
#include "fragment_json.h"
#include "frames_cli.h"

static int print_frame(void *user, const kvsp_frame *fr)
{
    if (cli_range_frame(user, fr) != 0) /* --from/--to: frames with times in the range */
        return KVSP_OK;
    cli_jl *w = cli_jl_stdout();
    cli_jl_begin(w);
    frame_json(w, fr);
    return cli_jl_end(w, stdout) == 0 ? KVSP_OK : KVSP_ERR_IO;
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: kvsp frames --list [OPTIONS] [INPUT]\n"
        "       kvsp frames -o DIR [--format png|jpeg|ppm|raw] [--pix-fmt FMT]\n"
        "                   [--every N | --interval-ms T | --keyframes] [--size WxH]\n"
        "                   [--track N] [--threads N] [INPUT]\n"
        "       kvsp frames --framemd5 [--track N] [INPUT]\n\n"
        "--list prints one JSON object per line for each frame of INPUT (laced blocks\n"
        "split): track, fragment_index, fragment_number, timecode, pts_ms,\n"
        "producer_timestamp_ms, server_timestamp_ms, keyframe, invisible,\n"
        "discardable, size, lace_index, lace_frames, duration, block_offset.\n\n"
        "-o DIR decodes the video track and writes one image per kept picture and\n"
        "DIR/index.jsonl (file, fragment_number, pts_ms, producer_timestamp_ms,\n"
        "server_timestamp_ms, keyframe, width, height). --framemd5 prints the\n"
        "decoded pictures (native pixel format) like ffmpeg -f framemd5.\n\n"
        "  --list                list frames\n"
        "  --track N             only track number N (decoding: that video track)\n"
        "  --type TYPE           --list: only tracks of TYPE: video, audio, subtitle\n"
        "  -o, --output DIR      write images to DIR (created if needed); with --format\n"
        "                        raw, -o - writes the packed pictures to stdout one\n"
        "                        after the other, and no index\n"
        "  --format F            png (default), jpeg, ppm or raw\n"
        "  --pix-fmt FMT         rgb24, bgr24, gray, yuv420p (default: rgb24; jpeg:\n"
        "                        yuv420p; raw: as decoded)\n"
        "  --every N             keep every Nth picture\n"
        "  --interval-ms T       keep one picture per T ms of presentation time\n"
        "  --keyframes           keyframes only (others are not decoded)\n"
        "  --size WxH            scale; W or H may be omitted (WxH, Wx, xH)\n"
        "  --threads N           decoder threads (default: number of cores)\n"
        "  --framemd5            print picture checksums instead of writing images\n" CLI_COMMON_OPTIONS_HELP);
}

static int parse_type(const char *text, uint64_t *type)
{
    static const struct {
        const char *name;
        uint64_t type;
    } names[] = {
        {"video", KVSP_TRACK_VIDEO},
        {"audio", KVSP_TRACK_AUDIO},
        {"subtitle", KVSP_TRACK_SUBTITLE},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(text, names[i].name) == 0) {
            *type = names[i].type;
            return 0;
        }
    }
    return cli_parse_size(text, type);
}

static int pick(const char *value, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0)
            return i;
    return -1;
}

/* "640x360", "640x" or "x360". */
static int parse_size(const char *text, int *w, int *h)
{
    char *end;
    *w = *h = 0;
    if (*text != 'x') {
        long v = strtol(text, &end, 10);
        if (end == text || v <= 0 || v > 16384)
            return -1;
        *w = (int)v;
        text = end;
    }
    if (*text++ != 'x')
        return -1;
    if (*text) {
        long v = strtol(text, &end, 10);
        if (end == text || *end || v <= 0 || v > 16384)
            return -1;
        *h = (int)v;
    }
    return *w || *h ? 0 : -1;
}

static int frames_option(void *user, int c, const char *value)
{
    static const char *const formats[] = {"png", "jpeg", "ppm", "raw"};
    static const char *const pix_fmts[] = {"native", "rgb24", "bgr24", "gray", "yuv420p"};
    frames_args *a = user;
    uint64_t n = 0;
    int ok = 0;
    switch (c) {
    case 'l': a->list = 1; return 0;
    case 'm': a->framemd5 = 1; return 0;
    case 'k': a->sampling = KVSP_SAMPLE_KEYFRAMES; return 0;
    case 'o': a->out_dir = value; return 0;
    case 't': ok = cli_parse_size(value, &a->opts.track) == 0 && a->opts.track; break;
    case 'y': ok = parse_type(value, &a->opts.track_type) == 0 && a->opts.track_type; break;
    case 'f': {
        int f = pick(value, formats, 4);
        ok = f >= 0;
        a->format = ok ? (image_format)f : IMAGE_PNG;
        break;
    }
    case 'p': ok = (a->pix_fmt = pick(value, pix_fmts, 5)) >= 0; break;
    case 's': ok = parse_size(value, &a->width, &a->height) == 0; break;
    case 'e':
        ok = cli_parse_size(value, &n) == 0 && n > 0;
        a->sampling = KVSP_SAMPLE_EVERY_N;
        a->every_n = n;
        break;
    case 'i':
        a->interval_ms = strtod(value, NULL);
        ok = a->interval_ms > 0;
        a->sampling = KVSP_SAMPLE_INTERVAL;
        break;
    case 'j':
        ok = cli_parse_size(value, &n) == 0 && n > 0 && n <= 256;
        a->threads = (int)n;
        break;
    default: break;
    }
    if (ok)
        return 0;
    cli_error("kvsp frames: bad value '%s'\n", value ? value : "");
    return -1;
}

static int list_frames(const frames_args *args, cli_input_options *in)
{
    kvsp_visitor sink;
    memset(&sink, 0, sizeof sink);
    sink.on_frame = print_frame;
    sink.user = in;
    kvsp_frame_visitor *frames = kvsp_frame_visitor_create(NULL, &args->opts, &sink);
    kvsp_reader *r = kvsp_reader_create(&in->reader);
    if (!frames || !r) {
        cli_error("kvsp frames: cannot create reader (invalid limits or no memory)\n");
        kvsp_frame_visitor_destroy(frames);
        kvsp_reader_destroy(r);
        return CLI_EXIT_USAGE;
    }
    kvsp_visitor v = kvsp_frame_visitor_visitor(frames);
    int st = cli_run_reader(in, r, &v);
    fflush(stdout);
    if (st < 0)
        cli_report_error("frames", in, r, st);
    kvsp_reader_destroy(r);
    kvsp_frame_visitor_destroy(frames);
    return cli_exit_status(st);
}

int cmd_frames(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"list", no_argument, NULL, 'l'},
        {"track", required_argument, NULL, 't'},
        {"type", required_argument, NULL, 'y'},
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"pix-fmt", required_argument, NULL, 'p'},
        {"every", required_argument, NULL, 'e'},
        {"interval-ms", required_argument, NULL, 'i'},
        {"keyframes", no_argument, NULL, 'k'},
        {"size", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 'j'},
        {"framemd5", no_argument, NULL, 'm'},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    frames_args args;
    memset(&args, 0, sizeof args);
    args.pix_fmt = -1;
    cli_input_options in;
    cli_command_spec spec = {longopts, "o:", frames_option, &args, usage, 1};
    int rc = cli_parse_input_args(argc, argv, &spec, &in);
    if (rc >= 0)
        return rc;
    if (args.list + args.framemd5 + (args.out_dir != NULL) != 1) {
        cli_error("kvsp frames: say one of --list, --framemd5 or -o DIR\n");
        return CLI_EXIT_USAGE;
    }
    if (args.out_dir && strcmp(args.out_dir, "-") == 0 && args.format != IMAGE_RAW) {
        cli_error("kvsp frames: -o - (pictures to stdout) takes --format raw\n");
        return CLI_EXIT_USAGE;
    }
    if (args.list)
        return list_frames(&args, &in);
#ifdef KVSP_HAVE_DECODER
    return frames_extract(&args, &in);
#else
    return cli_delegate("kvsp frames -o/--framemd5", CLI_FEATURE_DECODER);
#endif
}
