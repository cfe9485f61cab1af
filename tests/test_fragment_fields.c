/* The TrackEntry and Info field tables (src/visitors/fragment_fields.h):
 * every row fits the schema's element table, and every row reaches its field
 * through the fragment visitor on one hand-built fragment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../src/visitors/fragment_fields.h"
#include "ebml_builder.h"
#include "test_util.h"

/* A float element of 8 bytes, big-endian. */
static void eb_double(ebml_buf *b, uint32_t id, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(bits >> (56 - 8 * i));
    eb_binary(b, id, be, sizeof be);
}

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

/* Every row of the track and info field tables, with the rules their
 * flags carry (kvsparser/fragment.h): a TimestampScale of 0 keeps the
 * default, Duration is marked present, Language wins over LanguageBCP47,
 * which fills the language only when Language is absent. */
static void test_fragment_track_and_info_rows(void **state)
{
    (void)state;
    ebml_buf b = {0};
    eb_ebml_header(&b);
    size_t seg = eb_begin(&b, KVSP_ID_SEGMENT);
    size_t info = eb_begin(&b, KVSP_ID_INFO);
    eb_uint(&b, KVSP_ID_TIMECODE_SCALE, 0);
    eb_double(&b, KVSP_ID_DURATION, 1234.5);
    eb_string(&b, KVSP_ID_TITLE, "t");
    eb_string(&b, KVSP_ID_MUXING_APP, "mux");
    eb_string(&b, KVSP_ID_WRITING_APP, "wr");
    eb_end(&b, info);
    size_t tracks = eb_begin(&b, KVSP_ID_TRACKS);
    size_t te = eb_begin(&b, KVSP_ID_TRACK_ENTRY);
    eb_uint(&b, KVSP_ID_TRACK_NUMBER, 1);
    eb_uint(&b, KVSP_ID_TRACK_UID, 99);
    eb_uint(&b, KVSP_ID_TRACK_TYPE, KVSP_TRACK_AUDIO);
    eb_string(&b, KVSP_ID_NAME, "mic");
    eb_string(&b, KVSP_ID_LANGUAGE, "eng");
    eb_string(&b, KVSP_ID_LANGUAGE_BCP47, "en-US");
    eb_uint(&b, KVSP_ID_DEFAULT_DURATION, 20000000);
    size_t audio = eb_begin(&b, KVSP_ID_AUDIO);
    eb_double(&b, KVSP_ID_SAMPLING_FREQUENCY, 44100.0);
    eb_double(&b, KVSP_ID_OUTPUT_SAMPLING_FREQUENCY, 88200.0);
    eb_uint(&b, KVSP_ID_CHANNELS, 2);
    eb_uint(&b, KVSP_ID_BIT_DEPTH, 24);
    eb_end(&b, audio);
    eb_end(&b, te);
    te = eb_begin(&b, KVSP_ID_TRACK_ENTRY);
    eb_uint(&b, KVSP_ID_TRACK_NUMBER, 2);
    eb_string(&b, KVSP_ID_LANGUAGE_BCP47, "fr");
    size_t video = eb_begin(&b, KVSP_ID_VIDEO);
    eb_uint(&b, KVSP_ID_DISPLAY_WIDTH, 16);
    eb_uint(&b, KVSP_ID_DISPLAY_HEIGHT, 9);
    eb_end(&b, video);
    eb_end(&b, te);
    eb_end(&b, tracks);
    eb_end(&b, seg);

    kvsp_fragment_visitor *meta = keeping_visitor();
    kvsp_visitor v = kvsp_fragment_visitor_visitor(meta);
    kvsp_reader *r = kvsp_reader_create(NULL);
    assert_int_equal(kvsp_reader_push(r, b.data, b.len, &v), KVSP_NEED_DATA);
    kvsp_reader_finish(r);
    assert_int_equal(kvsp_reader_run(r, &v), KVSP_DONE);
    const kvsp_fragment *f = last_fragment;
    assert_non_null(f);
    assert_int_equal(f->info.timecode_scale, 1000000);
    assert_true(f->info.has_duration);
    assert_true(f->info.duration == 1234.5);
    assert_string_equal(f->info.title, "t");
    assert_string_equal(f->info.muxing_app, "mux");
    assert_string_equal(f->info.writing_app, "wr");
    assert_int_equal(f->track_count, 2);
    const kvsp_track *t = &f->tracks[0];
    assert_int_equal(t->present, KVSP_TRACK_HAS_NUMBER | KVSP_TRACK_HAS_UID | KVSP_TRACK_HAS_TYPE |
                                     KVSP_TRACK_HAS_DEFAULT_DURATION |
                                     KVSP_TRACK_HAS_SAMPLING_FREQUENCY |
                                     KVSP_TRACK_HAS_OUTPUT_SAMPLING_FREQUENCY |
                                     KVSP_TRACK_HAS_CHANNELS | KVSP_TRACK_HAS_BIT_DEPTH);
    assert_int_equal(t->uid, 99);
    assert_int_equal(t->type, KVSP_TRACK_AUDIO);
    assert_string_equal(t->name, "mic");
    assert_string_equal(t->language, "eng");
    assert_int_equal(t->default_duration_ns, 20000000);
    assert_true(t->sampling_frequency == 44100.0);
    assert_true(t->output_sampling_frequency == 88200.0);
    assert_int_equal(t->channels, 2);
    assert_int_equal(t->bit_depth, 24);
    t = &f->tracks[1];
    assert_int_equal(t->present, KVSP_TRACK_HAS_NUMBER | KVSP_TRACK_HAS_DISPLAY_WIDTH |
                                     KVSP_TRACK_HAS_DISPLAY_HEIGHT);
    assert_string_equal(t->language, "fr");
    assert_int_equal(t->display_width, 16);
    assert_int_equal(t->display_height, 9);
    kvsp_reader_destroy(r);
    kvsp_fragment_visitor_destroy(meta);
    eb_free(&b);
}

