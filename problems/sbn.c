/* sbn.c — a sigmoid belief net with an amortised encoder: the ELBO of N data points, exactly.
 * (Neal 1992; the binary-latent VAE benchmark of Tokui & Sato 1611.01239, DisARM 2006.10680 and
 * double control variates 2111.05300.)
 *
 * Model: z in {0,1}^D, p(z) = prod_d Bern(z_d; sigma(b_d)), p(x | z) = prod_j Bern(x_j; sigma(a_j)),
 * a = c + sum_d z_d W_d (W_d = latent d's weights on the P visible units).  Encoder q(z | x) =
 * prod_d Bern(z_d; sigma(eta_d)), eta = A x + a0 (outer parameters phi = (A, a0), D x P + D).
 * Layout: N x D Bernoulli units (unit n D + d = latent d of data point n), their logits eta_{n,d}.
 * Objective (kind expectation): L = (1/N) sum_n E_q[f_n], f_n(z) = log p(x_n, z) - log q(z | x_n)
 * (the ELBO).  f contains log q, so the problem gives f_at (problem.h): an estimator of the
 * gradient of E_q[f] with f frozen at the current point is unbiased for the ELBO gradient.
 * Variance is over latent sampling only (the batch is fixed).
 * Exact: per data point, all 2^D states (D <= 20) in Gray-code order — each step flips one latent,
 * so a = c + W z is updated in O(P) — with streaming sums for E_q f_n and E_q[f_n | z_d = v] and a
 * streaming log-sum-exp for log p(x_n) and the posterior marginals.  The log-sigmoids are the cost
 * (P per state): softplus is computed by a vectorised exp/log1p (GCC vector extensions; Cody-Waite
 * reduction, Taylor polynomials by Estrin's scheme; relative error ~1e-15).  Blocks of 2^12 states
 * start from an exact a; blocks and data points run in parallel with results merged in a fixed
 * order (same bits for any thread count).
 * f~ (relaxations): the same formulas at y in [0,1]^{N D} (a = c + W^T y, log q linear in y).
 * Parameters: seeded (b, c ~ N(0,1), W ~ N(0, scale^2), A ~ N(0, enc_scale^2), a0 = 0; model, data
 * and encoder from three streams of the seed, so loading the model keeps the data), or from a
 * CSV file (params=FILE, the format `gradvar describe --params` writes: param,row,col,value with
 * param in b, W, c, A, a).  Data: synthetic (x ~ p(x) of the model itself, seeded) or binarised
 * Fashion-MNIST (Debian's dataset-fashion-mnist, IDX gzip files read with zlib), 28 x 28 averaged
 * down to 14 x 14 or 7 x 7, then x_j ~ Bern(intensity_j) with a fixed seed; the whole gzip file is
 * read so that zlib's check catches a corrupt one.
 * Two latent layers (option D2 > 0): z2 -> z1 -> x, the encoder q(z1 | x) q(z2 | z1) as a hierarchical
 * layout (edges layer 1 -> layer 2), exact by nested enumeration, f~ and grad f~ by the same
 * formulas at y in [0,1]^{N (D + D2)}: see the section "two latent layers" at the end.
 * Limits.  Enumeration weights are q(z) / q(mode): for an encoder logit |eta| > ~700 the states with the
 * improbable value of that latent underflow, so its conditional mean E[f | z_d = v] (used by the
 * oracle baselines, not by the gradient) falls back to E f; log q is accumulated as a sum of
 * +-eta terms, so its rounding grows like |eta| eps (1e-10 at |eta| = 1e6).  Loaded parameters are
 * bounded by |v| <= 1e6, and a non-finite exact result is reported as a failed reference. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <gsl/gsl_randist.h>

#include "problems/common.h"
#include "problems/sbn.h"

#define SBN_BLOCK_BITS 12
#define SBN_MAXP 4096
#define SBN_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define SBN_MAXV 1e6 /* |parameter| bound of params files: keeps every logit and log-sigmoid finite */

typedef struct {
    int D, P, N;
    double *b, *W, *c, *x; /* D; D x P; P; N x P */
    double spb;            /* sum_d softplus(b_d) */
    int data;              /* 0 synthetic, 1 Fashion-MNIST */
    char origin[160];      /* where the parameters came from (describe) */
    /* training (train_n, test_n, binarise): the pool of M >= N training points, pool_p its pixel
     * probabilities (Fashion-MNIST intensities; synthetic data: the 0/1 data itself), pool_x its
     * fixed binarisation (the first N rows are the batch x of a frozen-point run); T test points
     * test_x (fixed binarisation); next_batch draws N distinct pool points (idx: scratch) and, with
     * dynamic binarisation, fresh pixels x ~ Bern(pool_p). */
    int M, T, dynamic, batched;
    double *pool_p, *pool_x, *test_x;
    int *idx;
    /* second latent layer (D2 = 0: none): p(z2) = prod Bern(sigma(b2)), p(z1 | z2) = prod Bern(sigma(b + V z2)) */
    int D2;
    double *b2, *V;        /* D2; D x D2 (row d = latent d of layer 1) */
    double spb2;           /* sum_k softplus(b2_k) */
} sbn_state_t;

/* two latent layers (the second section below) */
static void sbn2_map(const gv_problem *p, const double *phi, double *eta);
static void sbn2_vjp(const gv_problem *p, const double *geta, double *gphi);
static double sbn2_f_at(const void *v, const gv_point *pt, const int *z);
static double sbn2_ftilde_at(const void *v, const gv_point *pt, const double *y);
static void sbn2_grad_at(const void *v, const gv_point *pt, const double *y, double *g);
static void sbn2_describe(const gv_problem *p, FILE *out);
static int sbn2_seed_model(sbn_state_t *st, long seed, double scale);
static void sbn2_synth(const sbn_state_t *st, gsl_rng *r, int n, double *x);
static int sbn2_finish(gv_problem *p, long seed, double enc_scale, int have_phi, char *err);
static int sbn2_evaluate(const gv_problem *p, const sbn_state_t *v, const double *phi, double *value, double *logml);

static const gv_optdoc sbn_opts[] = {
    {"D", "8", "latent units (1..20: exact enumeration of 2^D states per data point)"},
    {"D2", "0", "units of a second latent layer z2 -> z (0: one layer; D + D2 <= 20)"},
    {"P", "16", "visible units (synthetic data; Fashion-MNIST: size^2)"},
    {"N", "4", "data points in the batch (the objective is their mean ELBO)"},
    {"data", "synthetic", "synthetic (x ~ p(x) of the model) | fashion-mnist"},
    {"size", "14", "Fashion-MNIST image side after averaging 28 x 28 down: 14 or 7"},
    {"split", "train", "Fashion-MNIST file: train | test"},
    {"offset", "0", "index of the first Fashion-MNIST image"},
    {"dir", SBN_DEFAULT_DIR, "directory of the Fashion-MNIST IDX files"},
    {"seed", "1", "seed of the weights, the synthetic data and the binarisation"},
    {"scale", "1", "s.d. of the seeded decoder weights W"},
    {"enc_scale", "0.1", "s.d. of the seeded encoder weights A (a0 = 0)"},
    {"params", NULL, "CSV file of parameters (param,row,col,value; param b, W, c, optionally A, a; second layer V, b2, B, a2)"},
    {"train_n", "N", "training pool for `train` minibatches (>= N; Fashion-MNIST images from offset)"},
    {"test_n", "0", "test points for `train`'s exact test log p(x) (Fashion-MNIST: the t10k file from 0)"},
    {"binarise", "fixed", "Fashion-MNIST in `train`: fixed (the seeded binarisation) | dynamic (fresh pixels per batch)"},
    {NULL, NULL, NULL}};

/* ------------------------------------------------------------------ softplus, fast and plain */

/* The kernel is written once (SBN_KERNEL) for a vector width and compiled twice: 2 lanes (SSE2, the
 * baseline) and, where the CPU has it, 4 lanes (AVX2, chosen at run time; no FMA, so no contraction).
 * Every lane does the same IEEE operations in both, and both add the terms into 8 partial sums by
 * j mod 8 in the same order, so the two give bit-identical results. */
#define SBN_LN2HI 6.93147180369123816490e-01
#define SBN_LN2LO 1.90821492927058770002e-10

/* softplus(a) = max(a, 0) + log1p(exp(-|a|)) lane by lane.  |a| is clamped at 50 inside the exp
 * (log1p(e^-50) = 2e-22: the absolute error of the clamp is below that).  exp(t), t in [-50, 0]:
 * t = k ln2 + r (Cody-Waite, |r| <= ln2/2), e^r by its Taylor polynomial to r^13 (error < 1e-17),
 * 2^k assembled in the exponent bits (m's low bits hold k under the magic number 1.5 2^52).
 * log1p(e), e in (0, 1]: for e > sqrt2 - 1 use ln2 + log1p((e - 1)/2); then log1p(u) = 2 atanh(s),
 * s = u/(2 + u), |s| <= 0.1716, series to s^23.  Polynomials by Estrin's scheme (short chains). */
