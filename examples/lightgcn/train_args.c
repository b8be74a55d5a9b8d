/* lightgcn_train's command line: flags, their ranges, the --irllrec
 * defaults (train_args.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include "train_args.h"

const char *const LGCN_TEXT_FLAG[4] = {"--usr-prf", "--itm-prf", "--usr-int", "--itm-int"};
const char *const LGCN_DATASET_CFG_NAME[3] = {"amazon-book", "yelp", "amazon-movie"};

/* The authors' per-dataset configs of SGL and SimGCL (DESIGN.md section 10):
 * reg, cl_weight, cl_tau, eps (SimGCL), by enum lgcn_dataset_cfg. */
static const double SGL_CFG[3][3] = {{1e-5, 0.1, 0.2}, {1e-6, 1e-3, 0.1}, {1e-6, 1e-2, 0.1}};
static const double SIMGCL_CFG[3][4] = {
    {1e-5, 0.1, 0.2, 0.9}, {1e-5, 0.1, 0.2, 0.9}, {1e-6, 2e-2, 0.1, 0.1}};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lightgcn_train [options]\n"
            "  --data DIR       LightGCN-format folder (train/val/test.txt, stats.json);\n"
            "                   omitted: generate SYNTHETIC data into OUT/synthetic-data\n"
            "  --out DIR        output folder (default lightgcn-out)\n"
            "  --model M        lightgcn (default), sgl, simgcl or mf (docs/hosts.md)\n"
            "  --dataset-config D  amazon-book (default), yelp or amazon-movie: the\n"
            "                   authors' per-dataset defaults of sgl and simgcl\n"
            "  --cl-weight X --cl-tau X  contrastive loss of sgl / simgcl (per dataset;\n"
            "                   amazon-book 0.1, 0.2)\n"
            "  --view-keep X    sgl: edge keep rate of each view (0.8)\n"
            "  --eps X          simgcl: noise magnitude (amazon-book 0.9)\n"
            "  --cl-precision P sgl / simgcl: products of the contrastive loss: fp32\n"
            "                   (default), bf16-logits (the softmax sums' logits) or bf16\n"
            "                   (those and the backward's); AVX512-BF16 CPUs, elsewhere\n"
            "                   fp32, said in the log (docs/hosts.md)\n"
            "  --dim N          embedding size (32)\n"
            "  --layers N       graph layers (3; mf: 0)\n"
            "  --lr X           Adam learning rate (1e-3)\n"
            "  --batch N        batch size (4096)\n"
            "  --reg X          L2 weight over all parameters (1e-6; sgl, simgcl: per dataset,\n"
            "                   amazon-book 1e-5)\n"
            "  --keep X         lightgcn: edge keep rate during training (0.8)\n"
            "  --epochs N       maximum epochs (3000)\n"
            "  --eval-step N    validate every N epochs, starting at epoch 0 (3)\n"
            "  --patience N     stop after N validations without improvement (5)\n"
            "  --seed N         seed of initialisation, sampling and dropout (2023)\n"
            "  --threads N      threads for propagation, Adam and evaluation (1)\n"
            "  --quiet          no per-epoch lines on stderr\n"
            "  --lib-log N      library messages to stderr up to level N: 0 none, 1 errors,\n"
            "                   2 + warnings (default), 3 + info, 4 + debug\n"
            "  --save-every N   write OUT/checkpoint.irlm (atomically) every N epochs\n"
            "  --resume FILE    continue from a checkpoint (same data and flags: a changed\n"
            "                   setting or data is refused, naming it)\n"
            "  --overwrite      allow replacing OUT/checkpoint.irlm and OUT/log.jsonl of an\n"
            "                   earlier run (refused without it unless --resume)\n"
            "IRLLRec (the library's hook on this host; docs/hook.md):\n"
            "  --irllrec        enable it (off: plain LightGCN, unchanged). With it the\n"
            "                   defaults of --reg and --keep become 1e-7 and 1.0\n"
            "                   (the authors' Amazon-book config) unless given explicitly\n"
            "  --usr-prf/--itm-prf/--usr-int/--itm-int PATH\n"
            "                   .npy text embeddings (default DATA/usr_prf.npy, ... when\n"
            "                   present; a missing pair switches its terms off)\n"
            "  --w-kd X --tau-kd X      profile InfoNCE (1e-2, 0.2)\n"
            "  --w-pair X --tau-pair X  intent InfoNCE (2e-2, 0.2)\n"
            "  --w-tran X --w-itm X     translation / ITM weights (preset: paper 5e-4, 1e-4;\n"
            "                           released 1e-7, 1e-7)\n"
            "  --itm-alpha X --momentum X  ITM alpha (0.6), teacher EMA momentum (0.999)\n"
            "  --intents K      prototypes per side (128)\n"
            "  --hook-lr X --hook-reg X  the hook's Adam lr (1e-3) and L2 (1e-7)\n"
            "  --preset paper|released   (paper)\n"
            "  --tran-mode exact|sampled --tran-samples N  (exact; 4096)\n"
            "  --text-precision fp32|bf16  bf16 text towers where the CPU has them (fp32)\n"
            "  --align-precision fp32|bf16-logits|bf16  products of the hook's alignment\n"
            "                   terms (fp32; the bf16 levels on AVX512-BF16 CPUs, see\n"
            "                   --cl-precision and docs/math-align.md section 2c)\n"
            "  --reduce-rows C  rows per reduction chunk (512); --mpi-shard needs P <= the\n"
            "                   chunks (users and items each cut every C rows)\n"
            "Several processes (data-parallel; docs/distributed.md):\n"
            "  --mpi            train as one rank of mpirun -n P (lightgcn_train_mpi only):\n"
            "                   each global batch is split in P slices, the gradients are\n"
            "                   averaged; rank 0 writes every output. Resume needs the same P\n"
            "  --mpi-shard      with --mpi --irllrec: node-sharded instead; every rank trains\n"
            "                   the whole global batch (the host is replicated), holds 1/P of\n"
            "                   the text rows and computes its block of L_tran and ITM\n"
            "  --mpi-ranks P    refuse to start unless mpirun started exactly P ranks\n"
            "  --mpi-timeout S  seconds a collective may wait for the other ranks (300)\n");
}

