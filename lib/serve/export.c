/* Embedding export for approximate-nearest-neighbour indexes (rank.h):
 * DIR/NAME.npy (float32, C order, what faiss, hnswlib and annoy load with
 * numpy.load) and DIR/NAME.ids.tsv, the row -> external id map. Both are
 * written to temporary files first and renamed only once both are complete
 * on disk, so a failure never leaves a new .npy beside an old id map. */
#include <stdio.h>
#include <string.h>
#include "../internal.h"
#include "../io/atomic.h"
#include "../io/npy_internal.h"

#define NAME_MAX_LEN 64

/* The stem becomes a file name inside dir, so it may not climb out of it
 * ("../x", "a/b"), hide (".x") or carry characters a shell or an index
 * tool would treat specially. */
static irllrec_status check_name(irllrec_ctx *ctx, const char *f, const char *name)
{
    size_t n = 0;
    IRL_CHECK_FN(ctx, f, name != NULL, IRLLREC_E_INVALID_ARG, "name is NULL");
    while (n <= NAME_MAX_LEN && name[n] != '\0') n++; /* bounded: name may be unterminated junk */
    IRL_CHECK_FN(ctx, f, n >= 1 && n <= NAME_MAX_LEN, IRLLREC_E_INVALID_ARG,
                 "name \"%.*s%s\" is %s: 1..%d characters", NAME_MAX_LEN, name,
                 n > NAME_MAX_LEN ? "..." : "", n == 0 ? "empty" : "too long", NAME_MAX_LEN);
    IRL_CHECK_FN(ctx, f, name[0] != '.', IRLLREC_E_INVALID_ARG,
                 "name \"%s\" starts with '.'", name);
    for (size_t i = 0; i < n; i++) {
        const char c = name[i];
        const int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '.' || c == '-';
        IRL_CHECK_FN(ctx, f, ok, IRLLREC_E_INVALID_ARG,
                     "name \"%s\": character %zu (0x%02x) is not in [A-Za-z0-9_.-]", name, i,
                     (unsigned)(unsigned char)c);
    }
    return IRLLREC_OK;
}

/* "dir/name<suffix>" in a ctx allocation of *cap bytes. */
static char *join(irllrec_ctx *ctx, const char *f, const char *dir, const char *name,
                  const char *suffix, size_t *cap)
{
    char *p;
    *cap = strlen(dir) + 1 + strlen(name) + strlen(suffix) + 1;
    p = (char *)irllrec__alloc_fn(ctx, f, *cap);
    if (p != NULL) snprintf(p, *cap, "%s/%s%s", dir, name, suffix);
    return p;
}

/* The id map: a header line, then "row\tid" per row, in buffered writes. */
static irllrec_status write_ids(irllrec__atomic *w, int64_t rows, const int64_t *ids)
{
    char buf[4096];
    size_t used = 0;
    static const char head[] = "row\tid\n";
    memcpy(buf, head, sizeof head - 1);
    used = sizeof head - 1;
    for (int64_t r = 0; r < rows; r++) {
        if (sizeof buf - used < 48) {
            IRL_TRY(irllrec__atomic_write(w, buf, used));
            used = 0;
        }
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%lld\t%lld\n", (long long)r,
                                 (long long)(ids != NULL ? ids[r] : r));
    }
    return irllrec__atomic_write(w, buf, used);
}

static irllrec_status write_both(irllrec_ctx *ctx, const char *f, const char *npy_path,
                                 const char *tsv_path, irllrec_mat m, const int64_t *ids)
{
    irllrec__atomic wn, wt;
    irllrec_status st;
    memset(&wt, 0, sizeof wt);
    IRL_TRY(irllrec__atomic_open(ctx, f, npy_path, &wn));
    st = irllrec__npy_write_to(&wn, m);
    if (st == IRLLREC_OK) st = irllrec__atomic_finish(&wn);
    if (st == IRLLREC_OK) st = irllrec__atomic_open(ctx, f, tsv_path, &wt);
    if (st == IRLLREC_OK) st = write_ids(&wt, m.rows, ids);
    if (st == IRLLREC_OK) st = irllrec__atomic_finish(&wt);
    if (st == IRLLREC_OK) st = irllrec__atomic_commit(&wn);
    if (st == IRLLREC_OK) st = irllrec__atomic_commit(&wt);
    irllrec__atomic_abort(&wn);
    irllrec__atomic_abort(&wt);
    return st;
}

irllrec_status irllrec_export_embeddings(irllrec_ctx *ctx, const char *dir, const char *name,
                                         irllrec_cmat emb, const int64_t *ids)
{
    const irllrec_mat m = irllrec__mat_of(emb);
    char *npy_path, *tsv_path;
    size_t npy_cap = 0, tsv_cap = 0;
    irllrec_status st = IRLLREC_E_NOMEM;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, dir != NULL && dir[0] != '\0', IRLLREC_E_INVALID_ARG, "dir is NULL or empty");
    IRL_TRY(check_name(ctx, __func__, name));
    IRL_TRY(irllrec__check_mat(ctx, __func__, "emb", m));
    IRL_TRY(irllrec__check_finite_mat(ctx, __func__, "emb", m));
    npy_path = join(ctx, __func__, dir, name, ".npy", &npy_cap);
    tsv_path = join(ctx, __func__, dir, name, ".ids.tsv", &tsv_cap);
    if (npy_path != NULL && tsv_path != NULL)
        st = write_both(ctx, __func__, npy_path, tsv_path, m, ids);
    irllrec__free(ctx, npy_path, npy_cap);
    irllrec__free(ctx, tsv_path, tsv_cap);
    return st;
}
