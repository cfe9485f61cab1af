/* kvsp serve: SigV4 check of every request when keys are configured. The
 * headers, path and body are taken as received, so that a client's
 * canonicalisation is tested against an independent one
 * (kvsp_sigv4_verify), as the service would. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>

#include "kvsparser/sigv4.h"
#include "serve.h"

#define MAX_SIGNED_HEADERS 64
#define MAX_SKEW_S (15 * 60)

typedef struct header_set {
    const char *signed_list; /* "host;x-amz-date", lower case */
    size_t signed_len;
    kvsp_sigv4_header headers[MAX_SIGNED_HEADERS];
    size_t count;
    int overflow;
} header_set;

typedef struct query_text {
    char buf[4096];
    size_t len;
    int overflow;
} query_text;

/* Whether `name` is one of the ';'-separated names of the list. */
static int in_list(const char *list, size_t len, const char *name)
{
    size_t n = strlen(name);
    const char *p = list, *end = list + len;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        size_t item = semi ? (size_t)(semi - p) : (size_t)(end - p);
        if (item == n && strncasecmp(p, name, n) == 0)
            return 1;
        p += item + 1;
    }
    return 0;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    header_set *set = cls;
    (void)kind;
    if (!in_list(set->signed_list, set->signed_len, key))
        return MHD_YES;
    if (set->count == MAX_SIGNED_HEADERS) {
        set->overflow = 1;
        return MHD_NO;
    }
    set->headers[set->count++] = (kvsp_sigv4_header){key, value ? value : ""};
    return MHD_YES;
}

static enum MHD_Result collect_argument(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    query_text *q = cls;
    (void)kind;
    int n = snprintf(q->buf + q->len, sizeof q->buf - q->len, "%s%s%s%s", q->len ? "&" : "", key,
                     value ? "=" : "", value ? value : "");
    if (n < 0 || (size_t)n >= sizeof q->buf - q->len) {
        q->overflow = 1;
        return MHD_NO;
    }
    q->len += (size_t)n;
    return MHD_YES;
}

/* The value after `key` in the Authorization header, up to ',' or ' '. */
static const char *auth_field(const char *auth, const char *key, size_t *len)
{
    const char *p = strstr(auth, key);
    if (!p)
        return NULL;
    p += strlen(key);
    *len = strcspn(p, ", ");
    return p;
}

static int64_t amz_date_seconds(const char *text)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!text || strlen(text) != 16 || text[8] != 'T' || text[15] != 'Z' ||
        sscanf(text, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

/* Credential=AK/DATE/REGION/SERVICE/aws4_request: the scope must be ours. */
static int check_scope(serve_ctx *ctx, const char *cred, size_t len, char *why, size_t why_size,
                       const char **type)
{
    char scope[256];
    if (len >= sizeof scope)
        len = sizeof scope - 1;
    memcpy(scope, cred, len);
    scope[len] = 0;
    char *parts[5] = {0};
    char *save = NULL, *p = scope;
    int n = 0;
    for (char *tok; n < 5 && (tok = strtok_r(p, "/", &save)); p = NULL)
        parts[n++] = tok;
    if (n != 5 || strcmp(parts[4], "aws4_request") != 0) {
        *type = "InvalidSignatureException";
        snprintf(why, why_size,
                 "Credential must have the form AK/DATE/REGION/SERVICE/aws4_request");
        return -1;
    }
    if (strcmp(parts[0], ctx->cfg.access_key) != 0) {
        *type = "UnrecognizedClientException";
        snprintf(why, why_size, "The security token included in the request is invalid.");
        return -1;
    }
    if (strcmp(parts[2], ctx->cfg.region) != 0 || strcmp(parts[3], "kinesisvideo") != 0) {
        *type = "InvalidSignatureException";
        snprintf(why, why_size,
                 "Credential should be scoped to region '%s' and service 'kinesisvideo', "
                 "not '%s' and '%s'",
                 ctx->cfg.region, parts[2], parts[3]);
        return -1;
    }
    return 0;
}

static int verify(serve_ctx *ctx, struct MHD_Connection *c, const char *method, const char *url,
                  const void *body, size_t body_size, char *why, size_t why_size, const char **type)
{
    *type = "InvalidSignatureException";
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!auth) {
        *type = "UnrecognizedClientException";
        snprintf(why, why_size, "Missing Authentication Token: the request is not signed");
        return -1;
    }
    size_t cred_len = 0, signed_len = 0;
    const char *cred = auth_field(auth, "Credential=", &cred_len);
    const char *signed_list = auth_field(auth, "SignedHeaders=", &signed_len);
    if (strncmp(auth, "AWS4-HMAC-SHA256 ", 17) != 0 || !cred || !signed_list ||
        !strstr(auth, "Signature=")) {
        snprintf(why, why_size,
                 "Authorization header is not AWS4-HMAC-SHA256 with Credential, "
                 "SignedHeaders and Signature");
        return -1;
    }
    if (check_scope(ctx, cred, cred_len, why, why_size, type) != 0)
        return -1;
    const char *amz_date = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Date");
    int64_t when = amz_date_seconds(amz_date);
    if (when < 0) {
        snprintf(why, why_size, "X-Amz-Date is missing or not like 20150830T123600Z");
        return -1;
    }
    int64_t skew = serve_now_ms() / 1000 - when;
    if (skew > MAX_SKEW_S || skew < -MAX_SKEW_S) {
        snprintf(why, why_size,
                 "Signature expired: %s is more than 15 minutes away from the server time",
                 amz_date);
        return -1;
    }
    if (!in_list(signed_list, signed_len, "host")) {
        snprintf(why, why_size, "The host header must be signed");
        return -1;
    }
    header_set set = {signed_list, signed_len, {{0}}, 0, 0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &set);
    query_text query = {{0}, 0, 0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_argument, &query);
    if (set.overflow || query.overflow) {
        snprintf(why, why_size, "too many signed headers or too long a query");
        return -1;
    }
    kvsp_sigv4_request req = {
        .method = method,
        .path = url,
        .query = query.len ? query.buf : NULL,
        .headers = set.headers,
        .header_count = set.count,
        .payload = body,
        .payload_size = body_size,
        .region = ctx->cfg.region,
        .service = "kinesisvideo",
        .amz_date = amz_date,
        .normalize_path = 1,
    };
    kvsp_sigv4_credentials keys = {ctx->cfg.access_key, ctx->cfg.secret_key, NULL};
    kvsp_error err;
    if (kvsp_sigv4_verify(&req, auth, &keys, &err) != KVSP_OK) {
        snprintf(why, why_size,
                 "The request signature we calculated does not match the signature you provided. "
                 "Check your AWS Secret Access Key and signing method.%s%.255s",
                 err.message[0] ? " " : "", err.message);
        return -1;
    }
    return 0;
}

int serve_auth_check(serve_ctx *ctx, struct MHD_Connection *c, const char *method, const char *url,
                     const void *body, size_t body_size, int *result)
{
    char why[512];
    const char *type;
    if (verify(ctx, c, method, url, body, body_size, why, sizeof why, &type) == 0)
        return 0;
    *result = serve_error(c, MHD_HTTP_FORBIDDEN, type, "%s", why);
    return 1;
}
