/* kvsp inspect: the element tree of a stream, as text or JSON lines. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_log.h"

static int write_line(void *user, const char *line, size_t len)
{
    (void)user;
    if (fwrite(line, 1, len, stdout) != len || fputc('\n', stdout) == EOF)
        return KVSP_ERR_IO;
    return KVSP_OK;
}

/* --from/--to: block elements (SimpleBlock, Block) outside the range are
 * not printed; everything else is. */
typedef struct inspect_range {
    const cli_input_options *in;
    kvsp_fragment_visitor *meta;
    kvsp_visitor printer;
    int64_t cluster_tc;
} inspect_range;

static int range_data(void *user, const kvsp_event *ev)
{
    inspect_range *ir = user;
    if (ev->id == KVSP_ID_CLUSTER_TIMECODE && ev->value_type == KVSP_TYPE_UINT)
        ir->cluster_tc = (int64_t)ev->value.u;
    double t;
    if (ev->block && (cli_block_time_ms(ir->in, kvsp_fragment_visitor_current(ir->meta),
                                        ir->cluster_tc, ev->block->timecode, &t) != 0 ||
                      t < ir->in->range_from_ms || t > ir->in->range_to_ms))
        return KVSP_OK;
    return kvsp_visitor_dispatch(&ir->printer, ev);
}

static int range_other(void *user, const kvsp_event *ev)
{
    inspect_range *ir = user;
    return kvsp_visitor_dispatch(&ir->printer, ev);
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
                 "With --from/--to, block elements outside the range are left out (with\n"
                 "--stream, the range's fragments are read).\n\n" CLI_COMMON_OPTIONS_HELP);
}

/* The final error as one more line in the chosen format. */
static void print_final_error(kvsp_printer *p, const kvsp_reader *r, int status)
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
    kvsp_printer_print(p, &ev);
}

static int inspect_option(void *user, int c, const char *value)
{
    (void)value;
    if (c != 'j')
        return -1;
    *(kvsp_print_format *)user = KVSP_PRINT_JSON;
    return 0;
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    cli_input_options in;
    kvsp_print_format format = KVSP_PRINT_TEXT;
    cli_command_spec spec = {longopts, NULL, inspect_option, &format, usage, 1};
    int rc = cli_parse_input_args(argc, argv, &spec, &in);
    if (rc >= 0)
        return rc;

    kvsp_reader *r = kvsp_reader_create(&in.reader);
    kvsp_printer *printer = kvsp_printer_create(format, write_line, NULL);
    if (!r || !printer) {
        cli_error("kvsp inspect: cannot create reader (invalid limits or no memory)\n");
        kvsp_reader_destroy(r);
        kvsp_printer_destroy(printer);
        return CLI_EXIT_USAGE;
    }
    kvsp_visitor v = kvsp_printer_visitor(printer);
    inspect_range ir = {&in, NULL, v, 0};
    kvsp_composite *pair = NULL;
    if (in.range) {
        ir.meta = kvsp_fragment_visitor_create(NULL);
        kvsp_visitor both[2];
        memset(both, 0, sizeof both);
        if (ir.meta)
            both[0] = kvsp_fragment_visitor_visitor(ir.meta);
        both[1].on_start = range_other;
        both[1].on_end = range_other;
        both[1].on_data = range_data;
        both[1].on_error = range_other;
        both[1].on_resync = range_other;
        both[1].user = &ir;
        pair = ir.meta ? kvsp_composite_create(both, 2) : NULL;
        if (pair)
            v = kvsp_composite_visitor(pair);
    }
    int st = in.range && !pair ? KVSP_ERR_NOMEM : cli_run_reader(&in, r, &v);
    if (st < 0 && st != KVSP_ERR_IO)
        print_final_error(printer, r, st);
    fflush(stdout);
    if (st < 0)
        cli_report_error("inspect", &in, r, st);
    kvsp_reader_destroy(r);
    kvsp_composite_destroy(pair);
    kvsp_fragment_visitor_destroy(ir.meta);
    kvsp_printer_destroy(printer);
    return cli_exit_status(st);
}
