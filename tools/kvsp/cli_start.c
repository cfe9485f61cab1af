/* --start on a file or stdin: the input as GetMedia with that start
 * selector returns it, i.e. from the first fragment it names on. Amazon
 * Connect's contact attributes give a call's start as a fragment number
 * and a timestamp into a stream that holds many calls; a saved GetMedia
 * payload is read from there the same way as the stream.
 *
 * The bytes go first to a scanning reader with a fragment visitor only.
 * The bytes of the current fragment (from its EBML header) are kept until
 * its first Cluster begins: the tags before it say whether the fragment is
 * the start. If it is, the kept bytes and everything after go to the real
 * reader and the scanner is dropped; if not, they are dropped. So the real
 * reader's offsets count from the start fragment, as in a GetMedia
 * response. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_log.h"
#include "kvsparser/element.h"
#include "kvsparser/fragment.h"
#include "kvsparser/visitor.h"

/* Info, Tracks and Tags of one fragment before its Cluster: far less. */
#define KEEP_MAX ((size_t)64 << 20)
/* Kept while no fragment is being collected: an EBML header's start event
 * comes once its ID and size are read, and they may straddle chunks. */
#define TAIL_KEEP 64
#define NONE UINT64_MAX

typedef enum start_kind { START_FRAGMENT, START_AFTER, START_PRODUCER, START_SERVER } start_kind;

struct cli_start_state {
    start_kind kind;
    const char *value; /* fragment number or continuation token */
    int64_t ms;        /* timestamp selectors */
    kvsp_reader *scanner;
    kvsp_fragment_visitor *fv;
    kvsp_composite *both;
    uint8_t *buf; /* input bytes from stream offset base */
    size_t len, cap;
    uint64_t base;
    uint64_t keep_from; /* the current fragment's EBML header, or NONE */
    int decided;        /* the current fragment's first Cluster was seen */
    int after_next;     /* START_AFTER: the token's fragment went by */
    int started;
    uint64_t start_offset;
    char error[512];
};

static int number_is(const kvsp_fragment *f, const char *number)
{
    return f && f->fragment_number && strcmp(f->fragment_number, number) == 0;
}

/* Whether the fragment whose first Cluster begins is where to start; the
 * rules of kvsp serve's GetMedia (serve_media.c): the fragment numbered N,
 * the one after the token's, the first with a timestamp at or after S. */
static int is_start(cli_start_state *s, const kvsp_fragment *f)
{
    switch (s->kind) {
    case START_FRAGMENT: return number_is(f, s->value);
    case START_AFTER:
        if (s->after_next)
            return 1;
        s->after_next = number_is(f, s->value);
        return 0;
    case START_PRODUCER:
        return f && (f->present & KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP) &&
               f->producer_timestamp_ms >= s->ms;
    default:
        return f && (f->present & KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP) &&
               f->server_timestamp_ms >= s->ms;
    }
}

static int watch_start(void *user, const kvsp_event *ev)
{
    cli_start_state *s = user;
    if (ev->depth == 0 && ev->id == KVSP_ID_EBML) {
        s->keep_from = ev->offset;
        s->decided = 0;
        return KVSP_OK;
    }
    if (ev->id != KVSP_ID_CLUSTER || s->decided)
        return KVSP_OK;
    s->decided = 1;
    if (s->keep_from != NONE && is_start(s, kvsp_fragment_visitor_current(s->fv))) {
        s->started = 1;
        s->start_offset = s->keep_from;
        return KVSP_PAUSED; /* the scanner's work is done */
    }
    s->keep_from = NONE;
    return KVSP_OK;
}

static int parse_selector(cli_start_state *s, const char *text)
{
    const char *colon = strchr(text, ':');
    const char *rest = colon ? colon + 1 : "";
    size_t n = colon ? (size_t)(colon - text) : strlen(text);
    if (n == 8 && strncmp(text, "fragment", n) == 0 && *rest) {
        s->kind = START_FRAGMENT;
    } else if (n == 12 && strncmp(text, "continuation", n) == 0 && *rest) {
        s->kind = START_AFTER;
    } else if ((n == 11 && strncmp(text, "producer-ts", n) == 0) ||
               (n == 9 && strncmp(text, "server-ts", n) == 0)) {
        double seconds;
        if (cli_parse_time(rest, &seconds) != 0)
            return -1;
        s->kind = text[0] == 'p' ? START_PRODUCER : START_SERVER;
        /* the tags' timestamps are whole milliseconds */
        s->ms = (int64_t)(seconds * 1000.0 + (seconds >= 0 ? 0.5 : -0.5));
    } else {
        return -1;
    }
    s->value = rest;
    return 0;
}

