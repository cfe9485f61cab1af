/* libFuzzer target: the merger writing to memory (write + patch into a
 * buffer, i.e. seekable output, or write only for live-style output; the
 * timeline and split mode too are chosen by the input's first bytes), then
 * the merged output is read back with a fresh reader, which must accept it:
 * kvsp_reader_finish must lead to KVSP_DONE, otherwise abort() so that the
 * fuzzer reports the input. Whatever the input (even invalid), what the
 * merger writes must be well-formed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kvsparser/merger.h"
#include "kvsparser/reader.h"

typedef struct memory_file {
    uint8_t *data;
    size_t len, cap;
} memory_file;

static int mem_write(void *user, const void *data, size_t len)
{
    memory_file *f = user;
    if (f->len + len > f->cap) {
        size_t cap = (f->len + len) * 2;
        uint8_t *p = realloc(f->data, cap);
        if (!p)
            return KVSP_ERR_NOMEM;
        f->data = p;
        f->cap = cap;
    }
    if (len)
        memcpy(f->data + f->len, data, len);
    f->len += len;
    return KVSP_OK;
}

static int mem_patch(void *user, uint64_t offset, const void *data, size_t len)
{
    memory_file *f = user;
    if (offset > f->len || len > f->len - offset)
        abort(); /* the merger patches only bytes it wrote */
    memcpy(f->data + offset, data, len);
    return KVSP_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode = size ? data[0] : 0;
    if (size) {
        data++;
        size--;
    }
    fuzz_chunker ch;
    fuzz_chunker_init(&ch, &data, &size);

    memory_file out = {0};
    kvsp_merge_output o = {&out, mem_write, (mode & 1) ? NULL : mem_patch, NULL};
    kvsp_merge_options mo;
    memset(&mo, 0, sizeof mo);
    mo.timeline = (kvsp_merge_timeline)((mode >> 1) % 3);
    mo.split = (kvsp_merge_split)((mode >> 3) % 3);
    mo.drop_kvs_tags = (mode >> 5) & 1;
    kvsp_merger *m = kvsp_merger_create(NULL, &mo, &o);
    kvsp_reader *r = kvsp_reader_create(NULL);
    if (!m || !r)
        abort();
    kvsp_visitor v = kvsp_merger_visitor(m);
    int st = fuzz_run_reader(r, &v, &ch, data, size);
    int fin = kvsp_merger_finish(m);
    kvsp_reader_destroy(r);
    kvsp_merger_destroy(m);

    if (fin == KVSP_OK && out.len) {
        /* The output, read back whole and in small chunks. */
        for (int pass = 0; pass < 2; pass++) {
            kvsp_reader *check = kvsp_reader_create(NULL);
            if (!check)
                abort();
            size_t step = pass ? 7 : out.len;
            int cst = KVSP_NEED_DATA;
            kvsp_event ev;
            for (size_t p = 0; p < out.len && cst == KVSP_NEED_DATA; p += step) {
                size_t n = out.len - p < step ? out.len - p : step;
                kvsp_reader_feed(check, out.data + p, n);
                while ((cst = kvsp_reader_next(check, &ev)) == KVSP_OK)
                    ;
            }
            if (cst == KVSP_NEED_DATA) {
                kvsp_reader_finish(check);
                while ((cst = kvsp_reader_next(check, &ev)) == KVSP_OK)
                    ;
            }
            if (cst != KVSP_DONE) {
                fprintf(stderr, "merged output (%zu bytes) rejected: %s at %llu: %s\n", out.len,
                        kvsp_status_name(cst), (unsigned long long)kvsp_reader_error_offset(check),
                        kvsp_reader_error_message(check));
                abort();
            }
            kvsp_reader_destroy(check);
        }
    }
    free(out.data);
    return 0;
}
