#ifndef KVSPARSER_VISITOR_H
#define KVSPARSER_VISITOR_H

#include "kvsparser/export.h"
#include "kvsparser/reader.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A table of callbacks applied to a reader's events; NULL callbacks are
 * skipped. A callback returns KVSP_OK to go on, KVSP_PAUSED to make the run
 * return early (the event counts as delivered; the next run continues after
 * it), or a negative status to stop (it becomes the reader's sticky error). */
typedef struct kvsp_visitor {
    void *user;
    int (*on_start)(void *user, const kvsp_event *ev);
    int (*on_end)(void *user, const kvsp_event *ev);
    int (*on_data)(void *user, const kvsp_event *ev);
    int (*on_error)(void *user, const kvsp_event *ev);  /* KVSP_EV_ERROR (resync mode) */
    int (*on_resync)(void *user, const kvsp_event *ev); /* KVSP_EV_RESYNC */
} kvsp_visitor;

/* Calls the visitor's callback for one event. */
KVSP_API int kvsp_visitor_dispatch(const kvsp_visitor *v, const kvsp_event *ev);

/* Pulls events and applies them to the visitor until the input is consumed
 * (KVSP_NEED_DATA), the stream is done (KVSP_DONE), a visitor pauses
 * (KVSP_PAUSED: call again to resume) or an error. */
KVSP_API int kvsp_reader_run(kvsp_reader *r, const kvsp_visitor *v);

/* Feed + run in one call. With data == NULL and len == 0 it only runs, which
 * resumes a paused run. */
KVSP_API int kvsp_reader_push(kvsp_reader *r, const void *data, size_t len, const kvsp_visitor *v);

#ifdef __cplusplus
}
#endif

#endif
