/* The decoder's conversion thread (src/decoder/picture_pipeline.c): with
 * more than one thread and a conversion asked for, pictures are scaled on a
 * thread of their own. They must come out as from the single-threaded
 * decoder: the same bytes, metadata and order, on the thread that feeds
 * the decoder; a callback's error stops the run there, and a decoder
 * destroyed mid-run (an early stop) frees what it still holds. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kvsparser/decoder.h"
#include "test_util.h"

static const char *resources;

#define MAX_PICTURES 4096

typedef struct picture_facts {
    uint64_t hash; /* FNV-1a of the rows, without their padding */
    int width, height;
    int64_t pts_ns;
    uint64_t index, fragment_index;
    int keyframe;
} picture_facts;

typedef struct run_log {
    picture_facts item[MAX_PICTURES];
    size_t count;
    size_t fail_at; /* 1-based picture whose callback fails; 0: none */
    pthread_t feeder;
    int wrong_thread;
} run_log;

static int on_picture(void *user, const kvsp_picture *p)
{
    run_log *log = user;
    if (!pthread_equal(pthread_self(), log->feeder))
        log->wrong_thread++;
    assert_true(log->count < MAX_PICTURES);
    picture_facts *f = &log->item[log->count++];
    f->width = p->width;
    f->height = p->height;
    f->pts_ns = p->pts_ns;
    f->index = p->index;
    f->fragment_index = p->fragment_index;
    f->keyframe = p->keyframe;
    assert_string_equal(p->pixel_format_name, "rgb24");
    uint64_t h = 0;
    for (int y = 0; y < p->height; y++)
        h = h * 31 + fnv1a(p->planes[0] + (size_t)y * (size_t)p->strides[0], (size_t)p->width * 3);
    f->hash = h;
    return log->fail_at && log->count == log->fail_at ? KVSP_ERR_IO : KVSP_OK;
}

/* Decodes path to RGB of the given size (0: as decoded) with the given
 * threads, fed in 4 KiB chunks so that pictures come out while the input
 * is still being read; the run's status. With stop_early the decoder is
 * destroyed without kvsp_decoder_finish. */
static int decode(const char *path, int threads, int width, int height, run_log *log,
                  int stop_early, kvsp_decode_stats *stats)
{
    uint8_t *data;
    size_t len;
    assert_int_equal(load_file(path, &data, &len), 0);
    kvsp_decode_options o;
    memset(&o, 0, sizeof o);
    o.pixel_format = KVSP_PIX_RGB24;
    o.width = width;
    o.height = height;
    o.threads = threads;
    o.on_picture = on_picture;
    o.user = log;
    log->feeder = pthread_self();
    kvsp_decoder *d = kvsp_decoder_create(NULL, &o);
    assert_non_null(d);
    kvsp_reader *r = kvsp_reader_create(NULL);
    assert_non_null(r);
    kvsp_visitor v = kvsp_decoder_visitor(d);
    int st = KVSP_NEED_DATA;
    for (size_t at = 0; at < len && st == KVSP_NEED_DATA; at += 4096)
        st = kvsp_reader_push(r, data + at, len - at < 4096 ? len - at : 4096, &v);
    if (st == KVSP_NEED_DATA) {
        kvsp_reader_finish(r);
        st = kvsp_reader_run(r, &v);
    }
    if (!stop_early && st >= 0) { /* after a failed run, the caller stops there */
        int fin = kvsp_decoder_finish(d);
        if (fin < 0)
            st = fin;
    }
    *stats = *kvsp_decoder_stats(d);
    kvsp_decoder_destroy(d);
    kvsp_reader_destroy(r);
    free(data);
    return st;
}

static void assert_same_pictures(const run_log *want, const run_log *got, const char *name)
{
    if (want->count != got->count)
        print_error("%s: %zu pictures with 1 thread, %zu with the conversion thread\n", name,
                    want->count, got->count);
    assert_int_equal(got->count, want->count);
    for (size_t i = 0; i < want->count; i++) {
        const picture_facts *a = &want->item[i], *b = &got->item[i];
        if (a->hash != b->hash || a->pts_ns != b->pts_ns || a->index != b->index)
            print_error("%s: picture %zu differs: pts %lld / %lld ns, index %llu / %llu, %s\n",
                        name, i, (long long)a->pts_ns, (long long)b->pts_ns,
                        (unsigned long long)a->index, (unsigned long long)b->index,
                        a->hash == b->hash ? "same bytes" : "other bytes");
        assert_true(a->hash == b->hash);
        assert_int_equal(b->width, a->width);
        assert_int_equal(b->height, a->height);
        assert_int_equal(b->pts_ns, a->pts_ns);
        assert_int_equal(b->index, a->index);
        assert_int_equal(b->fragment_index, a->fragment_index);
        assert_int_equal(b->keyframe, a->keyframe);
    }
    assert_int_equal(got->wrong_thread, 0);
}

