/* Credentials: the provider chain, the shared files, ECS and IMDSv2 against
 * tests/client/fake_metadata_server.py, refresh before expiry, and region
 * resolution. Arguments: python3 and the server script (started by
 * credentials_fixture.c). */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "aws_config.h"
#include "credentials_fixture.h"
#include "kvsparser/credentials.h"
#include "kvsparser/status.h"
#include "metadata_http.h"

/* Every secret the tests hand out contains this; no error message may
 * (ECS_TOKEN, credentials_fixture.h, has it too). */
#define MARK "S3CR3T"

static const char *const aws_vars[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    NULL,
};

/* ---- helpers ------------------------------------------------------------ */

static const char *url(const char *path)
{
    static char buf[4][256];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s%s", base, path);
    return b;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

/* A fresh HOME with an .aws directory; the path stays valid until the next
 * call. */
static const char *make_home(const char *name)
{
    static char home[300];
    char aws[340];
    snprintf(home, sizeof home, "%s/%s", tmpdir, name);
    snprintf(aws, sizeof aws, "%s/.aws", home);
    assert_true(mkdir(home, 0700) == 0 || errno == EEXIST);
    assert_true(mkdir(aws, 0700) == 0 || errno == EEXIST);
    setenv("HOME", home, 1);
    return home;
}

static void write_aws(const char *home, const char *file, const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%s/.aws/%s", home, file);
    write_file(path, text);
}

typedef struct got {
    int rc;
    char ak[128];
    char sk[128];
    char tok[128]; /* "" if none */
    int has_tok;
    char source[32];
    int64_t exp;
    char why[1024];
} got;

static got get_from(kvsp_credential_provider *p)
{
    got g;
    memset(&g, 0, sizeof g);
    const kvsp_credentials *c = NULL;
    g.rc = kvsp_credential_provider_get(p, &c);
    snprintf(g.why, sizeof g.why, "%s", kvsp_credential_provider_error_message(p));
    assert_int_equal(kvsp_credential_provider_error(p), g.rc);
    if (g.rc != 0) {
        assert_null(c);
        assert_true(strlen(g.why) > 0);
        assert_null(strstr(g.why, MARK));
        return g;
    }
    assert_non_null(c);
    snprintf(g.ak, sizeof g.ak, "%s", c->access_key_id);
    snprintf(g.sk, sizeof g.sk, "%s", c->secret_access_key);
    g.has_tok = c->session_token != NULL;
    snprintf(g.tok, sizeof g.tok, "%s", c->session_token ? c->session_token : "");
    snprintf(g.source, sizeof g.source, "%s", c->source);
    g.exp = c->expiration;
    return g;
}

/* One provider, one get. */
static got fetch(const char *profile, long timeout_ms, int refresh_before_s)
{
    kvsp_credentials_options o = {profile, timeout_ms, refresh_before_s};
    kvsp_credential_provider *p = kvsp_credential_provider_create(&o);
    assert_non_null(p);
    got g = get_from(p);
    kvsp_credential_provider_destroy(p);
    return g;
}

static void assert_got(const got *g, const char *source, const char *ak)
{
    if (g->rc != 0)
        fail_msg("expected %s credentials, got %d: %s", source, g->rc, g->why);
    assert_string_equal(g->source, source);
    if (ak)
        assert_string_equal(g->ak, ak);
}

static void assert_prefix(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

static void assert_fails(const got *g, int status, const char *needle)
{
    if (g->rc != status)
        fail_msg("expected status %d, got %d (%s)", status, g->rc, g->why);
    if (needle && !strstr(g->why, needle))
        fail_msg("\"%s\" not in \"%s\"", needle, g->why);
}

/* fetch() with the default options, and the checks above. */
static got expect_ok(const char *profile, const char *source, const char *ak)
{
    got g = fetch(profile, 0, 0);
    assert_got(&g, source, ak);
    return g;
}

static got expect_fail(const char *profile, int status, const char *needle)
{
    got g = fetch(profile, 0, 0);
    assert_fails(&g, status, needle);
    return g;
}

static void assert_region(const char *explicit_region, const char *profile, const char *want)
{
    char r[32] = "";
    int rc = kvsp_resolve_region(explicit_region, profile, r, sizeof r);
    if (want && (rc != 0 || strcmp(r, want) != 0))
        fail_msg("region: got %d \"%s\", want \"%s\"", rc, r, want);
    if (!want && rc != KVSP_ERR_INVALID_ARG)
        fail_msg("region: got \"%s\", want none", r);
}

/* Every case starts from no AWS variables, a HOME without files and IMDS
 * off, so that the machine running the tests cannot leak into them. */
static int clean_env(void **state)
{
    (void)state;
    for (size_t i = 0; aws_vars[i]; i++)
        unsetenv(aws_vars[i]);
    setenv("HOME", empty_home, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    return 0;
}

/* ---- the fake server ----------------------------------------------------- */

/* The HTTP status of one request, with at most one header. */
static long status_of(const char *method, const char *path, const char *header,
                      const char *body_prefix)
{
    kvsp_md_response r;
    char why[256];
    const char *headers[] = {header, NULL};
    if (kvsp_md_request(method, url(path), headers, 2000, &r, why, sizeof why) != 0)
        fail_msg("%s %s: %s", method, path, why);
    if (body_prefix)
        assert_prefix(r.body, body_prefix);
    free(r.body);
    return r.status;
}

/* The positive cases below mean something only if the server checks what
 * the real services check. */
static void test_fake_server_is_strict(void **state)
{
    (void)state;
    const char *role = "/latest/meta-data/iam/security-credentials/";
    assert_int_equal(status_of("GET", role, NULL, NULL), 401);
    assert_int_equal(status_of("GET", role, "X-aws-ec2-metadata-token: forged", NULL), 401);
    assert_int_equal(status_of("PUT", "/latest/api/token", NULL, NULL), 400);
    assert_int_equal(
        status_of("PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: 60", "tok-"),
        200);
    assert_int_equal(status_of("GET", "/ecs/creds", NULL, NULL), 401);
    assert_int_equal(status_of("GET", "/ecs/creds", "Authorization: " ECS_TOKEN, "{"), 200);
}

/* ---- environment ----------------------------------------------------------- */

static void test_environment(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-" MARK, 1);
    setenv("AWS_SESSION_TOKEN", "env-session", 1);
    got g = expect_ok(NULL, "environment", "AKIDENV");
    assert_string_equal(g.sk, "env-" MARK);
    assert_string_equal(g.tok, "env-session");
    assert_int_equal(g.exp, 0);

    setenv("AWS_SESSION_TOKEN", "", 1); /* empty counts as unset */
    g = expect_ok(NULL, "environment", "AKIDENV");
    assert_false(g.has_tok);

    /* They never expire, so the provider keeps what it read first. */
    kvsp_credential_provider *p = kvsp_credential_provider_create(NULL);
    assert_non_null(p);
    g = get_from(p);
    setenv("AWS_ACCESS_KEY_ID", "AKIDLATER", 1);
    g = get_from(p);
    assert_got(&g, "environment", "AKIDENV");
    kvsp_credential_provider_destroy(p);

    /* Half a key pair is an error, not a reason to try the next source. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base, 1);
    expect_fail(NULL, KVSP_ERR_INVALID_ARG, "AWS_ACCESS_KEY_ID");
}

/* ---- shared files ------------------------------------------------------------ */

static void test_credentials_file(void **state)
{
    (void)state;
    const char *home = make_home("credfile");
    write_aws(home, "credentials",
              "# comment\n"
              "; another comment\n"
              "[default]\n"
              "aws_access_key_id = AKIDDEFAULT\n"
              "aws_secret_access_key=default-" MARK "   \n"
              "aws_session_token =   default-session\n"
              "\n"
              "[dev]\n"
              "AWS_ACCESS_KEY_ID = AKIDDEV   # upper-case key, inline comment\n"
              "aws_secret_access_key = dev-" MARK "\n"
              "[profile dev]\n" /* in this file, a profile named "profile dev" */
              "aws_access_key_id = AKIDLITERAL\n"
              "aws_secret_access_key = literal-" MARK "\n");
    got g = expect_ok(NULL, "shared-file", "AKIDDEFAULT");
    assert_string_equal(g.sk, "default-" MARK);
    assert_string_equal(g.tok, "default-session");
    assert_int_equal(g.exp, 0);

    setenv("AWS_PROFILE", "dev", 1);
    g = expect_ok(NULL, "shared-file", "AKIDDEV");
    assert_false(g.has_tok);
    expect_ok("default", "shared-file", "AKIDDEFAULT"); /* the option beats AWS_PROFILE */
    expect_ok("profile dev", "shared-file", "AKIDLITERAL");
}

static void test_config_file(void **state)
{
    (void)state;
    const char *home = make_home("configfile");
    write_aws(home, "config",
              "[default]\n"
              "region = us-west-2\n"
              "[cfgonly]\n" /* not a profile in the config file */
              "aws_access_key_id = AKIDNOPREFIX\n"
              "aws_secret_access_key = noprefix-" MARK "\n"
              "[profile   cfgonly  ]\n"
              "aws_access_key_id = AKIDCONFIG\n"
              "aws_secret_access_key = config-" MARK "\n"
              "[sso-session cfgonly]\n"
              "aws_access_key_id = AKIDSSO\n"
              "aws_secret_access_key = sso-" MARK "\n"
              "[profile both]\n"
              "aws_access_key_id = AKIDCONFIGBOTH\n"
              "aws_secret_access_key = configboth-" MARK "\n");
    write_aws(home, "credentials",
              "[both]\naws_access_key_id = AKIDCREDSBOTH\naws_secret_access_key = credsboth-" MARK
              "\n");
    expect_ok("cfgonly", "shared-file", "AKIDCONFIG");
    expect_ok("both", "shared-file", "AKIDCREDSBOTH"); /* the credentials file wins */
    /* [default] has a region only: on along the chain */
    expect_fail(NULL, KVSP_ERR_INVALID_ARG, "no AWS credentials found");

    /* The variables move the files; ~ is expanded. */
    char alt[400];
    snprintf(alt, sizeof alt, "%s/alt-credentials", tmpdir);
    write_file(alt, "[both]\naws_access_key_id = AKIDALT\naws_secret_access_key = alt-" MARK "\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", alt, 1);
    expect_ok("both", "shared-file", "AKIDALT");
    write_aws(home, "other-config",
              "[profile tilde]\naws_access_key_id = AKIDTILDE\naws_secret_access_key = t-" MARK
              "\n");
    setenv("AWS_CONFIG_FILE", "~/.aws/other-config", 1);
    expect_ok("tilde", "shared-file", "AKIDTILDE");
}

static void test_ini_details(void **state)
{
    (void)state;
    const char *home = make_home("inidetails");
    write_aws(home, "config",
              "\xEF\xBB\xBF[profile edge]\r\n"
              "aws_access_key_id:AKIDEDGE\r\n"
              "aws_secret_access_key\t=\tedge-" MARK "\t\r\n"
              "s3 =\r\n"
              "    region = nested-not-this\r\n"
              "    aws_access_key_id = AKIDNESTED\r\n"
              "region = eu-central-1 ; where\r\n"
              "[profile other]\r\n"
              "region = ap-south-1\r\n"
              "[profile edge]   # a second section of the same name adds to the first\r\n"
              "aws_session_token = edge-session\r\n"
              "[profile indented]\n"
              "  aws_access_key_id = AKIDINDENTED\n"
              "  aws_secret_access_key = indented-" MARK "\n"
              "[profile emptytoken]\n"
              "aws_access_key_id = AKIDEMPTY\n"
              "aws_secret_access_key = empty-" MARK "\n"
              "aws_session_token =\n"
              "not an option line\n");
    got g = expect_ok("edge", "shared-file", "AKIDEDGE");
    assert_string_equal(g.sk, "edge-" MARK);
    assert_string_equal(g.tok, "edge-session");
    assert_region(NULL, "edge", "eu-central-1");
    expect_ok("indented", "shared-file", "AKIDINDENTED");
    g = expect_ok("emptytoken", "shared-file", "AKIDEMPTY");
    assert_false(g.has_tok);
}

/* The client settings of a config file (client_settings.c uses them): a
 * nested option ("s3 =" then an indented endpoint_url) and a continuation
 * of a value are not the profile's own; the [services NAME] section gives
 * the endpoint_url of its kinesis_video sub-section only. */
static void test_endpoint_settings(void **state)
{
    (void)state;
    static const char text[] = "[profile p]\n"
                               "endpoint_url = http://profile.example\n"
                               "s3 =\n"
                               "  endpoint_url = http://nested-s3.example\n"
                               "region = us-east-1\n"
                               "  endpoint_url = http://continued.example\n"
                               "ca_bundle = /etc/ca.pem\n"
                               "ignore_configured_endpoint_urls = true\n"
                               "services = svc\n"
                               "[services svc]\n"
                               "s3 =\n"
                               "  endpoint_url = http://s3.example\n"
                               "kinesis_video =\n"
                               "  endpoint_url = http://kvs.example\n"
                               "  region = not-a-key-here\n"
                               "endpoint_url = http://not-in-a-service.example\n"
                               "[services other]\n"
                               "kinesis_video =\n"
                               "  endpoint_url = http://other-services.example\n";
    kvsp_aws_profile pf;
    assert_int_equal(kvsp_aws_profile_parse(text, sizeof text - 1, KVSP_AWS_CONFIG_FILE, "p", &pf),
                     0);
    assert_string_equal(pf.endpoint_url, "http://profile.example");
    assert_string_equal(pf.region, "us-east-1");
    assert_string_equal(pf.ca_bundle, "/etc/ca.pem");
    assert_string_equal(pf.ignore_configured_endpoint_urls, "true");
    assert_string_equal(pf.services, "svc");
    assert_null(pf.service_endpoint_url);
    assert_int_equal(kvsp_aws_services_parse(text, sizeof text - 1, pf.services, &pf), 0);
    assert_string_equal(pf.service_endpoint_url, "http://kvs.example");
    assert_string_equal(pf.endpoint_url, "http://profile.example");
    kvsp_aws_profile_free(&pf);
    /* the credentials file has no client settings */
    assert_int_equal(kvsp_aws_profile_parse("[p]\nendpoint_url = http://x\n", 26,
                                            KVSP_AWS_CREDENTIALS_FILE, "p", &pf),
                     0);
    assert_null(pf.endpoint_url);
    kvsp_aws_profile_free(&pf);
}

static void test_profile_errors(void **state)
{
    (void)state;
    const char *home = make_home("profileerrors");
    write_aws(home, "credentials",
              "[halfkey]\naws_access_key_id = AKIDHALF\n"
              "[halfsecret]\naws_secret_access_key = half-" MARK "\n");
    write_aws(home, "config",
              "[profile assume]\nrole_arn = arn:aws:iam::123456789012:role/x\n"
              "source_profile = default\n");
    setenv("AWS_PROFILE", "nope", 1);
    expect_fail(NULL, KVSP_ERR_INVALID_ARG, "'nope' not found");
    expect_fail("assume", KVSP_ERR_INVALID_ARG, "role_arn");
    expect_fail("halfkey", KVSP_ERR_INVALID_ARG, "no aws_secret_access_key");
    expect_fail("halfsecret", KVSP_ERR_INVALID_ARG, "no aws_access_key_id");
}

/* ---- ECS ----------------------------------------------------------------------- */

static void test_ecs(void **state)
{
    (void)state;
    time_t now = time(NULL);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url("/ecs/creds"), 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", ECS_TOKEN, 1);
    got g = expect_ok(NULL, "ecs", NULL);
    assert_prefix(g.ak, "ASIAFAKEECS");
    assert_prefix(g.sk, "fake-" MARK "-ecs-");
    assert_prefix(g.tok, "fake-" MARK "-session-");
    assert_true(g.exp >= now + 6 * 3600 - 5 && g.exp <= now + 6 * 3600 + 60);

    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong", 1);
    g = expect_fail(NULL, KVSP_ERR_SERVICE, "401");
    assert_non_null(strstr(g.why, "ECS"));
    assert_null(strstr(g.why, "/ecs/creds")); /* the path may identify the credentials */

    /* The token file, with its newline, wins over the variable. */
    char path[400];
    snprintf(path, sizeof path, "%s/ecs-token", tmpdir);
    write_file(path, ECS_TOKEN "\n");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
    expect_ok(NULL, "ecs", NULL);
    write_file(path, "Bearer x\r\nX-Injected: 1\n");
    expect_fail(NULL, KVSP_ERR_INVALID_ARG, "control characters");
    snprintf(path, sizeof path, "%s/no-such-token", tmpdir);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
    expect_fail(NULL, KVSP_ERR_IO, "no-such-token");

    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    expect_fail(NULL, KVSP_ERR_SERVICE, "401");
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url("/ecs-open/creds"), 1);
    expect_ok(NULL, "ecs", NULL);
}

static void test_ecs_uris(void **state)
{
    (void)state;
    char u[128];
    assert_int_equal(kvsp_md_ecs_url("/v2/credentials/abc-123", u, sizeof u), 0);
    assert_string_equal(u, "http://169.254.170.2/v2/credentials/abc-123");
    assert_int_equal(kvsp_md_ecs_url("@evil.example/x", u, sizeof u), -1);
    assert_int_equal(kvsp_md_ecs_url("v2/credentials", u, sizeof u), -1);
    assert_int_equal(kvsp_md_ecs_url("/a b", u, sizeof u), -1);
    assert_int_equal(kvsp_md_ecs_url("/v2/credentials/abc-123", u, 30), -1);

    static const char *const refused[] = {"http://example.com/creds", "http://169.254.169.254/x",
                                          "ftp://127.0.0.1/creds", "not a url",
                                          "http://127.evil.example/"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", refused[i], 1);
        expect_fail(NULL, KVSP_ERR_INVALID_ARG, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    }
    char local[128];
    snprintf(local, sizeof local, "http://localhost:%s/ecs-open/creds", strrchr(base, ':') + 1);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", local, 1);
    expect_ok(NULL, "ecs", NULL);

    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "@evil.example/x", 1);
    expect_fail(NULL, KVSP_ERR_INVALID_ARG, "RELATIVE_URI");

    /* The relative URI wins over the full one. 169.254.170.2 is the real
     * agent: out of a container the request fails (fast, with this timeout),
     * in one it may succeed, but never with the fake server's keys. */
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/test-id", 1);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url("/ecs-open/creds"), 1);
    got g = fetch(NULL, 300, 0);
    if (g.rc == 0) {
        assert_string_equal(g.source, "ecs");
        assert_null(strstr(g.ak, "ASIAFAKE"));
    } else {
        assert_non_null(strstr(g.why, "169.254.170.2"));
        assert_null(strstr(g.why, "test-id"));
    }
}

/* ---- IMDSv2 ---------------------------------------------------------------------- */

static void test_imds(void **state)
{
    (void)state;
    time_t now = time(NULL);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base, 1);
    got g = expect_ok(NULL, "imds", NULL);
    assert_prefix(g.ak, "ASIAFAKEIMDS");
    assert_prefix(g.sk, "fake-" MARK "-imds-");
    assert_prefix(g.tok, "fake-" MARK "-session-");
    assert_true(g.exp >= now + 6 * 3600 - 5 && g.exp <= now + 6 * 3600 + 60);

    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url("/"), 1); /* a trailing slash */
    expect_ok(NULL, "imds", NULL);
    setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
    expect_ok(NULL, "imds", NULL);
    setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
    expect_fail(NULL, KVSP_ERR_INVALID_ARG, "disabled");
    unsetenv("AWS_EC2_METADATA_DISABLED");

    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url("/norole"), 1);
    expect_fail(NULL, KVSP_ERR_SERVICE, "no IAM role");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
    g = expect_fail(NULL, KVSP_ERR_NETWORK, "no AWS credentials found");
    assert_non_null(strstr(g.why, "127.0.0.1:1"));
}

