/* The Parser type: a reader with the fragment and frame visitors, fed
 * chunks and stepped one item at a time.
 *
 * The visitors' callbacks run without the GIL: they only note what is
 * ready. Releasing and taking back the GIL for every frame cost about as
 * much as parsing it, so a run goes on over a whole chunk: a frame whose
 * data lies in the fed chunk (which stays held until every frame of it was
 * handed out) is copied into a batch and the run continues. The run
 * pauses (KVSP_PAUSED) only where an object needs the paused state: a
 * frame whose data is in the reader's own buffer (a block straddling
 * chunks), the first frame of a fragment with a fragment number (its str
 * is made from the live fragment, then reused), a fragment, or a full
 * batch. next() then builds the Python objects with the GIL held, and a
 * frame's data is handed out zero-copy for that one step. */
#include "native.h"

#include <stdio.h>

#include "kvsparser/fragment.h"
#include "kvsparser/frames.h"
#include "kvsparser/reader.h"
#include "kvsparser/visitor.h"

/* Frames per run at most: bounds the batch (about 40 KB). */
#define BATCH_CAP 256

typedef struct {
    kvsp_frame frame; /* its fragment and track_info pointers are not read */
    uint64_t fragment_index;
    int has_fragment, has_number;
    /* The frame the run paused on (the batch's last) may name its fragment. */
    const kvsp_fragment *live_fragment;
} batched_frame;

typedef struct {
    PyObject_HEAD kvsp_reader *reader;
    kvsp_fragment_visitor *fragments;
    kvsp_frame_visitor *frames; /* NULL when frames are not wanted */
    kvsp_composite *composite;
    kvsp_visitor visitor;
    int want_fragments;
    /* The chunk the reader points into, until consumed: a Python buffer
     * (input_view) or the native file's (file). */
    Py_buffer input;
    const uint8_t *input_buf;
    size_t input_len;
    int input_held, input_view;
    int paused, finishing, final_reported, done, busy;
    batched_frame *batch; /* frames of the last run, handed out from batch_pos */
    size_t batch_len, batch_pos;
    uint64_t parse_number_index; /* the fragment whose number str the batch will reuse */
    int parse_number_set;
    int fragment_ready; /* pending_fragment is delivered after the batch */
    const kvsp_fragment *pending_fragment;
    int have_status, status; /* the last run's result, handled after the batch */
    /* The Frame of the current step, borrowed: a valid frame holds its
     * parser (so the bytes it points into outlive neither), and clears
     * this when it goes first. */
    PyObject *current_frame;
    PyObject *number; /* fragment_number str of number_index, reused by its frames */
    uint64_t number_index;
    /* Iteration in C (tp_iternext), which spares a Python frame per item:
     * source, the iterator of chunks (NULL: only what is ready, for
     * feed()), and convert, called on each fragment dict (NULL: none). */
    PyObject *source, *convert;
    int convert_in_c; /* convert is Fragment._from_dict: the object is made in C */
    int source_ended;
    /* A file read natively instead of source (iterate_file); file.file
     * NULL: none. */
    kvsp_py_file file;
    int error; /* the run's error, raised once the open fragment was delivered */
    int64_t error_offset;
    char error_message[512];
} parser_obj;

static int on_fragment(void *user, const kvsp_fragment *f)
{
    parser_obj *p = user;
    if (!p->want_fragments)
        return KVSP_OK;
    p->fragment_ready = 1;
    p->pending_fragment = f;
    return KVSP_PAUSED;
}

/* Whether the frame's bytes lie in the held input chunk, which outlives
 * the run (not in the reader's buffer, which the next step reuses). */
static int in_input(const parser_obj *p, const kvsp_frame *f)
{
    if (f->size == 0)
        return 1;
    if (!p->input_held)
        return 0;
    uintptr_t start = (uintptr_t)p->input_buf, at = (uintptr_t)f->data;
    return at >= start && at - start <= (uintptr_t)p->input_len &&
           f->size <= (uintptr_t)p->input_len - (at - start);
}

static int on_frame(void *user, const kvsp_frame *f)
{
    parser_obj *p = user;
    batched_frame *b = &p->batch[p->batch_len++];
    b->frame = *f;
    b->frame.fragment = NULL;
    b->frame.track_info = NULL;
    b->has_fragment = f->fragment != NULL;
    b->fragment_index = f->fragment ? f->fragment->index : 0;
    b->has_number = f->fragment && f->fragment->fragment_number;
    b->live_fragment = f->fragment;
    int pause = p->batch_len == BATCH_CAP || !in_input(p, f);
    if (b->has_number && (!p->parse_number_set || p->parse_number_index != b->fragment_index)) {
        p->parse_number_set = 1;
        p->parse_number_index = b->fragment_index;
        pause = 1;
    }
    return pause ? KVSP_PAUSED : KVSP_OK;
}

