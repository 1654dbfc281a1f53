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

int tern_kernels_level(void) { return tern_level(); }

int tern_gelu_variant(int level, float *data, size_t count) {
    if (level < 0 || level > tern_level()) return -1;
    switch (level) {
    case 2: tern_gelu_avx512(data, count); break;
    case 1: tern_gelu_avx2(data, count); break;
    default: tern_gelu_baseline(data, count); break;
    }
    return 0;
}
#else
void tern_gelu(float *data, size_t count) { tern_gelu_baseline(data, count); }
const char *tern_kernels_isa(void) { return "baseline"; }
int tern_kernels_level(void) { return 0; }
int tern_gelu_variant(int level, float *data, size_t count) {
    if (level != 0) return -1;
    tern_gelu_baseline(data, count);
    return 0;
}
#endif

// ---------------------------------------------------------------------------------------------------
// Matrix products of few rows against weights packed once at load time (one sentence: ~23 rows).
//
// OpenBLAS re-packs the weight matrix on every call (42% of the CPU of a single-sentence pass) and, at
// 23 rows, streams all 42 MB of F32 weights from memory for 0.49 GFLOP. Here the weights are stored once
// as half-precision floats (F16, half the bytes) in panels of TERN_PANEL output columns, panel p being
// [k][TERN_PANEL] contiguous (zero-padded past n). A product walks the panels of its range in order and,
// for each, every block of up to 12 rows: 12 x 2 zmm accumulators, the panel's 32 weights of one k step
// converted to F32 in registers (vcvtph2ps) once and used by all 12 rows, so each panel (24 KB at
// k = 384) comes from memory once and is reused from L1/L2 by the row blocks. Accumulation is in F32.

#define TERN_PANEL 32
#define TERN_ROW_BLOCK 12

size_t tern_f16_panels_count(size_t n, size_t k) {
    return (n + TERN_PANEL - 1) / TERN_PANEL * TERN_PANEL * k;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define TERN_AVX512 __attribute__((target("avx512f,fma,f16c")))

TERN_AVX512 static void tern_pack_f16_avx512(const float *weight, size_t n, size_t k, uint16_t *packed) {
    size_t panels = (n + TERN_PANEL - 1) / TERN_PANEL;
    for (size_t p = 0; p < panels; p++) {
        uint16_t *panel = packed + p * k * TERN_PANEL;
        for (size_t j = 0; j < TERN_PANEL; j++) {
            size_t column = p * TERN_PANEL + j;
            for (size_t i = 0; i < k; i++) {
                panel[i * TERN_PANEL + j] = column < n ? _cvtss_sh(weight[column * k + i], _MM_FROUND_TO_NEAREST_INT) : 0;
            }
        }
    }
}

TERN_AVX512 static void tern_round_f16_avx512(float *data, size_t count) {
    for (size_t i = 0; i < count; i++) data[i] = _cvtsh_ss(_cvtss_sh(data[i], _MM_FROUND_TO_NEAREST_INT));
}

// One block of R rows (1...12) against one panel. R is a constant at every call site (the switch
// below), so the row loops unroll fully and the 2R accumulators stay in registers (without the pragma,
// clang keeps 11- and 12-row accumulators on the stack: 3x slower).
#if defined(__clang__)
#define TERN_UNROLL _Pragma("clang loop unroll(full)")
#else
#define TERN_UNROLL _Pragma("GCC unroll 12")
#endif
static inline __attribute__((always_inline)) TERN_AVX512 void
tern_f16_block(const float *a, size_t lda, const uint16_t *panel, size_t k, __m512 bias0, __m512 bias1,
               float *c, size_t ldc, __mmask16 mask0, __mmask16 mask1, const int rows) {
    __m512 acc0[TERN_ROW_BLOCK], acc1[TERN_ROW_BLOCK];
    TERN_UNROLL
    for (int r = 0; r < rows; r++) { acc0[r] = bias0; acc1[r] = bias1; }
    for (size_t i = 0; i < k; i++) {
        __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(panel + i * TERN_PANEL)));
        __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(panel + i * TERN_PANEL + 16)));
        TERN_UNROLL
        for (int r = 0; r < rows; r++) {
            __m512 x = _mm512_set1_ps(a[r * lda + i]);
            acc0[r] = _mm512_fmadd_ps(x, w0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(x, w1, acc1[r]);
        }
    }
    TERN_UNROLL
    for (int r = 0; r < rows; r++) {
        _mm512_mask_storeu_ps(c + r * ldc, mask0, acc0[r]);
        _mm512_mask_storeu_ps(c + r * ldc + 16, mask1, acc1[r]);
    }
}

