/* The AudioSink type: a reader with libkvsparser-decoder's audio sink, each
 * output (a continuous piece of a track on the producer timeline) handed
 * out as one numpy array of shape (samples, channels).
 *
 * The sink's callbacks run without the GIL (the reader is pushed with it
 * released): on_pcm appends to the output's own malloc'd buffer, grown by
 * doubling with overflow checks; on_end moves the buffer and a copy of the
 * output's metadata to the done queue. With the GIL back, each buffer
 * becomes the memory of its array (freed with it), so PCM is copied once
 * after the sink. An output stays in memory until it ends (a gap over
 * split_on_gap_ms, a change of format, the end of input). Its gaps (silence
 * inserted) are listed as `kvsp audio`'s index line lists them: the first
 * AUDIO_MAX_LISTED_GAPS, the counts covering all. */
#include "native.h"

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvsparser/audio.h"
#include "kvsparser/reader.h"
#include "kvsparser/visitor.h"

/* As tools/kvsp/audio_extract.c's index line lists them. */
#define AUDIO_MAX_LISTED_GAPS 1000
/* Codec overrides of one sink (the CLI takes as many). */
#define AUDIO_MAX_OVERRIDES 16

typedef struct {
    const kvsp_audio_output *out; /* the sink's, stable while it is open; NULL once ended */
    kvsp_audio_output meta;       /* copied at its end; strings below */
    char track_name[256], codec_id[64], source_codec[32];
    char first_fragment_number[KVSP_FRAGMENT_NUMBER_MAX + 1];
    int has_track_name, has_first_fragment_number;
    uint8_t *pcm;
    size_t len, cap; /* bytes */
    kvsp_audio_gap *gaps;
    size_t gap_count, gap_cap;
    uint64_t ended; /* its place in the order of ends (1, 2, ...); 0 while open */
} audio_buf;

typedef struct {
    PyObject_HEAD kvsp_reader *reader;
    kvsp_audio_sink *sink;
    kvsp_visitor visitor;
    audio_buf *bufs; /* open and ended (not yet taken) outputs, in order of their start */
    size_t count, cap;
    uint64_t ends; /* outputs ended so far */
    int nomem, finished, busy;
    int error;
    int64_t error_offset;
    char error_message[512];
    char track_name[256], contact_id[256];
    kvsp_audio_codec_override overrides[AUDIO_MAX_OVERRIDES];
    char override_names[AUDIO_MAX_OVERRIDES][256], override_codecs[AUDIO_MAX_OVERRIDES][64];
    size_t override_count;
} audio_obj;

static audio_buf *find_open(audio_obj *a, const kvsp_audio_output *out)
{
    for (size_t i = 0; i < a->count; i++)
        if (a->bufs[i].out == out)
            return &a->bufs[i];
    return NULL;
}

static int on_start(void *user, const kvsp_audio_output *out)
{
    audio_obj *a = user;
    if (a->count == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4;
        audio_buf *b = realloc(a->bufs, cap * sizeof *b);
        if (!b)
            return KVSP_ERR_NOMEM;
        a->bufs = b;
        a->cap = cap;
    }
    audio_buf *b = &a->bufs[a->count++];
    memset(b, 0, sizeof *b);
    b->out = out;
    return KVSP_OK;
}

static int on_pcm(void *user, const kvsp_audio_output *out, const uint8_t *data, size_t samples)
{
    audio_buf *b = find_open(user, out);
    size_t frame = (size_t)out->bytes_per_sample * (size_t)out->channels;
    if (!b || (frame && samples > SIZE_MAX / frame))
        return KVSP_ERR_NOMEM; /* more than memory can hold */
    size_t n = samples * frame;
    if (n > SIZE_MAX - b->len)
        return KVSP_ERR_NOMEM; /* more than memory can hold */
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n)
            cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
        uint8_t *p = realloc(b->pcm, cap);
        if (!p)
            return KVSP_ERR_NOMEM;
        b->pcm = p;
        b->cap = cap;
    }
    memcpy(b->pcm + b->len, data, n);
    b->len += n;
    return KVSP_OK;
}

