/* Values, blocks and lacing, limits and hostile input, resync, truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ebml_builder.h"
#include "reader_events.h"

/* Wraps content in EBML header + known-size Segment + known-size Cluster. */
static ebml_buf in_cluster(const ebml_buf *content)
{
    ebml_buf b = {0};
    eb_ebml_header(&b);
    size_t seg = eb_begin(&b, KVSP_ID_SEGMENT);
    size_t cl = eb_begin(&b, KVSP_ID_CLUSTER);
    eb_bytes(&b, content->data, content->len);
    eb_end(&b, cl);
    eb_end(&b, seg);
    return b;
}

static int run_in_cluster(const ebml_buf *content, const kvsp_reader_options *o, event_list *ev)
{
    ebml_buf b = in_cluster(content);
    int st = collect_events(b.data, b.len, o, 0, ev);
    eb_free(&b);
    return st;
}

static void test_typed_values(void **state)
{
    (void)state;
    ebml_buf c = {0};
    eb_uint(&c, KVSP_ID_CLUSTER_TIMECODE, 0x0102030405060708ull);
    eb_binary(&c, 0xFB, "\xFF\xDF", 2);                           /* ReferenceBlock: signed, -33 */
    eb_binary(&c, 0xFB, "", 0);                                   /* empty integer: 0 */
    eb_binary(&c, 0x4489, "\x45\x3B\x80\x00", 4);                 /* Duration, float32 3000.0 */
    eb_binary(&c, 0x4489, "\x40\x09\x21\xFB\x54\x44\x2D\x18", 8); /* pi as float64 */
    eb_binary(&c, 0x4461, "\x00\x00\x00\x00\x3B\x9A\xCA\x00", 8); /* DateUTC 1 s */
    eb_binary(&c, 0x536E, "caf\xC3\xA9\0", 6); /* Name (utf-8) with a trailing NUL */
    event_list ev;
    /* These IDs sit in other masters in the schema; inside a known-size
     * Cluster they are read by their own type all the same. */
    assert_int_equal(run_in_cluster(&c, NULL, &ev), KVSP_DONE);
    assert_int_equal(ev.items[find_event(&ev, KVSP_EV_DATA, KVSP_ID_CLUSTER_TIMECODE, 0)].u,
                     0x0102030405060708ull);
    assert_int_equal(ev.items[find_event(&ev, KVSP_EV_DATA, 0xFB, 0)].i, -33);
    assert_int_equal(ev.items[find_event(&ev, KVSP_EV_DATA, 0xFB, 1)].i, 0);
    assert_true(ev.items[find_event(&ev, KVSP_EV_DATA, 0x4489, 0)].f == 3000.0);
    assert_true(ev.items[find_event(&ev, KVSP_EV_DATA, 0x4489, 1)].f == 3.141592653589793);
    int d = find_event(&ev, KVSP_EV_DATA, 0x4461, 0);
    assert_int_equal(ev.items[d].value_type, KVSP_TYPE_DATE);
    assert_int_equal(ev.items[d].i, 1000000000);
    int s = find_event(&ev, KVSP_EV_DATA, 0x536E, 0);
    assert_int_equal(ev.items[s].data_size, 6); /* delivered as is */
    assert_memory_equal(ev.items[s].data_head, "caf\xC3\xA9\0", 6);
    event_list_free(&ev);
    eb_free(&c);
}

