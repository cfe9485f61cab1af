/* The client's and the consumer's kept errors against kvsp serve on
 * loopback: after each call, kvsp_client_error, _error_message,
 * _error_http_status and _error_exception describe it (a service error, a
 * rejected signature, a network error, a bad argument), and a call that
 * succeeds clears them. The server is started on a free port, answers on
 * 127.0.0.1 only and is stopped with SIGTERM at the end.
 *
 * usage: test_client_errors KVSP RESOURCES_DIR */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kvsparser/client.h"
#include "kvsparser/consumer.h"
#include "test_util.h"

#define ACCESS_KEY "AKIDCLIENTERRORS"
#define SECRET_KEY "client/errors/secret/key/EXAMPLE"

static pid_t server = -1;
static char server_url[64];

/* Starts kvsp serve and reads its "listening on URL" line (30 s at most). */
static int start_server(const char *kvsp, const char *root)
{
    int out[2];
    if (pipe(out) != 0)
        return -1;
    server = fork();
    if (server == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(kvsp, kvsp, "serve", "--root", root, "--port", "0", "--access-key", ACCESS_KEY,
              "--secret-key", SECRET_KEY, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[128];
    size_t n = 0;
    struct pollfd p = {out[0], POLLIN, 0};
    while (n + 1 < sizeof line && poll(&p, 1, 30000) == 1) {
        ssize_t got = read(out[0], line + n, 1);
        if (got != 1 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(out[0]);
    return sscanf(line, "listening on %63s", server_url) == 1 ? 0 : -1;
}

static void stop_server(void)
{
    int status;
    if (server <= 0)
        return;
    kill(server, SIGTERM);
    waitpid(server, &status, 0);
    server = -1;
}

static kvsp_client *client_for(const char *url)
{
    kvsp_client_options o;
    memset(&o, 0, sizeof o);
    o.region = "us-west-2";
    o.endpoint_url = url;
    o.connect_timeout_ms = 2000;
    kvsp_error err;
    kvsp_client *c = kvsp_client_create(&o, &err);
    assert_non_null(c);
    assert_int_equal(err.status, KVSP_OK);
    assert_string_equal(err.message, "");
    return c;
}

static int list(kvsp_client *c, const char *stream, size_t *count)
{
    kvsp_listed_fragment *rows = NULL;
    int rc = kvsp_client_list_fragments(c, stream, KVSP_TIMESTAMP_NONE, 0, 0, &rows, count);
    kvsp_client_free(rows);
    return rc;
}

static void assert_no_error(const kvsp_client *c)
{
    assert_int_equal(kvsp_client_error(c), KVSP_OK);
    assert_string_equal(kvsp_client_error_message(c), "");
    assert_int_equal(kvsp_client_error_http_status(c), 0);
    assert_string_equal(kvsp_client_error_exception(c), "");
}

static void test_service_error_then_success(void **state)
{
    (void)state;
    kvsp_client *c = client_for(server_url);
    size_t count;
    assert_int_equal(list(c, "no-such-stream", &count), KVSP_ERR_SERVICE);
    assert_int_equal(kvsp_client_error(c), KVSP_ERR_SERVICE);
    assert_int_equal(kvsp_client_error_http_status(c), 404);
    assert_string_equal(kvsp_client_error_exception(c), "ResourceNotFoundException");
    const char *m = kvsp_client_error_message(c);
    assert_true(strncmp(m, "ResourceNotFoundException (HTTP 404): ", 38) == 0);

    assert_int_equal(list(c, "kvs_user_tags", &count), KVSP_OK);
    assert_true(count > 0);
    assert_no_error(c); /* a call that succeeds clears the last error */

    assert_int_equal(list(c, NULL, &count), KVSP_ERR_INVALID_ARG);
    assert_int_equal(kvsp_client_error(c), KVSP_ERR_INVALID_ARG);
    assert_true(strlen(kvsp_client_error_message(c)) > 0);
    assert_int_equal(kvsp_client_error_http_status(c), 0); /* no request was made */
    assert_string_equal(kvsp_client_error_exception(c), "");
    kvsp_client_destroy(c);
    assert_int_equal(kvsp_client_error(NULL), KVSP_ERR_INVALID_ARG);
    assert_string_equal(kvsp_client_error_message(NULL), "");
}

static void test_rejected_signature(void **state)
{
    (void)state;
    setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
    kvsp_client *c = client_for(server_url);
    size_t count;
    assert_int_equal(list(c, "kvs_user_tags", &count), KVSP_ERR_SERVICE);
    assert_int_equal(kvsp_client_error_http_status(c), 403);
    assert_string_equal(kvsp_client_error_exception(c), "InvalidSignatureException");
    assert_null(strstr(kvsp_client_error_message(c), "not-the-secret"));
    kvsp_client_destroy(c);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY, 1);
}

static void test_network_error(void **state)
{
    (void)state;
    kvsp_client *c = client_for("http://127.0.0.1:9"); /* discard: nothing listens */
    size_t count;
    assert_int_equal(list(c, "kvs_user_tags", &count), KVSP_ERR_NETWORK);
    assert_int_equal(kvsp_client_error(c), KVSP_ERR_NETWORK);
    assert_int_equal(kvsp_client_error_http_status(c), 0);
    assert_string_equal(kvsp_client_error_exception(c), "");
    assert_true(strlen(kvsp_client_error_message(c)) > 0);
    kvsp_client_destroy(c);
}

static void test_consumer_error(void **state)
{
    (void)state;
    kvsp_client *client = client_for(server_url);
    kvsp_consumer *c = kvsp_consumer_create(client, NULL);
    assert_non_null(c);
    assert_int_equal(kvsp_consumer_add(c, NULL), KVSP_ERR_INVALID_ARG);
    assert_int_equal(kvsp_consumer_error(c), KVSP_ERR_INVALID_ARG);
    kvsp_stream_options so;
    memset(&so, 0, sizeof so);
    so.stream = "no-such-stream";
    so.start.type = KVSP_START_EARLIEST;
    assert_int_equal(kvsp_consumer_add(c, &so), 0);
    assert_int_equal(kvsp_consumer_run(c), KVSP_ERR_SERVICE);
    assert_int_equal(kvsp_consumer_error(c), KVSP_ERR_SERVICE);
    const char *m = kvsp_consumer_error_message(c);
    assert_true(strncmp(m, "stream no-such-stream: ResourceNotFoundException (HTTP 404)", 59) == 0);
    const kvsp_stream_stats *s = kvsp_consumer_stats(c, 0);
    assert_int_equal(s->state, KVSP_STREAM_FAILED);
    assert_int_equal(s->last_status, KVSP_ERR_SERVICE);
    assert_null(kvsp_consumer_stats(c, 1));
    kvsp_consumer_destroy(c);
    kvsp_client_destroy(client);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_client_errors KVSP RESOURCES_DIR\n");
        return 2;
    }
    const char *clear[] = {"AWS_PROFILE",
                           "AWS_SESSION_TOKEN",
                           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                           "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                           "AWS_ENDPOINT_URL",
                           "AWS_ENDPOINT_URL_KINESIS_VIDEO",
                           "http_proxy",
                           "HTTP_PROXY",
                           "all_proxy"};
    for (size_t i = 0; i < sizeof clear / sizeof clear[0]; i++)
        unsetenv(clear[i]);
    setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    signal(SIGPIPE, SIG_IGN);
    if (start_server(argv[1], argv[2]) != 0) {
        stop_server();
        fprintf(stderr, "kvsp serve did not start\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_error_then_success),
        cmocka_unit_test(test_rejected_signature),
        cmocka_unit_test(test_network_error),
        cmocka_unit_test(test_consumer_error),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    stop_server();
    return kvsp_test_status(failed);
}
