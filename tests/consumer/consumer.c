/* A tiny program built against the INSTALLED library, as a user would.
 * Built once more with -DIRLLREC_EXPERIMENTAL_API, it also calls the
 * experimental tier (irllrec_x_*, docs/api-stability.md). */
#include <stdio.h>
#include <string.h>
#include <irllrec/irllrec.h>

int main(void)
{
    irllrec_ctx *ctx = NULL;
    /* README.md's start-up check, as written there */
    int32_t v = irllrec_version_number();   /* the library actually loaded */
    int ok = v / 10000 == IRLLREC_VERSION_MAJOR &&
             (IRLLREC_VERSION_MAJOR == 0
                  ? v / 100 % 100 == IRLLREC_VERSION_MINOR    /* 0.x: each minor has its own ABI */
                  : v / 100 % 100 >= IRLLREC_VERSION_MINOR);  /* from 1.0: this minor or newer */
    if (!ok || v != IRLLREC_VERSION_NUMBER) {
        fprintf(stderr, "header %d vs library %d\n", IRLLREC_VERSION_NUMBER, (int)v);
        return 1;
    }
    if (strcmp(irllrec_version_string(), IRLLREC_VERSION_STRING) != 0) return 1;
    if (irllrec_ctx_create(NULL, &ctx) != IRLLREC_OK) return 1;
#ifdef IRLLREC_EXPERIMENTAL_API
    {
        irllrec_x_rng *rng = NULL;
        if (irllrec_x_rng_create(ctx, 7, &rng) != IRLLREC_OK) return 1;
        if (irllrec_x_rng_below(rng, 10) >= 10) return 1;
        irllrec_x_rng_free(rng);
        printf("consumer: experimental tier reachable (irllrec_x_rng)\n");
    }
#endif
    irllrec_ctx_free(ctx);
    printf("consumer: libirllrec %s (%s)\n", irllrec_version_string(), irllrec_gemm_backend());
    return 0;
}
