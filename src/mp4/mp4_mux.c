/* libavformat's MP4 muxer behind a small interface: the sink decides what
 * goes in, this file knows FFmpeg's structures and options. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <stdarg.h>
#include <string.h>

#include "../error_format.h"
#include "mp4_mux.h"

#define IO_BUFFER_SIZE 65536

static int fail(mp4_mux *m, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(mp4_mux *m, int status, const char *fmt, ...)
{
    if (m->message && m->message[0]) /* the first error is the one reported */
        return status;
    va_list ap;
    va_start(ap, fmt);
    kvsp_ext_error_vformat(m->message, m->message_size, NULL, status, fmt, ap);
    va_end(ap);
    return status;
}

/* An FFmpeg error as a status, keeping the write callback's own status when
 * it caused the error. */
static int av_fail(mp4_mux *m, int averr, const char *what)
{
    if (m->write_status)
        return fail(m, m->write_status, "%s: output write failed", what);
    char text[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, text, sizeof text);
    return fail(m, averr == AVERROR(ENOMEM) ? KVSP_ERR_NOMEM : KVSP_ERR_IO, "%s: %s", what, text);
}

int kvsp_mp4_codec(const char *codec_id)
{
    if (!codec_id)
        return AV_CODEC_ID_NONE;
    if (strcmp(codec_id, "V_MPEG4/ISO/AVC") == 0)
        return AV_CODEC_ID_H264;
    if (strcmp(codec_id, "V_MPEGH/ISO/HEVC") == 0)
        return AV_CODEC_ID_HEVC;
    if (strcmp(codec_id, "A_AAC") == 0 || strncmp(codec_id, "A_AAC/", 6) == 0)
        return AV_CODEC_ID_AAC;
    return AV_CODEC_ID_NONE;
}

static int write_packet(void *opaque, uint8_t *buf, int size)
{
    mp4_mux *m = opaque;
    if (m->write_status)
        return AVERROR(EIO);
    int rc = m->write(m->user, buf, (size_t)size);
    if (rc < 0) {
        m->write_status = rc;
        return AVERROR(EIO);
    }
    return size;
}

int kvsp_mp4_mux_open(mp4_mux *m, const char *path, int (*write)(void *, const void *, size_t),
                      void *user, int fragmented, uint64_t timecode_scale, char *message,
                      size_t message_size)
{
    memset(m, 0, sizeof *m);
    m->message = message;
    m->message_size = message_size;
    m->write = write;
    m->user = user;
    m->fragmented = fragmented || !path;
    /* ticks = TimecodeScale ns: the time base scale / 1e9, reduced */
    if (!av_reduce(&m->tb_num, &m->tb_den, (int64_t)(timecode_scale ? timecode_scale : 1000000u),
                   1000000000, INT32_MAX))
        return fail(m, KVSP_ERR_INVALID_ARG, "TimecodeScale %llu has no exact MP4 time base",
                    (unsigned long long)timecode_scale);
    int rc = avformat_alloc_output_context2(&m->oc, NULL, "mp4", path);
    if (rc < 0 || !m->oc)
        return av_fail(m, rc < 0 ? rc : AVERROR(ENOMEM), "MP4 muxer");
    if (path) {
        rc = avio_open(&m->oc->pb, path, AVIO_FLAG_WRITE);
        if (rc < 0)
            return av_fail(m, rc, path);
        return KVSP_OK;
    }
    uint8_t *buf = av_malloc(IO_BUFFER_SIZE);
    m->io = buf ? avio_alloc_context(buf, IO_BUFFER_SIZE, 1, m, NULL, write_packet, NULL) : NULL;
    if (!m->io) {
        av_free(buf);
        return fail(m, KVSP_ERR_NOMEM, "out of memory for the MP4 output");
    }
    m->oc->pb = m->io;
    m->oc->flags |= AVFMT_FLAG_CUSTOM_IO;
    return KVSP_OK;
}

