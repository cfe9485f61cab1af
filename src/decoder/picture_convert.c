#include "picture_convert.h"

#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>

void kvsp_converter_free(picture_converter *c)
{
    sws_freeContext(c->sws);
    av_frame_free(&c->out);
    c->sws = NULL;
}

static enum AVPixelFormat target_format(kvsp_pixel_format f, enum AVPixelFormat native)
{
    switch (f) {
    case KVSP_PIX_RGB24: return AV_PIX_FMT_RGB24;
    case KVSP_PIX_BGR24: return AV_PIX_FMT_BGR24;
    case KVSP_PIX_GRAY8: return AV_PIX_FMT_GRAY8;
    case KVSP_PIX_YUV420P: return AV_PIX_FMT_YUV420P;
    default: return native;
    }
}

/* Output size: as asked; one side alone keeps the aspect ratio. */
static void target_size(const AVFrame *in, int width, int height, int *w, int *h)
{
    *w = width;
    *h = height;
    if (!width && !height) {
        *w = in->width;
        *h = in->height;
    } else if (!height) {
        *h = (int)(((int64_t)width * in->height + in->width / 2) / in->width);
    } else if (!width) {
        *w = (int)(((int64_t)height * in->width + in->height / 2) / in->height);
    }
    if (*w < 1)
        *w = 1;
    if (*h < 1)
        *h = 1;
}

const AVFrame *kvsp_converter_run(picture_converter *c, const AVFrame *in, kvsp_pixel_format format,
                                  int width, int height)
{
    enum AVPixelFormat fmt = target_format(format, (enum AVPixelFormat)in->format);
    int w, h;
    target_size(in, width, height, &w, &h);
    if (fmt == in->format && w == in->width && h == in->height)
        return in;
    c->sws = sws_getCachedContext(c->sws, in->width, in->height, (enum AVPixelFormat)in->format, w,
                                  h, fmt, SWS_BICUBIC, NULL, NULL, NULL);
    if (!c->sws)
        return NULL;
    if (!c->out || c->out->width != w || c->out->height != h || c->out->format != fmt) {
        av_frame_free(&c->out);
        c->out = av_frame_alloc();
        if (!c->out)
            return NULL;
        c->out->width = w;
        c->out->height = h;
        c->out->format = fmt;
        if (av_frame_get_buffer(c->out, 0) < 0) {
            av_frame_free(&c->out);
            return NULL;
        }
    }
    if (sws_scale(c->sws, (const uint8_t *const *)in->data, in->linesize, 0, in->height,
                  c->out->data, c->out->linesize) != h)
        return NULL;
    return c->out;
}
