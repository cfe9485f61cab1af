/* Signed JSON POSTs with libcurl. The media bodies are not buffered: each
 * chunk libcurl receives goes straight to the caller. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "kvsparser/sigv4.h"
#include "retry.h"

#define MAX_COLLECTED (4u << 20)
/* One-shot calls: attempts of a request that stalled or was cut before
 * any body byte reached the caller, and the pause before the second
 * (doubled before the third). */
#define ATTEMPTS 3
#define RETRY_PAUSE_MS 250

typedef struct transfer {
    kvsp_client *c;
    http_call *call;
    int body_failed;
    int too_large;
    uint64_t delivered;     /* body bytes handed to call->body */
    curl_off_t down, up;    /* as last seen by on_progress */
    double last_activity;   /* monotonic seconds */
    int stalled;
} transfer;

/* libcurl calls this about once a second while nothing moves: the stall
 * timer, with no thread and no busy wait. */
static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    transfer *t = user;
    double now = kvsp_client_now();
    if (dlnow != t->down || ulnow != t->up) {
        t->down = dlnow;
        t->up = ulnow;
        t->last_activity = now;
        return 0;
    }
    long limit = t->c->stall_timeout_ms;
    if (limit > 0 && (now - t->last_activity) * 1000.0 >= (double)limit) {
        t->stalled = 1;
        return 1; /* CURLE_ABORTED_BY_CALLBACK */
    }
    return 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    transfer *t = user;
    t->last_activity = kvsp_client_now();
    kvsp_http_error_type_header(data, size * n, t->call->error_type, sizeof t->call->error_type);
    return size * n;
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    transfer *t = user;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(t->c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200 && t->call->body) {
        if (t->call->body(t->call->user, data, len) < 0) {
            t->body_failed = 1;
            return 0; /* aborts the transfer */
        }
        t->delivered += len;
        return len;
    }
    http_call *call = t->call;
    if (call->response_len + len > MAX_COLLECTED) {
        t->too_large = 1;
        return 0;
    }
    char *bigger = kvsp_ext_realloc(call->response, call->response_len + len + 1);
    if (!bigger)
        return 0;
    call->response = bigger;
    memcpy(call->response + call->response_len, data, len);
    call->response_len += len;
    call->response[call->response_len] = '\0';
    return len;
}

/* Host header and signed path of the request URL as curl will send it: the
 * path includes the endpoint's own, when it has one ("http://h/prefix"). */
static int host_and_path_of(const char *url, char *host, size_t host_cap, char *path, size_t path_cap)
{
    CURLU *u = curl_url();
    char *h = NULL, *port = NULL, *p = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &p, 0) == CURLUE_OK && strlen(p) < path_cap) {
        curl_url_get(u, CURLUPART_PORT, &port, 0); /* only when given explicitly */
        snprintf(host, host_cap, port ? "%s:%s" : "%s", h, port ? port : "");
        snprintf(path, path_cap, "%s", p);
        rc = 0;
    }
    curl_free(h);
    curl_free(port);
    curl_free(p);
    curl_url_cleanup(u);
    return rc;
}

static struct curl_slist *signed_headers(kvsp_client *c, const char *path, const char *json, const char *host,
                                         int *status)
{
    const kvsp_credentials *cred;
    char why[sizeof c->error - 32];
    *status = kvsp_credential_provider_get(c->credentials, &cred, why, sizeof why);
    if (*status < 0) {
        kvsp_client_fail(c, *status, "no AWS credentials: %s", why);
        return NULL;
    }
    char date[17];
    kvsp_sigv4_now(date);
    kvsp_sigv4_header h[4] = {{"host", host}, {"content-type", "application/json"}, {"x-amz-date", date},
                              {"x-amz-security-token", cred->session_token}};
    kvsp_sigv4_request req = {"POST", path, NULL, h, cred->session_token ? 4 : 3, json,
                              strlen(json), c->region, "kinesisvideo", date, 1};
    kvsp_sigv4_credentials keys = {cred->access_key_id, cred->secret_access_key, cred->session_token};
    kvsp_sigv4_result sig;
    memset(&sig, 0, sizeof sig);
    *status = kvsp_sigv4_sign(&req, &keys, &sig);
    if (*status < 0) {
        kvsp_sigv4_result_free(&sig);
        kvsp_client_fail(c, *status, "cannot sign the request");
        return NULL;
    }
    char line[2048];
    struct curl_slist *list = NULL;
    snprintf(line, sizeof line, "Host: %s", host);
    list = curl_slist_append(list, line);
    list = curl_slist_append(list, "Content-Type: application/json");
    snprintf(line, sizeof line, "X-Amz-Date: %s", date);
    list = curl_slist_append(list, line);
    if (cred->session_token) {
        snprintf(line, sizeof line, "X-Amz-Security-Token: %s", cred->session_token);
        list = curl_slist_append(list, line);
    }
    snprintf(line, sizeof line, "Authorization: %s", sig.authorization);
    list = curl_slist_append(list, line);
    list = curl_slist_append(list, "Expect:");
    kvsp_sigv4_result_free(&sig);
    return list;
}

