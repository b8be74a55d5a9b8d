/* lightgcn_train: train the LightGCN host on a LightGCN-format data folder
 * (or, with no --data, on freshly generated SYNTHETIC data), with the
 * reference protocol of docs/evaluation.md: validate every eval_step epochs
 * (epochs 0, 3, 6, ...), keep the parameters with the best validation
 * Recall@20 (strictly greater), stop after `patience` evaluations without
 * improvement, report TEST at the kept parameters.
 *
 * Output folder: log.jsonl (one JSON object per epoch with its mean training
 * losses, one per evaluation, and the final test), result.json, user_emb.npy / item_emb.npy (E_final at the best
 * validation parameters), user_emb0.npy / item_emb0.npy (E(0) there) and
 * model.irlm, the serving model of those parameters (serving.h).
 *
 * With --mpi (lightgcn_train_mpi under mpirun -n P; train_dist.h) every rank
 * runs this file on slice r of each global batch; rank 0 alone evaluates and
 * writes, and the others follow its decisions.
 *
 * This file is the setup and the epoch loop; the rest is in train_out.c,
 * train_text.c, train_ckpt.c and train_dist.c (train_impl.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "train_impl.h"
#include "train_dist.h"

/* One run's state. */
typedef struct run {
    opts o;
    lt_dist dist;
    int r0;     /* this process writes (rank 0, or the only one) */
    FILE *note; /* informational lines: stderr on rank 0, NULL elsewhere */
    irllrec_ctx *ctx;
    irllrec_x_dataset *ds;
    irllrec_x_sampler *sp;
    irllrec_evaluator *ev;
    lgcn *m;
    lgcn_opt *opt;
    lgcn_host *host;
    lgcn_spec ls;
    irllrec_csr train;
    int32_t *users, *pos, *neg;
    float *best;
    lgcn_hook_snap *best_hook; /* the hook's trainable blocks at the best epoch */
    int64_t n_pairs, nd;
    char synth_dir[4096], scratch[4096]; /* scratch: a rank > 0's copy of the synthetic data */
    const char *data_dir;
    FILE *log;
    int created_out, created_log, created_synth, started;
    int epochs_run, first_epoch;
    lt_loop lp;
    double t_start;
    lt_result res;
    lt_irl_state irl;
} run;

/* The context, the data (written first when synthetic), the model, its
 * optimizer and host, and the text. @return 0 or -1 after a message */
static int load(run *r)
{
    const opts *o = &r->o;
    irllrec_ctx_spec cs;
    char err[512] = "";
    lgcn_host_cfg hcfg;
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = o->threads;
    cs.log = o->lib_log > 0 ? lt_lib_log : NULL;
    /* ranks > 0: the library's errors only (rank 0 reports its warnings) */
    cs.log_level = r->r0 || o->lib_log < IRLLREC_LOG_ERROR ? o->lib_log : IRLLREC_LOG_ERROR;
    if (irllrec_ctx_create(&cs, &r->ctx) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: cannot create a context with %d threads\n", o->threads);
        return -1;
    }
    r->data_dir = o->data;
    if (r->data_dir == NULL) {
        irllrec_x_synth_spec ss;
        const char *dir = r->synth_dir;
        irllrec_x_synth_spec_init(&ss, sizeof ss);
        if (r->r0) {
            snprintf(r->synth_dir, sizeof r->synth_dir, "%s/synthetic-data", o->out);
            r->created_synth = access(r->synth_dir, F_OK) != 0;
        } else { /* the same bytes, in a folder of its own: ranks > 0 write nothing into OUT */
            if (lt_dist_tmpdir(r->scratch, sizeof r->scratch) != 0) return -1;
            dir = r->scratch;
        }
        if (lt_mkdir_p(dir) != 0 || irllrec_x_synth_write(r->ctx, &ss, dir) != IRLLREC_OK) {
            fprintf(stderr, "lightgcn_train: cannot write synthetic data: %s\n",
                    irllrec_ctx_errmsg(r->ctx));
            return -1;
        }
        if (r->note != NULL)
            fprintf(r->note, "lightgcn_train: no --data: training on SYNTHETIC data written to "
                             "%s\n", dir);
        r->data_dir = dir;
    }
    if (irllrec_x_dataset_load(r->ctx, r->data_dir, &r->ds) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(r->ctx));
        return -1;
    }
    irllrec_x_dataset_user_items(r->ds, IRLLREC_SPLIT_TRAIN, &r->train);
    r->irl.data_fp = lt_train_fingerprint(r->ds);
    lgcn_spec_init(&r->ls);
    r->ls.n_users = irllrec_x_dataset_n_users(r->ds);
    r->ls.n_items = irllrec_x_dataset_n_items(r->ds);
    r->ls.dim = o->dim;
    r->ls.n_layers = o->layers;
    r->ls.keep_rate = o->keep;
    r->ls.reg = o->reg;
    r->ls.seed = o->seed;
    r->ls.n_threads = o->threads;
    if (lgcn_create(&r->ls, &r->train, &r->m, err, sizeof err) != IRLLREC_OK ||
        lgcn_opt_create(r->m, o->lr, &r->opt, err, sizeof err) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: %s\n", err);
        return -1;
    }
    hcfg.model = o->model;
    hcfg.cl_weight = o->cl_weight;
    hcfg.cl_tau = o->cl_tau;
    hcfg.eps = o->eps;
    hcfg.max_batch = o->batch;
    hcfg.seed = o->seed;
    hcfg.cl_precision = o->cl_precision;
    if (lgcn_host_create(r->ctx, r->m, &hcfg, &r->host, err, sizeof err) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: --model %s: %s\n", lgcn_model_name(o->model), err);
        return -1;
    }
    r->res.cl_precision = lgcn_host_cl_precision(r->host);
    if (o->irllrec) {
        if (lt_resolve_text(o, r->data_dir, &r->irl, r->note) != 0 ||
            lt_load_text(r->ctx, &r->irl, r->ls.n_users, r->ls.n_items) != 0)
            return -1;
        if (r->r0) lt_warn_text(&r->irl);
        r->irl.text_fp = lt_text_fingerprint(&r->irl);
    }
    return 0;
}

