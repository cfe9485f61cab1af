/* Counts and values read from the real KVS captures, checked against the
 * facts in ../shared/kvs-captures/README.md (read there with mkvinfo, ffprobe
 * and an independent EBML walker). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

#define MAX_CLUSTERS 16
#define MAX_TOKENS 16

typedef struct facts {
    const char *file;
    int status; /* KVSP_DONE, or KVSP_ERR_TRUNCATED for the cut-off capture */
    int ebml, segments, clusters, simple_blocks, keyframes, crc32, tags, tag, simple_tags;
    int known_size_clusters;
    int blocks_track1, blocks_track2;
    long long timecodes[MAX_CLUSTERS]; /* -1 terminated */
    const char *codec_track2;
    const char *first_tokens[3];
    const char *first_fragment, *last_fragment;
    const char *first_server_ts, *first_producer_ts, *first_millis_behind;
} facts;

static const char GM_FRAG1[] = "91343852333181432392682062607743920146159169392";
static const char GM_FRAG2[] = "91343852333181432397633822764885441725874549018";
static const char GM_FRAG3[] = "91343852333181432402585582922026963247510532162";

static const facts all_facts[] = {
    {"output_get_media.mkv",
     KVSP_DONE,
     5,
     5,
     5,
     300,
     5,
     26,
     15,
     25,
     60,
     -1,
     300,
     0,
     {0, 2000, 4000, 6000, 8000, -1},
     NULL,
     {GM_FRAG1, GM_FRAG2, GM_FRAG3},
     GM_FRAG1,
     "91343852333181432412489103236310005892133364608",
     "1511852109.126",
     "1511852108.513",
     "15858"},
    {"output_get_media_sparse_fragments.mkv",
     KVSP_DONE,
     3,
     3,
     3,
     180,
     3,
     -1,
     9,
     -1,
     -1,
     -1,
     180,
     0,
     {0, 4000, 8000, -1},
     NULL,
     {NULL},
     NULL,
     NULL,
     NULL,
     NULL,
     NULL},
    {"output-get-media-equal-timecode.mkv",
     KVSP_ERR_TRUNCATED,
     2,
     2,
     2,
     239,
     -1,
     -1,
     -1,
     -1,
     -1,
     -1,
     239,
     0,
     {0, 0, -1},
     NULL,
     {NULL},
     /* The README names fragment 913...8620731820224134479800643425492 and millis
      * behind now 1468654 here, but neither string occurs in the file's bytes;
      * these are the values mkvinfo reads. */
     "91343852338381417542203754135250098963782391502",
     NULL,
     "1519074132.668",
     "1518814932.515",
     "909335"},
    {"kinesis_video_renderer_example_output.mkv",
     KVSP_DONE,
     8,
     8,
     8,
     444,
     8,
     -1,
     16,
     -1,
     -1,
     -1,
     444,
     0,
     {-1},
     NULL,
     {NULL},
     NULL,
     NULL,
     NULL,
     NULL,
     NULL},
    {"clusters.mkv",
     KVSP_DONE,
     1,
     1,
     8,
     444,
     -1,
     -1,
     -1,
     -1,
     -1,
     -1,
     444,
     0,
     {0, 1999, 3999, 5998, 7998, 9998, 11997, 13997, -1},
     NULL,
     {NULL},
     NULL,
     NULL,
     NULL,
     NULL,
     NULL},
    {"bezos_vogels.mkv",
     KVSP_DONE,
     1,
     1,
     5,
     546,
     3,
     -1,
     -1,
     -1,
     -1,
     5,
     546,
     0,
     {834, 5839, 5873, 10878, 14214, -1},
     NULL,
     {NULL},
     NULL,
     NULL,
     NULL,
     NULL,
     NULL},
    {"vogels_330.mkv", KVSP_DONE, 1,    1,    9,    2334, -1,  -1, -1, -1, -1, -1, 909, 1425, {-1},
     "A_AAC",          {NULL},    NULL, NULL, NULL, NULL, NULL},
};

