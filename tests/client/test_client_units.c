/* Client pieces that need no server: start selectors and fragment-number
 * order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kvsparser/client.h"

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
    const char *bad[] = {"", "later", "fragment:", "server-ts:x", "producer-ts:-1", "continuation:"};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_selector),
        cmocka_unit_test(test_fragment_number_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
