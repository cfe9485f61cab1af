/* The merger through the library API: output into memory, read back with
 * the reader; the same bytes whether or not another visitor pauses the run;
 * write errors stop the run. (Playability is checked with mkvmerge, mkvinfo
 * and ffmpeg in merge_test.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ebml_builder.h"
#include "reader_events.h"
#include "test_util.h"

static const char *resources;

typedef struct memory_file {
    uint8_t *data;
    size_t len, cap;
    int writes;
    int fail_at; /* the nth write fails; 0: never */
} memory_file;

static int mem_write(void *user, const void *data, size_t len)
{
    memory_file *f = user;
    if (f->fail_at && ++f->writes == f->fail_at)
        return KVSP_ERR_IO;
    if (f->len + len > f->cap) {
        f->cap = (f->len + len) * 2;
        f->data = realloc(f->data, f->cap);
        assert_non_null(f->data);
    }
    memcpy(f->data + f->len, data, len);
    f->len += len;
    return KVSP_OK;
}

static int mem_patch(void *user, uint64_t offset, const void *data, size_t len)
{
    memory_file *f = user;
    assert_true(offset + len <= f->len);
    memcpy(f->data + offset, data, len);
    return KVSP_OK;
}

typedef struct pauser {
    int calls;
} pauser;

static int pause_every_third(void *user, const kvsp_event *ev)
{
    (void)ev;
    pauser *p = user;
    return ++p->calls % 3 == 0 ? KVSP_PAUSED : KVSP_OK;
}

/* Merges the file in chunks; with pausing, a visitor before the merger
 * pauses every third event. Returns the reader status. */
static int merge_file(const uint8_t *data, size_t len, memory_file *out, int seekable, int pausing,
                      size_t chunk, kvsp_merge_stats *stats)
{
    kvsp_merge_output o = {out, mem_write, seekable ? mem_patch : NULL, NULL};
    kvsp_merger *m = kvsp_merger_create(NULL, NULL, &o);
    pauser p = {0};
    kvsp_visitor kids[2] = {
        {.user = &p, .on_start = pause_every_third, .on_data = pause_every_third},
        kvsp_merger_visitor(m)};
    kvsp_composite *c = kvsp_composite_create(kids + (pausing ? 0 : 1), pausing ? 2 : 1);
    kvsp_visitor v = kvsp_composite_visitor(c);
    kvsp_reader *r = kvsp_reader_create(NULL);
    int st = KVSP_NEED_DATA;
    for (size_t pos = 0; pos < len && st == KVSP_NEED_DATA; pos += chunk) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        for (st = kvsp_reader_push(r, data + pos, n, &v); st == KVSP_PAUSED;)
            st = kvsp_reader_push(r, NULL, 0, &v);
    }
    if (st == KVSP_NEED_DATA) {
        kvsp_reader_finish(r);
        while ((st = kvsp_reader_run(r, &v)) == KVSP_PAUSED)
            ;
    }
    int fin = kvsp_merger_finish(m);
    if (stats)
        *stats = *kvsp_merger_stats(m);
    kvsp_reader_destroy(r);
    kvsp_composite_destroy(c);
    kvsp_merger_destroy(m);
    return st == KVSP_DONE ? fin : st;
}

static void load_fixture(const char *name, uint8_t **data, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", resources, name);
    assert_int_equal(load_file(path, data, len), 0);
}

static void test_seekable_output(void **state)
{
    (void)state;
    uint8_t *data;
    size_t len;
    load_fixture("kvs_unknown_size_8byte.mkv", &data, &len);
    memory_file out = {0};
    kvsp_merge_stats stats;
    assert_int_equal(merge_file(data, len, &out, 1, 0, len, &stats), KVSP_OK);
    assert_int_equal(stats.fragments, 3);
    assert_int_equal(stats.frames, 15);
    assert_int_equal(stats.segments, 1);

    event_list ev;
    assert_int_equal(collect_events(out.data, out.len, NULL, 0, &ev), KVSP_DONE);
    assert_int_equal(count_events(&ev, KVSP_EV_START, KVSP_ID_EBML), 1);
    int seg = find_event(&ev, KVSP_EV_START, KVSP_ID_SEGMENT, 0);
    assert_true(seg >= 0);
    assert_int_equal(ev.items[seg].offset + ev.items[seg].header_size + ev.items[seg].size,
                     out.len);
    assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK), 15);
    assert_int_equal(count_events(&ev, KVSP_EV_START, KVSP_ID_CUE_POINT), 3);
    assert_int_equal(count_events(&ev, KVSP_EV_START, KVSP_ID_TAGS), 3);
    int duration = find_event(&ev, KVSP_EV_DATA, KVSP_ID_DURATION, 0);
    assert_true(duration >= 0 && ev.items[duration].f > 0);
    event_list_free(&ev);

    /* Chunking and pausing change nothing. */
    for (size_t chunk = 1; chunk <= 64; chunk += 21) {
        memory_file again = {0};
        assert_int_equal(merge_file(data, len, &again, 1, 1, chunk, NULL), KVSP_OK);
        assert_int_equal(again.len, out.len);
        assert_memory_equal(again.data, out.data, out.len);
        free(again.data);
    }
    free(out.data);
    free(data);
}

