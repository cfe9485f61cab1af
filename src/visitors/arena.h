#ifndef KVSP_ARENA_H
#define KVSP_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* A bump allocator for one fragment's metadata strings. Chunks never move,
 * so pointers handed out stay valid until arena_clear; cleared chunks are
 * reused, so a long-running consumer stops allocating once warmed up. */
typedef struct arena_chunk arena_chunk;

typedef struct arena {
    arena_chunk *head;
    arena_chunk *cur;
    size_t used;  /* bytes handed out since the last clear */
    size_t limit; /* most bytes handed out between clears */
} arena;

typedef enum arena_status { ARENA_OK = 0, ARENA_NOMEM = -1, ARENA_OVER_LIMIT = -2 } arena_status;

void arena_init(arena *a, size_t limit);
void arena_clear(arena *a);
void arena_free(arena *a);
/* Where the arena stands, to give back what was handed out after it. */
typedef struct arena_mark {
    arena_chunk *cur;
    size_t cur_used;
    size_t used;
} arena_mark;

arena_mark arena_get_mark(const arena *a);
/* Gives back everything handed out since the mark was taken (no clear in
 * between). */
void arena_rewind(arena *a, arena_mark m);
/* n bytes, aligned for any scalar; NULL with *status set on failure. */
void *arena_alloc(arena *a, size_t n, arena_status *status);
/* A NUL-terminated copy of p[0..n) without its trailing NUL bytes; *len gets
 * the copied length. */
char *arena_string(arena *a, const uint8_t *p, size_t n, size_t *len, arena_status *status);

#endif