static void release_input(parser_obj *p)
{
    if (p->input_held && p->input_view)
        PyBuffer_Release(&p->input);
    p->input_held = p->input_view = 0;
}

static int parser_init(PyObject *self, PyObject *args, PyObject *kw)
{
    parser_obj *p = (parser_obj *)self;
    static char *names[] = {"frames",
                            "fragments",
                            "track",
                            "track_type",
                            "resync",
                            "max_depth",
                            "max_element_size",
                            "max_string_size",
                            "max_tracks",
                            "max_tags",
                            "max_metadata_bytes",
                            NULL};
    int want_frames = 1, want_fragments = 1, resync = 0;
    unsigned long long track = 0, track_type = 0, max_element = 0, max_string = 0, max_meta = 0;
    unsigned int max_depth = 0, max_tracks = 0, max_tags = 0;
    if (p->reader) {
        PyErr_SetString(PyExc_RuntimeError, "Parser is already initialized");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$ppKKpIKKIIK", names, &want_frames,
                                     &want_fragments, &track, &track_type, &resync, &max_depth,
                                     &max_element, &max_string, &max_tracks, &max_tags, &max_meta))
        return -1;
    kvsp_reader_options ro = {{max_depth, max_element, max_string}, resync};
    kvsp_fragment_options fo = {on_fragment, p, max_tracks, max_tags, (size_t)max_meta};
    kvsp_frame_options frame_opts = {track, track_type};
    kvsp_visitor sink = {0};
    sink.user = p;
    sink.on_frame = on_frame;
    p->want_fragments = want_fragments;
    p->reader = kvsp_reader_create(&ro);
    p->fragments = kvsp_fragment_visitor_create(&fo);
    if (!p->reader || !p->fragments) {
        PyErr_SetString(PyExc_ValueError, "cannot create the reader (bad limits or out of memory)");
        return -1;
    }
    if (!want_frames) {
        p->visitor = kvsp_fragment_visitor_visitor(p->fragments);
        return 0;
    }
    p->batch = PyMem_RawMalloc(BATCH_CAP * sizeof *p->batch);
    if (!p->batch) {
        PyErr_NoMemory();
        return -1;
    }
    p->frames = kvsp_frame_visitor_create(p->fragments, &frame_opts, &sink);
    kvsp_visitor children[2];
    children[0] = kvsp_fragment_visitor_visitor(p->fragments);
    if (p->frames)
        children[1] = kvsp_frame_visitor_visitor(p->frames);
    p->composite = p->frames ? kvsp_composite_create(children, 2) : NULL;
    if (!p->composite) {
        PyErr_NoMemory();
        return -1;
    }
    p->visitor = kvsp_composite_visitor(p->composite);
    return 0;
}

static void parser_dealloc(PyObject *self)
{
    parser_obj *p = (parser_obj *)self;
    release_input(p);
    Py_XDECREF(p->number);
    Py_XDECREF(p->source);
    Py_XDECREF(p->convert);
    /* An iteration dropped before its end: the file is closed (a path's)
     * or left after what was read, as a dropped generator of its chunks
     * would leave it, not to the file object's own finalizer (which warns). */
    if (p->file.file) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (kvsp_py_file_close(&p->file) < 0)
            PyErr_WriteUnraisable(self);
        PyErr_Restore(type, value, tb);
    }
    kvsp_py_file_clear(&p->file);
    kvsp_composite_destroy(p->composite);
    kvsp_frame_visitor_destroy(p->frames);
    kvsp_fragment_visitor_destroy(p->fragments);
    kvsp_reader_destroy(p->reader);
    PyMem_RawFree(p->batch);
    Py_TYPE(self)->tp_free(self);
}

/* Refuses a call while another thread is inside this parser (the GIL is
 * released while it parses) or before __init__. */
static int check_usable(parser_obj *p)
{
    if (!p->reader) {
        PyErr_SetString(PyExc_RuntimeError, "Parser is not initialized");
        return -1;
    }
    if (p->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Parser is in use by another thread");
        return -1;
    }
    return 0;
}

