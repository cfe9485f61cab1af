#define _POSIX_C_SOURCE 200809L
/* --stream for the reading commands: GetMedia through the consumer, which
 * resumes after any interruption without losing or repeating a fragment;
 * --follow keeps reading live until SIGINT/SIGTERM; --checkpoint keeps the
 * last continuation token in a file. kvsp fragments --stream prints each
 * fragment as it completes, with "stream" and "received_at_us" (the wall
 * clock, CLOCK_REALTIME in microseconds, when the consumer handed it over)
 * added to the usual fields. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_log.h"
#include "client_cli.h"
#include "fragment_json.h"
#include "kvsparser/consumer.h"
#ifdef KVSP_HAVE_METRICS
#include "metrics/metrics.h"
#endif

static kvsp_consumer *running; /* for the signal handler */
static volatile sig_atomic_t interrupted;

/* Without --follow a stream that cannot connect gives up after this many
 * consecutive failed attempts, with the consumer's backoff (200 ms doubled
 * each time, half of it jittered) in between: at most 6.2 s, plus the
 * connect timeouts. README documents it. */
#define CLI_MAX_ATTEMPTS 5

static void on_signal(int sig)
{
    interrupted = sig;
    kvsp_consumer_stop(running); /* only sets a flag */
}

typedef struct follow_state {
    cli_input_options *in;
    char start_text[600]; /* "continuation:TOKEN" from the checkpoint file */
    int print_fragments;
} follow_state;

/* The user pointer of each --stream's callbacks. */
typedef struct stream_state {
    follow_state *all;
    kvsp_consumer *consumer;
    size_t index;                            /* in the consumer */
    char last[KVSP_FRAGMENT_NUMBER_MAX + 1]; /* the number of the last fragment delivered */
    double said_at;  /* monotonic time of the last "reconnecting" line, 0 for none */
    unsigned unsaid; /* retries since that line */
} stream_state;

/* --follow retries forever: it says why on stderr, the first time at once,
 * then at most once a minute with the count since, never one line per
 * attempt. */
#define CLI_RETRY_REPORT_S 60.0

static void on_retry(void *user, const char *stream, const char *reason)
{
    stream_state *ss = user;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    if (!ss->all->in->follow)
        return; /* without --follow the final error says it */
    if (ss->said_at > 0 && now - ss->said_at < CLI_RETRY_REPORT_S) {
        ss->unsaid++;
        return;
    }
    /* Called on the consumer's thread: its stats are this moment's. */
    const kvsp_stream_stats *s = kvsp_consumer_stats(ss->consumer, ss->index);
    char host[256];
    cli_log_url_host(reason, host, sizeof host); /* network errors name the URL */
    if (!host[0] && s && s->data_endpoint)
        cli_log_url_host(s->data_endpoint, host, sizeof host);
    cli_log_fields f = {stream, host, s ? s->last_http_status : 0, s ? s->last_exception : NULL,
                        s ? (long)s->attempts : 0};
    cli_log("warning", &f,
            "kvsp: stream %s: reconnecting (%u more retries since the last line): %s\n", stream,
            ss->unsaid, reason);
    ss->said_at = now;
    ss->unsaid = 0;
}

/* Writes the token to FILE.tmp, then renames it: a crash never leaves a
 * half-written checkpoint. */
static void save_checkpoint(const char *path, const char *token)
{
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (!tmp)
        return;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f && fprintf(f, "%s\n", token) > 0 && fclose(f) == 0)
        rename(tmp, path);
    else if (f)
        fclose(f);
    free(tmp);
}

static const char *load_checkpoint(follow_state *st)
{
    FILE *f = st->in->checkpoint ? fopen(st->in->checkpoint, "r") : NULL;
    if (!f)
        return NULL;
    char token[512];
    const char *start = NULL;
    if (fgets(token, sizeof token, f)) {
        token[strcspn(token, "\r\n")] = '\0';
        if (*token) {
            snprintf(st->start_text, sizeof st->start_text, "continuation:%s", token);
            start = st->start_text;
        }
    }
    fclose(f);
    return start;
}

