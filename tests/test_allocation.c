/* Allocation behaviour of the core through kvsp_set_allocator:
 * - no allocation per element or per frame: reading three times the data
 *   allocates no more than reading it once (only warm-up growth);
 * - every allocation the library makes may fail: making the i-th one fail
 *   (or it and all after it), for every i a run reaches, gives
 *   KVSP_ERR_NOMEM or, where the library retries, the clean run's output;
 *   never a crash, never a leak;
 * - hostile input (huge declared sizes, depth and tag bombs, bad lacing)
 *   costs memory in proportion to the bytes that arrived and within the
 *   documented limits, never to what a size field claims. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ebml_builder.h"
#include "counting_alloc.h"
#include "test_util.h"

static const char *resources;

/* Live and peak bytes: each block carries its size in front of it. */
typedef union size_header {
    max_align_t align;
    size_t size;
} size_header;
static size_t live_bytes, peak_bytes;

static void *sizing_malloc(size_t n)
{
    size_header *h = malloc(sizeof *h + n);
    if (!h)
        return NULL;
    h->size = n;
    live_bytes += n;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
    return h + 1;
}

static void *sizing_realloc(void *p, size_t n)
{
    if (!p)
        return sizing_malloc(n);
    size_header *h = (size_header *)p - 1;
    size_t old = h->size;
    h = realloc(h, sizeof *h + n);
    if (!h)
        return NULL;
    h->size = n;
    live_bytes = live_bytes - old + n;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
    return h + 1;
}

static void sizing_free(void *p)
{
    if (!p)
        return;
    size_header *h = (size_header *)p - 1;
    live_bytes -= h->size;
    free(h);
}

static const kvsp_allocator sizing = {sizing_malloc, sizing_realloc, sizing_free};

static int on_frame(void *user, const kvsp_frame *f)
{
    (void)f;
    ++*(long *)user;
    return KVSP_OK;
}

/* Reader + frame visitor (with its fragment visitor) + merger, in 16 KiB
 * chunks: the typical consumer and more. The merged bytes are kept (with
 * libc's allocator, outside the count) and reduced to a digest at the end;
 * with `seekable` the merger may patch them, and writes Cues, Duration and
 * known sizes. */
typedef struct merged_output {
    uint8_t *data;
    size_t len, cap;
    int failed;
} merged_output;

typedef struct output_digest {
    uint64_t hash; /* FNV-1a over every byte, in order */
    uint64_t bytes;
} output_digest;

static int keep_output(void *user, const void *data, size_t len)
{
    merged_output *o = user;
    if (len > o->cap - o->len) {
        size_t cap = o->cap ? o->cap : 65536;
        while (cap - o->len < len)
            cap *= 2;
        uint8_t *bigger = realloc(o->data, cap);
        if (!bigger) {
            o->failed = 1;
            return KVSP_ERR_IO;
        }
        o->data = bigger;
        o->cap = cap;
    }
    memcpy(o->data + o->len, data, len);
    o->len += len;
    return KVSP_OK;
}

static int patch_output(void *user, uint64_t offset, const void *data, size_t len)
{
    merged_output *o = user;
    assert_true(offset <= o->len && len <= o->len - offset);
    memcpy(o->data + offset, data, len);
    return KVSP_OK;
}

