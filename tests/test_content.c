/* A master's content read in place (kvsparser/content.h) and skipped
 * (kvsp_reader_skip, KVSP_SKIP from visitors).
 *
 * The content cursor must give exactly the reader's events for any content
 * it accepts: checked on every master of the files given, and on thousands
 * of randomly damaged Tags, where the reader is the oracle. Skipping must
 * give the reader's events minus the children, at every chunking, and a
 * composite must skip only when all its children ask to.
 *
 * Without arguments it runs the synthetic tests; with files or folders, the
 * per-file comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ebml_builder.h"
#include "file_tests.h"
#include "kvsparser/content.h"
#include "test_util.h"
#include "visitor_log.h"

/* Every event of a whole-input pull, kept as is: with the input fed in one
 * piece every payload points into it and stays valid. */
typedef struct pulled {
    kvsp_event *ev;
    size_t count, cap;
    int status;
} pulled;

static void pull_all(const uint8_t *data, size_t len, pulled *out)
{
    memset(out, 0, sizeof *out);
    kvsp_reader *r = kvsp_reader_create(NULL);
    assert_non_null(r);
    assert_int_equal(kvsp_reader_feed(r, data, len), KVSP_OK);
    kvsp_reader_finish(r);
    kvsp_event ev;
    int st;
    while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK) {
        if (out->count == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 256;
            out->ev = realloc(out->ev, out->cap * sizeof *out->ev);
            assert_non_null(out->ev);
        }
        ev.block = NULL; /* the reader's block is overwritten by the next one */
        out->ev[out->count++] = ev;
    }
    out->status = st;
    kvsp_reader_destroy(r);
}

static int same_event(const kvsp_event *a, const kvsp_event *b)
{
    if (a->type != b->type || a->id != b->id || strcmp(a->name, b->name) || a->info != b->info ||
        a->value_type != b->value_type || a->offset != b->offset ||
        a->header_size != b->header_size || a->size != b->size || a->end_offset != b->end_offset ||
        a->depth != b->depth || a->value.u != b->value.u || a->status != b->status ||
        a->skipped != b->skipped)
        return 0;
    if ((a->data == NULL) != (b->data == NULL) || a->data_size != b->data_size)
        return 0;
    return !a->data_size || memcmp(a->data, b->data, a->data_size) == 0;
}

/* Index of the END of the master started at events[i], or count if the
 * stream stopped inside it. */
static size_t end_of(const pulled *p, size_t i)
{
    uint32_t depth = p->ev[i].depth;
    for (size_t k = i + 1; k < p->count; k++)
        if (p->ev[k].depth == depth)
            return k; /* the first event back at the master's depth is its END */
    return p->count;
}

/* Runs the cursor over the content of events[i]: 1 if it accepted it (and
 * gave the reader's events exactly), 0 if it deferred. */
static int check_content(const pulled *p, size_t i)
{
    kvsp_content c;
    assert_int_equal(kvsp_content_open(&c, &p->ev[i]), KVSP_OK);
    kvsp_event ev;
    size_t k = i + 1;
    int st;
    while ((st = kvsp_content_next(&c, &ev)) == KVSP_OK) {
        if (k >= p->count || !same_event(&ev, &p->ev[k])) {
            print_error("content of %s at %llu: event %zu (%s at %llu) is not the reader's\n",
                        p->ev[i].name, (unsigned long long)p->ev[i].offset, k - i, ev.name,
                        (unsigned long long)ev.offset);
            fail();
        }
        k++;
    }
    if (st == KVSP_DONE) {
        /* All of it: the reader's next event is the master's END. */
        assert_true(k < p->count);
        assert_int_equal(p->ev[k].type, KVSP_EV_END);
        assert_int_equal(p->ev[k].offset, p->ev[i].offset);
        return 1;
    }
    assert_int_equal(st, KVSP_DEFERRED);
    return 0;
}

