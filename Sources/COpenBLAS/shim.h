// OpenBLAS's CBLAS interface (Debian: libopenblas-dev). pkg-config adds the include path of the
// selected variant; /usr/include/<triplet>/cblas.h (the alternatives link) is the fallback.
#include <cblas.h>

// Not declared by every cblas.h; OpenBLAS exports them.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
