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
 * caller buffers or return borrowed pointers (a section's payload is valid
 * until the model is freed; a section name or metadata key only until the
 * next add_* call of that kind, which may move the table). The library never
 * returns memory for the caller to free.
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

/** Write defaults (no cap, no finiteness check) into the first @p struct_size
 *  bytes of @p opts; struct_size becomes the smaller of @p struct_size and this
 *  library's sizeof(irllrec_model_load_opts).
 *  @param opts         caller-owned; NULL does nothing
 *  @param struct_size  sizeof(irllrec_model_load_opts) as the caller sees it
 *  @note Thread-safe; does not allocate. */
IRLLREC_API void irllrec_model_load_opts_init(irllrec_model_load_opts *opts,
                                              uint32_t struct_size);

/** Create an empty model.
 *  @param ctx       owning context (allocator, errors); must outlive the model
 *  @param[out] out  the new model, or NULL on failure; free with irllrec_model_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL @p ctx or @p out), IRLLREC_E_NOMEM
 *  @note Allocates from @p ctx; the context-tree threading rule applies. */
IRLLREC_API irllrec_status irllrec_model_create(irllrec_ctx *ctx, irllrec_model **out);

/** Free a model with all its sections and metadata (through its context's
 *  allocator). Every pointer returned by its getters becomes invalid.
 *  @param m  the model; NULL does nothing */
IRLLREC_API void irllrec_model_free(irllrec_model *m);

/** Append a float32 tensor section (the data is copied).
 *  @param m      model; NULL gives IRLLREC_E_INVALID_ARG (no message: no context)
 *  @param kind   IRLLREC_MODEL_TENSOR, _OPTIM, _RNG or _TEACHER
 *  @param name   1..IRLLREC_MODEL_NAME_MAX bytes, unique within the model, not "meta";
 *                read during the call only
 *  @param data   ndim-dimensional row-major array in native byte order; not NULL;
 *                read during the call only (stored little-endian)
 *  @param ndim   1..4
 *  @param dims   ndim extents, each >= 1; the byte size must fit in size_t; not NULL
 *  @param flags  0 or IRLLREC_MODEL_REQUIRED
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL, bad kind/name/flags, duplicate name),
 *          IRLLREC_E_SHAPE (bad ndim/dims or overflow), IRLLREC_E_NOMEM.
 *          On failure the model is unchanged.
 *  @note Allocates a copy of the data from the model's context, and may grow
 *        the section table, which invalidates pointers from
 *        irllrec_model_section_name(). One thread at a time per context tree. */
IRLLREC_API irllrec_status irllrec_model_add_tensor(irllrec_model *m, uint32_t kind,
                                                    const char *name, const float *data,
                                                    int32_t ndim, const int64_t *dims,
                                                    uint32_t flags);

/** Append a 1-D uint64 section (copied); e.g. an RNG state or an optimizer
 *  step counter. Validation, ownership and allocation as irllrec_model_add_tensor().
 *  @param m      model; NULL gives IRLLREC_E_INVALID_ARG
 *  @param kind   IRLLREC_MODEL_TENSOR, _OPTIM, _RNG or _TEACHER
 *  @param name   1..IRLLREC_MODEL_NAME_MAX bytes, unique within the model, not "meta"
 *  @param data   @p count values in native byte order; not NULL; read during the call only
 *  @param count  number of values, >= 1
 *  @param flags  0 or IRLLREC_MODEL_REQUIRED
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL, bad kind/name/flags, duplicate name),
 *          IRLLREC_E_SHAPE (@p count < 1 or byte size overflows), IRLLREC_E_NOMEM.
 *          On failure the model is unchanged. */
IRLLREC_API irllrec_status irllrec_model_add_u64s(irllrec_model *m, uint32_t kind,
                                                  const char *name, const uint64_t *data,
                                                  int64_t count, uint32_t flags);

/** Append metadata key @p key with an int64 value. Keys keep their insertion
 *  order and are unique; a model holds at most 4096 keys.
 *  @param m      model; NULL gives IRLLREC_E_INVALID_ARG
 *  @param key    1..IRLLREC_MODEL_KEY_MAX bytes before the NUL; copied
 *  @param value  the value
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL, bad or duplicate key, key limit
 *          reached), IRLLREC_E_NOMEM. On failure the model is unchanged.
 *  @note May grow the key table from the model's context, which invalidates
 *        pointers from irllrec_model_meta_key(). One thread at a time per context tree. */