static void test_file(void **state)
{
    const char *path = *state;
    uint8_t *data;
    size_t len;
    assert_int_equal(load_file(path, &data, &len), 0);
    pulled p;
    pull_all(data, len, &p);
    size_t accepted = 0, deferred = 0, tags = 0;
    for (size_t i = 0; i < p.count; i++) {
        const kvsp_event *ev = &p.ev[i];
        if (ev->type != KVSP_EV_START)
            continue;
        if (!ev->data) {
            /* Offered for every known-size master of a whole input with the
             * default limits (nothing here is 1 MiB or 48 levels deep). */
            assert_true(ev->size == KVSP_SIZE_UNKNOWN || ev->size > (1u << 20) ||
                        ev->size > len - ev->offset - ev->header_size); /* cut short */
            continue;
        }
        assert_ptr_equal(ev->data, data + ev->offset + ev->header_size);
        assert_int_equal(ev->data_size, ev->size);
        if (check_content(&p, i)) {
            accepted++;
            tags += ev->id == KVSP_ID_TAGS;
            continue;
        }
        deferred++;
        /* Deferred only for a reason: a block inside, or an error. */
        size_t end = end_of(&p, i);
        int has_block = end == p.count;
        for (size_t k = i + 1; k < end && !has_block; k++)
            has_block = p.ev[k].id == KVSP_ID_SIMPLEBLOCK || p.ev[k].id == KVSP_ID_BLOCK;
        if (!has_block) {
            print_error("%s at %llu deferred without a block or an error in it\n", ev->name,
                        (unsigned long long)ev->offset);
            fail();
        }
    }
    print_message("%s: %zu masters read in place (%zu Tags), %zu deferred\n", path, accepted, tags,
                  deferred);
    assert_true(accepted > 0);
    free(p.ev);
    free(data);
}

/* A SimpleTag of TagName and TagString, its size written in size_len
 * bytes (eb_begin's masters have 8). */
static void usual_simple_tag(ebml_buf *b, const char *name, const char *value, unsigned size_len)
{
    ebml_buf kids = {0};
    eb_string(&kids, KVSP_ID_TAG_NAME, name);
    eb_string(&kids, KVSP_ID_TAG_STRING, value);
    eb_id(b, KVSP_ID_SIMPLETAG);
    eb_size(b, kids.len, size_len);
    eb_bytes(b, kids.data, kids.len);
    eb_free(&kids);
}

/* A GetMedia-like fragment: Segment > Info, Tags (Targets, nested
 * SimpleTags, binary), Cluster of blocks. Returns the Tags' offset. */