TERN_AVX512 static void tern_gemm_f16_avx512(const float *a, size_t m, size_t k, const uint16_t *packed,
                                             const float *bias, size_t n, size_t first_panel, size_t end_panel,
                                             float *c) {
    size_t blocks = (m + TERN_ROW_BLOCK - 1) / TERN_ROW_BLOCK;
    for (size_t p = first_panel; p < end_panel; p++) {
        const uint16_t *panel = packed + p * k * TERN_PANEL;
        size_t column = p * TERN_PANEL, left = n - column;
        __mmask16 mask0 = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
        __mmask16 mask1 = left >= 32 ? 0xffff : left <= 16 ? 0 : (__mmask16)((1u << (left - 16)) - 1);
        __m512 bias0 = _mm512_maskz_loadu_ps(mask0, bias + column);
        __m512 bias1 = _mm512_maskz_loadu_ps(mask1, bias + column + 16);
        // Row blocks of nearly equal size (23 rows: 11 + 12), all reading this panel while it is in cache.
        for (size_t b = 0; b < blocks; b++) {
            size_t lower = m * b / blocks, upper = m * (b + 1) / blocks;
            const float *ab = a + lower * k;
            float *cb = c + lower * n + column;
            switch (upper - lower) {
#define TERN_BLOCK_CASE(R) case R: tern_f16_block(ab, k, panel, k, bias0, bias1, cb, n, mask0, mask1, R); break;
            TERN_BLOCK_CASE(1) TERN_BLOCK_CASE(2) TERN_BLOCK_CASE(3) TERN_BLOCK_CASE(4)
            TERN_BLOCK_CASE(5) TERN_BLOCK_CASE(6) TERN_BLOCK_CASE(7) TERN_BLOCK_CASE(8)
            TERN_BLOCK_CASE(9) TERN_BLOCK_CASE(10) TERN_BLOCK_CASE(11) TERN_BLOCK_CASE(12)
#undef TERN_BLOCK_CASE
            default: break;
            }
        }
    }
}

static int tern_f16_supported(void) {
    static int supported = -1;
    if (supported < 0) {
        __builtin_cpu_init();
        supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
    }
    return supported;
}

int tern_gemm_f16_available(void) { return tern_f16_supported(); }

void tern_pack_f16(const float *weight, size_t n, size_t k, uint16_t *packed) {
    if (tern_f16_supported()) tern_pack_f16_avx512(weight, n, k, packed);
}

void tern_round_f16(float *data, size_t count) {
    if (tern_f16_supported()) tern_round_f16_avx512(data, count);
}

void tern_gemm_f16(const float *a, size_t m, size_t k, const uint16_t *packed, const float *bias, size_t n,
                   size_t first_panel, size_t end_panel, float *c) {
    if (tern_f16_supported()) tern_gemm_f16_avx512(a, m, k, packed, bias, n, first_panel, end_panel, c);
}
#else
int tern_gemm_f16_available(void) { return 0; }
void tern_pack_f16(const float *weight, size_t n, size_t k, uint16_t *packed) { (void)weight; (void)n; (void)k; (void)packed; }
void tern_round_f16(float *data, size_t count) { (void)data; (void)count; }
void tern_gemm_f16(const float *a, size_t m, size_t k, const uint16_t *packed, const float *bias, size_t n,
                   size_t first_panel, size_t end_panel, float *c) {
    (void)a; (void)m; (void)k; (void)packed; (void)bias; (void)n; (void)first_panel; (void)end_panel; (void)c;
}
#endif

// ---------------------------------------------------------------------------------------------------
// A small pool of helper threads for the local model's parallel steps.
//
// A single-sentence pass has about 40 parallel steps of 0.02-0.25 ms each. Through
// DispatchQueue.concurrentPerform every step woke a sleeping thread (futex wake-up and scheduling: tens of
// microseconds, a third of a 23-token pass measured by phase). Here the helpers spin for up to
// TERN_SPIN_NS after their last job before sleeping on a condition variable, so the steps of one pass find
// them awake, and an idle process costs nothing. The caller takes parts too, and any part no helper has
// claimed yet, so a helper that is slow to wake delays nothing. One job at a time: a caller that finds
// the pool busy runs its parts itself.

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define TERN_SPIN_NS 200000
#define TERN_MAX_HELPERS 7

