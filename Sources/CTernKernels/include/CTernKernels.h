#ifndef TERN_KERNELS_H
#define TERN_KERNELS_H

#include <stddef.h>

/// BERT's GELU, x/2 (1 + erf(x/√2)), in place over `count` floats, with erf as a rational function
/// (odd degree 13 over even degree 8, exact to float precision on [-4, 4], ±1 beyond). Compiled for
/// AVX-512, AVX2 and baseline x86-64 and chosen at run time, so it runs 16, 8 or 4 lanes at a time.
void tern_gelu(float *data, size_t count);

/// erf of one value by the same rational function (tests compare it with libm's erff).
float tern_erf(float x);

/// The instruction set `tern_gelu` uses on this CPU: "avx512f", "avx2" or "baseline".
const char *tern_kernels_isa(void);

#endif
