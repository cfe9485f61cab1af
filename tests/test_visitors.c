/* The visitor model (composite, pause/resume, order check), the element
 * counter and printer, and the fragment and frame visitors on hand-built
 * streams whose every field is known. */
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

/* ---- helpers ---- */

static void simple_tag(ebml_buf *b, const char *name, const char *value)
{
    size_t st = eb_begin(b, KVSP_ID_SIMPLETAG);
    eb_string(b, KVSP_ID_TAG_NAME, name);
    eb_string(b, KVSP_ID_TAG_STRING, value);
    eb_end(b, st);
}

/* A Block (for a BlockGroup) on track 1, unlaced. */
static void block(ebml_buf *b, int16_t timecode, size_t n, uint8_t v)
{
    uint8_t payload[64] = {0x81, (uint8_t)((uint16_t)timecode >> 8), (uint8_t)timecode, 0};
    memset(payload + 4, v, n);
    eb_binary(b, KVSP_ID_BLOCK, payload, 4 + n);
}

static void block_group(ebml_buf *b, int16_t timecode, int referenced, uint64_t duration)
{
    size_t g = eb_begin(b, KVSP_ID_BLOCKGROUP);
    block(b, timecode, 10, 0xAB);
    if (duration)
        eb_uint(b, KVSP_ID_BLOCK_DURATION, duration);
    if (referenced)
        eb_uint(b, KVSP_ID_REFERENCE_BLOCK, 2); /* after the Block, as muxers may write it */
    eb_end(b, g);
}

typedef struct run_opts {
    int server_side;  /* GetMediaForFragmentList tag names */
    int closing_tags; /* Tags after the Cluster */
    int cluster;
    uint64_t timecode_scale;
} run_opts;

