#ifndef KVSP_CLI_LOG_H
#define KVSP_CLI_LOG_H

#include <stddef.h>
#include <stdio.h>

/* Every stderr line of kvsp goes through cli_log: as it always was
 * (--log-format text, the default), or as one JSON object per line
 * (--log-format json) with "time" (RFC 3339, UTC, milliseconds), "level",
 * "message" (the text line) and the fields the line has, for log shippers. */

typedef enum cli_log_format { CLI_LOG_TEXT = 0, CLI_LOG_JSON } cli_log_format;

/* What a line is about, where known: NULL / 0 / -1 leave a field out. */
typedef struct cli_log_fields {
    const char *stream;
    const char *host;      /* host[:port] of the endpoint concerned */
    long status;           /* HTTP status; 0: none */
    const char *exception; /* AWS exception name */
    long attempt;          /* consecutive failed attempts; <= 0: none */
} cli_log_fields;

/* "text" or "json"; -1 for anything else. */
int cli_log_parse_format(const char *text);
void cli_log_set_format(cli_log_format format);
cli_log_format cli_log_get_format(void);
/* Looks for --log-format in argv before any option is parsed, so that even
 * the first error of a command line comes out in the asked format. */
void cli_log_scan_argv(int argc, char **argv);

/* One line (a trailing newline in fmt is dropped; the text format adds it
 * back). level: "error", "warning", "info" or "debug". */
void cli_log(const char *level, const cli_log_fields *fields, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
#define cli_error(...) cli_log("error", NULL, __VA_ARGS__)
#define cli_warn(...) cli_log("warning", NULL, __VA_ARGS__)
#define cli_info(...) cli_log("info", NULL, __VA_ARGS__)

/* A usage text on stderr: as it is in text format, line by line in JSON. */
void cli_usage_error(void (*usage)(FILE *out));

/* host[:port] of an http(s) URL into buf ("" when it has none). */
const char *cli_log_url_host(const char *url, char *buf, size_t size);

#endif