/* ---- refresh ---------------------------------------------------------------------- */

static void test_refresh(void **state)
{
    (void)state;
    /* Expiring in 60 s, refreshed 300 s ahead: every get fetches again. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url("/ttl-60/ecs-open/creds"), 1);
    kvsp_credentials_options o = {NULL, 0, 300};
    kvsp_credential_provider *p = kvsp_credential_provider_create(&o);
    assert_non_null(p);
    got a = get_from(p), b = get_from(p);
    assert_got(&a, "ecs", NULL);
    assert_got(&b, "ecs", NULL);
    assert_string_not_equal(a.ak, b.ak);
    assert_string_not_equal(a.sk, b.sk);
    kvsp_credential_provider_destroy(p);

    /* Refreshed only 30 s ahead, the same answer stays cached. */
    o.refresh_before_s = 30;
    p = kvsp_credential_provider_create(&o);
    a = get_from(p);
    b = get_from(p);
    assert_got(&b, "ecs", a.ak);
    kvsp_credential_provider_destroy(p);

    /* The same through IMDS. */
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url("/ttl-60"), 1);
    o.refresh_before_s = 0; /* the default, 300 s */
    p = kvsp_credential_provider_create(&o);
    a = get_from(p);
    b = get_from(p);
    assert_got(&a, "imds", NULL);
    assert_got(&b, "imds", NULL);
    assert_string_not_equal(a.ak, b.ak);

    /* The source switched off: the chain is walked again. */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDNOW", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "now-" MARK, 1);
    b = get_from(p);
    assert_got(&b, "environment", "AKIDNOW");
    kvsp_credential_provider_destroy(p);
}

