/* kvsp serve: a local endpoint speaking the KVS media APIs over the .mkv
 * files of a directory, for testing consumers (kvsp's client, AWS SDKs)
 * without AWS: authentication, live pacing and failures included. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../cli.h"
#include "../cli_log.h"
#include "serve.h"

#define DEFAULT_ACCESS_KEY "AKIDEXAMPLE"
#define DEFAULT_SECRET_KEY "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define DEFAULT_REGION "us-west-2"
/* On SIGINT/SIGTERM, how long media responses get to finish (GetMedia the
 * fragment it is sending): a client that does not read is cut after that. */
#define SERVE_DRAIN_MS 5000

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kvsp serve --root DIR [OPTIONS]\n\n"
            "Serves every DIR/NAME.mkv as the stream NAME over the Kinesis Video Streams\n"
            "APIs GetDataEndpoint, DescribeStream, ListStreams, GetMedia, ListFragments,\n"
            "GetMediaForFragmentList and GetHLSStreamingSessionURL (REST-JSON, POST\n"
            "/getMedia, ...), on 127.0.0.1 only,\n"
            "until SIGINT or SIGTERM (GetMedia responses then end after the fragment they\n"
            "are sending, GetMediaForFragmentList ones after their list, within 5 s). Each\n"
            "Cluster is a fragment. The first line on stdout is\n"
            "\"listening on http://127.0.0.1:PORT\".\n\n"
            "Fragment numbers are 47 digits (see --number-digits), increasing. A\n"
            "stream's first fragment has the producer timestamp --start-time (default\n"
            "1700000000.000, or the server's start with --live); later ones add their\n"
            "cluster time since the first (a cluster time that goes back follows the\n"
            "previous fragment's end instead).\n"
            "Server timestamps are producer + 0.250 s.\n\n"
            "HLS: GetHLSStreamingSessionURL (LIVE, LIVE_REPLAY, ON_DEMAND; FRAGMENTED_MP4)\n"
            "answers a URL to GET /hls/v1/getHLSMasterPlaylist.m3u8; the media playlist\n"
            "(getHLSMediaPlaylist.m3u8), getMP4InitFragment.mp4 and getMP4MediaFragment.mp4\n"
            "take SessionToken, TrackNumber and FragmentNumber as KVS's do, unsigned; one\n"
            "fragment is one segment. Responses allow any origin (CORS).\n\n"
            "  --root DIR                 directory of .mkv files (required)\n"
            "  --port P                   TCP port; 0 (default) picks a free one\n"
            "  --access-key AK            require SigV4-signed requests (service\n"
            "  --secret-key SK            kinesisvideo); either option enables it, the\n"
            "                             other then defaults to " DEFAULT_ACCESS_KEY " /\n"
            "                             " DEFAULT_SECRET_KEY "\n"
            "  --region R                 region of the signatures and ARNs (default\n"
            "                             " DEFAULT_REGION ")\n"
            "  --live                     release fragments in real time from the server's\n"
            "                             start; GetMedia waits for new fragments and ends\n"
            "                             after the last one of the file\n"
            "  --start-time SECONDS       producer timestamp of the first fragments\n"
            "  --threads N                event-loop threads (default 1)\n"
            "  --fault-close-after N      drop the connection after N bytes of each media\n"
            "                             body (GetMedia, GetMediaForFragmentList)\n"
            "  --list-unordered           ListFragments: the matches in one fixed shuffled\n"
            "                             order across all pages (KVS promises no order\n"
            "                             even across pages), not only within each page\n"
            "  --fault-limit-every K      answer every Kth request (of those signed\n"
            "                             right, with keys) with 400\n"
            "                             ClientLimitExceededException\n"
            "  --fault-error-at-fragment K  after K fragments of a GetMedia response, send\n"
            "                             instead of the next fragment one with only the\n"
            "                             tags AWS_KINESISVIDEO_FRAGMENT_NUMBER (the number\n"
            "                             of the fragment it replaces), _ERROR_CODE and\n"
            "                             _ERROR_ID (4000), then end the response\n"
            "  --fault-cut-at K:B[,K:B...]  drop the connection of the first GetMedia\n"
            "                             response that has sent B bytes of fragment K (K\n"
            "                             counts from 0 in the stream; B counts the bytes of\n"
            "                             the fragment as sent, from its EBML header to its\n"
            "                             closing Tags; B 0 is just before it). Each point\n"
            "                             cuts one response, of whichever stream gets there\n"
            "                             first, and is reported on stderr; list several or\n"
            "                             repeat the option\n"
            "  --fault-end-at K:B[,K:B...]  the same, but end the response cleanly there (a\n"
            "                             complete chunked body), as if it were over\n"
            "  --fault-stall-at K:B[,K:B...]  media response K (GetMedia and\n"
            "                             GetMediaForFragmentList responses, counted from 0\n"
            "                             in the order they start) sends B bytes of its body,\n"
            "                             then nothing: the connection stays open\n"
            "  --fault-garbage K[:B][,...]  media response K is 200 with B bytes (default\n"
            "                             10M) of random bytes instead of MKV\n"
            "  --fault-chunked K:B:MODE[,...]  media response K is written by kvsp serve\n"
            "                             itself: B bytes of the body in good chunks, then\n"
            "                             MODE: bad-size (a chunk-size line that is not hex),\n"
            "                             short (a chunk shorter than declared, then close)\n"
            "                             or no-end (close without the last, empty chunk)\n"
            "  --fault-expired-token T[,T...]  requests with session token T get 403\n"
            "                             ExpiredTokenException (checked with or without keys)\n"
            "  --fault-list-json MODE     every ListFragments answer is spoiled: truncated,\n"
            "                             not-json (HTML with 200), shape (Fragments not a\n"
            "                             list), types (a numeric FragmentNumber),\n"
            "                             long-number (100,000 digits), huge (a 5 MiB\n"
            "                             string), error-text (500 with an HTML body)\n"
            "  --session-limit SECONDS    end each GetMedia response cleanly at the first\n"
            "                             fragment boundary after SECONDS (decimals allowed),\n"
            "                             also while it waits for a --live fragment, as KVS\n"
            "                             ends a GetMedia session after about 45 minutes: the\n"
            "                             client goes on with the last continuation token\n"
            "  --fault-cut-every N        drop the connection of every Nth GetMedia response\n"
            "                             (counted from 1 in the order they start) inside the\n"
            "                             first fragment it sends, at a byte that varies from\n"
            "                             one response to the next; each cut is reported on\n"
            "                             stderr\n"
            "  --live-stagger MS          with --live, stream number i (from 0, in name\n"
            "                             order) starts i*MS later: its fragments are\n"
            "                             released and timestamped that much later\n"
            "  --log-fragments FILE       for each fragment a GetMedia response has sent\n"
            "                             completely, write a line \"MICROS STREAM NUMBER\"\n"
            "                             to FILE: the wall clock (CLOCK_REALTIME, us since\n"
            "                             1970) when its last byte went to the connection\n"
            "  --number-digits N          fragment numbers of N digits, 47 to 128\n"
            "                             (default 47, as KVS gives them)\n"
            "  --repeat N                 serve each file's fragments N times in a row (1 to\n"
            "                             10,000,000; default 1), each copy placed after the\n"
            "                             one before on the timeline, numbered on: a long\n"
            "                             stream (a month of 2 s fragments) from one file, to\n"
            "                             measure listing and planning; the index holds\n"
            "                             about 220 bytes per fragment\n"
            "  --rate-per-connection B    send each media response (GetMedia,\n"
            "                             GetMediaForFragmentList) at most B bytes per\n"
            "                             second (after a first 64 KiB), as KVS limits each\n"
            "                             session: so that N requests at a time measure N\n"
            "                             connections, not one loopback socket\n"
            "  --public-url URL           GetDataEndpoint answers URL (e.g. the https://\n"
            "                             address of a TLS terminator in front of this\n"
            "                             server) instead of http://127.0.0.1:PORT\n"
            "  --log-format text|json     stderr lines as text (default) or one JSON object\n"
            "                             each, as for the other subcommands\n"
            "  -h, --help                 show this help\n");
}