static int service_error(kvsp_client *c, http_call *call)
{
    return kvsp_http_error_message(c->error, sizeof c->error, call->error_type, sizeof call->error_type, call->status,
                              call->response);
}

struct curl_slist *kvsp_http_prepare(kvsp_client *c, CURL *curl, const char *base_url, const char *path,
                                const char *json, int *status)
{
    char host[512], url[1024], signed_path[1024];
    snprintf(url, sizeof url, "%s%s", base_url, path);
    if (host_and_path_of(url, host, sizeof host, signed_path, sizeof signed_path) != 0) {
        *status = kvsp_client_fail(c, KVSP_ERR_INVALID_ARG, "bad endpoint URL %s", base_url);
        return NULL;
    }
    struct curl_slist *headers = signed_headers(c, signed_path, json, host, status);
    if (!headers)
        return NULL;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_COPYPOSTFIELDS, json);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (c->ca_bundle)
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_bundle);
    if (c->log) {
        char line[1200];
        snprintf(line, sizeof line, "POST %s", url); /* no headers: they carry the signature */
        c->log(c->log_user, line);
    }
    *status = KVSP_OK;
    return headers;
}

/* One attempt of the call; *t tells what happened. */
static int post_once(kvsp_client *c, http_call *call, transfer *t, CURLcode *result)
{
    int st;
    CURL *curl = c->curl;
    struct curl_slist *headers = kvsp_http_prepare(c, curl, call->base_url, call->path, call->json, &st);
    *result = CURLE_OK;
    if (!headers)
        return st;
    memset(t, 0, sizeof *t);
    t->c = c;
    t->call = call;
    t->last_activity = kvsp_client_now();
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    CURLcode rc = curl_easy_perform(curl);
    *result = rc;
    curl_slist_free_all(headers);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &call->status);
    c->http_status = call->status;
    if (c->log) {
        char line[256];
        snprintf(line, sizeof line, "HTTP %ld (%s)", call->status, t->stalled ? "stalled" : curl_easy_strerror(rc));
        c->log(c->log_user, line);
    }
    if (t->body_failed)
        return kvsp_client_fail(c, KVSP_ERR_CALLBACK, "stopped by the consumer of the response");
    if (t->too_large)
        return kvsp_client_fail(c, KVSP_ERR_SERVICE, "%s%s: the response is larger than %u bytes", call->base_url,
                           call->path, MAX_COLLECTED);
    if (t->stalled)
        return kvsp_client_fail(c, KVSP_ERR_NETWORK, "%s%s: no data for %.1f s (stall timeout) after %llu bytes of the response",
                           call->base_url, call->path, (double)c->stall_timeout_ms / 1000.0,
                           (unsigned long long)t->down);
    if (rc != CURLE_OK && !(call->status >= 300 && rc == CURLE_WRITE_ERROR))
        return kvsp_client_fail(c, KVSP_ERR_NETWORK, "%s%s: %s after %llu bytes of the response", call->base_url,
                           call->path, curl_easy_strerror(rc), (unsigned long long)t->down);
    if (call->status != 200)
        return service_error(c, call);
    return KVSP_OK;
}

/* Failures of a request that reached the server: worth another attempt
 * when nothing of the body has gone to the caller yet. */
static int retryable(const transfer *t, CURLcode rc)
{
    if (t->delivered || t->body_failed || t->too_large)
        return 0;
    return t->stalled || rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_SEND_ERROR;
}

static void reset_call(http_call *call)
{
    kvsp_http_call_free(call);
    call->status = 0;
    call->error_type[0] = '\0';
}

int kvsp_http_post(kvsp_client *c, http_call *call)
{
    int refreshed = 0;
    for (int attempt = 1;; attempt++) {
        transfer t;
        CURLcode result;
        int rc = post_once(c, call, &t, &result);
        if (rc == KVSP_ERR_NETWORK && attempt < ATTEMPTS && retryable(&t, result)) {
            reset_call(call);
            kvsp_sleep_ms(kvsp_backoff_ms(attempt, RETRY_PAUSE_MS, RETRY_PAUSE_MS * ATTEMPTS, NULL));
            continue;
        }
        if (rc == KVSP_ERR_NETWORK && attempt > 1) {
            size_t n = strlen(c->error);
            snprintf(c->error + n, sizeof c->error - n, " (attempt %d of %d)", attempt, ATTEMPTS);
        }
        if (rc == KVSP_ERR_SERVICE && strcmp(call->error_type, "ExpiredTokenException") == 0) {
            /* Once: fresh temporary credentials, or the error as it is. */
            if (!refreshed && kvsp_credential_provider_expire(c->credentials)) {
                refreshed = 1;
                reset_call(call);
                continue;
            }
            size_t n = strlen(c->error);
            snprintf(c->error + n, sizeof c->error - n, "%s",
                     refreshed ? " (also with refreshed credentials)"
                               : " (these credentials cannot be refreshed: renew them)");
        }
        return rc;
    }
}

void kvsp_http_call_free(http_call *call)
{
    kvsp_ext_free(call->response);
    call->response = NULL;
    call->response_len = 0;
}
