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
    char fragment_number[KVSP_FRAGMENT_NUMBER_MAX + 1];
    int corrupt;
    double corrupt_pts;
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

static void on_corrupt(void *user, uint64_t track, double pts_ms, const char *why)
{
    seen *s = user;
    (void)why;
    assert_int_equal(track, 1);
    s->corrupt++;
    s->corrupt_pts = pts_ms;
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

/* Reads the fixture through v in one push; the reader's final status. */
static int read_fixture(const char *name, kvsp_visitor *v)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", resources, name);
    uint8_t *data;
    size_t len;
    assert_int_equal(load_file(path, &data, &len), 0);
    kvsp_reader *r = kvsp_reader_create(NULL);
    assert_non_null(r);
    int st = kvsp_reader_push(r, data, len, v);
    if (st == KVSP_NEED_DATA) {
        kvsp_reader_finish(r);
        st = kvsp_reader_run(r, v);
    }
    kvsp_reader_destroy(r);
    free(data);
    return st;
}

static int decode_fixture(const char *name, kvsp_decode_options *o, seen *s,
                          kvsp_decode_stats *stats)
{
    memset(s, 0, sizeof *s);
    s->ordered = 1;
    o->on_picture = on_picture;
    o->user = s;
    kvsp_decoder *d = kvsp_decoder_create(NULL, o);
    assert_non_null(d);
    kvsp_visitor v = kvsp_decoder_visitor(d);
    int st = read_fixture(name, &v);
    assert_int_equal(kvsp_decoder_finish(d), KVSP_OK);
    *stats = *kvsp_decoder_stats(d);
    kvsp_decoder_destroy(d);
    return st;
}

static void test_video_and_audio(void **state)
{
    (void)state;
    kvsp_decode_options o;
    memset(&o, 0, sizeof o);
    o.on_audio = on_audio;
    o.pixel_format = KVSP_PIX_RGB24;
    o.width = 80; /* height follows the aspect ratio */
    seen s;
    kvsp_decode_stats stats;
    assert_int_equal(decode_fixture("kvs_user_tags.mkv", &o, &s, &stats), KVSP_DONE);
    assert_int_equal(s.pictures, 10);
    assert_int_equal(stats.frames, 10);
    assert_int_equal(stats.decoded, 10);
    assert_int_equal(stats.delivered, 10);
    assert_int_equal(stats.skipped_to_keyframe, 0);
    assert_int_equal(stats.not_decoded, 0);
    assert_int_equal(stats.corrupt, 0);
    assert_int_equal(stats.reopened, 0);
    assert_int_equal(stats.audio_frames, 47);
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
    kvsp_decode_options o;
    memset(&o, 0, sizeof o);
    o.sampling = KVSP_SAMPLE_KEYFRAMES;
    seen s;
    kvsp_decode_stats stats;
    assert_int_equal(decode_fixture("kvs_resolution_change.mkv", &o, &s, &stats), KVSP_DONE);
    assert_int_equal(s.pictures, 4);
    assert_int_equal(s.keyframes, 4);
    assert_int_equal(stats.frames, 40);
    assert_int_equal(stats.not_decoded, 36);
    assert_int_equal(stats.decoded, 4);
    assert_int_equal(stats.delivered, 4);
    assert_int_equal(stats.skipped_to_keyframe, 0);
    assert_int_equal(stats.corrupt, 0);
    assert_int_equal(stats.reopened, 1);
    assert_int_equal(s.width, 320); /* the last picture, after the change */

    memset(&o, 0, sizeof o);
    o.sampling = KVSP_SAMPLE_EVERY_N;
    o.every_n = 7;
    assert_int_equal(decode_fixture("kvs_restart_at_zero.mkv", &o, &s, &stats), KVSP_DONE);
    assert_int_equal(s.pictures, 5); /* pictures 0, 7, 14, 21, 28 of 30 */
    assert_int_equal(stats.frames, 30);
    assert_int_equal(stats.decoded, 30);
    assert_int_equal(stats.delivered, 5);

    memset(&o, 0, sizeof o);
    o.sampling = KVSP_SAMPLE_INTERVAL;
    assert_null(kvsp_decoder_create(NULL, &o)); /* interval_ms missing */
    o.interval_ms = 250;
    o.on_corrupt = on_corrupt;
    assert_int_equal(decode_fixture("kvs_corrupt_frame.mkv", &o, &s, &stats), KVSP_DONE);
    /* 3 s at 10 fps, one per 250 ms: 0, 300, 500, 800, ... 2800 ms; the
     * damaged frame (the 15th, 1400 ms) is marked corrupt by FFmpeg too
     * (frames_test.py) and is not one of them */
    assert_int_equal(s.pictures, 12);
    assert_int_equal(stats.frames, 30);
    assert_int_equal(stats.decoded, 30);
    assert_int_equal(stats.delivered, 12);
    assert_int_equal(stats.corrupt, 1);
    assert_int_equal(s.corrupt, 1);
    assert_true(s.corrupt_pts == 1400.0);
}

