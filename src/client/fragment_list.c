/* One ListFragments answer into kvsp_listed_fragment records. The answer is
 * checked rather than trusted: a truncated or non-JSON body, a list of the
 * wrong shape or a fragment number that does not fit are errors naming what
 * is wrong, never records with empty or cut numbers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../alloc_internal.h"
#include "fragment_list.h"

/* "ListFragments: [fragment N: ]what". */
static int bad(char *why, size_t why_size, const char *what, const char *detail, size_t index)
{
    char where[64] = "";
    if (index != (size_t)-1)
        snprintf(where, sizeof where, "fragment %zu: ", index);
    snprintf(why, why_size, "ListFragments: %s%s%s", where, what, detail ? detail : "");
    return KVSP_ERR_SERVICE;
}

/* Epoch seconds with milliseconds, as KVS sends them. */
static int take_ms(json_t *item, const char *key, int64_t *out)
{
    json_t *v = json_object_get(item, key);
    if (!v || json_is_null(v)) { /* optional: null is absent */
        *out = 0;
        return 0;
    }
    double seconds = json_number_value(v);
    if (!json_is_number(v) || !isfinite(seconds) || fabs(seconds) > 1e13)
        return -1;
    *out = (int64_t)llround(seconds * 1000.0);
    return 0;
}

static int take_count(json_t *item, const char *key, int64_t *out)
{
    json_t *v = json_object_get(item, key);
    *out = 0;
    if (!v || json_is_null(v)) /* optional: null is absent */
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* A fragment number: decimal digits that fit the record. */
static int good_number(const char *s, size_t cap)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= cap)
        return 0;
    return strspn(s, "0123456789") == n;
}

static int take_item(json_t *item, size_t index, kvsp_listed_fragment *f, char *why,
                     size_t why_size)
{
    memset(f, 0, sizeof *f);
    if (!json_is_object(item))
        return bad(why, why_size, "not a JSON object", NULL, index);
    const char *number = json_string_value(json_object_get(item, "FragmentNumber"));
    if (!good_number(number, sizeof f->fragment_number)) {
        char what[64];
        snprintf(what, sizeof what, "not a decimal number of at most %d digits",
                 KVSP_FRAGMENT_NUMBER_MAX);
        return bad(why, why_size, "FragmentNumber is ", number ? what : "missing or not a string",
                   index);
    }
    memcpy(f->fragment_number, number, strlen(number) + 1);
    int64_t length, size;
    if (take_ms(item, "ProducerTimestamp", &f->producer_timestamp_ms) != 0)
        return bad(why, why_size, "ProducerTimestamp", " is not epoch seconds", index);
    if (take_ms(item, "ServerTimestamp", &f->server_timestamp_ms) != 0)
        return bad(why, why_size, "ServerTimestamp", " is not epoch seconds", index);
    if (take_count(item, "FragmentLengthInMilliseconds", &length) != 0)
        return bad(why, why_size, "FragmentLengthInMilliseconds", " is not a count", index);
    if (take_count(item, "FragmentSizeInBytes", &size) != 0)
        return bad(why, why_size, "FragmentSizeInBytes", " is not a count", index);
    f->length_ms = length;
    f->size = (uint64_t)size;
    return KVSP_OK;
}

int kvsp_fragment_list_page(const char *text, size_t len, fragment_list *list, char **next,
                            char *why, size_t why_size)
{
    *next = NULL;
    json_error_t err;
    json_t *doc = json_loadb(text ? text : "", text ? len : 0, 0, &err);
    /* Jansson reports most failed allocations as such; one while setting
     * up its lexer leaves the error empty (every parse error has a text). */
    if (!doc && (json_error_code(&err) == json_error_out_of_memory || !err.text[0])) {
        snprintf(why, why_size, "ListFragments: out of memory");
        return KVSP_ERR_NOMEM;
    }
    if (!doc) {
        char detail[200];
        snprintf(detail, sizeof detail, " (%.120s at byte %d)", err.text, err.position);
        return bad(why, why_size, "the response is not JSON", detail, (size_t)-1);
    }
    int rc = KVSP_OK;
    json_t *items = json_object_get(doc, "Fragments");
    json_t *token = json_object_get(doc, "NextToken");
    if (!json_is_object(doc) || !json_is_array(items))
        rc = bad(why, why_size, "the response has no Fragments list", NULL, (size_t)-1);
    /* KVS and its emulators send "NextToken": null on the last page: null is
     * the same as absent there, as it is for every optional field */
    else if (token && !json_is_null(token) && !json_is_string(token))
        rc = bad(why, why_size, "NextToken is not a string", NULL, (size_t)-1);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        if (rc != KVSP_OK)
            break;
        if (list->count == list->cap) {
            size_t cap = list->cap ? list->cap * 2 : 256;
            kvsp_listed_fragment *bigger = kvsp_ext_realloc(list->items, cap * sizeof *bigger);
            if (!bigger) {
                rc = KVSP_ERR_NOMEM;
                snprintf(why, why_size, "ListFragments: out of memory");
                break;
            }
            list->items = bigger;
            list->cap = cap;
        }
        rc = take_item(item, i, &list->items[list->count], why, why_size);
        if (rc == KVSP_OK)
            list->count++;
    }
    const char *t = json_string_value(token);
    if (rc == KVSP_OK && t && *t) {
        *next = kvsp_ext_strdup(t);
        if (!*next) {
            rc = KVSP_ERR_NOMEM;
            snprintf(why, why_size, "ListFragments: out of memory");
        }
    }
    json_decref(doc);
    return rc;
}