int cli_start_setup(cli_input_options *o)
{
    if (!o->start || o->stream || strcmp(o->start, "earliest") == 0)
        return 0; /* a file is read from its first fragment anyway */
    cli_start_state *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    if (parse_selector(s, o->start) != 0) {
        cli_error("kvsp: --start on a file is earliest, fragment:N, continuation:T, "
                  "producer-ts:T or server-ts:T (T epoch seconds or ISO 8601), got '%s'\n",
                  o->start);
        free(s);
        return -1;
    }
    s->keep_from = NONE;
    o->start_state = s;
    return 0;
}

static int scanner_create(cli_start_state *s, const cli_input_options *o)
{
    s->scanner = kvsp_reader_create(&o->reader);
    s->fv = kvsp_fragment_visitor_create(NULL);
    if (!s->scanner || !s->fv)
        return KVSP_ERR_NOMEM;
    kvsp_visitor children[2] = {kvsp_fragment_visitor_visitor(s->fv), {0}};
    children[1].user = s;
    children[1].on_start = watch_start;
    s->both = kvsp_composite_create(children, 2);
    return s->both ? KVSP_OK : KVSP_ERR_NOMEM;
}

static void scanner_free(cli_start_state *s)
{
    kvsp_composite_destroy(s->both);
    kvsp_fragment_visitor_destroy(s->fv);
    kvsp_reader_destroy(s->scanner);
    s->both = NULL;
    s->fv = NULL;
    s->scanner = NULL;
}

static int keep(cli_start_state *s, const uint8_t *data, size_t len)
{
    if (s->len + len > KEEP_MAX) {
        snprintf(s->error, sizeof s->error,
                 "over %zu MiB before a fragment's first Cluster while looking for the start",
                 KEEP_MAX >> 20);
        return KVSP_ERR_METADATA_LIMIT;
    }
    if (s->len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < s->len + len)
            cap *= 2;
        uint8_t *more = realloc(s->buf, cap);
        if (!more)
            return KVSP_ERR_NOMEM;
        s->buf = more;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return KVSP_OK;
}

/* Forgets the kept bytes before offset `from`. */
static void drop_before(cli_start_state *s, uint64_t from)
{
    if (from <= s->base)
        return;
    size_t n = from - s->base < s->len ? (size_t)(from - s->base) : s->len;
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
    s->base += n;
}

int cli_start_push(const cli_input_options *o, const uint8_t *data, size_t len, kvsp_reader *r,
                   const kvsp_visitor *v, cli_deliver_fn deliver)
{
    cli_start_state *s = o->start_state;
    if (!s || s->started)
        return deliver(o, r, v, data, len);
    int st = s->scanner ? KVSP_OK : scanner_create(s, o);
    if (st == KVSP_OK)
        st = keep(s, data, len);
    if (st < 0)
        return st;
    kvsp_visitor both = kvsp_composite_visitor(s->both);
    st = kvsp_reader_push(s->scanner, data, len, &both);
    if (st < 0) {
        snprintf(s->error, sizeof s->error, "offset %llu: %s (while looking for the start)",
                 (unsigned long long)kvsp_reader_error_offset(s->scanner),
                 kvsp_reader_error_message(s->scanner));
        return st;
    }
    if (!s->started) {
        uint64_t end = s->base + s->len;
        uint64_t from = s->keep_from != NONE ? s->keep_from : end > TAIL_KEEP ? end - TAIL_KEEP : 0;
        if (from < s->base) { /* cannot happen: TAIL_KEEP covers an element header */
            snprintf(s->error, sizeof s->error, "a fragment's start went by unkept");
            return KVSP_ERR_INVALID_ARG;
        }
        drop_before(s, from);
        return KVSP_OK;
    }
    scanner_free(s);
    drop_before(s, s->start_offset);
    st = deliver(o, r, v, s->buf, s->len);
    free(s->buf);
    s->buf = NULL;
    s->len = s->cap = 0;
    return st;
}

int cli_start_finish(cli_input_options *o)
{
    cli_start_state *s = o->start_state;
    if (!s)
        return KVSP_OK;
    int st = KVSP_OK;
    if (s->error[0]) {
        st = KVSP_ERR_INVALID_ARG;
    } else if (!s->started) {
        static const char *const what[] = {"no fragment numbered",
                                           "no fragment after the one numbered",
                                           "no fragment with a producer timestamp at or after",
                                           "no fragment with a server timestamp at or after"};
        const char *arg =
            s->kind == START_FRAGMENT || s->kind == START_AFTER
                ? s->value
                : o->start + strlen(s->kind == START_PRODUCER ? "producer-ts:" : "server-ts:");
        snprintf(s->error, sizeof s->error, "%s %s", what[s->kind], arg);
        st = KVSP_ERR_INVALID_ARG;
    }
    if (s->error[0])
        snprintf(o->start_error, sizeof o->start_error, "--start %s: %s", o->start, s->error);
    scanner_free(s);
    free(s->buf);
    free(s);
    o->start_state = NULL;
    return st;
}