typedef struct tally {
    int ebml, segments, clusters, simple_blocks, keyframes, crc32, tags, tag, simple_tags;
    int known_size_clusters, crc_in_cluster, blocks[3], aws_tags;
    long long timecodes[MAX_CLUSTERS];
    int ntimecodes;
    char last_name[64];
    char tokens[MAX_TOKENS][64];
    int ntokens;
    char fragments[MAX_TOKENS][64];
    int nfragments;
    char server_ts[64], producer_ts[64], millis_behind[64];
    char codec[3][32];
    uint64_t track_number;
    double sampling_frequency;
    uint64_t channels;
    uint32_t parent_id;
} tally;

static void copy_str(char *dst, size_t cap, const kvsp_event *ev)
{
    size_t n = ev->data_size < cap - 1 ? ev->data_size : cap - 1;
    memcpy(dst, ev->data, n);
    dst[n] = '\0';
}

static void on_tag_string(tally *t, const kvsp_event *ev)
{
    char value[64];
    copy_str(value, sizeof value, ev);
    if (strcmp(t->last_name, "AWS_KINESISVIDEO_CONTINUATION_TOKEN") == 0 && t->ntokens < MAX_TOKENS)
        strcpy(t->tokens[t->ntokens++], value);
    if (strcmp(t->last_name, "AWS_KINESISVIDEO_FRAGMENT_NUMBER") == 0 && t->nfragments < MAX_TOKENS)
        strcpy(t->fragments[t->nfragments++], value);
    if (strcmp(t->last_name, "AWS_KINESISVIDEO_SERVER_TIMESTAMP") == 0 && !t->server_ts[0])
        snprintf(t->server_ts, sizeof t->server_ts, "%s", value);
    if (strcmp(t->last_name, "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP") == 0 && !t->producer_ts[0])
        snprintf(t->producer_ts, sizeof t->producer_ts, "%s", value);
    if (strcmp(t->last_name, "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW") == 0 && !t->millis_behind[0])
        snprintf(t->millis_behind, sizeof t->millis_behind, "%s", value);
}

static void count(tally *t, const kvsp_event *ev)
{
    if (ev->type == KVSP_EV_START) {
        t->ebml += ev->id == KVSP_ID_EBML;
        t->segments += ev->id == KVSP_ID_SEGMENT;
        t->tags += ev->id == KVSP_ID_TAGS;
        t->tag += ev->id == KVSP_ID_TAG;
        t->simple_tags += ev->id == KVSP_ID_SIMPLETAG;
        if (ev->id == KVSP_ID_CLUSTER) {
            t->clusters++;
            t->known_size_clusters += ev->size != KVSP_SIZE_UNKNOWN;
        }
        return;
    }
    if (ev->type != KVSP_EV_DATA)
        return;
    switch (ev->id) {
    case KVSP_ID_CRC32: t->crc32++; break;
    case KVSP_ID_SIMPLEBLOCK:
        t->simple_blocks++;
        t->keyframes += ev->block->keyframe;
        if (ev->block->track <= 2)
            t->blocks[ev->block->track]++;
        break;
    case KVSP_ID_CLUSTER_TIMECODE:
        if (t->ntimecodes < MAX_CLUSTERS)
            t->timecodes[t->ntimecodes++] = (long long)ev->value.u;
        break;
    case KVSP_ID_TAG_NAME: copy_str(t->last_name, sizeof t->last_name, ev); break;
    case KVSP_ID_TAG_STRING: on_tag_string(t, ev); break;
    case 0xD7: /* TrackNumber */ t->track_number = ev->value.u; break;
    case 0x86: /* CodecID */
        if (t->track_number <= 2)
            copy_str(t->codec[t->track_number], sizeof t->codec[0], ev);
        break;
    case 0xB5: /* SamplingFrequency */ t->sampling_frequency = ev->value.f; break;
    case 0x9F: /* Channels */ t->channels = ev->value.u; break;
    default: break;
    }
}

