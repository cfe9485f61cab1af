#include "picture_convert.h"

#include <libavutil/opt.h>
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

/* The scaler for in to w x h in fmt, kept while those stay the same. With
 * threads, libswscale splits each picture into slices scaled in parallel
 * (only through sws_scale_frame; sws_getCachedContext cannot set threads,
 * so the context is cached here, with or without them). Same bicubic
 * filter, same bytes. */
static struct SwsContext *scaler_for(picture_converter *c, const AVFrame *in, int w, int h,
                                     enum AVPixelFormat fmt)
{
    if (c->sws && c->in_w == in->width && c->in_h == in->height && c->in_fmt == in->format &&
        c->out_w == w && c->out_h == h && c->out_fmt == fmt)
        return c->sws;
    sws_freeContext(c->sws);
    c->sws = sws_alloc_context();
    if (!c->sws)
        return NULL;
    if (av_opt_set_int(c->sws, "srcw", in->width, 0) < 0 ||
        av_opt_set_int(c->sws, "srch", in->height, 0) < 0 ||
        av_opt_set_int(c->sws, "src_format", in->format, 0) < 0 ||
        av_opt_set_int(c->sws, "dstw", w, 0) < 0 || av_opt_set_int(c->sws, "dsth", h, 0) < 0 ||
        av_opt_set_int(c->sws, "dst_format", fmt, 0) < 0 ||
        av_opt_set_int(c->sws, "sws_flags", SWS_BICUBIC, 0) < 0 ||
        av_opt_set_int(c->sws, "threads", c->threads > 1 ? c->threads : 1, 0) < 0 ||
        sws_init_context(c->sws, NULL, NULL) < 0) {
        sws_freeContext(c->sws);
        c->sws = NULL;
        return NULL;
    }
    c->in_w = in->width;
    c->in_h = in->height;
    c->in_fmt = in->format;
    c->out_w = w;
    c->out_h = h;
    c->out_fmt = fmt;
    return c->sws;
}

const AVFrame *kvsp_converter_run(picture_converter *c, const AVFrame *in, kvsp_pixel_format format,
                                  int width, int height)
{
    return kvsp_converter_run_into(c, in, &c->out, format, width, height);
}

const AVFrame *kvsp_converter_run_into(picture_converter *c, const AVFrame *in, AVFrame **out,
                                       kvsp_pixel_format format, int width, int height)
{
    enum AVPixelFormat fmt = target_format(format, (enum AVPixelFormat)in->format);
    int w, h;
    target_size(in, width, height, &w, &h);
    if (fmt == in->format && w == in->width && h == in->height)
        return in;
    if (!scaler_for(c, in, w, h, fmt))
        return NULL;
    if (!*out || (*out)->width != w || (*out)->height != h || (*out)->format != fmt) {
        av_frame_free(out);
        *out = av_frame_alloc();
        if (!*out)
            return NULL;
        (*out)->width = w;
        (*out)->height = h;
        (*out)->format = fmt;
        if (av_frame_get_buffer(*out, 0) < 0) {
            av_frame_free(out);
            return NULL;
        }
    }
    return sws_scale_frame(c->sws, *out, in) < 0 ? NULL : *out;
}
