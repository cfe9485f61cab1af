/* The Frame type: one frame's metadata and its data as a zero-copy buffer.
 *
 * A live frame's data points into the bytes the reader was fed (or into
 * the reader's own buffer), which are valid only while the reader is paused
 * on this frame. So the frame exports its data through the buffer protocol
 * and counts the exports: ending the step with a view still held raises
 * BufferError instead of leaving a dangling pointer, and afterwards the
 * data is refused. A detached frame (copy(), unpickled) owns a bytes copy
 * and stays valid. */
#include "native.h"

#include <structmember.h>

#include "kvsparser/frames.h"

typedef struct {
    PyObject_HEAD const uint8_t *data;
    Py_ssize_t size;
    PyObject *owner; /* bytes of a detached frame, else NULL */
    PyObject *view;  /* the memoryview handed out as .data */
    Py_ssize_t exports;
    int valid;
    unsigned long long track, fragment_index, block_offset, duration;
    long long timecode, pts_ns;
    double pts_ms, producer_ms, server_ms;
    unsigned int present, lace_index, lace_frames;
    int has_fragment;
    char keyframe, invisible, discardable;
    PyObject *fragment_number;
    PyObject *parent; /* while valid: the parser whose bytes data points into */
    PyObject **slot;  /* the parent's pointer to this frame */
} frame_obj;

static PyTypeObject frame_type;

/* A Frame is made and dropped at every step: a few dropped ones are kept
 * and reinitialized instead of going back to the allocator (as CPython
 * keeps floats). The type is final (no Py_TPFLAGS_BASETYPE), so every
 * object of it has this size. */
#define FREE_FRAMES 8
static frame_obj *free_frames[FREE_FRAMES];
static int free_count;

static frame_obj *frame_alloc(void)
{
    if (free_count == 0)
        return PyObject_New(frame_obj, &frame_type);
    frame_obj *o = free_frames[--free_count];
    return (frame_obj *)PyObject_Init((PyObject *)o, &frame_type);
}

PyObject *kvsp_py_frame_new(const kvsp_frame *f, PyObject *fragment_number, PyObject *parent,
                            PyObject **slot)
{
    return kvsp_py_frame_new_copied(f, f->fragment != NULL, f->fragment ? f->fragment->index : 0,
                                    fragment_number, parent, slot);
}

PyObject *kvsp_py_frame_new_copied(const kvsp_frame *f, int has_fragment, uint64_t fragment_index,
                                   PyObject *fragment_number, PyObject *parent, PyObject **slot)
{
    frame_obj *o = frame_alloc();
    if (!o) {
        Py_DECREF(fragment_number);
        return NULL;
    }
    o->data = f->data;
    o->size = (Py_ssize_t)f->size;
    o->owner = NULL;
    o->view = NULL;
    o->exports = 0;
    o->valid = 1;
    o->track = f->track;
    o->has_fragment = has_fragment;
    o->fragment_index = fragment_index;
    o->block_offset = f->block_offset;
    o->duration = f->duration;
    o->timecode = f->timecode;
    o->pts_ns = f->pts_ns;
    o->pts_ms = f->pts_ms;
    o->producer_ms = f->producer_timestamp_ms;
    o->server_ms = f->server_timestamp_ms;
    o->present = f->present;
    o->lace_index = f->index_in_block;
    o->lace_frames = f->frames_in_block;
    o->keyframe = (char)(f->keyframe != 0);
    o->invisible = (char)(f->invisible != 0);
    o->discardable = (char)(f->discardable != 0);
    o->fragment_number = fragment_number;
    o->parent = parent ? Py_NewRef(parent) : NULL;
    o->slot = parent ? slot : NULL;
    return (PyObject *)o;
}

int kvsp_py_frame_end_step(PyObject *self)
{
    frame_obj *o = (frame_obj *)self;
    if (o->view) {
        /* Held only here, the view goes with its reference (and gives its
         * export back); held elsewhere too, it is released, which a call
         * by name costs, so only then. */
        if (Py_REFCNT(o->view) > 1) {
            PyObject *r = PyObject_CallMethod(o->view, "release", NULL);
            if (!r)
                PyErr_Clear(); /* it has exports of its own: counted below */
            Py_XDECREF(r);
        }
        Py_CLEAR(o->view);
    }
    if (o->exports > 0) {
        PyErr_SetString(
            PyExc_BufferError,
            "a view of frame.data is still held at the end of its iteration step, and the "
            "bytes behind it are about to be reused: take a copy (bytes(frame.data) or "
            "frame.tobytes()) inside the step");
        return -1;
    }
    o->valid = 0;
    o->data = NULL;
    if (o->slot && *o->slot == self)
        *o->slot = NULL;
    o->slot = NULL;
    Py_CLEAR(o->parent);
    return 0;
}

static int frame_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    frame_obj *o = (frame_obj *)self;
    if (!o->valid) {
        PyErr_SetString(PyExc_BufferError, "frame data is only valid during its iteration step; "
                                           "use bytes(frame.data) or frame.tobytes() within it");
        view->obj = NULL;
        return -1;
    }
    if (PyBuffer_FillInfo(view, self, (void *)o->data, o->size, 1, flags) < 0)
        return -1;
    o->exports++;
    return 0;
}

