/* Unit tests of the textembed pieces and one end-to-end run of the tool. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "textembed.h"

/* ---- helpers --------------------------------------------------------- */

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/te-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *tpath(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_bytes(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

typedef struct joined {
    char s[1024];
    int n;
} joined;

static int join_tok(void *ud, const char *t, size_t n)
{
    joined *j = ud;
    size_t len = strlen(j->s);
    ck_assert_uint_lt(len + n + 2, sizeof j->s);
    if (j->n++ > 0) j->s[len++] = '|';
    memcpy(j->s + len, t, n);
    j->s[len + n] = '\0';
    return 0;
}

static const char *toks(const char *text, size_t len)
{
    static joined j;
    memset(&j, 0, sizeof j);
    ck_assert_int_eq(te_tokenize(text, len, join_tok, &j), 0);
    return j.s;
}
#define TOKS(s) toks((s), strlen(s))

/* A 3-word 2-d vocabulary: cat (1,0), dog (0,1), sat (1,1). */
static const char *vocab3 = "cat 1 0\ndog 0 1\nsat 1 1\n";

static te_vectors load_vocab3(void)
{
    te_vectors v;
    te_err e;
    write_text(tpath("v3.txt"), vocab3);
    ck_assert_int_eq(te_vectors_load(tpath("v3.txt"), &v, &e), IRLLREC_OK);
    ck_assert_int_eq(v.n, 3);
    ck_assert_int_eq(v.dim, 2);
    return v;
}

/* Load vectors from text and expect failure with st and a message holding needle. */
static void expect_vec_error(const char *text, size_t len, irllrec_status st, const char *needle)
{
    te_vectors v;
    te_err e;
    memset(&e, 0, sizeof e);
    write_bytes(tpath("bad.txt"), text, len);
    ck_assert_int_eq(te_vectors_load(tpath("bad.txt"), &v, &e), st);
    ck_assert_msg(strstr(e.msg, needle) != NULL, "message '%s' lacks '%s'", e.msg, needle);
    ck_assert_ptr_null(v.vec);
    ck_assert_ptr_null(v.words);
}

static void expect_tsv_error(const char *text, int64_t rows, irllrec_status st, const char *needle)
{
    te_vectors v = load_vocab3();
    te_corpus c;
    te_err e;
    memset(&e, 0, sizeof e);
    write_text(tpath("bad.tsv"), text);
    ck_assert_int_eq(te_corpus_load_tsv(tpath("bad.tsv"), &v, rows, &c, &e), st);
    ck_assert_msg(strstr(e.msg, needle) != NULL, "message '%s' lacks '%s'", e.msg, needle);
    te_vectors_free(&v);
}

/* ---- tokeniser ------------------------------------------------------- */

START_TEST(tokenizer_cases)
{
    ck_assert_str_eq(TOKS("Hello, World!"), "hello|world");
    ck_assert_str_eq(TOKS("Don't STOP"), "do|n't|stop");
    ck_assert_str_eq(TOKS("can't"), "ca|n't");
    ck_assert_str_eq(TOKS("'Til There Was You (1997)"), "til|there|was|you|1997");
    ck_assert_str_eq(TOKS("Shakespeare's O'Brien"), "shakespeare|'s|o|'brien");
    ck_assert_str_eq(TOKS("rock'n'roll"), "rock'n|'roll");
    ck_assert_str_eq(TOKS("a--b\t c\r\n\nd;e/f"), "a|b|c|d|e|f");
    ck_assert_str_eq(TOKS("x1 2y R2-D2"), "x1|2y|r2|d2");
    ck_assert_str_eq(TOKS("''' ' \"quoted\""), "quoted");
    ck_assert_str_eq(TOKS(""), "");
    ck_assert_str_eq(TOKS("  ...  "), "");
    /* UTF-8 stays whole and is not case-folded; only ASCII is lowercased. */
    ck_assert_str_eq(TOKS("Caf\xc3\xa9 CAF\xc3\x89"), "caf\xc3\xa9|caf\xc3\x89");
    /* A latin-1 byte is a token byte too: no "mis" + "rables" fragments. */
    ck_assert_str_eq(TOKS("Mis\xe9rables, Les"), "mis\xe9rables|les");
    /* NUL separates (length-delimited input). */
    ck_assert_str_eq(toks("ab\0cd", 5), "ab|cd");
}
END_TEST

static int stop_at_second(void *ud, const char *t, size_t n)
{
    int *count = ud;
    (void)t;
    (void)n;
    return ++*count == 2 ? 7 : 0;
}

START_TEST(tokenizer_stops_on_callback_value)
{
    int count = 0;
    ck_assert_int_eq(te_tokenize("one two three", 13, stop_at_second, &count), 7);
    ck_assert_int_eq(count, 2);
}
END_TEST

/* ---- hash table ------------------------------------------------------ */

START_TEST(strmap_insert_find)
{
    te_strmap *m = te_strmap_create();
    char key[32];
    int ins;
    ck_assert_ptr_nonnull(m);
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(key, sizeof key, "w%d", i * 7919);
        ck_assert_int_eq(te_strmap_intern(m, key, (size_t)n, &ins), i);
        ck_assert_int_eq(ins, 1);
    }
    ck_assert_int_eq(te_strmap_size(m), 20000);
    for (int i = 0; i < 20000; i++) {
        size_t len;
        int n = snprintf(key, sizeof key, "w%d", i * 7919);
        ck_assert_int_eq(te_strmap_find(m, key, (size_t)n), i);
        ck_assert_int_eq(te_strmap_intern(m, key, (size_t)n, &ins), i);
        ck_assert_int_eq(ins, 0);
        ck_assert_str_eq(te_strmap_key(m, i, &len), key);
        ck_assert_uint_eq(len, (size_t)n);
    }
    ck_assert_int_eq(te_strmap_find(m, "w1", 2), -1);
    ck_assert_int_eq(te_strmap_find(m, "w0x", 2), 0); /* length-delimited */
    ck_assert_int_eq(te_strmap_intern(m, "", 0, &ins), 20000);
    ck_assert_int_eq(te_strmap_find(m, "", 0), 20000);
    te_strmap_free(m);
    te_strmap_free(NULL);
}
END_TEST

/* ---- vector files ---------------------------------------------------- */

START_TEST(vectors_parse_ok)
{
    te_vectors v;
    te_err e;
    write_text(tpath("v.txt"), "\nCat 1 -2.5e-1\r\n\n  dog\t0.5   3\ncat 9 9\n");
    ck_assert_int_eq(te_vectors_load(tpath("v.txt"), &v, &e), IRLLREC_OK);
    ck_assert_int_eq(v.n, 2);
    ck_assert_int_eq(v.dim, 2);
    ck_assert_int_eq(v.duplicates, 1);
    ck_assert_int_eq(te_strmap_find(v.words, "cat", 3), 0);
    ck_assert_int_eq(te_strmap_find(v.words, "dog", 3), 1);
    ck_assert_float_eq(v.vec[0], 1.0f);
    ck_assert_float_eq(v.vec[1], -0.25f); /* first vector of "cat" wins */
    ck_assert_float_eq(v.vec[2], 0.5f);
    ck_assert_float_eq(v.vec[3], 3.0f);
    te_vectors_free(&v);

    write_text(tpath("w2v.txt"), "2 3\na 1 2 3\nb 4 5 6\n");
    ck_assert_int_eq(te_vectors_load(tpath("w2v.txt"), &v, &e), IRLLREC_OK);
    ck_assert_int_eq(v.n, 2);
    ck_assert_int_eq(v.dim, 3);
    ck_assert_float_eq(v.vec[5], 6.0f);
    te_vectors_free(&v);
}
END_TEST

START_TEST(vectors_corrupt_files)
{
    te_vectors v;
    te_err e;
    expect_vec_error("a 1 2\nb 3 4\nc 5\n", 16, IRLLREC_E_FORMAT, "bad.txt:3: expected 2 values");
    expect_vec_error("a 1 2\nb 3 4 5\n", 14, IRLLREC_E_FORMAT, "bad.txt:2: expected 2 values");
    expect_vec_error("a 1 2\nb 3 abc\n", 14, IRLLREC_E_FORMAT, "bad.txt:2: value 2 is not a number ('abc')");
    expect_vec_error("a 1 2\nb 3 4x\n", 13, IRLLREC_E_FORMAT, "bad.txt:2: value 2 is not a number");
    expect_vec_error("a 1 nan\n", 8, IRLLREC_E_FORMAT, "bad.txt:1: value 2 is not finite");
    expect_vec_error("a 1 2\nb 1e999 2\n", 16, IRLLREC_E_FORMAT, "bad.txt:2: value 1 is not finite");
    expect_vec_error("a 1 2\nlonely\n", 13, IRLLREC_E_FORMAT, "bad.txt:2: word 'lonely' has no values");
    expect_vec_error("a 1 2\nb 3\0 4\n", 13, IRLLREC_E_FORMAT, "bad.txt:2: NUL byte");
    expect_vec_error("", 0, IRLLREC_E_FORMAT, "no word vectors");
    expect_vec_error("\n\n  \n", 5, IRLLREC_E_FORMAT, "no word vectors");
    ck_assert_int_eq(te_vectors_load(tpath("missing.txt"), &v, &e), IRLLREC_E_IO);
    ck_assert_ptr_nonnull(strstr(e.msg, "missing.txt: cannot open"));
}
END_TEST

START_TEST(vectors_huge_lines)
{
    /* Two 20000-d vectors (~40 KB per line) and a 0.6 MB text line. */
    const int dim = 20000;
    size_t cap = (size_t)dim * 8 + 64, n = 0;
    char *buf = malloc(2 * cap + 2 * 1000000);
    te_vectors v;
    te_corpus c;
    te_err e;
    float *x;
    ck_assert_ptr_nonnull(buf);
    for (int w = 0; w < 2; w++) {
        n += (size_t)sprintf(buf + n, "%s", w == 0 ? "alpha" : "beta");
        for (int j = 0; j < dim; j++) n += (size_t)sprintf(buf + n, " %d", (j + w) % 3);
        buf[n++] = '\n';
    }
    write_bytes(tpath("big.txt"), buf, n);
    ck_assert_int_eq(te_vectors_load(tpath("big.txt"), &v, &e), IRLLREC_OK);
    ck_assert_int_eq(v.dim, dim);
    ck_assert_int_eq(v.n, 2);
    ck_assert_float_eq(v.vec[(size_t)dim + 1], 2.0f);

    n = (size_t)sprintf(buf, "0\t");
    for (int k = 0; k < 100000; k++) n += (size_t)sprintf(buf + n, "%s", k % 2 ? "beta; " : "alpha ");
    buf[n++] = '\n';
    write_bytes(tpath("big.tsv"), buf, n);
    ck_assert_int_eq(te_corpus_load_tsv(tpath("big.tsv"), &v, -1, &c, &e), IRLLREC_OK);
    ck_assert_int_eq(c.n_rows, 1);
    ck_assert_int_eq(c.known_tokens, 100000);
    x = malloc((size_t)dim * sizeof *x);
    {
        double w[2] = {1.0, 1.0};
        ck_assert_int_eq(te_sif_embed(&c, &v, w, x), 0);
    }
    /* mean of (j%3) and ((j+1)%3) */
    ck_assert_float_eq_tol(x[0], 0.5f, 1e-6f);
    ck_assert_float_eq_tol(x[1], 1.5f, 1e-6f);
    free(x);
    free(buf);
    te_corpus_free(&c);
    te_vectors_free(&v);
}
END_TEST

/* ---- corpus and SIF -------------------------------------------------- */

/* Hand-computed: texts "cat sat" / "dog dog sat zebra" / "cat dog", a = 0.1.
 * Counts cat 2, dog 3, sat 2, zebra 1 (unknown): 8 tokens, 7 known.
 * All tokens: p = 2/8, 3/8, 2/8 -> w = 0.1/0.35 = 2/7, 0.1/0.475 = 4/19, 2/7.
 * Known only: p = 2/7, 3/7, 2/7 -> w = 0.7/2.7 = 7/27, 0.7/3.7 = 7/37, 7/27.
 * s0 = (w_cat (1,0) + w_sat (1,1)) / 2        = (2/7, 1/7)
 * s1 = (2 w_dog (0,1) + w_sat (1,1)) / 3      = (2/21, (8/19 + 2/7)/3) = (2/21, 94/399)
 * s2 = (w_cat (1,0) + w_dog (0,1)) / 2        = (1/7, 2/19) */
START_TEST(sif_hand_computed)
{
    te_vectors v = load_vocab3();
    te_corpus c;
    te_err e;
    double w[3];
    float x[6];
    write_text(tpath("t.tsv"), "2\tCat, dog.\n0\tcat sat\n1\tDog dog sat zebra\n");
    ck_assert_int_eq(te_corpus_load_tsv(tpath("t.tsv"), &v, -1, &c, &e), IRLLREC_OK);
    ck_assert_int_eq(c.n_rows, 3);
    ck_assert_int_eq(c.n_texts, 3);
    ck_assert_int_eq(c.total_tokens, 8);
    ck_assert_int_eq(c.known_tokens, 7);
    ck_assert_int_eq(c.types, 4);
    ck_assert_int_eq(c.known_types, 3);
    ck_assert_int_eq(c.word_count[0], 2);
    ck_assert_int_eq(c.word_count[1], 3);
    ck_assert_int_eq(c.word_count[2], 2);

    te_sif_weights(&c, v.n, 0.1, TE_COUNT_ALL, w);
    ck_assert_double_eq_tol(w[0], 2.0 / 7.0, 1e-12);
    ck_assert_double_eq_tol(w[1], 4.0 / 19.0, 1e-12);
    ck_assert_double_eq_tol(w[2], 2.0 / 7.0, 1e-12);
    ck_assert_int_eq(te_sif_embed(&c, &v, w, x), 0);
    ck_assert_float_eq_tol(x[0], (float)(2.0 / 7.0), 1e-6f);
    ck_assert_float_eq_tol(x[1], (float)(1.0 / 7.0), 1e-6f);
    ck_assert_float_eq_tol(x[2], (float)(2.0 / 21.0), 1e-6f);
    ck_assert_float_eq_tol(x[3], (float)(94.0 / 399.0), 1e-6f);
    ck_assert_float_eq_tol(x[4], (float)(1.0 / 7.0), 1e-6f);
    ck_assert_float_eq_tol(x[5], (float)(2.0 / 19.0), 1e-6f);

    te_sif_weights(&c, v.n, 0.1, TE_COUNT_KNOWN, w);
    ck_assert_double_eq_tol(w[0], 7.0 / 27.0, 1e-12);
    ck_assert_double_eq_tol(w[1], 7.0 / 37.0, 1e-12);
    ck_assert_double_eq_tol(w[2], 7.0 / 27.0, 1e-12);
    te_corpus_free(&c);
    te_vectors_free(&v);
}
END_TEST

START_TEST(empty_texts_and_gaps)
{
    te_vectors v = load_vocab3();
    te_corpus c;
    te_err e;
    double w[3] = {1.0, 1.0, 1.0};
    float x[7 * 2];
    /* id 0 empty, 1 known, 2 missing (gap), 3 punctuation + unknown, 5 bare id, 6 known */
    write_text(tpath("t.tsv"), "0\t\n1\tcat sat\n\n3\t!!! zebra\r\n5\n6\tdog\n");
    ck_assert_int_eq(te_corpus_load_tsv(tpath("t.tsv"), &v, 7, &c, &e), IRLLREC_OK);
    ck_assert_int_eq(c.n_rows, 7);
    ck_assert_int_eq(c.n_texts, 5);
    ck_assert_int_eq(c.text_of_row[2], -1);
    ck_assert_int_eq(c.text_of_row[4], -1);
    ck_assert_int_eq(c.text_of_row[5], 3);
    memset(x, 0x7f, sizeof x);
    ck_assert_int_eq(te_sif_embed(&c, &v, w, x), 3); /* ids 0, 3, 5 */
    for (int r = 0; r < 7; r++) {
        int zero = r != 1 && r != 6;
        ck_assert_int_eq(x[2 * r] == 0.0f && x[2 * r + 1] == 0.0f, zero);
    }
    ck_assert_float_eq(x[2], 1.0f);
    ck_assert_float_eq(x[3], 0.5f);
    te_corpus_free(&c);
    te_vectors_free(&v);
}
END_TEST

START_TEST(tsv_errors)
{
    expect_tsv_error("abc\tcat\n", -1, IRLLREC_E_FORMAT, "bad.tsv:1: the field before the tab");
    expect_tsv_error("0\tcat\n1 cat sat\n", -1, IRLLREC_E_FORMAT, "bad.tsv:2: no tab");
    expect_tsv_error("-1\tcat\n", -1, IRLLREC_E_FORMAT, "bad.tsv:1:");
    expect_tsv_error("0\tcat\n\n0\tdog\n", -1, IRLLREC_E_FORMAT, "bad.tsv:3: id 0 appears twice");
    expect_tsv_error("99999999999\tcat\n", -1, IRLLREC_E_FORMAT, "bad.tsv:1: id larger than");
    expect_tsv_error("0\tcat\n5\tdog\n", 5, IRLLREC_E_SHAPE, "id 5 does not fit in 5 rows");
    expect_tsv_error("", -1, IRLLREC_E_FORMAT, "no texts");
}
END_TEST

/* ---- principal component -------------------------------------------- */

START_TEST(pc_removal_exact)
{
    /* X^T X = diag(1, 4): u = (0, 1). */
    float x[6] = {1, 0, 0, -2, 0, 0};
    double u[2] = {9, 9};
    ck_assert_int_eq(te_first_pc(x, 3, 2, u), 1);
    ck_assert_double_eq_tol(u[0], 0.0, 1e-9);
    ck_assert_double_eq_tol(u[1], 1.0, 1e-9);
    te_remove_pc(x, 3, 2, u);
    ck_assert_float_eq_tol(x[0], 1.0f, 1e-7f);
    ck_assert_float_eq_tol(x[1], 0.0f, 1e-7f);
    ck_assert_float_eq_tol(x[3], 0.0f, 1e-7f);

    /* Rows along +-(3,4)/5 plus a small orthogonal part: u = (0.6, 0.8), sign fixed. */
    {
        float y[6] = {-3, -4, 6, 8, 0.4f, -0.3f};
        ck_assert_int_eq(te_first_pc(y, 3, 2, u), 1);
        ck_assert_double_eq_tol(u[0], 0.6, 1e-9);
        ck_assert_double_eq_tol(u[1], 0.8, 1e-9);
    }
    {
        float z[4] = {0, 0, 0, 0};
        u[0] = u[1] = 5.0;
        ck_assert_int_eq(te_first_pc(z, 2, 2, u), 0);
        ck_assert_double_eq(u[0], 5.0);
    }
}
END_TEST

START_TEST(pc_removal_random_matrix)
{
    enum { R = 60, D = 7 };
    float x[R * D];
    double u[D], cov[D * D] = {0}, cu[D], lam = 0.0, norm = 0.0;
    uint64_t s = 12345;
    for (int i = 0; i < R * D; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.3) * (float)(1 + i % D);
    }
    for (int j = 0; j < D; j++) x[5 * D + j] = 0.0f; /* a zero row stays zero */
    for (int r = 0; r < R; r++)
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++) cov[i * D + j] += (double)x[r * D + i] * x[r * D + j];
    ck_assert_int_eq(te_first_pc(x, R, D, u), 1);
    for (int i = 0; i < D; i++) norm += u[i] * u[i];
    ck_assert_double_eq_tol(norm, 1.0, 1e-12);
    /* u is an eigenvector of X^T X ... */
    for (int i = 0; i < D; i++) {
        cu[i] = 0.0;
        for (int j = 0; j < D; j++) cu[i] += cov[i * D + j] * u[j];
        lam += u[i] * cu[i];
    }
    for (int i = 0; i < D; i++) ck_assert_double_le(fabs(cu[i] - lam * u[i]), 1e-8 * lam);
    /* ... with the largest eigenvalue: no basis vector has a larger Rayleigh quotient. */
    for (int i = 0; i < D; i++) ck_assert_double_le(cov[i * D + i], lam);
    te_remove_pc(x, R, D, u);
    for (int r = 0; r < R; r++) {
        double dot = 0.0;
        for (int j = 0; j < D; j++) dot += u[j] * (double)x[r * D + j];
        ck_assert_double_le(fabs(dot), 1e-5);
    }
    for (int j = 0; j < D; j++) ck_assert_float_eq(x[5 * D + j], 0.0f);
}
END_TEST

