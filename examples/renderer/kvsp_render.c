#define _DEFAULT_SOURCE /* getopt_long, gmtime_r */
/* kvsp-render: shows the video track of a KVS stream, an MKV file or stdin
 * in an SDL2 window.
 *
 * Two threads: the decoding thread (source.c) reads and decodes with
 * kvsparser and fills a small queue of yuv420p pictures (picture_queue.c);
 * this, the main thread, handles window events and shows each picture when
 * its presentation time comes, as a YUV texture scaled to the window. It
 * never waits for the network or the decoder, so the window stays
 * responsive whatever the input does. */
#define SDL_MAIN_HANDLED
#include <SDL.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kvsparser/status.h>

#include "picture_queue.h"
#include "screenshot.h"
#include "source.h"

#define QUEUE_SLOTS 8
#define IDLE_WAIT_MS 250  /* longest sleep: the fps in the title stays current */
#define MAX_GAP_MS 5000.0 /* a larger jump in timestamps restarts the clock */
#define MAX_LATE_S 0.5    /* a picture later than this restarts the clock */

typedef struct options {
    source_options source;
    const char *name; /* shown in the title */
    int fast, verbose;
    int width, height; /* --window; 0: the stream's size */
    const char *screenshot;
    unsigned long after;
} options;

/* Presentation clock: a picture is due at wall + (pts - pts_ms). Anchored
 * at the first picture, and again after a pause, a jump in timestamps (a
 * new recording, a gap) or a late picture (a slow network or decoder: play
 * on from there rather than rush to catch up). */
typedef struct pacing {
    int anchored;
    double wall, pts_ms, last_shown_pts_ms;
} pacing;

typedef struct app {
    const options *opts;
    SDL_Window *window;
    SDL_Renderer *renderer;
    SDL_Texture *texture;
    int texture_w, texture_h;
    picture_queue *queue;
    pacing clock;
    int paused, fullscreen, ended, quit, status;
    unsigned long shown;  /* pictures displayed */
    picture_info current; /* of the last one */
    uint64_t title_fragment;
    double fps, fps_since;
    unsigned long fps_frames;
} app;

static double seconds(void)
{
    return (double)SDL_GetPerformanceCounter() / (double)SDL_GetPerformanceFrequency();
}

/* Seconds until a picture is due (0 or less: show it now). */
static double until_due(pacing *c, double pts_ms, double now)
{
    double jump = pts_ms - c->last_shown_pts_ms;
    if (!c->anchored || jump < 0 || jump > MAX_GAP_MS) {
        c->anchored = 1;
        c->wall = now;
        c->pts_ms = pts_ms;
    }
    double wait = c->wall + (pts_ms - c->pts_ms) / 1000.0 - now;
    if (wait < -MAX_LATE_S) {
        c->wall = now;
        c->pts_ms = pts_ms;
        wait = 0;
    }
    return wait;
}

static void update_title(app *a)
{
    const picture_info *p = &a->current;
    char when[64] = "no producer timestamp", behind[48] = "", fps[32] = "", title[512];
    if (p->has_producer_time) {
        long long ms = (long long)p->producer_timestamp_ms;
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(when + strlen(when), sizeof when - strlen(when), ".%03lld UTC", ms % 1000);
    }
    if (p->millis_behind_now >= 0)
        snprintf(behind, sizeof behind, " | %lld ms behind now", (long long)p->millis_behind_now);
    if (a->fps > 0)
        snprintf(fps, sizeof fps, " | %.1f fps", a->fps);
    snprintf(title, sizeof title, "%s | fragment %llu%s%s | %s%s%s%s%s", a->opts->name,
             (unsigned long long)p->fragment_index + 1, *p->fragment_number ? " " : "",
             p->fragment_number, when, behind, fps, a->paused ? " | paused" : "",
             a->ended ? " | end" : "");
    SDL_SetWindowTitle(a->window, title);
    if (a->opts->verbose && p->fragment_index != a->title_fragment)
        fprintf(stderr, "%s\n", title);
    a->title_fragment = p->fragment_index;
}

