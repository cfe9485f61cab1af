/* Signed JSON POSTs on the client's transfer (http_transfer.c), with the
 * one-shot retries. The media bodies are not buffered: each chunk libcurl
 * receives goes straight to the caller. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "kvsparser/sigv4.h"
#include "retry.h"

#define MAX_COLLECTED (4u << 20) /* error bodies and JSON answers */
/* One-shot calls: attempts of a request that stalled or was cut before
 * any body byte reached the caller, and the pause before the second
 * (doubled before the third). */
#define ATTEMPTS 3
#define RETRY_PAUSE_MS 250

/* Host header and signed path of the request URL as curl will send it: the
 * path includes the endpoint's own, when it has one ("http://h/prefix"). */
static int host_and_path_of(const char *url, char *host, size_t host_cap, char *path,
                            size_t path_cap)
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

static struct curl_slist *signed_headers(kvsp_client *c, const char *path, const char *json,
                                         const char *host, int *status)
{
    const kvsp_credentials *cred;
    *status = kvsp_credential_provider_get(c->credentials, &cred);
    if (*status < 0) {
        /* cut where it always was: messages of long chains stay the same */
        kvsp_client_fail(c, *status, "no AWS credentials: %.*s", (int)sizeof c->error - 33,
                         kvsp_credential_provider_error_message(c->credentials));
        return NULL;
    }
    char date[17];
    kvsp_sigv4_now(date);
    kvsp_sigv4_header h[4] = {{"host", host},
                              {"content-type", "application/json"},
                              {"x-amz-date", date},
                              {"x-amz-security-token", cred->session_token}};
    kvsp_sigv4_request req = {
        "POST",    path,           NULL, h, cred->session_token ? 4 : 3, json, strlen(json),
        c->region, "kinesisvideo", date, 1};
    kvsp_sigv4_credentials keys = {cred->access_key_id, cred->secret_access_key,
                                   cred->session_token};
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
    c->error_status =
        kvsp_http_error_message(c->error, sizeof c->error, call->error_type,
                                sizeof call->error_type, call->status, call->response);
    snprintf(c->error_exception, sizeof c->error_exception, "%s", call->error_type);
    return c->error_status;
}

/* The request URL (base_url + path) and its signed headers. */
static struct curl_slist *signed_request(kvsp_client *c, const char *base_url, const char *path,
                                         const char *json, char *url, size_t url_size, int *status)
{
    char host[512], signed_path[1024];
    snprintf(url, url_size, "%s%s", base_url, path);
    if (host_and_path_of(url, host, sizeof host, signed_path, sizeof signed_path) != 0) {
        *status = kvsp_client_fail(c, KVSP_ERR_INVALID_ARG, "bad endpoint URL %s", base_url);
        return NULL;
    }
    struct curl_slist *headers = signed_headers(c, signed_path, json, host, status);
    if (headers && c->log) {
        char line[1200];
        snprintf(line, sizeof line, "POST %s", url); /* no headers: they carry the signature */
        c->log(c->log_user, line);
    }
    return headers;
}

static void describe(kvsp_client *c, kvsp_http_transfer *t, const char *url,
                     const struct curl_slist *headers, const char *json)
{
    memset(t, 0, sizeof *t);
    t->method = "POST";
    t->url = url;
    t->headers = headers;
    t->body = json;
    t->connect_timeout_ms = c->connect_timeout_ms;
    t->stall_timeout_ms = c->stall_timeout_ms;
    t->ca_bundle = c->ca_bundle;
    t->max_collect = MAX_COLLECTED;
}

struct curl_slist *kvsp_http_prepare(kvsp_client *c, CURL *curl, const char *base_url,
                                     const char *path, const char *json, int *status)
{
    char url[1024];
    struct curl_slist *headers = signed_request(c, base_url, path, json, url, sizeof url, status);
    if (!headers)
        return NULL;
    kvsp_http_transfer t;
    describe(c, &t, url, headers, json);
    kvsp_http_setup(curl, &t);
    *status = KVSP_OK;
    return headers;
}

/* Reason phrase of the statuses the service and proxies answer with, for the --verbose log. */
static const char *status_text(long status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status >= 200 && status < 300 ? "OK" : "";
    }
}

/* One attempt of the call; *t tells what happened. */
static int post_once(kvsp_client *c, http_call *call, kvsp_http_transfer *t)
{
    int st;
    char url[1024];
    struct curl_slist *headers =
        signed_request(c, call->base_url, call->path, call->json, url, sizeof url, &st);
    describe(c, t, url, headers, call->json);
    if (!headers)
        return st;
    t->stream = call->body;
    t->user = call->user;
    CURLcode rc = kvsp_http_transfer_run(c->curl, t);
    kvsp_http_headers_free(headers);
    call->status = t->status;
    call->response = t->response;
    call->response_len = t->response_len;
    t->response = NULL;
    memcpy(call->error_type, t->error_type, sizeof call->error_type);
    c->http_status = call->status;
    if (c->log) {
        char line[256];
        /* curl says "No error" for a complete 4xx/5xx answer: name the status and the AWS exception
         * instead. */
        if (!t->stalled && rc == CURLE_OK)
            snprintf(line, sizeof line, "HTTP %ld %s%s%s", call->status, status_text(call->status),
                     call->error_type[0] ? " " : "", call->error_type);
        else
            snprintf(line, sizeof line, "HTTP %ld (%s)", call->status,
                     t->stalled ? "stalled" : curl_easy_strerror(rc));
        c->log(c->log_user, line);
    }
    if (t->stream_failed)
        return kvsp_client_fail(c, KVSP_ERR_CALLBACK, "stopped by the consumer of the response");
    if (t->too_large)
        return kvsp_client_fail(c, KVSP_ERR_SERVICE, "%s%s: the response is larger than %u bytes",
                                call->base_url, call->path, MAX_COLLECTED);
    if (t->nomem)
        return kvsp_client_fail(c, KVSP_ERR_NOMEM, "%s%s: out of memory for the response",
                                call->base_url, call->path);
    if (t->stalled)
        return kvsp_client_fail(
            c, KVSP_ERR_NETWORK,
            "%s%s: no data for %.1f s (stall timeout) after %llu bytes of the response",
            call->base_url, call->path, (double)c->stall_timeout_ms / 1000.0,
            (unsigned long long)t->received);
    if (rc != CURLE_OK && !(call->status >= 300 && rc == CURLE_WRITE_ERROR)) {
        char why[CURL_ERROR_SIZE + 200];
        kvsp_http_failure(c->curl, rc, url, t->curl_error, why, sizeof why);
        return kvsp_client_fail(c, KVSP_ERR_NETWORK, "%s%s: %s after %llu bytes of the response",
                                call->base_url, call->path, why, (unsigned long long)t->received);
    }
    if (call->status != 200)
        return service_error(c, call);
    return KVSP_OK;
}

/* Failures of a request that reached the server: worth another attempt
 * when nothing of the body has gone to the caller yet. */
static int retryable(const kvsp_http_transfer *t)
{
    CURLcode rc = t->result;
    if (t->delivered || t->stream_failed || t->too_large || t->nomem)
        return 0;
    return t->stalled || rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR;
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
        kvsp_http_transfer t;
        int rc = post_once(c, call, &t);
        if (rc == KVSP_ERR_NETWORK && attempt < ATTEMPTS && retryable(&t)) {
            reset_call(call);
            kvsp_sleep_ms(
                kvsp_backoff_ms(attempt, RETRY_PAUSE_MS, RETRY_PAUSE_MS * ATTEMPTS, NULL));
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
