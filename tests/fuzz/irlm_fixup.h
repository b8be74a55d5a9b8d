/* Test and fuzz helper: recompute the checksums of an .irlm image in place.
 *
 * Hand-made corrupt files and fuzzed inputs would otherwise stop at the
 * header checksum; re-hashing lets them reach the structural checks behind
 * it. Only fields that lie inside the buffer are touched; nothing else is
 * validated. */
#ifndef IRLLREC_TESTS_IRLM_FIXUP_H
#define IRLLREC_TESTS_IRLM_FIXUP_H

#include <stddef.h>
#include <stdint.h>

/* Recompute every in-bounds section hash, then the header hash. */
void tf_irlm_rehash(uint8_t *buf, size_t len);

/* Little-endian field access for crafting files. */
uint32_t tf_rd32(const uint8_t *p);
uint64_t tf_rd64(const uint8_t *p);
void tf_wr32(uint8_t *p, uint32_t v);
void tf_wr64(uint8_t *p, uint64_t v);

#endif
