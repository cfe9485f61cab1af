/* The Consumer type: libkvsparser-client's many-stream consumer (GetMedia
 * of one or many streams on one thread, cut into whole fragments, resumed
 * by continuation token and retried) for Python.
 *
 * It is driven through the consumer's fdset/timeout/perform interface, so
 * that the iterator keeps the control: poll() waits and performs with the
 * GIL released until a fragment is complete (or its time is up, so that
 * Python sees signals), and the fragment callback, called inside perform,
 * takes the GIL only to add the fragment's dict to the pending list. */
#include "native.h"

#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "kvsparser/client.h"
#include "kvsparser/consumer.h"
#include "kvsparser/frames.h"
#include "kvsparser/visitor.h"

struct consumer_obj;

/* What a stream's fragments go through when frames are wanted: the
 * fragment and frame visitors, whose frames are copied (the bytes are the
 * consumer's only during the push) and gathered until on_fragment. */
typedef struct {
    struct consumer_obj *owner;
    kvsp_fragment_visitor *fragments;
    kvsp_frame_visitor *frames;
    kvsp_composite *composite;
    kvsp_visitor visitor; /* the composite's, borrowed by the consumer */
    PyObject *frame_list; /* frames of the fragment being pushed, or NULL */
} stream_ctx;

typedef struct consumer_obj {
    PyObject_HEAD PyObject *client; /* the kvsp._native.Client it borrows */
    kvsp_consumer *consumer;
    stream_ctx **streams; /* one per added stream, borrowed by the consumer */
    size_t nstreams;
    PyObject *pending;   /* list of (stream, fragment dict) since the last poll */
    int callback_failed; /* building an item raised: its exception is pending */
    int busy;
    int active; /* streams still active after the last perform */
} consumer_obj;

/* Notes a failure of a callback: its exception stays set for poll to raise. */
static void callback_failed(consumer_obj *c)
{
    if (!c->callback_failed) {
        c->callback_failed = 1;
        kvsp_consumer_stop(c->consumer);
    }
}

static int on_frame(void *user, const kvsp_frame *f)
{
    stream_ctx *s = user;
    PyGILState_STATE g = PyGILState_Ensure();
    int rc = KVSP_ERR_CALLBACK;
    PyObject *number = kvsp_py_cstring(f->fragment ? f->fragment->fragment_number : NULL);
    PyObject *view = number ? kvsp_py_frame_new(f, number, NULL, NULL) : NULL;
    PyObject *frame = view ? PyObject_CallMethod(view, "copy", NULL) : NULL;
    if (view)
        kvsp_py_frame_end_step(view);
    Py_XDECREF(view);
    if (frame && !s->frame_list)
        s->frame_list = PyList_New(0);
    if (frame && s->frame_list && PyList_Append(s->frame_list, frame) == 0)
        rc = KVSP_OK;
    Py_XDECREF(frame);
    if (rc != KVSP_OK)
        callback_failed(s->owner);
    PyGILState_Release(g);
    return rc;
}

static int on_fragment(void *user, const char *stream, const kvsp_fragment *f)
{
    stream_ctx *s = user;
    consumer_obj *c = s->owner;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *d = kvsp_py_fragment_dict(f);
    PyObject *item = NULL;
    if (d && s->frames) {
        PyObject *frames = s->frame_list ? s->frame_list : PyList_New(0);
        s->frame_list = NULL;
        item = frames ? Py_BuildValue("(sNN)", stream, d, frames) : NULL;
        if (!frames)
            Py_DECREF(d);
    } else if (d) {
        item = Py_BuildValue("(sN)", stream, d);
    }
    int rc = item && PyList_Append(c->pending, item) == 0 ? KVSP_OK : KVSP_ERR_CALLBACK;
    Py_XDECREF(item);
    if (rc != KVSP_OK)
        callback_failed(c);
    PyGILState_Release(g);
    return rc;
}

