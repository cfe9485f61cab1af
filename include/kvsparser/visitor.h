#ifndef KVSPARSER_VISITOR_H
#define KVSPARSER_VISITOR_H

#include "kvsparser/export.h"
#include "kvsparser/reader.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kvsp_frame; /* kvsparser/frames.h */

/* A table of callbacks applied to a reader's events; NULL callbacks are
 * skipped. A callback returns KVSP_OK to go on, KVSP_PAUSED to make the run
 * return early, or a negative status to stop (it becomes the reader's sticky
 * error).
 *
 * Pausing: the event counts as delivered to the visitor that paused; the
 * next kvsp_reader_run (or kvsp_reader_push with no data) first calls that
 * visitor's on_resume, so a visitor that was in the middle of something (a
 * composite half-way through its children, a frame visitor half-way through
 * a laced block) finishes it, then continues with the next event. No event
 * is repeated to a visitor that already had it. While paused, the paused
 * event's payload stays valid (the reader is not advanced) and the reader
 * refuses new input with KVSP_ERR_INPUT_PENDING.
 *
 * Skipping: on_start may return KVSP_SKIP when the visitor does not need
 * the master's children (e.g. it read them from the START event's content,
 * see kvsp_event.data). It is a request: the reader passes over the
 * children (kvsp_reader_skip) only when every visitor of the run asks for
 * it, so a visitor that asked must still ignore children that come. Any
 * other callback returning KVSP_SKIP means KVSP_OK. */
typedef struct kvsp_visitor {
    void *user;
    int (*on_start)(void *user, const kvsp_event *ev);
    int (*on_end)(void *user, const kvsp_event *ev);
    int (*on_data)(void *user, const kvsp_event *ev);
    int (*on_error)(void *user, const kvsp_event *ev);  /* KVSP_EV_ERROR (resync mode) */
    int (*on_resync)(void *user, const kvsp_event *ev); /* KVSP_EV_RESYNC */
    /* Frames, as produced by a frame visitor (kvsparser/frames.h) for the
     * visitor it delivers to. */
    int (*on_frame)(void *user, const struct kvsp_frame *frame);
    /* Called once before anything else after this visitor returned
     * KVSP_PAUSED; returns like the other callbacks. */
    int (*on_resume)(void *user);
} kvsp_visitor;

/* Calls the visitor's callback for one event. */
KVSP_API int kvsp_visitor_dispatch(const kvsp_visitor *v, const kvsp_event *ev);

/* Calls on_frame, if set. */
KVSP_API int kvsp_visitor_frame(const kvsp_visitor *v, const struct kvsp_frame *frame);

/* Pulls events and applies them to the visitor until the input is consumed
 * (KVSP_NEED_DATA), the stream is done (KVSP_DONE), a visitor pauses
 * (KVSP_PAUSED: call again, with the same visitor, to resume) or an error.
 * A run that paused must be resumed before new input is fed. */
KVSP_API int kvsp_reader_run(kvsp_reader *r, const kvsp_visitor *v);

/* Feed + run in one call. With data == NULL and len == 0 it only runs, which
 * resumes a paused run. */
KVSP_API int kvsp_reader_push(kvsp_reader *r, const void *data, size_t len, const kvsp_visitor *v);

/* A composite runs any number of visitors, in order, on the same events and
 * frames: e.g. fragment metadata + merger + logger in one pass. Any child may
 * pause; on resume the composite lets that child finish and then hands the
 * same event to the children after it. It answers KVSP_SKIP for a START
 * when every child with an on_start did, and every child with an on_data or
 * on_end has an on_start. */
typedef struct kvsp_composite kvsp_composite;

/* Copies the n visitor tables. NULL on allocation failure or bad arguments. */
KVSP_API kvsp_composite *kvsp_composite_create(const kvsp_visitor *children, size_t n);
KVSP_API void kvsp_composite_destroy(kvsp_composite *c);
/* The composite as a visitor (valid while the composite lives). */
KVSP_API kvsp_visitor kvsp_composite_visitor(kvsp_composite *c);

#ifdef __cplusplus
}
#endif

#endif