static int on_gap(void *user, const kvsp_audio_output *out, const kvsp_audio_gap *g)
{
    audio_buf *b = find_open(user, out);
    if (!b || g->overlap || b->gap_count >= AUDIO_MAX_LISTED_GAPS)
        return KVSP_OK;
    if (b->gap_count == b->gap_cap) {
        size_t cap = b->gap_cap ? 2 * b->gap_cap : 16;
        kvsp_audio_gap *bigger = realloc(b->gaps, cap * sizeof *bigger);
        if (!bigger)
            return KVSP_ERR_NOMEM;
        b->gaps = bigger;
        b->gap_cap = cap;
    }
    b->gaps[b->gap_count++] = *g;
    return KVSP_OK;
}

static void copy_str(char *dst, size_t size, const char *src, int *has)
{
    if (has)
        *has = src != NULL;
    snprintf(dst, size, "%s", src ? src : "");
}

static int on_end(void *user, const kvsp_audio_output *out)
{
    audio_obj *a = user;
    audio_buf *b = find_open(a, out);
    if (!b)
        return KVSP_ERR_INVALID_ARG;
    b->ended = ++a->ends;
    b->meta = *out;
    copy_str(b->track_name, sizeof b->track_name, out->track_name, &b->has_track_name);
    copy_str(b->codec_id, sizeof b->codec_id, out->codec_id, NULL);
    copy_str(b->source_codec, sizeof b->source_codec, out->source_codec, NULL);
    copy_str(b->first_fragment_number, sizeof b->first_fragment_number, out->first_fragment_number,
             &b->has_first_fragment_number);
    b->meta.track_name = b->meta.codec_id = b->meta.source_codec = NULL;
    b->meta.first_fragment_number = NULL;
    b->out = NULL; /* the sink reuses or frees it after this returns */
    return KVSP_OK;
}

static void free_pcm(PyObject *capsule)
{
    free(PyCapsule_GetPointer(capsule, "kvsp.pcm"));
}

/* The words of `kvsp audio`'s index (tools/kvsp/audio_extract.c). */
static const char *const source_names[] = {"copied", "connect-l16", "override", "decoded"};
static const char *const format_names[] = {"s16", "s32", "f32"};

static PyObject *opt_ms(int present, double ms)
{
    if (!present)
        Py_RETURN_NONE;
    return kvsp_py_ms(ms);
}

static PyObject *gap_list(const audio_buf *b)
{
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list && i < b->gap_count; i++) {
        const kvsp_audio_gap *g = &b->gaps[i];
        PyObject *d =
            Py_BuildValue("{sKsKsNsN}", "position", (unsigned long long)g->position, "samples",
                          (unsigned long long)g->samples, "ms", kvsp_py_ms(g->ms),
                          "producer_timestamp_ms", kvsp_py_ms(g->producer_ms));
        if (!d || PyList_Append(list, d) < 0)
            Py_CLEAR(list);
        Py_XDECREF(d);
    }
    return list;
}

