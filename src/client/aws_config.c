#include "aws_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc_internal.h"
#include "kvsparser/status.h"

/* Shared files are a few kilobytes; the limit only keeps a wrong path (a
 * device, a huge log) from being read whole into memory. */
#define MAX_FILE_SIZE ((size_t)4 << 20)

/* Credential sources the CLI knows and this library does not implement. A
 * profile using one of them is reported rather than skipped: falling through
 * to the next provider would quietly run with a different identity. */
static const char *const unsupported_keys[] = {
    "role_arn",           "source_profile",          "credential_source",
    "credential_process", "web_identity_token_file", "sso_session",
    "sso_start_url",      "sso_account_id",
};

typedef struct span {
    const char *p;
    size_t n;
} span;

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

static span trim(const char *p, size_t n)
{
    while (n && is_blank(*p)) {
        p++;
        n--;
    }
    while (n && is_blank(p[n - 1]))
        n--;
    return (span){p, n};
}

static int span_eq(span s, const char *z)
{
    return strlen(z) == s.n && memcmp(s.p, z, s.n) == 0;
}

/* Option names are case-insensitive in the CLI (configparser lowercases
 * them); ASCII folding is enough for the names we look for. */
static int span_ieq(span s, const char *z)
{
    if (strlen(z) != s.n)
        return 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != z[i])
            return 0;
    }
    return 1;
}

/* Cuts a "# comment" or "; comment" that follows whitespace. The CLI itself
 * keeps such text in the value, but no value we read (keys, tokens, region
 * names) can contain whitespace, so cutting only turns a broken value into
 * the one the user meant. */
static span cut_comment(span s)
{
    for (size_t i = 1; i < s.n; i++) {
        if ((s.p[i] == '#' || s.p[i] == ';') && is_blank(s.p[i - 1]))
            return trim(s.p, i);
    }
    return s;
}

static int section_matches(span name, kvsp_aws_file kind, const char *profile)
{
    if (kind == KVSP_AWS_CREDENTIALS_FILE)
        return span_eq(name, profile);
    if (span_eq(name, "default"))
        return strcmp(profile, "default") == 0;
    if (name.n > 7 && memcmp(name.p, "profile", 7) == 0 && is_blank(name.p[7]))
        return span_eq(trim(name.p + 7, name.n - 7), profile);
    return 0;
}

static int set_value(char **field, span v)
{
    char *copy = NULL;
    if (v.n) {
        copy = kvsp_ext_malloc(v.n + 1);
        if (!copy)
            return KVSP_ERR_NOMEM;
        memcpy(copy, v.p, v.n);
        copy[v.n] = '\0';
    }
    kvsp_wipe_free(*field);
    *field = copy;
    return 0;
}

/* What one walk over the text looks for: which sections count, and what
 * to do with their options. `parent` is the option a nested one is
 * indented under ("kinesis_video =" then "  endpoint_url = ..."), or
 * empty for the section's own. */
typedef struct walker {
    int (*matches)(const struct walker *w, span section);
    int (*take)(const struct walker *w, span parent, span key, span value);
    kvsp_aws_file kind;
    const char *name;
    kvsp_aws_profile *out;
} walker;