static int on_fragment(void *user, const char *stream, const kvsp_fragment *f)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    stream_state *ss = user;
    follow_state *st = ss->all;
    if (f->fragment_number && strlen(f->fragment_number) < sizeof ss->last)
        snprintf(ss->last, sizeof ss->last, "%s", f->fragment_number);
    if (st->print_fragments) {
        cli_jl *w = cli_jl_stdout();
        cli_jl_begin(w);
        fragment_json(w, f);
        cli_jl_cstring(w, "stream", stream);
        cli_jl_int(w, "received_at_us", (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000);
        if (cli_jl_end(w, stdout) != 0 || fflush(stdout) != 0)
            return KVSP_ERR_IO;
    }
    /* After the fragment is out: a crash in between repeats it next time
     * rather than losing it. */
    if (st->in->checkpoint && f->continuation_token)
        save_checkpoint(st->in->checkpoint, f->continuation_token);
    return KVSP_OK;
}

static void on_error_tag(void *user, const char *stream, const kvsp_fragment *f)
{
    const stream_state *ss = user;
    const char *after = ss->last[0] ? ss->last : "(none)";
    cli_log_fields fields = {stream, NULL, 0, NULL, 0};
    cli_log("warning", &fields, "kvsp: stream %s: error tag%s%s after fragment %s: %s %s\n", stream,
            f->fragment_number ? " for fragment " : "",
            f->fragment_number ? f->fragment_number : "", after,
            f->error_id_text ? f->error_id_text : "", f->error_code ? f->error_code : "");
}

/* --metrics: served from here on until stop_metrics; says where on stderr
 * (the port, when 0 asked for any). */
static int start_metrics(cli_input_options *in, kvsp_consumer *c, void **out)
{
#ifdef KVSP_HAVE_METRICS
    char why[256];
    cli_metrics *m = cli_metrics_start((const struct sockaddr *)&in->metrics_addr,
                                       in->metrics_addr_len, c, in->streams, why, sizeof why);
    if (!m) {
        snprintf(in->client_error, sizeof in->client_error, "--metrics %s: %s", in->metrics, why);
        cli_note_config_error();
        return KVSP_ERR_INVALID_ARG;
    }
    char host[64] = "";
    if (in->metrics_addr.ss_family == AF_INET6) {
        host[0] = '[';
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&in->metrics_addr)->sin6_addr, host + 1,
                  sizeof host - 2);
        strcat(host, "]");
    } else {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&in->metrics_addr)->sin_addr, host, sizeof host);
    }
    cli_info("kvsp: metrics on http://%s:%u/metrics", host, cli_metrics_port(m));
    *out = m;
    return KVSP_OK;
#else
    (void)c;
    (void)out;
    snprintf(in->client_error, sizeof in->client_error,
             "--metrics needs libmicrohttpd, which this build has not");
    cli_note_config_error();
    return KVSP_ERR_INVALID_ARG;
#endif
}

static void stop_metrics(void *m)
{
#ifdef KVSP_HAVE_METRICS
    cli_metrics_stop(m);
#else
    (void)m;
#endif
}

