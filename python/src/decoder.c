/* The Decoder type: a reader with libkvsparser's frame decoder, pictures
 * handed out as numpy arrays.
 *
 * The decoder's callback runs without the GIL (the library parses and
 * decodes with it released): it copies each picture, in the asked pixel
 * format and size, into one malloc'd block and queues it. With the GIL back,
 * each block becomes the memory of numpy arrays (freed with the last of
 * them), so a picture is copied once. The queue holds what one chunk
 * yields, so memory stays bounded by the chunk size. */
#include "native.h"

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvsparser/decoder.h"
#include "kvsparser/reader.h"
#include "kvsparser/visitor.h"

typedef struct {
    uint8_t *pixels; /* planes one after the other, rows without padding */
    int width, height, format;
    int plane_w[3], plane_h[3], planes;
    uint64_t track, fragment_index, index;
    int has_number, keyframe;
    uint32_t present;
    double pts_ms, producer_ms, server_ms;
    char number[KVSP_FRAGMENT_NUMBER_MAX + 1];
} picture_rec;

typedef struct {
    PyObject_HEAD kvsp_reader *reader;
    kvsp_decoder *decoder;
    kvsp_visitor visitor;
    int format;
    picture_rec *queue;
    size_t count, cap;
    int nomem, finished, busy;
    int error, error_is_decoder;
    int64_t error_offset;
    char error_message[512];
} decoder_obj;

/* Planes of the output formats: count and per-plane size. */
static int plane_layout(int format, int w, int h, int pw[3], int ph[3])
{
    switch (format) {
    case KVSP_PIX_RGB24:
    case KVSP_PIX_BGR24: pw[0] = w * 3, ph[0] = h; return 1;
    case KVSP_PIX_GRAY8: pw[0] = w, ph[0] = h; return 1;
    default: /* yuv420p: chroma rounded up, as libavutil does */
        pw[0] = w, ph[0] = h;
        pw[1] = pw[2] = (w + 1) / 2;
        ph[1] = ph[2] = (h + 1) / 2;
        return 3;
    }
}

static int on_picture(void *user, const kvsp_picture *pic)
{
    decoder_obj *d = user;
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        picture_rec *q = realloc(d->queue, cap * sizeof *q);
        if (!q)
            return KVSP_ERR_NOMEM;
        d->queue = q;
        d->cap = cap;
    }
    picture_rec *r = &d->queue[d->count];
    memset(r, 0, sizeof *r);
    r->width = pic->width;
    r->height = pic->height;
    r->format = d->format;
    r->planes = plane_layout(d->format, pic->width, pic->height, r->plane_w, r->plane_h);
    size_t total = 0;
    for (int i = 0; i < r->planes; i++)
        total += (size_t)r->plane_w[i] * (size_t)r->plane_h[i];
    r->pixels = kvsp_py_pixels_alloc(total);
    if (!r->pixels)
        return KVSP_ERR_NOMEM;
    uint8_t *out = r->pixels;
    for (int i = 0; i < r->planes; i++) {
        size_t row = (size_t)r->plane_w[i], rows = (size_t)r->plane_h[i];
        if (pic->strides[i] == r->plane_w[i]) {
            memcpy(out, pic->planes[i], row * rows); /* rows without padding: one copy */
            out += row * rows;
            continue;
        }
        for (size_t y = 0; y < rows; y++, out += row)
            memcpy(out, pic->planes[i] + y * (size_t)pic->strides[i], row);
    }
    r->track = pic->track;
    r->fragment_index = pic->fragment_index;
    r->index = pic->index;
    r->keyframe = pic->keyframe;
    r->present = pic->present;
    r->pts_ms = pic->pts_ms;
    r->producer_ms = pic->producer_timestamp_ms;
    r->server_ms = pic->server_timestamp_ms;
    if (pic->fragment_number) {
        r->has_number = 1;
        snprintf(r->number, sizeof r->number, "%s", pic->fragment_number);
    }
    d->count++;
    return KVSP_OK;
}

