#define _POSIX_C_SOURCE 200809L
/* The one way kvsp writes to stderr (cli_log.h): text lines as before, or
 * JSON lines (json_line.h). A line is written with one fwrite on an
 * unbuffered stderr, so lines of different threads (the metrics server's)
 * do not interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_log.h"
#include "json_line.h"

static cli_log_format log_format = CLI_LOG_TEXT;

int cli_log_parse_format(const char *text)
{
    if (text && strcmp(text, "text") == 0)
        return CLI_LOG_TEXT;
    if (text && strcmp(text, "json") == 0)
        return CLI_LOG_JSON;
    return -1;
}

void cli_log_set_format(cli_log_format format)
{
    log_format = format;
}

cli_log_format cli_log_get_format(void)
{
    return log_format;
}

void cli_log_scan_argv(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return;
        const char *value = NULL;
        if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc)
            value = argv[i + 1];
        else if (strncmp(argv[i], "--log-format=", 13) == 0)
            value = argv[i] + 13;
        int f = cli_log_parse_format(value);
        if (f >= 0)
            log_format = (cli_log_format)f;
    }
}

const char *cli_log_url_host(const char *url, char *buf, size_t size)
{
    buf[0] = '\0';
    const char *p = url ? strstr(url, "://") : NULL;
    if (!p || !size)
        return buf;
    p += 3;
    size_t n = strcspn(p, "/?#");
    if (n >= size)
        n = size - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

/* RFC 3339 in UTC with milliseconds: 2026-12-04T18:41:12.345Z */
static void now_text(char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%03ldZ", day, ts.tv_nsec / 1000000);
}

static void write_json(const char *level, const cli_log_fields *f, const char *message)
{
    char time_text[48];
    now_text(time_text, sizeof time_text);
    /* A writer of its own: the metrics server's thread logs too. */
    cli_jl w = {0};
    cli_jl_begin(&w);
    cli_jl_cstring(&w, "time", time_text);
    cli_jl_cstring(&w, "level", level);
    /* Not UTF-8 (a file name, a server's bytes): bad bytes become U+FFFD. */
    cli_jl_cstring(&w, "message", message);
    if (f && f->stream)
        cli_jl_cstring(&w, "stream", f->stream);
    if (f && f->host && *f->host)
        cli_jl_cstring(&w, "host", f->host);
    if (f && f->status > 0)
        cli_jl_int(&w, "status", f->status);
    if (f && f->exception && *f->exception)
        cli_jl_cstring(&w, "exception", f->exception);
    if (f && f->attempt > 0)
        cli_jl_int(&w, "attempt", f->attempt);
    cli_jl_end(&w, stderr);
    cli_jl_free(&w);
}

void cli_log(const char *level, const cli_log_fields *fields, const char *fmt, ...)
{
    char stack[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stack, sizeof stack, fmt, ap);
    va_end(ap);
    char *msg = stack;
    if (n >= (int)sizeof stack) {
        msg = malloc((size_t)n + 2);
        if (msg) {
            va_start(ap, fmt);
            vsnprintf(msg, (size_t)n + 1, fmt, ap);
            va_end(ap);
        } else {
            msg = stack; /* cut short rather than lost */
        }
    }
    if (n < 0)
        stack[0] = '\0';
    size_t len = strlen(msg);
    if (len && msg[len - 1] == '\n') /* one: a blank line after it stays */
        msg[--len] = '\0';
    if (log_format == CLI_LOG_JSON) {
        /* One line per object: a message of several lines is split. */
        char *p = msg;
        do {
            char *nl = strchr(p, '\n');
            if (nl)
                *nl = '\0';
            write_json(level, fields, p);
            p = nl ? nl + 1 : NULL;
        } while (p);
    } else {
        msg[len] = '\n';
        fwrite(msg, 1, len + 1, stderr);
        msg[len] = '\0';
    }
    if (msg != stack)
        free(msg);
}

void cli_usage_error(void (*usage)(FILE *out))
{
    if (log_format == CLI_LOG_TEXT) {
        usage(stderr);
        return;
    }
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return;
    usage(f);
    if (fclose(f) == 0 && text)
        cli_error("%s", text);
    free(text);
}
