/* Shared declarations of the kvsp._native extension module: the Python
 * layer above libkvsparser's public API (include/kvsparser/). Each .c file
 * holds one concern; this header is how they reach each other.
 *
 *   module.c        init, kvsp.errors exceptions, text helpers
 *   fragment_dict.c a kvsp_fragment as a dict (kvsp fragments' keys)
 *   frame.c         the Frame type and its step-bound buffer
 *   parser.c        the Parser: reader + fragment and frame visitors
 *   file_source.c   a file the Parser reads itself, the GIL released
 *   decoder.c       the Decoder: reader + frame decoder to numpy
 *   audio.c         the AudioSink: reader + audio sink to numpy PCM; wav_header
 *   merger.c        the Merger: reader + segment merger to files
 *   client.c        the Client: KVS calls of libkvsparser-client
 *   consumer.c      the Consumer: many GetMedia streams, resumed and retried
 *   range.c         range_read / range_list: the range reader of a Client
 *   window.c        the library's window rule for kvsp.Window
 *
 * Everything is called with the GIL held unless it says otherwise. */
#ifndef KVSP_PY_NATIVE_H
#define KVSP_PY_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#include "kvsparser/fragment.h"

/* Sets the Python exception for a failed library call: an instance of the
 * kvsp.errors class for the status, carrying the status name, the absolute
 * byte offset (-1 when unknown) and the message. Returns NULL. */
PyObject *kvsp_py_raise(int status, int64_t offset, const char *message);
/* The same for an error the frame decoder raised itself: kvsp.DecodeError. */
PyObject *kvsp_py_raise_decoder(int status, int64_t offset, const char *message);

/* A fragment's metadata as a dict with the keys of `kvsp fragments` JSON. */
PyObject *kvsp_py_fragment_dict(const kvsp_fragment *f);
/* Whether fragment_from_dict is kvsp._model's Fragment._from_dict (1), not
 * (0), or -1 with an exception; on 1, kvsp_py_fragment_object makes what it
 * would make of the dict, in C. */
int kvsp_py_fragment_model(PyObject *fragment_from_dict);
PyObject *kvsp_py_fragment_object(const kvsp_fragment *f);

/* Text from the library: UTF-8 with bad bytes replaced, None for NULL. */
PyObject *kvsp_py_text(const char *s, size_t len);
PyObject *kvsp_py_cstring(const char *s);
/* A millisecond value as int when whole (as kvsp prints it), else float. */
PyObject *kvsp_py_ms(double ms);

struct kvsp_frame;
/* A Frame whose data is a view of the reader's bytes, valid until
 * kvsp_py_frame_end_step. fragment_number (str or None) is stolen. The
 * frame keeps parent (the parser that owns the bytes) alive while valid,
 * and *slot, the parent's borrowed pointer to it, is cleared when the
 * frame goes first. parent may be NULL (no slot). */
PyObject *kvsp_py_frame_new(const struct kvsp_frame *f, PyObject *fragment_number, PyObject *parent,
                            PyObject **slot);
/* The same for a copy of a frame taken during its callback, whose fragment
 * pointer may be stale by now: the fragment's index is given instead
 * (has_fragment 0: outside a fragment) and f->fragment is not read. */
PyObject *kvsp_py_frame_new_copied(const struct kvsp_frame *f, int has_fragment,
                                   uint64_t fragment_index, PyObject *fragment_number,
                                   PyObject *parent, PyObject **slot);
/* Ends the frame's step: its data stops being readable. Fails (-1,
 * BufferError) while a view of the data is still held, since the bytes
 * behind it are about to be reused. */
int kvsp_py_frame_end_step(PyObject *frame);
int kvsp_py_add_frame(PyObject *module);

/* A file read by the parser itself (file_source.c): a path's opener
 * (own: opened on the first read, closed at the end), an io.FileIO (read
 * with read(2)) or a seekable io.BufferedReader (pread(2) from its tell(),
 * sought after what was read at the end). Zeroed, then init (chunk_size
 * > 0). */
typedef struct kvsp_py_file {
    PyObject *file; /* the file object, or (own, before the first read) its opener */
    PyObject *fileio_type;
    int own, opened, fd;
    long long pos; /* the next pread offset; -1: read(2) at the fd's position */
    unsigned char *buf;
    size_t cap; /* chunk_size: bytes asked of each read */
} kvsp_py_file;
int kvsp_py_file_init(kvsp_py_file *f, PyObject *file, int own, size_t chunk_size);
/* The next chunk into f's buffer (valid until the next read), read with
 * the GIL released: its length, 0 at the end of the file, -1 with an
 * exception. then (or NULL) is called with the chunk before the GIL is
 * taken back, so must not touch Python. */
Py_ssize_t kvsp_py_file_read(kvsp_py_file *f, const unsigned char **data,
                             void (*then)(void *, const unsigned char *, size_t), void *user);
/* Ends the reading (idempotent): closes an owned file, else seeks a
 * BufferedReader to after what was read. -1 with an exception. */
int kvsp_py_file_close(kvsp_py_file *f);
/* Drops the references and the buffer, without closing. */
void kvsp_py_file_clear(kvsp_py_file *f);

/* Memory for decoded pictures' pixels, recycled (pixel_pool.c): callable
 * without the GIL. */
void *kvsp_py_pixels_alloc(size_t size);
void kvsp_py_pixels_free(void *pixels);

/* Type registration, called from the module's init. */
int kvsp_py_add_parser(PyObject *module);
int kvsp_py_add_decoder(PyObject *module);
int kvsp_py_add_audio(PyObject *module);
int kvsp_py_add_merger(PyObject *module);
int kvsp_py_add_client(PyObject *module);
int kvsp_py_add_consumer(PyObject *module);

struct kvsp_client;
/* The C client of a kvsp._native.Client (borrowed), or NULL with TypeError. */
struct kvsp_client *kvsp_py_client_of(PyObject *obj);
/* The same, marked busy for one call (RuntimeError while another thread's
 * call runs); kvsp_py_client_release after the call. */
struct kvsp_client *kvsp_py_client_claim(PyObject *obj);
void kvsp_py_client_release(PyObject *obj);
/* The client's last error as a kvsp exception with .http_status and
 * .exception (the AWS exception name). Returns NULL. */
PyObject *kvsp_py_raise_client(struct kvsp_client *client, int status);

/* A body callback (kvsp_body_cb) that hands each chunk, as bytes, to a
 * Python callable; called without the GIL, it takes it per chunk. A False
 * return stops the transfer; an exception stops it and sets failed. */
typedef struct kvsp_py_body_ctx {
    PyObject *callable;
    int failed; /* the callable raised: its exception is pending */
} kvsp_py_body_ctx;
int kvsp_py_body(void *user, const void *data, size_t len);
int kvsp_py_add_range(PyObject *module);
int kvsp_py_add_window(PyObject *module);

/* Refuses pickling of live handles with a TypeError saying why. */
PyObject *kvsp_py_no_pickle(PyObject *self, PyObject *unused);

#endif
