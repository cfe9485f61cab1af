/* kvsp run's bookkeeping: the per-stream throttle, the results file of a
 * shard, measuring outputs, and --status over the whole job. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_log.h"
#include "json_line.h"
#include "run.h"

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int run_context_init(run_context *r, const plan *p, const char *dir, const char *subcommand,
                     long index, long count)
{
    memset(r, 0, sizeof *r);
    r->plan = p;
    r->dir = dir;
    r->kind = plan_output_kind(subcommand);
    r->index = index;
    r->count = count;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        cli_error("kvsp run: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    json_t *limits = json_object_get(p->header, "limits_per_stream");
    double rate = json_number_value(json_object_get(limits, "fragments_per_second"));
    long connections = (long)json_integer_value(json_object_get(limits, "connections"));
    if (!(rate > 0))
        rate = KVSP_PLAN_DEFAULT_FRAGMENT_RATE;
    if (connections < 1)
        connections = KVSP_PLAN_DEFAULT_CONNECTIONS;
    r->connections = connections;
    /* Every task may meet every stream, so each gets 1/N of each stream's
     * budget. Connections are shared through lock files (run_throttle_wait). */
    r->rate = rate / (double)count;
    size_t nstreams = json_array_size(json_object_get(p->header, "streams"));
    r->not_before = calloc(nstreams ? nstreams : 1, sizeof *r->not_before);
    if (!r->not_before ||
        asprintf(&r->results, "%s/results-%ld-of-%ld.jsonl", dir, index, count) < 0) {
        free(r->not_before);
        cli_error("kvsp run: out of memory\n");
        return -1;
    }
    return 0;
}

void run_context_free(run_context *r)
{
    free(r->not_before);
    free(r->results);
}

static void sleep_s(double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A free slot's locked descriptor, or -1 when all are held (*broken set
 * when the lock files cannot be made at all). */
static int try_slot(const run_context *r, size_t stream, int *broken)
{
    char *dir = NULL;
    if (asprintf(&dir, "%s/.kvsp-connections", r->dir) < 0 ||
        (mkdir(dir, 0777) != 0 && errno != EEXIST)) {
        free(dir);
        *broken = 1;
        return -1;
    }
    int opened = 0;
    for (long k = 0; k < r->connections; k++) {
        char *path = NULL;
        if (asprintf(&path, "%s/stream-%zu-%ld", dir, stream, k) < 0)
            continue;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        free(path);
        if (fd < 0)
            continue;
        opened = 1;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            free(dir);
            return fd;
        }
        close(fd);
    }
    free(dir);
    *broken = !opened;
    return -1;
}

int run_throttle_wait(run_context *r, const json_t *item)
{
    json_t *streams = json_object_get(r->plan->header, "streams");
    const char *stream = json_string_value(json_object_get(item, "stream"));
    size_t s = 0;
    while (s < json_array_size(streams) &&
           strcmp(json_string_value(json_array_get(streams, s)), stream) != 0)
        s++;
    if (s == json_array_size(streams))
        s = 0;
    /* The first item goes at once; each next one waits until the fragments
     * fetched so far fit in this task's rate. */
    double now = monotonic_s();
    if (r->not_before[s] > now) {
        sleep_s(r->not_before[s] - now);
        now = r->not_before[s];
    }
    r->not_before[s] = now + (double)json_array_size(json_object_get(item, "fragments")) / r->rate;
    int broken = 0, said = 0;
    for (;;) {
        int fd = try_slot(r, s, &broken);
        if (fd >= 0 || broken) {
            if (broken)
                cli_warn("kvsp run: %s/.kvsp-connections: %s; not sharing connections\n", r->dir,
                         strerror(errno));
            return fd;
        }
        if (!said)
            cli_error("kvsp run: stream %s: all %ld connections in use by other tasks, waiting\n",
                      stream, r->connections);
        said = 1;
        sleep_s(0.05);
    }
}

void run_measure(const char *path, const char *subcommand, run_result *res)
{
    struct stat sb;
    res->bytes = 0;
    res->frames = -1;
    if (stat(path, &sb) != 0)
        return;
    if (!S_ISDIR(sb.st_mode)) {
        res->bytes = (uint64_t)sb.st_size;
        return;
    }
    DIR *d = opendir(path);
    if (!d)
        return;
    long files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *p = NULL;
        if (e->d_name[0] == '.' || asprintf(&p, "%s/%s", path, e->d_name) < 0)
            continue;
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
            res->bytes += (uint64_t)sb.st_size;
            if (!strstr(e->d_name, ".json"))
                files++;
        }
        free(p);
    }
    closedir(d);
    if (strcmp(subcommand, "frames") == 0)
        res->frames = files;
}

int run_outputs_add(run_result *res, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *name = strdup(slash ? slash + 1 : path);
    char **more = name ? realloc(res->outputs, (res->noutputs + 1) * sizeof *more) : NULL;
    if (!more) {
        free(name);
        return -1;
    }
    res->outputs = more;
    res->outputs[res->noutputs++] = name;
    return 0;
}

void run_outputs_free(run_result *res)
{
    for (size_t i = 0; i < res->noutputs; i++)
        free(res->outputs[i]);
    free(res->outputs);
    res->outputs = NULL;
    res->noutputs = 0;
}

/* Whether every name in the line's "outputs" exists in dir (lines from
 * before outputs were listed list none). */
