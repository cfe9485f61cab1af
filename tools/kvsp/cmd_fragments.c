/* kvsp fragments: one JSON line per KVS fragment. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_log.h"
#include "fragment_json.h"

static int print_fragment(void *user, const kvsp_fragment *f)
{
    if (!cli_range_fragment(user, f)) /* --from/--to: only those overlapping the range */
        return KVSP_OK;
    cli_jl *w = cli_jl_stdout();
    cli_jl_begin(w);
    fragment_json(w, f);
    return cli_jl_end(w, stdout) == 0 ? KVSP_OK : KVSP_ERR_IO;
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: kvsp fragments [OPTIONS] [INPUT]\n\n"
        "Prints one JSON object per line for each fragment (Segment) of INPUT:\n"
        "index, fragment_number, server_timestamp_ms, producer_timestamp_ms,\n"
        "millis_behind_now, continuation_token, error_id, error_code, error_message,\n"
        "complete, offset, end_offset, timecode_scale, cluster_timecode, frames,\n"
        "frames_per_track, first_pts_ms, last_pts_ms, duration, title, muxing_app,\n"
        "writing_app, tracks and tags (user tags: name, value, binary as hex, depth).\n"
        "Absent values are null. A fragment cut short has complete false.\n\n" CLI_COMMON_OPTIONS_HELP);
}

int cmd_fragments(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    cli_input_options in;
    cli_command_spec spec = {longopts, NULL, NULL, NULL, usage, 1};
    int rc = cli_parse_input_args(argc, argv, &spec, &in);
    if (rc >= 0)
        return rc;

#ifdef KVSP_HAVE_CLIENT
    if (in.stream && !in.range)
        return client_fragments(&in); /* each line as its fragment completes */
#endif
    kvsp_fragment_options fo;
    memset(&fo, 0, sizeof fo);
    fo.on_fragment = print_fragment;
    fo.user = &in;
    kvsp_fragment_visitor *fv = kvsp_fragment_visitor_create(&fo);
    kvsp_reader *r = kvsp_reader_create(&in.reader);
    if (!fv || !r) {
        cli_error("kvsp fragments: cannot create reader (invalid limits or no memory)\n");
        kvsp_fragment_visitor_destroy(fv);
        kvsp_reader_destroy(r);
        return CLI_EXIT_USAGE;
    }
    kvsp_visitor v = kvsp_fragment_visitor_visitor(fv);
    int st = cli_run_reader(&in, r, &v);
    int fin = kvsp_fragment_visitor_finish(fv); /* a fragment cut short is still listed */
    fflush(stdout);
    if (st >= 0 && fin < 0)
        st = fin;
    if (st < 0)
        cli_report_error("fragments", &in, r, st);
    kvsp_reader_destroy(r);
    kvsp_fragment_visitor_destroy(fv);
    return cli_exit_status(st);
}
