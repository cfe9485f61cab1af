/* Signs one request described as JSON on stdin and prints the results as
 * JSON, for comparison with other SigV4 implementations (botocore):
 *
 *   {"method": "POST", "path": "/getMedia", "query": null,
 *    "headers": [["Host", "..."], ["X-Amz-Date", "..."]], "body": "{...}",
 *    "region": "us-west-2", "service": "kinesisvideo",
 *    "amz_date": "20240105T091500Z", "normalize_path": true,
 *    "access_key_id": "...", "secret_access_key": "...", "session_token": null}
 *
 * Headers are signed exactly as listed: adding X-Amz-Date and the token
 * header is the caller's job, as with kvsp_sigv4_sign. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kvsparser/sigv4.h"
#include "kvsparser/status.h"

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

int main(void)
{
    json_error_t err;
    json_t *in = json_loadf(stdin, 0, &err);
    if (!in) {
        fprintf(stderr, "sigv4_tool: bad JSON on stdin: %s\n", err.text);
        return 2;
    }
    json_t *list = json_object_get(in, "headers");
    size_t count = json_array_size(list);
    kvsp_sigv4_header *headers = calloc(count ? count : 1, sizeof *headers);
    if (!headers) {
        json_decref(in);
        return 2;
    }
    for (size_t i = 0; i < count; i++) {
        json_t *pair = json_array_get(list, i);
        headers[i].name = json_string_value(json_array_get(pair, 0));
        headers[i].value = json_string_value(json_array_get(pair, 1));
    }
    json_t *body = json_object_get(in, "body");
    kvsp_sigv4_request req = {str(in, "method"),
                              str(in, "path"),
                              str(in, "query"),
                              headers,
                              count,
                              json_string_value(body),
                              json_string_length(body),
                              str(in, "region"),
                              str(in, "service"),
                              str(in, "amz_date"),
                              json_is_true(json_object_get(in, "normalize_path"))};
    kvsp_sigv4_credentials cred = {str(in, "access_key_id"), str(in, "secret_access_key"),
                                   str(in, "session_token")};
    kvsp_sigv4_result r;
    int rc = kvsp_sigv4_sign(&req, &cred, &r);
    if (rc == KVSP_OK) {
        json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "canonical_request",
                                r.canonical_request, "string_to_sign", r.string_to_sign,
                                "signed_headers", r.signed_headers, "signature", r.signature,
                                "payload_hash", r.payload_hash, "authorization", r.authorization);
        /* The verifier must accept what the signer made. */
        kvsp_error why;
        int vrc = kvsp_sigv4_verify(&req, r.authorization, &cred, &why);
        json_object_set_new(out, "verified", json_string(vrc == KVSP_OK ? "ok" : why.message));
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
        json_decref(out);
    } else {
        fprintf(stderr, "sigv4_tool: %s\n", kvsp_status_str(rc));
    }
    kvsp_sigv4_result_free(&r);
    free(headers);
    json_decref(in);
    return rc == KVSP_OK ? 0 : 1;
}
