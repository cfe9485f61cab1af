/* kvsp_sigv4_verify: a signed KVS request verifies, also after changes that
 * do not alter its canonical form, and fails after any change that does;
 * the reasons never carry the secret. Also argument checks of the signer and
 * kvsp_sigv4_now. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kvsparser/sigv4.h"
#include "kvsparser/status.h"
#include "sigv4_test_support.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "FwoGZXIvYXdzEXAMPLE//token+with/slashes=="
#define BODY "{\"StreamName\":\"cam\",\"StartSelector\":{\"StartSelectorType\":\"NOW\"}}"

/* A GetMedia call as the client sends it, signed in setup. */
typedef struct fixture {
    kvsp_sigv4_header headers[8];
    size_t count;
    kvsp_sigv4_request req;
    kvsp_sigv4_credentials cred;
    kvsp_sigv4_result signed_result;
    char body[256];
} fixture;

static fixture g_fx;

static int setup(void **state)
{
    fixture *f = &g_fx;
    memset(f, 0, sizeof *f);
    kvsp_sigv4_header h[] = {
        {"Host", "s-1234abcd.kinesisvideo.us-west-2.amazonaws.com"},
        {"Content-Type", "application/json"},
        {"X-Amz-Date", "20240105T091500Z"},
        {"X-Amz-Security-Token", TOKEN},
    };
    memcpy(f->headers, h, sizeof h);
    f->count = 4;
    snprintf(f->body, sizeof f->body, "%s", BODY);
    kvsp_sigv4_request req = {
        "POST",          "/getMedia", NULL,           f->headers,         f->count, f->body,
        strlen(f->body), "us-west-2", "kinesisvideo", "20240105T091500Z", 1};
    f->req = req;
    kvsp_sigv4_credentials cred = {"AKIDEXAMPLE", SECRET, TOKEN};
    f->cred = cred;
    assert_int_equal(kvsp_sigv4_sign(&f->req, &f->cred, &f->signed_result), KVSP_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kvsp_sigv4_result_free(&f->signed_result);
    return 0;
}

/* Verifies and checks that the reason, if any, holds no secret. */
static int verify(const kvsp_sigv4_request *req, const char *authz,
                  const kvsp_sigv4_credentials *cred)
{
    kvsp_error err;
    memset(&err, 'x', sizeof err);
    int rc = kvsp_sigv4_verify(req, authz, cred, &err);
    const char *why = err.message;
    assert_int_equal(err.status, rc);
    assert_non_null(memchr(why, '\0', sizeof err.message));
    assert_null(strstr(why, SECRET));
    assert_null(strstr(why, "wJalr"));
    if (rc == KVSP_OK)
        assert_string_equal(why, "");
    else
        assert_true(why[0] != '\0');
    return rc;
}

static void test_valid(void **state)
{
    fixture *f = *state;
    const kvsp_sigv4_result *r = &f->signed_result;
    assert_int_equal(verify(&f->req, r->authorization, &f->cred), KVSP_OK);
    assert_string_equal(r->signed_headers, "content-type;host;x-amz-date;x-amz-security-token");
    assert_int_equal(strlen(r->signature), 64);
    /* The secret appears in no output. */
    assert_null(strstr(r->canonical_request, SECRET));
    assert_null(strstr(r->string_to_sign, SECRET));
    assert_null(strstr(r->authorization, SECRET));
}

static void test_canonical_equivalents_verify(void **state)
{
    fixture *f = *state;
    /* Other order, other case, extra white space, an unsigned extra header. */
    kvsp_sigv4_header h[] = {
        {"x-amz-security-token", TOKEN},
        {"User-Agent", "curl/8"},
        {"  content-type ", "  application/json  "},
        {"X-AMZ-DATE", "20240105T091500Z"},
        {"HOST", "s-1234abcd.kinesisvideo.us-west-2.amazonaws.com"},
    };
    kvsp_sigv4_request req = f->req;
    req.headers = h;
    req.header_count = 5;
    assert_int_equal(verify(&req, f->signed_result.authorization, &f->cred), KVSP_OK);

    /* The parts of the Authorization header in another order, spaced out. */
    char authz[512];
    snprintf(
        authz, sizeof authz,
        "  AWS4-HMAC-SHA256   Signature=%s ,SignedHeaders=%s,  Credential=AKIDEXAMPLE/20240105/"
        "us-west-2/kinesisvideo/aws4_request",
        f->signed_result.signature, f->signed_result.signed_headers);
    assert_int_equal(verify(&f->req, authz, &f->cred), KVSP_OK);
}

static void test_tampered_header_fails(void **state)
{
    fixture *f = *state;
    kvsp_sigv4_header h[8];
    memcpy(h, f->headers, sizeof h);
    h[1].value = "application/x-amz-json-1.1";
    kvsp_sigv4_request req = f->req;
    req.headers = h;
    assert_int_equal(verify(&req, f->signed_result.authorization, &f->cred), KVSP_ERR_INVALID_ARG);

    /* A signed header dropped from the request. */
    h[1] = f->headers[1];
    req.header_count = 3; /* without the token header */
    kvsp_sigv4_credentials no_token = f->cred;
    no_token.session_token = NULL;
    assert_int_equal(verify(&req, f->signed_result.authorization, &no_token), KVSP_ERR_INVALID_ARG);

    /* The same header name twice where it was signed once. */
    h[4] = h[1];
    h[4].value = "text/plain";
    req.header_count = 5;
    assert_int_equal(verify(&req, f->signed_result.authorization, &f->cred), KVSP_ERR_INVALID_ARG);
}

static void test_tampered_body_fails(void **state)
{
    fixture *f = *state;
    kvsp_sigv4_request req = f->req;
    char body[256];
    snprintf(body, sizeof body, "%s", f->body);
    body[16] = 'd'; /* "cam" becomes "cdm" */
    req.payload = body;
    assert_int_equal(verify(&req, f->signed_result.authorization, &f->cred), KVSP_ERR_INVALID_ARG);
    req.payload_size--;
    req.payload = f->body;
    assert_int_equal(verify(&req, f->signed_result.authorization, &f->cred), KVSP_ERR_INVALID_ARG);
}

static void test_tampered_request_line_fails(void **state)
{
    fixture *f = *state;
    kvsp_sigv4_request req = f->req;
    req.path = "/getMediaForFragmentList";
    assert_int_equal(verify(&req, f->signed_result.authorization, &f->cred), KVSP_ERR_INVALID_ARG);
    req = f->req;
    req.query = "x=1";
    assert_int_equal(verify(&req, f->signed_result.authorization, &f->cred), KVSP_ERR_INVALID_ARG);
    req = f->req;
    req.method = "PUT";
    assert_int_equal(verify(&req, f->signed_result.authorization, &f->cred), KVSP_ERR_INVALID_ARG);
    /* Another second of the same day keeps the scope but not the signature. */
    req = f->req;
    req.amz_date = "20240105T091501Z";
    assert_int_equal(verify(&req, f->signed_result.authorization, &f->cred), KVSP_ERR_INVALID_ARG);
    req.amz_date = "20240106T091500Z";
    assert_int_equal(verify(&req, f->signed_result.authorization, &f->cred), KVSP_ERR_INVALID_ARG);
}

static void test_tampered_signature_fails(void **state)
{
    fixture *f = *state;
    char authz[512];
    snprintf(authz, sizeof authz, "%s", f->signed_result.authorization);
    char *last = authz + strlen(authz) - 1;
    *last = *last == '0' ? '1' : '0';
    assert_int_equal(verify(&f->req, authz, &f->cred), KVSP_ERR_INVALID_ARG);
    /* Upper-case hex is another signature string. */
    snprintf(authz, sizeof authz, "%s", f->signed_result.authorization);
    for (char *p = strstr(authz, "Signature=") + 10; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    if (strcmp(authz, f->signed_result.authorization) != 0)
        assert_int_equal(verify(&f->req, authz, &f->cred), KVSP_ERR_INVALID_ARG);
    /* Truncated. */
    snprintf(authz, sizeof authz, "%s", f->signed_result.authorization);
    authz[strlen(authz) - 1] = '\0';
    assert_int_equal(verify(&f->req, authz, &f->cred), KVSP_ERR_INVALID_ARG);
}

static void test_wrong_secret_or_key_fails(void **state)
{
    fixture *f = *state;
    kvsp_sigv4_credentials cred = f->cred;
    cred.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ";
    assert_int_equal(verify(&f->req, f->signed_result.authorization, &cred), KVSP_ERR_INVALID_ARG);
    cred = f->cred;
    cred.access_key_id = "AKIDOTHER";
    assert_int_equal(verify(&f->req, f->signed_result.authorization, &cred), KVSP_ERR_INVALID_ARG);
    cred = f->cred;
    cred.session_token = "another-token";
    assert_int_equal(verify(&f->req, f->signed_result.authorization, &cred), KVSP_ERR_INVALID_ARG);
}

static void test_wrong_scope_fails(void **state)
{
    fixture *f = *state;
    kvsp_sigv4_request req = f->req;
    req.region = "eu-west-1";
    assert_int_equal(verify(&req, f->signed_result.authorization, &f->cred), KVSP_ERR_INVALID_ARG);
    req = f->req;
    req.service = "kinesis";
    assert_int_equal(verify(&req, f->signed_result.authorization, &f->cred), KVSP_ERR_INVALID_ARG);

    /* A header claiming another region must fail even with a signature
     * computed for that region: the request is for us-west-2. */
    kvsp_sigv4_request other = f->req;
    other.region = "eu-west-1";
    kvsp_sigv4_result r;
    assert_int_equal(kvsp_sigv4_sign(&other, &f->cred, &r), KVSP_OK);
    assert_int_equal(verify(&f->req, r.authorization, &f->cred), KVSP_ERR_INVALID_ARG);
    kvsp_sigv4_result_free(&r);
}

static void test_malformed_authorization_fails(void **state)
{
    fixture *f = *state;
    char sig[80];
    snprintf(sig, sizeof sig, "Signature=%s", f->signed_result.signature);
    char bad[8][512];
    const char *cred = "Credential=AKIDEXAMPLE/20240105/us-west-2/kinesisvideo/aws4_request";
    const char *sh = "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token";
    snprintf(bad[0], sizeof bad[0], "%s", "");
    snprintf(bad[1], sizeof bad[1], "AWS4-HMAC-SHA1 %s, %s, %s", cred, sh, sig);
    snprintf(bad[2], sizeof bad[2], "AWS4-HMAC-SHA256 %s, %s", cred, sh);
    snprintf(bad[3], sizeof bad[3], "AWS4-HMAC-SHA256 %s, %s, %s, %s", cred, sh, sig, sig);
    snprintf(bad[4], sizeof bad[4], "AWS4-HMAC-SHA256 %s, %s, %s, Extra=1", cred, sh, sig);
    snprintf(bad[5], sizeof bad[5],
             "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240105/us-west-2/kinesisvideo, %s, %s", sh,
             sig);
    snprintf(bad[6], sizeof bad[6], "AWS4-HMAC-SHA256 %s, SignedHeaders=, %s", cred, sig);
    /* Host unsigned: refused even though the rest would check out. */
    snprintf(bad[7], sizeof bad[7],
             "AWS4-HMAC-SHA256 %s, SignedHeaders=content-type;x-amz-date;x-amz-security-token, %s",
             cred, sig);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(verify(&f->req, bad[i], &f->cred), KVSP_ERR_INVALID_ARG);
    assert_int_equal(kvsp_sigv4_verify(&f->req, NULL, &f->cred, NULL), KVSP_ERR_INVALID_ARG);
    assert_int_equal(kvsp_sigv4_verify(NULL, f->signed_result.authorization, &f->cred, NULL),
                     KVSP_ERR_INVALID_ARG);
}

static void test_sign_rejects_bad_input(void **state)
{
    fixture *f = *state;
    kvsp_sigv4_result r;
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(kvsp_sigv4_sign(NULL, &f->cred, &r), KVSP_ERR_INVALID_ARG);
    assert_null(r.authorization); /* cleared, so freeing is safe */
    kvsp_sigv4_result_free(&r);
    assert_int_equal(kvsp_sigv4_sign(&f->req, &f->cred, NULL), KVSP_ERR_INVALID_ARG);

    const char *dates[] = {"2024-01-05T09:15:00Z", "20240105T091500", "20240105 091500Z", NULL};
    for (size_t i = 0; i < 4; i++) {
        kvsp_sigv4_request req = f->req;
        req.amz_date = dates[i];
        assert_int_equal(kvsp_sigv4_sign(&req, &f->cred, &r), KVSP_ERR_INVALID_ARG);
    }
    kvsp_sigv4_request req = f->req;
    req.region = "us-west-2/evil";
    assert_int_equal(kvsp_sigv4_sign(&req, &f->cred, &r), KVSP_ERR_INVALID_ARG);
    req = f->req;
    req.service = "";
    assert_int_equal(kvsp_sigv4_sign(&req, &f->cred, &r), KVSP_ERR_INVALID_ARG);
    kvsp_sigv4_credentials cred = f->cred;
    cred.access_key_id = "AKID, Signature=0";
    assert_int_equal(kvsp_sigv4_sign(&f->req, &cred, &r), KVSP_ERR_INVALID_ARG);
    cred.access_key_id = "AKIDEXAMPLE";
    cred.secret_access_key = NULL;
    assert_int_equal(kvsp_sigv4_sign(&f->req, &cred, &r), KVSP_ERR_INVALID_ARG);

    /* A header name that would forge a canonical line. */
    const char *names[] = {"x-a:b", "x-a\nx-b", "", "x a", "x;a"};
    for (size_t i = 0; i < 5; i++) {
        kvsp_sigv4_header h[2] = {{"host", "example.com"}, {names[i], "v"}};
        req = f->req;
        req.headers = h;
        req.header_count = 2;
        assert_int_equal(kvsp_sigv4_sign(&req, &f->cred, &r), KVSP_ERR_INVALID_ARG);
        assert_null(r.canonical_request);
    }
    kvsp_sigv4_header h[1] = {{"host", NULL}};
    req = f->req;
    req.headers = h;
    req.header_count = 1;
    assert_int_equal(kvsp_sigv4_sign(&req, &f->cred, &r), KVSP_ERR_INVALID_ARG);
}

/* Multi-line values and empty requests still give well-formed results. */
static void test_sign_edge_shapes(void **state)
{
    fixture *f = *state;
    kvsp_sigv4_header h[] = {
        {"Host", "example.com"}, {"X-Multi", "a\r\n  b\t\tc  "}, {"X-Empty", "   "}};
    kvsp_sigv4_request req = {"GET",       "",        "b=2&a=1&&a=0",     h, 3, NULL, 0,
                              "us-east-1", "service", "20150830T123600Z", 1};
    kvsp_sigv4_result r;
    assert_int_equal(kvsp_sigv4_sign(&req, &f->cred, &r), KVSP_OK);
    assert_string_equal(r.canonical_request,
                        "GET\n/\na=0&a=1&b=2\nhost:example.com\nx-empty:\nx-multi:a b c\n\n"
                        "host;x-empty;x-multi\n"
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    kvsp_sigv4_result_free(&r);

    kvsp_sigv4_request bare = {"GET",
                               "/a/./b//c/../%7e x",
                               "k=%7e+%2f&%41",
                               NULL,
                               0,
                               NULL,
                               0,
                               "us-east-1",
                               "service",
                               "20150830T123600Z",
                               1};
    assert_int_equal(kvsp_sigv4_sign(&bare, &f->cred, &r), KVSP_OK);
    assert_string_equal(r.canonical_request,
                        "GET\n/a/b/%257e%20x\nA=&k=~%2B%2F\n\n\n"
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_string_equal(r.signed_headers, "");
    kvsp_sigv4_result_free(&r);
}

static void test_now(void **state)
{
    (void)state;
    char now[17];
    memset(now, 'x', sizeof now);
    kvsp_sigv4_now(now);
    assert_int_equal(strlen(now), 16);
    assert_int_equal(now[8], 'T');
    assert_int_equal(now[15], 'Z');
    for (int i = 0; i < 15; i++)
        if (i != 8)
            assert_true(now[i] >= '0' && now[i] <= '9');
    assert_true(strncmp(now, "2024", 4) >= 0);
}

int sigv4_verify_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_canonical_equivalents_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_header_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_body_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_request_line_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_signature_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_secret_or_key_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_scope_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_authorization_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_rejects_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_edge_shapes, setup, teardown),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests_name("sigv4_verify", tests, NULL, NULL);
}
