/* AMX tile state shared by the ranking path (lib/rank/amx.c) and the fused
 * cross-entropy's bf16 levels (lib/align/xent_amx.c): whether the running
 * CPU and kernel let this thread use the tiles, and the one tile layout
 * both use (palette 1, eight tiles of 16 rows x 64 bytes). */
#define _DEFAULT_SOURCE /* syscall(2) */
#include "ops.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Linux's permission request for the tile data state (asm/prctl.h). */
#define AMX_REQ_XCOMP_PERM 0x1023
#define AMX_XTILEDATA 18

/* The features come from libgcc's cpuid snapshot (__builtin_cpu_supports,
 * which also checks that the OS saves the tile state): cpuid itself traps
 * to the hypervisor under KVM and cost ~0.1 ms per call there. The tile
 * permission is asked on every call, not cached, since the library keeps
 * no global state (tests/check_symbols.sh); the request is idempotent and
 * costs one system call. */
int irllrec__amx_ok(void)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("amx-tile") || !__builtin_cpu_supports("amx-bf16") ||
        !__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512bf16"))
        return 0;
    return syscall(SYS_arch_prctl, AMX_REQ_XCOMP_PERM, AMX_XTILEDATA) == 0;
}

typedef struct tile_cfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_cfg;

/* A constant, not a local: gcc 12 does not see _tile_loadconfig read its
 * operand and dropped the stores that filled a local copy. */
static const tile_cfg tiles_cfg = {
    1, 0, {0}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16}};

__attribute__((target("amx-tile"))) void irllrec__amx_tiles_on(void)
{
    _tile_loadconfig(&tiles_cfg);
}

__attribute__((target("amx-tile"))) void irllrec__amx_tiles_off(void) { _tile_release(); }

#else /* no AMX here: irllrec__amx_ok says so and nothing else is called */

int irllrec__amx_ok(void) { return 0; }
void irllrec__amx_tiles_on(void) {}
void irllrec__amx_tiles_off(void) {}

#endif
