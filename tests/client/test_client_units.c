/* Client pieces that need no server: start selectors, fragment-number
 * order, the metadata services' timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kvsparser/client.h"
#include "metadata_http.h"

static void test_start_selector(void **state)
{
    (void)state;
    kvsp_start_selector s;
    assert_int_equal(kvsp_start_selector_parse("earliest", &s), KVSP_OK);
    assert_int_equal(s.type, KVSP_START_EARLIEST);
    assert_int_equal(kvsp_start_selector_parse("now", &s), KVSP_OK);
    assert_int_equal(s.type, KVSP_START_NOW);
    assert_int_equal(kvsp_start_selector_parse("fragment:913438523331814323", &s), KVSP_OK);
    assert_int_equal(s.type, KVSP_START_FRAGMENT_NUMBER);
    assert_string_equal(s.value, "913438523331814323");
    assert_int_equal(kvsp_start_selector_parse("continuation:abc", &s), KVSP_OK);
    assert_int_equal(s.type, KVSP_START_CONTINUATION_TOKEN);
    assert_int_equal(kvsp_start_selector_parse("producer-ts:1511852108.513", &s), KVSP_OK);
    assert_int_equal(s.type, KVSP_START_PRODUCER_TIMESTAMP);
    assert_true(s.timestamp == 1511852108.513);
    assert_int_equal(kvsp_start_selector_parse("server-ts:5", &s), KVSP_OK);
    assert_int_equal(s.type, KVSP_START_SERVER_TIMESTAMP);
    const char *bad[] = {
        "", "later", "fragment:", "server-ts:x", "producer-ts:-1", "continuation:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(kvsp_start_selector_parse(bad[i], &s), KVSP_ERR_INVALID_ARG);
}

static void test_fragment_number_order(void **state)
{
    (void)state;
    /* As text "9" > "10"; as numbers it is the other way round. */
    assert_true(kvsp_fragment_number_cmp("9", "10") < 0);
    assert_true(kvsp_fragment_number_cmp("91343852333181432392682062607743920146159169392",
                                         "91343852333181432397633822764885441725874549018") < 0);
    assert_true(kvsp_fragment_number_cmp("0010", "10") == 0);
    assert_true(kvsp_fragment_number_cmp("100000000000000000000000000000000000000000000000",
                                         "99999999999999999999999999999999999999999999999") > 0);
}

static void test_parse_time(void **state)
{
    (void)state;
    int64_t t = 1;
    assert_int_equal(kvsp_md_parse_time("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    static const char *const same[] = {"2024-02-29T12:00:00Z", "2024-02-29T12:00:00.123456Z",
                                       "2024-02-29T14:00:00+02:00", "2024-02-29T07:30:00-0430",
                                       "2024-02-29t12:00:00z"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        assert_int_equal(kvsp_md_parse_time(same[i], &t), 0);
        assert_int_equal(t, 1709208000);
    }
    assert_int_equal(kvsp_md_parse_time("2000-03-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 951868800);
    assert_int_equal(kvsp_md_parse_time("2100-02-28T23:59:59Z", &t), 0);
    assert_int_equal(t, 4107542399);
    static const char *const bad[] = {"2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
                                      "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z",
                                      "2024-01-01T00:00:00",  "2024-01-01T00:00:00Zx",
                                      "2024-01-01",           "",
                                      "2024-01-01T00:00:00.Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (kvsp_md_parse_time(bad[i], &t) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_selector),
        cmocka_unit_test(test_fragment_number_order),
        cmocka_unit_test(test_parse_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
