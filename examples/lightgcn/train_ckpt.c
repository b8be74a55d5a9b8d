/* lightgcn_train's checkpoints (train_impl.h): what the trainer hands to
 * checkpoint.c (lgcn_ckpt_save / lgcn_ckpt_load) for --save-every and
 * --resume, the data fingerprint, and the check of hook flags on resume. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "train_impl.h"
#include "checkpoint.h"

static lgcn_ckpt_cfg ckpt_cfg(const opts *o, const lt_irl_state *irl, int32_t ranks)
{
    lgcn_ckpt_cfg c = {o->batch, o->seed, o->lr, o->reg, o->keep, o->irllrec, irl->data_fp,
                       irl->text_fp, o->model, 0.0, 0.0, 0.0, ranks, o->mpi_shard};
    if (o->model == LGCN_MODEL_SGL || o->model == LGCN_MODEL_SIMGCL) {
        c.cl_weight = o->cl_weight;
        c.cl_tau = o->cl_tau;
    }
    if (o->model == LGCN_MODEL_SIMGCL) c.eps = o->eps;
    return c;
}

uint64_t lt_train_fingerprint(const irllrec_x_dataset *ds)
{
    irllrec_csr c;
    int64_t shape[2] = {irllrec_x_dataset_n_users(ds), irllrec_x_dataset_n_items(ds)};
    uint64_t h = lgcn_ckpt_fnv1a(LGCN_FNV1A_INIT, shape, sizeof shape);
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &c);
    h = lgcn_ckpt_fnv1a(h, c.indptr, (size_t)(c.n_rows + 1) * sizeof(int64_t));
    return lgcn_ckpt_fnv1a(h, c.indices, (size_t)c.nnz * sizeof(int32_t));
}

/* --resume with hook flags: the checkpoint's hook settings are restored with
 * its state; a flag given on this command line must equal them, or the
 * resume is refused naming every differing flag and both values (docs/
 * lightgcn.md, "Checkpoints"). */
static int check_hook_flags(const opts *o, const lt_irl_state *irl)
{
    static const struct {
        const char *flag;
        size_t off;
        irllrec_hook_param p;
    } F[] = {{"--w-kd", offsetof(lgcn_irl_cfg, w_kd), IRLLREC_HOOK_W_KD},
             {"--tau-kd", offsetof(lgcn_irl_cfg, tau_kd), IRLLREC_HOOK_TAU_KD},
             {"--w-pair", offsetof(lgcn_irl_cfg, w_pair), IRLLREC_HOOK_W_PAIR},
             {"--tau-pair", offsetof(lgcn_irl_cfg, tau_pair), IRLLREC_HOOK_TAU_PAIR},
             {"--w-tran", offsetof(lgcn_irl_cfg, w_tran), IRLLREC_HOOK_W_TRAN},
             {"--w-itm", offsetof(lgcn_irl_cfg, w_itm), IRLLREC_HOOK_W_ITM},
             {"--itm-alpha", offsetof(lgcn_irl_cfg, itm_alpha), IRLLREC_HOOK_ITM_ALPHA},
             {"--momentum", offsetof(lgcn_irl_cfg, momentum), IRLLREC_HOOK_MOMENTUM},
             {"--hook-lr", offsetof(lgcn_irl_cfg, lr), IRLLREC_HOOK_LR},
             {"--hook-reg", offsetof(lgcn_irl_cfg, reg), IRLLREC_HOOK_REG}};
    irllrec_hook *h;
    int bad = 0;
    if (irl->x == NULL) return 0;
    h = lgcn_irl_hook(irl->x);
    for (size_t k = 0; k < sizeof F / sizeof F[0]; k++) {
        double given, saved = 0.0;
        memcpy(&given, (const char *)&o->hc + F[k].off, sizeof given);
        if (isnan(given)) continue;
        if (irllrec_hook_get_param(h, F[k].p, &saved) != IRLLREC_OK) continue;
        if (memcmp(&given, &saved, sizeof given) != 0) {
            fprintf(stderr, "lightgcn_train: --resume %s: %s %.17g differs from the checkpoint's "
                            "%.17g\n", o->resume, F[k].flag, given, saved);
            bad = 1;
        }
    }
    if (o->hc.tran_mode >= 0 || o->hc.tran_samples > 0) {
        double mode = 0.0, samples = 0.0;
        irllrec_hook_get_param(h, IRLLREC_HOOK_TRAN_MODE, &mode);
        irllrec_hook_get_param(h, IRLLREC_HOOK_TRAN_SAMPLES, &samples);
        if (o->hc.tran_mode >= 0 && (double)o->hc.tran_mode != mode) {
            fprintf(stderr, "lightgcn_train: --resume %s: --tran-mode %s differs from the "
                            "checkpoint's %s\n", o->resume,
                    o->hc.tran_mode ? "sampled" : "exact", mode != 0.0 ? "sampled" : "exact");
            bad = 1;
        }
        if (o->hc.tran_samples > 0 && (double)o->hc.tran_samples != samples) {
            fprintf(stderr, "lightgcn_train: --resume %s: --tran-samples %lld differs from the "
                            "checkpoint's %.17g\n", o->resume, (long long)o->hc.tran_samples, samples);
            bad = 1;
        }
    }
    if (bad)
        fprintf(stderr, "lightgcn_train: refusing to resume with changed hook settings (drop the "
                        "flags to keep the checkpoint's, or start a new run)\n");
    return bad ? -1 : 0;
}

int lt_save_checkpoint(const opts *o, irllrec_ctx *ctx, lgcn *m, lgcn_opt *opt,
                       irllrec_x_sampler *sp, lt_irl_state *irl, float *best, int epoch,
                       const lt_loop *l, int32_t ranks)
{
    char p[4096], err[1024] = "";
    const lgcn_ckpt_cfg c = ckpt_cfg(o, irl, ranks);
    lgcn_ckpt_loop lp = {epoch, l->best_epoch, l->since_best, l->n_evals, l->best_recall, best};
    snprintf(p, sizeof p, "%s/checkpoint.irlm", o->out);
    if (lgcn_ckpt_save(ctx, p, &c, m, opt, sp, irl->x ? lgcn_irl_hook(irl->x) : NULL, &lp, err,
                       sizeof err) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: cannot save %s: %s\n", p, err);
        return -1;
    }
    return 0;
}

int lt_resume_from(const opts *o, irllrec_ctx *ctx, lgcn *m, lgcn_opt *opt,
                   irllrec_x_sampler *sp, lt_irl_state *irl, float *best, int *first_epoch,
                   lt_loop *l, int32_t ranks, FILE *note)
{
    char err[1024] = "";
    const lgcn_ckpt_cfg c = ckpt_cfg(o, irl, ranks);
    lgcn_ckpt_loop lp = {0, -1, 0, 0, -1.0, best};
    if (lgcn_ckpt_load(ctx, o->resume, &c, m, opt, sp, irl->x ? lgcn_irl_hook(irl->x) : NULL,
                       &lp, err, sizeof err) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: cannot resume from %s: %s\n", o->resume, err);
        return -1;
    }
    if (check_hook_flags(o, irl) != 0) return -1;
    *first_epoch = lp.epoch + 1;
    l->best_epoch = lp.best_epoch;
    l->since_best = lp.since_best;
    l->n_evals = lp.n_evals;
    l->best_recall = lp.best_recall;
    if (note != NULL)
        fprintf(note, "lightgcn_train: resumed from %s after epoch %d\n", o->resume, lp.epoch);
    return 0;
}
