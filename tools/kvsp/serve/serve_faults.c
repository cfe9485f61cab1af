/* kvsp serve: faults of whole responses, for testing what a client does
 * when the service misbehaves in ways a dropped connection does not cover:
 * a body that stalls with the connection open, 200 with garbage instead of
 * MKV, broken chunked encoding, an expired session token, and ListFragments
 * answers that are not the JSON they should be. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../cli.h"
#include "../cli_log.h"
#include "serve.h"

#define GARBAGE_DEFAULT_BYTES (10u << 20)
#define RAW_BLOCK 16384
#define RAW_WRITE_TIMEOUT_MS 10000

static int add_fault(serve_config *cfg, serve_fault_kind kind, uint64_t k, uint64_t b)
{
    serve_response_fault *more = realloc(cfg->faults, (cfg->fault_count + 1) * sizeof *more);
    if (!more) {
        cli_error("kvsp serve: out of memory\n");
        return -1;
    }
    cfg->faults = more;
    cfg->faults[cfg->fault_count++] = (serve_response_fault){kind, k, b};
    return 0;
}

/* A decimal number with an optional K/M/G suffix, then one of `stops`. */
static const char *number(const char *p, uint64_t *out, const char *stops)
{
    char text[32];
    size_t n = strcspn(p, stops);
    if (n == 0 || n >= sizeof text)
        return NULL;
    memcpy(text, p, n);
    text[n] = '\0';
    return cli_parse_size(text, out) == 0 ? p + n : NULL;
}

static const struct {
    const char *name;
    serve_fault_kind kind;
} chunk_modes[] = {
    {"bad-size", SERVE_FAULT_CHUNK_BAD_SIZE},
    {"short", SERVE_FAULT_CHUNK_SHORT},
    {"no-end", SERVE_FAULT_CHUNK_NO_END},
};

static const char *const list_modes[] = {NULL,    "truncated",   "not-json", "shape",
                                         "types", "long-number", "huge",     "error-text"};

/* "K:B[,K:B...]" (stall), "K[:B][,...]" (garbage), "K:B:MODE[,...]" (chunked). */
static int parse_points(serve_config *cfg, int c, const char *name, const char *value)
{
    const char *p = value;
    while (p && *p) {
        uint64_t k, b = GARBAGE_DEFAULT_BYTES;
        serve_fault_kind kind = c == SERVE_OPT_STALL ? SERVE_FAULT_STALL : SERVE_FAULT_GARBAGE;
        p = number(p, &k, ":,");
        if (p && *p == ':')
            p = number(p + 1, &b, c == SERVE_OPT_CHUNKED ? ":" : ",");
        else if (p && c != SERVE_OPT_GARBAGE)
            p = NULL; /* B is required */
        if (p && c == SERVE_OPT_CHUNKED) {
            size_t i, n = *p == ':' ? strcspn(p + 1, ",") : 0;
            for (i = 0; n && i < sizeof chunk_modes / sizeof chunk_modes[0]; i++)
                if (strlen(chunk_modes[i].name) == n && strncmp(p + 1, chunk_modes[i].name, n) == 0)
                    break;
            kind = n && i < sizeof chunk_modes / sizeof chunk_modes[0] ? chunk_modes[i].kind : kind;
            p = n && i < sizeof chunk_modes / sizeof chunk_modes[0] ? p + 1 + n : NULL;
        }
        if (!p || (*p && *p != ',')) {
            cli_error("kvsp serve: bad --%s value '%s' (see --help)\n", name, value);
            return -1;
        }
        if (add_fault(cfg, kind, k, b) != 0)
            return -1;
        p = *p ? p + 1 : p;
    }
    return 0;
}

int serve_fault_option(serve_config *cfg, int c, const char *value)
{
    switch (c) {
    case SERVE_OPT_STALL: return parse_points(cfg, c, "fault-stall-at", value);
    case SERVE_OPT_GARBAGE: return parse_points(cfg, c, "fault-garbage", value);
    case SERVE_OPT_CHUNKED: return parse_points(cfg, c, "fault-chunked", value);
    case SERVE_OPT_EXPIRED: cfg->expired_token = value; return 0;
    case SERVE_OPT_LIST_JSON:
        for (size_t i = 1; i < sizeof list_modes / sizeof list_modes[0]; i++) {
            if (strcmp(value, list_modes[i]) == 0) {
                cfg->list_fault = (serve_list_fault)i;
                return 0;
            }
        }
        cli_error("kvsp serve: --fault-list-json is one of truncated, not-json, shape, types, "
                  "long-number, huge, error-text; got '%s'\n",
                  value);
        return -1;
    default: return -1;
    }
}

const serve_response_fault *serve_fault_for(const serve_config *cfg, uint64_t k)
{
    for (size_t i = 0; i < cfg->fault_count; i++)
        if (cfg->faults[i].response == k)
            return &cfg->faults[i];
    return NULL;
}

/* All of it, waiting while the client's window is full: the socket is
 * MHD's, non-blocking. */
static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            if (poll(&pfd, 1, RAW_WRITE_TIMEOUT_MS) <= 0)
                return -1;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_chunk(int fd, const char *data, size_t len)
{
    char size_line[32];
    int n = snprintf(size_line, sizeof size_line, "%zx\r\n", len);
    return write_all(fd, size_line, (size_t)n) || write_all(fd, data, len) ||
                   write_all(fd, "\r\n", 2)
               ? -1
               : 0;
}