static void test_refresh_failure(void **state)
{
    (void)state;
    /* A failed refresh keeps credentials that have not expired yet... */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url("/ttl-120/ecs/creds"), 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", ECS_TOKEN, 1);
    kvsp_credential_provider *p = kvsp_credential_provider_create(NULL);
    assert_non_null(p);
    got a = get_from(p);
    assert_got(&a, "ecs", NULL);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong", 1);
    got b = get_from(p);
    assert_got(&b, "ecs", a.ak);
    kvsp_credential_provider_destroy(p);

    /* ...but not expired ones. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url("/ttl-0/ecs/creds"), 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", ECS_TOKEN, 1);
    p = kvsp_credential_provider_create(NULL);
    a = get_from(p);
    assert_got(&a, "ecs", NULL);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong", 1);
    b = get_from(p);
    assert_fails(&b, KVSP_ERR_SERVICE, "refreshing ECS credentials");
    kvsp_credential_provider_destroy(p);
}

/* ---- precedence, nothing, bad answers ------------------------------------------------ */

static void test_precedence(void **state)
{
    (void)state;
    const char *home = make_home("precedence");
    write_aws(home, "credentials",
              "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = f-" MARK "\n"
              "[other]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = o-" MARK "\n");
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "e-" MARK, 1);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url("/ecs-open/creds"), 1);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base, 1);

    expect_ok(NULL, "environment", "AKIDENV");
    /* as the AWS CLI: an explicit profile wins over the environment's keys */
    expect_ok("other", "shared-file", "AKIDOTHER");
    expect_ok("default", "shared-file", "AKIDFILE");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    expect_ok(NULL, "shared-file", "AKIDFILE");
    setenv("HOME", empty_home, 1);
    expect_ok(NULL, "ecs", NULL);
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    expect_ok(NULL, "imds", NULL);
}