/* (metadata dict, array) of an ended output; takes its buffer. */
static PyObject *output_tuple(audio_buf *b)
{
    const kvsp_audio_output *m = &b->meta;
    int fmt = (unsigned)m->sample_format < 3 ? (int)m->sample_format : 0;
    int type = fmt == KVSP_AUDIO_S16 ? NPY_INT16 : fmt == KVSP_AUDIO_S32 ? NPY_INT32 : NPY_FLOAT32;
    npy_intp dims[2] = {(npy_intp)m->samples, m->channels};
    size_t frame = (size_t)m->bytes_per_sample * (size_t)m->channels;
    if (frame && b->len / frame < m->samples)
        dims[0] = (npy_intp)(b->len / frame); /* what was handed out, whatever the count says */
    void *mem = b->pcm ? b->pcm : malloc(1);
    b->pcm = NULL;
    PyObject *capsule = mem ? PyCapsule_New(mem, "kvsp.pcm", free_pcm) : NULL;
    if (!capsule) {
        free(mem);
        return mem ? NULL : PyErr_NoMemory();
    }
    PyObject *arr = PyArray_SimpleNewFromData(2, dims, type, mem);
    if (!arr || PyArray_SetBaseObject((PyArrayObject *)arr, capsule) < 0) {
        Py_XDECREF(arr);
        Py_DECREF(capsule);
        return NULL;
    }
    int hp = (m->present & KVSP_AUDIO_HAS_PRODUCER_TIME) != 0;
    int hs = (m->present & KVSP_AUDIO_HAS_SERVER_TIME) != 0;
    unsigned src = (unsigned)m->source < 4 ? (unsigned)m->source : 3;
    PyObject *meta = Py_BuildValue(
        "{sKsNsssssssKsisisisisssNsNsNsNsNsNsNsKsKsKsKsKsKsN}", "track",
        (unsigned long long)m->track, "track_name",
        b->has_track_name ? PyUnicode_FromString(b->track_name) : Py_NewRef(Py_None), "codec_id",
        b->codec_id, "source", source_names[src], "source_codec", b->source_codec, "index",
        (unsigned long long)m->index, "sample_rate", m->sample_rate, "channels", m->channels,
        "source_sample_rate", m->source_sample_rate, "source_channels", m->source_channels,
        "sample_format", format_names[fmt], "first_producer_timestamp_ms",
        opt_ms(hp, m->first_producer_ms), "last_producer_timestamp_ms",
        opt_ms(hp, m->last_producer_ms), "first_server_timestamp_ms",
        opt_ms(hs, m->first_server_ms), "last_server_timestamp_ms", opt_ms(hs, m->last_server_ms),
        "first_pts_ms", kvsp_py_ms(m->first_pts_ms), "last_pts_ms", kvsp_py_ms(m->last_pts_ms),
        "first_fragment_number",
        b->has_first_fragment_number ? PyUnicode_FromString(b->first_fragment_number)
                                     : Py_NewRef(Py_None),
        "samples", (unsigned long long)m->samples, "blocks", (unsigned long long)m->blocks, "gaps",
        (unsigned long long)m->gaps, "gap_samples", (unsigned long long)m->gap_samples, "overlaps",
        (unsigned long long)m->overlaps, "overlap_samples", (unsigned long long)m->overlap_samples,
        "gap_list", gap_list(b));
    if (!meta) {
        Py_DECREF(arr);
        return NULL;
    }
    return Py_BuildValue("(NN)", meta, arr);
}

/* The ended outputs as (metadata, array) pairs, in the order they ended
 * (the order `kvsp audio` writes its index lines, whatever the chunking);
 * the open ones stay. */
static PyObject *take_ended(audio_obj *a)
{
    PyObject *list = PyList_New(0);
    for (;;) {
        audio_buf *next = NULL; /* the earliest ended of those left */
        for (size_t i = 0; i < a->count; i++)
            if (!a->bufs[i].out && a->bufs[i].ended && (!next || a->bufs[i].ended < next->ended))
                next = &a->bufs[i];
        if (!next)
            break;
        PyObject *t = list ? output_tuple(next) : NULL;
        if (!t || PyList_Append(list, t) < 0)
            Py_CLEAR(list);
        Py_XDECREF(t);
        free(next->pcm);
        free(next->gaps);
        next->pcm = NULL;
        next->gaps = NULL;
        next->ended = 0; /* taken */
    }
    size_t kept = 0;
    for (size_t i = 0; i < a->count; i++)
        if (a->bufs[i].out)
            a->bufs[kept++] = a->bufs[i];
    a->count = kept;
    return list;
}

static void note_error(audio_obj *a, int st)
{
    if (a->error)
        return;
    a->error = st;
    a->error_offset = (int64_t)kvsp_reader_error_offset(a->reader);
    const char *msg = kvsp_audio_sink_error(a->sink) != KVSP_OK
                          ? kvsp_audio_sink_error_message(a->sink)
                          : kvsp_reader_error_message(a->reader);
    snprintf(a->error_message, sizeof a->error_message, "%s", msg ? msg : "");
}

/* overrides: a sequence of (track name or None, track number, CodecID,
 * sample rate, channels, bit depth), copied into a (the sink keeps the
 * pointers). */
static int parse_overrides(audio_obj *a, PyObject *seq_obj)
{
    if (!seq_obj || seq_obj == Py_None)
        return 0;
    PyObject *seq = PySequence_Fast(seq_obj, "overrides must be a sequence of tuples");
    if (!seq)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > AUDIO_MAX_OVERRIDES) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "at most %d codec overrides", AUDIO_MAX_OVERRIDES);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        kvsp_audio_codec_override *o = &a->overrides[i];
        const char *name = NULL, *codec = NULL;
        unsigned long long number = 0;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "zKsiii;bad codec override", &name,
                              &number, &codec, &o->sample_rate, &o->channels, &o->bit_depth)) {
            Py_DECREF(seq);
            return -1;
        }
        if (name) {
            snprintf(a->override_names[i], sizeof a->override_names[i], "%s", name);
            o->track_name = a->override_names[i];
        }
        o->track_number = number;
        snprintf(a->override_codecs[i], sizeof a->override_codecs[i], "%s", codec);
        o->codec_id = a->override_codecs[i];
    }
    a->override_count = (size_t)n;
    Py_DECREF(seq);
    return 0;
}

