/* One full LightGCN + IRLLRec training step at paper scale (issue 4 acceptance).
 *
 *   bench_step [--intent-dim 1536] [--profile-dim 1536] [--reps 5] [--threads 2]
 *              [--data DIR] [--preset paper|released] [--batch 4096]
 *              [--text fp32|bf16|both] [--align-precision fp32|bf16-logits|bf16]
 *
 * Shapes: amazon-book (../shared/data/amazon-book train graph when present,
 * else a random graph of that shape): N = 20,332, d = 32, K = 128, L = 3,
 * batch 4096. The profile and intent embeddings are RANDOM STAND-INS
 * (TIMING-ONLY: nothing learned here means anything). One step = host
 * forward + BPR + hook (every term, EXACT translation) + backward + Adam on
 * E(0) (the hook steps its own Adam inside).
 *
 * Prints: the BLAS in use and the load average; the median step time and a
 * per-component breakdown (host phases and irllrec_hook_last_timings); the
 * text-tower GEMM throughput against a square 2048^3 cblas_sgemm measured in
 * the same run; the RSS growth when exact translation is switched on; peak
 * RSS. Run with OPENBLAS_NUM_THREADS equal to --threads.
 *
 * --text both (the default) times the fp32 text towers, then a hook created
 * with text_precision = BF16 (bf16 text, bf16 products where the CPU has
 * them: the path taken is printed), in the same process, and compares the
 * two; the text-tower rates are given against a square sgemm and a square
 * bf16 matmul measured in the same run. Peak RSS is the process's, so the
 * bf16 RSS figure needs --text bf16 alone. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "benchutil.h"
#include "irllrec/irllrec.h"
#include "lightgcn_irl.h"
#include "ops/ops.h"
#ifdef IRLLREC_USE_CBLAS
#include <cblas.h>
#endif
#undef I /* <complex.h>, via some cblas.h; I is the item count here */

enum { MAXREP = 50, D = 32, K = 128, L = 3 };
static int B = 4096; /* --batch */

typedef struct args {
    int32_t dp, dt, reps, threads, preset;
    int32_t align_precision; /* --align-precision: the hook's spec.align_precision */
    int text; /* bit 0: fp32 run, bit 1: bf16 run */
    const char *data;
} args;

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_step: %s: %s\n", what, msg);
    exit(1);
}

static void loadavg(char *buf, size_t cap)
{
    FILE *f = fopen("/proc/loadavg", "r");
    buf[0] = '\0';
    if (f == NULL) return;
    if (fgets(buf, (int)cap, f) == NULL) buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

/* Current resident set (VmRSS) in MiB. */
static double rss_mib(void)
{
    char line[256];
    double kib = 0.0;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return 0.0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kib = atof(line + 6);
    fclose(f);
    return kib / 1024.0;
}

/* Counting allocator: live and peak bytes the library holds (thread-safe:
 * the context's workers may allocate). */
typedef struct counter {
    _Atomic long long live, peak;
} counter;

static void *count_alloc(void *ud, size_t n, size_t align)
{
    counter *c = (counter *)ud;
    void *p = NULL;
    long long now;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, n) != 0) return NULL;
    now = (c->live += (long long)n);
    if (now > c->peak) c->peak = now;
    return p;
}

static void count_free(void *ud, void *p, size_t n)
{
    ((counter *)ud)->live -= (long long)n;
    free(p);
}

