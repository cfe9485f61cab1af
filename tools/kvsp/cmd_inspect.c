/* kvsp inspect: the element tree of a stream, as text or JSON lines. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct inspect_printer {
    int json;
    char *line;
    size_t cap;
} inspect_printer;

static int print_event(void *user, const kvsp_event *ev)
{
    inspect_printer *p = user;
    for (;;) {
        size_t n = p->json ? kvsp_event_format_json(ev, p->line, p->cap)
                           : kvsp_event_format_text(ev, p->line, p->cap);
        if (n < p->cap)
            break;
        char *bigger = realloc(p->line, n + 1);
        if (!bigger)
            return KVSP_ERR_NOMEM;
        p->line = bigger;
        p->cap = n + 1;
    }
    fputs(p->line, stdout);
    fputc('\n', stdout);
    return KVSP_OK;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: kvsp inspect [OPTIONS] [INPUT]\n\n"
                 "Prints every element of INPUT (file, or - / nothing for stdin) with its\n"
                 "offset, header size, data size and value, indented by depth.\n\n"
                 "  --json                one JSON object per line and event: event (start,\n"
                 "                        end, data, error, resync), name, id, offset,\n"
                 "                        header_size, size (null if unknown), depth, value;\n"
                 "                        blocks add track, timecode, keyframe, frames\n"
                 CLI_COMMON_OPTIONS_HELP);
}

/* The final error as one more line in the chosen format. */
static void print_final_error(inspect_printer *p, const kvsp_reader *r, int status)
{
    const char *msg = kvsp_reader_error_message(r);
    kvsp_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = KVSP_EV_ERROR;
    ev.status = status;
    ev.name = kvsp_status_name(status);
    ev.offset = kvsp_reader_error_offset(r);
    ev.data = (const uint8_t *)msg;
    ev.data_size = strlen(msg);
    print_event(p, &ev);
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    cli_input_options in;
    cli_input_options_init(&in);
    inspect_printer printer = {0, NULL, 0};
    int c, idx;
    while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
        if (c == 'j') {
            printer.json = 1;
        } else if (c == 'h') {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (c == 0) {
            if (cli_common_option(&in, longopts[idx].name, optarg) < 0)
                return CLI_EXIT_USAGE;
        } else {
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    in.path = optind < argc ? argv[optind] : NULL;

    kvsp_reader *r = kvsp_reader_create(&in.reader);
    if (!r) {
        fprintf(stderr, "kvsp inspect: cannot create reader (invalid limits or no memory)\n");
        return CLI_EXIT_USAGE;
    }
    kvsp_visitor v = {0};
    v.user = &printer;
    v.on_start = v.on_end = v.on_data = v.on_error = v.on_resync = print_event;
    int st = cli_run_reader(&in, r, &v);
    if (st < 0 && st != KVSP_ERR_IO)
        print_final_error(&printer, r, st);
    fflush(stdout);
    if (st < 0)
        cli_report_error("inspect", &in, r, st);
    kvsp_reader_destroy(r);
    free(printer.line);
    return cli_exit_status(st);
}
