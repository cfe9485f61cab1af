#define _POSIX_C_SOURCE 200809L
/* One stream's life: connect, receive, cut into fragments, deliver, and on
 * any interruption reconnect from the last complete fragment. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer_internal.h"
#include "../error_format.h"

#define MAX_ANSWER 65536

static void note(consumer_stream *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void note(consumer_stream *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvsp_ext_error_vformat(s->error, sizeof s->error, NULL, 0, fmt, ap);
    va_end(ap);
    s->stats.last_error = s->error;
}

/* A fragment with AWS_KINESISVIDEO_ERROR_* tags: reported, then the
 * stream stops (4xxx) or reconnects (5xxx). */
static int error_fragment(consumer_stream *s, const kvsp_fragment *f)
{
    s->stats.error_tags++;
    s->stats.service_errors++;
    if (s->opts.on_error_tag)
        s->opts.on_error_tag(s->opts.user, s->name, f);
    /* KVS GetMedia error ids: 4xxx the request cannot succeed (fragment
     * not found, KMS key problems), 5xxx a server error worth a retry. */
    if (f->error_id >= 5000)
        s->retry_soon = 1;
    else
        s->fail_status = KVSP_ERR_SERVICE;
    note(s, "error tag%s%s after fragment %s: %s %s", f->fragment_number ? " for fragment " : "",
         f->fragment_number ? f->fragment_number : "",
         s->last_number[0] ? s->last_number : "(none)", f->error_id_text ? f->error_id_text : "",
         f->error_code ? f->error_code : "");
    return KVSP_OK;
}

/* A complete fragment: to the caller's visitor, then its callback. */
static int deliver(void *user, const uint8_t *bytes, size_t len, const kvsp_fragment *f)
{
    consumer_stream *s = user;
    if (s->fail_status || s->retry_soon)
        return KVSP_OK; /* after an error tag: nothing more from this response */
    if (kvsp_splitter_error_fragment(f))
        return error_fragment(s, f); /* it may name the fragment to skip: checked first */
    if (s->skip_number[0] && f->fragment_number &&
        strcmp(s->skip_number, f->fragment_number) == 0) {
        s->skip_number[0] = '\0'; /* delivered before the reconnect */
        return KVSP_OK;
    }
    s->skip_number[0] = '\0';
    if (s->opts.visitor) {
        int st = kvsp_reader_push(s->reader, bytes, len, s->opts.visitor);
        while (st == KVSP_PAUSED)
            st = kvsp_reader_run(s->reader, s->opts.visitor);
        if (st != KVSP_NEED_DATA) {
            s->fail_status = st;
            s->stats.payload_errors++;
            note(s, "%s at offset %llu of the payload: %s", kvsp_status_name(st),
                 (unsigned long long)kvsp_reader_error_offset(s->reader),
                 kvsp_reader_error_message(s->reader));
            return st;
        }
    }
    kvsp_fragment record = *f;
    record.index = s->stats.fragments; /* counts across reconnects */
    f = &record;
    s->stats.fragments++;
    s->stats.frames += f->frames;
    if (f->present & KVSP_FRAGMENT_HAS_MILLIS_BEHIND_NOW)
        s->stats.millis_behind_now = f->millis_behind_now;
    if (f->continuation_token && strlen(f->continuation_token) < sizeof s->token)
        snprintf(s->token, sizeof s->token, "%s", f->continuation_token);
    if (f->fragment_number && strlen(f->fragment_number) < sizeof s->last_number)
        snprintf(s->last_number, sizeof s->last_number, "%s", f->fragment_number);
    s->stats.continuation_token = s->token[0] ? s->token : NULL;
    s->stats.last_fragment_number = s->last_number[0] ? s->last_number : NULL;
    s->delivered_this_response = 1;
    s->attempts = 0;
    s->stats.attempts = 0;
    s->last_fragment_at = kvsp_client_now();
    if (s->opts.on_fragment) {
        int rc = s->opts.on_fragment(s->opts.user, s->name, f);
        if (rc < 0) {
            s->fail_status = rc;
            note(s, "stopped by the fragment callback");
            return rc;
        }
    }
    return KVSP_OK;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    consumer_stream *s = user;
    s->last_byte_at = kvsp_client_now();
    kvsp_http_error_type_header(data, size * n, s->error_type, sizeof s->error_type);
    return size * n;
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    consumer_stream *s = user;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    s->last_byte_at = kvsp_client_now();
    if (status != 200 || s->phase == PHASE_ENDPOINT) {
        if (s->answer_len + len <= MAX_ANSWER) {
            char *bigger = kvsp_ext_realloc(s->answer, s->answer_len + len + 1);
            if (bigger) {
                s->answer = bigger;
                memcpy(s->answer + s->answer_len, data, len);
                s->answer_len += len;
                s->answer[s->answer_len] = '\0';
            }
        }
        return len;
    }
    s->stats.bytes += len;
    s->stats.state = KVSP_STREAM_STREAMING;
    int rc = kvsp_splitter_feed(&s->split, data, len, deliver, s);
    if (rc < 0 && !s->fail_status) {
        /* Not retried: the same request most likely gets the same bytes. */
        s->fail_status = rc;
        s->stats.payload_errors++;
        if (rc == KVSP_ERR_ELEMENT_TOO_LARGE || rc == KVSP_ERR_NOMEM)
            note(s, "bad payload: %s (a fragment of more than %zu bytes)", kvsp_status_str(rc),
                 s->owner->opts.max_fragment_bytes);
        else
            note(s, "bad payload at byte %llu of a GetMedia response, after %llu fragments: %s: %s",
                 (unsigned long long)kvsp_reader_error_offset(s->split.reader),
                 (unsigned long long)s->stats.fragments, kvsp_status_name(rc),
                 kvsp_reader_error_message(s->split.reader));
    }
    return s->fail_status || s->retry_soon ? 0 : len;
}

