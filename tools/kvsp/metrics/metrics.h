#ifndef KVSP_CLI_METRICS_H
#define KVSP_CLI_METRICS_H

#include <stdio.h>
#include <sys/socket.h>

#include "kvsparser/consumer.h"

/* --metrics: the consumer's stream statistics and the process's own
 * counters in the Prometheus text exposition format (version 0.0.4), served
 * by libmicrohttpd on its own thread at /metrics. The numbers are the
 * library's (kvsp_consumer_stats_snapshot, safe from that thread); this
 * module only names and formats them. */

typedef struct cli_metrics cli_metrics;

/* Starts the server on addr. names[i] is the name of the consumer's stream
 * i (borrowed, like the consumer, until cli_metrics_stop). NULL with a
 * message in err when it cannot listen. */
cli_metrics *cli_metrics_start(const struct sockaddr *addr, socklen_t addr_len,
                               const kvsp_consumer *c, const char *const *names, char *err,
                               size_t err_size);
/* The port it listens on (the one chosen when asked for port 0). */
unsigned cli_metrics_port(const cli_metrics *m);
/* Stops the server (waits for a scrape in progress); NULL is accepted. */
void cli_metrics_stop(cli_metrics *m);

/* The exposition text of every stream and the process (metrics_text.c). */
int cli_metrics_write(FILE *out, const kvsp_consumer *c, const char *const *names);

#endif
