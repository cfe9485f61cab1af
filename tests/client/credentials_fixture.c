/* The fake metadata server as a child process, and the scratch directory
 * (credentials_fixture.h). The server stops when its stdin closes, so it
 * ends with the test even when the test dies. */
#define _XOPEN_SOURCE 700

#include "credentials_fixture.h"

#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char base[64];
char tmpdir[] = "/tmp/kvsp-cred-XXXXXX";
char empty_home[300];

static const char *python_path;
static const char *server_script;
static pid_t server_pid = -1;
static int server_stdin = -1;

static int start_server(void)
{
    int out[2], in[2];
    if (pipe(out) != 0 || pipe(in) != 0)
        return -1;
    server_pid = fork();
    if (server_pid < 0)
        return -1;
    if (server_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execl(python_path, python_path, server_script, "--ecs-token", ECS_TOKEN, "--lifetime",
              "120", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    server_stdin = in[1]; /* closing it, or dying, stops the server */
    char line[32] = "";
    size_t n = 0;
    struct pollfd pfd = {out[0], POLLIN, 0};
    while (n < sizeof line - 1 && !memchr(line, '\n', n) && poll(&pfd, 1, 15000) > 0) {
        ssize_t nread = read(out[0], line + n, sizeof line - 1 - n);
        if (nread <= 0)
            break;
        n += (size_t)nread;
        line[n] = '\0';
    }
    close(out[0]);
    int port = atoi(line);
    if (port <= 0 || port > 65535)
        return -1;
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    return 0;
}

static void stop_server(void)
{
    if (server_stdin >= 0)
        close(server_stdin);
    if (server_pid <= 0)
        return;
    kill(server_pid, SIGTERM);
    for (int i = 0; i < 50; i++) {
        if (waitpid(server_pid, NULL, WNOHANG) == server_pid)
            return;
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    kill(server_pid, SIGKILL);
    waitpid(server_pid, NULL, 0);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int cred_fixture_start(const char *python, const char *script)
{
    python_path = python;
    server_script = script;
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(empty_home, sizeof empty_home, "%s/empty", tmpdir);
    mkdir(empty_home, 0700);
    if (start_server() != 0) {
        fprintf(stderr, "cannot start %s %s\n", python_path, server_script);
        cred_fixture_stop();
        return -1;
    }
    return 0;
}

void cred_fixture_stop(void)
{
    stop_server();
    remove_tree(tmpdir);
}