static void fixture_path(char *path, size_t n, const char *name)
{
    snprintf(path, n, "%s/%s", resources, name);
}

/* A resolution change (the pictures of the old decoder drained through
 * the thread before the new one's), B-frames, a mid-GOP start, several
 * fragments; scaled, one side only, and not scaled (colour only). */
static void test_same_pictures_as_one_thread(void **state)
{
    (void)state;
    static const char *const names[] = {"kvs_user_tags.mkv", "kvs_resolution_change.mkv",
                                        "kvs_bframes.mkv", "kvs_mid_gop.mkv",
                                        "h264_blockgroups.mkv"};
    static const int sizes[][2] = {{64, 48}, {0, 30}, {0, 0}};
    static run_log one, many;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            char path[1024];
            fixture_path(path, sizeof path, names[i]);
            kvsp_decode_stats s1, s2;
            memset(&one, 0, sizeof one);
            memset(&many, 0, sizeof many);
            assert_int_equal(decode(path, 1, sizes[k][0], sizes[k][1], &one, 0, &s1), KVSP_DONE);
            assert_int_equal(decode(path, 3, sizes[k][0], sizes[k][1], &many, 0, &s2), KVSP_DONE);
            assert_true(one.count > 0);
            assert_same_pictures(&one, &many, names[i]);
            assert_int_equal(s2.delivered, many.count);
            assert_int_equal(s2.decoded, s1.decoded);
        }
    }
}

/* More pictures than the thread holds at once (KVSP_PIPELINE_DEPTH), for
 * the waits on a full ring: a capture, when the folder is given. */
static void test_same_pictures_on_a_capture(void **state)
{
    const char *captures = *state;
    if (!captures)
        skip();
    char path[1024];
    snprintf(path, sizeof path, "%s/output_get_media.mkv", captures);
    static run_log one, many;
    memset(&one, 0, sizeof one);
    memset(&many, 0, sizeof many);
    kvsp_decode_stats s1, s2;
    assert_int_equal(decode(path, 1, 224, 224, &one, 0, &s1), KVSP_DONE);
    assert_int_equal(decode(path, 2, 224, 224, &many, 0, &s2), KVSP_DONE);
    assert_true(one.count >= 100);
    assert_same_pictures(&one, &many, "output_get_media.mkv");
}

/* The callback's error for picture 4 stops the run (or kvsp_decoder_finish,
 * when the thread still held it at the end of the input) with that error:
 * no picture after it is handed out, and the decoder, destroyed without
 * finishing, frees the pictures it still held (the leak checks of the
 * sanitizer builds). */
static void test_error_stops_the_run(void **state)
{
    (void)state;
    char path[1024];
    fixture_path(path, sizeof path, "kvs_user_tags.mkv");
    for (int threads = 1; threads <= 3; threads += 2) {
        static run_log log;
        memset(&log, 0, sizeof log);
        log.fail_at = 4;
        kvsp_decode_stats s;
        assert_int_equal(decode(path, threads, 64, 48, &log, 0, &s), KVSP_ERR_IO);
        assert_int_equal(log.count, 4);
        assert_int_equal(s.delivered, 4);
        assert_int_equal(log.wrong_thread, 0);
    }
}

/* Stopped before the end without an error (a consumer that has enough):
 * destroying the decoder joins its thread and frees what is queued. */
static void test_early_stop(void **state)
{
    (void)state;
    char path[1024];
    fixture_path(path, sizeof path, "kvs_user_tags.mkv");
    static run_log log;
    memset(&log, 0, sizeof log);
    kvsp_decode_stats s;
    assert_int_equal(decode(path, 3, 64, 48, &log, 1, &s), KVSP_DONE);
    assert_true(log.count <= 10);
    assert_int_equal(s.delivered, log.count);
    assert_int_equal(log.wrong_thread, 0);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return kvsp_test_skip("no resources folder given");
    resources = argv[1];
    void *captures = argc > 2 ? argv[2] : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_pictures_as_one_thread),
        cmocka_unit_test_prestate(test_same_pictures_on_a_capture, captures),
        cmocka_unit_test(test_error_stops_the_run),
        cmocka_unit_test(test_early_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
