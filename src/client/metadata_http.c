#include "metadata_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc_internal.h"
#include "../error_format.h"
#include "aws_config.h"
#include "http_transfer.h"
#include "kvsparser/status.h"

/* Metadata responses are a few hundred bytes; the cap keeps a wrong
 * endpoint from filling memory. */
#define MAX_BODY ((size_t)64 << 10)
#define DEFAULT_TIMEOUT_MS 1000L
#define MAX_TOKEN ((size_t)16 << 10)
/* IMDS allows up to six hours. A token serves one fetch, but a long TTL
 * costs nothing and survives a slow instance. */
#define IMDS_TOKEN_TTL "21600"

void kvsp_md_fail(char *why, size_t why_size, const char *fmt, ...)
{
    if (!why || !why_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    kvsp_ext_error_vformat(why, why_size, NULL, 0, fmt, ap);
    va_end(ap);
}

const char *kvsp_md_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int ascii_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

void kvsp_md_credentials_free(kvsp_md_credentials *c)
{
    kvsp_wipe_free(c->access_key_id);
    kvsp_wipe_free(c->secret_access_key);
    kvsp_wipe_free(c->session_token);
    memset(c, 0, sizeof *c);
}

static void response_free(kvsp_md_response *r)
{
    if (r->body) {
        kvsp_wipe(r->body, r->len);
        kvsp_ext_free(r->body);
    }
    memset(r, 0, sizeof *r);
}

int kvsp_md_request(const char *method, const char *url, const char *const *headers,
                    long timeout_ms, kvsp_md_response *resp, char *why, size_t why_size)
{
    memset(resp, 0, sizeof *resp);
    CURL *h = curl_easy_init();
    struct curl_slist *list = NULL;
    int ok = h != NULL;
    for (size_t i = 0; ok && headers && headers[i]; i++) {
        struct curl_slist *more = curl_slist_append(list, headers[i]);
        ok = more != NULL;
        if (more)
            list = more;
    }
    if (ok && strcmp(method, "PUT") == 0) {
        /* curl would label the empty body as a form */
        struct curl_slist *more = curl_slist_append(list, "Content-Type:");
        ok = more != NULL;
        if (more)
            list = more;
    }
    if (!ok) {
        curl_easy_cleanup(h);
        kvsp_http_headers_free(list);
        kvsp_md_fail(why, why_size, "out of memory");
        return KVSP_ERR_NOMEM;
    }
    if (timeout_ms <= 0)
        timeout_ms = DEFAULT_TIMEOUT_MS;
    kvsp_http_transfer t;
    memset(&t, 0, sizeof t);
    t.method = method;
    t.url = url;
    t.headers = list;
    t.connect_timeout_ms = timeout_ms;
    t.timeout_ms = timeout_ms;
    /* The endpoints are link-local or loopback addresses (see `direct`). */
    t.direct = 1;
    t.max_collect = MAX_BODY;
    CURLcode cc = kvsp_http_transfer_run(h, &t);
    curl_easy_cleanup(h);
    kvsp_http_headers_free(list); /* the tokens */

    int rc = 0;
    if (t.nomem) {
        kvsp_md_fail(why, why_size, "out of memory");
        rc = KVSP_ERR_NOMEM;
    } else if (t.too_large) {
        kvsp_md_fail(why, why_size, "response larger than %zu bytes", MAX_BODY);
        rc = KVSP_ERR_SERVICE;
    } else if (cc != CURLE_OK) {
        kvsp_md_fail(why, why_size, "%s", t.curl_error[0] ? t.curl_error : curl_easy_strerror(cc));
        rc = KVSP_ERR_NETWORK;
    } else if (!t.response) {
        t.response = kvsp_ext_strdup("");
        if (!t.response) {
            kvsp_md_fail(why, why_size, "out of memory");
            rc = KVSP_ERR_NOMEM;
        }
    }
    resp->status = t.status;
    resp->body = t.response;
    resp->len = t.response_len;
    if (rc != 0)
        response_free(resp);
    return rc;
}

/* ---- Expiration times -------------------------------------------------- */

static int read_digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

static int expect(const char **s, char c)
{
    if (**s != c)
        return -1;
    (*s)++;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil); timegm() is not standard C. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int kvsp_md_parse_time(const char *s, int64_t *out)
{
    static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec;
    if (!s || read_digits(&s, 4, &y) || expect(&s, '-') || read_digits(&s, 2, &mo) ||
        expect(&s, '-') || read_digits(&s, 2, &d))
        return -1;
    if (*s != 'T' && *s != 't' && *s != ' ')
        return -1;
    s++;
    if (read_digits(&s, 2, &h) || expect(&s, ':') || read_digits(&s, 2, &mi) || expect(&s, ':') ||
        read_digits(&s, 2, &sec))
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 60)
        return -1;
    if (*s == '.' || *s == ',') {
        s++;
        if (*s < '0' || *s > '9')
            return -1;
        while (*s >= '0' && *s <= '9')
            s++; /* fractions are dropped: expiry does not need them */
    }
    int64_t offset = 0;
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s == '-' ? -1 : 1, oh, om;
        s++;
        if (read_digits(&s, 2, &oh))
            return -1;
        if (*s == ':')
            s++;
        if (read_digits(&s, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset = sign * (oh * 3600 + om * 60);
    } else {
        return -1; /* a time without a zone would be read in some unknown zone */
    }
    if (*s)
        return -1;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    return 0;
}

/* ---- Credential responses ---------------------------------------------- */

int kvsp_md_parse_credentials(const char *json, size_t len, kvsp_md_credentials *out, char *why,
                              size_t why_size)
{
    memset(out, 0, sizeof *out);
    json_error_t err;
    json_t *root = json_loadb(json, len, 0, &err);
    /* err.text quotes the input near the error, which may be a secret. */
    if (!json_is_object(root)) {
        json_decref(root);
        kvsp_md_fail(why, why_size, "the response is not a JSON object");
        return KVSP_ERR_SERVICE;
    }
    const char *code = json_string_value(json_object_get(root, "Code"));
    const char *ak = json_string_value(json_object_get(root, "AccessKeyId"));
    const char *sk = json_string_value(json_object_get(root, "SecretAccessKey"));
    const char *tok = json_string_value(json_object_get(root, "Token"));
    json_t *exp = json_object_get(root, "Expiration");
    int rc = KVSP_ERR_SERVICE;
    if (code && strcmp(code, "Success") != 0) {
        kvsp_md_fail(why, why_size, "the service reported \"%.64s\" instead of credentials", code);
    } else if (!ak || !*ak || !sk || !*sk) {
        kvsp_md_fail(why, why_size, "the response lacks %s",
                     !ak || !*ak ? "AccessKeyId" : "SecretAccessKey");
    } else if (exp && (!json_is_string(exp) ||
                       kvsp_md_parse_time(json_string_value(exp), &out->expiration))) {
        kvsp_md_fail(why, why_size, "the response has an unreadable Expiration");
    } else {
        out->access_key_id = kvsp_ext_strdup(ak);
        out->secret_access_key = kvsp_ext_strdup(sk);
        out->session_token = tok && *tok ? kvsp_ext_strdup(tok) : NULL;
        rc = 0;
        if (!out->access_key_id || !out->secret_access_key ||
            (tok && *tok && !out->session_token)) {
            kvsp_md_fail(why, why_size, "out of memory");
            rc = KVSP_ERR_NOMEM;
        }
    }
    json_decref(root);
    if (rc != 0)
        kvsp_md_credentials_free(out);
    return rc;
}

/* ---- ECS ------------------------------------------------------------------ */

int kvsp_md_ecs_url(const char *relative_uri, char *out, size_t out_size)
{
    /* Without the leading slash the URI would extend the host name:
     * "@example.com/x" would send the request to example.com. */
    if (!relative_uri || relative_uri[0] != '/')
        return -1;
    for (const char *c = relative_uri; *c; c++) {
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return -1;
    }
    int n = snprintf(out, out_size, "%s%s", KVSP_ECS_HOST, relative_uri);
    return n < 0 || (size_t)n >= out_size ? -1 : 0;
}

/* Plain http is only safe to hosts that cannot be somebody else: loopback
 * and the ECS and EKS Pod Identity agents, as the SDKs enforce. */
static int http_host_allowed(const char *host)
{
    static const char *const agents[] = {"localhost", "[::1]", "169.254.170.2", "169.254.170.23",
                                         "[fd00:ec2::23]"};
    for (size_t i = 0; i < sizeof agents / sizeof agents[0]; i++) {
        if (ascii_ieq(host, agents[i]))
            return 1;
    }
    if (strncmp(host, "127.", 4) != 0)
        return 0;
    for (const char *c = host + 4; *c; c++) {
        if ((*c < '0' || *c > '9') && *c != '.')
            return 0;
    }
    return 1;
}

/* Checks the full URI and writes its scheme://host[:port] for messages: the
 * path and query may identify the credentials and stay out of them. */
static int check_full_uri(const char *uri, char *origin, size_t origin_size, char *why,
                          size_t why_size)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = KVSP_ERR_INVALID_ARG;
    if (!u) {
        kvsp_md_fail(why, why_size, "out of memory");
        return KVSP_ERR_NOMEM;
    }
    if (curl_url_set(u, CURLUPART_URL, uri, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        kvsp_md_fail(why, why_size, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL");
    } else if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
        kvsp_md_fail(why, why_size,
                     "AWS_CONTAINER_CREDENTIALS_FULL_URI must be http or https, not %.16s", scheme);
    } else if (strcmp(scheme, "http") == 0 && !http_host_allowed(host)) {
        kvsp_md_fail(
            why, why_size,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is only allowed to loopback or the "
            "ECS/EKS agent addresses, not %.128s",
            host);
    } else {
        int has_port = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK;
        snprintf(origin, origin_size, "%s://%s%s%s", scheme, host, has_port ? ":" : "",
                 has_port ? port : "");
        rc = 0;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* The Authorization value: the file (re-read each time, as EKS rotates it)
 * wins over the variable. *token is NULL when neither is set. */
static int auth_token(char **token, char *why, size_t why_size)
{
    *token = NULL;
    const char *path = kvsp_md_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *value = kvsp_md_env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    char *t;
    if (path) {
        FILE *f = fopen(path, "rb");
        if (!f) {
            kvsp_md_fail(why, why_size, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s",
                         path, strerror(errno));
            return KVSP_ERR_IO;
        }
        t = kvsp_ext_malloc(MAX_TOKEN + 1);
        if (!t) {
            fclose(f);
            kvsp_md_fail(why, why_size, "out of memory");
            return KVSP_ERR_NOMEM;
        }
        size_t n = fread(t, 1, MAX_TOKEN + 1, f);
        int err = ferror(f) ? (errno ? errno : EIO) : n > MAX_TOKEN ? EFBIG : 0;
        fclose(f);
        if (err) {
            kvsp_wipe(t, n);
            kvsp_ext_free(t);
            kvsp_md_fail(why, why_size, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s",
                         path, strerror(err));
            return KVSP_ERR_IO;
        }
        t[n] = '\0';
    } else if (value) {
        t = kvsp_ext_strdup(value);
        if (!t) {
            kvsp_md_fail(why, why_size, "out of memory");
            return KVSP_ERR_NOMEM;
        }
    } else {
        return 0;
    }
    size_t n = strlen(t);
    while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t'))
        t[--n] = '\0'; /* files usually end with a newline */
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)t[i] < ' ' || t[i] == 0x7f) {
            kvsp_wipe_free(t);
            /* it would end the header early and inject the rest */
            kvsp_md_fail(why, why_size,
                         "the container authorization token contains control characters");
            return KVSP_ERR_INVALID_ARG;
        }
    }
    if (n == 0)
        kvsp_wipe_free(t);
    else
        *token = t;
    return 0;
}

