/* Parsers for the on-disk dataset: the LightGCN interaction text and the
 * handful of keys read from stats.json. Both treat their input as hostile:
 * no recursion, no reads past len, every failure names file and position. */
#include <string.h>
#include "dataset.h"

#define ID_MAX 2147483647LL

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* End of the line that starts at p: the '\n' or len. A '\r' right before the
 * terminator is part of the terminator (files written on Windows). */
static size_t line_end(const char *text, size_t len, size_t p, size_t *content_end)
{
    const char *nl = (const char *)memchr(text + p, '\n', len - p);
    size_t e = nl ? (size_t)(nl - text) : len;
    *content_end = (e > p && text[e - 1] == '\r') ? e - 1 : e;
    return e;
}

static irllrec_status bad_char(irllrec_ctx *ctx, const char *path, int64_t line, size_t col,
                               size_t off, char c)
{
    unsigned char uc = (unsigned char)c;
    if (c == '-')
        return irllrec__fail(ctx, IRLLREC_E_FORMAT, "irllrec_x_dataset_load",
                             "%s:%lld: negative id at column %zu (byte %zu)", path,
                             (long long)line, col, off);
    if (uc >= 0x21 && uc < 0x7f)
        return irllrec__fail(ctx, IRLLREC_E_FORMAT, "irllrec_x_dataset_load",
                             "%s:%lld: non-digit '%c' at column %zu (byte %zu)", path,
                             (long long)line, c, col, off);
    return irllrec__fail(ctx, IRLLREC_E_FORMAT, "irllrec_x_dataset_load",
                         "%s:%lld: non-digit byte 0x%02x at column %zu (byte %zu)", path,
                         (long long)line, (unsigned)uc, col, off);
}

irllrec_status irllrec__parse_pairs(irllrec_ctx *ctx, const char *path, const char *text,
                                    size_t len, int64_t user_limit, int64_t item_limit,
                                    const char *limit_src, int32_t *u, int32_t *it,
                                    int64_t *n_pairs, int64_t *max_user, int64_t *max_item,
                                    int64_t *max_user_line, int64_t *max_item_line)
{
    int64_t line = 0, count = 0, mu = -1, mi = -1, mu_line = 0, mi_line = 0;
    size_t p = 0;
    while (p < len) {
        size_t ce, e = line_end(text, len, p, &ce);
        size_t q = p;
        int64_t tok = 0, user = -1;
        line++;
        while (q < ce) {
            size_t t0;
            int64_t v = 0;
            if (is_blank(text[q])) {
                q++;
                continue;
            }
            t0 = q;
            while (q < ce && !is_blank(text[q])) {
                char c = text[q];
                if (c < '0' || c > '9') return bad_char(ctx, path, line, q - p + 1, q, c);
                v = v * 10 + (c - '0');
                if (v > ID_MAX)
                    return irllrec__fail(ctx, IRLLREC_E_FORMAT, "irllrec_x_dataset_load",
                                         "%s:%lld: id at column %zu exceeds %lld (byte %zu)",
                                         path, (long long)line, t0 - p + 1, ID_MAX, t0);
                q++;
            }
            if (tok == 0) {
                if (user_limit > 0 && v >= user_limit)
                    return irllrec__fail(ctx, IRLLREC_E_SHAPE, "irllrec_x_dataset_load",
                                         "%s:%lld: user id %lld >= n_users %lld from %s", path,
                                         (long long)line, (long long)v, (long long)user_limit,
                                         limit_src);
                user = v;
                if (v > mu) {
                    mu = v;
                    mu_line = line;
                }
            } else {
                if (item_limit > 0 && v >= item_limit)
                    return irllrec__fail(ctx, IRLLREC_E_SHAPE, "irllrec_x_dataset_load",
                                         "%s:%lld: item id %lld >= n_items %lld from %s", path,
                                         (long long)line, (long long)v, (long long)item_limit,
                                         limit_src);
                if (v > mi) {
                    mi = v;
                    mi_line = line;
                }
                if (u != NULL) {
                    u[count] = (int32_t)user;
                    it[count] = (int32_t)v;
                }
                count++;
            }
            tok++;
        }
        p = e + 1;
    }
    *n_pairs = count;
    if (max_user) *max_user = mu;
    if (max_item) *max_item = mi;
    if (max_user_line) *max_user_line = mu_line;
    if (max_item_line) *max_item_line = mi_line;
    return IRLLREC_OK;
}

