#ifndef KVSPARSER_CREDENTIALS_H
#define KVSPARSER_CREDENTIALS_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/export.h"
#include "kvsparser/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* AWS credentials and region, found the way the AWS CLI and SDKs find them
 * (libkvsparser-client):
 *  1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
 *  2. shared files: AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and
 *     AWS_CONFIG_FILE (~/.aws/config), profile from the options, AWS_PROFILE
 *     or "default";
 *  3. ECS container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 *     (from 169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI, with
 *     AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE);
 *  4. EC2 instance metadata with an IMDSv2 session token
 *     (AWS_EC2_METADATA_SERVICE_ENDPOINT overrides the address,
 *     AWS_EC2_METADATA_DISABLED=true skips it).
 * Temporary credentials are fetched again before they expire. Secrets are
 * never written into error messages. */

typedef struct kvsp_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL if none */
    int64_t expiration;  /* Unix seconds; 0 if they do not expire */
    const char *source;  /* "environment", "shared-file", "ecs", "imds" */
} kvsp_credentials;

typedef struct kvsp_credentials_options {
    const char *profile;  /* NULL: AWS_PROFILE or "default"; set: environment keys are skipped */
    long timeout_ms;      /* for the ECS and IMDS requests; 0: 1000 */
    int refresh_before_s; /* refresh this long before expiry; 0: 300 */
} kvsp_credentials_options;

typedef struct kvsp_credential_provider kvsp_credential_provider;

/* Zeroed (or NULL) options are the defaults; profile is copied. NULL on
 * allocation failure. */
KVSP_API kvsp_credential_provider *
kvsp_credential_provider_create(const kvsp_credentials_options *opts);
KVSP_API void kvsp_credential_provider_destroy(kvsp_credential_provider *p);
/* Current credentials (cached; fetched again near expiry). *out, owned by
 * the provider, is valid until the next call on it. Returns KVSP_OK, or a
 * negative status (*out NULL) that the provider keeps with its message. */
KVSP_API int kvsp_credential_provider_get(kvsp_credential_provider *p,
                                          const kvsp_credentials **out);
/* The error of the last get (KVSP_OK if it succeeded) and its message,
 * which names every source tried and never a secret ("" when none); owned
 * by the provider, valid until its next call or destruction. */
KVSP_API int kvsp_credential_provider_error(const kvsp_credential_provider *p);
KVSP_API const char *kvsp_credential_provider_error_message(const kvsp_credential_provider *p);

/* The service rejected the current credentials as expired
 * (ExpiredTokenException) although their expiry had not come: temporary
 * credentials (ECS, instance metadata) are fetched again at the next get.
 * Returns 1 if they will be, 0 if they cannot be renewed (keys from the
 * environment or the shared files) or there are none. */
KVSP_API int kvsp_credential_provider_expire(kvsp_credential_provider *p);

/* The region: `explicit_region` if given, else AWS_REGION, AWS_DEFAULT_REGION,
 * or the profile's `region` in the config file, into out. Returns KVSP_OK,
 * KVSP_ERR_INVALID_ARG when there is none (or it is not letters, digits
 * and dashes, or does not fit) or KVSP_ERR_NOMEM. */
KVSP_API int kvsp_resolve_region(const char *explicit_region, const char *profile, char *out,
                                 size_t out_size);

#ifdef __cplusplus
}
#endif

#endif
