#define _DEFAULT_SOURCE /* struct timeval, select */
/* The decoding thread. Everything kvsparser does for the renderer is here:
 * a fragment visitor (fragment metadata) and the frame decoder in one
 * composite visitor, fed from a file by a reader or from a live stream by a
 * consumer. */
#include "source.h"

#include <SDL.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <kvsparser/decoder.h>
#include <kvsparser/fragment.h>
#include <kvsparser/reader.h>
#include <kvsparser/visitor.h>
#ifdef KVSP_RENDER_HAVE_CLIENT
#include <kvsparser/consumer.h>
#endif

struct source {
    source_options opts;
    picture_queue *queue;
    kvsp_fragment_visitor *meta;
    SDL_Thread *thread;
    char message[512];
    uint8_t buf[1 << 16];
};

static void copy_plane(uint8_t *dst, int dst_stride, const uint8_t *src, int src_stride, int width,
                       int rows)
{
    for (int y = 0; y < rows; y++)
        memcpy(dst + (size_t)y * (size_t)dst_stride, src + (size_t)y * (size_t)src_stride,
               (size_t)width);
}

/* The decoder's callback: the picture (yuv420p, as asked) is only valid
 * during the call, so its planes are copied into a queue slot. Waits while
 * the queue is full: the file or the network is read no faster than shown. */
static int on_picture(void *user, const kvsp_picture *p)
{
    source *s = user;
    queued_picture *slot = picture_queue_slot(s->queue, p->width, p->height);
    if (!slot) /* the window was closed, or out of memory */
        return picture_queue_closed(s->queue) ? KVSP_ERR_CALLBACK : KVSP_ERR_NOMEM;
    int cw = (p->width + 1) / 2, ch = (p->height + 1) / 2;
    copy_plane(slot->planes[0], slot->strides[0], p->planes[0], p->strides[0], p->width, p->height);
    copy_plane(slot->planes[1], slot->strides[1], p->planes[1], p->strides[1], cw, ch);
    copy_plane(slot->planes[2], slot->strides[2], p->planes[2], p->strides[2], cw, ch);
    picture_info *info = &slot->info;
    info->pts_ms = p->pts_ms;
    info->fragment_index = p->fragment_index;
    snprintf(info->fragment_number, sizeof info->fragment_number, "%s",
             p->fragment_number ? p->fragment_number : "");
    info->has_producer_time = (p->present & KVSP_FRAME_HAS_PRODUCER_TIME) != 0;
    info->producer_timestamp_ms = p->producer_timestamp_ms;
    /* MILLIS_BEHIND_NOW is in a fragment's closing tags, after its frames:
     * the latest value is the previous fragment's. */
    info->millis_behind_now = kvsp_fragment_visitor_millis_behind_now(s->meta); /* -1: not yet */
    picture_queue_commit(s->queue);
    return KVSP_OK;
}

/* A file or stdin. poll() with a timeout, so that a quiet pipe does not
 * keep the thread from seeing that the window was closed. */
static int read_file(source *s, const kvsp_visitor *v)
{
    const char *path = s->opts.path;
    int fd = path && strcmp(path, "-") != 0 ? open(path, O_RDONLY) : STDIN_FILENO;
    if (fd < 0) {
        snprintf(s->message, sizeof s->message, "%s", strerror(errno));
        return KVSP_ERR_IO;
    }
    kvsp_reader *r = kvsp_reader_create(NULL);
    int st = r ? KVSP_NEED_DATA : KVSP_ERR_NOMEM;
    while (st == KVSP_NEED_DATA && !picture_queue_closed(s->queue)) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) == 0)
            continue;
        ssize_t n = read(fd, s->buf, sizeof s->buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) { /* end of input: what the reader still holds, then done */
            kvsp_reader_finish(r);
            st = n < 0 ? KVSP_ERR_IO : kvsp_reader_run(r, v);
            break;
        }
        st = kvsp_reader_push(r, s->buf, (size_t)n, v);
    }
    if (st < 0 && st != KVSP_ERR_IO)
        snprintf(s->message, sizeof s->message, "%s at offset %llu: %s", kvsp_status_name(st),
                 (unsigned long long)kvsp_reader_error_offset(r), kvsp_reader_error_message(r));
    else if (st < 0)
        snprintf(s->message, sizeof s->message, "%s", strerror(errno));
    kvsp_reader_destroy(r);
    if (fd != STDIN_FILENO)
        close(fd);
    return st < 0 ? st : KVSP_OK;
}

#ifdef KVSP_RENDER_HAVE_CLIENT
/* A live stream: GetMedia through a consumer, which reconnects on its own
 * and delivers whole fragments. Driven here with perform/fdset/timeout so
 * that the loop can also watch for the window being closed. */