IRLLREC_API irllrec_status irllrec_model_add_meta_i64(irllrec_model *m, const char *key,
                                                      int64_t value);
/** As irllrec_model_add_meta_i64() for a double.
 *  @param m      model; NULL gives IRLLREC_E_INVALID_ARG
 *  @param key    1..IRLLREC_MODEL_KEY_MAX bytes before the NUL; copied
 *  @param value  any bit pattern, NaN included; stored and saved bit for bit
 *  @return as irllrec_model_add_meta_i64() */
IRLLREC_API irllrec_status irllrec_model_add_meta_f64(irllrec_model *m, const char *key,
                                                      double value);
/** As irllrec_model_add_meta_i64() for a string.
 *  @param m      model; NULL gives IRLLREC_E_INVALID_ARG
 *  @param key    1..IRLLREC_MODEL_KEY_MAX bytes before the NUL; copied
 *  @param value  NUL-terminated, shorter than 2^31 bytes; copied (one allocation
 *                from the model's context); not NULL
 *  @return as irllrec_model_add_meta_i64(); IRLLREC_E_INVALID_ARG also for a NULL
 *          or too long @p value */
IRLLREC_API irllrec_status irllrec_model_add_meta_str(irllrec_model *m, const char *key,
                                                      const char *value);

/** Number of tensor sections (the metadata is not counted).
 *  @param m  model, or NULL
 *  @return the count (>= 0), or -1 when @p m is NULL
 *  @note Does not allocate or write the context's message. */
IRLLREC_API int32_t irllrec_model_section_count(const irllrec_model *m);

/** Index of the section called @p name.
 *  @param m           model; NULL gives IRLLREC_E_INVALID_ARG
 *  @param name        exact section name; not NULL
 *  @param[out] index  the index in [0, irllrec_model_section_count()), or -1 on any
 *                     failure (when @p index itself is not NULL)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL argument), IRLLREC_E_FORMAT (no such
 *          section)
 *  @note Does not allocate; a failure writes the context's message. */
IRLLREC_API irllrec_status irllrec_model_find(const irllrec_model *m, const char *name,
                                              int32_t *index);

/** Name of section @p index.
 *  @param m      model, or NULL
 *  @param index  0..irllrec_model_section_count()-1
 *  @return NUL-terminated name, borrowed from the model: valid until the next
 *          irllrec_model_add_tensor() or irllrec_model_add_u64s() on @p m (the
 *          table may move) or irllrec_model_free(); copy it to keep it. NULL when
 *          @p m is NULL or @p index is out of range.
 *  @note Does not allocate or write the context's message. */
IRLLREC_API const char *irllrec_model_section_name(const irllrec_model *m, int32_t index);

/** Describe section @p index. On failure no out pointer is written.
 *  @param m            model; NULL gives IRLLREC_E_INVALID_ARG
 *  @param index        0..irllrec_model_section_count()-1
 *  @param[out] kind    its irllrec_model_kind, or NULL
 *  @param[out] dtype   its irllrec_model_dtype, or NULL
 *  @param[out] flags   its flags as stored (IRLLREC_MODEL_REQUIRED and any bits read
 *                      from a file), or NULL
 *  @param[out] ndim    1..IRLLREC_MODEL_MAX_DIMS, or NULL
 *  @param[out] dims    IRLLREC_MODEL_MAX_DIMS entries (unused ones 0), or NULL
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL @p m, @p index out of range)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_model_section_info(const irllrec_model *m, int32_t index,
                                                      uint32_t *kind, uint32_t *dtype,
                                                      uint32_t *flags, int32_t *ndim,
                                                      int64_t *dims);

/** Payload bytes of section @p index exactly as in the file (little-endian).
 *  @param m            model, or NULL
 *  @param index        0..irllrec_model_section_count()-1
 *  @param[out] nbytes  payload size (0 on failure), or NULL
 *  @return borrowed read-only pointer, valid until irllrec_model_free() (adding
 *          sections does not move it); NULL when @p m is NULL or @p index is out
 *          of range. The bytes are little-endian on every host: use
 *          irllrec_model_get_f32() / irllrec_model_get_u64() for native values.
 *  @note Does not allocate or write the context's message. */
IRLLREC_API const void *irllrec_model_section_data(const irllrec_model *m, int32_t index,
                                                   uint64_t *nbytes);

