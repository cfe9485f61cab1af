/* AWS Signature Version 4 signing and checking, on OpenSSL 3's EVP
 * interfaces. The canonical request is built in sigv4_canonical.c; this file
 * hashes it, derives the signing key and formats the Authorization header. */
#define _POSIX_C_SOURCE 200809L

#include "kvsparser/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "../alloc_internal.h"
#include "kvsparser/status.h"
#include "sigv4_canonical.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* OpenSSL failing here means it could not allocate (SHA-256 and HMAC are
 * always available), hence KVSP_ERR_NOMEM. */
static int sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    if (!EVP_Digest(n ? data : "", n, md, &len, EVP_sha256(), NULL) || len != sizeof md)
        return KVSP_ERR_NOMEM;
    to_hex(md, sizeof md, out);
    return KVSP_OK;
}

typedef struct hmac {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
} hmac;

static int hmac_open(hmac *h)
{
    h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    h->ctx = h->mac ? EVP_MAC_CTX_new(h->mac) : NULL;
    return h->ctx ? KVSP_OK : KVSP_ERR_NOMEM;
}

static void hmac_close(hmac *h)
{
    EVP_MAC_CTX_free(h->ctx);
    EVP_MAC_free(h->mac);
}

static int hmac_sha256(hmac *h, const unsigned char *key, size_t key_len, const char *msg,
                       unsigned char out[32])
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    size_t len = 0;
    if (!EVP_MAC_init(h->ctx, key, key_len, params) ||
        !EVP_MAC_update(h->ctx, (const unsigned char *)msg, strlen(msg)) ||
        !EVP_MAC_final(h->ctx, out, &len, 32) || len != 32)
        return KVSP_ERR_NOMEM;
    return KVSP_OK;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 * "aws4_request"), then the signature is HMAC(kSigning, string to sign).
 * Every intermediate key is wiped: each one signs for a whole day. */
static int sign_string(const char *secret, const char *date, const char *region,
                       const char *service, const char *string_to_sign, char signature[65])
{
    hmac h;
    int rc = hmac_open(&h);
    size_t slen = strlen(secret);
    unsigned char *k0 = rc == KVSP_OK ? kvsp_ext_malloc(slen + 4) : NULL;
    unsigned char k[32], sig[32];
    if (rc == KVSP_OK && !k0)
        rc = KVSP_ERR_NOMEM;
    if (rc == KVSP_OK) {
        memcpy(k0, "AWS4", 4);
        memcpy(k0 + 4, secret, slen);
        rc = hmac_sha256(&h, k0, slen + 4, date, k);
        OPENSSL_cleanse(k0, slen + 4);
    }
    if (rc == KVSP_OK)
        rc = hmac_sha256(&h, k, sizeof k, region, k);
    if (rc == KVSP_OK)
        rc = hmac_sha256(&h, k, sizeof k, service, k);
    if (rc == KVSP_OK)
        rc = hmac_sha256(&h, k, sizeof k, TERMINATOR, k);
    if (rc == KVSP_OK)
        rc = hmac_sha256(&h, k, sizeof k, string_to_sign, sig);
    if (rc == KVSP_OK)
        to_hex(sig, sizeof sig, signature);
    OPENSSL_cleanse(k, sizeof k);
    kvsp_ext_free(k0);
    hmac_close(&h);
    return rc;
}

/* "20150830T123600Z"; its first eight characters are the scope date. */
static int valid_amz_date(const char *d)
{
    if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return 0;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (d[i] < '0' || d[i] > '9'))
            return 0;
    return 1;
}

/* Scope parts are joined with '/' and the header with ", " and '=': a part
 * holding one of those (or white space) would sign a different scope from the
 * one the reader of the Authorization header sees. */
static int valid_scope_part(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == '/' || *s == ',' || *s == '=' || *s == 0x7f)
            return 0;
    return 1;
}

static int valid_method(const char *m)
{
    if (!m || !*m)
        return 0;
    for (; *m; m++)
        if ((unsigned char)*m <= ' ' || *m == 0x7f)
            return 0;
    return 1;
}