/* A KVS-like fragment with two tracks, KVS and user tags and four frames. */
static void fragment(ebml_buf *b, const run_opts *o, const char *number, const char *token)
{
    eb_ebml_header(b);
    eb_begin_unknown(b, KVSP_ID_SEGMENT, 8);
    size_t info = eb_begin(b, KVSP_ID_INFO);
    if (o->timecode_scale)
        eb_uint(b, KVSP_ID_TIMECODE_SCALE, o->timecode_scale);
    eb_string(b, KVSP_ID_TITLE, "cam");
    eb_end(b, info);
    size_t tracks = eb_begin(b, KVSP_ID_TRACKS);
    size_t t1 = eb_begin(b, KVSP_ID_TRACK_ENTRY);
    eb_uint(b, KVSP_ID_TRACK_NUMBER, 1);
    eb_uint(b, KVSP_ID_TRACK_TYPE, KVSP_TRACK_VIDEO);
    eb_string(b, KVSP_ID_CODEC_ID, "V_MPEG4/ISO/AVC");
    eb_binary(b, KVSP_ID_CODEC_PRIVATE, "\x01\x64\x00\x1f", 4);
    size_t video = eb_begin(b, KVSP_ID_VIDEO);
    eb_uint(b, KVSP_ID_PIXEL_WIDTH, 642);
    eb_uint(b, KVSP_ID_PIXEL_HEIGHT, 362);
    eb_end(b, video);
    eb_end(b, t1);
    size_t t2 = eb_begin(b, KVSP_ID_TRACK_ENTRY); /* no optional field at all */
    eb_uint(b, KVSP_ID_TRACK_NUMBER, 2);
    eb_end(b, t2);
    eb_end(b, tracks);
    size_t tags = eb_begin(b, KVSP_ID_TAGS);
    size_t tag = eb_begin(b, KVSP_ID_TAG);
    simple_tag(b, "AWS_KINESISVIDEO_FRAGMENT_NUMBER", number);
    simple_tag(b,
               o->server_side ? "AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP"
                              : "AWS_KINESISVIDEO_SERVER_TIMESTAMP",
               "1700000000.25");
    simple_tag(b, "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", "soon"); /* does not parse: a user tag */
    size_t parent = eb_begin(b, KVSP_ID_SIMPLETAG);
    eb_string(b, KVSP_ID_TAG_NAME, "LOCATION");
    eb_binary(b, KVSP_ID_TAG_STRING, "dock\0\0", 6);
    size_t nested = eb_begin(b, KVSP_ID_SIMPLETAG);
    eb_string(b, KVSP_ID_TAG_NAME, "HASH");
    eb_binary(b, KVSP_ID_TAG_BINARY, "\x00\xff\x10", 3);
    eb_end(b, nested);
    eb_end(b, parent);
    eb_end(b, tag);
    eb_end(b, tags);
    if (o->cluster) {
        eb_begin_unknown(b, KVSP_ID_CLUSTER, 8);
        eb_uint(b, KVSP_ID_CLUSTER_TIMECODE, 10);
        eb_simple_block(b, 0, 0x80, 20, 1);
        eb_simple_block(b, 3, 0x00, 21, 2);
        block_group(b, 6, 1, 3);
        block_group(b, 9, 0, 0);
    }
    if (o->closing_tags) {
        size_t after = eb_begin(b, KVSP_ID_TAGS);
        size_t tag2 = eb_begin(b, KVSP_ID_TAG);
        simple_tag(b, "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "42");
        size_t tok = eb_begin(b, KVSP_ID_SIMPLETAG);
        eb_string(b, KVSP_ID_TAG_NAME, "AWS_KINESISVIDEO_CONTINUATION_TOKEN");
        char padded[80];
        size_t n = strlen(token);
        memcpy(padded, token, n);
        padded[n] = padded[n + 1] = '\0';
        eb_binary(b, KVSP_ID_TAG_STRING, padded, n + 2);
        eb_end(b, tok);
        eb_end(b, tag2);
        eb_end(b, after);
    }
}

#define MAX_RECORDS 8

typedef struct collected {
    kvsp_fragment_visitor *meta;
    int fragments;
    int complete[MAX_RECORDS];
    char tokens_seen_at_fragment[MAX_RECORDS][64];
    int frames;
    int keyframes[16];
    double server_ms[16];
    int64_t pts_ns[16];
    uint64_t durations[16];
    char token_during_frame[16][64];
} collected;

static int collect_fragment(void *user, const kvsp_fragment *f)
{
    collected *c = user;
    if (c->fragments < MAX_RECORDS) {
        c->complete[c->fragments] = f->complete;
        const char *tok = kvsp_fragment_visitor_continuation_token(c->meta);
        snprintf(c->tokens_seen_at_fragment[c->fragments], 64, "%s", tok ? tok : "-");
    }
    c->fragments++;
    return KVSP_OK;
}

static int collect_frame(void *user, const kvsp_frame *fr)
{
    collected *c = user;
    if (c->frames < 16) {
        c->keyframes[c->frames] = fr->keyframe;
        c->server_ms[c->frames] = fr->server_timestamp_ms;
        c->pts_ns[c->frames] = fr->pts_ns;
        c->durations[c->frames] = fr->duration;
        const char *tok = kvsp_fragment_visitor_continuation_token(c->meta);
        snprintf(c->token_during_frame[c->frames], 64, "%s", tok ? tok : "-");
    }
    c->frames++;
    return KVSP_OK;
}

/* Runs meta + frames over the whole buffer; returns the reader status. */
static int run_pipeline(const ebml_buf *b, collected *c, kvsp_fragment_options *fo)
{
    kvsp_fragment_options defaults;
    if (!fo) {
        memset(&defaults, 0, sizeof defaults);
        fo = &defaults;
    }
    fo->on_fragment = collect_fragment;
    fo->user = c;
    c->meta = kvsp_fragment_visitor_create(fo);
    kvsp_visitor sink = {.user = c, .on_frame = collect_frame};
    kvsp_frame_visitor *fv = kvsp_frame_visitor_create(c->meta, NULL, &sink);
    kvsp_visitor pair[2] = {kvsp_fragment_visitor_visitor(c->meta), kvsp_frame_visitor_visitor(fv)};
    kvsp_composite *comp = kvsp_composite_create(pair, 2);
    kvsp_visitor v = kvsp_composite_visitor(comp);
    kvsp_reader *r = kvsp_reader_create(NULL);
    int st = kvsp_reader_push(r, b->data, b->len, &v);
    if (st == KVSP_NEED_DATA) {
        kvsp_reader_finish(r);
        st = kvsp_reader_run(r, &v);
    }
    kvsp_fragment_visitor_finish(c->meta);
    kvsp_reader_destroy(r);
    kvsp_composite_destroy(comp);
    kvsp_frame_visitor_destroy(fv);
    return st;
}

/* Runs a composite of the n visitors over the whole buffer, which must be
 * read to its end without error. */
static void run_all(const ebml_buf *b, const kvsp_visitor *kids, size_t n)
{
    kvsp_composite *comp = kvsp_composite_create(kids, n);
    assert_non_null(comp);
    kvsp_visitor v = kvsp_composite_visitor(comp);
    kvsp_reader *r = kvsp_reader_create(NULL);
    assert_int_equal(kvsp_reader_push(r, b->data, b->len, &v), KVSP_NEED_DATA);
    kvsp_reader_finish(r);
    assert_int_equal(kvsp_reader_run(r, &v), KVSP_DONE);
    kvsp_reader_destroy(r);
    kvsp_composite_destroy(comp);
}

/* ---- fragment metadata ---- */

static const kvsp_fragment *last_fragment;

static int keep_last(void *user, const kvsp_fragment *f)
{
    (void)user;
    last_fragment = f;
    return KVSP_OK;
}

/* A fragment visitor alone, remembering the last record in last_fragment. */
static kvsp_fragment_visitor *keeping_visitor(void)
{
    kvsp_fragment_options fo;
    memset(&fo, 0, sizeof fo);
    fo.on_fragment = keep_last;
    last_fragment = NULL;
    return kvsp_fragment_visitor_create(&fo);
}

static void test_fragment_fields(void **state)
{
    (void)state;
    ebml_buf b = {0};
    run_opts o = {0, 1, 1, 500000};
    fragment(&b, &o, "123", "tok-1");
    kvsp_fragment_visitor *meta = keeping_visitor();
    kvsp_visitor v = kvsp_fragment_visitor_visitor(meta);
    kvsp_reader *r = kvsp_reader_create(NULL);
    assert_int_equal(kvsp_reader_push(r, b.data, b.len, &v), KVSP_NEED_DATA);
    assert_null(last_fragment); /* unknown-size Segment: not over until the input is */
    kvsp_reader_finish(r);
    assert_int_equal(kvsp_reader_run(r, &v), KVSP_DONE);
    const kvsp_fragment *f = last_fragment;
    assert_non_null(f);

    assert_int_equal(f->index, 0);
    assert_string_equal(f->fragment_number, "123");
    assert_true(f->present & KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP);
    assert_int_equal(f->server_timestamp_ms, 1700000000250);
    assert_false(f->present & KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP);
    assert_int_equal(f->millis_behind_now, 42);
    assert_string_equal(f->continuation_token, "tok-1"); /* trailing NULs stripped */
    assert_null(f->error_code);
    assert_false(f->present & KVSP_FRAGMENT_HAS_ERROR_ID);
    assert_int_equal(f->info.timecode_scale, 500000);
    assert_string_equal(f->info.title, "cam");
    assert_null(f->info.muxing_app);
    assert_false(f->info.has_duration);

    assert_int_equal(f->track_count, 2);
    const kvsp_track *t = &f->tracks[0];
    assert_int_equal(t->number, 1);
    assert_int_equal(t->type, KVSP_TRACK_VIDEO);
    assert_string_equal(t->codec_id, "V_MPEG4/ISO/AVC");
    assert_int_equal(t->codec_private_size, 4);
    assert_memory_equal(t->codec_private, "\x01\x64\x00\x1f", 4);
    assert_int_equal(t->pixel_width, 642);
    assert_int_equal(t->pixel_height, 362);
    assert_false(t->present & KVSP_TRACK_HAS_DISPLAY_WIDTH);
    t = &f->tracks[1];
    assert_int_equal(t->present, KVSP_TRACK_HAS_NUMBER); /* absent fields stay absent */
    assert_null(t->codec_id);
    assert_null(t->language);

    /* User tags in order; the unparsable AWS tag kept; nesting kept. */
    assert_int_equal(f->tag_count, 3);
    assert_string_equal(f->tags[0].name, "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP");
    assert_string_equal(f->tags[0].value, "soon");
    assert_string_equal(f->tags[1].name, "LOCATION");
    assert_string_equal(f->tags[1].value, "dock");
    assert_int_equal(f->tags[1].depth, 0);
    assert_string_equal(f->tags[2].name, "HASH");
    assert_null(f->tags[2].value);
    assert_int_equal(f->tags[2].binary_size, 3);
    assert_memory_equal(f->tags[2].binary, "\x00\xff\x10", 3);
    assert_int_equal(f->tags[2].depth, 1);

    assert_int_equal(f->frames, 4);
    assert_int_equal(f->frames_track_count, 1);
    assert_int_equal(f->frames_per_track[0].track, 1);
    assert_int_equal(f->frames_per_track[0].frames, 4);
    assert_int_equal(f->cluster_timecode, 10);
    assert_int_equal(f->first_timecode, 10);
    assert_int_equal(f->last_timecode, 19);
    assert_true(f->complete);
    assert_int_equal(f->end_offset, b.len);

    kvsp_reader_destroy(r);
    kvsp_fragment_visitor_destroy(meta);
    eb_free(&b);
}

static void test_frames_timing_and_blockgroups(void **state)
{
    (void)state;
    ebml_buf b = {0};
    run_opts o = {0, 1, 1, 500000};
    fragment(&b, &o, "1", "tok-1");
    fragment(&b, &o, "2", "tok-2");
    collected c;
    memset(&c, 0, sizeof c);
    assert_int_equal(run_pipeline(&b, &c, NULL), KVSP_DONE);
    assert_int_equal(c.fragments, 2);
    assert_int_equal(c.frames, 8);
    /* SimpleBlock flags; BlockGroup: keyframe unless it has a ReferenceBlock. */
    int want_key[4] = {1, 0, 0, 1};
    int64_t want_tc[4] = {10, 13, 16, 19};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(c.keyframes[i], want_key[i]);
        assert_int_equal(c.pts_ns[i], want_tc[i] * 500000);
        /* fragment server time + the block's offset in the cluster (0.5 ms ticks) */
        assert_true(c.server_ms[i] == 1700000000250.0 + (want_tc[i] - 10) * 0.5);
    }
    assert_int_equal(c.durations[2], 3);
    /* The token of fragment 1 is known while fragment 2 is read. */
    assert_string_equal(c.token_during_frame[0], "-");
    assert_string_equal(c.token_during_frame[4], "tok-1");
    assert_string_equal(c.tokens_seen_at_fragment[0], "tok-1");
    assert_string_equal(c.tokens_seen_at_fragment[1], "tok-2");
    kvsp_fragment_visitor_destroy(c.meta);
    eb_free(&b);
}

