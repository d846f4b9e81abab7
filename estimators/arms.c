/* arms.c — ARMS, antithetic REINFORCE with n = K jointly antithetic samples (Dimitriev & Zhou
 * 2105.14141), Bernoulli units; two copulas sharing every function but the sampler (GSL-style).
 * For every unit i independently, n samples b_1i..b_ni with marginals Bernoulli(theta_i) and
 * pairwise P(b_ki = b_li = 1) = J(theta_i) (k != l); f_k = f(b_k), fbar = (1/n) sum_k f_k:
 *   g_i = theta_i (1-theta_i) / (theta_i - J(theta_i)) * 1/(n-1) sum_k (f_k - fbar)(b_ki - theta_i).
 * Unbiased: with m_v = E[f | b_i = v], E[f_k (b_li - theta)] is theta(1-theta)(m_1 - m_0) for l = k
 * and (J - theta^2)(m_1 - m_0) for l != k, so E sum_k (f_k - fbar)(b_ki - theta)
 * = (n-1)(theta - J)(m_1 - m_0), and theta(1-theta)(m_1 - m_0) = dE f / d eta_i.
 *   arms         Dirichlet copula: E_k = -log U_k, d = E / sum E, u_k = (1 - d_k)^{n-1} (uniform
 *                marginals, C_n(x,y) = max(0, x^{1/(n-1)} + y^{1/(n-1)} - 1)^{n-1});
 *                b_k = 1[u_k < theta] if theta < 1/2, else 1[1 - u_k < theta];
 *                J = C_n(theta,theta) if theta < 1/2, else 2 theta - 1 + C_n(1-theta, 1-theta).
 *   arms-normal  Gaussian copula: x = (eps - mean eps) sqrt(n/(n-1)), eps ~ N(0,I_n), so x_k ~ N(0,1)
 *                with correlation rho = -1/(n-1); b_k = 1[x_k < Phi^-1(theta)],
 *                J = Phi2(Phi^-1 theta, Phi^-1 theta; rho) (Genz's bivariate normal CDF below).
 * Numerics.  With a = min(theta, 1-theta) (the point's exact prob or comp) and both copulas
 * reflection-symmetric in the sense used above, theta - J = a - J(a) in both branches (no 2 theta - 1
 * cancellation), and the factor is computed as max(theta,1-theta) / (1 - J(a)/a): J(a)/a < 1 is the
 * conditional probability that a second sample is the minority value too; it tends to 0 as a -> 0
 * for both copulas (C_n(a,a) = 0 for a < 2^-(n-1); Phi2 ~ a^{2/(1+rho)}), so if a underflows to 0
 * (theta = 0 or 1 in double precision) the factor is its limit max(theta,1-theta) = 1 — and then
 * every b_ki equals the sure value, so every (b_ki - theta_i) is exactly 0 and g_i = 0.
 * Samples are compared with per-unit thresholds cached for the point (no pow per sample):
 * u_k < a  <=>  d_k > 1 - a^{1/(n-1)}  (d drawn as sorted-uniform spacings for n <= 16, arms_simplex);
 * x_k < Phi^-1(a)  <=>  eps_k - mean eps < Phi^-1(a) sqrt((n-1)/n).
 * n = 2: both copulas are the countermonotone pair (u, 1-u) (Dirichlet: u_1 = d_2 ~ U(0,1),
 * u_2 = d_1 = 1 - u_1; normal: rho = -1, x_2 = -x_1), J = 0 and the factor is max(theta,1-theta):
 * the estimate is DisARM's, and both variants then draw one uniform per unit exactly as disarm.c
 * does (the theta >= 1/2 reflection only swaps the two samples, which the estimate ignores).
 * Cost: K = n evaluations of f.  K >= 2, any K.  Unbiased. */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

#include "estimators/estimator.h"
#include "harness/rng.h"

/* Copula helpers, declared in estimators/arms.h (the estimators' interface is their type; these are
 * the pieces the tests and CARMS check against references). */
#include "estimators/arms.h"

/* ------------------------------------------------------------------ bivariate normal CDF */

/* P(X > h, Y > k) for standard normals with correlation r: Drezner & Wesolowsky (1990, J. Statist.
 * Comput. Simul. 35:101) as modified by Genz (2004, Stat. Comput. 14:251, "BVND"): for |r| < 0.925
 * Gauss-Legendre (6, 12 or 20 points by |r|) on Plackett's identity d Phi2 / dr = phi2 after
 * r = sin(t):  P = Phi(-h) Phi(-k) + 1/(2 pi) int_0^{asin r} exp(-(h^2 + k^2 - 2hk sin t) / (2 cos^2 t)) dt;
 * for |r| >= 0.925 the integral from the other end (|r| = 1) with the singular part expanded.
 * Absolute error ~1e-15 (tests/test_antithetic.c checks 1e-10 against 30-digit references). */
