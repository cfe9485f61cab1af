#ifndef KVSPARSER_READER_H
#define KVSPARSER_READER_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/element.h"
#include "kvsparser/export.h"
#include "kvsparser/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A push-fed, non-blocking EBML/Matroska element reader.
 *
 *   kvsp_reader *r = kvsp_reader_create(NULL);
 *   while (have input) {
 *       kvsp_reader_feed(r, buf, len);
 *       while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK) use(&ev);
 *       if (st != KVSP_NEED_DATA) break;          // error
 *   }
 *   kvsp_reader_finish(r);
 *   while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK) use(&ev);
 *   // st is KVSP_DONE, or KVSP_ERR_TRUNCATED if input ended inside an element
 *
 * Like zlib's next_in, the reader keeps a pointer to the fed bytes until they
 * are consumed (kvsp_reader_next returned KVSP_NEED_DATA): keep the buffer
 * alive until then. Bytes of an element that straddles two feeds are copied
 * into a reader-owned buffer; everything else is handed out zero-copy. */

typedef struct kvsp_reader kvsp_reader;

#define KVSP_SIZE_UNKNOWN UINT64_MAX

typedef enum kvsp_event_type {
    KVSP_EV_START = 1, /* a master element begins */
    KVSP_EV_END,       /* a master element ends (end_offset says where) */
    KVSP_EV_DATA,      /* a non-master element with its value */
    KVSP_EV_ERROR,     /* resync mode only: an error the reader recovers from */
    KVSP_EV_RESYNC     /* resync mode only: found a sync point after skipping bytes */
} kvsp_event_type;

typedef enum kvsp_lacing {
    KVSP_LACING_NONE = 0,
    KVSP_LACING_XIPH = 1,
    KVSP_LACING_FIXED = 2,
    KVSP_LACING_EBML = 3
} kvsp_lacing;

#define KVSP_MAX_LACED_FRAMES 256

/* A parsed SimpleBlock or Block (RFC 9559 section 10). For a Block inside a
 * BlockGroup, keyframe is 0: whether it is a keyframe is only known from the
 * BlockGroup's ReferenceBlock children, which may follow the Block. */
typedef struct kvsp_block {
    uint64_t track;
    int16_t timecode; /* relative to the Cluster's Timestamp */
    uint8_t flags;    /* the raw flags byte */
    unsigned keyframe : 1;
    unsigned invisible : 1;
    unsigned discardable : 1;
    unsigned simple : 1; /* SimpleBlock (1) or Block (0) */
    kvsp_lacing lacing;
    uint32_t frame_count;      /* 1 when not laced */
    const size_t *frame_sizes; /* frame_count sizes, valid with the event */
    const uint8_t *frames;     /* first byte of the first frame */
} kvsp_block;

typedef struct kvsp_event {
    kvsp_event_type type;
    uint32_t id;
    const char *name;              /* schema name, "Unknown" for other IDs */
    const kvsp_element_info *info; /* NULL for IDs the schema does not define */
    kvsp_type value_type;
    uint64_t offset;      /* absolute offset of the element's first ID byte */
    uint32_t header_size; /* ID plus size field */
    uint64_t size;        /* declared data size, KVSP_SIZE_UNKNOWN if unknown */
    uint64_t end_offset;  /* END: where the element ended; DATA: offset + header + size */
    uint32_t depth;       /* 0 for top-level elements */
    union {
        uint64_t u; /* KVSP_TYPE_UINT */
        int64_t i;  /* KVSP_TYPE_INT; KVSP_TYPE_DATE: ns since 2001-01-01T00:00:00Z */
        double f;   /* KVSP_TYPE_FLOAT */
    } value;
    /* STRING, UTF8, BINARY, UNKNOWN and blocks: the payload, valid until the
     * next call on the reader. Strings are not NUL-terminated.
     * START of a master of known size: its content (the bytes of all its
     * children), when all of it lies in the current input, it is no larger
     * than max_string_size and max_element_size, the filter delivers every
     * element, and max_depth leaves 16 levels below the master; else NULL.
     * A consumer that takes what it needs from these bytes can pass over
     * the children with kvsp_reader_skip (or KVSP_SKIP from a visitor);
     * kvsparser/content.h reads it as the reader would. */
    const uint8_t *data;
    size_t data_size;
    const kvsp_block *block; /* SimpleBlock and Block, else NULL */
    /* ERROR and RESYNC events */
    int status;
    uint64_t skipped; /* RESYNC: bytes from the error's offset to the sync point */
} kvsp_event;

/* Limits protect long-running consumers from hostile or corrupt input.
 * 0 in a field means its default. */
