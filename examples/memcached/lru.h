/* lru.h — an intrusive doubly linked list ordered by recency.
 *
 * The cache keeps every live item on one list: the head is the most
 * recently stored or read item, the tail the next one to evict.  Nodes are
 * embedded in the items, so linking, bumping and unlinking never allocate.
 */
#ifndef MC_LRU_H
#define MC_LRU_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mc_lru_node {
    struct mc_lru_node *prev;     /* toward the head (more recent) */
    struct mc_lru_node *next;     /* toward the tail (older) */
} mc_lru_node;

typedef struct mc_lru {
    mc_lru_node *head;
    mc_lru_node *tail;
    size_t count;
} mc_lru;

/* Empties the list (nodes are not touched). */
void mc_lru_init(mc_lru *l);
/* Links n, which must not be on a list, as the most recent entry. */
void mc_lru_push_head(mc_lru *l, mc_lru_node *n);
/* Unlinks n, which must be on l. */
void mc_lru_remove(mc_lru *l, mc_lru_node *n);
/* Moves n, which must be on l, to the head. */
void mc_lru_bump(mc_lru *l, mc_lru_node *n);
/* The least recently used node, or NULL when empty. */
mc_lru_node *mc_lru_tail(const mc_lru *l);

#endif