static void frame_releasebuffer(PyObject *self, Py_buffer *view)
{
    (void)view;
    ((frame_obj *)self)->exports--;
}

static PyBufferProcs frame_as_buffer = {frame_getbuffer, frame_releasebuffer};

static void frame_dealloc(PyObject *self)
{
    frame_obj *o = (frame_obj *)self;
    if (o->slot && *o->slot == self)
        *o->slot = NULL;
    Py_XDECREF(o->parent);
    Py_XDECREF(o->view);
    Py_XDECREF(o->owner);
    Py_XDECREF(o->fragment_number);
    if (free_count < FREE_FRAMES)
        free_frames[free_count++] = o;
    else
        PyObject_Free(self);
}

static PyObject *get_data(PyObject *self, void *unused)
{
    (void)unused;
    frame_obj *o = (frame_obj *)self;
    if (!o->view) {
        o->view = PyMemoryView_FromObject(self);
        if (!o->view)
            return NULL;
    }
    return Py_NewRef(o->view);
}

static PyObject *tobytes(PyObject *self, PyObject *unused)
{
    (void)unused;
    frame_obj *o = (frame_obj *)self;
    if (!o->valid)
        return PyErr_Format(PyExc_BufferError,
                            "frame data is only valid during its iteration step");
    return PyBytes_FromStringAndSize((const char *)o->data, o->size);
}

#define OPTIONAL_MS(name, bit, field)                         \
    static PyObject *get_##name(PyObject *self, void *unused) \
    {                                                         \
        (void)unused;                                         \
        frame_obj *o = (frame_obj *)self;                     \
        if (!(o->present & (bit)))                            \
            Py_RETURN_NONE;                                   \
        return kvsp_py_ms(o->field);                          \
    }
OPTIONAL_MS(pts_ms, KVSP_FRAME_HAS_PTS, pts_ms)
OPTIONAL_MS(producer_ms, KVSP_FRAME_HAS_PRODUCER_TIME, producer_ms)
OPTIONAL_MS(server_ms, KVSP_FRAME_HAS_SERVER_TIME, server_ms)

static PyObject *get_duration(PyObject *self, void *unused)
{
    (void)unused;
    frame_obj *o = (frame_obj *)self;
    if (!(o->present & KVSP_FRAME_HAS_DURATION))
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(o->duration);
}

static PyObject *get_pts_ns(PyObject *self, void *unused)
{
    (void)unused;
    frame_obj *o = (frame_obj *)self;
    if (!(o->present & KVSP_FRAME_HAS_PTS))
        Py_RETURN_NONE;
    return PyLong_FromLongLong(o->pts_ns);
}

static PyObject *get_fragment_index(PyObject *self, void *unused)
{
    (void)unused;
    frame_obj *o = (frame_obj *)self;
    if (!o->has_fragment)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(o->fragment_index);
}

static PyObject *get_fragment_number(PyObject *self, void *unused)
{
    (void)unused;
    return Py_NewRef(((frame_obj *)self)->fragment_number);
}

static PyObject *get_valid(PyObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((frame_obj *)self)->valid);
}

/* The fields in the order of the state tuple: copy() and pickling. */
static PyObject *state(frame_obj *o)
{
    PyObject *data = tobytes((PyObject *)o, NULL);
    if (!data) {
        /* A frame past its step pickles without its bytes. */
        PyErr_Clear();
        data = Py_NewRef(Py_None);
    }
    return Py_BuildValue("(NKiKKKLLdddIIIbbbO)", data, o->track, o->has_fragment, o->fragment_index,
                         o->block_offset, o->duration, o->timecode, o->pts_ns, o->pts_ms,
                         o->producer_ms, o->server_ms, o->present, o->lace_index, o->lace_frames,
                         o->keyframe, o->invisible, o->discardable, o->fragment_number);
}

static PyObject *from_state(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *data, *number;
    kvsp_frame f;
    unsigned long long track, index, block_offset, duration;
    long long timecode, pts_ns;
    int has_fragment;
    char key, invisible, discardable;
    memset(&f, 0, sizeof f);
    if (!PyArg_ParseTuple(args, "(OKiKKKLLdddIIIbbbO)", &data, &track, &has_fragment, &index,
                          &block_offset, &duration, &timecode, &pts_ns, &f.pts_ms,
                          &f.producer_timestamp_ms, &f.server_timestamp_ms, &f.present,
                          &f.index_in_block, &f.frames_in_block, &key, &invisible, &discardable,
                          &number))
        return NULL;
    if (data != Py_None && !PyBytes_Check(data))
        return PyErr_Format(PyExc_TypeError, "frame data must be bytes or None");
    f.track = track;
    f.block_offset = block_offset;
    f.duration = duration;
    f.timecode = timecode;
    f.pts_ns = pts_ns;
    f.keyframe = key;
    f.invisible = invisible;
    f.discardable = discardable;
    frame_obj *o = (frame_obj *)kvsp_py_frame_new(&f, Py_NewRef(number), NULL, NULL);
    if (!o)
        return NULL;
    o->has_fragment = has_fragment;
    o->fragment_index = index;
    if (data == Py_None) {
        o->valid = 0;
        o->size = 0;
    } else {
        o->owner = Py_NewRef(data);
        o->data = (const uint8_t *)PyBytes_AS_STRING(data);
        o->size = PyBytes_GET_SIZE(data);
    }
    return (PyObject *)o;
}

