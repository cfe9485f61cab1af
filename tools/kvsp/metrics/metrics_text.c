#define _GNU_SOURCE
/* The exposition text (Prometheus text format 0.0.4): per stream, from the
 * library's snapshot of its stats, and the process's standard counters
 * (process_*, as Prometheus' own client libraries name them) from /proc. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics.h"

/* A label value with \, " and newline escaped, as the format requires. */
static void label(FILE *out, const char *value)
{
    fputc('"', out);
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"')
            fputc('\\', out);
        if (*p == '\n')
            fputs("\\n", out);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void head(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

enum { U64, F64, MILLIS };

/* One metric family over every stream. */
typedef struct family {
    const char *name, *type, *help;
    int kind;
    size_t offset; /* in kvsp_stream_stats */
} family;

#define FIELD(f) offsetof(kvsp_stream_stats, f)
static const family families[] = {
    {"kvsp_stream_bytes_total", "counter",
     "Bytes of GetMedia bodies received, partial fragments dropped at reconnects included.", U64,
     FIELD(bytes)},
    {"kvsp_stream_dropped_bytes_total", "counter",
     "Bytes of partial fragments dropped at reconnects.", U64, FIELD(dropped_bytes)},
    {"kvsp_stream_fragments_total", "counter", "Complete fragments delivered.", U64,
     FIELD(fragments)},
    {"kvsp_stream_frames_total", "counter",
     "Frames of the delivered fragments (laced blocks split).", U64, FIELD(frames)},
    {"kvsp_stream_reconnects_total", "counter", "New GetMedia connections after the first.", U64,
     FIELD(reconnects)},
    {"kvsp_stream_stalls_total", "counter", "Connections given up by the stall timeout.", U64,
     FIELD(stalls)},
    {"kvsp_stream_behind_now_seconds", "gauge",
     "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW of the last fragment that had it, in seconds.", MILLIS,
     FIELD(millis_behind_now)},
    {"kvsp_stream_last_fragment_age_seconds", "gauge",
     "Seconds since the last fragment was delivered (since the start before the first).", F64,
     FIELD(seconds_since_last_fragment)},
    {"kvsp_stream_last_byte_age_seconds", "gauge",
     "Seconds since the last byte arrived on the connection.", F64, FIELD(seconds_since_last_byte)},
};

static const struct {
    const char *kind;
    size_t offset;
} error_kinds[] = {
    {"throttled", FIELD(throttled)},
    {"network", FIELD(network_errors)},
    {"service", FIELD(service_errors)},
    {"payload", FIELD(payload_errors)},
};

static void stream_families(FILE *out, const kvsp_stream_stats *all, const char *const *names,
                            size_t n)
{
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        const family *fam = &families[f];
        head(out, fam->name, fam->type, fam->help);
        for (size_t i = 0; i < n; i++) {
            const char *field = (const char *)&all[i] + fam->offset;
            if (fam->kind == MILLIS) {
                int64_t ms;
                memcpy(&ms, field, sizeof ms);
                if (ms < 0)
                    continue; /* not known yet: no sample rather than a made-up one */
                fprintf(out, "%s{stream=", fam->name);
                label(out, names[i]);
                fprintf(out, "} %.3f\n", (double)ms / 1000.0);
                continue;
            }
            fprintf(out, "%s{stream=", fam->name);
            label(out, names[i]);
            if (fam->kind == U64) {
                uint64_t v;
                memcpy(&v, field, sizeof v);
                fprintf(out, "} %llu\n", (unsigned long long)v);
            } else {
                double v;
                memcpy(&v, field, sizeof v);
                fprintf(out, "} %.3f\n", v < 0 ? 0.0 : v);
            }
        }
    }
    head(
        out, "kvsp_stream_errors_total", "counter",
        "Failed attempts by kind: throttled (ClientLimitExceeded, ConnectionLimitExceeded), network, service "
        "(other error answers, error tags), payload (not MKV, too large).");
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof error_kinds / sizeof error_kinds[0]; k++) {
            uint64_t v;
            memcpy(&v, (const char *)&all[i] + error_kinds[k].offset, sizeof v);
            fputs("kvsp_stream_errors_total{stream=", out);
            label(out, names[i]);
            fprintf(out, ",kind=\"%s\"} %llu\n", error_kinds[k].kind, (unsigned long long)v);
        }
    }
    head(out, "kvsp_stream_up", "gauge",
         "1 while the stream is connecting, streaming or waiting to reconnect.");
    for (size_t i = 0; i < n; i++) {
        fputs("kvsp_stream_up{stream=", out);
        label(out, names[i]);
        fprintf(out, "} %d\n",
                all[i].state != KVSP_STREAM_DONE && all[i].state != KVSP_STREAM_FAILED);
    }
}

/* /proc/self/stat fields after the command name (which may hold spaces
 * and parentheses: the last ')' ends it). */
static int proc_stat(unsigned long long *ticks, unsigned long long *start,
                     unsigned long long *vsize, long long *rss)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    /* fields 3..: state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15) cutime cstime priority nice
     * threads itrealvalue starttime(22) vsize(23) rss(24) */
    unsigned long long utime, stime;
    int got = sscanf(
        p + 1,
        " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %lld",
        &utime, &stime, start, vsize, rss);
    if (got != 5)
        return -1;
    *ticks = utime + stime;
    return 0;
}

static long long boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    char line[256];
    long long btime = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lld", &btime) == 1)
            break;
    if (f)
        fclose(f);
    return btime;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static void process_families(FILE *out)
{
    unsigned long long ticks, start, vsize;
    long long rss;
    double hz = (double)sysconf(_SC_CLK_TCK);
    if (proc_stat(&ticks, &start, &vsize, &rss) == 0 && hz > 0) {
        head(out, "process_cpu_seconds_total", "counter",
             "Total user and system CPU time spent in seconds.");
        fprintf(out, "process_cpu_seconds_total %.2f\n", (double)ticks / hz);
        long long btime = boot_time();
        if (btime >= 0) {
            head(out, "process_start_time_seconds", "gauge",
                 "Start time of the process since unix epoch in seconds.");
            fprintf(out, "process_start_time_seconds %.2f\n", (double)btime + (double)start / hz);
        }
        head(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        fprintf(out, "process_virtual_memory_bytes %llu\n", vsize);
        head(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        fprintf(out, "process_resident_memory_bytes %lld\n",
                rss * (long long)sysconf(_SC_PAGESIZE));
    }
    long fds = open_fds();
    if (fds >= 0) {
        head(out, "process_open_fds", "gauge", "Number of open file descriptors.");
        fprintf(out, "process_open_fds %ld\n", fds);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        head(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        fprintf(out, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
    }
}

int cli_metrics_write(FILE *out, const kvsp_consumer *c, const char *const *names)
{
    size_t n = kvsp_consumer_stream_count(c);
    kvsp_stream_stats *all = calloc(n ? n : 1, sizeof *all);
    if (!all)
        return -1;
    size_t have = 0;
    while (have < n && kvsp_consumer_stats_snapshot(c, have, &all[have]) == KVSP_OK)
        have++;
    stream_families(out, all, names, have);
    free(all);
    process_families(out);
    return ferror(out) ? -1 : 0;
}
