/* The JSON line writer of the command line (tools/kvsp/json_line.c) against
 * Jansson, the library whose json_dumpf(JSON_COMPACT | JSON_PRESERVE_ORDER)
 * output the lines must keep byte for byte: random lines of random values
 * (strings of every byte value that is valid UTF-8, integers at the edges,
 * reals of random bit patterns, nesting) are written by both and compared.
 * Invalid UTF-8 has no Jansson rendering (json_stringn refuses it), so its
 * replacement by U+FFFD is checked on fixed cases. */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../tools/kvsp/json_line.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
    /* xorshift64*: reproducible without libc's rand. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717u;
}

/* The line w holds, as a string (w's buffer is not terminated). */
static char *line_of(cli_jl *w)
{
    FILE *mem;
    char *text = NULL;
    size_t size = 0;
    mem = open_memstream(&text, &size);
    assert_non_null(mem);
    assert_int_equal(cli_jl_end(w, mem), 0);
    fclose(mem);
    return text;
}

static char *jansson_line(json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(text);
    size_t n = strlen(text);
    char *line = malloc(n + 2);
    memcpy(line, text, n);
    memcpy(line + n, "\n", 2);
    free(text);
    return line;
}

/* A random valid UTF-8 string of up to 40 code points, control characters,
 * quotes and backslashes included. */
