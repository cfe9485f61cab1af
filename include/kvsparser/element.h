#ifndef KVSPARSER_ELEMENT_H
#define KVSPARSER_ELEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Value types of the EBML schema (RFC 8794 section 7). */
typedef enum kvsp_type {
    KVSP_TYPE_UNKNOWN = 0, /* an ID the schema does not define */
    KVSP_TYPE_MASTER,
    KVSP_TYPE_UINT,
    KVSP_TYPE_INT,
    KVSP_TYPE_FLOAT,
    KVSP_TYPE_STRING,
    KVSP_TYPE_UTF8,
    KVSP_TYPE_DATE,
    KVSP_TYPE_BINARY
} kvsp_type;

enum kvsp_element_flags {
    KVSP_ELEMENT_RECURSIVE = 1,      /* may contain itself (SimpleTag, ChapterAtom) */
    KVSP_ELEMENT_GLOBAL = 2,         /* may appear in any master (Void, CRC-32) */
    KVSP_ELEMENT_UNKNOWN_SIZE_OK = 4 /* the schema allows an unknown size */
};

/* One element of the EBML + Matroska schemas. parent_id is 0 for root and
 * global elements; level is the depth the schema places the element at. */
typedef struct kvsp_element_info {
    uint32_t id;
    const char *name;
    kvsp_type type;
    uint32_t parent_id;
    int level;
    unsigned flags;
} kvsp_element_info;

/* Well-known IDs, for readability of callers. */
#define KVSP_ID_EBML 0x1A45DFA3u
#define KVSP_ID_SEGMENT 0x18538067u
#define KVSP_ID_SEEKHEAD 0x114D9B74u
#define KVSP_ID_INFO 0x1549A966u
#define KVSP_ID_TIMECODE_SCALE 0x2AD7B1u
#define KVSP_ID_TRACKS 0x1654AE6Bu
#define KVSP_ID_TRACK_ENTRY 0xAEu
#define KVSP_ID_CLUSTER 0x1F43B675u
#define KVSP_ID_CLUSTER_TIMECODE 0xE7u
#define KVSP_ID_SIMPLEBLOCK 0xA3u
#define KVSP_ID_BLOCKGROUP 0xA0u
#define KVSP_ID_BLOCK 0xA1u
#define KVSP_ID_BLOCK_DURATION 0x9Bu
#define KVSP_ID_REFERENCE_BLOCK 0xFBu
#define KVSP_ID_CUES 0x1C53BB6Bu
#define KVSP_ID_TAGS 0x1254C367u
#define KVSP_ID_TAG 0x7373u
#define KVSP_ID_SIMPLETAG 0x67C8u
#define KVSP_ID_TAG_NAME 0x45A3u
#define KVSP_ID_TAG_STRING 0x4487u
#define KVSP_ID_TAG_BINARY 0x4485u
#define KVSP_ID_VOID 0xECu
#define KVSP_ID_CRC32 0xBFu
#define KVSP_ID_DURATION 0x4489u
#define KVSP_ID_TITLE 0x7BA9u
#define KVSP_ID_MUXING_APP 0x4D80u
#define KVSP_ID_WRITING_APP 0x5741u
#define KVSP_ID_TRACK_NUMBER 0xD7u
#define KVSP_ID_TRACK_UID 0x73C5u
#define KVSP_ID_TRACK_TYPE 0x83u
#define KVSP_ID_CODEC_ID 0x86u
#define KVSP_ID_CODEC_PRIVATE 0x63A2u
#define KVSP_ID_NAME 0x536Eu
#define KVSP_ID_LANGUAGE 0x22B59Cu
#define KVSP_ID_LANGUAGE_BCP47 0x22B59Du
#define KVSP_ID_DEFAULT_DURATION 0x23E383u
#define KVSP_ID_VIDEO 0xE0u
#define KVSP_ID_PIXEL_WIDTH 0xB0u
#define KVSP_ID_PIXEL_HEIGHT 0xBAu
#define KVSP_ID_DISPLAY_WIDTH 0x54B0u
#define KVSP_ID_DISPLAY_HEIGHT 0x54BAu
#define KVSP_ID_AUDIO 0xE1u
#define KVSP_ID_SAMPLING_FREQUENCY 0xB5u
#define KVSP_ID_OUTPUT_SAMPLING_FREQUENCY 0x78B5u
#define KVSP_ID_CHANNELS 0x9Fu
#define KVSP_ID_BIT_DEPTH 0x6264u
#define KVSP_ID_SEEK 0x4DBBu
#define KVSP_ID_SEEK_ID 0x53ABu
#define KVSP_ID_SEEK_POSITION 0x53ACu
#define KVSP_ID_CUE_POINT 0xBBu
#define KVSP_ID_CUE_TIME 0xB3u
#define KVSP_ID_CUE_TRACK_POSITIONS 0xB7u
#define KVSP_ID_CUE_TRACK 0xF7u
#define KVSP_ID_CUE_CLUSTER_POSITION 0xF1u
#define KVSP_ID_CUE_RELATIVE_POSITION 0xF0u
#define KVSP_ID_TARGETS 0x63C0u
#define KVSP_ID_POSITION 0xA7u
#define KVSP_ID_PREV_SIZE 0xABu

/* Schema entry for an ID, or NULL when the schema does not define it. */
KVSP_API const kvsp_element_info *kvsp_element_lookup(uint32_t id);
/* Entry by index, 0 <= index < kvsp_element_count(); for listing the schema. */
KVSP_API const kvsp_element_info *kvsp_element_at(size_t index);
KVSP_API size_t kvsp_element_count(void);
KVSP_API const char *kvsp_type_name(kvsp_type type);

#ifdef __cplusplus
}
#endif

#endif
