#ifndef KVSPARSER_FRAGMENT_H
#define KVSPARSER_FRAGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/export.h"
#include "kvsparser/visitor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The fragment metadata visitor: per KVS fragment (one Segment), its Info,
 * Tracks and Tags, with the AWS_KINESISVIDEO_* tags decoded. It works the
 * same on GetMedia and GetMediaForFragmentList payloads, producer uploads
 * without KVS tags and plain MKV files (one fragment per Segment).
 *
 * All strings are NUL-terminated copies with trailing NUL bytes stripped;
 * they and every pointer in a kvsp_fragment stay valid until the next
 * fragment begins (or the visitor is reset or destroyed). */

/* KVS fragment numbers are decimal strings of up to this many digits (47
 * in practice). Every buffer of the libraries and of kvsp holds this many
 * plus the NUL; longer numbers are refused (ListFragments) or not kept. */
#define KVSP_FRAGMENT_NUMBER_MAX 128

/* Matroska TrackType values. */
#define KVSP_TRACK_VIDEO 1u
#define KVSP_TRACK_AUDIO 2u
#define KVSP_TRACK_COMPLEX 3u
#define KVSP_TRACK_LOGO 0x10u
#define KVSP_TRACK_SUBTITLE 0x11u
#define KVSP_TRACK_BUTTONS 0x12u
#define KVSP_TRACK_CONTROL 0x20u
#define KVSP_TRACK_METADATA 0x21u

/* "video", "audio", ... or "unknown". */
KVSP_API const char *kvsp_track_type_name(uint64_t type);

/* kvsp_track.present bits: which numeric fields the TrackEntry carried.
 * Absent fields are not filled with Matroska defaults. */
#define KVSP_TRACK_HAS_NUMBER (1u << 0)
#define KVSP_TRACK_HAS_UID (1u << 1)
#define KVSP_TRACK_HAS_TYPE (1u << 2)
#define KVSP_TRACK_HAS_DEFAULT_DURATION (1u << 3)
#define KVSP_TRACK_HAS_PIXEL_WIDTH (1u << 4)
#define KVSP_TRACK_HAS_PIXEL_HEIGHT (1u << 5)
#define KVSP_TRACK_HAS_DISPLAY_WIDTH (1u << 6)
#define KVSP_TRACK_HAS_DISPLAY_HEIGHT (1u << 7)
#define KVSP_TRACK_HAS_SAMPLING_FREQUENCY (1u << 8)
#define KVSP_TRACK_HAS_OUTPUT_SAMPLING_FREQUENCY (1u << 9)
#define KVSP_TRACK_HAS_CHANNELS (1u << 10)
#define KVSP_TRACK_HAS_BIT_DEPTH (1u << 11)

typedef struct kvsp_track {
    uint32_t present; /* KVSP_TRACK_HAS_* */
    uint64_t number;
    uint64_t uid;
    uint64_t type;        /* KVSP_TRACK_VIDEO, ... */
    const char *codec_id; /* NULL when absent, like the other strings */
    const char *name;
    const char *language; /* Language, or LanguageBCP47 when only that is given */
    const uint8_t *codec_private;
    size_t codec_private_size;
    uint64_t default_duration_ns;
    uint64_t pixel_width, pixel_height;
    uint64_t display_width, display_height;
    double sampling_frequency, output_sampling_frequency;
    uint64_t channels, bit_depth;
} kvsp_track;

typedef struct kvsp_segment_info {
    uint64_t timecode_scale; /* ns per tick; 1,000,000 when absent */
    int has_duration;
    double duration; /* in ticks */
    const char *title, *muxing_app, *writing_app;
} kvsp_segment_info;

/* A SimpleTag that is not one of the AWS_KINESISVIDEO_* tags decoded below,
 * in file order; nested SimpleTags follow their parent with depth + 1. */
typedef struct kvsp_tag {
    const char *name;      /* "" when the SimpleTag had no TagName */
    const char *value;     /* TagString, or NULL */
    size_t value_size;     /* strlen(value) unless it holds inner NULs */
    const uint8_t *binary; /* TagBinary, or NULL */
    size_t binary_size;
    uint32_t depth; /* 0 for a SimpleTag directly in a Tag */
} kvsp_tag;

typedef struct kvsp_track_frames {
    uint64_t track;
    uint64_t frames;
} kvsp_track_frames;

/* kvsp_fragment.present bits */
#define KVSP_FRAGMENT_HAS_SERVER_TIMESTAMP (1u << 0)
#define KVSP_FRAGMENT_HAS_PRODUCER_TIMESTAMP (1u << 1)
#define KVSP_FRAGMENT_HAS_MILLIS_BEHIND_NOW (1u << 2)
#define KVSP_FRAGMENT_HAS_ERROR_ID (1u << 3)
#define KVSP_FRAGMENT_HAS_CLUSTER (1u << 4)
#define KVSP_FRAGMENT_HAS_FRAMES (1u << 5) /* first/last timecodes valid */
#define KVSP_FRAGMENT_HAS_CLUSTER_TIMECODE (1u << 6)

