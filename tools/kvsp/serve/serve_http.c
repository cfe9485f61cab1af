/* kvsp serve: the HTTP side on libmicrohttpd. One internal event loop
 * (epoll where MHD has it, else poll) carries every connection; request
 * bodies are gathered here, then checked and handed to the API. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../cli.h"
#include "../cli_log.h"
#include "serve_hls.h"

/* GetMediaForFragmentList with 1000 fragment numbers is about 50 KB. */
#define MAX_REQUEST_BODY (1u << 20)
#define CONNECTION_MEMORY (128 * 1024)
#define CONNECTION_TIMEOUT_S 120

typedef struct request {
    char *body;
    size_t len, cap;
    int too_large;
} request;

void serve_add_request_id(struct MHD_Response *r)
{
    static atomic_uint_fast64_t counter;
    char id[64];
    uint64_t n = atomic_fetch_add(&counter, 1) + 1;
    snprintf(id, sizeof id, "kvsp-serve-%016llx", (unsigned long long)n);
    MHD_add_response_header(r, "x-amzn-RequestId", id);
    /* Every response has one: let a web page of any origin (an HLS player
     * under development, a file:// page) read it. */
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
}

/* A browser's CORS preflight before a POST with a JSON body or signed
 * headers: any method and header of this service may follow. */
static int preflight(struct MHD_Connection *c)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    serve_add_request_id(r);
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    MHD_add_response_header(r, "Access-Control-Allow-Headers", "*");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    int ret = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ret;
}

static int send_json_text(struct MHD_Connection *c, unsigned status, char *text,
                          const char *error_type)
{
    if (!text)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback(strlen(text), text, free);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    serve_add_request_id(r);
    if (error_type) {
        char value[128];
        snprintf(value, sizeof value, "%s:", error_type);
        MHD_add_response_header(r, "x-amzn-ErrorType", value);
    }
    int ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Timestamps are epoch seconds with milliseconds: 15 significant digits
 * print them exactly, without binary noise. */
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

int serve_json(struct MHD_Connection *c, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_FLAGS) : NULL;
    json_decref(obj);
    return send_json_text(c, MHD_HTTP_OK, text, NULL);
}

int serve_json_text(struct MHD_Connection *c, char *text)
{
    return send_json_text(c, MHD_HTTP_OK, text, NULL);
}

int serve_error(struct MHD_Connection *c, unsigned status, const char *type, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* KVS says "message"; some SDKs look for "Message". */
    json_t *obj = json_pack("{s:s, s:s}", "message", message, "Message", message);
    char *text = obj ? json_dumps(obj, JSON_FLAGS) : NULL;
    json_decref(obj);
    return send_json_text(c, status, text, type);
}