static const double bvn_w[3][10] = { /* Gauss-Legendre weights, n = 6, 12, 20 (half rules) */
    {0.1713244923791705, 0.3607615730481384, 0.4679139345726904},
    {0.04717533638651177, 0.1069393259953183, 0.1600783285433464, 0.2031674267230659, 0.2334925365383547,
     0.2491470458134029},
    {0.01761400713915212, 0.04060142980038694, 0.06267204833410906, 0.08327674157670475, 0.1019301198172404,
     0.1181945319615184, 0.1316886384491766, 0.1420961093183821, 0.1491729864726037, 0.1527533871307259}};
static const double bvn_x[3][10] = { /* and the positive nodes */
    {0.9324695142031522, 0.6612093864662647, 0.2386191860831970},
    {0.9815606342467191, 0.9041172563704750, 0.7699026741943050, 0.5873179542866171, 0.3678314989981802,
     0.1252334085114692},
    {0.9931285991850949, 0.9639719272779138, 0.9122344282513259, 0.8391169718222188, 0.7463319064601508,
     0.6360536807265150, 0.5108670019508271, 0.3737060887154196, 0.2277858511416451, 0.07652652113349733}};

static double bvn_upper(double h, double k, double r)
{
    const double twopi = 2 * M_PI, ar = fabs(r);
    const int ng = ar < 0.3 ? 0 : ar < 0.75 ? 1 : 2, lg = ng == 0 ? 3 : ng == 1 ? 6 : 10;
    const double *w = bvn_w[ng], *x = bvn_x[ng];
    double hk = h * k, bvn = 0;
    if (ar < 0.925) {
        const double hs = (h * h + k * k) / 2, asr = asin(r);
        for (int i = 0; i < lg; i++)
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                double sn = sin(asr * (1 + sgn * x[i]) / 2);
                bvn += w[i] * exp((sn * hk - hs) / (1 - sn * sn));
            }
        bvn = bvn * asr / (2 * twopi) + gsl_cdf_ugaussian_Q(h) * gsl_cdf_ugaussian_Q(k);
    } else {
        if (r < 0) { /* P(X > h, Y > k; r) = P(X > h) - P(X > h, -Y > -k; -r) */
            k = -k;
            hk = -hk;
        }
        if (ar < 1) {
            const double as = (1 - r) * (1 + r), bs = (h - k) * (h - k), c = (4 - hk) / 8, d = (12 - hk) / 16;
            double a = sqrt(as), e = -(bs / as + hk) / 2;
            if (e > -100) bvn = a * exp(e) * (1 - c * (bs - as) * (1 - d * bs / 5) / 3 + c * d * as * as / 5);
            if (-hk < 100) {
                double b = sqrt(bs);
                bvn -= exp(-hk / 2) * sqrt(twopi) * gsl_cdf_ugaussian_P(-b / a) * b * (1 - c * bs * (1 - d * bs / 5) / 3);
            }
            a /= 2;
            for (int i = 0; i < lg; i++)
                for (int sgn = -1; sgn <= 1; sgn += 2) {
                    double xs = a * (sgn * x[i] + 1);
                    xs *= xs;
                    double rs = sqrt(1 - xs), ee = -(bs / xs + hk) / 2;
                    if (ee > -100)
                        bvn += a * w[i] * exp(ee) *
                               (exp(-hk * (1 - rs) / (2 * (1 + rs))) / rs - (1 + c * xs * (1 + d * xs)));
                }
            bvn = -bvn / twopi;
        }
        if (r > 0) bvn += gsl_cdf_ugaussian_Q(h > k ? h : k);
        else bvn = -bvn + fmax(0, gsl_cdf_ugaussian_Q(h) - gsl_cdf_ugaussian_Q(k));
    }
    return bvn < 0 ? 0 : bvn > 1 ? 1 : bvn;
}

/* Phi2(h, k; rho) = P(X < h, Y < k). */
double gv_bvn_cdf(double h, double k, double rho)
{
    if (isnan(h) || isnan(k) || isnan(rho)) return NAN;
    if (h == -INFINITY || k == -INFINITY) return 0;
    if (h == INFINITY) return gsl_cdf_ugaussian_P(k);
    if (k == INFINITY) return gsl_cdf_ugaussian_P(h);
    return bvn_upper(-h, -k, rho);
}

/* ------------------------------------------------------------------ Dirichlet copula */

/* Largest n drawn by sorting (below); above it, by exponentials. */
#define ARMS_SORT_MAX 16

