/* The fragment visitor's state, shared by its event handling
 * (fragment_visitor.c) and its accessors (fragment_access.c). */
#ifndef KVSP_FRAGMENT_STATE_H
#define KVSP_FRAGMENT_STATE_H

#include <stdint.h>

#include "arena.h"
#include "kvsparser/fragment.h"

#define DEFAULT_TIMECODE_SCALE 1000000u
/* SimpleTags nest for structured values, a level or two in practice; the
 * bound keeps the stack of open tags fixed-size. */
#define MAX_TAG_NESTING 16
#define NOT_IN_PLACE UINT32_MAX
/* Larger EBML headers (a usual one has about 35 bytes) are read each time. */
#define EBML_HEADER_SEEN_MAX 64

struct kvsp_fragment_visitor {
    kvsp_fragment_options opts;
    arena arena;
    kvsp_fragment frag; /* the open fragment, or the last one reported */
    int open;
    int damaged;  /* a read error was recovered from inside it */
    int getmedia; /* it carries GetMedia-style timestamp tags */
    int in_info;
    int in_cluster;
    int pending_begin; /* a Segment whose fragment begins on resume */
    kvsp_event pending_event;

    kvsp_track *tracks;
    size_t track_count, track_cap;
    size_t cur_track; /* index + 1 of the TrackEntry being read, 0 if none */

    kvsp_tag *tags;
    size_t tag_count, tag_cap;
    size_t tag_stack[MAX_TAG_NESTING]; /* open SimpleTags, as tag indexes */
    uint32_t tag_depth;
    uint32_t tag_overflow; /* open SimpleTags nested beyond the stack */

    kvsp_track_frames *per_track;
    size_t per_track_count, per_track_cap;
    size_t last_track_slot; /* per_track index of the last block's track (a hint) */

    char *token; /* latest continuation token of the stream */
    size_t token_cap;
    int has_token;
    int has_millis_behind_now;
    int64_t millis_behind_now;

    /* Children at this depth or deeper belong to a master read in place
     * from its START; if they come anyway (another visitor wanted them),
     * they were taken already. NOT_IN_PLACE otherwise. */
    uint32_t in_place_depth;

    /* The content of the last EBML header read in place outside a
     * fragment, where its children change nothing here: the same bytes
     * again (every fragment repeats them) need only be compared. */
    uint8_t header_seen[EBML_HEADER_SEEN_MAX];
    size_t header_seen_size; /* 0: none */

    uint64_t events;
    uint64_t count;
    uint64_t furthest; /* the furthest offset of the stream read so far */
};

/* Points the public record at the current arrays (they may have moved). */
static inline void sync_record(kvsp_fragment_visitor *fv)
{
    fv->frag.tracks = fv->tracks;
    fv->frag.track_count = fv->track_count;
    fv->frag.tags = fv->tags;
    fv->frag.tag_count = fv->tag_count;
    fv->frag.frames_per_track = fv->per_track;
    fv->frag.frames_track_count = fv->per_track_count;
}

static inline const kvsp_track *fragment_find_track(const kvsp_fragment_visitor *fv,
                                                    uint64_t number)
{
    for (size_t i = 0; i < fv->track_count; i++) {
        if ((fv->tracks[i].present & KVSP_TRACK_HAS_NUMBER) && fv->tracks[i].number == number)
            return &fv->tracks[i];
    }
    return NULL;
}

/* For the frame visitor, once per block, inline: the open fragment as
 * kvsp_fragment_visitor_current gives it (NULL outside one) and, in *track,
 * its track numbered `number` as kvsp_fragment_visitor_track gives it. */
static inline const kvsp_fragment *fragment_block_context(kvsp_fragment_visitor *fv,
                                                          uint64_t number, const kvsp_track **track)
{
    if (!fv->open) {
        *track = NULL;
        return NULL;
    }
    *track = fragment_find_track(fv, number);
    sync_record(fv);
    return &fv->frag;
}

#endif
