/* kvsp serve: the streamed (chunked) body of GetMedia and
 * GetMediaForFragmentList. Each fragment is built when the previous one is
 * sent: its head and tail are encoded into a small buffer and its Cluster
 * is read from the file straight into MHD's buffer, so a response costs
 * little memory however long it runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../cli.h"
#include "../cli_log.h"
#include "serve.h"

#define BODY_BLOCK_SIZE (64 * 1024)

struct serve_body {
    serve_ctx *ctx;
    serve_stream *s;
    struct MHD_Connection *conn;
    serve_api api;
    size_t next;  /* GetMedia: fragment index; else position in list */
    size_t *list; /* GetMediaForFragmentList: fragment indexes */
    size_t list_count;
    uint64_t fragments_sent;
    ebml_out out; /* encoded bytes not sent yet, from out_pos */
    size_t out_pos;
    const serve_fragment *cur; /* whose Cluster is being sent */
    uint64_t cluster_pos;
    int ending; /* nothing comes after what is buffered */
    int failed;
    uint64_t sent;
    serve_waiter waiter;
    /* The fragment going out (GetMedia): its index in the stream and the
     * bytes of it handed to MHD so far (for the cut points). */
    int in_fragment;
    size_t frag_index;
    uint64_t frag_pos;
    const serve_fragment *tail_of; /* whose closing Tags are in out */
    /* Fragments completed by the block being filled, for --log-fragments. */
    const serve_fragment *done[8];
    size_t done_count;
    int cut; /* a --fault-cut-at / --fault-end-at point was reached */
    /* Response faults: this response's index among the media responses,
     * and what it does instead of the normal body. */
    uint64_t response;
    const serve_response_fault *fault;
    uint64_t garbage_state; /* SERVE_FAULT_GARBAGE: xorshift64 */
    int no_wait;            /* serve_body_fill: end where --live would wait */
    int stalled;
    int64_t started_ms;    /* for --session-limit */
    int cut_chosen;        /* --fault-cut-every picked this response */
    uint64_t cut_every_at; /* ... to be cut after this many bytes of its first
                              fragment; UINT64_MAX: not (yet) */
};

enum { CUT_NONE, CUT_DROP, CUT_END };

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
    b->response = atomic_fetch_add(&ctx->media_responses, 1);
    b->fault = serve_fault_for(&ctx->cfg, b->response);
    b->garbage_state = 0x9E3779B97F4A7C15ull ^ b->response;
    b->started_ms = serve_now_ms();
    b->cut_every_at = UINT64_MAX;
    if (api == SERVE_GET_MEDIA && ctx->cfg.fault_cut_every)
        b->cut_chosen =
            (atomic_fetch_add(&ctx->get_media_responses, 1) + 1) % ctx->cfg.fault_cut_every == 0;
    atomic_fetch_add(&ctx->active_bodies, 1);
    return b;
}

static void body_free(void *cls)
{
    serve_body *b = cls;
    atomic_fetch_sub(&b->ctx->active_bodies, 1);
    kvsp_ebml_out_free(&b->out);
    free(b->list);
    free(b);
}

void serve_body_destroy(serve_body *b)
{
    body_free(b);
}

/* SERVE_FAULT_GARBAGE: the same bytes for the same K in every run. */
static ssize_t garbage_read(serve_body *b, char *buf, size_t max)
{
    if (b->sent >= b->fault->bytes)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (max > b->fault->bytes - b->sent)
        max = (size_t)(b->fault->bytes - b->sent);
    uint64_t x = b->garbage_state;
    for (size_t i = 0; i < max; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (char)(x >> 24);
    }
    b->garbage_state = x;
    b->sent += max;
    return (ssize_t)max;
}

/* SERVE_FAULT_STALL: nothing more after B bytes, and the connection stays
 * open: suspended (no busy loop here either) until the server stops. */