static size_t build_fragment(ebml_buf *b)
{
    eb_ebml_header(b);
    size_t seg = eb_begin(b, KVSP_ID_SEGMENT);
    size_t info = eb_begin(b, KVSP_ID_INFO);
    eb_uint(b, KVSP_ID_TIMECODE_SCALE, 1000000);
    eb_end(b, info);
    size_t tags_at = b->len;
    size_t tags = eb_begin(b, KVSP_ID_TAGS);
    size_t tag = eb_begin(b, KVSP_ID_TAG);
    size_t targets = eb_begin(b, KVSP_ID_TARGETS);
    eb_uint(b, 0x68CA, 50); /* TargetTypeValue */
    eb_end(b, targets);
    static const char *names[] = {"AWS_KINESISVIDEO_FRAGMENT_NUMBER",
                                  "AWS_KINESISVIDEO_SERVER_TIMESTAMP", "user",
                                  "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"};
    static const char *values[] = {"91343852333181432392682062607743920146159169392",
                                   "1511852109.123", "value", "1511852109.100"};
    for (int i = 0; i < 4; i++) {
        if (i != 2) { /* sizes in 1 byte (i = 0, 1) or 8 */
            usual_simple_tag(b, names[i], values[i], i < 2 ? 1 : 8);
            continue;
        }
        size_t st = eb_begin(b, KVSP_ID_SIMPLETAG); /* with a nested one */
        eb_string(b, KVSP_ID_TAG_NAME, names[i]);
        eb_string(b, KVSP_ID_TAG_STRING, values[i]);
        size_t inner = eb_begin(b, KVSP_ID_SIMPLETAG);
        eb_string(b, KVSP_ID_TAG_NAME, "inner");
        eb_binary(b, KVSP_ID_TAG_BINARY, "\x00\x01\x02", 3);
        eb_end(b, inner);
        eb_end(b, st);
    }
    eb_end(b, tag);
    eb_end(b, tags);
    size_t cluster = eb_begin(b, KVSP_ID_CLUSTER);
    eb_uint(b, KVSP_ID_CLUSTER_TIMECODE, 0);
    for (int i = 0; i < 4; i++)
        eb_simple_block(b, (int16_t)(i * 40), i == 0 ? 0x80 : 0, 10 + (size_t)i, (uint8_t)i);
    eb_end(b, cluster);
    eb_end(b, seg);
    return tags_at;
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* copy = the fragment with 1-3 bytes of content_at..+content_len changed:
 * a bit flipped or a byte replaced (small changes to sizes and IDs are the
 * interesting ones). */
static void damage(uint8_t *copy, const ebml_buf *b, size_t content_at, size_t content_len,
                   uint64_t *seed)
{
    memcpy(copy, b->data, b->len);
    int flips = 1 + (int)(next_random(seed) % 3);
    for (int f = 0; f < flips; f++) {
        size_t at = content_at + next_random(seed) % content_len;
        uint64_t r = next_random(seed);
        copy[at] = r & 1 ? (uint8_t)(copy[at] ^ (1u << (r >> 1) % 8)) : (uint8_t)(r >> 8);
    }
}

/* Damaged Tags: wherever the cursor accepts the content, the reader (the
 * oracle) delivers the same events without an error. */
static void test_damaged_tags(void **state)
{
    (void)state;
    ebml_buf b = {0};
    size_t tags_at = build_fragment(&b);
    size_t content_at = tags_at + 4 + 8; /* Tags ID, 8-byte size */
    size_t content_len = 0;
    for (int i = 1; i < 8; i++)
        content_len = content_len << 8 | b.data[tags_at + 4 + i];
    uint8_t *copy = malloc(b.len);
    assert_non_null(copy);
    uint64_t seed = 0x2545F4914F6CDD1Dull;
    int accepted = 0, deferred = 0;
    for (int round = 0; round < 20000; round++) {
        damage(copy, &b, content_at, content_len, &seed);
        pulled p;
        pull_all(copy, b.len, &p);
        for (size_t i = 0; i < p.count; i++) {
            if (p.ev[i].type == KVSP_EV_START && p.ev[i].id == KVSP_ID_TAGS && p.ev[i].data) {
                if (check_content(&p, i))
                    accepted++;
                else
                    deferred++;
                break;
            }
        }
        free(p.ev);
    }
    print_message("damaged Tags: %d read in place, %d deferred\n", accepted, deferred);
    assert_true(accepted > 1000 && deferred > 1000);
    free(copy);
    eb_free(&b);
}

/* Damaged Tags through the fragment and frame visitors: read in place
 * (whole input: the content cursor, and SimpleTags of the usual shape taken
 * at once) or from the reader's events (1-byte chunks: no content comes),
 * the records and the final status are the same. */
static void test_damaged_tags_visitors(void **state)
{
    (void)state;
    ebml_buf b = {0};
    size_t tags_at = build_fragment(&b);
    size_t content_at = tags_at + 4 + 8;
    size_t content_len = b.len - content_at;
    uint8_t *copy = malloc(b.len);
    assert_non_null(copy);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    char what[64];
    for (int round = 0; round < 5000; round++) {
        damage(copy, &b, content_at, content_len, &seed);
        log_buf whole_log = {0}, bytes_log = {0}, watched_log = {0};
        fixed_chunker whole = {b.len}, bytes = {1};
        visitor_run in_place = {fixed_chunks, &whole, 0, {0, 0}, 0};
        visitor_run from_events = {fixed_chunks, &bytes, 0, {0, 0}, 0};
        visitor_run watched = {fixed_chunks, &whole, 0, {0, 0}, 1};
        run_visitor_log(copy, b.len, &in_place, &whole_log);
        run_visitor_log(copy, b.len, &from_events, &bytes_log);
        run_visitor_log(copy, b.len, &watched, &watched_log);
        snprintf(what, sizeof what, "round %d, whole", round);
        assert_same_log(what, &bytes_log, &whole_log);
        snprintf(what, sizeof what, "round %d, whole, every event wanted", round);
        assert_same_log(what, &bytes_log, &watched_log);
        log_free(&whole_log);
        log_free(&bytes_log);
        log_free(&watched_log);
    }
    free(copy);
    eb_free(&b);
}

static void assert_same_in_place_and_from_events(const ebml_buf *b, const char *what)
{
    log_buf whole_log = {0}, bytes_log = {0};
    fixed_chunker whole = {b->len}, bytes = {1};
    visitor_run in_place = {fixed_chunks, &whole, 0, {0, 0}, 0};
    visitor_run from_events = {fixed_chunks, &bytes, 0, {0, 0}, 0};
    run_visitor_log(b->data, b->len, &in_place, &whole_log);
    run_visitor_log(b->data, b->len, &from_events, &bytes_log);
    assert_same_log(what, &bytes_log, &whole_log);
    log_free(&whole_log);
    log_free(&bytes_log);
}

/* SimpleTags of the usual shape where the fragment visitor's handlers do
 * not keep them as they usually do: outside a fragment (in an EBML
 * header), inside Info or a TrackEntry (whose handlers take the strings),
 * inside another SimpleTag (kept, not decoded), and at the nesting where
 * the reader refuses them. Read in place, they must give what their events
 * give. */
static void test_usual_tags_in_odd_places(void **state)
{
    (void)state;
    static const char token[] = "AWS_KINESISVIDEO_CONTINUATION_TOKEN";
    ebml_buf b = {0};
    size_t header = eb_begin(&b, KVSP_ID_EBML);
    eb_string(&b, 0x4282, "matroska"); /* DocType */
    size_t tag = eb_begin(&b, KVSP_ID_TAG);
    usual_simple_tag(&b, token, "outside", 1);
    eb_end(&b, tag);
    eb_end(&b, header);
    size_t seg = eb_begin(&b, KVSP_ID_SEGMENT);
    size_t info = eb_begin(&b, KVSP_ID_INFO);
    eb_uint(&b, KVSP_ID_TIMECODE_SCALE, 1000000);
    tag = eb_begin(&b, KVSP_ID_TAG);
    usual_simple_tag(&b, "AWS_KINESISVIDEO_FRAGMENT_NUMBER", "in info", 1);
    eb_end(&b, tag);
    eb_end(&b, info);
    size_t tracks = eb_begin(&b, KVSP_ID_TRACKS), entry = eb_begin(&b, KVSP_ID_TRACK_ENTRY);
    eb_uint(&b, KVSP_ID_TRACK_NUMBER, 1);
    tag = eb_begin(&b, KVSP_ID_TAG);
    usual_simple_tag(&b, "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", "1511852109.100", 2);
    eb_end(&b, tag);
    eb_end(&b, entry);
    eb_end(&b, tracks);
    size_t tags = eb_begin(&b, KVSP_ID_TAGS);
    tag = eb_begin(&b, KVSP_ID_TAG);
    usual_simple_tag(&b, "kept", "as usual", 1);
    size_t outer_tag = eb_begin(&b, KVSP_ID_SIMPLETAG);
    eb_string(&b, KVSP_ID_TAG_NAME, "outer");
    size_t nested = eb_begin(&b, KVSP_ID_TAG);
    usual_simple_tag(&b, "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "1000", 1);
    eb_end(&b, nested);
    eb_end(&b, outer_tag);
    usual_simple_tag(&b, "AWS_KINESISVIDEO_SERVER_TIMESTAMP", "1511852109.123", 8);
    eb_end(&b, tag);
    eb_end(&b, tags);
    eb_end(&b, seg);
    assert_same_in_place_and_from_events(&b, "usual SimpleTags in odd places");
    eb_free(&b);

    /* Tags at a depth where the reader still offers their content, with
     * a SimpleTag one level deeper than it accepts. */
    uint32_t max_depth = KVSP_DEFAULT_MAX_DEPTH; /* run_visitor_log's reader */
    eb_ebml_header(&b);
    seg = eb_begin(&b, KVSP_ID_SEGMENT);
    size_t outer[64], inner[KVSP_CONTENT_MAX_NESTING];
    uint32_t tags_depth = max_depth - KVSP_CONTENT_MAX_NESTING - 1;
    for (uint32_t d = 1; d < tags_depth; d++)
        outer[d] = eb_begin(&b, KVSP_ID_TAG);
    tags = eb_begin(&b, KVSP_ID_TAGS);
    for (int d = 0; d < KVSP_CONTENT_MAX_NESTING; d++)
        inner[d] = eb_begin(&b, KVSP_ID_TAG);
    usual_simple_tag(&b, token, "too deep", 1);
    for (int d = KVSP_CONTENT_MAX_NESTING - 1; d >= 0; d--)
        eb_end(&b, inner[d]);
    eb_end(&b, tags);
    for (uint32_t d = tags_depth - 1; d >= 1; d--)
        eb_end(&b, outer[d]);
    eb_end(&b, seg);
    assert_same_in_place_and_from_events(&b, "a usual SimpleTag nested too deep");
    eb_free(&b);
}

/* The fragment visitor compares an EBML header with the last one it read
 * in place rather than read it again: a second header differing in any one
 * byte must still be read (and its damage found) as the reader reads it. */
static void test_repeated_ebml_header(void **state)
{
    (void)state;
    ebml_buf b = {0};
    build_fragment(&b);
    size_t second = b.len;
    build_fragment(&b);
    size_t header_end = second;
    while (header_end < b.len && !(b.data[header_end] == 0x18 && b.data[header_end + 1] == 0x53))
        header_end++; /* the second Segment's ID */
    assert_true(header_end < b.len);
    assert_same_in_place_and_from_events(&b, "repeated EBML header");
    char what[64];
    for (size_t at = second + 12; at < header_end; at++) {
        for (int bit = 0; bit < 8; bit += 3) {
            b.data[at] ^= (uint8_t)(1u << bit);
            snprintf(what, sizeof what, "EBML header byte %zu, bit %d", at - second, bit);
            assert_same_in_place_and_from_events(&b, what);
            b.data[at] ^= (uint8_t)(1u << bit);
        }
    }
    eb_free(&b);

    /* The same header (with a tag in it) inside a fragment, where its tag
     * is kept: it must be read there, not taken as seen. */
    b = (ebml_buf){0};
    for (int copy = 0; copy < 2; copy++) {
        size_t seg = copy ? eb_begin(&b, KVSP_ID_SEGMENT) : 0;
        size_t header = eb_begin(&b, KVSP_ID_EBML);
        eb_string(&b, 0x4282, "matroska"); /* DocType */
        size_t tag = eb_begin(&b, KVSP_ID_TAG);
        usual_simple_tag(&b, "kept", "inside", 1);
        eb_end(&b, tag);
        eb_end(&b, header);
        if (copy)
            eb_end(&b, seg);
    }
    assert_same_in_place_and_from_events(&b, "the same EBML header inside a fragment");
    eb_free(&b);
}

/* One line per event: what a skip must leave unchanged. */
static void log_event(log_buf *log, const kvsp_event *ev)
{
    log_printf(log, "%d %s @%llu size %llu depth %u end %llu u %llu n %zu\n", ev->type, ev->name,
               (unsigned long long)ev->offset, (unsigned long long)ev->size, ev->depth,
               (unsigned long long)ev->end_offset, (unsigned long long)ev->value.u,
               ev->type == KVSP_EV_START ? 0 : ev->data_size);
}

/* Pulls in chunks of `chunk` bytes, skipping the children of every master
 * with ID skip_id (or, with skip_id 0, logging everything but the
 * descendants of such masters is the caller's business). */
static int pull_skipping(const uint8_t *data, size_t len, size_t chunk, uint32_t skip_id,
                         log_buf *log)
{
    kvsp_reader *r = kvsp_reader_create(NULL);
    assert_non_null(r);
    kvsp_event ev;
    int st = KVSP_NEED_DATA;
    for (size_t pos = 0; st == KVSP_NEED_DATA; pos += chunk) {
        if (pos >= len) {
            kvsp_reader_finish(r);
        } else {
            size_t n = len - pos < chunk ? len - pos : chunk;
            assert_int_equal(kvsp_reader_feed(r, data + pos, n), KVSP_OK);
        }
        while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK) {
            log_event(log, &ev);
            if (ev.type == KVSP_EV_START && ev.id == skip_id)
                assert_int_equal(kvsp_reader_skip(r), KVSP_OK);
            else if (ev.type == KVSP_EV_DATA)
                assert_int_equal(kvsp_reader_skip(r), KVSP_ERR_INVALID_ARG); /* not after data */
        }
    }
    kvsp_reader_destroy(r);
    return st;
}

static void test_reader_skip(void **state)
{
    (void)state;
    ebml_buf b = {0};
    build_fragment(&b);
    static const uint32_t ids[] = {KVSP_ID_TAGS, KVSP_ID_CLUSTER, KVSP_ID_TAG, KVSP_ID_INFO};
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        /* The full log without the skipped masters' descendants. */
        pulled p;
        pull_all(b.data, b.len, &p);
        assert_int_equal(p.status, KVSP_DONE);
        log_buf want = {0};
        for (size_t i = 0; i < p.count; i++) {
            log_event(&want, &p.ev[i]);
            if (p.ev[i].type == KVSP_EV_START && p.ev[i].id == ids[k])
                i = end_of(&p, i) - 1;
        }
        free(p.ev);
        for (size_t chunk = 1; chunk <= b.len; chunk += chunk < 64 ? 1 : 97) {
            log_buf got = {0};
            assert_int_equal(pull_skipping(b.data, b.len, chunk, ids[k], &got), KVSP_DONE);
            char what[64];
            snprintf(what, sizeof what, "skip 0x%X, chunks of %zu", ids[k], chunk);
            assert_same_log(what, &want, &got);
            log_free(&got);
        }
        log_free(&want);
    }
    eb_free(&b);
}

