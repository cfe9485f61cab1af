/* kvsp_bench: throughput driver for bench/run.
 *
 *   kvsp_bench --case reader|consumer|memcpy [--chunk N] [--source mem|read]
 *              [--repeat R] FILE
 *
 * --source mem (default): FILE is read into memory once (untimed), then each
 * of R passes feeds it to a fresh reader in chunks of N bytes (default
 * 16384), timed with CLOCK_MONOTONIC. --source read: one pass that read()s
 * FILE in N-byte chunks into one buffer and feeds each chunk, as a network
 * consumer would; the memory the process needs is then only the reader's
 * (what bench/run measures peak RSS on). memcpy copies the input in N-byte
 * chunks into one N-byte buffer: the bandwidth limit of any consumer that
 * touches every byte once.
 *
 * Cases: reader = kvsp_reader_feed/next only (events counted, blocks'
 * frames counted); consumer = reader + fragment visitor (metadata, reported
 * once per fragment) + frame visitor (one callback per frame) in a
 * composite, the typical consumer.
 *
 * Prints one JSON object: bytes, frames, fragments, largest_frame, and
 * seconds (one per pass), and cpu_seconds (the thread's CPU time per pass). Exit 1 on a parse
 * error, 2 on a usage error. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <kvsparser/kvsparser.h>

typedef struct stats {
    uint64_t frames, fragments, events, largest_frame, checksum;
} stats;

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static int on_frame(void *user, const kvsp_frame *f)
{
    stats *s = user;
    s->frames++;
    if (f->size > s->largest_frame)
        s->largest_frame = f->size;
    /* touch the frame like a consumer handing it on would (first byte) */
    if (f->size)
        s->checksum += f->data[0];
    return KVSP_OK;
}

static int on_fragment(void *user, const kvsp_fragment *frag)
{
    stats *s = user;
    s->fragments++;
    s->checksum += (uint64_t)frag->producer_timestamp_ms;
    return KVSP_OK;
}

/* A source of chunks: memory or a file descriptor. */
typedef struct source {
    const uint8_t *mem;
    size_t mem_len, pos;
    int fd;
    uint8_t *buf;
    size_t chunk;
} source;

static ssize_t next_chunk(source *src, const uint8_t **p)
{
    if (src->mem) {
        size_t n = src->mem_len - src->pos;
        if (n > src->chunk)
            n = src->chunk;
        *p = src->mem + src->pos;
        src->pos += n;
        return (ssize_t)n;
    }
    size_t got = 0;
    while (got < src->chunk) { /* full chunks, like a socket buffer drained */
        ssize_t n = read(src->fd, src->buf + got, src->chunk - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    *p = src->buf;
    return (ssize_t)got;
}

static int fail_reader(kvsp_reader *r, int st)
{
    fprintf(stderr, "kvsp_bench: %s at offset %llu: %s\n", kvsp_status_name(st),
            (unsigned long long)kvsp_reader_error_offset(r), kvsp_reader_error_message(r));
    return 1;
}

static int pass_reader(source *src, stats *s)
{
    kvsp_reader *r = kvsp_reader_create(NULL);
    if (!r)
        return 1;
    kvsp_event ev;
    int st;
    const uint8_t *p;
    ssize_t n;
    while ((n = next_chunk(src, &p)) > 0) {
        kvsp_reader_feed(r, p, (size_t)n);
        while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK) {
            s->events++;
            if (ev.block) {
                s->frames += ev.block->frame_count;
                for (uint32_t i = 0; i < ev.block->frame_count; i++)
                    if (ev.block->frame_sizes[i] > s->largest_frame)
                        s->largest_frame = ev.block->frame_sizes[i];
            } else if (ev.type == KVSP_EV_START && ev.id == 0x18538067u) {
                s->fragments++;
            }
        }
        if (st != KVSP_NEED_DATA) {
            int rc = fail_reader(r, st);
            kvsp_reader_destroy(r);
            return rc;
        }
    }
    if (n < 0) {
        perror("kvsp_bench: read");
        kvsp_reader_destroy(r);
        return 1;
    }
    kvsp_reader_finish(r);
    while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK)
        s->events++;
    int rc = st == KVSP_DONE ? 0 : fail_reader(r, st);
    kvsp_reader_destroy(r);
    return rc;
}

