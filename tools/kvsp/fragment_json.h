#ifndef KVSP_FRAGMENT_JSON_H
#define KVSP_FRAGMENT_JSON_H

#include <jansson.h>

#include "kvsparser/frames.h"

/* The line of kvsp fragments for one fragment record. */
json_t *fragment_json(const kvsp_fragment *f);
/* The line of kvsp frames --list for one frame. */
json_t *frame_json(const kvsp_frame *fr);

#endif
