/* carms.c — CARMS, categorical antithetic REINFORCE with n = K jointly antithetic samples per unit
 * (Dimitriev & Zhou 2110.14002), categorical units; two samplers sharing everything else (GSL-style).
 * For every unit independently, n draws z_1..z_n, each marginally Cat(pi), exchangeable, with pairwise
 * joint q2(a,b) = P(z_i = a, z_j = b) (i != j); sample k is the joint vector of all units' k-th draws
 * and f_k = f(sample k).  With w(a,b) = pi_a pi_b / q2(a,b), per unit
 *   g_unit = 1/(n(n-1)) sum_i sum_{j != i} w(z_i,z_j) (f_i - f_j) (e_{z_i} - pi).
 * Unbiased.  Fix a unit; m_a = E[f | z_unit = a].  The other units' k-th draws are independent of this
 * unit's draws and marginally q, so E[f_i - f_j | z_i = a, z_j = b] = m_a - m_b and
 *   E[w(z_i,z_j)(f_i - f_j)(e_{z_i} - pi)] = sum_{a,b: q2 > 0} pi_a pi_b (m_a - m_b)(e_a - pi).
 * If q2(a,b) > 0 whenever pi_a pi_b > 0 (a != b; a = b terms vanish) this is
 * sum_a pi_a (m_a - mbar)(e_a - pi), mbar = sum_a pi_a m_a, whose j-th entry is
 * pi_j (m_j - mbar) - pi_j sum_a pi_a (m_a - mbar) = pi_j (m_j - mbar) = dE f / dl_j.
 * Computation.  With A_i = sum_{j != i} w(z_i,z_j)(f_i - f_j), sum_i A_i = 0 because w is symmetric, so
 * g_unit = 1/(n(n-1)) sum_i A_i e_{z_i} exactly: only the sampled classes' entries change.  Pairs with
 * z_i = z_j cancel between (i,j) and (j,i) whatever w(a,a) is, and are skipped.
 *   carms         CARMS-I.  u_1..u_n from the n-dimensional Dirichlet copula (arms.c); one ordering of
 *                 the classes drawn uniformly from the C(C-1)/2 orderings in which every unordered pair
 *                 is (first, last) exactly once (CATALOGUE.md's construction: the ordering of pair
 *                 f < l is f, then the cycle l+1, l+2, .. (mod C, skipping f) ending at l); classes laid
 *                 out on [0,1] in that order, z_i = the class whose interval (L,R] holds u_i (all n
 *                 draws share the ordering).  Exact joint, averaged over the orderings: per ordering
 *                 q2(a,b) = C_n(R_a,R_b) - C_n(L_a,R_b) - C_n(R_a,L_b) + C_n(L_a,L_b).  q2(a,b) > 0 for
 *                 a != b: in the ordering with {a,b} at the ends the rectangle (0,pi_a] x (1-pi_b,1]
 *                 has mass pi_a - C_n(pi_a, 1-pi_b) > 0.  Option clip=1 uses the authors' weights
 *                 clip((pi_a pi_b + 1e-3)/(q2 + 1e-3), 0.01, 10) (their code) and is then biased.
 *   carms-gumbel  CARMS-G.  Per class c an independent n-dimensional Dirichlet-copula vector
 *                 u_{1..n,c}; z_i = argmax_c (log pi_c + G(u_{i,c})), G(u) = -log(-log u), computed as
 *                 the exponential race argmin_c (-log u_{i,c}) / pi_c (the same argmax).  q2 has no
 *                 closed form: it is estimated from `mc` draws of the sampler (all n(n-1) ordered pairs
 *                 of each), w = pi_a pi_b / q2_hat, and w = 1 (the weight of independent draws) for a
 *                 pair the Monte Carlo never drew.  Biased through q2_hat's error (E 1/q2_hat != 1/q2);
 *                 default mc = 100 as in the authors' VAE code (their toy uses 200).  The bias shrinks
 *                 with mc: at mc = 1000 no cell of test_unbiased.c (5e4 replicates) detects it any more.
 * Numerics of the exact joint.  C_n(x,y) = P(x^{1/m} + y^{1/m} - 1) with P(s) = s_+^m, m = n - 1.  With
 * alpha = R^{1/m} at every right end (alpha = 0 below the first class) and delta_p = alpha_p -
 * alpha_{p-1} (computed without cancellation from the width R - L = delta sum_k alpha_p^k
 * alpha_{p-1}^{m-1-k}, or as alpha_p (-expm1(log1p(-width/R)/m)) for m > 64), the rectangle of
 * positions p <= q is D(A, delta_p) - D(A', delta_p), A = alpha_p + alpha_q - 1, A' = alpha_p +
 * alpha_{q-1} - 1, where D(x,d) = P(x) - P(x-d) = d sum_k x^k (x-d)^{m-1-k} (a sum of positive terms;
 * x^m (-expm1(m log1p(-d/x))) for m > 64): one cancellation left instead of three, so classes of
 * probability 1e-8 still get a joint with ~1e-8 relative error (tests/test_carms.c checks against
 * 60-digit references).  A computed q2 <= 0 (or a weight that overflows) gets w = 0: the pair's
 * probability is then below the rounding error of the joint, and an estimate stays finite.
 * Cache.  The weight table of a unit (C x C) depends only on its pi (the logits) and n: it is kept in
 * the state, keyed on the unit's logits (memcmp), rebuilt only when they change (trajectory mode),
 * and copied from an earlier unit with the same logits instead of being rebuilt.  CARMS-I's build
 * costs O(C^4): C(C-1)/2 orderings x C^2 rectangles (0.17 s per unit at C = 100, n = 3; 0.8 s at
 * n = 20; 2.3 s at C = 200), so C is capped at CARMS_MAX_C.  CARMS-G's table costs mc x C copula
 * draws; its Monte Carlo runs on a generator of the handed generator's type seeded by one draw of it,
 * so the table is reproducible.  It is drawn afresh for every estimate (units with equal logits share
 * that estimate's table): a table shared by many estimates would make them dependent, and the
 * harness's standard errors assume i.i.d. replicates (sharing one table per block of 256 replicates
 * inflated the spread of the mean to 1.25-2x the reported SE).  The bias E[w_hat] != w is the same
 * either way.
 * Every instance has its own cache (the harness gives each thread/block its own instance);
 * carms's copy_learned hands a built CARMS-I table on to another instance (nothing is learned), and
 * the engine primes it with one estimate, so a frozen point builds each table once.
 * Cost: K = n evaluations of f.  K >= 2, any K.  carms unbiased (clip=0); carms-gumbel biased. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estimators/arms.h"
#include "estimators/carms.h"
#include "estimators/estimator.h"
#include "harness/rng.h"

#define CARMS_MAX_C 200        /* O(C^4) exact joint: ~2.3 s per unit table at C = 200, n = 3 */
#define CARMS_HORNER_MAX 64    /* D(x,d) by the sum of powers up to this m (2m flops), by expm1/log1p above */
#define CARMS_CLIP_EPS 1e-3    /* the authors' smoothing and clipping interval */
#define CARMS_CLIP_LO 0.01
#define CARMS_CLIP_HI 10.0

