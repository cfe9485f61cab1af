/* The JSON line writer (json_line.h). Speed matters here: `kvsp fragments`
 * and `kvsp frames --list` print about half as many bytes as they read, so
 * this runs at the rate of the parser. Strings are copied in runs of bytes
 * that need no escape; the buffer is reserved once per value, for the worst
 * case, so the inner loops do not check for room. */
#include "json_line.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* What a byte needs inside a string: 0 nothing, 1 an escape, 2 a check
 * that it starts a valid UTF-8 sequence. */
static const unsigned char byte_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

static bool reserve(cli_jl *w, size_t more)
{
    if (w->failed)
        return false;
    if (more <= w->cap - w->len)
        return true;
    size_t cap = w->cap ? w->cap : 512;
    while (cap - w->len < more) {
        if (cap > SIZE_MAX / 2) {
            w->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *bigger = realloc(w->buf, cap);
    if (!bigger) {
        w->failed = true;
        return false;
    }
    w->buf = bigger;
    w->cap = cap;
    return true;
}

static void put(cli_jl *w, const char *s, size_t n)
{
    if (reserve(w, n)) {
        memcpy(w->buf + w->len, s, n);
        w->len += n;
    }
}

/* The separator and key before a value; false if there is no room. */
static bool field(cli_jl *w, const char *key, size_t value_room)
{
    size_t key_len = key ? strlen(key) : 0;
    /* ',' + '"' key '"' ':' */
    if (value_room > SIZE_MAX - key_len - 4 || !reserve(w, key_len + 4 + value_room))
        return false;
    char *p = w->buf + w->len;
    if (w->need_comma[w->depth])
        *p++ = ',';
    w->need_comma[w->depth] = true;
    if (key) {
        *p++ = '"';
        memcpy(p, key, key_len);
        p += key_len;
        *p++ = '"';
        *p++ = ':';
    }
    w->len = (size_t)(p - w->buf);
    return true;
}

void cli_jl_free(cli_jl *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

void cli_jl_begin(cli_jl *w)
{
    w->len = 0;
    w->failed = false;
    w->depth = 0;
    w->need_comma[0] = false;
    cli_jl_open(w, NULL, '{');
    w->need_comma[0] = false; /* the line's object is not an element */
}

int cli_jl_end(cli_jl *w, FILE *out)
{
    cli_jl_close(w, '{');
    put(w, "\n", 1);
    if (w->failed || w->depth != 0)
        return -1;
    return fwrite(w->buf, 1, w->len, out) == w->len ? 0 : -1;
}

char *cli_jl_end_string(cli_jl *w)
{
    cli_jl_close(w, '{');
    put(w, "", 1);
    if (w->failed || w->depth != 0)
        return NULL;
    char *text = w->buf;
    memset(w, 0, sizeof *w);
    return text;
}

void cli_jl_open(cli_jl *w, const char *key, char bracket)
{
    if (w->depth >= CLI_JL_MAX_DEPTH) {
        w->failed = true;
        return;
    }
    if (!field(w, key, 1))
        return;
    w->buf[w->len++] = bracket;
    w->need_comma[++w->depth] = false;
}

void cli_jl_close(cli_jl *w, char bracket)
{
    if (w->depth > 0)
        w->depth--;
    put(w, bracket == '{' ? "}" : "]", 1);
}

void cli_jl_null(cli_jl *w, const char *key)
{
    if (field(w, key, 4)) {
        memcpy(w->buf + w->len, "null", 4);
        w->len += 4;
    }
}

void cli_jl_bool(cli_jl *w, const char *key, bool v)
{
    if (field(w, key, 5)) {
        memcpy(w->buf + w->len, v ? "true" : "false", v ? 4 : 5);
        w->len += v ? 4 : 5;
    }
}

void cli_jl_int(cli_jl *w, const char *key, int64_t v)
{
    if (!field(w, key, 20))
        return;
    char digits[20];
    size_t n = 0;
    /* Unsigned arithmetic: -INT64_MIN does not exist as an int64. */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    char *p = w->buf + w->len;
    if (v < 0)
        *p++ = '-';
    while (n)
        *p++ = digits[--n];
    w->len = (size_t)(p - w->buf);
}

void cli_jl_real(cli_jl *w, const char *key, double v)
{
    if (!isfinite(v))
        return;
    char text[40];
    int n = snprintf(text, sizeof text - 2, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof text - 2)
        return;
    /* A dot or an exponent, so that the text reads back as a real. */
    if (!strchr(text, '.') && !strchr(text, 'e')) {
        memcpy(text + n, ".0", 3);
        n += 2;
    }
    /* The exponent without '+' and leading zeros: 1e+20 is 1e20, 1e-07 is 1e-7. */
    char *e = strchr(text, 'e');
    if (e) {
        char *src = e + 1, *dst = e + 1;
        if (*src == '-')
            *dst++ = *src++;
        else if (*src == '+')
            src++;
        while (*src == '0' && src[1])
            src++;
        memmove(dst, src, strlen(src) + 1);
        n = (int)strlen(text);
    }
    if (field(w, key, (size_t)n)) {
        memcpy(w->buf + w->len, text, (size_t)n);
        w->len += (size_t)n;
    }
}

void cli_jl_seconds(cli_jl *w, const char *key, int64_t ms)
{
    /* Unsigned arithmetic: -INT64_MIN does not exist as an int64. */
    uint64_t u = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    char text[32];
    int n = snprintf(text, sizeof text, "%s%llu.%03u", ms < 0 ? "-" : "",
                     (unsigned long long)(u / 1000), (unsigned)(u % 1000));
    while (text[n - 1] == '0' && text[n - 2] != '.') /* 1.100 -> 1.1, 1.000 -> 1.0 */
        n--;
    if (field(w, key, (size_t)n))
        put(w, text, (size_t)n);
}

void cli_jl_ms(cli_jl *w, const char *key, double ms)
{
    if (ms == floor(ms) && fabs(ms) < 9e15)
        cli_jl_int(w, key, (int64_t)ms);
    else
        cli_jl_real(w, key, ms);
}

/* Length of the valid UTF-8 sequence at p, or 0. */
static size_t utf8_sequence(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

/* The escape of a byte that has one: \" \\ \b \f \n \r \t, else \u00XX. */
static char *put_escape(char *p, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    *p++ = '\\';
    switch (c) {
    case '"': *p++ = '"'; break;
    case '\\': *p++ = '\\'; break;
    case '\b': *p++ = 'b'; break;
    case '\f': *p++ = 'f'; break;
    case '\n': *p++ = 'n'; break;
    case '\r': *p++ = 'r'; break;
    case '\t': *p++ = 't'; break;
    default:
        memcpy(p, "u00", 3);
        p[3] = hex[c >> 4];
        p[4] = hex[c & 15];
        p += 5;
    }
    return p;
}

void cli_jl_string(cli_jl *w, const char *key, const char *s, size_t len)
{
    if (!s) {
        cli_jl_null(w, key);
        return;
    }
    /* Worst case: every byte a 6-byte escape (an invalid byte takes 3). */
    if (len > (SIZE_MAX - 2) / 6 || !field(w, key, len * 6 + 2))
        return;
    const unsigned char *in = (const unsigned char *)s, *end = in + len;
    char *p = w->buf + w->len;
    *p++ = '"';
    while (in < end) {
        const unsigned char *run = in;
        while (in < end && byte_class[*in] == 0)
            in++;
        memcpy(p, run, (size_t)(in - run));
        p += in - run;
        if (in == end)
            break;
        if (byte_class[*in] == 1) {
            p = put_escape(p, *in++);
            continue;
        }
        size_t n = utf8_sequence(in, (size_t)(end - in));
        if (n) {
            memcpy(p, in, n);
            p += n;
            in += n;
        } else {
            memcpy(p, "\xEF\xBF\xBD", 3);
            p += 3;
            in++;
        }
    }
    *p++ = '"';
    w->len = (size_t)(p - w->buf);
}

void cli_jl_cstring(cli_jl *w, const char *key, const char *s)
{
    cli_jl_string(w, key, s, s ? strlen(s) : 0);
}

void cli_jl_hex(cli_jl *w, const char *key, const uint8_t *p, size_t len)
{
    if (!p) {
        cli_jl_null(w, key);
        return;
    }
    if (len > (SIZE_MAX - 2) / 2 || !field(w, key, len * 2 + 2))
        return;
    static const char digits[] = "0123456789abcdef";
    char *o = w->buf + w->len;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        *o++ = digits[p[i] >> 4];
        *o++ = digits[p[i] & 15];
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
}

cli_jl *cli_jl_stdout(void)
{
    static cli_jl w;
    return &w;
}
