/* kvsp serve: the Matroska bytes KVS wraps around each Cluster. Every
 * fragment is its own EBML header and unknown-size Segment, with Info and
 * Tracks repeated, as GetMedia and GetMediaForFragmentList return them. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../cli.h"
#include "serve.h"

#define ID_EBML_VERSION 0x4286u
#define ID_EBML_READ_VERSION 0x42F7u
#define ID_EBML_MAX_ID_LENGTH 0x42F2u
#define ID_EBML_MAX_SIZE_LENGTH 0x42F3u
#define ID_DOCTYPE 0x4282u
#define ID_DOCTYPE_VERSION 0x4287u
#define ID_DOCTYPE_READ_VERSION 0x4285u

void serve_format_seconds(char *out, size_t size, int64_t ms)
{
    /* KVS writes decimal seconds with exactly three decimals. */
    const char *sign = ms < 0 ? "-" : "";
    uint64_t a = ms < 0 ? (uint64_t)(-(ms + 1)) + 1 : (uint64_t)ms;
    snprintf(out, size, "%s%" PRIu64 ".%03" PRIu64, sign, a / 1000, a % 1000);
}

static void ebml_header(ebml_out *o, const char *doctype)
{
    size_t m = kvsp_ebml_out_begin(o, KVSP_ID_EBML);
    kvsp_ebml_out_uint(o, ID_EBML_VERSION, 1);
    kvsp_ebml_out_uint(o, ID_EBML_READ_VERSION, 1);
    kvsp_ebml_out_uint(o, ID_EBML_MAX_ID_LENGTH, 4);
    kvsp_ebml_out_uint(o, ID_EBML_MAX_SIZE_LENGTH, 8);
    kvsp_ebml_out_string(o, ID_DOCTYPE, doctype[0] ? doctype : "matroska");
    kvsp_ebml_out_uint(o, ID_DOCTYPE_VERSION, 4);
    kvsp_ebml_out_uint(o, ID_DOCTYPE_READ_VERSION, 2);
    kvsp_ebml_out_end(o, m);
}

static void simple_tag(ebml_out *o, const char *name, const char *value)
{
    size_t m = kvsp_ebml_out_begin(o, KVSP_ID_SIMPLETAG);
    kvsp_ebml_out_string(o, KVSP_ID_TAG_NAME, name);
    kvsp_ebml_out_string(o, KVSP_ID_TAG_STRING, value);
    kvsp_ebml_out_end(o, m);
}

/* EBML header, Segment of unknown size (a live stream's length is not
 * known when it starts), Info and Tracks. */
static void segment_start(ebml_out *o, const serve_stream *s, const serve_fragment *f)
{
    ebml_header(o, s->doctype);
    kvsp_ebml_out_id(o, KVSP_ID_SEGMENT);
    kvsp_ebml_out_unknown_size(o);
    const serve_header *h = NULL;
    if (f)
        h = &s->headers[f->header];
    else if (s->header_count)
        h = &s->headers[0];
    if (h) {
        kvsp_ebml_out_bytes(o, h->info.data, h->info.len);
        kvsp_ebml_out_bytes(o, h->tracks.data, h->tracks.len);
    }
}

void serve_fragment_head(ebml_out *o, const serve_stream *s, const serve_fragment *f, serve_api api)
{
    char server[32], producer[32];
    serve_format_seconds(server, sizeof server, f->server_ms);
    serve_format_seconds(producer, sizeof producer, f->producer_ms);
    segment_start(o, s, f);
    size_t tags = kvsp_ebml_out_begin(o, KVSP_ID_TAGS);
    size_t tag = kvsp_ebml_out_begin(o, KVSP_ID_TAG);
    simple_tag(o, "AWS_KINESISVIDEO_FRAGMENT_NUMBER", f->number);
    /* GetMediaForFragmentList names its timestamps differently. */
    if (api == SERVE_FRAGMENT_LIST) {
        simple_tag(o, "AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP", server);
        simple_tag(o, "AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP", producer);
    } else {
        simple_tag(o, "AWS_KINESISVIDEO_SERVER_TIMESTAMP", server);
        simple_tag(o, "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", producer);
    }
    if (f->tags.len) /* the producer's, as KVS keeps them */
        kvsp_ebml_out_bytes(o, f->tags.data, f->tags.len);
    kvsp_ebml_out_end(o, tag);
    kvsp_ebml_out_end(o, tags);
}

void serve_fragment_start(ebml_out *o, const serve_stream *s, const serve_fragment *f,
                          serve_api api)
{
    serve_fragment_head(o, s, f, api);
    /* A Cluster cut short by the end of the file is sent under a new
     * unknown-size header (serve_fragment.reheader). */
    if (f->reheader) {
        kvsp_ebml_out_id(o, KVSP_ID_CLUSTER);
        kvsp_ebml_out_unknown_size(o);
    }
}

int serve_fragment_list_size(const serve_stream *s, const serve_fragment *f, uint64_t *size)
{
    /* ListFragments' FragmentSizeInBytes (issue 19): every byte
     * GetMediaForFragmentList sends for the fragment, i.e. the start written
     * above plus the Cluster bytes copied from the file. Encoded rather than
     * summed so that it cannot drift from what the body writes. */
    ebml_out o = {0};
    serve_fragment_start(&o, s, f, SERVE_FRAGMENT_LIST);
    int failed = o.failed;
    *size = (uint64_t)o.len + f->size;
    kvsp_ebml_out_free(&o);
    return failed ? -1 : 0;
}

void serve_fragment_tail(ebml_out *o, const serve_fragment *f, int64_t millis_behind_now)
{
    char behind[32];
    snprintf(behind, sizeof behind, "%" PRId64, millis_behind_now < 0 ? 0 : millis_behind_now);
    size_t tags = kvsp_ebml_out_begin(o, KVSP_ID_TAGS);
    size_t tag = kvsp_ebml_out_begin(o, KVSP_ID_TAG);
    simple_tag(o, "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", behind);
    /* The token of a fragment resumes after it: it is its number. */
    simple_tag(o, "AWS_KINESISVIDEO_CONTINUATION_TOKEN", f->number);
    kvsp_ebml_out_end(o, tag);
    kvsp_ebml_out_end(o, tags);
}

void serve_error_fragment(ebml_out *o, const serve_stream *s, const serve_fragment *f,
                          const char *code, unsigned id)
{
    char id_text[16];
    snprintf(id_text, sizeof id_text, "%u", id);
    segment_start(o, s, f);
    size_t tags = kvsp_ebml_out_begin(o, KVSP_ID_TAGS);
    size_t tag = kvsp_ebml_out_begin(o, KVSP_ID_TAG);
    /* Names the fragment that could not be sent. */
    simple_tag(o, "AWS_KINESISVIDEO_FRAGMENT_NUMBER", f->number);
    simple_tag(o, "AWS_KINESISVIDEO_ERROR_CODE", code);
    simple_tag(o, "AWS_KINESISVIDEO_ERROR_ID", id_text);
    kvsp_ebml_out_end(o, tag);
    kvsp_ebml_out_end(o, tags);
}