/* d uniform on the simplex {d >= 0, sum d = 1} (Dirichlet(1,..,1)), n >= 2.  CATALOGUE.md's
 * construction d = E / sum E with E_k = -log U_k; for n <= ARMS_SORT_MAX the same distribution as
 * the spacings of n - 1 sorted uniforms (Renyi), which needs n - 1 uniforms and no logarithm. */
static void arms_simplex(int n, gsl_rng *r, double *d)
{
    if (n <= ARMS_SORT_MAX) {
        /* sort m = n - 1 uniforms by scattering each to its rank, a sum of comparisons: no
         * data-dependent branch (a comparison sort's branches are unpredictable here); ties,
         * broken by index, keep the ranks a permutation */
        const int m = n - 1;
        double v[ARMS_SORT_MAX];
        for (int k = 0; k < m; k++) v[k] = gv_uniform(r);
        for (int j = 0; j < m; j++) {
            int rank = 0;
            for (int l = 0; l < j; l++) rank += v[l] <= v[j];
            for (int l = j + 1; l < m; l++) rank += v[l] < v[j];
            d[rank] = v[j];
        }
        d[n - 1] = 1 - d[n - 2];
        for (int k = n - 2; k > 0; k--) d[k] -= d[k - 1];
    } else { /* E_k = -log(1 - U_k) ~ Exp(1): 1 - U is exact and > 0 on gv_uniform's grid */
        double S = 0;
        for (int k = 0; k < n; k++) S += d[k] = -log(1 - gv_uniform(r));
        for (int k = 0; k < n; k++) d[k] /= S;
    }
}

/* d_k ~ Beta(1, n-1) with P(d_k > t) = (1-t)^{n-1}, so u_k = (1 - d_k)^{n-1} is U(0,1);
 * P(d_k >= s, d_l >= t) = (1-s-t)_+^{n-1} gives C_n. */
void gv_arms_dirichlet_copula(int n, gsl_rng *r, double *u)
{
    arms_simplex(n, r, u);
    for (int k = 0; k < n; k++) u[k] = pow(1 - u[k], n - 1);
}

void gv_arms_dirichlet_copula_neglog(int n, gsl_rng *r, double *e)
{
    arms_simplex(n, r, e);
    for (int k = 0; k < n; k++) e[k] = -(n - 1) * log1p(-e[k]); /* -log (1 - d_k)^(n-1) */
}

double gv_arms_copula_cdf(int n, double x, double y)
{
    double s = pow(x, 1.0 / (n - 1)) + pow(y, 1.0 / (n - 1)) - 1;
    return s > 0 ? pow(s, n - 1) : 0;
}

/* ------------------------------------------------------------------ the estimators */

enum { ARMS_DIRICHLET, ARMS_NORMAL };

typedef struct {
    int copula, n, D;
    int *z;            /* n x D samples */
    double *f, *e;     /* n: f values; one unit's simplex point d or normals eps */
    /* per unit, valid for eta_c[i]: threshold of the minority event, reflection, factor / (n-1) */
    double *eta_c, *thr, *factor;
    unsigned char *flip;
} arms_state_t;

static const gv_optdoc arms_opts[] = {{NULL, NULL, NULL}};

static int arms_init_copula(arms_state_t *s, int copula, const gv_problem *p, int K, char *err)
{
    s->copula = copula;
    s->n = K;
    s->D = p->layout.n_units;
    for (int i = 0; i < s->D; i++) /* theta_i = prob[i] below */
        if (p->layout.units[i].param != i) return gv_err(err, "arms: unit %d does not own parameter %d", i, i), GV_EFAIL;
    s->z = malloc((size_t)K * s->D * sizeof(int));
    s->f = malloc((size_t)K * sizeof(double));
    s->e = malloc((size_t)K * sizeof(double));
    s->eta_c = malloc((size_t)s->D * sizeof(double));
    s->thr = malloc((size_t)s->D * sizeof(double));
    s->factor = malloc((size_t)s->D * sizeof(double));
    s->flip = malloc((size_t)s->D);
    if (!s->z || !s->f || !s->e || !s->eta_c || !s->thr || !s->factor || !s->flip)
        return gv_err(err, "out of memory"), GV_EFAIL;
    for (int i = 0; i < s->D; i++) s->eta_c[i] = NAN; /* never equal: computed on first use */
    return GV_OK;
}
static int arms_init(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return arms_init_copula(v, ARMS_DIRICHLET, p, K, e); }
static int arms_init_normal(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return arms_init_copula(v, ARMS_NORMAL, p, K, e); }

static void arms_free(void *v)
{
    arms_state_t *s = v;
    free(s->z), free(s->f), free(s->e);
    free(s->eta_c), free(s->thr), free(s->factor), free(s->flip);
}

