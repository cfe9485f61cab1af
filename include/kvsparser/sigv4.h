#ifndef KVSPARSER_SIGV4_H
#define KVSPARSER_SIGV4_H

#include <stddef.h>

#include "kvsparser/export.h"
#include "kvsparser/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* AWS Signature Version 4 (libkvsparser-client, OpenSSL EVP). Used by the
 * KVS client to sign requests and by kvsp serve to check them. */

typedef struct kvsp_sigv4_header {
    const char *name; /* as sent; canonicalised (lower case, trimmed) when signing */
    const char *value;
} kvsp_sigv4_header;

typedef struct kvsp_sigv4_request {
    const char *method;               /* "GET", "POST" */
    const char *path;                 /* raw request path as sent, e.g. "/getMedia" or "/a/../b" */
    const char *query;                /* raw query string without '?', or NULL */
    const kvsp_sigv4_header *headers; /* every header to sign, host included */
    size_t header_count;
    const void *payload;
    size_t payload_size;
    const char *region;   /* "us-west-2" */
    const char *service;  /* "kinesisvideo" */
    const char *amz_date; /* "20150830T123600Z", the X-Amz-Date value */
    int normalize_path;   /* remove . and .. segments and duplicate slashes (all services but S3) */
} kvsp_sigv4_request;

typedef struct kvsp_sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL if none */
} kvsp_sigv4_credentials;

/* The intermediate and final results, all NUL-terminated, owned by the
 * caller (kvsp_sigv4_result_free). The secret never appears in them. */
typedef struct kvsp_sigv4_result {
    char *canonical_request;
    char *string_to_sign;
    char *signed_headers; /* "host;x-amz-date" */
    char signature[65];   /* lower-case hex */
    char payload_hash[65];
    char *authorization; /* the Authorization header value */
} kvsp_sigv4_result;

/* Signs the request. The caller adds X-Amz-Date (and X-Amz-Security-Token
 * when there is a session token) to req->headers before signing, as AWS
 * expects them signed. Returns 0, or a negative KVSP_ERR_* status. */
KVSP_API int kvsp_sigv4_sign(const kvsp_sigv4_request *req, const kvsp_sigv4_credentials *cred,
                             kvsp_sigv4_result *out);
KVSP_API void kvsp_sigv4_result_free(kvsp_sigv4_result *r);

/* Checks a received request: parses its Authorization header (credential
 * scope, signed headers, signature), re-signs with the secret of that
 * access key and compares in constant time. Returns KVSP_OK when valid, or
 * a negative status, with what is wrong (never a secret) in *err if err is
 * not NULL. */
KVSP_API int kvsp_sigv4_verify(const kvsp_sigv4_request *req, const char *authorization,
                               const kvsp_sigv4_credentials *cred, kvsp_error *err);

/* The current time as an X-Amz-Date value (UTC). */
KVSP_API void kvsp_sigv4_now(char out[17]);

#ifdef __cplusplus
}
#endif

#endif
