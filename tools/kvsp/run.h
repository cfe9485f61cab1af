#ifndef KVSP_CLI_RUN_H
#define KVSP_CLI_RUN_H

/* kvsp run's bookkeeping (run_results.c): the per-stream throttle, the
 * results file of a shard, measuring outputs, and --status. */
#include <stdint.h>

#include "kvsparser/client.h"
#include "plan.h"

typedef struct run_context {
    const plan *plan;
    const char *dir;
    const char *kind; /* plan_output_kind of the subcommand */
    char **sub;       /* the subcommand and its options */
    int nsub;
    long retries;
    long index, count;
    kvsp_client *client;
    char *results;      /* DIR/results-I-of-N.jsonl */
    double rate;        /* this task's fragments per second per stream */
    double *not_before; /* per stream of the plan header, monotonic seconds */
    long connections;   /* per stream, for the whole job */
} run_context;

typedef struct run_result {
    size_t index;
    const char *name;
    int ok, recovered, throttled, attempts;
    uint64_t payload_bytes, bytes;
    long frames; /* -1 unknown */
    double seconds;
    char error[512];
    /* Every output the item made, as names in DIR: merge --on-change
     * new-file writes NAME.mkv, then NAME.1.mkv, NAME.2.mkv ... at each
     * codec or track change (run_outputs_free releases them). */
    char **outputs;
    size_t noutputs;
} run_result;

/* Creates DIR; -1 after printing why. */
int run_context_init(run_context *r, const plan *p, const char *dir, const char *subcommand,
                     long index, long count);
void run_context_free(run_context *r);

/* Sleeps until this task may fetch the item's fragments within its share
 * of the stream's fragment rate, then until one of the stream's connection
 * slots is free: a lock file DIR/.kvsp-connections/stream-S-K (K below the
 * plan's connections) held with flock, so the tasks sharing DIR never hold
 * more connections than that, and a killed task's slot frees itself.
 * Returns the descriptor to close when the fetch ended, or -1 (no lock:
 * the fetch goes on, said once). */
int run_throttle_wait(run_context *r, const json_t *item);

/* Output bytes (a file, or the files of a directory) and, for frames, the
 * pictures written. */
void run_measure(const char *path, const char *subcommand, run_result *res);

/* Notes DIR/NAME (its last path component) as one of the item's outputs;
 * -1 when out of memory. */
int run_outputs_add(run_result *res, const char *path);
void run_outputs_free(run_result *res);

/* Whether the shard's results file has an "ok" line for the item: 0 no,
 * 1 yes and every output that line lists is in DIR, -1 yes but one of its
 * outputs is missing (the item must be made again). */
int run_results_has_ok(const run_context *r, size_t index);
void run_results_append(const run_context *r, const run_result *res);

/* --status: prints the counts, exit status 0 when every item is done. An
 * item is done when its output is in DIR and so is every other output an
 * "ok" results line of it lists. */
int run_status(const plan *p, const char *dir);

#endif
