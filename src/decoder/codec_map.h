#ifndef KVSP_CODEC_MAP_H
#define KVSP_CODEC_MAP_H

#include <libavcodec/avcodec.h>

/* The libavcodec codec for a Matroska CodecID (RFC 9559 codec mappings), or
 * AV_CODEC_ID_NONE. */
enum AVCodecID kvsp_codec_from_matroska(const char *codec_id);

#endif
