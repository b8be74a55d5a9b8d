/* libirllrec: the context.
 *
 * A context is the root of every handle: it carries the allocator, the log
 * callback, the number of worker threads the library may start, and the
 * message of the last failure. One context (and the handles made from it) is
 * used by one thread at a time; distinct contexts may run concurrently. */
#ifndef IRLLREC_CTX_H
#define IRLLREC_CTX_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque context handle. */
typedef struct irllrec_ctx irllrec_ctx;

/** Allocation callback: return @p n bytes aligned to @p align (a power of two,
 *  at most 64), or NULL on failure. */
typedef void *(*irllrec_alloc_fn)(void *ud, size_t n, size_t align);
/** Release callback: @p p came from the matching alloc with size @p n. */
typedef void (*irllrec_free_fn)(void *ud, void *p, size_t n);
/** Log callback: @p msg is valid for the duration of the call only. */
typedef void (*irllrec_log_fn)(void *ud, int32_t level, const char *msg);

/** Log levels, pinned. */
enum irllrec_log_level {
    IRLLREC_LOG_ERROR = 1, /**< a call failed (the message is also in irllrec_ctx_errmsg) */
    IRLLREC_LOG_WARN  = 2, /**< something the caller should know (e.g. empty text rows) */
    IRLLREC_LOG_INFO  = 3, /**< progress */
    IRLLREC_LOG_DEBUG = 4  /**< detail */
};

/** Creation parameters of a context. Initialise with irllrec_ctx_spec_init().
 *  Fields are only ever appended; struct_size tells the library which exist. */
typedef struct irllrec_ctx_spec {
    uint32_t struct_size;     /**< sizeof(irllrec_ctx_spec) as the caller compiled it */
    int32_t n_threads;        /**< worker threads the library may start (>= 1; default 1) */
    irllrec_alloc_fn alloc;   /**< NULL: aligned system allocator */
    irllrec_free_fn free;     /**< must be set iff alloc is set */
    void *alloc_ud;           /**< passed to alloc and free */
    irllrec_log_fn log;       /**< NULL: no logging */
    void *log_ud;             /**< passed to log */
    int32_t log_level;        /**< highest level passed to log (default IRLLREC_LOG_WARN) */
    int32_t reserved0;        /**< must be zero */
} irllrec_ctx_spec;

/** Fill @p spec with defaults and set its struct_size.
 *  @param spec          caller-owned; must not be NULL
 *  @param struct_size   sizeof(irllrec_ctx_spec) as the caller sees it
 *  @note Thread-safe; does not allocate. */
IRLLREC_API void irllrec_ctx_spec_init(irllrec_ctx_spec *spec, uint32_t struct_size);

/** Create a context.
 *  @param spec   NULL for defaults. A spec shorter than the library's is
 *                zero-extended; a longer one must have an all-zero tail.
 *  @param[out] out  the new context, or NULL on failure; free with irllrec_ctx_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_VERSION, IRLLREC_E_NOMEM,
 *          IRLLREC_E_INTERNAL (libsodium failed to initialise)
 *  @note Thread-safe. There is no context to hold a message on failure. */
IRLLREC_API irllrec_status irllrec_ctx_create(const irllrec_ctx_spec *spec, irllrec_ctx **out);

/** Free a context. Every handle created from it must be freed first.
 *  @param ctx  may be NULL (nothing happens) */
IRLLREC_API void irllrec_ctx_free(irllrec_ctx *ctx);

/** Message of the last failure on @p ctx: "<function>: <what>".
 *  @return never NULL; "" when nothing failed; "no context" for NULL. Borrowed:
 *          valid until the next call on @p ctx. */
IRLLREC_API const char *irllrec_ctx_errmsg(const irllrec_ctx *ctx);

/** Status of the last failure on @p ctx (IRLLREC_OK when none).
 *  @return IRLLREC_E_INVALID_ARG for a NULL @p ctx */
IRLLREC_API irllrec_status irllrec_ctx_errcode(const irllrec_ctx *ctx);

/** Forget the last failure (errmsg becomes ""). @p ctx may be NULL. */
IRLLREC_API void irllrec_ctx_clear_error(irllrec_ctx *ctx);

/** Replace the log callback and level. @p fn may be NULL to stop logging.
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL ctx, level out of 0..4) */
IRLLREC_API irllrec_status irllrec_ctx_set_log(irllrec_ctx *ctx, irllrec_log_fn fn, void *ud,
                                               int32_t level);

/** Number of worker threads the library may start for this context (>= 1), or 0 for NULL. */
IRLLREC_API int32_t irllrec_ctx_n_threads(const irllrec_ctx *ctx);

/** Name of the dense-product backend compiled in: "cblas" or "reference". Static string. */
IRLLREC_API const char *irllrec_gemm_backend(void);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_CTX_H */