/* ---- .npy output and the tool ---------------------------------------- */

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long len;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)len + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    b[len] = 0;
    *n = (size_t)len;
    return b;
}

/* Parse our own .npy: check the header and return the data (rows x cols). */
static float *read_npy(const char *path, int64_t rows, int64_t cols)
{
    size_t n, hl, off;
    unsigned char *b = read_all(path, &n);
    char want[128];
    float *x;
    ck_assert_uint_ge(n, 10);
    ck_assert_int_eq(memcmp(b, "\x93NUMPY\x01\x00", 8), 0);
    hl = (size_t)b[8] | ((size_t)b[9] << 8);
    off = 10 + hl;
    ck_assert_uint_eq(off % 64, 0);
    ck_assert_int_eq(b[off - 1], '\n');
    snprintf(want, sizeof want, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }",
             (long long)rows, (long long)cols);
    ck_assert_int_eq(memcmp(b + 10, want, strlen(want)), 0);
    ck_assert_uint_eq(n, off + (size_t)(rows * cols) * 4);
    x = malloc((size_t)(rows * cols) * sizeof *x + 1);
    for (int64_t i = 0; i < rows * cols; i++) {
        const unsigned char *p = b + off + 4 * i;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        memcpy(&x[i], &u, 4);
    }
    free(b);
    return x;
}