/* The largest rectangle of the texture's aspect ratio centred in the output. */
static SDL_Rect letterbox(const app *a)
{
    int ow, oh;
    SDL_GetRendererOutputSize(a->renderer, &ow, &oh);
    SDL_Rect r = {0, 0, ow, oh};
    if ((long long)ow * a->texture_h > (long long)oh * a->texture_w)
        r.w = (int)((long long)oh * a->texture_w / a->texture_h);
    else
        r.h = (int)((long long)ow * a->texture_h / a->texture_w);
    r.x = (ow - r.w) / 2;
    r.y = (oh - r.h) / 2;
    return r;
}

static void draw(app *a, int screenshot)
{
    SDL_SetRenderDrawColor(a->renderer, 0, 0, 0, 255);
    SDL_RenderClear(a->renderer);
    if (a->texture) {
        SDL_Rect r = letterbox(a);
        SDL_RenderCopy(a->renderer, a->texture, NULL, &r);
    }
    if (screenshot) { /* read back before present, which may discard the frame */
        if (save_screenshot(a->renderer, a->opts->screenshot) != 0) {
            fprintf(stderr, "kvsp-render: cannot save %s: %s\n", a->opts->screenshot,
                    SDL_GetError());
            a->status = 1;
        }
        a->quit = 1;
    }
    SDL_RenderPresent(a->renderer);
}

/* Without --window, the window takes the stream's size (if the screen has room). */
static void fit_window(app *a, int w, int h)
{
    SDL_Rect usable;
    if (SDL_GetDisplayUsableBounds(SDL_GetWindowDisplayIndex(a->window), &usable) == 0 &&
        (w > usable.w || h > usable.h)) {
        double scale = SDL_min((double)usable.w / w, (double)usable.h / h);
        w = (int)(w * scale);
        h = (int)(h * scale);
    }
    SDL_SetWindowSize(a->window, w, h);
}

static void show(app *a, const queued_picture *p)
{
    if (!a->texture || a->texture_w != p->width || a->texture_h != p->height) {
        /* first picture or a new resolution: a texture of its size */
        SDL_DestroyTexture(a->texture);
        a->texture = SDL_CreateTexture(a->renderer, SDL_PIXELFORMAT_IYUV,
                                       SDL_TEXTUREACCESS_STREAMING, p->width, p->height);
        if (!a->texture) {
            fprintf(stderr, "kvsp-render: cannot create a %dx%d texture: %s\n", p->width, p->height,
                    SDL_GetError());
            a->status = 1;
            a->quit = 1;
            return;
        }
        a->texture_w = p->width;
        a->texture_h = p->height;
        if (!a->shown && !a->opts->width)
            fit_window(a, p->width, p->height);
    }
    SDL_UpdateYUVTexture(a->texture, NULL, p->planes[0], p->strides[0], p->planes[1], p->strides[1],
                         p->planes[2], p->strides[2]);
    a->current = p->info;
    a->clock.last_shown_pts_ms = p->info.pts_ms;
    a->shown++;
    a->fps_frames++;
    draw(a, a->opts->screenshot && a->shown == a->opts->after);
    if (p->info.fragment_index != a->title_fragment)
        update_title(a); /* per fragment */
}

/* Shows the oldest decoded picture if it is due. Returns how long the main
 * loop may wait for events before calling again (ms). */
static int show_due_picture(app *a)
{
    const queued_picture *p = a->paused ? NULL : picture_queue_peek(a->queue);
    if (!p)
        return IDLE_WAIT_MS; /* a new picture wakes the loop up */
    double wait = a->opts->fast ? 0 : until_due(&a->clock, p->info.pts_ms, seconds());
    if (wait > 0.0005)
        return (int)SDL_min(wait * 1000 + 0.5, IDLE_WAIT_MS);
    show(a, p);
    picture_queue_pop(a->queue);
    return 0;
}