static pthread_mutex_t tern_submit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t tern_sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tern_wake = PTHREAD_COND_INITIALIZER;
static pthread_once_t tern_pool_once = PTHREAD_ONCE_INIT;
static size_t tern_helpers;
static size_t tern_requested_helpers;
// The current job: generation in the high 32 bits, next unclaimed part in the low 32 (claimed by CAS, so a
// helper late for one job can never claim a part of the next one).
static _Atomic unsigned long long tern_job_state;
static _Atomic size_t tern_job_finished;
static _Atomic int tern_sleepers;
static tern_task tern_job_task;
static void *tern_job_context;
static size_t tern_job_parts;

static unsigned long long tern_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
}

static inline void tern_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Claims and runs parts of job `generation` until none is left or the job has changed.
static void tern_run_parts(unsigned long long generation) {
    for (;;) {
        unsigned long long state = atomic_load(&tern_job_state);
        if ((state >> 32) != generation) return;
        size_t parts = tern_job_parts;
        tern_task task = tern_job_task;
        void *context = tern_job_context;
        size_t part = (size_t)(state & 0xffffffffu);
        if (part >= parts) return;
        if (!atomic_compare_exchange_weak(&tern_job_state, &state, state + 1)) continue;
        // The claim succeeded while the job was unfinished, so the fields read above were this job's.
        task(context, part);
        atomic_fetch_add(&tern_job_finished, 1);
    }
}

static void *tern_helper_main(void *unused) {
    (void)unused;
    unsigned long long seen = atomic_load(&tern_job_state) >> 32;
    for (;;) {
        unsigned long long generation = atomic_load(&tern_job_state) >> 32;
        if (generation == seen) {
            unsigned long long start = tern_now_ns();
            unsigned spins = 0;
            while ((generation = atomic_load(&tern_job_state) >> 32) == seen) {
                tern_cpu_relax();
                if ((++spins & 63) == 0 && tern_now_ns() - start > TERN_SPIN_NS) {
                    pthread_mutex_lock(&tern_sleep_lock);
                    atomic_fetch_add(&tern_sleepers, 1);
                    while ((generation = atomic_load(&tern_job_state) >> 32) == seen) pthread_cond_wait(&tern_wake, &tern_sleep_lock);
                    atomic_fetch_sub(&tern_sleepers, 1);
                    pthread_mutex_unlock(&tern_sleep_lock);
                    break;
                }
            }
        }
        seen = generation;
        tern_run_parts(generation);
    }
    return NULL;
}

static void tern_start_pool(void) {
    size_t wanted = tern_requested_helpers > TERN_MAX_HELPERS ? TERN_MAX_HELPERS : tern_requested_helpers;
    for (size_t i = 0; i < wanted; i++) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&thread, &attributes, tern_helper_main, NULL) == 0) tern_helpers++;
        pthread_attr_destroy(&attributes);
    }
}

void tern_parallel(size_t parts, size_t workers, tern_task task, void *context) {
    if (parts == 0) return;
    if (parts == 1 || workers < 2 || pthread_mutex_trylock(&tern_submit_lock) != 0) {
        for (size_t part = 0; part < parts; part++) task(context, part);
        return;
    }
    tern_requested_helpers = workers - 1;
    pthread_once(&tern_pool_once, tern_start_pool);
    unsigned long long generation = (atomic_load(&tern_job_state) >> 32) + 1;
    tern_job_task = task;
    tern_job_context = context;
    tern_job_parts = parts;
    atomic_store(&tern_job_finished, 0);
    atomic_store(&tern_job_state, generation << 32);
    if (atomic_load(&tern_sleepers) > 0) {
        pthread_mutex_lock(&tern_sleep_lock);
        pthread_cond_broadcast(&tern_wake);
        pthread_mutex_unlock(&tern_sleep_lock);
    }
    tern_run_parts(generation);
    while (atomic_load(&tern_job_finished) < parts) tern_cpu_relax();
    pthread_mutex_unlock(&tern_submit_lock);
}

// ---------------------------------------------------------------------------------------------------
// Dot products of 4 rows against 2 rows of doubles (the pairwise distances and RBF kernel sums of embedding
// drift, TernMonitor's EmbeddingDrift.Pairwise): 8 accumulators over the rows' `stride` components, with
// FMA in 512- or 256-bit registers where the CPU has them (8 or 4 doubles a step), then the leftover
// components one at a time. out[2r + c] = a_r . b_c.

static void tern_dots4x2_baseline(const double *a0, const double *b0, size_t stride, double *out) {
    const double *a[4] = {a0, a0 + stride, a0 + 2 * stride, a0 + 3 * stride};
    const double *b[2] = {b0, b0 + stride};
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 2; c++) {
            double s0 = 0, s1 = 0;
            size_t k = 0;
            for (; k + 2 <= stride; k += 2) {
                s0 += a[r][k] * b[c][k];
                s1 += a[r][k + 1] * b[c][k + 1];
            }
            for (; k < stride; k++) s0 += a[r][k] * b[c][k];
            out[2 * r + c] = s0 + s1;
        }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