static int outputs_present(const json_t *line, const char *dir)
{
    json_t *outputs = json_object_get(line, "outputs"), *name;
    size_t i;
    json_array_foreach(outputs, i, name)
    {
        char *path = NULL;
        struct stat sb;
        const char *n = json_string_value(name);
        int there =
            n && !strchr(n, '/') && asprintf(&path, "%s/%s", dir, n) >= 0 && lstat(path, &sb) == 0;
        free(path);
        if (!there)
            return 0;
    }
    return 1;
}

/* Calls fn for each results line of the file with its index, status and
 * whether the outputs it lists are all in dir. */
static void each_result(const char *path, const char *dir, void (*fn)(void *, size_t, int, int),
                        void *user)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        json_t *j = json_loadb(line, (size_t)len, 0, NULL);
        json_t *index = json_object_get(j, "index");
        const char *status = json_string_value(json_object_get(j, "status"));
        if (json_is_integer(index) && status)
            fn(user, (size_t)json_integer_value(index), strcmp(status, "ok") == 0,
               outputs_present(j, dir));
        json_decref(j);
    }
    free(line);
    fclose(f);
}

typedef struct ok_search {
    size_t index;
    int found;
} ok_search;

static void find_ok(void *user, size_t index, int ok, int present)
{
    ok_search *s = user;
    if (index == s->index && ok) /* the last ok line of the item decides */
        s->found = present ? 1 : -1;
}

int run_results_has_ok(const run_context *r, size_t index)
{
    ok_search s = {index, 0};
    each_result(r->results, r->dir, find_ok, &s);
    return s.found;
}

void run_results_append(const run_context *r, const run_result *res)
{
    cli_jl w = {0};
    cli_jl_begin(&w);
    cli_jl_int(&w, "index", (int64_t)res->index);
    cli_jl_cstring(&w, "name", res->name);
    cli_jl_cstring(&w, "status", res->ok ? "ok" : "failed");
    cli_jl_int(&w, "attempts", res->attempts);
    cli_jl_int(&w, "bytes", (int64_t)res->bytes);
    cli_jl_int(&w, "payload_bytes", (int64_t)res->payload_bytes);
    cli_jl_real(&w, "seconds", res->seconds);
    if (res->frames >= 0 && res->ok)
        cli_jl_int(&w, "frames", res->frames);
    else
        cli_jl_null(&w, "frames");
    cli_jl_cstring(&w, "error", res->ok ? NULL : res->error);
    if (res->recovered)
        cli_jl_bool(&w, "recovered", true);
    cli_jl_open(&w, "outputs", '[');
    for (size_t i = 0; res->ok && i < res->noutputs; i++)
        cli_jl_cstring(&w, NULL, res->outputs[i]);
    cli_jl_close(&w, '[');
    /* one write(2) of the whole line with O_APPEND: tasks sharing a file,
     * or a kill, leave whole lines (the buffer holds any line) */
    int fd = open(r->results, O_WRONLY | O_APPEND | O_CREAT, 0666);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    static char buffer[1 << 16];
    if (!f && fd >= 0)
        close(fd);
    int bad = !f;
    if (f) {
        setvbuf(f, buffer, _IOFBF, sizeof buffer);
        bad = cli_jl_end(&w, f) != 0;
        if (fclose(f) != 0)
            bad = 1;
    }
    if (bad)
        cli_error("kvsp run: %s: cannot append: %s\n", r->results, strerror(errno));
    cli_jl_free(&w);
}

typedef struct failures {
    unsigned char *failed;     /* a results line says failed */
    unsigned char *incomplete; /* an ok line lists an output that is not there */
    size_t count;
} failures;

static void note_failure(void *user, size_t index, int ok, int present)
{
    failures *f = user;
    if (index < f->count && !ok)
        f->failed[index] = 1;
    if (index < f->count && ok && !present)
        f->incomplete[index] = 1;
}

/* An item is done when its output exists under any of the subcommands'
 * names, failed when a results line says so and it is not done. */
int run_status(const plan *p, const char *dir)
{
    failures f = {calloc(p->count ? p->count : 1, 1), calloc(p->count ? p->count : 1, 1), p->count};
    if (!f.failed || !f.incomplete) {
        free(f.failed);
        free(f.incomplete);
        return CLI_EXIT_USAGE;
    }
    char *pattern = NULL;
    glob_t g;
    if (asprintf(&pattern, "%s/results-*-of-*.jsonl", dir) >= 0 &&
        glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            each_result(g.gl_pathv[i], dir, note_failure, &f);
        globfree(&g);
    }
    free(pattern);
    static const char *const kinds[] = {"mkv", "jsonl", ""};
    size_t done = 0, failed = 0, missing = 0;
    for (size_t i = 0; i < p->count; i++) {
        int found = 0;
        for (size_t k = 0; !found && k < sizeof kinds / sizeof kinds[0]; k++) {
            char *out = plan_output_path(dir, p->items[i], kinds[k]);
            struct stat sb;
            found = out && stat(out, &sb) == 0 &&
                    (*kinds[k] ? S_ISREG(sb.st_mode) : S_ISDIR(sb.st_mode));
            free(out);
        }
        if (found && !f.incomplete[i])
            done++;
        else if (f.failed[i])
            failed++;
        else
            missing++;
    }
    free(f.failed);
    free(f.incomplete);
    printf("{\"items\":%zu,\"done\":%zu,\"failed\":%zu,\"missing\":%zu}\n", p->count, done, failed,
           missing);
    return done == p->count ? CLI_EXIT_OK : CLI_EXIT_BAD_INPUT;
}
