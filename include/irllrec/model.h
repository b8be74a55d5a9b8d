/** @file
 * libirllrec: model files (.irlm), a generic container of named sections.
 *
 * A model is an ordered set of named sections: float32 or uint64 tensors of
 * up to 4 dimensions (parameters, teacher copies, optimizer moments, RNG
 * states) plus one set of typed key/value metadata (int64, double, string).
 * It is saved as the little-endian, checksummed format of docs/file-format.md
 * (BLAKE2b-256 over the header, the section table and every payload) and
 * loaded from memory or from a path with every size and offset validated
 * against the input length before anything is allocated.
 *
 * Ownership: every add_* call copies the caller's data; getters copy out into
 * caller buffers or return borrowed pointers valid until the model is freed.
 * The library never returns memory for the caller to free.
 * Threads: a model belongs to its context tree (docs/threading.md). */
#ifndef IRLLREC_MODEL_H
#define IRLLREC_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque model handle. */
typedef struct irllrec_model irllrec_model;

/** Section kinds (pinned values, written to files). */
enum irllrec_model_kind {
    IRLLREC_MODEL_META = 1,    /**< the typed key/value metadata (one section, written first) */
    IRLLREC_MODEL_TENSOR = 2,  /**< a trainable parameter block */
    IRLLREC_MODEL_OPTIM = 3,   /**< optimizer state (step counters, moments) */
    IRLLREC_MODEL_RNG = 4,     /**< a random generator's state */
    IRLLREC_MODEL_TEACHER = 5  /**< momentum-teacher parameters */
};

/** Element types of sections (pinned values, written to files). */
enum irllrec_model_dtype {
    IRLLREC_MODEL_F32 = 1, /**< IEEE-754 binary32 */
    IRLLREC_MODEL_U64 = 2, /**< unsigned 64-bit integer */
    IRLLREC_MODEL_U8 = 3   /**< raw bytes (the metadata section) */
};

/** Metadata value types (pinned values, written to files). */
enum irllrec_model_meta_type {
    IRLLREC_MODEL_META_I64 = 1, /**< int64_t */
    IRLLREC_MODEL_META_F64 = 2, /**< double (bit pattern kept exactly) */
    IRLLREC_MODEL_META_STR = 3  /**< byte string without NUL bytes */
};

/** Section flags. */
enum irllrec_model_section_flags {
    /** A reader that does not know this section's kind must refuse the file. */
    IRLLREC_MODEL_REQUIRED = 1u
};

/** Limits. */
enum irllrec_model_limits {
    IRLLREC_MODEL_NAME_MAX = 47, /**< longest section name in bytes */
    IRLLREC_MODEL_KEY_MAX = 63,  /**< longest metadata key in bytes */
    IRLLREC_MODEL_MAX_DIMS = 4   /**< most dimensions of a tensor */
};

/** Options of the loaders. Initialise with irllrec_model_load_opts_init();
 *  fields are only appended. */
typedef struct irllrec_model_load_opts {
    uint32_t struct_size;  /**< sizeof(irllrec_model_load_opts) as the caller compiled it */
    uint32_t check_finite; /**< nonzero: refuse NaN/Inf in float32 sections (IRLLREC_E_NUMERIC) */
    uint64_t max_bytes;    /**< 0: no cap. Otherwise refuse (IRLLREC_E_NOMEM) an input longer
                                than this, or one whose model would take more memory */
} irllrec_model_load_opts;

/** Write defaults (no cap, no finiteness check).
 *  @param opts         caller-owned; NULL does nothing
 *  @param struct_size  sizeof(irllrec_model_load_opts) as the caller sees it
 *  @note Thread-safe; does not allocate. */
IRLLREC_API void irllrec_model_load_opts_init(irllrec_model_load_opts *opts,
                                              uint32_t struct_size);

/** Create an empty model.
 *  @param ctx       owning context (allocator, errors); must outlive the model
 *  @param[out] out  the new model, or NULL on failure; free with irllrec_model_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_model_create(irllrec_ctx *ctx, irllrec_model **out);

/** Free a model; NULL is allowed. */
IRLLREC_API void irllrec_model_free(irllrec_model *m);

