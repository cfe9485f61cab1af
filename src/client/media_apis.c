#define _POSIX_C_SOURCE 200809L
/* GetMedia, ListFragments and GetMediaForFragmentList on the stream's data
 * endpoint. A call that fails with InvalidEndpointException is retried once
 * after fetching the endpoint again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc_internal.h"
#include "client_internal.h"
#include "fragment_list.h"
#include "retry.h"

#define FRAGMENTS_PER_REQUEST 1000

static int post_json(kvsp_client *c, const char *stream, const char *api, const char *path,
                     json_t *body, kvsp_body_cb cb, void *user, http_call *out)
{
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text)
        return kvsp_client_fail(c, KVSP_ERR_NOMEM, "out of memory");
    int rc = KVSP_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        const char *url;
        rc = kvsp_endpoint_for(c, stream, api, &url);
        if (rc < 0)
            break;
        http_call call = {url, path, text, cb, user, NULL, 0, 0, ""};
        rc = kvsp_http_post(c, &call);
        int stale =
            rc == KVSP_ERR_SERVICE && strcmp(call.error_type, "InvalidEndpointException") == 0;
        if (out && rc == KVSP_OK)
            *out = call;
        else
            kvsp_http_call_free(&call);
        if (!stale)
            break;
        kvsp_endpoint_forget(c, stream, api);
    }
    free(text);
    return rc;
}

static const char *start_type_name(kvsp_start_type t)
{
    static const char *const names[] = {"NOW",
                                        "EARLIEST",
                                        "FRAGMENT_NUMBER",
                                        "SERVER_TIMESTAMP",
                                        "PRODUCER_TIMESTAMP",
                                        "CONTINUATION_TOKEN"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "NOW";
}

json_t *kvsp_get_media_request(const char *stream, const kvsp_start_selector *start)
{
    json_t *req = kvsp_stream_body(stream);
    json_t *sel = json_object();
    json_object_set_new(sel, "StartSelectorType", json_string(start_type_name(start->type)));
    if (start->type == KVSP_START_FRAGMENT_NUMBER)
        json_object_set_new(sel, "AfterFragmentNumber",
                            json_string(start->value ? start->value : ""));
    if (start->type == KVSP_START_CONTINUATION_TOKEN)
        json_object_set_new(sel, "ContinuationToken",
                            json_string(start->value ? start->value : ""));
    if (start->type == KVSP_START_SERVER_TIMESTAMP || start->type == KVSP_START_PRODUCER_TIMESTAMP)
        json_object_set_new(sel, "StartTimestamp", json_real(start->timestamp));
    json_object_set_new(req, "StartSelector", sel);
    return req;
}

int kvsp_client_get_media(kvsp_client *c, const char *stream, const kvsp_start_selector *start,
                          kvsp_body_cb body, void *user)
{
    if (!c)
        return KVSP_ERR_INVALID_ARG;
    kvsp_client_clear_error(c);
    if (!stream || !start || !body)
        return kvsp_client_fail(c, KVSP_ERR_INVALID_ARG,
                                "GetMedia: no stream, start or body callback");
    json_t *req = kvsp_get_media_request(stream, start);
    int rc = post_json(c, stream, "GET_MEDIA", "/getMedia", req, body, user, NULL);
    json_decref(req);
    return rc;
}

static int cmp_fragments(const void *a, const void *b)
{
    return kvsp_fragment_number_cmp(((const kvsp_listed_fragment *)a)->fragment_number,
                                    ((const kvsp_listed_fragment *)b)->fragment_number);
}

int kvsp_client_list_fragments(kvsp_client *c, const char *stream, kvsp_timestamp_type type,
                               double from, double to, kvsp_listed_fragment **out, size_t *count)
{
    return kvsp_list_fragments_retrying(c, stream, type, from, to, out, count, 1);
}

/* Throttling (ClientLimitExceededException) of one page is waited out and
 * that page asked again, so a long listing is not started over. */
