/* The scalar exponential of the cross-entropy kernels (engine.c and the
 * portable fused kernel). Never installed. */
#ifndef IRLLREC_ALIGN_XENT_EXP_H
#define IRLLREC_ALIGN_XENT_EXP_H
#include <stdint.h>

/* exp(v) for v <= ~0 (v >= -2^30), written so gcc -O3 vectorises the loop
 * that calls it: Cody-Waite reduction v = k ln2 + r, |r| <= ln2/2, a degree-6
 * polynomial for e^r (Cephes expf coefficients), and 2^k assembled in the
 * exponent bits. k < -126 (v < ~-87.3) gives exactly 0, avoiding a branch. */
static inline float irllrec__exp_nonpos(float v)
{
    union {
        int32_t i;
        float f;
    } s;
    float kf = v * 1.44269504088896341f + 12582912.0f; /* 1.5 * 2^23 rounds to nearest */
    float r, p;
    int32_t k;
    kf -= 12582912.0f;
    r = v - kf * 0.693145751953125f;
    r -= kf * 1.428606765330187045e-06f;
    p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * r * r + r + 1.0f;
    k = (int32_t)kf;
    s.i = k < -126 ? 0 : (k + 127) * (1 << 23);
    return p * s.f;
}

/* Cody-Waite split of ln 2 and the polynomial, shared with the vector kernels. */
#define IRLLREC__EXP_LN2_HI 0.693145751953125f
#define IRLLREC__EXP_LN2_LO 1.428606765330187045e-06f
#define IRLLREC__EXP_P0 1.9875691500E-4f
#define IRLLREC__EXP_P1 1.3981999507E-3f
#define IRLLREC__EXP_P2 8.3334519073E-3f
#define IRLLREC__EXP_P3 4.1665795894E-2f
#define IRLLREC__EXP_P4 1.6666665459E-1f
#define IRLLREC__EXP_P5 5.0000001201E-1f

#endif /* IRLLREC_ALIGN_XENT_EXP_H */
