#ifndef KVSP_METADATA_HTTP_H
#define KVSP_METADATA_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* Temporary credentials from the ECS and EC2 metadata services, which send
 * them as JSON: AccessKeyId, SecretAccessKey, Token, Expiration. */

#define KVSP_ECS_HOST "http://169.254.170.2"
#define KVSP_IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"

typedef struct kvsp_md_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL if none */
    int64_t expiration;  /* Unix seconds; 0 if the response gave none */
} kvsp_md_credentials;

void kvsp_md_credentials_free(kvsp_md_credentials *c);

/* A message into why (if there is room for one); never given secrets. */
void kvsp_md_fail(char *why, size_t why_size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* An environment variable, NULL when unset or empty. */
const char *kvsp_md_env(const char *name);

/* Fetches from the ECS endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 * (under KVSP_ECS_HOST; it wins, as in the SDKs) or
 * AWS_CONTAINER_CREDENTIALS_FULL_URI, sending AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE's
 * contents (it wins) or AWS_CONTAINER_AUTHORIZATION_TOKEN as Authorization.
 * Returns 0, 1 when neither URI variable is set, or a negative status with a
 * message that names no secret and no credential path. */
int kvsp_md_fetch_ecs(long timeout_ms, kvsp_md_credentials *out, char *why, size_t why_size);

/* Fetches the instance role's credentials with an IMDSv2 session token from
 * AWS_EC2_METADATA_SERVICE_ENDPOINT or KVSP_IMDS_DEFAULT_ENDPOINT. Returns 0,
 * 1 when AWS_EC2_METADATA_DISABLED is "true", or a negative status. */
int kvsp_md_fetch_imds(long timeout_ms, kvsp_md_credentials *out, char *why, size_t why_size);

/* KVSP_ECS_HOST followed by the relative URI. Returns 0, or -1 if it does not
 * fit or is not a path. */
int kvsp_md_ecs_url(const char *relative_uri, char *out, size_t out_size);

/* "2024-05-01T12:34:56Z", with optional fractional seconds and a "Z" or
 * "+hh:mm" offset, to Unix seconds. Returns 0, or -1 if malformed. */
int kvsp_md_parse_time(const char *iso8601, int64_t *out);

/* The credentials in a metadata JSON response. Returns 0, KVSP_ERR_SERVICE
 * (malformed, incomplete, or IMDS's Code is not "Success") or
 * KVSP_ERR_NOMEM. The message never quotes the response. */
int kvsp_md_parse_credentials(const char *json, size_t len, kvsp_md_credentials *out, char *why,
                              size_t why_size);

/* One request. `headers` are "Name: value" lines, NULL-terminated (or
 * NULL); `method` is "GET" or "PUT" (sent with an empty body). The body is
 * NUL-terminated, at most 64 KiB, and freed by the caller. Proxies and
 * redirects are not followed. Returns 0 with the HTTP status whatever it is,
 * KVSP_ERR_NETWORK (message from curl), KVSP_ERR_SERVICE (body too large) or
 * KVSP_ERR_NOMEM. */
typedef struct kvsp_md_response {
    long status;
    char *body;
    size_t len;
} kvsp_md_response;

int kvsp_md_request(const char *method, const char *url, const char *const *headers,
                    long timeout_ms, kvsp_md_response *resp, char *why, size_t why_size);

#endif