static void test_skip_refused(void **state)
{
    (void)state;
    ebml_buf b = {0};
    eb_ebml_header(&b);
    eb_begin_unknown(&b, KVSP_ID_SEGMENT, 8);
    eb_uint(&b, KVSP_ID_TIMECODE_SCALE, 1000000);
    kvsp_reader *r = kvsp_reader_create(NULL);
    assert_int_equal(kvsp_reader_skip(r), KVSP_ERR_INVALID_ARG); /* no event yet */
    assert_int_equal(kvsp_reader_feed(r, b.data, b.len), KVSP_OK);
    kvsp_reader_finish(r);
    kvsp_event ev;
    int segment_seen = 0, scale_seen = 0, st;
    while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK) {
        if (ev.type == KVSP_EV_START && ev.id == KVSP_ID_SEGMENT) {
            segment_seen = 1;
            assert_null(ev.data); /* unknown size: no content */
            /* Only its children tell where it ends: refused, not sticky. */
            assert_int_equal(kvsp_reader_skip(r), KVSP_ERR_INVALID_ARG);
            assert_int_equal(kvsp_reader_error(r), 0);
        }
        scale_seen |= ev.id == KVSP_ID_TIMECODE_SCALE;
    }
    assert_int_equal(st, KVSP_DONE);
    assert_true(segment_seen && scale_seen);
    kvsp_reader_destroy(r);
    assert_int_equal(kvsp_reader_skip(NULL), KVSP_ERR_INVALID_ARG);
    eb_free(&b);
}

