#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

irllrec_ctx *tu_ctx(void)
{
    irllrec_ctx *ctx = NULL;
    ck_assert_int_eq(irllrec_ctx_create(NULL, &ctx), IRLLREC_OK);
    ck_assert_ptr_nonnull(ctx);
    return ctx;
}

irllrec_ctx *tu_ctx_threads(int32_t n)
{
    irllrec_ctx_spec spec;
    irllrec_ctx *ctx = NULL;
    irllrec_ctx_spec_init(&spec, sizeof spec);
    spec.n_threads = n;
    ck_assert_int_eq(irllrec_ctx_create(&spec, &ctx), IRLLREC_OK);
    ck_assert_ptr_nonnull(ctx);
    return ctx;
}

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/irllrec-test-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(buf));
    return strdup(buf);
}

void tu_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    if (d == NULL) return;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            tu_rmtree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void tu_tmpdir_free(char *dir)
{
    tu_rmtree(dir);
    free(dir);
}

int tu_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

int tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    size_t n = strlen(text);
    if (f == NULL) return -1;
    if (fwrite(text, 1, n, f) != n) {
        fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

void tu_join(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

void *tu_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    const long n = ftell(f);
    ck_assert_msg(n >= 0, "cannot size %s", path);
    rewind(f);
    char *b = (char *)malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_msg(fread(b, 1, (size_t)n, f) == (size_t)n, "short read of %s", path);
    fclose(f);
    b[n] = '\0';
    if (len) *len = (size_t)n;
    return b;
}

void *tu_alloc(void *ud, size_t n, size_t align)
{
    tu_alloc_state *st = (tu_alloc_state *)ud;
    void *p = NULL;
    st->n_alloc++;
    if (st->fail_at > 0 && st->n_alloc == st->fail_at) return NULL;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, n) != 0) return NULL;
    st->live_bytes += (int64_t)n;
    if (st->live_bytes > st->peak_bytes) st->peak_bytes = st->live_bytes;
    return p;
}

void tu_free(void *ud, void *p, size_t n)
{
    tu_alloc_state *st = (tu_alloc_state *)ud;
    if (p == NULL) return;
    st->n_free++;
    st->live_bytes -= (int64_t)n;
    free(p);
}

irllrec_ctx *tu_ctx_counting(tu_alloc_state *st)
{
    irllrec_ctx_spec spec;
    irllrec_ctx *ctx = NULL;
    irllrec_ctx_spec_init(&spec, sizeof spec);
    spec.alloc = tu_alloc;
    spec.free = tu_free;
    spec.alloc_ud = st;
    if (irllrec_ctx_create(&spec, &ctx) != IRLLREC_OK) return NULL;
    return ctx;
}

int tu_run_bounded(int (*fn)(void *), void *arg, int seconds, int *code)
{
    pid_t pid = fork();
    int ws = 0;
    ck_assert_int_ge(pid, 0);
    if (pid == 0) _exit(fn(arg) & 0xff);
    for (int i = 0; i < seconds * 20; i++) {
        pid_t r = waitpid(pid, &ws, WNOHANG);
        ck_assert_int_ge(r, 0);
        if (r == pid) {
            *code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
            return 0;
        }
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &ws, 0);
    return -1;
}

void tu_assert_fifo_refused(const char *fifo_path, int (*fn)(void *), void *arg, const char *what)
{
    int code = -1;
    ck_assert_int_eq(mkfifo(fifo_path, 0600), 0);
    ck_assert_msg(tu_run_bounded(fn, arg, 10, &code) == 0, "%s blocked on a FIFO", what);
    ck_assert_msg(code == 0, "%s on a FIFO: not the refusal expected (code %d)", what, code);
}

irllrec_csr tu_csr(int64_t rows, int64_t cols, const int64_t *ptr, const int32_t *idx)
{
    irllrec_csr c;
    c.n_rows = rows;
    c.n_cols = cols;
    c.nnz = ptr[rows];
    c.indptr = ptr;
    c.indices = idx;
    return c;
}

float tu_rnd(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return (float)((double)(x >> 11) / 9007199254740992.0 - 0.5);
}

void tu_fill(uint64_t *state, float *x, int64_t n, float scale)
{
    for (int64_t i = 0; i < n; i++) x[i] = scale * tu_rnd(state);
}

void tu_env_save(tu_env *e, const char *name)
{
    const char *v = getenv(name);
    e->name = name;
    e->had = v != NULL;
    snprintf(e->val, sizeof e->val, "%s", v ? v : "");
}

void tu_env_restore(const tu_env *e)
{
    if (e->had)
        ck_assert_int_eq(setenv(e->name, e->val, 1), 0);
    else
        ck_assert_int_eq(unsetenv(e->name), 0);
}

irllrec_align *tu_align(irllrec_ctx *ctx, int32_t d, int64_t rows, int64_t cols, int32_t brows,
                        int32_t bcols)
{
    irllrec_align_spec s;
    irllrec_align *h = NULL;
    irllrec_align_spec_init(&s, sizeof s);
    s.dim = d;
    s.max_rows = rows;
    s.max_cols = cols;
    s.block_rows = brows;
    s.block_cols = bcols;
    s.n_slices = 4;
    s.seed = 7;
    ck_assert_int_eq(irllrec_align_create(ctx, &s, &h), IRLLREC_OK);
    return h;
}