#define SBN_KERNEL(VW, VD, VDU, VI, SPLAT, SOFTPLUS, LOGLIK, ATTR)                                           \
    typedef double VD __attribute__((vector_size(8 * VW)));                                                   \
    typedef double VDU __attribute__((vector_size(8 * VW), aligned(8), may_alias));                           \
    typedef long long VI __attribute__((vector_size(8 * VW)));                                                \
    typedef unsigned long long VI##u __attribute__((vector_size(8 * VW)));                                    \
    static inline ATTR __attribute__((always_inline)) VD SPLAT(double x) { return (VD){0} + x; }              \
    static inline ATTR __attribute__((always_inline)) VD SOFTPLUS(VD a)                                       \
    {                                                                                                         \
        const VD aa = (VD)((VI)a & ((VI){0} + INT64_MAX));                                                    \
        const VI big = aa > SPLAT(50.0);                                                                      \
        const VD t = (VD)(((VI)SPLAT(-50.0) & big) | ((VI)(-aa) & ~big));                                     \
        const VD magic = SPLAT(0x1.8p52);                                                                     \
        const VD m = t * SPLAT(1.4426950408889634) + magic, k = m - magic;                                    \
        const VD r = (t - k * SPLAT(SBN_LN2HI)) - k * SPLAT(SBN_LN2LO);                                       \
        const VD r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;                                                      \
        const VD e01 = SPLAT(1.0) + r, e23 = SPLAT(0.5) + r * SPLAT(1.0 / 6);                                 \
        const VD e45 = SPLAT(1.0 / 24) + r * SPLAT(1.0 / 120), e67 = SPLAT(1.0 / 720) + r * SPLAT(1.0 / 5040); \
        const VD e89 = SPLAT(1.0 / 40320) + r * SPLAT(1.0 / 362880);                                          \
        const VD eab = SPLAT(1.0 / 3628800) + r * SPLAT(1.0 / 39916800);                                      \
        const VD ecd = SPLAT(1.0 / 479001600) + r * SPLAT(1.0 / 6227020800.0);                                \
        const VD p = (e01 + r2 * e23) + r4 * (e45 + r2 * e67) + r8 * ((e89 + r2 * eab) + r4 * ecd);           \
        const VD e = p * (VD)(((VI##u)m + 1023) << 52); /* unsigned: the shift drops the high bits */          \
        const VD hi = (VD)((e > SPLAT(0.41421356237309503)) & (VI)SPLAT(1.0));                                \
        const VD u = e - hi * (e + SPLAT(1.0)) * SPLAT(0.5);                                                  \
        const VD s = u / (SPLAT(2.0) + u), w = s * s, w2 = w * w, w4 = w2 * w2, w8 = w4 * w4;                 \
        const VD q01 = SPLAT(1.0) + w * SPLAT(1.0 / 3), q23 = SPLAT(1.0 / 5) + w * SPLAT(1.0 / 7);            \
        const VD q45 = SPLAT(1.0 / 9) + w * SPLAT(1.0 / 11), q67 = SPLAT(1.0 / 13) + w * SPLAT(1.0 / 15);     \
        const VD q89 = SPLAT(1.0 / 17) + w * SPLAT(1.0 / 19), qab = SPLAT(1.0 / 21) + w * SPLAT(1.0 / 23);    \
        const VD q = (q01 + w2 * q23) + w4 * (q45 + w2 * q67) + w8 * (q89 + w2 * qab);                        \
        return SPLAT(0.5) * (a + aa) + hi * SPLAT(0.69314718055994530942) + SPLAT(2.0) * s * q;               \
    }                                                                                                         \
    /* sum_j x_j a_j - softplus(a_j): 8 partial sums (element j into sum j mod 8), then summed in order */    \
    static ATTR double LOGLIK(const double *a, const double *x, int P)                                        \
    {                                                                                                         \
        enum { NV = 8 / VW };                                                                                 \
        VD acc[NV];                                                                                           \
        for (int v = 0; v < NV; v++) acc[v] = SPLAT(0);                                                       \
        int j = 0;                                                                                            \
        for (; j + 8 <= P; j += 8)                                                                            \
            for (int v = 0; v < NV; v++) {                                                                    \
                const VD av = *(const VDU *)(a + j + v * VW), xv = *(const VDU *)(x + j + v * VW);            \
                acc[v] += xv * av - SOFTPLUS(av);                                                             \
            }                                                                                                 \
        double part[8];                                                                                       \
        for (int v = 0; v < NV; v++)                                                                          \
            for (int i = 0; i < VW; i++) part[v * VW + i] = acc[v][i];                                        \
        if (j < P) { /* the tail: one padded block of 8, valid lanes only */                                  \
            double at[8] = {0}, xt[8] = {0};                                                                  \
            for (int i = 0; j + i < P; i++) at[i] = a[j + i], xt[i] = x[j + i];                               \
            for (int v = 0; v < NV; v++) {                                                                    \
                const VD av = *(const VDU *)(at + v * VW), xv = *(const VDU *)(xt + v * VW);                  \
                const VD t = xv * av - SOFTPLUS(av);                                                          \
                for (int i = 0; i < VW; i++)                                                                  \
                    if (j + v * VW + i < P) part[v * VW + i] += t[i];                                         \
            }                                                                                                 \
        }                                                                                                     \
        return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));     \
    }

SBN_KERNEL(2, sbn_v2, sbn_v2u, sbn_v2i, sbn_splat2, sbn_softplus2, sbn_loglik2, )
#if defined(__GNUC__) && defined(__x86_64__)
#define SBN_HAVE_AVX2 1
SBN_KERNEL(4, sbn_v4, sbn_v4u, sbn_v4i, sbn_splat4, sbn_softplus4, sbn_loglik4, __attribute__((target("avx2"))))
#endif

double gv_sbn_loglik_fast(const double *a, const double *x, int P)
{
#ifdef SBN_HAVE_AVX2
    if (__builtin_cpu_supports("avx2")) return sbn_loglik4(a, x, P);
#endif
    return sbn_loglik2(a, x, P);
}

/* The baseline kernel whatever the CPU has (tests compare the two). */
double gv_sbn_loglik_sse2(const double *a, const double *x, int P) { return sbn_loglik2(a, x, P); }

static inline double softplus(double a) { return fmax(a, 0) + log1p(exp(-fabs(a))); }

double gv_sbn_loglik_libm(const double *a, const double *x, int P)
{
    double s = 0;
    for (int j = 0; j < P; j++) s += x[j] * a[j] - softplus(a[j]);
    return s;
}

/* ------------------------------------------------------------------ data and parameters */

static int read_be32(gzFile g, uint32_t *v)
{
    unsigned char b[4];
    if (gzread(g, b, 4) != 4) return -1;
    *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return 0;
}

/* count images from offset, averaged down to size x size: out (count x size^2) = the intensities in
 * [0, 1]. */
static int load_fmnist(const char *dir, int train, long offset, long count, int size, double *out, char *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, train ? "train" : "t10k");
    gzFile g = gzopen(path, "rb");
    if (!g)
        return gv_err(err, "problem sbn: cannot open %s (%s); the Debian package dataset-fashion-mnist provides it "
                           "(make deps), or give dir=", path, strerror(errno ? errno : ENOENT)), GV_EUSAGE;
    uint32_t magic = 0, n = 0, rows = 0, cols = 0;
    if (read_be32(g, &magic) || read_be32(g, &n) || read_be32(g, &rows) || read_be32(g, &cols) || magic != 0x803 ||
        rows != 28 || cols != 28) {
        gzclose(g);
        return gv_err(err, "problem sbn: %s is not an IDX file of 28 x 28 images (magic %#x)", path, magic), GV_EUSAGE;
    }
    if (offset + count > (long)n) {
        gzclose(g);
        return gv_err(err, "problem sbn: offset=%ld with %ld images (N, train_n or test_n) needs %ld images; %s has %u",
                      offset, count, offset + count, path, n), GV_EUSAGE;
    }
    if (gzseek(g, 16 + offset * 784L, SEEK_SET) < 0) {
        gzclose(g);
        return gv_err(err, "problem sbn: cannot seek in %s", path), GV_EUSAGE;
    }
    unsigned char img[784];
    const int f = 28 / size;
    for (long i = 0; i < count; i++) {
        if (gzread(g, img, 784) != 784) {
            gzclose(g);
            return gv_err(err, "problem sbn: %s is truncated (image %ld)", path, offset + i), GV_EUSAGE;
        }
        for (int u = 0; u < size; u++)
            for (int v = 0; v < size; v++) {
                double s = 0;
                for (int du = 0; du < f; du++)
                    for (int dv = 0; dv < f; dv++) s += img[(u * f + du) * 28 + v * f + dv];
                out[(size_t)i * size * size + u * size + v] = s / (255.0 * f * f);
            }
    }
    /* read on to the end, so that zlib checks the whole file's CRC (a corrupt file is an error,
     * not silently wrong images) */
    unsigned char sink[65536];
    int got;
    while ((got = gzread(g, sink, sizeof sink)) > 0) {}
    int zerr = Z_OK;
    if (got < 0) gzerror(g, &zerr);
    if (gzclose(g) != Z_OK || got < 0)
        return gv_err(err, "problem sbn: %s is corrupt (zlib error %d: the gzip check failed)", path, zerr), GV_EUSAGE;
    return GV_OK;
}

/* params=FILE: rows "param,row,col,value" (header line first); b: row d; W: row d, col j; c: row j;
 * A: row d, col j; a: row d (col 0 for the vectors); the second latent layer (D2 units): V: row d,
 * col k (its weights on layer 1); b2: row k; B: row k, col d (the encoder of layer 2 on layer 1);
 * a2: row k.  b, W and c must be complete, V with b2 (D2 = the rows of b2); A and a both or neither,
 * and with a second layer B and a2 with them.  Fills st (D, P, D2 from the file) and, if the file
 * has them, phi (A, a, B, a2). */
enum { SBN_NK = 9 };
static const char *const sbn_pnames[SBN_NK] = {"b", "W", "c", "A", "a", "V", "b2", "B", "a2"};

/* rows and columns of parameter k given D, P, D2 (vectors: 1 column) */
static void param_shape(int k, int D, int P, int D2, int *nr, int *nc)
{
    static const char rows[SBN_NK] = {'D', 'D', 'P', 'D', 'D', 'D', '2', '2', '2'};
    static const char cols[SBN_NK] = {'1', 'P', '1', 'P', '1', '2', '1', 'D', '1'};
    const char w[2] = {rows[k], cols[k]};
    int v[2];
    for (int i = 0; i < 2; i++) v[i] = w[i] == 'D' ? D : w[i] == 'P' ? P : w[i] == '2' ? D2 : 1;
    *nr = v[0], *nc = v[1];
}