typedef struct ms_check {
    int frames, mismatches;
    int64_t server_ms;
    uint64_t scale;
} ms_check;

/* pts_ms for pts_ns: a whole number of ms exactly; otherwise, while the ns
 * fit a double's 53 bits, the plain division (one rounding: the nearest
 * double), and past them a value within the right millisecond. */
static int pts_ms_stands_for_ns(double ms, int64_t ns)
{
    int64_t whole = ns / 1000000, rest = ns % 1000000;
    if (rest == 0)
        return ms == (double)whole;
    if (ns >= -(INT64_C(1) << 53) && ns <= (INT64_C(1) << 53))
        return ms == (double)ns / 1e6;
    return rest > 0 ? ms > (double)whole && ms < (double)(whole + 1)
                    : ms < (double)whole && ms > (double)(whole - 1);
}

/* The frame's millisecond values against what they stand for (the frame
 * visitor skips the division when it can). */
static int check_frame_ms(void *user, const kvsp_frame *fr)
{
    ms_check *c = user;
    int64_t offset_ns = (fr->timecode - fr->fragment->cluster_timecode) * (int64_t)c->scale;
    double server = (double)c->server_ms + (double)offset_ns / 1e6;
    if (!pts_ms_stands_for_ns(fr->pts_ms, fr->pts_ns) || fr->server_timestamp_ms != server)
        c->mismatches++;
    c->frames++;
    return KVSP_OK;
}