static int consumer_init(PyObject *self, PyObject *args, PyObject *kw)
{
    consumer_obj *c = (consumer_obj *)self;
    static char *names[] = {"client",         "max_retries",        "initial_backoff_ms",
                            "max_backoff_ms", "max_fragment_bytes", NULL};
    PyObject *client;
    kvsp_consumer_options o = {0};
    Py_ssize_t max_fragment = 0;
    if (c->consumer) {
        PyErr_SetString(PyExc_RuntimeError, "Consumer is already initialized");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$illn", names, &client, &o.max_retries,
                                     &o.initial_backoff_ms, &o.max_backoff_ms, &max_fragment))
        return -1;
    if (o.max_retries < 0 || o.initial_backoff_ms < 0 || o.max_backoff_ms < 0 || max_fragment < 0) {
        PyErr_SetString(PyExc_ValueError, "Consumer options must not be negative");
        return -1;
    }
    o.max_fragment_bytes = (size_t)max_fragment;
    kvsp_client *kc = kvsp_py_client_of(client);
    if (!kc)
        return -1;
    c->pending = PyList_New(0);
    if (!c->pending)
        return -1;
    c->consumer = kvsp_consumer_create(kc, &o);
    if (!c->consumer) {
        PyErr_NoMemory();
        return -1;
    }
    c->client = Py_NewRef(client);
    return 0;
}

static void stream_ctx_destroy(stream_ctx *s)
{
    if (!s)
        return;
    kvsp_composite_destroy(s->composite);
    kvsp_frame_visitor_destroy(s->frames);
    kvsp_fragment_visitor_destroy(s->fragments);
    Py_XDECREF(s->frame_list);
    PyMem_Free(s);
}

static void consumer_dealloc(PyObject *self)
{
    consumer_obj *c = (consumer_obj *)self;
    kvsp_consumer_destroy(c->consumer); /* before the client and visitors it borrows */
    for (size_t i = 0; i < c->nstreams; i++)
        stream_ctx_destroy(c->streams[i]);
    PyMem_Free(c->streams);
    Py_XDECREF(c->client);
    Py_XDECREF(c->pending);
    Py_TYPE(self)->tp_free(self);
}

static int check_usable(consumer_obj *c)
{
    if (!c->consumer || c->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        c->consumer ? "Consumer is in use by another thread (one call at a time)"
                                    : "Consumer is not initialized");
        return -1;
    }
    return 0;
}

/* The context of a new stream: frames wanted (with these filters) or not. */
static stream_ctx *stream_ctx_new(consumer_obj *c, int frames, unsigned long long track,
                                  unsigned long long track_type)
{
    stream_ctx *s = PyMem_Calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->owner = c;
    if (!frames)
        return s;
    kvsp_fragment_options fo = {0};
    kvsp_frame_options opts = {track, track_type};
    kvsp_visitor sink = {0};
    sink.user = s;
    sink.on_frame = on_frame;
    s->fragments = kvsp_fragment_visitor_create(&fo);
    s->frames = s->fragments ? kvsp_frame_visitor_create(s->fragments, &opts, &sink) : NULL;
    if (s->frames) {
        kvsp_visitor children[2] = {kvsp_fragment_visitor_visitor(s->fragments),
                                    kvsp_frame_visitor_visitor(s->frames)};
        s->composite = kvsp_composite_create(children, 2);
    }
    if (!s->composite) {
        stream_ctx_destroy(s);
        return NULL;
    }
    return s;
}

