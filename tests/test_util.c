#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void log_free(log_buf *log)
{
    free(log->data);
    memset(log, 0, sizeof *log);
}

void log_append(log_buf *log, const char *text, size_t n)
{
    if (log->len + n + 1 > log->cap) {
        size_t cap = log->cap ? log->cap : 4096;
        while (cap < log->len + n + 1)
            cap *= 2;
        char *p = realloc(log->data, cap);
        if (!p)
            abort();
        log->data = p;
        log->cap = cap;
    }
    memcpy(log->data + log->len, text, n);
    log->len += n;
    log->data[log->len] = '\0';
}

void log_printf(log_buf *log, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    if ((size_t)n < sizeof tmp) {
        log_append(log, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big)
        abort();
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    log_append(log, big, (size_t)n);
    free(big);
}

int load_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return -1;
    }
    long size = ftell(f);
    rewind(f);
    *data = malloc(size > 0 ? (size_t)size : 1);
    *len = size > 0 ? (size_t)size : 0;
    size_t got = *data ? fread(*data, 1, *len, f) : 0;
    fclose(f);
    return (*data && got == *len) ? 0 : -1;
}

size_t fixed_chunks(void *state, size_t remaining)
{
    size_t n = ((fixed_chunker *)state)->size;
    return n < remaining ? n : remaining;
}

size_t random_chunks(void *state, size_t remaining)
{
    random_chunker *c = state;
    c->state ^= c->state << 13; /* xorshift64 */
    c->state ^= c->state >> 7;
    c->state ^= c->state << 17;
    size_t n = 1 + (size_t)(c->state % c->max);
    return n < remaining ? n : remaining;
}

uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void log_event(log_buf *out, const kvsp_event *ev)
{
    char line[4096];
    size_t n = kvsp_event_format_json(ev, line, sizeof line);
    if (n >= sizeof line) {
        char *big = malloc(n + 1);
        if (!big)
            abort();
        kvsp_event_format_json(ev, big, n + 1);
        log_append(out, big, n);
        free(big);
    } else {
        log_append(out, line, n);
    }
    if (ev->type == KVSP_EV_DATA) {
        char hash[32];
        int k = snprintf(hash, sizeof hash, " #%016llx",
                         (unsigned long long)fnv1a(ev->data, ev->data_size));
        log_append(out, hash, (size_t)k);
    }
    log_append(out, "\n", 1);
}

static int log_visitor_cb(void *user, const kvsp_event *ev)
{
    log_event(user, ev);
    return KVSP_OK;
}

static int drain(kvsp_reader *r, int use_visitor, log_buf *out)
{
    if (use_visitor) {
        kvsp_visitor v = {0};
        v.user = out;
        v.on_start = v.on_end = v.on_data = v.on_error = v.on_resync = log_visitor_cb;
        return kvsp_reader_run(r, &v);
    }
    kvsp_event ev;
    int st;
    while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK)
        log_event(out, &ev);
    return st;
}

int run_event_log(const uint8_t *data, size_t len, const kvsp_reader_options *opts,
                  chunker_fn chunker, void *chunker_state, int use_visitor, log_buf *out)
{
    kvsp_reader *r = kvsp_reader_create(opts);
    if (!r)
        abort();
    int st = KVSP_NEED_DATA;
    size_t pos = 0;
    while (pos < len && st == KVSP_NEED_DATA) {
        size_t n = chunker(chunker_state, len - pos);
        /* Copy each chunk so that a payload the reader kept pointing at after
         * its chunk was consumed would show up as a different hash. */
        uint8_t *chunk = malloc(n);
        if (!chunk)
            abort();
        memcpy(chunk, data + pos, n);
        if (kvsp_reader_feed(r, chunk, n) != KVSP_OK)
            abort();
        st = drain(r, use_visitor, out);
        memset(chunk, 0xAA, n);
        free(chunk);
        pos += n;
    }
    if (st == KVSP_NEED_DATA) {
        kvsp_reader_finish(r);
        st = drain(r, use_visitor, out);
    }
    char tail[256];
    int k = snprintf(
        tail, sizeof tail, "status %s offset %llu\n", kvsp_status_name(st),
        (unsigned long long)(st < 0 ? kvsp_reader_error_offset(r) : kvsp_reader_offset(r)));
    log_append(out, tail, (size_t)k);
    kvsp_reader_destroy(r);
    return st;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **list_mkv_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    size_t n = 0, cap = 16;
    char **list = calloc(cap, sizeof *list);
    struct dirent *e;
    while (list && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".mkv") != 0)
            continue;
        if (n + 2 > cap) {
            cap *= 2;
            char **p = realloc(list, cap * sizeof *list);
            if (!p)
                abort();
            list = p;
        }
        size_t pl = strlen(dir) + l + 2;
        list[n] = malloc(pl);
        snprintf(list[n], pl, "%s/%s", dir, e->d_name);
        list[++n] = NULL;
    }
    closedir(d);
    if (list)
        qsort(list, n, sizeof *list, cmp_str);
    return list;
}

void free_list(char **list)
{
    if (!list)
        return;
    for (char **p = list; *p; p++)
        free(*p);
    free(list);
}

static int skip_is_failure(void)
{
    const char *ci = getenv("CI"), *allowed = getenv("KVSP_SKIP_ALLOWED");
    return ci && strcmp(ci, "true") == 0 && !(allowed && strcmp(allowed, "1") == 0);
}

int kvsp_test_skip(const char *why)
{
    if (skip_is_failure()) {
        printf("CI: cannot skip: %s\n", why);
        return 1;
    }
    printf("SKIP: %s\n", why);
    return KVSP_TEST_SKIPPED;
}

/* The first part skipped, repeated in the final status line. */
static char first_skipped_part[512];
static int skipped_parts;

void kvsp_test_skipped_part(const char *fmt, ...)
{
    char why[sizeof first_skipped_part];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    printf("skipped: %s\n", why);
    if (skipped_parts++ == 0)
        memcpy(first_skipped_part, why, sizeof why);
}

void kvsp_test_skip_case(const char *why)
{
    kvsp_test_skipped_part("%s", why);
    skip();
}

int kvsp_test_status(int failed)
{
    if (failed)
        return 1;
    if (skipped_parts == 0)
        return 0;
    char why[sizeof first_skipped_part + 64];
    if (skipped_parts == 1)
        snprintf(why, sizeof why, "%s", first_skipped_part);
    else
        snprintf(why, sizeof why, "%s, and %d more parts", first_skipped_part, skipped_parts - 1);
    return kvsp_test_skip(why);
}