static int audio_init(PyObject *self, PyObject *args, PyObject *kw)
{
    audio_obj *a = (audio_obj *)self;
    static char *names[] = {"track",         "track_name", "sample_rate",    "channels",
                            "sample_format", "split_ms",   "resync",         "max_element_size",
                            "contact_id",    "window",     "window_from_ms", "window_to_ms",
                            "overrides",     NULL};
    unsigned long long track = 0, max_element = 0;
    const char *track_name = NULL, *contact_id = NULL;
    int rate = 0, channels = 0, format = 0, resync = 0, window = KVSP_WINDOW_NONE;
    double split = 0, window_from = 0, window_to = 0;
    PyObject *overrides = NULL;
    if (a->reader) {
        PyErr_SetString(PyExc_RuntimeError, "AudioSink is already initialized");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$KziiidpKziddO", names, &track, &track_name, &rate,
                                     &channels, &format, &split, &resync, &max_element, &contact_id,
                                     &window, &window_from, &window_to, &overrides) ||
        parse_overrides(a, overrides) < 0)
        return -1;
    if (format < KVSP_AUDIO_S16 || format > KVSP_AUDIO_F32 || rate < 0 || channels < 0) {
        PyErr_SetString(PyExc_ValueError, "bad sample_format, sample_rate or channels");
        return -1;
    }
    kvsp_reader_options ro = {{0, max_element, 0}, resync};
    kvsp_audio_options o;
    memset(&o, 0, sizeof o);
    o.track = track;
    if (track_name) {
        snprintf(a->track_name, sizeof a->track_name, "%s", track_name);
        o.track_name = a->track_name; /* the sink keeps the pointer */
    }
    if (contact_id) {
        snprintf(a->contact_id, sizeof a->contact_id, "%s", contact_id);
        o.contact_id = a->contact_id; /* the sink keeps the pointer */
    }
    o.overrides = a->overrides;
    o.override_count = a->override_count;
    o.window = (kvsp_window)window;
    o.window_from_ms = window_from;
    o.window_to_ms = window_to;
    o.sample_rate = rate;
    o.channels = channels;
    o.sample_format = (kvsp_audio_sample_format)format;
    o.split_on_gap_ms = split;
    o.on_start = on_start;
    o.on_pcm = on_pcm;
    o.on_gap = on_gap;
    o.on_end = on_end;
    o.user = a;
    a->reader = kvsp_reader_create(&ro);
    a->sink = a->reader ? kvsp_audio_sink_create(NULL, &o) : NULL;
    if (!a->sink) {
        PyErr_SetString(PyExc_ValueError,
                        "cannot create the audio sink (bad options or out of memory)");
        return -1;
    }
    a->visitor = kvsp_audio_sink_visitor(a->sink);
    return 0;
}

static void audio_dealloc(PyObject *self)
{
    audio_obj *a = (audio_obj *)self;
    kvsp_audio_sink_destroy(a->sink);
    kvsp_reader_destroy(a->reader);
    for (size_t i = 0; i < a->count; i++) {
        free(a->bufs[i].pcm);
        free(a->bufs[i].gaps);
    }
    free(a->bufs);
    Py_TYPE(self)->tp_free(self);
}

static int check_usable(audio_obj *a)
{
    if (!a->reader || a->busy) {
        PyErr_SetString(PyExc_RuntimeError, a->reader ? "AudioSink is in use by another thread"
                                                      : "AudioSink is not initialized");
        return -1;
    }
    return 0;
}

/* Runs the reader over data (NULL: finishing) with the GIL released. */
static PyObject *run(audio_obj *a, const void *data, size_t len, int finishing)
{
    int st;
    a->busy = 1;
    Py_BEGIN_ALLOW_THREADS if (!finishing)
    {
        st = kvsp_reader_push(a->reader, data, len, &a->visitor);
    }
    else
    {
        kvsp_reader_finish(a->reader);
        st = kvsp_reader_run(a->reader, &a->visitor);
        int drained = kvsp_audio_sink_finish(a->sink);
        if (st >= 0 && drained < 0)
            st = drained;
    }
    Py_END_ALLOW_THREADS a->busy = 0;
    if (st < 0)
        note_error(a, st);
    return take_ended(a);
}