static void test_nothing(void **state)
{
    (void)state;
    setenv("AWS_SESSION_TOKEN", "lonely-" MARK, 1);
    got g = expect_fail(NULL, KVSP_ERR_INVALID_ARG, "no AWS credentials found");
    assert_non_null(strstr(g.why, "AWS_ACCESS_KEY_ID"));
    assert_non_null(strstr(g.why, "profile 'default'"));
    assert_non_null(strstr(g.why, "ECS: not configured"));
    assert_non_null(strstr(g.why, "AWS_EC2_METADATA_DISABLED"));

    unsetenv("HOME");
    expect_fail(NULL, KVSP_ERR_INVALID_ARG, "no AWS credentials found");

    /* The provider keeps the error until the next get, which clears it. */
    kvsp_credential_provider *p = kvsp_credential_provider_create(NULL);
    static const kvsp_credentials stale = {0};
    const kvsp_credentials *c = &stale;
    assert_int_equal(kvsp_credential_provider_get(p, &c), KVSP_ERR_INVALID_ARG);
    assert_null(c);
    assert_int_equal(kvsp_credential_provider_error(p), KVSP_ERR_INVALID_ARG);
    assert_non_null(strstr(kvsp_credential_provider_error_message(p), "no AWS credentials found"));
    assert_int_equal(kvsp_credential_provider_get(p, NULL), KVSP_ERR_INVALID_ARG);
    assert_string_equal(kvsp_credential_provider_error_message(p), "no output");
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    assert_int_equal(kvsp_credential_provider_get(p, &c), KVSP_OK);
    assert_int_equal(kvsp_credential_provider_error(p), KVSP_OK);
    assert_string_equal(kvsp_credential_provider_error_message(p), "");
    assert_int_equal(kvsp_credential_provider_get(NULL, &c), KVSP_ERR_INVALID_ARG);
    assert_int_equal(kvsp_credential_provider_error(NULL), KVSP_ERR_INVALID_ARG);
    kvsp_credential_provider_destroy(p);
    kvsp_credential_provider_destroy(NULL);
}

