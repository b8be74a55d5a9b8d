/* The context: allocator, log callback, last-error message. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "../internal.h"

static void *default_alloc(void *ud, size_t n, size_t align)
{
    void *p = NULL;
    (void)ud;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, n) != 0) return NULL;
    return p;
}

static void default_free(void *ud, void *p, size_t n)
{
    (void)ud;
    (void)n;
    free(p);
}

void irllrec_ctx_spec_init(irllrec_ctx_spec *spec, uint32_t struct_size)
{
    static const irllrec_ctx_spec d = {
        .n_threads = 1,
        .log_level = IRLLREC_LOG_WARN};
    irllrec__spec_init(spec, struct_size, &d, sizeof d);
}

void irllrec__spec_init(void *spec, uint32_t struct_size, const void *defaults, size_t lib_size)
{
    if (spec == NULL || struct_size < sizeof(uint32_t)) return;
    if (struct_size > lib_size) {
        memcpy(spec, defaults, lib_size);
        memset((unsigned char *)spec + lib_size, 0, struct_size - lib_size);
    } else {
        memcpy(spec, defaults, struct_size);
    }
    memcpy(spec, &struct_size, sizeof struct_size);
}

irllrec_status irllrec__begin_create(irllrec_ctx *ctx, const char *func, int out_is_null,
                                     const void *spec, void *dst, size_t dst_size)
{
    if (out_is_null) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "out is NULL");
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    if (spec == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "spec is NULL");
    return irllrec__copy_spec(ctx, func, dst, dst_size, spec);
}

irllrec_status irllrec__copy_spec(irllrec_ctx *ctx, const char *func, void *dst, size_t dst_size,
                                  const void *src)
{
    uint32_t n;
    const unsigned char *s = (const unsigned char *)src;
    memcpy(&n, src, sizeof n);
    if (n < sizeof(uint32_t))
        return irllrec__fail(ctx, IRLLREC_E_VERSION, func,
                             "struct_size %u is too small (call the *_spec_init function)", n);
    memset(dst, 0, dst_size);
    if (n <= dst_size) {
        memcpy(dst, src, n);
    } else {
        /* A newer caller: the fields this library does not know must be zero. */
        for (size_t i = dst_size; i < n; i++)
            if (s[i] != 0)
                return irllrec__fail(ctx, IRLLREC_E_VERSION, func,
                                     "struct_size %u > %zu and byte %zu is set: a field this "
                                     "library version does not know", n, dst_size, i);
        memcpy(dst, src, dst_size);
    }
    memcpy(dst, &(uint32_t){(uint32_t)dst_size}, sizeof(uint32_t));
    return IRLLREC_OK;
}

irllrec_status irllrec_ctx_create(const irllrec_ctx_spec *spec, irllrec_ctx **out)
{
    irllrec_ctx_spec s;
    irllrec_ctx *ctx;
    if (out == NULL) return IRLLREC_E_INVALID_ARG;
    *out = NULL;
    if (spec == NULL) {
        irllrec_ctx_spec_init(&s, (uint32_t)sizeof s);
    } else {
        IRL_TRY(irllrec__copy_spec(NULL, __func__, &s, sizeof s, spec));
    }
    if ((s.alloc == NULL) != (s.free == NULL)) return IRLLREC_E_INVALID_ARG;
    if (s.n_threads < 1 || s.n_threads > 256) return IRLLREC_E_INVALID_ARG;
    if (s.log_level < 0 || s.log_level > IRLLREC_LOG_DEBUG) return IRLLREC_E_INVALID_ARG;
    if (s.reserved0 != 0) return IRLLREC_E_INVALID_ARG;
    /* libsodium: 0 first time, 1 already initialised, -1 failure; thread-safe. */
    if (sodium_init() < 0) return IRLLREC_E_INTERNAL;
    if (s.alloc == NULL) {
        s.alloc = default_alloc;
        s.free = default_free;
    }
    ctx = (irllrec_ctx *)s.alloc(s.alloc_ud, sizeof *ctx, 64);
    if (ctx == NULL) return IRLLREC_E_NOMEM;
    memset(ctx, 0, sizeof *ctx);
    ctx->alloc = s.alloc;
    ctx->free = s.free;
    ctx->alloc_ud = s.alloc_ud;
    ctx->log = s.log;
    ctx->log_ud = s.log_ud;
    ctx->log_level = s.log_level;
    ctx->n_threads = s.n_threads;
    *out = ctx;
    return IRLLREC_OK;
}

