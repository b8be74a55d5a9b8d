/* Model files (.irlm) under damage: every single bit flip and every
 * truncation of a small image is rejected, allocation failures anywhere in
 * building, saving and loading leak nothing and leave no file behind, and
 * saves killed at random leave the old or the new file, never a mix. Round
 * trips and the loader's checks one by one are in test_model.c. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "irllrec/irllrec.h"
#include "helpers/testutil.h"
#include "helpers/modelfx.h"

START_TEST(every_single_bit_flip_is_rejected)
{
    irllrec_ctx *ctx = tu_ctx();
    size_t n, rejected = 0, by[4] = {0, 0, 0, 0};
    uint8_t *img = mfx_small_image(ctx, &n);
    for (size_t bit = 0; bit < 8 * n; bit++) {
        irllrec_model *m = (irllrec_model *)&n;
        irllrec_status st;
        img[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        st = irllrec_model_load_mem(ctx, img, n, NULL, &m);
        img[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (st == IRLLREC_OK) ck_abort_msg("flip of bit %zu accepted", bit);
        ck_assert_ptr_null(m);
        ck_assert(st == IRLLREC_E_FORMAT || st == IRLLREC_E_VERSION || st == IRLLREC_E_CHECKSUM ||
                  st == IRLLREC_E_UNSUPPORTED);
        rejected++;
        by[st == IRLLREC_E_FORMAT ? 0 : st == IRLLREC_E_CHECKSUM ? 1 : st == IRLLREC_E_VERSION ? 2 : 3]++;
    }
    ck_assert_uint_eq(rejected, 8 * n);
    fprintf(stderr, "model bit flips: %zu of %zu rejected (%zu format, %zu checksum, %zu version, "
            "%zu unsupported), 0 accepted\n", rejected, 8 * n, by[0], by[1], by[2], by[3]);
    free(img);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(every_truncation_is_rejected)
{
    irllrec_ctx *ctx = tu_ctx();
    size_t n;
    uint8_t *img = mfx_small_image(ctx, &n);
    for (size_t len = 0; len < n; len++) {
        /* a fresh heap copy of exactly len bytes so ASan sees any over-read */
        uint8_t *c = (uint8_t *)malloc(len + 1);
        irllrec_model *m = (irllrec_model *)&n;
        memcpy(c, img, len);
        ck_assert_int_eq(irllrec_model_load_mem(ctx, len ? c : NULL, len, NULL, &m), IRLLREC_E_FORMAT);
        ck_assert_ptr_null(m);
        free(c);
    }
    free(img);
    irllrec_ctx_free(ctx);
}
END_TEST

/* Fail the k-th allocation (1-based) after the ctx exists. */
static irllrec_ctx *failing_ctx(tu_alloc_state *st, int64_t k, int64_t *base_bytes)
{
    irllrec_ctx *ctx;
    memset(st, 0, sizeof *st);
    ctx = tu_ctx_counting(st);
    ck_assert_ptr_nonnull(ctx);
    *base_bytes = st->live_bytes;
    st->fail_at = st->n_alloc + k;
    return ctx;
}

START_TEST(allocation_failures_everywhere)
{
    irllrec_ctx *ref = tu_ctx();
    size_t n;
    uint8_t *img = mfx_small_image(ref, &n);
    char *dir = tu_tmpdir(), path[4096];
    int64_t k, base;
    tu_alloc_state st;
    int done;
    tu_join(path, sizeof path, dir, "m.irlm");
    /* create + add */
    for (k = 1, done = 0; !done; k++) {
        irllrec_ctx *ctx = failing_ctx(&st, k, &base);
        irllrec_model *m = (irllrec_model *)&n;
        irllrec_status rc = mfx_build(ctx, &m);
        if (rc == IRLLREC_OK) {
            mfx_check_built(m);
            irllrec_model_free(m);
            done = 1;
        } else {
            ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
            ck_assert_ptr_null(m);
        }
        ck_assert_int_eq(st.live_bytes, base);
        irllrec_ctx_free(ctx);
        ck_assert_int_eq(st.live_bytes, 0);
    }
    ck_assert_int_gt(k, 8);
    /* save_mem allocates nothing (size query and fill) */
    {
        irllrec_ctx *ctx = failing_ctx(&st, 1000000, &base);
        irllrec_model *m = NULL;
        uint8_t *buf = (uint8_t *)malloc(n);
        size_t got = 0;
        int64_t before;
        ck_assert_int_eq(mfx_build(ctx, &m), IRLLREC_OK);
        before = st.n_alloc;
        ck_assert_int_eq(irllrec_model_save_mem(m, NULL, 0, &got), IRLLREC_OK);
        ck_assert_int_eq(irllrec_model_save_mem(m, buf, n, &got), IRLLREC_OK);
        ck_assert_int_eq(st.n_alloc, before);
        ck_assert_mem_eq(buf, img, n);
        free(buf);
        irllrec_model_free(m);
        irllrec_ctx_free(ctx);
    }
    /* save to a path: no temporary file and no target left behind */
    for (k = 1, done = 0; !done; k++) {
        irllrec_ctx *ctx = failing_ctx(&st, 1000000, &base);
        irllrec_model *m = NULL;
        irllrec_status rc;
        ck_assert_int_eq(mfx_build(ctx, &m), IRLLREC_OK);
        st.fail_at = st.n_alloc + k;
        rc = irllrec_model_save(m, path);
        if (rc == IRLLREC_OK) {
            done = 1;
            ck_assert_int_eq(tu_count_entries(dir), 1);
            unlink(path);
        } else {
            ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
            ck_assert_int_eq(tu_count_entries(dir), 0);
        }
        irllrec_model_free(m);
        ck_assert_int_eq(st.live_bytes, base);
        irllrec_ctx_free(ctx);
    }
    ck_assert_int_gt(k, 3);
    /* load from memory and from a path */
    {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(img, 1, n, f), n);
        ck_assert_int_eq(fclose(f), 0);
    }
    for (int from_path = 0; from_path < 2; from_path++)
        for (k = 1, done = 0; !done; k++) {
            irllrec_ctx *ctx = failing_ctx(&st, k, &base);
            irllrec_model *m = (irllrec_model *)&n;
            irllrec_status rc = from_path ? irllrec_model_load(ctx, path, NULL, &m)
                                          : irllrec_model_load_mem(ctx, img, n, NULL, &m);
            if (rc == IRLLREC_OK) {
                mfx_check_built(m);
                irllrec_model_free(m);
                done = 1;
                ck_assert_int_gt(k, 8);
            } else {
                ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
                ck_assert_ptr_null(m);
            }
            ck_assert_int_eq(st.live_bytes, base);
            irllrec_ctx_free(ctx);
        }
    free(img);
    irllrec_ctx_free(ref);
    tu_tmpdir_free(dir);
}
END_TEST