/* ------------------------------------------------------------------ orderings and the exact joint */

long gv_carms_n_orderings(int C) { return (long)C * (C - 1) / 2; }

void gv_carms_ordering(int C, long k, int *ord)
{
    int f = 0; /* pairs f < l in lexicographic order: k -> (f, l) */
    while (k >= C - 1 - f) k -= C - 1 - f, f++;
    const int l = f + 1 + (int)k;
    ord[0] = f;
    for (int p = 1, c = l; p < C; p++) { /* the cycle after l, skipping f, ends at l */
        c = c + 1 == C ? 0 : c + 1;
        if (c == f) c = c + 1 == C ? 0 : c + 1;
        ord[p] = c;
    }
}

void gv_carms_bounds(int C, const double *pi, const int *ord, double *cum)
{
    double s = 0;
    for (int p = 0; p < C; p++) {
        s += pi[ord[p]];
        cum[p] = s < 1 ? s : 1;
    }
    cum[C - 1] = 1;
}

/* P(x) - P(x - d), P(s) = s_+^m, d >= 0. */
static double carms_pdiff(double x, double d, int m)
{
    if (x <= 0) return 0;
    const double y = x - d;
    if (y <= 0) return m == 1 ? x : pow(x, m);
    if (m == 1) return d;
    if (m > CARMS_HORNER_MAX) return -pow(x, m) * expm1(m * log1p(-d / x));
    double h = 1, yk = 1; /* h_j = x h_{j-1} + y^j = sum_{k<=j} x^k y^{j-k} */
    for (int j = 1; j < m; j++) {
        yk *= y;
        h = x * h + yk;
    }
    return d * h;
}

