/* Reader behaviour on hand-built streams: unknown sizes, known-size ends,
 * unknown IDs, top-level rules, filter, zero-copy, API misuse, pause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ebml_builder.h"
#include "reader_events.h"

static void test_version_and_status(void **state)
{
    (void)state;
    assert_string_equal(kvsp_version(), KVSP_VERSION_STRING);
    assert_int_equal(kvsp_version_number(), KVSP_VERSION_NUMBER);
#define CHECK_STATUS(name, value, text)                  \
    assert_string_equal(kvsp_status_name(value), #name); \
    assert_string_equal(kvsp_status_str(value), text);
    KVSP_STATUS_MAP(CHECK_STATUS)
#undef CHECK_STATUS
    assert_string_equal(kvsp_status_name(-9999), "UNKNOWN_STATUS");
}

static void test_element_table(void **state)
{
    (void)state;
    size_t n = kvsp_element_count();
    assert_true(n > 250); /* the whole schema, not just what KVS uses */
    for (size_t i = 0; i < n; i++) {
        const kvsp_element_info *e = kvsp_element_at(i);
        if (i)
            assert_true(kvsp_element_at(i - 1)->id < e->id);
        assert_ptr_equal(kvsp_element_lookup(e->id), e);
        int hops = 0; /* every parent chain ends at a root */
        for (uint32_t p = e->parent_id; p; p = kvsp_element_lookup(p)->parent_id) {
            assert_non_null(kvsp_element_lookup(p));
            assert_true(++hops < 16);
        }
    }
    assert_null(kvsp_element_at(n));
    assert_null(kvsp_element_lookup(0x1234));
    const kvsp_element_info *seg = kvsp_element_lookup(KVSP_ID_SEGMENT);
    assert_string_equal(seg->name, "Segment");
    assert_true(seg->flags & KVSP_ELEMENT_UNKNOWN_SIZE_OK);
    assert_true(kvsp_element_lookup(KVSP_ID_SIMPLETAG)->flags & KVSP_ELEMENT_RECURSIVE);
    assert_true(kvsp_element_lookup(KVSP_ID_VOID)->flags & KVSP_ELEMENT_GLOBAL);
    assert_int_equal(kvsp_element_lookup(KVSP_ID_SIMPLEBLOCK)->parent_id, KVSP_ID_CLUSTER);
    assert_int_equal(kvsp_element_lookup(0x4461)->type, KVSP_TYPE_DATE); /* DateUTC */
    assert_string_equal(kvsp_type_name(KVSP_TYPE_UTF8), "utf-8");
}

/* EBML header, then an unknown-size Segment and Cluster ended by what follows. */
static void test_unknown_sizes_end_at_non_descendants(void **state)
{
    (void)state;
    for (unsigned size_len = 1; size_len <= 8; size_len += 7) {
        ebml_buf b = {0};
        eb_ebml_header(&b);
        size_t seg = b.len;
        eb_begin_unknown(&b, KVSP_ID_SEGMENT, size_len);
        size_t cluster = b.len;
        eb_begin_unknown(&b, KVSP_ID_CLUSTER, size_len);
        eb_uint(&b, KVSP_ID_CLUSTER_TIMECODE, 0);
        eb_binary(&b, KVSP_ID_VOID, "\0\0", 2);  /* global: stays inside */
        eb_binary(&b, KVSP_ID_CRC32, "abcd", 4); /* global: stays inside */
        eb_simple_block(&b, 0, 0x80, 10, 1);
        size_t tags = b.len;
        size_t m = eb_begin(&b, KVSP_ID_TAGS); /* a Segment child: ends the Cluster */
        eb_end(&b, m);
        eb_begin_unknown(&b, KVSP_ID_TAGS, size_len);
        size_t stray_block = b.len;
        eb_simple_block(&b, 0, 0x80, 10, 2); /* not in Tags: ends them, lies in the Segment */
        size_t ebml2 = b.len;
        eb_ebml_header(&b); /* ends the Segment */
        eb_begin_unknown(&b, KVSP_ID_SEGMENT, size_len);

        event_list ev;
        assert_int_equal(collect_events(b.data, b.len, NULL, 0, &ev), KVSP_DONE);
        int i = find_event(&ev, KVSP_EV_END, KVSP_ID_CLUSTER, 0);
        assert_true(i >= 0);
        assert_int_equal(ev.items[i].end_offset, tags);
        assert_int_equal(ev.items[i].offset, cluster);
        assert_int_equal(ev.items[i].size, KVSP_SIZE_UNKNOWN);
        assert_int_equal(ev.items[i].header_size, 4 + size_len);
        i = find_event(&ev, KVSP_EV_END, KVSP_ID_SEGMENT, 0);
        assert_int_equal(ev.items[i].end_offset, ebml2);
        assert_int_equal(ev.items[i].offset, seg);
        assert_int_equal(count_events(&ev, KVSP_EV_START, KVSP_ID_SEGMENT), 2);
        assert_int_equal(count_events(&ev, KVSP_EV_END, KVSP_ID_SEGMENT), 2);
        /* the last Segment ends at end of input */
        i = find_event(&ev, KVSP_EV_END, KVSP_ID_SEGMENT, 1);
        assert_int_equal(ev.items[i].end_offset, b.len);
        assert_int_equal(find_event(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK, 0) >= 0, 1);
        assert_int_equal(ev.items[find_event(&ev, KVSP_EV_DATA, KVSP_ID_VOID, 0)].depth, 2);
        assert_int_equal(ev.items[find_event(&ev, KVSP_EV_START, KVSP_ID_TAGS, 0)].depth, 1);
        i = find_event(&ev, KVSP_EV_END, KVSP_ID_TAGS, 1);
        assert_int_equal(ev.items[i].end_offset, stray_block);
        i = find_event(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK, 1);
        assert_int_equal(ev.items[i].offset, stray_block);
        assert_int_equal(ev.items[i].depth, 1);
        event_list_free(&ev);
        eb_free(&b);
    }
}

