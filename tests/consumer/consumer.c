/* A tiny program built against the INSTALLED library, as a user would. */
#include <stdio.h>
#include <string.h>
#include <irllrec/irllrec.h>

int main(void)
{
    irllrec_ctx *ctx = NULL;
    int32_t v = irllrec_version_number();
    if (v / 10000 != IRLLREC_VERSION_MAJOR || v != IRLLREC_VERSION_NUMBER) {
        fprintf(stderr, "header %d vs library %d\n", IRLLREC_VERSION_NUMBER, (int)v);
        return 1;
    }
    if (strcmp(irllrec_version_string(), IRLLREC_VERSION_STRING) != 0) return 1;
    if (irllrec_ctx_create(NULL, &ctx) != IRLLREC_OK) return 1;
    irllrec_ctx_free(ctx);
    printf("consumer: libirllrec %s (%s)\n", irllrec_version_string(), irllrec_gemm_backend());
    return 0;
}
