/* Bad input on the real KVS captures, through the reader and the fragment
 * and frame visitors:
 *
 * - each capture truncated at 500 positions (250 spread evenly over the file,
 *   250 inside element headers: ID and size bytes): the run ends in DONE or
 *   an error whose offset is at most the cut, and every block that ended
 *   before the cut is delivered, identical (offset, size, frame count and a
 *   hash of the frames' sizes and leading/trailing bytes), as are the frame
 *   visitor's frames of those blocks;
 * - 1,000 mutations per capture (deterministic xorshift PRNG): single-byte
 *   changes anywhere and changes to element size fields (vint length, unknown
 *   size, small and huge values), each run through reader + fragment visitor
 *   + frame visitor: no crash (ASan build), the final status is DONE or an
 *   error with an offset at most the file size.
 *
 * Each run is bounded (the reader is push-fed: it stops when the input does).
 * Usage: test_bad_input DIR|FILE... (skips with 77 when none is found). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "file_tests.h"
#include "kvsparser/frames.h"
#include "test_util.h"

#define TRUNCATIONS_SPREAD 250
#define TRUNCATIONS_IN_HEADERS 250
#define MUTATIONS 1000

/* A block (SimpleBlock or Block event) or a frame, summarised. */
typedef struct item {
    uint64_t offset;     /* block element offset (frames: block_offset) */
    uint64_t end_offset; /* blocks: where the element ends; frames: their block's end */
    uint64_t size;       /* block data size / frame size */
    uint64_t hash;
    uint32_t count; /* blocks: frames in the block */
    uint32_t simple;
} item;

typedef struct item_list {
    item *items;
    size_t count, cap;
} item_list;

typedef struct header_pos {
    uint64_t offset;
    uint32_t header_size;
    uint32_t id;
} header_pos;

typedef struct run_log {
    item_list blocks, frames;
    header_pos *headers; /* every element's header (baseline run only) */
    size_t header_count, header_cap;
    int record_headers;
} run_log;

static void push_item(item_list *l, const item *it)
{
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->items = realloc(l->items, l->cap * sizeof *l->items);
        assert_non_null(l->items);
    }
    l->items[l->count++] = *it;
}

/* A hash of size plus the first and last 32 bytes: cheap enough for 500
 * runs per capture, and catches misplaced or mangled frames. */
static uint64_t sample_hash(const uint8_t *p, size_t n)
{
    uint64_t h = fnv1a((const uint8_t *)&n, sizeof n);
    size_t head = n < 32 ? n : 32;
    h ^= fnv1a(p, head) * 3;
    if (n > 32)
        h ^= fnv1a(p + n - 32, 32) * 7;
    return h;
}

static int log_start(void *user, const kvsp_event *ev)
{
    run_log *log = user;
    if (log->record_headers) {
        if (log->header_count == log->header_cap) {
            log->header_cap = log->header_cap ? log->header_cap * 2 : 1024;
            log->headers = realloc(log->headers, log->header_cap * sizeof *log->headers);
            assert_non_null(log->headers);
        }
        header_pos h = {ev->offset, ev->header_size, ev->id};
        log->headers[log->header_count++] = h;
    }
    return KVSP_OK;
}

static int log_data(void *user, const kvsp_event *ev)
{
    run_log *log = user;
    log_start(user, ev);
    if (ev->block) {
        item it = {ev->offset, ev->end_offset,         ev->size,
                   0,          ev->block->frame_count, ev->block->simple};
        for (uint32_t i = 0; i < ev->block->frame_count; i++) {
            const uint8_t *f;
            size_t n;
            assert_int_equal(kvsp_block_frame(ev->block, i, &f, &n), KVSP_OK);
            it.hash = it.hash * 31 + sample_hash(f, n);
        }
        push_item(&log->blocks, &it);
    }
    return KVSP_OK;
}

static int log_frame(void *user, const kvsp_frame *f)
{
    run_log *log = user;
    item it = {f->block_offset,   0, f->size, sample_hash(f->data, f->size), f->index_in_block,
               (uint32_t)f->track};
    it.hash ^= (uint64_t)f->timecode * 0x9E3779B97F4A7C15ull;
    push_item(&log->frames, &it);
    return KVSP_OK;
}

static void run_log_free(run_log *log)
{
    free(log->blocks.items);
    free(log->frames.items);
    free(log->headers);
    memset(log, 0, sizeof *log);
}

typedef struct run_result {
    int status;
    uint64_t error_offset;
    uint64_t fragments;
} run_result;

/* Reader + block recorder + fragment visitor + frame visitor over data, fed
 * whole (chunk 0) or in chunks; finishes and drains. */
