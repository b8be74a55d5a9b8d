/* The model container: an ordered set of named sections plus typed metadata. */
#include <string.h>
#include "model_impl.h"

size_t irllrec__model_name_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n] != '\0') n++;
    return (n == 0 || n > max) ? 0 : n;
}

/* Payloads are kept in file byte order (little-endian), so save and load
 * copy bytes and only the typed accessors convert. */
void irllrec__model_to_le(uint8_t *dst, const void *src, size_t count, size_t esize)
{
    const uint8_t *s = (const uint8_t *)src;
    if (esize == 4) {
        for (size_t i = 0; i < count; i++) {
            uint32_t v;
            memcpy(&v, s + 4 * i, 4);
            for (int b = 0; b < 4; b++) dst[4 * i + (size_t)b] = (uint8_t)(v >> (8 * b));
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            uint64_t v;
            memcpy(&v, s + 8 * i, 8);
            for (int b = 0; b < 8; b++) dst[8 * i + (size_t)b] = (uint8_t)(v >> (8 * b));
        }
    }
}

void irllrec__model_from_le(void *dst, const uint8_t *src, size_t count, size_t esize)
{
    uint8_t *d = (uint8_t *)dst;
    if (esize == 4) {
        for (size_t i = 0; i < count; i++) {
            uint32_t v = 0;
            for (int b = 3; b >= 0; b--) v = (v << 8) | src[4 * i + (size_t)b];
            memcpy(d + 4 * i, &v, 4);
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            uint64_t v = 0;
            for (int b = 7; b >= 0; b--) v = (v << 8) | src[8 * i + (size_t)b];
            memcpy(d + 8 * i, &v, 8);
        }
    }
}

int32_t irllrec__model_index(const irllrec_model *m, const char *name)
{
    for (int32_t i = 0; i < m->n_secs; i++)
        if (strcmp(m->secs[i].name, name) == 0) return i;
    return -1;
}

int32_t irllrec__model_meta_index(const irllrec_model *m, const char *key)
{
    for (int32_t i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta[i].key, key) == 0) return i;
    return -1;
}

/* Make room for one more element of an array that grows by doubling; the
 * ctx allocator has no realloc, so the array is copied. */
static irllrec_status grow(irllrec_ctx *ctx, const char *func, void **arr, int32_t n, int32_t *cap,
                           size_t elem)
{
    int32_t ncap;
    void *p;
    if (n < *cap) return IRLLREC_OK;
    if (*cap > INT32_MAX / 2)
        return irllrec__fail(ctx, IRLLREC_E_NOMEM, func, "too many sections");
    ncap = *cap == 0 ? 8 : *cap * 2;
    p = irllrec__alloc_fn(ctx, func, (size_t)ncap * elem);
    if (p == NULL) return IRLLREC_E_NOMEM;
    if (n > 0) memcpy(p, *arr, (size_t)n * elem);
    irllrec__free(ctx, *arr, (size_t)*cap * elem);
    *arr = p;
    *cap = ncap;
    return IRLLREC_OK;
}

irllrec_status irllrec__model_push(irllrec_model *m, const char *func, const irllrec__section *s)
{
    void *arr = m->secs;
    IRL_TRY(grow(m->ctx, func, &arr, m->n_secs, &m->cap_secs, sizeof *m->secs));
    m->secs = (irllrec__section *)arr;
    m->secs[m->n_secs++] = *s;
    return IRLLREC_OK;
}

irllrec_status irllrec__model_push_meta(irllrec_model *m, const char *func, const irllrec__meta *e)
{
    void *arr = m->meta;
    IRL_TRY(grow(m->ctx, func, &arr, m->n_meta, &m->cap_meta, sizeof *m->meta));
    m->meta = (irllrec__meta *)arr;
    m->meta[m->n_meta++] = *e;
    return IRLLREC_OK;
}