static int walk(const char *text, size_t len, const walker *w)
{
    size_t pos = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; /* a byte order mark left by Windows editors */
    int in_section = 0;
    int after_option = 0;
    size_t option_indent = 0;
    span parent = {"", 0};
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl != NULL);
        if (n && line[n - 1] == '\r')
            n--;
        span t = trim(line, n);
        if (t.n == 0 || t.p[0] == '#' || t.p[0] == ';')
            continue;
        /* A line indented deeper than the option above it continues that
         * option; the CLI uses this for nested settings ("s3 =" then
         * "  region = ..."), which must not be taken for the section's own. */
        size_t indent = (size_t)(t.p - line);
        int nested = after_option && indent > option_indent;
        if (!nested && t.p[0] == '[') {
            const char *close = NULL;
            for (size_t i = t.n; i-- > 1;) {
                if (t.p[i] == ']') {
                    close = t.p + i;
                    break;
                }
            }
            after_option = 0;
            if (!close) {
                in_section = 0;
                continue;
            }
            in_section = w->matches(w, trim(t.p + 1, (size_t)(close - t.p - 1)));
            if (in_section)
                w->out->found = 1;
            continue;
        }
        size_t eq = 0;
        while (eq < t.n && t.p[eq] != '=' && t.p[eq] != ':')
            eq++;
        if (eq == t.n)
            continue; /* not an option: the CLI would refuse the file; we skip the line */
        span key = trim(t.p, eq);
        span value = cut_comment(trim(t.p + eq + 1, t.n - eq - 1));
        if (!nested) {
            after_option = 1;
            option_indent = indent;
            parent = value.n ? (span){"", 0} : key;
        }
        if (!in_section || (nested && parent.n == 0))
            continue;
        if (w->take(w, nested ? parent : (span){"", 0}, key, value) != 0)
            return KVSP_ERR_NOMEM;
    }
    return 0;
}

static int profile_matches(const walker *w, span section)
{
    return section_matches(section, w->kind, w->name);
}

static int take_option(const walker *w, span parent, span key, span value)
{
    kvsp_aws_profile *out = w->out;
    if (parent.n)
        return 0; /* nested settings of other services ("s3 =") */
    if (span_ieq(key, "aws_access_key_id"))
        return set_value(&out->access_key_id, value);
    if (span_ieq(key, "aws_secret_access_key"))
        return set_value(&out->secret_access_key, value);
    if (span_ieq(key, "aws_session_token"))
        return set_value(&out->session_token, value);
    if (span_ieq(key, "region"))
        return set_value(&out->region, value);
    if (w->kind == KVSP_AWS_CONFIG_FILE) {
        /* the CLI reads these from the config file only */
        if (span_ieq(key, "endpoint_url"))
            return set_value(&out->endpoint_url, value);
        if (span_ieq(key, "ca_bundle"))
            return set_value(&out->ca_bundle, value);
        if (span_ieq(key, "ignore_configured_endpoint_urls"))
            return set_value(&out->ignore_configured_endpoint_urls, value);
        if (span_ieq(key, "services"))
            return set_value(&out->services, value);
    }
    for (size_t i = 0; i < sizeof unsupported_keys / sizeof unsupported_keys[0]; i++) {
        if (!out->unsupported && value.n && span_ieq(key, unsupported_keys[i]))
            out->unsupported = unsupported_keys[i];
    }
    return 0;
}

int kvsp_aws_profile_parse(const char *text, size_t len, kvsp_aws_file kind, const char *profile,
                           kvsp_aws_profile *out)
{
    memset(out, 0, sizeof *out);
    walker w = {profile_matches, take_option, kind, profile, out};
    int rc = walk(text, len, &w);
    if (rc != 0)
        kvsp_aws_profile_free(out);
    return rc;
}

/* [services NAME]: "services" and the name, blanks between. */
static int services_matches(const walker *w, span section)
{
    return section.n > 8 && memcmp(section.p, "services", 8) == 0 && is_blank(section.p[8]) &&
           span_eq(trim(section.p + 8, section.n - 8), w->name);
}

/* The service's key is its identifier as the SDKs spell it in config
 * files: "Kinesis Video" lowercased, blanks as underscores. */
static int take_service(const walker *w, span parent, span key, span value)
{
    if (span_ieq(parent, "kinesis_video") && span_ieq(key, "endpoint_url"))
        return set_value(&w->out->service_endpoint_url, value);
    return 0;
}

int kvsp_aws_services_parse(const char *text, size_t len, const char *name, kvsp_aws_profile *out)
{
    kvsp_aws_profile scratch = {0}; /* "found" of the services section is not the profile's */
    walker w = {services_matches, take_service, KVSP_AWS_CONFIG_FILE, name, &scratch};
    int rc = walk(text, len, &w);
    if (rc == 0) {
        kvsp_ext_free(out->service_endpoint_url);
        out->service_endpoint_url = scratch.service_endpoint_url;
        scratch.service_endpoint_url = NULL;
    }
    kvsp_aws_profile_free(&scratch);
    return rc;
}

