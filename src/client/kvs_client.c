/* The client handle, its errors, and the data-endpoint cache. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_config.h"
#include "client_internal.h"
#include "client_settings.h"
#include "../error_format.h"

#define DEFAULT_STALL_TIMEOUT_MS 30000

int kvsp_client_fail(kvsp_client *c, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvsp_ext_error_vformat(c->error, sizeof c->error, &c->error_status, status, fmt, ap);
    va_end(ap);
    c->error_exception[0] = '\0';
    return status;
}

void kvsp_client_clear_error(kvsp_client *c)
{
    c->error_status = KVSP_OK;
    c->error[0] = '\0';
    c->error_exception[0] = '\0';
    c->http_status = 0;
}

int kvsp_error_set(kvsp_error *err, int status, const char *fmt, ...)
{
    if (!err)
        return status;
    va_list ap;
    va_start(ap, fmt);
    kvsp_ext_error_vformat(err->message, sizeof err->message, &err->status, status, fmt, ap);
    va_end(ap);
    return status;
}

/* An explicit --profile in neither the config nor the credentials file:
 * saying so is more useful than the "no region" it leads to. */
static int named_profile_missing(const char *profile)
{
    if (!profile || !*profile)
        return 0;
    kvsp_aws_file kinds[2] = {KVSP_AWS_CONFIG_FILE, KVSP_AWS_CREDENTIALS_FILE};
    for (int i = 0; i < 2; i++) {
        int nomem = 0;
        char *path = kvsp_aws_file_path(kinds[i], &nomem);
        if (!path)
            return 0;
        kvsp_aws_profile p;
        int rc = kvsp_aws_profile_load(path, kinds[i], profile, &p, NULL, 0);
        int found = rc != KVSP_OK || p.found;
        kvsp_aws_profile_free(&p);
        kvsp_ext_free(path);
        if (found)
            return 0;
    }
    return 1;
}

