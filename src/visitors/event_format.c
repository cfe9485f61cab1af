/* One-line renderings of reader events: JSON for machines (kvsp inspect
 * --json, golden logs, split-invariance tests) and text for people. */
#define _POSIX_C_SOURCE 200809L
#include "kvsparser/event_format.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define BINARY_PREVIEW 16
#define TEXT_STRING_PREVIEW 80

/* Appends to a fixed buffer but counts everything, like snprintf. */
typedef struct sink {
    char *buf;
    size_t cap;
    size_t len;
} sink;

static void put_bytes(sink *s, const char *p, size_t n)
{
    if (s->len < s->cap) {
        size_t room = s->cap - s->len;
        memcpy(s->buf + s->len, p, n < room ? n : room);
    }
    s->len += n;
}

static void put(sink *s, const char *str)
{
    put_bytes(s, str, strlen(str));
}

static void putf(sink *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void putf(sink *s, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put_bytes(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static size_t finish(sink *s)
{
    if (s->cap)
        s->buf[s->len < s->cap ? s->len : s->cap - 1] = '\0';
    return s->len;
}

/* JSON string content; bytes that are not printable ASCII are escaped as
 * \u00XX so that any payload gives valid JSON. */
static void put_json_chars(sink *s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            put_bytes(s, esc, 2);
        } else if (c >= 0x20 && c < 0x7F) {
            put_bytes(s, (const char *)&c, 1);
        } else {
            putf(s, "\\u%04x", c);
        }
    }
}

static void put_hex(sink *s, const uint8_t *p, size_t n)
{
    size_t shown = n < BINARY_PREVIEW ? n : BINARY_PREVIEW;
    for (size_t i = 0; i < shown; i++)
        putf(s, "%02x", p[i]);
    if (n > shown)
        put(s, "...");
}

static void put_double(sink *s, double d)
{
    if (isfinite(d))
        putf(s, "%.17g", d);
    else
        put(s, "null");
}

static const char *event_kind(kvsp_event_type type)
{
    switch (type) {
    case KVSP_EV_START: return "start";
    case KVSP_EV_END: return "end";
    case KVSP_EV_DATA: return "data";
    case KVSP_EV_ERROR: return "error";
    case KVSP_EV_RESYNC: return "resync";
    }
    return "unknown";
}

static const char *lacing_name(kvsp_lacing lacing)
{
    switch (lacing) {
    case KVSP_LACING_XIPH: return "xiph";
    case KVSP_LACING_FIXED: return "fixed";
    case KVSP_LACING_EBML: return "ebml";
    case KVSP_LACING_NONE: break;
    }
    return "none";
}

static void put_json_value(sink *s, const kvsp_event *ev)
{
    put(s, ",\"value\":");
    switch (ev->value_type) {
    case KVSP_TYPE_UINT: putf(s, "%llu", (unsigned long long)ev->value.u); break;
    case KVSP_TYPE_INT:
    case KVSP_TYPE_DATE: putf(s, "%lld", (long long)ev->value.i); break;
    case KVSP_TYPE_FLOAT: put_double(s, ev->value.f); break;
    case KVSP_TYPE_STRING:
    case KVSP_TYPE_UTF8:
        put(s, "\"");
        put_json_chars(s, ev->data, ev->data_size);
        put(s, "\"");
        break;
    default:
        put(s, "\"");
        put_hex(s, ev->data, ev->data_size);
        put(s, "\"");
        break;
    }
}

static void put_json_block(sink *s, const kvsp_block *b)
{
    putf(s, ",\"track\":%llu,\"timecode\":%d", (unsigned long long)b->track, (int)b->timecode);
    putf(s, ",\"keyframe\":%s,\"invisible\":%s,\"discardable\":%s", b->keyframe ? "true" : "false",
         b->invisible ? "true" : "false", b->discardable ? "true" : "false");
    putf(s, ",\"lacing\":\"%s\",\"frames\":%u,\"frame_sizes\":[", lacing_name(b->lacing),
         b->frame_count);
    for (uint32_t i = 0; i < b->frame_count; i++)
        putf(s, i ? ",%zu" : "%zu", b->frame_sizes[i]);
    put(s, "]");
}

size_t kvsp_event_format_json(const kvsp_event *ev, char *buf, size_t cap)
{
    sink s = {buf, cap, 0};
    putf(&s, "{\"event\":\"%s\"", event_kind(ev->type));
    if (ev->type == KVSP_EV_ERROR) {
        putf(&s, ",\"status\":\"%s\",\"offset\":%llu,\"message\":\"", ev->name,
             (unsigned long long)ev->offset);
        put_json_chars(&s, ev->data, ev->data_size);
        put(&s, "\"}");
        return finish(&s);
    }
    putf(&s, ",\"name\":\"%s\",\"id\":\"0x%X\",\"offset\":%llu", ev->name, ev->id,
         (unsigned long long)ev->offset);
    if (ev->type == KVSP_EV_RESYNC) {
        putf(&s, ",\"skipped\":%llu,\"depth\":%u}", (unsigned long long)ev->skipped, ev->depth);
        return finish(&s);
    }
    putf(&s, ",\"header_size\":%u,\"size\":", ev->header_size);
    if (ev->size == KVSP_SIZE_UNKNOWN)
        put(&s, "null");
    else
        putf(&s, "%llu", (unsigned long long)ev->size);
    putf(&s, ",\"depth\":%u", ev->depth);
    if (ev->type == KVSP_EV_END)
        putf(&s, ",\"end_offset\":%llu", (unsigned long long)ev->end_offset);
    if (ev->type == KVSP_EV_DATA) {
        put_json_value(&s, ev);
        if (ev->block)
            put_json_block(&s, ev->block);
    }
    put(&s, "}");
    return finish(&s);
}

/* Matroska dates count nanoseconds from 2001-01-01T00:00:00Z. */
static void put_date(sink *s, int64_t ns)
{
    time_t secs = (time_t)(978307200 + ns / 1000000000);
    struct tm tm;
    char tmp[64];
    if (gmtime_r(&secs, &tm) && strftime(tmp, sizeof tmp, "%Y-%m-%dT%H:%M:%SZ", &tm))
        put(s, tmp);
    else
        putf(s, "%lld ns", (long long)ns);
}

static void put_text_value(sink *s, const kvsp_event *ev)
{
    const kvsp_block *b = ev->block;
    if (b) {
        putf(s, ": track %llu, timecode %d%s%s%s, %u frame%s", (unsigned long long)b->track,
             (int)b->timecode, b->keyframe ? ", key" : "", b->invisible ? ", invisible" : "",
             b->discardable ? ", discardable" : "", b->frame_count, b->frame_count == 1 ? "" : "s");
        if (b->lacing != KVSP_LACING_NONE)
            putf(s, " (%s lacing)", lacing_name(b->lacing));
        return;
    }
    switch (ev->value_type) {
    case KVSP_TYPE_UINT: putf(s, ": %llu", (unsigned long long)ev->value.u); break;
    case KVSP_TYPE_INT: putf(s, ": %lld", (long long)ev->value.i); break;
    case KVSP_TYPE_FLOAT: putf(s, ": %g", ev->value.f); break;
    case KVSP_TYPE_DATE:
        put(s, ": ");
        put_date(s, ev->value.i);
        break;
    case KVSP_TYPE_STRING:
    case KVSP_TYPE_UTF8: {
        size_t n = ev->data_size < TEXT_STRING_PREVIEW ? ev->data_size : TEXT_STRING_PREVIEW;
        put(s, ": \"");
        put_json_chars(s, ev->data, n);
        put(s, n < ev->data_size ? "\"..." : "\"");
        break;
    }
    default:
        put(s, ": ");
        put_hex(s, ev->data, ev->data_size);
        break;
    }
}

size_t kvsp_event_format_text(const kvsp_event *ev, char *buf, size_t cap)
{
    sink s = {buf, cap, 0};
    for (uint32_t d = 0; d < ev->depth && d < 64; d++)
        put(&s, "| ");
    switch (ev->type) {
    case KVSP_EV_ERROR:
        putf(&s, "! error %s at offset %llu: ", ev->name, (unsigned long long)ev->offset);
        put_bytes(&s, (const char *)ev->data, ev->data_size);
        return finish(&s);
    case KVSP_EV_RESYNC:
        putf(&s, "! resync at %s (offset %llu) after skipping %llu bytes", ev->name,
             (unsigned long long)ev->offset, (unsigned long long)ev->skipped);
        return finish(&s);
    case KVSP_EV_END:
        putf(&s, "- end %s at %llu", ev->name, (unsigned long long)ev->end_offset);
        return finish(&s);
    default: break;
    }
    putf(&s, "%s %s [0x%X] @%llu header %u size ", ev->type == KVSP_EV_START ? "+" : "-", ev->name,
         ev->id, (unsigned long long)ev->offset, ev->header_size);
    if (ev->size == KVSP_SIZE_UNKNOWN)
        put(&s, "unknown");
    else
        putf(&s, "%llu", (unsigned long long)ev->size);
    if (ev->type == KVSP_EV_DATA)
        put_text_value(&s, ev);
    return finish(&s);
}
