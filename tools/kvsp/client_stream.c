/* --stream: GetMedia straight into the reader, chunk by chunk as libcurl
 * receives it, for every command that reads a payload. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client_cli.h"

typedef struct stream_feed {
    kvsp_reader *r;
    const kvsp_visitor *v;
    int status; /* the reader's, when it stopped the transfer */
} stream_feed;

static int feed(void *user, const void *data, size_t len)
{
    stream_feed *f = user;
    int st = kvsp_reader_push(f->r, data, len, f->v);
    while (st == KVSP_PAUSED)
        st = kvsp_reader_run(f->r, f->v);
    if (st == KVSP_NEED_DATA)
        return 0;
    f->status = st;
    return -1;
}

int client_feed_stream(cli_input_options *in, kvsp_reader *r, const kvsp_visitor *v)
{
    kvsp_start_selector start;
    if (kvsp_start_selector_parse(in->start ? in->start : "now", &start) != KVSP_OK) {
        snprintf(in->client_error, sizeof in->client_error, "bad --start '%s'", in->start);
        return KVSP_ERR_INVALID_ARG;
    }
    kvsp_client *c = client_cli_create(in);
    if (!c)
        return KVSP_ERR_INVALID_ARG;
    stream_feed f = {r, v, KVSP_OK};
    int st = kvsp_client_get_media(c, in->stream, &start, feed, &f);
    if (st == KVSP_ERR_CALLBACK && f.status < 0)
        st = f.status; /* the reader's error, reported as such */
    else if (st < 0)
        snprintf(in->client_error, sizeof in->client_error, "%s", kvsp_client_error(c));
    kvsp_client_destroy(c);
    return st;
}
