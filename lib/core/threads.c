/* A fork-join helper with static, contiguous shares: no work stealing and no
 * atomics, so results never depend on scheduling. */
#include <pthread.h>
#include "../internal.h"

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
    if (n_threads < 1) n_threads = 1;
    if (n_threads > IRLLREC__MAX_THREADS) n_threads = IRLLREC__MAX_THREADS;
    for (int32_t t = 0; t < n_threads; t++) {
        tk[t].fn = fn;
        tk[t].ud = ud;
        tk[t].t = t;
        tk[t].nt = n_threads;
        started[t] = 0;
    }
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
    return IRLLREC_OK;
}