static ssize_t stall(serve_body *b)
{
    if (b->stalled++)
        return MHD_CONTENT_READER_END_WITH_ERROR; /* resumed: the server is stopping */
    cli_info("kvsp serve: fault: media response %llu stalls after %llu bytes\n",
             (unsigned long long)b->response, (unsigned long long)b->sent);
    if (serve_live_wait(&b->ctx->live, &b->waiter, b->conn, INT64_MAX) != 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return 0;
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

/* --fault-cut-every: where in its first fragment (of `bytes` before the
 * closing Tags) a chosen response is cut, spread over the fragment by a
 * hash of the response's index (splitmix64) so that every kind of
 * position comes up, the same in every run. */
static uint64_t cut_every_offset(uint64_t response, uint64_t bytes)
{
    uint64_t x = response + 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    return bytes ? x % bytes : 0;
}

/* --session-limit: the response has lasted its session; it ends here, at a
 * fragment boundary, as KVS ends a GetMedia after about 45 minutes. */
static int session_over(serve_body *b, int64_t now)
{
    int64_t limit = b->ctx->cfg.session_limit_ms;
    if (!limit || now - b->started_ms < limit)
        return 0;
    cli_info("kvsp serve: GetMedia of %s: session ended after %lld ms at fragment %zu\n",
             b->s->name, (long long)(now - b->started_ms), b->next);
    return 1;
}

/* Encodes the next fragment's head and makes it current, or says why not. */
static int next_fragment(serve_body *b, int64_t *wake_ms)
{
    const serve_config *cfg = &b->ctx->cfg;
    kvsp_ebml_out_clear(&b->out);
    b->out_pos = 0;
    const serve_fragment *f;
    if (b->api == SERVE_GET_MEDIA) {
        /* Stopping: the fragment before has gone out whole; nothing after
         * it. (GetMediaForFragmentList sends its whole list: a shorter one
         * that ends cleanly would pass for complete.) */
        if (b->next >= b->s->count || atomic_load(&b->ctx->stopping))
            return NEXT_END;
        f = &b->s->fragments[b->next];
        int64_t now = serve_now_ms();
        if (session_over(b, now))
            return NEXT_END;
        if (!serve_released(b->ctx, f, now)) {
            *wake_ms = serve_release_ms(b->ctx, f);
            /* Woken at the session's end if nothing comes before it. */
            if (cfg->session_limit_ms && b->started_ms + cfg->session_limit_ms < *wake_ms)
                *wake_ms = b->started_ms + cfg->session_limit_ms;
            return NEXT_WAIT;
        }
        b->in_fragment = 1;
        b->frag_index = b->next;
        b->frag_pos = 0;
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
    serve_fragment_start(&b->out, b->s, f, b->api);
    if (b->cut_chosen && b->api == SERVE_GET_MEDIA) {
        b->cut_chosen = 0; /* its first fragment only */
        b->cut_every_at = cut_every_offset(b->response, b->out.len + f->size);
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

/* How many bytes of the current fragment may go before the next cut point;
 * 0 once one is reached (taken: b->cut is set). UINT64_MAX: none. */
static uint64_t cut_room(serve_body *b)
{
    const serve_config *cfg = &b->ctx->cfg;
    if (b->api != SERVE_GET_MEDIA || !b->in_fragment)
        return UINT64_MAX;
    uint64_t room = UINT64_MAX;
    if (b->cut_every_at != UINT64_MAX) {
        if (b->frag_pos >= b->cut_every_at) {
            b->cut = CUT_DROP;
            fprintf(
                stderr,
                "kvsp serve: fault: GetMedia of %s cut at fragment %zu byte %llu (--fault-cut-every)\n",
                b->s->name, b->frag_index, (unsigned long long)b->cut_every_at);
            b->cut_every_at = UINT64_MAX;
            return 0;
        }
        room = b->cut_every_at - b->frag_pos;
    }
    for (size_t i = 0; i < cfg->cut_count; i++) {
        serve_cut *c = &cfg->cuts[i];
        if (c->fragment != b->frag_index || c->byte < b->frag_pos || atomic_load(&c->used))
            continue;
        if (c->byte > b->frag_pos) {
            if (c->byte - b->frag_pos < room)
                room = c->byte - b->frag_pos;
        } else if (atomic_exchange(&c->used, 1) == 0) {
            b->cut = c->end_cleanly ? CUT_END : CUT_DROP;
            cli_info("kvsp serve: fault: GetMedia of %s %s at fragment %zu byte %llu\n", b->s->name,
                     c->end_cleanly ? "ended" : "cut", b->frag_index, (unsigned long long)c->byte);
            return 0;
        }
    }
    return room;
}

/* --log-fragments: the fragments whose last byte is in the block just
 * filled, with the time it goes to MHD. */
static void log_done(serve_body *b)
{
    serve_ctx *ctx = b->ctx;
    if (!b->done_count)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    pthread_mutex_lock(&ctx->log_lock);
    for (size_t i = 0; i < b->done_count; i++)
        fprintf(ctx->fragment_log, "%lld %s %s\n", us, b->s->name, b->done[i]->number);
    pthread_mutex_unlock(&ctx->log_lock);
    b->done_count = 0;
}

/* Copies what is encoded and not sent yet; notes a fragment's end. */
static size_t copy_out(serve_body *b, char *buf, size_t room)
{
    size_t take = b->out.len - b->out_pos;
    if (take > room)
        take = room;
    memcpy(buf, b->out.data + b->out_pos, take);
    b->out_pos += take;
    if (b->tail_of && b->out_pos == b->out.len) {
        if (b->ctx->fragment_log) {
            if (b->done_count == sizeof b->done / sizeof b->done[0])
                log_done(b);
            b->done[b->done_count++] = b->tail_of;
        }
        b->tail_of = NULL;
    }
    return take;
}

/* --rate-per-connection: how many bytes the response may send now (at
 * most max), or 0 with *wait set after suspending it until it may send
 * again. The first
 * block goes at once; then bytes follow the clock since the response
 * started. */
#define PACE_BURST BODY_BLOCK_SIZE
static size_t paced_room(serve_body *b, size_t max, int *wait)
{
    uint64_t rate = b->ctx->cfg.rate_per_connection;
    *wait = 0;
    if (!rate || b->no_wait)
        return max;
    int64_t elapsed = serve_now_ms() - b->started_ms;
    uint64_t allowed = PACE_BURST + rate * (uint64_t)(elapsed > 0 ? elapsed : 0) / 1000;
    if (b->sent < allowed)
        return allowed - b->sent < max ? (size_t)(allowed - b->sent) : max;
    /* Woken when a whole block may go (the clock counts ms: a smaller
     * step would wake it again at once, for a few bytes). */
    uint64_t due = (b->sent + BODY_BLOCK_SIZE - PACE_BURST) * 1000 / rate + 1;
    /* Shutting down (no more waits): the rest goes unpaced, so that the
     * response still ends whole within the drain, as unpaced ones do. */
    if (serve_live_wait(&b->ctx->live, &b->waiter, b->conn, b->started_ms + (int64_t)due) != 0)
        return max;
    *wait = 1;
    return 0;
}

/* MHD's content reader: fills buf with as much as is ready; suspends the
 * connection when --live has nothing more to give yet. */
static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    serve_body *b = cls;
    (void)pos;
    uint64_t limit = b->ctx->cfg.fault_close_after;
    const serve_response_fault *fault = b->fault;
    if (fault && fault->kind == SERVE_FAULT_GARBAGE)
        return garbage_read(b, buf, max);
    if (fault && fault->kind == SERVE_FAULT_STALL) {
        if (b->sent >= fault->bytes)
            return stall(b);
        if (max > fault->bytes - b->sent)
            max = (size_t)(fault->bytes - b->sent);
    }
    if (b->failed || b->cut == CUT_DROP)
        return MHD_CONTENT_READER_END_WITH_ERROR; /* drops the connection */
    if (b->cut == CUT_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (limit) {
        if (b->sent >= limit)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (max > limit - b->sent)
            max = (size_t)(limit - b->sent);
    }
    int paced;
    max = paced_room(b, max, &paced);
    if (paced)
        return 0; /* called again once resumed */
    size_t n = 0;
    int64_t wake_ms = 0;
    int state = NEXT_READY;
    while (n < max) {
        size_t room = max - n;
        uint64_t cut = cut_room(b);
        if (cut == 0)
            break;
        if (room > cut)
            room = (size_t)cut;
        size_t got = 0;
        if (b->out_pos < b->out.len) {
            got = copy_out(b, buf + n, room);
        } else if (b->cur && b->cluster_pos < b->cur->size) {
            ssize_t r = read_cluster(b, buf + n, room);
            if (r < 0) {
                b->failed = 1;
                break;
            }
            got = (size_t)r;
        } else if (b->cur) {
            kvsp_ebml_out_clear(&b->out);
            b->out_pos = 0;
            if (b->api == SERVE_GET_MEDIA) {
                serve_fragment_tail(&b->out, b->cur, millis_behind(b, b->cur));
                b->tail_of = b->cur;
            }
            b->cur = NULL;
        } else if (b->ending || (state = next_fragment(b, &wake_ms)) != NEXT_READY) {
            break;
        }
        n += got;
        b->frag_pos += got;
        if (b->out.failed) {
            b->failed = 1;
            break;
        }
    }
    log_done(b);
    if (n > 0) {
        b->sent += n;
        return (ssize_t)n;
    }
    if (b->failed || b->cut == CUT_DROP)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (b->cut == CUT_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (state == NEXT_WAIT && !b->no_wait) {
        if (serve_live_wait(&b->ctx->live, &b->waiter, b->conn, wake_ms) != 0)
            return MHD_CONTENT_READER_END_OF_STREAM; /* shutting down */
        return 0;                                    /* called again once resumed */
    }
    return MHD_CONTENT_READER_END_OF_STREAM;
}

ssize_t serve_body_fill(serve_body *b, char *buf, size_t max)
{
    b->no_wait = 1;
    ssize_t n = body_read(b, 0, buf, max);
    if (n == MHD_CONTENT_READER_END_OF_STREAM)
        return 0;
    return n < 0 ? -1 : n;
}

int serve_body_queue(serve_body *b)
{
    if (b->fault && b->fault->kind >= SERVE_FAULT_CHUNK_BAD_SIZE)
        return serve_fault_raw_chunked(b, b->conn, b->fault);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BODY_BLOCK_SIZE,
                                                               body_read, b, body_free);
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