static PyMethodDef from_state_def = {"_frame_from_state", from_state, METH_VARARGS, NULL};
static PyObject *from_state_fn;

static PyObject *frame_reduce(PyObject *self, PyObject *unused)
{
    (void)unused;
    PyObject *st = state((frame_obj *)self);
    if (!st)
        return NULL;
    return Py_BuildValue("(O(N))", from_state_fn, st);
}

static PyObject *frame_copy(PyObject *self, PyObject *unused)
{
    (void)unused;
    PyObject *st = state((frame_obj *)self);
    if (!st)
        return NULL;
    PyObject *args = Py_BuildValue("(N)", st);
    PyObject *r = args ? from_state(NULL, args) : NULL;
    Py_XDECREF(args);
    return r;
}

static PyObject *frame_repr(PyObject *self)
{
    frame_obj *o = (frame_obj *)self;
    PyObject *pts = get_pts_ms(self, NULL);
    PyObject *r =
        pts ? PyUnicode_FromFormat("<kvsp.Frame track=%llu pts_ms=%R keyframe=%s size=%zd%s>",
                                   o->track, pts, o->keyframe ? "True" : "False", o->size,
                                   o->valid ? "" : " (data released)")
            : NULL;
    Py_XDECREF(pts);
    return r;
}

static PyMethodDef frame_methods[] = {
    {"tobytes", tobytes, METH_NOARGS, "A bytes copy of the frame's data."},
    {"copy", frame_copy, METH_NOARGS,
     "A detached Frame owning a copy of its data (valid after the step)."},
    {"__reduce__", frame_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef frame_members[] = {
    {"track", T_ULONGLONG, offsetof(frame_obj, track), READONLY, "track number"},
    {"keyframe", T_BOOL, offsetof(frame_obj, keyframe), READONLY, "keyframe flag"},
    {"invisible", T_BOOL, offsetof(frame_obj, invisible), READONLY, NULL},
    {"discardable", T_BOOL, offsetof(frame_obj, discardable), READONLY, NULL},
    {"timecode", T_LONGLONG, offsetof(frame_obj, timecode), READONLY,
     "Cluster + block timecode, in ticks"},
    {"size", T_PYSSIZET, offsetof(frame_obj, size), READONLY, "bytes of data"},
    {"lace_index", T_UINT, offsetof(frame_obj, lace_index), READONLY, NULL},
    {"lace_frames", T_UINT, offsetof(frame_obj, lace_frames), READONLY, NULL},
    {"block_offset", T_ULONGLONG, offsetof(frame_obj, block_offset), READONLY,
     "stream offset of its block"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef frame_getset[] = {
    {"data", get_data, NULL, "memoryview of the bytes, valid during the iteration step", NULL},
    {"pts_ms", get_pts_ms, NULL, "presentation time in ms (None on overflow)", NULL},
    {"pts_ns", get_pts_ns, NULL, "presentation time in ns (None on overflow)", NULL},
    {"producer_timestamp_ms", get_producer_ms, NULL,
     "absolute producer time, ms since the epoch, or None", NULL},
    {"server_timestamp_ms", get_server_ms, NULL,
     "absolute server time, ms since the epoch, or None", NULL},
    {"duration", get_duration, NULL, "BlockDuration in ticks, or None", NULL},
    {"fragment_index", get_fragment_index, NULL, "index of its fragment, or None", NULL},
    {"fragment_number", get_fragment_number, NULL, "KVS fragment number, or None", NULL},
    {"valid", get_valid, NULL, "whether data may still be read", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject frame_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "kvsp.Frame",
    .tp_basicsize = sizeof(frame_obj),
    .tp_dealloc = frame_dealloc,
    .tp_repr = frame_repr,
    .tp_as_buffer = &frame_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One frame of a track, with its timing. Made by kvsp readers.",
    .tp_methods = frame_methods,
    .tp_members = frame_members,
    .tp_getset = frame_getset,
};

int kvsp_py_add_frame(PyObject *module)
{
    if (PyType_Ready(&frame_type) < 0)
        return -1;
    /* Named as kvsp._native's, so that pickle finds it by reference. */
    PyObject *name = PyUnicode_FromString("kvsp._native");
    from_state_fn = name ? PyCFunction_NewEx(&from_state_def, NULL, name) : NULL;
    Py_XDECREF(name);
    if (!from_state_fn || PyObject_SetAttrString(module, "_frame_from_state", from_state_fn) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "Frame", (PyObject *)&frame_type);
}