static int run_pipeline_digest(const uint8_t *data, size_t len, int seekable, long *frames,
                               output_digest *digest)
{
    merged_output kept = {0};
    kvsp_visitor sink = {.user = frames, .on_frame = on_frame};
    kvsp_frame_visitor *fv = kvsp_frame_visitor_create(NULL, NULL, &sink);
    kvsp_merge_output out = {&kept, keep_output, seekable ? patch_output : NULL, NULL};
    kvsp_merger *m = kvsp_merger_create(NULL, NULL, &out);
    kvsp_reader *r = kvsp_reader_create(NULL);
    int st = KVSP_ERR_NOMEM;
    kvsp_composite *c = NULL;
    if (fv && m && r) {
        kvsp_visitor kids[2] = {kvsp_frame_visitor_visitor(fv), kvsp_merger_visitor(m)};
        c = kvsp_composite_create(kids, 2);
    }
    if (c) {
        kvsp_visitor v = kvsp_composite_visitor(c);
        st = KVSP_NEED_DATA;
        for (size_t pos = 0; pos < len && st == KVSP_NEED_DATA; pos += 16384)
            st = kvsp_reader_push(r, data + pos, len - pos < 16384 ? len - pos : 16384, &v);
        if (st == KVSP_NEED_DATA) {
            kvsp_reader_finish(r);
            st = kvsp_reader_run(r, &v);
        }
        int fin = kvsp_merger_finish(m);
        if (st == KVSP_DONE && fin < 0)
            st = fin;
    }
    kvsp_composite_destroy(c);
    kvsp_reader_destroy(r);
    kvsp_merger_destroy(m);
    kvsp_frame_visitor_destroy(fv);
    assert_false(kept.failed);
    digest->hash = 14695981039346656037ull;
    for (size_t i = 0; i < kept.len; i++)
        digest->hash = (digest->hash ^ kept.data[i]) * 1099511628211ull;
    digest->bytes = kept.len;
    free(kept.data);
    return st;
}

static int run_pipeline(const uint8_t *data, size_t len, long *frames)
{
    output_digest ignored;
    return run_pipeline_digest(data, len, 0, frames, &ignored);
}

static uint8_t *repeated(const char *name, int times, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", resources, name);
    uint8_t *one;
    size_t n;
    assert_int_equal(load_file(path, &one, &n), 0);
    uint8_t *all = malloc(n * (size_t)times);
    assert_non_null(all);
    for (int i = 0; i < times; i++)
        memcpy(all + n * (size_t)i, one, n);
    free(one);
    *len = n * (size_t)times;
    return all;
}

static void test_no_allocation_per_element(void **state)
{
    (void)state;
    long counts[2], frames[2];
    for (int k = 0; k < 2; k++) {
        size_t len;
        uint8_t *data = repeated("kvs_user_tags.mkv", k ? 30 : 10, &len);
        counting_reset(0);
        frames[k] = 0;
        kvsp_set_allocator(&counting_allocator);
        assert_int_equal(run_pipeline(data, len, &frames[k]), KVSP_DONE);
        kvsp_set_allocator(NULL);
        counts[k] = counted_allocations;
        assert_int_equal(counted_live, 0);
        free(data);
    }
    assert_int_equal(frames[1], 3 * frames[0]);
    /* Three times the fragments, frames and elements; the same allocations
     * give or take buffer growth. */
    assert_true(counts[1] <= counts[0] + 8);
    print_message("allocations: %ld for %ld frames, %ld for %ld frames\n", counts[0], frames[0],
                  counts[1], frames[1]);
}

/* Makes the i-th allocation fail, for every i a clean run reaches; with
 * fail_the_rest, every one after it too. A run must then end in
 * KVSP_ERR_NOMEM, or, where the library retries what failed (a master read
 * in place is read again from the reader's events), complete: every frame,
 * and merged bytes identical to the clean run's. With every allocation from
 * the i-th failing, a retry fails again: KVSP_ERR_NOMEM always. Nothing
 * leaks either way. */
