/* Allocation failure in the client library's set-up paths, through
 * kvsp_set_allocator: the i-th allocation fails, for every i a clean run
 * reaches, and each run gives KVSP_ERR_NOMEM (or NULL with it) or a complete
 * result, and leaks nothing.
 *  - kvsp_client_create with every string option and its own credential
 *    provider (kvs_client.c, credentials.c);
 *  - credentials from the environment and from the shared files
 *    (credentials.c, aws_config.c);
 *  - a SigV4 signature and its verification (sigv4.c, sigv4_canonical.c).
 * Only the public API is used: what an application with its own allocator
 * sees. libcurl's and OpenSSL's own allocations do not go through the hook. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "counting_alloc.h"
#include "kvsparser/client.h"
#include "kvsparser/sigv4.h"
#include "test_util.h"

static char credentials_file[64];

/* Runs `once` with every allocation it makes failed in turn; returns how
 * many runs failed (with NOMEM: `once` asserts that). */
static long each_allocation_failed(const char *what, int (*once)(void))
{
    kvsp_set_allocator(&counting_allocator);
    counting_reset(0);
    assert_int_equal(once(), KVSP_OK);
    assert_int_equal(counted_live, 0);
    long total = counted_allocations, failed = 0;
    assert_true(total > 0); /* the hook reaches these allocations */
    for (long i = 1; i <= total; i++) {
        counting_reset(i);
        int rc = once();
        assert_int_equal(counted_live, 0); /* nothing leaked */
        if (rc != KVSP_OK) {
            assert_int_equal(rc, KVSP_ERR_NOMEM);
            failed++;
        }
    }
    kvsp_set_allocator(NULL);
    fprintf(stderr, "%s: %ld allocations, each failed in turn (%ld runs failed)\n", what, total,
            failed);
    return failed;
}

static int client_once(void)
{
    kvsp_client_options o;
    memset(&o, 0, sizeof o);
    o.region = "us-west-2";
    o.endpoint_url = "http://127.0.0.1:9/"; /* never contacted */
    o.profile = "setup";
    o.ca_bundle = "/nonexistent/ca.pem"; /* only copied */
    kvsp_error err;
    kvsp_client *c = kvsp_client_create(&o, &err);
    if (!c) {
        assert_int_equal(err.status, KVSP_ERR_NOMEM);
        assert_string_equal(err.message, "out of memory");
        return err.status;
    }
    assert_int_equal(err.status, KVSP_OK);
    assert_int_equal(kvsp_client_error(c), KVSP_OK);
    kvsp_client_destroy(c);
    return KVSP_OK;
}

static void test_client_create(void **state)
{
    (void)state;
    assert_true(each_allocation_failed("kvsp_client_create", client_once) > 0);
}

/* A provider's get, checked against what the source holds. */
static int credentials_once(const char *want_key, const char *want_source)
{
    kvsp_credential_provider *p = kvsp_credential_provider_create(NULL);
    if (!p)
        return KVSP_ERR_NOMEM;
    const kvsp_credentials *c;
    int rc = kvsp_credential_provider_get(p, &c);
    if (rc == KVSP_OK) {
        assert_string_equal(c->access_key_id, want_key);
        assert_string_equal(c->source, want_source);
    } else {
        assert_int_equal(kvsp_credential_provider_error(p), rc);
        assert_true(strlen(kvsp_credential_provider_error_message(p)) > 0);
    }
    kvsp_credential_provider_destroy(p);
    return rc;
}

static int environment_once(void)
{
    return credentials_once("AKIDENVIRONMENT", "environment");
}

static int shared_file_once(void)
{
    return credentials_once("AKIDSHAREDFILE", "shared-file");
}

static void test_credentials(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIDENVIRONMENT", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "environment-secret", 1);
    setenv("AWS_SESSION_TOKEN", "environment-token", 1);
    assert_true(each_allocation_failed("credentials from the environment", environment_once) > 0);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    assert_true(each_allocation_failed("credentials from the shared files", shared_file_once) > 0);
}

static int sign_once(void)
{
    kvsp_sigv4_header h[3] = {{"Host", "kinesisvideo.us-west-2.amazonaws.com"},
                              {"Content-Type", "application/json"},
                              {"X-Amz-Date", "20240501T120000Z"}};
    const char *body = "{\"StreamName\":\"s\",\"APIName\":\"GET_MEDIA\"}";
    kvsp_sigv4_request req = {
        "POST",      "/getDataEndpoint", "b=2&a=1",          h, 3, body, strlen(body),
        "us-west-2", "kinesisvideo",     "20240501T120000Z", 1};
    kvsp_sigv4_credentials keys = {"AKIDSIGN", "sign-secret", NULL};
    kvsp_sigv4_result r;
    int rc = kvsp_sigv4_sign(&req, &keys, &r);
    if (rc == KVSP_OK) {
        kvsp_error err;
        rc = kvsp_sigv4_verify(&req, r.authorization, &keys, &err);
        assert_int_equal(err.status, rc);
        if (rc != KVSP_OK)
            assert_string_equal(err.message, "out of memory");
    }
    kvsp_sigv4_result_free(&r);
    return rc;
}

static void test_sign_and_verify(void **state)
{
    (void)state;
    assert_true(each_allocation_failed("SigV4 sign and verify", sign_once) > 0);
}

int main(void)
{
    /* Nothing of the machine's may take part: no metadata service, files of
     * our own. */
    for (const char *const *v = (const char *const[]){"AWS_PROFILE", "AWS_CONFIG_FILE",
                                                      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                                      "AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL};
         *v; v++)
        unsetenv(*v);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    snprintf(credentials_file, sizeof credentials_file, "/tmp/kvsp-setup-alloc-%ld",
             (long)getpid());
    FILE *f = fopen(credentials_file, "w");
    if (!f ||
        fprintf(f, "[default]\naws_access_key_id = AKIDSHAREDFILE\naws_secret_access_key = "
                   "file-secret\naws_session_token = file-token\n") < 0 ||
        fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", credentials_file);
        return 1;
    }
    setenv("AWS_SHARED_CREDENTIALS_FILE", credentials_file, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_create),
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_sign_and_verify),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(credentials_file);
    return kvsp_test_status(failed);
}
