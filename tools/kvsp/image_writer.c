#include "image_writer.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct image_writer {
    image_format format;
    AVCodecContext *encoder;
    AVPacket *packet;
    uint8_t *buffer;
    size_t buffer_cap;
    int64_t pictures; /* encoders want increasing pts */
};

image_writer *image_writer_create(image_format format)
{
    image_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->format = format;
    w->packet = av_packet_alloc();
    if (!w->packet) {
        free(w);
        return NULL;
    }
    return w;
}

void image_writer_destroy(image_writer *w)
{
    if (!w)
        return;
    avcodec_free_context(&w->encoder);
    av_packet_free(&w->packet);
    free(w->buffer);
    free(w);
}

int image_writer_pixel_format(image_format format, int asked)
{
    switch (format) {
    case IMAGE_PNG:
        if (asked < 0)
            return KVSP_PIX_RGB24;
        return asked == KVSP_PIX_RGB24 || asked == KVSP_PIX_GRAY8 ? asked : -1;
    case IMAGE_JPEG:
        if (asked < 0)
            return KVSP_PIX_YUV420P;
        return asked == KVSP_PIX_YUV420P || asked == KVSP_PIX_GRAY8 ? asked : -1;
    case IMAGE_PPM:
        if (asked < 0)
            return KVSP_PIX_RGB24;
        return asked == KVSP_PIX_RGB24 ? asked : -1;
    default: return asked < 0 ? KVSP_PIX_NATIVE : asked;
    }
}

const char *image_writer_extension(image_format format)
{
    static const char *const ext[] = {"png", "jpg", "ppm", "raw"};
    return ext[format];
}

/* One plane without a palette whose rows have no padding (rgb24 224 wide:
 * 672 bytes, a multiple of libavutil's 32-byte line alignment) is packed
 * already: its bytes are returned as they are, sparing a copy of every
 * picture written to a model's pipe. */
static int already_packed(const kvsp_picture *p, int n)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get((enum AVPixelFormat)p->pixel_format);
    return desc && !(desc->flags & AV_PIX_FMT_FLAG_PAL) &&
           av_pix_fmt_count_planes((enum AVPixelFormat)p->pixel_format) == 1 && p->height > 0 &&
           (int64_t)p->strides[0] * p->height == n;
}

const uint8_t *image_writer_pack(image_writer *w, const kvsp_picture *p, size_t *size)
{
    int n = av_image_get_buffer_size((enum AVPixelFormat)p->pixel_format, p->width, p->height, 1);
    if (n < 0)
        return NULL;
    if (already_packed(p, n)) {
        *size = (size_t)n;
        return p->planes[0];
    }
    if ((size_t)n > w->buffer_cap) {
        uint8_t *bigger = realloc(w->buffer, (size_t)n);
        if (!bigger)
            return NULL;
        w->buffer = bigger;
        w->buffer_cap = (size_t)n;
    }
    if (av_image_copy_to_buffer(w->buffer, n, (const uint8_t *const *)p->planes, p->strides,
                                (enum AVPixelFormat)p->pixel_format, p->width, p->height, 1) < 0)
        return NULL;
    *size = (size_t)n;
    return w->buffer;
}

static int open_encoder(image_writer *w, const kvsp_picture *p)
{
    const AVCodecContext *e = w->encoder;
    if (e && e->width == p->width && e->height == p->height && e->pix_fmt == p->pixel_format)
        return 0;
    avcodec_free_context(&w->encoder);
    const AVCodec *codec =
        avcodec_find_encoder(w->format == IMAGE_PNG ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG);
    if (!codec || !(w->encoder = avcodec_alloc_context3(codec)))
        return -1;
    w->encoder->width = p->width;
    w->encoder->height = p->height;
    w->encoder->pix_fmt = (enum AVPixelFormat)p->pixel_format;
    w->encoder->time_base = (AVRational){1, 25};
    if (w->format == IMAGE_JPEG) {
        /* Limited-range yuv420p as decoded, marked as such. */
        w->encoder->color_range = AVCOL_RANGE_MPEG;
        w->encoder->strict_std_compliance = FF_COMPLIANCE_UNOFFICIAL;
        w->encoder->flags |= AV_CODEC_FLAG_QSCALE;
        w->encoder->global_quality = FF_QP2LAMBDA * 3;
    }
    if (avcodec_open2(w->encoder, codec, NULL) < 0) {
        avcodec_free_context(&w->encoder);
        return -1;
    }
    return 0;
}

static int encode(image_writer *w, const kvsp_picture *p, FILE *f)
{
    if (open_encoder(w, p) != 0)
        return -1;
    const AVFrame *frame = p->av_frame;
    AVFrame *copy = av_frame_clone(frame);
    if (!copy)
        return -1;
    copy->pts = w->pictures++;
    copy->pict_type = AV_PICTURE_TYPE_NONE;
    copy->quality = w->encoder->global_quality;
    int rc = avcodec_send_frame(w->encoder, copy);
    av_frame_free(&copy);
    if (rc >= 0)
        rc = avcodec_receive_packet(w->encoder, w->packet);
    if (rc < 0)
        return -1;
    size_t n = fwrite(w->packet->data, 1, (size_t)w->packet->size, f);
    int ok = n == (size_t)w->packet->size;
    av_packet_unref(w->packet); /* intra-only encoders: one packet per picture */
    return ok ? 0 : -1;
}

int image_writer_write(image_writer *w, const kvsp_picture *p, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = 0;
    if (w->format == IMAGE_PNG || w->format == IMAGE_JPEG) {
        rc = encode(w, p, f);
    } else {
        size_t size;
        const uint8_t *bytes = image_writer_pack(w, p, &size);
        if (!bytes)
            rc = -1;
        else if (w->format == IMAGE_PPM && fprintf(f, "P6\n%d %d\n255\n", p->width, p->height) < 0)
            rc = -1;
        if (rc == 0 && fwrite(bytes, 1, size, f) != size)
            rc = -1;
    }
    int saved = errno;
    if (fclose(f) != 0)
        rc = -1;
    errno = saved;
    return rc;
}