static PyObject *raise_pending(audio_obj *a)
{
    return kvsp_py_raise(a->error, a->error_offset, a->error_message);
}

static PyObject *audio_feed(PyObject *self, PyObject *arg)
{
    audio_obj *a = (audio_obj *)self;
    if (check_usable(a) < 0)
        return NULL;
    if (a->error)
        return raise_pending(a);
    if (a->finished)
        return PyErr_Format(PyExc_RuntimeError, "feed() after finish()");
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *r = run(a, view.buf, (size_t)view.len, 0);
    PyBuffer_Release(&view);
    return r;
}

static PyObject *audio_finish(PyObject *self, PyObject *unused)
{
    (void)unused;
    audio_obj *a = (audio_obj *)self;
    if (check_usable(a) < 0)
        return NULL;
    if (a->error)
        return raise_pending(a);
    if (a->finished)
        return PyList_New(0);
    a->finished = 1;
    return run(a, NULL, 0, 1);
}

static PyObject *audio_check(PyObject *self, PyObject *unused)
{
    (void)unused;
    audio_obj *a = (audio_obj *)self;
    if (a->error)
        return raise_pending(a);
    Py_RETURN_NONE;
}

static PyObject *get_stats(PyObject *self, void *unused)
{
    (void)unused;
    audio_obj *a = (audio_obj *)self;
    if (!a->sink)
        Py_RETURN_NONE;
    const kvsp_audio_stats *s = kvsp_audio_sink_stats(a->sink);
    return Py_BuildValue("{sKsKsKsKsK}", "frames", s->frames, "placed", s->placed, "filtered",
                         s->filtered, "corrupt", s->corrupt, "outputs", s->outputs);
}

/* wav_header(sample_rate, channels, bytes_per_sample, is_float, data_bytes):
 * the library's WAV header (kvsp_audio_wav_header), as bytes. */
static PyObject *wav_header(PyObject *self, PyObject *args)
{
    (void)self;
    int rate, channels, bytes, is_float;
    unsigned long long data;
    if (!PyArg_ParseTuple(args, "iiipK", &rate, &channels, &bytes, &is_float, &data))
        return NULL;
    uint8_t h[KVSP_WAV_HEADER_MAX];
    size_t size;
    if (kvsp_audio_wav_header(h, rate, channels, bytes, is_float, data, &size) != KVSP_OK)
        return PyErr_Format(PyExc_ValueError,
                            "no WAV header for %d Hz, %d channels, %d-byte %s samples", rate,
                            channels, bytes, is_float ? "float" : "integer");
    return PyBytes_FromStringAndSize((const char *)h, (Py_ssize_t)size);
}

static PyMethodDef module_functions[] = {
    {"wav_header", wav_header, METH_VARARGS,
     "wav_header(sample_rate, channels, bytes_per_sample, is_float, data_bytes): bytes."},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef audio_methods[] = {
    {"feed", audio_feed, METH_O, "feed(chunk): the outputs it ended, as (metadata, array)."},
    {"finish", audio_finish, METH_NOARGS, "finish(): end of input; the remaining outputs."},
    {"check", audio_check, METH_NOARGS, "check(): raises the error of the last call."},
    {"__reduce__", kvsp_py_no_pickle, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef audio_getset[] = {
    {"stats", get_stats, NULL, "frames, placed, filtered, corrupt, outputs", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject audio_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "kvsp._native.AudioSink",
    .tp_basicsize = sizeof(audio_obj),
    .tp_dealloc = audio_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A reader with the audio sink (use kvsp.audio).",
    .tp_methods = audio_methods,
    .tp_getset = audio_getset,
    .tp_init = audio_init,
    .tp_new = PyType_GenericNew,
};

int kvsp_py_add_audio(PyObject *module)
{
    if (_import_array() < 0 || PyType_Ready(&audio_type) < 0)
        return -1;
    if (PyModule_AddFunctions(module, module_functions) < 0 ||
        PyModule_AddIntConstant(module, "WINDOW_PRODUCER", KVSP_WINDOW_PRODUCER) < 0 ||
        PyModule_AddIntConstant(module, "WINDOW_SERVER", KVSP_WINDOW_SERVER) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "AudioSink", (PyObject *)&audio_type);
}
