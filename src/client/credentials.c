#include "kvsparser/credentials.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../alloc_internal.h"
#include "aws_config.h"
#include "kvsparser/status.h"
#include "metadata_http.h"

#define DEFAULT_REFRESH_BEFORE_S 300
/* After a failed refresh of credentials that are still valid, the next
 * attempt waits this long, so that an unreachable endpoint does not add its
 * timeout to every request until the credentials run out. */
#define REFRESH_RETRY_S 10

struct kvsp_credential_provider {
    char *profile; /* NULL: AWS_PROFILE or "default", read at each fetch */
    long timeout_ms;
    int refresh_before_s;
    int curl_initialized;
    int source; /* index in `chain` of the cached credentials; -1 if none */
    time_t retry_after;
    kvsp_credentials cur;
    int error;          /* kvsp_credential_provider_error */
    char message[1024]; /* its message, without secrets */
};

/* Every provider returns 0 with credentials, 1 when it has none to offer
 * (with the reason in `why`, for the final message), or a negative status
 * when it is configured but broken. A broken one stops the chain, as in the
 * CLI: a mistyped profile should not quietly yield the instance's role. */
typedef int (*fetch_fn)(const kvsp_credential_provider *p, kvsp_md_credentials *out, char *why,
                        size_t why_size);

