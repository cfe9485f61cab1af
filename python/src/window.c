/* window_contains, window_overlaps_fragment, frame_time_ms: the library's
 * window rule (kvsp_window_contains, kvsp_window_overlaps_fragment and
 * kvsp_frame_time_ms in kvsparser/frames.h) for kvsp.Window, so that the
 * package keeps no copy of the rule the CLI's --from/--to, the decoder and
 * the audio sink apply. The functions take any object with the attributes
 * of a Frame or Picture (pts_ms, producer_timestamp_ms,
 * server_timestamp_ms; None when absent) or of a Fragment, and rebuild the
 * times the library looks at. */
#include "native.h"

#include <math.h>
#include <string.h>

#include "kvsparser/frames.h"

/* An optional number attribute: 1 with *v, 0 for None, -1 with an error. */
static int opt_number(PyObject *obj, const char *name, double *v)
{
    PyObject *a = PyObject_GetAttrString(obj, name);
    if (!a)
        return -1;
    int rc = 0;
    if (a != Py_None) {
        *v = PyFloat_AsDouble(a);
        rc = (*v == -1.0 && PyErr_Occurred()) ? -1 : 1;
    }
    Py_DECREF(a);
    return rc;
}

/* The times of a Frame or Picture as the library's frame; -1 on error. */
static int frame_of(PyObject *obj, kvsp_frame *f)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } fields[] = {{"pts_ms", KVSP_FRAME_HAS_PTS},
                  {"producer_timestamp_ms", KVSP_FRAME_HAS_PRODUCER_TIME},
                  {"server_timestamp_ms", KVSP_FRAME_HAS_SERVER_TIME}};
    double *slots[] = {&f->pts_ms, &f->producer_timestamp_ms, &f->server_timestamp_ms};
    memset(f, 0, sizeof *f);
    for (int i = 0; i < 3; i++) {
        int rc = opt_number(obj, fields[i].name, slots[i]);
        if (rc < 0)
            return -1;
        if (rc)
            f->present |= fields[i].bit;
    }
    return 0;
}

/* Ticks of TimecodeScale from the ms a Fragment gives (kvsp_ticks_to_ms). */
static int64_t ticks_of(double ms, uint64_t scale)
{
    return (int64_t)llround(ms * 1e6 / (double)scale);
}

/* The fields of a Fragment the span rule reads; -1 on error. */
static int fragment_of(PyObject *obj, kvsp_fragment *f)
{
    double first, last, producer, server, cluster, scale;
    int has_first, has_last, has_producer, has_server, has_cluster, has_scale;
    memset(f, 0, sizeof *f);
    if ((has_first = opt_number(obj, "first_pts_ms", &first)) < 0 ||
        (has_last = opt_number(obj, "last_pts_ms", &last)) < 0 ||
        (has_producer = opt_number(obj, "producer_timestamp_ms", &producer)) < 0 ||
        (has_server = opt_number(obj, "server_timestamp_ms", &server)) < 0 ||
        (has_cluster = opt_number(obj, "cluster_timecode", &cluster)) < 0 ||
        (has_scale = opt_number(obj, "timecode_scale", &scale)) < 0)
        return -1;
    if (!has_scale || !(scale >= 1)) {
        PyErr_SetString(PyExc_ValueError, "fragment without a timecode_scale");
        return -1;
    }
    f->info.timecode_scale = (uint64_t)scale;
    if (has_first && has_last) {
        f->present |= KVSP_FRAGMENT_HAS_FRAMES;
        f->first_timecode = ticks_of(first, f->info.timecode_scale);
        f->last_timecode = ticks_of(last, f->info.timecode_scale);
    }
    if (has_producer) {
        f->present |= KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP;
        f->producer_timestamp_ms = (int64_t)producer;
    }
    if (has_server) {
        f->present |= KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP;
        f->server_timestamp_ms = (int64_t)server;
    }
    if (has_cluster) {
        f->present |= KVSP_FRAGMENT_HAS_CLUSTER_TIMECODE;
        f->cluster_timecode = (int64_t)cluster;
    }
    return 0;
}

static char *window_names[] = {"item", "server", "start_ms", "end_ms", NULL};

static PyObject *window_contains(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    PyObject *obj;
    int server;
    double from, to;
    kvsp_frame f;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Opdd", window_names, &obj, &server, &from, &to) ||
        frame_of(obj, &f) < 0)
        return NULL;
    return PyBool_FromLong(kvsp_window_contains(&f, server, from, to));
}

static PyObject *window_overlaps_fragment(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    PyObject *obj;
    int server;
    double from, to;
    kvsp_fragment f;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Opdd", window_names, &obj, &server, &from, &to) ||
        fragment_of(obj, &f) < 0)
        return NULL;
    return PyBool_FromLong(kvsp_window_overlaps_fragment(&f, server, from, to));
}

static PyObject *frame_time_ms(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *obj;
    int server;
    kvsp_frame f;
    double ms;
    if (!PyArg_ParseTuple(args, "Op", &obj, &server) || frame_of(obj, &f) < 0)
        return NULL;
    if (kvsp_frame_time_ms(&f, server, &ms) != KVSP_OK)
        Py_RETURN_NONE;
    return kvsp_py_ms(ms);
}

static PyMethodDef window_methods[] = {
    {"window_contains", (PyCFunction)(void (*)(void))window_contains, METH_VARARGS | METH_KEYWORDS,
     "window_contains(frame, server, start_ms, end_ms): the frame's (or picture's) time on the "
     "timeline is in [start_ms, end_ms] (kvsp_window_contains)."},
    {"window_overlaps_fragment", (PyCFunction)(void (*)(void))window_overlaps_fragment,
     METH_VARARGS | METH_KEYWORDS,
     "window_overlaps_fragment(fragment, server, start_ms, end_ms): the fragment's "
     "first-to-last frame span overlaps the window (kvsp_window_overlaps_fragment)."},
    {"frame_time_ms", frame_time_ms, METH_VARARGS,
     "frame_time_ms(frame, server): the frame's time on the timeline, or None "
     "(kvsp_frame_time_ms)."},
    {NULL, NULL, 0, NULL},
};

int kvsp_py_add_window(PyObject *module)
{
    return PyModule_AddFunctions(module, window_methods);
}
