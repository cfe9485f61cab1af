/* kvsp serve: indexes each .mkv of the root directory into fragments, one
 * per Cluster, with the Info and Tracks in effect for it. Requests then
 * only re-read the Cluster bytes from the file. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cli.h"
#include "../cli_log.h"
#include "serve.h"

#define ID_DOCTYPE 0x4282u
#define MAX_DEFAULT_DURATIONS 64
#define MAX_CAPTURE_DEPTH 32
/* Producer tags kept per fragment; more are dropped (hostile files). */
#define MAX_FRAGMENT_TAG_BYTES 65536
#define AWS_TAG_PREFIX "AWS_KINESISVIDEO_"

typedef struct track_duration {
    uint64_t track;
    uint64_t ns;
} track_duration;

typedef struct indexer {
    serve_stream *s;
    size_t fragments_cap;
    /* Info or Tracks (or a SimpleTag) being re-encoded */
    ebml_out info, tracks, tag;
    int tag_is_producers;   /* the SimpleTag's name is not AWS_KINESISVIDEO_* */
    ebml_out fragment_tags; /* the producer's, for the next Cluster */
    ebml_out *capture;
    uint32_t capture_depth;
    size_t marks[MAX_CAPTURE_DEPTH];
    uint64_t timecode_scale;
    int header_dirty;
    /* per TrackEntry, for fragment durations */
    track_duration durations[MAX_DEFAULT_DURATIONS];
    unsigned duration_count;
    uint64_t entry_track, entry_ns;
    /* the Cluster being read */
    int in_cluster;
    int cluster_unknown;
    uint32_t cluster_header_size;
    uint32_t cluster_depth;
    serve_fragment cur;
    uint64_t committed_end; /* end of the last complete child of the Cluster */
    uint32_t committed_frames;
    uint32_t pending_frames; /* of a BlockGroup not ended yet */
    int64_t last_block_pts;
    int64_t min_pts, max_pts, max_end; /* ticks, of complete children */
    int have_pts;
} indexer;

static uint64_t default_duration(const indexer *ix, uint64_t track)
{
    for (unsigned i = 0; i < ix->duration_count; i++)
        if (ix->durations[i].track == track)
            return ix->durations[i].ns;
    return 0;
}