/** Append a float32 tensor section (the data is copied).
 *  @param m      model
 *  @param kind   IRLLREC_MODEL_TENSOR, _OPTIM, _RNG or _TEACHER
 *  @param name   1..IRLLREC_MODEL_NAME_MAX bytes, unique within the model, not "meta"
 *  @param data   ndim-dimensional row-major array; not NULL
 *  @param ndim   1..4
 *  @param dims   ndim extents, each >= 1; the byte size must fit in size_t
 *  @param flags  0 or IRLLREC_MODEL_REQUIRED
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL, bad kind/name/flags, duplicate name),
 *          IRLLREC_E_SHAPE (bad ndim/dims or overflow), IRLLREC_E_NOMEM.
 *          On failure the model is unchanged. */
IRLLREC_API irllrec_status irllrec_model_add_tensor(irllrec_model *m, uint32_t kind,
                                                    const char *name, const float *data,
                                                    int32_t ndim, const int64_t *dims,
                                                    uint32_t flags);

/** Append a 1-D uint64 section of @p count >= 1 values (copied); e.g. an RNG
 *  state or an optimizer step counter. Arguments and returns as irllrec_model_add_tensor(). */
IRLLREC_API irllrec_status irllrec_model_add_u64s(irllrec_model *m, uint32_t kind,
                                                  const char *name, const uint64_t *data,
                                                  int64_t count, uint32_t flags);

/** Append metadata key @p key (1..IRLLREC_MODEL_KEY_MAX bytes, no NUL) with
 *  an int64 value. Keys keep their insertion order and are unique.
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL, bad or duplicate key),
 *          IRLLREC_E_NOMEM (model unchanged) */
IRLLREC_API irllrec_status irllrec_model_add_meta_i64(irllrec_model *m, const char *key,
                                                      int64_t value);
/** As irllrec_model_add_meta_i64() for a double (any bit pattern, NaN included). */
IRLLREC_API irllrec_status irllrec_model_add_meta_f64(irllrec_model *m, const char *key,
                                                      double value);
/** As irllrec_model_add_meta_i64() for a NUL-terminated string (copied; < 2^31 bytes). */
IRLLREC_API irllrec_status irllrec_model_add_meta_str(irllrec_model *m, const char *key,
                                                      const char *value);

/** Number of tensor sections (the metadata is not counted), or -1 for NULL. */
IRLLREC_API int32_t irllrec_model_section_count(const irllrec_model *m);

/** Index of the section called @p name.
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL argument), IRLLREC_E_FORMAT (no such
 *          section; *index = -1) */
IRLLREC_API irllrec_status irllrec_model_find(const irllrec_model *m, const char *name,
                                              int32_t *index);

/** Name of section @p index: borrowed, valid until the model is freed; NULL
 *  when @p index is out of range. */
IRLLREC_API const char *irllrec_model_section_name(const irllrec_model *m, int32_t index);

/** Describe section @p index. Every out pointer may be NULL; @p dims gets
 *  IRLLREC_MODEL_MAX_DIMS entries (unused ones 0).
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG */
IRLLREC_API irllrec_status irllrec_model_section_info(const irllrec_model *m, int32_t index,
                                                      uint32_t *kind, uint32_t *dtype,
                                                      uint32_t *flags, int32_t *ndim,
                                                      int64_t *dims);

/** Borrowed pointer to the payload bytes of section @p index exactly as in the
 *  file (little-endian); valid until the model is freed. NULL when out of range.
 *  @param[out] nbytes  payload size, or NULL */
IRLLREC_API const void *irllrec_model_section_data(const irllrec_model *m, int32_t index,
                                                   uint64_t *nbytes);

/** Copy the float32 section @p name into @p dst.
 *  @param ndim   0: do not check the shape; else the expected ndim, with @p dims
 *  @param dims   expected extents when ndim > 0
 *  @param count  capacity of @p dst in floats; must equal the element count
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_FORMAT (missing or not float32),
 *          IRLLREC_E_SHAPE (shape or count differs; dst untouched) */