static void set_why(char *why, size_t why_size, const char *action, const char *path, int err)
{
    if (why && why_size)
        snprintf(why, why_size, "cannot %s %s: %s", action, path, strerror(err));
}

int kvsp_aws_profile_load(const char *path, kvsp_aws_file kind, const char *profile,
                          kvsp_aws_profile *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        set_why(why, why_size, "open", path, errno);
        return KVSP_ERR_IO;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_FILE_SIZE) {
                set_why(why, why_size, "read", path, EFBIG);
                rc = KVSP_ERR_IO;
                break;
            }
            cap = cap ? cap * 2 : 4096;
            char *bigger = kvsp_ext_realloc(text, cap);
            if (!bigger) {
                rc = KVSP_ERR_NOMEM;
                break;
            }
            text = bigger;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                set_why(why, why_size, "read", path, errno ? errno : EIO);
                rc = KVSP_ERR_IO;
            }
            break;
        }
    }
    fclose(f);
    if (rc == 0)
        rc = kvsp_aws_profile_parse(text ? text : "", len, kind, profile, out);
    if (rc == 0 && kind == KVSP_AWS_CONFIG_FILE && out->services)
        rc = kvsp_aws_services_parse(text ? text : "", len, out->services, out);
    if (rc != 0)
        kvsp_aws_profile_free(out);
    if (rc == KVSP_ERR_NOMEM && why && why_size)
        snprintf(why, why_size, "out of memory reading %s", path);
    if (text) {
        /* the buffer held every profile's secrets, not only the one taken */
        volatile char *v = text;
        for (size_t i = 0; i < len; i++)
            v[i] = 0;
        kvsp_ext_free(text);
    }
    return rc;
}

void kvsp_aws_profile_free(kvsp_aws_profile *p)
{
    kvsp_wipe_free(p->access_key_id);
    kvsp_wipe_free(p->secret_access_key);
    kvsp_wipe_free(p->session_token);
    kvsp_ext_free(p->region);
    kvsp_ext_free(p->endpoint_url);
    kvsp_ext_free(p->ca_bundle);
    kvsp_ext_free(p->ignore_configured_endpoint_urls);
    kvsp_ext_free(p->services);
    kvsp_ext_free(p->service_endpoint_url);
    memset(p, 0, sizeof *p);
}

void kvsp_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

void kvsp_wipe_free(char *s)
{
    if (!s)
        return;
    kvsp_wipe(s, strlen(s));
    kvsp_ext_free(s);
}

static char *join(const char *a, const char *b, int *nomem)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = kvsp_ext_malloc(na + nb + 1);
    if (!s) {
        *nomem = 1;
        return NULL;
    }
    memcpy(s, a, na);
    memcpy(s + na, b, nb + 1);
    return s;
}

char *kvsp_aws_file_path(kvsp_aws_file kind, int *nomem)
{
    *nomem = 0;
    const char *var =
        kind == KVSP_AWS_CREDENTIALS_FILE ? "AWS_SHARED_CREDENTIALS_FILE" : "AWS_CONFIG_FILE";
    const char *set = getenv(var);
    const char *home = getenv("HOME");
    if (home && !*home)
        home = NULL;
    if (set && *set) {
        /* The CLI expands ~ itself, and shells leave it alone inside quotes
         * (AWS_CONFIG_FILE="~/x"), so the library has to do it too. */
        if (home && set[0] == '~' && (set[1] == '/' || set[1] == '\0'))
            return join(home, set + 1, nomem);
        return join(set, "", nomem);
    }
    if (!home)
        return NULL;
    return join(home, kind == KVSP_AWS_CREDENTIALS_FILE ? "/.aws/credentials" : "/.aws/config",
                nomem);
}

const char *kvsp_aws_profile_name(const char *explicit_name, int *named)
{
    *named = 1;
    if (explicit_name && *explicit_name)
        return explicit_name;
    const char *env = getenv("AWS_PROFILE");
    if (env && *env)
        return env;
    *named = 0;
    return "default";
}
