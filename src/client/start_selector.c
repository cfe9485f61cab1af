/* The command-line start selector and numeric fragment-number order. */
#include <stdlib.h>
#include <string.h>

#include "kvsparser/client.h"
#include "kvsparser/status.h"

static int prefixed(const char *text, const char *prefix, const char **rest)
{
    size_t n = strlen(prefix);
    if (strncmp(text, prefix, n) != 0)
        return 0;
    *rest = text + n;
    return 1;
}

int kvsp_start_selector_parse(const char *text, kvsp_start_selector *out)
{
    if (!text || !out)
        return KVSP_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    const char *rest;
    if (strcmp(text, "now") == 0) {
        out->type = KVSP_START_NOW;
    } else if (strcmp(text, "earliest") == 0) {
        out->type = KVSP_START_EARLIEST;
    } else if (prefixed(text, "fragment:", &rest) && *rest) {
        out->type = KVSP_START_FRAGMENT_NUMBER;
        out->value = rest;
    } else if (prefixed(text, "continuation:", &rest) && *rest) {
        out->type = KVSP_START_CONTINUATION_TOKEN;
        out->value = rest;
    } else if ((prefixed(text, "server-ts:", &rest) || prefixed(text, "producer-ts:", &rest)) &&
               *rest) {
        char *end;
        out->type = text[0] == 's' ? KVSP_START_SERVER_TIMESTAMP : KVSP_START_PRODUCER_TIMESTAMP;
        out->timestamp = strtod(rest, &end);
        if (*end || out->timestamp < 0)
            return KVSP_ERR_INVALID_ARG;
    } else {
        return KVSP_ERR_INVALID_ARG;
    }
    return KVSP_OK;
}

int kvsp_fragment_number_cmp(const char *a, const char *b)
{
    while (*a == '0' && a[1])
        a++;
    while (*b == '0' && b[1])
        b++;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}