static void test_frame_milliseconds_exact(void **state)
{
    (void)state;
    const uint64_t scales[] = {1000000, 500000, 1000, 1, 3000000, 1234567};
    /* small, a KVS epoch in ms, around the largest whole-ms ns a double
     * holds exactly (2^53 ns), past it, and two epochs in ms whose ns do not
     * divide back to the ms exactly (found by search) */
    const uint64_t clusters[] = {10,
                                 1511852109000ull,
                                 9007199254ull,
                                 9007199255ull,
                                 9007199300ull,
                                 1019905353221ull,
                                 1883714710314ull};
    const int16_t blocks[] = {0, 1, 3, -7, 999, 32767, -32768};
    for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
        ebml_buf b = {0};
        for (size_t ci = 0; ci < sizeof clusters / sizeof clusters[0]; ci++) {
            eb_ebml_header(&b);
            eb_begin_unknown(&b, KVSP_ID_SEGMENT, 8);
            size_t info = eb_begin(&b, KVSP_ID_INFO);
            eb_uint(&b, KVSP_ID_TIMECODE_SCALE, scales[si]);
            eb_end(&b, info);
            size_t tags = eb_begin(&b, KVSP_ID_TAGS);
            size_t tag = eb_begin(&b, KVSP_ID_TAG);
            simple_tag(&b, "AWS_KINESISVIDEO_SERVER_TIMESTAMP", "1700000000.123");
            eb_end(&b, tag);
            eb_end(&b, tags);
            eb_begin_unknown(&b, KVSP_ID_CLUSTER, 8);
            eb_uint(&b, KVSP_ID_CLUSTER_TIMECODE, clusters[ci]);
            for (size_t k = 0; k < sizeof blocks / sizeof blocks[0]; k++)
                eb_simple_block(&b, blocks[k], 0x80, 2, 1);
        }
        ms_check c = {0, 0, 1700000000123, scales[si]};
        kvsp_fragment_visitor *meta = kvsp_fragment_visitor_create(NULL);
        kvsp_visitor sink = {.user = &c, .on_frame = check_frame_ms};
        kvsp_frame_visitor *fv = kvsp_frame_visitor_create(meta, NULL, &sink);
        kvsp_visitor pair[2] = {kvsp_fragment_visitor_visitor(meta),
                                kvsp_frame_visitor_visitor(fv)};
        run_all(&b, pair, 2);
        assert_int_equal(c.frames, (int)(sizeof clusters / sizeof clusters[0] * 7));
        assert_int_equal(c.mismatches, 0);
        kvsp_frame_visitor_destroy(fv);
        kvsp_fragment_visitor_destroy(meta);
        eb_free(&b);
    }
    /* The public conversion, at an epoch in ms whose ns do not divide back
     * in double (1700587217870.0002 once), and where the ns overflow. */
    double ms = 0;
    assert_int_equal(kvsp_ticks_to_ms(1700587217870, 1000000, &ms), 0);
    assert_true(ms == 1700587217870.0);
    assert_int_equal(kvsp_ticks_to_ms(-1700587217870, 1000000, &ms), 0);
    assert_true(ms == -1700587217870.0);
    assert_int_equal(kvsp_ticks_to_ms(3401174435741, 500000, &ms), 0);
    assert_true(ms == 1700587217870.5);
    assert_int_equal(kvsp_ticks_to_ms(INT64_MAX / 1000000 + 1, 1000000, &ms), KVSP_ERR_INVALID_ARG);
}