static void test_known_sizes_and_overrun(void **state)
{
    (void)state;
    ebml_buf b = {0};
    eb_ebml_header(&b);
    size_t seg = eb_begin(&b, KVSP_ID_SEGMENT);
    size_t cl = eb_begin(&b, KVSP_ID_CLUSTER);
    eb_uint(&b, KVSP_ID_CLUSTER_TIMECODE, 7);
    eb_end(&b, cl);
    size_t cl_end = b.len;
    size_t tags = eb_begin(&b, KVSP_ID_TAGS); /* a Segment child after a known-size Cluster */
    eb_end(&b, tags);
    eb_end(&b, seg);
    event_list ev;
    assert_int_equal(collect_events(b.data, b.len, NULL, 0, &ev), KVSP_DONE);
    int i = find_event(&ev, KVSP_EV_END, KVSP_ID_CLUSTER, 0);
    assert_int_equal(ev.items[i].end_offset, cl_end);
    assert_int_equal(ev.items[find_event(&ev, KVSP_EV_DATA, KVSP_ID_CLUSTER_TIMECODE, 0)].u, 7);
    assert_int_equal(ev.items[find_event(&ev, KVSP_EV_END, KVSP_ID_SEGMENT, 0)].end_offset, b.len);
    event_list_free(&ev);

    /* A child declared larger than what is left of its parent. */
    ebml_buf bad = {0};
    eb_ebml_header(&bad);
    size_t s = eb_begin(&bad, KVSP_ID_SEGMENT);
    size_t child = bad.len;
    eb_id(&bad, KVSP_ID_INFO);
    eb_size(&bad, 100, 0);
    eb_bytes(&bad, "0123456789", 10);
    eb_end(&bad, s);
    assert_int_equal(collect_events(bad.data, bad.len, NULL, 0, &ev), KVSP_ERR_CHILD_OVERRUN);
    assert_int_equal(ev.error_offset, child);
    event_list_free(&ev);
    eb_free(&bad);
    eb_free(&b);
}

static void test_unknown_ids_and_top_level(void **state)
{
    (void)state;
    ebml_buf b = {0};
    eb_ebml_header(&b);
    size_t seg = eb_begin(&b, KVSP_ID_SEGMENT);
    size_t unknown = b.len;
    eb_binary(&b, 0x4ABC, "xyz", 3); /* not in the schema */
    eb_end(&b, seg);
    event_list ev;
    assert_int_equal(collect_events(b.data, b.len, NULL, 0, &ev), KVSP_DONE);
    int i = find_event(&ev, KVSP_EV_DATA, 0x4ABC, 0);
    assert_true(i >= 0);
    assert_string_equal(ev.items[i].name, "Unknown");
    assert_int_equal(ev.items[i].value_type, KVSP_TYPE_UNKNOWN);
    assert_int_equal(ev.items[i].offset, unknown);
    assert_int_equal(ev.items[i].data_size, 3);
    event_list_free(&ev);
    eb_free(&b);

    /* Only EBML, Segment and global elements may start at the top level. */
    ebml_buf top = {0};
    eb_ebml_header(&top);
    size_t cl = top.len;
    eb_begin_unknown(&top, KVSP_ID_CLUSTER, 1);
    assert_int_equal(collect_events(top.data, top.len, NULL, 0, &ev), KVSP_ERR_NOT_TOP_LEVEL);
    assert_int_equal(ev.error_offset, cl);
    assert_non_null(strstr(ev.error_message, "Cluster"));
    event_list_free(&ev);
    eb_free(&top);

    /* An unknown ID of unknown size cannot be delimited. */
    ebml_buf u = {0};
    eb_begin_unknown(&u, KVSP_ID_SEGMENT, 8);
    eb_begin_unknown(&u, 0x4ABC, 1);
    assert_int_equal(collect_events(u.data, u.len, NULL, 0, &ev), KVSP_ERR_UNKNOWN_SIZE);
    event_list_free(&ev);
    eb_free(&u);
}

