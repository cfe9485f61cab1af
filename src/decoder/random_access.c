#include "random_access.h"

int kvsp_nal_length_size(enum AVCodecID codec, const uint8_t *cp, size_t size)
{
    /* avcC: version 1, then profile, compatibility, level, 6 reserved bits
     * and lengthSizeMinusOne (ISO/IEC 14496-15 5.3.3.1). hvcC: version 1,
     * lengthSizeMinusOne in byte 21 (8.3.3.1). Annex B private data (no
     * configuration record) gives 0. */
    size_t at;
    if (codec == AV_CODEC_ID_H264)
        at = 4;
    else if (codec == AV_CODEC_ID_HEVC)
        at = 21;
    else
        return 0;
    if (!cp || size <= at || cp[0] != 1)
        return 0;
    int n = (cp[at] & 3) + 1;
    return n == 3 ? 0 : n;
}

/* The NAL unit types that make a picture an IDR. Not counted: H.264 I
 * slices of a non-IDR picture (type 1, an open GOP with a recovery point
 * SEI) and H.265 CRA / BLA pictures (types 16-18, 21), whose leading
 * pictures may reference frames before them; after one of those the held
 * frames are decoded as before when a kept picture follows. */
static int idr_nal(enum AVCodecID codec, uint8_t header)
{
    if (codec == AV_CODEC_ID_H264)
        return (header & 0x1f) == 5; /* coded slice of an IDR picture */
    unsigned type = (header >> 1) & 0x3f;
    return type == 19 || type == 20; /* IDR_W_RADL, IDR_N_LP */
}

int kvsp_frame_is_idr(enum AVCodecID codec, int nal_length_size, const uint8_t *data, size_t size)
{
    if (nal_length_size <= 0)
        return 0;
    size_t at = 0;
    while (size - at > (size_t)nal_length_size) {
        size_t n = 0;
        for (int i = 0; i < nal_length_size; i++)
            n = n << 8 | data[at + (size_t)i];
        at += (size_t)nal_length_size;
        if (n == 0 || n > size - at)
            return 0;
        if (idr_nal(codec, data[at]))
            return 1;
        at += n;
    }
    return 0;
}
