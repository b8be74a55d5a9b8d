/* The .irlm codec's shared pieces: the magic and the BLAKE2b hashes. Saving
 * is in save.c, the untrusted-input loader in load.c; docs/file-format.md is
 * the normative description and the loader's checks run in the order listed
 * there. */
#include <sodium.h>
#include "model_impl.h"

const uint8_t irllrec__irlm_magic[8] = {0x89, 'I', 'R', 'L', 0x0D, 0x0A, 0x1A, 0x0A};
const uint8_t irllrec__irlm_zeros[IRLLREC__IRLM_ALIGN] = {0};

void irllrec__irlm_hash(uint8_t out[IRLLREC__IRLM_HASH], const uint8_t *p, size_t n)
{
    crypto_generichash(out, IRLLREC__IRLM_HASH, p, (unsigned long long)n, NULL, 0);
}

void irllrec__irlm_header_hash(uint8_t out[IRLLREC__IRLM_HASH], const uint8_t *head,
                               size_t header_size, const uint8_t *table, size_t table_bytes)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, IRLLREC__IRLM_HASH);
    crypto_generichash_update(&st, head, IRLM_H_HASH);
    crypto_generichash_update(&st, irllrec__irlm_zeros, IRLLREC__IRLM_HASH);
    crypto_generichash_update(&st, head + IRLLREC__IRLM_HEADER, header_size - IRLLREC__IRLM_HEADER);
    crypto_generichash_update(&st, table, table_bytes);
    crypto_generichash_final(&st, out, IRLLREC__IRLM_HASH);
}
