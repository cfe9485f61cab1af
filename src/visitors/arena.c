#include "arena.h"

#include <stdlib.h>
#include <string.h>
#include "../alloc_internal.h"

#define ARENA_CHUNK_SIZE 16384u

void kvsp_arena_init(arena *a, size_t limit)
{
    a->head = a->cur = NULL;
    a->used = 0;
    a->limit = limit;
}

void kvsp_arena_clear(arena *a)
{
    for (arena_chunk *c = a->head; c; c = c->next)
        c->used = 0;
    a->cur = a->head;
    a->used = 0;
}

void kvsp_arena_free(arena *a)
{
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        kvsp_free(c);
        c = next;
    }
    a->head = a->cur = NULL;
    a->used = 0;
}

arena_mark kvsp_arena_get_mark(const arena *a)
{
    arena_mark m = {a->cur, a->cur ? a->cur->used : 0, a->used};
    return m;
}

void kvsp_arena_rewind(arena *a, arena_mark m)
{
    /* The chunks after the current one are always unused (it only moves
     * forward between clears), so those after the mark's are now too. */
    arena_chunk *c = m.cur ? m.cur->next : a->head;
    for (; c; c = c->next)
        c->used = 0;
    if (m.cur)
        m.cur->used = m.cur_used;
    a->cur = m.cur ? m.cur : a->head;
    a->used = m.used;
}

static size_t round_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

void *kvsp_arena_alloc(arena *a, size_t n, arena_status *status)
{
    /* The limit check comes first and bounds n, so the rounding below
     * cannot overflow. */
    if (n > a->limit || a->used > a->limit - n) {
        *status = ARENA_OVER_LIMIT;
        return NULL;
    }
    size_t need = round_up(n ? n : 1);
    arena_chunk *c = a->cur;
    while (c && c->cap - c->used < need)
        c = c->next; /* a chunk left over from an earlier fragment */
    if (!c) {
        size_t cap = need > ARENA_CHUNK_SIZE ? need : ARENA_CHUNK_SIZE;
        c = kvsp_malloc(sizeof *c + cap);
        if (!c) {
            *status = ARENA_NOMEM;
            return NULL;
        }
        c->cap = cap;
        c->used = 0;
        /* Appended at the end so the chunks before it keep their order. */
        c->next = NULL;
        arena_chunk **tail = &a->head;
        while (*tail)
            tail = &(*tail)->next;
        *tail = c;
    }
    a->cur = c;
    void *p = c->data + c->used;
    c->used += need;
    a->used += n;
    *status = ARENA_OK;
    return p;
}

char *kvsp_arena_string_slow(arena *a, const uint8_t *p, size_t n, size_t *len,
                             arena_status *status)
{
    char *s = kvsp_arena_alloc(a, n + 1, status);
    if (!s)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    if (len)
        *len = n;
    return s;
}
