/* The audio sink of the library: bad options are refused; outputs, gaps and
 * overlaps come through the callbacks as documented; the PCM is the same
 * whatever the input chunking; a callback's error stops the run; f32 output
 * is the s16 samples scaled. (Samples against FFmpeg and the fixtures'
 * source PCM: audio_test.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kvsparser/audio.h"
#include "test_util.h"

static const char *resources;

#define MAX_OUT 8

typedef struct record {
    int outputs, ended;
    uint64_t samples[MAX_OUT];
    uint64_t index[MAX_OUT];
    uint64_t track[MAX_OUT];
    char names[MAX_OUT][32];
    uint8_t *pcm[MAX_OUT];
    size_t pcm_size[MAX_OUT];
    int gaps, overlaps;
    uint64_t gap_position, gap_samples, overlap_samples;
    int fail_pcm; /* on_pcm fails */
} record;

static int find(record *r, const kvsp_audio_output *out)
{
    for (int i = r->outputs - 1; i >= 0; i--)
        if (r->track[i] == out->track && r->index[i] == out->index)
            return i;
    fail_msg("callback for an output that was not started");
    return -1;
}

static int on_start(void *user, const kvsp_audio_output *out)
{
    record *r = user;
    assert_true(r->outputs < MAX_OUT);
    int i = r->outputs++;
    r->track[i] = out->track;
    r->index[i] = out->index;
    snprintf(r->names[i], sizeof r->names[i], "%s", out->track_name ? out->track_name : "");
    assert_int_equal(out->samples, 0);
    return KVSP_OK;
}

static int on_pcm(void *user, const kvsp_audio_output *out, const uint8_t *data, size_t samples)
{
    record *r = user;
    if (r->fail_pcm)
        return KVSP_ERR_IO;
    int i = find(r, out);
    size_t bytes = samples * (size_t)out->channels * (size_t)out->bytes_per_sample;
    r->pcm[i] = realloc(r->pcm[i], r->pcm_size[i] + bytes);
    assert_non_null(r->pcm[i]);
    memcpy(r->pcm[i] + r->pcm_size[i], data, bytes);
    r->pcm_size[i] += bytes;
    return KVSP_OK;
}

static int on_gap(void *user, const kvsp_audio_output *out, const kvsp_audio_gap *g)
{
    record *r = user;
    (void)find(r, out);
    if (g->overlap) {
        r->overlaps++;
        r->overlap_samples += g->samples;
    } else {
        r->gaps++;
        r->gap_position = g->position;
        r->gap_samples += g->samples;
    }
    return KVSP_OK;
}

static int on_end(void *user, const kvsp_audio_output *out)
{
    record *r = user;
    int i = find(r, out);
    r->samples[i] = out->samples;
    r->ended++;
    return KVSP_OK;
}

static void free_record(record *r)
{
    for (int i = 0; i < MAX_OUT; i++)
        free(r->pcm[i]);
}

/* Runs the sink over an audio fixture fed in chunks of chunk bytes (0: all
 * at once); the run's status. */
static int run_sink(const char *name, kvsp_audio_options *o, record *r, size_t chunk)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/audio/%s", resources, name);
    uint8_t *data;
    size_t len;
    assert_int_equal(load_file(path, &data, &len), 0);
    o->on_start = on_start;
    o->on_pcm = on_pcm;
    o->on_gap = on_gap;
    o->on_end = on_end;
    o->user = r;
    kvsp_audio_sink *s = kvsp_audio_sink_create(NULL, o);
    assert_non_null(s);
    kvsp_visitor v = kvsp_audio_sink_visitor(s);
    kvsp_reader *rd = kvsp_reader_create(NULL);
    assert_non_null(rd);
    int st = KVSP_NEED_DATA;
    size_t step = chunk ? chunk : len;
    for (size_t at = 0; at < len && st == KVSP_NEED_DATA; at += step)
        st = kvsp_reader_push(rd, data + at, len - at < step ? len - at : step, &v);
    if (st == KVSP_NEED_DATA) {
        kvsp_reader_finish(rd);
        st = kvsp_reader_run(rd, &v);
    }
    int fin = kvsp_audio_sink_finish(s);
    if (st >= 0 || st == KVSP_DONE)
        st = fin < 0 ? fin : KVSP_OK;
    kvsp_reader_destroy(rd);
    kvsp_audio_sink_destroy(s);
    free(data);
    return st;
}