static void test_live_output(void **state)
{
    (void)state;
    uint8_t *data;
    size_t len;
    load_fixture("kvs_user_tags.mkv", &data, &len);
    memory_file out = {0};
    assert_int_equal(merge_file(data, len, &out, 0, 0, 4096, NULL), KVSP_OK);
    event_list ev;
    assert_int_equal(collect_events(out.data, out.len, NULL, 0, &ev), KVSP_DONE);
    int seg = find_event(&ev, KVSP_EV_START, KVSP_ID_SEGMENT, 0);
    assert_int_equal(ev.items[seg].size, KVSP_SIZE_UNKNOWN);
    assert_int_equal(count_events(&ev, KVSP_EV_START, KVSP_ID_CUES), 0);
    assert_int_equal(count_events(&ev, KVSP_EV_START, KVSP_ID_SEEKHEAD), 0);
    event_list in;
    collect_events(data, len, NULL, 0, &in);
    assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK),
                     count_events(&in, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK));
    event_list_free(&in);
    event_list_free(&ev);
    free(out.data);
    free(data);
}

static void test_write_error(void **state)
{
    (void)state;
    uint8_t *data;
    size_t len;
    load_fixture("kvs_unknown_size_8byte.mkv", &data, &len);
    memory_file out = {0};
    out.fail_at = 2; /* the first cluster */
    assert_int_equal(merge_file(data, len, &out, 1, 0, len, NULL), KVSP_ERR_IO);
    free(out.data);
    free(data);
}

/* Found by fuzz_merger: an EBML header field inside a known-size Cluster was
 * copied into the live-style (unknown-size) output Cluster, where it ends the
 * Cluster and Segment and the output no longer reads back. */
static void test_misplaced_cluster_child(void **state)
{
    (void)state;
    ebml_buf b = {0};
    eb_ebml_header(&b);
    eb_begin_unknown(&b, KVSP_ID_SEGMENT, 8);
    size_t cluster = eb_begin(&b, KVSP_ID_CLUSTER);
    eb_uint(&b, KVSP_ID_CLUSTER_TIMECODE, 0);
    eb_simple_block(&b, 0, 0x80, 10, 1);
    eb_uint(&b, 0x4287, 4); /* DocTypeVersion: belongs in the EBML header */
    eb_simple_block(&b, 33, 0, 10, 2);
    eb_end(&b, cluster);
    for (int seekable = 0; seekable < 2; seekable++) {
        memory_file out = {0};
        kvsp_merge_stats stats;
        assert_int_equal(merge_file(b.data, b.len, &out, seekable, 0, b.len, &stats), KVSP_OK);
        assert_int_equal(stats.frames, 2);
        event_list ev;
        assert_int_equal(collect_events(out.data, out.len, NULL, 0, &ev), KVSP_DONE);
        assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK), 2);
        assert_int_equal(count_events(&ev, KVSP_EV_DATA, 0x4287), 1); /* only the header's own */
        event_list_free(&ev);
        free(out.data);
    }
    eb_free(&b);
}

/* The start of one Segment: Info (1 ms ticks), a video track 1 with
 * DefaultDuration 40 ms and an audio track 2 with 21,333,333 ns; the
 * caller writes the Clusters. */