static void handle_event(app *a, const SDL_Event *ev)
{
    if (ev->type == SDL_QUIT) {
        a->quit = 1;
    } else if (ev->type == SDL_KEYDOWN) {
        switch (ev->key.keysym.sym) {
        case SDLK_q:
        case SDLK_ESCAPE: a->quit = 1; break;
        case SDLK_SPACE:
            a->paused = !a->paused;
            a->clock.anchored = 0; /* after a pause, go on from the next picture */
            if (a->shown)
                update_title(a);
            break;
        case SDLK_f:
            a->fullscreen = !a->fullscreen;
            SDL_SetWindowFullscreen(a->window, a->fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
            break;
        default: break;
        }
    } else if (ev->type == SDL_WINDOWEVENT && (ev->window.event == SDL_WINDOWEVENT_SIZE_CHANGED ||
                                               ev->window.event == SDL_WINDOWEVENT_EXPOSED)) {
        draw(a, 0); /* the last picture again, fitted to the new size */
    }
    /* the queue's wake-up events need nothing: the loop looks at the queue */
}

/* Once a second: the frame rate in the title. At the end of input: stop if a
 * screenshot was still expected or the input failed, else keep the window. */
static void check_progress(app *a)
{
    double now = seconds();
    if (now - a->fps_since >= 1.0) {
        a->fps = (double)a->fps_frames / (now - a->fps_since);
        a->fps_since = now;
        a->fps_frames = 0;
        if (a->shown)
            update_title(a);
    }
    int status;
    const char *message;
    if (a->quit || a->ended || !picture_queue_ended(a->queue, &status, &message))
        return;
    a->ended = 1;
    if (status < 0) {
        fprintf(stderr, "kvsp-render: %s: %s\n", a->opts->name, message);
        a->status = status == KVSP_ERR_NETWORK || status == KVSP_ERR_SERVICE ? 3 : 1;
        a->quit = 1;
    } else if (a->opts->screenshot) {
        fprintf(stderr, "kvsp-render: %s: the input ended after %lu pictures, before picture %lu\n",
                a->opts->name, a->shown, a->opts->after);
        a->status = 1;
        a->quit = 1;
    } else if (a->shown) {
        update_title(a);
    }
}

static int run(const options *o)
{
    app a;
    memset(&a, 0, sizeof a);
    a.opts = o;
    a.fps_since = seconds();
    a.title_fragment = UINT64_MAX;
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
    SDL_SetHint(SDL_HINT_RENDER_VSYNC, o->fast ? "0" : "1");
    Uint32 wake_event = SDL_RegisterEvents(1);
    a.window = SDL_CreateWindow(o->name, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED,
                                o->width ? o->width : 960, o->height ? o->height : 540,
                                SDL_WINDOW_RESIZABLE);
    /* Any renderer SDL has, the software one when there is no GPU. */
    a.renderer = a.window ? SDL_CreateRenderer(a.window, -1, 0) : NULL;
    if (a.window && !a.renderer)
        a.renderer = SDL_CreateRenderer(a.window, -1, SDL_RENDERER_SOFTWARE);
    SDL_RendererInfo info;
    if (o->verbose && a.renderer && SDL_GetRendererInfo(a.renderer, &info) == 0)
        fprintf(stderr, "kvsp-render: %s video, %s renderer\n", SDL_GetCurrentVideoDriver(),
                info.name);
    a.queue = a.renderer ? picture_queue_create(QUEUE_SLOTS, wake_event) : NULL;
    source *src = a.queue ? source_start(&o->source, a.queue) : NULL;
    if (!src) {
        fprintf(stderr, "kvsp-render: cannot start: %s\n", SDL_GetError());
        a.status = 1;
        a.quit = 1;
    } else {
        draw(&a, 0);
    }
    int wait = 0;
    while (!a.quit) {
        SDL_Event ev;
        if (SDL_WaitEventTimeout(&ev, wait)) {
            do
                handle_event(&a, &ev);
            while (!a.quit && SDL_PollEvent(&ev));
        }
        if (a.quit)
            break;
        wait = show_due_picture(&a);
        check_progress(&a);
    }
    if (a.queue)
        picture_queue_close(a.queue); /* the decoding thread stops at its next picture */
    source_join(src);
    picture_queue_destroy(a.queue);
    if (a.texture)
        SDL_DestroyTexture(a.texture);
    if (a.renderer)
        SDL_DestroyRenderer(a.renderer);
    if (a.window)
        SDL_DestroyWindow(a.window);
    return a.status;
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: kvsp-render [options] [FILE|-]\n"
        "       kvsp-render --stream NAME [--start SELECTOR] [--region R] [--endpoint-url URL]\n"
        "                   [--profile P] [options]\n\n"
        "Shows the video track of an MKV file, stdin or a live Kinesis Video stream\n"
        "(GetMedia; credentials from the environment, the profile or the instance).\n\n"
        "  --start SELECTOR   now (default), earliest, fragment:N, continuation:TOKEN,\n"
        "                     server-ts:SECONDS or producer-ts:SECONDS\n"
        "  --fast             show pictures as fast as they decode, not in real time\n"
        "  --window WxH       window size (default: the stream's)\n"
        "  --screenshot FILE  save the Nth picture shown (--after N, default 1) as PNG, then exit\n"
        "  --after N\n"
        "  -v, --verbose      print the window title to stderr at each new fragment\n\n"
        "Keys: space pauses, f toggles full screen, q or Escape quits.\n");
}

