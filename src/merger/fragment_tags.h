#ifndef KVSP_FRAGMENT_TAGS_H
#define KVSP_FRAGMENT_TAGS_H

#include "ebml_out.h"
#include "kvsparser/fragment.h"

/* A Tags element carrying the fragment's number and server and producer
 * timestamps under their AWS_KINESISVIDEO_* names, so that a frame of the
 * merged file can be traced back to its fragment; empty when the fragment
 * has none of them. */
void kvsp_fragment_tags_build(ebml_out *o, const kvsp_fragment *f);

#endif