int kvsp_md_fetch_ecs(long timeout_ms, kvsp_md_credentials *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    const char *rel = kvsp_md_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = kvsp_md_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    char url[2048], origin[300] = KVSP_ECS_HOST;
    int rc;
    if (rel) {
        if (kvsp_md_ecs_url(rel, url, sizeof url) != 0) {
            kvsp_md_fail(why, why_size, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a path");
            return KVSP_ERR_INVALID_ARG;
        }
    } else if (full) {
        if (strlen(full) >= sizeof url) {
            kvsp_md_fail(why, why_size, "AWS_CONTAINER_CREDENTIALS_FULL_URI is too long");
            return KVSP_ERR_INVALID_ARG;
        }
        if ((rc = check_full_uri(full, origin, sizeof origin, why, why_size)) != 0)
            return rc;
        strcpy(url, full);
    } else {
        kvsp_md_fail(why, why_size,
                     "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor _FULL_URI is set");
        return 1;
    }
    char *token = NULL;
    if ((rc = auth_token(&token, why, why_size)) != 0)
        return rc;
    char *header = NULL;
    if (token) {
        size_t n = strlen(token) + sizeof "Authorization: ";
        header = kvsp_ext_malloc(n);
        if (header)
            snprintf(header, n, "Authorization: %s", token);
        kvsp_wipe_free(token);
        if (!header) {
            kvsp_md_fail(why, why_size, "out of memory");
            return KVSP_ERR_NOMEM;
        }
    }
    const char *headers[] = {header, NULL};
    kvsp_md_response r;
    char detail[CURL_ERROR_SIZE + 64];
    rc = kvsp_md_request("GET", url, headers, timeout_ms, &r, detail, sizeof detail);
    kvsp_wipe_free(header);
    if (rc == 0 && r.status != 200) {
        snprintf(detail, sizeof detail, "HTTP status %ld", r.status);
        rc = KVSP_ERR_SERVICE;
    }
    if (rc == 0)
        rc = kvsp_md_parse_credentials(r.body, r.len, out, detail, sizeof detail);
    response_free(&r);
    if (rc != 0)
        kvsp_md_fail(why, why_size, "endpoint %s: %s", origin, detail);
    return rc;
}

/* ---- IMDSv2 --------------------------------------------------------------- */

static int imds_get(const char *url, const char *token_header, long timeout_ms, kvsp_md_response *r,
                    char *detail, size_t detail_size)
{
    const char *headers[] = {token_header, NULL};
    return kvsp_md_request("GET", url, headers, timeout_ms, r, detail, detail_size);
}

/* Role names are [A-Za-z0-9+=,.@_-]; anything else would be a hostile or
 * broken response, and could change the path of the next request. */
static int role_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("+=,.@_-", c)))
            return 0;
    }
    return 1;
}

