/* The one HTTP transfer of the client library (see http_transfer.h). */
#include "http_transfer.h"

#include <errno.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <string.h>

#include "../alloc_internal.h"
#include "aws_config.h"
#include "client_settings.h"
#include "retry.h"

typedef struct progress {
    kvsp_http_transfer *t;
    CURL *easy;
    curl_off_t down, up;  /* as last seen by on_progress */
    double last_activity; /* monotonic seconds */
    size_t cap;           /* of t->response */
} progress;

/* libcurl calls this about once a second while nothing moves: the stall
 * timer, with no thread and no busy wait. */
static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    progress *p = user;
    double now = kvsp_client_now();
    if (dlnow != p->down || ulnow != p->up) {
        p->down = dlnow;
        p->up = ulnow;
        p->last_activity = now;
        return 0;
    }
    long limit = p->t->stall_timeout_ms;
    if (limit > 0 && (now - p->last_activity) * 1000.0 >= (double)limit) {
        p->t->stalled = 1;
        return 1; /* CURLE_ABORTED_BY_CALLBACK */
    }
    return 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    progress *p = user;
    p->last_activity = kvsp_client_now();
    kvsp_http_error_type_header(data, size * n, p->t->error_type, sizeof p->t->error_type);
    return size * n;
}

static int collect(progress *p, const char *data, size_t len)
{
    kvsp_http_transfer *t = p->t;
    if (len > t->max_collect - t->response_len) {
        t->too_large = 1;
        return -1;
    }
    if (t->response_len + len + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 1024;
        while (cap < t->response_len + len + 1)
            cap *= 2;
        char *bigger = kvsp_ext_realloc(t->response, cap);
        if (!bigger) {
            t->nomem = 1;
            return -1;
        }
        t->response = bigger;
        p->cap = cap;
    }
    memcpy(t->response + t->response_len, data, len);
    t->response_len += len;
    t->response[t->response_len] = '\0';
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    progress *p = user;
    kvsp_http_transfer *t = p->t;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200 && t->stream) {
        if (t->stream(t->user, data, len) < 0) {
            t->stream_failed = 1;
            return 0; /* aborts the transfer */
        }
        t->delivered += len;
        return len;
    }
    return collect(p, data, len) == 0 ? len : 0;
}

void kvsp_http_setup(CURL *easy, const kvsp_http_transfer *t)
{
    curl_easy_reset(easy);
    curl_easy_setopt(easy, CURLOPT_URL, t->url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
    if (strcmp(t->method, "POST") == 0) {
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, t->body ? t->body : "");
    } else if (strcmp(t->method, "PUT") == 0) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, 0L);
    }
    if (t->connect_timeout_ms > 0)
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
    if (t->timeout_ms > 0)
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, t->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    if (t->ca_bundle)
        curl_easy_setopt(easy, CURLOPT_CAINFO, t->ca_bundle);
    if (!t->direct) {
        /* Set here rather than left to libcurl, which reads the variables
         * differently (only lower-case http_proxy, and ALL_PROXY). */
        const char *proxy, *no_proxy;
        kvsp_proxy_for(t->url, &proxy, &no_proxy);
        curl_easy_setopt(easy, CURLOPT_PROXY, proxy);
        curl_easy_setopt(easy, CURLOPT_NOPROXY, no_proxy);
    } else {
        curl_easy_setopt(easy, CURLOPT_PROXY, "");
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    }
}

void kvsp_http_set_receivers(CURL *easy, curl_write_callback header_cb, curl_write_callback body_cb,
                             void *user, char *curl_error)
{
    curl_error[0] = '\0';
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, user);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, user);
}

CURLcode kvsp_http_transfer_run(CURL *easy, kvsp_http_transfer *t)
{
    progress p;
    memset(&p, 0, sizeof p);
    p.t = t;
    p.easy = easy;
    p.last_activity = kvsp_client_now();
    kvsp_http_setup(easy, t);
    kvsp_http_set_receivers(easy, on_header, on_body, &p, t->curl_error);
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &p);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    t->result = curl_easy_perform(easy);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t->status);
    t->received = (uint64_t)p.down;
    /* The handle outlives the transfer (kept-alive connections). */
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
    return t->result;
}

/* What the verification result means for the user: whom to trust, or
 * which certificate to renew. */
static const char *verify_reason(long v)
{
    switch (v) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED: return "certificate not trusted";
    case X509_V_ERR_CERT_HAS_EXPIRED: return "certificate expired";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "certificate not yet valid";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return "host name mismatch";
    default: return "certificate rejected";
    }
}