static int check_feedable(parser_obj *p)
{
    if (check_usable(p) < 0)
        return -1;
    if (p->finishing) {
        PyErr_SetString(PyExc_RuntimeError, "feed() after finish()");
        return -1;
    }
    if (p->paused || p->input_held) {
        PyErr_SetString(
            PyExc_RuntimeError,
            "feed() before the previous chunk was consumed: call next() until it returns None");
        return -1;
    }
    return 0;
}

/* Hands len bytes at buf to the reader, held until consumed; view (or
 * NULL) is their Python buffer, released then (and here when not fed). */
static void feed_bytes(parser_obj *p, const uint8_t *buf, size_t len, Py_buffer *view)
{
    /* An error is sticky: next() reports it. */
    if (len == 0 || kvsp_reader_feed(p->reader, buf, len) < 0) {
        if (view)
            PyBuffer_Release(view);
        return;
    }
    if (view)
        p->input = *view;
    p->input_buf = buf;
    p->input_len = len;
    p->input_view = view != NULL;
    p->input_held = 1;
}

static PyObject *parser_feed(PyObject *self, PyObject *arg)
{
    parser_obj *p = (parser_obj *)self;
    if (check_feedable(p) < 0)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    feed_bytes(p, view.buf, (size_t)view.len, &view);
    Py_RETURN_NONE;
}

static PyObject *parser_finish(PyObject *self, PyObject *unused)
{
    (void)unused;
    parser_obj *p = (parser_obj *)self;
    if (check_usable(p) < 0)
        return NULL;
    if (p->paused || p->input_held)
        return PyErr_Format(
            PyExc_RuntimeError,
            "finish() before the last chunk was consumed: call next() until it returns None");
    if (!p->finishing) {
        p->finishing = 1;
        kvsp_reader_finish(p->reader);
    }
    Py_RETURN_NONE;
}

static PyObject *fragment_number(parser_obj *p, const kvsp_fragment *f)
{
    if (!f || !f->fragment_number)
        Py_RETURN_NONE;
    if (!p->number || p->number_index != f->index) {
        Py_XDECREF(p->number);
        p->number = kvsp_py_cstring(f->fragment_number);
        p->number_index = f->index;
        if (!p->number)
            return NULL;
    }
    return Py_NewRef(p->number);
}

static PyObject *build_frame(parser_obj *p, const batched_frame *b)
{
    PyObject *number;
    if (!b->has_number)
        number = Py_NewRef(Py_None);
    else if (p->number && p->number_index == b->fragment_index)
        number = Py_NewRef(p->number);
    else if (b == &p->batch[p->batch_len - 1])
        /* The first frame of its fragment with a number: the run paused
         * on it (on_frame), so its fragment is still the live one. */
        number = fragment_number(p, b->live_fragment);
    else
        return PyErr_Format(PyExc_SystemError, "kvsp: fragment number of a batched frame lost");
    if (!number)
        return NULL;
    PyObject *frame = kvsp_py_frame_new_copied(&b->frame, b->has_fragment, b->fragment_index,
                                               number, (PyObject *)p, &p->current_frame);
    if (frame)
        p->current_frame = frame;
    return frame;
}

static void note_error(parser_obj *p, int st)
{
    p->error = st;
    p->error_offset = (int64_t)kvsp_reader_error_offset(p->reader);
    const char *msg = kvsp_reader_error_message(p->reader);
    snprintf(p->error_message, sizeof p->error_message, "%s", msg ? msg : "");
}

/* A run's result, handled by next() once the batch was handed out. */
static void note_run(parser_obj *p, int st)
{
    p->paused = st == KVSP_PAUSED;
    p->status = st;
    p->have_status = 1;
}

