/* --stream with --from/--to: the range reader (kvsparser/range.h) feeds the
 * command's reader with the range's fragments in timestamp order, read
 * with ListFragments and GetMediaForFragmentList (--parallel requests at a
 * time) rather than GetMedia. The command's own frame filter (cli_range.c)
 * then cuts at frame level. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client_cli.h"
#include "kvsparser/range.h"

/* Bytes kept for the batches after the one being read (range.h). */
#define CLI_RANGE_BUFFER ((size_t)8 << 20)

typedef struct range_feed {
    cli_input_options *in;
    kvsp_reader *r;
    const kvsp_visitor *v;
    int status; /* the reader's error, when it stopped the transfer */
} range_feed;

static int on_body(void *user, const void *data, size_t len)
{
    range_feed *f = user;
    int st;
    if (f->in->feed) {
        st = f->in->feed(f->in->feed_user, data, len);
    } else {
        st = kvsp_reader_push(f->r, data, len, f->v);
        while (st == KVSP_PAUSED)
            st = kvsp_reader_run(f->r, f->v);
    }
    if (st == KVSP_NEED_DATA)
        st = KVSP_OK;
    if (f->in->progress)
        f->in->progress(f->in->progress_user, kvsp_reader_offset(f->r));
    if (st < 0)
        f->status = st;
    return st < 0 ? -1 : 0;
}

int client_feed_range(cli_input_options *in, kvsp_reader *r, const kvsp_visitor *v)
{
    if (in->nstreams > 1) {
        snprintf(in->client_error, sizeof in->client_error, "--from/--to read one --stream");
        return KVSP_ERR_INVALID_ARG;
    }
    kvsp_client *client = client_cli_create(in);
    if (!client)
        return KVSP_ERR_INVALID_ARG;
    range_feed feed = {in, r, v, KVSP_OK};
    kvsp_range_options o;
    memset(&o, 0, sizeof o);
    o.stream = in->stream;
    o.timestamp = in->range_server ? KVSP_TIMESTAMP_SERVER : KVSP_TIMESTAMP_PRODUCER;
    o.from = in->range_from_s;
    o.to = in->range_to_s;
    o.parallel = in->range_parallel;
    o.max_buffered_bytes = CLI_RANGE_BUFFER; /* README: the memory of a range read */
    o.body = on_body;
    o.user = &feed;
    int st = kvsp_range_read(client, &o);
    if (feed.status < 0) {
        st = feed.status; /* bad media: the reader says where */
    } else if (st < 0) {
        snprintf(in->client_error, sizeof in->client_error, "%s",
                 kvsp_client_error_message(client));
        in->client_http_status = kvsp_client_error_http_status(client);
        snprintf(in->client_exception, sizeof in->client_exception, "%s",
                 kvsp_client_error_exception(client));
    }
    kvsp_client_destroy(client);
    return st;
}
