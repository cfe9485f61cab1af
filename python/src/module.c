/* The kvsp._native module: its init, errors as kvsp.errors exceptions and
 * the text helpers the types share. */
#include "native.h"

#include <math.h>

#include "kvsparser/status.h"
#include "kvsparser/version.h"

/* kvsp.errors._from_status, looked up at init: the exception classes live
 * in Python so that they pickle with their attributes (multiprocessing
 * sends a worker's exception back to the parent). */
static PyObject *from_status;

static PyObject *raise_as(int status, int64_t offset, const char *message, int decoder)
{
    PyObject *exc = PyObject_CallFunction(from_status, "isLsi", status, kvsp_status_name(status),
                                          (long long)offset, message ? message : "", decoder);
    if (exc) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

PyObject *kvsp_py_raise(int status, int64_t offset, const char *message)
{
    return raise_as(status, offset, message, 0);
}

PyObject *kvsp_py_raise_decoder(int status, int64_t offset, const char *message)
{
    return raise_as(status, offset, message, 1);
}

PyObject *kvsp_py_text(const char *s, size_t len)
{
    if (!s)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)len, "replace");
}

PyObject *kvsp_py_cstring(const char *s)
{
    return kvsp_py_text(s, s ? strlen(s) : 0);
}

PyObject *kvsp_py_ms(double ms)
{
    if (ms == floor(ms) && fabs(ms) < 9007199254740992.0)
        return PyLong_FromLongLong((long long)ms);
    return PyFloat_FromDouble(ms);
}

PyObject *kvsp_py_no_pickle(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyErr_Format(PyExc_TypeError,
                        "cannot pickle '%s': it is a live handle on C state (reader, decoder); "
                        "pickle its options or the metadata objects it yields instead",
                        Py_TYPE(self)->tp_name);
}

static PyObject *status_name(PyObject *self, PyObject *arg)
{
    (void)self;
    long v = PyLong_AsLong(arg);
    if (v == -1 && PyErr_Occurred())
        return NULL;
    return PyUnicode_FromString(kvsp_status_name((int)v));
}

static PyMethodDef module_methods[] = {
    {"status_name", status_name, METH_O,
     "The library's name of a status code, e.g. 'ERR_TRUNCATED'."},
    {NULL, NULL, 0, NULL},
};

static int module_exec(PyObject *m)
{
    PyObject *errors = PyImport_ImportModule("kvsp.errors");
    if (!errors)
        return -1;
    from_status = PyObject_GetAttrString(errors, "_from_status");
    Py_DECREF(errors);
    if (!from_status)
        return -1;
    if (PyModule_AddStringConstant(m, "library_version", KVSP_VERSION_STRING) < 0)
        return -1;
    if (kvsp_py_add_parser(m) < 0 || kvsp_py_add_merger(m) < 0 || kvsp_py_add_window(m) < 0)
        return -1;
#ifdef KVSP_PY_HAVE_CLIENT
    if (kvsp_py_add_client(m) < 0)
        return -1;
#endif
#ifdef KVSP_PY_HAVE_DECODER
    return kvsp_py_add_decoder(m);
#else
    return PyModule_AddIntConstant(m, "have_decoder", 0);
#endif
}

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "kvsp._native",
    "C extension of the kvsp package over libkvsparser; use the kvsp package.",
    0,
    module_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__native(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (m && module_exec(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