static int load_params(sbn_state_t *st, const char *path, double **phi_out, char *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return gv_err(err, "problem sbn: cannot open params file %s (%s)", path, strerror(errno)), GV_EUSAGE;
    const char *const *names = sbn_pnames;
    int cap = 1024, n = 0, line = 0, rc = GV_OK;
    struct rowv { int k, r, c; double v; } *rows = malloc((size_t)cap * sizeof *rows);
    char buf[512];
    int maxr[SBN_NK], maxc[SBN_NK];
    for (int k = 0; k < SBN_NK; k++) maxr[k] = maxc[k] = -1;
    while (rows && fgets(buf, sizeof buf, f)) {
        line++;
        size_t len = strlen(buf);
        if (len == sizeof buf - 1 && buf[len - 1] != '\n' && !feof(f)) {
            rc = GV_EUSAGE;
            gv_err(err, "problem sbn: %s:%d: line longer than %d characters", path, line, (int)sizeof buf - 2);
            break;
        }
        while (len && isspace((unsigned char)buf[len - 1])) buf[--len] = 0; /* newline, CR, trailing blanks */
        if (line == 1) {
            if (strcmp(buf, "param,row,col,value")) {
                rc = GV_EUSAGE;
                gv_err(err, "problem sbn: %s:1: expected the header param,row,col,value", path);
                break;
            }
            continue;
        }
        if (!len) continue; /* blank line */
        char name[16], *end;
        int k = -1;
        size_t l = strcspn(buf, ",");
        if (l == 0 || l >= sizeof name) k = -2;
        else {
            memcpy(name, buf, l), name[l] = 0;
            for (int i = 0; i < SBN_NK; i++) if (!strcmp(name, names[i])) k = i;
        }
        long rr = -1, cc = -1;
        double v = NAN;
        const char *q = buf + l;
        /* every field must hold a number (strtol/strtod of an empty field would give 0) */
        if (k >= 0 && *q == ',' && (rr = strtol(q + 1, &end, 10), end > q + 1)) q = end; else rr = -1;
        if (rr >= 0 && *q == ',' && (cc = strtol(q + 1, &end, 10), end > q + 1)) q = end; else cc = -1;
        if (cc >= 0 && *q == ',' && (v = strtod(q + 1, &end), end > q + 1)) q = end; else v = NAN;
        if (k < 0 || rr < 0 || cc < 0 || rr >= SBN_MAXP || cc >= SBN_MAXP || !(fabs(v) <= SBN_MAXV) || *q) {
            rc = GV_EUSAGE;
            if (k < 0) gv_err(err, "problem sbn: %s:%d: unknown parameter '%.*s'; valid: b, W, c, A, a, V, b2, B, a2",
                              path, line, (int)(l < 16 ? l : 16), buf);
            else gv_err(err, "problem sbn: %s:%d: expected %s,ROW,COL,VALUE with 0 <= ROW, COL < %d and |VALUE| <= "
                             "%g", path, line, names[k], SBN_MAXP, SBN_MAXV);
            break;
        }
        int vr, vc;
        param_shape(k, 2, 2, 2, &vr, &vc);
        if (vc == 1 && cc != 0) {
            rc = GV_EUSAGE;
            gv_err(err, "problem sbn: %s:%d: %s is a vector: col must be 0", path, line, names[k]);
            break;
        }
        if (n == cap) {
            struct rowv *nr = realloc(rows, (size_t)(cap *= 2) * sizeof *rows);
            if (!nr) {
                rc = GV_EFAIL;
                gv_err(err, "out of memory");
                break;
            }
            rows = nr;
        }
        rows[n++] = (struct rowv){k, (int)rr, (int)cc, v};
        if (rr > maxr[k]) maxr[k] = (int)rr;
        if (cc > maxc[k]) maxc[k] = (int)cc;
    }
    if (!rc && ferror(f)) rc = GV_EUSAGE, gv_err(err, "problem sbn: cannot read params file %s", path);
    fclose(f);
    if (!rows) return gv_err(err, "out of memory"), GV_EFAIL;
    if (!rc && line == 0) rc = GV_EUSAGE, gv_err(err, "problem sbn: params file %s is empty", path);
    if (!rc && n == 0) rc = GV_EUSAGE, gv_err(err, "problem sbn: params file %s has no parameter rows", path);
    const int D = maxr[0] + 1, P = maxr[2] + 1, D2 = maxr[6] + 1, hasA = maxr[3] >= 0 || maxr[4] >= 0;
    const int hasB = maxr[7] >= 0 || maxr[8] >= 0;
    if (!rc && (D < 1 || P < 1 || maxr[1] + 1 != D || maxc[1] + 1 != P))
        rc = GV_EUSAGE, gv_err(err, "problem sbn: %s: b (%d), W (%d x %d) and c (%d) do not fit together", path, D,
                               maxr[1] + 1, maxc[1] + 1, P);
    if (!rc && D + D2 > GV_SBN_MAXD)
        rc = GV_EUSAGE, gv_err(err, "problem sbn: %s has D + D2 = %d + %d latents; at most %d (exact enumeration)", path,
                               D, D2, GV_SBN_MAXD);
    if (!rc && hasA && (maxr[3] + 1 != D || maxc[3] + 1 != P || maxr[4] + 1 != D))
        rc = GV_EUSAGE, gv_err(err, "problem sbn: %s: A must be D x P = %d x %d and a D long", path, D, P);
    if (!rc && (maxr[5] >= 0 || D2 > 0) && (maxr[5] + 1 != D || maxc[5] + 1 != D2))
        rc = GV_EUSAGE, gv_err(err, "problem sbn: %s: the second layer needs V (D x D2 = %d x %d) and b2 (D2) together; "
                               "got V %d x %d", path, D, D2, maxr[5] + 1, maxc[5] + 1);
    if (!rc && hasB && (!hasA || D2 == 0))
        rc = GV_EUSAGE, gv_err(err, "problem sbn: %s: B and a2 (the layer-2 encoder) need A, a and a second layer (V, b2)",
                               path);
    if (!rc && hasA && D2 > 0 && (maxr[7] + 1 != D2 || maxc[7] + 1 != D || maxr[8] + 1 != D2))
        rc = GV_EUSAGE, gv_err(err, "problem sbn: %s: with A, a and a second layer, B must be D2 x D = %d x %d and a2 D2 "
                               "long", path, D2, D);
    double *vals[SBN_NK] = {0};
    int size[SBN_NK], nrow[SBN_NK], ncol[SBN_NK];
    for (int k = 0; k < SBN_NK; k++) param_shape(k, D, P, D2, &nrow[k], &ncol[k]), size[k] = nrow[k] * ncol[k];
    for (int k = 0; k < SBN_NK && !rc; k++) {
        vals[k] = malloc((size_t)(size[k] ? size[k] : 1) * sizeof(double));
        if (!vals[k]) rc = GV_EFAIL, gv_err(err, "out of memory");
        else for (int i = 0; i < size[k]; i++) vals[k][i] = NAN;
    }
    for (int i = 0; i < n && !rc; i++) {
        const struct rowv *w = &rows[i];
        if (w->r >= nrow[w->k] || w->c >= ncol[w->k]) continue; /* checked above */
        const int idx = w->r * ncol[w->k] + w->c;
        if (!isnan(vals[w->k][idx]))
            rc = GV_EUSAGE, gv_err(err, "problem sbn: %s: %s[%d][%d] is given twice", path, names[w->k], w->r, w->c);
        vals[w->k][idx] = w->v;
    }
    for (int k = 0; k < SBN_NK && !rc; k++) {
        if ((k == 3 || k == 4 || k == 7 || k == 8) && !hasA) continue;
        for (int i = 0; i < size[k] && !rc; i++)
            if (isnan(vals[k][i]))
                rc = GV_EUSAGE, gv_err(err, "problem sbn: %s: %s entry %d (row %d) is missing", path, names[k], i,
                                       i / ncol[k]);
    }
    free(rows);
    if (rc) {
        for (int k = 0; k < SBN_NK; k++) free(vals[k]);
        return rc;
    }
    st->D = D, st->P = P, st->D2 = D2;
    st->b = vals[0], st->W = vals[1], st->c = vals[2], st->V = vals[5], st->b2 = vals[6];
    if (hasA) {
        const int nphi = D * P + D + D2 * D + D2;
        double *phi = malloc((size_t)nphi * sizeof *phi);
        if (!phi) {
            for (int k = 3; k < SBN_NK; k++) if (k != 5 && k != 6) free(vals[k]);
            return gv_err(err, "out of memory"), GV_EFAIL;
        }
        memcpy(phi, vals[3], (size_t)D * P * sizeof *phi);
        memcpy(phi + D * P, vals[4], (size_t)D * sizeof *phi);
        memcpy(phi + D * P + D, vals[7], (size_t)D2 * D * sizeof *phi);
        memcpy(phi + D * P + D + D2 * D, vals[8], (size_t)D2 * sizeof *phi);
        *phi_out = phi;
    }
    free(vals[3]), free(vals[4]), free(vals[7]), free(vals[8]);
    return GV_OK;
}

static void sbn_free(void *v)
{
    sbn_state_t *st = v;
    free(st->b), free(st->W), free(st->c), free(st->x);
    free(st->pool_p), free(st->pool_x), free(st->test_x), free(st->idx); /* pool_x is NULL when it is pool_p */
    free(st->b2), free(st->V);
}

/* eta (N x D) = A x_n + a0 for the N data points x (N x P). */
static void sbn_encode(const sbn_state_t *st, const double *phi, const double *xs, int N, double *eta)
{
    const int D = st->D, P = st->P;
    for (int n = 0; n < N; n++) {
        const double *x = xs + (size_t)n * P;
        for (int d = 0; d < D; d++) {
            const double *A = phi + (size_t)d * P;
            double s = phi[(size_t)D * P + d];
            for (int j = 0; j < P; j++) s += A[j] * x[j];
            eta[n * D + d] = s;
        }
    }
}

static void sbn_map(const gv_problem *p, const double *phi, double *eta)
{
    const sbn_state_t *st = p->state;
    if (st->D2) { sbn2_map(p, phi, eta); return; }
    sbn_encode(st, phi, st->x, st->N, eta);
}

static void sbn_vjp(const gv_problem *p, const double *geta, double *gphi)
{
    const sbn_state_t *st = p->state;
    if (st->D2) { sbn2_vjp(p, geta, gphi); return; }
    const int D = st->D, P = st->P;
    memset(gphi, 0, (size_t)(D * P + D) * sizeof *gphi);
    for (int n = 0; n < st->N; n++) {
        const double *x = st->x + (size_t)n * P;
        for (int d = 0; d < D; d++) {
            const double g = geta[n * D + d];
            double *A = gphi + (size_t)d * P;
            for (int j = 0; j < P; j++) A[j] += g * x[j];
            gphi[(size_t)D * P + d] += g;
        }
    }
}

static const double *sbn_pool_x(const sbn_state_t *st) { return st->pool_x ? st->pool_x : st->pool_p; }

/* n synthetic data points x ~ p(x) of the model (z ~ p(z), x ~ p(x | z)) into x (n x P). */
static void sbn_sample_data(const sbn_state_t *st, gsl_rng *r, int n, double *x)
{
    const int D = st->D, P = st->P;
    int z[GV_SBN_MAXD];
    for (int i = 0; i < n; i++) {
        for (int d = 0; d < D; d++) z[d] = gsl_rng_uniform(r) < gv_sigmoid(st->b[d]);
        for (int j = 0; j < P; j++) {
            double a = st->c[j];
            for (int d = 0; d < D; d++) a += z[d] * st->W[(size_t)d * P + j];
            x[(size_t)i * P + j] = gsl_rng_uniform(r) < gv_sigmoid(a);
        }
    }
}