int gv_carms_joint(int C, const double *pi, int n, double *q2)
{
    const int m = n - 1;
    const long M = gv_carms_n_orderings(C);
    int *ord = malloc((size_t)C * sizeof *ord);
    double *cum = malloc((size_t)C * sizeof *cum), *al = malloc((size_t)C * sizeof *al);
    double *de = malloc((size_t)C * sizeof *de);
    if (!ord || !cum || !al || !de) return free(ord), free(cum), free(al), free(de), -1;
    memset(q2, 0, (size_t)C * C * sizeof *q2);
    for (long k = 0; k < M; k++) {
        gv_carms_ordering(C, k, ord);
        gv_carms_bounds(C, pi, ord, cum);
        double prev = 0;
        for (int p = 0; p < C; p++) {
            const double R = cum[p], wd = R - prev;
            if (R <= 0) al[p] = de[p] = 0;
            else if (m == 1) al[p] = R, de[p] = wd;
            else {
                al[p] = m == 2 ? sqrt(R) : m == 3 ? cbrt(R) : pow(R, 1.0 / m);
                if (wd >= R) de[p] = al[p];
                else if (m <= CARMS_HORNER_MAX) { /* R - L = delta h_{m-1}(alpha_p, alpha_{p-1}): no cancellation */
                    const double x = al[p], y = p > 0 ? al[p - 1] : 0;
                    double h = 1, yk = 1;
                    for (int j = 1; j < m; j++) yk *= y, h = x * h + yk;
                    de[p] = wd / h;
                } else
                    de[p] = -al[p] * expm1(log1p(-wd / R) / m);
            }
            prev = R;
        }
        for (int p = 0; p < C; p++) {
            const int a = ord[p];
            if (de[p] <= 0) continue; /* an empty interval */
            /* A = alpha_p + alpha_q - 1 grows with q: walk down from the last class until it is <= 0 */
            for (int q = C - 1; q >= p; q--) {
                const double A = al[p] + al[q] - 1;
                if (A <= 0) break;
                const double Ap = al[p] + (q > 0 ? al[q - 1] : 0) - 1;
                double rect = carms_pdiff(A, de[p], m) - carms_pdiff(Ap, de[p], m);
                if (!(rect > 0)) continue;
                const int b = ord[q];
                q2[(size_t)a * C + b] += rect;
                if (b != a) q2[(size_t)b * C + a] += rect;
            }
        }
    }
    for (long i = 0; i < (long)C * C; i++) q2[i] /= M;
    free(ord), free(cum), free(al), free(de);
    return 0;
}

void gv_carms_weights(int C, const double *pi, const double *q2, int clip, double *w)
{
    for (int a = 0; a < C; a++)
        for (int b = 0; b < C; b++) {
            const double num = pi[a] * pi[b], q = q2[(size_t)a * C + b];
            double v;
            if (clip) {
                v = (num + CARMS_CLIP_EPS) / (q + CARMS_CLIP_EPS);
                v = v < CARMS_CLIP_LO ? CARMS_CLIP_LO : v > CARMS_CLIP_HI ? CARMS_CLIP_HI : v;
            } else {
                v = q > 0 ? num / q : 0;
                if (!isfinite(v)) v = 0;
            }
            w[(size_t)a * C + b] = v;
        }
}

void gv_carms_combine(const gv_layout *L, int n, const int *z, const double *f, const double *const *w, double *g)
{
    const int D = L->n_units;
    const double scale = 1.0 / ((double)n * (n - 1));
    for (int u = 0; u < D; u++) {
        const int C = L->units[u].ncat;
        const double *wu = w[u];
        double *gu = g + L->units[u].param;
        for (int i = 0; i < n; i++) {
            const int a = z[(size_t)i * D + u];
            const double *wa = wu + (size_t)a * C;
            double A = 0;
            for (int j = 0; j < n; j++) {
                const int b = z[(size_t)j * D + u];
                if (b != a) A += wa[b] * (f[i] - f[j]);
            }
            gu[a] += A * scale;
        }
    }
}

/* ------------------------------------------------------------------ the estimators */

