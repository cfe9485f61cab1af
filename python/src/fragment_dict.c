/* A kvsp_fragment as a dict, keyed like `kvsp fragments` JSON, so that the
 * Python Fragment and the CLI's lines say the same thing. Absent values
 * are None. Built with the GIL held, while the fragment is valid. */
#include "native.h"

#include <string.h>

#include "kvsparser/fragment.h"

/* A kind of dict (a fragment, a track, a tag): its keys, in the order
 * they appear, and its shape, a dict of these keys with None values. Each
 * dict is a copy of the shape with its values replaced: copying a dict
 * with a combined table is one copy of its keys table, where inserting key
 * by key grew and rehashed the table on the way (about half the cost of a
 * fragment's dict). The keys are interned once. */
#define MAX_KEYS 24
typedef struct {
    const char *const *names;
    int n;
    PyObject *keys[MAX_KEYS];
    PyObject *shape; /* kept for the life of the process, with the keys */
} dict_kind;

static int kind_ready(dict_kind *k)
{
    if (k->shape)
        return 0;
    PyObject *shape = PyDict_New();
    for (int i = 0; shape && i < k->n; i++) {
        if (!k->keys[i])
            k->keys[i] = PyUnicode_InternFromString(k->names[i]);
        if (!k->keys[i] || PyDict_SetItem(shape, k->keys[i], Py_None) < 0)
            Py_CLEAR(shape);
    }
    k->shape = shape;
    return shape ? 0 : -1;
}

/* The dict of kind k with values v (k->n new references, consumed; a NULL
 * one is a failure, with its exception set: the values are made in one
 * initializer, so the others were made too, which only running out of
 * memory can cause). */
static PyObject *make_dict(dict_kind *k, PyObject **v)
{
    int i = 0;
    while (i < k->n && v[i])
        i++;
    PyObject *d = i == k->n && kind_ready(k) == 0 ? PyDict_Copy(k->shape) : NULL;
    for (i = 0; i < k->n; i++) {
        if (d && PyDict_SetItem(d, k->keys[i], v[i]) < 0)
            Py_CLEAR(d);
        Py_XDECREF(v[i]);
    }
    return d;
}

