/* Exact time arithmetic for fragment and frame timestamps: KVS gives
 * fragment times as decimal seconds, Matroska gives ticks of TimecodeScale
 * ns. Going through double would lose the millisecond exactness consumers
 * rely on to match frames across systems. */
#include <limits.h>

#include "fragment_internal.h"
#include "kvsparser/fragment.h"
#include "kvsparser/frames.h"
#include "kvsparser/status.h"

int kvsp_frame_time_ms(const kvsp_frame *f, int server, double *ms)
{
    if (server) {
        *ms = f->server_timestamp_ms;
        return (f->present & KVSP_FRAME_HAS_SERVER_TIME) ? KVSP_OK : KVSP_ERR_INVALID_ARG;
    }
    if (f->present & KVSP_FRAME_HAS_PRODUCER_TIME) {
        *ms = f->producer_timestamp_ms;
        return KVSP_OK;
    }
    *ms = f->pts_ms;
    return (f->present & KVSP_FRAME_HAS_PTS) ? KVSP_OK : KVSP_ERR_INVALID_ARG;
}

int kvsp_block_time_ms(const kvsp_fragment *f, int64_t cluster_tc, int16_t rel, int server,
                       double *ms)
{
    double scale = f ? (double)f->info.timecode_scale / 1e6 : 1.0;
    double offset = (double)rel * scale;
    if (server) {
        *ms = f ? (double)f->server_timestamp_ms + offset : 0;
        return f && (f->present & KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP) ? KVSP_OK
                                                                      : KVSP_ERR_INVALID_ARG;
    }
    if (f && (f->present & KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP))
        *ms = (double)f->producer_timestamp_ms + offset;
    else
        *ms = (double)cluster_tc * scale + offset;
    return KVSP_OK;
}

int kvsp_window_contains(const kvsp_frame *f, int server, double from_ms, double to_ms)
{
    double t;
    if (kvsp_frame_time_ms(f, server, &t) != KVSP_OK)
        return 0; /* no time on that timeline: outside any window */
    return t >= from_ms && t <= to_ms;
}

int kvsp_window_overlaps_fragment(const kvsp_fragment *f, int server, double from_ms, double to_ms)
{
    if (!(f->present & KVSP_FRAGMENT_HAS_FRAMES))
        return 0;
    double scale = (double)f->info.timecode_scale / 1e6, base;
    int64_t anchor = 0; /* the fragment timestamp is that of its Cluster */
    if (server || (f->present & KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP)) {
        uint32_t need =
            server ? KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP : KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP;
        if (!(f->present & need) || !(f->present & KVSP_FRAGMENT_HAS_CLUSTER_TIMECODE))
            return 0;
        base = (double)(server ? f->server_timestamp_ms : f->producer_timestamp_ms);
        anchor = f->cluster_timecode;
    } else {
        base = 0;
    }
    double first = base + (double)(f->first_timecode - anchor) * scale;
    double last = base + (double)(f->last_timecode - anchor) * scale;
    return last >= from_ms && first <= to_ms;
}

int kvsp_ticks_to_ns(int64_t ticks, uint64_t timecode_scale, int64_t *ns)
{
    return kvsp_ticks_to_ns_inline(ticks, timecode_scale, ns) == 0 ? KVSP_OK : KVSP_ERR_INVALID_ARG;
}

int kvsp_ticks_to_ms(int64_t ticks, uint64_t timecode_scale, double *ms)
{
    int64_t ns;
    if (kvsp_ticks_to_ns_inline(ticks, timecode_scale, &ns) != 0)
        return KVSP_ERR_INVALID_ARG;
    *ms = kvsp_ns_to_ms_inline(ns);
    return KVSP_OK;
}

static int parse_seconds_ms(const char *text, size_t len, int64_t *ms);

int kvsp_parse_seconds_ms(const char *text, size_t len, int64_t *ms)
{
    return parse_seconds_ms(text, len, ms) == 0 ? KVSP_OK : KVSP_ERR_INVALID_ARG;
}

/* 0, or -1 if the text is not such a number. */
static int parse_seconds_ms(const char *text, size_t len, int64_t *ms)
{
    size_t i = 0;
    int64_t seconds = 0;
    if (len == 0 || text[0] < '0' || text[0] > '9')
        return -1;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
        if (__builtin_mul_overflow(seconds, 10, &seconds) ||
            __builtin_add_overflow(seconds, text[i] - '0', &seconds))
            return -1;
    }
    int64_t millis = 0;
    if (i < len && text[i] == '.') {
        size_t digits = 0;
        for (i++; i < len && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
            if (digits < 3)
                millis = millis * 10 + (text[i] - '0');
            else if (text[i] != '0')
                return -1; /* finer than a millisecond: not representable exactly */
        }
        for (; digits < 3; digits++)
            millis *= 10;
    }
    if (i != len)
        return -1;
    int64_t total;
    if (__builtin_mul_overflow(seconds, 1000, &total) ||
        __builtin_add_overflow(total, millis, &total))
        return -1;
    *ms = total;
    return 0;
}