static int sbn_init(gv_problem *p, const gv_spec *s, char *err)
{
    sbn_state_t *st = p->state;
    long D, D2, P, N, size, offset, seed;
    double scale, enc_scale;
    int data, split;
    static const char *const datas[] = {"synthetic", "fashion-mnist", NULL}, *const splits[] = {"train", "test", NULL};
    const char *params = gv_spec_get(s, "params"), *dir = gv_spec_get(s, "dir");
    if (gv_opt_long(s, "D", 8, 1, GV_SBN_MAXD, &D, err) || gv_opt_long(s, "P", 16, 1, SBN_MAXP, &P, err) ||
        gv_opt_long(s, "N", 4, 1, 100000, &N, err) || gv_opt_choice(s, "data", datas, 0, &data, err) ||
        gv_opt_long(s, "size", 14, 7, 14, &size, err) || gv_opt_choice(s, "split", splits, 0, &split, err) ||
        gv_opt_long(s, "offset", 0, 0, 100000000L, &offset, err) || gv_opt_long(s, "seed", 1, 0, 2147483647L, &seed, err) ||
        gv_opt_double(s, "scale", 1, 0, 1e3, &scale, err) || gv_opt_double(s, "enc_scale", 0.1, 0, 1e3, &enc_scale, err) ||
        gv_opt_long(s, "D2", 0, 0, GV_SBN_MAXD - 1, &D2, err))
        return GV_EUSAGE;
    long M, T;
    int dyn;
    static const char *const bins[] = {"fixed", "dynamic", NULL};
    if (gv_opt_long(s, "train_n", N, 1, 100000, &M, err) || gv_opt_long(s, "test_n", 0, 0, 100000, &T, err) ||
        gv_opt_choice(s, "binarise", bins, 0, &dyn, err))
        return GV_EUSAGE;
    if (M < N) return gv_err(err, "problem sbn: train_n=%ld is smaller than the batch N=%ld", M, N), GV_EUSAGE;
    if (dyn && data == 0)
        return gv_err(err, "problem sbn: binarise=dynamic needs data=fashion-mnist (synthetic data is already 0/1)"),
               GV_EUSAGE;
    if (T && data == 1 && split == 1)
        return gv_err(err, "problem sbn: test_n reads the Fashion-MNIST test file; the batch must come from split=train"),
               GV_EUSAGE;
    st->M = (int)M, st->T = (int)T, st->dynamic = dyn, st->batched = dyn || M > N;
    if (!params && D + D2 > GV_SBN_MAXD)
        return gv_err(err, "problem sbn: D + D2 = %ld + %ld latents; at most %d (exact enumeration)", D, D2, GV_SBN_MAXD),
               GV_EUSAGE;
    if (params && gv_spec_get(s, "D2"))
        return gv_err(err, "problem sbn: D2 comes from the params file (its rows of b2); do not give it with params="),
               GV_EUSAGE;
    if (size != 7 && size != 14) return gv_err(err, "problem sbn: size=%ld: valid sizes are 7 and 14", size), GV_EUSAGE;
    if (data == 0 && (gv_spec_get(s, "size") || gv_spec_get(s, "split") || gv_spec_get(s, "offset") || dir))
        return gv_err(err, "problem sbn: size, split, offset and dir are options of data=fashion-mnist"), GV_EUSAGE;
    if (data == 1 && gv_spec_get(s, "P"))
        return gv_err(err, "problem sbn: with data=fashion-mnist P is size^2 (give size=14 or 7, not P)"), GV_EUSAGE;
    if (params && (gv_spec_get(s, "D") || gv_spec_get(s, "P") || gv_spec_get(s, "scale")))
        return gv_err(err, "problem sbn: D, P and scale come from the params file; do not give them with params="),
               GV_EUSAGE;
    st->N = (int)N, st->data = data;
    double *phi_file = NULL;
    int rc = GV_OK;
    gsl_rng *r = gv_problem_rng((unsigned long)seed, "sbn");
    if (!r) return gv_err(err, "out of memory"), GV_EFAIL;
    if (params) {
        if ((rc = load_params(st, params, &phi_file, err))) return gsl_rng_free(r), rc;
        snprintf(st->origin, sizeof st->origin, "parameters from %s%s", params, phi_file ? " (with the encoder)" : "");
    } else {
        st->D = (int)D, st->P = data ? (int)(size * size) : (int)P;
        st->b = malloc((size_t)st->D * sizeof(double));
        st->W = malloc((size_t)st->D * st->P * sizeof(double));
        st->c = malloc((size_t)st->P * sizeof(double));
        if (!st->b || !st->W || !st->c) return gsl_rng_free(r), gv_err(err, "out of memory"), GV_EFAIL;
        for (int d = 0; d < st->D; d++) st->b[d] = gsl_ran_gaussian(r, 1);
        for (long i = 0; i < (long)st->D * st->P; i++) st->W[i] = gsl_ran_gaussian(r, scale);
        for (int j = 0; j < st->P; j++) st->c[j] = gsl_ran_gaussian(r, 1);
        snprintf(st->origin, sizeof st->origin, "seeded parameters (seed %ld, W ~ N(0, %g^2))", seed, scale);
        st->D2 = (int)D2;
    }
    if (phi_file && gv_spec_get(s, "enc_scale")) {
        free(phi_file), gsl_rng_free(r);
        return gv_err(err, "problem sbn: the params file %s holds the encoder (A, a); do not give enc_scale", params),
               GV_EUSAGE;
    }
    if (data == 1 && st->P != size * size) {
        free(phi_file), gsl_rng_free(r);
        return gv_err(err, "problem sbn: the params file has P = %d visible units; Fashion-MNIST at size=%ld has %ld",
                      st->P, size, size * size), GV_EUSAGE;
    }
    /* a second latent layer: its model from a stream of its own (the one-layer bits are unchanged) */
    if (st->D2 > 0 && !params && sbn2_seed_model(st, seed, scale)) return free(phi_file), gsl_rng_free(r), GV_EFAIL;

    const int Dn = st->D, Pn = st->P;
    st->x = malloc((size_t)st->N * Pn * sizeof(double));
    st->pool_p = malloc((size_t)st->M * Pn * sizeof(double));
    st->pool_x = data ? malloc((size_t)st->M * Pn * sizeof(double)) : st->pool_p; /* synthetic: the same */
    st->test_x = st->T ? malloc((size_t)st->T * Pn * sizeof(double)) : NULL;
    st->idx = malloc((size_t)st->M * sizeof(int));
    p->n_outer = Dn * Pn + Dn + st->D2 * Dn + st->D2; /* A, a (and B, a2 of a second layer) */
    p->phi = phi_file ? phi_file : malloc((size_t)p->n_outer * sizeof(double));
    if (!st->x || !st->pool_p || !st->pool_x || (st->T && !st->test_x) || !st->idx || !p->phi)
        return gsl_rng_free(r), gv_err(err, "out of memory"), GV_EFAIL;
    if (!data) st->pool_x = NULL; /* pool_p owns the synthetic pool; sbn_pool_x() gives it */
    /* data and encoder from streams of their own: the same whether the model was seeded or loaded */
    gsl_rng_free(r);
    r = gv_problem_rng((unsigned long)seed, "sbn-data");
    if (!r) return gv_err(err, "out of memory"), GV_EFAIL;
    if (data == 1) { /* the pool's fixed binarisation draws pixel by pixel, image by image */
        rc = load_fmnist(dir ? dir : SBN_DEFAULT_DIR, split == 0, offset, st->M, (int)size, st->pool_p, err);
        for (long i = 0; !rc && i < (long)st->M * Pn; i++) st->pool_x[i] = gsl_rng_uniform(r) < st->pool_p[i];
    } else if (st->D2 > 0) {
        sbn2_synth(st, r, st->M, st->pool_p);
    } else { /* x ~ p(x): z ~ p(z), x ~ p(x | z) */
        sbn_sample_data(st, r, st->M, st->pool_p);
    }
    gsl_rng_free(r);
    if (!rc && st->T) { /* the test set: its own stream */
        if (!(r = gv_problem_rng((unsigned long)seed, "sbn-test"))) return gv_err(err, "out of memory"), GV_EFAIL;
        if (data == 1) {
            rc = load_fmnist(dir ? dir : SBN_DEFAULT_DIR, 0, 0, st->T, (int)size, st->test_x, err);
            for (long i = 0; !rc && i < (long)st->T * Pn; i++) st->test_x[i] = gsl_rng_uniform(r) < st->test_x[i];
        } else {
            sbn_sample_data(st, r, st->T, st->test_x);
        }
        gsl_rng_free(r);
    }
    if (!rc) memcpy(st->x, sbn_pool_x(st), (size_t)st->N * Pn * sizeof(double));
    r = gv_problem_rng((unsigned long)seed, "sbn-encoder");
    if (!r) return gv_err(err, "out of memory"), GV_EFAIL;
    if (!rc && !phi_file) {
        for (long i = 0; i < (long)Dn * Pn; i++) p->phi[i] = gsl_ran_gaussian(r, enc_scale);
        for (int d = 0; d < Dn; d++) p->phi[(size_t)Dn * Pn + d] = 0;
    }
    gsl_rng_free(r);
    if (rc) return rc;
    st->spb = 0;
    for (int d = 0; d < Dn; d++) st->spb += softplus(st->b[d]);
    if (st->D2 > 0) return sbn2_finish(p, seed, enc_scale, phi_file != NULL, err);
    if (gv_layout_uniform(&p->layout, st->N * Dn, GV_UNIT_BERNOULLI, 2)) return gv_err(err, "out of memory"), GV_EFAIL;
    if (!(p->eta = malloc((size_t)st->N * Dn * sizeof(double)))) return gv_err(err, "out of memory"), GV_EFAIL;
    sbn_map(p, p->phi, p->eta);
    p->n_model = Dn + Dn * Pn + Pn;
    return GV_OK;
}

/* ------------------------------------------------------------------ f, f~ */

/* log p(x_n, y) - log q(y | x_n) at y in [0,1]^D (z for integer y); a (P) is scratch. */
static double sbn_fn(const sbn_state_t *st, int n, const double *eta, const double *y, double *a, int fast)
{
    const int D = st->D, P = st->P;
    memcpy(a, st->c, (size_t)P * sizeof *a);
    double lin = -st->spb;
    for (int d = 0; d < D; d++) {
        lin += y[d] * (st->b[d] - eta[d]) + softplus(eta[d]);
        if (y[d] == 0) continue;
        const double *w = st->W + (size_t)d * P;
        for (int j = 0; j < P; j++) a[j] += y[d] * w[j];
    }
    const double *x = st->x + (size_t)n * P;
    return lin + (fast ? gv_sbn_loglik_fast(a, x, P) : gv_sbn_loglik_libm(a, x, P));
}

static double sbn_f_at(const void *v, const gv_point *pt, const int *z)
{
    const sbn_state_t *st = v;
    if (st->D2) return sbn2_f_at(v, pt, z);
    double a[SBN_MAXP], y[GV_SBN_MAXD], s = 0;
    for (int n = 0; n < st->N; n++) {
        for (int d = 0; d < st->D; d++) y[d] = z[n * st->D + d];
        s += sbn_fn(st, n, pt->eta + n * st->D, y, a, 1);
    }
    return s / st->N;
}

static double sbn_ftilde_at(const void *v, const gv_point *pt, const double *y)
{
    const sbn_state_t *st = v;
    if (st->D2) return sbn2_ftilde_at(v, pt, y);
    double a[SBN_MAXP], s = 0;
    for (int n = 0; n < st->N; n++) s += sbn_fn(st, n, pt->eta + n * st->D, y + n * st->D, a, 1);
    return s / st->N;
}

/* r = x_n - sigma(c + W^T y1): the decoder's residual at layer-1 values y1 (D), r (P). */
static void sbn_residual(const sbn_state_t *st, int n, const double *y1, double *r)
{
    const int D = st->D, P = st->P;
    const double *x = st->x + (size_t)n * P;
    memcpy(r, st->c, (size_t)P * sizeof *r);
    for (int d = 0; d < D; d++) {
        const double *w = st->W + (size_t)d * P;
        for (int j = 0; j < P; j++) r[j] += y1[d] * w[j];
    }
    for (int j = 0; j < P; j++) r[j] = x[j] - gv_sigmoid(r[j]);
}

/* d/dy_{n,d} = (1/N) [b_d - eta_{n,d} + sum_j W_dj (x_j - sigma(a_j))] */
static void sbn_grad_at(const void *v, const gv_point *pt, const double *y, double *g)
{
    const sbn_state_t *st = v;
    const int D = st->D, P = st->P;
    if (st->D2) {
        sbn2_grad_at(v, pt, y, g);
        return;
    }
    double a[SBN_MAXP];
    for (int n = 0; n < st->N; n++) {
        sbn_residual(st, n, y + n * D, a);
        for (int d = 0; d < D; d++) {
            const double *w = st->W + (size_t)d * P;
            double s = st->b[d] - pt->eta[n * D + d];
            for (int j = 0; j < P; j++) s += w[j] * a[j];
            g[n * D + d] = s / st->N;
        }
    }
}

double gv_sbn_log_joint(const gv_problem *p, int n, const int *z)
{
    const sbn_state_t *st = p->state;
    double a[SBN_MAXP], lp = -st->spb;
    memcpy(a, st->c, (size_t)st->P * sizeof *a);
    for (int d = 0; d < st->D; d++) {
        lp += z[d] * st->b[d];
        if (z[d])
            for (int j = 0; j < st->P; j++) a[j] += st->W[(size_t)d * st->P + j];
    }
    return lp + gv_sbn_loglik_libm(a, st->x + (size_t)n * st->P, st->P);
}

int gv_sbn_get_model(const gv_problem *p, gv_sbn_model *m)
{
    if (strcmp(p->type->name, "sbn")) return -1;
    const sbn_state_t *st = p->state;
    *m = (gv_sbn_model){st->D, st->P, st->N, st->b, st->W, st->c, st->x, st->M, st->T, st->pool_p, st->test_x};
    return 0;
}

/* ------------------------------------------------------------------ enumeration */

/* Streaming sums over a set of states (one block). */
typedef struct {
    double W, F;                              /* sum w, sum w f (w = q(z) / q(mode)) */
    double W1[GV_SBN_MAXD], F1[GV_SBN_MAXD];  /* the same over z_d = 1 */
    double W0[GV_SBN_MAXD], F0[GV_SBN_MAXD];  /* and over z_d = 0 */
    double M, L, Lm[GV_SBN_MAXD];             /* log-sum-exp of l = log p(x, z): max, sum e^(l - M), over z_d = 1 */
    double LL;                                /* sum e^(l - M) l (the posterior mean of log p(x, z)) */
} sbn_acc;

static void acc_init(sbn_acc *s) { memset(s, 0, sizeof *s), s->M = -INFINITY; }

/* Add l to a streaming log-sum-exp (max M, sum L = sum e^(l - M), Lm[d] the sum over z_d = 1). */
static inline void lse_add(double *M, double *L, double *Lm, int n, const int *z, double l)
{
    if (l > *M) { /* rescale the log-sum-exp to the new maximum */
        const double k = exp(*M - l);
        *L *= k;
        for (int d = 0; d < n; d++) Lm[d] *= k;
        *M = l;
    }
    const double e = exp(l - *M);
    *L += e;
    for (int d = 0; d < n; d++) Lm[d] += z[d] * e;
}