static void test_completeness(void **state)
{
    (void)state;
    struct {
        run_opts o;
        int complete;
    } cases[] = {
        {{0, 1, 1, 0}, 1}, /* GetMedia with closing Tags */
        {{0, 0, 1, 0}, 0}, /* GetMedia whose closing Tags never came */
        {{1, 0, 1, 0}, 1}, /* GetMediaForFragmentList has none */
        {{0, 0, 0, 0}, 1}, /* no Cluster (e.g. an error fragment) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ebml_buf b = {0};
        fragment(&b, &cases[i].o, "7", "t");
        collected c;
        memset(&c, 0, sizeof c);
        assert_int_equal(run_pipeline(&b, &c, NULL), KVSP_DONE);
        assert_int_equal(c.fragments, 1);
        assert_int_equal(c.complete[0], cases[i].complete);
        kvsp_fragment_visitor_destroy(c.meta);

        /* Cut inside the last element: reported by finish, as cut short. */
        b.len -= 2;
        memset(&c, 0, sizeof c);
        assert_int_equal(run_pipeline(&b, &c, NULL), KVSP_ERR_TRUNCATED);
        assert_int_equal(c.fragments, 1);
        assert_int_equal(c.complete[0], 0);
        kvsp_fragment_visitor_destroy(c.meta);
        eb_free(&b);
    }
}