/* --public-url: http:// or https://, a host, printable ASCII without
 * spaces; trailing slashes dropped, as KVS gives its endpoints. */
static int parse_public_url(const char *text, serve_config *cfg)
{
    size_t n = strlen(text);
    const char *host = strncmp(text, "https://", 8) == 0  ? text + 8
                       : strncmp(text, "http://", 7) == 0 ? text + 7
                                                          : NULL;
    int ok = host && *host && *host != '/' && n < sizeof cfg->public_url;
    for (size_t i = 0; ok && i < n; i++)
        ok = text[i] > 0x20 && text[i] < 0x7f;
    if (!ok) {
        cli_error("kvsp serve: --public-url needs http://HOST[:PORT][/PATH] or https://..., "
                  "at most %d characters, got '%s'\n",
                  SERVE_PUBLIC_URL_MAX - 1, text);
        return -1;
    }
    while (n > (size_t)(host - text) + 1 && text[n - 1] == '/')
        n--;
    memcpy(cfg->public_url, text, n);
    cfg->public_url[n] = '\0';
    return 0;
}

static int parse_count(const char *name, const char *value, uint64_t min, uint64_t max,
                       uint64_t *out)
{
    if (cli_parse_size(value, out) != 0 || *out < min || *out > max) {
        cli_error("kvsp serve: --%s needs a number from %llu to %llu, got '%s'\n", name,
                  (unsigned long long)min, (unsigned long long)max, value);
        return -1;
    }
    return 0;
}