/* ---- stats.json ------------------------------------------------------ */

static irllrec_status json_fail(irllrec_ctx *ctx, const char *path, size_t off, const char *what)
{
    return irllrec__fail(ctx, IRLLREC_E_FORMAT, "irllrec_x_dataset_load", "%s: byte %zu: %s", path,
                         off, what);
}

static int json_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Read the integer value that follows a recognised key's ':' at *pp. */
static irllrec_status json_int(irllrec_ctx *ctx, const char *path, const char *key,
                               const char *text, size_t len, size_t *pp, int64_t *out)
{
    size_t p = *pp, d0;
    int64_t v = 0;
    while (p < len && json_ws(text[p])) p++;
    d0 = p;
    while (p < len && text[p] >= '0' && text[p] <= '9') {
        v = v * 10 + (text[p] - '0');
        if (v > ID_MAX) {
            irllrec__fail(ctx, IRLLREC_E_FORMAT, "irllrec_x_dataset_load",
                          "%s: byte %zu: \"%s\" exceeds %lld", path, d0, key, ID_MAX);
            return IRLLREC_E_FORMAT;
        }
        p++;
    }
    if (p == d0 || (p < len && !json_ws(text[p]) && text[p] != ',' && text[p] != '}')) {
        irllrec__fail(ctx, IRLLREC_E_FORMAT, "irllrec_x_dataset_load",
                      "%s: byte %zu: \"%s\" is not a non-negative integer", path, d0, key);
        return IRLLREC_E_FORMAT;
    }
    if (v < 1) {
        irllrec__fail(ctx, IRLLREC_E_FORMAT, "irllrec_x_dataset_load",
                      "%s: byte %zu: \"%s\" must be >= 1", path, d0, key);
        return IRLLREC_E_FORMAT;
    }
    *out = v;
    *pp = p;
    return IRLLREC_OK;
}

irllrec_status irllrec__stats_scan(irllrec_ctx *ctx, const char *path, const char *text,
                                   size_t len, int64_t *n_users, int64_t *n_items)
{
    size_t p = 0;
    int64_t depth = 0;
    int expect_key = 0, seen_top = 0;
    *n_users = -1;
    *n_items = -1;
    while (p < len && json_ws(text[p])) p++;
    if (p >= len || text[p] != '{') return json_fail(ctx, path, p, "expected a JSON object");
    while (p < len) {
        char c = text[p];
        if (c == '{' || c == '[') {
            if (depth == 0 && seen_top) return json_fail(ctx, path, p, "data after the object");
            seen_top = 1;
            depth++;
            expect_key = (c == '{' && depth == 1);
            p++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return json_fail(ctx, path, p, "unbalanced closing bracket");
            depth--;
            p++;
        } else if (c == ',') {
            expect_key = (depth == 1);
            p++;
        } else if (c == '"') {
            size_t s0 = ++p;
            while (p < len && text[p] != '"') p += (text[p] == '\\') ? 2 : 1;
            if (p >= len) return json_fail(ctx, path, s0 - 1, "unterminated string");
            p++;
            if (expect_key) {
                size_t klen = p - 1 - s0;
                int64_t *dst = NULL;
                const char *name = NULL;
                expect_key = 0;
                while (p < len && json_ws(text[p])) p++;
                if (p >= len || text[p] != ':') return json_fail(ctx, path, p, "expected ':'");
                p++;
                if (klen == 7 && memcmp(text + s0, "n_users", 7) == 0) {
                    dst = n_users;
                    name = "n_users";
                } else if (klen == 7 && memcmp(text + s0, "n_items", 7) == 0) {
                    dst = n_items;
                    name = "n_items";
                }
                if (dst != NULL) {
                    if (*dst != -1) return json_fail(ctx, path, s0 - 1, "duplicate key");
                    IRL_TRY(json_int(ctx, path, name, text, len, &p, dst));
                }
            }
        } else {
            p++;
        }
    }
    if (depth != 0) return json_fail(ctx, path, len, "unterminated object");
    return IRLLREC_OK;
}
