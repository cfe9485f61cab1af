#ifndef KVSP_ARENA_H
#define KVSP_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A bump allocator for one fragment's metadata strings. Chunks never move,
 * so pointers handed out stay valid until kvsp_arena_clear; cleared chunks are
 * reused, so a long-running consumer stops allocating once warmed up. */
typedef struct arena_chunk arena_chunk;

/* In the header for arena_string's inline path. */
struct arena_chunk {
    arena_chunk *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char data[];
};

#define ARENA_ALIGN 16u

typedef struct arena {
    arena_chunk *head;
    arena_chunk *cur;
    size_t used;  /* bytes handed out since the last clear */
    size_t limit; /* most bytes handed out between clears */
} arena;

typedef enum arena_status { ARENA_OK = 0, ARENA_NOMEM = -1, ARENA_OVER_LIMIT = -2 } arena_status;

void kvsp_arena_init(arena *a, size_t limit);
void kvsp_arena_clear(arena *a);
void kvsp_arena_free(arena *a);
/* Where the arena stands, to give back what was handed out after it. */
typedef struct arena_mark {
    arena_chunk *cur;
    size_t cur_used;
    size_t used;
} arena_mark;

arena_mark kvsp_arena_get_mark(const arena *a);
/* Gives back everything handed out since the mark was taken (no clear in
 * between). */
void kvsp_arena_rewind(arena *a, arena_mark m);
/* n bytes, aligned for any scalar; NULL with *status set on failure. */
void *kvsp_arena_alloc(arena *a, size_t n, arena_status *status);
/* arena_string where the inline path does not apply. */
char *kvsp_arena_string_slow(arena *a, const uint8_t *p, size_t n, size_t *len,
                             arena_status *status);

/* A NUL-terminated copy of p[0..n) without its trailing NUL bytes; *len gets
 * the copied length. Inline for the usual short string that fits the
 * current chunk and the limit: tag names and values come several dozen per
 * fragment. */
static inline char *arena_string(arena *a, const uint8_t *p, size_t n, size_t *len,
                                 arena_status *status)
{
    while (n && p[n - 1] == '\0')
        n--;
    arena_chunk *c = a->cur;
    /* n is small, so nothing below overflows. */
    size_t need = (n + ARENA_ALIGN) & ~(size_t)(ARENA_ALIGN - 1); /* n + 1, rounded up */
    if (n >= 4096 || !c || c->cap - c->used < need || n >= a->limit - a->used)
        return kvsp_arena_string_slow(a, p, n, len, status);
    char *s = (char *)c->data + c->used;
    c->used += need;
    a->used += n + 1;
    *status = ARENA_OK;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    if (len)
        *len = n;
    return s;
}

#endif