static void test_recursive_simple_tags(void **state)
{
    (void)state;
    ebml_buf b = {0};
    eb_begin_unknown(&b, KVSP_ID_SEGMENT, 8);
    eb_begin_unknown(&b, KVSP_ID_TAGS, 1);
    eb_begin_unknown(&b, KVSP_ID_TAG, 1);
    eb_begin_unknown(&b, KVSP_ID_SIMPLETAG, 1);
    eb_string(&b, KVSP_ID_TAG_NAME, "OUTER");
    eb_begin_unknown(&b, KVSP_ID_SIMPLETAG, 1); /* nested: a child, not a sibling */
    eb_string(&b, KVSP_ID_TAG_NAME, "INNER");
    eb_begin_unknown(&b, KVSP_ID_CLUSTER, 1); /* ends the four Tags levels */
    event_list ev;
    assert_int_equal(collect_events(b.data, b.len, NULL, 0, &ev), KVSP_DONE);
    int inner = find_event(&ev, KVSP_EV_START, KVSP_ID_SIMPLETAG, 1);
    assert_int_equal(ev.items[inner].depth, 4);
    int cluster = find_event(&ev, KVSP_EV_START, KVSP_ID_CLUSTER, 0);
    assert_int_equal(ev.items[cluster].depth, 1);
    assert_int_equal(ev.items[cluster - 1].type, KVSP_EV_END);
    assert_int_equal(ev.items[cluster - 1].id, KVSP_ID_TAGS);
    event_list_free(&ev);
    eb_free(&b);
}

static ebml_buf small_stream(void)
{
    ebml_buf b = {0};
    eb_ebml_header(&b);
    eb_begin_unknown(&b, KVSP_ID_SEGMENT, 8);
    size_t info = eb_begin(&b, KVSP_ID_INFO);
    eb_uint(&b, KVSP_ID_TIMECODE_SCALE, 1000000);
    eb_end(&b, info);
    eb_begin_unknown(&b, KVSP_ID_CLUSTER, 1);
    eb_uint(&b, KVSP_ID_CLUSTER_TIMECODE, 2000);
    for (int i = 0; i < 3; i++)
        eb_simple_block(&b, (int16_t)(i * 33), i ? 0 : 0x80, 40, (uint8_t)i);
    return b;
}

