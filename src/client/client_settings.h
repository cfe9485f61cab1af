#ifndef KVSP_CLIENT_SETTINGS_H
#define KVSP_CLIENT_SETTINGS_H

#include <stddef.h>

/* The connection settings the AWS CLI and SDKs take from the environment
 * and ~/.aws/config, resolved as they resolve them (README, "AWS
 * configuration"). The option given by the caller always wins. */

/* The control-plane URL without trailing slashes: `option`, else (unless
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, or the profile's
 * ignore_configured_endpoint_urls, is true) AWS_ENDPOINT_URL_KINESIS_VIDEO,
 * AWS_ENDPOINT_URL, the kinesis_video endpoint_url of the profile's
 * [services] section, the profile's endpoint_url; else the regional
 * https://kinesisvideo.REGION.amazonaws.com. *ca_bundle: `ca_option`, else
 * AWS_CA_BUNDLE, else the profile's ca_bundle, else NULL (the system's).
 * Returns 0 or KVSP_ERR_NOMEM; the strings are to free. */
int kvsp_client_settings(const char *option, const char *ca_option, const char *profile,
                         const char *region, char **url, char **ca_bundle);

/* The proxy for a request to `url`, as the AWS CLI picks it (Python's
 * urllib): https_proxy for https URLs, http_proxy for http, each in lower
 * case before upper case; no_proxy / NO_PROXY the same. *proxy is "" when
 * none applies (libcurl must then not pick one of its own, ALL_PROXY);
 * *no_proxy is NULL when unset. Pointers into the environment. */
void kvsp_proxy_for(const char *url, const char **proxy, const char **no_proxy);

#endif
