/* cli_stop: see cli_stop.h. */
#include "cli_stop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int stop_pipe[2] = {-1, -1};
static struct sigaction old_int, old_term, old_pipe;
static int installed;

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(stop_pipe[1], &b, 1) < 0) { /* nothing to do: the pipe is full already */ }
    errno = saved;
}

const char *cli_env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

int cli_stop_begin(void)
{
    struct sigaction sa = {0};
    if (pipe(stop_pipe) != 0) {
        fprintf(stderr, "deepclust: pipe: %s\n", strerror(errno));
        return -1;
    }
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old_pipe);
    installed = 1;
    return 0;
}

int cli_stop_wait(void)
{
    for (;;) {
        unsigned char b;
        ssize_t n = read(stop_pipe[0], &b, 1);
        if (n == 1) {
            fprintf(stderr, "deepclust: %s received, shutting down\n",
                    b == SIGINT ? "SIGINT" : b == SIGTERM ? "SIGTERM" : "signal");
            return 0;
        }
        if (n < 0 && errno == EINTR) continue;
        fprintf(stderr, "deepclust: waiting for signals failed: %s\n",
                n < 0 ? strerror(errno) : "pipe closed");
        return -1;
    }
}

void cli_stop_end(void)
{
    if (installed) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGPIPE, &old_pipe, NULL);
        installed = 0;
    }
    for (int k = 0; k < 2; k++)
        if (stop_pipe[k] >= 0) close(stop_pipe[k]), stop_pipe[k] = -1;
}