/* The request of the stream's next transfer: GetDataEndpoint when its data
 * endpoint is not known (or old), else GetMedia from where to resume. */
static json_t *next_request(consumer_stream *s, const char **base, const char **path)
{
    kvsp_consumer *c = s->owner;
    if (!s->endpoint || kvsp_client_now() - s->endpoint_at >= ENDPOINT_TTL_S) {
        s->phase = PHASE_ENDPOINT;
        *base = c->client->control_url;
        *path = "/getDataEndpoint";
        json_t *req = kvsp_stream_body(s->name);
        json_object_set_new(req, "APIName", json_string("GET_MEDIA"));
        return req;
    }
    kvsp_start_selector start = s->opts.start;
    s->skip_number[0] = '\0';
    if (s->token[0]) {
        start.type = KVSP_START_CONTINUATION_TOKEN;
        start.value = s->token;
    } else if (s->last_number[0]) {
        /* No token yet: start at the last fragment delivered and skip it. */
        start.type = KVSP_START_FRAGMENT_NUMBER;
        start.value = s->last_number;
        snprintf(s->skip_number, sizeof s->skip_number, "%s", s->last_number);
    }
    s->phase = PHASE_MEDIA;
    *base = s->endpoint;
    *path = "/getMedia";
    return kvsp_get_media_request(s->name, &start);
}

int kvsp_stream_connect(consumer_stream *s)
{
    kvsp_consumer *c = s->owner;
    const char *base, *path;
    json_t *req = next_request(s, &base, &path);
    char *json = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!json)
        return KVSP_ERR_NOMEM;
    int st = KVSP_ERR_NOMEM;
    if (!s->easy)
        s->easy = curl_easy_init();
    s->headers = s->easy ? kvsp_http_prepare(c->client, s->easy, base, path, json, &st) : NULL;
    free(json);
    if (!s->headers) {
        note(s, "%s", kvsp_client_error_message(c->client));
        return st < 0 ? st : KVSP_ERR_NOMEM;
    }
    kvsp_http_set_receivers(s->easy, on_header, on_body, s, s->curl_error);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    s->error_type[0] = '\0';
    s->answer_len = 0;
    s->fail_status = 0;
    s->retry_soon = 0;
    s->delivered_this_response = 0;
    s->stalled = 0;
    s->last_byte_at = kvsp_client_now();
    s->stats.state = KVSP_STREAM_CONNECTING;
    if (curl_multi_add_handle(c->multi, s->easy) != CURLM_OK)
        return KVSP_ERR_NETWORK;
    s->in_multi = 1;
    return KVSP_OK;
}

