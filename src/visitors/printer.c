/* The printing visitor behind kvsp inspect. Its line buffer grows to the
 * longest line seen and is then reused, so printing allocates nothing per
 * element in the steady state. */
#include <stdlib.h>
#include <string.h>

#include "kvsparser/element_visitors.h"
#include "kvsparser/event_format.h"
#include "../alloc_internal.h"

struct kvsp_printer {
    kvsp_print_format format;
    kvsp_line_writer write;
    void *user;
    char *line;
    size_t cap;
};

kvsp_printer *kvsp_printer_create(kvsp_print_format format, kvsp_line_writer write, void *user)
{
    if (!write || (format != KVSP_PRINT_TEXT && format != KVSP_PRINT_JSON))
        return NULL;
    kvsp_printer *p = kvsp_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->format = format;
    p->write = write;
    p->user = user;
    return p;
}

void kvsp_printer_destroy(kvsp_printer *p)
{
    if (!p)
        return;
    kvsp_free(p->line);
    kvsp_free(p);
}

int kvsp_printer_print(kvsp_printer *p, const kvsp_event *ev)
{
    if (!p || !ev)
        return KVSP_ERR_INVALID_ARG;
    for (;;) {
        size_t n = p->format == KVSP_PRINT_JSON ? kvsp_event_format_json(ev, p->line, p->cap)
                                                : kvsp_event_format_text(ev, p->line, p->cap);
        if (n < p->cap) {
            int rc = p->write(p->user, p->line, n);
            return rc < 0 ? rc : KVSP_OK;
        }
        char *bigger = kvsp_realloc(p->line, n + 1);
        if (!bigger)
            return KVSP_ERR_NOMEM;
        p->line = bigger;
        p->cap = n + 1;
    }
}

static int print_event(void *user, const kvsp_event *ev)
{
    return kvsp_printer_print(user, ev);
}

kvsp_visitor kvsp_printer_visitor(kvsp_printer *p)
{
    kvsp_visitor v;
    memset(&v, 0, sizeof v);
    v.user = p;
    v.on_start = v.on_end = v.on_data = v.on_error = v.on_resync = print_event;
    return v;
}
