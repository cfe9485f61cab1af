#define _POSIX_C_SOURCE 200809L
/* The range reader's fetcher: GetMediaForFragmentList in batches on a
 * libcurl multi handle, several at a time, delivered in batch order with a
 * bounded buffer (range.h says the rules). The first unfinished batch (the
 * head) streams to the caller; the others fill their share of the buffer
 * and are then paused (CURL_WRITEFUNC_PAUSE) until they become the head. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc_internal.h"
#include "client_internal.h"
#include "kvsparser/range.h"
#include "retry.h"

#define MAX_PARALLEL 5 /* KVS: connections per stream */
#define DEFAULT_PARALLEL 3
#define BATCH_MAX 1000 /* KVS: fragments per GetMediaForFragmentList */
#define DEFAULT_BUFFERED ((size_t)64 << 20)
#define DEFAULT_ATTEMPTS 8
#define BACKOFF_INITIAL_MS 200
#define BACKOFF_MAX_MS 10000
#define ERROR_BODY_MAX 65536
#define POLL_MS 100

typedef struct range_run range_run;

typedef struct slot {
    range_run *run;
    CURL *easy;
    struct curl_slist *headers;
    size_t batch;
    int used;   /* holds a batch: in flight, waiting to retry, or done */
    int active; /* in the multi handle */
    int done;   /* its 200 response ended; what is left of it is in buf */
    int paused;
    uint8_t *buf; /* bytes not yet given to the caller */
    size_t len, cap;
    uint64_t delivered; /* bytes of this batch given to the caller */
    char *err;          /* an error response's body */
    size_t err_len;
    char error_type[128];
    char curl_error[CURL_ERROR_SIZE];
    int attempts;
    double retry_at;
    double last_at; /* monotonic time of its last byte (or its start) */
    int body_rc;    /* the caller's negative answer */
    int nomem;
} slot;

struct range_run {
    kvsp_client *c;
    const kvsp_range_options *o;
    char *url;
    const kvsp_listed_fragment *rows;
    size_t count, batch_size, batches;
    size_t head, next;
    size_t share;
    int parallel, max_attempts;
    CURLM *multi;
    slot slots[MAX_PARALLEL];
    unsigned rng;
    int stopped; /* the caller's callback said stop */
};

