#define _GNU_SOURCE
/* --metrics' HTTP side: a libmicrohttpd daemon with its own thread
 * answering GET /metrics with the exposition text. A scrape never touches
 * the consumer's live state: it reads the copies the consumer publishes
 * (kvsp_consumer_stats_snapshot), so the consumer's hot path takes no lock. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "metrics.h"

struct cli_metrics {
    struct MHD_Daemon *daemon;
    const kvsp_consumer *consumer;
    const char *const *names;
    unsigned port;
};

static enum MHD_Result plain(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    (void)version;
    (void)upload;
    cli_metrics *m = cls;
    if (!*state) { /* the headers: wait for the (empty) body */
        *state = m;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* a body is not asked for: ignored */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return plain(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics\n");
    if (strcmp(url, "/metrics") != 0)
        return plain(conn, MHD_HTTP_NOT_FOUND, "kvsp serves its metrics at /metrics\n");
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    int ok = out && cli_metrics_write(out, m->consumer, m->names) == 0;
    if (out && fclose(out) != 0)
        ok = 0;
    if (!ok) {
        free(text);
        return plain(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(size, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

cli_metrics *cli_metrics_start(const struct sockaddr *addr, socklen_t addr_len,
                               const kvsp_consumer *c, const char *const *names, char *err,
                               size_t err_size)
{
    cli_metrics *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    (void)addr_len;
    m->consumer = c;
    m->names = names;
    /* Not select: the consumer's sockets may push descriptors past FD_SETSIZE. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_POLL;
    if (addr->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* SIGINT and SIGTERM stop the consumer from its own thread (its epoll
     * wait sees them at once): MHD's thread inherits them blocked. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    /* MHD wants a port argument too; the address's own is the one used. */
    m->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR, addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!m->daemon) {
        snprintf(err, err_size, "cannot listen (address in use or not this host's?)");
        free(m);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : 0;
    return m;
}

unsigned cli_metrics_port(const cli_metrics *m)
{
    return m ? m->port : 0;
}

void cli_metrics_stop(cli_metrics *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->daemon);
    free(m);
}
