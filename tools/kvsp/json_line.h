#ifndef KVSP_JSON_LINE_H
#define KVSP_JSON_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A streaming writer for the JSON lines kvsp prints (fragments, frames,
 * index.jsonl, list-fragments). The lines used to be built as Jansson
 * objects and dumped; at a few hundred bytes per fragment that cost more
 * than parsing the input. This writer appends straight into one reused
 * buffer and writes the finished line with one fwrite.
 *
 * Its output is byte for byte what Jansson's json_dumpf(JSON_COMPACT |
 * JSON_PRESERVE_ORDER) gives for the same values (tests/test_json_line.c
 * checks it against Jansson itself): compact, keys in call order, strings
 * escaped as Jansson escapes them (", \, and control characters; UTF-8 left
 * as it is; '/' not escaped), integers as int64, reals as %.17g with ".0"
 * added when the text would read as an integer.
 *
 * Every `key` below may be NULL for an array element. Keys are written as
 * given: they are the program's own ASCII names and are not escaped.
 * A line is: cli_jl_begin, fields, cli_jl_end. Nesting: cli_jl_open /
 * cli_jl_close, at most CLI_JL_MAX_DEPTH deep. */

#define CLI_JL_MAX_DEPTH 8

typedef struct {
    char *buf;  /* owned; grows to the longest line written and is kept */
    size_t len; /* bytes of the line so far */
    size_t cap;
    bool failed; /* an allocation failed: cli_jl_end reports it */
    int depth;
    bool need_comma[CLI_JL_MAX_DEPTH + 1];
} cli_jl;

/* Releases the buffer; the writer may be used again after. */
void cli_jl_free(cli_jl *w);
/* Starts a line (the outer object is opened). */
void cli_jl_begin(cli_jl *w);
/* Closes the outer object, appends '\n' and writes the line to out.
 * Returns 0, or -1 on a write or allocation error. */
int cli_jl_end(cli_jl *w, FILE *out);

/* Closes the outer object and hands over the line, NUL-terminated and
 * without '\n' (free() it), the writer left empty; NULL on an allocation
 * error. For a JSON document sent whole (kvsp serve's ListFragments). */
char *cli_jl_end_string(cli_jl *w);

/* '{' or '[' as the value of key; cli_jl_close takes the same bracket. */
void cli_jl_open(cli_jl *w, const char *key, char bracket);
void cli_jl_close(cli_jl *w, char bracket);

void cli_jl_null(cli_jl *w, const char *key);
void cli_jl_bool(cli_jl *w, const char *key, bool v);
void cli_jl_int(cli_jl *w, const char *key, int64_t v);
/* A real, as Jansson's json_real: a value that is not finite is not
 * representable, and as with Jansson (json_real returns NULL, the key is
 * not set) the whole field is left out. */
void cli_jl_real(cli_jl *w, const char *key, double v);
/* Milliseconds as decimal seconds, exact: 1700000000.113, 1700000000.1,
 * 1700000000.0: what Jansson dumps for json_real(ms / 1000.0) with
 * JSON_REAL_PRECISION(15) for |ms| below 10^12 s (15 digits), without
 * building a double and formatting it. */
void cli_jl_seconds(cli_jl *w, const char *key, int64_t ms);
/* A number of milliseconds: an integer when whole, else a real. */
void cli_jl_ms(cli_jl *w, const char *key, double ms);
/* A string of len bytes, or null for NULL; bytes that are not valid UTF-8
 * become U+FFFD so that any tag value still gives a valid line. */
void cli_jl_string(cli_jl *w, const char *key, const char *s, size_t len);
void cli_jl_cstring(cli_jl *w, const char *key, const char *s);
/* Lower-case hex of the bytes, or null for NULL. */
void cli_jl_hex(cli_jl *w, const char *key, const uint8_t *p, size_t len);

/* The writer shared by the lines printed to stdout by one command. */
cli_jl *cli_jl_stdout(void);

#endif