/* Integer flags: name, field, allowed range. The ranges are the host's and
 * the library's limits (lgcn_create: dim 1..256, layers 0..64; a context:
 * 1..256 threads), checked here so the message names the flag. */
typedef struct int_flag {
    const char *name;
    size_t off;
    int32_t lo, hi;
} int_flag;

static const int_flag INT_FLAGS[] = {
    {"--dim", offsetof(opts, dim), 1, 256},
    {"--layers", offsetof(opts, layers), 0, 64},
    {"--batch", offsetof(opts, batch), 1, INT32_MAX},
    {"--epochs", offsetof(opts, epochs), 1, INT32_MAX},
    {"--eval-step", offsetof(opts, eval_step), 1, INT32_MAX},
    {"--patience", offsetof(opts, patience), 1, INT32_MAX},
    {"--threads", offsetof(opts, threads), 1, 256},
    {"--lib-log", offsetof(opts, lib_log), 0, IRLLREC_LOG_DEBUG},
    {"--save-every", offsetof(opts, save_every), 1, INT32_MAX},
    {"--intents", offsetof(opts, hc) + offsetof(lgcn_irl_cfg, n_intents), 1, 65536},
    {"--mpi-ranks", offsetof(opts, mpi_ranks), 1, 65536},
    {"--reduce-rows", offsetof(opts, hc) + offsetof(lgcn_irl_cfg, reduce_rows), 1, 1 << 30},
};
#define N_INT_FLAGS (sizeof INT_FLAGS / sizeof INT_FLAGS[0])

