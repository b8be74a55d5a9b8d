/* Finite-difference gradient checker: see gradcheck.h for the contract. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "gradcheck.h"

void gc_opts_default(gc_opts *o)
{
    memset(o, 0, sizeof *o);
    o->tol = 1e-2;
    o->abs_floor = 1e-5;
    o->rel_step = 1e-3;
    o->max_coords = 2000;
    o->seed = 1;
}

/* splitmix64: enough for sampling indices, and independent of the library. */
static uint64_t gc_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Keep the worst coordinate, preferring failures over passes. */
static void record(gc_result *res, int *worst_failed, int failed, double err, int b, int64_t j,
                   double num, double ana)
{
    if (res->worst_block < 0 || (failed && !*worst_failed) ||
        (failed == *worst_failed && err > res->worst_err)) {
        *worst_failed = failed;
        res->worst_err = err;
        res->worst_block = b;
        res->worst_index = j;
        res->worst_num = num;
        res->worst_ana = ana;
    }
}

int gc_check(gc_loss_fn loss, void *ud, const gc_block *blocks, int n_blocks,
             const gc_opts *opts, gc_result *res)
{
    gc_opts o;
    uint64_t rs;
    int worst_failed = 0;
    if (opts) o = *opts; else gc_opts_default(&o);
    memset(res, 0, sizeof *res);
    res->worst_block = -1;
    rs = o.seed;
    for (int b = 0; b < n_blocks; b++) {
        const gc_block *bl = &blocks[b];
        int64_t m = bl->n <= o.max_coords ? bl->n : o.max_coords;
        for (int64_t s = 0; s < m; s++) {
            int64_t j = bl->n <= o.max_coords ? s : (int64_t)(gc_next(&rs) % (uint64_t)bl->n);
            float x0 = bl->x[j];
            double h = o.rel_step * fmax(1.0, fabs((double)x0));
            float xp = (float)((double)x0 + h), xm = (float)((double)x0 - h);
            double lp, lm, num, ana, diff, err;
            int failed;
            bl->x[j] = xp;
            lp = loss(ud);
            bl->x[j] = xm;
            lm = loss(ud);
            bl->x[j] = x0;
            if (o.skip && o.skip(o.skip_ud, b, j)) {
                res->n_skipped++;
                continue;
            }
            num = (lp - lm) / ((double)xp - (double)xm);
            ana = (double)bl->grad[j];
            diff = fabs(num - ana);
            err = diff / fmax(1e-12, fabs(num) + fabs(ana));
            failed = !(err < o.tol || diff < o.abs_floor);
            res->n_checked++;
            if (failed) res->n_failed++;
            record(res, &worst_failed, failed, err, b, j, num, ana);
        }
    }
    res->ok = res->n_failed == 0;
    if (res->worst_block >= 0)
        snprintf(res->msg, sizeof res->msg, "%s[%lld]: num %.6g ana %.6g err %.3g (%lld of %lld failed, %lld skipped)",
                 blocks[res->worst_block].name ? blocks[res->worst_block].name : "?",
                 (long long)res->worst_index, res->worst_num, res->worst_ana, res->worst_err,
                 (long long)res->n_failed, (long long)res->n_checked, (long long)res->n_skipped);
    else
        snprintf(res->msg, sizeof res->msg, "nothing compared (%lld skipped)",
                 (long long)res->n_skipped);
    return res->ok;
}