static inline void acc_add(sbn_acc *s, int D, const int *z, double lw, double f, double l)
{
    const double w = exp(lw), wf = w * f;
    s->W += w, s->F += wf;
    for (int d = 0; d < D; d++) {
        const double one = z[d];
        s->W1[d] += one * w, s->F1[d] += one * wf;
        s->W0[d] += (1 - one) * w, s->F0[d] += (1 - one) * wf;
    }
    if (l > s->M) s->LL *= exp(s->M - l); /* the rescaling lse_add applies to L */
    lse_add(&s->M, &s->L, s->Lm, D, z, l);
    s->LL += exp(l - s->M) * l;
}

/* Merge the streaming log-sum-exp (max M, sum L, per-latent sums Lm[n]) of b into a. */
static void lse_merge(double *aM, double *aL, double *aLm, double bM, double bL, const double *bLm, int n)
{
    if (bM == -INFINITY) return;
    const double M = fmax(*aM, bM), ka = *aM == -INFINITY ? 0 : exp(*aM - M), kb = exp(bM - M);
    *aL = *aL * ka + bL * kb;
    for (int d = 0; d < n; d++) aLm[d] = aLm[d] * ka + bLm[d] * kb;
    *aM = M;
}

static void acc_merge(sbn_acc *a, const sbn_acc *b, int D)
{
    a->W += b->W, a->F += b->F;
    for (int d = 0; d < D; d++) a->W1[d] += b->W1[d], a->F1[d] += b->F1[d], a->W0[d] += b->W0[d], a->F0[d] += b->F0[d];
    if (b->M != -INFINITY) {
        const double M = fmax(a->M, b->M);
        a->LL = (a->M == -INFINITY ? 0 : a->LL * exp(a->M - M)) + b->LL * exp(b->M - M);
    }
    lse_merge(&a->M, &a->L, a->Lm, b->M, b->L, b->Lm, D);
}

/* The states s0 .. s0 + len - 1 of the Gray-code order (state index s <-> z = s ^ (s >> 1)). */
static void enum_gray_block(const sbn_state_t *st, int n, const double *eta, long s0, long len, sbn_acc *acc)
{
    const int D = st->D, P = st->P;
    const double *x = st->x + (size_t)n * P;
    double a[SBN_MAXP];
    int z[GV_SBN_MAXD];
    const long g0 = s0 ^ (s0 >> 1);
    memcpy(a, st->c, (size_t)P * sizeof *a);
    /* lin = log p(z) - log q(z) without log p(x | z); lp = log p(z); lw = log q(z) - log q(mode) */
    double lin = -st->spb, lp = -st->spb, lw = 0;
    for (int d = 0; d < D; d++) {
        lin += softplus(eta[d]), lw -= fmax(eta[d], 0);
        z[d] = (int)(g0 >> d & 1);
        if (!z[d]) continue;
        lin += st->b[d] - eta[d], lp += st->b[d], lw += eta[d];
        const double *w = st->W + (size_t)d * P;
        for (int j = 0; j < P; j++) a[j] += w[j];
    }
    for (long t = 0;; t++) {
        const double lx = gv_sbn_loglik_fast(a, x, P);
        acc_add(acc, D, z, lw, lin + lx, lp + lx);
        if (t + 1 == len) break;
        const int d = __builtin_ctzl((unsigned long)(s0 + t + 1)); /* the bit the next Gray code flips */
        const double sg = (z[d] ^= 1) ? 1.0 : -1.0;
        const double *w = st->W + (size_t)d * P;
        for (int j = 0; j < P; j++) a[j] += sg * w[j];
        lin += sg * (st->b[d] - eta[d]), lp += sg * st->b[d], lw += sg * eta[d];
    }
}

static void enum_direct(const sbn_state_t *st, int n, const double *eta, sbn_acc *acc)
{
    const int D = st->D, P = st->P;
    const double *x = st->x + (size_t)n * P;
    double a[SBN_MAXP];
    int z[GV_SBN_MAXD];
    double base = -st->spb, lw0 = 0;
    for (int d = 0; d < D; d++) base += softplus(eta[d]), lw0 -= fmax(eta[d], 0);
    for (long s = 0; s < 1L << D; s++) {
        double lin = base, lp = -st->spb, lw = lw0;
        memcpy(a, st->c, (size_t)P * sizeof *a);
        for (int d = 0; d < D; d++) {
            z[d] = (int)(s >> d & 1);
            if (!z[d]) continue;
            lin += st->b[d] - eta[d], lp += st->b[d], lw += eta[d];
            for (int j = 0; j < P; j++) a[j] += st->W[(size_t)d * P + j];
        }
        const double lx = gv_sbn_loglik_libm(a, x, P);
        acc_add(acc, D, z, lw, lin + lx, lp + lx);
    }
}

static void acc_result(const sbn_acc *s, int D, gv_sbn_result *r)
{
    r->elbo = s->F / s->W;
    r->logpx = s->M + log(s->L);
    r->post_lj = s->LL / s->L;
    for (int d = 0; d < D; d++) {
        r->cond1[d] = s->W1[d] > 0 ? s->F1[d] / s->W1[d] : r->elbo;
        r->cond0[d] = s->W0[d] > 0 ? s->F0[d] / s->W0[d] : r->elbo;
        r->post[d] = s->Lm[d] / s->L;
    }
}

int gv_sbn_enumerate(const gv_problem *p, int n, const double *eta, int method, gv_sbn_result *r)
{
    const sbn_state_t *st = p->state;
    if (n < 0 || n >= st->N) return -1;
    sbn_acc acc;
    acc_init(&acc);
    if (method == GV_SBN_DIRECT) {
        enum_direct(st, n, eta, &acc);
    } else {
        const long nst = 1L << st->D, bl = nst < (1L << SBN_BLOCK_BITS) ? nst : 1L << SBN_BLOCK_BITS;
        for (long s0 = 0; s0 < nst; s0 += bl) {
            sbn_acc b;
            acc_init(&b);
            enum_gray_block(st, n, eta, s0, bl, &b);
            acc_merge(&acc, &b, st->D);
        }
    }
    acc_result(&acc, st->D, r);
    return 0;
}

/* Every data point of st (its x, N) at encoder logits eta (N x D), every block, in parallel;
 * merged in a fixed order into res (N).  Returns the sum of the ELBOs (NAN: out of memory). */
static double enum_points(const sbn_state_t *st, const double *eta, gv_sbn_result *res)
{
    const int D = st->D, N = st->N;
    const long nst = 1L << D, bl = nst < (1L << SBN_BLOCK_BITS) ? nst : 1L << SBN_BLOCK_BITS, nb = nst / bl;
    /* data points in chunks (the accumulators of at most ~256 tasks at a time) */
    const long chunk = nb >= 256 ? 1 : 256 / nb;
    sbn_acc *acc = malloc((size_t)(chunk * nb) * sizeof *acc);
    if (!acc) return NAN;
    double tot = 0;
    for (long n0 = 0; n0 < N; n0 += chunk) {
        const long nn = N - n0 < chunk ? N - n0 : chunk, ntask = nn * nb;
#pragma omp parallel for schedule(dynamic, 1)
        for (long t = 0; t < ntask; t++) {
            const long n = n0 + t / nb;
            acc_init(&acc[t]);
            enum_gray_block(st, (int)n, eta + n * D, (t % nb) * bl, bl, &acc[t]);
        }
        for (long i = 0; i < nn; i++) {
            for (long k = 1; k < nb; k++) acc_merge(&acc[i * nb], &acc[i * nb + k], D);
            acc_result(&acc[i * nb], D, &res[n0 + i]);
            tot += res[n0 + i].elbo;
        }
    }
    free(acc);
    return tot;
}

/* Exact reference at the batch. */
static int sbn_exact(const gv_problem *p, const gv_point *pt, double *value, double *cond)
{
    const sbn_state_t *st = p->state;
    const int D = st->D, N = st->N;
    if (st->D2) return -1; /* the hierarchical layout's reference is sbn2_exact_grad */
    gv_sbn_result *res = malloc((size_t)N * sizeof *res);
    if (!res) return -1;
    const double tot = enum_points(st, pt->eta, res);
    int finite = isfinite(tot);
    for (int n = 0; n < N && finite; n++)
        for (int d = 0; d < D; d++) finite &= isfinite(res[n].cond1[d]) && isfinite(res[n].cond0[d]);
    if (!finite) return free(res), -1; /* the harness reports the failed reference */
    /* E[f | z_{n,d} = v] = (1/N) (E[f_n | z_d = v] + sum_{m != n} E f_m) */
    for (int n = 0; n < N; n++)
        for (int d = 0; d < D; d++) {
            const gv_unit *u = &p->layout.units[n * D + d];
            cond[u->cond + 1] = (res[n].cond1[d] + tot - res[n].elbo) / N;
            cond[u->cond + 0] = (res[n].cond0[d] + tot - res[n].elbo) / N;
        }
    *value = tot / N;
    free(res);
    return 0;
}

/* ------------------------------------------------------------------ training: model, batches, evaluation */

/* theta = (b (D), W (D x P), c (P)) and, with a second layer, (b2 (D2), V (D x D2)). */
static void sbn_model_get(const gv_problem *p, double *theta)
{
    const sbn_state_t *st = p->state;
    const size_t D = st->D, P = st->P, D2 = st->D2;
    memcpy(theta, st->b, D * sizeof *theta);
    memcpy(theta + D, st->W, D * P * sizeof *theta);
    memcpy(theta + D + D * P, st->c, P * sizeof *theta);
    if (D2) {
        memcpy(theta + D + D * P + P, st->b2, D2 * sizeof *theta);
        memcpy(theta + D + D * P + P + D2, st->V, D * D2 * sizeof *theta);
    }
}

static void sbn_model_set(gv_problem *p, const double *theta)
{
    sbn_state_t *st = p->state;
    const size_t D = st->D, P = st->P;
    memcpy(st->b, theta, D * sizeof *theta);
    memcpy(st->W, theta + D, D * P * sizeof *theta);
    memcpy(st->c, theta + D + D * P, P * sizeof *theta);
    st->spb = 0;
    for (size_t d = 0; d < D; d++) st->spb += softplus(st->b[d]);
    if (st->D2) {
        const size_t D2 = st->D2;
        memcpy(st->b2, theta + D + D * P + P, D2 * sizeof *theta);
        memcpy(st->V, theta + D + D * P + P + D2, D * D2 * sizeof *theta);
        st->spb2 = 0;
        for (size_t k = 0; k < D2; k++) st->spb2 += softplus(st->b2[k]);
    }
}

/* g += w grad_theta f(z), f = (1/N) sum_n log p(x_n, z_n) - log q: d/db_d = z_d - sigma(m_d) with
 * the prior logit m = b (+ V z2 with a second layer; then d/dV_dk = (z_d - sigma(m_d)) z2_k and
 * d/db2_k = z2_k - sigma(b2_k)), d/dc_j = x_j - sigma(a_j), d/dW_dj = z_d (x_j - sigma(a_j)),
 * a = c + W^T z. */
static void sbn_model_grad(const gv_problem *p, const gv_point *pt, const int *z, double w, double *g)
{
    const sbn_state_t *st = p->state;
    const int D = st->D, P = st->P, D2 = st->D2, U = D + D2;
    const double wn = w / st->N;
    double a[SBN_MAXP];
    double *gb = g, *gW = g + D, *gc = g + D + (size_t)D * P, *gb2 = gc + P, *gV = gb2 + D2;
    for (int n = 0; n < st->N; n++) {
        const int *zn = z + n * U, *z2 = zn + D; /* a second layer's units follow the first's */
        const double *x = st->x + (size_t)n * P;
        memcpy(a, st->c, (size_t)P * sizeof *a);
        for (int k = 0; k < D2; k++) gb2[k] += wn * (z2[k] - gv_sigmoid(st->b2[k]));
        for (int d = 0; d < D; d++) {
            double m = st->b[d]; /* the prior logit of z_d: b_d (+ V_d z2) */
            for (int k = 0; k < D2; k++) m += z2[k] * st->V[(size_t)d * D2 + k];
            const double r = wn * (zn[d] - gv_sigmoid(m));
            gb[d] += r;
            for (int k = 0; k < D2; k++) gV[(size_t)d * D2 + k] += r * z2[k];
            if (!zn[d]) continue;
            const double *wd = st->W + (size_t)d * P;
            for (int j = 0; j < P; j++) a[j] += wd[j];
        }
        for (int j = 0; j < P; j++) {
            a[j] = wn * (x[j] - gv_sigmoid(a[j]));
            gc[j] += a[j];
        }
        for (int d = 0; d < D; d++)
            if (zn[d])
                for (int j = 0; j < P; j++) gW[(size_t)d * P + j] += a[j];
    }
}

