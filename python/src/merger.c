/* The Merger type: a reader with libkvsparser's segment merger, writing a
 * chain of fragments into one seekable Matroska file (or several, one per
 * track change, named like `kvsp merge` names them: OUT.1.mkv, ...).
 *
 * The merger's output callbacks run without the GIL, inside the run: they
 * write with plain POSIX calls, and the failure of one is reported as
 * ERR_IO with the file's name once the GIL is back. With a clip (a time
 * window: kvsp.merge of a Client.range or with window=) the bytes go
 * through the library's kvsp_merge_clip, which feeds the merger from the
 * keyframe at or before the window's start to its end, as kvsp merge
 * --from/--to. */
#define _POSIX_C_SOURCE 200809L
#include "native.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvsparser/merger.h"
#include "kvsparser/reader.h"
#include "kvsparser/visitor.h"

#define MAX_FILES 4096

typedef struct {
    PyObject_HEAD kvsp_reader *reader;
    kvsp_merger *merger;
    kvsp_visitor visitor;
    char *base;
    char *writing_app; /* NULL: the library's name */
    char *names[MAX_FILES];
    unsigned count;
    int fd;
    int io_errno;
    int finished, busy;
    kvsp_merge_clip *clip; /* NULL: the whole input */
    kvsp_fragment_visitor *clip_meta;
} merger_obj;

/* base with ".N" before its extension (after its last slash), N >= 1. */
static char *numbered(const char *base, unsigned n)
{
    const char *slash = strrchr(base, '/');
    const char *name = slash ? slash + 1 : base;
    const char *dot = strrchr(name, '.');
    size_t stem = dot && dot != name ? (size_t)(dot - base) : strlen(base);
    size_t cap = strlen(base) + 16;
    char *out = malloc(cap);
    if (out)
        snprintf(out, cap, "%.*s.%u%s", (int)stem, base, n, base + stem);
    return out;
}

static int open_next(merger_obj *m)
{
    if (m->count == MAX_FILES)
        return KVSP_ERR_IO;
    char *name = m->count ? numbered(m->base, m->count) : strdup(m->base);
    if (!name)
        return KVSP_ERR_NOMEM;
    m->names[m->count++] = name;
    m->fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (m->fd < 0) {
        m->io_errno = errno;
        return KVSP_ERR_IO;
    }
    return KVSP_OK;
}

