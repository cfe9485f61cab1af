#ifndef KVSP_CLI_PLAN_H
#define KVSP_CLI_PLAN_H

/* The manifest of `kvsp plan` as `kvsp run` reads it (plan.c), and the
 * names of what a run leaves in its output directory. */
#include <stddef.h>

#include <jansson.h>

#define KVSP_PLAN_VERSION 1
/* The KVS per-stream limits of GetMediaForFragmentList (as documented for
 * the archived-media API): the whole job shares them, not each task. */
#define KVSP_PLAN_DEFAULT_CONNECTIONS 5
#define KVSP_PLAN_DEFAULT_FRAGMENT_RATE 500.0

typedef struct plan {
    json_t *header;
    json_t **items; /* items[i] has "index" i */
    size_t count;
} plan;

/* Reads PLAN; 0, or -1 after printing why. */
int plan_load(const char *path, plan *p);
void plan_free(plan *p);

/* "I/N" or "auto" into *index, *count. For auto: SLURM_ARRAY_TASK_ID
 * (minus SLURM_ARRAY_TASK_MIN) and SLURM_ARRAY_TASK_COUNT;
 * AWS_BATCH_JOB_ARRAY_INDEX or JOB_COMPLETION_INDEX with the count from
 * count_option (> 0) or the plan's "shards". 0, or -1 after printing why. */
int plan_shard(const char *spec, long count_option, const plan *p, long *index, long *count);

/* Item i belongs to shard I of N when i % N == I: round robin spreads the
 * streams and the busy hours over the tasks. */
int plan_in_shard(size_t item, long index, long count);

/* What the subcommand makes of one item: "mkv" (merge: a file), "jsonl"
 * (fragments: its standard output), "" (frames, audio: a directory).
 * NULL for a subcommand run does not drive. */
const char *plan_output_kind(const char *subcommand);
/* DIR/NAME.EXT or DIR/NAME; malloc'ed. */
char *plan_output_path(const char *dir, const json_t *item, const char *kind);

#endif
