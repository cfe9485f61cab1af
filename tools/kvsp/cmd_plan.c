/* kvsp plan: ListFragments of a time range into a manifest of work items
 * (plan.jsonl) that `kvsp run` executes shard by shard on an array-job
 * engine (Slurm, AWS Batch, Kubernetes Indexed Jobs).
 *
 * Why a manifest: every task of an array job must agree on the same items
 * without talking to each other. Listing once and writing the items down
 * makes the split deterministic (the same plan gives every task the same
 * items in the same order) and lets a re-run find what is already done. */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_log.h"
#include "client_cli.h"
#include "json_line.h"
#include "plan.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: kvsp plan --stream NAME [--stream NAME...] --from T --to T\n"
        "       [--batch-fragments N | --batch-duration S] [--timestamp producer|server]\n"
        "       [--shards N] [--fragment-rate R] [--connections C] -o PLAN\n\n"
        "Lists the fragments of each stream between T and T (ISO 8601 with a zone,\n"
        "e.g. 2026-12-04T10:02:00Z, or seconds since the epoch)\n"
        "and writes a manifest for `kvsp run`: a header line (streams, range, item\n"
        "count, batch rule, per-stream limits) and one JSON line per work item\n"
        "(stream, fragment numbers in order, first/last producer and server\n"
        "timestamps, bytes, output name). Items are cut in the order of producer\n"
        "timestamp, then fragment number.\n\n"
        "  -o, --output PLAN     the manifest (required)\n"
        "  --batch-fragments N   at most N fragments per item (default 100)\n"
        "  --batch-duration S    a new item every S seconds of producer time\n"
        "  --timestamp TYPE      which timestamps --from/--to select (default producer)\n"
        "  --shards N            the array size, for engines that do not say it\n"
        "                        (AWS Batch, Kubernetes)\n"
        "  --fragment-rate R     fragments per second per stream for the whole job\n"
        "                        (default 500, the KVS limit)\n"
        "  --connections C       connections per stream for the whole job (default 5)\n" CLI_SERVICE_OPTIONS_HELP);
}

typedef struct plan_args {
    const char *output, *from, *to, *timestamp;
    double from_s, to_s; /* --from, --to in epoch seconds */
    long batch_fragments;
    double batch_duration;
    long shards;
    double fragment_rate;
    long connections;
} plan_args;

static int by_producer_time(const void *pa, const void *pb)
{
    const kvsp_listed_fragment *a = pa, *b = pb;
    if (a->producer_timestamp_ms != b->producer_timestamp_ms)
        return a->producer_timestamp_ms < b->producer_timestamp_ms ? -1 : 1;
    return kvsp_fragment_number_cmp(a->fragment_number, b->fragment_number);
}

/* stream_20171128T065508.513Z_NUMBER: sorts by time within a stream, and
 * the first fragment number makes it unique even for equal timestamps. */
