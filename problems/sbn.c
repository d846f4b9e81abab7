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
} sbn_state_t;

static const gv_optdoc sbn_opts[] = {
    {"D", "8", "latent units (1..20: exact enumeration of 2^D states per data point)"},
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
    {"params", NULL, "CSV file of parameters (param,row,col,value; param b, W, c, and optionally A, a)"},
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
 * A: row d, col j; a: row d (col 0 for the vectors).  b, W and c must be complete; A and a both or
 * neither.  Fills st (D, P from the file) and, if the file has them, phi. */
static int load_params(sbn_state_t *st, const char *path, double **phi_out, char *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return gv_err(err, "problem sbn: cannot open params file %s (%s)", path, strerror(errno)), GV_EUSAGE;
    enum { NK = 5 };
    static const char *const names[NK] = {"b", "W", "c", "A", "a"};
    int cap = 1024, n = 0, line = 0, rc = GV_OK;
    struct rowv { int k, r, c; double v; } *rows = malloc((size_t)cap * sizeof *rows);
    char buf[512];
    int maxr[NK] = {-1, -1, -1, -1, -1}, maxc[NK] = {-1, -1, -1, -1, -1};
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
            for (int i = 0; i < NK; i++) if (!strcmp(name, names[i])) k = i;
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
            if (k < 0) gv_err(err, "problem sbn: %s:%d: unknown parameter '%.*s'; valid: b, W, c, A, a", path, line,
                              (int)(l < 16 ? l : 16), buf);
            else gv_err(err, "problem sbn: %s:%d: expected %s,ROW,COL,VALUE with 0 <= ROW, COL < %d and |VALUE| <= "
                             "%g", path, line, names[k], SBN_MAXP, SBN_MAXV);
            break;
        }
        if ((k == 0 || k == 2 || k == 4) && cc != 0) {
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
    const int D = maxr[0] + 1, P = maxr[2] + 1, hasA = maxr[3] >= 0 || maxr[4] >= 0;
    if (!rc && (D < 1 || P < 1 || maxr[1] + 1 != D || maxc[1] + 1 != P))
        rc = GV_EUSAGE, gv_err(err, "problem sbn: %s: b (%d), W (%d x %d) and c (%d) do not fit together", path, D,
                               maxr[1] + 1, maxc[1] + 1, P);
    if (!rc && D > GV_SBN_MAXD)
        rc = GV_EUSAGE, gv_err(err, "problem sbn: %s has D = %d latents; at most %d (exact enumeration)", path, D,
                               GV_SBN_MAXD);
    if (!rc && hasA && (maxr[3] + 1 != D || maxc[3] + 1 != P || maxr[4] + 1 != D))
        rc = GV_EUSAGE, gv_err(err, "problem sbn: %s: A must be D x P = %d x %d and a D long", path, D, P);
    double *vals[NK] = {0};
    int size[NK] = {D, D * P, P, D * P, D};
    for (int k = 0; k < NK && !rc; k++) {
        vals[k] = malloc((size_t)size[k] * sizeof(double));
        if (!vals[k]) rc = GV_EFAIL, gv_err(err, "out of memory");
        else for (int i = 0; i < size[k]; i++) vals[k][i] = NAN;
    }
    for (int i = 0; i < n && !rc; i++) {
        const struct rowv *w = &rows[i];
        const int idx = (w->k == 1 || w->k == 3) ? w->r * P + w->c : w->r;
        if (w->r >= ((w->k == 2) ? P : D) || (w->k == 1 || w->k == 3 ? w->c >= P : 0)) continue; /* checked above */
        if (!isnan(vals[w->k][idx]))
            rc = GV_EUSAGE, gv_err(err, "problem sbn: %s: %s[%d][%d] is given twice", path, names[w->k], w->r, w->c);
        vals[w->k][idx] = w->v;
    }
    for (int k = 0; k < (hasA ? NK : 3) && !rc; k++)
        for (int i = 0; i < size[k] && !rc; i++)
            if (isnan(vals[k][i]))
                rc = GV_EUSAGE, gv_err(err, "problem sbn: %s: %s entry %d (row %d) is missing", path, names[k], i,
                                       (k == 1 || k == 3) ? i / P : i);
    free(rows);
    if (rc) {
        for (int k = 0; k < NK; k++) free(vals[k]);
        return rc;
    }
    st->D = D, st->P = P;
    st->b = vals[0], st->W = vals[1], st->c = vals[2];
    if (hasA) {
        double *phi = malloc((size_t)(D * P + D) * sizeof *phi);
        if (!phi) return free(vals[3]), free(vals[4]), gv_err(err, "out of memory"), GV_EFAIL;
        memcpy(phi, vals[3], (size_t)D * P * sizeof *phi);
        memcpy(phi + D * P, vals[4], (size_t)D * sizeof *phi);
        *phi_out = phi;
    }
    free(vals[3]), free(vals[4]);
    return GV_OK;
}

static void sbn_free(void *v)
{
    sbn_state_t *st = v;
    free(st->b), free(st->W), free(st->c), free(st->x);
    free(st->pool_p), free(st->pool_x), free(st->test_x), free(st->idx); /* pool_x is NULL when it is pool_p */
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
    sbn_encode(st, phi, st->x, st->N, eta);
}

static void sbn_vjp(const gv_problem *p, const double *geta, double *gphi)
{
    const sbn_state_t *st = p->state;
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
    long D, P, N, size, offset, seed;
    double scale, enc_scale;
    int data, split;
    static const char *const datas[] = {"synthetic", "fashion-mnist", NULL}, *const splits[] = {"train", "test", NULL};
    const char *params = gv_spec_get(s, "params"), *dir = gv_spec_get(s, "dir");
    if (gv_opt_long(s, "D", 8, 1, GV_SBN_MAXD, &D, err) || gv_opt_long(s, "P", 16, 1, SBN_MAXP, &P, err) ||
        gv_opt_long(s, "N", 4, 1, 100000, &N, err) || gv_opt_choice(s, "data", datas, 0, &data, err) ||
        gv_opt_long(s, "size", 14, 7, 14, &size, err) || gv_opt_choice(s, "split", splits, 0, &split, err) ||
        gv_opt_long(s, "offset", 0, 0, 100000000L, &offset, err) || gv_opt_long(s, "seed", 1, 0, 2147483647L, &seed, err) ||
        gv_opt_double(s, "scale", 1, 0, 1e3, &scale, err) || gv_opt_double(s, "enc_scale", 0.1, 0, 1e3, &enc_scale, err))
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
    const int Dn = st->D, Pn = st->P;
    st->x = malloc((size_t)st->N * Pn * sizeof(double));
    st->pool_p = malloc((size_t)st->M * Pn * sizeof(double));
    st->pool_x = data ? malloc((size_t)st->M * Pn * sizeof(double)) : st->pool_p; /* synthetic: the same */
    st->test_x = st->T ? malloc((size_t)st->T * Pn * sizeof(double)) : NULL;
    st->idx = malloc((size_t)st->M * sizeof(int));
    p->n_outer = Dn * Pn + Dn;
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
    double a[SBN_MAXP], s = 0;
    for (int n = 0; n < st->N; n++) s += sbn_fn(st, n, pt->eta + n * st->D, y + n * st->D, a, 1);
    return s / st->N;
}

/* d/dy_{n,d} = (1/N) [b_d - eta_{n,d} + sum_j W_dj (x_j - sigma(a_j))] */
static void sbn_grad_at(const void *v, const gv_point *pt, const double *y, double *g)
{
    const sbn_state_t *st = v;
    const int D = st->D, P = st->P;
    double a[SBN_MAXP];
    for (int n = 0; n < st->N; n++) {
        const double *yn = y + n * D, *x = st->x + (size_t)n * P;
        memcpy(a, st->c, (size_t)P * sizeof *a);
        for (int d = 0; d < D; d++) {
            const double *w = st->W + (size_t)d * P;
            for (int j = 0; j < P; j++) a[j] += yn[d] * w[j];
        }
        for (int j = 0; j < P; j++) a[j] = x[j] - gv_sigmoid(a[j]);
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
} sbn_acc;

static void acc_init(sbn_acc *s) { memset(s, 0, sizeof *s), s->M = -INFINITY; }

static inline void acc_add(sbn_acc *s, int D, const int *z, double lw, double f, double l)
{
    const double w = exp(lw), wf = w * f;
    s->W += w, s->F += wf;
    for (int d = 0; d < D; d++) {
        const double one = z[d];
        s->W1[d] += one * w, s->F1[d] += one * wf;
        s->W0[d] += (1 - one) * w, s->F0[d] += (1 - one) * wf;
    }
    if (l > s->M) { /* rescale the log-sum-exp to the new maximum */
        const double k = exp(s->M - l);
        s->L *= k;
        for (int d = 0; d < D; d++) s->Lm[d] *= k;
        s->M = l;
    }
    const double e = exp(l - s->M);
    s->L += e;
    for (int d = 0; d < D; d++) s->Lm[d] += z[d] * e;
}

static void acc_merge(sbn_acc *a, const sbn_acc *b, int D)
{
    a->W += b->W, a->F += b->F;
    for (int d = 0; d < D; d++) a->W1[d] += b->W1[d], a->F1[d] += b->F1[d], a->W0[d] += b->W0[d], a->F0[d] += b->F0[d];
    if (b->M == -INFINITY) return;
    const double M = fmax(a->M, b->M), ka = a->M == -INFINITY ? 0 : exp(a->M - M), kb = exp(b->M - M);
    a->L = a->L * ka + b->L * kb;
    for (int d = 0; d < D; d++) a->Lm[d] = a->Lm[d] * ka + b->Lm[d] * kb;
    a->M = M;
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

/* theta = (b (D), W (D x P), c (P)). */
static void sbn_model_get(const gv_problem *p, double *theta)
{
    const sbn_state_t *st = p->state;
    const size_t D = st->D, P = st->P;
    memcpy(theta, st->b, D * sizeof *theta);
    memcpy(theta + D, st->W, D * P * sizeof *theta);
    memcpy(theta + D + D * P, st->c, P * sizeof *theta);
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
}

/* g += w grad_theta f(z), f = (1/N) sum_n log p(x_n, z_n) - log q: d/db_d = z_d - sigma(b_d),
 * d/dc_j = x_j - sigma(a_j), d/dW_dj = z_d (x_j - sigma(a_j)), a = c + W^T z. */
static void sbn_model_grad(const gv_problem *p, const gv_point *pt, const int *z, double w, double *g)
{
    const sbn_state_t *st = p->state;
    const int D = st->D, P = st->P;
    const double wn = w / st->N;
    double a[SBN_MAXP];
    double *gb = g, *gW = g + D, *gc = g + D + (size_t)D * P;
    for (int n = 0; n < st->N; n++) {
        const int *zn = z + n * D;
        const double *x = st->x + (size_t)n * P;
        memcpy(a, st->c, (size_t)P * sizeof *a);
        for (int d = 0; d < D; d++) {
            gb[d] += wn * (zn[d] - gv_sigmoid(st->b[d]));
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
    return ferror(out) ? -1 : 0;
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
    .exact = sbn_exact,
    .outer_map = sbn_map, .outer_vjp = sbn_vjp,
    .describe = sbn_describe, .dump_params = sbn_dump,
    .model_get = sbn_model_get, .model_set = sbn_model_set, .model_grad = sbn_model_grad,
    .next_batch = sbn_next_batch, .evaluate = sbn_evaluate,
};