/* Seconds a fetch from the current ECS URI with timeout_ms takes to fail
 * with a network error. */
static double seconds_to_fail(long timeout_ms)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    got g = fetch(NULL, timeout_ms, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_fails(&g, KVSP_ERR_NETWORK, "ECS");
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static void test_bad_responses(void **state)
{
    (void)state;
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url("/ecs-badjson/creds"), 1);
    /* the truncated JSON holds a secret, which the message must not */
    expect_fail(NULL, KVSP_ERR_SERVICE, "not a JSON object");
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url("/ecs-nosecret/creds"), 1);
    expect_fail(NULL, KVSP_ERR_SERVICE, "SecretAccessKey");
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url("/ecs-badexp/creds"), 1);
    expect_fail(NULL, KVSP_ERR_SERVICE, "Expiration");

    /* The server answers /hold only after 30 s unless the client hangs up
     * first, so only the client's own timeout ends these. The time a
     * fetch takes is measured against a fetch with a longer timeout, not
     * against a fixed bound: on a loaded machine both take longer. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url("/hold/ecs-open/creds"), 1);
    double short_s = seconds_to_fail(300);
    double long_s = seconds_to_fail(2000);
    fprintf(stderr,
            "ECS fetch against a held answer: %.4f s with a 300 ms timeout, %.4f s with 2000 ms\n",
            short_s, long_s);
    /* each waited its timeout (libcurl's ms timers) */
    assert_true(short_s > 0.9 * 0.3 && long_s > 0.9 * 2.0);
    assert_true(short_s < long_s / 2); /* and not a fixed one */
}