static void free_pixels(PyObject *capsule)
{
    kvsp_py_pixels_free(PyCapsule_GetPointer(capsule, "kvsp.pixels"));
}

static PyObject *optional_ms(int present, double ms)
{
    if (!present)
        Py_RETURN_NONE;
    return kvsp_py_ms(ms);
}

/* (planes, metadata) of a queued picture; takes its pixels. planes is an
 * array, or a tuple of three for yuv420p. */
static PyObject *picture_tuple(picture_rec *r)
{
    PyObject *capsule = PyCapsule_New(r->pixels, "kvsp.pixels", free_pixels);
    if (!capsule) {
        kvsp_py_pixels_free(r->pixels);
        r->pixels = NULL;
        return NULL;
    }
    uint8_t *base = r->pixels;
    r->pixels = NULL;
    PyObject *arrays[3] = {NULL, NULL, NULL};
    size_t at = 0;
    int ok = 1;
    for (int i = 0; i < r->planes && ok; i++) {
        int rgb = r->format == KVSP_PIX_RGB24 || r->format == KVSP_PIX_BGR24;
        npy_intp dims[3] = {r->plane_h[i], rgb ? r->plane_w[i] / 3 : r->plane_w[i], 3};
        arrays[i] = PyArray_SimpleNewFromData(rgb ? 3 : 2, dims, NPY_UINT8, base + at);
        at += (size_t)r->plane_w[i] * (size_t)r->plane_h[i];
        if (!arrays[i] || PyArray_SetBaseObject((PyArrayObject *)arrays[i], Py_NewRef(capsule)) < 0)
            ok = 0;
    }
    Py_DECREF(capsule);
    PyObject *planes = NULL;
    if (ok)
        planes = r->planes == 1 ? Py_NewRef(arrays[0])
                                : PyTuple_Pack(3, arrays[0], arrays[1], arrays[2]);
    for (int i = 0; i < 3; i++)
        Py_XDECREF(arrays[i]);
    if (!planes)
        return NULL;
    PyObject *number = r->has_number ? kvsp_py_cstring(r->number) : Py_NewRef(Py_None);
    return Py_BuildValue("(N(KKNNNNNKii))", planes, r->track, r->fragment_index, number,
                         PyBool_FromLong(r->keyframe),
                         optional_ms(r->present & KVSP_FRAME_HAS_PTS, r->pts_ms),
                         optional_ms(r->present & KVSP_FRAME_HAS_PRODUCER_TIME, r->producer_ms),
                         optional_ms(r->present & KVSP_FRAME_HAS_SERVER_TIME, r->server_ms),
                         r->index, r->width, r->height);
}

/* The queued pictures as a list, emptying the queue. */
static PyObject *take_queue(decoder_obj *d)
{
    PyObject *list = PyList_New(0);
    for (size_t i = 0; i < d->count; i++) {
        PyObject *t = list ? picture_tuple(&d->queue[i]) : NULL;
        if (!t || PyList_Append(list, t) < 0)
            Py_CLEAR(list);
        Py_XDECREF(t);
    }
    for (size_t i = 0; i < d->count; i++)
        kvsp_py_pixels_free(d->queue[i].pixels);
    d->count = 0;
    return list;
}

static void note_error(decoder_obj *d, int st)
{
    if (d->error)
        return;
    d->error = st;
    d->error_offset = (int64_t)kvsp_reader_error_offset(d->reader);
    d->error_is_decoder = kvsp_decoder_error(d->decoder) != KVSP_OK;
    const char *msg = d->error_is_decoder ? kvsp_decoder_error_message(d->decoder)
                                          : kvsp_reader_error_message(d->reader);
    snprintf(d->error_message, sizeof d->error_message, "%s", msg ? msg : "");
}