static run_result run(const uint8_t *data, size_t len, size_t chunk, run_log *log)
{
    kvsp_fragment_visitor *meta = kvsp_fragment_visitor_create(NULL);
    kvsp_visitor sink = {0};
    sink.user = log;
    sink.on_frame = log_frame;
    kvsp_frame_visitor *frames = kvsp_frame_visitor_create(meta, NULL, &sink);
    assert_non_null(meta);
    assert_non_null(frames);
    kvsp_visitor recorder = {0};
    recorder.user = log;
    recorder.on_start = log_start;
    recorder.on_data = log_data;
    kvsp_visitor kids[3] = {recorder, kvsp_fragment_visitor_visitor(meta),
                            kvsp_frame_visitor_visitor(frames)};
    kvsp_composite *c = kvsp_composite_create(kids, 3);
    assert_non_null(c);
    kvsp_visitor v = kvsp_composite_visitor(c);
    kvsp_reader *r = kvsp_reader_create(NULL);
    assert_non_null(r);

    int st = KVSP_NEED_DATA;
    size_t step = chunk ? chunk : (len ? len : 1);
    for (size_t pos = 0; pos < len && st == KVSP_NEED_DATA; pos += step) {
        size_t n = len - pos < step ? len - pos : step;
        st = kvsp_reader_push(r, data + pos, n, &v);
    }
    if (st == KVSP_NEED_DATA) {
        assert_int_equal(kvsp_reader_finish(r), KVSP_OK);
        st = kvsp_reader_run(r, &v);
    }
    run_result res = {st, kvsp_reader_error_offset(r), 0};
    kvsp_fragment_visitor_finish(meta);
    res.fragments = kvsp_fragment_visitor_count(meta);
    kvsp_reader_destroy(r);
    kvsp_composite_destroy(c);
    kvsp_frame_visitor_destroy(frames);
    kvsp_fragment_visitor_destroy(meta);
    return res;
}

static void check_final(const char *what, size_t where, run_result res, size_t len)
{
    if (res.status != KVSP_DONE && res.status >= 0) {
        print_error("%s %zu: final status %s, neither DONE nor an error\n", what, where,
                    kvsp_status_name(res.status));
        fail();
    }
    if (res.status < 0 && res.error_offset > len) {
        print_error("%s %zu: %s at offset %llu, past the end of the input (%zu bytes)\n", what,
                    where, kvsp_status_name(res.status), (unsigned long long)res.error_offset, len);
        fail();
    }
}

static int same_item(const item *a, const item *b)
{
    return a->offset == b->offset && a->size == b->size && a->hash == b->hash &&
           a->count == b->count && a->simple == b->simple;
}

