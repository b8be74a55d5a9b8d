/* The LightGCN model's thread pool and its forward states (views). See
 * lightgcn.h; the layout is lightgcn_impl.h. */
#define _POSIX_C_SOURCE 200809L
#include "lightgcn_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *pool_main(void *arg)
{
    lg_worker *w = (lg_worker *)arg;
    lg_pool *p = w->p;
    uint64_t seen = 0;
    for (;;) {
        lg_task fn;
        void *ud;
        pthread_mutex_lock(&p->mu);
        while (p->gen == seen && !p->stop) pthread_cond_wait(&p->go, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->gen;
        fn = p->fn;
        ud = p->ud;
        pthread_mutex_unlock(&p->mu);
        fn(ud, w->t, p->nt);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

void lg_pool_stop(lgcn *m)
{
    if (!m->pool_started) return;
    pthread_mutex_lock(&m->pool.mu);
    m->pool.stop = 1;
    pthread_cond_broadcast(&m->pool.go);
    pthread_mutex_unlock(&m->pool.mu);
    for (int32_t t = 1; t < m->nt; t++) pthread_join(m->pool.th[t], NULL);
    pthread_mutex_destroy(&m->pool.mu);
    pthread_cond_destroy(&m->pool.go);
    pthread_cond_destroy(&m->pool.done);
    pthread_cond_destroy(&m->pool.bar);
    m->pool_started = 0;
}

int lg_pool_start(lgcn *m)
{
    lg_pool *p = &m->pool;
    p->nt = m->nt;
    p->th = (pthread_t *)calloc((size_t)m->nt, sizeof *p->th);
    m->workers = (lg_worker *)calloc((size_t)m->nt, sizeof *m->workers);
    if (p->th == NULL || m->workers == NULL) return -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    pthread_cond_init(&p->bar, NULL);
    atomic_init(&p->bar_count, 0);
    atomic_init(&p->bar_gen, 0);
    m->pool_started = 1;
    for (int32_t t = 1; t < m->nt; t++) {
        m->workers[t].p = p;
        m->workers[t].t = t;
        if (pthread_create(&p->th[t], NULL, pool_main, &m->workers[t]) != 0) {
            /* Run with the threads that did start. */
            m->nt = p->nt = t;
            break;
        }
    }
    return 0;
}

void lgcn_run(lgcn *m, void (*fn)(void *ud, int32_t t, int32_t nt), void *ud)
{
    lg_pool *p = &m->pool;
    if (m->nt == 1) {
        fn(ud, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ud = ud;
    p->pending = m->nt - 1;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    fn(ud, 0, m->nt);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* ~20-60 us of polling before sleeping: longer than a balanced phase's
 * imbalance, short enough not to hold a core the neighbours need. */
#define LG_BARRIER_SPIN 2000

void lg_barrier(lgcn *m)
{
    lg_pool *p = &m->pool;
    unsigned long long g;
    if (m->nt == 1) return;
    g = atomic_load(&p->bar_gen);
    if (atomic_fetch_add(&p->bar_count, 1) == m->nt - 1) {
        atomic_store(&p->bar_count, 0);
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add(&p->bar_gen, 1);
        pthread_cond_broadcast(&p->bar);
        pthread_mutex_unlock(&p->mu);
        return;
    }
    for (int k = 0; k < LG_BARRIER_SPIN; k++) {
        if (atomic_load_explicit(&p->bar_gen, memory_order_acquire) != g) return;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->bar_gen) == g) pthread_cond_wait(&p->bar, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void lgcn_row_share(const lgcn *m, int32_t t, int64_t *lo, int64_t *hi)
{
    int64_t chunk = m->N / m->nt, rem = m->N % m->nt;
    *lo = t * chunk + (t < rem ? t : rem);
    *hi = *lo + chunk + (t < rem ? 1 : 0);
}

static void fwd_save(const lgcn *m, lg_fwd *f)
{
    lg_fwd v = {m->E,    m->final, m->keepbit, m->fend, m->tend,
                m->fcol, m->tcol,  m->fval,    m->tval, m->last_dropped};
    *f = v;
}

static void fwd_load(lgcn *m, const lg_fwd *f)
{
    m->E = f->E;
    m->final = f->final;
    m->keepbit = f->keepbit;
    m->fend = f->fend;
    m->tend = f->tend;
    m->fcol = f->fcol;
    m->tcol = f->tcol;
    m->fval = f->fval;
    m->tval = f->tval;
    m->last_dropped = f->last_dropped;
}

static void fwd_free(lg_fwd *f)
{
    free(f->E);
    free(f->final);
    free(f->keepbit);
    free(f->fend);
    free(f->tend);
    free(f->fcol);
    free(f->tcol);
    free(f->fval);
    free(f->tval);
}

void lgcn_view_select(lgcn *m, int32_t v)
{
    if (v < 0 || v >= m->n_views || v == m->cur_view) return;
    fwd_save(m, &m->views[m->cur_view]);
    fwd_load(m, &m->views[v]);
    m->cur_view = v;
}

int32_t lgcn_view_current(const lgcn *m) { return m->cur_view; }

irllrec_status lgcn_views_alloc(lgcn *m, int32_t n)
{
    lg_fwd *v;
    const size_t ne = (size_t)(m->nnz > 0 ? m->nnz : 1), N = (size_t)m->N, d = (size_t)m->d;
    if (n <= m->n_views) return IRLLREC_OK;
    if (n > 16) return IRLLREC_E_INVALID_ARG;
    lgcn_view_select(m, 0);
    v = (lg_fwd *)realloc(m->views, (size_t)n * sizeof *v);
    if (v == NULL) return IRLLREC_E_NOMEM;
    m->views = v;
    if (m->n_views == 0) m->n_views = 1; /* view 0 is the model's own state */
    for (int32_t k = m->n_views; k < n; k++) {
        lg_fwd *f = &v[k];
        memset(f, 0, sizeof *f);
        /* E(1..L) only: E(0) is the parameters, shared */
        f->E = (float *)calloc((size_t)(m->L > 0 ? m->L : 1) * N * d, sizeof(float));
        f->final = (float *)calloc(N * d, sizeof(float));
        f->keepbit = (uint8_t *)malloc(ne);
        f->fend = (int64_t *)malloc(N * sizeof(int64_t));
        f->tend = (int64_t *)malloc(N * sizeof(int64_t));
        f->fcol = (int32_t *)malloc(ne * sizeof(int32_t));
        f->tcol = (int32_t *)malloc(ne * sizeof(int32_t));
        f->fval = (float *)malloc(ne * sizeof(float));
        f->tval = (float *)malloc(ne * sizeof(float));
        if (!f->E || !f->final || !f->keepbit || !f->fend || !f->tend || !f->fcol || !f->tcol ||
            !f->fval || !f->tval) {
            fwd_free(f);
            return IRLLREC_E_NOMEM;
        }
        m->n_views = k + 1;
    }
    return IRLLREC_OK;
}

void lgcn_set_layer_fn(lgcn *m, lgcn_layer_fn fn, void *ud)
{
    m->layer_fn = fn;
    m->layer_ud = ud;
}

void lgcn_views_release(lgcn *m) { lg_views_free(m); }

void lg_views_free(lgcn *m)
{
    lgcn_view_select(m, 0);
    for (int32_t k = 1; k < m->n_views; k++) fwd_free(&m->views[k]);
    free(m->views);
    m->views = NULL;
    m->n_views = 0;
}

irllrec_status lgcn__fail(char *err, size_t cap, const char *who, irllrec_status st,
                          const char *fmt, ...)
{
    if (err != NULL && cap > 0) {
        va_list ap;
        int n = snprintf(err, cap, "%s: ", who);
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < cap) vsnprintf(err + n, cap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return st;
}