static int read_stream(source *s, const kvsp_visitor *v)
{
    kvsp_client_options co;
    memset(&co, 0, sizeof co);
    co.region = s->opts.region;
    co.endpoint_url = s->opts.endpoint_url;
    co.profile = s->opts.profile; /* credentials: environment, profile, ECS or IMDS */
    kvsp_stream_options so;
    memset(&so, 0, sizeof so);
    so.stream = s->opts.stream;
    so.visitor = v;
    so.follow = 1; /* live: keep reading */
    if (kvsp_start_selector_parse(s->opts.start ? s->opts.start : "now", &so.start) != KVSP_OK) {
        snprintf(s->message, sizeof s->message, "bad --start '%s'", s->opts.start);
        return KVSP_ERR_INVALID_ARG;
    }
    kvsp_error err;
    kvsp_client *client = kvsp_client_create(&co, &err);
    if (!client)
        snprintf(s->message, sizeof s->message, "%s", err.message);
    kvsp_consumer *c = client ? kvsp_consumer_create(client, NULL) : NULL;
    int st = c ? kvsp_consumer_add(c, &so) : KVSP_ERR_INVALID_ARG;
    while (st >= 0 && !picture_queue_closed(s->queue) && kvsp_consumer_perform(c) > 0) {
        fd_set rd, wr, ex;
        FD_ZERO(&rd);
        FD_ZERO(&wr);
        FD_ZERO(&ex);
        int max_fd = -1;
        kvsp_consumer_fdset(c, &rd, &wr, &ex, &max_fd);
        long ms = kvsp_consumer_timeout(c);
        if (ms < 0 || ms > 100)
            ms = 100;
        struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
        select(max_fd + 1, &rd, &wr, &ex, &tv);
    }
    const kvsp_stream_stats *stats = c && st >= 0 ? kvsp_consumer_stats(c, 0) : NULL;
    if (stats && stats->state == KVSP_STREAM_FAILED && !picture_queue_closed(s->queue)) {
        st = stats->last_status < 0 ? stats->last_status : KVSP_ERR_NETWORK;
        snprintf(s->message, sizeof s->message, "%s",
                 stats->last_error ? stats->last_error : "failed");
    }
    kvsp_consumer_destroy(c);
    kvsp_client_destroy(client);
    return st < 0 ? st : KVSP_OK;
}
#else
static int read_stream(source *s, const kvsp_visitor *v)
{
    (void)v;
    snprintf(s->message, sizeof s->message,
             "built without the KVS client: --stream is not available");
    return KVSP_ERR_INVALID_ARG;
}
#endif

static int run(void *arg)
{
    source *s = arg;
    kvsp_decode_options o;
    memset(&o, 0, sizeof o);
    /* Textures are uploaded as planar YUV 4:2:0. A decoder's native yuv420p
     * pictures come through as they are; other formats are converted. */
    o.pixel_format = KVSP_PIX_YUV420P;
    /* Frame threads hold pictures back until more frames come: fine for a
     * file, but live, the last pictures of a fragment would wait for the next. */
    o.threads = s->opts.stream ? 1 : 0;
    o.on_picture = on_picture;
    o.user = s;
    kvsp_decoder *d = kvsp_decoder_create(s->meta, &o);
    kvsp_composite *both = NULL;
    int st = KVSP_ERR_NOMEM;
    if (d) {
        /* The fragment visitor runs first: the decoder reads its metadata. */
        kvsp_visitor children[2] = {kvsp_fragment_visitor_visitor(s->meta),
                                    kvsp_decoder_visitor(d)};
        both = kvsp_composite_create(children, 2);
    }
    if (both) {
        kvsp_visitor v = kvsp_composite_visitor(both);
        st = s->opts.stream ? read_stream(s, &v) : read_file(s, &v);
        if (st >= 0)
            st = kvsp_decoder_finish(d); /* the pictures the decoder still holds */
        if (st < 0 && kvsp_decoder_error(d) < 0)
            snprintf(s->message, sizeof s->message, "%s", kvsp_decoder_error_message(d));
    }
    if (st < 0 && !s->message[0])
        snprintf(s->message, sizeof s->message, "%s", kvsp_status_str(st));
    picture_queue_finish(s->queue, st, s->message);
    kvsp_composite_destroy(both);
    kvsp_decoder_destroy(d);
    return st;
}

source *source_start(const source_options *opts, picture_queue *q)
{
    source *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->opts = *opts;
    s->queue = q;
    s->meta = kvsp_fragment_visitor_create(NULL);
    s->thread = s->meta ? SDL_CreateThread(run, "kvsp-decode", s) : NULL;
    if (!s->thread) {
        kvsp_fragment_visitor_destroy(s->meta);
        free(s);
        return NULL;
    }
    return s;
}

void source_join(source *s)
{
    if (!s)
        return;
    SDL_WaitThread(s->thread, NULL);
    kvsp_fragment_visitor_destroy(s->meta);
    free(s);
}