static int decoder_init(PyObject *self, PyObject *args, PyObject *kw)
{
    decoder_obj *d = (decoder_obj *)self;
    static char *names[] = {
        "track",   "pixel_format",   "width",        "height", "sampling",
        "every_n", "interval_ms",    "threads",      "resync", "max_element_size",
        "window",  "window_from_ms", "window_to_ms", NULL};
    unsigned long long track = 0, every_n = 0, max_element = 0;
    int format = KVSP_PIX_RGB24, width = 0, height = 0, sampling = 0, threads = 0, resync = 0;
    double interval = 0, window_from = 0, window_to = 0;
    int window = KVSP_WINDOW_NONE;
    if (d->reader) {
        PyErr_SetString(PyExc_RuntimeError, "Decoder is already initialized");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$KiiiiKdipKidd", names, &track, &format, &width,
                                     &height, &sampling, &every_n, &interval, &threads, &resync,
                                     &max_element, &window, &window_from, &window_to))
        return -1;
    if (format < KVSP_PIX_RGB24 || format > KVSP_PIX_YUV420P) {
        PyErr_SetString(PyExc_ValueError, "pixel_format must be one of the PIX_* constants");
        return -1;
    }
    kvsp_reader_options ro = {{0, max_element, 0}, resync};
    kvsp_decode_options o;
    memset(&o, 0, sizeof o);
    o.track = track;
    o.pixel_format = (kvsp_pixel_format)format;
    o.width = width;
    o.height = height;
    o.sampling = (kvsp_sampling)sampling;
    o.every_n = every_n;
    o.interval_ms = interval;
    o.threads = threads;
    o.window = (kvsp_window)window; /* --from/--to: pictures of [from, to] */
    o.window_from_ms = window_from;
    o.window_to_ms = window_to;
    o.on_picture = on_picture;
    o.user = d;
    d->format = format;
    d->reader = kvsp_reader_create(&ro);
    d->decoder = d->reader ? kvsp_decoder_create(NULL, &o) : NULL;
    if (!d->decoder) {
        PyErr_SetString(PyExc_ValueError,
                        "cannot create the decoder (bad options or out of memory)");
        return -1;
    }
    d->visitor = kvsp_decoder_visitor(d->decoder);
    return 0;
}

static void decoder_dealloc(PyObject *self)
{
    decoder_obj *d = (decoder_obj *)self;
    for (size_t i = 0; i < d->count; i++)
        kvsp_py_pixels_free(d->queue[i].pixels);
    free(d->queue);
    kvsp_decoder_destroy(d->decoder);
    kvsp_reader_destroy(d->reader);
    Py_TYPE(self)->tp_free(self);
}

static int check_usable(decoder_obj *d)
{
    if (!d->reader) {
        PyErr_SetString(PyExc_RuntimeError, "Decoder is not initialized");
        return -1;
    }
    if (d->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Decoder is in use by another thread");
        return -1;
    }
    return 0;
}

/* Runs the reader over data (NULL: finishing) with the GIL released. */
static PyObject *run(decoder_obj *d, const void *data, size_t len, int finishing)
{
    int st;
    d->busy = 1;
    Py_BEGIN_ALLOW_THREADS if (!finishing)
    {
        st = kvsp_reader_push(d->reader, data, len, &d->visitor);
    }
    else
    {
        kvsp_reader_finish(d->reader);
        st = kvsp_reader_run(d->reader, &d->visitor);
        int drained = kvsp_decoder_finish(d->decoder);
        if (st >= 0 && drained < 0)
            st = drained;
    }
    Py_END_ALLOW_THREADS d->busy = 0;
    if (st < 0)
        note_error(d, st);
    return take_queue(d);
}

static PyObject *raise_pending(decoder_obj *d)
{
    if (d->error_is_decoder)
        return kvsp_py_raise_decoder(d->error, d->error_offset, d->error_message);
    return kvsp_py_raise(d->error, d->error_offset, d->error_message);
}

