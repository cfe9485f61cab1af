#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "cli.h"
#include "cli_log.h"

void cli_input_options_init(cli_input_options *o)
{
    memset(o, 0, sizeof *o);
    o->chunk_size = CLI_DEFAULT_CHUNK_SIZE;
}

int cli_parse_size(const char *text, uint64_t *out)
{
    if (!text || !*text || *text == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'K':
    case 'k':
        shift = 10;
        end++;
        break;
    case 'M':
    case 'm':
        shift = 20;
        end++;
        break;
    case 'G':
    case 'g':
        shift = 30;
        end++;
        break;
    default: break;
    }
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/* --metrics PORT (127.0.0.1), ADDR:PORT or [ADDR6]:PORT; numeric addresses
 * or localhost. Only loopback unless the address is written out: ":PORT"
 * (every interface, elsewhere) is refused. 0 after filling o->metrics_addr. */
static int parse_metrics_address(cli_input_options *o, const char *text)
{
    char host[64] = "127.0.0.1";
    const char *port_text = text;
    const char *colon = strrchr(text, ':');
    if (colon) {
        size_t n = (size_t)(colon - text);
        const char *h = text;
        if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
            h++;
            n -= 2;
        }
        if (n == 0) {
            cli_error("kvsp: --metrics %s: no address; write it out to listen beyond this host "
                      "(e.g. 0.0.0.0%s), or give the port alone for 127.0.0.1",
                      text, colon);
            return -1;
        }
        if (n >= sizeof host)
            n = sizeof host - 1;
        memcpy(host, h, n);
        host[n] = '\0';
        port_text = colon + 1;
    }
    char *end;
    long port = strtol(port_text, &end, 10);
    if (!*port_text || *end || port < 0 || port > 65535) {
        cli_error("kvsp: --metrics needs [ADDR:]PORT with PORT from 0 to 65535, got '%s'", text);
        return -1;
    }
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    memset(&o->metrics_addr, 0, sizeof o->metrics_addr);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&o->metrics_addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&o->metrics_addr;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        o->metrics_addr_len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        o->metrics_addr_len = sizeof *v6;
    } else {
        cli_error("kvsp: --metrics: '%s' is not a numeric IPv4 or IPv6 address (nor localhost)",
                  host);
        return -1;
    }
    o->metrics = text;
    return 0;
}