static void check_truncation(const uint8_t *data, size_t cut, const run_log *full)
{
    run_log got = {0};
    size_t chunk = cut % 3 == 0 ? 65536 : 0; /* some runs fed in chunks */
    run_result res = run(data, cut, chunk, &got);
    check_final("cut at", cut, res, cut);

    /* Blocks that ended before the cut: all delivered, identical, in order;
     * nothing else (a block cut short is never delivered). */
    size_t want = 0;
    while (want < full->blocks.count && full->blocks.items[want].end_offset <= cut)
        want++;
    if (got.blocks.count != want) {
        print_error("cut at %zu: %zu blocks delivered, %zu ended before the cut\n", cut,
                    got.blocks.count, want);
        fail();
    }
    for (size_t i = 0; i < want; i++) {
        if (!same_item(&got.blocks.items[i], &full->blocks.items[i])) {
            print_error("cut at %zu: block %zu (@%llu) differs from the full run\n", cut, i,
                        (unsigned long long)full->blocks.items[i].offset);
            fail();
        }
    }
    /* Frames: a prefix of the full run's, including every frame of a
     * SimpleBlock that ended before the cut (a Block's frames wait for the end
     * of its BlockGroup). */
    size_t want_frames = 0;
    for (size_t i = 0; i < full->frames.count; i++) {
        const item *f = &full->frames.items[i];
        if (f->end_offset && f->end_offset <= cut)
            want_frames = i + 1;
    }
    if (got.frames.count < want_frames || got.frames.count > full->frames.count) {
        print_error("cut at %zu: %zu frames delivered, %zu complete before the cut\n", cut,
                    got.frames.count, want_frames);
        fail();
    }
    for (size_t i = 0; i < got.frames.count; i++) {
        if (!same_item(&got.frames.items[i], &full->frames.items[i])) {
            print_error("cut at %zu: frame %zu differs from the full run\n", cut, i);
            fail();
        }
    }
    run_log_free(&got);
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13; /* xorshift64 */
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static unsigned id_length(uint32_t id)
{
    return id > 0xFFFFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1;
}

static void test_file(void **state)
{
    const char *path = *state;
    uint8_t *data;
    size_t len;
    assert_int_equal(load_file(path, &data, &len), 0);
    assert_true(len > 0);

    /* The untruncated run. */
    run_log full = {0};
    full.record_headers = 1;
    run_result res = run(data, len, 0, &full);
    check_final("full run", 0, res, len);
    assert_true(full.header_count > 0);
    /* Each frame of a SimpleBlock gets its block's end offset. */
    for (size_t i = 0, b = 0; i < full.frames.count; i++) {
        item *f = &full.frames.items[i];
        while (b < full.blocks.count && full.blocks.items[b].offset < f->offset)
            b++;
        if (b < full.blocks.count && full.blocks.items[b].offset == f->offset &&
            full.blocks.items[b].simple)
            f->end_offset = full.blocks.items[b].end_offset;
    }

    /* Truncations: spread over the file, then inside headers. */
    for (size_t i = 0; i < TRUNCATIONS_SPREAD; i++)
        check_truncation(data, (size_t)((uint64_t)len * i / TRUNCATIONS_SPREAD) + i % 7, &full);
    for (size_t i = 0; i < TRUNCATIONS_IN_HEADERS; i++) {
        const header_pos *h = &full.headers[full.header_count * i / TRUNCATIONS_IN_HEADERS];
        size_t cut = (size_t)h->offset + 1 + i % (h->header_size > 1 ? h->header_size - 1 : 1);
        if (cut > len)
            cut = len;
        check_truncation(data, cut, &full);
    }

    /* Mutations, in place (restored after each run). */
    uint64_t rng = 0x243F6A8885A308D3ull ^ len;
    int mutation_errors = 0, mutation_done = 0;
    for (int m = 0; m < MUTATIONS; m++) {
        size_t pos[8];
        uint8_t saved[8];
        int n = 0;
        uint64_t x = next_rand(&rng);
        if (m % 2 == 0) {
            /* One byte anywhere. */
            pos[0] = (size_t)(next_rand(&rng) % len);
            saved[0] = data[pos[0]];
            data[pos[0]] ^= (uint8_t)(1 + x % 255);
            n = 1;
        } else {
            /* An element's size field. */
            const header_pos *h = &full.headers[next_rand(&rng) % full.header_count];
            size_t at = (size_t)h->offset + id_length(h->id);
            size_t vlen = h->header_size - id_length(h->id);
            if (vlen < 1 || vlen > 8 || at + vlen > len)
                continue;
            for (size_t k = 0; k < vlen; k++) {
                pos[k] = at + k;
                saved[k] = data[at + k];
            }
            n = (int)vlen;
            uint8_t marker = (uint8_t)(0x80 >> (vlen - 1));
            switch (x % 5) {
            case 0: /* another first byte: another vint length */
                data[at] = (uint8_t)(next_rand(&rng) | 1);
                break;
            case 1: /* unknown size */
                data[at] = (uint8_t)(marker | (marker - 1));
                for (size_t k = 1; k < vlen; k++)
                    data[at + k] = 0xFF;
                break;
            case 2: /* one bigger or smaller */
            {
                size_t k = vlen - 1;
                data[at + k] = (uint8_t)(data[at + k] + ((x >> 8) & 1 ? 1 : 0xFF));
                break;
            }
            case 3: /* largest known size of that length */
                data[at] = (uint8_t)(marker | ((marker - 1) & 0xFE));
                for (size_t k = 1; k < vlen; k++)
                    data[at + k] = 0xFF;
                if (vlen > 1)
                    data[at] = (uint8_t)(marker | (marker - 1)), data[at + vlen - 1] = 0xFE;
                break;
            default: /* random low bytes */
                for (size_t k = 1; k < vlen; k++)
                    data[at + k] = (uint8_t)next_rand(&rng);
                if (vlen == 1)
                    data[at] = (uint8_t)(0x80 | (next_rand(&rng) & 0x7F));
                break;
            }
        }
        run_log got = {0};
        size_t chunk = m % 4 == 3 ? 1 + (size_t)(x >> 20) % 100000 : 0;
        res = run(data, len, chunk, &got);
        check_final("mutation", (size_t)m, res, len);
        if (res.status < 0)
            mutation_errors++;
        else
            mutation_done++;
        run_log_free(&got);
        for (int k = n - 1; k >= 0; k--)
            data[pos[k]] = saved[k];
    }

    print_message("%zu bytes, %zu elements, %zu blocks, %zu frames; %d truncations; "
                  "mutations: %d ended in an error, %d in DONE\n",
                  len, full.header_count, full.blocks.count, full.frames.count,
                  TRUNCATIONS_SPREAD + TRUNCATIONS_IN_HEADERS, mutation_errors, mutation_done);
    run_log_free(&full);
    free(data);
}

int main(int argc, char **argv)
{
    return run_tests_on_files("bad_input", argc, argv, test_file);
}
