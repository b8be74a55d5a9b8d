/* Model container internals, shared by the API (model.c) and the file codec
 * (format.c). Never installed. */
#ifndef IRLLREC_MODEL_IMPL_H
#define IRLLREC_MODEL_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include "../internal.h"

/* File layout constants (docs/file-format.md). */
#define IRLLREC__IRLM_MAJOR 1u
#define IRLLREC__IRLM_MINOR 0u
#define IRLLREC__IRLM_HEADER 96u
#define IRLLREC__IRLM_ENTRY 144u
#define IRLLREC__IRLM_ALIGN 64u
#define IRLLREC__IRLM_HASH 32u
#define IRLLREC__IRLM_HASH_BLAKE2B256 1u
/* Header flags and section flags: bits 0..15 must be understood, 16..31 are hints. */
#define IRLLREC__IRLM_REQUIRED_BITS 0x0000FFFFu
#define IRLLREC__IRLM_META_NAME "meta"
/* Keys are checked for duplicates pairwise; the cap keeps that cheap. */
#define IRLLREC__IRLM_MAX_META 4096

typedef struct irllrec__section {
    char name[48];
    uint32_t kind;
    uint32_t dtype;
    uint32_t flags;      /* as written: REQUIRED and hint bits */
    int32_t ndim;
    int64_t dims[4];
    void *data;          /* ctx allocation of nbytes (>= 1), little-endian file bytes */
    size_t nbytes;
} irllrec__section;

typedef struct irllrec__meta {
    char key[64];
    uint32_t type;
    int64_t i64;         /* IRLLREC_MODEL_META_I64 */
    uint64_t f64_bits;   /* IRLLREC_MODEL_META_F64, kept as bits so files round-trip exactly */
    char *str;           /* IRLLREC_MODEL_META_STR: ctx allocation of len + 1 */
    size_t len;
} irllrec__meta;

struct irllrec_model {
    irllrec_ctx *ctx;
    irllrec__section *secs;
    int32_t n_secs, cap_secs;
    irllrec__meta *meta;
    int32_t n_meta, cap_meta;
    uint32_t hint_flags; /* header flag bits 16..31 read from a file, written back */
};

/* Append a section taking ownership of data (nbytes bytes, ctx allocation).
 * Validates nothing but capacity; on failure data is NOT freed. */
irllrec_status irllrec__model_push(irllrec_model *m, const char *func, const irllrec__section *s);

/* Append a metadata entry (str ownership moves in); validates nothing. */
irllrec_status irllrec__model_push_meta(irllrec_model *m, const char *func,
                                        const irllrec__meta *e);

/* count elements of esize (4 or 8) bytes between native and little-endian order. */
void irllrec__model_to_le(uint8_t *dst, const void *src, size_t count, size_t esize);
void irllrec__model_from_le(void *dst, const uint8_t *src, size_t count, size_t esize);

/* Index of a section or metadata key, -1 when absent. */
int32_t irllrec__model_index(const irllrec_model *m, const char *name);
int32_t irllrec__model_meta_index(const irllrec_model *m, const char *key);

/* Section name / metadata key rules shared by the API and the loader:
 * 1..max bytes before the NUL, no NUL inside. Returns the length or 0. */
size_t irllrec__model_name_len(const char *s, size_t max);


/* ---- the .irlm codec (format.c, save.c, load.c) --------------------------- */

/* Little-endian byte assembly: integers are never memcpy'd into structs. */
static inline uint16_t irllrec__irlm_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t irllrec__irlm_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t irllrec__irlm_rd64(const uint8_t *p)
{
    return (uint64_t)irllrec__irlm_rd32(p) | ((uint64_t)irllrec__irlm_rd32(p + 4) << 32);
}
static inline void irllrec__irlm_wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void irllrec__irlm_wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void irllrec__irlm_wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline size_t irllrec__irlm_align_up(size_t x)
{
    return (x + (IRLLREC__IRLM_ALIGN - 1)) & ~(size_t)(IRLLREC__IRLM_ALIGN - 1);
}

/* Header and table entry field offsets. */
enum {
    IRLM_H_MAJOR = 8, IRLM_H_MINOR = 10, IRLM_H_SIZE = 12, IRLM_H_FLAGS = 16, IRLM_H_COUNT = 20,
    IRLM_H_TABLE = 24, IRLM_H_FILE = 32, IRLM_H_ALG = 40, IRLM_H_RESERVED = 41, IRLM_H_HASH = 64,
    IRLM_E_KIND = 0, IRLM_E_FLAGS = 4, IRLM_E_NAME = 8, IRLM_E_DTYPE = 56, IRLM_E_NDIM = 60,
    IRLM_E_DIMS = 64, IRLM_E_OFFSET = 96, IRLM_E_NBYTES = 104, IRLM_E_HASH = 112
};

extern const uint8_t irllrec__irlm_magic[8];
extern const uint8_t irllrec__irlm_zeros[IRLLREC__IRLM_ALIGN];

/* BLAKE2b-256 of p[0..n). */
void irllrec__irlm_hash(uint8_t out[IRLLREC__IRLM_HASH], const uint8_t *p, size_t n);
/* BLAKE2b-256 of the header with its hash field zeroed, then the table. */
void irllrec__irlm_header_hash(uint8_t out[IRLLREC__IRLM_HASH], const uint8_t *head,
                               size_t header_size, const uint8_t *table, size_t table_bytes);

#endif /* IRLLREC_MODEL_IMPL_H */
