#include "fragment_splitter.h"

#include "../alloc_internal.h"

#include <stdlib.h>
#include <string.h>

int kvsp_splitter_error_fragment(const kvsp_fragment *f)
{
    return f->error_code || (f->present & KVSP_FRAGMENT_HAS_ERROR_ID) || f->error_id_text;
}

/* The fragment being read, also at its Segment's end. */
static const kvsp_fragment *current(const fragment_splitter *s)
{
    const kvsp_fragment *f = kvsp_fragment_visitor_current(s->meta);
    return f ? f : kvsp_fragment_visitor_last(s->meta);
}

/* Watches the events after the fragment visitor has seen them, and pauses
 * the reader where a fragment is complete so that its bytes can be handed
 * on before the next fragment's are read. */
static int detect(void *user, const kvsp_event *ev)
{
    fragment_splitter *s = user;
    if (s->delivered)
        return KVSP_OK; /* its Segment ending later changes nothing */
    const kvsp_fragment *f = kvsp_fragment_visitor_current(s->meta);
    int closing_tags = ev->id == KVSP_ID_TAGS && ev->depth == 1 && f && f->tags_after_cluster &&
                       f->continuation_token;
    if (closing_tags)
        s->closing_tags_seen = 1;
    if (!closing_tags && ev->id == KVSP_ID_SEGMENT && s->at_end) {
        /* Closed by the end of the response, not by its size or the next
         * EBML header: whole only if nothing is missing. */
        f = current(s);
        if (!f || !(kvsp_splitter_error_fragment(f) || (!s->closing_tags_seen && f->complete)))
            return KVSP_OK; /* stays in buf: the caller sees a partial fragment */
    }
    if (closing_tags || ev->id == KVSP_ID_SEGMENT) {
        s->complete = 1;
        s->end = ev->end_offset;
        return KVSP_PAUSED;
    }
    return KVSP_OK;
}

static int segment_start(void *user, const kvsp_event *ev)
{
    fragment_splitter *s = user;
    if (ev->id == KVSP_ID_SEGMENT)
        s->delivered = 0;
    return KVSP_OK;
}

int kvsp_splitter_init(fragment_splitter *s, size_t max_bytes, int keep)
{
    memset(s, 0, sizeof *s);
    s->max_bytes = max_bytes;
    s->keep = keep;
    s->reader = kvsp_reader_create(NULL);
    s->meta = kvsp_fragment_visitor_create(NULL);
    if (!s->reader || !s->meta)
        return KVSP_ERR_NOMEM;
    kvsp_visitor pair[2];
    pair[0] = kvsp_fragment_visitor_visitor(s->meta);
    memset(&pair[1], 0, sizeof pair[1]);
    pair[1].user = s;
    pair[1].on_end = detect;
    pair[1].on_start = segment_start;
    s->pair = kvsp_composite_create(pair, 2);
    if (!s->pair)
        return KVSP_ERR_NOMEM;
    s->visitor = kvsp_composite_visitor(s->pair);
    return KVSP_OK;
}

void kvsp_splitter_free(fragment_splitter *s)
{
    kvsp_reader_destroy(s->reader);
    kvsp_composite_destroy(s->pair);
    kvsp_fragment_visitor_destroy(s->meta);
    kvsp_ext_free(s->buf);
    memset(s, 0, sizeof *s);
}

size_t kvsp_splitter_reset(fragment_splitter *s)
{
    size_t dropped = s->len;
    kvsp_reader_reset(s->reader);
    kvsp_fragment_visitor_reset(s->meta);
    s->len = 0;
    s->base = 0;
    s->complete = 0;
    s->delivered = 0;
    s->at_end = 0;
    return dropped;
}

static int append(fragment_splitter *s, const void *data, size_t len)
{
    if (s->len + len > s->max_bytes)
        return KVSP_ERR_ELEMENT_TOO_LARGE;
    if (!s->keep) {
        s->len += len;
        return KVSP_OK;
    }
    if (s->len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < s->len + len)
            cap *= 2;
        uint8_t *bigger = kvsp_ext_realloc(s->buf, cap);
        if (!bigger)
            return KVSP_ERR_NOMEM;
        s->buf = bigger;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return KVSP_OK;
}

/* Hands on buf[0, end) and keeps what follows. */
static int deliver_complete(fragment_splitter *s, splitter_deliver_fn deliver, void *user)
{
    size_t n = (size_t)(s->end - s->base);
    const kvsp_fragment *f = current(s);
    kvsp_fragment record;
    if (f)
        record = *f;
    else
        memset(&record, 0, sizeof record);
    record.complete = 1;
    record.end_offset = s->end;
    int rc = deliver(user, s->keep ? s->buf : NULL, n, &record);
    if (s->keep)
        memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
    s->base = s->end;
    s->complete = 0;
    s->delivered = 1;
    return rc < 0 ? rc : KVSP_OK;
}

static int run(fragment_splitter *s, const void *data, size_t len, splitter_deliver_fn deliver,
               void *user)
{
    int st = kvsp_reader_push(s->reader, data, len, &s->visitor);
    while (st == KVSP_PAUSED) {
        if (s->complete) {
            int rc = deliver_complete(s, deliver, user);
            if (rc < 0)
                return rc;
        }
        st = kvsp_reader_push(s->reader, NULL, 0, &s->visitor);
    }
    return st;
}

int kvsp_splitter_feed(fragment_splitter *s, const void *data, size_t len,
                       splitter_deliver_fn deliver, void *user)
{
    int rc = append(s, data, len);
    if (rc < 0)
        return rc;
    int st = run(s, data, len, deliver, user);
    return st == KVSP_NEED_DATA ? KVSP_OK : st;
}

int kvsp_splitter_end_of_response(fragment_splitter *s, splitter_deliver_fn deliver, void *user)
{
    /* A clean end closes unknown-size Segments: the last fragment is
     * complete unless it was cut inside an element. */
    s->at_end = 1;
    kvsp_reader_finish(s->reader);
    int st = run(s, NULL, 0, deliver, user);
    int partial = st != KVSP_DONE || s->len > 0;
    kvsp_splitter_reset(s);
    if (st < 0 && st != KVSP_ERR_TRUNCATED)
        return st;
    return partial;
}