START_TEST(npy_writer_layout)
{
    const float x[6] = {1.0f, -2.0f, 0.5f, 3.25f, 0.0f, -1e-3f};
    te_err e;
    float *y;
    ck_assert_int_eq(te_write_npy(tpath("a.npy"), x, 2, 3, &e), IRLLREC_OK);
    y = read_npy(tpath("a.npy"), 2, 3);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(y[i], x[i]);
    free(y);
    ck_assert_int_eq(te_write_npy(tpath("nodir/a.npy"), x, 2, 3, &e), IRLLREC_E_IO);
    ck_assert_ptr_nonnull(strstr(e.msg, "nodir/a.npy"));
    ck_assert_int_eq(te_write_npy(tpath("b.npy"), x, 0, 3, &e), IRLLREC_E_SHAPE);
    ck_assert_int_eq(access(tpath("b.npy"), F_OK), -1);
}
END_TEST

static int run_tool(const char *args, const char *errfile)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s'", TE_TOOL_PATH, args, errfile);
    return system(cmd);
}

START_TEST(tool_end_to_end)
{
    char args[1024];
    size_t n;
    unsigned char *err;
    float *x;
    write_text(tpath("v3.txt"), vocab3);
    write_text(tpath("t.tsv"), "0\tcat sat\n1\tdog dog sat zebra\n3\tzebra!\n4\tcat dog\n");
    snprintf(args, sizeof args, "--vectors '%s' --input '%s' --output '%s' --a 0.1",
             tpath("v3.txt"), tpath("t.tsv"), tpath("o.npy"));
    ck_assert_int_eq(run_tool(args, tpath("err.txt")), 0);
    err = read_all(tpath("err.txt"), &n);
    ck_assert_msg(strstr((char *)err, "warning: 1 of 4 texts had no known word") != NULL, "%s", err);
    ck_assert_msg(strstr((char *)err, "tokens: 9, in vocabulary 7 (77.8%)") != NULL, "%s", err);
    free(err);
    x = read_npy(tpath("o.npy"), 5, 2);
    /* rows 2 (gap) and 3 (no known word) are zero; the others are orthogonal to
     * the removed direction, so the three non-zero rows are collinear in 2-d. */
    ck_assert(x[4] == 0.0f && x[5] == 0.0f && x[6] == 0.0f && x[7] == 0.0f);
    ck_assert_double_le(fabs((double)x[0] * x[3] - (double)x[1] * x[2]), 1e-6);
    ck_assert_double_le(fabs((double)x[0] * x[9] - (double)x[1] * x[8]), 1e-6);
    ck_assert_double_gt(fabs((double)x[0]) + fabs((double)x[1]), 1e-3);
    free(x);

    /* Without PC removal row 0 is exactly s0 of sif_hand_computed (p over all tokens: 9 here). */
    snprintf(args, sizeof args, "--vectors '%s' --input '%s' --output '%s' --a 0.1 --npc 0 --rows 6 --quiet",
             tpath("v3.txt"), tpath("t.tsv"), tpath("o.npy"));
    ck_assert_int_eq(run_tool(args, tpath("err.txt")), 0);
    x = read_npy(tpath("o.npy"), 6, 2);
    /* cat: p = 2/9, w = 0.1/(0.1+2/9) = 0.9/2.9; sat: same. */
    ck_assert_float_eq_tol(x[0], (float)(0.9 / 2.9), 1e-6f);
    ck_assert_float_eq_tol(x[1], (float)(0.45 / 2.9), 1e-6f);
    free(x);

    /* Failures exit non-zero with a message naming file and line. */
    write_text(tpath("bad.txt"), "cat 1 0\ndog 0\n");
    snprintf(args, sizeof args, "--vectors '%s' --input '%s' --output '%s'", tpath("bad.txt"),
             tpath("t.tsv"), tpath("o2.npy"));
    ck_assert_int_ne(run_tool(args, tpath("err.txt")), 0);
    err = read_all(tpath("err.txt"), &n);
    ck_assert_msg(strstr((char *)err, "bad.txt:2: expected 2 values") != NULL, "%s", err);
    free(err);
    ck_assert_int_eq(access(tpath("o2.npy"), F_OK), -1);
    snprintf(args, sizeof args, "--vectors '%s' --input '%s' --output '%s' --a -1",
             tpath("v3.txt"), tpath("t.tsv"), tpath("o2.npy"));
    ck_assert_int_ne(run_tool(args, tpath("err.txt")), 0);
}
END_TEST

static Suite *textembed_suite(void)
{
    Suite *s = suite_create("textembed");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tokenizer_cases);
    tcase_add_test(tc, tokenizer_stops_on_callback_value);
    tcase_add_test(tc, strmap_insert_find);
    tcase_add_test(tc, vectors_parse_ok);
    tcase_add_test(tc, vectors_corrupt_files);
    tcase_add_test(tc, vectors_huge_lines);
    tcase_add_test(tc, sif_hand_computed);
    tcase_add_test(tc, empty_texts_and_gaps);
    tcase_add_test(tc, tsv_errors);
    tcase_add_test(tc, pc_removal_exact);
    tcase_add_test(tc, pc_removal_random_matrix);
    tcase_add_test(tc, npy_writer_layout);
    tcase_add_test(tc, tool_end_to_end);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(textembed_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