int kvsp_mp4_mux_add(mp4_mux *m, const kvsp_track *t)
{
    enum AVCodecID codec = (enum AVCodecID)kvsp_mp4_codec(t->codec_id);
    if (codec == AV_CODEC_ID_NONE || m->oc->nb_streams >= MP4_MUX_MAX_STREAMS)
        return KVSP_ERR_INVALID_ARG;
    if (t->codec_private_size > (size_t)INT32_MAX - AV_INPUT_BUFFER_PADDING_SIZE)
        return fail(m, KVSP_ERR_INVALID_ARG, "track %llu: codec private data too large",
                    (unsigned long long)t->number);
    AVStream *st = avformat_new_stream(m->oc, NULL);
    if (!st)
        return fail(m, KVSP_ERR_NOMEM, "out of memory for an MP4 track");
    AVCodecParameters *par = st->codecpar;
    par->codec_id = codec;
    par->codec_type = codec == AV_CODEC_ID_AAC ? AVMEDIA_TYPE_AUDIO : AVMEDIA_TYPE_VIDEO;
    if (t->codec_private_size) {
        /* avcC, hvcC and AudioSpecificConfig are what MP4 stores as well */
        par->extradata = av_mallocz(t->codec_private_size + AV_INPUT_BUFFER_PADDING_SIZE);
        if (!par->extradata)
            return fail(m, KVSP_ERR_NOMEM, "out of memory for codec private data");
        memcpy(par->extradata, t->codec_private, t->codec_private_size);
        par->extradata_size = (int)t->codec_private_size;
    }
    if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
        m->has_video = 1;
        if (t->present & KVSP_TRACK_HAS_PIXEL_WIDTH && t->pixel_width <= INT32_MAX)
            par->width = (int)t->pixel_width;
        if (t->present & KVSP_TRACK_HAS_PIXEL_HEIGHT && t->pixel_height <= INT32_MAX)
            par->height = (int)t->pixel_height;
        if (codec == AV_CODEC_ID_HEVC) /* parameter sets in hvcC only: what browsers ask for */
            par->codec_tag = MKTAG('h', 'v', 'c', '1');
    } else {
        double rate = (t->present & KVSP_TRACK_HAS_OUTPUT_SAMPLING_FREQUENCY)
                          ? t->output_sampling_frequency
                      : (t->present & KVSP_TRACK_HAS_SAMPLING_FREQUENCY) ? t->sampling_frequency
                                                                         : 0;
        if (rate > 0 && rate < 1e7)
            par->sample_rate = (int)rate;
        uint64_t channels = (t->present & KVSP_TRACK_HAS_CHANNELS) ? t->channels : 0;
        if (channels > 0 && channels < 64)
            av_channel_layout_default(&par->ch_layout, (int)channels);
    }
    st->time_base = (AVRational){m->tb_num, m->tb_den};
    return st->index;
}

int kvsp_mp4_mux_begin(mp4_mux *m, int64_t offset_us)
{
    AVDictionary *opts = NULL;
    const char *flags = !m->fragmented ? "+faststart"
                        : m->has_video ? "+frag_keyframe+empty_moov+default_base_moof"
                                       : "+empty_moov+default_base_moof";
    av_dict_set(&opts, "movflags", flags, 0);
    if (m->fragmented && offset_us) {
        /* The muxer would otherwise shift the first time to 0 (tfdt 0):
         * frag_discont keeps the first fragment's time as given, and
         * nothing is shifted to avoid negative times (there are none). */
        av_dict_set(&opts, "movflags", "+frag_discont", AV_DICT_APPEND);
        m->oc->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;
        m->oc->output_ts_offset = offset_us;
    }
    if (m->fragmented && !m->has_video) /* audio only: every packet is a keyframe */
        av_dict_set(&opts, "frag_duration", "1000000", 0);
    int rc = avformat_write_header(m->oc, &opts);
    av_dict_free(&opts);
    if (rc < 0)
        return av_fail(m, rc, "MP4 header");
    m->header_written = 1;
    return KVSP_OK;
}

int kvsp_mp4_mux_packet(mp4_mux *m, int stream, const uint8_t *data, size_t size, int64_t pts,
                        int64_t dts, int64_t duration, int keyframe)
{
    if (size > (size_t)INT32_MAX - AV_INPUT_BUFFER_PADDING_SIZE)
        return fail(m, KVSP_ERR_INVALID_ARG, "frame of %zu bytes too large for MP4", size);
    AVStream *st = m->oc->streams[stream];
    AVRational ticks = {m->tb_num, m->tb_den};
    AVPacket *pkt = av_packet_alloc();
    if (!pkt || av_new_packet(pkt, (int)size) < 0) {
        av_packet_free(&pkt);
        return fail(m, KVSP_ERR_NOMEM, "out of memory for a frame of %zu bytes", size);
    }
    if (size)
        memcpy(pkt->data, data, size);
    pkt->stream_index = stream;
    /* The end is rescaled, not the duration, so that durations add up to the
     * next packet's decode time exactly. */
    pkt->pts = av_rescale_q(pts, ticks, st->time_base);
    pkt->dts = av_rescale_q(dts, ticks, st->time_base);
    pkt->duration = av_rescale_q(dts + duration, ticks, st->time_base) - pkt->dts;
    if (keyframe)
        pkt->flags |= AV_PKT_FLAG_KEY;
    int rc = av_interleaved_write_frame(m->oc, pkt);
    av_packet_free(&pkt);
    return rc < 0 ? av_fail(m, rc, "MP4 packet") : KVSP_OK;
}

int kvsp_mp4_mux_close(mp4_mux *m)
{
    int status = KVSP_OK;
    if (!m->oc)
        return KVSP_OK;
    if (m->header_written) {
        int rc = av_write_trailer(m->oc);
        if (rc < 0)
            status = av_fail(m, rc, "MP4 trailer");
    }
    if (m->io) {
        avio_flush(m->io);
        if (m->write_status && !status)
            status = fail(m, m->write_status, "output write failed");
        av_freep(&m->io->buffer);
        avio_context_free(&m->io);
    } else if (m->oc->pb) {
        int rc = avio_closep(&m->oc->pb);
        if (rc < 0 && !status)
            status = av_fail(m, rc, "closing the MP4 file");
    }
    avformat_free_context(m->oc);
    m->oc = NULL;
    return status;
}