static void test_bad_numbers_and_limits(void **state)
{
    (void)state;
    static const struct {
        uint32_t id;
        size_t size;
        int status;
    } cases[] = {
        {KVSP_ID_CLUSTER_TIMECODE, 9, KVSP_ERR_BAD_INTEGER},
        {0xFB, 9, KVSP_ERR_BAD_INTEGER},
        {0x4461, 9, KVSP_ERR_BAD_INTEGER},
        {0x4489, 3, KVSP_ERR_BAD_FLOAT},
        {0x4489, 5, KVSP_ERR_BAD_FLOAT},
        {0x536E, 300, KVSP_ERR_STRING_TOO_LONG},
        {0x4ABC, 5000, KVSP_ERR_ELEMENT_TOO_LARGE},
    };
    kvsp_reader_options o;
    memset(&o, 0, sizeof o);
    o.limits.max_string_size = 256;
    o.limits.max_element_size = 4096;
    uint8_t zeros[5000] = {0};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ebml_buf c = {0};
        eb_binary(&c, cases[k].id, zeros, cases[k].size);
        ebml_buf b = in_cluster(&c);
        event_list ev;
        assert_int_equal(collect_events(b.data, b.len, &o, 0, &ev), cases[k].status);
        assert_int_equal(ev.error_offset, b.len - c.len);
        event_list_free(&ev);
        eb_free(&b);
        eb_free(&c);
    }
}

/* A hostile declared size fails at the header, before any payload arrives. */
static void test_huge_declared_sizes(void **state)
{
    (void)state;
    static const uint64_t sizes[] = {(1ull << 40), (1ull << 56) - 2, (1ull << 31) + 7};
    for (size_t k = 0; k < 3; k++) {
        ebml_buf b = {0};
        eb_ebml_header(&b);
        eb_begin_unknown(&b, KVSP_ID_SEGMENT, 8);
        eb_begin_unknown(&b, KVSP_ID_CLUSTER, 1);
        size_t block = b.len;
        eb_id(&b, KVSP_ID_SIMPLEBLOCK);
        eb_size(&b, sizes[k], 8);
        kvsp_reader *r = kvsp_reader_create(NULL);
        kvsp_event ev;
        kvsp_reader_feed(r, b.data, b.len);
        int st;
        while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK) {
        }
        assert_int_equal(st, KVSP_ERR_ELEMENT_TOO_LARGE);
        assert_int_equal(kvsp_reader_error_offset(r), block);
        kvsp_reader_destroy(r);

        /* A master may be that large: it only ends up truncated. */
        ebml_buf m = {0};
        eb_ebml_header(&m);
        eb_id(&m, KVSP_ID_SEGMENT);
        eb_size(&m, sizes[k], 8);
        event_list l;
        assert_int_equal(collect_events(m.data, m.len, NULL, 0, &l), KVSP_ERR_TRUNCATED);
        assert_int_equal(count_events(&l, KVSP_EV_START, KVSP_ID_SEGMENT), 1);
        event_list_free(&l);
        eb_free(&m);
        eb_free(&b);
    }
}

static void test_depth_bombs(void **state)
{
    (void)state;
    ebml_buf b = {0};
    eb_begin_unknown(&b, KVSP_ID_SEGMENT, 8);
    eb_begin_unknown(&b, KVSP_ID_TAGS, 1);
    eb_begin_unknown(&b, KVSP_ID_TAG, 1);
    for (int i = 0; i < 10000; i++)
        eb_begin_unknown(&b, KVSP_ID_SIMPLETAG, 1); /* recursive: each nests */
    event_list ev;
    assert_int_equal(collect_events(b.data, b.len, NULL, 0, &ev), KVSP_ERR_TOO_DEEP);
    assert_int_equal(ev.count, KVSP_DEFAULT_MAX_DEPTH);
    event_list_free(&ev);
    kvsp_reader_options o;
    memset(&o, 0, sizeof o); /* zeroed: the default depth, not none */
    assert_int_equal(collect_events(b.data, b.len, &o, 7, &ev), KVSP_ERR_TOO_DEEP);
    assert_int_equal(ev.count, KVSP_DEFAULT_MAX_DEPTH);
    event_list_free(&ev);
    o.limits.max_depth = 5;
    assert_int_equal(collect_events(b.data, b.len, &o, 7, &ev), KVSP_ERR_TOO_DEEP);
    assert_int_equal(ev.count, 5);
    assert_int_equal(ev.error_offset, 12 + 5 + 3 + 2 * 3); /* the sixth master */
    event_list_free(&ev);
    eb_free(&b);
}

