/* The lean `kvsp` front hands commands that need the KVS client, the decoder
 * or `kvsp serve` to kvsp-full by exec, keeping its own process small.
 * Commands that need only the decoder go to kvsp-decode instead when it is
 * there: the front's code plus the decoder, linking libavcodec, libswscale
 * and libswresample but not libavformat, libcurl, OpenSSL or libmicrohttpd,
 * which halves the start (ldd: 151 shared libraries for kvsp-full, 100
 * for kvsp-decode; `perf stat -r 20 ... --version`: 31 ms and 16 ms), some
 * 15 ms of the 0.13 s of a keyframes-only extraction of 40 s of 640x360
 * video. kvsp-decode hands on to kvsp-full what it lacks in turn.
 *
 * Why not one executable: kvsp-full links FFmpeg, libcurl, OpenSSL and
 * libmicrohttpd. Loading and relocating them costs about 23 MB of resident
 * memory and some 30 ms at every start, which reading, inspecting and
 * merging files never needs (the merge benchmark's memory bound is 16 MiB
 * plus the largest fragment). The front decides only after parsing the
 * command line, before it reads any input, so stdin is still untouched when
 * kvsp-full takes over the same process (same PID, same descriptors). */
#define _GNU_SOURCE /* readlink, PATH_MAX */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_log.h"

#define FULL_NAME "kvsp-full"
#define DECODE_NAME "kvsp-decode"

/* Whether this executable is the front (kvsp-decode has the decoder). */
#ifdef KVSP_HAVE_DECODER
#define IS_FRONT 0
#else
#define IS_FRONT 1
#endif

/* getopt_long permutes argv as it parses, so the original order is kept
 * here for the exec. */
static char **original_argv;

void cli_delegate_init(int argc, char **argv)
{
    original_argv = malloc(((size_t)argc + 1) * sizeof *original_argv);
    if (!original_argv)
        return;
    memcpy(original_argv, argv, (size_t)argc * sizeof *argv);
    original_argv[argc] = NULL;
}

static const char *feature_name(cli_feature feature)
{
    switch (feature) {
    case CLI_FEATURE_CLIENT: return "the KVS client (libcurl, OpenSSL)";
    case CLI_FEATURE_DECODER: return "the decoder (FFmpeg libraries)";
    case CLI_FEATURE_SERVE: return "kvsp serve (libmicrohttpd)";
    case CLI_FEATURE_MP4: return "the MP4 sink (FFmpeg's libavformat)";
    }
    return "an optional part";
}

static int full_has(cli_feature feature)
{
    switch (feature) {
    case CLI_FEATURE_CLIENT:
#ifdef KVSP_FULL_HAS_CLIENT
        return 1;
#else
        return 0;
#endif
    case CLI_FEATURE_DECODER:
#ifdef KVSP_FULL_HAS_DECODER
        return 1;
#else
        return 0;
#endif
    case CLI_FEATURE_SERVE:
#ifdef KVSP_FULL_HAS_SERVE
        return 1;
#else
        return 0;
#endif
    case CLI_FEATURE_MP4:
#ifdef KVSP_FULL_HAS_MP4
        return 1;
#else
        return 0;
#endif
    }
    return 0;
}

/* Whether kvsp-decode can run a command that needs feature. */
static int decode_has(cli_feature feature)
{
#ifdef KVSP_DECODE_HAS_DECODER
    return feature == CLI_FEATURE_DECODER;
#else
    (void)feature;
    return 0;
#endif
}

/* Directory of this executable, without the trailing slash. */
static int own_directory(char *dir, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", dir, size - 1);
    if (n <= 0)
        return -1;
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return 0;
}

/* The path of an executable named name beside this one (a build tree) or
 * in KVSP_FULL_RELATIVE_DIR from it (an installation); 0 when found. */
static int find_beside(const char *dir, const char *name, char *path, size_t size)
{
    const char *places[] = {"", "/" KVSP_FULL_RELATIVE_DIR};
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        int len = snprintf(path, size, "%s%s/%s", dir, places[i], name);
        if (len >= 0 && (size_t)len < size && access(path, X_OK) == 0)
            return 0;
    }
    return -1;
}

int cli_delegate(const char *what, cli_feature feature)
{
    if (!full_has(feature)) {
        cli_error("kvsp: %s needs %s, which this build does not have\n", what,
                  feature_name(feature));
        return CLI_EXIT_USAGE;
    }
    char dir[PATH_MAX];
    if (!original_argv || own_directory(dir, sizeof dir) < 0) {
        cli_error("kvsp: %s: cannot locate %s: %s\n", what, FULL_NAME, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    char path[PATH_MAX + 64];
    if ((decode_has(feature) && find_beside(dir, DECODE_NAME, path, sizeof path) == 0) ||
        find_beside(dir, FULL_NAME, path, sizeof path) == 0) {
        /* kvsp run starts a subcommand per item: through the lean front
         * when it needs no optional part (see KVSP_FRONT_ENV). The front
         * names itself; kvsp-decode, itself started by the front, keeps
         * the name it was given. */
        char front[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", front, sizeof front - 1);
        if (n > 0) {
            front[n] = '\0';
            setenv(KVSP_FRONT_ENV, front, IS_FRONT);
        }
        fflush(NULL);
        execv(path, original_argv);
        cli_error("kvsp: %s: cannot run %s: %s\n", what, path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    cli_error("kvsp: %s needs %s, which is not installed (looked in %s and %s/%s)\n", what,
              FULL_NAME, dir, dir, KVSP_FULL_RELATIVE_DIR);
    return CLI_EXIT_USAGE;
}

int cli_delegate_command(int argc, char **argv)
{
    (void)argc;
    cli_feature feature = strcmp(argv[0], "serve") == 0 ? CLI_FEATURE_SERVE : CLI_FEATURE_CLIENT;
    char what[64];
    snprintf(what, sizeof what, "kvsp %s", argv[0]);
    return cli_delegate(what, feature);
}