/* add(stream, start, follow, frames, track, track_type): the stream's index. */
static PyObject *consumer_add(PyObject *self, PyObject *args)
{
    consumer_obj *c = (consumer_obj *)self;
    const char *stream, *start;
    int follow = 0, frames = 0;
    unsigned long long track = 0, track_type = 0;
    if (!PyArg_ParseTuple(args, "ssp|pKK", &stream, &start, &follow, &frames, &track,
                          &track_type) ||
        check_usable(c) < 0)
        return NULL;
    kvsp_stream_options so;
    memset(&so, 0, sizeof so);
    if (kvsp_start_selector_parse(start, &so.start) != KVSP_OK)
        return PyErr_Format(PyExc_ValueError,
                            "bad start %R: earliest, now, fragment:N, continuation:T, "
                            "server-ts:S or producer-ts:S",
                            PyTuple_GET_ITEM(args, 1));
    stream_ctx **grown = PyMem_Realloc(c->streams, (c->nstreams + 1) * sizeof *grown);
    if (!grown)
        return PyErr_NoMemory();
    c->streams = grown;
    stream_ctx *ctx = stream_ctx_new(c, frames, track, track_type);
    if (!ctx)
        return PyErr_NoMemory();
    c->streams[c->nstreams++] = ctx;
    if (ctx->composite) {
        ctx->visitor = kvsp_composite_visitor(ctx->composite);
        so.visitor = &ctx->visitor;
    }
    so.stream = stream;
    so.on_fragment = on_fragment;
    so.user = ctx;
    so.follow = follow;
    int idx = kvsp_consumer_add(c->consumer, &so);
    if (idx < 0)
        return kvsp_py_raise(idx, -1, kvsp_consumer_error_message(c->consumer));
    c->active++;
    return PyLong_FromLong(idx);
}

/* Waits (GIL released) for the consumer's sockets or timer, at most
 * limit_ms, then performs once. */
