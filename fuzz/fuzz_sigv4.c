/* libFuzzer target: kvsp_sigv4_sign (and kvsp_sigv4_verify on the result
 * and on an arbitrary Authorization value) with method, path, query, region,
 * service, date, headers and payload all taken from the input.
 *
 * Input layout: byte 0 = flags (bit 0: normalize_path, bit 1: session token,
 * bit 2: no query), then '\n'-separated fields: method, path, query, region,
 * service, amz_date, authorization-to-verify, then header lines "name:value"
 * up to an empty line; the rest is the payload. Missing fields are "". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvsparser/sigv4.h"
#include "kvsparser/status.h"

#define MAX_HEADERS 32

static volatile size_t sink;

/* Next '\n'-terminated field as a NUL-terminated copy (in buf). */
static char *next_field(const uint8_t **p, const uint8_t *end, char **arena)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = *arena;
    memcpy(s, *p, n);
    s[n] = 0;
    *arena += n + 1;
    *p += n + (nl ? 1 : 0);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const uint8_t *p = data + 1, *end = data + size;
    /* Every field fits: at most size bytes plus one NUL per field. */
    char *buf = malloc(size + 64 + 2 * MAX_HEADERS);
    if (!buf)
        abort();
    char *arena = buf;
    const char *method = next_field(&p, end, &arena);
    const char *path = next_field(&p, end, &arena);
    const char *query = next_field(&p, end, &arena);
    const char *region = next_field(&p, end, &arena);
    const char *service = next_field(&p, end, &arena);
    const char *date = next_field(&p, end, &arena);
    const char *auth = next_field(&p, end, &arena);
    kvsp_sigv4_header headers[MAX_HEADERS];
    size_t nh = 0;
    while (p < end && nh < MAX_HEADERS) {
        char *line = next_field(&p, end, &arena);
        if (!*line)
            break;
        char *colon = strchr(line, ':');
        if (colon)
            *colon = 0;
        headers[nh].name = line;
        headers[nh].value = colon ? colon + 1 : "";
        nh++;
    }
    kvsp_sigv4_request req = {
        .method = method,
        .path = path,
        .query = (flags & 4) ? NULL : query,
        .headers = headers,
        .header_count = nh,
        .payload = p,
        .payload_size = (size_t)(end - p),
        .region = region,
        .service = service,
        .amz_date = date,
        .normalize_path = flags & 1,
    };
    kvsp_sigv4_credentials cred = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                   (flags & 2) ? "session-token" : NULL};
    kvsp_sigv4_result res;
    memset(&res, 0, sizeof res);
    kvsp_error err;
    if (kvsp_sigv4_sign(&req, &cred, &res) == 0) {
        if (strlen(res.signature) != 64 || !res.authorization || !res.canonical_request ||
            !res.string_to_sign || !res.signed_headers)
            abort();
        sink +=
            strlen(res.canonical_request) + strlen(res.string_to_sign) + strlen(res.authorization);
        sink += (size_t)kvsp_sigv4_verify(&req, res.authorization, &cred, &err);
    }
    kvsp_sigv4_result_free(&res);
    sink += (size_t)kvsp_sigv4_verify(&req, auth, &cred, &err);
    free(buf);
    return 0;
}
