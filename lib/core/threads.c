/* A fork-join helper with static, contiguous shares: no work stealing and no
 * atomics, so results never depend on scheduling. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <pthread.h>
#include "../internal.h"

/* While the library's own threads run, an sgemm one of them calls must stay
 * on that thread: with OpenBLAS's pool at n > 1 threads, every worker's call
 * above OpenBLAS's size threshold hands work to the same pool, so the cores
 * run n_threads callers plus the pool's threads (and the pool's idle workers
 * spin in sched_yield meanwhile). So a region of more than one thread sets
 * OpenBLAS to one thread and restores the count after the join. Looked up at
 * run time: a reference CBLAS, or IRLLREC_BLAS=OFF, has no such functions and
 * nothing changes. Process-global and unsynchronised, but benign: a region
 * only lowers the count to 1 and puts back what it saw, so concurrent context
 * trees end with the host's value. */
#if defined(IRLLREC_USE_CBLAS) && defined(__has_include)
#if __has_include(<dlfcn.h>)
#include <dlfcn.h>
#define IRLLREC__BLAS_GUARD 1
#endif
#endif

typedef int (*blas_get_fn)(void);
typedef void (*blas_set_fn)(int);

/* Returns the count to restore, or 0 when nothing was changed. */
static int blas_single_begin(int32_t n_threads)
{
#ifdef IRLLREC__BLAS_GUARD
    blas_get_fn get;
    blas_set_fn set;
    int was;
    if (n_threads < 2) return 0;
    /* Function pointers from dlsym: POSIX guarantees the conversion. */
    *(void **)&get = dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    *(void **)&set = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (get == NULL || set == NULL) return 0;
    was = get();
    if (was <= 1) return 0;
    set(1);
    return was;
#else
    (void)n_threads;
    return 0;
#endif
}

static void blas_single_end(int was)
{
#ifdef IRLLREC__BLAS_GUARD
    blas_set_fn set;
    if (was <= 1) return;
    *(void **)&set = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (set != NULL) set(was);
#else
    (void)was;
#endif
}

typedef struct task {
    irllrec__task_fn fn;
    void *ud;
    int32_t t, nt;
} task;

static void *run_task(void *p)
{
    task *tk = (task *)p;
    tk->fn(tk->ud, tk->t, tk->nt);
    return NULL;
}

void irllrec__share(int64_t n, int32_t t, int32_t nt, int64_t *lo, int64_t *hi)
{
    int64_t chunk = n / nt, rem = n % nt;
    *lo = t * chunk + (t < rem ? t : rem);
    *hi = *lo + chunk + (t < rem ? 1 : 0);
}

#define IRLLREC__MAX_THREADS 256

irllrec_status irllrec__parallel(irllrec_ctx *ctx, int32_t n_threads, irllrec__task_fn fn,
                                 void *ud)
{
    pthread_t th[IRLLREC__MAX_THREADS];
    task tk[IRLLREC__MAX_THREADS];
    int started[IRLLREC__MAX_THREADS];
    int blas_was;
    if (n_threads < 1) n_threads = 1;
    if (n_threads > IRLLREC__MAX_THREADS) n_threads = IRLLREC__MAX_THREADS;
    for (int32_t t = 0; t < n_threads; t++) {
        tk[t].fn = fn;
        tk[t].ud = ud;
        tk[t].t = t;
        tk[t].nt = n_threads;
        started[t] = 0;
    }
    blas_was = blas_single_begin(n_threads);
    for (int32_t t = 1; t < n_threads; t++)
        started[t] = pthread_create(&th[t], NULL, run_task, &tk[t]) == 0;
    fn(ud, 0, n_threads);
    for (int32_t t = 1; t < n_threads; t++) {
        if (started[t]) {
            pthread_join(th[t], NULL);
        } else {
            /* Could not start: do that share here so the result is unchanged. */
            fn(ud, t, n_threads);
            irllrec__log(ctx, IRLLREC_LOG_WARN, "%s: thread %d could not start; ran its share inline",
                         __func__, (int)t);
        }
    }
    blas_single_end(blas_was);
    return IRLLREC_OK;
}
