/* kvsp: command-line front end of libkvsparser. One file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_log.h"

/* In the lean front (see cli_delegate.c) these commands run in kvsp-full. */
#ifdef KVSP_HAVE_CLIENT
#define CLIENT_COMMAND(fn) fn
#else
#define CLIENT_COMMAND(fn) cli_delegate_command
#endif
#ifdef KVSP_HAVE_SERVE
#define SERVE_COMMAND(fn) fn
#else
#define SERVE_COMMAND(fn) cli_delegate_command
#endif

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"inspect", cmd_inspect, "print the element tree (like mkvinfo), or JSON events"},
    {"fragments", cmd_fragments, "one JSON line per fragment: KVS tags, tracks, frame counts"},
    {"frames", cmd_frames, "decoded pictures to images (-o DIR), --framemd5, or --list frames"},
    {"audio", cmd_audio, "per audio track WAV/raw/FLAC files on the producer timeline (-o DIR)"},
    {"merge", cmd_merge, "merge a chain of fragments into playable, seekable MKV files"},
#if defined(KVSP_HAVE_CLIENT) || defined(KVSP_FULL_HAS_CLIENT)
    {"get-media", CLIENT_COMMAND(cmd_get_media), "GetMedia: write a stream's raw payload"},
    {"list-fragments", CLIENT_COMMAND(cmd_list_fragments),
     "ListFragments: one JSON line per fragment"},
    {"get-media-for-fragment-list", CLIENT_COMMAND(cmd_get_media_for_fragment_list),
     "GetMediaForFragmentList: write the payload of given fragments"},
    {"plan", CLIENT_COMMAND(cmd_plan),
     "ListFragments of a time range into a manifest of work items"},
    {"run", CLIENT_COMMAND(cmd_run), "one shard of a plan, as a task of an array job"},
#endif
#if defined(KVSP_HAVE_SERVE) || defined(KVSP_FULL_HAS_SERVE)
    {"serve", SERVE_COMMAND(cmd_serve), "a local KVS-compatible endpoint on 127.0.0.1"},
#endif
};

static void usage(FILE *out)
{
    fprintf(out, "usage: kvsp COMMAND [OPTIONS] [INPUT]\n\n"
                 "Reads Kinesis Video Streams media (GetMedia payloads, Matroska files).\n"
                 "INPUT is a file path, or - or nothing for stdin.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'kvsp COMMAND --help' describes a command. kvsp --version prints the version.\n"
                 "Exit status: 0 ok, 1 bad or truncated input, 2 usage error,\n"
                 "3 network or service error, 4 configuration problem (profile, region).\n");
}

int main(int argc, char **argv)
{
    cli_delegate_init(argc, argv);
    cli_log_scan_argv(argc, argv);
    if (argc < 2) {
        cli_usage_error(usage);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("kvsp %s\n", kvsp_version());
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    cli_error("kvsp: unknown command '%s'\n\n", argv[1]);
    cli_usage_error(usage);
    return CLI_EXIT_USAGE;
}