enum { CARMS_I, CARMS_G };

typedef struct {
    int C, param;
    int valid;    /* w is the table for key */
    double *key;  /* the unit's logits the table was built for */
    double *w;    /* C x C weights */
} carms_unit_t;

typedef struct {
    int variant, n, D, clip, maxC;
    long mc, builds;
    carms_unit_t *unit;
    const double **wtab; /* per unit, for gv_carms_combine */
    int *z;              /* n x D samples */
    double *f, *u, *best; /* n: f values; copula draws; CARMS-G race keys */
    int *ord;            /* maxC: the drawn ordering */
    double *cum;         /* maxC: its right ends */
    double *q2;          /* maxC^2: scratch joint (counts for CARMS-G) */
} carms_state_t;

static const gv_optdoc carms_opts[] = {
    {"clip", "0", "1 = the authors' weights clip((pi_a pi_b + 1e-3)/(q2 + 1e-3), 0.01, 10): biased"},
    {NULL, NULL, NULL}};
static const gv_optdoc carms_gumbel_opts[] = {
    {"mc", "100", "Monte Carlo draws of the sampler estimating the pairwise joint q2 (per point)"},
    {"clip", "0", "1 = the authors' weights clip((pi_a pi_b + 1e-3)/(q2 + 1e-3), 0.01, 10)"},
    {NULL, NULL, NULL}};

static void carms_free(void *v)
{
    carms_state_t *s = v;
    if (s->unit)
        for (int i = 0; i < s->D; i++) free(s->unit[i].key), free(s->unit[i].w);
    free(s->unit), free(s->wtab), free(s->z), free(s->f), free(s->u), free(s->best);
    free(s->ord), free(s->cum), free(s->q2);
}

static int carms_init_variant(carms_state_t *s, int variant, const gv_spec *sp, const gv_problem *p, int K, char *err)
{
    const char *name = variant == CARMS_I ? "carms" : "carms-gumbel";
    long clip = 0, mc = 0;
    if (gv_opt_long(sp, "clip", 0, 0, 1, &clip, err)) return GV_EUSAGE;
    if (variant == CARMS_G && gv_opt_long(sp, "mc", 100, 1, 100000000L, &mc, err)) return GV_EUSAGE;
    s->variant = variant;
    s->clip = (int)clip;
    s->mc = mc;
    s->n = K;
    s->D = p->layout.n_units;
    s->maxC = p->layout.max_ncat;
    if (variant == CARMS_I && s->maxC > CARMS_MAX_C)
        return gv_err(err, "%s: the exact joint costs O(C^4); C = %d exceeds the limit %d (use carms-gumbel)", name,
                      s->maxC, CARMS_MAX_C), GV_EFAIL;
    const int n = K, D = s->D, C = s->maxC;
    s->unit = calloc((size_t)D, sizeof *s->unit);
    s->wtab = malloc((size_t)D * sizeof *s->wtab);
    s->z = malloc((size_t)n * D * sizeof *s->z);
    s->f = malloc((size_t)n * sizeof *s->f);
    s->u = malloc((size_t)n * sizeof *s->u);
    s->best = malloc((size_t)n * sizeof *s->best);
    s->ord = malloc((size_t)C * sizeof *s->ord);
    s->cum = malloc((size_t)C * sizeof *s->cum);
    s->q2 = malloc((size_t)C * C * sizeof *s->q2);
    if (!s->unit || !s->wtab || !s->z || !s->f || !s->u || !s->best || !s->ord || !s->cum || !s->q2)
        return gv_err(err, "out of memory"), GV_EFAIL;
    for (int i = 0; i < D; i++) {
        carms_unit_t *un = &s->unit[i];
        un->C = p->layout.units[i].ncat;
        un->param = p->layout.units[i].param;
        un->key = malloc((size_t)un->C * sizeof *un->key);
        un->w = malloc((size_t)un->C * un->C * sizeof *un->w);
        if (!un->key || !un->w) return gv_err(err, "out of memory"), GV_EFAIL;
        s->wtab[i] = un->w;
    }
    return GV_OK;
}
static int carms_init(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return carms_init_variant(v, CARMS_I, sp, p, K, e); }
static int carms_init_gumbel(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return carms_init_variant(v, CARMS_G, sp, p, K, e); }

