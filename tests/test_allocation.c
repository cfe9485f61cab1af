/* Allocation behaviour of the core through kvsp_set_allocator:
 * - no allocation per element or per frame: reading three times the data
 *   allocates no more than reading it once (only warm-up growth);
 * - every allocation the library makes may fail: making the i-th one fail,
 *   for every i a run reaches, gives an error or a clean run, never a crash,
 *   and leaks nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

static const char *resources;
static long allocations, live, fail_at;

static void *count_malloc(size_t n)
{
    if (++allocations == fail_at)
        return NULL;
    void *p = malloc(n);
    live += p != NULL;
    return p;
}

static void *count_realloc(void *p, size_t n)
{
    if (++allocations == fail_at)
        return NULL;
    void *q = realloc(p, n);
    live += q && !p;
    return q;
}

static void count_free(void *p)
{
    live -= p != NULL;
    free(p);
}

static const kvsp_allocator counting = {count_malloc, count_realloc, count_free};

static int on_frame(void *user, const kvsp_frame *f)
{
    (void)f;
    ++*(long *)user;
    return KVSP_OK;
}

/* Reader + frame visitor (with its fragment visitor) + merger into a
 * discarding output, in 16 KiB chunks: the typical consumer and more. */
static int discard(void *user, const void *data, size_t len)
{
    (void)user;
    (void)data;
    (void)len;
    return KVSP_OK;
}

static int run_pipeline(const uint8_t *data, size_t len, long *frames)
{
    kvsp_visitor sink = {.user = frames, .on_frame = on_frame};
    kvsp_frame_visitor *fv = kvsp_frame_visitor_create(NULL, NULL, &sink);
    kvsp_merge_output out = {NULL, discard, NULL, NULL};
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
    return st;
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
        allocations = live = 0;
        fail_at = 0;
        frames[k] = 0;
        kvsp_set_allocator(&counting);
        assert_int_equal(run_pipeline(data, len, &frames[k]), KVSP_DONE);
        kvsp_set_allocator(NULL);
        counts[k] = allocations;
        assert_int_equal(live, 0);
        free(data);
    }
    assert_int_equal(frames[1], 3 * frames[0]);
    /* Three times the fragments, frames and elements; the same allocations
     * give or take buffer growth. */
    assert_true(counts[1] <= counts[0] + 8);
    print_message("allocations: %ld for %ld frames, %ld for %ld frames\n", counts[0], frames[0], counts[1],
                  frames[1]);
}

static void test_every_allocation_may_fail(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = repeated("kvs_user_tags.mkv", 2, &len);
    long frames = 0;
    allocations = live = 0;
    fail_at = 0;
    kvsp_set_allocator(&counting);
    assert_int_equal(run_pipeline(data, len, &frames), KVSP_DONE);
    long total = allocations;
    for (long i = 1; i <= total; i++) {
        allocations = live = 0;
        fail_at = i;
        frames = 0;
        int st = run_pipeline(data, len, &frames);
        if (st != KVSP_DONE && st != KVSP_ERR_NOMEM) {
            print_error("allocation %ld failed: status %s\n", i, kvsp_status_name(st));
            fail();
        }
        if (live != 0) {
            print_error("allocation %ld failed: %ld blocks leaked\n", i, live);
            fail();
        }
    }
    kvsp_set_allocator(NULL);
    free(data);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 77;
    resources = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_allocation_per_element),
        cmocka_unit_test(test_every_allocation_may_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