/* ---- region -------------------------------------------------------------------------- */

static void test_region(void **state)
{
    (void)state;
    assert_region(NULL, NULL, NULL); /* nothing anywhere */
    const char *home = make_home("region");
    write_aws(
        home, "config",
        "[default]\nregion = us-west-2\n[profile eu]\nregion = eu-west-1\n[profile none]\noutput = json\n");
    /* region is read from config only */
    write_aws(home, "credentials", "[norg]\nregion = ap-south-1\n");
    assert_region(NULL, NULL, "us-west-2");
    assert_region(NULL, "norg", NULL);
    assert_region(NULL, "none", NULL); /* no falling back to [default] */
    setenv("AWS_PROFILE", "eu", 1);
    assert_region(NULL, NULL, "eu-west-1");
    assert_region(NULL, "default", "us-west-2");
    setenv("AWS_DEFAULT_REGION", "ca-central-1", 1);
    assert_region(NULL, NULL, "ca-central-1");
    setenv("AWS_REGION", "sa-east-1", 1);
    assert_region(NULL, NULL, "sa-east-1");
    assert_region("us-east-2", "eu", "us-east-2");
    assert_region("", NULL, "sa-east-1"); /* empty is no region */
    assert_region("evil.example/x", NULL, NULL);

    char r[10];
    /* does not fit */
    assert_int_equal(kvsp_resolve_region("us-east-2", NULL, r, 9), KVSP_ERR_INVALID_ARG);
    assert_int_equal(kvsp_resolve_region("us-east-2", NULL, r, 10), KVSP_OK);
    assert_int_equal(kvsp_resolve_region("us-east-2", NULL, NULL, 0), KVSP_ERR_INVALID_ARG);
}

/* ---- main ------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PYTHON3 fake_metadata_server.py\n", argv[0]);
        return 2;
    }
    if (cred_fixture_start(argv[1], argv[2]) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_fake_server_is_strict, clean_env),
        cmocka_unit_test_setup(test_environment, clean_env),
        cmocka_unit_test_setup(test_credentials_file, clean_env),
        cmocka_unit_test_setup(test_config_file, clean_env),
        cmocka_unit_test_setup(test_ini_details, clean_env),
        cmocka_unit_test_setup(test_endpoint_settings, clean_env),
        cmocka_unit_test_setup(test_profile_errors, clean_env),
        cmocka_unit_test_setup(test_ecs, clean_env),
        cmocka_unit_test_setup(test_ecs_uris, clean_env),
        cmocka_unit_test_setup(test_imds, clean_env),
        cmocka_unit_test_setup(test_refresh, clean_env),
        cmocka_unit_test_setup(test_refresh_failure, clean_env),
        cmocka_unit_test_setup(test_precedence, clean_env),
        cmocka_unit_test_setup(test_nothing, clean_env),
        cmocka_unit_test_setup(test_bad_responses, clean_env),
        cmocka_unit_test_setup(test_region, clean_env),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    cred_fixture_stop();
    return failed;
}
