/* The EBML header decoder (src/ebml/element_header.h) against RFC 8794's
 * own examples, and its two entries against each other.
 *
 * The reader's fast path and its byte-by-byte path, and the content
 * cursor's two, must read every header alike; they call the fast and the
 * slow entry. Here every header form of the first two bytes, with several
 * fillings behind, is decoded by both, and the slow entry fed every prefix
 * must ask for more bytes until the header is complete, never answering
 * differently before. The expected values come from RFC 8794 (sections
 * 4.4, 5, 6.2 and 7), not from this code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../src/ebml/element_header.h"

static int setup(void **state)
{
    (void)state;
    kvsp_element_tables_init();
    return 0;
}

/* The slow entry on the bytes alone. */
static int slow(const uint8_t *bytes, size_t n, uint32_t *id, uint64_t *size)
{
    return kvsp_ebml_header_slow(bytes, n, id, size);
}

/* The fast entry on the bytes at the start of 12, the rest `fill`. */
static unsigned fast(const uint8_t *bytes, size_t n, uint8_t fill, uint32_t *id, uint64_t *size)
{
    uint8_t buf[12];
    memset(buf, fill, sizeof buf);
    memcpy(buf, bytes, n);
    return kvsp_ebml_header_fast(buf, id, size);
}

static void expect_header(const uint8_t *bytes, size_t n, uint32_t want_id, uint64_t want_size)
{
    static const uint8_t fills[] = {0x00, 0xFF, 0x5A};
    uint32_t id = 0;
    uint64_t size = 0;
    assert_int_equal(slow(bytes, n, &id, &size), (int)n);
    assert_int_equal(id, want_id);
    assert_int_equal(size, want_size);
    for (size_t f = 0; f < sizeof fills; f++) {
        id = 0;
        size = 0;
        assert_int_equal(fast(bytes, n, fills[f], &id, &size), n);
        assert_int_equal(id, want_id);
        assert_int_equal(size, want_size);
    }
}

/* RFC 8794 section 4.4: the value 2 as a VINT of each length. */
static void test_rfc_size_lengths(void **state)
{
    (void)state;
    expect_header((const uint8_t[]){0x42, 0x86, 0x82}, 3, 0x4286, 2);
    expect_header((const uint8_t[]){0x42, 0x86, 0x40, 0x02}, 4, 0x4286, 2);
    expect_header((const uint8_t[]){0x42, 0x86, 0x20, 0x00, 0x02}, 5, 0x4286, 2);
    expect_header((const uint8_t[]){0x42, 0x86, 0x10, 0x00, 0x00, 0x02}, 6, 0x4286, 2);
    expect_header((const uint8_t[]){0x1A, 0x45, 0xDF, 0xA3, 0x01, 0, 0, 0, 0, 0, 0, 0x02}, 12,
                  KVSP_ID_EBML, 2);
    /* The largest known size of 8 bytes, one below all ones. */
    expect_header(
        (const uint8_t[]){0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE},
        12, KVSP_ID_SEGMENT, 0xFFFFFFFFFFFFFEull);
}

/* RFC 8794 section 6.2: all value bits set is the unknown size, at every
 * length; one less is a known size. */
