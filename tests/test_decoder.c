/* The decoder library: pictures carry their frame's metadata, audio decodes
 * on request, sampling and sizes apply, and bad options are refused.
 * (Bit-exactness against FFmpeg is frames_test.py's.) */
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

typedef struct seen {
    int pictures, audio, audio_rate, audio_channels, keyframes;
    int width, height;
    double last_pts;
    int ordered;
    char fragment_number[64];
} seen;

static int on_picture(void *user, const kvsp_picture *p)
{
    seen *s = user;
    if (s->pictures && p->pts_ms <= s->last_pts)
        s->ordered = 0;
    s->last_pts = p->pts_ms;
    s->pictures++;
    s->keyframes += p->keyframe;
    s->width = p->width;
    s->height = p->height;
    if (p->fragment_number)
        snprintf(s->fragment_number, sizeof s->fragment_number, "%s", p->fragment_number);
    assert_non_null(p->planes[0]);
    assert_true(p->strides[0] >= p->width);
    return KVSP_OK;
}

static int on_audio(void *user, const kvsp_audio *a)
{
    seen *s = user;
    s->audio++;
    s->audio_rate = a->sample_rate;
    s->audio_channels = a->channels;
    assert_true(a->samples > 0);
    return KVSP_OK;
}

static int decode_fixture(const char *name, kvsp_decoder_options *o, seen *s, kvsp_decoder_stats *stats)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", resources, name);
    uint8_t *data;
    size_t len;
    assert_int_equal(load_file(path, &data, &len), 0);
    memset(s, 0, sizeof *s);
    s->ordered = 1;
    o->on_picture = on_picture;
    o->user = s;
    kvsp_decoder *d = kvsp_decoder_create(NULL, o);
    assert_non_null(d);
    kvsp_visitor v = kvsp_decoder_visitor(d);
    kvsp_reader *r = kvsp_reader_create(NULL);
    int st = kvsp_reader_push(r, data, len, &v);
    if (st == KVSP_NEED_DATA) {
        kvsp_reader_finish(r);
        st = kvsp_reader_run(r, &v);
    }
    assert_int_equal(kvsp_decoder_finish(d), KVSP_OK);
    *stats = *kvsp_decoder_get_stats(d);
    kvsp_reader_destroy(r);
    kvsp_decoder_destroy(d);
    free(data);
    return st;
}

static void test_video_and_audio(void **state)
{
    (void)state;
    kvsp_decoder_options o;
    kvsp_decoder_options_init(&o);
    o.on_audio = on_audio;
    o.pixel_format = KVSP_PIX_RGB24;
    o.width = 80; /* height follows the aspect ratio */
    seen s;
    kvsp_decoder_stats stats;
    assert_int_equal(decode_fixture("kvs_user_tags.mkv", &o, &s, &stats), KVSP_DONE);
    assert_int_equal(s.pictures, 10);
    assert_int_equal(stats.frames, 10);
    assert_true(s.ordered);
    assert_int_equal(s.width, 80);
    assert_int_equal(s.height, 48); /* 160x96 source */
    assert_int_equal(s.audio, 47);  /* 24 + 23 laced AAC frames */
    assert_int_equal(s.audio_rate, 48000);
    assert_int_equal(s.audio_channels, 2);
    assert_string_equal(s.fragment_number, "91343852333181432390004951760157141521099596497");
}

static void test_sampling(void **state)
{
    (void)state;
    kvsp_decoder_options o;
    kvsp_decoder_options_init(&o);
    o.sampling = KVSP_SAMPLE_KEYFRAMES;
    seen s;
    kvsp_decoder_stats stats;
    assert_int_equal(decode_fixture("kvs_resolution_change.mkv", &o, &s, &stats), KVSP_DONE);
    assert_int_equal(s.pictures, 4);
    assert_int_equal(s.keyframes, 4);
    assert_int_equal(stats.not_decoded, 36);
    assert_int_equal(stats.reopened, 1);
    assert_int_equal(s.width, 320); /* the last picture, after the change */

    kvsp_decoder_options_init(&o);
    o.sampling = KVSP_SAMPLE_EVERY_N;
    o.every_n = 7;
    assert_int_equal(decode_fixture("kvs_restart_at_zero.mkv", &o, &s, &stats), KVSP_DONE);
    assert_int_equal(s.pictures, 5); /* pictures 0, 7, 14, 21, 28 of 30 */
    assert_int_equal(stats.decoded, 30);

    kvsp_decoder_options_init(&o);
    o.sampling = KVSP_SAMPLE_INTERVAL;
    assert_null(kvsp_decoder_create(NULL, &o)); /* interval_ms missing */
    o.interval_ms = 250;
    assert_int_equal(decode_fixture("kvs_corrupt_frame.mkv", &o, &s, &stats), KVSP_DONE);
    assert_true(s.pictures >= 11 && s.pictures <= 12); /* 3 s at 10 fps, one per 250 ms */
    assert_true(stats.corrupt <= 1);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return kvsp_test_skip("no resources folder given");
    resources = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_video_and_audio),
        cmocka_unit_test(test_sampling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
