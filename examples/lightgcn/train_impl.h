/* lightgcn_train's pieces (internal to the trainer, not to the model library):
 *   train.c       main: setup and the epoch loop
 *   train_out.c   files, evaluation, per-epoch losses, log.jsonl / result.json / .npy
 *   train_text.c  IRLLRec: text embeddings (paths, loading, checks) and the hook
 *   train_ckpt.c  checkpoint glue (--save-every, --resume) over checkpoint.c
 *   train_args.c  the command line (train_args.h) */
#ifndef LGCN_TRAIN_IMPL_H
#define LGCN_TRAIN_IMPL_H

#include <stdint.h>
#include <stdio.h>
#include "hosts.h"
#include "train_args.h"
#include "serving.h"

/* ---- train_out.c ---------------------------------------------------------- */

extern const int32_t LT_KS[3];

double lt_now_s(void);
/* The context's log callback: the library's messages to stderr, prefixed. */
void lt_lib_log(void *ud, int32_t level, const char *msg);
int lt_mkdir_p(const char *path);
/* Remove a tree this run created (no symlinks followed). */
void lt_rm_tree(const char *path);

typedef struct lt_metrics {
    double recall[3], ndcg[3];
    int64_t n_users;
    double seconds;
} lt_metrics;

int lt_evaluate(irllrec_evaluator *ev, lgcn *m, const irllrec_x_dataset *ds, int32_t split,
                lt_metrics *out, irllrec_ctx *ctx);
void lt_json_metrics(FILE *f, const lt_metrics *r);
/* A JSON string: quotes, backslashes and control bytes escaped. */
void lt_json_str(FILE *f, const char *s);
int lt_save_npy(irllrec_ctx *ctx, const char *dir, const char *name, const float *x,
                int64_t rows, int32_t d);

/* Sums of the per-step losses over an epoch's batches, then means. */
typedef struct lt_epoch_sums {
    double bpr, reg, cl;
    irllrec_hook_losses h;
    int64_t n;
    int has_cl; /* the backbone has a contrastive loss (sgl, simgcl) */
} lt_epoch_sums;

void lt_sums_add(lt_epoch_sums *e, const lgcn_host_losses *l);
void lt_sums_mean(lt_epoch_sums *e, int32_t model);
void lt_print_epoch(const lt_epoch_sums *e, int epoch, int irl, double secs);
/* The loss members of a log.jsonl line (each followed by ", "). */
void lt_json_losses(FILE *f, const lt_epoch_sums *e, int irl);

/* ---- train_text.c --------------------------------------------------------- */

typedef struct lt_irl_state {
    lgcn_irl *x;
    float *text[4];
    char path[4][4096];
    int64_t rows[4], cols[4];
    uint64_t data_fp, text_fp; /* fingerprints for checkpoints (checkpoint.h) */
} lt_irl_state;

/* Resolve the four text paths (flags, else DATA/<name>.npy when present);
 * notes on dropped pairs go to @p note (NULL: none). */
int lt_resolve_text(const opts *o, const char *data_dir, lt_irl_state *s, FILE *note);
int lt_load_text(irllrec_ctx *ctx, lt_irl_state *s, int64_t U, int64_t I);
/* Warnings for text that carries nothing (zero rows, no text at all). */
void lt_warn_text(const lt_irl_state *s);
/* Create the hook on model @p m from the loaded text (s->x); its settings
 * from o->hc; with @p layer (several ranks) attached to it. The one place
 * the trainer makes its hook. Collective when @p layer is not NULL. */
int lt_make_hook(irllrec_ctx *ctx, lgcn *m, const opts *o, lt_irl_state *s,
                 const irllrec_collective *layer, FILE *note);
/* The hook's effective settings, as JSON members (no braces). */
void lt_json_hook_config(FILE *f, const opts *o, const lt_irl_state *s);
void lt_irl_state_free(lt_irl_state *s);
/* FNV-1a 64 of the text embeddings the hook got (which matrix, shape, floats). */
uint64_t lt_text_fingerprint(const lt_irl_state *s);

/* ---- train_ckpt.c --------------------------------------------------------- */

/* The early-stopping state of the loop (what a checkpoint keeps besides the
 * model, optimizer, sampler and hook). */
typedef struct lt_loop {
    int best_epoch, since_best, n_evals;
    double best_recall;
} lt_loop;

/* FNV-1a 64 of the TRAIN split: its shape and user -> items CSR. */
uint64_t lt_train_fingerprint(const irllrec_x_dataset *ds);
/* @p ranks: the rank count of the run (1: one process), kept in the
 * checkpoint; a resume with another is refused. */
int lt_save_checkpoint(const opts *o, irllrec_ctx *ctx, lgcn *m, lgcn_opt *opt,
                       irllrec_x_sampler *sp, lt_irl_state *irl, float *best, int epoch,
                       const lt_loop *lp, int32_t ranks);
int lt_resume_from(const opts *o, irllrec_ctx *ctx, lgcn *m, lgcn_opt *opt,
                   irllrec_x_sampler *sp, lt_irl_state *irl, float *best, int *first_epoch,
                   lt_loop *lp, int32_t ranks, FILE *note);

/* ---- the run's files (train_out.c) ---------------------------------------- */

/* What result.json and the closing stdout lines report. */
typedef struct lt_result {
    int best_epoch, epochs_run, n_evals;
    int ranks; /* > 0: "ranks" in result.json (--mpi) */
    int cl_precision; /* what the contrastive loss took (enum irllrec_align_precision) */
    double t_train, t_eval, total;
    lt_metrics test, val;
} lt_result;

/* log.jsonl's epoch line and validation line (flushed). */
void lt_log_train(FILE *log, int epoch, const lt_epoch_sums *es, int irl, double secs);
void lt_log_val(FILE *log, int epoch, const lt_metrics *r, const lt_epoch_sums *es, int irl,
                double secs, int improved);
/* user_emb.npy, item_emb.npy (E_final of the last forward), user_emb0.npy,
 * item_emb0.npy (@p best) and model.irlm (serving.h) in @p dir. */
int lt_write_embeddings(irllrec_ctx *ctx, const char *dir, lgcn *m, const float *best,
                        const irllrec_csr *train, irllrec_hook *h,
                        const lgcn_hook_snap *best_hook);
/* OUT before a run (rank 0): the refusal to replace an earlier run's
 * checkpoint, what exists already, the folder made. @return 0, or the exit
 * status after a message. */
int lt_open_out(const opts *o, int *created_out, int *created_log);
/* OUT/result.json, then the "best epoch" and "TEST" lines on stdout. */
int lt_write_result(const opts *o, const char *data_dir, const lt_irl_state *irl,
                    const lt_result *r);

#endif /* LGCN_TRAIN_IMPL_H */
