/* kvsp run: one shard of a plan (see cmd_plan.c), as one task of an array
 * job. Per item: GetMediaForFragmentList into a payload file in the output
 * directory, then `kvsp SUBCOMMAND OPTIONS PAYLOAD` in a child process (the
 * lean front when it is known, see KVSP_FRONT_ENV, else this executable),
 * writing a temporary name that is renamed when the child succeeded.
 *
 * Why a child process rather than calling the subcommand in-process: the
 * subcommands keep process-wide state (getopt, atexit handlers, FFmpeg's
 * log settings) and exit statuses are their contract; a child gives each
 * item a clean start and the same behaviour as `kvsp SUBCOMMAND FILE`.
 * Why rename: a task killed at any point leaves either a complete output
 * or a temporary one, so a re-run skips exactly the complete items. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <glob.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_log.h"
#include "client_cli.h"
#include "plan.h"
#include "run.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: kvsp run PLAN --shard auto|I/N [--shard-count N] [--out DIR]\n"
        "       [--retries N] [--list] -- merge|fragments|frames|audio [OPTIONS]\n"
        "       kvsp run --status PLAN DIR\n\n"
        "Runs the items of shard I of N of a plan from `kvsp plan`: items whose\n"
        "index %% N is I. Each item's fragments are fetched with\n"
        "GetMediaForFragmentList and given to `kvsp SUBCOMMAND OPTIONS`; the output\n"
        "(DIR/NAME.mkv for merge, DIR/NAME.jsonl for fragments, the directory\n"
        "DIR/NAME for frames and audio, which get -o) is written under a temporary\n"
        "name and renamed when complete. Items already complete are skipped, so a\n"
        "failed task is simply run again. One JSON line per item goes to\n"
        "DIR/results-I-of-N.jsonl. auto takes I and N from SLURM_ARRAY_TASK_ID and\n"
        "SLURM_ARRAY_TASK_COUNT, or I from AWS_BATCH_JOB_ARRAY_INDEX or\n"
        "JOB_COMPLETION_INDEX with N from --shard-count or the plan. Each task uses\n"
        "1/N of the plan's per-stream fragment rate, and the tasks sharing DIR hold\n"
        "at most the plan's connections per stream (lock files in DIR/.kvsp-connections).\n\n"
        "  --out DIR             output directory (default .)\n"
        "  --retries N           attempts after a failed one, per item (default 2)\n"
        "  --list                print the shard's items, fetch nothing\n"
        "  --status              count items done, failed and missing in DIR\n"
        "Exit status: 0 every item of the shard done, 1 an item failed, 2 usage.\n" CLI_SERVICE_OPTIONS_HELP);
}

typedef struct run_args {
    const char *shard, *out;
    long shard_count, retries;
    int list, status;
} run_args;

static int parse(int argc, char **argv, cli_input_options *in, run_args *a, int *operands, int *sub)
{
    static const struct option longopts[] = {
        {"shard", required_argument, NULL, 's'},
        {"shard-count", required_argument, NULL, 'n'},
        {"out", required_argument, NULL, 'o'},
        {"retries", required_argument, NULL, 'r'},
        {"list", no_argument, NULL, 'l'},
        {"status", no_argument, NULL, 'S'},
        CLI_CONNECTION_LONG_OPTIONS CLI_LOG_LONG_OPTIONS{"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_input_options_init(in);
    memset(a, 0, sizeof *a);
    a->out = ".";
    a->retries = 2;
    /* the subcommand's own options come after --, untouched by getopt */
    int end = 1;
    while (end < argc && strcmp(argv[end], "--") != 0)
        end++;
    *sub = end < argc ? end + 1 : argc;
    int c, index;
    char *tail;
    optind = 1;
    while ((c = getopt_long(end, argv, "h", longopts, &index)) != -1) {
        int bad = 0;
        switch (c) {
        case 'h': usage(stdout); return CLI_EXIT_OK;
        case 's': a->shard = optarg; break;
        case 'o': a->out = optarg; break;
        case 'l': a->list = 1; break;
        case 'S': a->status = 1; break;
        case 'n':
            a->shard_count = strtol(optarg, &tail, 10);
            bad = *tail || a->shard_count < 1;
            break;
        case 'r':
            a->retries = strtol(optarg, &tail, 10);
            bad = *tail || a->retries < 0 || a->retries > 100;
            break;
        case 0: bad = cli_common_option(in, longopts[index].name, optarg) != 1; break;
        default: bad = 1;
        }
        if (bad) {
            cli_usage_error(usage);
            return CLI_EXIT_USAGE;
        }
    }
    *operands = optind;
    int want = a->status ? 2 : 1;
    if (end - optind != want ||
        (!a->status && !a->list && (*sub >= argc || !plan_output_kind(argv[*sub]))) ||
        (!a->status && !a->shard)) {
        if (!a->status && *sub < argc && !plan_output_kind(argv[*sub]))
            cli_error("kvsp run: runs merge, fragments, frames or audio, not '%s'\n", argv[*sub]);
        cli_usage_error(usage);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

/* Removes a file or a directory tree; what a killed run left behind. */
static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path)
{
    nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Temporary names of item NAME: DIR/.NAME.part-PID[.EXT] and
 * DIR/.NAME.payload-PID.mkv; leftovers of earlier runs of this shard go. */
static void remove_leftovers(const char *dir, const char *name)
{
    char *pattern = NULL;
    if (asprintf(&pattern, "%s/.%s.*-*", dir, name) < 0)
        return;
    glob_t g;
    if (glob(pattern, GLOB_NOSORT, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            remove_tree(g.gl_pathv[i]);
        globfree(&g);
    }
    free(pattern);
}

static int write_body(void *user, const void *data, size_t len)
{
    return fwrite(data, 1, len, user) == len ? 0 : -1;
}

/* The item's payload into path; KVSP_OK or the client's status. */
static int fetch(kvsp_client *c, const json_t *item, const char *path, uint64_t *bytes)
{
    json_t *frags = json_object_get(item, "fragments");
    size_t n = json_array_size(frags);
    const char **numbers = malloc(n * sizeof *numbers);
    FILE *f = fopen(path, "wb");
    int st = numbers && f ? KVSP_OK : KVSP_ERR_IO;
    for (size_t i = 0; st == KVSP_OK && i < n; i++)
        numbers[i] = json_string_value(json_array_get(frags, i));
    if (st == KVSP_OK)
        st = kvsp_client_get_media_for_fragment_list(
            c, json_string_value(json_object_get(item, "stream")), numbers, n, write_body, f);
    *bytes = f ? (uint64_t)ftell(f) : 0;
    if (f && fclose(f) != 0 && st == KVSP_OK)
        st = KVSP_ERR_IO;
    free(numbers);
    return st;
}

/* kvsp SUBCOMMAND OPTIONS [-o OUT] PAYLOAD; the exit status, or -1. */
static int run_subcommand(char **sub, int nsub, const char *kind, const char *payload,
                          const char *out)
{
    char **argv = calloc((size_t)nsub + 5, sizeof *argv);
    if (!argv)
        return -1;
    int n = 0;
    argv[n++] = "kvsp";
    for (int i = 0; i < nsub; i++)
        argv[n++] = sub[i];
    if (*kind != 'j') {
        argv[n++] = "-o";
        argv[n++] = (char *)out;
    }
    argv[n++] = (char *)payload;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (*kind == 'j') {
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0666);
            if (fd < 0 || dup2(fd, 1) < 0)
                _exit(CLI_EXIT_USAGE);
            close(fd);
        }
        const char *front = getenv(KVSP_FRONT_ENV);
        if (front && access(front, X_OK) == 0)
            execv(front, argv);
        /* run as kvsp-full itself: as it was started (also right under
         * valgrind, where /proc/self/exe is the tool) */
        if (program_invocation_name && *program_invocation_name)
            execvp(program_invocation_name, argv);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    free(argv);
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int is_throttling(kvsp_client *c)
{
    const char *e = kvsp_client_error_exception(c);
    return strcmp(e, "ClientLimitExceededException") == 0 ||
           strcmp(e, "ConnectionLimitExceededException") == 0;
}

/* merge --on-change new-file continues at a codec or track change in
 * PART.1.mkv, PART.2.mkv ...: each becomes OUT.1.mkv, OUT.2.mkv ... and is
 * listed in the results line. They are renamed before the main output, so
 * that the main one, which a re-run and --status look for first, is there
 * only when all of its item's outputs are. 0, or -1 with res->error set. */
static int rename_extras(const char *part, const char *out, run_result *res)
{
    for (unsigned n = 1;; n++) {
        char *from = cli_numbered_name(part, n), *to = cli_numbered_name(out, n);
        struct stat sb;
        int rc = 0;
        if (!from || !to) {
            snprintf(res->error, sizeof res->error, "out of memory");
            rc = -1;
        } else if (lstat(from, &sb) != 0) {
            rc = 1; /* no more */
        } else if (rename(from, to) != 0) {
            snprintf(res->error, sizeof res->error, "%s: %s", to, strerror(errno));
            rc = -1;
        } else if (run_outputs_add(res, to) != 0) {
            snprintf(res->error, sizeof res->error, "out of memory");
            rc = -1;
        } else {
            res->bytes += (uint64_t)sb.st_size;
        }
        free(from);
        free(to);
        if (rc)
            return rc < 0 ? -1 : 0;
    }
}

/* The outputs a complete item left: OUT and the OUT.N.mkv after it. */
static void find_outputs(const char *out, const char *kind, run_result *res)
{
    run_outputs_add(res, out);
    for (unsigned n = 1; strcmp(kind, "mkv") == 0; n++) {
        char *extra = cli_numbered_name(out, n);
        struct stat sb;
        int there = extra && lstat(extra, &sb) == 0;
        if (there) {
            res->bytes += (uint64_t)sb.st_size;
            run_outputs_add(res, extra);
        }
        free(extra);
        if (!there)
            break;
    }
}

/* One attempt at one item, up to the renamed output. */
static int attempt(run_context *r, const json_t *item, const char *out, run_result *res)
{
    const char *name = json_string_value(json_object_get(item, "name"));
    char *payload = NULL, *part = NULL;
    int pid = (int)getpid();
    if (asprintf(&payload, "%s/.%s.payload-%d.mkv", r->dir, name, pid) < 0)
        payload = NULL;
    if (asprintf(&part, "%s/.%s.part-%d%s%s", r->dir, name, pid, *r->kind ? "." : "", r->kind) < 0)
        part = NULL;
    int ok = 0;
    if (!payload || !part) {
        snprintf(res->error, sizeof res->error, "out of memory");
        goto done;
    }
    int slot = run_throttle_wait(r, item);
    int st = fetch(r->client, item, payload, &res->payload_bytes);
    if (slot >= 0)
        close(slot);
    if (st != KVSP_OK) {
        res->throttled = r->client && is_throttling(r->client);
        snprintf(res->error, sizeof res->error, "GetMediaForFragmentList: %s",
                 st == KVSP_ERR_IO ? strerror(errno) : kvsp_client_error_message(r->client));
        goto done;
    }
    if (!*r->kind && mkdir(part, 0777) != 0) {
        snprintf(res->error, sizeof res->error, "%s: %s", part, strerror(errno));
        goto done;
    }
    int rc = run_subcommand(r->sub, r->nsub, r->kind, payload, part);
    if (rc != 0) {
        snprintf(res->error, sizeof res->error, "kvsp %s exited with %d", r->sub[0], rc);
        goto done;
    }
    run_measure(part, r->sub[0], res);
    run_outputs_free(res);
    if (run_outputs_add(res, out) != 0) { /* listed first, renamed last */
        snprintf(res->error, sizeof res->error, "out of memory");
        goto done;
    }
    if (strcmp(r->kind, "mkv") == 0 && rename_extras(part, out, res) != 0)
        goto done;
    if (rename(part, out) != 0) {
        snprintf(res->error, sizeof res->error, "%s: %s", out, strerror(errno));
        goto done;
    }
    ok = 1;
done:
    if (payload)
        remove(payload);
    if (part && !ok) {
        remove_tree(part);
        remove_leftovers(r->dir, name); /* a failed merge's PART.N.mkv */
    }
    free(payload);
    free(part);
    return ok;
}

static int run_item(run_context *r, const json_t *item)
{
    const char *name = json_string_value(json_object_get(item, "name"));
    size_t index = (size_t)json_integer_value(json_object_get(item, "index"));
    char *out = plan_output_path(r->dir, item, r->kind);
    if (!out)
        return 0;
    struct stat sb;
    int had_ok = run_results_has_ok(r, index);
    /* complete (unless an output its results line lists has gone: made
     * again); a task killed between the rename and its results line still
     * gets its line, once */
    if (lstat(out, &sb) == 0 && had_ok >= 0) {
        if (!had_ok) {
            run_result res = {.index = index, .name = name, .ok = 1, .recovered = 1};
            run_measure(out, r->sub[0], &res);
            find_outputs(out, r->kind, &res);
            run_results_append(r, &res);
            run_outputs_free(&res);
        }
        free(out);
        return 1;
    }
    remove_leftovers(r->dir, name);
    run_result res = {.index = index, .name = name};
    double start = now_s();
    long throttled = 0;
    for (long tries = 0; tries <= r->retries;) {
        memset(res.error, 0, sizeof res.error);
        res.throttled = 0;
        res.attempts++;
        if (attempt(r, item, out, &res)) {
            res.ok = 1;
            break;
        }
        cli_error("kvsp run: item %zu (%s): %s\n", index, name, res.error);
        /* throttling is the service asking to wait, not the item failing:
         * back off (1, 2, 4 ... 30 s) without spending a retry, a while */
        if (res.throttled && throttled < 8) {
            double wait = (double)(1L << (throttled < 5 ? throttled : 5));
            sleep_s(wait < 30 ? wait : 30);
            throttled++;
            continue;
        }
        tries++;
        if (tries <= r->retries)
            sleep_s(0.25 * (double)tries);
    }
    res.seconds = now_s() - start;
    run_results_append(r, &res);
    run_outputs_free(&res);
    free(out);
    return res.ok;
}

int cmd_run(int argc, char **argv)
{
    cli_input_options in;
    run_args a;
    int operands, sub;
    int rc = parse(argc, argv, &in, &a, &operands, &sub);
    if (rc >= 0)
        return rc;
    plan p;
    if (plan_load(argv[operands], &p) < 0)
        return CLI_EXIT_USAGE;
    if (a.status) {
        rc = run_status(&p, argv[operands + 1]);
        plan_free(&p);
        return rc;
    }
    long index, count;
    if (plan_shard(a.shard, a.shard_count, &p, &index, &count) < 0) {
        plan_free(&p);
        return CLI_EXIT_USAGE;
    }
    if (a.list) {
        for (size_t i = 0; i < p.count; i++)
            if (plan_in_shard(i, index, count))
                printf("%zu %s\n", i, json_string_value(json_object_get(p.items[i], "name")));
        plan_free(&p);
        return CLI_EXIT_OK;
    }
    run_context r;
    if (run_context_init(&r, &p, a.out, argv[sub], index, count) < 0) {
        plan_free(&p);
        return CLI_EXIT_USAGE;
    }
    r.sub = argv + sub;
    r.nsub = argc - sub;
    r.retries = a.retries;
    r.client = client_cli_create(&in);
    if (!r.client) {
        cli_error("kvsp run: %s\n", in.client_error);
        run_context_free(&r);
        plan_free(&p);
        return cli_exit_status(KVSP_ERR_INVALID_ARG);
    }
    size_t failed = 0, done = 0;
    for (size_t i = 0; i < p.count; i++) {
        if (!plan_in_shard(i, index, count))
            continue;
        if (run_item(&r, p.items[i]))
            done++;
        else
            failed++;
    }
    cli_info("kvsp run: shard %ld/%ld: %zu done, %zu failed\n", index, count, done, failed);
    kvsp_client_destroy(r.client);
    run_context_free(&r);
    plan_free(&p);
    return failed ? CLI_EXIT_BAD_INPUT : CLI_EXIT_OK;
}
