#ifndef KVSP_DECODER_INTERNAL_H
#define KVSP_DECODER_INTERNAL_H

#include "kvsparser/decoder.h"

/* Hands one frame to the decoder directly, as its own frame visitor would:
 * for the audio sink, which runs one frame visitor and a decoder per
 * decoded track. */
int kvsp_decoder_push_frame(kvsp_decoder *d, const kvsp_frame *fr);

#endif