// One variant per instruction set: V the vector type of W doubles, with its zero, load, fused multiply-add and
// horizontal sum.
#define TERN_DEFINE_DOTS(name, attrs, V, W, zero, load, fmadd, sum)                                           \
    attrs static void name(const double *a0, const double *b0, size_t stride, double *out) {                 \
        const double *a1 = a0 + stride, *a2 = a1 + stride, *a3 = a2 + stride, *b1 = b0 + stride;             \
        V c00 = zero(), c01 = zero(), c10 = zero(), c11 = zero(), c20 = zero(), c21 = zero(), c30 = zero(), \
          c31 = zero();                                                                                      \
        size_t k = 0;                                                                                        \
        for (; k + (W) <= stride; k += (W)) {                                                                \
            V x0 = load(b0 + k), x1 = load(b1 + k);                                                          \
            V y = load(a0 + k);                                                                              \
            c00 = fmadd(y, x0, c00);                                                                         \
            c01 = fmadd(y, x1, c01);                                                                         \
            y = load(a1 + k);                                                                                \
            c10 = fmadd(y, x0, c10);                                                                         \
            c11 = fmadd(y, x1, c11);                                                                         \
            y = load(a2 + k);                                                                                \
            c20 = fmadd(y, x0, c20);                                                                         \
            c21 = fmadd(y, x1, c21);                                                                         \
            y = load(a3 + k);                                                                                \
            c30 = fmadd(y, x0, c30);                                                                         \
            c31 = fmadd(y, x1, c31);                                                                         \
        }                                                                                                    \
        double r[8] = {sum(c00), sum(c01), sum(c10), sum(c11), sum(c20), sum(c21), sum(c30), sum(c31)};      \
        for (; k < stride; k++) {                                                                            \
            r[0] += a0[k] * b0[k];                                                                           \
            r[1] += a0[k] * b1[k];                                                                           \
            r[2] += a1[k] * b0[k];                                                                           \
            r[3] += a1[k] * b1[k];                                                                           \
            r[4] += a2[k] * b0[k];                                                                           \
            r[5] += a2[k] * b1[k];                                                                           \
            r[6] += a3[k] * b0[k];                                                                           \
            r[7] += a3[k] * b1[k];                                                                           \
        }                                                                                                    \
        for (int i = 0; i < 8; i++) out[i] = r[i];                                                           \
    }

__attribute__((target("avx2,fma"))) static inline double tern_sum256(__m256d v) {
    __m128d low = _mm256_castpd256_pd128(v), high = _mm256_extractf128_pd(v, 1);
    low = _mm_add_pd(low, high);
    return _mm_cvtsd_f64(_mm_add_sd(low, _mm_unpackhi_pd(low, low)));
}

TERN_DEFINE_DOTS(tern_dots4x2_avx512, __attribute__((target("avx512f,fma"))), __m512d, 8, _mm512_setzero_pd, _mm512_loadu_pd,
                 _mm512_fmadd_pd, _mm512_reduce_add_pd)
TERN_DEFINE_DOTS(tern_dots4x2_avx2, __attribute__((target("avx2,fma"))), __m256d, 4, _mm256_setzero_pd, _mm256_loadu_pd,
                 _mm256_fmadd_pd, tern_sum256)

void tern_dots4x2_f64(const double *a0, const double *b0, size_t stride, double *out) {
    switch (tern_level()) {
    case 2: tern_dots4x2_avx512(a0, b0, stride, out); break;
    case 1: tern_dots4x2_avx2(a0, b0, stride, out); break;
    default: tern_dots4x2_baseline(a0, b0, stride, out); break;
    }
}

int tern_dots4x2_variant(int level, const double *a0, const double *b0, size_t stride, double *out) {
    if (level < 0 || level > tern_level()) return -1;
    switch (level) {
    case 2: tern_dots4x2_avx512(a0, b0, stride, out); break;
    case 1: tern_dots4x2_avx2(a0, b0, stride, out); break;
    default: tern_dots4x2_baseline(a0, b0, stride, out); break;
    }
    return 0;
}
#else
void tern_dots4x2_f64(const double *a0, const double *b0, size_t stride, double *out) { tern_dots4x2_baseline(a0, b0, stride, out); }
int tern_dots4x2_variant(int level, const double *a0, const double *b0, size_t stride, double *out) {
    if (level != 0) return -1;
    tern_dots4x2_baseline(a0, b0, stride, out);
    return 0;
}
#endif
