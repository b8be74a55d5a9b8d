/* irllrec-textembed: SIF sentence embeddings from word vectors.
 *
 * The reusable pieces of the tool, kept in a small static library so they
 * can be unit-tested: the tokeniser, a string hash table (the vocabulary),
 * the GloVe-format vector reader, the (id, text) TSV reader, SIF weighting
 * (Arora, Liang, Ma, ICLR 2017) and first-principal-component removal.
 *
 * This is tool code, not library code: it uses malloc/free directly and
 * reports failures as an irllrec_status plus a message written into a
 * caller-supplied buffer ("<file>:<line>: <what>" for parse errors). Nothing
 * here prints, exits or aborts. */
#ifndef TEXTEMBED_H
#define TEXTEMBED_H

#include <stddef.h>
#include <stdint.h>
#include "irllrec/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error sink: every fallible call writes a message here on failure. */
typedef struct te_err {
    char msg[512];
} te_err;

/* ---- tokeniser ------------------------------------------------------- */

/* Called once per token; tok is NOT NUL-terminated and is valid for the call
 * only. Return 0 to continue, non-zero to stop tokenising (that value is
 * returned by te_tokenize). */
typedef int (*te_token_fn)(void *ud, const char *tok, size_t len);

/* Split text[0..len) into tokens:
 *  - token bytes are ASCII letters (lowercased), digits, apostrophes, and
 *    every byte >= 0x80 (kept verbatim, so UTF-8 words such as "café" stay
 *    whole and can match a UTF-8 vector file; they are never lowercased and
 *    never split into misleading ASCII fragments); every other byte
 *    (ASCII punctuation, whitespace, control bytes, NUL) separates tokens;
 *  - leading and trailing apostrophes are stripped (they are quote marks);
 *  - clitics are split the way GloVe's training text was (Penn Treebank
 *    style): "don't" -> "do" "n't", "film's" -> "film" "'s", "o'brien" ->
 *    "o" "'brien" (split before the last apostrophe);
 *  - a token that is empty after stripping is dropped.
 * Returns 0, the first non-zero value returned by fn, or -1 when a scratch
 * buffer could not be allocated. */
int te_tokenize(const char *text, size_t len, te_token_fn fn, void *ud);

/* ---- string hash table ----------------------------------------------- */

/* Open-addressing (linear probing, FNV-1a) map from byte strings to dense
 * indices 0..n-1 in insertion order. */
typedef struct te_strmap te_strmap;

te_strmap *te_strmap_create(void);
void te_strmap_free(te_strmap *m);
/* Index of key, or -1 when absent. */
int32_t te_strmap_find(const te_strmap *m, const char *key, size_t len);
/* Index of key, inserting it when absent (*inserted = 1 then; may be NULL).
 * Returns -1 on allocation failure or when the map holds INT32_MAX keys. */
int32_t te_strmap_intern(te_strmap *m, const char *key, size_t len, int *inserted);
int32_t te_strmap_size(const te_strmap *m);
/* The key of index i (NUL-terminated, borrowed) and its length. */
const char *te_strmap_key(const te_strmap *m, int32_t i, size_t *len);

/* ---- word vectors ---------------------------------------------------- */

typedef struct te_vectors {
    te_strmap *words;   /* word -> row of vec */
    float *vec;         /* n x dim, row-major */
    int32_t n;
    int32_t dim;
    int64_t duplicates; /* later lines for an already-seen word (ignored) */
} te_vectors;

/* Read a GloVe text file: one "word v1 ... vD" per line, fields separated by
 * spaces or tabs, CRLF accepted, blank lines ignored. D is inferred from the
 * first line. Words are lowercased (ASCII) so they match the tokeniser's
 * output; the first vector of a word wins. A word2vec-style header line
 * "<count> <dim>" (exactly two integer fields) on line 1 is skipped. Lines
 * of any length are handled. Errors name the file and line: a different
 * number of values, a non-numeric or non-finite value, no vector at all.
 * Returns IRLLREC_OK, IRLLREC_E_IO, IRLLREC_E_FORMAT or IRLLREC_E_NOMEM; on
 * failure *out is left zeroed. */