static PyObject *parser_next(PyObject *self, PyObject *unused)
{
    (void)unused;
    parser_obj *p = (parser_obj *)self;
    if (check_usable(p) < 0)
        return NULL;
    if (p->current_frame && kvsp_py_frame_end_step(p->current_frame) < 0)
        return NULL;
    for (;;) {
        /* What the last run made comes first, in stream order: its frames,
         * then the fragment it paused on, then what its status says. */
        if (p->batch_pos < p->batch_len)
            return build_frame(p, &p->batch[p->batch_pos++]);
        p->batch_pos = p->batch_len = 0;
        if (p->fragment_ready) {
            p->fragment_ready = 0;
            return p->convert_in_c ? kvsp_py_fragment_object(p->pending_fragment)
                                   : kvsp_py_fragment_dict(p->pending_fragment);
        }
        if (p->have_status) {
            int st = p->status;
            p->have_status = 0;
            if (st == KVSP_PAUSED)
                continue;
            /* Every frame pointing into the chunk was handed out. */
            release_input(p);
            if (st == KVSP_NEED_DATA && !p->finishing)
                Py_RETURN_NONE;
            /* The end: done, an error, or (should finish leave any) input wanted. */
            if (st < 0 && !p->error)
                note_error(p, st);
            if (!p->final_reported) {
                p->final_reported = 1;
                if (kvsp_fragment_visitor_finish(p->fragments) == KVSP_PAUSED)
                    continue;
            }
            if (!p->error)
                p->done = 1;
            continue;
        }
        if (p->error && p->final_reported)
            return kvsp_py_raise(p->error, p->error_offset, p->error_message);
        if (p->done || (!p->paused && !p->input_held && !p->finishing))
            Py_RETURN_NONE;
        int st = KVSP_DONE;
        if (!p->error) {
            p->busy = 1;
            Py_BEGIN_ALLOW_THREADS st = kvsp_reader_run(p->reader, &p->visitor);
            Py_END_ALLOW_THREADS p->busy = 0;
        }
        note_run(p, st);
    }
}

/* iterate(source, convert): self, to iterate; source None for what is ready. */
static PyObject *parser_iterate(PyObject *self, PyObject *args)
{
    parser_obj *p = (parser_obj *)self;
    PyObject *source, *convert;
    if (!PyArg_ParseTuple(args, "OO", &source, &convert) || check_usable(p) < 0)
        return NULL;
    if (source != Py_None && !PyIter_Check(source))
        return PyErr_Format(PyExc_TypeError, "source must be an iterator of chunks");
    /* A native file of an earlier iteration ends as at its end. */
    if (p->file.file && kvsp_py_file_close(&p->file) < 0)
        return NULL;
    kvsp_py_file_clear(&p->file);
    Py_XSETREF(p->source, source == Py_None ? NULL : Py_NewRef(source));
    p->convert_in_c = convert == Py_None ? 0 : kvsp_py_fragment_model(convert);
    if (p->convert_in_c < 0)
        return NULL;
    Py_XSETREF(p->convert, convert == Py_None ? NULL : Py_NewRef(convert));
    p->source_ended = p->source == NULL;
    return Py_NewRef(self);
}

/* iterate_file(file, own, chunk_size, convert): self, to iterate over a
 * file read natively (see file_source.c; own: file is a path's opener). */
static PyObject *parser_iterate_file(PyObject *self, PyObject *args)
{
    parser_obj *p = (parser_obj *)self;
    PyObject *file, *convert;
    int own;
    Py_ssize_t chunk_size;
    if (!PyArg_ParseTuple(args, "OpnO", &file, &own, &chunk_size, &convert))
        return NULL;
    PyObject *none = Py_BuildValue("(OO)", Py_None, convert);
    PyObject *r = none ? parser_iterate(self, none) : NULL;
    Py_XDECREF(none);
    if (!r)
        return NULL;
    if (chunk_size <= 0)
        PyErr_SetString(PyExc_ValueError, "chunk_size must be positive");
    if (chunk_size <= 0 || kvsp_py_file_init(&p->file, file, own, (size_t)chunk_size) < 0) {
        Py_DECREF(r);
        return NULL;
    }
    p->source_ended = 0;
    return r;
}

