/* Allocation failure in the client library's own code, through
 * kvsp_set_allocator (and Jansson's allocator, for the JSON it parses):
 * making the i-th allocation fail, for every i a clean run reaches, gives
 * KVSP_ERR_NOMEM (or, where the fragment visitor retries, the clean run's
 * result exactly); making it and every later one fail, KVSP_ERR_NOMEM; never
 * a crash, never a leak.
 *  - the fragment splitter (the consumer's front) fed a GetMedia capture in
 *    16 KiB pieces: every fragment of a run that succeeds, each once;
 *  - ListFragments parsing over three pages (fragment_list.c);
 *  - a consumer with three streams created and destroyed (consumer.c).
 * Jansson's own allocations are not failed: Jansson 2.14 stops on
 * assert(0) in lex_scan_string (load.c:442) when one inside a string
 * fails, so its out-of-memory handling cannot be tested from here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "fragment_list.h"
#include "kvsparser/consumer.h"
#include "fragment_splitter.h"
#include "counting_alloc.h"
#include "test_util.h"

static const char *captures;

typedef struct delivered {
    size_t fragments;
    uint64_t bytes;
    uint64_t digest; /* FNV-1a over each fragment's bytes and record */
} delivered;

static void digest(uint64_t *h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        *h = (*h ^ p[i]) * 1099511628211ull;
}

static void digest_string(uint64_t *h, const char *s)
{
    digest(h, s ? s : "(none)", s ? strlen(s) + 1 : 6);
}

static int on_fragment(void *user, const uint8_t *bytes, size_t len, const kvsp_fragment *f)
{
    delivered *d = user;
    assert_non_null(bytes);
    assert_true(f->complete);
    d->fragments++;
    d->bytes += len;
    digest(&d->digest, bytes, len);
    digest_string(&d->digest, f->fragment_number);
    digest_string(&d->digest, f->continuation_token);
    digest(&d->digest, &f->producer_timestamp_ms, sizeof f->producer_timestamp_ms);
    digest(&d->digest, &f->server_timestamp_ms, sizeof f->server_timestamp_ms);
    digest(&d->digest, &f->millis_behind_now, sizeof f->millis_behind_now);
    digest(&d->digest, &f->present, sizeof f->present);
    digest(&d->digest, &f->track_count, sizeof f->track_count);
    for (size_t i = 0; i < f->track_count; i++) {
        digest(&d->digest, &f->tracks[i].number, sizeof f->tracks[i].number);
        digest_string(&d->digest, f->tracks[i].codec_id);
    }
    digest(&d->digest, &f->tag_count, sizeof f->tag_count);
    for (size_t i = 0; i < f->tag_count; i++) {
        digest_string(&d->digest, f->tags[i].name);
        digest_string(&d->digest, f->tags[i].value);
    }
    return KVSP_OK;
}

static int split_once(const uint8_t *data, size_t len, delivered *d)
{
    fragment_splitter s;
    memset(d, 0, sizeof *d);
    d->digest = 14695981039346656037ull;
    int rc = kvsp_splitter_init(&s, 64u << 20, 1);
    for (size_t at = 0; rc == KVSP_OK && at < len; at += 16384)
        rc = kvsp_splitter_feed(&s, data + at, len - at < 16384 ? len - at : 16384, on_fragment, d);
    if (rc == KVSP_OK) {
        rc = kvsp_splitter_end_of_response(&s, on_fragment, d);
        rc = rc < 0 ? rc : KVSP_OK; /* 1: a partial fragment at the end */
    }
    kvsp_splitter_free(&s);
    return rc;
}

static void test_splitter_allocation_failures(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/output_get_media.mkv", captures);
    uint8_t *data;
    size_t len;
    if (load_file(path, &data, &len) != 0)
        kvsp_test_skip_case("capture output_get_media.mkv absent");
    kvsp_set_allocator(&counting_allocator);
    delivered want, got;
    counting_reset(0);
    assert_int_equal(split_once(data, len, &want), KVSP_OK);
    assert_int_equal(counted_live, 0);
    long total = counted_allocations;
    assert_int_equal(want.fragments, 5); /* as its README says */
    assert_true(total > 5);
    long failed = 0;
    for (long i = 1; i <= total; i++) {
        counting_reset(i);
        int rc = split_once(data, len, &got);
        assert_true(counted_allocations >= i); /* the failure was reached */
        assert_int_equal(counted_live, 0);     /* nothing leaked */
        if (rc == KVSP_OK) {
            /* only where the fragment visitor reads a master again from
             * the reader's events: then every fragment, as it was */
            assert_int_equal(got.fragments, want.fragments);
            assert_true(got.bytes == want.bytes);
            assert_true(got.digest == want.digest);
        } else {
            assert_int_equal(rc, KVSP_ERR_NOMEM);
            assert_true(got.fragments <= want.fragments);
            failed++;
        }
        /* memory that stays short: a retry fails as well */
        counting_fail_from(i);
        assert_int_equal(split_once(data, len, &got), KVSP_ERR_NOMEM);
        assert_true(got.fragments <= want.fragments);
        assert_int_equal(counted_live, 0);
    }
    assert_true(failed > 0); /* the hook does reach the splitter's allocations */
    fprintf(stderr,
            "splitter: %zu fragments, %ld allocations, each failed in turn (%ld runs failed, the "
            "others retried to the same fragments); each with the rest: every run failed\n",
            want.fragments, total, failed);
    kvsp_set_allocator(NULL);
    free(data);
}