static void fail_each_allocation(const uint8_t *data, size_t len, int seekable, int fail_the_rest)
{
    long clean_frames = 0, frames;
    output_digest clean, got;
    counting_reset(0);
    assert_int_equal(run_pipeline_digest(data, len, seekable, &clean_frames, &clean), KVSP_DONE);
    long total = counted_allocations;
    assert_true(total > 10 && clean.bytes > 0 && clean_frames > 0);
    long nomem = 0, recovered = 0;
    for (long i = 1; i <= total; i++) {
        if (fail_the_rest)
            counting_fail_from(i);
        else
            counting_reset(i);
        frames = 0;
        int st = run_pipeline_digest(data, len, seekable, &frames, &got);
        assert_true(counted_allocations >= i); /* the failure was reached */
        if (st == KVSP_ERR_NOMEM) {
            nomem++;
        } else if (st == KVSP_DONE && !fail_the_rest && frames == clean_frames &&
                   got.bytes == clean.bytes && got.hash == clean.hash) {
            recovered++;
        } else {
            print_error(
                "%s output: allocation %ld %sfailed: status %s, %ld of %ld frames, %llu of %llu bytes%s\n",
                seekable ? "seekable" : "live", i, fail_the_rest ? "and the rest " : "",
                kvsp_status_name(st), frames, clean_frames, (unsigned long long)got.bytes,
                (unsigned long long)clean.bytes, got.hash == clean.hash ? "" : " (other bytes)");
            fail();
        }
        if (counted_live != 0) {
            print_error("allocation %ld failed: %ld blocks leaked\n", i, counted_live);
            fail();
        }
    }
    print_message(
        "  %s output: %ld allocations failed in turn%s: %ld runs gave KVSP_ERR_NOMEM, %ld retried to "
        "the same output\n",
        seekable ? "seekable" : "live", total, fail_the_rest ? " with the rest" : "", nomem,
        recovered);
}

/* Two GetMedia fragments with tags; BlockGroups (a Block held until its
 * group ends, Cues from the merger); an audio and a video track; laced
 * blocks. */
static void test_every_allocation_may_fail(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int times;
    } inputs[] = {{"kvs_user_tags.mkv", 2},
                  {"h264_blockgroups.mkv", 1},
                  {"audio_video.mkv", 1},
                  {"lacing_xiph.mkv", 1}};
    for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
        size_t len;
        uint8_t *data = repeated(inputs[k].name, inputs[k].times, &len);
        print_message("%s x %d:\n", inputs[k].name, inputs[k].times);
        kvsp_set_allocator(&counting_allocator);
        for (int seekable = 0; seekable < 2; seekable++) {
            fail_each_allocation(data, len, seekable, 0);
            fail_each_allocation(data, len, seekable, 1);
        }
        kvsp_set_allocator(NULL);
        free(data);
    }
}

/* Peak bytes the pipeline holds while reading b; its status in *st. */
static size_t peak_of(const ebml_buf *b, int *st)
{
    long frames = 0;
    live_bytes = peak_bytes = 0;
    kvsp_set_allocator(&sizing);
    *st = run_pipeline(b->data, b->len, &frames);
    kvsp_set_allocator(NULL);
    assert_int_equal(live_bytes, 0);
    return peak_bytes;
}

static void open_cluster(ebml_buf *b)
{
    eb_ebml_header(b);
    eb_begin_unknown(b, KVSP_ID_SEGMENT, 8);
    eb_begin_unknown(b, KVSP_ID_CLUSTER, 8);
    eb_uint(b, KVSP_ID_CLUSTER_TIMECODE, 0);
}

