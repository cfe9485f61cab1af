#ifndef KVSP_CLIENT_CLI_H
#define KVSP_CLIENT_CLI_H

#include "cli.h"
#include "kvsparser/client.h"

/* A client from the command line's --region, --endpoint-url, --profile,
 * --ca-bundle and --verbose; NULL after printing why. */
kvsp_client *client_cli_create(cli_input_options *in);

#endif