static void test_limits(void **state)
{
    (void)state;
    ebml_buf b = {0};
    run_opts o = {0, 1, 1, 0};
    fragment(&b, &o, "1", "t");
    struct {
        uint32_t tracks, tags;
        size_t bytes;
        int status;
    } cases[] = {
        {1, 1024, 1 << 20, KVSP_ERR_METADATA_LIMIT}, /* two TrackEntries */
        {64, 2, 1 << 20, KVSP_ERR_METADATA_LIMIT},   /* three SimpleTags kept at once */
        {64, 1024, 40, KVSP_ERR_METADATA_LIMIT},     /* strings */
        {2, 4, 1 << 20, KVSP_DONE},
        /* 0 is the default, field by field, never "no room" */
        {0, 0, 0, KVSP_DONE},
        {1, 0, 0, KVSP_ERR_METADATA_LIMIT},
        {0, 2, 0, KVSP_ERR_METADATA_LIMIT},
        {0, 0, 40, KVSP_ERR_METADATA_LIMIT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kvsp_fragment_options fo;
        memset(&fo, 0, sizeof fo);
        fo.max_tracks = cases[i].tracks;
        fo.max_tags = cases[i].tags;
        fo.max_metadata_bytes = cases[i].bytes;
        collected c;
        memset(&c, 0, sizeof c);
        assert_int_equal(run_pipeline(&b, &c, &fo), cases[i].status);
        kvsp_fragment_visitor_destroy(c.meta);
    }
    eb_free(&b);

    /* Zeroed options hold the documented defaults: 64 tracks fit, 65 do not. */
    for (uint32_t n = KVSP_DEFAULT_MAX_TRACKS; n <= KVSP_DEFAULT_MAX_TRACKS + 1; n++) {
        eb_ebml_header(&b);
        eb_begin_unknown(&b, KVSP_ID_SEGMENT, 8);
        size_t tracks = eb_begin(&b, KVSP_ID_TRACKS);
        for (uint32_t t = 1; t <= n; t++) {
            size_t entry = eb_begin(&b, KVSP_ID_TRACK_ENTRY);
            eb_uint(&b, KVSP_ID_TRACK_NUMBER, t);
            eb_end(&b, entry);
        }
        eb_end(&b, tracks);
        kvsp_fragment_options zeroed;
        memset(&zeroed, 0, sizeof zeroed);
        collected c;
        memset(&c, 0, sizeof c);
        assert_int_equal(run_pipeline(&b, &c, &zeroed),
                         n <= KVSP_DEFAULT_MAX_TRACKS ? KVSP_DONE : KVSP_ERR_METADATA_LIMIT);
        kvsp_fragment_visitor_destroy(c.meta);
        eb_free(&b);
    }
}

static void test_error_fragment(void **state)
{
    (void)state;
    ebml_buf b = {0};
    eb_ebml_header(&b);
    size_t seg = eb_begin(&b, KVSP_ID_SEGMENT);
    size_t tags = eb_begin(&b, KVSP_ID_TAGS);
    size_t tag = eb_begin(&b, KVSP_ID_TAG);
    simple_tag(&b, "AWS_KINESISVIDEO_ERROR_CODE", "STREAM_NOT_FOUND");
    simple_tag(&b, "AWS_KINESISVIDEO_ERROR_ID", "4000");
    simple_tag(&b, "AWS_KINESISVIDEO_EXCEPTION_MESSAGE", "no such stream");
    eb_end(&b, tag);
    eb_end(&b, tags);
    eb_end(&b, seg);
    kvsp_fragment_visitor *meta = keeping_visitor();
    kvsp_visitor v = kvsp_fragment_visitor_visitor(meta);
    kvsp_reader *r = kvsp_reader_create(NULL);
    /* A known-size Segment is reported as soon as it ends. */
    assert_int_equal(kvsp_reader_push(r, b.data, b.len, &v), KVSP_NEED_DATA);
    assert_non_null(last_fragment);
    assert_int_equal(last_fragment->error_id, 4000);
    assert_string_equal(last_fragment->error_id_text, "4000");
    assert_string_equal(last_fragment->error_code, "STREAM_NOT_FOUND");
    assert_string_equal(last_fragment->error_message, "no such stream");
    assert_int_equal(last_fragment->tag_count, 0);
    assert_int_equal(last_fragment->frames, 0);
    assert_false(last_fragment->present & KVSP_FRAGMENT_HAS_CLUSTER);
    assert_true(last_fragment->complete);
    assert_int_equal(kvsp_fragment_visitor_count(meta), 1);
    kvsp_reader_destroy(r);
    kvsp_fragment_visitor_destroy(meta);
    eb_free(&b);
}

static void test_time_parsing(void **state)
{
    (void)state;
    struct {
        const char *text;
        int ok;
        int64_t ms;
    } cases[] = {
        {"1511852109.126", 1, 1511852109126},
        {"1.5", 1, 1500},
        {"7", 1, 7000},
        {"1.1230", 1, 1123},
        {"0.001", 1, 1},
        {"1.1234", 0, 0},
        {"", 0, 0},
        {"-1", 0, 0},
        {"1e3", 0, 0},
        {".5", 0, 0},
        {"99999999999999999999", 0, 0},
        {"9223372036854775.807", 1, INT64_MAX},
        {"9223372036854775.808", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = -1;
        int rc = kvsp_parse_seconds_ms(cases[i].text, strlen(cases[i].text), &ms);
        assert_int_equal(rc, cases[i].ok ? KVSP_OK : KVSP_ERR_INVALID_ARG);
        if (cases[i].ok)
            assert_int_equal(ms, cases[i].ms);
    }
    int64_t ns;
    assert_int_equal(kvsp_ticks_to_ns(-3, 1000000, &ns), 0);
    assert_int_equal(ns, -3000000);
    assert_int_equal(kvsp_ticks_to_ns(INT64_MAX / 2, 3, &ns), KVSP_ERR_INVALID_ARG);
    assert_int_equal(kvsp_ticks_to_ns(1, UINT64_MAX, &ns), KVSP_ERR_INVALID_ARG);
}

/* ---- visitor model ---- */

typedef struct counting {
    int events, frames, pause_every, fail_at;
} counting;

static int count_event(void *user, const kvsp_event *ev)
{
    (void)ev;
    counting *c = user;
    c->events++;
    if (c->fail_at && c->events == c->fail_at)
        return KVSP_ERR_CALLBACK;
    return c->pause_every && c->events % c->pause_every == 0 ? KVSP_PAUSED : KVSP_OK;
}

static kvsp_visitor counting_visitor(counting *c)
{
    kvsp_visitor v = {
        .user = c, .on_start = count_event, .on_end = count_event, .on_data = count_event};
    return v;
}

static void test_composite_pause_and_error(void **state)
{
    (void)state;
    ebml_buf b = {0};
    run_opts o = {0, 1, 1, 0};
    fragment(&b, &o, "1", "t");
    event_list all;
    collect_events(b.data, b.len, NULL, 0, &all);

    counting a = {0}, p = {0, 0, 3, 0}, z = {0};
    kvsp_visitor kids[3] = {counting_visitor(&a), counting_visitor(&p), counting_visitor(&z)};
    kvsp_composite *comp = kvsp_composite_create(kids, 3);
    kvsp_visitor v = kvsp_composite_visitor(comp);
    kvsp_reader *r = kvsp_reader_create(NULL);
    int st = kvsp_reader_push(r, b.data, b.len, &v), pauses = 0;
    while (st == KVSP_PAUSED) {
        /* The child after the pausing one has not had the event yet. */
        assert_int_equal(z.events, p.events - 1);
        assert_int_equal(kvsp_reader_feed(r, b.data, 1), KVSP_ERR_INPUT_PENDING);
        pauses++;
        st = kvsp_reader_push(r, NULL, 0, &v);
    }
    assert_int_equal(st, KVSP_NEED_DATA);
    kvsp_reader_finish(r);
    while ((st = kvsp_reader_run(r, &v)) == KVSP_PAUSED)
        pauses++;
    assert_int_equal(st, KVSP_DONE);
    assert_int_equal(a.events, all.count);
    assert_int_equal(p.events, all.count);
    assert_int_equal(z.events, all.count);
    assert_int_equal(pauses, all.count / 3);
    kvsp_composite_destroy(comp);

    /* A child's error stops the run, sticky, before later children see it. */
    counting e1 = {0}, e2 = {0, 0, 0, 5}, e3 = {0};
    kvsp_visitor kids2[3] = {counting_visitor(&e1), counting_visitor(&e2), counting_visitor(&e3)};
    comp = kvsp_composite_create(kids2, 3);
    v = kvsp_composite_visitor(comp);
    kvsp_reader_reset(r);
    assert_int_equal(kvsp_reader_push(r, b.data, b.len, &v), KVSP_ERR_CALLBACK);
    assert_int_equal(e1.events, 5);
    assert_int_equal(e3.events, 4);
    assert_int_equal(kvsp_reader_push(r, NULL, 0, &v), KVSP_ERR_CALLBACK);
    kvsp_composite_destroy(comp);
    kvsp_reader_destroy(r);
    event_list_free(&all);
    eb_free(&b);
}

static void test_order_check(void **state)
{
    (void)state;
    ebml_buf b = {0};
    run_opts o = {0, 1, 1, 0};
    fragment(&b, &o, "1", "t");
    kvsp_fragment_visitor *meta = kvsp_fragment_visitor_create(NULL);
    counting sink_count = {0};
    kvsp_visitor sink = {.user = &sink_count};
    kvsp_frame_visitor *fv = kvsp_frame_visitor_create(meta, NULL, &sink);
    /* Frame visitor first: it would read metadata not updated yet. */
    kvsp_visitor pair[2] = {kvsp_frame_visitor_visitor(fv), kvsp_fragment_visitor_visitor(meta)};
    kvsp_composite *comp = kvsp_composite_create(pair, 2);
    kvsp_visitor v = kvsp_composite_visitor(comp);
    kvsp_reader *r = kvsp_reader_create(NULL);
    assert_int_equal(kvsp_reader_push(r, b.data, b.len, &v), KVSP_ERR_VISITOR_ORDER);
    kvsp_reader_destroy(r);
    kvsp_composite_destroy(comp);
    kvsp_frame_visitor_destroy(fv);
    kvsp_fragment_visitor_destroy(meta);
    eb_free(&b);
}

static int collect_lines(void *user, const char *line, size_t len)
{
    log_buf *out = user;
    log_append(out, line, len);
    log_append(out, "\n", 1);
    return out->len > 100000 ? KVSP_ERR_IO : KVSP_OK;
}

static void test_counter_and_printer(void **state)
{
    (void)state;
    ebml_buf b = {0};
    run_opts o = {0, 1, 1, 0};
    fragment(&b, &o, "1", "t");
    fragment(&b, &o, "2", "t");
    event_list all;
    collect_events(b.data, b.len, NULL, 0, &all);

    kvsp_element_counter *counter = kvsp_element_counter_create();
    log_buf lines = {0};
    kvsp_printer *printer = kvsp_printer_create(KVSP_PRINT_JSON, collect_lines, &lines);
    kvsp_visitor kids[2] = {kvsp_element_counter_visitor(counter), kvsp_printer_visitor(printer)};
    run_all(&b, kids, 2);

    assert_int_equal(kvsp_element_counter_get(counter, KVSP_ID_EBML), 2);
    assert_int_equal(kvsp_element_counter_get(counter, KVSP_ID_SEGMENT), 2);
    assert_int_equal(kvsp_element_counter_get(counter, KVSP_ID_SIMPLEBLOCK), 4);
    assert_int_equal(kvsp_element_counter_get(counter, KVSP_ID_BLOCK), 4);
    assert_int_equal(kvsp_element_counter_get(counter, KVSP_ID_SIMPLETAG), 2 * 7);
    assert_int_equal(kvsp_element_counter_get(counter, 0), 0);
    int starts_and_data = 0, newlines = 0;
    for (int i = 0; i < all.count; i++)
        starts_and_data += all.items[i].type != KVSP_EV_END;
    assert_int_equal(kvsp_element_counter_total(counter), starts_and_data);
    for (size_t i = 0; i < lines.len; i++)
        newlines += lines.data[i] == '\n';
    assert_int_equal(newlines, all.count); /* one line per event */
    assert_non_null(strstr(lines.data, "\"name\":\"TagName\""));

    kvsp_element_counter_reset(counter);
    assert_int_equal(kvsp_element_counter_total(counter), 0);
    kvsp_printer_destroy(printer);
    kvsp_element_counter_destroy(counter);
    log_free(&lines);
    event_list_free(&all);
    eb_free(&b);
}

static int check_empty_frame(void *user, const kvsp_frame *fr)
{
    int *seen = user;
    assert_non_null(fr->data);
    assert_int_equal(fr->size, 0);
    ++*seen;
    return KVSP_OK;
}

/* Frames of no bytes, from a SimpleBlock and from a Block held for its
 * BlockGroup (which copies nothing): their data is not NULL. */
static void test_empty_frames(void **state)
{
    (void)state;
    ebml_buf b = {0};
    eb_begin_unknown(&b, KVSP_ID_SEGMENT, 8);
    size_t cluster = eb_begin(&b, KVSP_ID_CLUSTER);
    eb_uint(&b, KVSP_ID_CLUSTER_TIMECODE, 0);
    eb_simple_block(&b, 0, 0x80, 0, 0);
    size_t g = eb_begin(&b, KVSP_ID_BLOCKGROUP);
    block(&b, 1, 0, 0);
    eb_end(&b, g);
    eb_end(&b, cluster);
    int seen = 0;
    kvsp_visitor sink = {0};
    sink.user = &seen;
    sink.on_frame = check_empty_frame;
    kvsp_frame_visitor *fv = kvsp_frame_visitor_create(NULL, NULL, &sink);
    kvsp_reader *r = kvsp_reader_create(NULL);
    assert_non_null(fv);
    assert_non_null(r);
    kvsp_visitor v = kvsp_frame_visitor_visitor(fv);
    assert_int_equal(kvsp_reader_push(r, b.data, b.len, &v), KVSP_NEED_DATA);
    kvsp_reader_finish(r);
    assert_int_equal(kvsp_reader_run(r, &v), KVSP_DONE);
    assert_int_equal(seen, 2);
    kvsp_reader_destroy(r);
    kvsp_frame_visitor_destroy(fv);
    eb_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fragment_fields),
        cmocka_unit_test(test_frames_timing_and_blockgroups),
        cmocka_unit_test(test_empty_frames),
        cmocka_unit_test(test_frame_milliseconds_exact),
        cmocka_unit_test(test_completeness),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_error_fragment),
        cmocka_unit_test(test_time_parsing),
        cmocka_unit_test(test_composite_pause_and_error),
        cmocka_unit_test(test_order_check),
        cmocka_unit_test(test_counter_and_printer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
