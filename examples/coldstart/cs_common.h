/* Shared parts of the cold-start and explanation evaluations (issue 13):
 * rebuild a serving recommender (irllrec_rec) from what lightgcn_train wrote
 * in OUT/ (user_emb.npy, item_emb.npy, checkpoint.irlm) and the dataset folder
 * it trained on (split + the four text .npy files), ranked-list metrics as in
 * docs/evaluation.md, and a small seeded generator. Host code: malloc, the
 * library's public API and the LightGCN example model. */
#ifndef CS_COMMON_H
#define CS_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include "lightgcn.h"
#include "irllrec/serve.h"

#define CS_KS 3
extern const int32_t CS_K[CS_KS]; /* 5, 10, 20 */

/** One trained LightGCN + IRLLRec model, rebuilt. */
typedef struct cs_model {
    irllrec_ctx *ctx;
    irllrec_x_dataset *ds;
    irllrec_csr train;       /* borrowed from ds */
    int64_t U, I;
    int32_t d, L, K;
    float *uemb, *iemb;      /* E_final at the best validation (the run's user_emb.npy ...) */
    float *text[4];          /* usr_prf, itm_prf, usr_int, itm_int (dataset folder) */
    int64_t text_dim[4];
    lgcn *m;                 /* E(0) = the checkpoint's best E(0), forwarded once */
    irllrec_hook *h;         /* hook state from the checkpoint */
    irllrec_rec *rec;
    int64_t ck_epoch, ck_best_epoch, hook_steps;
    double max_final_diff;   /* max |forward(best E(0)) - the run's E_final .npy files| */
} cs_model;

/** Load everything and build the recommender. @return 0 or -1 (message on stderr) */
int cs_open(cs_model *cm, const char *data_dir, const char *run_dir, const char *ckpt);
void cs_close(cs_model *cm);

/** User -> items rows read from a "user item item ..." file, U rows (CSR, sorted). */
typedef struct cs_rows {
    int64_t n_rows;
    int64_t *indptr;
    int32_t *indices;
} cs_rows;
int cs_rows_read(const char *path, int64_t n_rows, int64_t n_cols, cs_rows *out);
void cs_rows_free(cs_rows *r);
/** Ints, one per line (or whitespace separated). @return count, or -1 */
int64_t cs_read_ints(const char *path, int32_t **out);
/** A float per line. @return count, or -1 */
int64_t cs_read_floats(const char *path, float **out);

/** Mean Recall@K / NDCG@K (K = 5, 10, 20) over the users with a truth row. */
typedef struct cs_metrics {
    double recall[CS_KS], ndcg[CS_KS];
    int64_t n_users;
} cs_metrics;

/** Score ranked lists: row u of @p ids (U x k, best first, -1 padded) against
 *  truth row u, per docs/evaluation.md (Recall = hits / |T_u|; NDCG with the
 *  ideal over min(K, |T_u|)); users without truth are skipped.
 *  @p per_user (U x CS_KS recall values, or NULL) receives each user's R@K. */
void cs_score(const int32_t *ids, int32_t k, const cs_rows *truth, cs_metrics *out,
              double *per_user);
/** Expected metrics of a uniformly random order of @p n_cand candidates. */
void cs_score_random_expectation(int64_t n_cand, const cs_rows *truth, cs_metrics *out);

/** splitmix64: a tiny seeded generator for the random baselines. */
uint64_t cs_rand(uint64_t *state);
/** Uniform in [0, n). */
int64_t cs_rand_below(uint64_t *state, int64_t n);

/** JSON helpers: "name": {"recall@5": .., ..., "n_users": ..} */
void cs_json_metrics(FILE *f, const char *name, const cs_metrics *m);
/** Fail with the library's message. @return -1 */
int cs_fail(const cs_model *cm, const char *what, irllrec_status st);

#endif /* CS_COMMON_H */
