#include "../internal.h"

int irllrec__sorted_contains(const int32_t *row, int64_t n, int32_t v)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (row[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && row[lo] == v;
}