/* libmicrohttpd always chunks correctly, so these responses are written
 * on its socket directly (a dup of it, the request having been read in
 * full); returning MHD_NO then makes MHD close its side without sending
 * anything. The body is the normal one up to B bytes, in 16 KiB chunks. */
int serve_fault_raw_chunked(serve_body *b, struct MHD_Connection *c, const serve_response_fault *f)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    int fd = info ? dup(info->connect_fd) : -1;
    static const char head[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: video/webm\r\n"
                               "x-amzn-RequestId: kvsp-serve-raw\r\n"
                               "Transfer-Encoding: chunked\r\n"
                               "Connection: close\r\n\r\n";
    static const char *const names[] = {"bad-size", "short", "no-end"};
    char *buf = malloc(RAW_BLOCK);
    int rc = fd >= 0 && buf ? write_all(fd, head, sizeof head - 1) : -1;
    uint64_t sent = 0;
    while (rc == 0 && sent < f->bytes) {
        size_t want = f->bytes - sent < RAW_BLOCK ? (size_t)(f->bytes - sent) : RAW_BLOCK;
        ssize_t n = serve_body_fill(b, buf, want);
        if (n <= 0)
            break;
        rc = write_chunk(fd, buf, (size_t)n);
        sent += (uint64_t)n;
    }
    if (rc == 0 && f->kind == SERVE_FAULT_CHUNK_BAD_SIZE)
        rc = write_all(fd, "zz\r\nnot a chunk\r\n", 17);
    if (rc == 0 && f->kind == SERVE_FAULT_CHUNK_SHORT) {
        memset(buf, 0, 100);
        rc = write_all(fd, "1000\r\n", 6) || write_all(fd, buf, 100) ? -1 : 0;
    }
    cli_info("kvsp serve: fault: media response %llu: chunked %s after %llu bytes%s\n",
             (unsigned long long)f->response, names[f->kind - SERVE_FAULT_CHUNK_BAD_SIZE],
             (unsigned long long)sent, rc == 0 ? "" : " (write failed)");
    if (fd >= 0) {
        shutdown(fd, SHUT_WR); /* the FIN after what was written */
        close(fd);
    }
    free(buf);
    serve_body_destroy(b);
    return MHD_NO;
}

/* Whether token is one of the comma-separated list (session tokens are
 * base64: no commas). */
static int listed(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; *p;) {
        size_t item = strcspn(p, ",");
        if (item == n && strncmp(p, token, n) == 0)
            return 1;
        p += item + (p[item] == ',');
    }
    return 0;
}

int serve_fault_expired(serve_ctx *ctx, struct MHD_Connection *c, int *result)
{
    const char *token = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Security-Token");
    if (!ctx->cfg.expired_token || !token || !listed(ctx->cfg.expired_token, token))
        return 0;
    /* What AWS answers for a session token past its expiry. */
    *result = serve_error(c, MHD_HTTP_FORBIDDEN, "ExpiredTokenException",
                          "The security token included in the request is expired");
    return 1;
}

static int send_text(struct MHD_Connection *c, unsigned status, const char *type, char *text,
                     size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, text, free);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    serve_add_request_id(r);
    int ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* A string of n copies of ch. */
static json_t *long_string(size_t n, char ch)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memset(s, ch, n);
    s[n] = '\0';
    json_t *v = json_string(s);
    free(s);
    return v;
}

int serve_fault_list_json(serve_ctx *ctx, struct MHD_Connection *c, json_t *good)
{
    serve_list_fault mode = ctx->cfg.list_fault;
    json_t *list = json_object_get(good, "Fragments");
    json_t *first = json_array_get(list, 0);
    if (mode == SERVE_LIST_SHAPE)
        json_object_set_new(good, "Fragments",
                            json_pack("{s:i}", "count", (int)json_array_size(list)));
    if (mode == SERVE_LIST_TYPES && first)
        json_object_set_new(first, "FragmentNumber", json_integer(12345));
    if (mode == SERVE_LIST_LONG_NUMBER && first)
        json_object_set_new(first, "FragmentNumber", long_string(100000, '7'));
    if (mode == SERVE_LIST_HUGE && first)
        json_object_set_new(first, "Note", long_string(5u << 20, 'x'));
    cli_info("kvsp serve: fault: ListFragments answer %s\n", list_modes[mode]);
    if (mode == SERVE_LIST_NOT_JSON || mode == SERVE_LIST_ERROR_TEXT) {
        json_decref(good);
        char *page =
            strdup("<html><body><h1>Service Unavailable</h1>\x01\x02 backend down</body></html>\n");
        return page ? send_text(c,
                                mode == SERVE_LIST_NOT_JSON ? MHD_HTTP_OK
                                                            : MHD_HTTP_INTERNAL_SERVER_ERROR,
                                "text/html", page, strlen(page))
                    : MHD_NO;
    }
    char *text = json_dumps(good, JSON_COMPACT);
    json_decref(good);
    if (!text)
        return MHD_NO;
    size_t len = strlen(text);
    if (mode == SERVE_LIST_TRUNCATED)
        len /= 2;
    return send_text(c, MHD_HTTP_OK, "application/json", text, len);
}
