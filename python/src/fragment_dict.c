/* A kvsp_fragment as a dict, keyed like `kvsp fragments` JSON, so that the
 * Python Fragment and the CLI's lines say the same thing. Absent values
 * are None. Built with the GIL held, while the fragment is valid. */
#include "native.h"

#include <string.h>

#include "kvsparser/fragment.h"

/* The keys as interned str objects, made once: the keys are string
 * literals, so their address identifies them. PyDict_SetItemString would
 * make and intern a new str for every key of every fragment, a good part
 * of the cost of a fragment. */
#define KEY_CACHE 64
static struct {
    const char *literal;
    PyObject *key;
} keys[KEY_CACHE];

/* Borrowed; NULL when the cache is full (the caller falls back). */
static PyObject *key_for(const char *literal)
{
    int i = 0;
    for (; i < KEY_CACHE && keys[i].literal; i++)
        if (keys[i].literal == literal)
            return keys[i].key;
    if (i == KEY_CACHE)
        return NULL;
    PyObject *k = PyUnicode_InternFromString(literal);
    if (k) {
        keys[i].literal = literal;
        keys[i].key = k; /* kept for the life of the process */
    }
    return k;
}

/* Steals value; -1 on failure (value NULL or insertion failed). */
static int put(PyObject *d, const char *key, PyObject *value)
{
    if (!value)
        return -1;
    PyObject *k = key_for(key);
    int rc = k ? PyDict_SetItem(d, k, value) : PyDict_SetItemString(d, key, value);
    Py_DECREF(value);
    return rc;
}

static PyObject *opt_i64(int present, int64_t v)
{
    if (!present)
        Py_RETURN_NONE;
    return PyLong_FromLongLong((long long)v);
}

static PyObject *opt_u64(int present, uint64_t v)
{
    if (!present)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong((unsigned long long)v);
}

static PyObject *opt_double(int present, double v)
{
    if (!present)
        Py_RETURN_NONE;
    return PyFloat_FromDouble(v);
}

static PyObject *ticks_ms(int present, int64_t ticks, uint64_t scale)
{
    double ms;
    if (!present || kvsp_ticks_to_ms(ticks, scale, &ms) != KVSP_OK)
        Py_RETURN_NONE;
    return kvsp_py_ms(ms);
}