static enum MHD_Result handle(serve_ctx *ctx, struct MHD_Connection *c, const char *url,
                              const char *method, request *rq)
{
    int result;
    if (strcmp(method, "OPTIONS") == 0)
        return (enum MHD_Result)preflight(c);
    /* HLS: GET requests, authorized by their session token (no SigV4) */
    if (strcmp(method, "GET") == 0 && strncmp(url, "/hls/", 5) == 0)
        return (enum MHD_Result)serve_hls_get(ctx, c, url);
    if (strcmp(method, "POST") != 0)
        return (enum MHD_Result)serve_error(c, MHD_HTTP_NOT_FOUND, "UnknownOperationException",
                                            "%s %s is not an operation of this service", method,
                                            url);
    if (rq->too_large)
        return (enum MHD_Result)serve_error(c, MHD_HTTP_BAD_REQUEST, "InvalidArgumentException",
                                            "request body larger than %u bytes", MAX_REQUEST_BODY);
    if (serve_fault_expired(ctx, c, &result))
        return (enum MHD_Result)result;
    if (ctx->cfg.access_key &&
        serve_auth_check(ctx, c, method, url, rq->body, rq->len, &result) != 0)
        return (enum MHD_Result)result;
    uint64_t every = ctx->cfg.fault_limit_every;
    if (every && (atomic_fetch_add(&ctx->requests, 1) + 1) % every == 0)
        return (enum MHD_Result)serve_error(c, MHD_HTTP_BAD_REQUEST, "ClientLimitExceededException",
                                            "Kinesis Video Streams has throttled the request "
                                            "(kvsp serve --fault-limit-every %llu)",
                                            (unsigned long long)every);
    return (enum MHD_Result)serve_api_dispatch(ctx, c, url, rq->body ? rq->body : "", rq->len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    request *rq = *con_cls;
    if (!rq) {
        /* First call: headers only. The body follows in later calls. */
        rq = calloc(1, sizeof *rq);
        *con_cls = rq;
        return rq ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (rq->too_large || n > MAX_REQUEST_BODY - rq->len) {
            rq->too_large = 1;
            return MHD_YES;
        }
        if (rq->len + n + 1 > rq->cap) {
            size_t cap = rq->cap ? rq->cap : 1024;
            while (cap < rq->len + n + 1)
                cap *= 2;
            char *more = realloc(rq->body, cap);
            if (!more)
                return MHD_NO;
            rq->body = more;
            rq->cap = cap;
        }
        memcpy(rq->body + rq->len, upload, n);
        rq->len += n;
        rq->body[rq->len] = 0;
        return MHD_YES;
    }
    return handle(cls, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

/* SigV4 signs the path as sent: keep MHD from decoding %xx in it. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

/* The listening socket, bound before the daemon starts: its port and
 * ctx->endpoint are then written before MHD's threads exist (thread
 * creation orders them before every read there), not after, as
 * MHD_DAEMON_INFO_BIND_PORT would have them: a data race under TSan. */
static int listen_socket(serve_ctx *ctx)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)ctx->cfg.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    socklen_t len = sizeof addr;
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        close(fd);
        return -1;
    }
    ctx->port = ntohs(addr.sin_port);
    snprintf(ctx->endpoint, sizeof ctx->endpoint, "http://127.0.0.1:%u", ctx->port);
    return fd;
}

int serve_http_start(serve_ctx *ctx)
{
    int fd = listen_socket(ctx);
    if (fd < 0)
        return -1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_POLL;
    struct MHD_OptionItem options[] = {
        {MHD_OPTION_LISTEN_SOCKET, fd, NULL}, /* MHD closes it when it stops */
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, ctx},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)keep_escaped, ctx},
        {MHD_OPTION_CONNECTION_LIMIT, 4096, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S, NULL},
        /* More than one event loop only when asked for. */
        {ctx->cfg.threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         (intptr_t)ctx->cfg.threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    ctx->daemon = MHD_start_daemon(flags, (uint16_t)ctx->port, NULL, NULL, on_request, ctx,
                                   MHD_OPTION_ARRAY, options, MHD_OPTION_END);
    if (!ctx->daemon) {
        close(fd);
        return -1;
    }
    return 0;
}

void serve_http_drain(serve_ctx *ctx, long timeout_ms)
{
    if (!ctx->daemon)
        return;
    /* No new connections; those open may still finish what they send. */
    MHD_socket fd = MHD_quiesce_daemon(ctx->daemon);
    if (fd != MHD_INVALID_SOCKET) {
        ctx->quiesced = 1;
        ctx->quiesced_fd = fd;
    }
    /* A body is freed once MHD has sent its last chunk (or dropped the
     * connection): polled, the main thread has nothing else to do. */
    struct timespec tick = {0, 10 * 1000000L};
    for (long waited = 0; atomic_load(&ctx->active_bodies) > 0 && waited < timeout_ms; waited += 10)
        nanosleep(&tick, NULL);
    long left = atomic_load(&ctx->active_bodies);
    if (left > 0)
        cli_warn("kvsp serve: %ld media responses still open after %ld ms: cut\n", left,
                 timeout_ms);
}

void serve_http_stop(serve_ctx *ctx)
{
    if (ctx->daemon)
        MHD_stop_daemon(ctx->daemon);
    ctx->daemon = NULL;
    if (ctx->quiesced)
        close(ctx->quiesced_fd);
    ctx->quiesced = 0;
}