static void expect(int want, int got, const char *what)
{
    if (want >= 0 && want != got) {
        print_error("%s: expected %d, read %d\n", what, want, got);
        fail();
    }
}

static void test_capture(void **state)
{
    const facts *f = *state;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", KVSP_CAPTURES_DIR, f->file);
    uint8_t *data;
    size_t len;
    assert_int_equal(load_file(path, &data, &len), 0);

    tally t;
    memset(&t, 0, sizeof t);
    kvsp_reader *r = kvsp_reader_create(NULL);
    kvsp_event ev;
    kvsp_reader_feed(r, data, len);
    kvsp_reader_finish(r);
    int st;
    while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK)
        count(&t, &ev);
    assert_int_equal(st, f->status);
    if (st == KVSP_ERR_TRUNCATED)
        assert_non_null(strstr(kvsp_reader_error_message(r), "SimpleBlock"));
    kvsp_reader_destroy(r);

    expect(f->ebml, t.ebml, "EBML headers");
    expect(f->segments, t.segments, "Segments");
    expect(f->clusters, t.clusters, "Clusters");
    expect(f->simple_blocks, t.simple_blocks, "SimpleBlocks");
    expect(f->keyframes, t.keyframes, "keyframes");
    expect(f->crc32, t.crc32, "CRC-32 elements");
    expect(f->tags, t.tags, "Tags");
    expect(f->tag, t.tag, "Tag");
    expect(f->simple_tags, t.simple_tags, "SimpleTag");
    expect(f->known_size_clusters, t.known_size_clusters, "known-size Clusters");
    expect(f->blocks_track1, t.blocks[1], "blocks of track 1");
    expect(f->blocks_track2, t.blocks[2], "blocks of track 2");
    for (int i = 0; f->timecodes[i] >= 0; i++) {
        assert_true(i < t.ntimecodes);
        assert_int_equal(t.timecodes[i], f->timecodes[i]);
        if (f->timecodes[i + 1] < 0)
            assert_int_equal(t.ntimecodes, i + 1);
    }
    for (int i = 0; i < 3 && f->first_tokens[i]; i++)
        assert_string_equal(t.tokens[i], f->first_tokens[i]);
    if (f->first_fragment)
        assert_string_equal(t.fragments[0], f->first_fragment);
    if (f->last_fragment)
        assert_string_equal(t.fragments[t.nfragments - 1], f->last_fragment);
    if (f->first_server_ts)
        assert_string_equal(t.server_ts, f->first_server_ts);
    if (f->first_producer_ts)
        assert_string_equal(t.producer_ts, f->first_producer_ts);
    if (f->first_millis_behind)
        assert_string_equal(t.millis_behind, f->first_millis_behind);
    if (strcmp(f->file, "clusters.mkv") == 0)
        assert_int_equal(t.nfragments + t.ntokens, 0); /* no KVS tags */
    if (f->codec_track2) {
        assert_string_equal(t.codec[2], f->codec_track2);
        assert_true(t.sampling_frequency == 48000.0);
        assert_int_equal(t.channels, 2);
    }
    free(data);
}

int main(void)
{
    FILE *readme = fopen(KVSP_CAPTURES_DIR "/README.md", "r");
    if (!readme)
        return kvsp_test_skip(KVSP_CAPTURES_DIR "/README.md absent");
    fclose(readme);
    size_t n = sizeof all_facts / sizeof all_facts[0];
    struct CMUnitTest tests[sizeof all_facts / sizeof all_facts[0]];
    for (size_t i = 0; i < n; i++) {
        struct CMUnitTest t = {all_facts[i].file, test_capture, NULL, NULL, (void *)&all_facts[i]};
        tests[i] = t;
    }
    return kvsp_test_status(_cmocka_run_group_tests("capture_facts", tests, n, NULL, NULL));
}
