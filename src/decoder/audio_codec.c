/* Which PCM a track carries, or that it must be decoded: the PCM CodecIDs,
 * A_MS/ACM's WAVEFORMATEX, Amazon Connect's mislabelled L16 and overrides. */
#include "audio_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *kvsp_audio_fragment_tag(const kvsp_fragment *f, const char *name)
{
    if (!f)
        return NULL;
    for (size_t i = 0; i < f->tag_count; i++)
        if (f->tags[i].value && strcasecmp(f->tags[i].name, name) == 0)
            return f->tags[i].value;
    return NULL;
}

/* "audio/L16;rate=8000;channels=1" (parameters optional, in any order). */
static int parse_l16_mime(const char *mime, int *rate, int *channels)
{
    while (*mime == ' ')
        mime++;
    if (strncasecmp(mime, "audio/L16", 9) != 0 || (mime[9] && mime[9] != ';' && mime[9] != ' '))
        return -1;
    *rate = 8000;
    *channels = 1;
    for (const char *p = strchr(mime, ';'); p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ')
            q++;
        long v = 0;
        if (strncasecmp(q, "rate=", 5) == 0 && (v = strtol(q + 5, NULL, 10)) > 0 && v <= 768000)
            *rate = (int)v;
        else if (strncasecmp(q, "channels=", 9) == 0 && (v = strtol(q + 9, NULL, 10)) > 0 &&
                 v <= 64)
            *channels = (int)v;
    }
    return 0;
}

static int is_connect_name(const char *name)
{
    return name &&
           (strcmp(name, "AUDIO_FROM_CUSTOMER") == 0 || strcmp(name, "AUDIO_TO_CUSTOMER") == 0);
}

/* Integer or float PCM of a given depth. */
static int pcm_format(kvsp_audio_format *o, int is_float, int big_endian, int bits, char *why,
                      size_t n)
{
    o->big_endian = big_endian;
    o->widen24 = 0;
    if (is_float) {
        if (bits != 32 && bits != 64) {
            snprintf(why, n, "float PCM of %d bits", bits);
            return -1;
        }
        o->fmt = bits == 32 ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_DBL;
        o->bytes = bits / 8;
        o->name = bits == 32 ? (big_endian ? "f32be" : "f32le") : (big_endian ? "f64be" : "f64le");
        return 0;
    }
    switch (bits) {
    case 8:
        o->fmt = AV_SAMPLE_FMT_U8;
        o->bytes = 1;
        o->name = "u8";
        return 0;
    case 16:
        o->fmt = AV_SAMPLE_FMT_S16;
        o->bytes = 2;
        o->name = big_endian ? "s16be" : "s16le";
        return 0;
    case 24:
        o->fmt = AV_SAMPLE_FMT_S32;
        o->bytes = 3;
        o->widen24 = 1;
        o->name = big_endian ? "s24be" : "s24le";
        return 0;
    case 32:
        o->fmt = AV_SAMPLE_FMT_S32;
        o->bytes = 4;
        o->name = big_endian ? "s32be" : "s32le";
        return 0;
    default: snprintf(why, n, "integer PCM of %d bits", bits); return -1;
    }
}

static unsigned le16(const uint8_t *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}
static unsigned long le32(const uint8_t *p)
{
    return le16(p) | (unsigned long)le16(p + 2) << 16;
}

/* A_MS/ACM: the codec private data is a WAVEFORMATEX (or EXTENSIBLE, whose
 * sub-format GUID starts with the format tag). */
static int wave_format(const kvsp_track *t, kvsp_audio_format *o, char *why, size_t n)
{
    const uint8_t *w = t->codec_private;
    if (!w || t->codec_private_size < 16) {
        snprintf(why, n, "A_MS/ACM without a WAVEFORMATEX");
        return -1;
    }
    unsigned tag = le16(w);
    if (tag == 0xFFFE && t->codec_private_size >= 26)
        tag = le16(w + 24);
    o->channels = (int)le16(w + 2);
    unsigned long rate = le32(w + 4);
    o->rate = rate > 0 && rate <= 768000 ? (int)rate : 0;
    int bits = (int)le16(w + 14);
    if ((tag != 1 && tag != 3) || !o->rate || o->channels < 1 || o->channels > 64) {
        snprintf(why, n, "A_MS/ACM format 0x%04x (%lu Hz, %d channels) is not PCM", tag, rate,
                 o->channels);
        return -1;
    }
    return pcm_format(o, tag == 3, 0, bits, why, n);
}

