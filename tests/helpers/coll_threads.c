/* See coll_threads.h. */
#include "coll_threads.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TU_MAX_RANKS 16

typedef struct tu_member {
    tu_group *g;
    int32_t rank;
    int64_t calls, kill_after;
} tu_member;

struct tu_group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int32_t size, arrived;
    int64_t gen;
    int broken;
    double timeout_s;
    const void *slot[TU_MAX_RANKS];
    tu_member m[TU_MAX_RANKS];
};

tu_group *tu_group_create(int32_t size, double timeout_s)
{
    if (size < 1 || size > TU_MAX_RANKS) return NULL;
    tu_group *g = calloc(1, sizeof *g);
    if (g == NULL) return NULL;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->size = size;
    g->timeout_s = timeout_s;
    for (int32_t r = 0; r < size; r++) {
        g->m[r].g = g;
        g->m[r].rank = r;
        g->m[r].kill_after = -1;
    }
    return g;
}

void tu_group_free(tu_group *g)
{
    if (g == NULL) return;
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void tu_group_kill_after(tu_group *g, int32_t rank, int64_t n) { g->m[rank].kill_after = n; }

int64_t tu_group_calls(const tu_group *g, int32_t rank) { return g->m[rank].calls; }

/* Wait until every rank has arrived, or fail (and break the group) after
 * the timeout: the others then fail at once. */
static int rendezvous(tu_group *g)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    const double s = (double)dl.tv_sec + 1e-9 * (double)dl.tv_nsec + g->timeout_s;
    dl.tv_sec = (time_t)s;
    dl.tv_nsec = (long)((s - (double)dl.tv_sec) * 1e9);
    pthread_mutex_lock(&g->mu);
    const int64_t gen = g->gen;
    if (!g->broken && ++g->arrived == g->size) {
        g->arrived = 0;
        g->gen++;
        pthread_cond_broadcast(&g->cv);
    }
    while (gen == g->gen && !g->broken)
        if (pthread_cond_timedwait(&g->cv, &g->mu, &dl) == ETIMEDOUT) {
            g->broken = 1;
            pthread_cond_broadcast(&g->cv);
        }
    const int rc = gen != g->gen ? 0 : -1;
    pthread_mutex_unlock(&g->mu);
    return rc;
}

/* Publish send, wait for everyone: 0, or -1 for a dead rank or a timeout. */
static int publish(tu_member *me, const void *send)
{
    if (me->kill_after >= 0 && me->calls >= me->kill_after) return -1;
    me->calls++;
    me->g->slot[me->rank] = send;
    return rendezvous(me->g);
}

/* Everyone has read the slots: now recv may be written (send may be recv). */
static int finish(tu_member *me, void *recv, const void *scratch, size_t n)
{
    const int rc = rendezvous(me->g);
    if (rc == 0 && n > 0) memcpy(recv, scratch, n);
    return rc;
}

static int32_t m_rank(void *u) { return ((tu_member *)u)->rank; }
static int32_t m_size(void *u) { return ((tu_member *)u)->g->size; }

#define SUM_IMPL(name, T)                                                         \
    static int32_t name(void *u, const T *send, T *recv, int64_t n)               \
    {                                                                             \
        tu_member *me = u;                                                        \
        T *acc = malloc((size_t)(n > 0 ? n : 1) * sizeof(T));                     \
        if (acc == NULL) return -2;                                               \
        int rc = publish(me, send);                                               \
        for (int64_t i = 0; i < n && rc == 0; i++) {                              \
            T a = ((const T *)me->g->slot[0])[i];                                 \
            for (int32_t q = 1; q < me->g->size; q++) a += ((const T *)me->g->slot[q])[i]; \
            acc[i] = a;                                                           \
        }                                                                         \
        if (rc == 0) rc = finish(me, recv, acc, (size_t)n * sizeof(T));           \
        free(acc);                                                                \
        return rc;                                                                \
    }
SUM_IMPL(m_sum_f32, float)
SUM_IMPL(m_sum_f64, double)

