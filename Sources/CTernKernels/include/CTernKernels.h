#ifndef TERN_KERNELS_H
#define TERN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// BERT's GELU, x/2 (1 + erf(x/√2)), in place over `count` floats, with erf as a rational function
/// (odd degree 13 over even degree 8, exact to float precision on [-4, 4], ±1 beyond). Compiled for
/// AVX-512, AVX2 and baseline x86-64 and chosen at run time, so it runs 16, 8 or 4 lanes at a time.
void tern_gelu(float *data, size_t count);

/// `tern_gelu` compiled for one instruction set: 0 baseline, 1 AVX2 + FMA, 2 AVX-512. Returns 0 after running
/// it, or -1 (doing nothing) when this CPU cannot run that variant, so tests check every variant the CPU has,
/// not only the one `tern_gelu` picks.
int tern_gelu_variant(int level, float *data, size_t count);

/// The highest variant this CPU runs (0, 1 or 2), as `tern_gelu` picks it.
int tern_kernels_level(void);

/// erf of one value by the same rational function (tests compare it with libm's erff).
float tern_erf(float x);

/// The instruction set `tern_gelu` uses on this CPU: "avx512f", "avx2" or "baseline".
const char *tern_kernels_isa(void);

/// Whether this CPU runs the packed F16 product below (AVX-512F with F16C and FMA). When it returns 0,
/// `tern_pack_f16`, `tern_round_f16` and `tern_gemm_f16` do nothing and the caller uses a BLAS.
int tern_gemm_f16_available(void);

/// Elements (uint16) of `n` x `k` weights packed by `tern_pack_f16`: `n` rounded up to a multiple of 32, times `k`.
size_t tern_f16_panels_count(size_t n, size_t k);

/// Packs `weight` ([n][k] row-major: PyTorch's Linear layout) as F16 (round to nearest even) in panels of
/// 32 output columns, panel p being [k][32] contiguous, columns past `n` zero.
void tern_pack_f16(const float *weight, size_t n, size_t k, uint16_t *packed);

/// Rounds every value to the nearest F16 value, kept as float (so a BLAS on these values computes with the
/// same weights as `tern_gemm_f16`).
void tern_round_f16(float *data, size_t count);

/// `c[m][n] = a[m][k] · Wᵀ + bias` for the output columns of panels `first_panel..<end_panel` (columns
/// 32·first_panel up to min(n, 32·end_panel)), W packed by `tern_pack_f16`; `a` is row-major with row
/// stride `k`, `c` with row stride `n`. Products and sums in F32. Meant for few rows (a sentence).
void tern_gemm_f16(const float *a, size_t m, size_t k, const uint16_t *packed, const float *bias, size_t n,
                   size_t first_panel, size_t end_panel, float *c);

/// One part of a `tern_parallel` job.
typedef void (*tern_task)(void *context, size_t part);

/// Runs `task(context, part)` for every part in 0..<parts, spread over the calling thread and a pool of
/// `workers - 1` helper threads (started at the first call; later calls reuse them, whatever `workers` they
/// pass). Returns when every part is done. Helpers spin for 0.2 ms after a job, then sleep. One job at a
/// time: a call made while another runs (from another thread) runs its parts on the calling thread.
void tern_parallel(size_t parts, size_t workers, tern_task task, void *context);

/// Dot products of 4 rows (a0 and the 3 rows after it, `stride` doubles apart) with 2 rows (b0 and the next):
/// out[2r + c] = a_r . b_c over `stride` components; AVX-512 or AVX2 with FMA when the CPU has them.
void tern_dots4x2_f64(const double *a0, const double *b0, size_t stride, double *out);

/// `tern_dots4x2_f64` compiled for one instruction set (0 baseline, 1 AVX2 + FMA, 2 AVX-512); -1 when this CPU
/// cannot run it. For tests of every variant.
int tern_dots4x2_variant(int level, const double *a0, const double *b0, size_t stride, double *out);

#endif