static void test_filter(void **state)
{
    (void)state;
    ebml_buf b = small_stream();
    kvsp_reader *r = kvsp_reader_create(NULL);
    event_list ev;

    kvsp_reader_set_filter(r, KVSP_ID_CLUSTER, KVSP_FILTER_SKIP); /* unknown size: hidden */
    kvsp_reader_set_filter(r, KVSP_ID_INFO, KVSP_FILTER_SKIP);    /* known size: skipped */
    kvsp_reader_set_filter(r, KVSP_ID_SIMPLEBLOCK, KVSP_FILTER_HIDE);
    assert_int_equal(collect_with_reader(r, b.data, b.len, 0, &ev), KVSP_DONE);
    assert_int_equal(count_events(&ev, KVSP_EV_START, KVSP_ID_CLUSTER), 0);
    assert_int_equal(count_events(&ev, KVSP_EV_START, KVSP_ID_INFO), 0);
    assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_TIMECODE_SCALE), 0);
    assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK), 0);
    int ts = find_event(&ev, KVSP_EV_DATA, KVSP_ID_CLUSTER_TIMECODE, 0);
    assert_int_equal(ev.items[ts].u, 2000);
    assert_int_equal(ev.items[ts].depth, 2); /* depth counts hidden masters */
    event_list_free(&ev);

    kvsp_reader_reset(r);
    kvsp_reader_set_filter_all(r, KVSP_FILTER_HIDE);
    kvsp_reader_set_filter(r, KVSP_ID_SIMPLEBLOCK, KVSP_FILTER_DELIVER);
    assert_int_equal(collect_with_reader(r, b.data, b.len, 0, &ev), KVSP_DONE);
    assert_int_equal(ev.count, 3);
    assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK), 3);
    event_list_free(&ev);
    assert_int_equal(kvsp_reader_set_filter(r, 0x4ABC, KVSP_FILTER_SKIP), KVSP_ERR_INVALID_ARG);
    assert_int_equal(kvsp_reader_set_filter(r, 0, KVSP_FILTER_SKIP), KVSP_OK);
    kvsp_reader_destroy(r);
    eb_free(&b);

    /* Blocks in a Cluster of known size, whole (the fast path) and byte by
     * byte: hidden, skipped and delivered again after a filter change. */
    b = (ebml_buf){0};
    eb_begin_unknown(&b, KVSP_ID_SEGMENT, 8);
    size_t cluster = eb_begin(&b, KVSP_ID_CLUSTER);
    eb_uint(&b, KVSP_ID_CLUSTER_TIMECODE, 0);
    for (int i = 0; i < 3; i++)
        eb_simple_block(&b, (int16_t)i, 0x80, 8, (uint8_t)i);
    eb_end(&b, cluster);
    static const kvsp_filter_action actions[] = {KVSP_FILTER_HIDE, KVSP_FILTER_SKIP,
                                                 KVSP_FILTER_DELIVER};
    for (size_t chunk = 0; chunk <= 1; chunk++) {
        r = kvsp_reader_create(NULL);
        for (size_t k = 0; k < 3; k++) {
            kvsp_reader_reset(r);
            kvsp_reader_set_filter(r, KVSP_ID_SIMPLEBLOCK, actions[k]);
            assert_int_equal(collect_with_reader(r, b.data, b.len, chunk, &ev), KVSP_DONE);
            assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_SIMPLEBLOCK),
                             actions[k] == KVSP_FILTER_DELIVER ? 3 : 0);
            assert_int_equal(count_events(&ev, KVSP_EV_DATA, KVSP_ID_CLUSTER_TIMECODE), 1);
            event_list_free(&ev);
        }
        kvsp_reader_destroy(r);
    }
    eb_free(&b);
}

static void test_zero_copy(void **state)
{
    (void)state;
    ebml_buf b = small_stream();
    kvsp_reader *r = kvsp_reader_create(NULL);
    kvsp_event ev;
    /* Whole input in one feed: every payload points into the caller's buffer. */
    assert_int_equal(kvsp_reader_feed(r, b.data, b.len), KVSP_OK);
    int blocks = 0, st;
    while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK) {
        if (ev.type == KVSP_EV_DATA && ev.data_size) {
            assert_true(ev.data >= b.data && ev.data + ev.data_size <= b.data + b.len);
            assert_int_equal(ev.data - b.data, ev.offset + ev.header_size);
            blocks += ev.block != NULL;
        }
    }
    assert_int_equal(st, KVSP_NEED_DATA);
    assert_int_equal(blocks, 3);

    /* A block split over two feeds is assembled in the reader's buffer. */
    kvsp_reader_reset(r);
    size_t cut = b.len - 20;
    assert_int_equal(kvsp_reader_feed(r, b.data, cut), KVSP_OK);
    while (kvsp_reader_next(r, &ev) == KVSP_OK) {
    }
    assert_int_equal(kvsp_reader_feed(r, b.data + cut, b.len - cut), KVSP_OK);
    assert_int_equal(kvsp_reader_next(r, &ev), KVSP_OK);
    assert_int_equal(ev.id, KVSP_ID_SIMPLEBLOCK);
    assert_true(ev.data < b.data || ev.data >= b.data + b.len);
    assert_memory_equal(ev.data, b.data + ev.offset + ev.header_size, ev.data_size);
    kvsp_reader_destroy(r);
    eb_free(&b);
}