/* Decimal seconds to milliseconds, at least min_ms. */
static int parse_seconds(const char *name, const char *what, const char *text, int64_t min_ms,
                         int64_t *ms)
{
    char *end;
    errno = 0;
    double seconds = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(seconds) || seconds < 0 || seconds > 1e11 ||
        llround(seconds * 1000.0) < min_ms) {
        cli_error("kvsp serve: --%s needs %s, got '%s'\n", name, what, text);
        return -1;
    }
    *ms = (int64_t)llround(seconds * 1000.0);
    return 0;
}

/* "K:B[,K:B...]" appended to cfg->cuts. */
static int parse_cuts(const char *name, const char *text, int end_cleanly, serve_config *cfg)
{
    const char *p = text;
    while (*p) {
        char *end;
        errno = 0;
        unsigned long long k = strtoull(p, &end, 10);
        int ok = !errno && end != p && *p != '-' && *end == ':';
        unsigned long long b = 0;
        if (ok) {
            p = end + 1;
            b = strtoull(p, &end, 10);
            ok = !errno && end != p && *p != '-' && (*end == ',' || *end == '\0');
        }
        if (!ok) {
            cli_error("kvsp serve: --%s needs FRAGMENT:BYTE[,FRAGMENT:BYTE...], got '%s'\n", name,
                      text);
            return -1;
        }
        serve_cut *more = realloc(cfg->cuts, (cfg->cut_count + 1) * sizeof *more);
        if (!more) {
            cli_error("kvsp serve: out of memory\n");
            return -1;
        }
        cfg->cuts = more;
        serve_cut *cut = &cfg->cuts[cfg->cut_count++];
        cut->fragment = k;
        cut->byte = b;
        cut->end_cleanly = end_cleanly;
        atomic_init(&cut->used, 0);
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

static int parse_args(int argc, char **argv, serve_config *cfg)
{
    static const struct option longopts[] = {
        {"root", required_argument, NULL, 'r'},
        {"port", required_argument, NULL, 'p'},
        {"access-key", required_argument, NULL, 'a'},
        {"secret-key", required_argument, NULL, 's'},
        {"region", required_argument, NULL, 'g'},
        {"live", no_argument, NULL, 'l'},
        {"start-time", required_argument, NULL, 't'},
        {"threads", required_argument, NULL, 'n'},
        {"fault-close-after", required_argument, NULL, 'C'},
        {"fault-limit-every", required_argument, NULL, 'L'},
        {"fault-error-at-fragment", required_argument, NULL, 'E'},
        {"fault-cut-at", required_argument, NULL, 'X'},
        {"fault-end-at", required_argument, NULL, 'Y'},
        {"live-stagger", required_argument, NULL, 'S'},
        {"log-fragments", required_argument, NULL, 'F'},
        {"number-digits", required_argument, NULL, 'N'},
        {"public-url", required_argument, NULL, 'U'},
        {"session-limit", required_argument, NULL, 'T'},
        {"fault-cut-every", required_argument, NULL, 'K'},
        {"fault-stall-at", required_argument, NULL, SERVE_OPT_STALL},
        {"fault-garbage", required_argument, NULL, SERVE_OPT_GARBAGE},
        {"fault-chunked", required_argument, NULL, SERVE_OPT_CHUNKED},
        {"fault-expired-token", required_argument, NULL, SERVE_OPT_EXPIRED},
        {"fault-list-json", required_argument, NULL, SERVE_OPT_LIST_JSON},
        {"list-unordered", no_argument, NULL, 'O'},
        {"log-format", required_argument, NULL, 'J'},
        {"repeat", required_argument, NULL, 'R'},
        {"rate-per-connection", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return CLI_EXIT_OK;
        case 'r': cfg->root = optarg; break;
        case 'a': cfg->access_key = optarg; break;
        case 's': cfg->secret_key = optarg; break;
        case 'g': cfg->region = optarg; break;
        case 'l': cfg->live = 1; break;
        case 'p':
            if (parse_count("port", optarg, 0, 65535, &v) != 0)
                return CLI_EXIT_USAGE;
            cfg->port = (unsigned)v;
            break;
        case 'n':
            if (parse_count("threads", optarg, 1, 64, &v) != 0)
                return CLI_EXIT_USAGE;
            cfg->threads = (unsigned)v;
            break;
        case 'C':
            if (parse_count("fault-close-after", optarg, 1, UINT64_MAX, &cfg->fault_close_after) !=
                0)
                return CLI_EXIT_USAGE;
            break;
        case 'O': cfg->list_unordered = 1; break;
        case 'J': /* set already from argv (main.c); checked here */
            if (cli_log_parse_format(optarg) < 0) {
                cli_error("kvsp serve: --log-format is text or json, got '%s'\n", optarg);
                return CLI_EXIT_USAGE;
            }
            cli_log_set_format((cli_log_format)cli_log_parse_format(optarg));
            break;
        case 'P':
            if (parse_count("rate-per-connection", optarg, 1024, UINT64_MAX / 2000,
                            &cfg->rate_per_connection) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'R':
            if (parse_count("repeat", optarg, 1, 10000000, &cfg->repeat) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'L':
            if (parse_count("fault-limit-every", optarg, 1, UINT64_MAX, &cfg->fault_limit_every) !=
                0)
                return CLI_EXIT_USAGE;
            break;
        case 'E':
            if (parse_count("fault-error-at-fragment", optarg, 0, INT64_MAX, &v) != 0)
                return CLI_EXIT_USAGE;
            cfg->fault_error_at_fragment = (int64_t)v;
            break;
        case 'X':
        case 'Y':
            if (parse_cuts(c == 'X' ? "fault-cut-at" : "fault-end-at", optarg, c == 'Y', cfg) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'S':
            if (parse_count("live-stagger", optarg, 0, 86400000, &v) != 0)
                return CLI_EXIT_USAGE;
            cfg->live_stagger_ms = (int64_t)v;
            break;
        case 'F': cfg->log_fragments = optarg; break;
        case 'U':
            if (parse_public_url(optarg, cfg) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'N':
            if (parse_count("number-digits", optarg, SERVE_FRAGMENT_NUMBER_DIGITS,
                            KVSP_FRAGMENT_NUMBER_MAX, &v) != 0)
                return CLI_EXIT_USAGE;
            cfg->number_digits = (unsigned)v;
            break;
        case SERVE_OPT_STALL:
        case SERVE_OPT_GARBAGE:
        case SERVE_OPT_CHUNKED:
        case SERVE_OPT_EXPIRED:
        case SERVE_OPT_LIST_JSON:
            if (serve_fault_option(cfg, c, optarg) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 't':
            if (parse_seconds("start-time", "epoch seconds", optarg, 0, &cfg->start_time_ms) != 0)
                return CLI_EXIT_USAGE;
            cfg->have_start_time = 1;
            break;
        case 'T':
            if (parse_seconds("session-limit", "seconds, at least 0.001", optarg, 1,
                              &cfg->session_limit_ms) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'K':
            if (parse_count("fault-cut-every", optarg, 1, UINT64_MAX, &cfg->fault_cut_every) != 0)
                return CLI_EXIT_USAGE;
            break;
        default: cli_usage_error(usage); return CLI_EXIT_USAGE;
        }
    }
    if (!cfg->root || optind < argc) {
        cli_usage_error(usage);
        return CLI_EXIT_USAGE;
    }
    if (cfg->access_key || cfg->secret_key) {
        if (!cfg->access_key)
            cfg->access_key = DEFAULT_ACCESS_KEY;
        if (!cfg->secret_key)
            cfg->secret_key = DEFAULT_SECRET_KEY;
    }
    return -1;
}

/* Hundreds of concurrent connections need as many descriptors. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void report_streams(const serve_ctx *ctx)
{
    for (size_t i = 0; i < ctx->stream_count; i++) {
        const serve_stream *s = &ctx->streams[i];
        cli_info("kvsp serve: stream %s: %zu fragments (%s)\n", s->name, s->count, s->path);
    }
    if (ctx->stream_count == 0)
        cli_warn("kvsp serve: no .mkv files in %s\n", ctx->cfg.root);
}

static int close_log(serve_ctx *ctx)
{
    if (!ctx->fragment_log)
        return 0;
    int rc = fclose(ctx->fragment_log);
    ctx->fragment_log = NULL;
    pthread_mutex_destroy(&ctx->log_lock);
    if (rc != 0)
        cli_error("kvsp serve: %s: %s\n", ctx->cfg.log_fragments, strerror(errno));
    return rc;
}

static int run(serve_ctx *ctx)
{
    /* Blocked before any thread starts, so that only sigwait sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    if (ctx->cfg.log_fragments) {
        ctx->fragment_log = fopen(ctx->cfg.log_fragments, "w");
        if (!ctx->fragment_log || pthread_mutex_init(&ctx->log_lock, NULL) != 0) {
            cli_error("kvsp serve: %s: %s\n", ctx->cfg.log_fragments, strerror(errno));
            if (ctx->fragment_log)
                fclose(ctx->fragment_log);
            ctx->fragment_log = NULL;
            return CLI_EXIT_USAGE;
        }
    }
    /* Stalled responses wait on the live clock's list too. */
    int stalls = 0;
    for (size_t i = 0; i < ctx->cfg.fault_count; i++)
        stalls |= ctx->cfg.faults[i].kind == SERVE_FAULT_STALL;
    /* Paced responses (--rate-per-connection) wait on it as well. */
    if ((ctx->cfg.live || stalls || ctx->cfg.rate_per_connection) &&
        serve_live_start(&ctx->live) != 0) {
        cli_error("kvsp serve: cannot start the live clock\n");
        close_log(ctx);
        return CLI_EXIT_SERVICE;
    }
    if (serve_http_start(ctx) != 0) {
        cli_error("kvsp serve: cannot listen on 127.0.0.1:%u\n", ctx->cfg.port);
        serve_live_stop(&ctx->live);
        serve_live_join(&ctx->live);
        close_log(ctx);
        return CLI_EXIT_SERVICE;
    }
    printf("listening on %s\n", ctx->endpoint);
    fflush(stdout);
    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    cli_info("kvsp serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    /* GetMedia responses end at their next fragment boundary with their
     * last chunk (GetMediaForFragmentList ones after their list), so that a client sees a response
     * that ended, not one cut (IncompleteRead); waiting ones are resumed to end at once, and
     * suspended connections must be resumed before MHD stops anyway. */
    atomic_store(&ctx->stopping, 1);
    serve_live_stop(&ctx->live);
    serve_http_drain(ctx, SERVE_DRAIN_MS);
    serve_http_stop(ctx);
    serve_live_join(&ctx->live);
    return close_log(ctx) == 0 ? CLI_EXIT_OK : CLI_EXIT_SERVICE;
}

int cmd_serve(int argc, char **argv)
{
    static serve_ctx ctx; /* lives as long as the daemon's threads */
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg.region = DEFAULT_REGION;
    ctx.cfg.fault_error_at_fragment = -1;
    ctx.cfg.number_digits = SERVE_FRAGMENT_NUMBER_DIGITS;
    ctx.cfg.repeat = 1;
    int rc = parse_args(argc, argv, &ctx.cfg);
    if (rc >= 0) {
        free(ctx.cfg.cuts);
        free(ctx.cfg.faults);
        return rc;
    }
    int st = serve_index_root(&ctx);
    if (st < 0) {
        if (st != KVSP_ERR_IO)
            cli_error("kvsp serve: %s\n", kvsp_status_str(st));
        serve_streams_free(&ctx);
        free(ctx.cfg.cuts);
        free(ctx.cfg.faults);
        return st == KVSP_ERR_IO ? CLI_EXIT_BAD_INPUT : CLI_EXIT_SERVICE;
    }
    for (size_t i = 0; ctx.cfg.live && i < ctx.stream_count; i++)
        ctx.streams[i].delay_ms = (int64_t)i * ctx.cfg.live_stagger_ms;
    /* The live clock starts once indexing is done, just before listening. */
    ctx.start_ms = serve_now_ms();
    serve_set_base(&ctx, ctx.cfg.have_start_time ? ctx.cfg.start_time_ms
                         : ctx.cfg.live          ? ctx.start_ms
                                                 : SERVE_DEFAULT_BASE_MS);
    report_streams(&ctx);
    rc = run(&ctx);
    serve_streams_free(&ctx);
    free(ctx.cfg.cuts);
    free(ctx.cfg.faults);
    return rc;
}
