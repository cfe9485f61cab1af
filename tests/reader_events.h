#ifndef KVSP_READER_EVENTS_H
#define KVSP_READER_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/kvsparser.h"

/* A copy of an event that outlives the reader call, for assertions. */
typedef struct event_record {
    kvsp_event_type type;
    uint32_t id;
    const char *name;
    kvsp_type value_type;
    uint64_t offset, size, end_offset;
    uint32_t header_size, depth;
    uint64_t u;
    int64_t i;
    double f;
    size_t data_size;
    uint8_t data_head[16];
    int has_block;
    kvsp_block block; /* frame_sizes/frames pointers are not kept */
    size_t frame_sizes[8];
    int status;
    uint64_t skipped;
} event_record;

typedef struct event_list {
    event_record *items;
    int count;
    int cap;
    int status;
    uint64_t error_offset;
    char error_message[256];
} event_list;

/* Feeds data in chunks of chunk bytes (0: all at once), finishes, and records
 * every event. Returns the final status (KVSP_DONE or an error). */
int collect_events(const uint8_t *data, size_t len, const kvsp_reader_options *opts, size_t chunk,
                   event_list *out);
int collect_with_reader(kvsp_reader *r, const uint8_t *data, size_t len, size_t chunk,
                        event_list *out);
/* Index of the nth (0-based) event of that type and ID, or -1. */
int find_event(const event_list *l, kvsp_event_type type, uint32_t id, int nth);
int count_events(const event_list *l, kvsp_event_type type, uint32_t id);
void event_list_free(event_list *l);

#endif