static int wait_and_perform(kvsp_consumer *k, long limit_ms)
{
    fd_set r, w, e;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    int max_fd = -1;
    long ms = kvsp_consumer_timeout(k);
    if (ms < 0 || ms > limit_ms)
        ms = limit_ms;
    if (ms > 0 && kvsp_consumer_fdset(k, &r, &w, &e, &max_fd) == KVSP_OK) {
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        if (max_fd >= 0) {
            select(max_fd + 1, &r, &w, &e, &tv);
        } else {
            /* nothing to wait on yet (connecting, backing off): libcurl
             * asks for a short sleep */
            struct timespec ts = {0, (ms > 50 ? 50 : ms) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return kvsp_consumer_perform(k);
}

/* A failed stream's error as an exception with its HTTP status, AWS
 * exception name and stream name attached. */
static PyObject *raise_failed(consumer_obj *c)
{
    const kvsp_stream_stats *s = NULL;
    for (size_t i = 0; i < kvsp_consumer_stream_count(c->consumer); i++) {
        s = kvsp_consumer_stats(c->consumer, i);
        if (s->state == KVSP_STREAM_FAILED)
            break;
        s = NULL;
    }
    kvsp_py_raise(kvsp_consumer_error(c->consumer), -1, kvsp_consumer_error_message(c->consumer));
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value && s) {
        PyObject *http = PyLong_FromLong(s->last_http_status);
        PyObject *exc = kvsp_py_cstring(s->last_exception);
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

/* poll(timeout_ms): the (stream, fragment dict) pairs completed within
 * about timeout_ms (an empty list when none), None when every stream is
 * done; raises when a stream failed, after the fragments before. */
static PyObject *consumer_poll(PyObject *self, PyObject *arg)
{
    consumer_obj *c = (consumer_obj *)self;
    long timeout_ms = PyLong_AsLong(arg);
    if ((timeout_ms == -1 && PyErr_Occurred()) || check_usable(c) < 0)
        return NULL;
    kvsp_consumer *k = c->consumer;
    if (PyList_GET_SIZE(c->pending) == 0 && !c->callback_failed && c->active > 0 &&
        kvsp_consumer_error(k) == KVSP_OK) {
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int active;
        c->busy = 1;
        Py_BEGIN_ALLOW_THREADS for (;;)
        {
            active = wait_and_perform(k, timeout_ms);
            /* pending only grows in on_fragment, on this thread */
            if (active <= 0 || PyList_GET_SIZE(c->pending) > 0 || c->callback_failed ||
                kvsp_consumer_error(k) != KVSP_OK)
                break;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long spent =
                (long)((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
            if (spent >= timeout_ms)
                break;
        }
        Py_END_ALLOW_THREADS c->busy = 0;
        c->active = active < 0 ? 0 : active;
    }
    if (c->callback_failed)
        return NULL;
    if (PyList_GET_SIZE(c->pending) > 0) {
        PyObject *out = c->pending;
        c->pending = PyList_New(0);
        if (!c->pending) {
            c->pending = out;
            return NULL;
        }
        return out;
    }
    if (kvsp_consumer_error(k) != KVSP_OK)
        return raise_failed(c);
    if (c->active <= 0)
        Py_RETURN_NONE;
    return PyList_New(0);
}

static PyObject *opt_str(const char *s)
{
    return kvsp_py_cstring(s);
}

static const char *const state_names[] = {"connecting", "streaming", "backoff", "done", "failed"};

/* stats(index): the stream's counters as a dict. */
static PyObject *consumer_stats(PyObject *self, PyObject *arg)
{
    consumer_obj *c = (consumer_obj *)self;
    Py_ssize_t i = PyLong_AsSsize_t(arg);
    if ((i == -1 && PyErr_Occurred()) || !c->consumer)
        return c->consumer ? NULL : PyErr_Format(PyExc_RuntimeError, "Consumer is not initialized");
    const kvsp_stream_stats *s = i >= 0 ? kvsp_consumer_stats(c->consumer, (size_t)i) : NULL;
    if (!s)
        return PyErr_Format(PyExc_IndexError, "no stream %zd", i);
    unsigned st = (unsigned)s->state < 5 ? (unsigned)s->state : 4;
    return Py_BuildValue(
        "{sssKsKsKsKsKsKsKsLsNsNsisNsKsKsKsKsIslsNsN}", "state", state_names[st], "fragments",
        (unsigned long long)s->fragments, "frames", (unsigned long long)s->frames, "bytes",
        (unsigned long long)s->bytes, "dropped_bytes", (unsigned long long)s->dropped_bytes,
        "reconnects", (unsigned long long)s->reconnects, "throttled",
        (unsigned long long)s->throttled, "error_tags", (unsigned long long)s->error_tags,
        "millis_behind_now", (long long)s->millis_behind_now, "continuation_token",
        opt_str(s->continuation_token), "last_fragment_number", opt_str(s->last_fragment_number),
        "last_status", s->last_status, "last_error", opt_str(s->last_error), "stalls",
        (unsigned long long)s->stalls, "network_errors", (unsigned long long)s->network_errors,
        "service_errors", (unsigned long long)s->service_errors, "payload_errors",
        (unsigned long long)s->payload_errors, "attempts", s->attempts, "last_http_status",
        s->last_http_status, "last_exception", opt_str(s->last_exception), "data_endpoint",
        opt_str(s->data_endpoint));
}

static PyMethodDef consumer_methods[] = {
    {"add", consumer_add, METH_VARARGS, "add(stream, start, follow): the stream's index."},
    {"poll", consumer_poll, METH_O,
     "poll(timeout_ms): completed (stream, fragment) pairs, [] for none yet, None when done."},
    {"stats", consumer_stats, METH_O, "stats(index): the stream's counters."},
    {"__reduce__", kvsp_py_no_pickle, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject consumer_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "kvsp._native.Consumer",
    .tp_basicsize = sizeof(consumer_obj),
    .tp_dealloc = consumer_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "libkvsparser-client's consumer (use kvsp.Consumer).",
    .tp_methods = consumer_methods,
    .tp_init = consumer_init,
    .tp_new = PyType_GenericNew,
};

int kvsp_py_add_consumer(PyObject *module)
{
    if (PyType_Ready(&consumer_type) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "Consumer", (PyObject *)&consumer_type);
}