/* The sampler, the evaluator (rank 0), the buffers, --resume and log.jsonl
 * (rank 0). @return 0 or -1 after a message */
static int prepare(run *r)
{
    const opts *o = &r->o;
    char path[4096];
    if (irllrec_x_sampler_create(r->ctx, r->ds, o->seed, &r->sp) != IRLLREC_OK ||
        (r->r0 && irllrec_evaluator_create(r->ctx, r->ls.n_items, LT_KS, 3, &r->ev) != IRLLREC_OK)) {
        fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(r->ctx));
        return -1;
    }
    r->n_pairs = irllrec_x_sampler_epoch_size(r->sp);
    r->nd = lgcn_n_nodes(r->m) * lgcn_dim(r->m);
    r->users = (int32_t *)malloc((size_t)r->n_pairs * sizeof(int32_t));
    r->pos = (int32_t *)malloc((size_t)r->n_pairs * sizeof(int32_t));
    r->neg = (int32_t *)malloc((size_t)r->n_pairs * sizeof(int32_t));
    r->best = (float *)malloc((size_t)r->nd * sizeof(float));
    if (!r->users || !r->pos || !r->neg || !r->best) {
        fprintf(stderr, "lightgcn_train: out of memory\n");
        return -1;
    }
    if (o->resume != NULL && lt_resume_from(o, r->ctx, r->m, r->opt, r->sp, &r->irl, r->best,
                                            &r->first_epoch, &r->lp, r->dist.size, r->note) != 0)
        return -1;
    r->epochs_run = r->first_epoch;
    if (!r->r0) return 0;
    snprintf(path, sizeof path, "%s/log.jsonl", o->out);
    r->log = fopen(path, o->resume != NULL ? "a" : "w");
    if (r->log == NULL) {
        fprintf(stderr, "lightgcn_train: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void print_setup(const run *r)
{
    const opts *o = &r->o;
    fprintf(stderr,
            "lightgcn_train: %lld users, %lld items, %lld train pairs; d %d, L %d, lr %g, batch %d, "
            "reg %g, keep %g, seed %llu, threads %d; gemm %s, OPENBLAS_NUM_THREADS=%s\n",
            (long long)r->ls.n_users, (long long)r->ls.n_items, (long long)r->n_pairs, o->dim,
            o->layers, o->lr, o->batch, o->reg, o->keep, (unsigned long long)o->seed, o->threads,
            irllrec_gemm_backend(),
            getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)");
    fprintf(stderr, "lightgcn_train: model %s", lgcn_model_name(o->model));
    if (o->model == LGCN_MODEL_SGL || o->model == LGCN_MODEL_SIMGCL)
        fprintf(stderr, " (dataset config %s: cl_weight %g, cl_tau %g%s%g)",
                LGCN_DATASET_CFG_NAME[o->dataset_cfg], o->cl_weight, o->cl_tau,
                o->model == LGCN_MODEL_SGL ? ", view keep " : ", eps ",
                o->model == LGCN_MODEL_SGL ? o->view_keep : o->eps);
    if (o->cl_precision != IRLLREC_ALIGN_FP32)
        fprintf(stderr, "; contrastive products %s",
                lgcn_host_cl_precision(r->host) == o->cl_precision
                    ? lgcn_precision_name(o->cl_precision)
                    : "fp32 (bf16 asked, declined: no AVX512-BF16 or not the fused AVX-512 path)");
    fprintf(stderr, "\n");
    if (r->irl.x != NULL) {
        fprintf(stderr, "lightgcn_train: IRLLRec on: {");
        lt_json_hook_config(stderr, o, &r->irl);
        fprintf(stderr, "}\n");
    } else {
        fprintf(stderr, "lightgcn_train: IRLLRec off (plain %s)\n", lgcn_model_name(o->model));
    }
    if (r->dist.on && r->dist.shard)
        fprintf(stderr, "lightgcn_train: --mpi --mpi-shard: %d ranks, %d thread(s) each; every "
                        "rank trains each global batch of %d triples, the hook holds 1/%d of the "
                        "text rows; rank 0 evaluates and writes\n",
                (int)r->dist.size, o->threads, o->batch, (int)r->dist.size);
    else if (r->dist.on)
        fprintf(stderr, "lightgcn_train: --mpi: %d ranks, %d thread(s) each; each global batch of "
                        "%d triples is split into %d slices; rank 0 evaluates and writes\n",
                (int)r->dist.size, o->threads, o->batch, (int)r->dist.size);
}

/* One epoch's training steps: each global batch, this rank's slice of it.
 * A failed step with several ranks ends them all (the ranks may be out of
 * step); alone it returns -1. */
static int train_epoch(run *r, int epoch, lt_epoch_sums *es)
{
    const opts *o = &r->o;
    /* sharded, the host is replicated: its gradient is the whole batch's on
     * every rank, and the hook's too, so nothing of the host is reduced */
    const irllrec_collective *layer = r->dist.shard ? NULL : lt_dist_layer(&r->dist);
    if (irllrec_x_sampler_epoch(r->sp, r->users, r->pos, r->neg, r->n_pairs) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(r->ctx));
        lt_dist_abort(&r->dist, 1);
        return -1;
    }
    for (int64_t s = 0; s < r->n_pairs; s += o->batch) {
        int64_t b = r->n_pairs - s < o->batch ? r->n_pairs - s : o->batch, lo, hi;
        lgcn_host_losses il;
        irllrec_status st;
        lt_dist_slice(&r->dist, s, b, &lo, &hi);
        irllrec_ctx_clear_error(r->ctx);
        st = lgcn_host_train_step_coll(r->host, r->irl.x, r->opt, layer, r->users + lo,
                                       r->pos + lo, r->neg + lo, hi - lo, &il);
        if (st != IRLLREC_OK) {
            if (r->dist.on) fprintf(stderr, "lightgcn_train: rank %d of %d:", (int)r->dist.rank,
                                    (int)r->dist.size);
            fprintf(stderr, "%sepoch %d: training step failed (%s): %s\n",
                    r->dist.on ? " " : "lightgcn_train: ", epoch, irllrec_status_str(st),
                    irllrec_ctx_errcode(r->ctx) != IRLLREC_OK ? irllrec_ctx_errmsg(r->ctx)
                                                              : "a non-finite loss");
            lt_dist_abort(&r->dist, 1);
            return -1;
        }
        lt_sums_add(es, &il);
    }
    if (r->dist.on && !r->dist.shard) { /* this rank's host terms: their mean over the ranks */
        double v[3] = {es->bpr, es->reg, es->cl};
        if (lt_dist_sum_f64(&r->dist, v, 3) != 0) return -1;
        es->bpr = v[0] / r->dist.size;
        es->reg = v[1] / r->dist.size;
        es->cl = v[2] / r->dist.size;
    }
    return 0;
}

/* Rank 0 after an epoch: its lines, the validation, early stopping and the
 * checkpoint. @return LT_GO, LT_STOP or LT_FAIL */
static int after_epoch(run *r, int epoch, lt_epoch_sums *es, double secs)
{
    const opts *o = &r->o;
    const int irl = r->irl.x != NULL;
    if (!o->quiet) lt_print_epoch(es, epoch, irl, secs);
    lt_log_train(r->log, epoch, es, irl, secs);
    if (epoch % o->eval_step == 0) {
        lt_metrics v;
        int improved;
        if (lt_evaluate(r->ev, r->m, r->ds, IRLLREC_SPLIT_VAL, &v, r->ctx) != 0) return LT_FAIL;
        r->res.t_eval += v.seconds;
        r->lp.n_evals++;
        improved = v.recall[2] > r->lp.best_recall;
        if (improved) {
            r->lp.best_recall = v.recall[2];
            r->lp.best_epoch = epoch;
            r->lp.since_best = 0;
            memcpy(r->best, lgcn_params(r->m), (size_t)r->nd * sizeof(float));
            if (irl && lgcn_hook_snap_take(&r->best_hook, lgcn_irl_hook(r->irl.x)) != 0)
                return LT_FAIL;
        } else {
            r->lp.since_best++;
        }
        lt_log_val(r->log, epoch, &v, es, irl, secs, improved);
        if (!o->quiet)
            fprintf(stderr,
                    "  val  R@5 %.4f R@10 %.4f R@20 %.4f  N@5 %.4f N@10 %.4f N@20 %.4f  "
                    "(%.2f s)%s\n",
                    v.recall[0], v.recall[1], v.recall[2], v.ndcg[0], v.ndcg[1], v.ndcg[2],
                    v.seconds, improved ? "  *best" : "");
        if (r->lp.since_best >= o->patience) return LT_STOP;
    }
    if (o->save_every > 0 && (epoch + 1) % o->save_every == 0 &&
        lt_save_checkpoint(o, r->ctx, r->m, r->opt, r->sp, &r->irl, r->best, epoch, &r->lp,
                           r->dist.size) != 0)
        return LT_FAIL;
    return LT_GO;
}

/* Rank 0 at the end: TEST at the best validation parameters, and the files. */
static int finish(run *r)
{
    /* Training is over: what only it needs goes before the last evaluations
     * and the files, so their buffers reuse its memory instead of raising
     * the peak (an SGL run on Amazon-book: 102,896 -> 95,260 kB) */
    lgcn_host_free(r->host);
    r->host = NULL;
    lgcn_opt_free(r->opt);
    r->opt = NULL;
    lgcn_views_release(r->m);
    memcpy(lgcn_params(r->m), r->best, (size_t)r->nd * sizeof(float));
    if (lt_evaluate(r->ev, r->m, r->ds, IRLLREC_SPLIT_VAL, &r->res.val, r->ctx) != 0 ||
        lt_evaluate(r->ev, r->m, r->ds, IRLLREC_SPLIT_TEST, &r->res.test, r->ctx) != 0)
        return -1;
    fprintf(r->log, "{\"epoch\": %d, \"split\": \"test\", ", r->lp.best_epoch);
    lt_json_metrics(r->log, &r->res.test);
    fprintf(r->log, "}\n");
    if (lt_write_embeddings(r->ctx, r->o.out, r->m, r->best, &r->train,
                            r->irl.x ? lgcn_irl_hook(r->irl.x) : NULL, r->best_hook) != 0)
        return -1;
    r->res.best_epoch = r->lp.best_epoch;
    r->res.epochs_run = r->epochs_run;
    r->res.n_evals = r->lp.n_evals;
    r->res.ranks = r->dist.on ? (int)r->dist.size : 0;
    r->res.total = lt_now_s() - r->t_start;
    return lt_write_result(&r->o, r->data_dir, &r->irl, &r->res);
}

static void cleanup(run *r, int rc)
{
    char path[4096];
    if (r->log) fclose(r->log);
    free(r->users);
    free(r->pos);
    free(r->neg);
    free(r->best);
    lgcn_hook_snap_free(r->best_hook);
    irllrec_evaluator_free(r->ev);
    irllrec_x_sampler_free(r->sp);
    lt_irl_state_free(&r->irl);
    lgcn_host_free(r->host);
    lgcn_opt_free(r->opt);
    lgcn_free(r->m);
    irllrec_x_dataset_free(r->ds);
    irllrec_ctx_free(r->ctx);
    if (r->scratch[0]) lt_rm_tree(r->scratch);
    if (rc != 0 && !r->started && r->r0) {
        /* A run that failed before training removes what it created (and
         * only that): the folder when it made it, else its log and data. */
        if (r->created_out) {
            lt_rm_tree(r->o.out);
        } else {
            snprintf(path, sizeof path, "%s/log.jsonl", r->o.out);
            if (r->created_log) (void)remove(path);
            if (r->created_synth) lt_rm_tree(r->synth_dir);
        }
    }
}

/* Collective: did any rank fail? (each reported its own failure) */
static int any_failed(const run *r, int failed) { return lt_dist_agree(&r->dist, failed) != 0; }

int main(int argc, char **argv)
{
    static run R;
    run *r = &R;
    int rc = 1, verdict;
    int64_t early = 0;

    r->t_start = lt_now_s();
    r->lp.best_epoch = -1;
    r->lp.best_recall = -1.0;
    {
        /* Every rank parses the same command line; only the launcher's rank 0
         * (or a process started alone) prints what it says. */
        FILE *mute = lt_dist_env_rank() > 0 ? fopen("/dev/null", "w") : NULL;
        int pr = lgcn_train_parse_args(argc, argv, &r->o, mute ? mute : stdout,
                                       mute ? mute : stderr);
        if (mute != NULL) fclose(mute);
        if (pr != 0) return pr == 1 ? 0 : 2;
    }
    if (!r->o.mpi && lt_dist_env_rank() >= 0)
        fprintf(stderr, "lightgcn_train: note: started by mpirun / mpiexec without --mpi: this "
                        "process trains alone, as if started by hand (lightgcn_train_mpi --mpi "
                        "trains one model over the ranks)\n");
    rc = lt_dist_start(&r->dist, &r->o, &argc, &argv);
    if (rc != 0) {
        lt_dist_finish(&r->dist);
        return rc;
    }
    rc = 1;
    r->r0 = r->dist.rank == 0;
    r->note = r->r0 ? stderr : NULL;
    if (!r->r0) r->o.quiet = 1;
    if (r->r0) early = lt_open_out(&r->o, &r->created_out, &r->created_log);
    if (lt_dist_bcast_i64(&r->dist, &early, 1) != 0) goto done;
    if (early != 0) {
        rc = (int)early;
        goto done;
    }
    if (any_failed(r, load(r) != 0)) goto done;
    if (r->scratch[0]) { /* everything is in memory now */
        lt_rm_tree(r->scratch);
        r->scratch[0] = '\0';
    }
    /* Every rank must train on the same data and text. */
    if (lt_dist_same(&r->dist, r->irl.data_fp, "TRAIN data (its fingerprint)") != 0 ||
        lt_dist_same(&r->dist, r->irl.text_fp, "text embeddings (their fingerprint)") != 0)
        goto done;
    if (r->o.irllrec && any_failed(r, lt_make_hook(r->ctx, r->m, &r->o, &r->irl,
                                                   lt_dist_layer(&r->dist), r->note) != 0))
        goto done;
    if (any_failed(r, prepare(r) != 0)) goto done;
    if (lt_dist_check_batches(&r->dist, r->n_pairs, r->o.batch) != 0) {
        rc = 2;
        goto done;
    }
    if (lt_dist_check_state(&r->dist, r->ctx, r->m, r->opt, &r->irl, "at the start") != 0)
        goto done;
    if (r->r0) print_setup(r);

    r->started = 1; /* from here on a failure keeps what the run wrote */
    for (int epoch = r->first_epoch; epoch < r->o.epochs; epoch++) {
        double t0 = lt_now_s(), secs;
        lt_epoch_sums es;
        memset(&es, 0, sizeof es);
        if (train_epoch(r, epoch, &es) != 0) goto done;
        secs = lt_now_s() - t0;
        r->res.t_train += secs;
        r->epochs_run = epoch + 1;
        lt_sums_mean(&es, r->o.model);
        verdict = r->r0 ? after_epoch(r, epoch, &es, secs) : LT_GO;
        if (lt_dist_verdict(&r->dist, &verdict) != 0 || verdict == LT_FAIL) goto done;
        if (lt_dist_check_state(&r->dist, r->ctx, r->m, NULL, &r->irl, "after an epoch") != 0)
            goto done;
        if (verdict == LT_STOP) break;
    }
    if (lt_dist_check_state(&r->dist, r->ctx, r->m, r->opt, &r->irl, "at the end") != 0)
        goto done;
    verdict = r->r0 && finish(r) != 0 ? LT_FAIL : LT_GO;
    if (lt_dist_verdict(&r->dist, &verdict) != 0 || verdict == LT_FAIL) goto done;
    rc = 0;
done:
    cleanup(r, rc);
    lt_dist_finish(&r->dist);
    return rc;
}
