/* kvsp get-media, list-fragments and get-media-for-fragment-list. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_line.h"
#include "cli_log.h"
#include "client_cli.h"

static void log_line(void *user, const char *line)
{
    (void)user;
    cli_log("debug", NULL, "kvsp: %s\n", line);
}

/* One provider for the run, shared by its clients; freed at exit. */
static kvsp_credential_provider *credentials;

static void free_credentials(void)
{
    kvsp_credential_provider_destroy(credentials);
    credentials = NULL;
}

/* Looks for credentials before any request, as the AWS CLI does: a
 * profile that cannot give any (credential_process, half a key pair,
 * nothing anywhere) is a configuration error, said once. A source that is
 * configured but unreachable (ECS, IMDS) fails like the service does,
 * when the first request needs the credentials. */
static int credentials_configured(cli_input_options *in)
{
    if (!credentials) {
        kvsp_credentials_options co;
        memset(&co, 0, sizeof co);
        co.profile = in->profile;
        credentials = kvsp_credential_provider_create(&co);
        if (!credentials) {
            snprintf(in->client_error, sizeof in->client_error, "out of memory");
            return 0;
        }
        atexit(free_credentials);
    }
    const kvsp_credentials *cred;
    int st = kvsp_credential_provider_get(credentials, &cred);
    if (st != KVSP_ERR_INVALID_ARG)
        return 1;
    const char *why = kvsp_credential_provider_error_message(credentials);
    const char *prefix = strncmp(why, "no AWS credentials", 18) == 0 ? "" : "no AWS credentials: ";
    snprintf(in->client_error, sizeof in->client_error, "%s%.480s", prefix, why);
    cli_note_config_error();
    return 0;
}

kvsp_client *client_cli_create(cli_input_options *in)
{
    kvsp_client_options o;
    memset(&o, 0, sizeof o);
    o.region = in->region;
    o.endpoint_url = in->endpoint_url;
    o.profile = in->profile;
    o.ca_bundle = in->ca_bundle;
    o.stall_timeout_ms = in->stall_timeout_ms;
    if (in->verbose)
        o.log = log_line;
    kvsp_error err;
    kvsp_client *c = kvsp_client_create(&o, &err);
    if (!c) {
        snprintf(in->client_error, sizeof in->client_error, "%s", err.message);
        if (err.status != KVSP_ERR_NOMEM)
            cli_note_config_error();
        return NULL;
    }
    /* after the client: a missing profile or region is said first */
    kvsp_client_destroy(c);
    if (!credentials_configured(in))
        return NULL;
    o.credentials = credentials;
    c = kvsp_client_create(&o, &err);
    if (!c)
        snprintf(in->client_error, sizeof in->client_error, "%s", err.message);
    return c;
}

typedef struct command_args {
    const char *output;
    const char *fragments;
    const char *fragments_file;
    const char *from, *to;
    const char *timestamp;
} command_args;

static int own_option(void *user, int c, const char *value)
{
    command_args *a = user;
    switch (c) {
    case 'o': a->output = value; return 0;
    case 'F': a->fragments = value; return 0;
    case 'L': a->fragments_file = value; return 0;
    case 'f': a->from = value; return 0;
    case 't': a->to = value; return 0;
    case 'T': a->timestamp = value; return 0;
    default: return -1;
    }
}

static int write_body(void *user, const void *data, size_t len)
{
    FILE *f = user;
    if (fwrite(data, 1, len, f) != len || fflush(f) != 0)
        return -1;
    return 0;
}

static int finish(const char *cmd, cli_input_options *in, kvsp_client *c, int st)
{
    if (st < 0) {
        const char *why = c ? kvsp_client_error_message(c) : in->client_error;
        char host[256];
        cli_log_fields f = {in->stream, cli_log_url_host(why, host, sizeof host),
                            c ? kvsp_client_error_http_status(c) : 0,
                            c ? kvsp_client_error_exception(c) : NULL, 0};
        cli_log("error", &f, "kvsp %s: stream %s: %s\n", cmd, in->stream, why);
    }
    kvsp_client_destroy(c);
    return cli_exit_status(st);
}

/* Left as written, one option a line (clang-format 14 packs them). */
/* clang-format off */
#define OWN_LONG_OPTIONS                                   \
    {"output", required_argument, NULL, 'o'},              \
    {"fragments", required_argument, NULL, 'F'},           \
    {"fragments-file", required_argument, NULL, 'L'},      \
    {"from", required_argument, NULL, 'f'},                \
    {"to", required_argument, NULL, 't'},                  \
    {"timestamp", required_argument, NULL, 'T'},