static void test_api_misuse_and_sticky_errors(void **state)
{
    (void)state;
    kvsp_reader *r = kvsp_reader_create(NULL);
    kvsp_event ev;
    uint8_t bytes[4] = {0x1A, 0x45, 0xDF, 0xA3};
    assert_int_equal(kvsp_reader_feed(r, bytes, 4), KVSP_OK);
    assert_int_equal(kvsp_reader_feed(r, bytes, 4), KVSP_ERR_INPUT_PENDING);
    assert_int_equal(kvsp_reader_pending(r), 4);
    assert_int_equal(kvsp_reader_next(r, &ev), KVSP_NEED_DATA);
    assert_int_equal(kvsp_reader_offset(r), 4);
    assert_int_equal(kvsp_reader_feed(NULL, bytes, 4), KVSP_ERR_INVALID_ARG);
    assert_int_equal(kvsp_reader_feed(r, NULL, 4), KVSP_ERR_INVALID_ARG);
    assert_int_equal(kvsp_reader_next(r, NULL), KVSP_ERR_INVALID_ARG);
    assert_int_equal(kvsp_reader_finish(r), KVSP_OK);
    assert_int_equal(kvsp_reader_feed(r, bytes, 4), KVSP_ERR_FINISHED);
    assert_int_equal(kvsp_reader_next(r, &ev), KVSP_ERR_TRUNCATED);
    assert_int_equal(kvsp_reader_next(r, &ev), KVSP_ERR_TRUNCATED); /* sticky */
    assert_int_equal(kvsp_reader_error(r), KVSP_ERR_TRUNCATED);
    assert_int_equal(kvsp_reader_error_offset(r), 0);
    kvsp_reader_reset(r);
    assert_int_equal(kvsp_reader_error(r), KVSP_OK);
    assert_int_equal(kvsp_reader_offset(r), 0);

    kvsp_reader_options o;
    memset(&o, 0, sizeof o); /* zeroed: the defaults */
    kvsp_reader *zeroed = kvsp_reader_create(&o);
    assert_non_null(zeroed);
    kvsp_reader_destroy(zeroed);
    o.limits.max_depth = KVSP_MAX_DEPTH_LIMIT + 1;
    assert_null(kvsp_reader_create(&o));
    assert_int_equal(kvsp_reader_fail(r, KVSP_ERR_SERVICE, 42, "custom %d", 7), KVSP_ERR_SERVICE);
    assert_string_equal(kvsp_reader_error_message(r), "custom 7");
    assert_int_equal(kvsp_reader_next(r, &ev), KVSP_ERR_SERVICE);
    kvsp_reader_destroy(r);
    kvsp_reader_destroy(NULL);
}

typedef struct pause_state {
    int events;
    int pause_every;
} pause_state;

static int pausing_cb(void *user, const kvsp_event *ev)
{
    (void)ev;
    pause_state *p = user;
    return ++p->events % p->pause_every == 0 ? KVSP_PAUSED : KVSP_OK;
}

static int failing_cb(void *user, const kvsp_event *ev)
{
    (void)user;
    return ev->id == KVSP_ID_CLUSTER ? KVSP_ERR_CALLBACK : KVSP_OK;
}

static void test_visitor_pause_and_stop(void **state)
{
    (void)state;
    ebml_buf b = small_stream();
    event_list all;
    collect_events(b.data, b.len, NULL, 0, &all);

    kvsp_reader *r = kvsp_reader_create(NULL);
    pause_state p = {0, 3};
    kvsp_visitor v = {
        .user = &p, .on_start = pausing_cb, .on_end = pausing_cb, .on_data = pausing_cb};
    int st, pauses = 0;
    st = kvsp_reader_push(r, b.data, b.len, &v);
    while (st == KVSP_PAUSED) {
        pauses++;
        st = kvsp_reader_push(r, NULL, 0, &v); /* resume where it stopped */
    }
    assert_int_equal(st, KVSP_NEED_DATA);
    kvsp_reader_finish(r);
    while ((st = kvsp_reader_run(r, &v)) == KVSP_PAUSED)
        pauses++;
    assert_int_equal(st, KVSP_DONE);
    assert_int_equal(p.events, all.count); /* nothing repeated, nothing lost */
    assert_int_equal(pauses, all.count / 3);

    kvsp_reader_reset(r);
    kvsp_visitor stop = {.on_start = failing_cb};
    assert_int_equal(kvsp_reader_push(r, b.data, b.len, &stop), KVSP_ERR_CALLBACK);
    assert_int_equal(kvsp_reader_error(r), KVSP_ERR_CALLBACK);
    assert_int_equal(kvsp_reader_run(r, &stop), KVSP_ERR_CALLBACK);
    kvsp_reader_destroy(r);
    event_list_free(&all);
    eb_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_status),
        cmocka_unit_test(test_element_table),
        cmocka_unit_test(test_unknown_sizes_end_at_non_descendants),
        cmocka_unit_test(test_known_sizes_and_overrun),
        cmocka_unit_test(test_unknown_ids_and_top_level),
        cmocka_unit_test(test_recursive_simple_tags),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_zero_copy),
        cmocka_unit_test(test_api_misuse_and_sticky_errors),
        cmocka_unit_test(test_visitor_pause_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
