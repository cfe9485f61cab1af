/* kvsp frames --list: one JSON line per frame. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_json.h"
#include "fragment_json.h"

static int print_frame(void *user, const kvsp_frame *fr)
{
    (void)user;
    return cli_json_print_line(frame_json(fr)) == 0 ? KVSP_OK : KVSP_ERR_IO;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kvsp frames --list [OPTIONS] [INPUT]\n\n"
            "Prints one JSON object per line for each frame of INPUT (laced blocks\n"
            "split): track, fragment_index, fragment_number, timecode, pts_ms,\n"
            "producer_timestamp_ms, server_timestamp_ms, keyframe, invisible,\n"
            "discardable, size, lace_index, lace_frames, duration, block_offset.\n\n"
            "  --list                list frames (required)\n"
            "  --track N             only track number N\n"
            "  --type TYPE           only tracks of TYPE: video, audio, subtitle or a number\n" CLI_COMMON_OPTIONS_HELP);
}

typedef struct frames_args {
    int list;
    kvsp_frame_options opts;
} frames_args;

static int parse_type(const char *text, uint64_t *type)
{
    static const struct { const char *name; uint64_t type; } names[] = {
        {"video", KVSP_TRACK_VIDEO}, {"audio", KVSP_TRACK_AUDIO}, {"subtitle", KVSP_TRACK_SUBTITLE},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(text, names[i].name) == 0) {
            *type = names[i].type;
            return 0;
        }
    }
    return cli_parse_size(text, type);
}

static int frames_option(void *user, int c, const char *value)
{
    frames_args *a = user;
    if (c == 'l') {
        a->list = 1;
        return 0;
    }
    if (c == 't' && cli_parse_size(value, &a->opts.track) == 0 && a->opts.track)
        return 0;
    if (c == 'y' && parse_type(value, &a->opts.track_type) == 0 && a->opts.track_type)
        return 0;
    fprintf(stderr, "kvsp frames: bad value '%s'\n", value ? value : "");
    return -1;
}

int cmd_frames(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"list", no_argument, NULL, 'l'},
        {"track", required_argument, NULL, 't'},
        {"type", required_argument, NULL, 'y'},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    frames_args args;
    memset(&args, 0, sizeof args);
    cli_input_options in;
    cli_command_spec spec = {longopts, NULL, frames_option, &args, usage, 1};
    int rc = cli_parse_input_args(argc, argv, &spec, &in);
    if (rc >= 0)
        return rc;
    if (!args.list) {
        fprintf(stderr, "kvsp frames: say --list (picture extraction is not part of this build)\n");
        return CLI_EXIT_USAGE;
    }

    kvsp_visitor sink;
    memset(&sink, 0, sizeof sink);
    sink.on_frame = print_frame;
    kvsp_frame_visitor *frames = kvsp_frame_visitor_create(NULL, &args.opts, &sink);
    kvsp_reader *r = kvsp_reader_create(&in.reader);
    if (!frames || !r) {
        fprintf(stderr, "kvsp frames: cannot create reader (invalid limits or no memory)\n");
        kvsp_frame_visitor_destroy(frames);
        kvsp_reader_destroy(r);
        return CLI_EXIT_USAGE;
    }
    kvsp_visitor v = kvsp_frame_visitor_visitor(frames);
    int st = cli_run_reader(&in, r, &v);
    fflush(stdout);
    if (st < 0)
        cli_report_error("frames", &in, r, st);
    kvsp_reader_destroy(r);
    kvsp_frame_visitor_destroy(frames);
    return cli_exit_status(st);
}