static int throttled_page(kvsp_client *c, int attempt, int attempts, unsigned *rng)
{
    if (attempt + 1 >= attempts || c->error_status != KVSP_ERR_SERVICE ||
        (strcmp(c->error_exception, "ClientLimitExceededException") != 0 &&
         strcmp(c->error_exception, "ConnectionLimitExceededException") != 0))
        return 0;
    kvsp_sleep_ms(kvsp_backoff_ms(attempt + 1, 200, 10000, rng));
    return 1;
}

int kvsp_list_fragments_retrying(kvsp_client *c, const char *stream, kvsp_timestamp_type type,
                                 double from, double to, kvsp_listed_fragment **out, size_t *count,
                                 int attempts)
{
    if (!c)
        return KVSP_ERR_INVALID_ARG;
    kvsp_client_clear_error(c);
    if (!stream || !out || !count)
        return kvsp_client_fail(c, KVSP_ERR_INVALID_ARG, "ListFragments: no stream or output");
    *out = NULL;
    *count = 0;
    fragment_list list = {NULL, 0, 0};
    char *next = NULL;
    int rc;
    do {
        json_t *req = kvsp_stream_body(stream);
        json_object_set_new(req, "MaxResults", json_integer(1000));
        if (next)
            json_object_set_new(req, "NextToken", json_string(next));
        if (type != KVSP_TIMESTAMP_NONE) {
            json_t *range = json_pack("{s:f,s:f}", "StartTimestamp", from, "EndTimestamp", to);
            json_object_set_new(
                req, "FragmentSelector",
                json_pack("{s:s,s:o}", "FragmentSelectorType",
                          type == KVSP_TIMESTAMP_SERVER ? "SERVER_TIMESTAMP" : "PRODUCER_TIMESTAMP",
                          "TimestampRange", range));
        }
        http_call call;
        unsigned rng = 0x2545F491u;
        for (int attempt = 0;; attempt++) {
            rc = post_json(c, stream, "LIST_FRAGMENTS", "/listFragments", req, NULL, NULL, &call);
            if (rc == KVSP_OK || !throttled_page(c, attempt, attempts, &rng))
                break;
        }
        json_decref(req);
        kvsp_ext_free(next);
        next = NULL;
        if (rc < 0)
            break;
        rc = kvsp_fragment_list_page(call.response, call.response_len, &list, &next, c->error,
                                     sizeof c->error);
        c->error_status = rc;
        kvsp_http_call_free(&call);
    } while (rc == KVSP_OK && next);
    kvsp_ext_free(next);
    if (rc < 0) {
        kvsp_ext_free(list.items);
        return rc;
    }
    /* Fragment numbers are 47-digit decimals: sorted as numbers, not text. */
    if (list.count)
        qsort(list.items, list.count, sizeof *list.items, cmp_fragments);
    *out = list.items;
    *count = list.count;
    return KVSP_OK;
}

void kvsp_client_free(void *p)
{
    kvsp_ext_free(p);
}

int kvsp_client_get_media_for_fragment_list(kvsp_client *c, const char *stream,
                                            const char *const *fragments, size_t count,
                                            kvsp_body_cb body, void *user)
{
    if (!c)
        return KVSP_ERR_INVALID_ARG;
    kvsp_client_clear_error(c);
    if (!stream || (count && !fragments) || !body)
        return kvsp_client_fail(c, KVSP_ERR_INVALID_ARG,
                                "GetMediaForFragmentList: no stream, fragments or body callback");
    int rc = KVSP_OK;
    for (size_t first = 0; first < count && rc == KVSP_OK; first += FRAGMENTS_PER_REQUEST) {
        size_t n = count - first < FRAGMENTS_PER_REQUEST ? count - first : FRAGMENTS_PER_REQUEST;
        json_t *req = kvsp_stream_body(stream);
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, json_string(fragments[first + i]));
        json_object_set_new(req, "Fragments", list);
        rc = post_json(c, stream, "GET_MEDIA_FOR_FRAGMENT_LIST", "/getMediaForFragmentList", req,
                       body, user, NULL);
        json_decref(req);
    }
    return rc;
}