#define KIND(names)                                              \
    {                                                            \
        names, (int)(sizeof names / sizeof *names), {NULL}, NULL \
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

static const char *const track_keys[] = {"number",
                                         "type",
                                         "codec_id",
                                         "name",
                                         "language",
                                         "codec_private",
                                         "default_duration_ns",
                                         "width",
                                         "height",
                                         "display_width",
                                         "display_height",
                                         "sampling_frequency",
                                         "output_sampling_frequency",
                                         "channels",
                                         "bit_depth"};
static dict_kind track_kind = KIND(track_keys);
_Static_assert(sizeof track_keys / sizeof *track_keys <= MAX_KEYS, "MAX_KEYS");

static PyObject *track_dict(const kvsp_track *t)
{
    uint32_t p = t->present;
    PyObject *v[] = {
        opt_u64(p & KVSP_TRACK_HAS_NUMBER, t->number),
        (p & KVSP_TRACK_HAS_TYPE) ? PyUnicode_FromString(kvsp_track_type_name(t->type))
                                  : Py_NewRef(Py_None),
        kvsp_py_cstring(t->codec_id),
        kvsp_py_cstring(t->name),
        kvsp_py_cstring(t->language),
        t->codec_private ? PyBytes_FromStringAndSize((const char *)t->codec_private,
                                                     (Py_ssize_t)t->codec_private_size)
                         : Py_NewRef(Py_None),
        opt_u64(p & KVSP_TRACK_HAS_DEFAULT_DURATION, t->default_duration_ns),
        opt_u64(p & KVSP_TRACK_HAS_PIXEL_WIDTH, t->pixel_width),
        opt_u64(p & KVSP_TRACK_HAS_PIXEL_HEIGHT, t->pixel_height),
        opt_u64(p & KVSP_TRACK_HAS_DISPLAY_WIDTH, t->display_width),
        opt_u64(p & KVSP_TRACK_HAS_DISPLAY_HEIGHT, t->display_height),
        opt_double(p & KVSP_TRACK_HAS_SAMPLING_FREQUENCY, t->sampling_frequency),
        opt_double(p & KVSP_TRACK_HAS_OUTPUT_SAMPLING_FREQUENCY, t->output_sampling_frequency),
        opt_u64(p & KVSP_TRACK_HAS_CHANNELS, t->channels),
        opt_u64(p & KVSP_TRACK_HAS_BIT_DEPTH, t->bit_depth),
    };
    _Static_assert(sizeof v / sizeof *v == sizeof track_keys / sizeof *track_keys, "one per key");
    return make_dict(&track_kind, v);
}

static const char *const tag_keys[] = {"name", "value", "binary", "depth"};
static dict_kind tag_kind = KIND(tag_keys);
_Static_assert(sizeof tag_keys / sizeof *tag_keys <= MAX_KEYS, "MAX_KEYS");

static PyObject *tag_dict(const kvsp_tag *t)
{
    PyObject *v[] = {
        kvsp_py_cstring(t->name),
        kvsp_py_text(t->value, t->value_size),
        t->binary ? PyBytes_FromStringAndSize((const char *)t->binary, (Py_ssize_t)t->binary_size)
                  : Py_NewRef(Py_None),
        PyLong_FromUnsignedLong(t->depth),
    };
    _Static_assert(sizeof v / sizeof *v == sizeof tag_keys / sizeof *tag_keys, "one per key");
    return make_dict(&tag_kind, v);
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

/* Grows the scratch key for n more bytes, then appends them. */
static void add_grown(const void *p, size_t n)
{
    if (scratch_failed || n == 0)
        return;
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
    memcpy(scratch + scratch_len, p, n);
    scratch_len += n;
}

/* Inline, so that a field's fixed-size copy is a store: the key is made
 * for every fragment, and the calls were most of its cost. (After a
 * failure the key is not used, so appending on is harmless.) */
static inline void add(const void *p, size_t n)
{
    if (n == 0 || n > scratch_cap - scratch_len) {
        add_grown(p, n);
        return;
    }
    memcpy(scratch + scratch_len, p, n);
    scratch_len += n;
}

#define ADD(v) add(&(v), sizeof(v))

static inline void add_bytes(const void *p, size_t n)
{
    unsigned char there = p != NULL;
    ADD(there);
    ADD(n);
    if (p)
        add(p, n);
}

static inline void add_str(const char *s)
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

static const char *const fragment_keys[] = {"index",
                                            "fragment_number",
                                            "server_timestamp_ms",
                                            "producer_timestamp_ms",
                                            "millis_behind_now",
                                            "continuation_token",
                                            "error_id",
                                            "error_code",
                                            "error_message",
                                            "complete",
                                            "offset",
                                            "end_offset",
                                            "timecode_scale",
                                            "cluster_timecode",
                                            "frames",
                                            "frames_per_track",
                                            "first_pts_ms",
                                            "last_pts_ms",
                                            "duration",
                                            "title",
                                            "muxing_app",
                                            "writing_app",
                                            "tracks",
                                            "tags"};
static dict_kind fragment_kind = KIND(fragment_keys);
_Static_assert(sizeof fragment_keys / sizeof *fragment_keys <= MAX_KEYS, "MAX_KEYS");

static PyObject *fragment_dict(const kvsp_fragment *f, PyObject *track_cls, PyObject *tag_cls)
{
    uint32_t p = f->present;
    int frames = (p & KVSP_FRAGMENT_HAS_FRAMES) != 0;
    uint64_t scale = f->info.timecode_scale;
    PyObject *v[] = {
        PyLong_FromUnsignedLongLong(f->index),
        kvsp_py_cstring(f->fragment_number),
        opt_i64(p & KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP, f->server_timestamp_ms),
        opt_i64(p & KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP, f->producer_timestamp_ms),
        opt_i64(p & KVSP_FRAGMENT_HAS_MILLIS_BEHIND_NOW, f->millis_behind_now),
        kvsp_py_cstring(f->continuation_token),
        (p & KVSP_FRAGMENT_HAS_ERROR_ID) ? PyLong_FromLongLong(f->error_id)
                                         : kvsp_py_cstring(f->error_id_text),
        kvsp_py_cstring(f->error_code),
        kvsp_py_cstring(f->error_message),
        PyBool_FromLong(f->complete),
        PyLong_FromUnsignedLongLong(f->offset),
        PyLong_FromUnsignedLongLong(f->end_offset),
        PyLong_FromUnsignedLongLong(scale),
        opt_i64(p & KVSP_FRAGMENT_HAS_CLUSTER, f->cluster_timecode),
        PyLong_FromUnsignedLongLong(f->frames),
        per_track(f),
        ticks_ms(frames, f->first_timecode, scale),
        ticks_ms(frames, f->last_timecode, scale),
        opt_double(f->info.has_duration, f->info.duration),
        kvsp_py_cstring(f->info.title),
        kvsp_py_cstring(f->info.muxing_app),
        kvsp_py_cstring(f->info.writing_app),
        track_cls ? cached(&tracks_cache, f, key_of_tracks, tracks_of, track_cls)
                  : tracks_of(f, NULL),
        tag_cls ? cached(&tags_cache, f, key_of_tags, tags_of, tag_cls) : tags_of(f, NULL),
    };
    _Static_assert(sizeof v / sizeof *v == sizeof fragment_keys / sizeof *fragment_keys,
                   "one per key");
    return make_dict(&fragment_kind, v);
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