/* N distinct pool points (a partial Fisher-Yates shuffle from the identity, so the draw depends on r
 * alone), fixed or freshly binarised.  Without train_n > N or binarise=dynamic the batch stays. */
static int sbn_next_batch(gv_problem *p, gsl_rng *r)
{
    sbn_state_t *st = p->state;
    if (!st->batched) return 0;
    const int P = st->P;
    const double *px = sbn_pool_x(st);
    for (int i = 0; i < st->M; i++) st->idx[i] = i;
    for (int n = 0; n < st->N; n++) {
        const int k = n + (int)gsl_rng_uniform_int(r, (unsigned long)(st->M - n)), t = st->idx[k];
        st->idx[k] = st->idx[n], st->idx[n] = t;
        double *x = st->x + (size_t)n * P;
        if (st->dynamic)
            for (int j = 0; j < P; j++) x[j] = gsl_rng_uniform(r) < st->pool_p[(size_t)t * P + j];
        else memcpy(x, px + (size_t)t * P, (size_t)P * sizeof *x);
    }
    return 0;
}

/* Exact mean ELBO and log p(x) of the pool (set 0, fixed binarisation) or the test set (set 1) at phi. */
static int sbn_evaluate(const gv_problem *p, const double *phi, int set, double *value, double *logml)
{
    const sbn_state_t *st = p->state;
    if (set == 1 && !st->T) return 1;
    if (set != 0 && set != 1) return 1;
    sbn_state_t v = *st; /* the same model over another data set */
    v.x = (double *)(set ? st->test_x : sbn_pool_x(st));
    v.N = set ? st->T : st->M;
    if (st->D2) return sbn2_evaluate(p, &v, phi, value, logml);
    const int D = st->D;
    double *eta = malloc((size_t)v.N * D * sizeof *eta);
    gv_sbn_result *res = malloc((size_t)v.N * sizeof *res);
    if (!eta || !res) return free(eta), free(res), -1;
    sbn_encode(&v, phi, v.x, v.N, eta);
    const double tot = enum_points(&v, eta, res);
    double lm = 0;
    for (int n = 0; n < v.N; n++) lm += res[n].logpx;
    free(eta), free(res);
    *value = tot / v.N, *logml = lm / v.N;
    return isfinite(*value) && isfinite(*logml) ? 0 : -1;
}

/* ------------------------------------------------------------------ describe, dump */

static void sbn_describe(const gv_problem *p, FILE *out)
{
    const sbn_state_t *st = p->state;
    if (st->D2) { sbn2_describe(p, out); return; }
    fprintf(out, "sigmoid belief net: D = %d latents, P = %d visible, N = %d data points (%s); %s\n", st->D, st->P,
            st->N, st->data ? "binarised Fashion-MNIST" : "synthetic, x ~ p(x)", st->origin);
    double elbo = 0, lpx = 0;
    gv_sbn_result r;
    for (int n = 0; n < st->N; n++) {
        gv_sbn_enumerate(p, n, p->eta + n * st->D, GV_SBN_GRAY, &r);
        elbo += r.elbo / st->N, lpx += r.logpx / st->N;
    }
    fprintf(out, "  exact at the initial encoder: mean ELBO %.10g, mean log p(x) %.10g, mean KL(q || p(z|x)) %.6g\n",
            elbo, lpx, lpx - elbo);
}

static int sbn_dump(const gv_problem *p, FILE *out)
{
    const sbn_state_t *st = p->state;
    const int D = st->D, P = st->P;
    fprintf(out, "param,row,col,value\n");
    for (int d = 0; d < D; d++) fprintf(out, "b,%d,0,%.17g\n", d, st->b[d]);
    for (int d = 0; d < D; d++)
        for (int j = 0; j < P; j++) fprintf(out, "W,%d,%d,%.17g\n", d, j, st->W[(size_t)d * P + j]);
    for (int j = 0; j < P; j++) fprintf(out, "c,%d,0,%.17g\n", j, st->c[j]);
    for (int d = 0; d < D; d++)
        for (int j = 0; j < P; j++) fprintf(out, "A,%d,%d,%.17g\n", d, j, p->phi[(size_t)d * P + j]);
    for (int d = 0; d < D; d++) fprintf(out, "a,%d,0,%.17g\n", d, p->phi[(size_t)D * P + d]);
    if (st->D2) { /* the second layer: V, b2, then its encoder B, a2 */
        const int D2 = st->D2;
        const double *B = p->phi + (size_t)D * P + D, *a2 = B + (size_t)D2 * D;
        for (int d = 0; d < D; d++)
            for (int k = 0; k < D2; k++) fprintf(out, "V,%d,%d,%.17g\n", d, k, st->V[(size_t)d * D2 + k]);
        for (int k = 0; k < D2; k++) fprintf(out, "b2,%d,0,%.17g\n", k, st->b2[k]);
        for (int k = 0; k < D2; k++)
            for (int d = 0; d < D; d++) fprintf(out, "B,%d,%d,%.17g\n", k, d, B[(size_t)k * D + d]);
        for (int k = 0; k < D2; k++) fprintf(out, "a2,%d,0,%.17g\n", k, a2[k]);
    }
    return ferror(out) ? -1 : 0;
}

/* ================================================================== two latent layers (D2 > 0)
 *
 * Model: p(z2) = prod_k Bern(sigma(b2_k)), p(z1 | z2) = prod_d Bern(sigma(b_d + sum_k V_dk z2_k)),
 * p(x | z1) as above.  Encoder: q(z1 | x) = prod_d Bern(sigma((A x + a)_d)), q(z2 | z1) =
 * prod_k Bern(sigma(a2_k + sum_d B_kd z1_d)).  Layout: U = D + D2 units per data point, unit n U + d
 * (layer 1) and n U + D + k (layer 2), and N D2 D edges layer-1 d -> layer-2 k of the same data
 * point, edge (n D2 + k) D + d with weight eta[N U + (n D2 + k) D + d] (= B_kd).  The units' own
 * logits are A x_n + a (layer 1) and a2 (layer 2).  phi = (A, a, B, a2); outer_map copies B and a2
 * into every data point, outer_vjp sums over the data points.
 * f_n(z) = log p(x_n, z1, z2) - log q(z1, z2 | x_n) with q at the point's eta (biases and edges).
 * Exact, per data point: an outer Gray-code loop over z1 keeps a = c + W z1 (and A's, B's and V's
 * contributions) incremental, so the P-dimensional log-likelihood is computed once per z1 by the
 * vectorised kernel; an inner loop over the 2^D2 states of z2 adds
 *   log p(z2) + log p(z1 | z2) = z1.b + T(z2) + z2.(V^T z1),  T(z2) = z2.b2 - sum softplus(b2)
 *                                - sum_d softplus(b_d + (V z2)_d)   (a table over z2, once per call)
 * and log q(z2 | z1) = z2.l - sum_k softplus(l_k), l = a2 + B z1.  Per z1 the inner sums give
 * E[f | z1] and, for each layer-2 unit k, sigma'(l_k) (E[f | z1, z2_k = 1] - E[f | z1, z2_k = 0]) =
 * the exact d/d(bias k) of the inner expectation (times z1_d: of edge d -> k); the outer sums weight
 * them by q(z1).  Layer-1 logits: theta (1 - theta) (E[f | z1_d = 1] - E[f | z1_d = 0]) (their score
 * is z1_d - theta_d: q(z2 | z1) does not depend on them).  Blocks of z1 (2^max(0, min(D, 12 - D2))
 * states, ~2^12 joint states) start from an exact state and are merged in a fixed order: the same
 * bits for any thread count. */

static int sbn2_seed_model(sbn_state_t *st, long seed, double scale)
{
    const int D = st->D, D2 = st->D2;
    gsl_rng *r = gv_problem_rng((unsigned long)seed, "sbn-layer2");
    st->b2 = malloc((size_t)D2 * sizeof(double));
    st->V = malloc((size_t)D * D2 * sizeof(double));
    if (!r || !st->b2 || !st->V) return gsl_rng_free(r), -1;
    for (int k = 0; k < D2; k++) st->b2[k] = gsl_ran_gaussian(r, 1);
    for (long i = 0; i < (long)D * D2; i++) st->V[i] = gsl_ran_gaussian(r, scale);
    gsl_rng_free(r);
    return 0;
}

/* nn data points x ~ p(x) of the two-layer model into x (nn x P): z2 ~ p(z2), z1 ~ p(z1 | z2), x ~ p(x | z1). */
static void sbn2_synth(const sbn_state_t *st, gsl_rng *r, int nn, double *x)
{
    const int D = st->D, D2 = st->D2, P = st->P;
    int z1[GV_SBN_MAXD], z2[GV_SBN_MAXD];
    for (int n = 0; n < nn; n++) {
        for (int k = 0; k < D2; k++) z2[k] = gsl_rng_uniform(r) < gv_sigmoid(st->b2[k]);
        for (int d = 0; d < D; d++) {
            double m = st->b[d];
            for (int k = 0; k < D2; k++) m += z2[k] * st->V[(size_t)d * D2 + k];
            z1[d] = gsl_rng_uniform(r) < gv_sigmoid(m);
        }
        for (int j = 0; j < P; j++) {
            double a = st->c[j];
            for (int d = 0; d < D; d++) a += z1[d] * st->W[(size_t)d * P + j];
            x[(size_t)n * P + j] = gsl_rng_uniform(r) < gv_sigmoid(a);
        }
    }
}

static void sbn2_map(const gv_problem *p, const double *phi, double *eta)
{
    const sbn_state_t *st = p->state;
    const int D = st->D, D2 = st->D2, P = st->P, U = D + D2, N = st->N;
    const double *a0 = phi + (size_t)D * P, *B = a0 + D, *a2 = B + (size_t)D2 * D;
    for (int n = 0; n < N; n++) {
        const double *x = st->x + (size_t)n * P;
        for (int d = 0; d < D; d++) {
            const double *A = phi + (size_t)d * P;
            double s = a0[d];
            for (int j = 0; j < P; j++) s += A[j] * x[j];
            eta[n * U + d] = s;
        }
        for (int k = 0; k < D2; k++) eta[n * U + D + k] = a2[k];
        memcpy(eta + (size_t)N * U + (size_t)n * D2 * D, B, (size_t)D2 * D * sizeof *eta);
    }
}

static void sbn2_vjp(const gv_problem *p, const double *geta, double *gphi)
{
    const sbn_state_t *st = p->state;
    const int D = st->D, D2 = st->D2, P = st->P, U = D + D2, N = st->N;
    memset(gphi, 0, (size_t)p->n_outer * sizeof *gphi);
    double *ga = gphi + (size_t)D * P, *gB = ga + D, *ga2 = gB + (size_t)D2 * D;
    for (int n = 0; n < N; n++) {
        const double *x = st->x + (size_t)n * P, *ge = geta + (size_t)N * U + (size_t)n * D2 * D;
        for (int d = 0; d < D; d++) {
            const double g = geta[n * U + d];
            double *A = gphi + (size_t)d * P;
            for (int j = 0; j < P; j++) A[j] += g * x[j];
            ga[d] += g;
        }
        for (int k = 0; k < D2; k++) ga2[k] += geta[n * U + D + k];
        for (int i = 0; i < D2 * D; i++) gB[i] += ge[i];
    }
}