static int tls_failure(CURL *easy, CURLcode rc, const char *curl_error, char *out, size_t out_size)
{
    if (rc != CURLE_PEER_FAILED_VERIFICATION && rc != CURLE_SSL_CONNECT_ERROR &&
        rc != CURLE_SSL_CACERT_BADFILE && rc != CURLE_SSL_CERTPROBLEM)
        return 0;
    long v = X509_V_OK;
    curl_easy_getinfo(easy, CURLINFO_SSL_VERIFYRESULT, &v);
    if (rc == CURLE_PEER_FAILED_VERIFICATION && strstr(curl_error, "host name")) {
        /* libcurl checks the name itself after OpenSSL accepted the chain
         * ("no alternative certificate subject name matches target host
         * name"), leaving an unspecified verification result. */
        snprintf(out, out_size, "TLS host name mismatch: %s (%s)", curl_error,
                 curl_easy_strerror(rc));
    } else if (v != X509_V_OK && v != X509_V_ERR_UNSPECIFIED) {
        snprintf(out, out_size, "TLS %s: %s (%s)", verify_reason(v),
                 X509_verify_cert_error_string(v), curl_easy_strerror(rc));
    } else if (rc == CURLE_SSL_CACERT_BADFILE) {
        snprintf(out, out_size, "TLS: cannot use the CA bundle: %s (%s)", curl_error,
                 curl_easy_strerror(rc));
    } else {
        snprintf(out, out_size, "TLS: %s (%s)", *curl_error ? curl_error : "handshake failed",
                 curl_easy_strerror(rc));
    }
    return 1;
}

/* libcurl's message for a refused connection names the address it tried,
 * "Failed to connect to HOST port PORT ...": when that is the proxy's,
 * the proxy is down, not the service. */
static int proxy_failure(CURL *easy, CURLcode rc, const char *url, const char *curl_error,
                         char *out, size_t out_size)
{
    const char *proxy, *no_proxy;
    kvsp_proxy_for(url, &proxy, &no_proxy);
    if (!*proxy || (rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_PROXY &&
                    rc != CURLE_OPERATION_TIMEDOUT))
        return 0;
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *scheme = NULL;
    int named = 0;
    if (u && curl_url_set(u, CURLUPART_URL, proxy, CURLU_GUESS_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
        /* without one, libcurl's proxy port is 1080 (443 for an https proxy), not the scheme's */
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
            port = NULL;
        const char *p = port ? port : strcmp(scheme, "https") == 0 ? "443" : "1080";
        char tried[600];
        snprintf(tried, sizeof tried, "to %s port %s ", host, p);
        if (rc == CURLE_COULDNT_RESOLVE_PROXY) {
            snprintf(out, out_size, "proxy %s:%s: cannot resolve the host (%s)", host, p,
                     curl_easy_strerror(rc));
            named = 1;
        } else if (strstr(curl_error, tried)) {
            long err = 0;
            curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &err);
            snprintf(out, out_size, "proxy %s:%s: %s (%s)", host, p,
                     err == ECONNREFUSED ? "connection refused"
                     : err               ? strerror((int)err)
                                         : "cannot connect",
                     curl_easy_strerror(rc));
            named = 1;
        }
    }
    curl_free(host);
    curl_free(port);
    curl_free(scheme);
    curl_url_cleanup(u);
    return named;
}

void kvsp_http_failure(CURL *easy, CURLcode rc, const char *url, const char *curl_error, char *out,
                       size_t out_size)
{
    if (!curl_error)
        curl_error = "";
    if (tls_failure(easy, rc, curl_error, out, out_size) ||
        proxy_failure(easy, rc, url, curl_error, out, out_size))
        return;
    snprintf(out, out_size, "%s", curl_easy_strerror(rc));
}

void kvsp_http_transfer_reset(kvsp_http_transfer *t, int wipe)
{
    if (t->response && wipe)
        kvsp_wipe(t->response, t->response_len);
    kvsp_ext_free(t->response);
    t->result = CURLE_OK;
    t->status = 0;
    t->response = NULL;
    t->response_len = 0;
    t->error_type[0] = '\0';
    t->curl_error[0] = '\0';
    t->delivered = t->received = 0;
    t->stalled = t->stream_failed = t->too_large = t->nomem = 0;
}

void kvsp_http_headers_free(struct curl_slist *headers)
{
    for (struct curl_slist *l = headers; l; l = l->next)
        kvsp_wipe(l->data, strlen(l->data));
    curl_slist_free_all(headers);
}
