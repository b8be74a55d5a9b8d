/** @file
 * libirllrec: the context.
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

/** Allocation callback of a context (irllrec_ctx_spec::alloc).
 *  Called from whichever thread is using the context, and from the context's
 *  worker threads only while the caller's call is running: it must be safe to
 *  call from those threads. It must not call back into the library.
 *  @param ud     irllrec_ctx_spec::alloc_ud
 *  @param n      bytes wanted (> 0)
 *  @param align  alignment wanted: a power of two, at most 64
 *  @return the block, or NULL on failure (the library then returns IRLLREC_E_NOMEM) */
typedef void *(*irllrec_alloc_fn)(void *ud, size_t n, size_t align);
/** Release callback of a context (irllrec_ctx_spec::free). Never called with NULL.
 *  @param ud  irllrec_ctx_spec::alloc_ud
 *  @param p   a block returned by the matching irllrec_alloc_fn
 *  @param n   the size that was asked for when @p p was allocated */
typedef void (*irllrec_free_fn)(void *ud, void *p, size_t n);
/** Log callback of a context. Called synchronously on the thread making the
 *  library call; it must not call back into the library with the same context.
 *  @param ud     the user data given with the callback
 *  @param level  an irllrec_log_level value, at most the context's level
 *  @param msg    NUL-terminated message, borrowed for the duration of the call only */
typedef void (*irllrec_log_fn)(void *ud, int32_t level, const char *msg);

/** Log levels, pinned. A context passes messages up to its level (0: none). */
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

/** Fill @p spec with defaults (1 thread, system allocator, no log callback,
 *  level IRLLREC_LOG_WARN) and set its struct_size to @p struct_size.
 *  Writes exactly @p struct_size bytes, so a caller compiled against an older,
 *  shorter struct is safe. For a newer, longer struct, the bytes past this
 *  library's struct are zeroed and the size is kept, not capped, so
 *  irllrec_ctx_create() refuses a field this library does not know (IRLLREC_E_VERSION).
 *  @param spec          caller-owned; NULL does nothing
 *  @param struct_size   sizeof(irllrec_ctx_spec) as the caller sees it; below 4, nothing is written
 *  @note Thread-safe; does not allocate. */
IRLLREC_API void irllrec_ctx_spec_init(irllrec_ctx_spec *spec, uint32_t struct_size);

/** Create a context.
 *  @param spec   NULL for defaults; otherwise read during this call only. A spec
 *                shorter than the library's is zero-extended; a longer one must
 *                have an all-zero tail.
 *  @param[out] out  must not be NULL; receives the new context, owned by the
 *                caller, or NULL on failure; free with irllrec_ctx_free()
 *  @return IRLLREC_OK; IRLLREC_E_INVALID_ARG (NULL @p out, alloc without free or
 *          the reverse, n_threads not in 1..256, log_level not in 0..4, reserved0 != 0);
 *          IRLLREC_E_VERSION (struct_size < 4, or a non-zero unknown tail);
 *          IRLLREC_E_NOMEM; IRLLREC_E_INTERNAL (libsodium failed to initialise)
 *  @note Thread-safe: any number of contexts may be created concurrently.
 *        Allocates the context through the spec's allocator. There is no
 *        context to hold a message on failure: the status is all there is. */
IRLLREC_API irllrec_status irllrec_ctx_create(const irllrec_ctx_spec *spec, irllrec_ctx **out);

/** Free a context. Every handle created from it must be freed first.
 *  @param ctx  may be NULL (nothing happens); invalid after the call
 *  @note Not to be called while another thread uses @p ctx. */
IRLLREC_API void irllrec_ctx_free(irllrec_ctx *ctx);

/** Message of the last failure on @p ctx: "<function>: <what>".
 *  Calls that fail because their handle is NULL have no context and leave no message.
 *  @param ctx  the context; may be NULL
 *  @return never NULL; "" when nothing failed; "no context" for NULL. Borrowed
 *          from the context: valid until the next call on @p ctx or a handle made from it.
 *  @note Read it on the thread that made the failing call, before the next call
 *        on the same context tree. Does not allocate. */
IRLLREC_API const char *irllrec_ctx_errmsg(const irllrec_ctx *ctx);

/** Status of the last failure recorded on @p ctx.
 *  @param ctx  the context; may be NULL
 *  @return the status of the last failure, IRLLREC_OK when none (or after
 *          irllrec_ctx_clear_error()), IRLLREC_E_INVALID_ARG for a NULL @p ctx
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_ctx_errcode(const irllrec_ctx *ctx);

/** Forget the last failure: irllrec_ctx_errmsg() becomes "" and
 *  irllrec_ctx_errcode() IRLLREC_OK. Successful calls never clear it themselves.
 *  @param ctx  the context; NULL does nothing
 *  @note Not thread-safe on one context tree. Does not allocate. */
IRLLREC_API void irllrec_ctx_clear_error(irllrec_ctx *ctx);

/** Replace the log callback and level.
 *  @param ctx    the context; must not be NULL
 *  @param fn     the new callback, or NULL to stop logging
 *  @param ud     passed to @p fn; kept by the context (not dereferenced by the library)
 *  @param level  highest irllrec_log_level passed on, 0..4 (0: nothing)
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL ctx, level out of 0..4;
 *          nothing changes)
 *  @note Not thread-safe on one context tree. Does not allocate. */
IRLLREC_API irllrec_status irllrec_ctx_set_log(irllrec_ctx *ctx, irllrec_log_fn fn, void *ud,
                                               int32_t level);

/** Number of worker threads the library may start for this context.
 *  @param ctx  the context; may be NULL
 *  @return the spec's n_threads (>= 1), or 0 for NULL
 *  @note Does not allocate. */
IRLLREC_API int32_t irllrec_ctx_n_threads(const irllrec_ctx *ctx);

/** Name of the dense-product backend compiled in.
 *  @return "cblas" or "reference" (built with -DIRLLREC_BLAS=OFF); a static
 *          string that must not be freed
 *  @note Thread-safe, never fails, does not allocate. The library never changes
 *        the BLAS library's own thread count; that is the host's business. */
IRLLREC_API const char *irllrec_gemm_backend(void);

/** What a hook created with text_precision = IRLLREC_HOOK_TEXT_BF16 would
 *  run its text towers' bf16 products on, decided now on this CPU.
 *  @return "onednn matmul (AVX512-BF16)", "onednn matmul (AMX)", or a string
 *          starting with "none:" and saying why such a hook falls back to
 *          fp32 (built without oneDNN, or the CPU has neither feature); a
 *          static string that must not be freed
 *  @note Thread-safe, never fails, does not allocate. oneDNN's threads are
 *        OpenMP's (OMP_NUM_THREADS), the host's business like BLAS's. */
IRLLREC_API const char *irllrec_text_bf16_backend(void);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_CTX_H */
