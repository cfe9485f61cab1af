#ifndef KVSP_FRAGMENT_SPLITTER_H
#define KVSP_FRAGMENT_SPLITTER_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/fragment.h"
#include "kvsparser/reader.h"
#include "kvsparser/visitor.h"

/* Cuts a GetMedia byte stream into whole fragments. Bytes are kept from the
 * start of the current fragment until it is known to be complete: its
 * closing Tags (after the Cluster) ended, its Segment ended, or the response
 * ended cleanly. Then the whole fragment is handed on at once, so a
 * fragment cut off by a dropped connection is never seen by anyone.
 *
 * A clean end of the response completes the last fragment only if it is an
 * error fragment (AWS_KINESISVIDEO_ERROR_* tags), or if the stream has not
 * shown closing Tags so far and the fragment visitor finds it complete: once
 * fragments have come with closing Tags, one without them at the end of a
 * response was cut short, even at an element boundary. */

typedef int (*splitter_deliver_fn)(void *user, const uint8_t *bytes, size_t len,
                                   const kvsp_fragment *f);

typedef struct fragment_splitter {
    kvsp_reader *reader;
    kvsp_fragment_visitor *meta;
    kvsp_composite *pair;
    kvsp_visitor visitor;
    uint8_t *buf;    /* bytes from the current fragment's start (if keep) */
    size_t len, cap; /* len counts them even when they are not kept */
    int keep;        /* the caller wants the bytes, not only the metadata */
    uint64_t base;   /* stream offset of buf[0] */
    int delivered;   /* the current fragment was handed on already */
    int complete;    /* the detector found the end of the fragment... */
    uint64_t end;    /* ...here */
    size_t max_bytes;
    int closing_tags_seen; /* a fragment ended with closing Tags (kept by reset) */
    int at_end;            /* the response ended: finishing the reader */
} fragment_splitter;

/* A fragment that carries AWS_KINESISVIDEO_ERROR_* tags. */
int kvsp_splitter_error_fragment(const kvsp_fragment *f);

/* keep 0: deliver gets NULL bytes (only the metadata is wanted), and
 * nothing is copied or buffered. */
int kvsp_splitter_init(fragment_splitter *s, size_t max_bytes, int keep);
void kvsp_splitter_free(fragment_splitter *s);
/* Forgets a partial fragment (before reconnecting). Returns the bytes dropped. */
size_t kvsp_splitter_reset(fragment_splitter *s);
/* Feeds bytes; each fragment completed by them goes to deliver. Returns 0,
 * the first negative deliver result, or a reader error (bad data). */
int kvsp_splitter_feed(fragment_splitter *s, const void *data, size_t len,
                       splitter_deliver_fn deliver, void *user);
/* The response ended without a transfer error: a fragment whose Segment
 * ends here is complete. Returns 1 if a partial fragment remains (the
 * response was cut), 0 if not, or a negative status. */
int kvsp_splitter_end_of_response(fragment_splitter *s, splitter_deliver_fn deliver, void *user);

#endif
