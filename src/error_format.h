#ifndef KVSP_ERROR_FORMAT_H
#define KVSP_ERROR_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

#include "kvsparser/export.h"

/* The one formatter behind every "status plus message in a fixed buffer"
 * setter of the libraries (reader, decoder, client, consumer): the message
 * is vsnprintf'd into buf (cut to size - 1 bytes and NUL-terminated, the
 * buffer never overflows), status is stored in *status_out unless it is
 * NULL, and status is returned so that a setter can end with
 * `return kvsp_error_vformat(...)`. Nothing is allocated: it works when
 * memory has run out, which is when many of these messages are written.
 *
 * The core calls the hidden kvsp_error_vformat. libkvsparser-decoder and
 * libkvsparser-client are other shared objects and cannot see a hidden
 * symbol, so they call kvsp_ext_error_vformat, exported for them alone as
 * alloc_internal.h does for the allocator (not part of the API). */
int kvsp_error_vformat(char *buf, size_t size, int *status_out, int status, const char *fmt,
                       va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 0)))
#endif
    ;

KVSP_API int kvsp_ext_error_vformat(char *buf, size_t size, int *status_out, int status,
                                    const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 0)))
#endif
    ;

#endif
