/* Reading a plan (kvsp plan's manifest) and choosing a shard of it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_log.h"
#include "plan.h"

void plan_free(plan *p)
{
    for (size_t i = 0; i < p->count; i++)
        json_decref(p->items[i]);
    free(p->items);
    json_decref(p->header);
    memset(p, 0, sizeof *p);
}

static int bad_plan(const char *path, size_t line, const char *why, plan *p)
{
    cli_error("kvsp run: %s: line %zu: %s\n", path, line, why);
    plan_free(p);
    return -1;
}

int plan_load(const char *path, plan *p)
{
    memset(p, 0, sizeof *p);
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("kvsp run: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
        n++;
        json_error_t err;
        json_t *j = json_loadb(line, (size_t)len, 0, &err);
        if (!json_is_object(j)) {
            json_decref(j);
            rc = bad_plan(path, n, "not a JSON object", p);
        } else if (n == 1) {
            p->header = j;
            if (json_integer_value(json_object_get(j, "kvsp_plan")) != KVSP_PLAN_VERSION)
                rc = bad_plan(path, n, "not a kvsp plan of version 1", p);
        } else {
            json_t **more = realloc(p->items, (p->count + 1) * sizeof *more);
            if (!more) {
                json_decref(j);
                rc = bad_plan(path, n, "out of memory", p);
                break;
            }
            p->items = more;
            p->items[p->count++] = j;
            /* the index is what shards agree on: it must be the line's */
            json_t *frags = json_object_get(j, "fragments");
            if (json_integer_value(json_object_get(j, "index")) != (json_int_t)(p->count - 1) ||
                !json_is_string(json_object_get(j, "stream")) ||
                !json_is_string(json_object_get(j, "name")) || !json_is_array(frags) ||
                json_array_size(frags) == 0 ||
                strchr(json_string_value(json_object_get(j, "name")), '/'))
                rc = bad_plan(path, n, "not a plan item (index, stream, fragments, name)", p);
        }
    }
    free(line);
    fclose(f);
    if (rc == 0 && !p->header)
        rc = bad_plan(path, 1, "empty", p);
    if (rc == 0 && json_integer_value(json_object_get(p->header, "items")) != (json_int_t)p->count)
        rc = bad_plan(path, 1, "item count differs from the header (cut short?)", p);
    return rc;
}

static int number(const char *text, long *out)
{
    char *end;
    errno = 0;
    long v = text && *text ? strtol(text, &end, 10) : -1;
    if (!text || !*text || *end || errno || v < 0)
        return -1;
    *out = v;
    return 0;
}

int plan_shard(const char *spec, long count_option, const plan *p, long *index, long *count)
{
    if (strcmp(spec, "auto") != 0) {
        char *slash = strchr(spec, '/');
        char head[32];
        if (!slash || (size_t)(slash - spec) >= sizeof head)
            goto bad;
        memcpy(head, spec, (size_t)(slash - spec));
        head[slash - spec] = '\0';
        if (number(head, index) < 0 || number(slash + 1, count) < 0 || *count < 1 ||
            *index >= *count)
            goto bad;
        return 0;
    bad:
        cli_error("kvsp run: --shard wants I/N with 0 <= I < N, or auto; got '%s'\n", spec);
        return -1;
    }
    const char *slurm = getenv("SLURM_ARRAY_TASK_ID");
    if (slurm) {
        long min = 0;
        if (number(slurm, index) < 0 || number(getenv("SLURM_ARRAY_TASK_COUNT"), count) < 0 ||
            (getenv("SLURM_ARRAY_TASK_MIN") && number(getenv("SLURM_ARRAY_TASK_MIN"), &min) < 0)) {
            cli_error("kvsp run: --shard auto: bad SLURM_ARRAY_TASK_ID/COUNT/MIN\n");
            return -1;
        }
        /* --array=0-3 gives ids 0..3; --array=1-4 gives 1..4 */
        *index -= min;
    } else {
        const char *name = getenv("AWS_BATCH_JOB_ARRAY_INDEX") ? "AWS_BATCH_JOB_ARRAY_INDEX"
                           : getenv("JOB_COMPLETION_INDEX")    ? "JOB_COMPLETION_INDEX"
                                                               : NULL;
        if (!name) {
            fprintf(
                stderr,
                "kvsp run: --shard auto: none of SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX,\n"
                "JOB_COMPLETION_INDEX is set; give --shard I/N\n");
            return -1;
        }
        if (number(getenv(name), index) < 0) {
            cli_error("kvsp run: --shard auto: bad %s\n", name);
            return -1;
        }
        *count = count_option > 0 ? count_option
                                  : (long)json_integer_value(json_object_get(p->header, "shards"));
        if (*count < 1) {
            cli_error("kvsp run: --shard auto with %s: give --shard-count N (or plan --shards N)\n",
                      name);
            return -1;
        }
    }
    if (*count < 1 || *index < 0 || *index >= *count) {
        cli_error("kvsp run: --shard auto: index %ld not below count %ld\n", *index, *count);
        return -1;
    }
    return 0;
}

int plan_in_shard(size_t item, long index, long count)
{
    return (long)(item % (size_t)count) == index;
}

const char *plan_output_kind(const char *subcommand)
{
    if (strcmp(subcommand, "merge") == 0)
        return "mkv";
    if (strcmp(subcommand, "fragments") == 0)
        return "jsonl";
    if (strcmp(subcommand, "frames") == 0 || strcmp(subcommand, "audio") == 0)
        return "";
    return NULL;
}

char *plan_output_path(const char *dir, const json_t *item, const char *kind)
{
    const char *name = json_string_value(json_object_get(item, "name"));
    char *out = NULL;
    if (asprintf(&out, "%s/%s%s%s", dir, name, *kind ? "." : "", kind) < 0)
        return NULL;
    return out;
}