/* ---- each picture carries the metadata of the frame it was decoded from ---- */

#define MAX_FRAMES 256

typedef struct frame_facts {
    uint64_t track, fragment_index, index;
    int keyframe, has_number;
    uint32_t present;
    int64_t pts_ns;
    double pts_ms, producer_ms, server_ms;
    char fragment_number[KVSP_FRAGMENT_NUMBER_MAX + 1];
} frame_facts;

typedef struct facts_log {
    frame_facts item[MAX_FRAMES];
    size_t count;
    uint64_t video_track;
    /* the frame visitor's side: what the decoder's documented rules make of it */
    size_t expected_skipped, reopens;
    int waiting_keyframe;
    const uint8_t *codec_private;
    size_t codec_private_size;
} facts_log;

static frame_facts *next_facts(facts_log *log)
{
    assert_true(log->count < MAX_FRAMES);
    frame_facts *f = &log->item[log->count++];
    memset(f, 0, sizeof *f);
    return f;
}

static void set_number(frame_facts *f, const char *number)
{
    f->has_number = number != NULL;
    if (number) {
        assert_true(strlen(number) < sizeof f->fragment_number);
        snprintf(f->fragment_number, sizeof f->fragment_number, "%s", number);
    }
}

/* Video frames from the frame visitor alone, in stream order. A picture is
 * expected of every frame but those before the first keyframe and before
 * the first keyframe after new codec private data (the decoder reopens). */
static int on_video_frame(void *user, const kvsp_frame *fr)
{
    facts_log *log = user;
    if (!fr->track_info || fr->track_info->type != KVSP_TRACK_VIDEO)
        return KVSP_OK;
    if (!log->video_track)
        log->video_track = fr->track;
    if (fr->track != log->video_track)
        return KVSP_OK;
    const kvsp_track *t = fr->track_info;
    int first = !log->count && !log->expected_skipped;
    if (first || t->codec_private_size != log->codec_private_size ||
        (t->codec_private_size &&
         memcmp(t->codec_private, log->codec_private, t->codec_private_size) != 0)) {
        log->reopens += !first;
        log->waiting_keyframe = 1;
        free((void *)log->codec_private);
        uint8_t *copy = malloc(t->codec_private_size ? t->codec_private_size : 1);
        assert_non_null(copy);
        if (t->codec_private_size)
            memcpy(copy, t->codec_private, t->codec_private_size);
        log->codec_private = copy;
        log->codec_private_size = t->codec_private_size;
    }
    if (log->waiting_keyframe && !fr->keyframe) {
        log->expected_skipped++;
        return KVSP_OK;
    }
    log->waiting_keyframe = 0;
    frame_facts *f = next_facts(log);
    f->track = fr->track;
    f->fragment_index = fr->fragment ? fr->fragment->index : 0;
    set_number(f, fr->fragment ? fr->fragment->fragment_number : NULL);
    f->keyframe = fr->keyframe;
    f->present = fr->present;
    f->pts_ns = fr->pts_ns;
    f->pts_ms = fr->pts_ms;
    f->producer_ms = fr->producer_timestamp_ms;
    f->server_ms = fr->server_timestamp_ms;
    f->index = log->count - 1;
    return KVSP_OK;
}

static int on_picture_facts(void *user, const kvsp_picture *p)
{
    facts_log *log = user;
    frame_facts *f = next_facts(log);
    f->track = p->track;
    f->fragment_index = p->fragment_index;
    set_number(f, p->fragment_number);
    f->keyframe = p->keyframe;
    f->present = p->present;
    f->pts_ns = p->pts_ns;
    f->pts_ms = p->pts_ms;
    f->producer_ms = p->producer_timestamp_ms;
    f->server_ms = p->server_timestamp_ms;
    f->index = p->index;
    return KVSP_OK;
}