static int out_write(void *user, const void *data, size_t len)
{
    merger_obj *m = user;
    const char *p = data;
    while (len) {
        ssize_t n = write(m->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            m->io_errno = n < 0 ? errno : EIO;
            return KVSP_ERR_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return KVSP_OK;
}

static int out_patch(void *user, uint64_t offset, const void *data, size_t len)
{
    merger_obj *m = user;
    const char *p = data;
    while (len) {
        ssize_t n = pwrite(m->fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            m->io_errno = n < 0 ? errno : EIO;
            return KVSP_ERR_IO;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return KVSP_OK;
}

static int out_next_file(void *user)
{
    merger_obj *m = user;
    if (close(m->fd) != 0) {
        m->fd = -1;
        m->io_errno = errno;
        return KVSP_ERR_IO;
    }
    m->fd = -1;
    return open_next(m);
}

static int merger_init(PyObject *self, PyObject *args, PyObject *kw)
{
    merger_obj *m = (merger_obj *)self;
    static char *names[] = {"path",        "timeline", "split",        "drop_kvs_tags", "resync",
                            "writing_app", "clip",     "clip_from_ms", "clip_to_ms",    NULL};
    PyObject *path;
    const char *app = NULL;
    int timeline = 0, split = 0, drop = 0, resync = 0, clip = 0;
    double clip_from = 0, clip_to = 0;
    if (m->reader) {
        PyErr_SetString(PyExc_RuntimeError, "Merger is already initialized");
        return -1;
    }
    m->fd = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|$iippzidd", names, PyUnicode_FSConverter, &path,
                                     &timeline, &split, &drop, &resync, &app, &clip, &clip_from,
                                     &clip_to))
        return -1;
    m->base = strdup(PyBytes_AS_STRING(path));
    Py_DECREF(path);
    m->writing_app = app ? strdup(app) : NULL;
    if (!m->base || (app && !m->writing_app)) {
        PyErr_NoMemory();
        return -1;
    }
    if (timeline < 0 || timeline > KVSP_MERGE_TIMELINE_PACK || split < 0 ||
        split > KVSP_MERGE_SPLIT_STOP || clip < 0 || clip > 2) {
        PyErr_SetString(PyExc_ValueError, "bad timeline, split or clip");
        return -1;
    }
    if (open_next(m) != KVSP_OK) {
        errno = m->io_errno;
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, m->base);
        return -1;
    }
    kvsp_reader_options ro = {{0, 0, 0}, resync};
    kvsp_merge_options mo = {(kvsp_merge_timeline)timeline, (kvsp_merge_split)split, drop,
                             m->writing_app};
    kvsp_merge_output out = {m, out_write, out_patch, out_next_file};
    m->reader = kvsp_reader_create(&ro);
    m->merger = m->reader ? kvsp_merger_create(NULL, &mo, &out) : NULL;
    if (m->merger && clip) { /* 1: producer timeline, 2: server */
        kvsp_merge_clip_options co = {clip_from, clip_to, clip == 2, ro};
        m->clip_meta = kvsp_fragment_visitor_create(NULL);
        m->clip = m->clip_meta ? kvsp_merge_clip_create(&co, m->clip_meta, m->merger) : NULL;
    }
    if (!m->merger || (clip && !m->clip)) {
        PyErr_NoMemory();
        return -1;
    }
    m->visitor = kvsp_merger_visitor(m->merger);
    return 0;
}

static void merger_dealloc(PyObject *self)
{
    merger_obj *m = (merger_obj *)self;
    kvsp_merge_clip_destroy(m->clip);
    kvsp_fragment_visitor_destroy(m->clip_meta);
    kvsp_merger_destroy(m->merger);
    kvsp_reader_destroy(m->reader);
    if (m->fd >= 0)
        close(m->fd);
    for (unsigned i = 0; i < m->count; i++)
        free(m->names[i]);
    free(m->base);
    free(m->writing_app);
    Py_TYPE(self)->tp_free(self);
}

static PyObject *fail(merger_obj *m, int st)
{
    if (st == KVSP_ERR_IO && m->io_errno) {
        errno = m->io_errno;
        return PyErr_SetFromErrnoWithFilename(PyExc_OSError,
                                              m->count ? m->names[m->count - 1] : m->base);
    }
    const kvsp_reader *r = m->clip ? kvsp_merge_clip_reader(m->clip) : m->reader;
    return kvsp_py_raise(st, (int64_t)kvsp_reader_error_offset(r), kvsp_reader_error_message(r));
}

static int check_usable(merger_obj *m)
{
    if (!m->reader || m->busy || m->finished) {
        PyErr_SetString(PyExc_RuntimeError, !m->reader ? "Merger is not initialized"
                                            : m->busy  ? "Merger is in use by another thread"
                                                       : "Merger is finished");
        return -1;
    }
    return 0;
}

/* Without the GIL: the bytes to the clip or straight to the merger. */
static int push_bytes(merger_obj *m, const void *data, size_t len)
{
    if (m->clip)
        return kvsp_merge_clip_feed(m->clip, data, len);
    return kvsp_reader_push(m->reader, data, len, &m->visitor);
}

static int finish_input(merger_obj *m)
{
    if (m->clip)
        return kvsp_merge_clip_finish(m->clip);
    kvsp_reader_finish(m->reader);
    return kvsp_reader_run(m->reader, &m->visitor);
}

static PyObject *merger_feed(PyObject *self, PyObject *arg)
{
    merger_obj *m = (merger_obj *)self;
    Py_buffer view;
    if (check_usable(m) < 0 || PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    int st;
    m->busy = 1;
    Py_BEGIN_ALLOW_THREADS st = push_bytes(m, view.buf, (size_t)view.len);
    Py_END_ALLOW_THREADS m->busy = 0;
    PyBuffer_Release(&view);
    if (st < 0)
        return fail(m, st);
    Py_RETURN_NONE;
}

static PyObject *stats_dict(merger_obj *m)
{
    const kvsp_merge_stats *s = kvsp_merger_stats(m->merger);
    PyObject *files = PyList_New(0);
    for (unsigned i = 0; files && i < m->count; i++) {
        PyObject *name = PyUnicode_DecodeFSDefault(m->names[i]);
        if (!name || PyList_Append(files, name) < 0)
            Py_CLEAR(files);
        Py_XDECREF(name);
    }
    if (!files)
        return NULL;
    return Py_BuildValue("{sKsKsKsKsKsKsKsKsdsdsNsN}", "fragments", s->fragments,
                         "fragments_written", s->fragments_written, "frames", s->frames, "blocks",
                         s->blocks, "clusters", s->clusters, "segments", s->segments, "files_begun",
                         s->files, "gaps", s->gaps, "gap_ms", s->gap_ms, "duration_ms",
                         s->duration_ms, "stopped", PyBool_FromLong(s->stopped), "files", files);
}

static PyObject *merger_finish(PyObject *self, PyObject *unused)
{
    (void)unused;
    merger_obj *m = (merger_obj *)self;
    if (check_usable(m) < 0)
        return NULL;
    int st, done;
    m->busy = 1;
    Py_BEGIN_ALLOW_THREADS st = finish_input(m);
    done = kvsp_merger_finish(m->merger);
    Py_END_ALLOW_THREADS m->busy = 0;
    m->finished = 1;
    if (m->fd >= 0 && close(m->fd) != 0 && done == KVSP_OK) {
        m->io_errno = errno;
        done = KVSP_ERR_IO;
    }
    m->fd = -1;
    if (st < 0)
        return fail(m, st);
    if (done < 0)
        return fail(m, done);
    return stats_dict(m);
}

static PyMethodDef merger_methods[] = {
    {"feed", merger_feed, METH_O, "Merges what the chunk completes."},
    {"finish", merger_finish, METH_NOARGS, "End of input: completes the files; returns the stats."},
    {"__reduce__", kvsp_py_no_pickle, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject merger_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "kvsp._native.Merger",
    .tp_basicsize = sizeof(merger_obj),
    .tp_dealloc = merger_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Reader + segment merger of libkvsparser (use kvsp.merge).",
    .tp_methods = merger_methods,
    .tp_init = merger_init,
    .tp_new = PyType_GenericNew,
};

int kvsp_py_add_merger(PyObject *module)
{
    if (PyType_Ready(&merger_type) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "Merger", (PyObject *)&merger_type);
}
