#ifndef KVSPARSER_RANGE_H
#define KVSPARSER_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/client.h"
#include "kvsparser/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The range reader (libkvsparser-client): the archived media of a stream
 * between two timestamps, as one payload in timestamp order.
 *
 * ListFragments is read to its last page. Its rows come in no particular
 * order, within a page and across pages, and the listing is eventually
 * consistent (a fragment just ingested may be missing, a row may repeat),
 * so they are sorted by the chosen timestamp, then by fragment number as a
 * number, and repeats are dropped. Then GetMediaForFragmentList is asked
 * for them in batches of at most 1,000 fragments, up to `parallel` requests
 * at a time (KVS allows 5 connections per stream). The bytes reach `body`
 * in batch order: the first unfinished batch is streamed to it as it
 * arrives; the batches after it are kept in memory up to
 * max_buffered_bytes / (parallel - 1) each, and a batch that reaches its
 * share has its transfer paused (libcurl's pause, so TCP flow control
 * stops the sender) until it is the first. Memory is therefore bounded by
 * max_buffered_bytes plus libcurl's buffers, however long the range.
 *
 * A request answered with ClientLimitExceededException or
 * ConnectionLimitExceededException (or cut or failed at the network level
 * before any of its bytes reached `body`) is tried again after a backoff
 * (200 ms doubled per failure, at most 10 s, half jittered), up to
 * max_attempts times; so is one on which nothing arrived for the client's
 * stall timeout (a paused transfer is not timed). Once bytes of a batch
 * reached `body` a failure of it ends the call (a retry would repeat
 * them). */
typedef struct kvsp_range_options {
    const char *stream; /* name or ARN */
    /* Which timestamp from/to mean: KVSP_TIMESTAMP_PRODUCER (also for
     * KVSP_TIMESTAMP_NONE) or KVSP_TIMESTAMP_SERVER. */
    kvsp_timestamp_type timestamp;
    double from, to; /* seconds since the epoch, inclusive */
    /* Fragments begin at a keyframe and ListFragments selects them by their
     * start, so the listing starts this much before `from` to find the
     * fragment that holds `from` (the last one starting at or before it).
     * 0: 30 s. */
    double lookback_s;
    int parallel;              /* requests at a time; 0: 3; at most 5 */
    size_t batch_fragments;    /* fragments per request; 0 (or more than 1,000): 1,000 */
    size_t max_buffered_bytes; /* 0: 64 MiB */
    int max_attempts;          /* per request; 0: 8 */
    kvsp_body_cb body;         /* the payload, in order; return < 0 to stop */
    void *user;
} kvsp_range_options;

/* The fragments the range covers, in the order the payload gives them: the
 * last fragment starting at or before `from` (if any in the lookback) and
 * every fragment starting after it up to `to`. Free *out with
 * kvsp_client_free. KVSP_OK or a negative status (the client's error). */
KVSP_API int kvsp_range_list(kvsp_client *c, const kvsp_range_options *opts,
                             kvsp_listed_fragment **out, size_t *count);

/* Lists (as kvsp_range_list) and delivers the payload of the range to
 * opts->body. A range without fragments delivers nothing and is KVSP_OK.
 * KVSP_OK, the callback's negative value, or a negative status with the
 * client's error set. */
KVSP_API int kvsp_range_read(kvsp_client *c, const kvsp_range_options *opts);

#ifdef __cplusplus
}
#endif

#endif
