#ifndef KVSP_MERGE_RANGE_H
#define KVSP_MERGE_RANGE_H

#include "cli.h"

/* kvsp merge --from/--to (merge_range.c): the input's bytes go to
 * merge_range_feed (cli_input_options.tee) and reach the merger from the
 * keyframe at or before `from` on, its blocks cut to [that keyframe, to].
 * meta: a fragment visitor for merge_range alone (it sees every event;
 * the merger, made with its own, only the blocks kept). */
typedef struct merge_range merge_range;

/* downstream: the merger's or the MP4 sink's visitor (copied). */
merge_range *merge_range_create(const cli_input_options *in, kvsp_fragment_visitor *meta,
                                const kvsp_visitor *downstream);
void merge_range_destroy(merge_range *m);
int merge_range_feed(void *user, const void *data, size_t len);
/* After the last byte: finishes the merger's reader. */
int merge_range_finish(merge_range *m);

#endif