static void test_invalid_vints(void **state)
{
    (void)state;
    /* IDs: a first byte below 0x10 means more than 4 bytes; all-ones and
     * all-zeros values are reserved. Sizes: a first byte of 0 means more than
     * 8 bytes. */
    static const struct {
        uint8_t bytes[6];
        size_t n;
        int status;
    } cases[] = {
        {{0x00}, 1, KVSP_ERR_INVALID_ID},
        {{0x08, 1, 2, 3, 4}, 5, KVSP_ERR_INVALID_ID},
        {{0x0F, 1, 2, 3, 4}, 5, KVSP_ERR_INVALID_ID},
        {{0x01, 1, 2, 3, 4, 5}, 6, KVSP_ERR_INVALID_ID},
        {{0xFF, 0x81}, 2, KVSP_ERR_INVALID_ID},
        {{0x7F, 0xFF, 0x81}, 3, KVSP_ERR_INVALID_ID},
        {{0x40, 0x00, 0x81}, 3, KVSP_ERR_INVALID_ID},
        {{0x3F, 0xFF, 0xFF, 0x81}, 4, KVSP_ERR_INVALID_ID},
        {{0x1F, 0xFF, 0xFF, 0xFF, 0x81}, 5, KVSP_ERR_INVALID_ID},
        {{0xEC, 0x00}, 2, KVSP_ERR_INVALID_SIZE},
        {{0x42, 0x86, 0x00, 0x01}, 4, KVSP_ERR_INVALID_SIZE},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (size_t chunk = 0; chunk <= 1; chunk++) {
            ebml_buf b = {0};
            eb_begin_unknown(&b, KVSP_ID_SEGMENT, 8);
            eb_bytes(&b, cases[k].bytes, cases[k].n);
            event_list ev;
            assert_int_equal(collect_events(b.data, b.len, NULL, chunk, &ev), cases[k].status);
            assert_int_equal(ev.error_offset, 12);
            assert_int_equal(ev.count, 1); /* the Segment start only */
            event_list_free(&ev);
            eb_free(&b);
        }
    }
}

/* 0x80 is reserved in EBML (all value bits zero) but Matroska keeps it for
 * ChapterDisplay: every path of the reader (whole and byte by byte) reads
 * it as that master. */
static void test_chapter_display_id(void **state)
{
    (void)state;
    ebml_buf b = {0};
    eb_begin_unknown(&b, KVSP_ID_SEGMENT, 8);
    size_t chapters = eb_begin(&b, 0x1043A770); /* Chapters */
    size_t edition = eb_begin(&b, 0x45B9);      /* EditionEntry */
    size_t atom = eb_begin(&b, 0xB6);           /* ChapterAtom */
    eb_uint(&b, 0x91, 0);                       /* ChapterTimeStart */
    eb_id(&b, 0x80);                            /* ChapterDisplay */
    eb_size(&b, 4, 1);
    eb_string(&b, 0x85, "ab"); /* ChapString */
    eb_end(&b, atom);
    eb_end(&b, edition);
    eb_end(&b, chapters);
    event_list whole, bytes;
    assert_int_equal(collect_events(b.data, b.len, NULL, 0, &whole), KVSP_DONE);
    assert_int_equal(collect_events(b.data, b.len, NULL, 1, &bytes), KVSP_DONE);
    int at = find_event(&whole, KVSP_EV_START, 0x80, 0);
    assert_true(at >= 0);
    assert_string_equal(whole.items[at].name, "ChapterDisplay");
    assert_int_equal(whole.count, bytes.count);
    for (int i = 0; i < whole.count; i++) {
        assert_int_equal(whole.items[i].type, bytes.items[i].type);
        assert_int_equal(whole.items[i].id, bytes.items[i].id);
        assert_int_equal(whole.items[i].offset, bytes.items[i].offset);
        assert_int_equal(whole.items[i].end_offset, bytes.items[i].end_offset);
    }
    event_list_free(&whole);
    event_list_free(&bytes);
    eb_free(&b);
}