static void track_rate(const kvsp_track *t, int dflt_rate, int dflt_channels, kvsp_audio_format *o)
{
    o->rate = (t->present & KVSP_TRACK_HAS_SAMPLING_FREQUENCY) && t->sampling_frequency >= 1 &&
                      t->sampling_frequency <= 768000
                  ? (int)(t->sampling_frequency + 0.5)
                  : dflt_rate;
    o->channels = (t->present & KVSP_TRACK_HAS_CHANNELS) && t->channels >= 1 && t->channels <= 64
                      ? (int)t->channels
                      : dflt_channels;
}

static int by_codec_id(const char *id, const kvsp_track *t, int bits, kvsp_audio_format *o,
                       char *why, size_t n)
{
    if (strcmp(id, "A_PCM/INT/LIT") == 0)
        return pcm_format(o, 0, 0, bits ? bits : 16, why, n);
    if (strcmp(id, "A_PCM/INT/BIG") == 0)
        return pcm_format(o, 0, 1, bits ? bits : 16, why, n);
    if (strcmp(id, "A_PCM/FLOAT/IEEE") == 0)
        return pcm_format(o, 1, 0, bits ? bits : 32, why, n);
    if (strcmp(id, "A_MS/ACM") == 0)
        return wave_format(t, o, why, n);
    o->source = KVSP_AUDIO_DECODED;
    o->fmt = AV_SAMPLE_FMT_NONE;
    o->name = "decoded";
    return 0;
}

int kvsp_audio_resolve(const kvsp_track *t, const kvsp_fragment *f,
                       const kvsp_audio_codec_override *ov, kvsp_audio_format *o, char *why,
                       size_t n)
{
    memset(o, 0, sizeof *o);
    o->fmt = AV_SAMPLE_FMT_NONE;
    int bits =
        (t->present & KVSP_TRACK_HAS_BIT_DEPTH) && t->bit_depth <= 64 ? (int)t->bit_depth : 0;
    if (ov) {
        track_rate(t, 8000, 1, o);
        if (ov->sample_rate > 0)
            o->rate = ov->sample_rate;
        if (ov->channels > 0)
            o->channels = ov->channels;
        int rc = by_codec_id(ov->codec_id, t, ov->bit_depth > 0 ? ov->bit_depth : bits, o, why, n);
        if (o->source != KVSP_AUDIO_DECODED)
            o->source = KVSP_AUDIO_OVERRIDDEN;
        return rc;
    }
    const char *id = t->codec_id ? t->codec_id : "";
    /* Connect: the CodecID says AAC, yet there is no Audio master and the
     * codec private data is a bare 2 bytes; the MimeType tag (or, without
     * it, Connect's track names) says what the blocks are. */
    int rate = 8000, channels = 1;
    const char *mime = kvsp_audio_fragment_tag(f, "MimeType");
    int l16 = mime && parse_l16_mime(mime, &rate, &channels) == 0;
    if (strncmp(id, "A_AAC", 5) == 0 && t->codec_private_size == 2 &&
        !(t->present & (KVSP_TRACK_HAS_SAMPLING_FREQUENCY | KVSP_TRACK_HAS_CHANNELS)) &&
        (l16 || is_connect_name(t->name))) {
        o->source = KVSP_AUDIO_CONNECT_L16;
        o->rate = rate;
        o->channels = channels;
        return pcm_format(o, 0, 0, 16, why, n);
    }
    track_rate(t, 0, 0, o);
    int rc = by_codec_id(id, t, bits, o, why, n);
    if (rc == 0 && o->source != KVSP_AUDIO_DECODED && (!o->rate || !o->channels)) {
        snprintf(why, n, "PCM track without SamplingFrequency or Channels");
        return -1;
    }
    return rc;
}