static int sbn2_finish(gv_problem *p, long seed, double enc_scale, int have_phi, char *err)
{
    sbn_state_t *st = p->state;
    const int D = st->D, D2 = st->D2, P = st->P, U = D + D2, N = st->N;
    if (!have_phi) { /* B ~ N(0, enc_scale^2), a2 = 0, from a stream of its own */
        gsl_rng *r = gv_problem_rng((unsigned long)seed, "sbn-encoder2");
        if (!r) return gv_err(err, "out of memory"), GV_EFAIL;
        double *B = p->phi + (size_t)D * P + D;
        for (long i = 0; i < (long)D2 * D; i++) B[i] = gsl_ran_gaussian(r, enc_scale);
        for (int k = 0; k < D2; k++) B[(size_t)D2 * D + k] = 0;
        gsl_rng_free(r);
    }
    st->spb2 = 0;
    for (int k = 0; k < D2; k++) st->spb2 += softplus(st->b2[k]);
    const long E = (long)N * D2 * D;
    if (E > 50000000L) return gv_err(err, "problem sbn: N D2 D = %ld edges is too many", E), GV_EUSAGE;
    int *par = malloc((size_t)E * sizeof *par), *chi = malloc((size_t)E * sizeof *chi);
    int rc = !par || !chi || gv_layout_uniform(&p->layout, N * U, GV_UNIT_BERNOULLI, 2);
    for (long e = 0; !rc && e < E; e++) { /* e = (n D2 + k) D + d */
        const long n = e / ((long)D2 * D), k = e / D % D2, d = e % D;
        par[e] = (int)(n * U + d), chi[e] = (int)(n * U + D + k);
    }
    if (!rc && gv_layout_add_edges(&p->layout, (int)E, par, chi, err)) rc = 1;
    free(par), free(chi);
    if (rc || !(p->eta = malloc((size_t)p->layout.n_params * sizeof(double))))
        return gv_err(err, "problem sbn: cannot build the two-layer layout (out of memory)"), GV_EFAIL;
    sbn2_map(p, p->phi, p->eta);
    p->n_model = D + D * P + P + D2 + D * D2;
    return GV_OK;
}

/* The exact mean ELBO and log p(x) of the data set of v (its x, N: the pool or the test set) at phi,
 * with p's model: the nested enumeration of every point, in parallel over points, summed in order. */
static int sbn2_evaluate(const gv_problem *p, const sbn_state_t *v, const double *phi, double *value, double *logml)
{
    gv_problem q = *p; /* the same problem over another data set */
    q.state = (void *)v;
    const int U = v->D + v->D2, N = v->N;
    double *eta = malloc(((size_t)N * U + (size_t)N * v->D2 * v->D) * sizeof *eta);
    double *el = malloc((size_t)N * sizeof *el), *lp = malloc((size_t)N * sizeof *lp);
    if (!eta || !el || !lp) return free(eta), free(el), free(lp), -1;
    sbn2_map(&q, phi, eta);
    int bad = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : bad)
    for (int n = 0; n < N; n++) {
        gv_sbn2_result r;
        bad |= gv_sbn2_enumerate(&q, n, eta, &r) != 0;
        el[n] = r.elbo, lp[n] = r.logpx;
    }
    double se = 0, sl = 0;
    for (int n = 0; n < N; n++) se += el[n], sl += lp[n];
    free(eta), free(el), free(lp);
    *value = se / N, *logml = sl / N;
    return !bad && isfinite(*value) && isfinite(*logml) ? 0 : -1;
}

/* f_n at y (data point n's U values: z1 then z2), with q at the point's eta (full vector).  At a
 * vertex y = z this is f_n; inside [0,1]^U it is f~_n: every Bernoulli log-pmf is linear in its value
 * (y log sigma(l) + (1 - y) log sigma(-l) = y l - softplus(l)) and every logit linear in its parents'
 * values (layer-1 prior b + V y2, layer-2 encoder a2 + B y1, decoder c + W y1). */
static double sbn2_fn(const sbn_state_t *st, int n, const double *eta, const double *y, double *a, int fast)
{
    const int D = st->D, D2 = st->D2, P = st->P, U = D + D2;
    const double *eu = eta + (size_t)n * U, *ew = eta + (size_t)st->N * U + (size_t)n * D2 * D;
    const double *z1 = y, *z2 = y + D;
    double lp = -st->spb2, lq = 0;
    for (int k = 0; k < D2; k++) lp += z2[k] * st->b2[k];
    memcpy(a, st->c, (size_t)P * sizeof *a);
    for (int d = 0; d < D; d++) {
        double m = st->b[d];
        for (int k = 0; k < D2; k++) m += z2[k] * st->V[(size_t)d * D2 + k];
        lp += z1[d] * m - softplus(m);
        lq += z1[d] * eu[d] - softplus(eu[d]);
        if (z1[d] == 0) continue;
        const double *w = st->W + (size_t)d * P;
        for (int j = 0; j < P; j++) a[j] += z1[d] * w[j]; /* exactly a[j] + w[j] at z1_d = 1 */
    }
    for (int k = 0; k < D2; k++) {
        double l = eu[D + k];
        for (int d = 0; d < D; d++) l += z1[d] * ew[k * D + d];
        lq += z2[k] * l - softplus(l);
    }
    const double *x = st->x + (size_t)n * P;
    return lp + (fast ? gv_sbn_loglik_fast(a, x, P) : gv_sbn_loglik_libm(a, x, P)) - lq;
}

static double sbn2_f_at(const void *v, const gv_point *pt, const int *z)
{
    const sbn_state_t *st = v;
    double a[SBN_MAXP], y[GV_SBN_MAXD], s = 0;
    const int U = st->D + st->D2;
    for (int n = 0; n < st->N; n++) {
        for (int u = 0; u < U; u++) y[u] = z[(size_t)n * U + u];
        s += sbn2_fn(st, n, pt->eta, y, a, 1);
    }
    return s / st->N;
}

/* f~ at y in [0,1]^{N U} (indexed by unit = the unit's parameter; the edge slots of y are ignored). */
static double sbn2_ftilde_at(const void *v, const gv_point *pt, const double *y)
{
    const sbn_state_t *st = v;
    double a[SBN_MAXP], s = 0;
    const int U = st->D + st->D2;
    for (int n = 0; n < st->N; n++) s += sbn2_fn(st, n, pt->eta, y + (size_t)n * U, a, 1);
    return s / st->N;
}

/* grad f~ (the edge slots get 0), per data point with r = x - sigma(c + W^T y1), m = b + V y2,
 * l = a2 + B y1 (eta's layer-2 biases and edges), t = y2 - sigma(l):
 *   d/dy1_d = m_d - eta_d + sum_j W_dj r_j - sum_k B_kd t_k,
 *   d/dy2_k = b2_k + sum_d V_dk (y1_d - sigma(m_d)) - l_k,   all divided by N. */
static void sbn2_grad_at(const void *v, const gv_point *pt, const double *y, double *g)
{
    const sbn_state_t *st = v;
    const int D = st->D, D2 = st->D2, P = st->P, U = D + D2, N = st->N;
    double a[SBN_MAXP], m[GV_SBN_MAXD], t[GV_SBN_MAXD], l[GV_SBN_MAXD];
    for (int q = N * U; q < pt->layout->n_params; q++) g[q] = 0;
    for (int n = 0; n < N; n++) {
        const double *y1 = y + (size_t)n * U, *y2 = y1 + D;
        const double *eu = pt->eta + (size_t)n * U, *ew = pt->eta + (size_t)N * U + (size_t)n * D2 * D;
        double *g1 = g + (size_t)n * U, *g2 = g1 + D;
        sbn_residual(st, n, y1, a);
        for (int d = 0; d < D; d++) {
            m[d] = st->b[d];
            for (int k = 0; k < D2; k++) m[d] += y2[k] * st->V[(size_t)d * D2 + k];
        }
        for (int k = 0; k < D2; k++) {
            l[k] = eu[D + k];
            for (int d = 0; d < D; d++) l[k] += y1[d] * ew[k * D + d];
            t[k] = y2[k] - gv_sigmoid(l[k]);
        }
        for (int d = 0; d < D; d++) {
            const double *w = st->W + (size_t)d * P;
            double s = m[d] - eu[d];
            for (int j = 0; j < P; j++) s += w[j] * a[j];
            for (int k = 0; k < D2; k++) s -= ew[k * D + d] * t[k];
            g1[d] = s / N;
        }
        for (int k = 0; k < D2; k++) {
            double s = st->b2[k] - l[k];
            for (int d = 0; d < D; d++) s += st->V[(size_t)d * D2 + k] * (y1[d] - gv_sigmoid(m[d]));
            g2[k] = s / N;
        }
    }
}

double gv_sbn2_log_joint(const gv_problem *p, int n, const int *z)
{
    const sbn_state_t *st = p->state;
    const int D = st->D, D2 = st->D2, P = st->P;
    double a[SBN_MAXP], lp = 0;
    for (int k = 0; k < D2; k++) lp += log(gv_sigmoid(z[D + k] ? st->b2[k] : -st->b2[k]));
    for (int d = 0; d < D; d++) {
        double m = st->b[d];
        for (int k = 0; k < D2; k++) m += z[D + k] * st->V[(size_t)d * D2 + k];
        lp += log(gv_sigmoid(z[d] ? m : -m));
    }
    memcpy(a, st->c, (size_t)P * sizeof *a);
    for (int d = 0; d < D; d++)
        if (z[d])
            for (int j = 0; j < P; j++) a[j] += st->W[(size_t)d * P + j];
    return lp + gv_sbn_loglik_libm(a, st->x + (size_t)n * P, P);
}

int gv_sbn2_get_layer2(const gv_problem *p, int *D2, const double **b2, const double **V)
{
    if (strcmp(p->type->name, "sbn")) return -1;
    const sbn_state_t *st = p->state;
    *D2 = st->D2, *b2 = st->b2, *V = st->V;
    return 0;
}

typedef struct {
    double W, F;                                 /* over z1: sum w1, sum w1 E[f | z1] */
    double Wv[2][GV_SBN_MAXD], Fv[2][GV_SBN_MAXD]; /* per unit u and value v: q-weight and q-weighted f */
    double G[GV_SBN_MAXD * (GV_SBN_MAXD + 1)];   /* sum w1 h_k (k < D2), sum w1 h_k z1_d (D2 + k D + d) */
    double M, L, Lm[GV_SBN_MAXD];                /* log-sum-exp of log p(x, z), over z_u = 1 */
} sbn2_acc;

/* T(z2) for every z2 (index s2: bit k = z2_k). */
static double *sbn2_table(const sbn_state_t *st)
{
    const int D = st->D, D2 = st->D2;
    double *T = malloc(((size_t)1 << D2) * sizeof *T);
    if (!T) return NULL;
    for (long s2 = 0; s2 < 1L << D2; s2++) {
        double t = -st->spb2;
        for (int k = 0; k < D2; k++) t += (s2 >> k & 1) * st->b2[k];
        for (int d = 0; d < D; d++) {
            double m = st->b[d];
            for (int k = 0; k < D2; k++) m += (s2 >> k & 1) * st->V[(size_t)d * D2 + k];
            t -= softplus(m);
        }
        T[s2] = t;
    }
    return T;
}

static long sbn2_block_len(const sbn_state_t *st)
{
    int bits = 12 - st->D2;
    if (bits < 0) bits = 0;
    if (bits > st->D) bits = st->D;
    return 1L << bits;
}