static void add_laced_block(ebml_buf *c, uint8_t flags, const uint8_t *lace, size_t lace_len,
                            size_t payload)
{
    eb_id(c, KVSP_ID_SIMPLEBLOCK);
    eb_size(c, 4 + lace_len + payload, 0);
    uint8_t hdr[4] = {0x82, 0x00, 0x10, flags};
    eb_bytes(c, hdr, 4);
    eb_bytes(c, lace, lace_len);
    for (size_t i = 0; i < payload; i++)
        eb_byte(c, (uint8_t)i);
}

static void test_lacing(void **state)
{
    (void)state;
    ebml_buf c = {0};
    /* Xiph: 3 frames of 300, 2 and (rest) 10 bytes. */
    const uint8_t xiph[] = {2, 255, 45, 2};
    add_laced_block(&c, 0x80 | 0x02, xiph, sizeof xiph, 312);
    /* EBML: 4 frames 100, 98 (-2), 103 (+5), rest 7. */
    const uint8_t ebml[] = {3, 0x40, 100, 0xBF - 2, 0xBF + 5};
    add_laced_block(&c, 0x06, ebml, sizeof ebml, 308);
    /* Fixed: 5 frames of 20 bytes. */
    const uint8_t fixed[] = {4};
    add_laced_block(&c, 0x04 | 0x08 | 0x01, fixed, sizeof fixed, 100);
    event_list ev;
    assert_int_equal(run_in_cluster(&c, NULL, &ev), KVSP_DONE);
    const event_record *x = &ev.items[find_event(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK, 0)];
    assert_int_equal(x->block.lacing, KVSP_LACING_XIPH);
    assert_int_equal(x->block.frame_count, 3);
    assert_int_equal(x->frame_sizes[0], 300);
    assert_int_equal(x->frame_sizes[1], 2);
    assert_int_equal(x->frame_sizes[2], 10);
    assert_int_equal(x->block.track, 2);
    assert_int_equal(x->block.timecode, 16);
    assert_true(x->block.keyframe && x->block.simple);
    const event_record *e = &ev.items[find_event(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK, 1)];
    assert_int_equal(e->block.lacing, KVSP_LACING_EBML);
    assert_int_equal(e->block.frame_count, 4);
    assert_int_equal(e->frame_sizes[0], 100);
    assert_int_equal(e->frame_sizes[1], 98);
    assert_int_equal(e->frame_sizes[2], 103);
    assert_int_equal(e->frame_sizes[3], 7);
    assert_false(e->block.keyframe);
    const event_record *f = &ev.items[find_event(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK, 2)];
    assert_int_equal(f->block.lacing, KVSP_LACING_FIXED);
    assert_int_equal(f->block.frame_count, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(f->frame_sizes[i], 20);
    assert_true(f->block.invisible && f->block.discardable);
    event_list_free(&ev);
    eb_free(&c);
}

static void test_bad_blocks(void **state)
{
    (void)state;
    static const struct {
        uint8_t flags;
        uint8_t lace[6];
        size_t lace_len, payload;
        int status;
    } cases[] = {
        {0x02, {3, 200, 200}, 3, 100, KVSP_ERR_BAD_LACING},   /* xiph sizes overrun */
        {0x02, {2, 255, 255}, 3, 0, KVSP_ERR_BAD_LACING},     /* xiph size never ends */
        {0x06, {1, 0x40, 200}, 3, 100, KVSP_ERR_BAD_LACING},  /* ebml first size too big */
        {0x06, {2, 0x8A, 0x80}, 3, 100, KVSP_ERR_BAD_LACING}, /* ebml size goes negative */
        {0x06, {1, 0x00}, 2, 10, KVSP_ERR_BAD_LACING},        /* ebml vint too long */
        {0x04, {2}, 1, 10, KVSP_ERR_BAD_LACING},              /* fixed: 10 not divisible by 3 */
        {0x04, {0}, 0, 0, KVSP_ERR_BAD_LACING},               /* laced, no lace count */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ebml_buf c = {0};
        add_laced_block(&c, cases[k].flags, cases[k].lace, cases[k].lace_len, cases[k].payload);
        event_list ev;
        assert_int_equal(run_in_cluster(&c, NULL, &ev), cases[k].status);
        event_list_free(&ev);
        eb_free(&c);
    }
    /* Blocks too short for their header, including an empty one. */
    for (size_t n = 0; n < 4; n++) {
        ebml_buf c = {0};
        eb_binary(&c, KVSP_ID_SIMPLEBLOCK, "\x81\x00\x00", n);
        event_list ev;
        assert_int_equal(run_in_cluster(&c, NULL, &ev), n == 4 ? KVSP_DONE : KVSP_ERR_BAD_BLOCK);
        event_list_free(&ev);
        eb_free(&c);
    }
}

static void test_block_group(void **state)
{
    (void)state;
    ebml_buf c = {0};
    size_t g = eb_begin(&c, KVSP_ID_BLOCKGROUP);
    eb_binary(&c, KVSP_ID_BLOCK,
              "\x81\x00\x21\x00"
              "frame",
              9);
    eb_uint(&c, KVSP_ID_BLOCK_DURATION, 33);
    eb_binary(&c, KVSP_ID_REFERENCE_BLOCK, "\xDF", 1);
    eb_end(&c, g);
    event_list ev;
    assert_int_equal(run_in_cluster(&c, NULL, &ev), KVSP_DONE);
    const event_record *b = &ev.items[find_event(&ev, KVSP_EV_DATA, KVSP_ID_BLOCK, 0)];
    assert_true(b->has_block);
    assert_false(b->block.simple);
    assert_false(b->block.keyframe); /* known only from the group's ReferenceBlock */
    assert_int_equal(b->block.timecode, 33);
    assert_int_equal(b->frame_sizes[0], 5);
    assert_int_equal(b->depth, 3);
    assert_int_equal(ev.items[find_event(&ev, KVSP_EV_DATA, KVSP_ID_BLOCK_DURATION, 0)].u, 33);
    assert_int_equal(ev.items[find_event(&ev, KVSP_EV_DATA, KVSP_ID_REFERENCE_BLOCK, 0)].i, -33);
    event_list_free(&ev);
    eb_free(&c);
}

static ebml_buf fragment(uint16_t timecode_base)
{
    ebml_buf b = {0};
    eb_ebml_header(&b);
    eb_begin_unknown(&b, KVSP_ID_SEGMENT, 8);
    eb_begin_unknown(&b, KVSP_ID_CLUSTER, 8);
    eb_uint(&b, KVSP_ID_CLUSTER_TIMECODE, timecode_base);
    for (int i = 0; i < 4; i++)
        eb_simple_block(&b, (int16_t)(i * 33), i ? 0 : 0x80, 50, (uint8_t)i);
    return b;
}

static void test_garbage_between_fragments(void **state)
{
    (void)state;
    ebml_buf one = fragment(0), two = fragment(2000);
    ebml_buf b = {0};
    eb_bytes(&b, one.data, one.len);
    size_t garbage = b.len;
    static const uint8_t junk[] = {0x00, 0x13, 0x37, 0x1A, 0x45, 0xDF, 0x00, 0xEE, 0x1F, 0x43};
    eb_bytes(&b, junk, sizeof junk);
    size_t second = b.len;
    eb_bytes(&b, two.data, two.len);

    event_list ev;
    assert_int_equal(collect_events(b.data, b.len, NULL, 0, &ev), KVSP_ERR_INVALID_ID);
    assert_int_equal(ev.error_offset, garbage);
    assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK), 4);
    event_list_free(&ev);

    kvsp_reader_options o;
    memset(&o, 0, sizeof o);
    o.resync = 1;
    for (size_t chunk = 0; chunk <= 3; chunk++) {
        assert_int_equal(collect_events(b.data, b.len, &o, chunk, &ev), KVSP_DONE);
        int err = find_event(&ev, KVSP_EV_ERROR, 0, 0);
        assert_true(err >= 0);
        assert_int_equal(ev.items[err].status, KVSP_ERR_INVALID_ID);
        assert_int_equal(ev.items[err].offset, garbage);
        const event_record *sync = &ev.items[err + 3]; /* after Cluster and Segment end */
        assert_int_equal(ev.items[err + 1].id, KVSP_ID_CLUSTER);
        assert_int_equal(ev.items[err + 1].end_offset, second);
        assert_int_equal(sync->type, KVSP_EV_RESYNC);
        assert_int_equal(sync->offset, second);
        assert_int_equal(sync->skipped, sizeof junk);
        assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK), 8);
        assert_int_equal(count_events(&ev, KVSP_EV_START, KVSP_ID_EBML), 2);
        event_list_free(&ev);
    }
    eb_free(&b);
    eb_free(&one);
    eb_free(&two);
}