static int32_t m_gatherv(void *u, const void *send, int64_t nb, void *recv, const int64_t *rb,
                         const int64_t *dp)
{
    tu_member *me = u;
    (void)nb;
    int rc = publish(me, send);
    /* each rank copies the others' blocks into its own recv, disjoint from every send */
    for (int32_t q = 0; q < me->g->size && rc == 0; q++)
        if (rb[q] > 0) memcpy((char *)recv + dp[q], me->g->slot[q], (size_t)rb[q]);
    return rc == 0 ? finish(me, NULL, NULL, 0) : rc;
}

static int32_t m_rs(void *u, const float *send, float *recv, const int64_t *counts)
{
    tu_member *me = u;
    int64_t off = 0;
    for (int32_t q = 0; q < me->rank; q++) off += counts[q];
    const int64_t n = counts[me->rank];
    float *acc = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (acc == NULL) return -2;
    int rc = publish(me, send);
    for (int64_t i = 0; i < n && rc == 0; i++) {
        float a = ((const float *)me->g->slot[0])[off + i];
        for (int32_t q = 1; q < me->g->size; q++) a += ((const float *)me->g->slot[q])[off + i];
        acc[i] = a;
    }
    if (rc == 0) rc = finish(me, recv, acc, (size_t)n * sizeof(float));
    free(acc);
    return rc;
}

static int32_t m_bcast(void *u, void *buf, int64_t n, int32_t root)
{
    tu_member *me = u;
    void *copy = malloc((size_t)(n > 0 ? n : 1));
    if (copy == NULL) return -2;
    int rc = publish(me, buf);
    if (rc == 0 && n > 0) memcpy(copy, me->g->slot[root], (size_t)n);
    if (rc == 0) rc = finish(me, buf, copy, (size_t)n);
    free(copy);
    return rc;
}

static int32_t m_barrier(void *u)
{
    tu_member *me = u;
    const int rc = publish(me, NULL);
    return rc == 0 ? finish(me, NULL, NULL, 0) : rc;
}

void tu_group_layer(tu_group *g, int32_t rank, irllrec_collective *c)
{
    irllrec_collective_init(c, sizeof *c);
    c->user = &g->m[rank];
    c->rank = m_rank;
    c->size = m_size;
    c->allreduce_f32 = m_sum_f32;
    c->allreduce_f64 = m_sum_f64;
    c->allgatherv = m_gatherv;
    c->reduce_scatter_f32 = m_rs;
    c->broadcast = m_bcast;
    c->barrier = m_barrier;
}

typedef struct run_arg {
    tu_group *g;
    int32_t rank;
    int (*fn)(tu_group *, int32_t, void *);
    void *arg;
    int result;
} run_arg;

static void *run_one(void *p)
{
    run_arg *a = p;
    a->result = a->fn(a->g, a->rank, a->arg);
    return NULL;
}

int tu_group_run(tu_group *g, int (*fn)(tu_group *g, int32_t rank, void *arg), void *arg,
                 int *results)
{
    pthread_t th[TU_MAX_RANKS];
    run_arg ra[TU_MAX_RANKS];
    int32_t started = 0;
    for (int32_t r = 0; r < g->size; r++) {
        ra[r] = (run_arg){g, r, fn, arg, -1};
        if (pthread_create(&th[r], NULL, run_one, &ra[r]) != 0) break;
        started++;
    }
    for (int32_t r = 0; r < started; r++) {
        pthread_join(th[r], NULL);
        results[r] = ra[r].result;
    }
    return started == g->size ? 0 : -1;
}

int tu_group_run_new(int32_t size, double timeout_s,
                     int (*fn)(tu_group *g, int32_t rank, void *arg), void *arg)
{
    tu_group *g = tu_group_create(size, timeout_s);
    if (g == NULL) return -1;
    int *res = calloc((size_t)size, sizeof *res);
    const int rc = res == NULL ? -1 : tu_group_run(g, fn, arg, res);
    free(res);
    tu_group_free(g);
    return rc;
}
