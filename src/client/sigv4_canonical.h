#ifndef KVSP_SIGV4_CANONICAL_H
#define KVSP_SIGV4_CANONICAL_H

/* The canonical-request pieces of SigV4, kept apart from the cryptography so
 * that each can be read (and tested through the suite) on its own. */

#include <stddef.h>

#include "kvsparser/sigv4.h"

/* A growable NUL-terminated string. An allocation failure is sticky
 * (`failed`), so that callers append freely and check once at the end. */
typedef struct kvsp_sigv4_buf {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} kvsp_sigv4_buf;

void kvsp_sigv4_buf_put(kvsp_sigv4_buf *b, const char *s, size_t n);
void kvsp_sigv4_buf_puts(kvsp_sigv4_buf *b, const char *s);
void kvsp_sigv4_buf_putc(kvsp_sigv4_buf *b, char c);
void kvsp_sigv4_buf_free(kvsp_sigv4_buf *b);
/* Hands the string over (never NULL unless failed; then the buffer is freed
 * and NULL returned). */
char *kvsp_sigv4_buf_take(kvsp_sigv4_buf *b);

/* Appends the canonical URI of a request path as sent: dot segments and
 * duplicate slashes removed when `normalize`, then every byte but the
 * unreserved ones and '/' percent-encoded, which encodes an already encoded
 * path a second time as all services but S3 expect. */
int kvsp_sigv4_canonical_uri(kvsp_sigv4_buf *out, const char *path, int normalize);

/* Appends the canonical query string of a raw query (without '?', may be
 * NULL): parameters decoded and re-encoded strictly, sorted by key then
 * value. */
int kvsp_sigv4_canonical_query(kvsp_sigv4_buf *out, const char *query);

/* Appends the canonical header lines (each ending in '\n') to `lines` and the
 * signed header list ("host;x-amz-date") to `names`. */
int kvsp_sigv4_canonical_headers(kvsp_sigv4_buf *lines, kvsp_sigv4_buf *names,
                                 const kvsp_sigv4_header *headers, size_t count);

/* Whether a header name as sent canonicalises to `lower` (already lower
 * case, `len` bytes). */
int kvsp_sigv4_header_is(const char *name, const char *lower, size_t len);

#endif