static void two_track_segment(ebml_buf *b)
{
    eb_ebml_header(b);
    eb_begin_unknown(b, KVSP_ID_SEGMENT, 8);
    size_t info = eb_begin(b, KVSP_ID_INFO);
    eb_uint(b, KVSP_ID_TIMECODE_SCALE, 1000000);
    eb_end(b, info);
    size_t tracks = eb_begin(b, KVSP_ID_TRACKS);
    const uint64_t types[2] = {1, 2}, durations[2] = {40000000, 21333333};
    const char *codecs[2] = {"V_MPEG4/ISO/AVC", "A_AAC"};
    for (int i = 0; i < 2; i++) {
        size_t entry = eb_begin(b, KVSP_ID_TRACK_ENTRY);
        eb_uint(b, KVSP_ID_TRACK_NUMBER, (uint64_t)i + 1);
        eb_uint(b, KVSP_ID_TRACK_TYPE, types[i]);
        eb_string(b, KVSP_ID_CODEC_ID, codecs[i]);
        eb_uint(b, KVSP_ID_DEFAULT_DURATION, durations[i]);
        eb_end(b, entry);
    }
    eb_end(b, tracks);
}

static size_t begin_cluster(ebml_buf *b, uint64_t timestamp)
{
    size_t cluster = eb_begin(b, KVSP_ID_CLUSTER);
    eb_uint(b, KVSP_ID_CLUSTER_TIMECODE, timestamp);
    return cluster;
}

/* A SimpleBlock of track 2 (a keyframe) with `frames` frames of 3 bytes in
 * fixed-size lacing. */
static void laced_audio_block(ebml_buf *b, int16_t timecode, uint8_t frames)
{
    eb_id(b, KVSP_ID_SIMPLEBLOCK);
    eb_size(b, 5 + 3u * frames, 0);
    uint8_t hdr[5] = {0x82, (uint8_t)((uint16_t)timecode >> 8), (uint8_t)timecode, 0x84,
                      (uint8_t)(frames - 1)};
    eb_bytes(b, hdr, sizeof hdr);
    for (unsigned i = 0; i < 3u * frames; i++)
        eb_byte(b, 0x11);
}

/* A BlockGroup of track 1 at timecode with a BlockDuration of `duration`
 * ticks; referenced: it has a ReferenceBlock (to the frame 40 ms before). */
static void video_group(ebml_buf *b, int16_t timecode, uint64_t duration, int referenced)
{
    size_t group = eb_begin(b, KVSP_ID_BLOCKGROUP);
    eb_id(b, KVSP_ID_BLOCK);
    eb_size(b, 4 + 5, 0);
    uint8_t hdr[4] = {0x81, (uint8_t)((uint16_t)timecode >> 8), (uint8_t)timecode, 0};
    eb_bytes(b, hdr, sizeof hdr);
    for (int i = 0; i < 5; i++)
        eb_byte(b, 0x22);
    eb_uint(b, KVSP_ID_BLOCK_DURATION, duration);
    if (referenced) {
        eb_id(b, KVSP_ID_REFERENCE_BLOCK);
        eb_size(b, 1, 0);
        eb_byte(b, 0xD8); /* -40 */
    }
    eb_end(b, group);
}

static double merged_duration(const ebml_buf *in)
{
    memory_file out = {0};
    assert_int_equal(merge_file(in->data, in->len, &out, 1, 0, in->len, NULL), KVSP_OK);
    event_list ev;
    assert_int_equal(collect_events(out.data, out.len, NULL, 0, &ev), KVSP_DONE);
    int at = find_event(&ev, KVSP_EV_DATA, KVSP_ID_DURATION, 0);
    assert_true(at >= 0);
    double duration = ev.items[at].f;
    event_list_free(&ev);
    free(out.data);
    return duration;
}

/* Duration is the end of the last frame, in ticks: a laced block lasts all
 * its frames (5 x 21,333,333 ns = 106 whole ticks, not one frame's 21), a
 * BlockGroup its BlockDuration (7 ticks, not the DefaultDuration of 40). */
static void test_duration_ends_with_last_frame(void **state)
{
    (void)state;
    ebml_buf laced = {0};
    two_track_segment(&laced);
    size_t cluster = begin_cluster(&laced, 0);
    eb_simple_block(&laced, 0, 0x80, 10, 1);
    laced_audio_block(&laced, 0, 4);
    eb_simple_block(&laced, 80, 0, 10, 2);
    laced_audio_block(&laced, 100, 5);
    eb_end(&laced, cluster);
    double duration = merged_duration(&laced);
    assert_int_equal((long long)duration, 206); /* 100 + 106; the video ends at 120 */
    assert_true(duration == 206.0);
    eb_free(&laced);

    ebml_buf groups = {0};
    two_track_segment(&groups);
    cluster = begin_cluster(&groups, 0);
    eb_simple_block(&groups, 0, 0x80, 10, 1);
    laced_audio_block(&groups, 0, 2);
    video_group(&groups, 40, 40, 1);
    video_group(&groups, 80, 7, 1);
    eb_end(&groups, cluster);
    duration = merged_duration(&groups);
    assert_int_equal((long long)duration, 87); /* 80 + 7; the audio ends at 42 */
    assert_true(duration == 87.0);
    eb_free(&groups);
}