static int from_env(const kvsp_credential_provider *p, kvsp_md_credentials *out, char *why,
                    size_t why_size)
{
    if (p->profile) {
        /* as the AWS CLI: an explicit profile wins over keys in the environment */
        kvsp_md_fail(why, why_size, "not used with an explicit profile");
        return 1;
    }
    const char *ak = kvsp_md_env("AWS_ACCESS_KEY_ID");
    const char *sk = kvsp_md_env("AWS_SECRET_ACCESS_KEY");
    const char *tok = kvsp_md_env("AWS_SESSION_TOKEN");
    if (!ak && !sk) {
        kvsp_md_fail(why, why_size, "no AWS_ACCESS_KEY_ID");
        return 1;
    }
    if (!ak || !sk) {
        kvsp_md_fail(why, why_size, "%s is set but %s is not",
                     ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                     ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        return KVSP_ERR_INVALID_ARG;
    }
    out->access_key_id = kvsp_ext_strdup(ak);
    out->secret_access_key = kvsp_ext_strdup(sk);
    out->session_token = tok ? kvsp_ext_strdup(tok) : NULL;
    if (!out->access_key_id || !out->secret_access_key || (tok && !out->session_token)) {
        kvsp_md_credentials_free(out);
        kvsp_md_fail(why, why_size, "out of memory");
        return KVSP_ERR_NOMEM;
    }
    return 0;
}

/* Moves the keys of a profile; the credentials file is read first, and the
 * config file, where the CLI also accepts keys, only when it has none. */
static int take_profile(kvsp_aws_profile *pf, const char *name, const char *path,
                        kvsp_md_credentials *out, char *why, size_t why_size)
{
    if (!pf->access_key_id || !pf->secret_access_key) {
        kvsp_md_fail(why, why_size, "profile '%s' in %s has %s but no %s", name, path,
                     pf->access_key_id ? "aws_access_key_id" : "aws_secret_access_key",
                     pf->access_key_id ? "aws_secret_access_key" : "aws_access_key_id");
        return KVSP_ERR_INVALID_ARG;
    }
    out->access_key_id = pf->access_key_id;
    out->secret_access_key = pf->secret_access_key;
    out->session_token = pf->session_token;
    pf->access_key_id = pf->secret_access_key = pf->session_token = NULL;
    return 0;
}

static int from_files(const kvsp_credential_provider *p, kvsp_md_credentials *out, char *why,
                      size_t why_size)
{
    int named, nomem_c, nomem_f;
    const char *name = kvsp_aws_profile_name(p->profile, &named);
    char *cpath = kvsp_aws_file_path(KVSP_AWS_CREDENTIALS_FILE, &nomem_c);
    char *fpath = kvsp_aws_file_path(KVSP_AWS_CONFIG_FILE, &nomem_f);
    kvsp_aws_profile cp = {0}, fp = {0};
    int rc = 0;
    if (nomem_c || nomem_f) {
        kvsp_md_fail(why, why_size, "out of memory");
        rc = KVSP_ERR_NOMEM;
    }
    if (rc == 0 && cpath)
        rc = kvsp_aws_profile_load(cpath, KVSP_AWS_CREDENTIALS_FILE, name, &cp, why, why_size);
    if (rc == 0 && fpath)
        rc = kvsp_aws_profile_load(fpath, KVSP_AWS_CONFIG_FILE, name, &fp, why, why_size);
    if (rc != 0) {
        /* the loader's message stands */
    } else if (cp.access_key_id || cp.secret_access_key) {
        rc = take_profile(&cp, name, cpath, out, why, why_size);
    } else if (fp.access_key_id || fp.secret_access_key) {
        rc = take_profile(&fp, name, fpath, out, why, why_size);
    } else if (cp.unsupported || fp.unsupported) {
        kvsp_md_fail(
            why, why_size,
            "profile '%s' gets its credentials through %s, which kvsparser does not support; "
            "give it aws_access_key_id and aws_secret_access_key",
            name, cp.unsupported ? cp.unsupported : fp.unsupported);
        rc = KVSP_ERR_INVALID_ARG;
    } else if (named && !cp.found && !fp.found) {
        kvsp_md_fail(why, why_size, "profile '%s' not found in %s or %s", name,
                     cpath ? cpath : "(no HOME)", fpath ? fpath : "(no HOME)");
        rc = KVSP_ERR_INVALID_ARG;
    } else {
        kvsp_md_fail(why, why_size, "no keys for profile '%s'", name);
        rc = 1;
    }
    kvsp_aws_profile_free(&cp);
    kvsp_aws_profile_free(&fp);
    kvsp_ext_free(cpath);
    kvsp_ext_free(fpath);
    return rc;
}

static int from_ecs(const kvsp_credential_provider *p, kvsp_md_credentials *out, char *why,
                    size_t why_size)
{
    int rc = kvsp_md_fetch_ecs(p->timeout_ms, out, why, why_size);
    if (rc == 1)
        kvsp_md_fail(why, why_size, "not configured");
    return rc;
}

static int from_imds(const kvsp_credential_provider *p, kvsp_md_credentials *out, char *why,
                     size_t why_size)
{
    return kvsp_md_fetch_imds(p->timeout_ms, out, why, why_size);
}

static const struct {
    const char *source; /* kvsp_credentials.source */
    const char *label;  /* in messages */
    fetch_fn fetch;
} chain[] = {
    {"environment", "environment", from_env},
    {"shared-file", "shared files", from_files},
    {"ecs", "ECS", from_ecs},
    {"imds", "IMDS", from_imds},
};
#define CHAIN_LEN ((int)(sizeof chain / sizeof chain[0]))

static void drop(kvsp_credential_provider *p)
{
    kvsp_wipe_free(p->cur.access_key_id);
    kvsp_wipe_free(p->cur.secret_access_key);
    kvsp_wipe_free(p->cur.session_token);
    memset(&p->cur, 0, sizeof p->cur);
    p->source = -1;
    p->retry_after = 0;
}

static void install(kvsp_credential_provider *p, int source, kvsp_md_credentials *c)
{
    drop(p);
    p->cur.access_key_id = c->access_key_id;
    p->cur.secret_access_key = c->secret_access_key;
    p->cur.session_token = c->session_token;
    p->cur.expiration = c->expiration;
    p->cur.source = chain[source].source;
    p->source = source;
    memset(c, 0, sizeof *c);
}

KVSP_API kvsp_credential_provider *
kvsp_credential_provider_create(const kvsp_credentials_options *opts)
{
    kvsp_credential_provider *p = kvsp_ext_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->source = -1;
    p->timeout_ms = opts ? opts->timeout_ms : 0;
    p->refresh_before_s =
        opts && opts->refresh_before_s > 0 ? opts->refresh_before_s : DEFAULT_REFRESH_BEFORE_S;
    if (opts && opts->profile && *opts->profile) {
        p->profile = kvsp_ext_strdup(opts->profile);
        if (!p->profile) {
            kvsp_ext_free(p);
            return NULL;
        }
    }
    /* Reference-counted in libcurl; the ECS and IMDS requests need it, and
     * the caller may never have called it. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        kvsp_ext_free(p->profile);
        kvsp_ext_free(p);
        return NULL;
    }
    p->curl_initialized = 1;
    return p;
}

KVSP_API void kvsp_credential_provider_destroy(kvsp_credential_provider *p)
{
    if (!p)
        return;
    drop(p);
    if (p->curl_initialized)
        curl_global_cleanup();
    kvsp_ext_free(p->profile);
    kvsp_ext_free(p);
}

/* Walks the chain from the start. */
static int resolve(kvsp_credential_provider *p, char *why, size_t why_size)
{
    char notes[CHAIN_LEN][300];
    int last = KVSP_ERR_INVALID_ARG;
    for (int i = 0; i < CHAIN_LEN; i++) {
        kvsp_md_credentials c = {0};
        notes[i][0] = '\0';
        int rc = chain[i].fetch(p, &c, notes[i], sizeof notes[i]);
        if (rc == 0) {
            install(p, i, &c);
            return 0;
        }
        if (rc < 0 && i + 1 < CHAIN_LEN) {
            kvsp_md_fail(why, why_size, "%s: %s", chain[i].label, notes[i]);
            return rc;
        }
        if (rc < 0)
            last = rc; /* the last resort failing is the answer, network or service */
    }
    kvsp_md_fail(why, why_size,
                 "no AWS credentials found (environment: %s; shared files: %s; ECS: %s; IMDS: %s)",
                 notes[0], notes[1], notes[2], notes[3]);
    return last;
}

static int get(kvsp_credential_provider *p, const kvsp_credentials **out, char *why,
               size_t why_size);

KVSP_API int kvsp_credential_provider_get(kvsp_credential_provider *p, const kvsp_credentials **out)
{
    if (out)
        *out = NULL;
    if (!p)
        return KVSP_ERR_INVALID_ARG;
    p->message[0] = '\0';
    p->error = get(p, out, p->message, sizeof p->message);
    if (p->error > 0)
        p->error = KVSP_OK;
    return p->error;
}

KVSP_API int kvsp_credential_provider_error(const kvsp_credential_provider *p)
{
    return p ? p->error : KVSP_ERR_INVALID_ARG;
}

KVSP_API const char *kvsp_credential_provider_error_message(const kvsp_credential_provider *p)
{
    return p ? p->message : "";
}

static int get(kvsp_credential_provider *p, const kvsp_credentials **out, char *why,
               size_t why_size)
{
    if (!out) {
        kvsp_md_fail(why, why_size, "no output");
        return KVSP_ERR_INVALID_ARG;
    }
    time_t now = time(NULL);
    if (p->source >= 0) {
        int64_t exp = p->cur.expiration;
        if (exp == 0 || (int64_t)now < exp - p->refresh_before_s ||
            (now < p->retry_after && now < exp)) {
            *out = &p->cur;
            return 0;
        }
        /* Refresh from the source that gave them, as the SDKs do, rather
         * than the whole chain: the identity should not change mid-run. */
        kvsp_md_credentials c = {0};
        char detail[400];
        int src = p->source;
        int rc = chain[src].fetch(p, &c, detail, sizeof detail);
        if (rc == 0) {
            install(p, src, &c);
            *out = &p->cur;
            return 0;
        }
        if (rc < 0 && (int64_t)now < exp) {
            p->retry_after = now + REFRESH_RETRY_S;
            *out = &p->cur;
            return 0;
        }
        drop(p);
        if (rc < 0) {
            kvsp_md_fail(why, why_size, "refreshing %s credentials: %s", chain[src].label, detail);
            return rc;
        }
        /* rc == 1: the source was switched off; look along the chain again. */
    }
    int rc = resolve(p, why, why_size);
    if (rc == 0)
        *out = &p->cur;
    return rc;
}

KVSP_API int kvsp_credential_provider_expire(kvsp_credential_provider *p)
{
    if (!p || p->source < 0 || p->cur.expiration == 0)
        return 0;
    /* In the past: the next get refreshes from the same source, and if that
     * fails the old ones are not handed out again. */
    p->cur.expiration = 1;
    p->retry_after = 0;
    return 1;
}

/* Regions end up in host names; anything but letters, digits and dashes
 * would change the host. */
static int copy_region(const char *r, char *out, size_t out_size)
{
    size_t n = strlen(r);
    if (n == 0 || n >= out_size)
        return KVSP_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        char c = r[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return KVSP_ERR_INVALID_ARG;
    }
    memcpy(out, r, n + 1);
    return KVSP_OK;
}

KVSP_API int kvsp_resolve_region(const char *explicit_region, const char *profile, char *out,
                                 size_t out_size)
{
    if (!out || !out_size)
        return KVSP_ERR_INVALID_ARG;
    const char *r =
        explicit_region && *explicit_region ? explicit_region : kvsp_md_env("AWS_REGION");
    if (!r)
        r = kvsp_md_env("AWS_DEFAULT_REGION");
    if (r)
        return copy_region(r, out, out_size);
    int named, nomem;
    const char *name = kvsp_aws_profile_name(profile, &named);
    char *path = kvsp_aws_file_path(KVSP_AWS_CONFIG_FILE, &nomem);
    if (!path)
        return nomem ? KVSP_ERR_NOMEM : KVSP_ERR_INVALID_ARG;
    kvsp_aws_profile fp;
    int rc = kvsp_aws_profile_load(path, KVSP_AWS_CONFIG_FILE, name, &fp, NULL, 0);
    if (rc == KVSP_OK)
        rc = fp.region ? copy_region(fp.region, out, out_size) : KVSP_ERR_INVALID_ARG;
    else if (rc != KVSP_ERR_NOMEM)
        rc = KVSP_ERR_INVALID_ARG;
    kvsp_aws_profile_free(&fp);
    kvsp_ext_free(path);
    return rc;
}
