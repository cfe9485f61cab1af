#ifndef KVSP_SIGV4_TEST_SUPPORT_H
#define KVSP_SIGV4_TEST_SUPPORT_H

/* Helpers of the SigV4 tests: the suite's request.txt format, a text buffer
 * and strict URI encoding for building presigned queries. */

#include <stddef.h>

#include "kvsparser/sigv4.h"

#define SIGV4_MAX_HEADERS 32

typedef struct sigv4_text {
    char *data;
    size_t len;
    size_t cap;
} sigv4_text;

void sigv4_text_add(sigv4_text *t, const char *s);
/* Appends s with every byte but A-Z a-z 0-9 - . _ ~ percent-encoded. */
void sigv4_text_add_encoded(sigv4_text *t, const char *s);

/* Reads a whole file, NUL-terminated; NULL if unreadable. */
char *sigv4_read_text(const char *path, size_t *len);

/* A raw HTTP request as the suite writes it: "METHOD target HTTP/1.1", header
 * lines (a line starting with white space continues the previous value),
 * a blank line and the body. The target may hold spaces and raw UTF-8. */
typedef struct sigv4_http_request {
    char *method;
    char *path;
    char *query;                                  /* NULL without '?' */
    kvsp_sigv4_header headers[SIGV4_MAX_HEADERS]; /* names and values owned */
    size_t header_count;
    char *body;
    size_t body_len;
} sigv4_http_request;

/* Returns 1 on success; the request is to be freed either way. */
int sigv4_parse_request(const char *path, sigv4_http_request *r);
void sigv4_add_header(sigv4_http_request *r, const char *name, const char *value);
void sigv4_free_request(sigv4_http_request *r);

/* The kvsp_sigv4_verify tests (test_sigv4_verify.c); a cmocka exit code. */
int sigv4_verify_tests(void);

#endif