static void fail(consumer_stream *s, int status)
{
    s->stats.state = KVSP_STREAM_FAILED;
    s->stats.last_status = status;
}

/* Exponential backoff with jitter (retry.c). */
static void backoff(consumer_stream *s, long min_ms)
{
    kvsp_consumer *c = s->owner;
    s->attempts++;
    s->stats.attempts = (unsigned)s->attempts;
    if (c->opts.max_retries && s->attempts > c->opts.max_retries) {
        fail(s, KVSP_ERR_NETWORK);
        return;
    }
    if (s->opts.on_retry && s->stats.last_error)
        s->opts.on_retry(s->opts.user, s->name, s->stats.last_error);
    long wait =
        kvsp_backoff_ms(s->attempts, c->opts.initial_backoff_ms, c->opts.max_backoff_ms, &c->rng);
    if (wait < min_ms)
        wait = min_ms;
    s->stats.state = KVSP_STREAM_BACKOFF;
    s->wake_at = kvsp_client_now() + (double)wait / 1000.0;
}

/* A new connection, now: the last one ended or was cut on our side. */
static void reconnect(consumer_stream *s, long delay_ms)
{
    s->stats.reconnects++;
    s->stats.state = KVSP_STREAM_BACKOFF;
    s->wake_at = kvsp_client_now() + (double)delay_ms / 1000.0;
}

static void forget_endpoint(consumer_stream *s)
{
    kvsp_ext_free(s->endpoint);
    s->endpoint = NULL;
    s->stats.data_endpoint = NULL;
}

static void service_answer(consumer_stream *s, long status)
{
    kvsp_http_error_message(s->error, sizeof s->error, s->error_type, sizeof s->error_type, status,
                            s->answer_len ? s->answer : NULL);
    s->stats.last_error = s->error;
    const char *type = s->error_type;
    s->stats.last_http_status = status;
    snprintf(s->last_exception, sizeof s->last_exception, "%s", type);
    s->stats.last_exception = type[0] ? s->last_exception : NULL;
    if (strcmp(type, "ClientLimitExceededException") == 0 ||
        strcmp(type, "ConnectionLimitExceededException") == 0) {
        s->stats.throttled++;
        backoff(s, 0);
        return;
    }
    s->stats.service_errors++;
    if (strcmp(type, "ExpiredTokenException") == 0 && !s->token_refreshed &&
        kvsp_credential_provider_expire(s->owner->client->credentials)) {
        /* Once until a request succeeds again: fresh temporary credentials. */
        s->token_refreshed = 1;
        reconnect(s, 0);
    } else if (strcmp(type, "InvalidEndpointException") == 0) {
        forget_endpoint(s);
        backoff(s, 0);
    } else if (status >= 500) {
        backoff(s, 0);
    } else {
        if (strcmp(type, "ExpiredTokenException") == 0) {
            size_t n = strlen(s->error);
            snprintf(s->error + n, sizeof s->error - n, "%s",
                     s->token_refreshed ? " (also with refreshed credentials)"
                                        : " (these credentials cannot be refreshed: renew them)");
        }
        fail(s, KVSP_ERR_SERVICE); /* 403, 404 and other client errors: retrying cannot help */
    }
}

/* GetDataEndpoint answered (or failed to): GetMedia comes next. */
static void endpoint_done(consumer_stream *s, CURLcode result)
{
    if (result != CURLE_OK) {
        char why[CURL_ERROR_SIZE + 200];
        kvsp_http_failure(s->easy, result, s->owner->client->control_url, s->curl_error, why,
                          sizeof why);
        note(s, "%s/getDataEndpoint: %s", s->owner->client->control_url, why);
        s->stats.network_errors++;
        /* Never reached: a wrong endpoint or no network, not a glitch. */
        if (s->reached)
            backoff(s, 0);
        else
            fail(s, KVSP_ERR_NETWORK);
        return;
    }
    json_t *doc = s->answer_len ? json_loads(s->answer, 0, NULL) : NULL;
    const char *url = json_string_value(json_object_get(doc, "DataEndpoint"));
    char *copy = url ? kvsp_ext_strdup(url) : NULL;
    json_decref(doc);
    if (!copy) {
        note(s, "GetDataEndpoint: no DataEndpoint in the answer");
        s->stats.service_errors++;
        backoff(s, 0);
        return;
    }
    size_t n = strlen(copy);
    while (n && copy[n - 1] == '/')
        copy[--n] = '\0';
    kvsp_ext_free(s->endpoint);
    s->endpoint = copy;
    s->stats.data_endpoint = copy;
    s->endpoint_at = kvsp_client_now();
    s->stats.state = KVSP_STREAM_BACKOFF; /* connects at once */
    s->wake_at = 0;
}

