#ifndef CTERN_SYSTEM_H
#define CTERN_SYSTEM_H

#include <stddef.h>

/// malloc's view of the heap, summed over its arenas (glibc `mallinfo2`): bytes handed out (including
/// mmapped chunks) and bytes free but kept. Returns 0 when the C library cannot say (both set to 0).
int tern_heap_statistics(size_t *in_use, size_t *free_kept);

#endif
