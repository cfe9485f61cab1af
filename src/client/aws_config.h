#ifndef KVSP_AWS_CONFIG_H
#define KVSP_AWS_CONFIG_H

#include <stddef.h>

/* The AWS CLI's shared files. They are INI files, but the two name their
 * sections differently: the credentials file uses [NAME], the config file
 * [default] and [profile NAME], so that it can also hold other kinds of
 * section ([sso-session NAME], [services NAME]) under the same names. */
typedef enum kvsp_aws_file { KVSP_AWS_CREDENTIALS_FILE, KVSP_AWS_CONFIG_FILE } kvsp_aws_file;

/* The settings of one profile this library reads; NULL when absent (empty
 * values count as absent). */
typedef struct kvsp_aws_profile {
    int found; /* the file has a section for the profile */
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    char *region;
    /* Client settings of the config file's profile (see client_settings.h). */
    char *endpoint_url;
    char *ca_bundle;
    char *ignore_configured_endpoint_urls; /* "true" or "false", as written */
    char *services;                        /* the name of a [services NAME] section */
    /* endpoint_url of the kinesis_video sub-section in that [services]
     * section (kvsp_aws_profile_load reads it when `services` is set). */
    char *service_endpoint_url;
    /* The first key that names a credential source this library does not
     * implement (role_arn, credential_process, sso_*...); a static string. */
    const char *unsupported;
} kvsp_aws_profile;

/* Path of a shared file: AWS_SHARED_CREDENTIALS_FILE or AWS_CONFIG_FILE
 * (a leading ~ expanded), else $HOME/.aws/credentials or $HOME/.aws/config.
 * Returns a string to free, or NULL when there is no such path (no HOME) or
 * no memory (*nomem set). */
char *kvsp_aws_file_path(kvsp_aws_file kind, int *nomem);

/* The profile to use: `explicit_name` if not empty, else AWS_PROFILE if not
 * empty, else "default". *named is set when it was not the default. */
const char *kvsp_aws_profile_name(const char *explicit_name, int *named);

/* Parses INI text for one profile; later sections and keys of the same
 * name override earlier ones. Returns 0 or KVSP_ERR_NOMEM. */
int kvsp_aws_profile_parse(const char *text, size_t len, kvsp_aws_file kind, const char *profile,
                           kvsp_aws_profile *out);

/* Reads a file and parses it. A missing file is no error: `found` stays 0.
 * Returns 0, KVSP_ERR_IO (unreadable) or KVSP_ERR_NOMEM, with a message. */
int kvsp_aws_profile_load(const char *path, kvsp_aws_file kind, const char *profile,
                          kvsp_aws_profile *out, char *why, size_t why_size);

/* Parses the [services NAME] section of config text for the endpoint_url
 * of its kinesis_video sub-section into out->service_endpoint_url.
 * Returns 0 or KVSP_ERR_NOMEM. */
int kvsp_aws_services_parse(const char *text, size_t len, const char *name, kvsp_aws_profile *out);

/* Frees the strings, wiping the secrets first. */
void kvsp_aws_profile_free(kvsp_aws_profile *p);

/* Overwrites a string's bytes, in a way the compiler keeps, before it is
 * freed: secrets should not linger in freed heap memory. */
void kvsp_wipe_free(char *s);
/* The same for n bytes that stay allocated (or are not a string). */
void kvsp_wipe(void *p, size_t n);

#endif
