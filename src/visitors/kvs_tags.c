#include "kvs_tags.h"

#include <string.h>

#define KVS_PREFIX "AWS_KINESISVIDEO_"

static const struct {
    const char *suffix;
    kvs_tag_kind kind;
} kvs_tags[] = {
    {"FRAGMENT_NUMBER", KVS_TAG_FRAGMENT_NUMBER},
    {"SERVER_TIMESTAMP", KVS_TAG_SERVER_TIMESTAMP},
    {"SERVER_SIDE_TIMESTAMP", KVS_TAG_SERVER_SIDE_TIMESTAMP},
    {"PRODUCER_TIMESTAMP", KVS_TAG_PRODUCER_TIMESTAMP},
    {"PRODUCER_SIDE_TIMESTAMP", KVS_TAG_PRODUCER_SIDE_TIMESTAMP},
    {"MILLIS_BEHIND_NOW", KVS_TAG_MILLIS_BEHIND_NOW},
    {"CONTINUATION_TOKEN", KVS_TAG_CONTINUATION_TOKEN},
    {"ERROR_CODE", KVS_TAG_ERROR_CODE},
    {"ERROR_ID", KVS_TAG_ERROR_ID},
    {"EXCEPTION_ERROR_CODE", KVS_TAG_EXCEPTION_ERROR_CODE},
    {"EXCEPTION_MESSAGE", KVS_TAG_EXCEPTION_MESSAGE},
};

kvs_tag_kind kvsp_tag_classify(const char *name, size_t len)
{
    size_t prefix = sizeof KVS_PREFIX - 1;
    if (len <= prefix || memcmp(name, KVS_PREFIX, prefix) != 0)
        return KVS_TAG_NONE;
    name += prefix;
    len -= prefix;
    for (size_t i = 0; i < sizeof kvs_tags / sizeof kvs_tags[0]; i++) {
        if (strlen(kvs_tags[i].suffix) == len && memcmp(kvs_tags[i].suffix, name, len) == 0)
            return kvs_tags[i].kind;
    }
    return KVS_TAG_NONE;
}

kvs_tag_kind kvsp_tag_classify_cstr(const char *name)
{
    size_t prefix = sizeof KVS_PREFIX - 1;
    /* The first byte inline: a strncmp call cost more than the strlen. */
    if (name[0] != 'A' || strncmp(name, KVS_PREFIX, prefix) != 0) /* stops at a NUL */
        return KVS_TAG_NONE;
    return kvsp_tag_classify(name, prefix + strlen(name + prefix));
}

int kvsp_parse_int64(const char *text, size_t len, long long *out)
{
    size_t i = 0;
    int negative = len > 0 && text[0] == '-';
    if (negative)
        i++;
    if (i == len)
        return -1;
    long long v = 0;
    for (; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        int digit = text[i] - '0';
        if (__builtin_mul_overflow(v, 10, &v) || (negative ? __builtin_sub_overflow(v, digit, &v)
                                                           : __builtin_add_overflow(v, digit, &v)))
            return -1;
    }
    *out = v;
    return 0;
}