/* clang-format on */

/* No reader here: no reader limits, no --follow or --checkpoint; --start
 * only where a GetMedia starts somewhere (with_start). */
static int parse(int argc, char **argv, void (*usage)(FILE *), int with_start,
                 cli_input_options *in, command_args *a)
{
    static const struct option plain[] = {OWN_LONG_OPTIONS CLI_SERVICE_LONG_OPTIONS,
                                          {NULL, 0, NULL, 0}};
    static const struct option started[] = {
        OWN_LONG_OPTIONS CLI_START_LONG_OPTIONS CLI_SERVICE_LONG_OPTIONS, {NULL, 0, NULL, 0}};
    memset(a, 0, sizeof *a);
    cli_command_spec spec = {with_start ? started : plain, "o:", own_option, a, usage, 0};
    int rc = cli_parse_input_args(argc, argv, &spec, in);
    if (rc < 0 && !in->stream) {
        cli_usage_error(usage);
        return CLI_EXIT_USAGE;
    }
    return rc;
}

static mode_t current_umask(void)
{
    mode_t m = umask(0);
    umask(m);
    return m;
}

/* A failed run must not leave an empty or partial file where the user
 * expects the media: the payload goes to PATH.kvsp-XXXXXX beside it (same
 * directory, so rename is atomic) and is renamed to PATH when something
 * came (see close_output).
 * stdout ("-" or no -o) and existing non-regular files (a FIFO, /dev/null)
 * are written directly. *tmp is the temporary name to free, or NULL. */
static FILE *open_output(const char *path, char **tmp)
{
    *tmp = NULL;
    if (!path || strcmp(path, "-") == 0)
        return stdout;
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        FILE *f = fopen(path, "wb");
        if (!f)
            cli_error("kvsp: %s: %s\n", path, strerror(errno));
        return f;
    }
    size_t n = strlen(path) + sizeof ".kvsp-XXXXXX";
    char *name = malloc(n);
    if (!name)
        return NULL;
    snprintf(name, n, "%s.kvsp-XXXXXX", path);
    int fd = mkstemp(name);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        cli_error("kvsp: %s: %s\n", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(name);
        }
        free(name);
        return NULL;
    }
    fchmod(fd, 0666 & ~current_umask()); /* mkstemp makes 0600; fopen would not */
    *tmp = name;
    return f;
}

/* Closes the output; the temporary file becomes PATH when st is success
 * or bytes were written, else it goes. Returns st, or KVSP_ERR_IO when closing or renaming fails.
 */
static int close_output(FILE *out, const char *path, char *tmp, int st)
{
    long written = out && out != stdout ? ftell(out) : 0;
    if (out && out != stdout && fclose(out) != 0 && st >= 0)
        st = KVSP_ERR_IO;
    if (tmp) {
        /* A run cut off after some bytes keeps them, as get-media always
         * did ("as it arrives", the faults tests check the partial file);
         * only an empty result goes. */
        int keep = st >= 0 || written > 0;
        if (keep && rename(tmp, path) != 0) {
            cli_error("kvsp: %s: %s\n", path, strerror(errno));
            st = KVSP_ERR_IO;
        }
        if (!keep || st == KVSP_ERR_IO)
            unlink(tmp);
        free(tmp);
    }
    return st;
}

static void get_media_usage(FILE *out)
{
    fprintf(out,
            "usage: kvsp get-media --stream NAME [--start SELECTOR] [-o FILE|-]\n\n"
            "Writes the raw GetMedia payload (chained MKV fragments), as it arrives.\n\n"
            "  -o, --output FILE     output file, - for stdout (default)\n" CLI_START_OPTIONS_HELP
                CLI_SERVICE_OPTIONS_HELP);
}

int cmd_get_media(int argc, char **argv)
{
    cli_input_options in;
    command_args a;
    int rc = parse(argc, argv, get_media_usage, 1, &in, &a);
    if (rc >= 0)
        return rc;
    kvsp_start_selector start;
    if (kvsp_start_selector_parse(in.start ? in.start : "now", &start) != KVSP_OK) {
        cli_error("kvsp get-media: bad --start '%s'\n", in.start);
        return CLI_EXIT_USAGE;
    }
    char *tmp;
    FILE *out = open_output(a.output, &tmp);
    kvsp_client *c = out ? client_cli_create(&in) : NULL;
    int st =
        c ? kvsp_client_get_media(c, in.stream, &start, write_body, out) : KVSP_ERR_INVALID_ARG;
    st = close_output(out, a.output, tmp, st);
    return finish("get-media", &in, c, st);
}

