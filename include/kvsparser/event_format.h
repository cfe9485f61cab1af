#ifndef KVSPARSER_EVENT_FORMAT_H
#define KVSPARSER_EVENT_FORMAT_H

#include <stddef.h>

#include "kvsparser/export.h"
#include "kvsparser/reader.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Formats an event as one line of text, without the newline, into buf (NUL
 * terminated when cap > 0). Like snprintf, returns the length the whole line
 * needs, so a caller can retry with a larger buffer.
 *
 * JSON: an object with event, name, id ("0x1A45DFA3"), offset, header_size,
 * size (null when unknown), depth; value for data elements (numbers, strings,
 * binary as hex of the first 16 bytes with "..." when longer); block events
 * add track, timecode, keyframe, invisible, discardable, lacing, frames and
 * frame_sizes; end events add end_offset; error events status, offset and
 * message; resync events skipped.
 *
 * Text: like mkvinfo, indented by depth: name, ID, offset, sizes and value. */
KVSP_API size_t kvsp_event_format_json(const kvsp_event *ev, char *buf, size_t cap);
KVSP_API size_t kvsp_event_format_text(const kvsp_event *ev, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
