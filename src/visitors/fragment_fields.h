/* Which TrackEntry and Info children fill which field of kvsp_track and
 * kvsp_segment_info (kvsparser/fragment.h): one table each, read by the
 * fragment visitor (fragment_visitor.c: the element's value goes to the
 * row's field, its presence is marked) and by the JSON lines of `kvsp
 * fragments` (tools/kvsp/fragment_json.c: the row's key, in the order of
 * the rows). Like FFmpeg's EbmlSyntax tables: a new field is a new row.
 *
 * A row's type is how the field stores the element's value and must be
 * the schema's type for the element (test_visitors checks every row
 * against the element table): a uint64_t for an unsigned integer, a double
 * for a float, a string or bytes copied into the fragment's arena.
 *
 * Header-only (static tables, inline helpers): kvsp links the shared
 * library, which exports no internal symbol, and includes this as the
 * documented interface between the visitor and its JSON rendering.
 *
 * Who may include it: the visitors layer's documented internal interface
 * for src/visitors/ (fragment_visitor.c), tools/kvsp/fragment_json.c and
 * its test (tests/test_fragment_fields.c), so that the field list and the
 * JSON keys cannot drift apart. Nothing else: other code reads the fields
 * of kvsp_track and kvsp_segment_info by name. */
#ifndef KVSP_FRAGMENT_FIELDS_H
#define KVSP_FRAGMENT_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/element.h"
#include "kvsparser/fragment.h"

typedef enum kvsp_field_type {
    KVSP_FIELD_UINT,   /* uint64_t */
    KVSP_FIELD_FLOAT,  /* double */
    KVSP_FIELD_STRING, /* const char *, NULL when absent */
    KVSP_FIELD_BINARY  /* const uint8_t *, NULL when absent, and a size_t at size_offset */
} kvsp_field_type;

/* Row flags. */
#define KVSP_FIELD_IF_UNSET 0x01u /* fills a string only while none is there (LanguageBCP47) */
/* a 0 leaves the field as it is (TimestampScale keeps its default) */
#define KVSP_FIELD_NONZERO 0x02u
#define KVSP_FIELD_FLAG_INT 0x04u /* presence is an int set to 1 at present_offset, not a bit */
#define KVSP_FIELD_JSON_TYPE_NAME 0x10u /* JSON: the track type's name, not its number */
#define KVSP_FIELD_JSON_REAL 0x20u      /* JSON: always a real (otherwise an integer when whole) */

typedef struct kvsp_field {
    uint32_t id;             /* the element */
    uint8_t type;            /* kvsp_field_type */
    uint8_t flags;           /* KVSP_FIELD_* above */
    uint16_t offset;         /* of the value in the record */
    uint16_t size_offset;    /* BINARY: of its size_t size */
    uint16_t present_offset; /* of the presence word, when present_bit is set */
    uint32_t present_bit;    /* 0: the field's presence is not marked */
    const char *key;         /* in kvsp fragments' lines; NULL: not shown */
} kvsp_field;

/* Left as written: clang-format 14 lays out an initializer that begins a
 * macro as a block, one brace a line. */
/* clang-format off */
#define KVSP_TRACK_VALUE(id, type, field, bit, key, flags) \
    {id, type, flags, offsetof(kvsp_track, field), 0, offsetof(kvsp_track, present), bit, key}
#define KVSP_TRACK_TEXT(id, field, key, flags) \
    {id, KVSP_FIELD_STRING, flags, offsetof(kvsp_track, field), 0, 0, 0, key}
/* clang-format on */