static void list_usage(FILE *out)
{
    fprintf(
        out,
        "usage: kvsp list-fragments --stream NAME [--from T --to T] [--timestamp server|producer]\n\n"
        "Prints one JSON line per fragment, sorted by fragment number: fragment_number,\n"
        "producer_timestamp_ms, server_timestamp_ms, length_ms, size. T is in seconds\n"
        "since the epoch.\n\n" CLI_SERVICE_OPTIONS_HELP);
}

int cmd_list_fragments(int argc, char **argv)
{
    cli_input_options in;
    command_args a;
    int rc = parse(argc, argv, list_usage, 0, &in, &a);
    if (rc >= 0)
        return rc;
    kvsp_timestamp_type type = KVSP_TIMESTAMP_NONE;
    if (a.from || a.to || a.timestamp) {
        type = a.timestamp && strcmp(a.timestamp, "producer") == 0 ? KVSP_TIMESTAMP_PRODUCER
                                                                   : KVSP_TIMESTAMP_SERVER;
        if (a.timestamp && strcmp(a.timestamp, "producer") != 0 &&
            strcmp(a.timestamp, "server") != 0) {
            cli_usage_error(list_usage);
            return CLI_EXIT_USAGE;
        }
    }
    double from = a.from ? strtod(a.from, NULL) : 0, to = a.to ? strtod(a.to, NULL) : 4102444800.0;
    kvsp_client *c = client_cli_create(&in);
    kvsp_listed_fragment *list = NULL;
    size_t n = 0;
    int st = c ? kvsp_client_list_fragments(c, in.stream, type, from, to, &list, &n)
               : KVSP_ERR_INVALID_ARG;
    for (size_t i = 0; st == KVSP_OK && i < n; i++) {
        cli_jl *w = cli_jl_stdout();
        cli_jl_begin(w);
        cli_jl_cstring(w, "fragment_number", list[i].fragment_number);
        cli_jl_int(w, "producer_timestamp_ms", list[i].producer_timestamp_ms);
        cli_jl_int(w, "server_timestamp_ms", list[i].server_timestamp_ms);
        cli_jl_int(w, "length_ms", list[i].length_ms);
        cli_jl_int(w, "size", (int64_t)list[i].size);
        if (cli_jl_end(w, stdout) != 0)
            st = KVSP_ERR_IO;
    }
    kvsp_client_free(list);
    fflush(stdout);
    return finish("list-fragments", &in, c, st);
}

/* Numbers separated by commas or white space. */
static size_t split_numbers(char *text, char ***out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    for (char *tok = strtok(text, ", \t\r\n"); tok; tok = strtok(NULL, ", \t\r\n")) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **bigger = realloc(*out, cap * sizeof *bigger);
            if (!bigger)
                break;
            *out = bigger;
        }
        (*out)[n++] = tok;
    }
    return n;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static void gmffl_usage(FILE *out)
{
    fprintf(
        out,
        "usage: kvsp get-media-for-fragment-list --stream NAME (--fragments N,N,... |\n"
        "       --fragments-file F) [-o FILE|-]\n\n"
        "Writes the payload of the given fragments (requests of at most 1,000).\n\n"
        "  -o, --output FILE     output file, - for stdout (default)\n" CLI_SERVICE_OPTIONS_HELP);
}

int cmd_get_media_for_fragment_list(int argc, char **argv)
{
    cli_input_options in;
    command_args a;
    int rc = parse(argc, argv, gmffl_usage, 0, &in, &a);
    if (rc >= 0)
        return rc;
    char *text = a.fragments        ? strdup(a.fragments)
                 : a.fragments_file ? read_text(a.fragments_file)
                                    : NULL;
    if (!text) {
        cli_error(
            "kvsp get-media-for-fragment-list: give --fragments or a readable --fragments-file\n");
        return CLI_EXIT_USAGE;
    }
    char **numbers;
    size_t n = split_numbers(text, &numbers);
    char *tmp;
    FILE *out = open_output(a.output, &tmp);
    kvsp_client *c = out ? client_cli_create(&in) : NULL;
    int st = c ? kvsp_client_get_media_for_fragment_list(c, in.stream, (const char *const *)numbers,
                                                         n, write_body, out)
               : KVSP_ERR_INVALID_ARG;
    st = close_output(out, a.output, tmp, st);
    free(numbers);
    free(text);
    return finish("get-media-for-fragment-list", &in, c, st);
}
