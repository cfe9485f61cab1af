#include "codec_map.h"

#include <string.h>

static const struct {
    const char *id;
    int prefix; /* matches IDs starting with id (e.g. A_AAC/MPEG4/LC) */
    enum AVCodecID codec;
} codecs[] = {
    {"V_MPEG4/ISO/AVC", 0, AV_CODEC_ID_H264},
    {"V_MPEGH/ISO/HEVC", 0, AV_CODEC_ID_HEVC},
    {"V_MJPEG", 0, AV_CODEC_ID_MJPEG},
    {"V_VP8", 0, AV_CODEC_ID_VP8},
    {"V_VP9", 0, AV_CODEC_ID_VP9},
    {"V_AV1", 0, AV_CODEC_ID_AV1},
    {"V_MPEG1", 0, AV_CODEC_ID_MPEG1VIDEO},
    {"V_MPEG2", 0, AV_CODEC_ID_MPEG2VIDEO},
    {"V_MPEG4/ISO/", 1, AV_CODEC_ID_MPEG4},
    {"V_THEORA", 0, AV_CODEC_ID_THEORA},
    {"V_PRORES", 0, AV_CODEC_ID_PRORES},
    {"A_AAC", 1, AV_CODEC_ID_AAC},
    {"A_OPUS", 0, AV_CODEC_ID_OPUS},
    {"A_VORBIS", 0, AV_CODEC_ID_VORBIS},
    {"A_FLAC", 0, AV_CODEC_ID_FLAC},
    {"A_MPEG/L3", 0, AV_CODEC_ID_MP3},
    {"A_MPEG/L2", 0, AV_CODEC_ID_MP2},
    {"A_AC3", 0, AV_CODEC_ID_AC3},
    {"A_EAC3", 0, AV_CODEC_ID_EAC3},
    {"A_PCM/INT/LIT", 0, AV_CODEC_ID_PCM_S16LE},
    {"A_PCM/INT/BIG", 0, AV_CODEC_ID_PCM_S16BE},
    {"A_PCM/FLOAT/IEEE", 0, AV_CODEC_ID_PCM_F32LE},
    {"A_MS/ACM", 0, AV_CODEC_ID_NONE},
};

enum AVCodecID kvsp_codec_from_matroska(const char *codec_id)
{
    if (!codec_id)
        return AV_CODEC_ID_NONE;
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++) {
        size_t n = strlen(codecs[i].id);
        if (codecs[i].prefix ? strncmp(codec_id, codecs[i].id, n) == 0
                             : strcmp(codec_id, codecs[i].id) == 0)
            return codecs[i].codec;
    }
    return AV_CODEC_ID_NONE;
}