static int pass_consumer(source *src, stats *s)
{
    kvsp_reader *r = kvsp_reader_create(NULL);
    kvsp_fragment_options fo;
    memset(&fo, 0, sizeof fo);
    fo.on_fragment = on_fragment;
    fo.user = s;
    kvsp_fragment_visitor *meta = kvsp_fragment_visitor_create(&fo);
    kvsp_visitor sink = {0};
    sink.user = s;
    sink.on_frame = on_frame;
    kvsp_frame_visitor *fv = meta ? kvsp_frame_visitor_create(meta, NULL, &sink) : NULL;
    kvsp_composite *c = NULL;
    if (fv) {
        kvsp_visitor kids[2] = {kvsp_fragment_visitor_visitor(meta),
                                kvsp_frame_visitor_visitor(fv)};
        c = kvsp_composite_create(kids, 2);
    }
    int rc = 1;
    if (!r || !c)
        goto out;
    kvsp_visitor v = kvsp_composite_visitor(c);
    const uint8_t *p;
    ssize_t n;
    int st = KVSP_OK;
    while ((n = next_chunk(src, &p)) > 0) {
        st = kvsp_reader_push(r, p, (size_t)n, &v);
        if (st != KVSP_NEED_DATA) {
            rc = fail_reader(r, st);
            goto out;
        }
    }
    if (n < 0) {
        perror("kvsp_bench: read");
        goto out;
    }
    kvsp_reader_finish(r);
    st = kvsp_reader_run(r, &v);
    if (st != KVSP_DONE) {
        rc = fail_reader(r, st);
        goto out;
    }
    kvsp_fragment_visitor_finish(meta);
    rc = 0;
out:
    kvsp_composite_destroy(c);
    kvsp_frame_visitor_destroy(fv);
    kvsp_fragment_visitor_destroy(meta);
    kvsp_reader_destroy(r);
    return rc;
}

static int pass_memcpy(source *src, stats *s, uint8_t *dst)
{
    const uint8_t *p;
    ssize_t n;
    while ((n = next_chunk(src, &p)) > 0) {
        memcpy(dst, p, (size_t)n);
        s->checksum += dst[(size_t)n - 1]; /* keeps the copy */
    }
    return n < 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: kvsp_bench --case reader|consumer|memcpy [--chunk N] "
                    "[--source mem|read] [--repeat R] FILE\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *mode = NULL, *path = NULL, *how = "mem";
    size_t chunk = 16384;
    int repeat = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--case") && i + 1 < argc)
            mode = argv[++i];
        else if (!strcmp(argv[i], "--chunk") && i + 1 < argc)
            chunk = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--source") && i + 1 < argc)
            how = argv[++i];
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else
            return usage();
    }
    int use_mem = !strcmp(how, "mem");
    if (!mode || !path || chunk == 0 || repeat < 1 || (!use_mem && strcmp(how, "read")))
        return usage();
    if (strcmp(mode, "reader") && strcmp(mode, "consumer") && strcmp(mode, "memcpy"))
        return usage();
    if (!use_mem)
        repeat = 1;

    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    struct stat stt;
    fstat(fd, &stt);
    size_t len = (size_t)stt.st_size;
    uint8_t *mem = NULL;
    if (use_mem) {
        mem = malloc(len ? len : 1);
        if (!mem) {
            fprintf(stderr, "kvsp_bench: out of memory\n");
            return 1;
        }
        size_t got = 0;
        while (got < len) {
            ssize_t n = read(fd, mem + got, len - got);
            if (n <= 0) {
                perror("read");
                return 1;
            }
            got += (size_t)n;
        }
    }
    uint8_t *buf = malloc(chunk);
    if (!buf)
        return 1;
    memset(buf, 0, chunk);

    double *secs = calloc((size_t)repeat, sizeof *secs);
    /* The thread's CPU time too: on a shared, loaded machine it is
     * disturbed less than wall time (what the Python bench compares). */
    double *cpu = calloc((size_t)repeat, sizeof *cpu);
    if (!secs || !cpu)
        return 1;
    stats s = {0};
    for (int k = 0; k < repeat; k++) {
        source src = {mem, len, 0, fd, buf, chunk};
        if (!use_mem)
            lseek(fd, 0, SEEK_SET);
        memset(&s, 0, sizeof s);
        double t0 = now_s(), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        int rc;
        if (!strcmp(mode, "reader"))
            rc = pass_reader(&src, &s);
        else if (!strcmp(mode, "consumer"))
            rc = pass_consumer(&src, &s);
        else
            rc = pass_memcpy(&src, &s, buf);
        secs[k] = now_s() - t0;
        cpu[k] = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
        if (rc)
            return 1;
    }
    printf("{\"case\":\"%s\",\"chunk\":%zu,\"source\":\"%s\",\"bytes\":%zu,\"frames\":%llu,"
           "\"fragments\":%llu,\"events\":%llu,\"largest_frame\":%llu,\"checksum\":%llu,"
           "\"seconds\":[",
           mode, chunk, how, len, (unsigned long long)s.frames, (unsigned long long)s.fragments,
           (unsigned long long)s.events, (unsigned long long)s.largest_frame,
           (unsigned long long)s.checksum);
    for (int k = 0; k < repeat; k++)
        printf("%s%.6f", k ? "," : "", secs[k]);
    printf("],\"cpu_seconds\":[");
    for (int k = 0; k < repeat; k++)
        printf("%s%.6f", k ? "," : "", cpu[k]);
    printf("]}\n");
    free(cpu);
    free(secs);
    free(buf);
    free(mem);
    close(fd);
    return 0;
}