irllrec_status te_vectors_load(const char *path, te_vectors *out, te_err *err);
void te_vectors_free(te_vectors *v);

/* ---- corpus ---------------------------------------------------------- */

/* Texts tokenised against a vocabulary. Only known tokens are stored (as
 * vocabulary rows); counts of all tokens are kept for frequencies and
 * coverage statistics. */
typedef struct te_corpus {
    int64_t n_rows;       /* output rows: max id + 1, or the --rows value */
    int64_t n_texts;      /* texts read (lines with an id) */
    int64_t *text_of_row; /* n_rows entries: index of the row's text, or -1 (a gap) */
    int64_t *tok_start;   /* n_texts + 1 offsets into tok */
    int32_t *tok;         /* known tokens as vocabulary rows */
    int64_t *n_all;       /* n_texts entries: all tokens of the text, known or not */
    int64_t *word_count;  /* vocabulary-size entries: occurrences in the corpus */
    int64_t total_tokens; /* all tokens, known or not */
    int64_t known_tokens; /* tokens found in the vocabulary */
    int64_t types;        /* distinct tokens */
    int64_t known_types;  /* distinct tokens found in the vocabulary */
} te_corpus;

/* Add one text (id >= 0, unique) to a corpus being built. After a failed
 * te_corpus_add the builder may be partly updated: only free it. */
typedef struct te_corpus_builder te_corpus_builder;
te_corpus_builder *te_corpus_builder_create(const te_vectors *v);
irllrec_status te_corpus_add(te_corpus_builder *b, int64_t id, const char *text, size_t len,
                             te_err *err);
/* Finish: rows = max id + 1 when rows < 0, else rows (every id must be below
 * it). Frees the builder in every case. */
irllrec_status te_corpus_finish(te_corpus_builder *b, int64_t rows, te_corpus *out, te_err *err);
void te_corpus_builder_free(te_corpus_builder *b);
void te_corpus_free(te_corpus *c);

/* Read "id<TAB>text" lines (ids are decimal integers in [0, 2^31), unique,
 * in any order; the text is everything after the first tab, possibly empty;
 * CRLF accepted; blank lines ignored) into a corpus. Errors name file and line. */
irllrec_status te_corpus_load_tsv(const char *path, const te_vectors *v, int64_t rows,
                                  te_corpus *out, te_err *err);

/* ---- SIF ------------------------------------------------------------- */

enum te_count_mode {
    TE_COUNT_ALL = 0,  /* p(w) = count(w) / all tokens of the corpus (default) */
    TE_COUNT_KNOWN = 1 /* p(w) = count(w) / tokens found in the vocabulary */
};

/* SIF weight a / (a + p(w)) for every vocabulary row (weights has v->n
 * entries; words absent from the corpus get weight 1, they are never used). */
void te_sif_weights(const te_corpus *c, int32_t vocab_n, double a, int mode, double *weights);

/* Sentence vectors: row r of out (n_rows x dim) is
 * (1/|s|) sum_{w in s} weight[w] v_w over the known tokens of the row's text
 * (|s| = their number), or zero for a gap or a text without known words.
 * Returns the number of texts without a known word, or -1 when out of memory. */
int64_t te_sif_embed(const te_corpus *c, const te_vectors *v, const double *weights, float *out);

/* First right singular vector u (dim entries, unit norm, largest-magnitude
 * entry positive) of the matrix of the non-zero rows of x (rows x dim), by
 * power iteration in double on X^T X. Returns 1 when u was found, 0 when
 * every row is zero (u untouched), -1 on allocation failure. */
int te_first_pc(const float *x, int64_t rows, int32_t dim, double *u);

/* x_r <- x_r - u u^T x_r for every row (zero rows stay zero). */
void te_remove_pc(float *x, int64_t rows, int32_t dim, const double *u);

/* ---- output ---------------------------------------------------------- */

/* Write a rows x cols float32 matrix (rows, cols >= 1) as a NumPy .npy
 * (version 1.0, '<f4', C order) with the library's atomic irllrec_npy_write. */
irllrec_status te_write_npy(const char *path, const float *x, int64_t rows, int64_t cols,
                            te_err *err);

#ifdef __cplusplus
}
#endif
#endif /* TEXTEMBED_H */
