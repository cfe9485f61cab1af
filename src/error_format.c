/* The shared error-message formatter (error_format.h). */
#include "error_format.h"

#include <stdio.h>

int kvsp_error_vformat(char *buf, size_t size, int *status_out, int status, const char *fmt,
                       va_list ap)
{
    /* size 0 (an optional caller buffer left out) writes nothing. */
    if (buf && size)
        vsnprintf(buf, size, fmt, ap);
    if (status_out)
        *status_out = status;
    return status;
}

/* The exported twin for the decoder and client libraries (error_format.h). */
int kvsp_ext_error_vformat(char *buf, size_t size, int *status_out, int status, const char *fmt,
                           va_list ap)
{
    return kvsp_error_vformat(buf, size, status_out, status, fmt, ap);
}