void kvsp_stream_done(consumer_stream *s, CURLcode result)
{
    kvsp_consumer *c = s->owner;
    long status = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(c->multi, s->easy);
    s->in_multi = 0;
    kvsp_http_headers_free(s->headers);
    s->headers = NULL;
    if (status != 0)
        s->reached = 1;
    if (status == 200)
        s->token_refreshed = 0;
    if (s->fail_status) {
        fail(s, s->fail_status);
        return;
    }
    if (status != 200 && status != 0) {
        kvsp_splitter_reset(&s->split);
        service_answer(s, status);
        return;
    }
    if (s->phase == PHASE_ENDPOINT) {
        endpoint_done(s, result);
        return;
    }
    if (result != CURLE_OK && !s->retry_soon) {
        /* Cut off: the partial fragment goes, the stream resumes. */
        s->stats.dropped_bytes += kvsp_splitter_reset(&s->split);
        if (s->stalled)
            note(s, "no data for %.1f s (stall timeout): reconnecting",
                 (double)c->client->stall_timeout_ms / 1000.0);
        else {
            char why[CURL_ERROR_SIZE + 200];
            kvsp_http_failure(s->easy, result, s->endpoint ? s->endpoint : "", s->curl_error, why,
                              sizeof why);
            note(s, "%s/getMedia: %s", s->endpoint ? s->endpoint : "(no data endpoint)",
                 why); /* the host: which of the endpoints failed */
        }
        s->stats.network_errors++;
        s->stats.reconnects++;
        backoff(s, 0);
        return;
    }
    if (s->retry_soon) {
        s->stats.dropped_bytes += kvsp_splitter_reset(&s->split);
        s->stats.reconnects++;
        backoff(s, 0);
        return;
    }
    size_t pending = s->split.len;
    int partial = kvsp_splitter_end_of_response(&s->split, deliver, s);
    if (s->fail_status || partial < 0) {
        fail(s, s->fail_status ? s->fail_status : partial);
        return;
    }
    if (partial) {
        /* A clean end inside a fragment is a cut, not the end. */
        s->stats.dropped_bytes += pending;
        note(s, "the response ended inside a fragment");
        s->stats.network_errors++;
        s->stats.reconnects++;
        backoff(s, 0);
    } else if (s->opts.follow) {
        /* Live: ask again; wait a little when nothing new came. */
        reconnect(s, s->delivered_this_response ? 0 : 500);
    } else {
        s->stats.state = KVSP_STREAM_DONE;
    }
}

long kvsp_streams_check_stalls(kvsp_consumer *c, int give_up)
{
    long limit = c->client->stall_timeout_ms, next = -1;
    if (limit <= 0)
        return -1;
    double now = kvsp_client_now();
    for (size_t i = 0; i < c->count; i++) {
        consumer_stream *s = c->streams[i];
        if (!s->in_multi)
            continue;
        double idle_ms = (now - s->last_byte_at) * 1000.0;
        if (idle_ms < (double)limit || !give_up) {
            long left = idle_ms < (double)limit ? (long)((double)limit - idle_ms) + 1 : 0;
            if (next < 0 || left < next)
                next = left;
            continue;
        }
        s->stalled = 1;
        s->stats.stalls++;
        kvsp_stream_done(s, CURLE_OPERATION_TIMEDOUT); /* takes it off the multi handle */
    }
    return next;
}

void kvsp_stream_free(consumer_stream *s)
{
    if (!s)
        return;
    if (s->easy)
        curl_easy_cleanup(s->easy);
    kvsp_http_headers_free(s->headers);
    kvsp_splitter_free(&s->split);
    kvsp_reader_destroy(s->own_reader);
    kvsp_ext_free(s->answer);
    kvsp_ext_free(s->endpoint);
    kvsp_ext_free(s->name);
    kvsp_ext_free(s->start_value);
    kvsp_ext_free(s);
}