/* Threshold, reflection and factor theta(1-theta) / ((theta - J)(n-1)) of unit i (see the header). */
static void arms_unit_setup(arms_state_t *s, const gv_point *pt, int i)
{
    const int n = s->n;
    const double th = pt->prob[i], cp = pt->comp[i];
    const double a = th < cp ? th : cp, M = th < cp ? cp : th;
    double ratio = 0; /* J(a) / a */
    s->flip[i] = th >= cp;
    if (s->copula == ARMS_DIRICHLET) {
        double t = -expm1(log(a) / (n - 1)); /* 1 - a^{1/(n-1)}: u_k < a  <=>  d_k > t */
        s->thr[i] = t;
        double x = 1 - 2 * t; /* 2 a^{1/(n-1)} - 1 */
        if (a > 0 && x > 0) ratio = pow(x, n - 1) / a;
    } else {
        double h = gsl_cdf_ugaussian_Pinv(a); /* -inf at a = 0 */
        s->thr[i] = h * sqrt((n - 1.0) / n);
        if (a > 0 && n > 2) ratio = gv_bvn_cdf(h, h, -1.0 / (n - 1)) / a;
    }
    if (!(ratio >= 0 && ratio < 1)) ratio = 0; /* not reached: J < a for every a in (0, 1/2] */
    s->factor[i] = M / (1 - ratio) / (n - 1);
    s->eta_c[i] = pt->eta[i];
}

static int arms_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    arms_state_t *s = v;
    const gv_point *pt = ev->pt;
    const double *th = pt->prob, *comp = pt->comp;
    const int n = s->n, D = s->D;
    for (int i = 0; i < D; i++)
        if (pt->eta[i] != s->eta_c[i]) arms_unit_setup(s, pt, i);
    if (n == 2) { /* the countermonotone pair (see the header): disarm's draws */
        int *z0 = s->z, *z1 = s->z + D;
        for (int i = 0; i < D; i++) {
            double u = gv_uniform(r);
            z0[i] = u < th[i];
            z1[i] = 1 - u < th[i];
        }
    } else if (s->copula == ARMS_DIRICHLET) {
        for (int i = 0; i < D; i++) {
            arms_simplex(n, r, s->e);
            const double t = s->thr[i];
            const int fl = s->flip[i];
            for (int k = 0; k < n; k++) s->z[(size_t)k * D + i] = (s->e[k] > t) ^ fl;
        }
    } else {
        for (int i = 0; i < D; i++) {
            double mean = 0;
            for (int k = 0; k < n; k++) mean += s->e[k] = gsl_ran_gaussian_ziggurat(r, 1.0);
            mean /= n;
            const double t = s->thr[i] + mean;
            const int fl = s->flip[i];
            for (int k = 0; k < n; k++) s->z[(size_t)k * D + i] = (s->e[k] < t) ^ fl;
        }
    }
    double fbar = 0;
    for (int k = 0; k < n; k++) fbar += s->f[k] = gv_eval_f(ev, s->z + (size_t)k * D);
    fbar /= n;
    for (int k = 0; k < n; k++) s->f[k] -= fbar;
    for (int i = 0; i < D; i++) {
        /* sum_k f_k (b_ki - theta) = comp sum_{b=1} f_k - theta sum_{b=0} f_k: exact at theta near 0
         * and 1, and without a data-dependent branch */
        double s1 = 0, s0 = 0;
        for (int k = 0; k < n; k++) {
            const int b = s->z[(size_t)k * D + i];
            s1 += s->f[k] * b;
            s0 += s->f[k] * (1 - b);
        }
        g[i] += s->factor[i] * (comp[i] * s1 - th[i] * s0);
    }
    return 0;
}

#define ARMS_COMMON                                                                                  \
    .objective = GV_OBJ_EXPECTATION, .units = GV_UNIT_BERNOULLI, .needs = GV_NEED_F, .min_K = 2,   \
    .K_multiple = 1, .biased = 0, .cost = "K", .options = arms_opts, .state_size = sizeof(arms_state_t), \
    .free = arms_free, .estimate = arms_estimate, .layerwise = 1

const gv_estimator_type gv_est_arms = {
    .name = "arms",
    .description = "n = K jointly antithetic samples per unit (Dirichlet copula), leave-one-out with copula correction",
    .citation = "Dimitriev & Zhou 2105.14141",
    .init = arms_init, ARMS_COMMON};

const gv_estimator_type gv_est_arms_normal = {
    .name = "arms-normal",
    .description = "ARMS with the Gaussian copula (equicorrelated normals, rho = -1/(n-1))",
    .citation = "Dimitriev & Zhou 2105.14141",
    .init = arms_init_normal, ARMS_COMMON};