static void test_bad_options(void **state)
{
    (void)state;
    kvsp_audio_options o;
    memset(&o, 0, sizeof o);
    o.sample_rate = -1;
    assert_null(kvsp_audio_sink_create(NULL, &o));
    memset(&o, 0, sizeof o);
    o.channels = 65;
    assert_null(kvsp_audio_sink_create(NULL, &o));
    memset(&o, 0, sizeof o);
    o.sample_format = (kvsp_audio_sample_format)7;
    assert_null(kvsp_audio_sink_create(NULL, &o));
    kvsp_audio_codec_override ov;
    memset(&ov, 0, sizeof ov);
    memset(&o, 0, sizeof o);
    o.overrides = &ov;
    o.override_count = 1; /* no codec_id */
    assert_null(kvsp_audio_sink_create(NULL, &o));
    kvsp_audio_sink *s = kvsp_audio_sink_create(NULL, NULL);
    assert_non_null(s);
    assert_int_equal(kvsp_audio_sink_error(s), KVSP_OK);
    assert_string_equal(kvsp_audio_sink_error_message(s), "");
    kvsp_audio_sink_destroy(s);
}

static void test_gaps_and_outputs(void **state)
{
    (void)state;
    kvsp_audio_options o;
    memset(&o, 0, sizeof o);
    o.track = 1;
    record r;
    memset(&r, 0, sizeof r);
    assert_int_equal(run_sink("pcm_gaps.mkv", &o, &r, 0), KVSP_OK);
    /* 0-450 ms with a 60 ms gap and a 10 ms overlap, then 200 ms after 3 s */
    assert_int_equal(r.outputs, 2);
    assert_int_equal(r.ended, 2);
    assert_string_equal(r.names[0], "gappy");
    assert_int_equal(r.samples[0], 3600);
    assert_int_equal(r.samples[1], 1600);
    assert_int_equal(r.index[1], 1);
    assert_int_equal(r.pcm_size[0], 2 * 3600);
    assert_int_equal(r.gaps, 1);
    assert_int_equal(r.gap_position, 1600);
    assert_int_equal(r.gap_samples, 480);
    assert_int_equal(r.overlaps, 1);
    assert_int_equal(r.overlap_samples, 80);
    for (size_t i = 2 * 1600; i < 2 * 2080; i++)
        assert_int_equal(r.pcm[0][i], 0);
    free_record(&r);
}

static void test_chunking_invariance(void **state)
{
    (void)state;
    static const char *const names[] = {"pcm_gaps.mkv", "connect_two_calls.mkv", "aac_track.mkv"};
    static const size_t chunks[] = {1, 7, 64, 1000};
    for (size_t n = 0; n < 3; n++) {
        kvsp_audio_options o;
        memset(&o, 0, sizeof o);
        record whole;
        memset(&whole, 0, sizeof whole);
        assert_int_equal(run_sink(names[n], &o, &whole, 0), KVSP_OK);
        assert_true(whole.outputs > 0);
        for (size_t c = 0; c < 4; c++) {
            record part;
            memset(&part, 0, sizeof part);
            memset(&o, 0, sizeof o);
            assert_int_equal(run_sink(names[n], &o, &part, chunks[c]), KVSP_OK);
            assert_int_equal(part.outputs, whole.outputs);
            for (int i = 0; i < whole.outputs; i++) {
                assert_int_equal(part.pcm_size[i], whole.pcm_size[i]);
                assert_memory_equal(part.pcm[i], whole.pcm[i], whole.pcm_size[i]);
            }
            free_record(&part);
        }
        free_record(&whole);
    }
}

static void test_callback_error_stops(void **state)
{
    (void)state;
    kvsp_audio_options o;
    memset(&o, 0, sizeof o);
    record r;
    memset(&r, 0, sizeof r);
    r.fail_pcm = 1;
    assert_int_equal(run_sink("pcm_gaps.mkv", &o, &r, 0), KVSP_ERR_IO);
    free_record(&r);
}

static void test_f32_is_s16_scaled(void **state)
{
    (void)state;
    kvsp_audio_options o;
    memset(&o, 0, sizeof o);
    o.track = 2;
    record s16;
    memset(&s16, 0, sizeof s16);
    assert_int_equal(run_sink("pcm_gaps.mkv", &o, &s16, 0), KVSP_OK);
    o.sample_format = KVSP_AUDIO_F32;
    record f32;
    memset(&f32, 0, sizeof f32);
    assert_int_equal(run_sink("pcm_gaps.mkv", &o, &f32, 0), KVSP_OK);
    assert_int_equal(f32.pcm_size[0], 2 * s16.pcm_size[0]);
    for (size_t i = 0; i < s16.pcm_size[0] / 2; i++) {
        int16_t a;
        float b;
        memcpy(&a, s16.pcm[0] + 2 * i, 2);
        memcpy(&b, f32.pcm[0] + 4 * i, 4);
        assert_true(b * 32768.0f == (float)a);
    }
    free_record(&s16);
    free_record(&f32);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return kvsp_test_skip("no resources folder given");
    resources = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options),         cmocka_unit_test(test_gaps_and_outputs),
        cmocka_unit_test(test_chunking_invariance), cmocka_unit_test(test_callback_error_stops),
        cmocka_unit_test(test_f32_is_s16_scaled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
