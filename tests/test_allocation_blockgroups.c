/* Allocation failure in the frame visitor while it holds a BlockGroup's
 * Block: the Block is copied until its group ends (a ReferenceBlock after it
 * makes it a P frame), and that copy's allocation may fail. The run must
 * then end in KVSP_ERR_NOMEM, never in KVSP_DONE with the frame missing.
 * test_allocation's runs read only SimpleBlocks, which are never copied.
 *
 * Each allocation a clean run over a BlockGroup fixture makes fails in turn
 * (alone, then with every one after it); each run must give KVSP_ERR_NOMEM,
 * or, where the library retries, every frame of the clean run with the same
 * bytes, keyframe flags and times; nothing may leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "counting_alloc.h"
#include "test_util.h"

static const char *resources;

/* What a run delivered: a count and an FNV-1a hash of every frame's bytes,
 * keyframe flag and time, in order. */
typedef struct frames_digest {
    long frames;
    long keyframes;
    uint64_t hash;
} frames_digest;

static void mix(frames_digest *d, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        d->hash = (d->hash ^ p[i]) * 1099511628211ull;
}

static int on_frame(void *user, const kvsp_frame *f)
{
    frames_digest *d = user;
    d->frames++;
    d->keyframes += f->keyframe != 0;
    mix(d, f->data, f->size);
    mix(d, &f->keyframe, sizeof f->keyframe);
    mix(d, &f->pts_ns, sizeof f->pts_ns);
    return KVSP_OK;
}

static int read_frames(const uint8_t *data, size_t len, frames_digest *d)
{
    d->frames = d->keyframes = 0;
    d->hash = 14695981039346656037ull;
    kvsp_visitor sink = {.user = d, .on_frame = on_frame};
    kvsp_frame_visitor *fv = kvsp_frame_visitor_create(NULL, NULL, &sink);
    kvsp_reader *r = kvsp_reader_create(NULL);
    int st = KVSP_ERR_NOMEM;
    if (fv && r) {
        kvsp_visitor v = kvsp_frame_visitor_visitor(fv);
        st = kvsp_reader_push(r, data, len, &v);
        if (st == KVSP_NEED_DATA) {
            kvsp_reader_finish(r);
            st = kvsp_reader_run(r, &v);
        }
    }
    kvsp_reader_destroy(r);
    kvsp_frame_visitor_destroy(fv);
    return st;
}

static void fail_each_allocation(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", resources, name);
    uint8_t *data;
    size_t len;
    assert_int_equal(load_file(path, &data, &len), 0);
    frames_digest clean, got;
    kvsp_set_allocator(&counting_allocator);
    counting_reset(0);
    assert_int_equal(read_frames(data, len, &clean), KVSP_DONE);
    long total = counted_allocations;
    /* P frames too, or no Block is held past its ReferenceBlock. */
    assert_true(total > 0 && clean.keyframes > 0 && clean.frames > clean.keyframes);
    for (int rest = 0; rest < 2; rest++) {
        long nomem = 0;
        for (long i = 1; i <= total; i++) {
            if (rest)
                counting_fail_from(i);
            else
                counting_reset(i);
            int st = read_frames(data, len, &got);
            if (st == KVSP_ERR_NOMEM) {
                nomem++;
            } else if (st != KVSP_DONE || rest || got.frames != clean.frames ||
                       got.hash != clean.hash) {
                print_error("%s: allocation %ld %sfailed: status %s, %ld of %ld frames%s\n", name,
                            i, rest ? "and the rest " : "", kvsp_status_name(st), got.frames,
                            clean.frames, got.hash == clean.hash ? "" : " (other frames)");
                fail();
            }
            assert_int_equal(counted_live, 0);
        }
        assert_true(nomem > 0);
    }
    kvsp_set_allocator(NULL);
    free(data);
}

static void test_blockgroups(void **state)
{
    (void)state;
    fail_each_allocation("h264_blockgroups.mkv");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return kvsp_test_skip("no resources folder given");
    resources = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blockgroups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