kvsp_client *kvsp_client_create(const kvsp_client_options *opts, kvsp_error *err)
{
    kvsp_client_options defaults;
    if (!opts) {
        memset(&defaults, 0, sizeof defaults);
        opts = &defaults;
    }
    kvsp_error_set(err, KVSP_OK, "%s", "");
    kvsp_client *c = kvsp_ext_calloc(1, sizeof *c);
    if (!c) {
        kvsp_error_set(err, KVSP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (kvsp_resolve_region(opts->region, opts->profile, c->region, sizeof c->region) != KVSP_OK) {
        if (named_profile_missing(opts->profile))
            kvsp_error_set(err, KVSP_ERR_INVALID_ARG, "profile '%s' not found", opts->profile);
        else
            kvsp_error_set(err, KVSP_ERR_INVALID_ARG,
                           "no region: use --region, AWS_REGION or a profile with a region");
        kvsp_ext_free(c);
        return NULL;
    }
    c->curl = curl_easy_init();
    int settings = kvsp_client_settings(opts->endpoint_url, opts->ca_bundle, opts->profile,
                                        c->region, &c->control_url, &c->ca_bundle);
    c->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 10000;
    c->stall_timeout_ms =
        opts->stall_timeout_ms == 0 ? DEFAULT_STALL_TIMEOUT_MS : opts->stall_timeout_ms;
    c->log = opts->log;
    c->log_user = opts->log_user;
    c->credentials = opts->credentials;
    if (!c->credentials) {
        kvsp_credentials_options co;
        memset(&co, 0, sizeof co);
        co.profile = opts->profile;
        c->credentials = kvsp_credential_provider_create(&co);
        c->own_credentials = 1;
    }
    if (!c->curl || settings != KVSP_OK || !c->credentials) {
        kvsp_error_set(err, KVSP_ERR_NOMEM, "out of memory");
        kvsp_client_destroy(c);
        return NULL;
    }
    return c;
}

void kvsp_client_destroy(kvsp_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < ENDPOINT_CACHE_SIZE; i++) {
        kvsp_ext_free(c->endpoints[i].stream);
        kvsp_ext_free(c->endpoints[i].api);
        kvsp_ext_free(c->endpoints[i].url);
    }
    if (c->own_credentials)
        kvsp_credential_provider_destroy(c->credentials);
    if (c->curl)
        curl_easy_cleanup(c->curl);
    kvsp_ext_free(c->control_url);
    kvsp_ext_free(c->ca_bundle);
    kvsp_ext_free(c);
}

int kvsp_client_error(const kvsp_client *c)
{
    return c ? c->error_status : KVSP_ERR_INVALID_ARG;
}

const char *kvsp_client_error_message(const kvsp_client *c)
{
    return c ? c->error : "";
}

long kvsp_client_error_http_status(const kvsp_client *c)
{
    return c && c->error_status < 0 ? c->http_status : 0;
}

const char *kvsp_client_error_exception(const kvsp_client *c)
{
    return c && c->error_status < 0 ? c->error_exception : "";
}

/* {"StreamName": s} or {"StreamARN": s} */
json_t *kvsp_stream_body(const char *stream)
{
    json_t *o = json_object();
    json_object_set_new(o, strncmp(stream, "arn:", 4) == 0 ? "StreamARN" : "StreamName",
                        json_string(stream));
    return o;
}

int kvsp_client_get_data_endpoint(kvsp_client *c, const char *stream, const char *api_name,
                                  char *out, size_t out_size)
{
    if (!c)
        return KVSP_ERR_INVALID_ARG;
    kvsp_client_clear_error(c);
    if (!stream || !api_name || !out)
        return kvsp_client_fail(c, KVSP_ERR_INVALID_ARG,
                                "GetDataEndpoint: no stream, API name or output");
    json_t *body = kvsp_stream_body(stream);
    json_object_set_new(body, "APIName", json_string(api_name));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return kvsp_client_fail(c, KVSP_ERR_NOMEM, "out of memory");
    http_call call = {c->control_url, "/getDataEndpoint", text, NULL, NULL, NULL, 0, 0, ""};
    int rc = kvsp_http_post(c, &call);
    free(text);
    if (rc == KVSP_OK) {
        json_t *doc = json_loads(call.response ? call.response : "", 0, NULL);
        const char *url = json_string_value(json_object_get(doc, "DataEndpoint"));
        if (url && strlen(url) < out_size) {
            snprintf(out, out_size, "%s", url);
            size_t n = strlen(out);
            while (n && out[n - 1] == '/')
                out[--n] = '\0';
        } else {
            rc = kvsp_client_fail(c, KVSP_ERR_SERVICE,
                                  "GetDataEndpoint: no DataEndpoint in the response");
        }
        json_decref(doc);
    }
    kvsp_http_call_free(&call);
    return rc;
}

static endpoint_entry *find_entry(kvsp_client *c, const char *stream, const char *api)
{
    for (size_t i = 0; i < ENDPOINT_CACHE_SIZE; i++) {
        endpoint_entry *e = &c->endpoints[i];
        if (e->stream && strcmp(e->stream, stream) == 0 && strcmp(e->api, api) == 0)
            return e;
    }
    return NULL;
}

void kvsp_endpoint_forget(kvsp_client *c, const char *stream, const char *api)
{
    endpoint_entry *e = find_entry(c, stream, api);
    if (e)
        e->fetched = 0;
}

int kvsp_endpoint_for(kvsp_client *c, const char *stream, const char *api, const char **url)
{
    time_t now = time(NULL);
    endpoint_entry *e = find_entry(c, stream, api);
    if (e && e->fetched && now - e->fetched < ENDPOINT_TTL_S) {
        *url = e->url;
        return KVSP_OK;
    }
    char fresh[1024];
    int rc = kvsp_client_get_data_endpoint(c, stream, api, fresh, sizeof fresh);
    if (rc < 0)
        return rc;
    if (!e) {
        /* The least recently fetched slot. */
        e = &c->endpoints[0];
        for (size_t i = 1; i < ENDPOINT_CACHE_SIZE; i++)
            if (c->endpoints[i].fetched < e->fetched)
                e = &c->endpoints[i];
        kvsp_ext_free(e->stream);
        kvsp_ext_free(e->api);
        e->stream = kvsp_ext_strdup(stream);
        e->api = kvsp_ext_strdup(api);
    }
    kvsp_ext_free(e->url);
    e->url = kvsp_ext_strdup(fresh);
    e->fetched = now;
    if (!e->stream || !e->api || !e->url) {
        e->fetched = 0;
        return kvsp_client_fail(c, KVSP_ERR_NOMEM, "out of memory");
    }
    *url = e->url;
    return KVSP_OK;
}
