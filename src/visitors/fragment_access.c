/* The fragment visitor's accessors: the records, tracks, token and counts
 * it keeps, for consumers and for the visitors that read its metadata. */
#include <stddef.h>

#include "fragment_internal.h"
#include "fragment_state.h"

const kvsp_fragment *kvsp_fragment_visitor_current(kvsp_fragment_visitor *fv)
{
    if (!fv || !fv->open)
        return NULL;
    sync_record(fv);
    return &fv->frag;
}

const kvsp_fragment *kvsp_fragment_visitor_last(kvsp_fragment_visitor *fv)
{
    if (!fv || fv->open || fv->count == 0)
        return NULL;
    sync_record(fv);
    return &fv->frag;
}

const kvsp_track *kvsp_fragment_visitor_track(kvsp_fragment_visitor *fv, uint64_t number)
{
    return fv && fv->open ? fragment_find_track(fv, number) : NULL;
}

const char *kvsp_fragment_visitor_continuation_token(const kvsp_fragment_visitor *fv)
{
    return fv && fv->has_token ? fv->token : NULL;
}

int64_t kvsp_fragment_visitor_millis_behind_now(const kvsp_fragment_visitor *fv)
{
    return fv && fv->has_millis_behind_now ? fv->millis_behind_now : -1;
}

uint64_t kvsp_fragment_visitor_count(const kvsp_fragment_visitor *fv)
{
    return fv ? fv->count : 0;
}

uint64_t kvsp_fragment_visitor_events(const kvsp_fragment_visitor *fv)
{
    return fv->events;
}

const uint64_t *kvsp_fragment_visitor_events_counter(const kvsp_fragment_visitor *fv)
{
    return &fv->events;
}

const char *kvsp_track_type_name(uint64_t type)
{
    switch (type) {
    case KVSP_TRACK_VIDEO: return "video";
    case KVSP_TRACK_AUDIO: return "audio";
    case KVSP_TRACK_COMPLEX: return "complex";
    case KVSP_TRACK_LOGO: return "logo";
    case KVSP_TRACK_SUBTITLE: return "subtitle";
    case KVSP_TRACK_BUTTONS: return "buttons";
    case KVSP_TRACK_CONTROL: return "control";
    case KVSP_TRACK_METADATA: return "metadata";
    default: return "unknown";
    }
}