/* n draws of one unit with classes pi (C of them) into z[k * stride]. */
static void carms_draw_inverse(carms_state_t *s, int C, const double *pi, gsl_rng *r, int *z, int stride)
{
    const int n = s->n;
    const long M = gv_carms_n_orderings(C);
    long k = 0;
    if (M > 1) { /* C = 2 has one ordering and draws nothing for it (arms's random numbers) */
        k = (long)(gv_uniform(r) * M);
        if (k >= M) k = M - 1;
    }
    gv_carms_ordering(C, k, s->ord);
    gv_carms_bounds(C, pi, s->ord, s->cum);
    gv_arms_dirichlet_copula(n, r, s->u);
    const double *cum = s->cum;
    for (int i = 0; i < n; i++) { /* the first position p with u <= cum[p]; cum[C-1] = 1 >= u */
        const double u = s->u[i];
        int lo = 0;
        if (C <= 16) {
            while (u > cum[lo]) lo++;
        } else {
            int hi = C - 1;
            while (lo < hi) {
                int mid = (lo + hi) >> 1;
                if (u <= cum[mid]) hi = mid; else lo = mid + 1;
            }
        }
        z[(size_t)i * stride] = s->ord[lo];
    }
}

static void carms_draw_gumbel(carms_state_t *s, int C, const double *pi, gsl_rng *r, int *z, int stride)
{
    const int n = s->n;
    for (int i = 0; i < n; i++) s->best[i] = INFINITY, z[(size_t)i * stride] = -1;
    for (int c = 0; c < C; c++) {
        gv_arms_dirichlet_copula_neglog(n, r, s->u); /* -log u; drawn for every class: the consumption does not depend on pi */
        if (!(pi[c] > 0)) continue;
        for (int i = 0; i < n; i++) {
            const double key = s->u[i] / pi[c]; /* -log u / pi_c: log of it = -(log pi_c + G(u)) */
            if (key < s->best[i]) s->best[i] = key, z[(size_t)i * stride] = c;
        }
    }
    for (int i = 0; i < n; i++) /* every key infinite (u = 0 for every class: probability ~0) */
        if (z[(size_t)i * stride] < 0) {
            int cmax = 0;
            for (int c = 1; c < C; c++) if (pi[c] > pi[cmax]) cmax = c;
            z[(size_t)i * stride] = cmax;
        }
}

/* The weight table of unit i at the point's logits. */
static int carms_build(carms_state_t *s, const gv_point *pt, int i, gsl_rng *r)
{
    carms_unit_t *un = &s->unit[i];
    const int C = un->C, n = s->n;
    const double *eta = pt->eta + un->param, *pi = pt->prob + un->param;
    memcpy(un->key, eta, (size_t)C * sizeof *eta);
    for (int j = 0; j < i; j++) { /* units with the same logits share the table */
        const carms_unit_t *o = &s->unit[j];
        if (o->valid && o->C == C && !memcmp(o->key, eta, (size_t)C * sizeof *eta)) {
            memcpy(un->w, o->w, (size_t)C * C * sizeof *un->w);
            un->valid = 1;
            return 0;
        }
    }
    double *q2 = s->q2;
    if (s->variant == CARMS_I) {
        if (gv_carms_joint(C, pi, n, q2)) return -1;
        gv_carms_weights(C, pi, q2, s->clip, un->w);
    } else {
        /* a reproducible sub-stream: the handed generator's type, seeded by one draw of it */
        uint64_t seed = (uint64_t)(gv_uniform(r) * 0x1.0p53);
        gsl_rng *sub = gv_rng_new(r->type, gv_hash_mix(seed, 0x6361726d73ULL));
        if (!sub) return -1;
        int *zz = s->z; /* scratch: the estimate draws its samples after the build */
        memset(q2, 0, (size_t)C * C * sizeof *q2);
        for (long t = 0; t < s->mc; t++) {
            carms_draw_gumbel(s, C, pi, sub, zz, 1);
            for (int a = 0; a < n; a++)
                for (int b = 0; b < n; b++)
                    if (a != b) q2[(size_t)zz[a] * C + zz[b]] += 1;
        }
        gsl_rng_free(sub);
        const double tot = (double)s->mc * n * (n - 1);
        for (long k = 0; k < (long)C * C; k++) q2[k] /= tot;
        gv_carms_weights(C, pi, q2, s->clip, un->w);
        for (long k = 0; k < (long)C * C; k++) /* never drawn: the weight of independent draws */
            if (q2[k] == 0 && !s->clip) un->w[k] = 1;
    }
    s->builds++;
    un->valid = 1;
    return 0;
}

