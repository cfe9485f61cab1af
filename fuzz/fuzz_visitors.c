/* libFuzzer target: the fragment metadata visitor and the frame visitor
 * (kvsp_frame_visitor_create(NULL, ...), which runs its own fragment visitor)
 * on the input, fed in chunks chosen by the input's first bytes. Every
 * fragment's strings, tracks and tags and every frame's bytes are read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kvsparser/frames.h"
#include "kvsparser/reader.h"

static volatile size_t sink;

static void touch_str(const char *s)
{
    if (s)
        sink += strlen(s);
}

static int on_fragment(void *user, const kvsp_fragment *f)
{
    (void)user;
    touch_str(f->fragment_number);
    touch_str(f->continuation_token);
    touch_str(f->error_id_text);
    touch_str(f->error_code);
    touch_str(f->error_message);
    touch_str(f->info.title);
    touch_str(f->info.muxing_app);
    touch_str(f->info.writing_app);
    for (size_t i = 0; i < f->track_count; i++) {
        const kvsp_track *t = &f->tracks[i];
        touch_str(t->codec_id);
        touch_str(t->name);
        touch_str(t->language);
        if (t->codec_private)
            sink += fuzz_touch(t->codec_private, t->codec_private_size);
    }
    for (size_t i = 0; i < f->tag_count; i++) {
        const kvsp_tag *t = &f->tags[i];
        touch_str(t->name);
        if (t->value)
            sink += fuzz_touch((const uint8_t *)t->value, t->value_size);
        if (t->binary)
            sink += fuzz_touch(t->binary, t->binary_size);
    }
    for (size_t i = 0; i < f->frames_track_count; i++)
        sink += f->frames_per_track[i].frames;
    return KVSP_OK;
}

static int on_frame(void *user, const kvsp_frame *f)
{
    (void)user;
    sink += fuzz_touch(f->data, f->size);
    if (f->track_info)
        touch_str(f->track_info->codec_id);
    if (f->fragment)
        touch_str(f->fragment->fragment_number);
    return KVSP_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_chunker ch;
    fuzz_chunker_init(&ch, &data, &size);

    kvsp_fragment_options fo;
    kvsp_fragment_options_init(&fo);
    fo.on_fragment = on_fragment;
    kvsp_fragment_visitor *meta = kvsp_fragment_visitor_create(&fo);
    kvsp_visitor sink_v = {0};
    sink_v.on_frame = on_frame;
    /* Its own fragment visitor (meta == NULL), plus a standalone one. */
    kvsp_frame_visitor *frames = kvsp_frame_visitor_create(NULL, NULL, &sink_v);
    if (!meta || !frames)
        abort();
    kvsp_visitor children[2] = {kvsp_fragment_visitor_visitor(meta),
                                kvsp_frame_visitor_visitor(frames)};
    kvsp_composite *comp = kvsp_composite_create(children, 2);
    if (!comp)
        abort();
    kvsp_visitor v = kvsp_composite_visitor(comp);

    kvsp_reader *r = kvsp_reader_create(NULL);
    if (!r)
        abort();
    int st = fuzz_run_reader(r, &v, &ch, data, size);
    if (st != KVSP_DONE && st >= 0)
        abort(); /* a run ends done or in an error */
    kvsp_fragment_visitor_finish(meta);
    kvsp_fragment_visitor_finish(kvsp_frame_visitor_metadata(frames));
    touch_str(kvsp_fragment_visitor_continuation_token(meta));
    sink += kvsp_frame_visitor_count(frames);

    kvsp_reader_destroy(r);
    kvsp_composite_destroy(comp);
    kvsp_frame_visitor_destroy(frames);
    kvsp_fragment_visitor_destroy(meta);
    return 0;
}
