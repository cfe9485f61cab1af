/* range_read and range_list: libkvsparser-client's range reader
 * (kvsparser/range.h) for Python. range_read blocks, with the GIL released,
 * while ListFragments and the GetMediaForFragmentList batches run; its
 * body callback takes the GIL only to hand each chunk, in timestamp order,
 * to a Python callable (kvsp._range turns that into an iterator of chunks,
 * a source for every reader). */
#include "native.h"

#include <string.h>

#include "kvsparser/range.h"

static char *range_names[] = {"client",   "stream",   "timestamp",          "start",
                              "end",      "parallel", "max_buffered_bytes", "lookback_s",
                              "callable", NULL};

/* The options from the arguments; *callable is NULL for range_list. */
static int parse(PyObject *args, PyObject *kw, PyObject **client, kvsp_range_options *o,
                 PyObject **callable)
{
    int timestamp = KVSP_TIMESTAMP_PRODUCER, parallel = 0;
    unsigned long long buffered = 0;
    memset(o, 0, sizeof *o);
    *callable = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Os|$iddiKdO", range_names, client, &o->stream,
                                     &timestamp, &o->from, &o->to, &parallel, &buffered,
                                     &o->lookback_s, callable))
        return -1;
    if (timestamp != KVSP_TIMESTAMP_PRODUCER && timestamp != KVSP_TIMESTAMP_SERVER) {
        PyErr_SetString(PyExc_ValueError, "timestamp must be producer or server");
        return -1;
    }
    if (parallel < 0 || parallel > 5) {
        PyErr_SetString(PyExc_ValueError,
                        "parallel must be 1 to 5 (KVS allows 5 connections per stream)");
        return -1;
    }
    o->timestamp = (kvsp_timestamp_type)timestamp;
    o->parallel = parallel;
    o->max_buffered_bytes = (size_t)buffered;
    return 0;
}

static PyObject *range_read(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    PyObject *client_obj, *callable;
    kvsp_range_options o;
    if (parse(args, kw, &client_obj, &o, &callable) < 0)
        return NULL;
    if (!callable || !PyCallable_Check(callable))
        return PyErr_Format(PyExc_TypeError, "range_read needs a callable for the chunks");
    kvsp_client *c = kvsp_py_client_claim(client_obj);
    if (!c)
        return NULL;
    kvsp_py_body_ctx b = {callable, 0};
    o.body = kvsp_py_body;
    o.user = &b;
    int st;
    Py_BEGIN_ALLOW_THREADS st = kvsp_range_read(c, &o);
    Py_END_ALLOW_THREADS kvsp_py_client_release(client_obj);
    if (b.failed)
        return NULL;
    if (st < 0 && st != KVSP_ERR_CALLBACK)
        return kvsp_py_raise_client(c, st);
    Py_RETURN_NONE;
}

static PyObject *row_dict(const kvsp_listed_fragment *r)
{
    return Py_BuildValue("{sssLsLsLsK}", "fragment_number", r->fragment_number,
                         "producer_timestamp_ms", (long long)r->producer_timestamp_ms,
                         "server_timestamp_ms", (long long)r->server_timestamp_ms, "length_ms",
                         (long long)r->length_ms, "size", (unsigned long long)r->size);
}

static PyObject *range_list(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    PyObject *client_obj, *callable;
    kvsp_range_options o;
    if (parse(args, kw, &client_obj, &o, &callable) < 0)
        return NULL;
    kvsp_client *c = kvsp_py_client_claim(client_obj);
    if (!c)
        return NULL;
    kvsp_listed_fragment *rows = NULL;
    size_t n = 0;
    int st;
    Py_BEGIN_ALLOW_THREADS st = kvsp_range_list(c, &o, &rows, &n);
    Py_END_ALLOW_THREADS kvsp_py_client_release(client_obj);
    if (st < 0)
        return kvsp_py_raise_client(c, st);
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *row = row_dict(&rows[i]);
        if (!row || PyList_Append(list, row) < 0)
            Py_CLEAR(list);
        Py_XDECREF(row);
    }
    kvsp_client_free(rows);
    return list;
}

static PyMethodDef range_methods[] = {
    {"range_read", (PyCFunction)(void (*)(void))range_read, METH_VARARGS | METH_KEYWORDS,
     "range_read(client, stream, *, timestamp, start, end, parallel, max_buffered_bytes, "
     "lookback_s, callable): the range's payload, each chunk to callable, in order."},
    {"range_list", (PyCFunction)(void (*)(void))range_list, METH_VARARGS | METH_KEYWORDS,
     "range_list(client, stream, *, timestamp, start, end, lookback_s): the fragments the "
     "range covers, in payload order."},
    {NULL, NULL, 0, NULL},
};

int kvsp_py_add_range(PyObject *module)
{
    return PyModule_AddFunctions(module, range_methods);
}