static int carms_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    carms_state_t *s = v;
    const gv_point *pt = ev->pt;
    const int n = s->n, D = s->D;
    /* CARMS-I: a table per point (cached); CARMS-G: a fresh Monte Carlo table for every estimate, so
     * that estimates are i.i.d. (a table shared by many estimates would correlate them) */
    for (int i = 0; i < D; i++) {
        carms_unit_t *un = &s->unit[i];
        if (s->variant == CARMS_G) un->valid = 0;
    }
    for (int i = 0; i < D; i++) {
        carms_unit_t *un = &s->unit[i];
        if (!un->valid || memcmp(un->key, pt->eta + un->param, (size_t)un->C * sizeof(double))) {
            un->valid = 0;
            if (carms_build(s, pt, i, r)) return -1;
        }
    }
    for (int i = 0; i < D; i++) {
        const carms_unit_t *un = &s->unit[i];
        if (s->variant == CARMS_I) carms_draw_inverse(s, un->C, pt->prob + un->param, r, s->z + i, D);
        else carms_draw_gumbel(s, un->C, pt->prob + un->param, r, s->z + i, D);
    }
    for (int k = 0; k < n; k++) s->f[k] = gv_eval_f(ev, s->z + (size_t)k * D);
    gv_carms_combine(pt->layout, n, s->z, s->f, s->wtab, g);
    return 0;
}

long gv_carms_builds(const void *state) { return ((const carms_state_t *)state)->builds; }

/* Nothing is learned; CARMS-I's tables are a deterministic function of (pi, n, clip), so an instance may
 * start from another's (same problem and K) instead of rebuilding them.  Not for CARMS-G: it draws a
 * fresh Monte Carlo table for every estimate. */
static void carms_copy_tables(void *dst, const void *src)
{
    carms_state_t *d = dst;
    const carms_state_t *s = src;
    if (d->variant != CARMS_I || s->variant != CARMS_I || d->D != s->D || d->n != s->n || d->clip != s->clip) return;
    for (int i = 0; i < d->D; i++) {
        carms_unit_t *a = &d->unit[i];
        const carms_unit_t *b = &s->unit[i];
        if (!b->valid || a->C != b->C) continue;
        memcpy(a->key, b->key, (size_t)a->C * sizeof *a->key);
        memcpy(a->w, b->w, (size_t)a->C * a->C * sizeof *a->w);
        a->valid = 1;
    }
}

static void carms_note(const void *v, char *buf, size_t len)
{
    const carms_state_t *s = v;
    const char *clip = s->clip ? "clip=1: biased (weights clipped to [0.01,10])" : "";
    if (s->variant == CARMS_I) snprintf(buf, len, "%s", clip);
    else snprintf(buf, len, "q2 from mc=%ld Monte Carlo draws, a fresh table per estimate: biased%s%s", s->mc,
                  s->clip ? "; " : "", clip);
}

#define CARMS_COMMON                                                                                   \
    .objective = GV_OBJ_EXPECTATION, .units = GV_UNIT_CATEGORICAL, .needs = GV_NEED_F, .min_K = 2,   \
    .K_multiple = 1, .cost = "K", .state_size = sizeof(carms_state_t), .free = carms_free,             \
    .estimate = carms_estimate, .note = carms_note

const gv_estimator_type gv_est_carms = {
    .name = "carms",
    .description = "CARMS-I: n = K antithetic categorical samples (Dirichlet copula, inverse CDF over random orderings), exact pairwise weights",
    .citation = "Dimitriev & Zhou 2110.14002",
    .biased = 0, .options = carms_opts, .init = carms_init, .copy_learned = carms_copy_tables, CARMS_COMMON};

const gv_estimator_type gv_est_carms_gumbel = {
    .name = "carms-gumbel",
    .description = "CARMS-G: Gumbel-max over per-class Dirichlet-copula uniforms, pairwise weights from a Monte Carlo joint",
    .citation = "Dimitriev & Zhou 2110.14002",
    .biased = 1, .options = carms_gumbel_opts, .init = carms_init_gumbel, CARMS_COMMON};