static size_t random_utf8(char *out)
{
    size_t n = 0, count = rnd() % 40;
    for (size_t i = 0; i < count; i++) {
        uint32_t cp;
        switch (rnd() % 5) {
        case 0: cp = (uint32_t)(rnd() % 0x20); break;
        case 1: cp = "\"\\/ aZ~\x7f"[rnd() % 8]; break;
        case 2: cp = 0x80 + (uint32_t)(rnd() % 0x780); break;
        case 3:
            cp = 0x800 + (uint32_t)(rnd() % 0xF800);
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xE000;
            break;
        default: cp = 0x10000 + (uint32_t)(rnd() % 0x100000); break;
        }
        if (cp < 0x80) {
            out[n++] = (char)cp;
        } else if (cp < 0x800) {
            out[n++] = (char)(0xC0 | (cp >> 6));
            out[n++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[n++] = (char)(0xE0 | (cp >> 12));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[n++] = (char)(0xF0 | (cp >> 18));
            out[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[n++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    return n;
}

static double random_double(void)
{
    switch (rnd() % 4) {
    case 0: {
        uint64_t bits = rnd();
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    case 1: return (double)(int64_t)rnd() / (double)(1 + rnd() % 1000000);
    case 2: return (double)(rnd() % 100000) / 1000.0;
    default: return ldexp(1.0, (int)(rnd() % 200) - 100) * ((rnd() & 1) ? -1 : 1);
    }
}

static int64_t random_int(void)
{
    static const int64_t edges[] = {0, -1, 1, INT64_MAX, INT64_MIN, 9, 10, -10, 999999999999};
    return (rnd() & 1) ? edges[rnd() % (sizeof edges / sizeof edges[0])]
                       : (int64_t)rnd() >> (rnd() % 64);
}

/* One random value as field `key` of both: into w, and into obj (an object
 * when key is set, else an array). depth bounds the nesting. */
static void random_value(cli_jl *w, json_t *parent, const char *key, int depth)
{
    json_t *v = NULL;
    switch (rnd() % (depth < 3 ? 8 : 6)) {
    case 0:
        cli_jl_null(w, key);
        v = json_null();
        break;
    case 1: {
        bool b = rnd() & 1;
        cli_jl_bool(w, key, b);
        v = json_boolean(b);
        break;
    }
    case 2: {
        int64_t i = random_int();
        cli_jl_int(w, key, i);
        v = json_integer(i);
        break;
    }
    case 3: {
        double d = random_double();
        cli_jl_real(w, key, d);
        v = json_real(d); /* NULL when not finite: the field is left out */
        break;
    }
    case 4: {
        char s[200];
        size_t n = random_utf8(s);
        cli_jl_string(w, key, s, n);
        v = json_stringn(s, n);
        assert_non_null(v);
        break;
    }
    case 5: {
        uint8_t bytes[16];
        size_t n = rnd() % sizeof bytes;
        for (size_t i = 0; i < n; i++)
            bytes[i] = (uint8_t)rnd();
        char hex[40];
        for (size_t i = 0; i < n; i++)
            snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
        cli_jl_hex(w, key, bytes, n);
        v = json_stringn(hex, 2 * n);
        break;
    }
    default: {
        bool object = rnd() & 1;
        cli_jl_open(w, key, object ? '{' : '[');
        v = object ? json_object() : json_array();
        size_t count = rnd() % 5;
        for (size_t i = 0; i < count; i++) {
            char k[16];
            snprintf(k, sizeof k, "k%zu", i);
            random_value(w, v, object ? k : NULL, depth + 1);
        }
        cli_jl_close(w, object ? '{' : '[');
    }
    }
    if (!v)
        return;
    if (key)
        json_object_set_new(parent, key, v);
    else
        json_array_append_new(parent, v);
}

static void test_random_lines_equal_jansson(void **state)
{
    (void)state;
    cli_jl w = {0};
    for (int line = 0; line < 20000; line++) {
        json_t *o = json_object();
        cli_jl_begin(&w);
        size_t fields = rnd() % 12;
        for (size_t i = 0; i < fields; i++) {
            char key[16];
            snprintf(key, sizeof key, "f%zu", i);
            random_value(&w, o, key, 0);
        }
        char *ours = line_of(&w), *theirs = jansson_line(o);
        if (strcmp(ours, theirs) != 0)
            fail_msg("line %d differs:\n ours   %s theirs %s", line, ours, theirs);
        free(ours);
        free(theirs);
        json_decref(o);
    }
    cli_jl_free(&w);
}

/* Milliseconds: whole values as integers, others as reals; both as Jansson
 * writes them. */
static void test_ms(void **state)
{
    (void)state;
    static const double values[] = {0,   1,    -1,   1.5, 1571236183170.0, 1571236183170.25,
                                    0.1, 9e15, 1e20, -0.0};
    cli_jl w = {0};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        double ms = values[i];
        cli_jl_begin(&w);
        cli_jl_ms(&w, "ms", ms);
        json_t *o = json_object();
        bool whole = ms == floor(ms) && fabs(ms) < 9e15;
        json_object_set_new(o, "ms", whole ? json_integer((json_int_t)ms) : json_real(ms));
        char *ours = line_of(&w), *theirs = jansson_line(o);
        assert_string_equal(ours, theirs);
        free(ours);
        free(theirs);
        json_decref(o);
    }
    cli_jl_free(&w);
}

/* Epoch milliseconds as seconds (kvsp serve's ListFragments timestamps):
 * what Jansson dumps for json_real(ms / 1000.0) at the precision serve
 * used, for 100,000 random times up to 10^12 s and the edges; the document
 * handed over whole by cli_jl_end_string. */
static void test_seconds(void **state)
{
    (void)state;
    cli_jl w = {0};
    for (int i = 0; i < 100006; i++) {
        static const int64_t edges[] = {0, 1, 10, 100, 1000, -1000};
        int64_t ms =
            i < 6 ? edges[i] : (int64_t)(rnd() % 1000000000000000ull) - (i % 7 == 0 ? 1000 : 0);
        cli_jl_begin(&w);
        cli_jl_seconds(&w, "t", ms);
        char *ours = cli_jl_end_string(&w);
        assert_non_null(ours);
        json_t *o = json_pack("{s:f}", "t", (double)ms / 1000.0);
        char *theirs = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
        assert_string_equal(ours, theirs);
        free(ours);
        free(theirs);
        json_decref(o);
    }
    cli_jl_free(&w);
}

/* Each byte that does not start a valid sequence becomes U+FFFD; valid
 * sequences around it are kept. */
static void test_invalid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } cases[] = {
        {"a\xff"
         "b",
         3,
         "{\"s\":\"a\xEF\xBF\xBD"
         "b\"}\n"},
        {"\xE2\x82", 2, "{\"s\":\"\xEF\xBF\xBD\xEF\xBF\xBD\"}\n"},
        {"\xC0\xAF", 2, "{\"s\":\"\xEF\xBF\xBD\xEF\xBF\xBD\"}\n"},
        {"\xED\xA0\x80", 3, "{\"s\":\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"}\n"},
        {"\xE2\x82\xAC\x80", 4, "{\"s\":\"\xE2\x82\xAC\xEF\xBF\xBD\"}\n"},
        {"x\0y", 3, "{\"s\":\"x\\u0000y\"}\n"},
    };
    cli_jl w = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_jl_begin(&w);
        cli_jl_string(&w, "s", cases[i].in, cases[i].len);
        char *ours = line_of(&w);
        assert_string_equal(ours, cases[i].out);
        free(ours);
    }
    cli_jl_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_lines_equal_jansson),
        cmocka_unit_test(test_ms),
        cmocka_unit_test(test_seconds),
        cmocka_unit_test(test_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