static int check_request(const kvsp_sigv4_request *req, const kvsp_sigv4_credentials *cred)
{
    if (!req || !cred || !valid_method(req->method) || !valid_amz_date(req->amz_date) ||
        !valid_scope_part(req->region) || !valid_scope_part(req->service) ||
        !valid_scope_part(cred->access_key_id) || !cred->secret_access_key ||
        (req->payload_size && !req->payload) || (req->header_count && !req->headers))
        return 0;
    /* A line break in the path would add a line to the canonical request;
     * encoding makes that harmless, but such a path was never sent. */
    for (const char *p = req->path ? req->path : ""; *p; p++)
        if (*p == '\r' || *p == '\n')
            return 0;
    return 1;
}

static int build_canonical(const kvsp_sigv4_request *req, kvsp_sigv4_result *out)
{
    kvsp_sigv4_buf creq = {0}, lines = {0}, names = {0};
    int rc = sha256_hex(req->payload, req->payload_size, out->payload_hash);
    if (rc == KVSP_OK)
        rc = kvsp_sigv4_canonical_headers(&lines, &names, req->headers, req->header_count);
    if (rc == KVSP_OK) {
        kvsp_sigv4_buf_puts(&creq, req->method);
        kvsp_sigv4_buf_putc(&creq, '\n');
        rc = kvsp_sigv4_canonical_uri(&creq, req->path, req->normalize_path);
    }
    if (rc == KVSP_OK) {
        kvsp_sigv4_buf_putc(&creq, '\n');
        rc = kvsp_sigv4_canonical_query(&creq, req->query);
    }
    if (rc == KVSP_OK) {
        kvsp_sigv4_buf_putc(&creq, '\n');
        if (lines.data)
            kvsp_sigv4_buf_put(&creq, lines.data, lines.len);
        kvsp_sigv4_buf_putc(&creq, '\n');
        if (names.data)
            kvsp_sigv4_buf_put(&creq, names.data, names.len);
        kvsp_sigv4_buf_putc(&creq, '\n');
        kvsp_sigv4_buf_puts(&creq, out->payload_hash);
        out->canonical_request = kvsp_sigv4_buf_take(&creq);
        out->signed_headers = kvsp_sigv4_buf_take(&names);
        if (!out->canonical_request || !out->signed_headers)
            rc = KVSP_ERR_NOMEM;
    }
    kvsp_sigv4_buf_free(&creq);
    kvsp_sigv4_buf_free(&lines);
    kvsp_sigv4_buf_free(&names);
    return rc;
}

KVSP_API int kvsp_sigv4_sign(const kvsp_sigv4_request *req, const kvsp_sigv4_credentials *cred,
                             kvsp_sigv4_result *out)
{
    if (!out)
        return KVSP_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    if (!check_request(req, cred))
        return KVSP_ERR_INVALID_ARG;

    int rc = build_canonical(req, out);
    char date[9], creq_hash[65];
    memcpy(date, req->amz_date, 8);
    date[8] = '\0';
    kvsp_sigv4_buf scope = {0}, sts = {0}, auth = {0};
    if (rc == KVSP_OK)
        rc = sha256_hex(out->canonical_request, strlen(out->canonical_request), creq_hash);
    if (rc == KVSP_OK) {
        kvsp_sigv4_buf_puts(&scope, date);
        kvsp_sigv4_buf_putc(&scope, '/');
        kvsp_sigv4_buf_puts(&scope, req->region);
        kvsp_sigv4_buf_putc(&scope, '/');
        kvsp_sigv4_buf_puts(&scope, req->service);
        kvsp_sigv4_buf_puts(&scope, "/" TERMINATOR);

        kvsp_sigv4_buf_puts(&sts, ALGORITHM "\n");
        kvsp_sigv4_buf_puts(&sts, req->amz_date);
        kvsp_sigv4_buf_putc(&sts, '\n');
        if (scope.data)
            kvsp_sigv4_buf_puts(&sts, scope.data);
        kvsp_sigv4_buf_putc(&sts, '\n');
        kvsp_sigv4_buf_puts(&sts, creq_hash);
        out->string_to_sign = kvsp_sigv4_buf_take(&sts);
        if (!out->string_to_sign || scope.failed)
            rc = KVSP_ERR_NOMEM;
    }
    if (rc == KVSP_OK)
        rc = sign_string(cred->secret_access_key, date, req->region, req->service,
                         out->string_to_sign, out->signature);
    if (rc == KVSP_OK) {
        kvsp_sigv4_buf_puts(&auth, ALGORITHM " Credential=");
        kvsp_sigv4_buf_puts(&auth, cred->access_key_id);
        kvsp_sigv4_buf_putc(&auth, '/');
        kvsp_sigv4_buf_puts(&auth, scope.data);
        kvsp_sigv4_buf_puts(&auth, ", SignedHeaders=");
        kvsp_sigv4_buf_puts(&auth, out->signed_headers);
        kvsp_sigv4_buf_puts(&auth, ", Signature=");
        kvsp_sigv4_buf_puts(&auth, out->signature);
        out->authorization = kvsp_sigv4_buf_take(&auth);
        if (!out->authorization)
            rc = KVSP_ERR_NOMEM;
    }
    kvsp_sigv4_buf_free(&scope);
    kvsp_sigv4_buf_free(&sts);
    kvsp_sigv4_buf_free(&auth);
    if (rc != KVSP_OK)
        kvsp_sigv4_result_free(out);
    return rc;
}