static void assert_same_facts(const frame_facts *want, const frame_facts *got, size_t i,
                              const char *name, int threads)
{
    if (want->pts_ns != got->pts_ns || want->fragment_index != got->fragment_index ||
        want->keyframe != got->keyframe || want->index != got->index)
        print_error(
            "%s, %d thread(s), picture %zu: pts %lld ns, fragment %llu, keyframe %d, index %llu; its frame: "
            "pts %lld ns, fragment %llu, keyframe %d, index %llu\n",
            name, threads, i, (long long)got->pts_ns, (unsigned long long)got->fragment_index,
            got->keyframe, (unsigned long long)got->index, (long long)want->pts_ns,
            (unsigned long long)want->fragment_index, want->keyframe,
            (unsigned long long)want->index);
    assert_int_equal(got->pts_ns, want->pts_ns);
    assert_true(got->pts_ms == want->pts_ms);
    assert_true(got->producer_ms == want->producer_ms);
    assert_true(got->server_ms == want->server_ms);
    assert_int_equal(got->fragment_index, want->fragment_index);
    assert_int_equal(got->has_number, want->has_number);
    assert_string_equal(got->fragment_number, want->fragment_number);
    assert_int_equal(got->keyframe, want->keyframe);
    assert_int_equal(got->present, want->present);
    assert_int_equal(got->track, want->track);
    assert_int_equal(got->index, want->index);
}

/* None of the fixtures has B-frames, so pictures come out in frame order;
 * with 4 frame threads libavcodec holds 3 frames back, and the drain at the
 * end hands out the last ones after their packets were all sent: metadata
 * of the latest packet is then that of a later frame. Counts are exact. */
static void check_metadata(const char *name, int threads)
{
    static facts_log frames, pictures;
    memset(&frames, 0, sizeof frames);
    memset(&pictures, 0, sizeof pictures);
    kvsp_visitor sink;
    memset(&sink, 0, sizeof sink);
    sink.user = &frames;
    sink.on_frame = on_video_frame;
    kvsp_frame_visitor *fv = kvsp_frame_visitor_create(NULL, NULL, &sink);
    assert_non_null(fv);
    kvsp_visitor v = kvsp_frame_visitor_visitor(fv);
    assert_int_equal(read_fixture(name, &v), KVSP_DONE);
    kvsp_frame_visitor_destroy(fv);
    free((void *)frames.codec_private);
    assert_true(frames.count > (size_t)threads);

    kvsp_decode_options o;
    memset(&o, 0, sizeof o);
    o.threads = threads;
    o.on_picture = on_picture_facts;
    o.user = &pictures;
    kvsp_decoder *d = kvsp_decoder_create(NULL, &o);
    assert_non_null(d);
    v = kvsp_decoder_visitor(d);
    assert_int_equal(read_fixture(name, &v), KVSP_DONE);
    assert_int_equal(kvsp_decoder_finish(d), KVSP_OK);
    const kvsp_decode_stats *st = kvsp_decoder_stats(d);
    assert_int_equal(st->frames, frames.count + frames.expected_skipped);
    assert_int_equal(st->skipped_to_keyframe, frames.expected_skipped);
    assert_int_equal(st->decoded, frames.count);
    assert_int_equal(st->delivered, frames.count);
    assert_int_equal(st->not_decoded, 0);
    assert_int_equal(st->corrupt, 0);
    assert_int_equal(st->reopened, frames.reopens);
    assert_int_equal(st->audio_frames, 0); /* not asked for */
    kvsp_decoder_destroy(d);

    assert_int_equal(pictures.count, frames.count);
    for (size_t i = 0; i < frames.count; i++)
        assert_same_facts(&frames.item[i], &pictures.item[i], i, name, threads);
}

static void test_metadata_of_the_decoded_frame(void **state)
{
    (void)state;
    /* two fragments with audio; a resolution change (drain and reopen);
     * a mid-GOP start; timecodes restarting at zero; BlockGroups */
    static const char *const names[] = {"kvs_user_tags.mkv", "kvs_resolution_change.mkv",
                                        "kvs_mid_gop.mkv", "kvs_restart_at_zero.mkv",
                                        "h264_blockgroups.mkv"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        check_metadata(names[i], 1);
        check_metadata(names[i], 4);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return kvsp_test_skip("no resources folder given");
    resources = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_video_and_audio),
        cmocka_unit_test(test_sampling),
        cmocka_unit_test(test_metadata_of_the_decoded_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
