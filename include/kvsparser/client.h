#ifndef KVSPARSER_CLIENT_H
#define KVSPARSER_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/credentials.h"
#include "kvsparser/fragment.h"
#include "kvsparser/status.h"
#include "kvsparser/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The KVS media APIs over libcurl (libkvsparser-client): GetDataEndpoint
 * (cached), GetMedia, ListFragments and GetMediaForFragmentList, signed with
 * SigV4. Media bodies are handed to a callback as they arrive, so they can
 * be pushed straight into a kvsp_reader. Errors are KVSP_ERR_NETWORK
 * (connection, TLS, timeout) or KVSP_ERR_SERVICE (an AWS exception); the
 * client keeps the last one: kvsp_client_error and the functions after it
 * give its status, message, HTTP status and exception name.
 *
 * One-shot calls try a request up to 3 times when it stalls or its response
 * is cut (or its chunked encoding is broken) before any body byte went to
 * the caller; once bytes went, the call fails at once (a retry would repeat
 * them). A 403 ExpiredTokenException is retried once after fetching fresh
 * credentials when the provider's can be renewed (ECS, instance metadata);
 * static keys fail at once. */

typedef struct kvsp_client kvsp_client;

/* Zeroed (or NULL) options are the defaults. Strings are read during
 * kvsp_client_create only (ca_bundle is copied). */
typedef struct kvsp_client_options {
    const char *region; /* NULL: AWS_REGION, AWS_DEFAULT_REGION or the profile */
    /* Control plane; NULL: unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS (or
     * the profile's ignore_configured_endpoint_urls) is true,
     * AWS_ENDPOINT_URL_KINESIS_VIDEO, AWS_ENDPOINT_URL, the kinesis_video
     * endpoint_url of the profile's [services] section in the config file,
     * the profile's endpoint_url; else https://kinesisvideo.REGION.amazonaws.com. */
    const char *endpoint_url;
    const char *profile;
    /* NULL: AWS_CA_BUNDLE, the profile's ca_bundle, or the system's. TLS
     * certificates are always verified. Proxies come from https_proxy /
     * http_proxy / no_proxy (lower case first, then upper case), as the
     * AWS CLI reads them. */
    const char *ca_bundle;
    long connect_timeout_ms; /* 0: 10000 */
    /* Request log lines (method, URL, status; never secrets), if set. */
    void (*log)(void *user, const char *line);
    void *log_user;
    /* NULL: the client makes the standard provider chain for `profile`.
     * Borrowed: it must outlive the client. */
    kvsp_credential_provider *credentials;
    /* A transfer that receives nothing (no header or body byte) for this
     * long is given up as stalled: one-shot calls retry it (below), the
     * consumer reconnects from the last complete fragment. 0: 30000; < 0:
     * never. A live stream whose producer is silent sends nothing either;
     * reconnecting then is harmless (nothing is lost or repeated). */
    long stall_timeout_ms;
} kvsp_client_options;

typedef enum kvsp_start_type {
    KVSP_START_NOW = 0,
    KVSP_START_EARLIEST,
    KVSP_START_FRAGMENT_NUMBER,
    KVSP_START_SERVER_TIMESTAMP,
    KVSP_START_PRODUCER_TIMESTAMP,
    KVSP_START_CONTINUATION_TOKEN
} kvsp_start_type;

typedef struct kvsp_start_selector {
    kvsp_start_type type;
    const char *value; /* fragment number or continuation token */
    double timestamp;  /* seconds since the epoch, for the timestamp types */
} kvsp_start_selector;

/* Parses the command-line form: earliest, now, fragment:N, continuation:T,
 * server-ts:SECONDS, producer-ts:SECONDS. out->value points into text (valid
 * as long as it is). KVSP_OK or KVSP_ERR_INVALID_ARG. */
KVSP_API int kvsp_start_selector_parse(const char *text, kvsp_start_selector *out);

/* Media bytes as they arrive; return 0 to go on, negative to stop. */
typedef int (*kvsp_body_cb)(void *user, const void *data, size_t len);

/* A row of ListFragments (the fragment's metadata as listed; what its
 * payload says is a kvsp_fragment). */
typedef struct kvsp_listed_fragment {
    char fragment_number[KVSP_FRAGMENT_NUMBER_MAX + 1];
    int64_t producer_timestamp_ms;
    int64_t server_timestamp_ms;
    int64_t length_ms;
    uint64_t size;
} kvsp_listed_fragment;

typedef enum kvsp_timestamp_type {
    KVSP_TIMESTAMP_NONE = 0, /* all fragments */
    KVSP_TIMESTAMP_SERVER,
    KVSP_TIMESTAMP_PRODUCER
} kvsp_timestamp_type;

/* NULL on failure, with the reason in *err if err is not NULL (no region,
 * out of memory). One client serves one thread at a time. */
KVSP_API kvsp_client *kvsp_client_create(const kvsp_client_options *opts, kvsp_error *err);
/* After every consumer that borrows it. */
KVSP_API void kvsp_client_destroy(kvsp_client *c);

/* Every call below returns KVSP_OK or a negative status, which the client
 * keeps with its message until its next call. stream: a stream name, or an
 * ARN ("arn:..."). The endpoint URL goes into out (NUL-terminated). */
KVSP_API int kvsp_client_get_data_endpoint(kvsp_client *c, const char *stream, const char *api_name,
                                           char *out, size_t out_size);
KVSP_API int kvsp_client_get_media(kvsp_client *c, const char *stream,
                                   const kvsp_start_selector *start, kvsp_body_cb body, void *user);
/* Every page, sorted by fragment number as a number. Free *out with
 * kvsp_client_free (it comes from kvsp_set_allocator's functions). An
 * answer that is not what ListFragments returns (not JSON, no Fragments
 * list, a FragmentNumber that is not a decimal string of at most 63 digits,
 * timestamps that are not numbers) is KVSP_ERR_SERVICE naming the fault. */
KVSP_API int kvsp_client_list_fragments(kvsp_client *c, const char *stream,
                                        kvsp_timestamp_type type, double from, double to,
                                        kvsp_listed_fragment **out, size_t *count);
/* In requests of at most 1,000 fragments, in the order given. */
KVSP_API int kvsp_client_get_media_for_fragment_list(kvsp_client *c, const char *stream,
                                                     const char *const *fragments, size_t count,
                                                     kvsp_body_cb body, void *user);

/* The error of the client's last call: its status (KVSP_OK after a call
 * that succeeded); its message ("ResourceNotFoundException (HTTP 404):
 * Stream x not found", or a network error; "" when none), owned by the
 * client and valid until its next call or its destruction; the HTTP status
 * of the response that failed (0 when none came); the AWS exception name
 * of a service error ("ResourceNotFoundException"; "" otherwise), owned
 * like the message. */
KVSP_API int kvsp_client_error(const kvsp_client *c);
KVSP_API const char *kvsp_client_error_message(const kvsp_client *c);
KVSP_API long kvsp_client_error_http_status(const kvsp_client *c);
KVSP_API const char *kvsp_client_error_exception(const kvsp_client *c);

/* Frees what the client allocated for the caller (the ListFragments
 * records). */
KVSP_API void kvsp_client_free(void *p);

/* Compares two decimal fragment numbers as numbers (<0, 0, >0). */
KVSP_API int kvsp_fragment_number_cmp(const char *a, const char *b);

#ifdef __cplusplus
}
#endif

#endif
