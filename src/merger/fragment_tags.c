#include "fragment_tags.h"

#include <inttypes.h>
#include <stdio.h>

#include "kvsparser/element.h"

static void simple_tag(ebml_out *o, const char *name, const char *value)
{
    size_t tag = kvsp_ebml_out_begin(o, KVSP_ID_SIMPLETAG);
    kvsp_ebml_out_string(o, KVSP_ID_TAG_NAME, name);
    kvsp_ebml_out_string(o, KVSP_ID_TAG_STRING, value);
    kvsp_ebml_out_end(o, tag);
}

/* Milliseconds back to the decimal seconds KVS writes. */
static void seconds(char *buf, size_t cap, int64_t ms)
{
    snprintf(buf, cap, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
}

void kvsp_fragment_tags_build(ebml_out *o, const kvsp_fragment *f)
{
    kvsp_ebml_out_clear(o);
    int server =
        f && (f->present & KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP) && f->server_timestamp_ms >= 0;
    int producer =
        f && (f->present & KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP) && f->producer_timestamp_ms >= 0;
    if (!f || (!f->fragment_number && !server && !producer))
        return;
    char text[32];
    size_t tags = kvsp_ebml_out_begin(o, KVSP_ID_TAGS);
    size_t tag = kvsp_ebml_out_begin(o, KVSP_ID_TAG);
    size_t targets = kvsp_ebml_out_begin(o, KVSP_ID_TARGETS);
    kvsp_ebml_out_end(o, targets);
    if (f->fragment_number)
        simple_tag(o, "AWS_KINESISVIDEO_FRAGMENT_NUMBER", f->fragment_number);
    if (server) {
        seconds(text, sizeof text, f->server_timestamp_ms);
        simple_tag(o, "AWS_KINESISVIDEO_SERVER_TIMESTAMP", text);
    }
    if (producer) {
        seconds(text, sizeof text, f->producer_timestamp_ms);
        simple_tag(o, "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", text);
    }
    kvsp_ebml_out_end(o, tag);
    kvsp_ebml_out_end(o, tags);
}
