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
 * This file is the setup and the epoch loop; the rest is in train_out.c,
 * train_text.c and train_ckpt.c (train_impl.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "train_impl.h"

int main(int argc, char **argv)
{
    opts o;
    irllrec_ctx_spec cs;
    irllrec_ctx *ctx = NULL;
    irllrec_x_dataset *ds = NULL;
    irllrec_x_sampler *sp = NULL;
    irllrec_evaluator *ev = NULL;
    lgcn *m = NULL;
    lgcn_opt *opt = NULL;
    lgcn_host *host = NULL;
    lgcn_host_cfg hcfg;
    lgcn_spec ls;
    irllrec_csr train;
    int32_t *users = NULL, *pos = NULL, *neg = NULL;
    float *best = NULL;
    lgcn_hook_snap *best_hook = NULL; /* the hook's trainable blocks at the best epoch */
    int64_t n_pairs, nd;
    char err[512] = "", path[4096], synth_dir[4096];
    const char *data_dir;
    FILE *log = NULL;
    int created_out = 0, created_log = 0, created_synth = 0, started = 0;
    int rc = 1, epochs_run = 0, first_epoch = 0;
    lt_loop lp = {-1, 0, 0, -1.0};
    double t_start = lt_now_s();
    lt_result res;
    lt_irl_state irl;

    memset(&irl, 0, sizeof irl);
    memset(&res, 0, sizeof res);

    {
        int pr = lgcn_train_parse_args(argc, argv, &o, stdout, stderr);
        if (pr != 0) return pr == 1 ? 0 : 2;
    }
    snprintf(path, sizeof path, "%s/checkpoint.irlm", o.out);
    if (o.resume == NULL && !o.overwrite && access(path, F_OK) == 0) {
        fprintf(stderr,
                "lightgcn_train: %s holds a checkpoint of an earlier run (%s); refusing to "
                "replace it and its log.jsonl: continue it with --resume %s, choose another "
                "--out, or pass --overwrite\n", o.out, path, path);
        return 2;
    }
    created_out = access(o.out, F_OK) != 0;
    snprintf(path, sizeof path, "%s/log.jsonl", o.out);
    created_log = access(path, F_OK) != 0;
    if (lt_mkdir_p(o.out) != 0) {
        fprintf(stderr, "lightgcn_train: cannot create %s: %s\n", o.out, strerror(errno));
        return 1;
    }
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = o.threads;
    cs.log = o.lib_log > 0 ? lt_lib_log : NULL;
    cs.log_level = o.lib_log;
    if (irllrec_ctx_create(&cs, &ctx) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: cannot create a context with %d threads\n", o.threads);
        goto done;
    }
    data_dir = o.data;
    if (data_dir == NULL) {
        irllrec_x_synth_spec ss;
        irllrec_x_synth_spec_init(&ss, sizeof ss);
        snprintf(synth_dir, sizeof synth_dir, "%s/synthetic-data", o.out);
        created_synth = access(synth_dir, F_OK) != 0;
        if (lt_mkdir_p(synth_dir) != 0 || irllrec_x_synth_write(ctx, &ss, synth_dir) != IRLLREC_OK) {
            fprintf(stderr, "lightgcn_train: cannot write synthetic data: %s\n",
                    irllrec_ctx_errmsg(ctx));
            goto done;
        }
        fprintf(stderr, "lightgcn_train: no --data: training on SYNTHETIC data written to %s\n",
                synth_dir);
        data_dir = synth_dir;
    }
    if (irllrec_x_dataset_load(ctx, data_dir, &ds) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(ctx));
        goto done;
    }
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &train);
    irl.data_fp = lt_train_fingerprint(ds);
    lgcn_spec_init(&ls);
    ls.n_users = irllrec_x_dataset_n_users(ds);
    ls.n_items = irllrec_x_dataset_n_items(ds);
    ls.dim = o.dim;
    ls.n_layers = o.layers;
    ls.keep_rate = o.keep;
    ls.reg = o.reg;
    ls.seed = o.seed;
    ls.n_threads = o.threads;
    if (lgcn_create(&ls, &train, &m, err, sizeof err) != IRLLREC_OK ||
        lgcn_opt_create(m, o.lr, &opt, err, sizeof err) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: %s\n", err);
        goto done;
    }
    hcfg.model = o.model;
    hcfg.cl_weight = o.cl_weight;
    hcfg.cl_tau = o.cl_tau;
    hcfg.eps = o.eps;
    hcfg.max_batch = o.batch;
    hcfg.seed = o.seed;
    if (lgcn_host_create(ctx, m, &hcfg, &host, err, sizeof err) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: --model %s: %s\n", lgcn_model_name(o.model), err);
        goto done;
    }
    if (o.irllrec) {
        if (lt_resolve_text(&o, data_dir, &irl) != 0 ||
            lt_load_text(ctx, &irl, ls.n_users, ls.n_items) != 0)
            goto done;
        lt_warn_text(&irl);
        irl.text_fp = lt_text_fingerprint(&irl);
        if (lt_make_hook(ctx, m, &o, &irl) != 0) goto done;
    }
    if (irllrec_x_sampler_create(ctx, ds, o.seed, &sp) != IRLLREC_OK ||
        irllrec_evaluator_create(ctx, ls.n_items, LT_KS, 3, &ev) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(ctx));
        goto done;
    }
    n_pairs = irllrec_x_sampler_epoch_size(sp);
    nd = lgcn_n_nodes(m) * lgcn_dim(m);
    users = (int32_t *)malloc((size_t)n_pairs * sizeof(int32_t));
    pos = (int32_t *)malloc((size_t)n_pairs * sizeof(int32_t));
    neg = (int32_t *)malloc((size_t)n_pairs * sizeof(int32_t));
    best = (float *)malloc((size_t)nd * sizeof(float));
    if (!users || !pos || !neg || !best) {
        fprintf(stderr, "lightgcn_train: out of memory\n");
        goto done;
    }
    snprintf(path, sizeof path, "%s/log.jsonl", o.out);
    if (o.resume != NULL &&
        lt_resume_from(&o, ctx, m, opt, sp, &irl, best, &first_epoch, &lp) != 0)
        goto done;
    epochs_run = first_epoch;
    log = fopen(path, o.resume != NULL ? "a" : "w");
    if (log == NULL) {
        fprintf(stderr, "lightgcn_train: cannot open %s: %s\n", path, strerror(errno));
        goto done;
    }
    fprintf(stderr,
            "lightgcn_train: %lld users, %lld items, %lld train pairs; d %d, L %d, lr %g, batch %d, "
            "reg %g, keep %g, seed %llu, threads %d; gemm %s, OPENBLAS_NUM_THREADS=%s\n",
            (long long)ls.n_users, (long long)ls.n_items, (long long)n_pairs, o.dim, o.layers, o.lr,
            o.batch, o.reg, o.keep, (unsigned long long)o.seed, o.threads, irllrec_gemm_backend(),
            getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)");
    fprintf(stderr, "lightgcn_train: model %s", lgcn_model_name(o.model));
    if (o.model == LGCN_MODEL_SGL || o.model == LGCN_MODEL_SIMGCL)
        fprintf(stderr, " (dataset config %s: cl_weight %g, cl_tau %g%s%g)",
                LGCN_DATASET_CFG_NAME[o.dataset_cfg], o.cl_weight, o.cl_tau,
                o.model == LGCN_MODEL_SGL ? ", view keep " : ", eps ",
                o.model == LGCN_MODEL_SGL ? o.view_keep : o.eps);
    fprintf(stderr, "\n");
    if (irl.x != NULL) {
        fprintf(stderr, "lightgcn_train: IRLLRec on: {");
        lt_json_hook_config(stderr, &o, &irl);
        fprintf(stderr, "}\n");
    } else {
        fprintf(stderr, "lightgcn_train: IRLLRec off (plain %s)\n", lgcn_model_name(o.model));
    }

    started = 1; /* from here on a failure keeps what the run wrote */
    for (int epoch = first_epoch; epoch < o.epochs; epoch++) {
        double t0 = lt_now_s(), secs;
        lt_epoch_sums es;
        memset(&es, 0, sizeof es);
        if (irllrec_x_sampler_epoch(sp, users, pos, neg, n_pairs) != IRLLREC_OK) {
            fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(ctx));
            goto done;
        }
        for (int64_t s = 0; s < n_pairs; s += o.batch) {
            int64_t b = n_pairs - s < o.batch ? n_pairs - s : o.batch;
            lgcn_host_losses il;
            irllrec_status st;
            irllrec_ctx_clear_error(ctx);
            st = lgcn_host_train_step(host, irl.x, opt, users + s, pos + s, neg + s, b, &il);
            if (st != IRLLREC_OK) {
                fprintf(stderr, "lightgcn_train: epoch %d: training step failed (%s): %s\n",
                        epoch, irllrec_status_str(st),
                        irllrec_ctx_errcode(ctx) != IRLLREC_OK ? irllrec_ctx_errmsg(ctx)
                                                               : "a non-finite loss");
                goto done;
            }
            lt_sums_add(&es, &il);
        }
        secs = lt_now_s() - t0;
        res.t_train += secs;
        epochs_run = epoch + 1;
        lt_sums_mean(&es, o.model);
        if (!o.quiet) lt_print_epoch(&es, epoch, irl.x != NULL, secs);
        lt_log_train(log, epoch, &es, irl.x != NULL, secs);
        if (epoch % o.eval_step == 0) {
            lt_metrics r;
            int improved;
            if (lt_evaluate(ev, m, ds, IRLLREC_SPLIT_VAL, &r, ctx) != 0) goto done;
            res.t_eval += r.seconds;
            lp.n_evals++;
            improved = r.recall[2] > lp.best_recall;
            if (improved) {
                lp.best_recall = r.recall[2];
                lp.best_epoch = epoch;
                lp.since_best = 0;
                memcpy(best, lgcn_params(m), (size_t)nd * sizeof(float));
                if (irl.x != NULL && lgcn_hook_snap_take(&best_hook, lgcn_irl_hook(irl.x)) != 0)
                    goto done;
            } else {
                lp.since_best++;
            }
            lt_log_val(log, epoch, &r, &es, irl.x != NULL, secs, improved);
            if (!o.quiet)
                fprintf(stderr,
                        "  val  R@5 %.4f R@10 %.4f R@20 %.4f  N@5 %.4f N@10 %.4f N@20 %.4f  "
                        "(%.2f s)%s\n",
                        r.recall[0], r.recall[1], r.recall[2], r.ndcg[0], r.ndcg[1], r.ndcg[2],
                        r.seconds, improved ? "  *best" : "");
            if (lp.since_best >= o.patience) break;
        }
        if (o.save_every > 0 && (epoch + 1) % o.save_every == 0 &&
            lt_save_checkpoint(&o, ctx, m, opt, sp, &irl, best, epoch, &lp) != 0)
            goto done;
    }

    /* TEST at the best validation parameters. */
    memcpy(lgcn_params(m), best, (size_t)nd * sizeof(float));
    if (lt_evaluate(ev, m, ds, IRLLREC_SPLIT_VAL, &res.val, ctx) != 0 ||
        lt_evaluate(ev, m, ds, IRLLREC_SPLIT_TEST, &res.test, ctx) != 0)
        goto done;
    fprintf(log, "{\"epoch\": %d, \"split\": \"test\", ", lp.best_epoch);
    lt_json_metrics(log, &res.test);
    fprintf(log, "}\n");
    if (lt_write_embeddings(ctx, o.out, m, best, &train, irl.x ? lgcn_irl_hook(irl.x) : NULL,
                            best_hook) != 0)
        goto done;
    res.best_epoch = lp.best_epoch;
    res.epochs_run = epochs_run;
    res.n_evals = lp.n_evals;
    res.total = lt_now_s() - t_start;
    if (lt_write_result(&o, data_dir, &irl, &res) != 0) goto done;
    rc = 0;
done:
    if (log) fclose(log);
    free(users);
    free(pos);
    free(neg);
    free(best);
    lgcn_hook_snap_free(best_hook);
    irllrec_evaluator_free(ev);
    irllrec_x_sampler_free(sp);
    lt_irl_state_free(&irl);
    lgcn_host_free(host);
    lgcn_opt_free(opt);
    lgcn_free(m);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
    if (rc != 0 && !started) {
        /* A run that failed before training removes what it created (and
         * only that): the folder when it made it, else its log and data. */
        if (created_out) {
            lt_rm_tree(o.out);
        } else {
            snprintf(path, sizeof path, "%s/log.jsonl", o.out);
            if (created_log) (void)remove(path);
            if (created_synth) lt_rm_tree(synth_dir);
        }
    }
    return rc;
}