static int deliver(slot *s, const void *data, size_t len)
{
    range_run *r = s->run;
    int rc = r->o->body(r->o->user, data, len);
    if (rc < 0) {
        s->body_rc = rc;
        r->stopped = 1;
        return rc;
    }
    s->delivered += len;
    return 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    slot *s = user;
    kvsp_http_error_type_header(data, size * n, s->error_type, sizeof s->error_type);
    return size * n;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 65536;
    while (c < need)
        c *= 2;
    uint8_t *b = kvsp_ext_realloc(*buf, c);
    if (!b)
        return -1;
    *buf = b;
    *cap = c;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    slot *s = user;
    range_run *r = s->run;
    size_t len = size * n;
    s->last_at = kvsp_client_now();
    long status = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) { /* an error answer: kept for its message, cut at ERROR_BODY_MAX */
        size_t take = len < ERROR_BODY_MAX - s->err_len ? len : ERROR_BODY_MAX - s->err_len;
        char *e = take ? kvsp_ext_realloc(s->err, s->err_len + take + 1) : s->err;
        if (take && e) {
            memcpy(e + s->err_len, data, take);
            s->err_len += take;
            e[s->err_len] = '\0';
            s->err = e;
        }
        return len;
    }
    if (s->batch == r->head && s->len == 0)
        return deliver(s, data, len) < 0 ? 0 : len;
    /* Ahead of the head: buffered up to its share, then paused (libcurl
     * hands the same bytes again after the pause). The first chunk is
     * always taken, so a share smaller than a chunk still moves. */
    if (s->len > 0 && s->len + len > r->share) {
        s->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (grow(&s->buf, &s->cap, s->len + len) != 0) {
        s->nomem = 1;
        return 0;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return len;
}

static void release(slot *s)
{
    if (s->active)
        curl_multi_remove_handle(s->run->multi, s->easy);
    s->active = 0;
    kvsp_http_headers_free(s->headers);
    s->headers = NULL;
    s->used = s->done = s->paused = 0;
    s->len = s->err_len = 0;
    s->delivered = 0;
    s->attempts = 0;
    s->body_rc = 0;
}

static int launch(range_run *r, slot *s)
{
    size_t first = s->batch * r->batch_size;
    size_t n = r->count - first < r->batch_size ? r->count - first : r->batch_size;
    json_t *req = kvsp_stream_body(r->o->stream);
    json_t *list = json_array();
    for (size_t i = 0; req && list && i < n; i++)
        json_array_append_new(list, json_string(r->rows[first + i].fragment_number));
    char *json = NULL;
    if (req && list && json_object_set_new(req, "Fragments", list) == 0)
        json = json_dumps(req, JSON_COMPACT);
    else
        json_decref(list);
    json_decref(req);
    if (!json)
        return kvsp_client_fail(r->c, KVSP_ERR_NOMEM, "out of memory");
    int st = KVSP_ERR_NOMEM;
    if (!s->easy)
        s->easy = curl_easy_init();
    kvsp_http_headers_free(s->headers);
    s->headers =
        s->easy ? kvsp_http_prepare(r->c, s->easy, r->url, "/getMediaForFragmentList", json, &st)
                : NULL;
    free(json);
    if (!s->headers)
        return st < 0 ? st : KVSP_ERR_NOMEM;
    kvsp_http_set_receivers(s->easy, on_header, on_body, s, s->curl_error);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    s->error_type[0] = '\0';
    s->err_len = 0;
    s->len = 0;
    s->paused = 0;
    s->attempts++;
    s->last_at = kvsp_client_now();
    if (r->c->log) {
        char line[1200];
        snprintf(line, sizeof line,
                 "POST %.1000s/getMediaForFragmentList (batch %zu: %zu fragments, attempt %d)",
                 r->url, s->batch, n, s->attempts);
        r->c->log(r->c->log_user, line);
    }
    if (curl_multi_add_handle(r->multi, s->easy) != CURLM_OK)
        return kvsp_client_fail(r->c, KVSP_ERR_NETWORK,
                                "GetMediaForFragmentList: cannot start a transfer");
    s->active = 1;
    return KVSP_OK;
}

static int throttled(const char *type)
{
    return strcmp(type, "ClientLimitExceededException") == 0 ||
           strcmp(type, "ConnectionLimitExceededException") == 0;
}

/* A transfer ended: done, to be tried again, or the end of the run. */
static int finished(range_run *r, slot *s, CURLcode result)
{
    kvsp_client *c = r->c;
    long status = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(r->multi, s->easy);
    s->active = 0;
    c->http_status = status;
    if (s->body_rc < 0)
        return s->body_rc;
    if (s->nomem)
        return kvsp_client_fail(c, KVSP_ERR_NOMEM,
                                "GetMediaForFragmentList: out of memory for a batch");
    if (result == CURLE_OK && status == 200) {
        s->done = 1;
        return KVSP_OK;
    }
    int network = result != CURLE_OK;
    int again = network || status >= 500 || throttled(s->error_type);
    if (again && s->delivered == 0 && s->attempts < r->max_attempts) {
        long wait = kvsp_backoff_ms(s->attempts, BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, &r->rng);
        s->retry_at = kvsp_client_now() + (double)wait / 1000.0;
        s->len = 0; /* what was buffered comes again */
        if (c->log) {
            char line[256];
            snprintf(line, sizeof line,
                     "GetMediaForFragmentList batch %zu: HTTP %ld %s; again in %ld ms", s->batch,
                     status, network ? curl_easy_strerror(result) : s->error_type, wait);
            c->log(c->log_user, line);
        }
        return KVSP_OK;
    }
    if (network) {
        char why[CURL_ERROR_SIZE + 200];
        kvsp_http_failure(s->easy, result, r->url, s->curl_error, why, sizeof why);
        return kvsp_client_fail(c, KVSP_ERR_NETWORK,
                                "%s/getMediaForFragmentList: %s after %llu bytes of the batch",
                                r->url, why, (unsigned long long)s->delivered);
    }
    c->error_status = kvsp_http_error_message(c->error, sizeof c->error, s->error_type,
                                              sizeof s->error_type, status, s->err ? s->err : "");
    snprintf(c->error_exception, sizeof c->error_exception, "%s", s->error_type);
    return c->error_status;
}

/* The client's stall timeout, for transfers that are not paused (a
 * paused one waits for its turn, not for the server). */
static int check_stalls(range_run *r)
{
    long limit = r->c->stall_timeout_ms;
    double now = kvsp_client_now();
    for (int i = 0; limit > 0 && i < r->parallel; i++) {
        slot *s = &r->slots[i];
        if (!s->active || s->paused || (now - s->last_at) * 1000.0 < (double)limit)
            continue;
        int rc = finished(r, s, CURLE_OPERATION_TIMEDOUT);
        if (rc < 0)
            return rc;
    }
    return KVSP_OK;
}

static slot *slot_of(range_run *r, size_t batch)
{
    for (int i = 0; i < r->parallel; i++)
        if (r->slots[i].used && r->slots[i].batch == batch)
            return &r->slots[i];
    return NULL;
}

/* Hands over what the head holds, frees finished heads, and lets the new
 * head's transfer go on. */
static int advance(range_run *r)
{
    for (;;) {
        slot *h = slot_of(r, r->head);
        if (!h)
            return KVSP_OK;
        if (h->len) {
            size_t len = h->len;
            h->len = 0;
            if (deliver(h, h->buf, len) < 0)
                return h->body_rc;
        }
        if (h->done) {
            release(h);
            r->head++;
            continue;
        }
        if (h->paused && h->active) {
            h->paused = 0;
            curl_easy_pause(h->easy, CURLPAUSE_CONT); /* may deliver at once, to the caller now */
            if (h->body_rc < 0)
                return h->body_rc;
        }
        return KVSP_OK;
    }
}

/* Starts batches within the window and retries that are due. */
static int schedule(range_run *r, long *wait_ms)
{
    double now = kvsp_client_now();
    *wait_ms = POLL_MS;
    for (int i = 0; i < r->parallel; i++) {
        slot *s = &r->slots[i];
        if (!s->used && r->next < r->batches && r->next < r->head + (size_t)r->parallel) {
            s->used = 1;
            s->batch = r->next++;
            s->attempts = 0;
            s->retry_at = now;
        }
        if (s->used && !s->active && !s->done) {
            if (s->retry_at <= now) {
                int rc = launch(r, s);
                if (rc < 0)
                    return rc;
            } else if ((s->retry_at - now) * 1000.0 < (double)*wait_ms) {
                *wait_ms = (long)((s->retry_at - now) * 1000.0) + 1;
            }
        }
    }
    return KVSP_OK;
}

static int run_batches(range_run *r)
{
    while (r->head < r->batches) {
        long wait;
        int rc = schedule(r, &wait);
        if (rc < 0)
            return rc;
        int running;
        curl_multi_perform(r->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(r->multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            slot *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            rc = finished(r, s, msg->data.result);
            if (rc < 0)
                return rc;
        }
        rc = check_stalls(r);
        if (rc < 0)
            return rc;
        rc = advance(r);
        if (rc < 0)
            return rc;
        if (r->head < r->batches)
            curl_multi_poll(r->multi, NULL, 0, (int)wait, NULL);
    }
    return KVSP_OK;
}

int kvsp_range_read(kvsp_client *c, const kvsp_range_options *o)
{
    if (!c)
        return KVSP_ERR_INVALID_ARG;
    if (!o || !o->body) {
        kvsp_client_clear_error(c);
        return kvsp_client_fail(c, KVSP_ERR_INVALID_ARG, "range: no options or body callback");
    }
    kvsp_listed_fragment *rows = NULL;
    size_t count = 0;
    int rc = kvsp_range_list(c, o, &rows, &count);
    if (rc < 0 || count == 0)
        return rc;
    range_run r;
    memset(&r, 0, sizeof r);
    r.c = c;
    r.o = o;
    r.rows = rows;
    r.count = count;
    r.batch_size =
        o->batch_fragments && o->batch_fragments <= BATCH_MAX ? o->batch_fragments : BATCH_MAX;
    r.batches = (count + r.batch_size - 1) / r.batch_size;
    r.parallel = o->parallel > 0 ? (o->parallel < MAX_PARALLEL ? o->parallel : MAX_PARALLEL)
                                 : DEFAULT_PARALLEL;
    r.max_attempts = o->max_attempts > 0 ? o->max_attempts : DEFAULT_ATTEMPTS;
    size_t total = o->max_buffered_bytes ? o->max_buffered_bytes : DEFAULT_BUFFERED;
    r.share = r.parallel > 1 ? total / (size_t)(r.parallel - 1) : 0;
    r.rng = (unsigned)(count * 2654435761u) ^ 0x5bd1e995u;
    for (int i = 0; i < MAX_PARALLEL; i++)
        r.slots[i].run = &r;
    const char *url;
    rc = kvsp_endpoint_for(c, o->stream, "GET_MEDIA_FOR_FRAGMENT_LIST", &url);
    if (rc == KVSP_OK) {
        r.url = kvsp_ext_strdup(url);
        r.multi = curl_multi_init();
        if (!r.url || !r.multi)
            rc = kvsp_client_fail(c, KVSP_ERR_NOMEM, "out of memory");
    }
    if (rc == KVSP_OK) {
        kvsp_client_clear_error(c);
        rc = run_batches(&r);
        if (rc < 0 && r.stopped)
            kvsp_client_fail(c, rc, "stopped by the consumer of the response");
    }
    for (int i = 0; i < MAX_PARALLEL; i++) {
        slot *s = &r.slots[i];
        release(s);
        if (s->easy)
            curl_easy_cleanup(s->easy);
        kvsp_ext_free(s->buf);
        kvsp_ext_free(s->err);
    }
    if (r.multi)
        curl_multi_cleanup(r.multi);
    kvsp_ext_free(r.url);
    kvsp_client_free(rows);
    return rc;
}
