/* libFuzzer target: the push-fed reader. The input's first bytes choose how
 * the rest is split into feeds (whole, 1 byte, fixed size, random), whether
 * resync mode is on and whether masters are skipped; every event is pulled
 * and its payload read, and every content a START carries is read in place
 * with the content cursor. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kvsparser/content.h"
#include "kvsparser/reader.h"

static volatile uint8_t sink;

static void read_in_place(const kvsp_event *start)
{
    kvsp_content c;
    if (kvsp_content_open(&c, start) != KVSP_OK)
        abort();
    kvsp_event ev;
    int st;
    while ((st = kvsp_content_next(&c, &ev)) == KVSP_OK) {
        if (ev.offset < start->offset + start->header_size ||
            ev.end_offset > start->offset + start->header_size + start->size)
            abort(); /* outside the master */
        if (ev.data)
            sink ^= fuzz_touch(ev.data, ev.data_size);
    }
    if (st != KVSP_DONE && st != KVSP_DEFERRED)
        abort();
}

static int drain(kvsp_reader *r, int skip_odd)
{
    kvsp_event ev;
    int st;
    while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK) {
        if (ev.type == KVSP_EV_START && ev.data)
            read_in_place(&ev);
        if (skip_odd && ev.type == KVSP_EV_START && (ev.offset & 1)) {
            int skip = kvsp_reader_skip(r);
            if (skip != KVSP_OK && skip != KVSP_ERR_INVALID_ARG)
                abort();
        }
        if (ev.data)
            sink ^= fuzz_touch(ev.data, ev.data_size);
        if (ev.block) {
            for (uint32_t i = 0; i < ev.block->frame_count; i++) {
                const uint8_t *f;
                size_t n;
                if (kvsp_block_frame(ev.block, i, &f, &n) == KVSP_OK)
                    sink ^= fuzz_touch(f, n);
            }
        }
        if (ev.name)
            sink ^= (uint8_t)ev.name[0];
    }
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_chunker ch;
    fuzz_chunker_init(&ch, &data, &size);
    kvsp_reader_options opts;
    memset(&opts, 0, sizeof opts);
    opts.resync = (ch.state >> 2) & 1;
    int skip_odd = (ch.state >> 3) & 1;
    kvsp_reader *r = kvsp_reader_create(&opts);
    if (!r)
        abort();
    int st = KVSP_NEED_DATA;
    size_t pos = 0;
    while (pos < size) {
        size_t n = fuzz_chunker_next(&ch, size - pos);
        if (kvsp_reader_feed(r, data + pos, n) != KVSP_OK)
            break;
        pos += n;
        st = drain(r, skip_odd);
        if (st != KVSP_NEED_DATA)
            break;
    }
    if (st == KVSP_NEED_DATA) {
        kvsp_reader_finish(r);
        st = drain(r, skip_odd);
        if (st != KVSP_DONE && st >= 0)
            abort(); /* after finish the reader must end in DONE or an error */
    }
    if (st < 0 && kvsp_reader_error_offset(r) > size)
        abort(); /* an error offset past the input */
    (void)kvsp_reader_error_message(r);
    kvsp_reader_destroy(r);
    return 0;
}
