/* The LightGCN model's private layout, shared by lightgcn.c (graph,
 * accessors), lightgcn_kern.c (row kernels), lightgcn_prop.c (forward,
 * backward), lightgcn_loss.c (BPR, reg) and lightgcn_pool.c (thread pool,
 * forward states).
 * Host code: never installed, not part of the library. */
#ifndef LGCN_LIGHTGCN_IMPL_H
#define LGCN_LIGHTGCN_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include "lightgcn.h"

/* ---- a small persistent fork-join pool --------------------------------
 * Each batch runs ~8 parallel phases; starting threads for each would cost
 * more than some phases. Workers sleep on a condition variable (the machine
 * is shared, so no spinning). */

typedef void (*lg_task)(void *ud, int32_t t, int32_t nt);

typedef struct lg_pool {
    int32_t nt;
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    uint64_t gen;
    int32_t pending;
    int32_t stop;
    lg_task fn;
    void *ud;
    /* lg_barrier: arrivals in this round, and the round number */
    atomic_int bar_count;
    atomic_ullong bar_gen;
    pthread_cond_t bar;
} lg_pool;

typedef struct lg_worker {
    lg_pool *p;
    int32_t t;
} lg_worker;

/* ---- the model ----------------------------------------------------------- */

/* A graph view: row r holds col/val[beg[r] .. end[r]). The full graph uses
 * end = indptr + 1; the dropped views keep each row's kept edges at the front
 * of its original slot, so they are rebuilt per row with no prefix sum. */
typedef struct lg_view {
    const int64_t *beg, *end;
    const int32_t *col;
    const float *val;
} lg_view;

struct lgcn {
    int64_t U, I, N, nnz;
    int32_t d, L, nt;
    double keep, reg;
    uint64_t seed, key;
    int64_t steps;
    int32_t last_dropped; /* the last forward used the dropped views */

    int64_t *indptr; /* N + 1 */
    int32_t *col;    /* nnz */
    float *val;      /* nnz: 1/sqrt(deg r deg c) */
    int32_t *rev;    /* nnz: position of the reverse edge */
    uint8_t *keepbit; /* nnz: this step's edge mask */
    int64_t *fend, *tend;
    int32_t *fcol, *tcol;
    float *fval, *tval;

    float *E;      /* L N d: E(1) .. E(L) of the current view (E(l) at (l - 1) N d) */
    float *final;  /* N d */
    float *grad;   /* N d */
    float *dfinal; /* N d, zero between uses */
    float *g[2];   /* N d backward ping-pong */
    float *params; /* E(0), N d: the parameters, shared by every view; view 0's E(1..L)
                      follow it in the same allocation */

    /* Forward states (views): E, final, the mask and its views above belong
     * to the current one; the others wait in views[] (lgcn_view_select). */
    struct lg_fwd *views;
    int32_t n_views, cur_view;
    lgcn_layer_fn layer_fn; /* called after each propagated layer, or NULL */
    void *layer_ud;

    int64_t *esplit;   /* nt + 1 row bounds balanced by edges */
    double *chunk_sum; /* per fixed row chunk, for thread-count-free sums */
    double *rowsq;     /* N: |E(0)[r]|^2 from the fused reg */
    double *bpr_loss;  /* per triple of the last batch */
    float *bpr_g;
    int64_t bpr_cap;
    int64_t n_chunks;

    lg_pool pool;
    lg_worker *workers;
    int32_t pool_started;
};

#define LG_CHUNK 256
#define LGCN_MAX_LAYERS 64 /* lgcn_spec.n_layers' bound */

/* One forward's state, swapped in and out of the model by lgcn_view_select. */
typedef struct lg_fwd {
    float *E, *final;
    uint8_t *keepbit;
    int64_t *fend, *tend;
    int32_t *fcol, *tcol;
    float *fval, *tval;
    int32_t last_dropped;
} lg_fwd;

/* Start / stop the pool's workers (lightgcn_pool.c). start: 0, or -1 when
 * out of memory; a thread that cannot start leaves the pool smaller. */
int lg_pool_start(lgcn *m);
void lg_pool_stop(lgcn *m);
/* Wait until all m->nt threads of the running lgcn_run job have called it:
 * the phases of one job (dropout mask, layers, BPR's two halves) need each
 * other's rows. Spins briefly (the shares are balanced, so the others are
 * usually close), then sleeps; a wake-up per phase is what it replaces. */
void lg_barrier(lgcn *m);
/* Free the forward states besides view 0 (lgcn_free). */
void lg_views_free(lgcn *m);

/* One layer's rows [lo, hi) (lightgcn_kern.c). Forward: Y[r] = sum_e val X[col],
 * F[r] = (first ? X[r] : F[r]) + Y[r]. Backward: Y[r] = B[r] (+ B2[r]) +
 * sum_e val G[col] (+ two_l W[r], rowsq[r] = |W[r]|^2, when W is given). */
void lg_fwd_rows(int64_t lo, int64_t hi, lg_view v, const float *X, float *Y, float *F,
                 int32_t first, int32_t d);
void lg_bwd_rows(int64_t lo, int64_t hi, lg_view v, const float *G, const float *B,
                 const float *B2, float *Y, const float *W, float two_l, double *rowsq, int32_t d);

/* Write "WHO: message" into err (when cap > 0) and return st: the example's error style. */
irllrec_status lgcn__fail(char *err, size_t cap, const char *who, irllrec_status st,
                          const char *fmt, ...);

/* Clones of a hot function for the ISAs named, picked at load time.
 * ifunc-based clones need GNU ELF on x86-64, and their resolvers run before
 * ThreadSanitizer's runtime is up (an instrumented resolver crashes at load),
 * so TSan builds and other platforms get one baseline copy. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__ELF__) && \
    !defined(__SANITIZE_THREAD__) && !defined(LGCN_NO_CLONES)
#define LGCN_CLONES(...) __attribute__((target_clones(__VA_ARGS__)))
#else
#define LGCN_CLONES(...)
#endif

/* splitmix64's finaliser: the counter-based hash every host derives masks and noise from,
 * so a draw depends on (seed, step, position), never on the thread that makes it. */
static inline uint64_t lgcn__mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#endif /* LGCN_LIGHTGCN_IMPL_H */
