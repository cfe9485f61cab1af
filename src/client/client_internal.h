#ifndef KVSP_CLIENT_INTERNAL_H
#define KVSP_CLIENT_INTERNAL_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "../alloc_internal.h"
#include "http_transfer.h"
#include "kvsparser/client.h"
#include "retry.h"

/* Data endpoints are cached per stream and API. KVS says they stay valid
 * for 45 minutes; they are fetched again a little before that. */
#define ENDPOINT_TTL_S (40 * 60)
#define ENDPOINT_CACHE_SIZE 32

typedef struct endpoint_entry {
    char *stream;
    char *api;
    char *url;
    time_t fetched;
} endpoint_entry;

struct kvsp_client {
    CURL *curl; /* reused: keeps connections alive between calls */
    char region[64];
    char *control_url;
    char *ca_bundle;
    long connect_timeout_ms;
    long stall_timeout_ms; /* <= 0: none */
    void (*log)(void *user, const char *line);
    void *log_user;
    kvsp_credential_provider *credentials;
    int own_credentials;
    endpoint_entry endpoints[ENDPOINT_CACHE_SIZE];
    int error_status;          /* kvsp_client_error */
    char error[512];           /* its message */
    char error_exception[128]; /* the AWS exception name of a service error */
    long http_status;          /* of the last response, 0 if none */
};

/* One signed POST of a JSON body. With `body` set, a 200 response's bytes
 * go to it as they arrive; otherwise (and for errors) the response is
 * collected into `response` (at most 4 MiB). */
typedef struct http_call {
    const char *base_url; /* scheme://host[:port] */
    const char *path;     /* "/getMedia" */
    const char *json;
    kvsp_body_cb body;
    void *user;
    char *response;
    size_t response_len;
    long status;
    char error_type[128];
} http_call;

/* Retries a stalled or cut request (nothing of the body delivered yet) up
 * to 3 times, and an ExpiredTokenException once with fresh credentials. */
int kvsp_http_post(kvsp_client *c, http_call *call);
/* Sets up a signed POST on any easy handle (for the multi interface);
 * returns the header list to free after the transfer, or NULL with *status. */
struct curl_slist *kvsp_http_prepare(kvsp_client *c, CURL *curl, const char *base_url,
                                     const char *path, const char *json, int *status);
/* "Name (HTTP status): message" from an error response; KVSP_ERR_SERVICE. */
int kvsp_http_error_message(char *out, size_t out_size, char *error_type, size_t type_size,
                            long status, const char *body);
void kvsp_http_call_free(http_call *call);

/* Sets the client's error (status and message, no exception name) and
 * returns the status. */
int kvsp_client_fail(kvsp_client *c, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* At the start of each public call: no error yet. */
void kvsp_client_clear_error(kvsp_client *c);
/* Fills an optional kvsp_error; returns status. */
int kvsp_error_set(kvsp_error *err, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The data endpoint for stream and API, from the cache or GetDataEndpoint. */
int kvsp_endpoint_for(kvsp_client *c, const char *stream, const char *api, const char **url);
void kvsp_endpoint_forget(kvsp_client *c, const char *stream, const char *api);

/* kvsp_client_list_fragments, with each page tried up to `attempts` times
 * when throttled (the range reader). */
int kvsp_list_fragments_retrying(kvsp_client *c, const char *stream, kvsp_timestamp_type type,
                                 double from, double to, kvsp_listed_fragment **out, size_t *count,
                                 int attempts);

/* {"StreamName": s}, or {"StreamARN": s} for an ARN. */
json_t *kvsp_stream_body(const char *stream);
/* The GetMedia request body. */
json_t *kvsp_get_media_request(const char *stream, const kvsp_start_selector *start);

#endif