static PyObject *decoder_feed(PyObject *self, PyObject *arg)
{
    decoder_obj *d = (decoder_obj *)self;
    if (check_usable(d) < 0)
        return NULL;
    if (d->error)
        return raise_pending(d);
    if (d->finished)
        return PyErr_Format(PyExc_RuntimeError, "feed() after finish()");
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *r = run(d, view.buf, (size_t)view.len, 0);
    PyBuffer_Release(&view);
    return r;
}

static PyObject *decoder_finish(PyObject *self, PyObject *unused)
{
    (void)unused;
    decoder_obj *d = (decoder_obj *)self;
    if (check_usable(d) < 0)
        return NULL;
    if (d->error)
        return raise_pending(d);
    if (d->finished)
        return PyList_New(0);
    d->finished = 1;
    return run(d, NULL, 0, 1);
}

static PyObject *decoder_check(PyObject *self, PyObject *unused)
{
    (void)unused;
    decoder_obj *d = (decoder_obj *)self;
    if (d->error)
        return raise_pending(d);
    Py_RETURN_NONE;
}

static PyObject *get_stats(PyObject *self, void *unused)
{
    (void)unused;
    decoder_obj *d = (decoder_obj *)self;
    if (!d->decoder)
        Py_RETURN_NONE;
    const kvsp_decode_stats *s = kvsp_decoder_stats(d->decoder);
    return Py_BuildValue("{sKsKsKsKsKsKsK}", "frames", s->frames, "decoded", s->decoded,
                         "delivered", s->delivered, "skipped_to_keyframe", s->skipped_to_keyframe,
                         "not_decoded", s->not_decoded, "corrupt", s->corrupt, "reopened",
                         s->reopened);
}

static PyMethodDef decoder_methods[] = {
    {"feed", decoder_feed, METH_O,
     "Decodes what the chunk completes: a list of (planes, metadata) tuples. A failure is raised by the next "
     "call, after the pictures before it were returned."},
    {"finish", decoder_finish, METH_NOARGS, "End of input: the pictures the decoder still holds."},
    {"check", decoder_check, METH_NOARGS, "Raises the run's error, if any."},
    {"__reduce__", kvsp_py_no_pickle, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef decoder_getset[] = {
    {"stats", get_stats, NULL, "the decoder's counts", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject decoder_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "kvsp._native.Decoder",
    .tp_basicsize = sizeof(decoder_obj),
    .tp_dealloc = decoder_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Reader + frame decoder of libkvsparser (use kvsp.Decoder).",
    .tp_methods = decoder_methods,
    .tp_getset = decoder_getset,
    .tp_init = decoder_init,
    .tp_new = PyType_GenericNew,
};

int kvsp_py_add_decoder(PyObject *module)
{
    if (_import_array() < 0)
        return -1;
    if (PyType_Ready(&decoder_type) < 0)
        return -1;
    if (PyModule_AddIntConstant(module, "PIX_RGB24", KVSP_PIX_RGB24) < 0 ||
        PyModule_AddIntConstant(module, "PIX_BGR24", KVSP_PIX_BGR24) < 0 ||
        PyModule_AddIntConstant(module, "PIX_GRAY8", KVSP_PIX_GRAY8) < 0 ||
        PyModule_AddIntConstant(module, "PIX_YUV420P", KVSP_PIX_YUV420P) < 0 ||
        PyModule_AddIntConstant(module, "SAMPLE_ALL", KVSP_SAMPLE_ALL) < 0 ||
        PyModule_AddIntConstant(module, "SAMPLE_EVERY_N", KVSP_SAMPLE_EVERY_N) < 0 ||
        PyModule_AddIntConstant(module, "SAMPLE_INTERVAL", KVSP_SAMPLE_INTERVAL) < 0 ||
        PyModule_AddIntConstant(module, "SAMPLE_KEYFRAMES", KVSP_SAMPLE_KEYFRAMES) < 0)
        return -1;
    if (PyModule_AddIntConstant(module, "have_decoder", 1) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "Decoder", (PyObject *)&decoder_type) < 0)
        return -1;
    return kvsp_py_add_audio(module); /* the audio sink is in the same library */
}
