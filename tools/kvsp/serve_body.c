/* kvsp serve: the streamed (chunked) body of GetMedia and
 * GetMediaForFragmentList. Each fragment is built when the previous one is
 * sent: its head and tail are encoded into a small buffer and its Cluster
 * is read from the file straight into MHD's buffer, so a response costs
 * little memory however long it runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cli.h"
#include "serve.h"

#define BODY_BLOCK_SIZE (64 * 1024)

struct serve_body {
    serve_ctx *ctx;
    serve_stream *s;
    struct MHD_Connection *conn;
    serve_api api;
    size_t next;        /* GetMedia: fragment index; else position in list */
    size_t *list;       /* GetMediaForFragmentList: fragment indexes */
    size_t list_count;
    uint64_t fragments_sent;
    ebml_out out;       /* encoded bytes not sent yet, from out_pos */
    size_t out_pos;
    const serve_fragment *cur; /* whose Cluster is being sent */
    uint64_t cluster_pos;
    int ending;         /* nothing comes after what is buffered */
    int failed;
    uint64_t sent;
    serve_waiter waiter;
};

serve_body *serve_body_create(serve_ctx *ctx, serve_stream *s, struct MHD_Connection *c,
                              serve_api api, size_t first, size_t *list, size_t count)
{
    serve_body *b = calloc(1, sizeof *b);
    if (!b) {
        free(list);
        return NULL;
    }
    b->ctx = ctx;
    b->s = s;
    b->conn = c;
    b->api = api;
    b->next = api == SERVE_GET_MEDIA ? first : 0;
    b->list = list;
    b->list_count = count;
    return b;
}

static void body_free(void *cls)
{
    serve_body *b = cls;
    eo_free(&b->out);
    free(b->list);
    free(b);
}

/* How far behind the stream's newest fragment this one is: live, behind
 * the clock; else behind the last fragment of the file. */
static int64_t millis_behind(const serve_body *b, const serve_fragment *f)
{
    if (b->ctx->cfg.live)
        return serve_now_ms() - serve_release_ms(b->ctx, f);
    return b->s->fragments[b->s->count - 1].server_ms - f->server_ms;
}

enum { NEXT_READY, NEXT_END, NEXT_WAIT };

/* Encodes the next fragment's head and makes it current, or says why not. */
static int next_fragment(serve_body *b, int64_t *wake_ms)
{
    const serve_config *cfg = &b->ctx->cfg;
    eo_clear(&b->out);
    b->out_pos = 0;
    const serve_fragment *f;
    if (b->api == SERVE_GET_MEDIA) {
        if (b->next >= b->s->count)
            return NEXT_END;
        f = &b->s->fragments[b->next];
        int64_t now = serve_now_ms();
        if (!serve_released(b->ctx, f, now)) {
            *wake_ms = serve_release_ms(b->ctx, f);
            return NEXT_WAIT;
        }
        /* As KVS does on a failure mid-stream: a fragment that carries
         * only the error tags, then the end of the response. */
        if (cfg->fault_error_at_fragment >= 0 &&
            b->fragments_sent == (uint64_t)cfg->fault_error_at_fragment) {
            serve_error_fragment(&b->out, b->s, f, "FRAGMENT_NOT_FOUND", 4000);
            b->ending = 1;
            return NEXT_READY;
        }
    } else {
        if (b->next >= b->list_count)
            return NEXT_END;
        f = &b->s->fragments[b->list[b->next]];
    }
    b->next++;
    b->fragments_sent++;
    serve_fragment_head(&b->out, b->s, f, b->api);
    if (f->reheader) {
        eo_id(&b->out, KVSP_ID_CLUSTER);
        eo_unknown_size(&b->out);
    }
    b->cur = f;
    b->cluster_pos = 0;
    return NEXT_READY;
}

static ssize_t read_cluster(serve_body *b, char *buf, size_t max)
{
    uint64_t left = b->cur->size - b->cluster_pos;
    size_t want = left < max ? (size_t)left : max;
    ssize_t n;
    do
        n = pread(b->s->fd, buf, want, (off_t)(b->cur->offset + b->cluster_pos));
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1; /* the file shrank or failed: cut the response */
    b->cluster_pos += (uint64_t)n;
    return n;
}

/* MHD's content reader: fills buf with as much as is ready; suspends the
 * connection when --live has nothing more to give yet. */
static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    serve_body *b = cls;
    (void)pos;
    uint64_t limit = b->ctx->cfg.fault_close_after;
    if (b->failed)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (limit) {
        if (b->sent >= limit)
            return MHD_CONTENT_READER_END_WITH_ERROR; /* drops the connection */
        if (max > limit - b->sent)
            max = (size_t)(limit - b->sent);
    }
    size_t n = 0;
    int64_t wake_ms = 0;
    int state = NEXT_READY;
    while (n < max) {
        if (b->out_pos < b->out.len) {
            size_t take = b->out.len - b->out_pos;
            if (take > max - n)
                take = max - n;
            memcpy(buf + n, b->out.data + b->out_pos, take);
            b->out_pos += take;
            n += take;
        } else if (b->cur && b->cluster_pos < b->cur->size) {
            ssize_t got = read_cluster(b, buf + n, max - n);
            if (got < 0) {
                b->failed = 1;
                break;
            }
            n += (size_t)got;
        } else if (b->cur) {
            eo_clear(&b->out);
            b->out_pos = 0;
            if (b->api == SERVE_GET_MEDIA)
                serve_fragment_tail(&b->out, b->cur, millis_behind(b, b->cur));
            b->cur = NULL;
        } else if (b->ending || (state = next_fragment(b, &wake_ms)) != NEXT_READY) {
            break;
        }
        if (b->out.failed) {
            b->failed = 1;
            break;
        }
    }
    if (n > 0) {
        b->sent += n;
        return (ssize_t)n;
    }
    if (b->failed)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (state == NEXT_WAIT) {
        if (serve_live_wait(&b->ctx->live, &b->waiter, b->conn, wake_ms) != 0)
            return MHD_CONTENT_READER_END_OF_STREAM; /* shutting down */
        return 0; /* called again once resumed */
    }
    return MHD_CONTENT_READER_END_OF_STREAM;
}

int serve_body_queue(serve_body *b)
{
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BODY_BLOCK_SIZE, body_read, b, body_free);
    if (!r) {
        body_free(b);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "video/webm");
    serve_add_request_id(r);
    int ret = MHD_queue_response(b->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}