/* Flags that take a value besides INT_FLAGS. */
static const char *const VALUE_FLAGS[] = {
    "--data", "--out", "--resume", "--lr", "--reg", "--keep", "--seed", "--usr-prf",
    "--itm-prf", "--usr-int", "--itm-int", "--w-kd", "--tau-kd", "--w-pair", "--tau-pair",
    "--w-tran", "--w-itm", "--itm-alpha", "--momentum", "--hook-lr", "--hook-reg",
    "--tran-samples", "--preset", "--tran-mode", "--text-precision", "--align-precision", "--model", "--dataset-config", "--cl-weight",
    "--cl-tau", "--eps", "--view-keep", "--mpi-timeout", "--cl-precision"};
#define N_VALUE_FLAGS (sizeof VALUE_FLAGS / sizeof VALUE_FLAGS[0])

/* A decimal integer: optional sign, digits, nothing else (no blanks). */
static int parse_i64(const char *s, long long *out)
{
    char *end;
    long long v;
    if (!((s[0] >= '0' && s[0] <= '9') || ((s[0] == '-' || s[0] == '+') && s[1] >= '0' &&
                                             s[1] <= '9')))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return s[0] == '\0' || errno || *end || !isfinite(*out) ? -1 : 0;
}

static int text_flag(const char *k)
{
    for (int w = 0; w < 4; w++)
        if (strcmp(k, LGCN_TEXT_FLAG[w]) == 0) return w;
    return -1;
}

static int bad_value(FILE *err, const char *k, const char *v, const char *want)
{
    fprintf(err, "lightgcn_train: bad value for %s: '%s' (want %s)\n", k, v, want);
    return 2;
}

/* A double flag with a condition: want names the allowed values. */
#define DBL(flag, field, cond, want)                                              \
    else if (strcmp(k, flag) == 0) {                                              \
        double x;                                                                 \
        if (parse_double(v, &x) != 0 || !(cond)) return bad_value(err, k, v, want); \
        field = x;                                                                \
    }

/* A flag that only some backbones have, given for another: refused. */
static int not_for(FILE *err, const char *flag, const opts *o, const char *which)
{
    fprintf(err, "lightgcn_train: %s is not a setting of --model %s (only of %s)\n", flag,
            lgcn_model_name(o->model), which);
    return 2;
}

static void set_if_nan(double *x, double v)
{
    if (isnan(*x)) *x = v;
}

/* The backbone's defaults for what was not given, and the flags that do not
 * belong to it refused. */
static int resolve_model(opts *o, FILE *err)
{
    const int32_t md = o->model, ds = o->dataset_cfg;
    const int cl = md == LGCN_MODEL_SGL || md == LGCN_MODEL_SIMGCL;
    if (!cl && !isnan(o->cl_weight)) return not_for(err, "--cl-weight", o, "sgl and simgcl");
    if (!cl && !isnan(o->cl_tau)) return not_for(err, "--cl-tau", o, "sgl and simgcl");
    if (md != LGCN_MODEL_SIMGCL && !isnan(o->eps)) return not_for(err, "--eps", o, "simgcl");
    if (!cl && o->cl_precision != 0) return not_for(err, "--cl-precision", o, "sgl and simgcl");
    if (md != LGCN_MODEL_SGL && !isnan(o->view_keep))
        return not_for(err, "--view-keep", o, "sgl");
    if (md != LGCN_MODEL_LIGHTGCN && o->keep_set)
        return not_for(err, "--keep", o, "lightgcn; sgl's views: --view-keep");
    if (md == LGCN_MODEL_MF && o->layers_set && o->layers != 0) {
        fprintf(err, "lightgcn_train: --model mf has no graph layers (--layers %d given)\n",
                o->layers);
        return 2;
    }
    if (md == LGCN_MODEL_MF) o->layers = 0;
    if (md == LGCN_MODEL_SIMGCL || md == LGCN_MODEL_MF) o->keep = 1.0;
    if (md == LGCN_MODEL_SGL) {
        set_if_nan(&o->view_keep, 0.8);
        o->keep = o->view_keep;
        if (!o->reg_set) o->reg = SGL_CFG[ds][0];
        set_if_nan(&o->cl_weight, SGL_CFG[ds][1]);
        set_if_nan(&o->cl_tau, SGL_CFG[ds][2]);
    } else if (md == LGCN_MODEL_SIMGCL) {
        if (!o->reg_set) o->reg = SIMGCL_CFG[ds][0];
        set_if_nan(&o->cl_weight, SIMGCL_CFG[ds][1]);
        set_if_nan(&o->cl_tau, SIMGCL_CFG[ds][2]);
        set_if_nan(&o->eps, SIMGCL_CFG[ds][3]);
    }
    if (cl && o->irllrec) {
        /* the *_int variants: profile and intent terms only, K 128 */
        int sgl = md == LGCN_MODEL_SGL;
        set_if_nan(&o->hc.w_kd, 1e-2);
        set_if_nan(&o->hc.tau_kd, sgl ? 0.5 : 0.2);
        set_if_nan(&o->hc.w_pair, sgl ? 1e-3 : 2e-2);
        set_if_nan(&o->hc.tau_pair, 0.1);
        set_if_nan(&o->hc.w_tran, 0.0);
        set_if_nan(&o->hc.w_itm, 0.0);
    }
    return 0;
}