void irllrec_ctx_free(irllrec_ctx *ctx)
{
    if (ctx == NULL) return;
    ctx->free(ctx->alloc_ud, ctx, sizeof *ctx);
}

const char *irllrec_ctx_errmsg(const irllrec_ctx *ctx)
{
    if (ctx == NULL) return "no context";
    return ctx->errmsg;
}

irllrec_status irllrec_ctx_errcode(const irllrec_ctx *ctx)
{
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    return ctx->last_status;
}

void irllrec_ctx_clear_error(irllrec_ctx *ctx)
{
    if (ctx == NULL) return;
    ctx->errmsg[0] = '\0';
    ctx->last_status = IRLLREC_OK;
}

irllrec_status irllrec_ctx_set_log(irllrec_ctx *ctx, irllrec_log_fn fn, void *ud, int32_t level)
{
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, level >= 0 && level <= IRLLREC_LOG_DEBUG, IRLLREC_E_INVALID_ARG,
              "level %d is not in 0..4", (int)level);
    ctx->log = fn;
    ctx->log_ud = ud;
    ctx->log_level = level;
    return IRLLREC_OK;
}

int32_t irllrec_ctx_n_threads(const irllrec_ctx *ctx)
{
    return ctx == NULL ? 0 : ctx->n_threads;
}

static void vlog(irllrec_ctx *ctx, int32_t level, const char *fmt, va_list ap)
{
    char buf[IRLLREC__ERRMSG_CAP];
    if (ctx == NULL || ctx->log == NULL || level > ctx->log_level) return;
    vsnprintf(buf, sizeof buf, fmt, ap);
    ctx->log(ctx->log_ud, level, buf);
}

void irllrec__log(irllrec_ctx *ctx, int32_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(ctx, level, fmt, ap);
    va_end(ap);
}

irllrec_status irllrec__fail(irllrec_ctx *ctx, irllrec_status st, const char *func,
                             const char *fmt, ...)
{
    va_list ap;
    int n;
    if (ctx == NULL) return st;
    n = snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s: ", func);
    if (n < 0 || (size_t)n >= sizeof ctx->errmsg) n = 0;
    va_start(ap, fmt);
    vsnprintf(ctx->errmsg + n, sizeof ctx->errmsg - (size_t)n, fmt, ap);
    va_end(ap);
    ctx->last_status = st;
    irllrec__log(ctx, IRLLREC_LOG_ERROR, "%s", ctx->errmsg);
    return st;
}

void *irllrec__alloc_fn(irllrec_ctx *ctx, const char *func, size_t n)
{
    void *p;
    if (n == 0) return NULL;
    p = ctx->alloc(ctx->alloc_ud, n, 64);
    if (p == NULL)
        irllrec__fail(ctx, IRLLREC_E_NOMEM, func, "allocation of %zu bytes failed", n);
    return p;
}

void *irllrec__calloc_fn(irllrec_ctx *ctx, const char *func, size_t count, size_t size)
{
    size_t n;
    void *p;
    if (irllrec__mul_overflow(count, size, &n)) {
        irllrec__fail(ctx, IRLLREC_E_NOMEM, func, "allocation of %zu x %zu bytes overflows", count,
                      size);
        return NULL;
    }
    p = irllrec__alloc_fn(ctx, func, n);
    if (p != NULL) memset(p, 0, n);
    return p;
}

void irllrec__free(irllrec_ctx *ctx, void *p, size_t n)
{
    if (p == NULL) return;
    ctx->free(ctx->alloc_ud, p, n);
}

int irllrec__mul_overflow(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return 1;
    *out = a * b;
    return 0;
}