/** Copy the float32 section @p name into @p dst (native byte order). On
 *  failure @p dst is untouched.
 *  @param m      model; NULL gives IRLLREC_E_INVALID_ARG
 *  @param name   exact section name; not NULL
 *  @param ndim   0: do not check the shape; 1..4: the expected ndim, with @p dims
 *  @param dims   expected extents when ndim > 0 (not NULL then); ignored when 0
 *  @param[out] dst  caller-owned buffer of @p count floats; not NULL
 *  @param count  capacity of @p dst in floats; must equal the element count
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL argument, ndim not in 0..4),
 *          IRLLREC_E_FORMAT (missing or not float32), IRLLREC_E_SHAPE (shape or
 *          count differs)
 *  @note Does not allocate; a failure writes the context's message. */
IRLLREC_API irllrec_status irllrec_model_get_f32(const irllrec_model *m, const char *name,
                                                 int32_t ndim, const int64_t *dims, float *dst,
                                                 int64_t count);

/** Copy the uint64 section @p name into @p dst (native byte order). On
 *  failure @p dst is untouched.
 *  @param m      model; NULL gives IRLLREC_E_INVALID_ARG
 *  @param name   exact section name; not NULL
 *  @param[out] dst  caller-owned buffer of @p count values; not NULL
 *  @param count  must equal the section's value count
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL argument), IRLLREC_E_FORMAT (missing
 *          or not uint64), IRLLREC_E_SHAPE (count differs)
 *  @note Does not allocate; a failure writes the context's message. */
IRLLREC_API irllrec_status irllrec_model_get_u64(const irllrec_model *m, const char *name,
                                                 uint64_t *dst, int64_t count);

/** Number of metadata keys.
 *  @param m  model, or NULL
 *  @return the count (>= 0), or -1 when @p m is NULL
 *  @note Does not allocate or write the context's message. */
IRLLREC_API int32_t irllrec_model_meta_count(const irllrec_model *m);

/** Metadata key number @p i in insertion order.
 *  @param m          model, or NULL
 *  @param i          0..irllrec_model_meta_count()-1
 *  @param[out] type  its irllrec_model_meta_type (0 on failure), or NULL
 *  @return NUL-terminated key, borrowed from the model: valid until the next
 *          irllrec_model_add_meta_*() on @p m (the table may move) or
 *          irllrec_model_free(); NULL when @p m is NULL or @p i is out of range.
 *  @note Does not allocate or write the context's message. */
IRLLREC_API const char *irllrec_model_meta_key(const irllrec_model *m, int32_t i, uint32_t *type);

/** Read an int64 metadata value. On failure @p value is untouched.
 *  @param m           model; NULL gives IRLLREC_E_INVALID_ARG
 *  @param key         exact key; not NULL
 *  @param[out] value  not NULL
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL argument), IRLLREC_E_FORMAT
 *          (missing or another type)
 *  @note Does not allocate; a failure writes the context's message. */
IRLLREC_API irllrec_status irllrec_model_get_meta_i64(const irllrec_model *m, const char *key,
                                                      int64_t *value);
/** Read a double metadata value (bit pattern as stored). On failure @p value
 *  is untouched.
 *  @param m           model; NULL gives IRLLREC_E_INVALID_ARG
 *  @param key         exact key; not NULL
 *  @param[out] value  not NULL
 *  @return as irllrec_model_get_meta_i64() */
IRLLREC_API irllrec_status irllrec_model_get_meta_f64(const irllrec_model *m, const char *key,
                                                      double *value);
/** Read a string metadata value into @p buf (NUL-terminated).
 *  @param m     model; NULL gives IRLLREC_E_INVALID_ARG
 *  @param key   exact key; not NULL
 *  @param[out] buf  caller-owned; NULL to query the length only; untouched on failure
 *  @param cap   capacity of @p buf in bytes; must be > the length (ignored when
 *               @p buf is NULL)
 *  @param[out] len  string length without the NUL, or NULL; set whenever the key
 *                   exists with the string type, even if @p cap is too small
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL @p m or @p key, or @p cap too small),
 *          IRLLREC_E_FORMAT (missing or another type)
 *  @note Does not allocate; a failure writes the context's message. */
IRLLREC_API irllrec_status irllrec_model_get_meta_str(const irllrec_model *m, const char *key,
                                                      char *buf, size_t cap, size_t *len);