/* The --stream family; 1 if name was one of them. */
static int client_option(cli_input_options *o, const char *name, const char *value)
{
    static const char *const names[] = {"stream",       "start",   "region",
                                        "endpoint-url", "profile", "ca-bundle"};
    const char **fields[] = {&o->stream,       &o->start,   &o->region,
                             &o->endpoint_url, &o->profile, &o->ca_bundle};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            *fields[i] = value;
            break;
        }
    }
    if (strcmp(name, "stream") == 0) {
        if (o->nstreams == (int)(sizeof o->streams / sizeof o->streams[0])) {
            cli_error("kvsp: at most %d --stream options\n", o->nstreams);
            return -1;
        }
        o->streams[o->nstreams++] = value;
        o->stream = o->streams[0];
        return 1;
    }
    if (strcmp(name, "verbose") == 0 || strcmp(name, "follow") == 0) {
        *(name[0] == 'v' ? &o->verbose : &o->follow) = 1;
        return 1;
    }
    if (strcmp(name, "checkpoint") == 0) {
        o->checkpoint = value;
        return 1;
    }
    if (strcmp(name, "metrics") == 0)
        return parse_metrics_address(o, value) == 0 ? 1 : -1;
    if (strcmp(name, "log-format") == 0) {
        int f = cli_log_parse_format(value);
        if (f < 0) {
            cli_error("kvsp: --log-format is text or json, got '%s'", value);
            return -1;
        }
        cli_log_set_format((cli_log_format)f);
        return 1;
    }
    if (strcmp(name, "stall-timeout") == 0) {
        char *end;
        double s = strtod(value, &end);
        if (end == value || *end || !(s >= 0 && s <= 86400)) {
            cli_error("kvsp: --stall-timeout needs seconds from 0 to 86400, got '%s'\n", value);
            return -1;
        }
        o->stall_timeout_ms = s == 0 ? -1 : (long)(s * 1000.0 + 0.5);
        if (o->stall_timeout_ms == 0)
            o->stall_timeout_ms = 1;
        return 1;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

int cli_common_option(cli_input_options *o, const char *name, const char *value)
{
    uint64_t v = 0;
    int client = client_option(o, name, value);
    if (client)
        return client;
    int range = cli_range_option(o, name, value);
    if (range)
        return range;
    if (strcmp(name, "resync") == 0) {
        o->reader.resync = 1;
        return 1;
    }
    int known = strcmp(name, "chunk-size") == 0 || strcmp(name, "max-depth") == 0 ||
                strcmp(name, "max-element-size") == 0 || strcmp(name, "max-string-size") == 0;
    if (!known)
        return 0;
    if (cli_parse_size(value, &v) != 0 || v == 0) {
        cli_error("kvsp: --%s needs a positive size, got '%s'\n", name, value ? value : "");
        return -1;
    }
    if (strcmp(name, "chunk-size") == 0) {
        if (v > (1u << 30)) {
            cli_error("kvsp: --chunk-size at most 1G\n");
            return -1;
        }
        o->chunk_size = (size_t)v;
    } else if (strcmp(name, "max-depth") == 0) {
        if (v > KVSP_MAX_DEPTH_LIMIT) {
            cli_error("kvsp: --max-depth at most 1048576\n");
            return -1;
        }
        o->reader.limits.max_depth = (uint32_t)v;
    } else if (strcmp(name, "max-element-size") == 0) {
        o->reader.limits.max_element_size = v;
    } else {
        o->reader.limits.max_string_size = v;
    }
    return 1;
}

int cli_parse_input_args(int argc, char **argv, const cli_command_spec *spec, cli_input_options *in)
{
    cli_input_options_init(in);
    char shortopts[32] = "h";
    if (spec->shortopts)
        snprintf(shortopts, sizeof shortopts, "h%s", spec->shortopts);
    int c, idx;
    optind = 1;
    /* In JSON, getopt's own complaints would be plain lines: said here. */
    opterr = cli_log_get_format() == CLI_LOG_TEXT;
    while ((c = getopt_long(argc, argv, shortopts, spec->longopts, &idx)) != -1) {
        if (c == '?' && !opterr)
            cli_error("kvsp %s: unrecognized option or missing value: '%s'", argv[0],
                      argv[optind - 1]);
        if (c == 'h') {
            spec->usage(stdout);
            return CLI_EXIT_OK;
        }
        if (c == 0) {
            if (cli_common_option(in, spec->longopts[idx].name, optarg) < 0)
                return CLI_EXIT_USAGE;
        } else if (c == '?' || !spec->own) {
            cli_usage_error(spec->usage);
            return CLI_EXIT_USAGE;
        } else if (spec->own(spec->user, c, optarg) < 0) {
            return CLI_EXIT_USAGE;
        }
    }
#ifndef KVSP_HAVE_CLIENT
    if (in->stream)
        return cli_delegate("--stream", CLI_FEATURE_CLIENT);
#endif
    if (in->metrics && !in->stream) {
        cli_error("kvsp: --metrics needs --stream (it reports on a consumer of streams)");
        return CLI_EXIT_USAGE;
    }
    if (cli_range_check(in) != 0 || cli_start_setup(in) != 0)
        return CLI_EXIT_USAGE;
    if (in->stream && argc - optind > 0) {
        cli_error("kvsp: give either --stream or an input file\n");
        return CLI_EXIT_USAGE;
    }
    if (argc - optind > spec->max_inputs) {
        cli_usage_error(spec->usage);
        return CLI_EXIT_USAGE;
    }
    in->path = optind < argc ? argv[optind] : NULL;
    in->paths = (const char *const *)argv + optind;
    in->npaths = argc - optind;
    return -1;
}

const char *cli_input_name(const cli_input_options *o)
{
    if (o->stream)
        return o->stream;
    return (!o->path || strcmp(o->path, "-") == 0) ? "<stdin>" : o->path;
}

static int deliver(const cli_input_options *o, kvsp_reader *r, const kvsp_visitor *v,
                   const uint8_t *data, size_t len)
{
    int st;
    if (o->feed) {
        st = o->feed(o->feed_user, data, len);
    } else {
        st = kvsp_reader_push(r, data, len, v);
        while (st == KVSP_PAUSED) /* no subcommand pauses; resume if one does */
            st = kvsp_reader_run(r, v);
    }
    return st == KVSP_NEED_DATA ? KVSP_OK : st;
}

/* read() rather than stdio so that bytes from a pipe reach the reader as soon
 * as they arrive. */
int cli_feed_path(const cli_input_options *o, const char *path, kvsp_reader *r,
                  const kvsp_visitor *v)
{
    int fd = STDIN_FILENO;
    if (path && strcmp(path, "-") != 0) {
        fd = open(path, O_RDONLY);
        if (fd < 0)
            return KVSP_ERR_IO;
    }
    uint8_t *buf = malloc(o->chunk_size);
    int st = buf ? KVSP_OK : KVSP_ERR_NOMEM;
    while (st == KVSP_OK) {
        ssize_t n = read(fd, buf, o->chunk_size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            st = KVSP_ERR_IO;
            break;
        }
        if (n == 0)
            break;
        st = cli_start_push(o, buf, (size_t)n, r, v, deliver);
        if (o->progress)
            o->progress(o->progress_user, kvsp_reader_offset(r));
    }
    int saved = errno;
    free(buf);
    if (fd != STDIN_FILENO)
        close(fd);
    errno = saved;
    return st;
}

int cli_finish_reader(kvsp_reader *r, const kvsp_visitor *v)
{
    kvsp_reader_finish(r);
    int st;
    do
        st = kvsp_reader_run(r, v);
    while (st == KVSP_PAUSED);
    return st == KVSP_DONE ? KVSP_OK : st;
}

int cli_run_reader(cli_input_options *o, kvsp_reader *r, const kvsp_visitor *v)
{
#ifdef KVSP_HAVE_CLIENT
    if (o->stream) {
        int st = o->range ? client_feed_range(o, r, v) : client_feed_stream(o, r, v);
        return st == KVSP_OK ? cli_finish_reader(r, v) : st;
    }
#endif
    int st = cli_feed_path(o, o->path, r, v);
    int start = cli_start_finish(o);
    if (st == KVSP_OK)
        st = start;
    return st == KVSP_OK ? cli_finish_reader(r, v) : st;
}

void cli_report_error(const char *cmd, const cli_input_options *o, const kvsp_reader *r, int status)
{
    if (o->start_error[0]) {
        cli_error("kvsp %s: %s: %s\n", cmd, cli_input_name(o), o->start_error);
        return;
    }
    if (o->client_error[0] &&
        (status == KVSP_ERR_NETWORK || status == KVSP_ERR_SERVICE || !r || !kvsp_reader_error(r))) {
        char host[256];
        snprintf(host, sizeof host, "%s", o->client_host);
        if (!host[0])
            cli_log_url_host(o->client_error, host, sizeof host); /* "URL: why" */
        cli_log_fields f = {o->stream, host, o->client_http_status, o->client_exception, 0};
        cli_log("error", &f, "kvsp %s: stream %s: %s\n", cmd, o->stream ? o->stream : "",
                o->client_error);
        return;
    }
    if (status == KVSP_ERR_IO) {
        cli_error("kvsp %s: %s: %s\n", cmd, cli_input_name(o), strerror(errno));
        return;
    }
    cli_error("kvsp %s: %s: %s at offset %llu: %s\n", cmd, cli_input_name(o),
              kvsp_status_name(status), (unsigned long long)kvsp_reader_error_offset(r),
              kvsp_reader_error_message(r));
}

/* Set once a client could not be made: whatever status the command then
 * returns, the cause is the configuration, not the input or the service. */
static int config_failed;

void cli_note_config_error(void)
{
    config_failed = 1;
}

int cli_exit_status(int status)
{
    if (status >= 0)
        return CLI_EXIT_OK;
    if (config_failed)
        return CLI_EXIT_CONFIG;
    if (status == KVSP_ERR_NETWORK || status == KVSP_ERR_SERVICE)
        return CLI_EXIT_SERVICE;
    return CLI_EXIT_BAD_INPUT;
}