irllrec_status irllrec_model_create(irllrec_ctx *ctx, irllrec_model **out)
{
    irllrec_model *m;
    if (out == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, __func__, "out is NULL");
    *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    m = (irllrec_model *)irllrec__calloc_fn(ctx, __func__, 1, sizeof *m);
    if (m == NULL) return IRLLREC_E_NOMEM;
    m->ctx = ctx;
    *out = m;
    return IRLLREC_OK;
}

void irllrec_model_free(irllrec_model *m)
{
    irllrec_ctx *ctx;
    if (m == NULL) return;
    ctx = m->ctx;
    for (int32_t i = 0; i < m->n_secs; i++)
        irllrec__free(ctx, m->secs[i].data, m->secs[i].nbytes);
    for (int32_t i = 0; i < m->n_meta; i++)
        if (m->meta[i].str != NULL) irllrec__free(ctx, m->meta[i].str, m->meta[i].len + 1);
    irllrec__free(ctx, m->secs, (size_t)m->cap_secs * sizeof *m->secs);
    irllrec__free(ctx, m->meta, (size_t)m->cap_meta * sizeof *m->meta);
    irllrec__free(ctx, m, sizeof *m);
}

static irllrec_status add_section(irllrec_model *m, const char *func, uint32_t kind,
                                  const char *name, uint32_t dtype, const void *data,
                                  int32_t ndim, const int64_t *dims, uint32_t flags)
{
    irllrec__section s;
    size_t count = 1, esize = dtype == IRLLREC_MODEL_F32 ? 4 : 8, len;
    irllrec_status st;
    if (m == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK_FN(m->ctx, func, name != NULL && data != NULL && dims != NULL, IRLLREC_E_INVALID_ARG,
                 "name, data or dims is NULL");
    IRL_CHECK_FN(m->ctx, func, kind >= IRLLREC_MODEL_TENSOR && kind <= IRLLREC_MODEL_TEACHER,
                 IRLLREC_E_INVALID_ARG, "kind %u is not a tensor kind", kind);
    len = irllrec__model_name_len(name, IRLLREC_MODEL_NAME_MAX);
    IRL_CHECK_FN(m->ctx, func, len > 0, IRLLREC_E_INVALID_ARG,
                 "name is empty or longer than %d bytes", IRLLREC_MODEL_NAME_MAX);
    IRL_CHECK_FN(m->ctx, func, strcmp(name, IRLLREC__IRLM_META_NAME) != 0, IRLLREC_E_INVALID_ARG,
                 "the name \"%s\" is reserved for the metadata", name);
    IRL_CHECK_FN(m->ctx, func, (flags & ~(uint32_t)IRLLREC_MODEL_REQUIRED) == 0,
                 IRLLREC_E_INVALID_ARG, "unknown flags 0x%x", flags);
    IRL_CHECK_FN(m->ctx, func, irllrec__model_index(m, name) < 0, IRLLREC_E_INVALID_ARG,
                 "duplicate section name \"%s\"", name);
    IRL_CHECK_FN(m->ctx, func, ndim >= 1 && ndim <= IRLLREC_MODEL_MAX_DIMS, IRLLREC_E_SHAPE,
                 "ndim %d is not in 1..4", (int)ndim);
    memset(&s, 0, sizeof s);
    for (int32_t i = 0; i < ndim; i++) {
        IRL_CHECK_FN(m->ctx, func, dims[i] >= 1, IRLLREC_E_SHAPE, "dims[%d] = %lld < 1", (int)i,
                     (long long)dims[i]);
        IRL_CHECK_FN(m->ctx, func,
                     (uint64_t)dims[i] <= SIZE_MAX &&
                         !irllrec__mul_overflow(count, (size_t)dims[i], &count),
                     IRLLREC_E_SHAPE, "element count overflows");
        s.dims[i] = dims[i];
    }
    IRL_CHECK_FN(m->ctx, func,
                 !irllrec__mul_overflow(count, esize, &s.nbytes) && s.nbytes <= (size_t)INT64_MAX,
                 IRLLREC_E_SHAPE, "byte size overflows");
    memcpy(s.name, name, len);
    s.kind = kind;
    s.dtype = dtype;
    s.flags = flags;
    s.ndim = ndim;
    s.data = irllrec__alloc_fn(m->ctx, func, s.nbytes);
    if (s.data == NULL) return IRLLREC_E_NOMEM;
    irllrec__model_to_le((uint8_t *)s.data, data, count, esize);
    st = irllrec__model_push(m, func, &s);
    if (st != IRLLREC_OK) irllrec__free(m->ctx, s.data, s.nbytes);
    return st;
}

#undef CHK

irllrec_status irllrec_model_add_tensor(irllrec_model *m, uint32_t kind, const char *name,
                                        const float *data, int32_t ndim, const int64_t *dims,
                                        uint32_t flags)
{
    return add_section(m, __func__, kind, name, IRLLREC_MODEL_F32, data, ndim, dims, flags);
}

irllrec_status irllrec_model_add_u64s(irllrec_model *m, uint32_t kind, const char *name,
                                      const uint64_t *data, int64_t count, uint32_t flags)
{
    return add_section(m, __func__, kind, name, IRLLREC_MODEL_U64, data, 1, &count, flags);
}

static irllrec_status add_meta(irllrec_model *m, const char *func, const char *key,
                               irllrec__meta *e)
{
    size_t len;
    if (m == NULL) return IRLLREC_E_INVALID_ARG;
    if (key == NULL) return irllrec__fail(m->ctx, IRLLREC_E_INVALID_ARG, func, "key is NULL");
    len = irllrec__model_name_len(key, IRLLREC_MODEL_KEY_MAX);
    if (len == 0)
        return irllrec__fail(m->ctx, IRLLREC_E_INVALID_ARG, func,
                             "key is empty or longer than %d bytes", IRLLREC_MODEL_KEY_MAX);
    if (m->n_meta >= IRLLREC__IRLM_MAX_META)
        return irllrec__fail(m->ctx, IRLLREC_E_INVALID_ARG, func, "more than %d metadata keys",
                             IRLLREC__IRLM_MAX_META);
    if (irllrec__model_meta_index(m, key) >= 0)
        return irllrec__fail(m->ctx, IRLLREC_E_INVALID_ARG, func, "duplicate key \"%s\"", key);
    memset(e->key, 0, sizeof e->key);
    memcpy(e->key, key, len);
    return irllrec__model_push_meta(m, func, e);
}

irllrec_status irllrec_model_add_meta_i64(irllrec_model *m, const char *key, int64_t value)
{
    irllrec__meta e;
    memset(&e, 0, sizeof e);
    e.type = IRLLREC_MODEL_META_I64;
    e.i64 = value;
    return add_meta(m, __func__, key, &e);
}

irllrec_status irllrec_model_add_meta_f64(irllrec_model *m, const char *key, double value)
{
    irllrec__meta e;
    memset(&e, 0, sizeof e);
    e.type = IRLLREC_MODEL_META_F64;
    memcpy(&e.f64_bits, &value, sizeof value);
    return add_meta(m, __func__, key, &e);
}

irllrec_status irllrec_model_add_meta_str(irllrec_model *m, const char *key, const char *value)
{
    irllrec__meta e;
    irllrec_status st;
    if (m == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(m->ctx, value != NULL, IRLLREC_E_INVALID_ARG, "value is NULL");
    memset(&e, 0, sizeof e);
    e.type = IRLLREC_MODEL_META_STR;
    e.len = strlen(value);
    IRL_CHECK(m->ctx, e.len < ((size_t)1 << 31), IRLLREC_E_INVALID_ARG, "value is 2 GiB or longer");
    e.str = (char *)irllrec__alloc_fn(m->ctx, __func__, e.len + 1);
    if (e.str == NULL) return IRLLREC_E_NOMEM;
    memcpy(e.str, value, e.len + 1);
    st = add_meta(m, __func__, key, &e);
    if (st != IRLLREC_OK) irllrec__free(m->ctx, e.str, e.len + 1);
    return st;
}

int32_t irllrec_model_section_count(const irllrec_model *m)
{
    return m == NULL ? -1 : m->n_secs;
}

irllrec_status irllrec_model_find(const irllrec_model *m, const char *name, int32_t *index)
{
    if (index != NULL) *index = -1;
    if (m == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(m->ctx, name != NULL && index != NULL, IRLLREC_E_INVALID_ARG,
              "name or index is NULL");
    *index = irllrec__model_index(m, name);
    IRL_CHECK(m->ctx, *index >= 0, IRLLREC_E_FORMAT, "no section named \"%s\"", name);
    return IRLLREC_OK;
}

const char *irllrec_model_section_name(const irllrec_model *m, int32_t index)
{
    if (m == NULL || index < 0 || index >= m->n_secs) return NULL;
    return m->secs[index].name;
}

irllrec_status irllrec_model_section_info(const irllrec_model *m, int32_t index, uint32_t *kind,
                                          uint32_t *dtype, uint32_t *flags, int32_t *ndim,
                                          int64_t *dims)
{
    const irllrec__section *s;
    if (m == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(m->ctx, index >= 0 && index < m->n_secs, IRLLREC_E_INVALID_ARG,
              "index %d is not in [0, %d)", (int)index, (int)m->n_secs);
    s = &m->secs[index];
    if (kind != NULL) *kind = s->kind;
    if (dtype != NULL) *dtype = s->dtype;
    if (flags != NULL) *flags = s->flags;
    if (ndim != NULL) *ndim = s->ndim;
    if (dims != NULL)
        for (int i = 0; i < IRLLREC_MODEL_MAX_DIMS; i++) dims[i] = s->dims[i];
    return IRLLREC_OK;
}

const void *irllrec_model_section_data(const irllrec_model *m, int32_t index, uint64_t *nbytes)
{
    if (nbytes != NULL) *nbytes = 0;
    if (m == NULL || index < 0 || index >= m->n_secs) return NULL;
    if (nbytes != NULL) *nbytes = m->secs[index].nbytes;
    return m->secs[index].data;
}

static irllrec_status get_section(const irllrec_model *m, const char *func, const char *name,
                                  uint32_t dtype, int32_t ndim, const int64_t *dims,
                                  void *dst, int64_t count)
{
    const irllrec__section *s;
    int32_t i;
    size_t esize = dtype == IRLLREC_MODEL_F32 ? 4 : 8;
    if (m == NULL) return IRLLREC_E_INVALID_ARG;
    if (name == NULL || dst == NULL || (ndim > 0 && dims == NULL) || ndim < 0 ||
        ndim > IRLLREC_MODEL_MAX_DIMS)
        return irllrec__fail(m->ctx, IRLLREC_E_INVALID_ARG, func,
                             "name, dst or dims is NULL, or ndim is not in 0..4");
    i = irllrec__model_index(m, name);
    if (i < 0)
        return irllrec__fail(m->ctx, IRLLREC_E_FORMAT, func, "no section named \"%s\"", name);
    s = &m->secs[i];
    if (s->dtype != dtype)
        return irllrec__fail(m->ctx, IRLLREC_E_FORMAT, func, "section \"%s\" has dtype %u, not %u",
                             name, s->dtype, dtype);
    if (ndim > 0) {
        int ok = ndim == s->ndim;
        for (int32_t d = 0; ok && d < ndim; d++) ok = dims[d] == s->dims[d];
        if (!ok)
            return irllrec__fail(m->ctx, IRLLREC_E_SHAPE, func,
                                 "section \"%s\" has shape [%lld %lld %lld %lld] (ndim %d), "
                                 "another shape was expected", name, (long long)s->dims[0],
                                 (long long)s->dims[1], (long long)s->dims[2],
                                 (long long)s->dims[3], (int)s->ndim);
    }
    if (count < 0 || (uint64_t)count != s->nbytes / esize)
        return irllrec__fail(m->ctx, IRLLREC_E_SHAPE, func,
                             "section \"%s\" holds %zu values, count is %lld", name,
                             s->nbytes / esize, (long long)count);
    irllrec__model_from_le(dst, (const uint8_t *)s->data, s->nbytes / esize, esize);
    return IRLLREC_OK;
}

irllrec_status irllrec_model_get_f32(const irllrec_model *m, const char *name, int32_t ndim,
                                     const int64_t *dims, float *dst, int64_t count)
{
    return get_section(m, __func__, name, IRLLREC_MODEL_F32, ndim, dims, dst, count);
}

irllrec_status irllrec_model_get_u64(const irllrec_model *m, const char *name, uint64_t *dst,
                                     int64_t count)
{
    return get_section(m, __func__, name, IRLLREC_MODEL_U64, 0, NULL, dst, count);
}

int32_t irllrec_model_meta_count(const irllrec_model *m)
{
    return m == NULL ? -1 : m->n_meta;
}

const char *irllrec_model_meta_key(const irllrec_model *m, int32_t i, uint32_t *type)
{
    if (type != NULL) *type = 0;
    if (m == NULL || i < 0 || i >= m->n_meta) return NULL;
    if (type != NULL) *type = m->meta[i].type;
    return m->meta[i].key;
}

static const irllrec__meta *get_meta(const irllrec_model *m, const char *func, const char *key,
                                     const void *out, uint32_t type, irllrec_status *st)
{
    int32_t i;
    if (key == NULL || out == NULL) {
        *st = irllrec__fail(m->ctx, IRLLREC_E_INVALID_ARG, func, "key or output is NULL");
        return NULL;
    }
    i = irllrec__model_meta_index(m, key);
    if (i < 0) {
        *st = irllrec__fail(m->ctx, IRLLREC_E_FORMAT, func, "no metadata key \"%s\"", key);
        return NULL;
    }
    if (m->meta[i].type != type) {
        *st = irllrec__fail(m->ctx, IRLLREC_E_FORMAT, func, "metadata \"%s\" has type %u, not %u",
                            key, m->meta[i].type, type);
        return NULL;
    }
    *st = IRLLREC_OK;
    return &m->meta[i];
}

irllrec_status irllrec_model_get_meta_i64(const irllrec_model *m, const char *key, int64_t *value)
{
    irllrec_status st;
    const irllrec__meta *e;
    if (m == NULL) return IRLLREC_E_INVALID_ARG;
    e = get_meta(m, __func__, key, value, IRLLREC_MODEL_META_I64, &st);
    if (e != NULL) *value = e->i64;
    return st;
}

irllrec_status irllrec_model_get_meta_f64(const irllrec_model *m, const char *key, double *value)
{
    irllrec_status st;
    const irllrec__meta *e;
    if (m == NULL) return IRLLREC_E_INVALID_ARG;
    e = get_meta(m, __func__, key, value, IRLLREC_MODEL_META_F64, &st);
    if (e != NULL) memcpy(value, &e->f64_bits, sizeof *value);
    return st;
}

irllrec_status irllrec_model_get_meta_str(const irllrec_model *m, const char *key, char *buf,
                                          size_t cap, size_t *len)
{
    irllrec_status st;
    const irllrec__meta *e;
    if (m == NULL) return IRLLREC_E_INVALID_ARG;
    /* The buffer is optional (length query), so check the key against a dummy. */
    e = get_meta(m, __func__, key, key, IRLLREC_MODEL_META_STR, &st);
    if (e == NULL) return st;
    if (len != NULL) *len = e->len;
    if (buf == NULL) return IRLLREC_OK;
    IRL_CHECK(m->ctx, cap > e->len, IRLLREC_E_INVALID_ARG,
              "cap %zu is too small for %zu bytes and a NUL", cap, e->len);
    memcpy(buf, e->str, e->len + 1);
    return IRLLREC_OK;
}
