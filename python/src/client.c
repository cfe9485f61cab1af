/* The Client type: libkvsparser-client's KVS calls (SigV4, the AWS
 * credential chain and config, retries) for Python. GetMedia and
 * GetMediaForFragmentList run with the GIL released; their body callback
 * takes the GIL only to hand each chunk, as bytes, to a Python callable
 * (kvsp._client turns that into an iterator of chunks for the readers). */
#include "native.h"

#include <stdio.h>
#include <stdlib.h>

#include "kvsparser/client.h"

typedef struct {
    PyObject_HEAD kvsp_client *client;
    int busy;
} client_obj;

int kvsp_py_body(void *user, const void *data, size_t len)
{
    kvsp_py_body_ctx *b = user;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *r = PyObject_CallFunction(b->callable, "y#", (const char *)data, (Py_ssize_t)len);
    int rc = KVSP_OK;
    if (!r) {
        b->failed = 1;
        rc = KVSP_ERR_CALLBACK;
    } else if (r == Py_False) {
        rc = KVSP_ERR_CALLBACK; /* the consumer stopped */
    }
    Py_XDECREF(r);
    PyGILState_Release(g);
    return rc;
}

/* The client's last error as a kvsp.ServiceError-or-other with the HTTP
 * status and AWS exception name attached. */
PyObject *kvsp_py_raise_client(struct kvsp_client *client, int st)
{
    kvsp_py_raise(st, -1, kvsp_client_error_message(client));
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value) {
        PyObject *http = PyLong_FromLong(kvsp_client_error_http_status(client));
        PyObject *exc = kvsp_py_cstring(kvsp_client_error_exception(client));
        if (http)
            PyObject_SetAttrString(value, "http_status", http);
        if (exc)
            PyObject_SetAttrString(value, "exception", exc);
        Py_XDECREF(http);
        Py_XDECREF(exc);
    }
    PyErr_Restore(type, value, tb);
    return NULL;
}

static int client_init(PyObject *self, PyObject *args, PyObject *kw)
{
    client_obj *c = (client_obj *)self;
    static char *names[] = {"region",    "endpoint_url",       "profile",
                            "ca_bundle", "connect_timeout_ms", "stall_timeout_ms",
                            NULL};
    kvsp_client_options o = {0};
    if (c->client) {
        PyErr_SetString(PyExc_RuntimeError, "Client is already initialized");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$zzzzll", names, &o.region, &o.endpoint_url,
                                     &o.profile, &o.ca_bundle, &o.connect_timeout_ms,
                                     &o.stall_timeout_ms))
        return -1;
    kvsp_error err = {0, ""};
    c->client = kvsp_client_create(&o, &err);
    if (!c->client) {
        kvsp_py_raise(err.status ? err.status : KVSP_ERR_INVALID_ARG, -1, err.message);
        return -1;
    }
    return 0;
}

static void client_dealloc(PyObject *self)
{
    kvsp_client_destroy(((client_obj *)self)->client);
    Py_TYPE(self)->tp_free(self);
}

static int check_usable(client_obj *c)
{
    if (!c->client || c->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        c->client ? "Client is in use by another thread (one call at a time)"
                                  : "Client is not initialized");
        return -1;
    }
    return 0;
}

/* Ends a body call: the callable's exception, the client's error, or None. */
static PyObject *body_result(client_obj *c, int st, kvsp_py_body_ctx *b)
{
    if (b->failed)
        return NULL;
    if (st < 0 && st != KVSP_ERR_CALLBACK)
        return kvsp_py_raise_client(c->client, st);
    Py_RETURN_NONE;
}

static PyObject *get_media(PyObject *self, PyObject *args)
{
    client_obj *c = (client_obj *)self;
    const char *stream, *start;
    kvsp_py_body_ctx b = {NULL, 0};
    if (!PyArg_ParseTuple(args, "ssO", &stream, &start, &b.callable) || check_usable(c) < 0)
        return NULL;
    kvsp_start_selector sel;
    if (kvsp_start_selector_parse(start, &sel) != KVSP_OK)
        return PyErr_Format(PyExc_ValueError,
                            "bad start %R: earliest, now, fragment:N, continuation:T, "
                            "server-ts:S or producer-ts:S",
                            PyTuple_GET_ITEM(args, 1));
    int st;
    c->busy = 1;
    Py_BEGIN_ALLOW_THREADS st = kvsp_client_get_media(c->client, stream, &sel, kvsp_py_body, &b);
    Py_END_ALLOW_THREADS c->busy = 0;
    return body_result(c, st, &b);
}

