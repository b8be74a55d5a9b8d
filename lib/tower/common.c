/* Helpers shared by the towers. */
#include "tower.h"

/* Compared as integers: relational operators on pointers into different
 * objects are undefined in C. */
int irllrec__mats_overlap(irllrec_mat a, irllrec_mat b)
{
    uintptr_t a0, a1, b0, b1;
    if (a.data == NULL || b.data == NULL || a.rows <= 0 || b.rows <= 0) return 0;
    a0 = (uintptr_t)a.data;
    a1 = a0 + (uintptr_t)((a.rows - 1) * a.ld + a.cols) * sizeof(float);
    b0 = (uintptr_t)b.data;
    b1 = b0 + (uintptr_t)((b.rows - 1) * b.ld + b.cols) * sizeof(float);
    return a0 < b1 && b0 < a1;
}
