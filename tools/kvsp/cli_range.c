#define _GNU_SOURCE /* timegm */
/* --from/--to/--timestamp/--parallel: the time range of the reading
 * commands. Times are ISO 8601 (2026-12-04T10:02:00Z, with a fraction and a
 * Z or +HH:MM offset) or seconds since the epoch. A frame's time is on the
 * chosen timeline: the producer timeline is its fragment's producer
 * timestamp plus its offset in the Cluster, or, without KVS tags (a plain
 * file), its presentation time; the server timeline needs the server
 * timestamp tag. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_log.h"

/* Digits as a number: exactly n of them. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int cli_parse_time(const char *text, double *seconds)
{
    char *end;
    double v = strtod(text, &end);
    if (end != text && !*end && isfinite(v) && fabs(v) < 1e11) {
        *seconds = v;
        return 0;
    }
    const char *p = text;
    int y, mo, d, h, mi, s;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' ') || (p++, digits(&p, 2, &h)) ||
        *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &s))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    double frac = 0, scale = 0.1;
    if (*p == '.' || *p == ',') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        for (; isdigit((unsigned char)*p); p++, scale /= 10)
            frac += (*p - '0') * scale;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
        if (digits(&p, 2, &oh))
            return -1;
        if (*p == ':')
            p++;
        if (*p && digits(&p, 2, &om))
            return -1;
        offset = sign * (oh * 3600L + om * 60L);
    } else {
        return -1; /* a time without its zone is ambiguous */
    }
    if (*p)
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    time_t t = timegm(&tm);
    *seconds = (double)t - (double)offset + frac;
    return 0;
}

/* Milliseconds rounded to the microsecond: a decimal time such as
 * 1764842520.04 compares equal to the frame at ...520040 ms. */
static double to_ms(double seconds)
{
    return round(seconds * 1e6) / 1e3;
}

int cli_range_option(cli_input_options *o, const char *name, const char *value)
{
    if (strcmp(name, "from") == 0 || strcmp(name, "to") == 0) {
        double s;
        if (cli_parse_time(value, &s) != 0) {
            cli_error("kvsp: --%s needs an ISO 8601 time with its zone (2026-12-04T10:02:00Z) or "
                      "seconds since the epoch, got '%s'",
                      name, value);
            return -1;
        }
        if (name[0] == 'f') {
            o->range_from_s = s;
            o->range_from_ms = to_ms(s);
            o->range |= 1;
        } else {
            o->range_to_s = s;
            o->range_to_ms = to_ms(s);
            o->range |= 2;
        }
        return 1;
    }
    if (strcmp(name, "timestamp") == 0) {
        if (strcmp(value, "producer") != 0 && strcmp(value, "server") != 0) {
            cli_error("kvsp: --timestamp is producer or server, got '%s'", value);
            return -1;
        }
        o->range_server = value[0] == 's';
        return 1;
    }
    if (strcmp(name, "parallel") == 0) {
        char *end;
        long n = strtol(value, &end, 10);
        if (end == value || *end || n < 1 || n > 5) {
            cli_error(
                "kvsp: --parallel needs 1 to 5 (KVS allows 5 connections per stream), got '%s'",
                value);
            return -1;
        }
        o->range_parallel = (int)n;
        return 1;
    }
    return 0;
}

int cli_range_check(cli_input_options *o)
{
    if (!o->range)
        return 0;
    if (!(o->range & 1))
        o->range_from_ms = -INFINITY, o->range_from_s = 0; /* streams: from the epoch */
    if (!(o->range & 2))
        o->range_to_ms = INFINITY, o->range_to_s = 1e10;
    if (o->range_from_ms > o->range_to_ms) {
        cli_error("kvsp: --from is after --to");
        return -1;
    }
    if (o->follow) {
        cli_error("kvsp: --from/--to read archived media: not with --follow");
        return -1;
    }
    return 0;
}

int cli_frame_time_ms(const cli_input_options *o, const kvsp_frame *f, double *ms)
{
    return kvsp_frame_time_ms(f, o->range_server, ms) == KVSP_OK ? 0 : -1;
}

int cli_range_frame(const cli_input_options *o, const kvsp_frame *f)
{
    if (!o->range)
        return 0;
    if (kvsp_window_contains(f, o->range_server, o->range_from_ms, o->range_to_ms))
        return 0;
    double t; /* outside: after the range (1) lets a reader stop early */
    return cli_frame_time_ms(o, f, &t) == 0 && t > o->range_to_ms ? 1 : -1;
}

int cli_range_fragment(const cli_input_options *o, const kvsp_fragment *f)
{
    if (!o->range)
        return 1;
    return kvsp_window_overlaps_fragment(f, o->range_server, o->range_from_ms, o->range_to_ms);
}

int cli_block_time_ms(const cli_input_options *o, const kvsp_fragment *f, int64_t cluster_tc,
                      int16_t rel, double *ms)
{
    return kvsp_block_time_ms(f, cluster_tc, rel, o->range_server, ms) == KVSP_OK ? 0 : -1;
}
