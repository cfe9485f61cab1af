/* A file the parser reads itself: read(2) or pread(2) into one reused
 * buffer with the GIL released, instead of a Python generator of chunks
 * (a Python frame, a readinto call and a memoryview slice per chunk, which
 * the C consumer does not pay, and the GIL held while the kernel copies).
 *
 * Which files qualify is decided in Python (kvsp._sources.native_file):
 * a path, opened lazily on the first read as open(path, "rb",
 * buffering=0) would be (so a missing file raises at the same point as
 * before); an io.FileIO, whose read(2) is what its readinto does; or a
 * seekable io.BufferedReader, read with pread(2) from its tell() (its own
 * buffer is bypassed), and sought to what was read when the reading ends,
 * so the file object is where a Python reading would have left it. */
#define _POSIX_C_SOURCE 200809L
#include "native.h"

#include <errno.h>
#include <unistd.h>

/* Opens the file (own: file is the opener) and notes how to read it. */
static int file_open(kvsp_py_file *f)
{
    if (f->own) {
        PyObject *opened = PyObject_CallNoArgs(f->file);
        if (!opened)
            return -1;
        Py_SETREF(f->file, opened);
    }
    f->opened = 1;
    PyObject *fd = PyObject_CallMethod(f->file, "fileno", NULL);
    if (!fd)
        return -1;
    f->fd = PyLong_AsLong(fd);
    Py_DECREF(fd);
    if (f->fd == -1 && PyErr_Occurred())
        return -1;
    /* An io.FileIO has no buffer of its own: its fd's position is its
     * position. Anything else (a BufferedReader) is read at an offset. */
    int raw = PyObject_TypeCheck(f->file, (PyTypeObject *)f->fileio_type);
    f->pos = -1;
    if (!raw) {
        PyObject *at = PyObject_CallMethod(f->file, "tell", NULL);
        if (!at)
            return -1;
        f->pos = PyLong_AsLongLong(at);
        Py_DECREF(at);
        if (f->pos < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_OSError, "kvsp: negative file position");
            return -1;
        }
    }
    return 0;
}

int kvsp_py_file_init(kvsp_py_file *f, PyObject *file, int own, size_t chunk_size)
{
    kvsp_py_file_clear(f);
    PyObject *io = PyImport_ImportModule("io");
    f->fileio_type = io ? PyObject_GetAttrString(io, "FileIO") : NULL;
    Py_XDECREF(io);
    if (!f->fileio_type)
        return -1;
    f->buf = PyMem_RawMalloc(chunk_size);
    if (!f->buf) {
        PyErr_NoMemory();
        return -1;
    }
    f->cap = chunk_size;
    f->file = Py_NewRef(file);
    f->own = own;
    return 0;
}

Py_ssize_t kvsp_py_file_read(kvsp_py_file *f, const unsigned char **data,
                             void (*then)(void *, const unsigned char *, size_t), void *user)
{
    if (!f->file) {
        PyErr_SetString(PyExc_ValueError, "read of a closed kvsp file source");
        return -1;
    }
    if (!f->opened && file_open(f) < 0)
        return -1;
    ssize_t n;
    for (;;) {
        PyThreadState *ts = PyEval_SaveThread();
        n = f->pos < 0 ? read(f->fd, f->buf, f->cap) : pread(f->fd, f->buf, f->cap, (off_t)f->pos);
        int err = errno;
        if (n > 0 && then)
            then(user, f->buf, (size_t)n);
        PyEval_RestoreThread(ts);
        if (n >= 0)
            break;
        if (err != EINTR) {
            errno = err;
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
        /* As Python's own reads do: a signal handler may raise. */
        if (PyErr_CheckSignals() < 0)
            return -1;
    }
    if (f->pos >= 0)
        f->pos += n;
    *data = f->buf;
    return (Py_ssize_t)n;
}

int kvsp_py_file_close(kvsp_py_file *f)
{
    PyObject *file = f->file, *r = NULL;
    f->file = NULL;
    if (!file)
        return 0;
    if (f->own && f->opened)
        r = PyObject_CallMethod(file, "close", NULL);
    else if (f->opened && f->pos >= 0)
        r = PyObject_CallMethod(file, "seek", "L", f->pos);
    else
        r = Py_NewRef(Py_None); /* never opened, or an io.FileIO: where it is */
    Py_DECREF(file);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

void kvsp_py_file_clear(kvsp_py_file *f)
{
    Py_CLEAR(f->file);
    Py_CLEAR(f->fileio_type);
    PyMem_RawFree(f->buf);
    f->buf = NULL;
    f->cap = 0;
    f->opened = f->own = 0;
    f->fd = -1;
    f->pos = -1;
}
