#ifndef KVSP_VISITOR_LOG_H
#define KVSP_VISITOR_LOG_H

#include "test_util.h"

/* Runs a fragment visitor and a frame visitor (composed) over data fed in
 * chunks, and logs one line per frame (timing, flags, size, payload hash)
 * and one per fragment record (every field, tracks and user tags), then the
 * final status. With pause_every > 0 the frame sink and the fragment
 * callback pause the run every pause_every calls, and the run is resumed:
 * the log must not change. Returns the reader's final status. */
typedef struct visitor_run {
    chunker_fn chunker;
    void *chunker_state;
    int pause_every;
    kvsp_frame_options frames;
    /* A third visitor after the two that wants every event: the reader then
     * skips no master's children (KVSP_SKIP needs every visitor's vote), so
     * the fragment visitor gets the children of a Tags it read in place. */
    int watch;
} visitor_run;

int run_visitor_log(const uint8_t *data, size_t len, const visitor_run *run, log_buf *out);

/* Appends the fragment record as one line. */
void log_fragment(log_buf *out, const kvsp_fragment *f);

#endif