static int same_bytes(const ebml_out *a, const ebml_out *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void copy_out(ebml_out *dst, const ebml_out *src)
{
    memset(dst, 0, sizeof *dst);
    kvsp_ebml_out_bytes(dst, src->data, src->len);
}

/* A fragment refers to the Info and Tracks last seen; identical sets (each
 * fragment of a GetMedia capture repeats them) are stored once. */
static int current_header(indexer *ix, uint32_t *out)
{
    serve_stream *s = ix->s;
    if (s->header_count && !ix->header_dirty) {
        *out = (uint32_t)(s->header_count - 1);
        return 0;
    }
    ix->header_dirty = 0;
    if (s->header_count) {
        serve_header *last = &s->headers[s->header_count - 1];
        if (same_bytes(&last->info, &ix->info) && same_bytes(&last->tracks, &ix->tracks) &&
            last->timecode_scale == ix->timecode_scale) {
            *out = (uint32_t)(s->header_count - 1);
            return 0;
        }
    }
    serve_header *h = realloc(s->headers, (s->header_count + 1) * sizeof *h);
    if (!h)
        return KVSP_ERR_NOMEM;
    s->headers = h;
    h += s->header_count;
    copy_out(&h->info, &ix->info);
    copy_out(&h->tracks, &ix->tracks);
    h->timecode_scale = ix->timecode_scale;
    if (h->info.failed || h->tracks.failed)
        return KVSP_ERR_NOMEM;
    *out = (uint32_t)s->header_count++;
    return 0;
}

static void encode_signed(ebml_out *o, uint32_t id, int64_t v)
{
    uint8_t b[8];
    unsigned n = 1;
    while (n < 8 && !(v >= -(1LL << (8 * n - 1)) && v < (1LL << (8 * n - 1))))
        n++;
    for (unsigned i = 0; i < n; i++)
        b[i] = (uint8_t)((uint64_t)v >> (8 * (n - 1 - i)));
    kvsp_ebml_out_binary(o, id, b, n);
}

/* Re-encodes one event of Info or Tracks. Duration is left out: it would
 * describe the whole source file, not one fragment. */
static void capture_event(indexer *ix, const kvsp_event *ev)
{
    ebml_out *o = ix->capture;
    uint32_t level = ev->depth - ix->capture_depth;
    if (ev->id == KVSP_ID_CRC32 || ev->id == KVSP_ID_VOID || ev->id == KVSP_ID_DURATION)
        return;
    if (ev->type == KVSP_EV_START) {
        if (level < MAX_CAPTURE_DEPTH)
            ix->marks[level] = kvsp_ebml_out_begin(o, ev->id);
        return;
    }
    if (ev->type == KVSP_EV_END) {
        if (level < MAX_CAPTURE_DEPTH)
            kvsp_ebml_out_end(o, ix->marks[level]);
        return;
    }
    switch (ev->value_type) {
    case KVSP_TYPE_UINT: kvsp_ebml_out_uint(o, ev->id, ev->value.u); break;
    case KVSP_TYPE_INT: encode_signed(o, ev->id, ev->value.i); break;
    case KVSP_TYPE_FLOAT: kvsp_ebml_out_float(o, ev->id, ev->value.f); break;
    case KVSP_TYPE_DATE: {
        uint8_t b[8];
        for (int i = 0; i < 8; i++)
            b[i] = (uint8_t)((uint64_t)ev->value.i >> (8 * (7 - i)));
        kvsp_ebml_out_binary(o, ev->id, b, 8);
        break;
    }
    default: kvsp_ebml_out_binary(o, ev->id, ev->data, ev->data_size); break;
    }
}

static void track_event(indexer *ix, const kvsp_event *ev)
{
    if (ev->id == KVSP_ID_TRACK_ENTRY && ev->type == KVSP_EV_START) {
        ix->entry_track = 0;
        ix->entry_ns = 0;
    } else if (ev->id == KVSP_ID_TRACK_ENTRY && ev->type == KVSP_EV_END) {
        if (ix->entry_ns && ix->duration_count < MAX_DEFAULT_DURATIONS)
            ix->durations[ix->duration_count++] = (track_duration){ix->entry_track, ix->entry_ns};
    } else if (ev->type == KVSP_EV_DATA && ev->id == KVSP_ID_TRACK_NUMBER) {
        ix->entry_track = ev->value.u;
    } else if (ev->type == KVSP_EV_DATA && ev->id == KVSP_ID_DEFAULT_DURATION) {
        ix->entry_ns = ev->value.u;
    }
}

static int push_fragment(indexer *ix, uint64_t end)
{
    serve_stream *s = ix->s;
    serve_fragment *f = &ix->cur;
    ix->in_cluster = 0;
    if (end <= f->offset) {
        kvsp_ebml_out_free(&f->tags);
        return 0;
    }
    f->size = end - f->offset;
    f->frames = ix->committed_frames;
    double scale = (double)s->headers[f->header].timecode_scale / 1e6; /* ms per tick */
    if (ix->have_pts) {
        int64_t end_ticks = ix->max_end;
        /* No durations at all: add one average frame interval. */
        if (end_ticks == ix->max_pts && f->frames > 1)
            end_ticks += (ix->max_pts - ix->min_pts) / (f->frames - 1);
        f->duration_ms = (int64_t)llround((double)(end_ticks - f->cluster_timecode) * scale);
        if (f->duration_ms < 0)
            f->duration_ms = 0;
    }
    if (s->count == ix->fragments_cap) {
        size_t cap = ix->fragments_cap ? 2 * ix->fragments_cap : 64;
        serve_fragment *more = realloc(s->fragments, cap * sizeof *more);
        if (!more)
            return KVSP_ERR_NOMEM;
        s->fragments = more;
        ix->fragments_cap = cap;
    }
    s->fragments[s->count++] = *f;
    return 0;
}

static void commit_child(indexer *ix, uint64_t end_offset)
{
    ix->committed_end = end_offset;
    ix->committed_frames += ix->pending_frames;
    ix->pending_frames = 0;
}

static void block_seen(indexer *ix, const kvsp_event *ev)
{
    const kvsp_block *b = ev->block;
    int64_t pts = ix->cur.cluster_timecode + b->timecode;
    uint64_t scale = ix->s->headers[ix->cur.header].timecode_scale;
    uint64_t dur_ns = default_duration(ix, b->track);
    int64_t end = pts + (scale ? (int64_t)(dur_ns * b->frame_count / scale) : 0);
    ix->pending_frames += b->frame_count;
    ix->last_block_pts = pts;
    if (!ix->have_pts || pts < ix->min_pts)
        ix->min_pts = pts;
    if (!ix->have_pts || pts > ix->max_pts)
        ix->max_pts = pts;
    if (!ix->have_pts || end > ix->max_end)
        ix->max_end = end;
    ix->have_pts = 1;
}

static int cluster_event(indexer *ix, const kvsp_event *ev)
{
    uint32_t child = ix->cluster_depth + 1;
    if (ev->type == KVSP_EV_END && ev->depth == ix->cluster_depth && ev->id == KVSP_ID_CLUSTER)
        return push_fragment(ix, ev->end_offset);
    if (ev->type == KVSP_EV_DATA && ev->id == KVSP_ID_CLUSTER_TIMECODE && ev->depth == child)
        ix->cur.cluster_timecode = (int64_t)ev->value.u;
    else if (ev->type == KVSP_EV_DATA && ev->block)
        block_seen(ix, ev);
    else if (ev->type == KVSP_EV_DATA && ev->id == KVSP_ID_BLOCK_DURATION) {
        if (ix->last_block_pts + (int64_t)ev->value.u > ix->max_end)
            ix->max_end = ix->last_block_pts + (int64_t)ev->value.u;
    }
    if (ev->depth == child && ev->type != KVSP_EV_START)
        commit_child(ix, ev->end_offset);
    return 0;
}

static int on_event(indexer *ix, const kvsp_event *ev)
{
    if (ix->capture) {
        capture_event(ix, ev);
        if (ix->capture == &ix->tracks)
            track_event(ix, ev);
        if (ix->capture == &ix->tag && ev->type == KVSP_EV_DATA && ev->id == KVSP_ID_TAG_NAME &&
            ev->depth == ix->capture_depth + 1)
            ix->tag_is_producers = !(ev->data_size >= strlen(AWS_TAG_PREFIX) &&
                                     memcmp(ev->data, AWS_TAG_PREFIX, strlen(AWS_TAG_PREFIX)) == 0);
        if (ev->type == KVSP_EV_END && ev->depth == ix->capture_depth) {
            if (ix->capture != &ix->tag)
                ix->header_dirty = 1;
            else if (ix->tag_is_producers &&
                     ix->fragment_tags.len + ix->tag.len <= MAX_FRAGMENT_TAG_BYTES)
                kvsp_ebml_out_bytes(&ix->fragment_tags, ix->tag.data, ix->tag.len);
            ix->capture = NULL;
        }
        if (ev->type == KVSP_EV_DATA && ev->id == KVSP_ID_TIMECODE_SCALE &&
            ev->depth == ix->capture_depth + 1 && ev->value.u)
            ix->timecode_scale = ev->value.u;
        return 0;
    }
    if (ix->in_cluster)
        return cluster_event(ix, ev);
    if (ev->type == KVSP_EV_DATA && ev->id == ID_DOCTYPE && ev->depth == 1) {
        size_t n =
            ev->data_size < sizeof ix->s->doctype ? ev->data_size : sizeof ix->s->doctype - 1;
        memcpy(ix->s->doctype, ev->data, n);
        ix->s->doctype[n] = 0;
    }
    if (ev->type != KVSP_EV_START)
        return 0;
    if (ev->id == KVSP_ID_SIMPLETAG) { /* in Tags outside a Cluster */
        ix->capture = &ix->tag;
        ix->capture_depth = ev->depth;
        ix->tag_is_producers = 0;
        kvsp_ebml_out_clear(&ix->tag);
        capture_event(ix, ev);
        return 0;
    }
    if (ev->id == KVSP_ID_INFO || ev->id == KVSP_ID_TRACKS) {
        ix->capture = ev->id == KVSP_ID_INFO ? &ix->info : &ix->tracks;
        ix->capture_depth = ev->depth;
        kvsp_ebml_out_clear(ix->capture);
        if (ev->id == KVSP_ID_INFO)
            ix->timecode_scale = 1000000;
        else
            ix->duration_count = 0;
        capture_event(ix, ev);
        return 0;
    }
    if (ev->id == KVSP_ID_CLUSTER) {
        memset(&ix->cur, 0, sizeof ix->cur);
        int st = current_header(ix, &ix->cur.header);
        if (st < 0)
            return st;
        /* the tags since the last Cluster are this fragment's */
        ix->cur.tags = ix->fragment_tags;
        memset(&ix->fragment_tags, 0, sizeof ix->fragment_tags);
        ix->in_cluster = 1;
        ix->cluster_unknown = ev->size == KVSP_SIZE_UNKNOWN;
        ix->cluster_header_size = ev->header_size;
        ix->cluster_depth = ev->depth;
        ix->cur.offset = ev->offset;
        ix->committed_end = ev->offset + ev->header_size;
        ix->committed_frames = ix->pending_frames = 0;
        ix->have_pts = 0;
    }
    return 0;
}

/* Numbers, then timestamps: each fragment is placed by its cluster time
 * relative to the first, made to move forward: a cluster time that goes
 * back or repeats (a restarted producer in a chain) follows the previous
 * fragment's end instead. */
static void assign_times(serve_stream *s, unsigned stream_no)
{
    static const char ones[KVSP_FRAGMENT_NUMBER_MAX - SERVE_FRAGMENT_NUMBER_DIGITS + 1] =
        "111111111111111111111111111111111111111111111111111111111111111111111111111111111";
    /* a fixed prefix keeps the order */
    int pad = (int)s->number_digits - SERVE_FRAGMENT_NUMBER_DIGITS;
    int64_t prev_raw = 0, offset = 0;
    for (size_t k = 0; k < s->count; k++) {
        serve_fragment *f = &s->fragments[k];
        snprintf(f->number, sizeof f->number, "%.*s913438523331814323%09u%020llu", pad, ones,
                 stream_no % 1000000000u, (unsigned long long)(k + 1) * 100000007ull);
        double scale = (double)s->headers[f->header].timecode_scale / 1e6;
        int64_t raw = (int64_t)llround((double)f->cluster_timecode * scale);
        if (k > 0) {
            int64_t delta = raw - prev_raw;
            if (delta <= 0) {
                delta = s->fragments[k - 1].duration_ms;
                if (delta <= 0)
                    delta = 1;
            }
            offset += delta;
        }
        prev_raw = raw;
        f->offset_ms = offset;
    }
}

void serve_set_base(serve_ctx *ctx, int64_t base_ms)
{
    ctx->base_ms = base_ms;
    for (size_t i = 0; i < ctx->stream_count; i++) {
        serve_stream *s = &ctx->streams[i];
        for (size_t k = 0; k < s->count; k++) {
            s->fragments[k].release_offset_ms = s->delay_ms + s->fragments[k].offset_ms;
            s->fragments[k].producer_ms = base_ms + s->fragments[k].release_offset_ms;
            s->fragments[k].server_ms = s->fragments[k].producer_ms + SERVE_SERVER_DELAY_MS;
        }
    }
}

/* --repeat: the fragments of the file, copied `times` times in a row.
 * assign_times then places each copy after the one before (its first
 * cluster time goes back) and numbers it on, so the copies are fragments
 * like any others: listed, fetched and sent from the same file bytes. */
static int repeat_fragments(serve_stream *s, uint64_t times)
{
    if (times <= 1 || s->count == 0)
        return KVSP_OK;
    if (s->count > SIZE_MAX / sizeof *s->fragments / times)
        return KVSP_ERR_NOMEM;
    size_t n = s->count * (size_t)times;
    serve_fragment *all = realloc(s->fragments, n * sizeof *all);
    if (!all)
        return KVSP_ERR_NOMEM;
    s->fragments = all;
    size_t original = s->count;
    int failed = 0;
    /* Each copy owns its producer tags (freed one by one at the end), so
     * the tags are copied, not shared; s->count grows with the copies made
     * so that a failure leaves every fragment freeable once. */
    for (size_t k = original; k < n; k++) {
        all[k] = all[k % original];
        copy_out(&all[k].tags, &all[k % original].tags);
        failed |= all[k].tags.failed;
        s->count = k + 1;
    }
    return failed ? KVSP_ERR_NOMEM : KVSP_OK;
}

static int index_file(serve_stream *s, unsigned stream_no, uint64_t repeat)
{
    indexer ix;
    memset(&ix, 0, sizeof ix);
    ix.s = s;
    ix.timecode_scale = 1000000;
    strcpy(s->doctype, "matroska");
    kvsp_reader *r = kvsp_reader_create(NULL);
    uint8_t *buf = malloc(CLI_DEFAULT_CHUNK_SIZE);
    int st = (r && buf) ? KVSP_OK : KVSP_ERR_NOMEM;
    uint64_t pos = 0;
    kvsp_event ev;
    while (st == KVSP_OK) {
        while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK) {
            int cb = on_event(&ix, &ev);
            if (cb < 0) {
                st = cb;
                break;
            }
        }
        if (st != KVSP_NEED_DATA)
            break;
        ssize_t n = pread(s->fd, buf, CLI_DEFAULT_CHUNK_SIZE, (off_t)pos);
        if (n < 0 && errno == EINTR)
            n = pread(s->fd, buf, CLI_DEFAULT_CHUNK_SIZE, (off_t)pos);
        if (n < 0) {
            st = KVSP_ERR_IO;
            break;
        }
        if (n == 0)
            kvsp_reader_finish(r);
        else
            kvsp_reader_feed(r, buf, (size_t)n);
        pos += (uint64_t)n;
        st = KVSP_OK;
    }
    if (st < 0 && st != KVSP_ERR_NOMEM) {
        cli_warn("kvsp serve: %s: %s at offset %llu; serving the fragments before it\n", s->path,
                 kvsp_status_name(st),
                 (unsigned long long)(st == KVSP_ERR_IO ? pos : kvsp_reader_error_offset(r)));
        /* A Cluster cut short keeps its complete children, behind an
         * unknown-size header: its own size would promise more. */
        st = KVSP_OK;
        if (ix.in_cluster && ix.committed_frames) {
            if (!ix.cluster_unknown) {
                ix.cur.offset += ix.cluster_header_size;
                ix.cur.reheader = 1;
            }
            st = push_fragment(&ix, ix.committed_end);
        }
    }
    if (st != KVSP_ERR_NOMEM && repeat_fragments(s, repeat) != KVSP_OK)
        st = KVSP_ERR_NOMEM;
    assign_times(s, stream_no);
    kvsp_ebml_out_free(&ix.info);
    kvsp_ebml_out_free(&ix.tracks);
    kvsp_ebml_out_free(&ix.tag);
    kvsp_ebml_out_free(&ix.fragment_tags);
    free(buf);
    kvsp_reader_destroy(r);
    return st == KVSP_ERR_NOMEM ? st : KVSP_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **list_mkv(const char *root, size_t *count)
{
    DIR *d = opendir(root);
    if (!d)
        return NULL;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || e->d_name[0] == '.' || strcmp(e->d_name + len - 4, ".mkv") != 0)
            continue;
        char **more = realloc(names, (n + 1) * sizeof *names);
        if (!more || !(more[n] = strdup(e->d_name))) {
            names = more ? more : names;
            break;
        }
        names = more;
        n++;
    }
    closedir(d);
    if (names)
        qsort(names, n, sizeof *names, by_name);
    *count = n;
    return names ? names : calloc(1, sizeof *names);
}

