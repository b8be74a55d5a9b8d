/* Tokeniser: see te_tokenize() in textembed.h for the rules. */
#include <stdlib.h>
#include <string.h>
#include "textembed.h"

static int is_token_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '\'' || c >= 0x80;
}

/* Emit one raw token after quote stripping and clitic splitting. */
static int emit(const char *t, size_t n, te_token_fn fn, void *ud)
{
    size_t k;
    while (n > 0 && t[0] == '\'') {
        t++;
        n--;
    }
    while (n > 0 && t[n - 1] == '\'') n--;
    if (n == 0) return 0;
    /* GloVe 6B was trained on Penn-Treebank tokens, where "don't" is "do" "n't". */
    if (n > 3 && memcmp(t + n - 3, "n't", 3) == 0) {
        int r = fn(ud, t, n - 3);
        return r != 0 ? r : fn(ud, t + n - 3, 3);
    }
    k = n;
    while (k > 0 && t[k - 1] != '\'') k--;
    if (k > 1) { /* apostrophe at k-1, never first (stripped above) */
        int r = fn(ud, t, k - 1);
        return r != 0 ? r : fn(ud, t + k - 1, n - (k - 1));
    }
    return fn(ud, t, n);
}

int te_tokenize(const char *text, size_t len, te_token_fn fn, void *ud)
{
    char *buf;
    size_t i = 0;
    int r = 0;
    if (len == 0) return 0;
    buf = malloc(len);
    if (buf == NULL) return -1;
    for (size_t j = 0; j < len; j++) {
        unsigned char c = (unsigned char)text[j];
        buf[j] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    while (i < len && r == 0) {
        size_t s;
        while (i < len && !is_token_byte((unsigned char)buf[i])) i++;
        s = i;
        while (i < len && is_token_byte((unsigned char)buf[i])) i++;
        if (i > s) r = emit(buf + s, i - s, fn, ud);
    }
    free(buf);
    return r;
}
