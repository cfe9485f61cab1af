#ifndef KVSP_FRAGMENT_JSON_H
#define KVSP_FRAGMENT_JSON_H

#include "json_line.h"
#include "kvsparser/frames.h"

/* The fields of kvsp fragments' line for one fragment record, written into
 * the line w has begun (callers may add fields after them). */
void fragment_json(cli_jl *w, const kvsp_fragment *f);
/* The fields of kvsp frames --list's line for one frame. */
void frame_json(cli_jl *w, const kvsp_frame *fr);

#endif
