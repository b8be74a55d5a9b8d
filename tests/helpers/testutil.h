/* Shared test helpers. */
#ifndef IRLLREC_TESTUTIL_H
#define IRLLREC_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include "irllrec/irllrec.h"

/* A ctx with default settings (fails the test if creation fails). */
/* A CSR view over caller arrays (nnz = ptr[rows]). */
irllrec_csr tu_csr(int64_t rows, int64_t cols, const int64_t *ptr, const int32_t *idx);
/* xorshift64: uniform in [-0.5, 0.5), advancing *state (never 0). */
float tu_rnd(uint64_t *state);
/* x[0..n) = scale * tu_rnd(state). */
void tu_fill(uint64_t *state, float *x, int64_t n, float scale);
irllrec_ctx *tu_ctx(void);
/* A context with n worker threads (asserts success). */
irllrec_ctx *tu_ctx_threads(int32_t n);

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); caller frees the string. */
char *tu_tmpdir(void);
/* Remove a directory tree created by tu_tmpdir. */
void tu_rmtree(const char *dir);
/* tu_rmtree, then free the string tu_tmpdir returned. */
void tu_tmpdir_free(char *dir);
/* Number of entries in a directory other than "." and ".." (fails the test
 * if the directory cannot be opened). */
int tu_count_entries(const char *dir);
/* Write a text file; returns 0 on success. */
int tu_write_file(const char *path, const char *text);
/* path join into a static-free buffer the caller provides. */
void tu_join(char *buf, size_t cap, const char *dir, const char *name);
/* The whole file at path, malloc'ed with one spare byte that is set to 0 (so
 * text reads as a string); its length in *len when len is not NULL. Fails
 * the test, naming the path, when it cannot be opened or read whole. */
void *tu_slurp(const char *path, size_t *len);

/* Run fn(arg) in a forked child and wait at most @p seconds for it. Returns 0
 * with *code = fn's result (& 0xff; 128 + signal if it died), or -1 if it
 * was still running (it is then killed): a call that blocks. */
int tu_run_bounded(int (*fn)(void *), void *arg, int seconds, int *code);

/* Make a FIFO at fifo_path, then assert that fn(arg) returns 0 within 10 s
 * instead of blocking on it (what names the reader in the failure). */
void tu_assert_fifo_refused(const char *fifo_path, int (*fn)(void *), void *arg, const char *what);

/* A counting / failing allocator for ctx specs. */
typedef struct tu_alloc_state {
    int64_t n_alloc;      /* allocations made */
    int64_t n_free;       /* frees made */
    int64_t live_bytes;   /* bytes currently allocated */
    int64_t fail_at;      /* fail the allocation with this 1-based index; 0 = never */
    int64_t peak_bytes;   /* the largest live_bytes seen */
} tu_alloc_state;
void *tu_alloc(void *ud, size_t n, size_t align);
void tu_free(void *ud, void *p, size_t n);
/* A ctx using the counting allocator over *st. */
irllrec_ctx *tu_ctx_counting(tu_alloc_state *st);

/* An environment variable as the process got it, to put back after a test
 * that changes it (a suite may itself run under IRLLREC_XENT=... and the like). */
typedef struct tu_env {
    const char *name;
    int had;
    char val[256];
} tu_env;
void tu_env_save(tu_env *e, const char *name);
/* Check-asserts that setenv / unsetenv worked. */
void tu_env_restore(const tu_env *e);

/* An alignment handle of these shapes and blocking (4 slices, seed 7); the
 * test fails when create does. */
irllrec_align *tu_align(irllrec_ctx *ctx, int32_t d, int64_t rows, int64_t cols, int32_t brows,
                        int32_t bcols);

#endif