static PyObject *list_fragments(PyObject *self, PyObject *args)
{
    client_obj *c = (client_obj *)self;
    const char *stream;
    int type = KVSP_TIMESTAMP_NONE;
    double from = 0, to = 0;
    if (!PyArg_ParseTuple(args, "s|idd", &stream, &type, &from, &to) || check_usable(c) < 0)
        return NULL;
    kvsp_listed_fragment *rows = NULL;
    size_t n = 0;
    int st;
    c->busy = 1;
    Py_BEGIN_ALLOW_THREADS st = kvsp_client_list_fragments(
        c->client, stream, (kvsp_timestamp_type)type, from, to, &rows, &n);
    Py_END_ALLOW_THREADS c->busy = 0;
    if (st < 0)
        return kvsp_py_raise_client(c->client, st);
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *row = Py_BuildValue(
            "{sssLsLsLsK}", "fragment_number", rows[i].fragment_number, "producer_timestamp_ms",
            (long long)rows[i].producer_timestamp_ms, "server_timestamp_ms",
            (long long)rows[i].server_timestamp_ms, "length_ms", (long long)rows[i].length_ms,
            "size", (unsigned long long)rows[i].size);
        if (!row || PyList_Append(list, row) < 0)
            Py_CLEAR(list);
        Py_XDECREF(row);
    }
    kvsp_client_free(rows);
    return list;
}

static PyObject *get_media_for_fragment_list(PyObject *self, PyObject *args)
{
    client_obj *c = (client_obj *)self;
    const char *stream;
    PyObject *numbers;
    kvsp_py_body_ctx b = {NULL, 0};
    if (!PyArg_ParseTuple(args, "sOO", &stream, &numbers, &b.callable) || check_usable(c) < 0)
        return NULL;
    PyObject *seq = PySequence_Fast(numbers, "fragment numbers must be a sequence of str");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    const char **list = PyMem_Calloc((size_t)(n ? n : 1), sizeof *list);
    for (Py_ssize_t i = 0; list && i < n; i++) {
        list[i] = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(seq, i));
        if (!list[i]) {
            PyMem_Free(list);
            Py_DECREF(seq);
            return NULL;
        }
    }
    if (!list) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    int st;
    c->busy = 1;
    Py_BEGIN_ALLOW_THREADS st = kvsp_client_get_media_for_fragment_list(
        c->client, stream, list, (size_t)n, kvsp_py_body, &b);
    Py_END_ALLOW_THREADS c->busy = 0;
    PyMem_Free(list);
    Py_DECREF(seq);
    return body_result(c, st, &b);
}

static PyMethodDef client_methods[] = {
    {"get_media", get_media, METH_VARARGS,
     "get_media(stream, start, callable): GetMedia, each chunk to callable."},
    {"list_fragments", list_fragments, METH_VARARGS,
     "list_fragments(stream[, type, from, to]): every page."},
    {"get_media_for_fragment_list", get_media_for_fragment_list, METH_VARARGS,
     "get_media_for_fragment_list(stream, numbers, callable)."},
    {"__reduce__", kvsp_py_no_pickle, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject client_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "kvsp._native.Client",
    .tp_basicsize = sizeof(client_obj),
    .tp_dealloc = client_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "libkvsparser-client (use kvsp.Client).",
    .tp_methods = client_methods,
    .tp_init = client_init,
    .tp_new = PyType_GenericNew,
};

kvsp_client *kvsp_py_client_claim(PyObject *obj)
{
    kvsp_client *c = kvsp_py_client_of(obj);
    if (c && check_usable((client_obj *)obj) < 0)
        return NULL;
    if (c)
        ((client_obj *)obj)->busy = 1;
    return c;
}

void kvsp_py_client_release(PyObject *obj)
{
    ((client_obj *)obj)->busy = 0;
}

kvsp_client *kvsp_py_client_of(PyObject *obj)
{
    if (!PyObject_TypeCheck(obj, &client_type) || !((client_obj *)obj)->client) {
        PyErr_SetString(PyExc_TypeError, "expected an initialized kvsp._native.Client");
        return NULL;
    }
    return ((client_obj *)obj)->client;
}

int kvsp_py_add_client(PyObject *module)
{
    if (PyType_Ready(&client_type) < 0 || PyModule_AddIntConstant(module, "have_client", 1) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "Client", (PyObject *)&client_type) < 0)
        return -1;
    if (kvsp_py_add_range(module) < 0)
        return -1;
    return kvsp_py_add_consumer(module);
}
