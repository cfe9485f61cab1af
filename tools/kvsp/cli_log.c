#define _POSIX_C_SOURCE 200809L
/* The one way kvsp writes to stderr (cli_log.h): text lines as before, or
 * JSON lines encoded by Jansson. A line is written with one fputs on an
 * unbuffered stderr, so lines of different threads (the metrics server's)
 * do not interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli_log.h"

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
    json_t *o = json_object();
    json_object_set_new(o, "time", json_string(time_text));
    json_object_set_new(o, "level", json_string(level));
    /* Not UTF-8 (a file name, a server's bytes): non-ASCII bytes become '?'. */
    json_t *m = json_string(message);
    if (!m) {
        size_t n = strlen(message);
        char *safe = malloc(n + 1);
        if (safe) {
            char *q = safe;
            for (const unsigned char *p = (const unsigned char *)message; *p; p++)
                *q++ = *p < 0x80 ? (char)*p : '?';
            *q = '\0';
            m = json_string(safe);
            free(safe);
        }
    }
    json_object_set_new(o, "message", m ? m : json_string(""));
    if (f && f->stream)
        json_object_set_new(o, "stream", json_string(f->stream));
    if (f && f->host && *f->host)
        json_object_set_new(o, "host", json_string(f->host));
    if (f && f->status > 0)
        json_object_set_new(o, "status", json_integer(f->status));
    if (f && f->exception && *f->exception)
        json_object_set_new(o, "exception", json_string(f->exception));
    if (f && f->attempt > 0)
        json_object_set_new(o, "attempt", json_integer(f->attempt));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (text) {
        size_t n = strlen(text);
        char *line = malloc(n + 2);
        if (line) {
            memcpy(line, text, n);
            memcpy(line + n, "\n", 2);
            fputs(line, stderr);
            free(line);
        }
        free(text);
    }
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
