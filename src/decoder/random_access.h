#ifndef KVSP_RANDOM_ACCESS_H
#define KVSP_RANDOM_ACCESS_H

#include <libavcodec/avcodec.h>
#include <stddef.h>
#include <stdint.h>

/* Whether a frame starts a coded sequence that needs no earlier frame: an
 * H.264 or H.265 IDR picture. The Matroska keyframe flag alone does not say
 * so (an open-GOP I picture or an H.265 CRA is flagged too, and pictures
 * after it may still reference earlier ones), so the decoder only drops
 * frames it holds when the next one is an IDR by its NAL unit types. */

/* The length of the NAL size fields of a track's frames (1, 2 or 4) from its
 * codec private data (avcC or hvcC), or 0 when the codec or the data is not
 * one the check knows: then no frame counts as an IDR. */
int kvsp_nal_length_size(enum AVCodecID codec, const uint8_t *codec_private, size_t size);

/* 1 if the frame holds an IDR slice, else 0 (also on a malformed frame). */
int kvsp_frame_is_idr(enum AVCodecID codec, int nal_length_size, const uint8_t *data, size_t size);

#endif
