/* The range reader's listing: ListFragments over the range (and a lookback
 * before it), sorted by the chosen timestamp and fragment number, repeats
 * dropped, cut to the fragments the range needs. ListFragments promises no
 * order and is eventually consistent (range.h), so nothing here trusts the
 * order the rows came in. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc_internal.h"
#include "client_internal.h"
#include "kvsparser/range.h"

#define DEFAULT_LOOKBACK_S 30.0

static int64_t ts_of(const kvsp_listed_fragment *f, int server)
{
    return server ? f->server_timestamp_ms : f->producer_timestamp_ms;
}

static int cmp_time_number(const void *a, const void *b, int server)
{
    const kvsp_listed_fragment *x = a, *y = b;
    int64_t tx = ts_of(x, server), ty = ts_of(y, server);
    if (tx != ty)
        return tx < ty ? -1 : 1;
    return kvsp_fragment_number_cmp(x->fragment_number, y->fragment_number);
}

/* qsort has no user pointer: one comparator per timestamp type. */
static int cmp_producer(const void *a, const void *b)
{
    return cmp_time_number(a, b, 0);
}

static int cmp_server(const void *a, const void *b)
{
    return cmp_time_number(a, b, 1);
}

int kvsp_range_list(kvsp_client *c, const kvsp_range_options *o, kvsp_listed_fragment **out,
                    size_t *count)
{
    if (!c)
        return KVSP_ERR_INVALID_ARG;
    kvsp_client_clear_error(c);
    if (!o || !o->stream || !out || !count)
        return kvsp_client_fail(c, KVSP_ERR_INVALID_ARG, "range: no options, stream or output");
    *out = NULL;
    *count = 0;
    if (!isfinite(o->from) || !isfinite(o->to) || o->from > o->to || fabs(o->from) > 1e10 ||
        fabs(o->to) > 1e10)
        return kvsp_client_fail(c, KVSP_ERR_INVALID_ARG,
                                "range: from and to must be epoch seconds, from <= to");
    int server = o->timestamp == KVSP_TIMESTAMP_SERVER;
    double lookback =
        o->lookback_s > 0 && isfinite(o->lookback_s) ? o->lookback_s : DEFAULT_LOOKBACK_S;
    kvsp_listed_fragment *rows;
    size_t n;
    int rc = kvsp_list_fragments_retrying(c, o->stream,
                                          server ? KVSP_TIMESTAMP_SERVER : KVSP_TIMESTAMP_PRODUCER,
                                          o->from - lookback > 0 ? o->from - lookback : 0, o->to,
                                          &rows, &n, o->max_attempts > 0 ? o->max_attempts : 8);
    if (rc < 0)
        return rc;
    if (n)
        qsort(rows, n, sizeof *rows, server ? cmp_server : cmp_producer);
    /* Repeats (the same fragment number twice) are next to each other now:
     * the same number has the same timestamps. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (kept == 0 || strcmp(rows[kept - 1].fragment_number, rows[i].fragment_number) != 0)
            rows[kept++] = rows[i];
    n = kept;
    int64_t from_ms = (int64_t)llround(o->from * 1000.0), to_ms = (int64_t)llround(o->to * 1000.0);
    /* From the last fragment that starts at or before `from` (it holds the
     * keyframe a clip starts at), or the first after it. */
    size_t first = 0;
    for (size_t i = 0; i < n && ts_of(&rows[i], server) <= from_ms; i++)
        first = i;
    size_t end = first;
    while (end < n && ts_of(&rows[end], server) <= to_ms)
        end++;
    if (end > first && first > 0)
        memmove(rows, rows + first, (end - first) * sizeof *rows);
    *count = end - first;
    if (*count == 0) {
        kvsp_client_free(rows);
        rows = NULL;
    }
    *out = rows;
    return KVSP_OK;
}