IRLLREC_API irllrec_status irllrec_model_get_f32(const irllrec_model *m, const char *name,
                                                 int32_t ndim, const int64_t *dims, float *dst,
                                                 int64_t count);

/** Copy the uint64 section @p name (exactly @p count values) into @p dst.
 *  @return as irllrec_model_get_f32() */
IRLLREC_API irllrec_status irllrec_model_get_u64(const irllrec_model *m, const char *name,
                                                 uint64_t *dst, int64_t count);

/** Number of metadata keys, or -1 for NULL. */
IRLLREC_API int32_t irllrec_model_meta_count(const irllrec_model *m);

/** Key number @p i in insertion order (borrowed until the model is freed), NULL when out of range.
 *  @param[out] type  its irllrec_model_meta_type, or NULL */
IRLLREC_API const char *irllrec_model_meta_key(const irllrec_model *m, int32_t i, uint32_t *type);

/** Read an int64 metadata value.
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_FORMAT (missing or another type) */
IRLLREC_API irllrec_status irllrec_model_get_meta_i64(const irllrec_model *m, const char *key,
                                                      int64_t *value);
/** Read a double metadata value; returns as irllrec_model_get_meta_i64(). */
IRLLREC_API irllrec_status irllrec_model_get_meta_f64(const irllrec_model *m, const char *key,
                                                      double *value);
/** Read a string metadata value into @p buf (NUL-terminated).
 *  @param buf   NULL to query the length only
 *  @param cap   capacity of buf; must be > the length
 *  @param[out] len  string length without the NUL, or NULL
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (also cap too small; *len still set),
 *          IRLLREC_E_FORMAT (missing or another type) */
IRLLREC_API irllrec_status irllrec_model_get_meta_str(const irllrec_model *m, const char *key,
                                                      char *buf, size_t cap, size_t *len);

/** Serialise into memory. The bytes depend only on the model's content.
 *  @param buf   NULL: only report the size in *size
 *  @param cap   capacity of buf
 *  @param[out] size  file size in bytes; not NULL
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (also cap < size), IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_model_save_mem(const irllrec_model *m, void *buf, size_t cap,
                                                  size_t *size);

/** Save to @p path atomically: a temporary file next to it is written,
 *  fsync'ed and renamed over the target, then the directory is fsync'ed. An
 *  interrupted save leaves the previous file (or none) at @p path, plus
 *  possibly a stale "<path>.tmp.*" file.
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_NOMEM, IRLLREC_E_IO */
IRLLREC_API irllrec_status irllrec_model_save(const irllrec_model *m, const char *path);

/** Load a model from @p len bytes at @p buf (borrowed for the call only).
 *  Checks run in the order of docs/file-format.md; the context message names
 *  the failed check and its byte offset.
 *  @param opts  NULL for defaults
 *  @param[out] out  new model, or NULL on failure
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_FORMAT (bad magic, malformed
 *          structure), IRLLREC_E_VERSION (unsupported major version, or opts struct_size),
 *          IRLLREC_E_UNSUPPORTED (unknown required flag, required section kind, dtype or
 *          hash algorithm), IRLLREC_E_CHECKSUM, IRLLREC_E_NOMEM (allocation failure or
 *          max_bytes exceeded), IRLLREC_E_NUMERIC (check_finite) */
IRLLREC_API irllrec_status irllrec_model_load_mem(irllrec_ctx *ctx, const void *buf, size_t len,
                                                  const irllrec_model_load_opts *opts,
                                                  irllrec_model **out);

/** Read the file at @p path and load it as irllrec_model_load_mem() does;
 *  a file longer than opts->max_bytes is refused before it is read.
 *  @return as irllrec_model_load_mem(), plus IRLLREC_E_IO */
IRLLREC_API irllrec_status irllrec_model_load(irllrec_ctx *ctx, const char *path,
                                              const irllrec_model_load_opts *opts,
                                              irllrec_model **out);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_MODEL_H */