/* The z1 states s0 .. s0 + len - 1 of the Gray-code order, each with its 2^D2 states of z2. */
static void sbn2_block(const sbn_state_t *st, int n, const double *eta, const double *T, long s0, long len,
                       sbn2_acc *acc)
{
    const int D = st->D, D2 = st->D2, P = st->P, U = D + D2;
    const double *x = st->x + (size_t)n * P, *eu = eta + (size_t)n * U,
                 *ew = eta + (size_t)st->N * U + (size_t)n * D2 * D;
    double a[SBN_MAXP], u[GV_SBN_MAXD], l2[GV_SBN_MAXD];
    int z[GV_SBN_MAXD];
    const long g0 = s0 ^ (s0 >> 1);
    memcpy(a, st->c, (size_t)P * sizeof *a);
    /* lq1 = log q(z1), lw1 = log q(z1) - log q(mode), zb = z1.b, u = V^T z1, l2 = a2 + B z1 */
    double lq1 = 0, lw1 = 0, zb = 0;
    for (int k = 0; k < D2; k++) u[k] = 0, l2[k] = eu[D + k];
    for (int d = 0; d < D; d++) {
        lq1 -= softplus(eu[d]), lw1 -= fmax(eu[d], 0);
        z[d] = (int)(g0 >> d & 1);
        if (!z[d]) continue;
        lq1 += eu[d], lw1 += eu[d], zb += st->b[d];
        for (int k = 0; k < D2; k++) u[k] += st->V[(size_t)d * D2 + k], l2[k] += ew[k * D + d];
        const double *w = st->W + (size_t)d * P;
        for (int j = 0; j < P; j++) a[j] += w[j];
    }
    for (long t = 0;; t++) {
        const double lx = gv_sbn_loglik_fast(a, x, P);
        double S2 = 0, lm2 = 0, W2 = 0, F2 = 0, Wk[2][GV_SBN_MAXD] = {{0}}, Fk[2][GV_SBN_MAXD] = {{0}};
        for (int k = 0; k < D2; k++) S2 += softplus(l2[k]), lm2 += fmax(l2[k], 0);
        for (long s2 = 0; s2 < 1L << D2; s2++) {
            double dl = 0, du = 0;
            for (int k = 0; k < D2; k++) {
                z[D + k] = (int)(s2 >> k & 1);
                if (z[D + k]) dl += l2[k], du += u[k];
            }
            const double w2 = exp(dl - lm2), lpj = zb + T[s2] + du + lx, f = lpj - lq1 - (dl - S2);
            W2 += w2, F2 += w2 * f;
            for (int k = 0; k < D2; k++) Wk[z[D + k]][k] += w2, Fk[z[D + k]][k] += w2 * f;
            lse_add(&acc->M, &acc->L, acc->Lm, U, z, lpj);
        }
        const double w1 = exp(lw1), fbar = F2 / W2;
        acc->W += w1, acc->F += w1 * fbar;
        for (int d = 0; d < D; d++) acc->Wv[z[d]][d] += w1, acc->Fv[z[d]][d] += w1 * fbar;
        for (int k = 0; k < D2; k++) {
            for (int v = 0; v < 2; v++) acc->Wv[v][D + k] += w1 * Wk[v][k] / W2, acc->Fv[v][D + k] += w1 * Fk[v][k] / W2;
            const double m1 = Wk[1][k] > 0 ? Fk[1][k] / Wk[1][k] : fbar, m0 = Wk[0][k] > 0 ? Fk[0][k] / Wk[0][k] : fbar;
            const double h = w1 * gv_sigmoid(l2[k]) * gv_sigmoid(-l2[k]) * (m1 - m0);
            acc->G[k] += h;
            for (int d = 0; d < D; d++) acc->G[D2 + k * D + d] += z[d] * h;
        }
        if (t + 1 == len) break;
        const int d = __builtin_ctzl((unsigned long)(s0 + t + 1)); /* the bit the next Gray code flips */
        const double sg = (z[d] ^= 1) ? 1.0 : -1.0;
        const double *w = st->W + (size_t)d * P;
        for (int j = 0; j < P; j++) a[j] += sg * w[j];
        lq1 += sg * eu[d], lw1 += sg * eu[d], zb += sg * st->b[d];
        for (int k = 0; k < D2; k++) u[k] += sg * st->V[(size_t)d * D2 + k], l2[k] += sg * ew[k * D + d];
    }
}

static void sbn2_acc_init(sbn2_acc *s) { memset(s, 0, sizeof *s), s->M = -INFINITY; }

static void sbn2_acc_merge(sbn2_acc *a, const sbn2_acc *b, int D, int D2)
{
    const int U = D + D2;
    a->W += b->W, a->F += b->F;
    for (int v = 0; v < 2; v++)
        for (int u = 0; u < U; u++) a->Wv[v][u] += b->Wv[v][u], a->Fv[v][u] += b->Fv[v][u];
    for (int i = 0; i < D2 * (D + 1); i++) a->G[i] += b->G[i];
    lse_merge(&a->M, &a->L, a->Lm, b->M, b->L, b->Lm, U);
}

static void sbn2_result(const sbn_state_t *st, int n, const double *eta, const sbn2_acc *s, gv_sbn2_result *r)
{
    const int D = st->D, D2 = st->D2, U = D + D2;
    r->elbo = s->F / s->W;
    r->logpx = s->M + log(s->L);
    for (int u = 0; u < U; u++) {
        r->cond1[u] = s->Wv[1][u] > 0 ? s->Fv[1][u] / s->Wv[1][u] : r->elbo;
        r->cond0[u] = s->Wv[0][u] > 0 ? s->Fv[0][u] / s->Wv[0][u] : r->elbo;
        r->post[u] = s->Lm[u] / s->L;
    }
    const double *eu = eta + (size_t)n * U;
    for (int d = 0; d < D; d++) r->grad[d] = gv_sigmoid(eu[d]) * gv_sigmoid(-eu[d]) * (r->cond1[d] - r->cond0[d]);
    for (int k = 0; k < D2; k++) r->grad[D + k] = s->G[k] / s->W;
    for (int i = 0; i < D2 * D; i++) r->grad[U + i] = s->G[D2 + i] / s->W;
}

int gv_sbn2_enumerate(const gv_problem *p, int n, const double *eta, gv_sbn2_result *r)
{
    const sbn_state_t *st = p->state;
    if (n < 0 || n >= st->N || st->D2 < 1) return -1;
    double *T = sbn2_table(st);
    if (!T) return -1;
    const long nst = 1L << st->D, bl = sbn2_block_len(st);
    sbn2_acc acc, b;
    sbn2_acc_init(&acc);
    for (long s0 = 0; s0 < nst; s0 += bl) {
        sbn2_acc_init(&b);
        sbn2_block(st, n, eta, T, s0, bl, &b);
        sbn2_acc_merge(&acc, &b, st->D, st->D2);
    }
    sbn2_result(st, n, eta, &acc, r);
    free(T);
    return 0;
}

/* The hierarchical layout's exact reference: every data point, every block of z1, in parallel;
 * merged in a fixed order.  cond[u] = (1/N) (E[f_n | z_u = v] + sum_{m != n} E f_m). */
static int sbn2_exact_grad(const gv_problem *p, const gv_point *pt, double *value, double *cond, double *grad)
{
    const sbn_state_t *st = p->state;
    const int D = st->D, D2 = st->D2, N = st->N, U = D + D2;
    if (!D2) return -1;
    const long nst = 1L << D, bl = sbn2_block_len(st), nb = nst / bl, chunk = nb >= 256 ? 1 : 256 / nb;
    sbn2_acc *acc = malloc((size_t)(chunk * nb) * sizeof *acc);
    double *T = sbn2_table(st), *elbo = malloc((size_t)N * sizeof *elbo);
    gv_sbn2_result *res = malloc(sizeof *res);
    if (!acc || !T || !elbo || !res) return free(acc), free(T), free(elbo), free(res), -1;
    double tot = 0;
    int finite = 1;
    for (long n0 = 0; n0 < N; n0 += chunk) {
        const long nn = N - n0 < chunk ? N - n0 : chunk, ntask = nn * nb;
#pragma omp parallel for schedule(dynamic, 1)
        for (long t = 0; t < ntask; t++) {
            sbn2_acc_init(&acc[t]);
            sbn2_block(st, (int)(n0 + t / nb), pt->eta, T, (t % nb) * bl, bl, &acc[t]);
        }
        for (long i = 0; i < nn; i++) {
            const int n = (int)(n0 + i);
            for (long k = 1; k < nb; k++) sbn2_acc_merge(&acc[i * nb], &acc[i * nb + k], D, D2);
            sbn2_result(st, n, pt->eta, &acc[i * nb], res);
            tot += elbo[n] = res->elbo;
            for (int u = 0; u < U; u++) {
                const gv_unit *un = &p->layout.units[n * U + u];
                cond[un->cond + 1] = res->cond1[u] - res->elbo, cond[un->cond + 0] = res->cond0[u] - res->elbo;
                grad[un->param] = res->grad[u] / N;
                finite &= isfinite(res->cond1[u]) && isfinite(res->cond0[u]) && isfinite(res->grad[u]);
            }
            double *ge = grad + (size_t)N * U + (size_t)n * D2 * D;
            for (int e = 0; e < D2 * D; e++) ge[e] = res->grad[U + e] / N, finite &= isfinite(res->grad[U + e]);
        }
    }
    for (int i = 0; i < p->layout.n_cond; i++) cond[i] = (cond[i] + tot) / N;
    *value = tot / N;
    free(acc), free(T), free(elbo), free(res);
    return finite && isfinite(tot) ? 0 : -1;
}

static void sbn2_describe(const gv_problem *p, FILE *out)
{
    const sbn_state_t *st = p->state;
    fprintf(out, "sigmoid belief net, two latent layers z2 -> z1 -> x: D = %d + D2 = %d latents, P = %d visible, "
            "N = %d data points (%s); %s; encoder q(z1 | x) q(z2 | z1): %d hierarchical units with %d edges\n", st->D,
            st->D2, st->P, st->N, st->data ? "binarised Fashion-MNIST" : "synthetic, x ~ p(x)", st->origin,
            p->layout.n_units, p->layout.n_edges);
    fprintf(out, "  exact reference: nested enumeration per data point (Gray code over the 2^%d states of z1, the "
            "log-likelihood once per z1; 2^%d states of z2 inside), gradient in the biases and edge weights directly\n",
            st->D, st->D2);
    double elbo = 0, lpx = 0;
    gv_sbn2_result *r = malloc(sizeof *r);
    for (int n = 0; r && n < st->N; n++) {
        gv_sbn2_enumerate(p, n, p->eta, r);
        elbo += r->elbo / st->N, lpx += r->logpx / st->N;
    }
    free(r);
    fprintf(out, "  exact at the initial encoder: mean ELBO %.10g, mean log p(x) %.10g, mean KL(q || p(z|x)) %.6g\n",
            elbo, lpx, lpx - elbo);
}

const gv_problem_type gv_prob_sbn = {
    .name = "sbn",
    .description = "sigmoid belief net ELBO with an amortised encoder (outer parameters), exact by enumeration",
    .citation = "Neal 1992; Tokui & Sato 1611.01239; Yin et al. 2006.10680",
    .objective = GV_OBJ_EXPECTATION,
    .options = sbn_opts,
    .state_size = sizeof(sbn_state_t),
    .init = sbn_init, .free = sbn_free,
    .f_at = sbn_f_at, .ftilde_at = sbn_ftilde_at, .grad_ftilde_at = sbn_grad_at,
    .exact = sbn_exact, .exact_grad = sbn2_exact_grad, .exact_label = "gray-code",
    .outer_map = sbn_map, .outer_vjp = sbn_vjp,
    .describe = sbn_describe, .dump_params = sbn_dump,
    .model_get = sbn_model_get, .model_set = sbn_model_set, .model_grad = sbn_model_grad,
    .next_batch = sbn_next_batch, .evaluate = sbn_evaluate,
};