/* Input that ends while a skip passes over the rest of a Cluster. */
static void test_skip_truncated(void **state)
{
    (void)state;
    ebml_buf b = {0};
    build_fragment(&b);
    kvsp_reader *r = kvsp_reader_create(NULL);
    size_t cut = b.len - 8, pos = 0;
    kvsp_event ev;
    int st = KVSP_NEED_DATA, skipped = 0;
    while (st == KVSP_NEED_DATA) {
        if (pos >= cut) {
            kvsp_reader_finish(r);
        } else {
            size_t n = cut - pos < 16 ? cut - pos : 16;
            kvsp_reader_feed(r, b.data + pos, n);
            pos += n;
        }
        while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK) {
            if (ev.type == KVSP_EV_START && ev.id == KVSP_ID_CLUSTER) {
                assert_null(ev.data); /* not all of it in the chunk */
                assert_int_equal(kvsp_reader_skip(r), KVSP_OK);
                skipped = 1;
            }
            assert_false(skipped && ev.id == KVSP_ID_SIMPLEBLOCK);
        }
    }
    assert_true(skipped);
    assert_int_equal(st, KVSP_ERR_TRUNCATED);
    assert_non_null(strstr(kvsp_reader_error_message(r), "Cluster"));
    kvsp_reader_destroy(r);
    eb_free(&b);
}