/* The rows of the track and info field tables (fragment_fields.h) agree
 * with the element table generated from the Matroska schema: each element
 * exists, has the type its field stores and lies under TrackEntry or Info;
 * no key is shown twice. */
static int schema_type_fits(const kvsp_field *f, kvsp_type type)
{
    switch ((kvsp_field_type)f->type) {
    case KVSP_FIELD_UINT: return type == KVSP_TYPE_UINT;
    case KVSP_FIELD_FLOAT: return type == KVSP_TYPE_FLOAT;
    case KVSP_FIELD_STRING: return type == KVSP_TYPE_STRING || type == KVSP_TYPE_UTF8;
    case KVSP_FIELD_BINARY: return type == KVSP_TYPE_BINARY;
    }
    return 0;
}

static void check_field_rows(const kvsp_field *table, size_t count, uint32_t master)
{
    for (size_t i = 0; i < count; i++) {
        const kvsp_element_info *e = kvsp_element_lookup(table[i].id);
        assert_non_null(e);
        assert_true(schema_type_fits(&table[i], e->type));
        const kvsp_element_info *up = e;
        while (up && up->id != master)
            up = up->parent_id ? kvsp_element_lookup(up->parent_id) : NULL;
        assert_non_null(up);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(table[j].id, table[i].id);
            if (table[i].key && table[j].key)
                assert_string_not_equal(table[j].key, table[i].key);
        }
    }
}

static void test_fragment_field_tables(void **state)
{
    (void)state;
    check_field_rows(kvsp_track_fields, KVSP_TRACK_FIELD_COUNT, KVSP_ID_TRACK_ENTRY);
    check_field_rows(kvsp_info_fields, KVSP_INFO_FIELD_COUNT, KVSP_ID_INFO);
    /* fragment_json.c shows the first Info row apart from the others. */
    assert_int_equal(kvsp_info_fields[0].id, KVSP_ID_TIMECODE_SCALE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fragment_field_tables),
        cmocka_unit_test(test_fragment_track_and_info_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