static void test_resync_to_next_cluster(void **state)
{
    (void)state;
    ebml_buf b = fragment(0);
    size_t damage = b.len;
    eb_bytes(&b, "\x00\x00\x00", 3);
    eb_begin_unknown(&b, KVSP_ID_CLUSTER, 1);
    eb_uint(&b, KVSP_ID_CLUSTER_TIMECODE, 2000);
    eb_simple_block(&b, 0, 0x80, 10, 9);
    kvsp_reader_options o;
    memset(&o, 0, sizeof o);
    o.resync = 1;
    event_list ev;
    assert_int_equal(collect_events(b.data, b.len, &o, 0, &ev), KVSP_DONE);
    int sync = find_event(&ev, KVSP_EV_RESYNC, KVSP_ID_CLUSTER, 0);
    assert_true(sync > 0);
    assert_int_equal(ev.items[sync].offset, damage + 3);
    assert_int_equal(ev.items[sync].skipped, 3);
    assert_int_equal(count_events(&ev, KVSP_EV_START, KVSP_ID_SEGMENT), 1); /* kept open */
    assert_int_equal(ev.items[find_event(&ev, KVSP_EV_START, KVSP_ID_CLUSTER, 1)].depth, 1);
    assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK), 5);
    event_list_free(&ev);

    /* A bad block keeps the structure: resync mode reports it and goes on. */
    ebml_buf c = {0};
    eb_binary(&c, KVSP_ID_SIMPLEBLOCK, "\x81", 1);
    eb_simple_block(&c, 0, 0x80, 10, 9);
    assert_int_equal(run_in_cluster(&c, &o, &ev), KVSP_DONE);
    assert_int_equal(count_events(&ev, KVSP_EV_ERROR, 0), 1);
    assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK), 1);
    event_list_free(&ev);

    /* A sync ID whose size is invalid is skipped, not found again forever. */
    ebml_buf e = fragment(0);
    size_t bad = e.len;
    eb_bytes(&e, "\x1A\x45\xDF\xA3\x00", 5);
    size_t good = e.len;
    ebml_buf f = fragment(0);
    eb_bytes(&e, f.data, f.len);
    assert_int_equal(collect_events(e.data, e.len, &o, 1, &ev), KVSP_DONE);
    sync = find_event(&ev, KVSP_EV_RESYNC, KVSP_ID_EBML, 0);
    assert_int_equal(ev.items[find_event(&ev, KVSP_EV_ERROR, 0, 0)].offset, bad);
    assert_int_equal(ev.items[sync].offset, good);
    assert_int_equal(ev.items[sync].skipped, 5);
    assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK), 8);
    event_list_free(&ev);
    eb_free(&e);
    eb_free(&f);

    /* A sync Cluster past the end of a known-size Segment: the Segment ends
     * at its own end, and the Cluster is then out of place at the top level. */
    ebml_buf g = {0};
    eb_ebml_header(&g);
    size_t gs = eb_begin(&g, KVSP_ID_SEGMENT);
    size_t gc = eb_begin(&g, KVSP_ID_CLUSTER);
    eb_bytes(&g, "\x00\x00", 2);
    eb_end(&g, gc);
    eb_end(&g, gs);
    size_t seg_end = g.len;
    eb_begin_unknown(&g, KVSP_ID_CLUSTER, 1);
    eb_simple_block(&g, 0, 0x80, 10, 9);
    assert_int_equal(collect_events(g.data, g.len, &o, 0, &ev), KVSP_ERR_NOT_TOP_LEVEL);
    int seg_end_ev = find_event(&ev, KVSP_EV_END, KVSP_ID_SEGMENT, 0);
    assert_true(seg_end_ev > 0);
    assert_int_equal(ev.items[seg_end_ev].end_offset, seg_end);
    assert_int_equal(ev.items[seg_end_ev - 1].id, KVSP_ID_CLUSTER);
    assert_int_equal(ev.items[seg_end_ev - 1].end_offset, seg_end); /* its own end */
    assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK), 0);
    event_list_free(&ev);
    eb_free(&g);

    /* Damage before any Segment: a Cluster ID is no sync point there (it
     * can only resume inside a Segment); the next EBML header is. */
    ebml_buf h = {0};
    static const uint8_t stray_cluster[] = {0x00, 0x1F, 0x43, 0xB6, 0x75, 0x81, 0x00};
    eb_bytes(&h, stray_cluster, sizeof stray_cluster);
    size_t header = h.len;
    ebml_buf k = fragment(0);
    eb_bytes(&h, k.data, k.len);
    for (size_t chunk = 0; chunk <= 2; chunk++) {
        assert_int_equal(collect_events(h.data, h.len, &o, chunk, &ev), KVSP_DONE);
        assert_int_equal(count_events(&ev, KVSP_EV_RESYNC, KVSP_ID_CLUSTER), 0);
        assert_int_equal(count_events(&ev, KVSP_EV_RESYNC, KVSP_ID_EBML), 1);
        sync = find_event(&ev, KVSP_EV_RESYNC, KVSP_ID_EBML, 0);
        assert_int_equal(ev.items[sync].offset, header);
        assert_int_equal(ev.items[sync].skipped, header);
        assert_int_equal(count_events(&ev, KVSP_EV_START, KVSP_ID_CLUSTER), 1);
        assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK), 4);
        event_list_free(&ev);
    }
    eb_free(&h);
    eb_free(&k);

    /* No sync point before the end: the error stands. */
    ebml_buf d = fragment(0);
    eb_bytes(&d, "\x00garbage", 8);
    assert_int_equal(collect_events(d.data, d.len, &o, 0, &ev), KVSP_ERR_INVALID_ID);
    event_list_free(&ev);
    eb_free(&d);
    eb_free(&c);
    eb_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typed_values),
        cmocka_unit_test(test_bad_numbers_and_limits),
        cmocka_unit_test(test_huge_declared_sizes),
        cmocka_unit_test(test_depth_bombs),
        cmocka_unit_test(test_invalid_vints),
        cmocka_unit_test(test_chapter_display_id),
        cmocka_unit_test(test_lacing),
        cmocka_unit_test(test_bad_blocks),
        cmocka_unit_test(test_block_group),
        cmocka_unit_test(test_garbage_between_fragments),
        cmocka_unit_test(test_resync_to_next_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
