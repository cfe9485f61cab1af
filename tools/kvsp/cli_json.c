#include "cli_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p, or 0. */
static size_t utf8_sequence(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
    else return 0;
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

json_t *cli_json_string(const char *s, size_t len)
{
    if (!s)
        return json_null();
    json_t *j = json_stringn(s, len);
    if (j)
        return j;
    /* Invalid UTF-8: replace each bad byte by U+FFFD (3 bytes). */
    char *clean = malloc(len * 3 + 1);
    if (!clean)
        return json_null();
    size_t out = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence((const unsigned char *)s + i, len - i);
        if (n) {
            memcpy(clean + out, s + i, n);
            out += n;
            i += n;
        } else {
            memcpy(clean + out, "\xEF\xBF\xBD", 3);
            out += 3;
            i++;
        }
    }
    j = json_stringn(clean, out);
    free(clean);
    return j ? j : json_null();
}

json_t *cli_json_cstring(const char *s)
{
    return cli_json_string(s, s ? strlen(s) : 0);
}

json_t *cli_json_hex(const uint8_t *p, size_t len)
{
    if (!p)
        return json_null();
    static const char digits[] = "0123456789abcdef";
    char *hex = malloc(len * 2 + 1);
    if (!hex)
        return json_null();
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    json_t *j = json_stringn(hex, len * 2);
    free(hex);
    return j;
}

json_t *cli_json_ms(double ms)
{
    if (ms == floor(ms) && fabs(ms) < 9e15)
        return json_integer((json_int_t)ms);
    return json_real(ms);
}

void cli_json_set(json_t *obj, const char *key, json_t *value)
{
    if (value)
        json_object_set_new(obj, key, value);
}

int cli_json_print_line(json_t *obj)
{
    int rc = json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (rc != 0 || fputc('\n', stdout) == EOF)
        return -1;
    return 0;
}
