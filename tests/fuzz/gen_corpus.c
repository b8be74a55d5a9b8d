/* Writes the seed models of tests/fuzz/corpus (run once; the outputs are
 * committed). Usage: gen_corpus DIR */
#include <stdio.h>
#include "irllrec/irllrec.h"

static int save(irllrec_model *m, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return irllrec_model_save(m, path) != IRLLREC_OK;
}

int main(int argc, char **argv)
{
    irllrec_ctx *ctx = NULL;
    irllrec_model *m = NULL;
    const float w[6] = {1.0f, -2.0f, 0.5f, 3.25f, -0.0f, 1e-3f};
    const uint64_t rng[4] = {1, 2, 0xFFFFFFFFFFFFFFFFull, 42};
    const int64_t d2[2] = {2, 3}, d1[1] = {6}, d4[4] = {1, 2, 1, 3};
    int fail = 0;
    if (argc != 2 || irllrec_ctx_create(NULL, &ctx) != IRLLREC_OK) return 2;
    fail |= irllrec_model_create(ctx, &m) != IRLLREC_OK;
    fail |= save(m, argv[1], "empty.irlm");
    fail |= irllrec_model_add_tensor(m, IRLLREC_MODEL_TENSOR, "w", w, 2, d2, IRLLREC_MODEL_REQUIRED);
    fail |= save(m, argv[1], "one_tensor.irlm");
    fail |= irllrec_model_add_meta_i64(m, "dim", 3);
    fail |= irllrec_model_add_meta_f64(m, "tau", 0.2);
    fail |= irllrec_model_add_meta_str(m, "arch", "mlp");
    fail |= irllrec_model_add_u64s(m, IRLLREC_MODEL_RNG, "rng", rng, 4, 0);
    fail |= irllrec_model_add_tensor(m, IRLLREC_MODEL_OPTIM, "adam.m", w, 1, d1, 0);
    fail |= irllrec_model_add_tensor(m, IRLLREC_MODEL_TEACHER, "t.w", w, 4, d4, 0);
    fail |= save(m, argv[1], "all_kinds.irlm");
    irllrec_model_free(m);
    m = NULL;
    fail |= irllrec_model_create(ctx, &m) != IRLLREC_OK;
    fail |= irllrec_model_add_meta_str(m, "empty", "");
    fail |= save(m, argv[1], "meta_only.irlm");
    irllrec_model_free(m);
    irllrec_ctx_free(ctx);
    return fail != 0;
}
