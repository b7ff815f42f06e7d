/* lru.c — see lru.h. */
#include "lru.h"

void mc_lru_init(mc_lru *l)
{
    l->head = l->tail = NULL;
    l->count = 0;
}

void mc_lru_push_head(mc_lru *l, mc_lru_node *n)
{
    n->prev = NULL;
    n->next = l->head;
    if (l->head)
        l->head->prev = n;
    else
        l->tail = n;
    l->head = n;
    l->count++;
}

void mc_lru_remove(mc_lru *l, mc_lru_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
    l->count--;
}

void mc_lru_bump(mc_lru *l, mc_lru_node *n)
{
    if (l->head == n)
        return;
    mc_lru_remove(l, n);
    mc_lru_push_head(l, n);
}

mc_lru_node *mc_lru_tail(const mc_lru *l)
{
    return l->tail;
}