static PyObject *track_dict(const kvsp_track *t)
{
    PyObject *d = PyDict_New();
    uint32_t p = t->present;
    if (!d)
        return NULL;
    if (put(d, "number", opt_u64(p & KVSP_TRACK_HAS_NUMBER, t->number)) < 0 ||
        put(d, "type",
            (p & KVSP_TRACK_HAS_TYPE) ? PyUnicode_FromString(kvsp_track_type_name(t->type))
                                      : Py_NewRef(Py_None)) < 0 ||
        put(d, "codec_id", kvsp_py_cstring(t->codec_id)) < 0 ||
        put(d, "name", kvsp_py_cstring(t->name)) < 0 ||
        put(d, "language", kvsp_py_cstring(t->language)) < 0 ||
        put(d, "codec_private",
            t->codec_private ? PyBytes_FromStringAndSize((const char *)t->codec_private,
                                                         (Py_ssize_t)t->codec_private_size)
                             : Py_NewRef(Py_None)) < 0 ||
        put(d, "default_duration_ns",
            opt_u64(p & KVSP_TRACK_HAS_DEFAULT_DURATION, t->default_duration_ns)) < 0 ||
        put(d, "width", opt_u64(p & KVSP_TRACK_HAS_PIXEL_WIDTH, t->pixel_width)) < 0 ||
        put(d, "height", opt_u64(p & KVSP_TRACK_HAS_PIXEL_HEIGHT, t->pixel_height)) < 0 ||
        put(d, "display_width", opt_u64(p & KVSP_TRACK_HAS_DISPLAY_WIDTH, t->display_width)) < 0 ||
        put(d, "display_height", opt_u64(p & KVSP_TRACK_HAS_DISPLAY_HEIGHT, t->display_height)) <
            0 ||
        put(d, "sampling_frequency",
            opt_double(p & KVSP_TRACK_HAS_SAMPLING_FREQUENCY, t->sampling_frequency)) < 0 ||
        put(d, "output_sampling_frequency",
            opt_double(p & KVSP_TRACK_HAS_OUTPUT_SAMPLING_FREQUENCY,
                       t->output_sampling_frequency)) < 0 ||
        put(d, "channels", opt_u64(p & KVSP_TRACK_HAS_CHANNELS, t->channels)) < 0 ||
        put(d, "bit_depth", opt_u64(p & KVSP_TRACK_HAS_BIT_DEPTH, t->bit_depth)) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

static PyObject *tag_dict(const kvsp_tag *t)
{
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    if (put(d, "name", kvsp_py_cstring(t->name)) < 0 ||
        put(d, "value", kvsp_py_text(t->value, t->value_size)) < 0 ||
        put(d, "binary",
            t->binary
                ? PyBytes_FromStringAndSize((const char *)t->binary, (Py_ssize_t)t->binary_size)
                : Py_NewRef(Py_None)) < 0 ||
        put(d, "depth", PyLong_FromUnsignedLong(t->depth)) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

/* The metadata classes of kvsp._model (Fragment, Track, Tag), when the
 * parser makes the objects itself (kvsp_py_fragment_object). */
static PyObject *model_fragment, *model_track, *model_tag;

/* An instance of cls whose __dict__ is d (stolen), as _model._fill makes
 * it: a frozen dataclass's __init__ would cost more than the parsing. */
static PyObject *wrap(PyObject *cls, PyObject *d)
{
    if (!d)
        return NULL;
    PyObject *empty = PyTuple_New(0);
    PyObject *obj = empty ? PyBaseObject_Type.tp_new((PyTypeObject *)cls, empty, NULL) : NULL;
    Py_XDECREF(empty);
    if (obj && PyObject_GenericSetDict(obj, d, NULL) < 0)
        Py_CLEAR(obj);
    Py_DECREF(d);
    return obj;
}

/* A list of n items made by one of the functions above; with cls, a tuple
 * of instances of cls. */
static PyObject *list_of(const void *items, size_t n, size_t item_size,
                         PyObject *(*make)(const void *), PyObject *cls)
{
    PyObject *seq = cls ? PyTuple_New((Py_ssize_t)n) : PyList_New((Py_ssize_t)n);
    for (size_t i = 0; seq && i < n; i++) {
        PyObject *o = make((const char *)items + i * item_size);
        if (o && cls)
            o = wrap(cls, o);
        if (!o) {
            Py_CLEAR(seq);
            break;
        }
        if (cls)
            PyTuple_SET_ITEM(seq, (Py_ssize_t)i, o);
        else
            PyList_SET_ITEM(seq, (Py_ssize_t)i, o);
    }
    return seq;
}

static PyObject *make_track(const void *t)
{
    return track_dict(t);
}
static PyObject *make_tag(const void *t)
{
    return tag_dict(t);
}

static PyObject *per_track(const kvsp_fragment *f)
{
    PyObject *d = PyDict_New();
    for (size_t i = 0; d && i < f->frames_track_count; i++) {
        PyObject *k = PyLong_FromUnsignedLongLong(f->frames_per_track[i].track);
        PyObject *v = PyLong_FromUnsignedLongLong(f->frames_per_track[i].frames);
        if (!k || !v || PyDict_SetItem(d, k, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    return d;
}

/* The tracks and the user tags of a stream are the same fragment after
 * fragment, and making their objects was most of a fragment's cost: the
 * last tuple made is reused while the content it was made from is the
 * same, compared byte for byte in a flat copy (key). The objects are
 * frozen dataclasses, so sharing them is safe. */
typedef struct {
    unsigned char *key;
    size_t len, cap;
    PyObject *tuple;
} seq_cache;

static seq_cache tracks_cache, tags_cache;
static unsigned char *scratch;
static size_t scratch_len, scratch_cap;
static int scratch_failed;

static void add(const void *p, size_t n)
{
    if (scratch_failed || n == 0)
        return;
    if (n > scratch_cap - scratch_len) {
        size_t cap = scratch_cap ? scratch_cap : 1024;
        while (cap - scratch_len < n) {
            if (cap > SIZE_MAX / 2) {
                scratch_failed = 1;
                return;
            }
            cap *= 2;
        }
        unsigned char *b = PyMem_Realloc(scratch, cap);
        if (!b) {
            scratch_failed = 1;
            return;
        }
        scratch = b;
        scratch_cap = cap;
    }
    memcpy(scratch + scratch_len, p, n);
    scratch_len += n;
}

#define ADD(v) add(&(v), sizeof(v))

static void add_bytes(const void *p, size_t n)
{
    unsigned char there = p != NULL;
    ADD(there);
    ADD(n);
    if (p)
        add(p, n);
}

static void add_str(const char *s)
{
    add_bytes(s, s ? strlen(s) : 0);
}

static void key_of_tracks(const kvsp_fragment *f)
{
    for (size_t i = 0; i < f->track_count; i++) {
        const kvsp_track *t = &f->tracks[i];
        ADD(t->present), ADD(t->number), ADD(t->type);
        add_str(t->codec_id), add_str(t->name), add_str(t->language);
        add_bytes(t->codec_private, t->codec_private_size);
        ADD(t->default_duration_ns), ADD(t->pixel_width), ADD(t->pixel_height);
        ADD(t->display_width), ADD(t->display_height), ADD(t->sampling_frequency);
        ADD(t->output_sampling_frequency), ADD(t->channels), ADD(t->bit_depth);
    }
}

static void key_of_tags(const kvsp_fragment *f)
{
    for (size_t i = 0; i < f->tag_count; i++) {
        const kvsp_tag *t = &f->tags[i];
        add_str(t->name);
        add_bytes(t->value, t->value_size);
        add_bytes(t->binary, t->binary_size);
        ADD(t->depth);
    }
}

/* A new reference to the cached tuple when the fragment's content equals
 * the one it was made from, else made by make() and cached. */
static PyObject *cached(seq_cache *c, const kvsp_fragment *f, void (*key_of)(const kvsp_fragment *),
                        PyObject *(*make)(const kvsp_fragment *, PyObject *), PyObject *cls)
{
    scratch_len = 0;
    scratch_failed = 0;
    size_t n = key_of == key_of_tracks ? f->track_count : f->tag_count;
    ADD(n);
    key_of(f);
    if (scratch_failed) /* no key: made every time */
        return make(f, cls);
    if (c->tuple && c->len == scratch_len && memcmp(c->key, scratch, scratch_len) == 0)
        return Py_NewRef(c->tuple);
    PyObject *t = make(f, cls);
    if (!t)
        return NULL;
    if (scratch_len > c->cap) {
        unsigned char *k = PyMem_Realloc(c->key, scratch_len);
        if (!k)
            return t; /* not cached */
        c->key = k;
        c->cap = scratch_len;
    }
    memcpy(c->key, scratch, scratch_len);
    c->len = scratch_len;
    Py_XSETREF(c->tuple, Py_NewRef(t));
    return t;
}

static PyObject *tracks_of(const kvsp_fragment *f, PyObject *cls)
{
    return list_of(f->tracks, f->track_count, sizeof *f->tracks, make_track, cls);
}

static PyObject *tags_of(const kvsp_fragment *f, PyObject *cls)
{
    return list_of(f->tags, f->tag_count, sizeof *f->tags, make_tag, cls);
}

static PyObject *fragment_dict(const kvsp_fragment *f, PyObject *track_cls, PyObject *tag_cls)
{
    uint32_t p = f->present;
    int frames = (p & KVSP_FRAGMENT_HAS_FRAMES) != 0;
    uint64_t scale = f->info.timecode_scale;
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    if (put(d, "index", PyLong_FromUnsignedLongLong(f->index)) < 0 ||
        put(d, "fragment_number", kvsp_py_cstring(f->fragment_number)) < 0 ||
        put(d, "server_timestamp_ms",
            opt_i64(p & KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP, f->server_timestamp_ms)) < 0 ||
        put(d, "producer_timestamp_ms",
            opt_i64(p & KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP, f->producer_timestamp_ms)) < 0 ||
        put(d, "millis_behind_now",
            opt_i64(p & KVSP_FRAGMENT_HAS_MILLIS_BEHIND_NOW, f->millis_behind_now)) < 0 ||
        put(d, "continuation_token", kvsp_py_cstring(f->continuation_token)) < 0 ||
        put(d, "error_id",
            (p & KVSP_FRAGMENT_HAS_ERROR_ID) ? PyLong_FromLongLong(f->error_id)
                                             : kvsp_py_cstring(f->error_id_text)) < 0 ||
        put(d, "error_code", kvsp_py_cstring(f->error_code)) < 0 ||
        put(d, "error_message", kvsp_py_cstring(f->error_message)) < 0 ||
        put(d, "complete", PyBool_FromLong(f->complete)) < 0 ||
        put(d, "offset", PyLong_FromUnsignedLongLong(f->offset)) < 0 ||
        put(d, "end_offset", PyLong_FromUnsignedLongLong(f->end_offset)) < 0 ||
        put(d, "timecode_scale", PyLong_FromUnsignedLongLong(scale)) < 0 ||
        put(d, "cluster_timecode", opt_i64(p & KVSP_FRAGMENT_HAS_CLUSTER, f->cluster_timecode)) <
            0 ||
        put(d, "frames", PyLong_FromUnsignedLongLong(f->frames)) < 0 ||
        put(d, "frames_per_track", per_track(f)) < 0 ||
        put(d, "first_pts_ms", ticks_ms(frames, f->first_timecode, scale)) < 0 ||
        put(d, "last_pts_ms", ticks_ms(frames, f->last_timecode, scale)) < 0 ||
        put(d, "duration", opt_double(f->info.has_duration, f->info.duration)) < 0 ||
        put(d, "title", kvsp_py_cstring(f->info.title)) < 0 ||
        put(d, "muxing_app", kvsp_py_cstring(f->info.muxing_app)) < 0 ||
        put(d, "writing_app", kvsp_py_cstring(f->info.writing_app)) < 0 ||
        put(d, "tracks",
            track_cls ? cached(&tracks_cache, f, key_of_tracks, tracks_of, track_cls)
                      : tracks_of(f, NULL)) < 0 ||
        put(d, "tags",
            tag_cls ? cached(&tags_cache, f, key_of_tags, tags_of, tag_cls) : tags_of(f, NULL)) <
            0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

PyObject *kvsp_py_fragment_dict(const kvsp_fragment *f)
{
    return fragment_dict(f, NULL, NULL);
}

int kvsp_py_fragment_model(PyObject *fragment_from_dict)
{
    if (!model_fragment) {
        PyObject *m = PyImport_ImportModule("kvsp._model");
        if (!m)
            return -1;
        model_fragment = PyObject_GetAttrString(m, "Fragment");
        model_track = PyObject_GetAttrString(m, "Track");
        model_tag = PyObject_GetAttrString(m, "Tag");
        Py_DECREF(m);
        if (!model_fragment || !model_track || !model_tag || !PyType_Check(model_fragment) ||
            !PyType_Check(model_track) || !PyType_Check(model_tag)) {
            Py_CLEAR(model_fragment);
            Py_CLEAR(model_track);
            Py_CLEAR(model_tag);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "kvsp._model lacks its classes");
            return -1;
        }
    }
    PyObject *own = PyObject_GetAttrString(model_fragment, "_from_dict");
    if (!own)
        return -1;
    int same = PyObject_RichCompareBool(own, fragment_from_dict, Py_EQ);
    Py_DECREF(own);
    return same;
}

PyObject *kvsp_py_fragment_object(const kvsp_fragment *f)
{
    return wrap(model_fragment, fragment_dict(f, model_track, model_tag));
}
