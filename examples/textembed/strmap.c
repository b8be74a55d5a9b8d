/* String -> dense index hash table (open addressing, linear probing). */
#include <stdlib.h>
#include <string.h>
#include "textembed.h"

struct te_strmap {
    int32_t *slots;   /* cap entries: index + 1, 0 = empty */
    uint64_t *hashes; /* per index, so growing never rehashes strings */
    size_t *key_off;  /* per index: offset of its key in chars */
    size_t *key_len;
    char *chars;      /* keys, each NUL-terminated */
    size_t chars_len, chars_cap;
    size_t cap;       /* power of two, kept >= 2 * n */
    int32_t n, n_cap;
};

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

te_strmap *te_strmap_create(void)
{
    te_strmap *m = calloc(1, sizeof *m);
    if (m == NULL) return NULL;
    m->cap = 64;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (m->slots == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void te_strmap_free(te_strmap *m)
{
    if (m == NULL) return;
    free(m->slots);
    free(m->hashes);
    free(m->key_off);
    free(m->key_len);
    free(m->chars);
    free(m);
}

static size_t probe(const te_strmap *m, uint64_t h, const char *key, size_t len, int *found)
{
    size_t mask = m->cap - 1, s = (size_t)h & mask;
    for (;;) {
        int32_t e = m->slots[s];
        if (e == 0) {
            *found = 0;
            return s;
        }
        e--;
        if (m->hashes[e] == h && m->key_len[e] == len &&
            memcmp(m->chars + m->key_off[e], key, len) == 0) {
            *found = 1;
            return s;
        }
        s = (s + 1) & mask;
    }
}

int32_t te_strmap_find(const te_strmap *m, const char *key, size_t len)
{
    int found;
    size_t s = probe(m, fnv1a(key, len), key, len, &found);
    return found ? m->slots[s] - 1 : -1;
}

static int grow_table(te_strmap *m)
{
    size_t cap = m->cap * 2, mask = cap - 1;
    int32_t *slots = calloc(cap, sizeof *slots);
    if (slots == NULL) return -1;
    for (int32_t i = 0; i < m->n; i++) {
        size_t s = (size_t)m->hashes[i] & mask;
        while (slots[s] != 0) s = (s + 1) & mask;
        slots[s] = i + 1;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

static int grow_arrays(te_strmap *m)
{
    int32_t nc = m->n_cap == 0 ? 64 : (m->n_cap > INT32_MAX / 2 ? INT32_MAX : m->n_cap * 2);
    uint64_t *h = realloc(m->hashes, (size_t)nc * sizeof *h);
    size_t *o, *l;
    if (h == NULL) return -1;
    m->hashes = h;
    o = realloc(m->key_off, (size_t)nc * sizeof *o);
    if (o == NULL) return -1;
    m->key_off = o;
    l = realloc(m->key_len, (size_t)nc * sizeof *l);
    if (l == NULL) return -1;
    m->key_len = l;
    m->n_cap = nc;
    return 0;
}

int32_t te_strmap_intern(te_strmap *m, const char *key, size_t len, int *inserted)
{
    uint64_t h = fnv1a(key, len);
    int found;
    size_t s = probe(m, h, key, len, &found);
    if (inserted) *inserted = 0;
    if (found) return m->slots[s] - 1;
    if (m->n == INT32_MAX) return -1;
    if (m->n == m->n_cap && grow_arrays(m) != 0) return -1;
    if (m->chars_len + len + 1 > m->chars_cap) {
        size_t nc = m->chars_cap == 0 ? 4096 : m->chars_cap;
        char *c;
        while (nc < m->chars_len + len + 1) nc *= 2;
        c = realloc(m->chars, nc);
        if (c == NULL) return -1;
        m->chars = c;
        m->chars_cap = nc;
    }
    if ((size_t)(m->n + 1) * 2 > m->cap) {
        if (grow_table(m) != 0) return -1;
        s = probe(m, h, key, len, &found);
    }
    memcpy(m->chars + m->chars_len, key, len);
    m->chars[m->chars_len + len] = '\0';
    m->key_off[m->n] = m->chars_len;
    m->key_len[m->n] = len;
    m->hashes[m->n] = h;
    m->chars_len += len + 1;
    m->slots[s] = m->n + 1;
    if (inserted) *inserted = 1;
    return m->n++;
}

int32_t te_strmap_size(const te_strmap *m)
{
    return m->n;
}

const char *te_strmap_key(const te_strmap *m, int32_t i, size_t *len)
{
    if (len) *len = m->key_len[i];
    return m->chars + m->key_off[i];
}