/** Serialise into memory. The bytes depend only on the model's content.
 *  @param m     model; NULL gives IRLLREC_E_INVALID_ARG
 *  @param[out] buf  caller-owned, at least *size bytes; NULL: only report the size
 *  @param cap   capacity of @p buf in bytes
 *  @param[out] size  file size in bytes; not NULL; set before @p cap is checked
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL @p m or @p size, or cap < size;
 *          @p buf untouched), IRLLREC_E_NOMEM (the file size overflows size_t)
 *  @note Allocates nothing: call once with buf NULL, allocate, call again.
 *        One thread at a time per context tree. */
IRLLREC_API irllrec_status irllrec_model_save_mem(const irllrec_model *m, void *buf, size_t cap,
                                                  size_t *size);

/** Save to @p path atomically: a temporary file next to it is written,
 *  fsync'ed and renamed over the target, then the directory is fsync'ed. An
 *  interrupted save leaves the previous file (or none) at @p path, plus
 *  possibly a stale "<path>.tmp.*" file, which a later save of @p path
 *  removes once its process is gone. An existing target keeps its
 *  permission bits; a symbolic link is written through to its target (see
 *  docs/npy.md, "Writing").
 *  @param m     model; NULL gives IRLLREC_E_INVALID_ARG
 *  @param path  target file name, not NULL or empty; read during the call only; its
 *               directory must exist and be writable
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_NOMEM, IRLLREC_E_IO (the
 *          message names @p path and the errno text). On any failure except a
 *          failed fsync of the directory after the rename, @p path is unchanged
 *          and no temporary file remains; in that one case the complete new file
 *          is already at @p path.
 *  @note Allocates the header and metadata images and the temporary name from
 *        the model's context, all before the temporary file is created. Safe
 *        against concurrent savers of the same path (threads or processes: the
 *        last rename wins); one thread at a time per context tree. */
IRLLREC_API irllrec_status irllrec_model_save(const irllrec_model *m, const char *path);

/** Load a model from @p len bytes at @p buf.
 *  Checks run in the order of docs/file-format.md; the context message names
 *  the failed check and its byte offset.
 *  @param ctx   owning context of the new model (allocator, errors); must outlive it;
 *               NULL gives IRLLREC_E_INVALID_ARG
 *  @param buf   the file image, borrowed for the call only (the model keeps copies);
 *               may be NULL only when @p len is 0; no alignment needed
 *  @param len   size of @p buf in bytes
 *  @param opts  NULL for defaults; otherwise read during the call only
 *  @param[out] out  new model, or NULL on failure; not NULL; free with irllrec_model_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL @p ctx or @p out, NULL @p buf with
 *          len > 0), IRLLREC_E_FORMAT (bad magic, malformed structure),
 *          IRLLREC_E_VERSION (unsupported major version, or opts struct_size),
 *          IRLLREC_E_UNSUPPORTED (unknown required flag, required section kind, dtype or
 *          hash algorithm), IRLLREC_E_CHECKSUM, IRLLREC_E_NOMEM (allocation failure or
 *          max_bytes exceeded), IRLLREC_E_NUMERIC (check_finite). A failure frees
 *          everything it allocated.
 *  @note Every size and offset is validated against @p len before anything is
 *        allocated; the model then takes about @p len bytes from @p ctx. One
 *        thread at a time per context tree. */
IRLLREC_API irllrec_status irllrec_model_load_mem(irllrec_ctx *ctx, const void *buf, size_t len,
                                                  const irllrec_model_load_opts *opts,
                                                  irllrec_model **out);

/** Read the file at @p path and load it as irllrec_model_load_mem() does;
 *  a file longer than opts->max_bytes is refused before it is read, and one
 *  whose 96-byte header fails checks 1-7 of docs/file-format.md (magic,
 *  version, declared sizes) before the rest is read. A FIFO or device is
 *  refused without blocking.
 *  @param ctx   owning context of the new model; must outlive it; NULL gives
 *               IRLLREC_E_INVALID_ARG
 *  @param path  a regular file; not NULL; read during the call only
 *  @param opts  NULL for defaults; otherwise read during the call only
 *  @param[out] out  new model, or NULL on failure; not NULL; free with irllrec_model_free()
 *  @return as irllrec_model_load_mem(), plus IRLLREC_E_IO (cannot open, not a regular
 *          file, short read; the message names @p path)
 *  @note Reads the whole file (once its header passed) into a temporary buffer from @p ctx (freed before
 *        returning), so the peak is about twice the file size. One thread at a
 *        time per context tree. */
IRLLREC_API irllrec_status irllrec_model_load(irllrec_ctx *ctx, const char *path,
                                              const irllrec_model_load_opts *opts,
                                              irllrec_model **out);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_MODEL_H */
