#include "CTernSystem.h"

#if defined(__linux__)
#include <malloc.h>
#endif

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))

int tern_heap_statistics(size_t *in_use, size_t *free_kept) {
    struct mallinfo2 info = mallinfo2();
    *in_use = info.uordblks + info.hblkhd;
    *free_kept = info.fordblks;
    return 1;
}
#else
int tern_heap_statistics(size_t *in_use, size_t *free_kept) {
    *in_use = 0;
    *free_kept = 0;
    return 0;
}
#endif