static void test_hostile_input_memory(void **state)
{
    (void)state;
    int st;
    ebml_buf base = {0};
    open_cluster(&base);
    eb_simple_block(&base, 0, 0x80, 100, 1);
    size_t baseline = peak_of(&base, &st);
    assert_int_equal(st, KVSP_DONE);
    eb_free(&base);
    const size_t slack = 64 * 1024;

    /* A declared 2^56-2 byte block fails at its header: nothing allocated for it. */
    ebml_buf huge = {0};
    open_cluster(&huge);
    eb_id(&huge, KVSP_ID_SIMPLEBLOCK);
    eb_size(&huge, (1ull << 56) - 2, 8);
    eb_bytes(&huge, "\x81\0\0\x80", 4);
    size_t peak = peak_of(&huge, &st);
    assert_int_equal(st, KVSP_ERR_ELEMENT_TOO_LARGE);
    assert_true(peak <= baseline + slack);
    eb_free(&huge);

    /* A declared 200 MB block (under the 256 MiB limit) of which 1 MiB
     * arrives: the buffer follows the bytes that came, at most doubled. */
    const size_t fed = 1u << 20;
    ebml_buf big = {0};
    open_cluster(&big);
    eb_id(&big, KVSP_ID_SIMPLEBLOCK);
    eb_size(&big, 200u * 1000 * 1000, 8);
    eb_bytes(&big, "\x81\0\0\x80", 4);
    uint8_t *filler = calloc(1, fed);
    assert_non_null(filler);
    eb_bytes(&big, filler, fed);
    free(filler);
    peak = peak_of(&big, &st);
    assert_int_equal(st, KVSP_ERR_TRUNCATED);
    assert_true(peak <= baseline + 2 * fed + slack);
    print_message("200 MB declared, 1 MiB sent: peak %zu bytes (baseline %zu)\n", peak, baseline);
    eb_free(&big);

    /* 10,000 nested SimpleTags stop at the depth limit. */
    ebml_buf deep = {0};
    eb_ebml_header(&deep);
    eb_begin_unknown(&deep, KVSP_ID_SEGMENT, 8);
    eb_begin_unknown(&deep, KVSP_ID_TAGS, 1);
    eb_begin_unknown(&deep, KVSP_ID_TAG, 1);
    for (int i = 0; i < 10000; i++)
        eb_begin_unknown(&deep, KVSP_ID_SIMPLETAG, 1);
    peak = peak_of(&deep, &st);
    assert_int_equal(st, KVSP_ERR_TOO_DEEP);
    assert_true(peak <= baseline + slack);
    eb_free(&deep);

    /* 5,000 tags of 1,000 bytes, then 3,000 tags of 8,000 bytes: the tag
     * count limit (1,024), then the metadata limit (4 MiB per store), stop them. */
    static const struct {
        int tags;
        size_t len;
    } bombs[] = {{5000, 1000}, {3000, 8000}};
    for (size_t k = 0; k < 2; k++) {
        ebml_buf tags = {0};
        eb_ebml_header(&tags);
        eb_begin_unknown(&tags, KVSP_ID_SEGMENT, 8);
        size_t t = eb_begin(&tags, KVSP_ID_TAGS);
        size_t tag = eb_begin(&tags, KVSP_ID_TAG);
        char *text = malloc(bombs[k].len + 1);
        assert_non_null(text);
        memset(text, 'x', bombs[k].len);
        text[bombs[k].len] = '\0';
        for (int i = 0; i < bombs[k].tags; i++) {
            size_t st_mark = eb_begin(&tags, KVSP_ID_SIMPLETAG);
            eb_string(&tags, KVSP_ID_TAG_NAME, "AWS_KINESISVIDEO_X");
            eb_string(&tags, KVSP_ID_TAG_STRING, text);
            eb_end(&tags, st_mark);
        }
        free(text);
        eb_end(&tags, tag);
        eb_end(&tags, t);
        peak = peak_of(&tags, &st);
        assert_int_equal(st, KVSP_ERR_METADATA_LIMIT);
        print_message("tag bomb %d x %zu: peak %zu bytes\n", bombs[k].tags, bombs[k].len, peak);
        /* Two metadata stores (the frame visitor and the merger each keep a
         * fragment visitor of their own here), each with at most 4 MiB of
         * strings plus its records of up to 1,024 tags. */
        assert_true(peak <= baseline + 2 * KVSP_DEFAULT_MAX_METADATA_BYTES + 16 * slack);
        eb_free(&tags);
    }

    /* Xiph lacing that claims 256 frames of 255 bytes in a 40-byte block. */
    ebml_buf lace = {0};
    open_cluster(&lace);
    eb_id(&lace, KVSP_ID_SIMPLEBLOCK);
    eb_size(&lace, 40, 1);
    eb_bytes(&lace, "\x81\0\0\x82\xFF", 5);
    for (int i = 0; i < 35; i++)
        eb_byte(&lace, 0xFF);
    peak = peak_of(&lace, &st);
    assert_true(st < 0 && st != KVSP_ERR_NOMEM);
    assert_true(peak <= baseline + slack);
    eb_free(&lace);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return kvsp_test_skip("no resources folder given");
    resources = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_allocation_per_element),
        cmocka_unit_test(test_every_allocation_may_fail),
        cmocka_unit_test(test_hostile_input_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