/* Three pages as ListFragments sends them, 40 fragments each. */
static char *page(int k)
{
    json_t *list = json_array();
    for (int i = 0; i < 40; i++) {
        char number[64];
        snprintf(number, sizeof number, "9134385233318143239268206260774392014615916%04d",
                 k * 40 + i);
        json_array_append_new(list, json_pack("{s:s,s:f,s:f,s:i,s:i}", "FragmentNumber", number,
                                              "ProducerTimestamp", 1700000000.5 + k * 40 + i,
                                              "ServerTimestamp", 1700000000.75 + k * 40 + i,
                                              "FragmentLengthInMilliseconds", 1000,
                                              "FragmentSizeInBytes", 50000 + i));
    }
    json_t *doc = json_pack("{s:o}", "Fragments", list);
    if (k < 2)
        json_object_set_new(doc, "NextToken", json_string(k ? "token-2" : "token-1"));
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

static int list_once(char *const *pages, fragment_list *list)
{
    char why[256];
    memset(list, 0, sizeof *list);
    int rc = KVSP_OK;
    for (int k = 0; k < 3 && rc == KVSP_OK; k++) {
        char *next = NULL;
        rc = kvsp_fragment_list_page(pages[k], strlen(pages[k]), list, &next, why, sizeof why);
        if (rc == KVSP_OK)
            assert_true((next != NULL) == (k < 2));
        kvsp_client_free(next);
    }
    return rc;
}

/* "NextToken": null ends the list, like an absent token; a number is still
 * not a token. */
static void test_list_fragments_null_token(void **state)
{
    (void)state;
    static const char last[] = "{\"Fragments\":[],\"NextToken\":null}";
    static const char wrong[] = "{\"Fragments\":[],\"NextToken\":7}";
    char why[256];
    fragment_list list = {0};
    char *next = NULL;
    assert_int_equal(kvsp_fragment_list_page(last, strlen(last), &list, &next, why, sizeof why),
                     KVSP_OK);
    assert_null(next);
    assert_int_equal(kvsp_fragment_list_page(wrong, strlen(wrong), &list, &next, why, sizeof why),
                     KVSP_ERR_SERVICE);
    assert_null(next);
    static const char nulls[] =
        "{\"Fragments\":[{\"FragmentNumber\":\"12\",\"ProducerTimestamp\":null,"
        "\"ServerTimestamp\":null,\"FragmentLengthInMilliseconds\":null,"
        "\"FragmentSizeInBytes\":null}]}";
    assert_int_equal(kvsp_fragment_list_page(nulls, strlen(nulls), &list, &next, why, sizeof why),
                     KVSP_OK);
    assert_int_equal(list.count, 1);
    assert_true(list.items[0].size == 0 && list.items[0].length_ms == 0);
    /* fragment numbers of KVSP_FRAGMENT_NUMBER_MAX digits are taken, one more is not */
    for (int extra = 0; extra < 2; extra++) {
        char doc[400];
        int n = snprintf(doc, sizeof doc, "{\"Fragments\":[{\"FragmentNumber\":\"");
        memset(doc + n, '9', KVSP_FRAGMENT_NUMBER_MAX + extra);
        snprintf(doc + n + KVSP_FRAGMENT_NUMBER_MAX + extra,
                 sizeof doc - (size_t)n - KVSP_FRAGMENT_NUMBER_MAX - 2, "\"}]}");
        int want = extra ? KVSP_ERR_SERVICE : KVSP_OK;
        assert_int_equal(kvsp_fragment_list_page(doc, strlen(doc), &list, &next, why, sizeof why),
                         want);
    }
    assert_int_equal(list.count, 2);
    assert_int_equal(strlen(list.items[1].fragment_number), KVSP_FRAGMENT_NUMBER_MAX);
    kvsp_client_free(list.items);
}

static void test_list_fragments_allocation_failures(void **state)
{
    (void)state;
    char *pages[3] = {page(0), page(1), page(2)};
    kvsp_set_allocator(&counting_allocator);
    fragment_list want, got;
    counting_reset(0);
    assert_int_equal(list_once(pages, &want), KVSP_OK);
    long total = counted_allocations;
    assert_int_equal(want.count, 120);
    assert_string_equal(want.items[119].fragment_number,
                        "91343852333181432392682062607743920146159160119");
    assert_true(want.items[3].producer_timestamp_ms == 1700000003500);
    kvsp_client_free(want.items);
    assert_int_equal(counted_live, 0);
    long failed = 0;
    for (long i = 1; i <= total; i++) {
        counting_reset(i);
        if (getenv("KVSP_TEST_TRACE"))
            fprintf(stderr, "failing allocation %ld of %ld\n", i, total);
        /* nothing here retries: every failure is one */
        int rc = list_once(pages, &got);
        kvsp_client_free(got.items);
        assert_int_equal(counted_live, 0);
        assert_int_equal(rc, KVSP_ERR_NOMEM);
        failed++;
        counting_fail_from(i);
        rc = list_once(pages, &got);
        kvsp_client_free(got.items);
        assert_int_equal(rc, KVSP_ERR_NOMEM);
        assert_int_equal(counted_live, 0);
    }
    assert_true(failed > 0);
    fprintf(stderr,
            "ListFragments: 3 pages, %ld allocations, each failed in turn (%ld runs failed)\n",
            total, failed);
    kvsp_set_allocator(NULL);
    for (int k = 0; k < 3; k++)
        free(pages[k]);
}

/* A consumer with three streams (visitor: each gets a reader and a
 * splitter), created and destroyed without connecting. */
static int consumer_once(kvsp_client *client)
{
    kvsp_consumer *c = kvsp_consumer_create(client, NULL);
    if (!c)
        return KVSP_ERR_NOMEM;
    kvsp_visitor v;
    memset(&v, 0, sizeof v);
    int rc = KVSP_OK;
    const char *names[] = {"a", "b", "arn:aws:kinesisvideo:us-west-2:123456789012:stream/c/1"};
    for (int i = 0; i < 3 && rc >= 0; i++) {
        kvsp_stream_options o;
        memset(&o, 0, sizeof o);
        o.stream = names[i];
        o.visitor = &v;
        o.start.type = KVSP_START_CONTINUATION_TOKEN;
        o.start.value = "91343852333181432392682062607743920146159169392";
        rc = kvsp_consumer_add(c, &o);
    }
    if (rc >= 0 && kvsp_consumer_stream_count(c) != 3)
        rc = KVSP_ERR_INVALID_ARG;
    kvsp_consumer_destroy(c);
    return rc < 0 ? rc : KVSP_OK;
}

static void test_consumer_allocation_failures(void **state)
{
    (void)state;
    kvsp_client_options o;
    memset(&o, 0, sizeof o);
    o.region = "us-west-2";
    o.endpoint_url = "http://127.0.0.1:9"; /* never contacted */
    kvsp_client *client = kvsp_client_create(&o, NULL);
    assert_non_null(client);
    kvsp_set_allocator(&counting_allocator);
    counting_reset(0);
    assert_int_equal(consumer_once(client), KVSP_OK);
    long total = counted_allocations;
    assert_int_equal(counted_live, 0);
    for (long i = 1; i <= total; i++) {
        counting_reset(i);
        assert_int_equal(consumer_once(client), KVSP_ERR_NOMEM);
        assert_int_equal(counted_live, 0);
        counting_fail_from(i);
        assert_int_equal(consumer_once(client), KVSP_ERR_NOMEM);
        assert_int_equal(counted_live, 0);
    }
    fprintf(stderr,
            "consumer: 3 streams, %ld allocations, each failed in turn, alone and with the rest\n",
            total);
    kvsp_set_allocator(NULL);
    kvsp_client_destroy(client);
}

int main(int argc, char **argv)
{
    captures = argc > 1 ? argv[1] : ".";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splitter_allocation_failures),
        cmocka_unit_test(test_list_fragments_null_token),
        cmocka_unit_test(test_list_fragments_allocation_failures),
        cmocka_unit_test(test_consumer_allocation_failures),
    };
    return kvsp_test_status(cmocka_run_group_tests(tests, NULL, NULL));
}
