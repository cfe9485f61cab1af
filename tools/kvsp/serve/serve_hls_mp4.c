/* kvsp serve: the fMP4 of HLS, one KVS fragment at a time. The fragment's
 * Matroska bytes (as GetMediaForFragmentList sends them) go through the
 * project's MP4 sink (libkvsparser-mp4), fragmented, shifted to where the
 * fragment lies on the stream's producer timeline; its output is split into
 * the initialization part (ftyp, moov) and the media part (moof, mdat). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "serve_hls.h"

#ifdef KVSP_HAVE_MP4
#include <libavutil/log.h>

#include "kvsparser/mp4.h"
#include "kvsparser/reader.h"

#define READ_CHUNK (256 * 1024)

static int append(void *user, const void *data, size_t len)
{
    ebml_out *o = user;
    kvsp_ebml_out_bytes(o, data, len);
    return o->failed ? KVSP_ERR_NOMEM : KVSP_OK;
}

/* The codecs and picture size of the output's tracks, for the master
 * playlist's CODECS and RESOLUTION (RFC 6381 names: avc1.PPCCLL from the
 * avcC, mp4a.40.N from the AudioSpecificConfig). */
static int on_placed(void *user, const kvsp_mp4_placed *p)
{
    serve_hls_tracks *t = user;
    const kvsp_fragment *f = p->fragment;
    t->codecs[0] = '\0';
    for (size_t i = 0; i < f->track_count; i++) {
        const kvsp_track *tr = &f->tracks[i];
        char one[32] = "";
        if (!tr->codec_id)
            continue;
        if (strcmp(tr->codec_id, "V_MPEG4/ISO/AVC") == 0 && tr->codec_private_size >= 4)
            snprintf(one, sizeof one, "avc1.%02x%02x%02x", tr->codec_private[1],
                     tr->codec_private[2], tr->codec_private[3]);
        else if (strncmp(tr->codec_id, "A_AAC", 5) == 0)
            snprintf(one, sizeof one, "mp4a.40.%u",
                     tr->codec_private_size ? (unsigned)(tr->codec_private[0] >> 3) : 2u);
        if ((tr->present & KVSP_TRACK_HAS_PIXEL_WIDTH) && tr->pixel_width < 100000 &&
            (tr->present & KVSP_TRACK_HAS_PIXEL_HEIGHT) && tr->pixel_height < 100000) {
            t->width = (unsigned)tr->pixel_width;
            t->height = (unsigned)tr->pixel_height;
        }
        if (!one[0] || strlen(t->codecs) + strlen(one) + 2 > sizeof t->codecs)
            continue;
        if (t->codecs[0])
            strcat(t->codecs, ",");
        strcat(t->codecs, one);
    }
    return KVSP_OK;
}

/* The fragment as GetMediaForFragmentList would send it. */
static int fragment_mkv(const serve_stream *s, const serve_fragment *f, ebml_out *mkv)
{
    serve_fragment_start(mkv, s, f, SERVE_FRAGMENT_LIST);
    for (uint64_t pos = 0; pos < f->size && !mkv->failed;) {
        char buf[READ_CHUNK];
        size_t want = f->size - pos < sizeof buf ? (size_t)(f->size - pos) : sizeof buf;
        ssize_t n = pread(s->fd, buf, want, (off_t)(f->offset + pos));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return KVSP_ERR_IO;
        kvsp_ebml_out_bytes(mkv, buf, (size_t)n);
        pos += (uint64_t)n;
    }
    serve_fragment_tail(mkv, f, 0);
    return mkv->failed ? KVSP_ERR_NOMEM : KVSP_OK;
}

/* Keeps the top-level boxes of one part: init (ftyp, moov) or media (moof,
 * mdat; the trailer's mfra left out). */