/* Closes the source (a file opened from a path), as the end of input does. */
static PyObject *parser_close(PyObject *self, PyObject *unused)
{
    (void)unused;
    parser_obj *p = (parser_obj *)self;
    PyObject *src = p->source;
    p->source = NULL;
    p->source_ended = 1;
    if (p->file.file && kvsp_py_file_close(&p->file) < 0) {
        Py_XDECREF(src);
        return NULL;
    }
    if (src) {
        PyObject *r = PyObject_HasAttrString(src, "close") ? PyObject_CallMethod(src, "close", NULL)
                                                           : Py_NewRef(Py_None);
        Py_DECREF(src);
        if (!r)
            return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}

/* Called without the GIL after a native file's read: feeds the chunk and
 * runs the reader over it as next() would, in the same release of the
 * GIL instead of a second one. */
static void feed_and_run(void *user, const unsigned char *data, size_t n)
{
    parser_obj *p = user;
    feed_bytes(p, data, n, NULL);
    if (p->input_held && !p->error)
        note_run(p, kvsp_reader_run(p->reader, &p->visitor));
}

/* Feeds the source's next chunk, or at its end closes it and finishes the
 * input. */
static int feed_next(PyObject *self)
{
    parser_obj *p = (parser_obj *)self;
    PyObject *chunk = NULL, *r;
    if (p->file.file) {
        if (check_feedable(p) < 0)
            return -1;
        const unsigned char *data;
        p->busy = 1;
        Py_ssize_t n = kvsp_py_file_read(&p->file, &data, feed_and_run, p);
        p->busy = 0;
        if (n < 0)
            return -1;
        if (n > 0)
            return 0;
    } else if (!(chunk = PyIter_Next(p->source)) && PyErr_Occurred()) {
        return -1;
    }
    if (chunk) {
        r = parser_feed(self, chunk);
        Py_DECREF(chunk);
    } else {
        r = parser_close(self, NULL);
        if (r) {
            Py_DECREF(r);
            r = parser_finish(self, NULL);
        }
    }
    Py_XDECREF(r);
    return r ? 0 : -1;
}

/* The next item; at the end of the source, finishes the input. An
 * exception (a BufferError for a view held past its step) leaves the
 * iteration usable: drop the view and iterate on. */
static PyObject *parser_iternext(PyObject *self)
{
    parser_obj *p = (parser_obj *)self;
    for (;;) {
        PyObject *item = parser_next(self, NULL);
        if (!item)
            return NULL;
        if (item != Py_None) {
            if (!p->convert || !PyDict_CheckExact(item))
                return item;
            PyObject *r = PyObject_CallOneArg(p->convert, item);
            Py_DECREF(item);
            return r;
        }
        Py_DECREF(item);
        if (p->source_ended)
            return NULL; /* StopIteration */
        if (feed_next(self) < 0)
            return NULL;
    }
}

static PyObject *get_offset(PyObject *self, void *unused)
{
    (void)unused;
    parser_obj *p = (parser_obj *)self;
    return PyLong_FromUnsignedLongLong(p->reader ? kvsp_reader_offset(p->reader) : 0);
}

static PyObject *get_done(PyObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((parser_obj *)self)->done);
}

static PyObject *get_token(PyObject *self, void *unused)
{
    (void)unused;
    parser_obj *p = (parser_obj *)self;
    return kvsp_py_cstring(p->fragments ? kvsp_fragment_visitor_continuation_token(p->fragments)
                                        : NULL);
}

static PyObject *get_behind(PyObject *self, void *unused)
{
    (void)unused;
    parser_obj *p = (parser_obj *)self;
    int64_t v = p->fragments ? kvsp_fragment_visitor_millis_behind_now(p->fragments) : -1;
    if (v < 0)
        Py_RETURN_NONE;
    return PyLong_FromLongLong((long long)v);
}

static PyMethodDef parser_methods[] = {
    {"feed", parser_feed, METH_O, "Hands the next chunk (any contiguous buffer) to the reader."},
    {"finish", parser_finish, METH_NOARGS, "Marks the end of input."},
    {"next", parser_next, METH_NOARGS,
     "The next ready item: a Frame, a fragment dict, or None when it needs more input (or is done)."},
    {"iterate", parser_iterate, METH_VARARGS,
     "iterate(source, convert): self as an iterator over the chunks of source (None: what is "
     "ready), fragment dicts passed through convert."},
    {"iterate_file", parser_iterate_file, METH_VARARGS,
     "iterate_file(file, own, chunk_size, convert): self as an iterator over a file it reads "
     "itself, the GIL released (own: file is the opener of a path's file, closed at the end)."},
    {"close", parser_close, METH_NOARGS, "Closes the source."},
    {"__reduce__", kvsp_py_no_pickle, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef parser_getset[] = {
    {"offset", get_offset, NULL, "bytes consumed from the start of the stream", NULL},
    {"done", get_done, NULL, "True once the end of the stream was reached", NULL},
    {"continuation_token", get_token, NULL, "latest continuation token seen, or None", NULL},
    {"millis_behind_now", get_behind, NULL, "latest millis-behind-now seen, or None", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject parser_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "kvsp._native.Parser",
    .tp_basicsize = sizeof(parser_obj),
    .tp_dealloc = parser_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Reader + fragment and frame visitors of libkvsparser (use kvsp.Reader).",
    .tp_methods = parser_methods,
    .tp_getset = parser_getset,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = parser_iternext,
    .tp_init = parser_init,
    .tp_new = PyType_GenericNew,
};

int kvsp_py_add_parser(PyObject *module)
{
    if (kvsp_py_add_frame(module) < 0 || PyType_Ready(&parser_type) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "Parser", (PyObject *)&parser_type);
}