/* --mpi where it can work; its settings only with it. */
static int check_mpi(const opts *o, FILE *err)
{
#ifndef LGCN_WITH_MPI
    if (o->mpi) {
        fprintf(err, "lightgcn_train: --mpi: this lightgcn_train was built without MPI; run "
                     "lightgcn_train_mpi under mpirun (built next to it when CMake finds MPI: "
                     "apt-get install libopenmpi-dev openmpi-bin, then reconfigure)\n");
        return 2;
    }
#endif
    if (!o->mpi && (o->mpi_ranks != 0 || o->mpi_timeout != 0.0 || o->mpi_shard)) {
        fprintf(err, "lightgcn_train: %s is a setting of --mpi, which was not given\n",
                o->mpi_shard ? "--mpi-shard" : o->mpi_ranks != 0 ? "--mpi-ranks" : "--mpi-timeout");
        return 2;
    }
    if (o->mpi_shard && !o->irllrec) {
        fprintf(err, "lightgcn_train: --mpi-shard shards the IRLLRec hook's text: it needs "
                     "--irllrec\n");
        return 2;
    }
    return 0;
}

int lgcn_train_parse_args(int argc, char **argv, opts *o, FILE *out, FILE *err)
{
    memset(o, 0, sizeof *o);
    o->out = "lightgcn-out";
    o->dim = 32;
    o->layers = 3;
    o->lr = 1e-3;
    o->batch = 4096;
    o->reg = 1e-6;
    o->keep = 0.8;
    o->epochs = 3000;
    o->eval_step = 3;
    o->patience = 5;
    o->seed = 2023;
    o->threads = 1;
    o->lib_log = IRLLREC_LOG_WARN;
    lgcn_irl_cfg_init(&o->hc);
    o->model = LGCN_MODEL_LIGHTGCN;
    o->dataset_cfg = LGCN_DS_AMAZON_BOOK;
    o->cl_weight = o->cl_tau = o->eps = o->view_keep = NAN;
    for (int a = 1; a < argc; a++) {
        const char *k = argv[a], *v;
        size_t q;
        int known = 0;
        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            usage(out);
            return 1;
        }
        if (strcmp(k, "--quiet") == 0) {
            o->quiet = 1;
            continue;
        }
        if (strcmp(k, "--irllrec") == 0) {
            o->irllrec = 1;
            continue;
        }
        if (strcmp(k, "--overwrite") == 0) {
            o->overwrite = 1;
            continue;
        }
        if (strcmp(k, "--mpi") == 0) {
            o->mpi = 1;
            continue;
        }
        if (strcmp(k, "--mpi-shard") == 0) {
            o->mpi_shard = 1;
            continue;
        }
        for (q = 0; q < N_INT_FLAGS && !known; q++) known = strcmp(k, INT_FLAGS[q].name) == 0;
        for (q = 0; q < N_VALUE_FLAGS && !known; q++) known = strcmp(k, VALUE_FLAGS[q]) == 0;
        if (!known) {
            fprintf(err, "lightgcn_train: unknown option '%s' (see --help)\n", k);
            return 2;
        }
        if (a + 1 >= argc) {
            fprintf(err, "lightgcn_train: %s needs a value\n", k);
            return 2;
        }
        v = argv[++a];
        for (q = 0; q < N_INT_FLAGS; q++) {
            if (strcmp(k, INT_FLAGS[q].name) == 0) {
                long long x;
                int32_t x32;
                if (parse_i64(v, &x) != 0 || x < INT_FLAGS[q].lo || x > INT_FLAGS[q].hi) {
                    fprintf(err, "lightgcn_train: bad value for %s: '%s' (want an integer in "
                                 "%d..%d)\n",
                            k, v, INT_FLAGS[q].lo, INT_FLAGS[q].hi);
                    return 2;
                }
                x32 = (int32_t)x;
                memcpy((char *)o + INT_FLAGS[q].off, &x32, sizeof x32);
                if (INT_FLAGS[q].off == offsetof(opts, layers)) o->layers_set = 1;
                break;
            }
        }
        if (q < N_INT_FLAGS) continue;
        if (strcmp(k, "--model") == 0) {
            o->model = lgcn_model_parse(v);
            if (o->model < 0) return bad_value(err, k, v, "lightgcn, sgl, simgcl or mf");
        } else if (strcmp(k, "--dataset-config") == 0) {
            o->dataset_cfg = -1;
            for (int q2 = 0; q2 < 3; q2++)
                if (strcmp(v, LGCN_DATASET_CFG_NAME[q2]) == 0) o->dataset_cfg = q2;
            if (o->dataset_cfg < 0)
                return bad_value(err, k, v, "amazon-book, yelp or amazon-movie");
        }
        DBL("--cl-weight", o->cl_weight, x >= 0 && x <= 1e6, "a number in [0, 1e6]")
        DBL("--cl-tau", o->cl_tau, x >= 1e-6 && x <= 1e3, "a number in [1e-6, 1e3]")
        DBL("--eps", o->eps, x >= 0 && x <= 1e3, "a number in [0, 1e3]")
        DBL("--view-keep", o->view_keep, x > 0 && x <= 1, "a number in (0, 1]")
        DBL("--mpi-timeout", o->mpi_timeout, x > 0 && x <= 1e6, "seconds in (0, 1e6]")
        else if (strcmp(k, "--data") == 0) o->data = v;
        else if (strcmp(k, "--out") == 0) {
            if (v[0] == '\0') return bad_value(err, k, v, "a folder name");
            o->out = v;
        }
        else if (strcmp(k, "--resume") == 0) o->resume = v;
        else if (text_flag(k) >= 0) o->text[text_flag(k)] = v;
        else if (strcmp(k, "--seed") == 0) {
            char *end;
            if (v[0] < '0' || v[0] > '9') return bad_value(err, k, v, "an integer in 0..2^64-1");
            errno = 0;
            o->seed = strtoull(v, &end, 10);
            if (errno || *end) return bad_value(err, k, v, "an integer in 0..2^64-1");
        }
        DBL("--lr", o->lr, x > 0, "a finite number > 0")
        DBL("--reg", o->reg, x >= 0, "a finite number >= 0")
        DBL("--keep", o->keep, x > 0 && x <= 1, "a number in (0, 1]")
        DBL("--w-kd", o->hc.w_kd, 1, "a finite number")
        DBL("--tau-kd", o->hc.tau_kd, 1, "a finite number")
        DBL("--w-pair", o->hc.w_pair, 1, "a finite number")
        DBL("--tau-pair", o->hc.tau_pair, 1, "a finite number")
        DBL("--w-tran", o->hc.w_tran, 1, "a finite number")
        DBL("--w-itm", o->hc.w_itm, 1, "a finite number")
        DBL("--itm-alpha", o->hc.itm_alpha, 1, "a finite number")
        DBL("--momentum", o->hc.momentum, 1, "a finite number")
        DBL("--hook-lr", o->hc.lr, 1, "a finite number")
        DBL("--hook-reg", o->hc.reg, 1, "a finite number")
        else if (strcmp(k, "--tran-samples") == 0) {
            long long x;
            if (parse_i64(v, &x) != 0 || x < 2 || x > INT32_MAX)
                return bad_value(err, k, v, "an integer in 2..2147483647");
            o->hc.tran_samples = (int32_t)x;
        } else if (strcmp(k, "--preset") == 0) {
            if (strcmp(v, "paper") == 0) o->hc.preset = IRLLREC_HOOK_PRESET_PAPER;
            else if (strcmp(v, "released") == 0) o->hc.preset = IRLLREC_HOOK_PRESET_RELEASED;
            else return bad_value(err, k, v, "paper or released");
        } else if (strcmp(k, "--tran-mode") == 0) {
            if (strcmp(v, "exact") == 0) o->hc.tran_mode = 0;
            else if (strcmp(v, "sampled") == 0) o->hc.tran_mode = 1;
            else return bad_value(err, k, v, "exact or sampled");
        } else if (strcmp(k, "--cl-precision") == 0) {
            o->cl_precision = lgcn_precision_parse(v);
            if (o->cl_precision < 0) return bad_value(err, k, v, "fp32, bf16-logits or bf16");
        } else if (strcmp(k, "--align-precision") == 0) {
            const int32_t p = lgcn_precision_parse(v);
            if (p < 0) return bad_value(err, k, v, "fp32, bf16-logits or bf16");
            o->hc.align_precision = p;
        } else if (strcmp(k, "--text-precision") == 0) {
            if (strcmp(v, "fp32") == 0) o->hc.text_precision = IRLLREC_HOOK_TEXT_FP32;
            else if (strcmp(v, "bf16") == 0) o->hc.text_precision = IRLLREC_HOOK_TEXT_BF16;
            else return bad_value(err, k, v, "fp32 or bf16");
        }
        if (strcmp(k, "--reg") == 0) o->reg_set = 1;
        if (strcmp(k, "--keep") == 0) o->keep_set = 1;
    }
    if (resolve_model(o, err) != 0) return 2;
    if (check_mpi(o, err) != 0) return 2;
    if (o->irllrec && (o->model == LGCN_MODEL_SGL || o->model == LGCN_MODEL_SIMGCL)) {
        o->hc.seed = o->seed;
        o->hc.max_batch = o->batch;
    } else if (o->irllrec) {
        /* The authors' Amazon-book IRLLRec config instead of the plain
         * baseline's 1e-6 / 0.8, unless the caller chose (README.md). */
        if (!o->reg_set) o->reg = 1e-7;
        if (!o->keep_set) o->keep = 1.0;
        o->hc.seed = o->seed;
        o->hc.max_batch = o->batch;
    } else {
        int hook_flag = o->hc.n_intents != 128 || o->hc.preset != IRLLREC_HOOK_PRESET_PAPER ||
                        o->hc.tran_mode >= 0 || o->hc.text_precision != 0 || o->hc.align_precision != 0 || o->hc.reduce_rows != 0 || o->hc.tran_samples > 0 || !isnan(o->hc.w_kd) ||
                        !isnan(o->hc.tau_kd) || !isnan(o->hc.w_pair) || !isnan(o->hc.tau_pair) ||
                        !isnan(o->hc.w_tran) || !isnan(o->hc.w_itm) || !isnan(o->hc.itm_alpha) ||
                        !isnan(o->hc.momentum) || !isnan(o->hc.lr) || !isnan(o->hc.reg);
        for (int w = 0; w < 4; w++) hook_flag |= o->text[w] != NULL;
        if (hook_flag)
            fprintf(err, "lightgcn_train: note: IRLLRec flags given without --irllrec are ignored\n");
    }
    return 0;
}