/* The n-th event of that type and ID in the output, which must exist. */
static const event_record *nth(const event_list *ev, kvsp_event_type type, uint32_t id, int n)
{
    int at = find_event(ev, type, id, n);
    assert_true(at >= 0);
    return &ev->items[at];
}

/* Cue points at exactly the video keyframes (SimpleBlock key flag, or a
 * BlockGroup without ReferenceBlock) and nowhere else: time, Cluster and
 * position in it of each, against the input built here. */
static void test_cue_points(void **state)
{
    (void)state;
    ebml_buf in = {0};
    two_track_segment(&in);
    size_t cluster = begin_cluster(&in, 500); /* the output starts at 0 */
    eb_simple_block(&in, 0, 0x80, 10, 1);     /* key, 0 */
    laced_audio_block(&in, 0, 4);             /* audio: no cue */
    eb_simple_block(&in, 40, 0, 10, 2);
    eb_simple_block(&in, 80, 0x01, 10, 3); /* discardable, not key */
    eb_end(&in, cluster);
    cluster = begin_cluster(&in, 620);
    eb_simple_block(&in, 0, 0, 10, 4);
    video_group(&in, 40, 40, 0); /* key, 160 */
    video_group(&in, 80, 40, 1);
    eb_end(&in, cluster);
    cluster = begin_cluster(&in, 740);
    eb_simple_block(&in, 0, 0x80, 10, 5);  /* key, 240 */
    eb_simple_block(&in, 40, 0x80, 10, 6); /* key, 280 */
    eb_end(&in, cluster);

    memory_file out = {0};
    assert_int_equal(merge_file(in.data, in.len, &out, 1, 0, in.len, NULL), KVSP_OK);
    event_list ev;
    assert_int_equal(collect_events(out.data, out.len, NULL, 0, &ev), KVSP_DONE);
    const event_record *seg = nth(&ev, KVSP_EV_START, KVSP_ID_SEGMENT, 0);
    uint64_t data_start = seg->offset + seg->header_size;
    /* Each cue's block, as the n-th SimpleBlock or BlockGroup of the output. */
    const struct {
        uint64_t time;
        int cluster;
        uint32_t id;
        int nth;
    } want[] = {{0, 0, KVSP_ID_SIMPLEBLOCK, 0},
                {160, 1, KVSP_ID_BLOCKGROUP, 0},
                {240, 2, KVSP_ID_SIMPLEBLOCK, 5},
                {280, 2, KVSP_ID_SIMPLEBLOCK, 6}};
    const size_t n = sizeof want / sizeof want[0];
    assert_int_equal(count_events(&ev, KVSP_EV_START, KVSP_ID_CUE_POINT), n);
    for (size_t i = 0; i < n; i++) {
        const event_record *c = nth(&ev, KVSP_EV_START, KVSP_ID_CLUSTER, want[i].cluster);
        const event_record *b =
            nth(&ev, want[i].id == KVSP_ID_BLOCKGROUP ? KVSP_EV_START : KVSP_EV_DATA, want[i].id,
                want[i].nth);
        assert_int_equal(nth(&ev, KVSP_EV_DATA, KVSP_ID_CUE_TIME, (int)i)->u, want[i].time);
        assert_int_equal(nth(&ev, KVSP_EV_DATA, KVSP_ID_CUE_TRACK, (int)i)->u, 1);
        assert_int_equal(nth(&ev, KVSP_EV_DATA, KVSP_ID_CUE_CLUSTER_POSITION, (int)i)->u,
                         c->offset - data_start);
        assert_int_equal(nth(&ev, KVSP_EV_DATA, KVSP_ID_CUE_RELATIVE_POSITION, (int)i)->u,
                         b->offset - (c->offset + c->header_size));
    }
    event_list_free(&ev);
    free(out.data);
    eb_free(&in);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return kvsp_test_skip("no resources folder given");
    resources = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seekable_output),
        cmocka_unit_test(test_live_output),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_misplaced_cluster_child),
        cmocka_unit_test(test_duration_ends_with_last_frame),
        cmocka_unit_test(test_cue_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