/* ---- verification ---- */

static int fail(kvsp_error *err, int rc, const char *msg)
{
    if (err) {
        err->status = rc;
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return rc;
}

static int span_is(const char *p, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(p, s, n) == 0;
}

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

typedef struct span {
    const char *p;
    size_t n;
} span;

/* The three parts of "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/
 * service/aws4_request, SignedHeaders=host;x-amz-date, Signature=<hex>", in
 * any order, each exactly once. */
typedef struct auth_parts {
    span credential;
    span signed_headers;
    span signature;
} auth_parts;

static int parse_authorization(const char *a, auth_parts *out)
{
    memset(out, 0, sizeof *out);
    a = skip_space(a);
    size_t alg = strlen(ALGORITHM);
    if (strncmp(a, ALGORITHM, alg) != 0 || (a[alg] != ' ' && a[alg] != '\t'))
        return 0;
    for (const char *s = a + alg;;) {
        s = skip_space(s);
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        const char *eq = memchr(s, '=', n);
        if (!eq)
            return 0;
        size_t key = (size_t)(eq - s);
        span *slot = span_is(s, key, "Credential")      ? &out->credential
                     : span_is(s, key, "SignedHeaders") ? &out->signed_headers
                     : span_is(s, key, "Signature")     ? &out->signature
                                                        : NULL;
        if (!slot || slot->p)
            return 0;
        slot->p = eq + 1;
        slot->n = n - key - 1;
        if (!slot->n)
            return 0;
        if (!end)
            break;
        s = end + 1;
    }
    return out->credential.p && out->signed_headers.p && out->signature.p;
}

/* Splits the credential into its five '/'-separated fields. */
static int split_credential(span c, span f[5])
{
    int i = 0;
    const char *p = c.p, *end = c.p + c.n;
    for (;;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        f[i].p = p;
        f[i].n = slash ? (size_t)(slash - p) : (size_t)(end - p);
        if (!slash)
            return i == 4;
        if (++i == 5)
            return 0;
        p = slash + 1;
    }
}

static int in_list(const char *name, span list)
{
    const char *p = list.p, *end = list.p + list.n;
    while (p <= end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        size_t n = semi ? (size_t)(semi - p) : (size_t)(end - p);
        if (n && kvsp_sigv4_header_is(name, p, n))
            return 1;
        if (!semi)
            break;
        p = semi + 1;
    }
    return 0;
}

static int token_matches(const kvsp_sigv4_request *req, const char *token)
{
    size_t want = strlen(token);
    for (size_t i = 0; i < req->header_count; i++) {
        if (!req->headers[i].name || !req->headers[i].value ||
            !kvsp_sigv4_header_is(req->headers[i].name, "x-amz-security-token", 20))
            continue;
        const char *v = skip_space(req->headers[i].value);
        size_t n = strlen(v);
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        return n == want && CRYPTO_memcmp(v, token, n) == 0;
    }
    return 0;
}

KVSP_API int kvsp_sigv4_verify(const kvsp_sigv4_request *req, const char *authorization,
                               const kvsp_sigv4_credentials *cred, kvsp_error *err)
{
    fail(err, KVSP_OK, "");
    if (!req || !authorization || !cred || !cred->access_key_id || !cred->secret_access_key ||
        (req->header_count && !req->headers))
        return fail(err, KVSP_ERR_INVALID_ARG, "missing request, header or credentials");
    if (!valid_amz_date(req->amz_date))
        return fail(err, KVSP_ERR_INVALID_ARG, "missing or malformed X-Amz-Date");

    auth_parts a;
    span f[5];
    if (!parse_authorization(authorization, &a) || !split_credential(a.credential, f))
        return fail(err, KVSP_ERR_INVALID_ARG, "malformed Authorization header");
    if (!span_is(f[0].p, f[0].n, cred->access_key_id))
        return fail(err, KVSP_ERR_INVALID_ARG, "unknown access key id");
    if (f[1].n != 8 || memcmp(f[1].p, req->amz_date, 8) != 0)
        return fail(err, KVSP_ERR_INVALID_ARG, "credential date is not the X-Amz-Date day");
    if (!req->region || !span_is(f[2].p, f[2].n, req->region))
        return fail(err, KVSP_ERR_INVALID_ARG, "credential scope is for another region");
    if (!req->service || !span_is(f[3].p, f[3].n, req->service))
        return fail(err, KVSP_ERR_INVALID_ARG, "credential scope is for another service");
    if (!span_is(f[4].p, f[4].n, TERMINATOR))
        return fail(err, KVSP_ERR_INVALID_ARG, "credential scope does not end in aws4_request");
    if (a.signature.n != 64)
        return fail(err, KVSP_ERR_INVALID_ARG, "malformed signature");
    /* AWS refuses requests whose host is unsigned: they could be replayed
     * against another endpoint. */
    if (!in_list("host", a.signed_headers))
        return fail(err, KVSP_ERR_INVALID_ARG, "host header not signed");
    if (cred->session_token && !token_matches(req, cred->session_token))
        return fail(err, KVSP_ERR_INVALID_ARG, "security token missing or wrong");

    /* Re-sign with exactly the headers the client says it signed. */
    kvsp_sigv4_header *subset =
        kvsp_ext_malloc((req->header_count ? req->header_count : 1) * sizeof *subset);
    if (!subset)
        return fail(err, KVSP_ERR_NOMEM, "out of memory");
    kvsp_sigv4_request signed_req = *req;
    signed_req.headers = subset;
    signed_req.header_count = 0;
    for (size_t i = 0; i < req->header_count; i++)
        if (req->headers[i].name && in_list(req->headers[i].name, a.signed_headers))
            subset[signed_req.header_count++] = req->headers[i];

    kvsp_sigv4_result r;
    int rc = kvsp_sigv4_sign(&signed_req, cred, &r);
    kvsp_ext_free(subset);
    if (rc == KVSP_ERR_NOMEM)
        return fail(err, rc, "out of memory");
    if (rc != KVSP_OK)
        return fail(err, rc, "request cannot be signed (method, region, service or headers)");
    if (!span_is(a.signed_headers.p, a.signed_headers.n, r.signed_headers))
        rc = fail(err, KVSP_ERR_INVALID_ARG,
                  "SignedHeaders lists headers the request lacks, or is not in canonical form");
    else if (CRYPTO_memcmp(r.signature, a.signature.p, 64) != 0)
        rc = fail(err, KVSP_ERR_INVALID_ARG, "signature does not match");
    kvsp_sigv4_result_free(&r);
    return rc;
}

KVSP_API void kvsp_sigv4_result_free(kvsp_sigv4_result *r)
{
    if (!r)
        return;
    kvsp_ext_free(r->canonical_request);
    kvsp_ext_free(r->string_to_sign);
    kvsp_ext_free(r->signed_headers);
    kvsp_ext_free(r->authorization);
    memset(r, 0, sizeof *r);
}

KVSP_API void kvsp_sigv4_now(char out[17])
{
    time_t now = time(NULL);
    struct tm tm;
    if (now == (time_t)-1 || !gmtime_r(&now, &tm) || strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        memcpy(out, "19700101T000000Z", 17); /* unreachable in practice; still a valid value */
}