static uint64_t sm_state = 0x9e3779b97f4a7c15ULL;
static uint64_t next_u64(void)
{
    uint64_t z = (sm_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double unif(void) { return (double)(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

/* A random user->items CSR of the amazon-book train shape (11,000 x 9,332,
 * ~120,464 interactions), used only when the real graph is absent. */
static void random_graph(irllrec_csr *g, int64_t **ip, int32_t **ix)
{
    const int64_t U = 11000, I = 9332, per = 11;
    *ip = (int64_t *)malloc((size_t)(U + 1) * sizeof **ip);
    *ix = (int32_t *)malloc((size_t)(U * per) * sizeof **ix);
    if (!*ip || !*ix) die("graph", "out of memory");
    (*ip)[0] = 0;
    for (int64_t u = 0; u < U; u++) {
        /* per distinct sorted items: one per stripe of the catalogue */
        for (int64_t k = 0; k < per; k++) {
            int64_t lo = k * I / per, hi = (k + 1) * I / per;
            (*ix)[u * per + k] = (int32_t)(lo + (int64_t)(unif() * (double)(hi - lo)));
        }
        (*ip)[u + 1] = (u + 1) * per;
    }
    g->n_rows = U;
    g->n_cols = I;
    g->nnz = U * per;
    g->indptr = *ip;
    g->indices = *ix;
}

static void batch(const irllrec_csr *g, int32_t *u, int32_t *p, int32_t *n)
{
    for (int b = 0; b < B; b++) {
        int64_t x, deg;
        do {
            x = (int64_t)(unif() * (double)g->n_rows);
            deg = g->indptr[x + 1] - g->indptr[x];
        } while (deg == 0);
        u[b] = (int32_t)x;
        p[b] = g->indices[g->indptr[x] + (int64_t)(unif() * (double)deg)];
        n[b] = (int32_t)(unif() * (double)g->n_cols);
    }
}

static int64_t distinct_items(const int32_t *p, const int32_t *n, int64_t I)
{
    uint8_t *seen = (uint8_t *)calloc((size_t)I, 1);
    int64_t c = 0;
    if (seen == NULL) return 0;
    for (int b = 0; b < B; b++) {
        c += !seen[p[b]];
        seen[p[b]] = 1;
        c += !seen[n[b]];
        seen[n[b]] = 1;
    }
    free(seen);
    return c;
}

/* Forward + backward FLOPs of a text MLP over R rows (the hook skips dX:
 * the text is frozen): 4 R Din H + 6 R H d. */
static double mlp_flops(double R, double din, double d)
{
    double h = floor((din + d) / 2.0);
    return 4.0 * R * din * h + 6.0 * R * h * d;
}

static void parse(int argc, char **argv, args *a)
{
    a->dp = 1536;
    a->dt = 1536;
    a->reps = 5;
    a->threads = 2;
    a->preset = IRLLREC_HOOK_PRESET_PAPER;
    a->data = IRLLREC_SHARED_DATA "/amazon-book";
    a->text = 3;
    a->align_precision = IRLLREC_ALIGN_FP32;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--intent-dim") == 0) a->dt = atoi(v);
        else if (strcmp(k, "--profile-dim") == 0) a->dp = atoi(v);
        else if (strcmp(k, "--reps") == 0) a->reps = atoi(v);
        else if (strcmp(k, "--threads") == 0) a->threads = atoi(v);
        else if (strcmp(k, "--data") == 0) a->data = v;
        else if (strcmp(k, "--batch") == 0) B = atoi(v);
        else if (strcmp(k, "--text") == 0)
            a->text = strcmp(v, "fp32") == 0 ? 1 : strcmp(v, "bf16") == 0 ? 2
                      : strcmp(v, "both") == 0 ? 3 : 0;
        else if (strcmp(k, "--align-precision") == 0)
            a->align_precision = lgcn_precision_parse(v);
        else if (strcmp(k, "--preset") == 0)
            a->preset = strcmp(v, "released") == 0 ? IRLLREC_HOOK_PRESET_RELEASED
                                                   : IRLLREC_HOOK_PRESET_PAPER;
        else die("usage", "bench_step [--intent-dim N] [--profile-dim N] [--reps N] "
                          "[--threads N] [--data DIR] [--preset paper|released] [--batch N] "
                          "[--text fp32|bf16|both] [--align-precision fp32|bf16-logits|bf16]");
    }
    if (a->reps < 1) a->reps = 1;
    if (a->reps > MAXREP) a->reps = MAXREP;
    if (a->dt < 1 || a->dp < 1 || a->threads < 1 || B < 1 || a->text == 0 ||
        a->align_precision < 0)
        die("usage", "bad value");
}


#define COLS 18
static const char *const COL_NAME[COLS] = {
    "step total", "host forward", "host BPR", "hook (whole call)", "host backward+reg",
    "host grad clear", "host Adam", "  hook validate", "  hook profile_mlp", "  hook intent_mlp",
    "  hook teacher", "  hook tower", "  hook kd", "  hook pair", "  hook tran",
    "  hook itm", "  hook commit", "  hook other"};

/* Median seconds of a square n^3 bf16 x bf16 -> fp32 product through the
 * library's bf16 kernel (oneDNN), the roof of the bf16 text towers; NAN
 * when this build or CPU has no bf16 path. */
static double square_bf16_gflops(int n, int reps)
{
    if (!irllrec__bf16_usable()) return NAN;
    const size_t nn = (size_t)n * (size_t)n;
    float *f = (float *)malloc(nn * sizeof(float)), *c = (float *)malloc(nn * sizeof(float));
    uint16_t *a = (uint16_t *)malloc(nn * 2), *b = (uint16_t *)malloc(nn * 2);
    double t[MAXREP];
    if (!f || !c || !a || !b) die("bf16 gemm", "out of memory");
    for (size_t i = 0; i < nn; i++) f[i] = (float)(unif() - 0.5);
    irllrec__f32_to_bf16(f, a, (int64_t)nn);
    irllrec__f32_to_bf16(f, b, (int64_t)nn);
    irllrec__sbgemm(0, 0, n, n, n, a, n, b, n, 0, c, n);
    for (int r = 0; r < reps; r++) {
        double t0 = bu_now();
        irllrec__sbgemm(0, 0, n, n, n, a, n, b, n, 0, c, n);
        t[r] = bu_now() - t0;
    }
    free(f);
    free(c);
    free(a);
    free(b);
    return 2.0 * n * (double)n * n / bu_median(t, (size_t)reps) * 1e-9;
}

/* What main keeps across the fp32 and bf16 runs. */
typedef struct shared {
    args a;
    irllrec_ctx *ctx;
    irllrec_csr train;
    int64_t U, I, N;
    counter *cnt;
} shared;

typedef struct result {
    double step, prf, intm, tea, tran, w_tran, rp, rss_off, rss_on, peak;
    int32_t precision;
    long long lib_hook;
    int allocs_in_steps;
} result;

/* The hook for one text precision, its four random texts set one at a
 * time from one buffer (the host holds one stand-in matrix at most). */
static lgcn_irl *make_hook(shared *sh, lgcn *m, int32_t prec, long long *lib_hook)
{
    const args *a = &sh->a;
    lgcn_irl_cfg hc;
    lgcn_irl *x = NULL;
    lgcn_irl_cfg_init(&hc);
    hc.preset = a->preset;
    hc.n_intents = K;
    hc.max_batch = B;
    hc.tran_mode = 0; /* exact */
    hc.text_precision = prec;
    hc.align_precision = a->align_precision;
    irllrec_mat up = irllrec_mat_dense(NULL, sh->U, a->dp), ip = irllrec_mat_dense(NULL, sh->I, a->dp);
    irllrec_mat ui = irllrec_mat_dense(NULL, sh->U, a->dt), ii = irllrec_mat_dense(NULL, sh->I, a->dt);
    int64_t maxd = a->dp > a->dt ? a->dp : a->dt;
    float *buf = (float *)malloc((size_t)sh->U * (size_t)maxd * sizeof(float));
    const int32_t which[4] = {IRLLREC_HOOK_USER_PROFILE, IRLLREC_HOOK_ITEM_PROFILE,
                              IRLLREC_HOOK_USER_INTENT, IRLLREC_HOOK_ITEM_INTENT};
    if (buf == NULL) die("text", "out of memory");
    const long long before = sh->cnt->live;
    if (lgcn_irl_create(sh->ctx, m, &hc, up, ip, ui, ii, &x) != IRLLREC_OK)
        die("hook", irllrec_ctx_errmsg(sh->ctx));
    for (int w = 0; w < 4; w++) {
        int64_t rows = w % 2 == 0 ? sh->U : sh->I, cols = w < 2 ? a->dp : a->dt;
        for (int64_t k = 0; k < rows * cols; k++) buf[k] = (float)(unif() - 0.5);
        if (irllrec_hook_set_text(lgcn_irl_hook(x), which[w],
                                  irllrec_cmat_dense(buf, rows, cols)) != IRLLREC_OK)
            die("set_text", irllrec_ctx_errmsg(sh->ctx));
    }
    free(buf);
    *lib_hook = sh->cnt->live - before;
    return x;
}

static void one_step(lgcn_irl *x, lgcn_opt *opt, const irllrec_csr *train, int32_t *bu,
                     int32_t *bp, int32_t *bn, lgcn_irl_losses *lv, irllrec_ctx *ctx)
{
    batch(train, bu, bp, bn);
    if (lgcn_irl_train_step(x, opt, bu, bp, bn, B, lv) != IRLLREC_OK)
        die("step", irllrec_ctx_errmsg(ctx));
}

/* Warm-up (RSS with translation off, then on), then reps timed steps with
 * their breakdown; fills r. */
static void run_text(shared *sh, int32_t prec, result *r)
{
    const args *a = &sh->a;
    char err[512] = "", la[128];
    lgcn_spec ls;
    lgcn *m = NULL;
    lgcn_opt *opt = NULL;
    double col[COLS][MAXREP], cpu[MAXREP], w_tran = 0.0;
    int32_t ap = IRLLREC_ALIGN_FP32;
    int64_t uniq = 0;
    int32_t *bu = (int32_t *)malloc(B * sizeof *bu), *bp = (int32_t *)malloc(B * sizeof *bp);
    int32_t *bn = (int32_t *)malloc(B * sizeof *bn);
    if (!bu || !bp || !bn) die("batch", "out of memory");
    lgcn_spec_init(&ls);
    ls.n_users = sh->U;
    ls.n_items = sh->I;
    ls.dim = D;
    ls.n_layers = L;
    ls.keep_rate = 1.0; /* the authors' Amazon-book IRLLRec config (docs/hook.md) */
    ls.reg = 1e-7;
    ls.n_threads = a->threads;
    if (lgcn_create(&ls, &sh->train, &m, err, sizeof err) != IRLLREC_OK ||
        lgcn_opt_create(m, 1e-3, &opt, err, sizeof err) != IRLLREC_OK)
        die("lgcn", err);
    lgcn_irl *x = make_hook(sh, m, prec, &r->lib_hook);
    irllrec_hook_get_text_precision(lgcn_irl_hook(x), &r->precision);
    irllrec_hook_get_align_precision(lgcn_irl_hook(x), &ap);
    printf("\n== text towers asked %s, took %s (bf16 backend: %s); alignment products %s ==\n",
           prec ? "bf16" : "fp32", r->precision ? "bf16" : "fp32", irllrec_text_bf16_backend(),
           lgcn_precision_name(ap));
    const long long peak_before = sh->cnt->peak;
    irllrec_hook_get_param(lgcn_irl_hook(x), IRLLREC_HOOK_W_TRAN, &w_tran);
    irllrec_hook_set_param(lgcn_irl_hook(x), IRLLREC_HOOK_W_TRAN, 0.0);
    for (int k = 0; k < 2; k++) one_step(x, opt, &sh->train, bu, bp, bn, NULL, sh->ctx);
    r->rss_off = rss_mib();
    irllrec_hook_set_param(lgcn_irl_hook(x), IRLLREC_HOOK_W_TRAN, w_tran);
    one_step(x, opt, &sh->train, bu, bp, bn, NULL, sh->ctx);
    r->rss_on = rss_mib();
    for (int k = 0; k < a->reps; k++) {
        lgcn_irl_losses lv;
        lgcn_irl_times ht;
        irllrec_hook_timings tm;
        double t0, t, c0;
        c0 = bu_cpu_now();
        t0 = bu_now();
        one_step(x, opt, &sh->train, bu, bp, bn, &lv, sh->ctx);
        t = bu_now() - t0;
        cpu[k] = bu_cpu_now() - c0;
        uniq += distinct_items(bp, bn, sh->I);
        lgcn_irl_last_times(x, &ht);
        memset(&tm, 0, sizeof tm);
        tm.struct_size = sizeof tm;
        irllrec_hook_last_timings(lgcn_irl_hook(x), &tm);
        const double v[COLS] = {
            t,          ht.forward,    ht.bpr,        ht.hook,   ht.backward, ht.clear,
            ht.adam,    tm.validate,   tm.profile_mlp, tm.intent_mlp, tm.teacher, tm.tower,
            tm.kd,      tm.pair,       tm.tran,       tm.itm,    tm.commit,
            tm.total - (tm.validate + tm.profile_mlp + tm.intent_mlp + tm.teacher + tm.tower +
                        tm.kd + tm.pair + tm.tran + tm.itm + tm.commit)};
        for (int c = 0; c < COLS; c++) col[c][k] = v[c];
        loadavg(la, sizeof la);
        printf("step %d: %.3f s, cpu %.3f s  (loss %.5f: bpr %.5f kd %.4f pair %.4f tran %.4f "
               "itm %.4f)  load %s\n",
               k, t, cpu[k], lv.total, lv.bpr, lv.hook.kd, lv.hook.pair, lv.hook.tran,
               lv.hook.itm, la);
    }
    printf("median of %d steps (seconds; components are medians, so they need not add up):\n",
           a->reps);
    for (int c = 0; c < COLS; c++)
        printf("  %-22s %8.4f\n", COL_NAME[c], bu_median(col[c], (size_t)a->reps));
    printf("  process CPU time per step: median %.3f s over %d threads\n",
           bu_median(cpu, (size_t)a->reps), a->threads);
    r->step = bu_median(col[0], (size_t)a->reps);
    r->prf = bu_median(col[8], (size_t)a->reps);
    r->intm = bu_median(col[9], (size_t)a->reps);
    r->tea = bu_median(col[10], (size_t)a->reps);
    r->tran = bu_median(col[14], (size_t)a->reps);
    r->w_tran = w_tran;
    r->rp = (double)sh->U + (double)uniq / a->reps;
    r->allocs_in_steps = sh->cnt->peak != peak_before;
    free(bu);
    free(bp);
    free(bn);
    lgcn_irl_free(x);
    lgcn_opt_free(opt);
    lgcn_free(m);
}

/* The text towers of one run against the roof of their precision. */
static void report_towers(const shared *sh, const result *r, double roof, const char *roof_name)
{
    const args *a = &sh->a;
    double f_prf = mlp_flops(r->rp, a->dp, D), f_int = mlp_flops((double)sh->N, a->dt, D);
    double h = floor((a->dt + D) / 2.0), f_tea = 2.0 * sh->N * a->dt * h + 2.0 * sh->N * h * D;
    double g_prf = f_prf / r->prf * 1e-9, g_int = f_int / r->intm * 1e-9, g_tea = f_tea / r->tea * 1e-9;
    double g_all = (f_prf + f_int + f_tea) / (r->prf + r->intm + r->tea) * 1e-9;
    printf("%s text towers (whole tower time, incl. bias/LeakyReLU/gathers; FLOPs of the GEMMs), "
           "against %s %.1f GFLOP/s:\n", r->precision ? "bf16" : "fp32", roof_name, roof);
    printf("  profile MLP fwd+bwd, %.0f rows: %.1f GFLOP in %.3f s = %.1f GFLOP/s (%.0f%%)\n",
           r->rp, f_prf * 1e-9, r->prf, g_prf, 100.0 * g_prf / roof);
    printf("  intent MLP fwd+bwd, %lld rows: %.1f GFLOP in %.3f s = %.1f GFLOP/s (%.0f%%)\n",
           (long long)sh->N, f_int * 1e-9, r->intm, g_int, 100.0 * g_int / roof);
    printf("  teacher EMA+fwd, %lld rows: %.1f GFLOP in %.3f s = %.1f GFLOP/s (%.0f%%)\n",
           (long long)sh->N, f_tea * 1e-9, r->tea, g_tea, 100.0 * g_tea / roof);
    printf("  all three: %.1f GFLOP/s = %.0f%% of %s\n", g_all, 100.0 * g_all / roof, roof_name);
}

static void load_graph(shared *sh, irllrec_x_dataset **ds, int64_t **gip, int32_t **gix)
{
    if (irllrec_x_dataset_load(sh->ctx, sh->a.data, ds) == IRLLREC_OK) {
        irllrec_x_dataset_user_items(*ds, IRLLREC_SPLIT_TRAIN, &sh->train);
        printf("graph: %s train split (%lld users, %lld items, %lld interactions)\n", sh->a.data,
               (long long)sh->train.n_rows, (long long)sh->train.n_cols,
               (long long)sh->train.nnz);
    } else {
        random_graph(&sh->train, gip, gix);
        printf("graph: RANDOM stand-in of amazon-book's shape (%s not found): %lld x %lld, %lld "
               "interactions\n",
               sh->a.data, (long long)sh->train.n_rows, (long long)sh->train.n_cols,
               (long long)sh->train.nnz);
    }
    sh->U = sh->train.n_rows;
    sh->I = sh->train.n_cols;
    sh->N = sh->U + sh->I;
}

int main(int argc, char **argv)
{
    shared sh;
    char la[128];
    irllrec_ctx_spec cs;
    irllrec_x_dataset *ds = NULL;
    int64_t *gip = NULL;
    int32_t *gix = NULL;
    static counter cnt;
    result res[2];
    memset(&sh, 0, sizeof sh);
    memset(res, 0, sizeof res);
    parse(argc, argv, &sh.a);
    const args *a = &sh.a;
    sh.cnt = &cnt;
    loadavg(la, sizeof la);
    printf("bench_step: LightGCN + IRLLRec, one full training step; load average at start: %s\n", la);
    bu_print_cpu();
    bu_print_blas();
    bu_print_isa();
    const char *wait = getenv("OMP_WAIT_POLICY");
    printf("OPENBLAS_NUM_THREADS=%s, OMP_NUM_THREADS=%s, OMP_WAIT_POLICY=%s (oneDNN's), "
           "host/ctx threads %d\n",
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)",
           getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "(unset)",
           wait ? wait : "(unset)", a->threads);
    if (wait == NULL && (a->text & 2))
        printf("note: OMP_WAIT_POLICY unset: oneDNN's OpenMP workers spin between bf16 calls "
               "while the library's threads run; passive is what docs/threading.md advises\n");
    printf("bf16 text-tower backend: %s\n", irllrec_text_bf16_backend());
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = a->threads;
    cs.alloc = count_alloc;
    cs.free = count_free;
    cs.alloc_ud = &cnt;
    if (irllrec_ctx_create(&cs, &sh.ctx) != IRLLREC_OK) die("ctx", "cannot create");
    load_graph(&sh, &ds, &gip, &gix);
    printf("shapes: N %lld, d %d, K %d, L %d, batch %d, profile %d-d, intent %d-d; text "
           "embeddings are RANDOM, TIMING-ONLY\n",
           (long long)sh.N, D, K, L, B, a->dp, a->dt);
    for (int p = 0; p < 2; p++)
        if (a->text & (1 << p)) run_text(&sh, p ? IRLLREC_HOOK_TEXT_BF16 : IRLLREC_HOOK_TEXT_FP32, &res[p]);

    const double peak = bu_peak_rss_mib(); /* before the roofs allocate their buffers */
    bu_roofs rf;
    bu_measure_roofs(a->threads, &rf);
    const double ref_gflops = rf.sgemm_square, bf_gflops = square_bf16_gflops(2048, 5);
    loadavg(la, sizeof la);
    bu_print_roofs(&rf);
    printf("square 2048^3 bf16 matmul, median of 5: %.1f GFLOP/s (roofs measured at load %s)\n",
           bf_gflops, la);
    for (int p = 0; p < 2; p++) {
        if (!(a->text & (1 << p))) continue;
        const result *r = &res[p];
        const int bf = r->precision == IRLLREC_HOOK_TEXT_BF16;
        report_towers(&sh, r, bf ? bf_gflops : ref_gflops, bf ? "the square bf16 matmul"
                                                               : "the square sgemm");
        printf("  step: median %.3f s at intent %d-d, batch %d (target: fp32 <= 1.2 s, bf16 "
               "<= 0.6 s where AMX is present)\n", r->step, a->dt, B);
        double txt = (double)sh.N * (a->dp + a->dt) * (bf ? 2.0 : 4.0) / 1048576.0;
        printf("  hook allocations (counting allocator): %.1f MiB, of which the text copies %.1f "
               "MiB; library peak during steps %s its create-time peak\n",
               (double)r->lib_hook / 1048576.0, txt,
               r->allocs_in_steps ? "EXCEEDS" : "equals");
        if (r->w_tran > 0 && r->tran > 0) {
            /* exact translation: three N x N x d products (logits, two gradients) */
            const double f_tr = 6.0 * (double)sh.N * (double)sh.N * D;
            printf("  translation (hook tran): %.1f GFLOP of k = %d products in %.3f s = %.1f "
                   "GFLOP/s, %.2f of the thin-sgemm roof (exp and sums included)\n",
                   f_tr * 1e-9, D, r->tran, f_tr / r->tran * 1e-9,
                   bu_fraction(f_tr / r->tran * 1e-9, rf.sgemm_thin));
        }
        printf("  exact translation: RSS %.1f MiB with it off, %.1f MiB after one step with it "
               "on: +%.1f MiB (target <= 64 MB)\n", r->rss_off, r->rss_on, r->rss_on - r->rss_off);
    }
    if (a->text == 3)
        printf("\nbf16 / fp32 step time: %.3f / %.3f s = %.2fx faster; text towers (profile + "
               "intent + teacher) %.3f / %.3f s = %.2fx\n",
               res[1].step, res[0].step, res[0].step / res[1].step,
               res[1].prf + res[1].intm + res[1].tea, res[0].prf + res[0].intm + res[0].tea,
               (res[0].prf + res[0].intm + res[0].tea) / (res[1].prf + res[1].intm + res[1].tea));
    printf("peak RSS (before the roofs' buffers): %.0f MiB at intent %d-d, text %s (targets: <= 1536 MiB fp32; <= 0.8 GB "
           "= 763 MiB with bf16 text at 3072-d)%s\n",
           peak, a->dt, a->text == 1 ? "fp32" : a->text == 2 ? "bf16" : "both runs",
           a->text == 3 ? ": the process's peak over both runs; use --text bf16 alone" : "");
    printf("preset %s\n", a->preset ? "released" : "paper");
    loadavg(la, sizeof la);
    printf("load average at end: %s\n", la);
    irllrec_x_dataset_free(ds);
    free(gip);
    free(gix);
    irllrec_ctx_free(sh.ctx);
    return 0;
}
