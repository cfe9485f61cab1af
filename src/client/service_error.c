/* The service's error responses: the exception name from the
 * x-amzn-ErrorType header and the message from the JSON body. Both read
 * bytes a server (or a proxy in between) chose, so nothing here trusts
 * them: lengths are bounded by the output buffers and a body that is not
 * JSON is quoted, printable characters only (fuzz/fuzz_list_fragments.c). */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "client_internal.h"

void kvsp_http_error_type_header(const char *data, size_t len, char *out, size_t out_size)
{
    static const char name[] = "x-amzn-errortype:";
    if (!out_size)
        return;
    if (len <= sizeof name - 1 || strncasecmp(data, name, sizeof name - 1) != 0)
        return;
    const char *v = data + sizeof name - 1;
    while (v < data + len && *v == ' ')
        v++;
    size_t k = 0;
    /* "ResourceNotFoundException:http://..." : the name is before ':' */
    while (v + k < data + len && v[k] != ':' && v[k] != '\r' && v[k] != '\n' && k + 1 < out_size)
        k++;
    memcpy(out, v, k);
    out[k] = '\0';
}

/* "ResourceNotFoundException (HTTP 404): Stream x not found" */
int kvsp_http_error_message(char *out, size_t out_size, char *error_type, size_t type_size,
                            long status, const char *body)
{
    const char *message = "";
    json_t *doc = body ? json_loads(body, 0, NULL) : NULL;
    json_t *m = doc ? json_object_get(doc, "message") : NULL;
    if (!m && doc)
        m = json_object_get(doc, "Message");
    if (json_is_string(m))
        message = json_string_value(m);
    if (!error_type[0] && doc && json_is_string(json_object_get(doc, "__type")))
        snprintf(error_type, type_size, "%s", json_string_value(json_object_get(doc, "__type")));
    char excerpt[120];
    if (!doc && body && *body) {
        /* Not JSON (a proxy's HTML page, say): its start, printable only. */
        size_t k = 0;
        for (const char *p = body; *p && k + 1 < sizeof excerpt; p++)
            excerpt[k++] = (*p >= 0x20 && *p < 0x7f) ? *p : ' ';
        excerpt[k] = '\0';
        snprintf(out, out_size, "%s (HTTP %ld): the error body is not JSON: %s%s",
                 error_type[0] ? error_type : "Error", status, excerpt, body[k] ? "..." : "");
        return KVSP_ERR_SERVICE;
    }
    snprintf(out, out_size, "%s (HTTP %ld): %s", error_type[0] ? error_type : "Error", status,
             message);
    json_decref(doc);
    return KVSP_ERR_SERVICE;
}
