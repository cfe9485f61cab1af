#ifndef KVSP_HTTP_TRANSFER_H
#define KVSP_HTTP_TRANSFER_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "kvsparser/client.h"

/* One HTTP request on a libcurl easy handle: the transfer code of both the
 * signed KVS calls (http_call.c) and the metadata requests of the
 * credential chain (metadata_http.c). The callers build the request and
 * turn what happened into their own messages; setting up the handle,
 * collecting or streaming the body, the error-type header and the stall
 * timer live here once.
 *
 * The request fields are read; the result fields are written by
 * kvsp_http_transfer_run. */
typedef struct kvsp_http_transfer {
    /* request */
    const char *method; /* "POST" (body below), "GET" or "PUT" (empty body) */
    const char *url;
    const struct curl_slist *headers;
    const char *body;        /* POST: NUL-terminated, copied by libcurl */
    long connect_timeout_ms; /* 0: libcurl's */
    long timeout_ms;         /* the whole transfer; 0: none */
    long stall_timeout_ms;   /* nothing received for this long: given up; <= 0: never */
    const char *ca_bundle;   /* NULL: the system's */
    /* For link-local metadata endpoints: no proxy (it would not reach them
     * and would see the tokens), no redirects (they would carry the tokens
     * elsewhere), http and https only. */
    int direct;
    /* A 200 response's body goes here as it arrives (return < 0 to stop);
     * NULL, and for other statuses, it is collected into `response`. */
    kvsp_body_cb stream;
    void *user;
    size_t max_collect; /* a longer collected body stops the transfer (too_large) */

    /* result */
    CURLcode result;
    long status; /* 0 when no response came */
    /* collected body, NUL-terminated, or NULL; kvsp_http_transfer_free */
    char *response;
    size_t response_len;
    char error_type[128];             /* from x-amzn-ErrorType, or "" */
    char curl_error[CURL_ERROR_SIZE]; /* libcurl's detailed message, or "" */
    uint64_t delivered;               /* body bytes handed to `stream` */
    uint64_t received;                /* body bytes received, as libcurl counts them */
    int stalled;                      /* given up by the stall timeout */
    int stream_failed;                /* `stream` asked to stop */
    int too_large;
    int nomem; /* collecting the body ran out of memory */
} kvsp_http_transfer;

/* Sets up the easy handle for the request (after curl_easy_reset): method,
 * URL, headers, body, timeouts, CA bundle, `direct`. For callers that
 * drive the handle themselves (the consumer, on a multi handle). */
void kvsp_http_setup(CURL *easy, const kvsp_http_transfer *t);

/* The response's receivers on a handle (every transfer of the client sets
 * the same four options and libcurl's error buffer, which is emptied):
 * header_cb and body_cb get `user`. */
void kvsp_http_set_receivers(CURL *easy, curl_write_callback header_cb, curl_write_callback body_cb,
                             void *user, char *curl_error);

/* Sets up the handle, performs the request and fills the result fields.
 * Returns t->result. */
CURLcode kvsp_http_transfer_run(CURL *easy, kvsp_http_transfer *t);

/* Why a transfer on `easy` to `url` failed with rc, in words that say
 * what to fix: for TLS failures the reason (certificate not trusted,
 * expired, host name mismatch) from the verification result and libcurl's
 * message `curl_error` (its CURLOPT_ERRORBUFFER; may be ""); for a proxy
 * that cannot be reached, the proxy. Otherwise libcurl's text for rc,
 * which callers' messages have always had. */
void kvsp_http_failure(CURL *easy, CURLcode rc, const char *url, const char *curl_error, char *out,
                       size_t out_size);

/* Frees the collected body (wiping it first when it may hold secrets) and
 * clears the result fields, for another attempt. */
void kvsp_http_transfer_reset(kvsp_http_transfer *t, int wipe);

/* The exception name from an x-amzn-ErrorType header line, if it is one. */
void kvsp_http_error_type_header(const char *data, size_t len, char *out, size_t out_size);

/* Frees a header list, wiping each line first (signatures, tokens). */
void kvsp_http_headers_free(struct curl_slist *headers);

#endif