int kvsp_md_fetch_imds(long timeout_ms, kvsp_md_credentials *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    const char *disabled = getenv("AWS_EC2_METADATA_DISABLED");
    if (disabled && ascii_ieq(disabled, "true")) {
        kvsp_md_fail(why, why_size, "disabled by AWS_EC2_METADATA_DISABLED");
        return 1;
    }
    const char *set = kvsp_md_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char base[512], url[1024], token_header[256 + sizeof "X-aws-ec2-metadata-token: "];
    if (strlen(set ? set : KVSP_IMDS_DEFAULT_ENDPOINT) >= sizeof base) {
        kvsp_md_fail(why, why_size, "AWS_EC2_METADATA_SERVICE_ENDPOINT is too long");
        return KVSP_ERR_INVALID_ARG;
    }
    strcpy(base, set ? set : KVSP_IMDS_DEFAULT_ENDPOINT);
    size_t bn = strlen(base);
    while (bn && base[bn - 1] == '/')
        base[--bn] = '\0';

    char detail[CURL_ERROR_SIZE + 64] = "";
    kvsp_md_response r;
    const char *ttl[] = {"X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL, NULL};
    snprintf(url, sizeof url, "%s/latest/api/token", base);
    int rc = kvsp_md_request("PUT", url, ttl, timeout_ms, &r, detail, sizeof detail);
    if (rc == 0) {
        size_t n = r.len;
        while (n && (r.body[n - 1] == '\n' || r.body[n - 1] == '\r' || r.body[n - 1] == ' '))
            n--;
        if (r.status != 200) {
            snprintf(detail, sizeof detail, "the session token request got HTTP status %ld",
                     r.status);
            rc = KVSP_ERR_SERVICE;
        } else if (n == 0 || n > 256 || memchr(r.body, '\n', n) || memchr(r.body, '\r', n)) {
            snprintf(detail, sizeof detail, "the session token response is malformed");
            rc = KVSP_ERR_SERVICE;
        } else {
            snprintf(token_header, sizeof token_header, "X-aws-ec2-metadata-token: %.*s", (int)n,
                     r.body);
        }
        response_free(&r);
    }

    char role[129] = "";
    if (rc == 0) {
        snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/", base);
        rc = imds_get(url, token_header, timeout_ms, &r, detail, sizeof detail);
        if (rc == 0) {
            size_t n = strcspn(r.body, "\r\n");
            if (r.status == 404) {
                snprintf(detail, sizeof detail,
                         "no IAM role is attached to the instance (HTTP status 404)");
                rc = KVSP_ERR_SERVICE;
            } else if (r.status != 200) {
                snprintf(detail, sizeof detail, "the role list request got HTTP status %ld",
                         r.status);
                rc = KVSP_ERR_SERVICE;
            } else if (!role_name_ok(r.body, n)) {
                snprintf(detail, sizeof detail, "the role list response is malformed");
                rc = KVSP_ERR_SERVICE;
            } else {
                memcpy(role, r.body, n);
                role[n] = '\0';
            }
            response_free(&r);
        }
    }

    if (rc == 0) {
        snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/%s", base, role);
        rc = imds_get(url, token_header, timeout_ms, &r, detail, sizeof detail);
        if (rc == 0 && r.status != 200) {
            snprintf(detail, sizeof detail, "the credentials of role %s got HTTP status %ld", role,
                     r.status);
            rc = KVSP_ERR_SERVICE;
        }
        if (rc == 0)
            rc = kvsp_md_parse_credentials(r.body, r.len, out, detail, sizeof detail);
        response_free(&r);
    }
    kvsp_wipe(token_header, sizeof token_header);
    if (rc != 0)
        kvsp_md_fail(why, why_size, "endpoint %s: %s", base, detail);
    return rc;
}
