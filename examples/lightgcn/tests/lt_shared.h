/* Helpers shared by the LightGCN example's test files. */
#ifndef LT_SHARED_H
#define LT_SHARED_H
#include "lightgcn.h"
#include "irllrec/irllrec.h"

/* Evaluate m (d = 32, no dropout) on the held-out split and return its
 * Recall@20 with the expected Recall@20 of a random ranking of each user's
 * unmasked items (a held-out item is in the top 20 with probability
 * 20 / (I - |train_u|)). Fails the test on an evaluator error. */
void lt_recall20_vs_random(lgcn *m, irllrec_evaluator *ev, const irllrec_csr *train,
                           const irllrec_csr *heldout, double *rec, double *random_rec);
#endif
