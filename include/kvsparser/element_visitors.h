#ifndef KVSPARSER_ELEMENT_VISITORS_H
#define KVSPARSER_ELEMENT_VISITORS_H

#include <stddef.h>
#include <stdint.h>

#include "kvsparser/export.h"
#include "kvsparser/visitor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Counts elements by ID (a master counts once, at its start). */
typedef struct kvsp_element_counter kvsp_element_counter;

KVSP_API kvsp_element_counter *kvsp_element_counter_create(void);
KVSP_API void kvsp_element_counter_destroy(kvsp_element_counter *c);
KVSP_API void kvsp_element_counter_reset(kvsp_element_counter *c);
KVSP_API kvsp_visitor kvsp_element_counter_visitor(kvsp_element_counter *c);
/* Elements seen with this ID; id 0 counts the IDs the schema does not define. */
KVSP_API uint64_t kvsp_element_counter_get(const kvsp_element_counter *c, uint32_t id);
/* All elements seen. */
KVSP_API uint64_t kvsp_element_counter_total(const kvsp_element_counter *c);

/* Prints every event (offset, sizes, value) as one line, in the formats of
 * kvsparser/event_format.h. The library does not write anywhere itself: each
 * line, without its newline, goes to the write callback, which returns 0 or
 * a negative status to stop the run. */
typedef struct kvsp_printer kvsp_printer;

typedef enum kvsp_print_format { KVSP_PRINT_TEXT = 0, KVSP_PRINT_JSON = 1 } kvsp_print_format;

typedef int (*kvsp_line_writer)(void *user, const char *line, size_t len);

KVSP_API kvsp_printer *kvsp_printer_create(kvsp_print_format format, kvsp_line_writer write,
                                           void *user);
KVSP_API void kvsp_printer_destroy(kvsp_printer *p);
KVSP_API kvsp_visitor kvsp_printer_visitor(kvsp_printer *p);
/* Prints one more event that did not come from the reader, e.g. the final
 * error of a run. */
KVSP_API int kvsp_printer_print(kvsp_printer *p, const kvsp_event *ev);

#ifdef __cplusplus
}
#endif

#endif
