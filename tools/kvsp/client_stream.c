#define _POSIX_C_SOURCE 200809L
/* --stream for the reading commands: GetMedia through the consumer, which
 * resumes after any interruption without losing or repeating a fragment;
 * --follow keeps reading live until SIGINT/SIGTERM; --checkpoint keeps the
 * last continuation token in a file. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_json.h"
#include "client_cli.h"
#include "fragment_json.h"
#include "kvsparser/consumer.h"

static kvsp_consumer *running; /* for the signal handler */

static void on_signal(int sig)
{
    (void)sig;
    kvsp_consumer_stop(running); /* only sets a flag */
}

typedef struct follow_state {
    cli_input_options *in;
    char start_text[600]; /* "continuation:TOKEN" from the checkpoint file */
    int print_fragments;
} follow_state;

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
    follow_state *st = user;
    if (st->in->checkpoint && f->continuation_token)
        save_checkpoint(st->in->checkpoint, f->continuation_token);
    if (!st->print_fragments)
        return KVSP_OK;
    json_t *line = fragment_json(f);
    json_object_set_new(line, "stream", json_string(stream));
    if (cli_json_print_line(line) != 0 || fflush(stdout) != 0)
        return KVSP_ERR_IO;
    return KVSP_OK;
}

static void on_error_tag(void *user, const char *stream, const kvsp_fragment *f)
{
    (void)user;
    fprintf(stderr, "kvsp: stream %s: error tag after fragment %s: %s %s\n", stream,
            f->fragment_number ? f->fragment_number : "(none)", f->error_id_text ? f->error_id_text : "",
            f->error_code ? f->error_code : "");
}

/* Runs the consumer over every --stream; v/r receive the payload when given. */
static int consume(cli_input_options *in, kvsp_reader *r, const kvsp_visitor *v, int print_fragments)
{
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
    kvsp_client *client = client_cli_create(in);
    kvsp_consumer *c = client ? kvsp_consumer_create(client, NULL) : NULL;
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
        so.user = &st;
        so.follow = in->follow;
        int idx = kvsp_consumer_add(c, &so);
        if (idx < 0)
            status = idx;
    }
    if (status == KVSP_OK) {
        running = c;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        status = kvsp_consumer_run(c);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        running = NULL;
    }
    for (size_t i = 0; c && status < 0 && i < kvsp_consumer_stream_count(c); i++) {
        const kvsp_stream_stats *s = kvsp_consumer_stats(c, i);
        if (s->state == KVSP_STREAM_FAILED && s->last_error) {
            snprintf(in->client_error, sizeof in->client_error, "%s", s->last_error);
            break;
        }
    }
    if (in->verbose && c) {
        for (size_t i = 0; i < kvsp_consumer_stream_count(c); i++) {
            const kvsp_stream_stats *s = kvsp_consumer_stats(c, i);
            fprintf(stderr, "kvsp: stream %s: %llu fragments, %llu frames, %llu bytes, %llu reconnects\n",
                    in->streams[i], (unsigned long long)s->fragments, (unsigned long long)s->frames,
                    (unsigned long long)s->bytes, (unsigned long long)s->reconnects);
        }
    }
    kvsp_consumer_destroy(c);
    kvsp_client_destroy(client);
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
