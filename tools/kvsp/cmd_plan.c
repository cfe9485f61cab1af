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

#include <jansson.h>

#include "client_cli.h"
#include "plan.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kvsp plan --stream NAME [--stream NAME...] --from T --to T\n"
            "       [--batch-fragments N | --batch-duration S] [--timestamp producer|server]\n"
            "       [--shards N] [--fragment-rate R] [--connections C] -o PLAN\n\n"
            "Lists the fragments of each stream between T and T (seconds since the epoch)\n"
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
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
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

static int write_line(FILE *f, json_t *obj)
{
    int rc = obj ? json_dumpf(obj, f, JSON_COMPACT | JSON_PRESERVE_ORDER) : -1;
    json_decref(obj);
    if (rc != 0 || fputc('\n', f) == EOF)
        return -1;
    return 0;
}

/* One item from list[first..end). */
static json_t *item(size_t index, const char *stream, const kvsp_listed_fragment *list, size_t first, size_t end)
{
    json_t *numbers = json_array();
    uint64_t bytes = 0;
    for (size_t i = first; i < end; i++) {
        json_array_append_new(numbers, json_string(list[i].fragment_number));
        bytes += list[i].size;
    }
    char name[512];
    item_name(name, sizeof name, stream, list[first].producer_timestamp_ms, list[first].fragment_number);
    const kvsp_listed_fragment *a = &list[first], *z = &list[end - 1];
    return json_pack("{sI ss so sI sI sI sI sI sI ss}", "index", (json_int_t)index, "stream", stream, "fragments",
                     numbers, "first_producer_ms", (json_int_t)a->producer_timestamp_ms, "last_producer_ms",
                     (json_int_t)z->producer_timestamp_ms, "first_server_ms", (json_int_t)a->server_timestamp_ms,
                     "last_server_ms", (json_int_t)z->server_timestamp_ms, "duration_ms",
                     (json_int_t)(z->producer_timestamp_ms + z->length_ms - a->producer_timestamp_ms), "bytes",
                     (json_int_t)bytes, "name", name);
}

/* Where the next item starts after the one beginning at first. */
static size_t item_end(const plan_args *a, const kvsp_listed_fragment *list, size_t n, size_t first)
{
    size_t end = first + 1;
    while (end < n) {
        if (a->batch_duration > 0) {
            if ((double)(list[end].producer_timestamp_ms - list[first].producer_timestamp_ms) >= a->batch_duration * 1000)
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
    case 'b': a->batch_fragments = strtol(value, &end, 10); return *end || a->batch_fragments < 1 ? -1 : 0;
    case 'd': a->batch_duration = strtod(value, &end); return *end || !(a->batch_duration > 0) ? -1 : 0;
    case 'n': a->shards = strtol(value, &end, 10); return *end || a->shards < 1 ? -1 : 0;
    case 'r': a->fragment_rate = strtod(value, &end); return *end || !(a->fragment_rate > 0) ? -1 : 0;
    case 'c': a->connections = strtol(value, &end, 10); return *end || a->connections < 1 ? -1 : 0;
    default: return -1;
    }
}

static int parse(int argc, char **argv, cli_input_options *in, plan_args *a)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},            {"timestamp", required_argument, NULL, 'T'},
        {"batch-fragments", required_argument, NULL, 'b'}, {"batch-duration", required_argument, NULL, 'd'},
        {"shards", required_argument, NULL, 'n'},        {"fragment-rate", required_argument, NULL, 'r'},
        {"connections", required_argument, NULL, 'c'},   CLI_CONNECTION_LONG_OPTIONS {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
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
        if (c == 0 ? cli_common_option(in, longopts[index].name, optarg) != 1 : c == '?' || own_option(a, c, optarg) < 0) {
            if (c != '?' && c != 0)
                fprintf(stderr, "kvsp plan: bad value '%s'\n", optarg);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc || !in->nstreams || !a->output || !a->from || !a->to ||
        (a->timestamp && strcmp(a->timestamp, "producer") != 0 && strcmp(a->timestamp, "server") != 0)) {
        usage(stderr);
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
    double from = strtod(a.from, NULL), to = strtod(a.to, NULL);
    kvsp_client *c = client_cli_create(&in);
    if (!c) {
        fprintf(stderr, "kvsp plan: %s\n", in.client_error);
        return cli_exit_status(KVSP_ERR_INVALID_ARG);
    }
    /* Every stream is listed before anything is written: a plan is whole or absent. */
    json_t *items = json_array(), *streams = json_array();
    int st = KVSP_OK;
    for (int s = 0; st == KVSP_OK && s < in.nstreams; s++) {
        kvsp_listed_fragment *list = NULL;
        size_t n = 0;
        st = kvsp_client_list_fragments(c, in.streams[s], server ? KVSP_TIMESTAMP_SERVER : KVSP_TIMESTAMP_PRODUCER,
                                        from, to, &list, &n);
        if (st != KVSP_OK) {
            fprintf(stderr, "kvsp plan: stream %s: %s\n", in.streams[s], kvsp_client_error_message(c));
            break;
        }
        json_array_append_new(streams, json_string(in.streams[s]));
        qsort(list, n, sizeof *list, by_producer_time);
        for (size_t first = 0, end; first < n; first = end) {
            end = item_end(&a, list, n, first);
            json_array_append_new(items, item(json_array_size(items), in.streams[s], list, first, end));
        }
        kvsp_client_free(list);
    }
    kvsp_client_destroy(c);
    if (st != KVSP_OK) {
        json_decref(items);
        json_decref(streams);
        return cli_exit_status(st);
    }
    json_t *batch = a.batch_duration > 0 ? json_pack("{sf}", "duration_s", a.batch_duration)
                                         : json_pack("{sI}", "fragments", (json_int_t)a.batch_fragments);
    json_t *header = json_pack("{si so sf sf ss sI so s{sI sf}}", "kvsp_plan", KVSP_PLAN_VERSION, "streams", streams,
                               "from", from, "to", to, "timestamp", server ? "server" : "producer", "items",
                               (json_int_t)json_array_size(items), "batch", batch, "limits_per_stream",
                               "connections", (json_int_t)a.connections, "fragments_per_second", a.fragment_rate);
    if (header && a.shards > 0)
        json_object_set_new(header, "shards", json_integer(a.shards));
    if (header)
        json_object_set_new(header, "command", json_string("kvsp run PLAN --shard auto -- SUBCOMMAND OPTIONS"));
    size_t tmp_size = strlen(a.output) + 16;
    char *tmp = malloc(tmp_size);
    FILE *f = NULL;
    if (tmp) {
        snprintf(tmp, tmp_size, "%s.kvsp-tmp", a.output);
        f = fopen(tmp, "w");
    }
    int bad = !f || write_line(f, header) != 0;
    for (size_t i = 0; !bad && i < json_array_size(items); i++)
        bad = write_line(f, json_incref(json_array_get(items, i))) != 0;
    if (f && fclose(f) != 0)
        bad = 1;
    if (!bad && rename(tmp, a.output) != 0)
        bad = 1;
    if (bad) {
        fprintf(stderr, "kvsp plan: cannot write %s\n", a.output);
        if (tmp)
            remove(tmp);
    }
    free(tmp);
    json_decref(items);
    return bad ? CLI_EXIT_BAD_INPUT : CLI_EXIT_OK;
}