static int split_boxes(const ebml_out *mp4, int init, ebml_out *out)
{
    size_t pos = 0;
    while (pos + 8 <= mp4->len) {
        const uint8_t *b = mp4->data + pos;
        uint64_t size =
            ((uint64_t)b[0] << 24) | ((uint64_t)b[1] << 16) | ((uint64_t)b[2] << 8) | b[3];
        size_t head = 8;
        if (size == 1 && pos + 16 <= mp4->len) { /* a 64-bit size */
            size = 0;
            for (int i = 8; i < 16; i++)
                size = size << 8 | b[i];
            head = 16;
        }
        if (size < head || size > mp4->len - pos)
            return KVSP_ERR_INVALID_ARG;
        int is_init = memcmp(b + 4, "ftyp", 4) == 0 || memcmp(b + 4, "moov", 4) == 0;
        int is_media = memcmp(b + 4, "moof", 4) == 0 || memcmp(b + 4, "mdat", 4) == 0;
        if ((init && is_init) || (!init && is_media))
            kvsp_ebml_out_bytes(out, b, (size_t)size);
        pos += (size_t)size;
    }
    return out->failed ? KVSP_ERR_NOMEM : KVSP_OK;
}

int serve_hls_mp4(const serve_stream *s, size_t k, int init, ebml_out *out,
                  serve_hls_tracks *tracks, char *why, size_t why_size)
{
    const serve_fragment *f = &s->fragments[k];
    serve_hls_tracks unused;
    if (!tracks)
        tracks = &unused;
    memset(tracks, 0, sizeof *tracks);
    ebml_out mkv, mp4;
    memset(&mkv, 0, sizeof mkv);
    memset(&mp4, 0, sizeof mp4);
    av_log_set_level(AV_LOG_ERROR);
    kvsp_mp4_options opts;
    memset(&opts, 0, sizeof opts);
    opts.fragmented = 1;
    opts.split = KVSP_MERGE_SPLIT_STOP; /* one fragment has one set of tracks */
    opts.on_placed = on_placed;
    opts.user = tracks;
    /* Every segment at its place on the stream's timeline, so that a player
     * appends them end to end; the init part has no times. */
    opts.time_offset_ms = f->offset_ms;
    kvsp_mp4_output o = {&mp4, append, NULL};
    int rc = fragment_mkv(s, f, &mkv);
    kvsp_mp4_sink *sink = rc ? NULL : kvsp_mp4_sink_create(&opts, &o);
    kvsp_reader *r = sink ? kvsp_reader_create(NULL) : NULL;
    if (!rc && !r)
        rc = KVSP_ERR_NOMEM;
    if (!rc) {
        kvsp_visitor v = kvsp_mp4_sink_visitor(sink);
        int st = kvsp_reader_push(r, mkv.data, mkv.len, &v);
        if (st == KVSP_NEED_DATA || st == KVSP_DONE) {
            kvsp_reader_finish(r);
            st = kvsp_reader_run(r, &v);
        }
        int fin = kvsp_mp4_sink_finish(sink);
        rc = fin < 0 ? fin : st == KVSP_DONE ? KVSP_OK : st < 0 ? st : KVSP_ERR_INVALID_ARG;
        if (rc)
            snprintf(why, why_size, "%s",
                     kvsp_mp4_sink_error(sink)[0] ? kvsp_mp4_sink_error(sink)
                                                  : kvsp_status_str(rc));
        if (!rc && kvsp_mp4_sink_stats(sink)->frames == 0) {
            rc = KVSP_ERR_INVALID_ARG;
            snprintf(why, why_size, "no H.264, H.265 or AAC frames");
        }
    } else {
        snprintf(why, why_size, "%s", kvsp_status_str(rc));
    }
    kvsp_reader_destroy(r);
    kvsp_mp4_sink_destroy(sink);
    if (!rc)
        rc = split_boxes(&mp4, init, out);
    kvsp_ebml_out_free(&mkv);
    kvsp_ebml_out_free(&mp4);
    return rc;
}

#else

int serve_hls_mp4(const serve_stream *s, size_t k, int init, ebml_out *out,
                  serve_hls_tracks *tracks, char *why, size_t why_size)
{
    (void)s, (void)k, (void)init, (void)out, (void)tracks;
    snprintf(why, why_size, "this kvsp was built without the MP4 sink (libavformat)");
    return KVSP_ERR_INVALID_ARG;
}

#endif