/* Runs the consumer over every --stream; v/r receive the payload when given. */
static int consume(cli_input_options *in, kvsp_reader *r, const kvsp_visitor *v,
                   int print_fragments)
{
    if (in->checkpoint && in->nstreams > 1) {
        snprintf(in->client_error, sizeof in->client_error,
                 "--checkpoint keeps the token of one stream: give one --stream with it");
        return KVSP_ERR_INVALID_ARG;
    }
    follow_state st;
    memset(&st, 0, sizeof st);
    st.in = in;
    st.print_fragments = print_fragments;
    const char *start_text = in->start;
    if (!start_text)
        start_text = load_checkpoint(&st);
    kvsp_start_selector start;
    if (kvsp_start_selector_parse(start_text ? start_text : "now", &start) != KVSP_OK) {
        snprintf(in->client_error, sizeof in->client_error, "bad --start '%.400s'", start_text);
        return KVSP_ERR_INVALID_ARG;
    }
    stream_state *per = calloc((size_t)in->nstreams + 1, sizeof *per);
    if (!per)
        return KVSP_ERR_NOMEM;
    kvsp_client *client = client_cli_create(in);
    kvsp_consumer_options copts;
    memset(&copts, 0, sizeof copts);
    copts.max_retries = in->follow ? 0 : CLI_MAX_ATTEMPTS; /* --follow retries until stopped */
    kvsp_consumer *c = client ? kvsp_consumer_create(client, &copts) : NULL;
    int status = c ? KVSP_OK : KVSP_ERR_INVALID_ARG;
    for (int i = 0; status == KVSP_OK && i < in->nstreams; i++) {
        kvsp_stream_options so;
        memset(&so, 0, sizeof so);
        so.stream = in->streams[i];
        so.start = start;
        so.visitor = v;
        so.reader = r;
        so.on_fragment = on_fragment;
        so.on_error_tag = on_error_tag;
        so.on_retry = on_retry;
        per[i].all = &st;
        per[i].consumer = c;
        per[i].index = (size_t)i;
        so.user = &per[i];
        so.follow = in->follow;
        int idx = kvsp_consumer_add(c, &so);
        if (idx < 0)
            status = idx;
    }
    void *metrics = NULL;
    if (status == KVSP_OK && in->metrics)
        status = start_metrics(in, c, &metrics);
    if (status == KVSP_OK) {
        interrupted = 0;
        running = c;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        status = kvsp_consumer_run(c);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        running = NULL;
    }
    /* Stopped by a signal before any fragment came: nothing was done, which
     * is not success (a script must not take "0 fragments" for an empty
     * stream); the last reason a stream had, if any, goes with it. */
    if (status == KVSP_OK && interrupted && c) {
        unsigned long long delivered = 0;
        const char *why = NULL;
        for (size_t i = 0; i < kvsp_consumer_stream_count(c); i++) {
            const kvsp_stream_stats *s = kvsp_consumer_stats(c, i);
            delivered += s->fragments;
            if (!why && s->last_error && *s->last_error)
                why = s->last_error;
        }
        if (!delivered) {
            snprintf(in->client_error, sizeof in->client_error,
                     "interrupted before any fragment arrived%s%.400s", why ? "; last error: " : "",
                     why ? why : "");
            status = KVSP_ERR_NETWORK;
        }
    }
    /* The first stream that failed is reported by the caller (its status is
     * the exit status), any others here. */
    int reported = 0;
    for (size_t i = 0; c && status < 0 && i < kvsp_consumer_stream_count(c); i++) {
        const kvsp_stream_stats *s = kvsp_consumer_stats(c, i);
        if (s->state != KVSP_STREAM_FAILED || !s->last_error)
            continue;
        char host[256];
        cli_log_url_host(s->last_error, host, sizeof host);
        if (!host[0] && s->data_endpoint)
            cli_log_url_host(s->data_endpoint, host, sizeof host);
        if (!reported++) {
            snprintf(in->client_error, sizeof in->client_error, "%s", s->last_error);
            in->stream = in->streams[i];
            in->client_http_status = s->last_http_status;
            snprintf(in->client_exception, sizeof in->client_exception, "%s",
                     s->last_exception ? s->last_exception : "");
            snprintf(in->client_host, sizeof in->client_host, "%s", host);
        } else {
            cli_log_fields f = {in->streams[i], host, s->last_http_status, s->last_exception, 0};
            cli_log("error", &f, "kvsp: stream %s: %s\n", in->streams[i], s->last_error);
        }
    }
    if (in->verbose && c) {
        for (size_t i = 0; i < kvsp_consumer_stream_count(c); i++) {
            const kvsp_stream_stats *s = kvsp_consumer_stats(c, i);
            cli_log_fields f = {in->streams[i], NULL, 0, NULL, 0};
            cli_log("info", &f,
                    "kvsp: stream %s: %llu fragments, %llu frames, %llu bytes, %llu reconnects, "
                    "%llu throttled, %llu bytes dropped, %llu stalls\n",
                    in->streams[i], (unsigned long long)s->fragments, (unsigned long long)s->frames,
                    (unsigned long long)s->bytes, (unsigned long long)s->reconnects,
                    (unsigned long long)s->throttled, (unsigned long long)s->dropped_bytes,
                    (unsigned long long)s->stalls);
        }
    }
    stop_metrics(metrics); /* before the consumer it reads */
    kvsp_consumer_destroy(c);
    kvsp_client_destroy(client);
    free(per);
    return status;
}

int client_feed_stream(cli_input_options *in, kvsp_reader *r, const kvsp_visitor *v)
{
    if (in->nstreams > 1) {
        snprintf(in->client_error, sizeof in->client_error, "this command reads one --stream");
        return KVSP_ERR_INVALID_ARG;
    }
    return consume(in, r, v, 0);
}

int client_fragments(cli_input_options *in)
{
    int st = consume(in, NULL, NULL, 1);
    fflush(stdout);
    if (st < 0)
        cli_report_error("fragments", in, NULL, st);
    return cli_exit_status(st);
}
