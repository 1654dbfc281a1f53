// Element-wise kernels of the local model (TernLocal) that a BLAS does not provide.
//
// GELU was a fifth of the model's CPU time as one libm erff call per value (perf, batch of 32 sentences).
// Here erf is a rational function that the compiler turns into straight-line vector code, compiled three
// times with target attributes (AVX-512, AVX2 + FMA, baseline) and chosen once at run time, so the
// package itself keeps the baseline x86-64 target.
#include "CTernKernels.h"

#include <math.h>

// erf(x) for |x| <= 4 as x P(x²) / Q(x²); float erf is ±1 beyond 4. The coefficients are those of the
// float erf approximation in Eigen and XLA (a minimax fit; its error is a few float ulps).
#define TERN_ERF_BODY(x_in, out)                                                     \
    do {                                                                             \
        float erf_v = (x_in);                                                        \
        float erf_x = erf_v < -4.0f ? -4.0f : (erf_v > 4.0f ? 4.0f : erf_v);        \
        float erf_x2 = erf_x * erf_x;                                                \
        float erf_p = erf_x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;       \
        erf_p = erf_x2 * erf_p + -2.10102402082508e-06f;                             \
        erf_p = erf_x2 * erf_p + -5.69250639462346e-05f;                             \
        erf_p = erf_x2 * erf_p + -7.34990630326855e-04f;                             \
        erf_p = erf_x2 * erf_p + -2.95459980854025e-03f;                             \
        erf_p = erf_x2 * erf_p + -1.60960333262415e-02f;                             \
        erf_p = erf_x * erf_p;                                                       \
        float erf_q = erf_x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;      \
        erf_q = erf_x2 * erf_q + -1.68282697438203e-03f;                             \
        erf_q = erf_x2 * erf_q + -7.37332916720468e-03f;                             \
        erf_q = erf_x2 * erf_q + -1.42647390514189e-02f;                             \
        (out) = erf_p / erf_q;                                                       \
    } while (0)

float tern_erf(float x) {
    float out;
    TERN_ERF_BODY(x, out);
    return out;
}

#define TERN_DEFINE_GELU(NAME, ATTRIBUTE)                                            \
    ATTRIBUTE static void NAME(float *restrict data, size_t count) {                 \
        const float inv_sqrt2 = 0.70710678118654752440f;                            \
        for (size_t i = 0; i < count; i++) {                                         \
            float v = data[i], e;                                                    \
            TERN_ERF_BODY(v * inv_sqrt2, e);                                         \
            data[i] = 0.5f * v * (1.0f + e);                                         \
        }                                                                            \
    }

TERN_DEFINE_GELU(tern_gelu_baseline, )

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
TERN_DEFINE_GELU(tern_gelu_avx512, __attribute__((target("avx512f,fma"))))
TERN_DEFINE_GELU(tern_gelu_avx2, __attribute__((target("avx2,fma"))))

static int tern_level(void) {
    static int level = -1;
    if (level < 0) {
        __builtin_cpu_init();
        level = __builtin_cpu_supports("avx512f") ? 2 : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
    }
    return level;
}

void tern_gelu(float *data, size_t count) {
    switch (tern_level()) {
    case 2: tern_gelu_avx512(data, count); break;
    case 1: tern_gelu_avx2(data, count); break;
    default: tern_gelu_baseline(data, count); break;
    }
}

const char *tern_kernels_isa(void) {
    switch (tern_level()) {
    case 2: return "avx512f";
    case 1: return "avx2";
    default: return "baseline";
    }
}
#else
void tern_gelu(float *data, size_t count) { tern_gelu_baseline(data, count); }
const char *tern_kernels_isa(void) { return "baseline"; }
#endif