static int add_stream(serve_ctx *ctx, const char *file)
{
    serve_stream *s = &ctx->streams[ctx->stream_count];
    memset(s, 0, sizeof *s);
    size_t plen = strlen(ctx->cfg.root) + strlen(file) + 2;
    s->path = malloc(plen);
    s->name = strndup(file, strlen(file) - 4);
    if (!s->path || !s->name)
        return KVSP_ERR_NOMEM;
    snprintf(s->path, plen, "%s/%s", ctx->cfg.root, file);
    if (asprintf(&s->arn, "arn:aws:kinesisvideo:%s:000000000000:stream/%s/0", ctx->cfg.region,
                 s->name) < 0) {
        s->arn = NULL;
        return KVSP_ERR_NOMEM;
    }
    struct stat st;
    s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0 || fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        cli_error("kvsp serve: %s: %s\n", s->path, s->fd < 0 ? strerror(errno) : "not a file");
        if (s->fd >= 0)
            close(s->fd);
        free(s->path);
        free(s->name);
        free(s->arn);
        return KVSP_OK; /* skipped */
    }
    ctx->stream_count++;
    s->number_digits = ctx->cfg.number_digits;
    return index_file(s, (unsigned)ctx->stream_count, ctx->cfg.repeat);
}

int serve_index_root(serve_ctx *ctx)
{
    size_t n = 0;
    char **names = list_mkv(ctx->cfg.root, &n);
    if (!names) {
        cli_error("kvsp serve: %s: %s\n", ctx->cfg.root, strerror(errno));
        return KVSP_ERR_IO;
    }
    int st = KVSP_OK;
    ctx->streams = calloc(n ? n : 1, sizeof *ctx->streams);
    if (!ctx->streams)
        st = KVSP_ERR_NOMEM;
    for (size_t i = 0; i < n && st == KVSP_OK; i++)
        st = add_stream(ctx, names[i]);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}

