#define _POSIX_C_SOURCE 200809L
/* The clock and the backoff rule of both retrying paths of the client:
 *  - one-shot calls (http_call.c) try a request that stalled or was cut,
 *    before any body byte went to the caller, up to 3 times, waiting
 *    kvsp_backoff_ms(n, 250, ...) in between: 250 ms, then 500 ms; the
 *    caller is blocked anyway, so they sleep;
 *  - the consumer (consumer_stream.c) reconnects a stream after throttling,
 *    a 5xx or a network error from consumer options' initial_backoff_ms,
 *    doubling up to max_backoff_ms, with jitter; it never sleeps: the wait
 *    becomes the stream's wake time in the run loop.
 * Both measure time with the monotonic clock, never the wall clock, which
 * may jump. */
#include "retry.h"

#include <time.h>

double kvsp_client_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long kvsp_backoff_ms(int failures, long initial_ms, long max_ms, unsigned *jitter)
{
    long delay = initial_ms;
    for (int i = 1; i < failures && delay < max_ms; i++)
        delay *= 2;
    if (delay > max_ms)
        delay = max_ms;
    if (!jitter)
        return delay;
    *jitter = *jitter * 1103515245u + 12345u; /* an LCG: spread, not secrecy */
    return delay / 2 + (long)((*jitter >> 8) % (unsigned long)(delay / 2 + 1));
}

void kvsp_sleep_ms(long ms)
{
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}