static void item_name(char *out, size_t size, const char *stream, int64_t ms, const char *number)
{
    char safe[256];
    size_t n = 0;
    static const char allowed[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
    for (const char *p = stream; *p && n + 1 < sizeof safe; p++, n++)
        safe[n] = (strchr(allowed, *p) && !(n == 0 && *p == '.')) ? *p : '_'; /* no hidden names */
    safe[n] = '\0';
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y%m%dT%H%M%S", &tm);
    snprintf(out, size, "%s_%s.%03dZ_%s", safe, when, (int)(ms - (int64_t)secs * 1000), number);
}

/* One item line from list[first..end). */
static void write_item(cli_jl *w, size_t index, const char *stream,
                       const kvsp_listed_fragment *list, size_t first, size_t end)
{
    const kvsp_listed_fragment *a = &list[first], *z = &list[end - 1];
    uint64_t bytes = 0;
    cli_jl_begin(w);
    cli_jl_int(w, "index", (int64_t)index);
    cli_jl_cstring(w, "stream", stream);
    cli_jl_open(w, "fragments", '[');
    for (size_t i = first; i < end; i++) {
        cli_jl_cstring(w, NULL, list[i].fragment_number);
        bytes += list[i].size;
    }
    cli_jl_close(w, '[');
    cli_jl_int(w, "first_producer_ms", a->producer_timestamp_ms);
    cli_jl_int(w, "last_producer_ms", z->producer_timestamp_ms);
    cli_jl_int(w, "first_server_ms", a->server_timestamp_ms);
    cli_jl_int(w, "last_server_ms", z->server_timestamp_ms);
    cli_jl_int(w, "duration_ms",
               z->producer_timestamp_ms + z->length_ms - a->producer_timestamp_ms);
    cli_jl_int(w, "bytes", (int64_t)bytes);
    char name[512];
    item_name(name, sizeof name, stream, a->producer_timestamp_ms, a->fragment_number);
    cli_jl_cstring(w, "name", name);
}

/* Where the next item starts after the one beginning at first. */
static size_t item_end(const plan_args *a, const kvsp_listed_fragment *list, size_t n, size_t first)
{
    size_t end = first + 1;
    while (end < n) {
        if (a->batch_duration > 0) {
            if ((double)(list[end].producer_timestamp_ms - list[first].producer_timestamp_ms) >=
                a->batch_duration * 1000)
                break;
        } else if ((long)(end - first) >= a->batch_fragments) {
            break;
        }
        end++;
    }
    return end;
}

static int own_option(plan_args *a, int c, const char *value)
{
    char *end = NULL;
    switch (c) {
    case 'o': a->output = value; return 0;
    case 'f': a->from = value; return 0;
    case 't': a->to = value; return 0;
    case 'T': a->timestamp = value; return 0;
    case 'b':
        a->batch_fragments = strtol(value, &end, 10);
        return *end || a->batch_fragments < 1 ? -1 : 0;
    case 'd':
        a->batch_duration = strtod(value, &end);
        return *end || !(a->batch_duration > 0) ? -1 : 0;
    case 'n': a->shards = strtol(value, &end, 10); return *end || a->shards < 1 ? -1 : 0;
    case 'r':
        a->fragment_rate = strtod(value, &end);
        return *end || !(a->fragment_rate > 0) ? -1 : 0;
    case 'c': a->connections = strtol(value, &end, 10); return *end || a->connections < 1 ? -1 : 0;
    default: return -1;
    }
}

static int parse(int argc, char **argv, cli_input_options *in, plan_args *a)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"timestamp", required_argument, NULL, 'T'},
        {"batch-fragments", required_argument, NULL, 'b'},
        {"batch-duration", required_argument, NULL, 'd'},
        {"shards", required_argument, NULL, 'n'},
        {"fragment-rate", required_argument, NULL, 'r'},
        {"connections", required_argument, NULL, 'c'},
        CLI_CONNECTION_LONG_OPTIONS CLI_LOG_LONG_OPTIONS{"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_input_options_init(in);
    memset(a, 0, sizeof *a);
    a->batch_fragments = 100;
    a->fragment_rate = KVSP_PLAN_DEFAULT_FRAGMENT_RATE;
    a->connections = KVSP_PLAN_DEFAULT_CONNECTIONS;
    int c, index;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, &index)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (c == 0 ? cli_common_option(in, longopts[index].name, optarg) != 1
                   : c == '?' || own_option(a, c, optarg) < 0) {
            if (c != '?' && c != 0)
                cli_error("kvsp plan: bad value '%s'\n", optarg);
            cli_usage_error(usage);
            return CLI_EXIT_USAGE;
        }
    }
    /* ISO 8601 with a zone or epoch seconds, as --from/--to everywhere */
    int times_ok = a->from && a->to && cli_parse_time(a->from, &a->from_s) == 0 &&
                   cli_parse_time(a->to, &a->to_s) == 0;
    if (optind < argc || !in->nstreams || !a->output || !times_ok ||
        (a->timestamp && strcmp(a->timestamp, "producer") != 0 &&
         strcmp(a->timestamp, "server") != 0)) {
        cli_usage_error(usage);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

int cmd_plan(int argc, char **argv)
{
    cli_input_options in;
    plan_args a;
    int rc = parse(argc, argv, &in, &a);
    if (rc >= 0)
        return rc;
    int server = a.timestamp && strcmp(a.timestamp, "server") == 0;
    double from = a.from_s, to = a.to_s;
    kvsp_client *c = client_cli_create(&in);
    if (!c) {
        cli_error("kvsp plan: %s\n", in.client_error);
        return cli_exit_status(KVSP_ERR_INVALID_ARG);
    }
    /* Every stream is listed before anything is written: a plan is whole
     * or absent, and its header says the item count. The listings stay in
     * memory until then: 168 bytes per fragment (kvsp_listed_fragment),
     * 218 MB for a month of 2 s fragments (bench/plan_bench.py). */
    kvsp_listed_fragment **lists = calloc((size_t)in.nstreams, sizeof *lists);
    size_t *counts = calloc((size_t)in.nstreams, sizeof *counts), nitems = 0;
    int st = lists && counts ? KVSP_OK : KVSP_ERR_NOMEM;
    for (int s = 0; st == KVSP_OK && s < in.nstreams; s++) {
        st = kvsp_client_list_fragments(c, in.streams[s],
                                        server ? KVSP_TIMESTAMP_SERVER : KVSP_TIMESTAMP_PRODUCER,
                                        from, to, &lists[s], &counts[s]);
        if (st != KVSP_OK) {
            cli_error("kvsp plan: stream %s: %s\n", in.streams[s], kvsp_client_error_message(c));
            break;
        }
        /* The listing comes sorted by number, which for a stream is nearly
         * always producer order too: check before sorting 1.3 M records. */
        size_t k = 1;
        while (k < counts[s] && by_producer_time(&lists[s][k - 1], &lists[s][k]) <= 0)
            k++;
        if (k < counts[s])
            qsort(lists[s], counts[s], sizeof *lists[s], by_producer_time);
        for (size_t first = 0; first < counts[s]; first = item_end(&a, lists[s], counts[s], first))
            nitems++;
    }
    kvsp_client_destroy(c);
    cli_jl w = {0};
    cli_jl_begin(&w);
    cli_jl_int(&w, "kvsp_plan", KVSP_PLAN_VERSION);
    cli_jl_open(&w, "streams", '[');
    for (int s = 0; s < in.nstreams; s++)
        cli_jl_cstring(&w, NULL, in.streams[s]);
    cli_jl_close(&w, '[');
    cli_jl_real(&w, "from", from);
    cli_jl_real(&w, "to", to);
    cli_jl_cstring(&w, "timestamp", server ? "server" : "producer");
    cli_jl_int(&w, "items", (int64_t)nitems);
    cli_jl_open(&w, "batch", '{');
    if (a.batch_duration > 0)
        cli_jl_real(&w, "duration_s", a.batch_duration);
    else
        cli_jl_int(&w, "fragments", a.batch_fragments);
    cli_jl_close(&w, '{');
    cli_jl_open(&w, "limits_per_stream", '{');
    cli_jl_int(&w, "connections", a.connections);
    cli_jl_real(&w, "fragments_per_second", a.fragment_rate);
    cli_jl_close(&w, '{');
    if (a.shards > 0)
        cli_jl_int(&w, "shards", a.shards);
    cli_jl_cstring(&w, "command", "kvsp run PLAN --shard auto -- SUBCOMMAND OPTIONS");
    size_t tmp_size = strlen(a.output) + 16;
    char *tmp = malloc(tmp_size);
    FILE *f = NULL;
    if (tmp && st == KVSP_OK) {
        snprintf(tmp, tmp_size, "%s.kvsp-tmp", a.output);
        f = fopen(tmp, "w");
    }
    int bad = st != KVSP_OK || !f || cli_jl_end(&w, f) != 0;
    for (int s = 0, index = 0; !bad && s < in.nstreams; s++)
        for (size_t first = 0, end; !bad && first < counts[s]; first = end, index++) {
            end = item_end(&a, lists[s], counts[s], first);
            write_item(&w, (size_t)index, in.streams[s], lists[s], first, end);
            bad = cli_jl_end(&w, f) != 0;
        }
    if (f && fclose(f) != 0)
        bad = 1;
    if (!bad && rename(tmp, a.output) != 0)
        bad = 1;
    if (bad && st == KVSP_OK)
        cli_error("kvsp plan: cannot write %s\n", a.output);
    if (bad && f)
        remove(tmp);
    free(tmp);
    cli_jl_free(&w);
    for (int s = 0; lists && s < in.nstreams; s++)
        kvsp_client_free(lists[s]);
    free(lists);
    free(counts);
    if (st != KVSP_OK)
        return cli_exit_status(st);
    return bad ? CLI_EXIT_BAD_INPUT : CLI_EXIT_OK;
}
