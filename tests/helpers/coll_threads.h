/* A test-only collective layer: P "ranks" are P threads of this process
 * sharing a table of send pointers. Every operation is two timed
 * rendezvous (publish, then everyone has read), so a rank that stops
 * calling makes the others fail after the group's timeout instead of
 * hanging, which is what the failure tests need. Sums run in rank order. */
#ifndef IRLLREC_COLL_THREADS_H
#define IRLLREC_COLL_THREADS_H

#include <stdint.h>
#include "irllrec/collective.h"

typedef struct tu_group tu_group;

/* A group of size ranks; a rendezvous waits at most timeout_s seconds. */
tu_group *tu_group_create(int32_t size, double timeout_s);
void tu_group_free(tu_group *g);
/* The layer of rank r of g (its user pointer lives as long as g). */
void tu_group_layer(tu_group *g, int32_t rank, irllrec_collective *c);
/* Rank r's collective calls after the first n return -1 without joining:
 * the rank has died. */
void tu_group_kill_after(tu_group *g, int32_t rank, int64_t n);
/* Collective calls rank r has made. */
int64_t tu_group_calls(const tu_group *g, int32_t rank);
/* Run fn(g, rank, arg) on one thread per rank and join them; results[r]
 * gets rank r's return value. Returns 0, or -1 if a thread could not start. */
int tu_group_run(tu_group *g, int (*fn)(tu_group *g, int32_t rank, void *arg), void *arg,
                 int *results);

/* A group of size ranks (timeout_s), fn run on it as tu_group_run does,
 * then freed: 0, or -1 if the group or a thread could not start. fn must
 * not keep g. */
int tu_group_run_new(int32_t size, double timeout_s,
                     int (*fn)(tu_group *g, int32_t rank, void *arg), void *arg);

#endif
