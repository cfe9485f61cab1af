#ifndef KVSP_KVS_TAGS_H
#define KVSP_KVS_TAGS_H

#include <stddef.h>

/* The AWS_KINESISVIDEO_* SimpleTags KVS adds to each fragment. GetMedia and
 * GetMediaForFragmentList name some of them differently. */
typedef enum kvs_tag_kind {
    KVS_TAG_NONE = 0, /* a user tag */
    KVS_TAG_FRAGMENT_NUMBER,
    KVS_TAG_SERVER_TIMESTAMP,        /* GetMedia */
    KVS_TAG_SERVER_SIDE_TIMESTAMP,   /* GetMediaForFragmentList */
    KVS_TAG_PRODUCER_TIMESTAMP,      /* GetMedia */
    KVS_TAG_PRODUCER_SIDE_TIMESTAMP, /* GetMediaForFragmentList */
    KVS_TAG_MILLIS_BEHIND_NOW,
    KVS_TAG_CONTINUATION_TOKEN,
    KVS_TAG_ERROR_CODE,           /* GetMedia */
    KVS_TAG_ERROR_ID,             /* GetMedia */
    KVS_TAG_EXCEPTION_ERROR_CODE, /* GetMediaForFragmentList */
    KVS_TAG_EXCEPTION_MESSAGE     /* GetMediaForFragmentList */
} kvs_tag_kind;

kvs_tag_kind kvsp_tag_classify(const char *name, size_t len);
/* The same for a NUL-terminated name, without a strlen of the user tags
 * (most tags), which fail on the prefix. */
kvs_tag_kind kvsp_tag_classify_cstr(const char *name);

/* A decimal integer with an optional leading '-'; 0 on success. */
int kvsp_parse_int64(const char *text, size_t len, long long *out);

#endif