typedef struct kvsp_limits {
    /* Masters nested deeper than this are refused: bounds the reader's stack
     * (depth bombs). Matroska needs 8 or so; 0: 64; at most
     * KVSP_MAX_DEPTH_LIMIT. */
    uint32_t max_depth;
    /* Largest non-master element accepted, in bytes. Such elements may have to
     * be buffered, so this bounds memory; a hostile declared size fails here
     * before any allocation. 0: 256 MiB (room for 8K keyframes). */
    uint64_t max_element_size;
    /* Largest STRING or UTF-8 element. 0: 1 MiB. */
    uint64_t max_string_size;
} kvsp_limits;

#define KVSP_DEFAULT_MAX_DEPTH 64u
#define KVSP_DEFAULT_MAX_ELEMENT_SIZE (256ull << 20)
#define KVSP_DEFAULT_MAX_STRING_SIZE (1ull << 20)
#define KVSP_MAX_DEPTH_LIMIT (1u << 20)

/* Zeroed (or NULL) options are the defaults. */
typedef struct kvsp_reader_options {
    kvsp_limits limits;
    /* After an error, skip to the next EBML header or Cluster and go on,
     * reporting KVSP_EV_ERROR and KVSP_EV_RESYNC events; errors are then not
     * sticky. 0: off. */
    int resync;
} kvsp_reader_options;

/* The options are copied. Returns NULL on allocation failure or a
 * max_depth above KVSP_MAX_DEPTH_LIMIT. */
KVSP_API kvsp_reader *kvsp_reader_create(const kvsp_reader_options *opts);
KVSP_API void kvsp_reader_destroy(kvsp_reader *r);
/* Back to the initial state (stream offset 0), keeping options and filter. */
KVSP_API void kvsp_reader_reset(kvsp_reader *r);

/* Hands the reader the next bytes of the stream. Fails with
 * KVSP_ERR_INPUT_PENDING if the previous input has not been consumed. */
KVSP_API int kvsp_reader_feed(kvsp_reader *r, const void *data, size_t len);
/* Marks the end of input: open unknown-size masters end; an element cut off
 * gives KVSP_ERR_TRUNCATED once every complete element was delivered. */
KVSP_API int kvsp_reader_finish(kvsp_reader *r);
/* Next event: KVSP_OK with *ev filled, KVSP_NEED_DATA, KVSP_DONE after
 * finish, or a (sticky) error. */
KVSP_API int kvsp_reader_next(kvsp_reader *r, kvsp_event *ev);

/* Passes over the children of the master whose START was the last event:
 * its END comes next. The children are not read, so errors in them go
 * unreported. KVSP_ERR_INVALID_ARG (not sticky) when the last event was not
 * a START or the master's size is unknown (only its children tell where it
 * ends): the children then follow as usual. The START event's content
 * stays valid until the next kvsp_reader_next. */
KVSP_API int kvsp_reader_skip(kvsp_reader *r);

/* Element filter. DELIVER: events are produced (default). HIDE: no events,
 * but a master's children are still read and delivered per their own action.
 * SKIP: no events and the element's bytes (a master's whole content) are
 * passed over without being copied or parsed; an unknown-size master cannot
 * be skipped and is hidden instead. */
typedef enum kvsp_filter_action {
    KVSP_FILTER_DELIVER = 0,
    KVSP_FILTER_HIDE = 1,
    KVSP_FILTER_SKIP = 2
} kvsp_filter_action;

/* id 0 sets the action of IDs the schema does not define. */
KVSP_API int kvsp_reader_set_filter(kvsp_reader *r, uint32_t id, kvsp_filter_action action);
/* Sets every element (and unknown IDs) to one action. */
KVSP_API void kvsp_reader_set_filter_all(kvsp_reader *r, kvsp_filter_action action);

/* Where the reader is: bytes consumed from the start of the stream. */
KVSP_API uint64_t kvsp_reader_offset(const kvsp_reader *r);
/* Bytes of the last feed not consumed yet. */
KVSP_API size_t kvsp_reader_pending(const kvsp_reader *r);
/* The sticky error (0 if none), its absolute stream offset and a message
 * naming the element involved. */
KVSP_API int kvsp_reader_error(const kvsp_reader *r);
KVSP_API uint64_t kvsp_reader_error_offset(const kvsp_reader *r);
KVSP_API const char *kvsp_reader_error_message(const kvsp_reader *r);

/* Puts the reader into a sticky error, e.g. for a consumer that found the
 * stream's content unacceptable. The message is formatted like printf. */
KVSP_API int kvsp_reader_fail(kvsp_reader *r, int status, uint64_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Frame i of a block event (0 <= i < frame_count). */
KVSP_API int kvsp_block_frame(const kvsp_block *b, uint32_t i, const uint8_t **data, size_t *size);

#ifdef __cplusplus
}
#endif

#endif