static int parse_size(const char *text, int *w, int *h)
{
    char x;
    return sscanf(text, "%d%c%d", w, &x, h) == 3 && x == 'x' && *w > 0 && *h > 0 && *w <= 16384 &&
           *h <= 16384;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"stream", required_argument, NULL, 's'},  {"start", required_argument, NULL, 'S'},
        {"region", required_argument, NULL, 'r'},  {"endpoint-url", required_argument, NULL, 'e'},
        {"profile", required_argument, NULL, 'p'}, {"fast", no_argument, NULL, 'F'},
        {"window", required_argument, NULL, 'w'},  {"screenshot", required_argument, NULL, 'o'},
        {"after", required_argument, NULL, 'n'},   {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    options o;
    memset(&o, 0, sizeof o);
    o.after = 1;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 's': o.source.stream = optarg; break;
        case 'S': o.source.start = optarg; break;
        case 'r': o.source.region = optarg; break;
        case 'e': o.source.endpoint_url = optarg; break;
        case 'p': o.source.profile = optarg; break;
        case 'F': o.fast = 1; break;
        case 'o': o.screenshot = optarg; break;
        case 'v': o.verbose = 1; break;
        case 'h': usage(stdout); return 0;
        case 'w':
            if (!parse_size(optarg, &o.width, &o.height)) {
                fprintf(stderr, "kvsp-render: --window wants WxH, e.g. 960x540\n");
                return 2;
            }
            break;
        case 'n':
            o.after = strtoul(optarg, &end, 10);
            if (*end || o.after == 0) {
                fprintf(stderr, "kvsp-render: --after wants a picture number from 1\n");
                return 2;
            }
            break;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind > 1 || (o.source.stream && argc - optind > 0)) {
        usage(stderr);
        return 2;
    }
    o.source.path = optind < argc ? argv[optind] : NULL;
    o.name = o.source.stream                                    ? o.source.stream
             : o.source.path && strcmp(o.source.path, "-") != 0 ? o.source.path
                                                                : "<stdin>";

    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        fprintf(stderr, "kvsp-render: SDL: %s\n", SDL_GetError());
        return 1;
    }
    int status = run(&o);
    SDL_Quit();
    return status;
}