/* A visitor that counts the events it sees below a Tags and answers `vote`
 * for a Tags START; with pause_tags it pauses on the Tags START first and
 * answers `vote` from on_resume. */
typedef struct voter {
    int vote;
    int pause_tags;
    int paused;
    int in_tags;
    int children;
} voter;

static int voter_event(voter *v, const kvsp_event *ev)
{
    if (ev->id == KVSP_ID_TAGS) {
        v->in_tags = ev->type == KVSP_EV_START;
        if (ev->type == KVSP_EV_START && v->pause_tags && !v->paused) {
            v->paused = 1;
            return KVSP_PAUSED;
        }
        return ev->type == KVSP_EV_START ? v->vote : KVSP_OK;
    }
    v->children += v->in_tags;
    return KVSP_OK;
}

static int voter_start(void *user, const kvsp_event *ev)
{
    return voter_event(user, ev);
}
static int voter_other(void *user, const kvsp_event *ev)
{
    return voter_event(user, ev);
}

static int voter_resume(void *user)
{
    voter *v = user;
    return v->paused ? v->vote : KVSP_OK;
}

static kvsp_visitor voter_visitor(voter *v, int with_start)
{
    kvsp_visitor vis;
    memset(&vis, 0, sizeof vis);
    vis.user = v;
    vis.on_start = with_start ? voter_start : NULL;
    vis.on_data = vis.on_end = voter_other;
    vis.on_resume = voter_resume;
    return vis;
}

