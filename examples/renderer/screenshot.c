#include "screenshot.h"

#include <libavcodec/avcodec.h>
#include <stdio.h>

static int encode_png(AVFrame *rgb, FILE *out)
{
    const AVCodec *png = avcodec_find_encoder(AV_CODEC_ID_PNG);
    AVCodecContext *enc = png ? avcodec_alloc_context3(png) : NULL;
    AVPacket *pkt = av_packet_alloc();
    int rc = -1;
    if (enc && pkt) {
        enc->width = rgb->width;
        enc->height = rgb->height;
        enc->pix_fmt = AV_PIX_FMT_RGB24;
        enc->time_base = (AVRational){1, 1};
        if (avcodec_open2(enc, png, NULL) == 0 && avcodec_send_frame(enc, rgb) == 0 &&
            avcodec_receive_packet(enc, pkt) == 0 &&
            fwrite(pkt->data, 1, (size_t)pkt->size, out) == (size_t)pkt->size)
            rc = 0;
    }
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    return rc;
}

int save_screenshot(SDL_Renderer *renderer, const char *path)
{
    int w, h;
    if (SDL_GetRendererOutputSize(renderer, &w, &h) != 0)
        return -1;
    AVFrame *rgb = av_frame_alloc();
    if (!rgb)
        return -1;
    rgb->width = w;
    rgb->height = h;
    rgb->format = AV_PIX_FMT_RGB24;
    int rc = -1;
    if (av_frame_get_buffer(rgb, 0) == 0 &&
        SDL_RenderReadPixels(renderer, NULL, SDL_PIXELFORMAT_RGB24, rgb->data[0],
                             rgb->linesize[0]) == 0) {
        FILE *out = fopen(path, "wb");
        if (out) {
            rc = encode_png(rgb, out);
            if (fclose(out) != 0)
                rc = -1;
        }
    }
    av_frame_free(&rgb);
    return rc;
}
