/* Where the client connects and whom it trusts, from the options, the
 * environment and the shared config file (see client_settings.h). */
#include "client_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc_internal.h"
#include "aws_config.h"
#include "kvsparser/status.h"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int is_true(const char *v)
{
    if (!v)
        return 0;
    const char *t = "true";
    for (; *v && *t; v++, t++) {
        char c = *v >= 'A' && *v <= 'Z' ? (char)(*v - 'A' + 'a') : *v;
        if (c != *t)
            return 0;
    }
    return *v == '\0' && *t == '\0';
}

static char *copy_url(const char *url)
{
    char *copy = kvsp_ext_strdup(url);
    size_t n = copy ? strlen(copy) : 0;
    while (n && copy[n - 1] == '/')
        copy[--n] = '\0';
    return copy;
}

int kvsp_client_settings(const char *option, const char *ca_option, const char *profile,
                         const char *region, char **url, char **ca_bundle)
{
    *url = *ca_bundle = NULL;
    /* The config file is read only for what the options and the
     * environment leave open; a missing or unreadable one is no profile. */
    kvsp_aws_profile fp;
    memset(&fp, 0, sizeof fp);
    int named, nomem = 0;
    const char *name = kvsp_aws_profile_name(profile, &named);
    char *path = kvsp_aws_file_path(KVSP_AWS_CONFIG_FILE, &nomem);
    if (nomem)
        return KVSP_ERR_NOMEM;
    if (path &&
        kvsp_aws_profile_load(path, KVSP_AWS_CONFIG_FILE, name, &fp, NULL, 0) == KVSP_ERR_NOMEM) {
        kvsp_ext_free(path);
        return KVSP_ERR_NOMEM;
    }
    kvsp_ext_free(path);

    const char *chosen = option && *option ? option : NULL;
    /* The environment's setting wins over the profile's, "false" too. */
    const char *ignore = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    if (!ignore)
        ignore = fp.ignore_configured_endpoint_urls;
    if (!chosen && !is_true(ignore)) {
        chosen = env("AWS_ENDPOINT_URL_KINESIS_VIDEO");
        if (!chosen)
            chosen = env("AWS_ENDPOINT_URL");
        if (!chosen)
            chosen = fp.service_endpoint_url;
        if (!chosen)
            chosen = fp.endpoint_url;
    }
    if (chosen) {
        *url = copy_url(chosen);
    } else {
        size_t cap = strlen(region) + 48;
        *url = kvsp_ext_malloc(cap);
        if (*url)
            snprintf(*url, cap, "https://kinesisvideo.%s.amazonaws.com", region);
    }
    const char *ca = ca_option && *ca_option ? ca_option : env("AWS_CA_BUNDLE");
    if (!ca)
        ca = fp.ca_bundle;
    if (ca)
        *ca_bundle = kvsp_ext_strdup(ca);
    int rc = !*url || (ca && !*ca_bundle) ? KVSP_ERR_NOMEM : KVSP_OK;
    kvsp_aws_profile_free(&fp);
    if (rc != KVSP_OK) {
        kvsp_ext_free(*url);
        kvsp_ext_free(*ca_bundle);
        *url = *ca_bundle = NULL;
    }
    return rc;
}

/* Python's urllib (which the AWS CLI uses) reads every *_proxy variable
 * and lets the lower-case spelling win, even when empty (which then means
 * none); an empty upper-case one counts as unset. Under CGI
 * (REQUEST_METHOD set) HTTP_PROXY can come from a request header, so only
 * http_proxy counts ("httpoxy"). */
static const char *proxy_env(const char *lower, const char *upper)
{
    const char *v = getenv(lower);
    if (v)
        return *v ? v : NULL;
    if (strcmp(upper, "HTTP_PROXY") == 0 && getenv("REQUEST_METHOD"))
        return NULL;
    return env(upper);
}

void kvsp_proxy_for(const char *url, const char **proxy, const char **no_proxy)
{
    const char *p = NULL;
    if (strncmp(url, "https://", 8) == 0)
        p = proxy_env("https_proxy", "HTTPS_PROXY");
    else if (strncmp(url, "http://", 7) == 0)
        p = proxy_env("http_proxy", "HTTP_PROXY");
    *proxy = p ? p : "";
    *no_proxy = proxy_env("no_proxy", "NO_PROXY");
}
