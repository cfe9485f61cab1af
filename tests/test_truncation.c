/* Input cut at every byte: the reader must end with a clear truncation error
 * (or DONE when the cut falls where an unknown-size stream may legally end),
 * and must have delivered every element that was complete before the cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reader_events.h"
#include "test_util.h"

static int same_event(const event_record *a, const event_record *b)
{
    return a->type == b->type && a->id == b->id && a->offset == b->offset && a->size == b->size &&
           a->depth == b->depth && a->data_size == b->data_size &&
           memcmp(a->data_head, b->data_head, sizeof a->data_head) == 0;
}

static void check_cut(const uint8_t *data, size_t cut, const event_list *full)
{
    event_list ev;
    int st = collect_events(data, cut, NULL, 0, &ev);
    if (st != KVSP_DONE && st != KVSP_ERR_TRUNCATED) {
        print_error("cut at %zu: status %s\n", cut, kvsp_status_name(st));
        fail();
    }
    if (st == KVSP_ERR_TRUNCATED && (ev.error_offset >= cut && cut > 0)) {
        print_error("cut at %zu: error offset %llu not before the cut\n", cut,
                    (unsigned long long)ev.error_offset);
        fail();
    }
    /* Events before the cut are the full run's, in order; after them only END
     * events of unknown-size masters closed by the end of input may follow. */
    int k = 0;
    while (k < ev.count && k < full->count && same_event(&ev.items[k], &full->items[k]))
        k++;
    for (int j = k; j < ev.count; j++) {
        if (ev.items[j].type != KVSP_EV_END || ev.items[j].size != KVSP_SIZE_UNKNOWN ||
            ev.items[j].end_offset != cut) {
            print_error("cut at %zu: event %d (%s) differs from the full run\n", cut, j,
                        ev.items[j].name);
            fail();
        }
    }
    /* Nothing complete is lost. */
    int want_data = 0, want_start = 0;
    for (int j = 0; j < full->count; j++) {
        const event_record *e = &full->items[j];
        if (e->type == KVSP_EV_DATA && e->end_offset <= cut)
            want_data++;
        if (e->type == KVSP_EV_START && e->offset + e->header_size <= cut)
            want_start++;
    }
    int got_data = 0, got_start = 0;
    for (int j = 0; j < ev.count; j++) {
        got_data += ev.items[j].type == KVSP_EV_DATA;
        got_start += ev.items[j].type == KVSP_EV_START;
    }
    if (got_data != want_data || got_start != want_start) {
        print_error("cut at %zu: %d data / %d starts delivered, %d / %d complete\n", cut, got_data,
                    got_start, want_data, want_start);
        fail();
    }
    event_list_free(&ev);
}

static void test_file(void **state)
{
    const char *path = *state;
    uint8_t *data;
    size_t len;
    assert_int_equal(load_file(path, &data, &len), 0);
    event_list full;
    int st = collect_events(data, len, NULL, 0, &full);
    assert_true(st == KVSP_DONE || st == KVSP_ERR_TRUNCATED);
    size_t step = len > 200000 ? len / 3000 : 1; /* every byte of small files */
    for (size_t cut = 0; cut < len; cut += step)
        check_cut(data, cut, &full);
    event_list_free(&full);
    free(data);
}

int main(int argc, char **argv)
{
    struct CMUnitTest *tests = calloc((size_t)argc, sizeof *tests);
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            kvsp_test_skipped_part("%s absent", argv[i]);
            continue;
        }
        fclose(f);
        struct CMUnitTest t = {argv[i], test_file, NULL, NULL, argv[i]};
        tests[n++] = t;
    }
    if (argc < 2) {
        free(tests);
        return kvsp_test_skip("no input file given");
    }
    int failed = n ? _cmocka_run_group_tests("truncation", tests, n, NULL, NULL) : 0;
    free(tests);
    return kvsp_test_status(failed);
}
