/* SigV4: every case of the AWS SigV4 test suite, signed both as the suite's
 * header variant (Authorization header) and as its query variant (presigned
 * URL, X-Amz-* parameters fed through the same canonical query code), and
 * kvsp_sigv4_verify on good and tampered requests (test_sigv4_verify.c).
 *
 *   test_sigv4 suite <suite dir>   (skips when the directory is absent)
 *   test_sigv4 verify */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "kvsparser/sigv4.h"
#include "kvsparser/status.h"
#include "sigv4_test_support.h"
#include "test_util.h"

/* ---- the suite ---- */

static const char *g_suite_dir;

typedef struct case_list {
    char **paths;
    size_t count, cap;
} case_list;

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* A case is any folder holding request.txt, however deep: suites group some
 * cases in subfolders. */
static void find_cases(const char *dir, case_list *out)
{
    char *req = join(dir, "request.txt");
    struct stat st;
    if (stat(req, &st) == 0) {
        if (out->count == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 64;
            out->paths = realloc(out->paths, out->cap * sizeof *out->paths);
            assert_non_null(out->paths);
        }
        out->paths[out->count++] = strdup(dir);
    }
    free(req);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *sub = join(dir, e->d_name);
        if (is_dir(sub))
            find_cases(sub, out);
        free(sub);
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The expected files end without a newline, or with blank lines that are no
 * part of the value. */
static char *expected(const char *dir, const char *name)
{
    char *path = join(dir, name);
    size_t n;
    char *s = sigv4_read_text(path, &n);
    free(path);
    if (s)
        while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
            s[--n] = '\0';
    return s;
}

/* The Authorization header value of the expected signed request. */
static char *expected_authorization(const char *dir)
{
    char *text = expected(dir, "header-signed-request.txt");
    char *found = NULL;
    for (char *line = text ? strtok(text, "\n") : NULL; line && !found; line = strtok(NULL, "\n"))
        if (strncmp(line, "Authorization:", 14) == 0)
            found = strdup(line + 14);
    free(text);
    return found;
}

static int same(const char *dir, const char *variant, const char *what, const char *want,
                const char *got)
{
    if (want && got && strcmp(want, got) == 0)
        return 1;
    print_error("%s [%s] %s differs\n--- expected\n%s\n--- got\n%s\n", dir, variant, what,
                want ? want : "(missing file)", got ? got : "(null)");
    return 0;
}

typedef struct suite_context {
    json_t *root;
    const char *access_key_id, *secret, *token, *region, *service;
    int normalize, sign_body, omit_token;
    long expires;
    char amz_date[17];
} suite_context;

static int load_context(const char *dir, suite_context *c)
{
    char *path = join(dir, "context.json");
    json_error_t err;
    memset(c, 0, sizeof *c);
    c->root = json_load_file(path, 0, &err);
    free(path);
    if (!c->root)
        return 0;
    json_t *cred = json_object_get(c->root, "credentials");
    c->access_key_id = json_string_value(json_object_get(cred, "access_key_id"));
    c->secret = json_string_value(json_object_get(cred, "secret_access_key"));
    c->token = json_string_value(json_object_get(cred, "token"));
    c->region = json_string_value(json_object_get(c->root, "region"));
    c->service = json_string_value(json_object_get(c->root, "service"));
    c->normalize = json_is_true(json_object_get(c->root, "normalize"));
    c->sign_body = json_is_true(json_object_get(c->root, "sign_body"));
    c->omit_token = json_is_true(json_object_get(c->root, "omit_session_token"));
    c->expires = (long)json_integer_value(json_object_get(c->root, "expiration_in_seconds"));
    /* "2015-08-30T12:36:00Z" to "20150830T123600Z" */
    const char *ts = json_string_value(json_object_get(c->root, "timestamp"));
    size_t n = 0;
    for (; ts && *ts && n < 16; ts++)
        if (*ts != '-' && *ts != ':')
            c->amz_date[n++] = *ts;
    return c->access_key_id && c->secret && c->region && c->service && n == 16;
}

static kvsp_sigv4_request to_sign(const sigv4_http_request *r, const suite_context *c)
{
    kvsp_sigv4_request q = {r->method,       r->path,     r->query,    r->headers,
                            r->header_count, r->body,     r->body_len, c->region,
                            c->service,      c->amz_date, c->normalize};
    return q;
}

/* The header variant: X-Amz-Date, the session token unless the case adds it
 * after signing, and x-amz-content-sha256 for cases that sign the body. */
static int run_header_variant(const char *dir, const suite_context *c, sigv4_http_request *r)
{
    kvsp_sigv4_credentials cred = {c->access_key_id, c->secret, c->token};
    kvsp_sigv4_result res;
    sigv4_add_header(r, "X-Amz-Date", c->amz_date);
    if (c->token && !c->omit_token)
        sigv4_add_header(r, "X-Amz-Security-Token", c->token);
    if (c->sign_body) {
        /* The content hash comes from a first signature's payload hash; the
         * canonical request comparison checks that hash independently. */
        kvsp_sigv4_request q = to_sign(r, c);
        assert_int_equal(kvsp_sigv4_sign(&q, &cred, &res), KVSP_OK);
        sigv4_add_header(r, "x-amz-content-sha256", res.payload_hash);
        kvsp_sigv4_result_free(&res);
    }
    kvsp_sigv4_request q = to_sign(r, c);
    int rc = kvsp_sigv4_sign(&q, &cred, &res);
    if (rc != KVSP_OK) {
        print_error("%s [header] sign failed: %s\n", dir, kvsp_status_name(rc));
        return 0;
    }
    char *creq = expected(dir, "header-canonical-request.txt");
    char *sts = expected(dir, "header-string-to-sign.txt");
    char *sig = expected(dir, "header-signature.txt");
    char *authz = expected_authorization(dir);
    int ok = same(dir, "header", "canonical request", creq, res.canonical_request) &
             same(dir, "header", "string to sign", sts, res.string_to_sign) &
             same(dir, "header", "signature", sig, res.signature) &
             same(dir, "header", "Authorization", authz, res.authorization);
    /* What was signed must also verify, with the token header the
     * "header after" case adds once signed, unsigned but present. */
    kvsp_error err;
    if (c->token && c->omit_token) {
        sigv4_add_header(r, "X-Amz-Security-Token", c->token);
        q = to_sign(r, c);
    }
    if (ok && kvsp_sigv4_verify(&q, res.authorization, &cred, &err) != KVSP_OK) {
        print_error("%s [header] own signature does not verify: %s\n", dir, err.message);
        ok = 0;
    }
    free(creq);
    free(sts);
    free(sig);
    free(authz);
    kvsp_sigv4_result_free(&res);
    return ok;
}

/* The query variant presigns: the X-Amz-* parameters join the query and the
 * headers are signed without X-Amz-Date. SignedHeaders is part of the query,
 * so a first signature supplies the list. */
static int run_query_variant(const char *dir, const suite_context *c, const sigv4_http_request *r)
{
    kvsp_sigv4_credentials cred = {c->access_key_id, c->secret, c->token};
    kvsp_sigv4_request q = to_sign(r, c);
    kvsp_sigv4_result res;
    assert_int_equal(kvsp_sigv4_sign(&q, &cred, &res), KVSP_OK);

    char scope[256], expires[32];
    snprintf(scope, sizeof scope, "%s/%.8s/%s/%s/aws4_request", c->access_key_id, c->amz_date,
             c->region, c->service);
    snprintf(expires, sizeof expires, "%ld", c->expires);
    sigv4_text query = {0};
    if (r->query && *r->query) {
        sigv4_text_add(&query, r->query);
        sigv4_text_add(&query, "&");
    }
    sigv4_text_add(&query, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
    sigv4_text_add_encoded(&query, scope);
    sigv4_text_add(&query, "&X-Amz-Date=");
    sigv4_text_add(&query, c->amz_date);
    sigv4_text_add(&query, "&X-Amz-SignedHeaders=");
    sigv4_text_add_encoded(&query, res.signed_headers);
    sigv4_text_add(&query, "&X-Amz-Expires=");
    sigv4_text_add(&query, expires);
    if (c->token && !c->omit_token) {
        sigv4_text_add(&query, "&X-Amz-Security-Token=");
        sigv4_text_add_encoded(&query, c->token);
    }
    kvsp_sigv4_result_free(&res);

    q.query = query.data;
    int rc = kvsp_sigv4_sign(&q, &cred, &res);
    free(query.data);
    if (rc != KVSP_OK) {
        print_error("%s [query] sign failed: %s\n", dir, kvsp_status_name(rc));
        return 0;
    }
    char *creq = expected(dir, "query-canonical-request.txt");
    char *sts = expected(dir, "query-string-to-sign.txt");
    char *sig = expected(dir, "query-signature.txt");
    int ok = same(dir, "query", "canonical request", creq, res.canonical_request) &
             same(dir, "query", "string to sign", sts, res.string_to_sign) &
             same(dir, "query", "signature", sig, res.signature);
    free(creq);
    free(sts);
    free(sig);
    kvsp_sigv4_result_free(&res);
    return ok;
}

static int run_case(const char *dir)
{
    suite_context c;
    if (!load_context(dir, &c)) {
        print_error("%s: unreadable context.json\n", dir);
        json_decref(c.root);
        return 0;
    }
    char *path = join(dir, "request.txt");
    sigv4_http_request r;
    int parsed = sigv4_parse_request(path, &r);
    free(path);
    int ok = 0;
    if (!parsed) {
        print_error("%s: unparsable request.txt\n", dir);
    } else {
        /* The query variant signs the request as given, before the header
         * variant adds its headers. */
        ok = run_query_variant(dir, &c, &r);
        ok &= run_header_variant(dir, &c, &r);
    }
    sigv4_free_request(&r);
    json_decref(c.root);
    return ok;
}

static void test_suite(void **state)
{
    (void)state;
    case_list cases = {0};
    find_cases(g_suite_dir, &cases);
    assert_true(cases.count > 0);
    qsort(cases.paths, cases.count, sizeof *cases.paths, cmp_str);
    size_t passed = 0;
    for (size_t i = 0; i < cases.count; i++) {
        passed += (size_t)run_case(cases.paths[i]);
        free(cases.paths[i]);
    }
    free(cases.paths);
    print_message("sigv4 suite: %zu of %zu cases pass (header and query variants)\n", passed,
                  cases.count);
    assert_int_equal(passed, cases.count);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "suite") == 0) {
        g_suite_dir = argv[2];
        if (!is_dir(g_suite_dir)) {
            char why[4200];
            snprintf(why, sizeof why, "no SigV4 test suite at %s", g_suite_dir);
            return kvsp_test_skip(why);
        }
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_suite)};
        return cmocka_run_group_tests_name("sigv4_suite", tests, NULL, NULL);
    }
    if (argc == 2 && strcmp(argv[1], "verify") == 0)
        return sigv4_verify_tests();
    fprintf(stderr, "usage: %s suite <dir> | verify\n", argv[0]);
    return 2;
}