static void test_rfc_unknown_sizes(void **state)
{
    (void)state;
    expect_header((const uint8_t[]){0x1F, 0x43, 0xB6, 0x75, 0xFF}, 5, KVSP_ID_CLUSTER,
                  KVSP_SIZE_UNKNOWN);
    expect_header((const uint8_t[]){0x1F, 0x43, 0xB6, 0x75, 0x7F, 0xFF}, 6, KVSP_ID_CLUSTER,
                  KVSP_SIZE_UNKNOWN);
    expect_header(
        (const uint8_t[]){0x1F, 0x43, 0xB6, 0x75, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
        12, KVSP_ID_CLUSTER, KVSP_SIZE_UNKNOWN);
    expect_header((const uint8_t[]){0x1F, 0x43, 0xB6, 0x75, 0xFE}, 5, KVSP_ID_CLUSTER, 0x7E);
    expect_header((const uint8_t[]){0x1F, 0x43, 0xB6, 0x75, 0x7F, 0xFE}, 6, KVSP_ID_CLUSTER,
                  0x3FFE);
}

/* RFC 8794 section 5: IDs whose value bits are all 0 or all 1 are
 * reserved, unless the schema defines one (Matroska's ChapterDisplay is
 * 0x80). A first byte of 0 or of a 5-8 byte ID, or a size byte of 0, is
 * no header. */
static void test_rfc_reserved_and_invalid(void **state)
{
    (void)state;
    uint32_t id;
    uint64_t size;
    expect_header((const uint8_t[]){0x80, 0x81}, 2, 0x80, 1);
    assert_int_equal(slow((const uint8_t[]){0xFF, 0x81}, 2, &id, &size), KVSP_ERR_INVALID_ID);
    assert_int_equal(slow((const uint8_t[]){0x40, 0x00, 0x81}, 3, &id, &size), KVSP_ERR_INVALID_ID);
    assert_int_equal(slow((const uint8_t[]){0x7F, 0xFF, 0x81}, 3, &id, &size), KVSP_ERR_INVALID_ID);
    assert_int_equal(slow((const uint8_t[]){0x3F, 0xFF, 0xFF, 0x81}, 4, &id, &size),
                     KVSP_ERR_INVALID_ID);
    assert_int_equal(slow((const uint8_t[]){0x10, 0x00, 0x00, 0x00, 0x81}, 5, &id, &size),
                     KVSP_ERR_INVALID_ID);
    assert_int_equal(slow((const uint8_t[]){0x1F, 0xFF, 0xFF, 0xFF, 0x81}, 5, &id, &size),
                     KVSP_ERR_INVALID_ID);
    assert_true(kvsp_ebml_id_refused(0xFF));
    assert_true(kvsp_ebml_id_refused(0x1FFFFFFF));
    assert_false(kvsp_ebml_id_refused(0x80));
    assert_false(kvsp_ebml_id_refused(0x4001));
    assert_true(kvsp_ebml_id_bits_reserved(0x80));
    /* The ID's first byte is judged before anything else arrives. */
    assert_int_equal(slow((const uint8_t[]){0x00}, 1, &id, &size), KVSP_ERR_INVALID_ID);
    assert_int_equal(slow((const uint8_t[]){0x08}, 1, &id, &size), KVSP_ERR_INVALID_ID);
    assert_int_equal(slow((const uint8_t[]){0x42, 0x86, 0x00}, 3, &id, &size),
                     KVSP_ERR_INVALID_SIZE);
    assert_int_equal(fast((const uint8_t[]){0x00}, 1, 0x81, &id, &size), 0);
    assert_int_equal(fast((const uint8_t[]){0x08}, 1, 0x81, &id, &size), 0);
    assert_int_equal(fast((const uint8_t[]){0x42, 0x86, 0x00}, 3, 0x81, &id, &size), 0);
}

/* Every first two bytes, behind them fillings that make the header as long
 * as it can be or end it early: both entries must agree, and the slow one
 * must not answer differently on any prefix. */
static void test_entries_agree(void **state)
{
    (void)state;
    static const uint8_t fills[] = {0x00, 0x01, 0x7F, 0x80, 0xFF};
    unsigned headers = 0;
    for (unsigned b0 = 0; b0 < 256; b0++) {
        for (unsigned b1 = 0; b1 < 256; b1++) {
            for (size_t f = 0; f < sizeof fills; f++) {
                uint8_t buf[12];
                memset(buf, fills[f], sizeof buf);
                buf[0] = (uint8_t)b0;
                buf[1] = (uint8_t)b1;
                uint32_t sid = 0, fid = 0;
                uint64_t ssize = 0, fsize = 0;
                int full = slow(buf, sizeof buf, &sid, &ssize);
                unsigned flen = kvsp_ebml_header_fast(buf, &fid, &fsize);
                assert_true(full != 0); /* 12 bytes always hold a header */
                if (full > 0) {
                    headers++;
                    assert_int_equal(flen, (unsigned)full);
                    assert_int_equal(fid, sid);
                    assert_int_equal(fsize, ssize);
                } else if (full == KVSP_ERR_INVALID_ID && flen) {
                    /* The fast entry leaves reserved IDs to its caller. */
                    assert_true(kvsp_ebml_id_refused(fid));
                } else {
                    assert_int_equal(flen, 0);
                }
                for (size_t n = 1; n < sizeof buf; n++) {
                    uint32_t pid = 0xDEAD;
                    uint64_t psize = 0xBEEF;
                    int part = slow(buf, n, &pid, &psize);
                    if (full > 0 && n >= (size_t)full) {
                        assert_int_equal(part, full);
                        continue;
                    }
                    if (full > 0)
                        assert_int_equal(part, 0); /* a header is never complete early */
                    else
                        assert_true(part == 0 || part == full);
                    if (part <= 0) {
                        assert_int_equal(pid, 0xDEAD); /* untouched */
                        assert_int_equal(psize, 0xBEEF);
                    }
                }
            }
        }
    }
    assert_true(headers > 100000);
}

/* RFC 8794 section 7: integers and dates of 0-8 octets, floats of 0, 4
 * or 8; the other types take any size. */
static void test_value_sizes(void **state)
{
    (void)state;
    for (uint64_t size = 0; size <= 16; size++) {
        int int_ok = size <= 8;
        int float_ok = size == 0 || size == 4 || size == 8;
        assert_int_equal(kvsp_ebml_value_size_status(KVSP_TYPE_UINT, size),
                         int_ok ? KVSP_OK : KVSP_ERR_BAD_INTEGER);
        assert_int_equal(kvsp_ebml_value_size_status(KVSP_TYPE_INT, size),
                         int_ok ? KVSP_OK : KVSP_ERR_BAD_INTEGER);
        assert_int_equal(kvsp_ebml_value_size_status(KVSP_TYPE_DATE, size),
                         int_ok ? KVSP_OK : KVSP_ERR_BAD_INTEGER);
        assert_int_equal(kvsp_ebml_value_size_status(KVSP_TYPE_FLOAT, size),
                         float_ok ? KVSP_OK : KVSP_ERR_BAD_FLOAT);
        assert_int_equal(kvsp_ebml_value_size_status(KVSP_TYPE_STRING, size), KVSP_OK);
        assert_int_equal(kvsp_ebml_value_size_status(KVSP_TYPE_UTF8, size), KVSP_OK);
        assert_int_equal(kvsp_ebml_value_size_status(KVSP_TYPE_BINARY, size), KVSP_OK);
        assert_int_equal(kvsp_ebml_value_size_status(KVSP_TYPE_UNKNOWN, size), KVSP_OK);
    }
    /* One-byte sizes: 0x80-0xFE, 0xFF being the unknown size; a first
     * byte without the marker starts a longer size. */
    for (unsigned b = 0; b < 256; b++) {
        unsigned v = kvsp_ebml_size1((uint8_t)b);
        if (b >= 0x80 && b < 0xFF)
            assert_int_equal(v, b - 0x80);
        else if (b == 0xFF)
            assert_int_equal(v, KVSP_EBML_SIZE1_UNKNOWN);
        else
            assert_true(v > KVSP_EBML_SIZE1_UNKNOWN);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_size_lengths),
        cmocka_unit_test(test_rfc_unknown_sizes),
        cmocka_unit_test(test_rfc_reserved_and_invalid),
        cmocka_unit_test(test_entries_agree),
        cmocka_unit_test(test_value_sizes),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