void serve_streams_free(serve_ctx *ctx)
{
    for (size_t i = 0; i < ctx->stream_count; i++) {
        serve_stream *s = &ctx->streams[i];
        for (size_t h = 0; h < s->header_count; h++) {
            kvsp_ebml_out_free(&s->headers[h].info);
            kvsp_ebml_out_free(&s->headers[h].tracks);
        }
        free(s->headers);
        for (size_t k = 0; k < s->count; k++)
            kvsp_ebml_out_free(&s->fragments[k].tags);
        free(s->fragments);
        if (s->fd >= 0)
            close(s->fd);
        free(s->name);
        free(s->path);
        free(s->arn);
    }
    free(ctx->streams);
    ctx->streams = NULL;
    ctx->stream_count = 0;
}

/* A StreamARN names its stream between "stream/" and the next '/'. */
serve_stream *serve_find_stream(serve_ctx *ctx, const char *name, const char *arn)
{
    size_t len = name ? strlen(name) : 0;
    if (!name && arn) {
        const char *p = strstr(arn, ":stream/");
        if (!p || strncmp(arn, "arn:aws:kinesisvideo:", 21) != 0)
            return NULL;
        name = p + 8;
        const char *slash = strchr(name, '/');
        len = slash ? (size_t)(slash - name) : strlen(name);
    }
    for (size_t i = 0; name && i < ctx->stream_count; i++)
        if (strlen(ctx->streams[i].name) == len && memcmp(ctx->streams[i].name, name, len) == 0)
            return &ctx->streams[i];
    return NULL;
}

long serve_find_fragment(const serve_stream *s, const char *number)
{
    /* Numbers increase with the index: binary search. */
    size_t lo = 0, hi = s->count;
    if (strlen(number) != s->number_digits)
        return -1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->fragments[mid].number, number);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}
