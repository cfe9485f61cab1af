#ifndef KVSP_RETRY_H
#define KVSP_RETRY_H

/* When to try again, for the one-shot calls (http_call.c) and the
 * consumer's reconnects (consumer_stream.c): one clock and one backoff
 * rule for both. */

/* Monotonic seconds: timeouts and backoff must not jump with the wall
 * clock. */
double kvsp_client_now(void);

/* The wait before the next attempt after `failures` consecutive failures
 * (1 for the first): initial_ms doubled per further failure, at most
 * max_ms. With `jitter` (a generator state) half of it is fixed and half
 * random, so that many clients failing together do not come back together;
 * with NULL it is the whole delay. */
long kvsp_backoff_ms(int failures, long initial_ms, long max_ms, unsigned *jitter);

/* Blocks the calling thread for ms milliseconds (one-shot calls only: the
 * consumer never sleeps, it schedules). */
void kvsp_sleep_ms(long ms);

#endif