/* Runs the visitors (in a composite when n > 1) over the fragment, fed
 * whole, resuming pauses. */
static void run_voters(voter *voters, const int *with_start, size_t n)
{
    ebml_buf b = {0};
    build_fragment(&b);
    kvsp_visitor vis[4];
    for (size_t i = 0; i < n; i++)
        vis[i] = voter_visitor(&voters[i], with_start[i]);
    kvsp_composite *c = n > 1 ? kvsp_composite_create(vis, n) : NULL;
    kvsp_visitor v = c ? kvsp_composite_visitor(c) : vis[0];
    kvsp_reader *r = kvsp_reader_create(NULL);
    int st = kvsp_reader_push(r, b.data, b.len, &v);
    while (st == KVSP_PAUSED)
        st = kvsp_reader_push(r, NULL, 0, &v);
    assert_int_equal(st, KVSP_NEED_DATA);
    kvsp_reader_finish(r);
    assert_int_equal(kvsp_reader_run(r, &v), KVSP_DONE);
    kvsp_reader_destroy(r);
    kvsp_composite_destroy(c);
    eb_free(&b);
}

static void test_skip_votes(void **state)
{
    (void)state;
    const int with[] = {1, 1, 1}, second_blind[] = {1, 0};
    /* Tag, Targets (3 events), 4 SimpleTags and the inner one (4 each) */
    const int tag_children = 2 + 3 + 5 * 4;
    /* One case a line (clang-format 14 would break the longest apart). */
    /* clang-format off */
    struct {
        voter v[3];
        const int *with_start;
        size_t n;
        int skipped;
    } cases[] = {
        {{{KVSP_SKIP, 0, 0, 0, 0}}, with, 1, 1},                                /* alone */
        {{{KVSP_SKIP, 0, 0, 0, 0}, {KVSP_SKIP, 0, 0, 0, 0}}, with, 2, 1},       /* all agree */
        {{{KVSP_SKIP, 0, 0, 0, 0}, {KVSP_OK, 0, 0, 0, 0}}, with, 2, 0},         /* one wants them */
        {{{KVSP_SKIP, 0, 0, 0, 0}, {KVSP_SKIP, 0, 0, 0, 0}}, second_blind, 2, 0}, /* reads, no say */
        {{{KVSP_SKIP, 0, 0, 0, 0}, {KVSP_SKIP, 1, 0, 0, 0}, {KVSP_SKIP, 0, 0, 0, 0}}, with, 3, 1},
        {{{KVSP_SKIP, 0, 0, 0, 0}, {KVSP_OK, 1, 0, 0, 0}, {KVSP_SKIP, 0, 0, 0, 0}}, with, 3, 0},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_voters(cases[i].v, cases[i].with_start, cases[i].n);
        for (size_t k = 0; k < cases[i].n; k++) {
            if (!cases[i].with_start[k])
                continue; /* without on_start it does not know it is in a Tags */
            int want = cases[i].skipped ? 0 : tag_children;
            if (cases[i].v[k].children != want) {
                print_error("case %zu, visitor %zu: %d children seen, want %d\n", i, k,
                            cases[i].v[k].children, want);
                fail();
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return run_tests_on_files("content", argc, argv, test_file);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_damaged_tags),
        cmocka_unit_test(test_damaged_tags_visitors),
        cmocka_unit_test(test_usual_tags_in_odd_places),
        cmocka_unit_test(test_repeated_ebml_header),
        cmocka_unit_test(test_reader_skip),
        cmocka_unit_test(test_skip_refused),
        cmocka_unit_test(test_skip_truncated),
        cmocka_unit_test(test_skip_votes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
