/* Re-hash an .irlm image (see irlm_fixup.h). Written from docs/file-format.md,
 * independently of lib/model/format.c, so the tests do not trust the code
 * they test to define the layout. */
#include <string.h>
#include <sodium.h>
#include "irlm_fixup.h"

uint32_t tf_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t tf_rd64(const uint8_t *p)
{
    return (uint64_t)tf_rd32(p) | (uint64_t)tf_rd32(p + 4) << 32;
}

void tf_wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void tf_wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void tf_irlm_rehash(uint8_t *buf, size_t len)
{
    uint64_t hs, count, toff, tbytes;
    crypto_generichash_state st;
    static const uint8_t zero[32];
    if (len < 96) return;
    hs = tf_rd32(buf + 12);
    count = tf_rd32(buf + 20);
    toff = tf_rd64(buf + 24);
    tbytes = count * 144;
    if (hs < 96 || hs > len || toff > len || tbytes > len - toff) return;
    for (uint64_t i = 0; i < count; i++) {
        uint8_t *e = buf + toff + i * 144;
        uint64_t off = tf_rd64(e + 96), nb = tf_rd64(e + 104);
        if (off <= len && nb <= len - off)
            crypto_generichash(e + 112, 32, buf + off, nb, NULL, 0);
    }
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, buf, 64);
    crypto_generichash_update(&st, zero, 32);
    crypto_generichash_update(&st, buf + 96, hs - 96);
    crypto_generichash_update(&st, buf + toff, tbytes);
    crypto_generichash_final(&st, buf + 64, 32);
}