/* A model whose content is v: two versions of different sizes. */
static irllrec_model *versioned(irllrec_ctx *ctx, int v)
{
    irllrec_model *m = NULL;
    static const int64_t small_dims[1] = {1000};
    static const int64_t big_dims[2] = {300, 700};
    float *data = (float *)malloc(sizeof(float) * 300 * 700);
    for (int i = 0; i < 300 * 700; i++) data[i] = (float)(i % 97) * (v ? -1.0f : 1.0f);
    ck_assert_int_eq(irllrec_model_create(ctx, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_add_meta_i64(m, "version", v), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_add_tensor(m, 2, "w", data, v ? 2 : 1, v ? big_dims : small_dims, 0),
                     IRLLREC_OK);
    free(data);
    return m;
}

START_TEST(killed_saves_leave_old_or_new_file)
{
    irllrec_ctx *ctx = tu_ctx();
    char *dir = tu_tmpdir(), path[4096];
    uint8_t *img[2];
    size_t len[2];
    int kills = 0, saw[2] = {0, 0};
    unsigned seed = 12345;
    long max_delay_us;
    struct timespec t0, t1;
    for (int v = 0; v < 2; v++) {
        irllrec_model *m = versioned(ctx, v);
        img[v] = mfx_to_mem(m, &len[v]);
        irllrec_model_free(m);
    }
    tu_join(path, sizeof path, dir, "target.irlm");
    {
        irllrec_model *m = versioned(ctx, 0);
        ck_assert_int_eq(irllrec_model_save(m, path), IRLLREC_OK);
        irllrec_model_free(m);
    }
    /* Kill delays span what a child needs to start and finish a couple of
     * saves on this build (sanitizers and valgrind are much slower). */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    {
        char scratch[4096];
        irllrec_model *a = versioned(ctx, 0), *b = versioned(ctx, 1);
        tu_join(scratch, sizeof scratch, dir, "scratch.irlm");
        ck_assert_int_eq(irllrec_model_save(a, scratch), IRLLREC_OK);
        ck_assert_int_eq(irllrec_model_save(b, scratch), IRLLREC_OK);
        irllrec_model_free(a);
        irllrec_model_free(b);
        unlink(scratch);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    max_delay_us = 2000 + (long)(3e6 * ((double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec)));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (kills = 0; kills < 200; kills++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            /* child: alternate the two versions over the target until killed */
            irllrec_ctx *cctx = NULL;
            irllrec_model *mm[2];
            if (irllrec_ctx_create(NULL, &cctx) != IRLLREC_OK) _exit(3);
            mm[0] = versioned(cctx, 0);
            mm[1] = versioned(cctx, 1);
            for (int i = 0;; i++)
                if (irllrec_model_save(mm[i & 1], path) != IRLLREC_OK) _exit(4);
        }
        {
            long us = (long)((unsigned long)rand_r(&seed) % (unsigned long)max_delay_us);
            struct timespec d = {us / 1000000, (us % 1000000) * 1000};
            int status = 0;
            irllrec_model *m = NULL;
            uint8_t *got;
            size_t gl;
            nanosleep(&d, NULL);
            kill(pid, SIGKILL);
            ck_assert_int_eq(waitpid(pid, &status, 0), pid);
            if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
                ck_abort_msg("child exited by itself (status %d)", status);
            ck_assert_int_eq(irllrec_model_load(ctx, path, NULL, &m), IRLLREC_OK);
            got = mfx_to_mem(m, &gl);
            if (gl == len[0] && memcmp(got, img[0], gl) == 0)
                saw[0]++;
            else if (gl == len[1] && memcmp(got, img[1], gl) == 0)
                saw[1]++;
            else
                ck_abort_msg("kill %d: the target is neither version", kills);
            free(got);
            irllrec_model_free(m);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "model kill test: %d kills (delays 0..%ld us) in %.1f s, target held version 0 %d times, "
            "version 1 %d times, never anything else\n", kills, max_delay_us,
            (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec), saw[0], saw[1]);
    ck_assert_int_gt(saw[0], 0);
    ck_assert_int_gt(saw[1], 0);
    free(img[0]);
    free(img[1]);
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir); /* also the stale temporary files of killed saves */
}
END_TEST

Suite *model_robust_suite(void)
{
    Suite *s = suite_create("model_robust");
    TCase *tc = tcase_create("model_robust");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_single_bit_flip_is_rejected);
    tcase_add_test(tc, every_truncation_is_rejected);
    tcase_add_test(tc, allocation_failures_everywhere);
    tcase_add_test(tc, killed_saves_leave_old_or_new_file);
    suite_add_tcase(s, tc);
    return s;
}
