#ifndef KVSPARSER_STATUS_H
#define KVSPARSER_STATUS_H

#include "kvsparser/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: 0 is success, positive values are non-error conditions of the
 * incremental API, negative values are errors. Every function that can fail
 * returns one (or NULL, for constructors). Errors of a reader are sticky:
 * every later call returns the same error until kvsp_reader_reset(). */
#define KVSP_STATUS_MAP(X)                                                           \
    X(OK, 0, "ok")                                                                   \
    X(NEED_DATA, 1, "all input consumed; feed more or finish")                       \
    X(DONE, 2, "end of stream reached")                                              \
    X(PAUSED, 3, "paused by a visitor")                                              \
    X(SKIP, 4, "a visitor asks to pass over the children of a master")               \
    X(DEFERRED, 5, "content left for the reader to deliver as events")               \
    X(ERR_INVALID_ARG, -1, "invalid argument")                                       \
    X(ERR_NOMEM, -2, "out of memory")                                                \
    X(ERR_INVALID_ID, -3, "invalid element ID")                                      \
    X(ERR_INVALID_SIZE, -4, "invalid element size")                                  \
    X(ERR_ELEMENT_TOO_LARGE, -5, "element larger than the configured limit")         \
    X(ERR_STRING_TOO_LONG, -6, "string longer than the configured limit")            \
    X(ERR_TOO_DEEP, -7, "elements nested deeper than the configured limit")          \
    X(ERR_CHILD_OVERRUN, -8, "element extends past the end of its parent")           \
    X(ERR_BAD_INTEGER, -9, "integer element longer than 8 bytes")                    \
    X(ERR_BAD_FLOAT, -10, "float element not 0, 4 or 8 bytes long")                  \
    X(ERR_UNKNOWN_SIZE, -11, "unknown size on an element that cannot have one")      \
    X(ERR_BAD_BLOCK, -12, "malformed block header")                                  \
    X(ERR_BAD_LACING, -13, "block lacing does not fit the block")                    \
    X(ERR_TRUNCATED, -14, "input ends inside an element")                            \
    X(ERR_NOT_TOP_LEVEL, -15, "element not allowed at the top level")                \
    X(ERR_INPUT_PENDING, -16, "previous input not consumed yet")                     \
    X(ERR_FINISHED, -17, "input already finished")                                   \
    X(ERR_CALLBACK, -18, "stopped by a visitor")                                     \
    X(ERR_IO, -19, "input/output error")                                             \
    X(ERR_NETWORK, -20, "network error")                                             \
    X(ERR_SERVICE, -21, "service error")                                             \
    X(ERR_METADATA_LIMIT, -22, "fragment metadata larger than the configured limit") \
    X(ERR_VISITOR_ORDER, -23, "a visitor ran before the visitor it depends on")

typedef enum kvsp_status {
#define KVSP_STATUS_ENUM_(name, value, text) KVSP_##name = value,
    KVSP_STATUS_MAP(KVSP_STATUS_ENUM_)
#undef KVSP_STATUS_ENUM_
} kvsp_status;

/* Short name ("ERR_TRUNCATED") and description of a status; never NULL,
 * static strings. */
KVSP_API const char *kvsp_status_name(int status);
KVSP_API const char *kvsp_status_str(int status);

/* What went wrong in a call that has no object to keep its error
 * (kvsp_client_create, kvsp_sigv4_verify): an optional out-parameter,
 * NULL when the status is enough. Objects keep their own last error
 * instead (kvsp_reader_error, kvsp_client_error, ...). */
#define KVSP_ERROR_MESSAGE_SIZE 512
typedef struct kvsp_error {
    int status;                            /* KVSP_OK, or the status returned */
    char message[KVSP_ERROR_MESSAGE_SIZE]; /* NUL-terminated; "" when none; never a secret */
} kvsp_error;

#ifdef __cplusplus
}
#endif

#endif