/* In the order of the keys of a track's JSON object. */
static const kvsp_field kvsp_track_fields[] = {
    KVSP_TRACK_VALUE(KVSP_ID_TRACK_NUMBER, KVSP_FIELD_UINT, number, KVSP_TRACK_HAS_NUMBER, "number",
                     0),
    KVSP_TRACK_VALUE(KVSP_ID_TRACK_UID, KVSP_FIELD_UINT, uid, KVSP_TRACK_HAS_UID, NULL, 0),
    KVSP_TRACK_VALUE(KVSP_ID_TRACK_TYPE, KVSP_FIELD_UINT, type, KVSP_TRACK_HAS_TYPE, "type",
                     KVSP_FIELD_JSON_TYPE_NAME),
    KVSP_TRACK_TEXT(KVSP_ID_CODEC_ID, codec_id, "codec_id", 0),
    KVSP_TRACK_TEXT(KVSP_ID_NAME, name, "name", 0),
    KVSP_TRACK_TEXT(KVSP_ID_LANGUAGE, language, "language", 0),
    KVSP_TRACK_TEXT(KVSP_ID_LANGUAGE_BCP47, language, NULL, KVSP_FIELD_IF_UNSET),
    {KVSP_ID_CODEC_PRIVATE, KVSP_FIELD_BINARY, 0, offsetof(kvsp_track, codec_private),
     offsetof(kvsp_track, codec_private_size), 0, 0, "codec_private_size"},
    KVSP_TRACK_VALUE(KVSP_ID_DEFAULT_DURATION, KVSP_FIELD_UINT, default_duration_ns,
                     KVSP_TRACK_HAS_DEFAULT_DURATION, "default_duration_ns", 0),
    KVSP_TRACK_VALUE(KVSP_ID_PIXEL_WIDTH, KVSP_FIELD_UINT, pixel_width, KVSP_TRACK_HAS_PIXEL_WIDTH,
                     "width", 0),
    KVSP_TRACK_VALUE(KVSP_ID_PIXEL_HEIGHT, KVSP_FIELD_UINT, pixel_height,
                     KVSP_TRACK_HAS_PIXEL_HEIGHT, "height", 0),
    KVSP_TRACK_VALUE(KVSP_ID_DISPLAY_WIDTH, KVSP_FIELD_UINT, display_width,
                     KVSP_TRACK_HAS_DISPLAY_WIDTH, "display_width", 0),
    KVSP_TRACK_VALUE(KVSP_ID_DISPLAY_HEIGHT, KVSP_FIELD_UINT, display_height,
                     KVSP_TRACK_HAS_DISPLAY_HEIGHT, "display_height", 0),
    KVSP_TRACK_VALUE(KVSP_ID_SAMPLING_FREQUENCY, KVSP_FIELD_FLOAT, sampling_frequency,
                     KVSP_TRACK_HAS_SAMPLING_FREQUENCY, "sampling_frequency", 0),
    KVSP_TRACK_VALUE(KVSP_ID_OUTPUT_SAMPLING_FREQUENCY, KVSP_FIELD_FLOAT, output_sampling_frequency,
                     KVSP_TRACK_HAS_OUTPUT_SAMPLING_FREQUENCY, "output_sampling_frequency", 0),
    KVSP_TRACK_VALUE(KVSP_ID_CHANNELS, KVSP_FIELD_UINT, channels, KVSP_TRACK_HAS_CHANNELS,
                     "channels", 0),
    KVSP_TRACK_VALUE(KVSP_ID_BIT_DEPTH, KVSP_FIELD_UINT, bit_depth, KVSP_TRACK_HAS_BIT_DEPTH,
                     "bit_depth", 0),
};

#undef KVSP_TRACK_VALUE
#undef KVSP_TRACK_TEXT

/* The time scale has no presence mark: it is 1,000,000 when absent. In a
 * fragment's line it comes before the cluster's times, the others after
 * the frame times (fragment_json.c). */
static const kvsp_field kvsp_info_fields[] = {
    {KVSP_ID_TIMECODE_SCALE, KVSP_FIELD_UINT, KVSP_FIELD_NONZERO,
     offsetof(kvsp_segment_info, timecode_scale), 0, 0, 0, "timecode_scale"},
    {KVSP_ID_DURATION, KVSP_FIELD_FLOAT, KVSP_FIELD_FLAG_INT | KVSP_FIELD_JSON_REAL,
     offsetof(kvsp_segment_info, duration), 0, offsetof(kvsp_segment_info, has_duration), 1,
     "duration"},
    {KVSP_ID_TITLE, KVSP_FIELD_STRING, 0, offsetof(kvsp_segment_info, title), 0, 0, 0, "title"},
    {KVSP_ID_MUXING_APP, KVSP_FIELD_STRING, 0, offsetof(kvsp_segment_info, muxing_app), 0, 0, 0,
     "muxing_app"},
    {KVSP_ID_WRITING_APP, KVSP_FIELD_STRING, 0, offsetof(kvsp_segment_info, writing_app), 0, 0, 0,
     "writing_app"},
};

#define KVSP_TRACK_FIELD_COUNT (sizeof kvsp_track_fields / sizeof kvsp_track_fields[0])
#define KVSP_INFO_FIELD_COUNT (sizeof kvsp_info_fields / sizeof kvsp_info_fields[0])

/* The row of an element, or NULL if it fills no field. */
static inline const kvsp_field *kvsp_field_find(const kvsp_field *table, size_t count, uint32_t id)
{
    for (size_t i = 0; i < count; i++)
        if (table[i].id == id)
            return &table[i];
    return NULL;
}

/* The field's value in a record (a kvsp_track or kvsp_segment_info). */
static inline void *kvsp_field_at(void *record, size_t offset)
{
    return (char *)record + offset;
}

static inline const void *kvsp_field_at_const(const void *record, size_t offset)
{
    return (const char *)record + offset;
}

/* Marks the field present (after its value was stored). */
static inline void kvsp_field_mark(void *record, const kvsp_field *f)
{
    if (!f->present_bit)
        return;
    if (f->flags & KVSP_FIELD_FLAG_INT)
        *(int *)kvsp_field_at(record, f->present_offset) = 1;
    else
        *(uint32_t *)kvsp_field_at(record, f->present_offset) |= f->present_bit;
}

/* Whether the record has the field: marked present, a string or bytes that
 * are there, or a field without a presence mark (always there). */
static inline int kvsp_field_present(const void *record, const kvsp_field *f)
{
    if (f->type == KVSP_FIELD_STRING)
        return *(const char *const *)kvsp_field_at_const(record, f->offset) != NULL;
    if (f->type == KVSP_FIELD_BINARY)
        return *(const uint8_t *const *)kvsp_field_at_const(record, f->offset) != NULL;
    if (!f->present_bit)
        return 1;
    if (f->flags & KVSP_FIELD_FLAG_INT)
        return *(const int *)kvsp_field_at_const(record, f->present_offset) != 0;
    return (*(const uint32_t *)kvsp_field_at_const(record, f->present_offset) & f->present_bit) !=
           0;
}

#endif
