/* A kvsp_fragment as a dict, keyed like `kvsp fragments` JSON, so that the
 * Python Fragment and the CLI's lines say the same thing. Absent values
 * are None. Built with the GIL held, while the fragment is valid. */
#include "native.h"

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

/* A list of n items made by one of the functions above. */
static PyObject *list_of(const void *items, size_t n, size_t item_size,
                         PyObject *(*make)(const void *))
{
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *o = make((const char *)items + i * item_size);
        if (!o) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, o);
    }
    return list;
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

PyObject *kvsp_py_fragment_dict(const kvsp_fragment *f)
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
        put(d, "tracks", list_of(f->tracks, f->track_count, sizeof *f->tracks, make_track)) < 0 ||
        put(d, "tags", list_of(f->tags, f->tag_count, sizeof *f->tags, make_tag)) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}