typedef struct kvsp_fragment {
    uint64_t index;      /* 0 for the first fragment of the stream */
    uint64_t offset;     /* of its Segment */
    uint64_t end_offset; /* where it ended (or how far it was read) */
    uint32_t present;    /* KVSP_FRAGMENT_HAS_* */

    /* AWS_KINESISVIDEO_* tags; timestamps (decimal seconds in the tags) as
     * exact milliseconds since the epoch. */
    const char *fragment_number;
    int64_t server_timestamp_ms;   /* _SERVER_TIMESTAMP or _SERVER_SIDE_TIMESTAMP */
    int64_t producer_timestamp_ms; /* _PRODUCER_TIMESTAMP or _PRODUCER_SIDE_TIMESTAMP */
    int64_t millis_behind_now;
    const char *continuation_token;
    int64_t error_id;          /* _ERROR_ID, when it is a decimal integer */
    const char *error_id_text; /* _ERROR_ID as written */
    const char *error_code;    /* _ERROR_CODE or _EXCEPTION_ERROR_CODE */
    const char *error_message; /* _EXCEPTION_MESSAGE */

    kvsp_segment_info info;
    const kvsp_track *tracks;
    size_t track_count;
    const kvsp_tag *tags; /* user tags; an AWS tag whose value does not parse is kept here too */
    size_t tag_count;

    int64_t cluster_timecode;                  /* the (last) Cluster's Timestamp, in ticks */
    uint64_t frames;                           /* frames in all tracks, laces split */
    const kvsp_track_frames *frames_per_track; /* in order of first appearance */
    size_t frames_track_count;
    int64_t first_timecode, last_timecode; /* of the first and last frame, in ticks */

    /* 1 when the fragment ended cleanly: its Segment ended (at its size, at
     * the next EBML header or at the end of input) without a read error, and
     * a GetMedia fragment (one with _SERVER_TIMESTAMP or _PRODUCER_TIMESTAMP)
     * that has a Cluster also had its closing Tags after the Cluster, which
     * carry the continuation token. 0 when cut short. */
    int complete;
    int tags_after_cluster; /* a Tags element followed the Cluster */
} kvsp_fragment;

/* Nanoseconds from a tick count: ticks * timecode_scale. Returns KVSP_OK, or
 * KVSP_ERR_INVALID_ARG if the product overflows int64. */
KVSP_API int kvsp_ticks_to_ns(int64_t ticks, uint64_t timecode_scale, int64_t *ns);

/* Milliseconds from a tick count, as a kvsp_frame's pts_ms: exact whenever
 * they are a whole number (and within 2^53), else the nearest double or one
 * next to it. Returns KVSP_OK, or KVSP_ERR_INVALID_ARG if ticks *
 * timecode_scale ns overflows int64. */
KVSP_API int kvsp_ticks_to_ms(int64_t ticks, uint64_t timecode_scale, double *ms);

/* Parses "1511852109.126" (decimal seconds) into exact milliseconds; digits
 * after the third decimal must be zero. Returns KVSP_OK, or
 * KVSP_ERR_INVALID_ARG if it is not such a number. */
KVSP_API int kvsp_parse_seconds_ms(const char *text, size_t len, int64_t *ms);

typedef struct kvsp_fragment_visitor kvsp_fragment_visitor;

/* Called once per fragment when it ends; returns like a visitor callback
 * (KVSP_PAUSED pauses the run). */
typedef int (*kvsp_fragment_cb)(void *user, const kvsp_fragment *fragment);

/* Zeroed (or NULL) options are the defaults. */
typedef struct kvsp_fragment_options {
    kvsp_fragment_cb on_fragment; /* may be NULL */
    void *user;
    /* Bounds on what one fragment may make the visitor keep, against
     * hostile streams (each string is also bounded by the reader's
     * max_string_size). Exceeding one stops the run with
     * KVSP_ERR_METADATA_LIMIT. */
    uint32_t max_tracks;       /* 0: 64 */
    uint32_t max_tags;         /* SimpleTags per fragment; 0: 1024 */
    size_t max_metadata_bytes; /* strings and codec private data; 0: 4 MiB */
} kvsp_fragment_options;

#define KVSP_DEFAULT_MAX_TRACKS 64u
#define KVSP_DEFAULT_MAX_TAGS 1024u
#define KVSP_DEFAULT_MAX_METADATA_BYTES (4u << 20)

/* The options are copied. NULL on allocation failure. */
KVSP_API kvsp_fragment_visitor *kvsp_fragment_visitor_create(const kvsp_fragment_options *opts);
KVSP_API void kvsp_fragment_visitor_destroy(kvsp_fragment_visitor *fv);
/* Forgets everything, including the latest continuation token. */
KVSP_API void kvsp_fragment_visitor_reset(kvsp_fragment_visitor *fv);
KVSP_API kvsp_visitor kvsp_fragment_visitor_visitor(kvsp_fragment_visitor *fv);

/* Call at the end of input (after the reader returned KVSP_DONE or an
 * error): a fragment still open is reported, as cut short. Returns the
 * callback's result, or KVSP_OK when there was nothing to report. */
KVSP_API int kvsp_fragment_visitor_finish(kvsp_fragment_visitor *fv);

/* The fragment being read, as far as it has been read (closing tags not yet
 * seen), or NULL between fragments. Valid until the next reader event. */
KVSP_API const kvsp_fragment *kvsp_fragment_visitor_current(kvsp_fragment_visitor *fv);
/* The last fragment reported, until the next one begins; else NULL. */
KVSP_API const kvsp_fragment *kvsp_fragment_visitor_last(kvsp_fragment_visitor *fv);
/* A track of the current fragment by number, or NULL. */
KVSP_API const kvsp_track *kvsp_fragment_visitor_track(kvsp_fragment_visitor *fv, uint64_t number);
/* The latest continuation token and millis-behind-now seen in the stream,
 * whichever fragment carried them: where a consumer resumes after a
 * disconnect. NULL / -1 when none was seen yet. */
KVSP_API const char *kvsp_fragment_visitor_continuation_token(const kvsp_fragment_visitor *fv);
KVSP_API int64_t kvsp_fragment_visitor_millis_behind_now(const kvsp_fragment_visitor *fv);
/* Fragments reported so far. */
KVSP_API uint64_t kvsp_fragment_visitor_count(const kvsp_fragment_visitor *fv);

#ifdef __cplusplus
}
#endif

#endif
