/* test_cv.c — control-variate and local-marginalisation estimators: double-cv, muprop, leg.
 *
 * (1) Identities on shared random numbers (two generators with the same seed, one per estimator;
 *     each estimator draws exactly K joint samples with gv_sample and nothing else, so the
 *     streams stay in step — checked by comparing the generators' next output at the end):
 *       double-cv with alpha = 0, and a fresh double-cv (learned alpha starts at 0) == rloo;
 *       leg == tokui-sato on single-layer problems (Bernoulli and categorical);
 *       double-cv (alpha != 0) and muprop == a direct transcription of the CATALOGUE formulas
 *       (leave-one-out means taken literally, F gbar as an explicit matrix product).
 * (2) The CATALOGUE formulas, by enumeration of all K-tuples of states (exact):
 *       double-cv unbiased for every alpha (K = 2, 3; Bernoulli and categorical; with the problem's
 *       grad f~ and with an arbitrary nonlinear g(z) in its place, since the identity never uses
 *       g = grad f~); muprop unbiased with the problem's Taylor point and with an arbitrary one
 *       (both categorical problems have a linear f~, on which muprop is exact: the arbitrary point
 *       exercises its categorical correction with a non-zero remainder); the K = 2 double-cv
 *       variance and alpha* and the muprop variance on bernoulli-quadratic equal the closed forms
 *       below.
 * (3) Statistical tests against the closed forms (z = |measured - exact| / SE):
 *       double-cv variance at fixed alpha, at the learned alpha (read from the row's message), and
 *       the oracle alpha against alpha*; muprop's variance; plus orderings: the learned alpha lowers
 *       the variance below alpha = 0 on the double-cv toy at theta != 1/2; muprop is below
 *       reinforce where E f exceeds the Taylor remainder's mean, and above it in the 1-D preset.
 *     Unbiasedness at fixed alpha != 0 (the registry-wide test runs only the default option).
 *
 * ---- Closed forms: bernoulli-quadratic, every unit at theta, K = 2 --------------------------
 * f(b) = mu + c 1^T s, c = (1-2t)/D, s = b - theta, p = theta(1-theta) (test_variance.c);
 * grad f~(b) = (2/D)(b - t) = a (s + m 1), a = 2/D, m = theta - t.
 * double-cv, K = 2: gbar_{-1} = g_2, gbar_{-2} = g_1, h_1 - h_2 = c 1^T d + alpha a (s_2^T s_1 +
 * m 1^T s_1 - s_1^T s_2 - m 1^T s_2) = c' 1^T d with d = s_1 - s_2 and c' = c + alpha a m (the
 * cross term s_1^T s_2 cancels).  So
 *   g_i = (c'/2) d_i 1^T d - alpha a p ((s_1i + s_2i)/2 + m)   (mean c p: unbiased).
 * Var of the first term: rloo's with c -> c':  (c'^2/2) p (1 + 2p(D-2)).
 * Var of the second: alpha^2 a^2 p^2 p/2.  Covariance: -(alpha a p c'/4) E[(s_1i^2 - s_2i^2) 1^T d]
 * = -(alpha a p c'/4) 2 E s^3, E s^3 = p(1-2 theta).  Hence, with beta = alpha a,
 *   V(alpha) = (c'^2/2) p (1 + 2p(D-2)) + beta^2 p^3/2 - beta c' p^2 (1 - 2 theta),
 * a quadratic in beta minimised at
 *   beta* = c [p^2 (1-2theta) - P1 m] / [P1 m^2 + p^3 - 2 p^2 (1-2theta) m],  P1 = p(1 + 2p(D-2)),
 *   alpha* = beta* D/2.
 * On the double-cv preset (D = 200, t = 0.499): theta = 0.3: alpha* = +0.0049355, V(alpha*) = 0.0129
 * V(0); theta = 0.7: alpha* = -0.0048879; theta = 1/2: alpha* = -0.00158 and V(alpha*) = 0.9998 V(0)
 * (at theta = 1/2 the second control variate is almost pure noise: m = 0.001).  alpha* is small
 * and changes sign where theta crosses t, as CATALOGUE.md says.
 * muprop: f(b) - f~(theta) - grad f~(theta)^T s = (1/D) sum_j s_j^2 =: Q/D (the Taylor remainder
 * of a quadratic is exact), so g_i = (1/K) sum_k (Q_k/D) s_ki + a m p and, with m_k = E s^k
 * (m_3 = p(1-2theta), m_4 = p(1-3p), m_6 = p((1-theta)^5 + theta^5)),
 *   Var_i = [m_6 + 2(D-1) p m_4 + p((D-1) m_4 + (D-1)(D-2) p^2) - m_3^2] / (K D^2).
 * The remainder's mean E Q/D = p is not removed, whereas E f = p + m^2 (per unit): muprop beats
 * reinforce only through the (theta - t)^2 part.  On the 1-D preset (t = 0.45, theta = 0.3) it
 * loses: 0.0288 against reinforce's 0.0156 (K = 1).
 *
 * ---- Statistics ----------------------------------------------------------------------------
 * One family, false-alarm rate 1e-3, Bonferroni over every scalar z computed (each coordinate
 * of an unbiasedness cell counts): z_thr = Q^{-1}(1e-3 / (2 n)).  Orderings are one-sided z tests
 * on the difference of two independent var_means, (v_a - v_b) / sqrt(se_a^2 + se_b^2) > z_thr.
 * The oracle alpha's SE is the delta-method SE the estimator reports from its warm-up replicates.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>

#include "harness/engine.h"
#include "harness/exact.h"
#include "harness/rng.h"

#define GV_TESTKIT_NO_FIXTURE
#include "tests/testkit.h"

#define FAMILY_ALPHA 1e-3
#define SEED 4242ULL
#define N_DRAWS 400 /* estimates per identity check */
#define R_VAR 100000L
#define R_UNB 50000L
#define W_WARM 1000L
#define W_ORACLE 20000L
static double z_thr;

/* ------------------------------------------------------------------ fixtures */

typedef struct {
    gv_problem *p;
    gv_point pt;
    gv_exact ex;
    double fmax; /* max |f| over the support (small problems only; else 0) */
} fixture;

static int fx_open(fixture *f, const char *spec)
{
    char err[GV_ERRLEN];
    memset(f, 0, sizeof *f);
    if (gv_problem_new(spec, &f->p, err)) return print_error("%s: %s\n", spec, err), -1;
    if (gv_point_init(&f->pt, &f->p->layout, f->p->eta) || gv_exact_alloc(&f->ex, &f->p->layout)) return -1;
    if (gv_exact_compute(f->p, &f->pt, GV_DEFAULT_MAX_STATES, 0, &f->ex, err))
        return print_error("%s: %s\n", spec, err), -1;
    const gv_layout *L = &f->p->layout;
    if (gv_support_size(L) <= 1e5) {
        int *z = calloc((size_t)L->n_units, sizeof(int));
        assert_non_null(z);
        for (double k = 0; k < gv_support_size(L); k++) {
            f->fmax = fmax(f->fmax, fabs(gv_problem_f(f->p, &f->pt, z)));
            for (int i = 0; i < L->n_units && ++z[i] == L->units[i].ncat; i++) z[i] = 0;
        }
        free(z);
    }
    return 0;
}

static void fx_close(fixture *f)
{
    gv_exact_free(&f->ex);
    gv_point_free(&f->pt);
    gv_problem_free(f->p);
}

static gv_estimator *est_new(const fixture *f, const char *text, int K)
{
    char err[GV_ERRLEN];
    gv_spec spec;
    gv_estimator *e = NULL;
    if (gv_spec_parse(text, &spec, err) || gv_estimator_new(&spec, f->p, K, &e, err)) {
        print_error("%s K=%d on %s: %s\n", text, K, f->p->spec, err);
        return NULL;
    }
    return e;
}

/* One cell through the engine; 0 and *row on success (caller frees). */
static int run_cell(const fixture *f, const char *est, int K, long R, long W, gv_row *row)
{
    char err[GV_ERRLEN];
    gv_engine_opts o = {.R = R, .W = W, .seed = SEED, .rng = gv_rng_default(), .timing = 0};
    int rc = gv_run_cell(f->p, &f->pt, &f->ex, est, K, &o, 0, row, err);
    if (rc != GV_OK || strcmp(row->status, "ok")) {
        print_error("%s K=%d on %s: rc %d status %s %s\n", est, K, f->p->spec, rc, rc ? "-" : row->status,
                    rc ? err : row->message);
        if (rc == GV_OK) gv_row_free(row);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ reference formulas */

/* x(z): b (Bernoulli), one-hot (categorical). */
static void embed(const gv_layout *L, const int *z, double *x)
{
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *u = &L->units[i];
        if (u->kind == GV_UNIT_BERNOULLI) x[u->param] = z[i];
        else
            for (int c = 0; c < u->ncat; c++) x[u->param + c] = c == z[i];
    }
}

/* out = F v with F = E[s s^T] written out as a matrix per unit: p(1-p) (Bernoulli),
 * F_jc = pi_j delta_jc - pi_j pi_c (categorical). */
static void fisher(const gv_layout *L, const double *prob, const double *v, double *out)
{
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *u = &L->units[i];
        const int o = u->param, n = u->nparam;
        const double *p = prob + o;
        for (int j = 0; j < n; j++) {
            double acc = 0;
            if (u->kind == GV_UNIT_BERNOULLI) acc = p[0] * (1 - p[0]) * v[o];
            else
                for (int c = 0; c < n; c++) acc += (p[j] * (j == c) - p[j] * p[c]) * v[o + c];
            out[o + j] = acc;
        }
    }
}

/* A nonlinear stand-in for grad f~ (the double-cv identity holds for any function of z). */
static void gfun_synthetic(const gv_problem *p, const double *x, double *g)
{
    const int P = p->layout.n_params;
    double sx = 0;
    for (int q = 0; q < P; q++) sx += (q + 1) * x[q];
    for (int q = 0; q < P; q++) g[q] = sin(1.3 * q + sx) + x[q] * x[(q + 1) % P];
}
/* the problem's grad f~ at the point of the fixture in use (gfun_pt; problems with grad_ftilde_at need it) */
static const gv_point *gfun_pt;
static void gfun_problem(const gv_problem *p, const double *x, double *g) { gv_problem_grad_ftilde(p, gfun_pt, x, g); }
typedef void (*gfun_t)(const gv_problem *, const double *, double *);

/* The CATALOGUE double-cv formula, literally, for K samples z[k] (K x n_units):
 *   g_k = G(x(z_k)); gbar_{-k} = mean_{j != k} g_j; h_k = f_k + alpha gbar_{-k}^T s_k;
 *   hbar_{-k} = mean_{j != k} h_j; out = (1/K) sum_k (h_k - hbar_{-k}) s_k - alpha F gbar.
 * mag (optional) receives per coordinate the sum of the magnitudes of the terms (rounding scale). */
static void ref_dcv(const gv_problem *pb, const double *prob, const int *z, int K, double alpha, gfun_t G,
                    double *out, double *mag)
{
    const gv_layout *L = &pb->layout;
    const int P = L->n_params, U = L->n_units;
    double *x = malloc((size_t)K * P * sizeof *x), *s = malloc((size_t)K * P * sizeof *s);
    double *g = malloc((size_t)K * P * sizeof *g), *gl = malloc((size_t)P * sizeof *gl);
    double *h = malloc((size_t)K * sizeof *h), *f = malloc((size_t)K * sizeof *f);
    double *gb = calloc((size_t)P, sizeof *gb), *Fg = malloc((size_t)P * sizeof *Fg);
    assert_true(x && s && g && gl && h && f && gb && Fg);
    for (int k = 0; k < K; k++) {
        embed(L, z + (size_t)k * U, x + (size_t)k * P);
        for (int q = 0; q < P; q++) s[(size_t)k * P + q] = x[(size_t)k * P + q] - prob[q];
        G(pb, x + (size_t)k * P, g + (size_t)k * P);
        f[k] = gv_problem_f(pb, gfun_pt, z + (size_t)k * U);
        for (int q = 0; q < P; q++) gb[q] += g[(size_t)k * P + q] / K;
    }
    for (int k = 0; k < K; k++) {
        for (int q = 0; q < P; q++) {
            gl[q] = 0;
            for (int j = 0; j < K; j++)
                if (j != k) gl[q] += g[(size_t)j * P + q] / (K - 1);
        }
        double dot = 0;
        for (int q = 0; q < P; q++) dot += gl[q] * s[(size_t)k * P + q];
        h[k] = f[k] + alpha * dot;
    }
    fisher(L, prob, gb, Fg);
    for (int q = 0; q < P; q++) {
        out[q] = -alpha * Fg[q];
        if (mag) mag[q] = fabs(alpha * Fg[q]);
    }
    for (int k = 0; k < K; k++) {
        double hl = 0;
        for (int j = 0; j < K; j++)
            if (j != k) hl += h[j] / (K - 1);
        for (int q = 0; q < P; q++) {
            out[q] += (h[k] - hl) * s[(size_t)k * P + q] / K;
            if (mag) mag[q] += (fabs(h[k]) + fabs(hl)) * fabs(s[(size_t)k * P + q]) / K;
        }
    }
    free(x), free(s), free(g), free(gl), free(h), free(f), free(gb), free(Fg);
}

/* The CATALOGUE muprop formula for K samples, with the Taylor point's value ft and gradient gt
 * given (the problem's f~(xbar) and grad f~(xbar), or anything else: unbiasedness does not
 * depend on them):
 *   out = (1/K) sum_k [f_k - ft - gt^T s_k] s_k + F gt. */
static void ref_muprop(const gv_problem *pb, const double *prob, const int *z, int K, double ft, const double *gt,
                       double *out, double *mag)
{
    const gv_layout *L = &pb->layout;
    const int P = L->n_params, U = L->n_units;
    double *x = malloc((size_t)P * sizeof *x), *s = malloc((size_t)P * sizeof *s);
    double *Fg = malloc((size_t)P * sizeof *Fg);
    assert_true(x && s && Fg);
    fisher(L, prob, gt, Fg);
    for (int q = 0; q < P; q++) out[q] = Fg[q], mag[q] = fabs(Fg[q]);
    for (int k = 0; k < K; k++) {
        embed(L, z + (size_t)k * U, x);
        double dot = 0, f = gv_problem_f(pb, gfun_pt, z + (size_t)k * U);
        for (int q = 0; q < P; q++) s[q] = x[q] - prob[q], dot += gt[q] * s[q];
        for (int q = 0; q < P; q++) {
            out[q] += (f - ft - dot) * s[q] / K;
            mag[q] += (fabs(f) + fabs(ft) + fabs(dot)) * fabs(s[q]) / K;
        }
    }
    free(x), free(s), free(Fg);
}

/* ------------------------------------------------------------------ (1) identities */

static const char *const small_specs[] = {
    "bernoulli-quadratic:D=5,t=0.3,p=0.1/0.3/0.5/0.7/0.9",
    "bernoulli-quadratic:D=3,t=0.499,p=0.001/0.5/0.9999",
    "bernoulli-coupled:D=6,seed=3",
    "categorical-abs:D=3,C=4,seed=2",
    "categorical-linear:D=2,C=3,seed=5",
    "categorical-coupled:D=3,C=3/4/2,seed=2", /* non-separable categorical */
    "sbn:D=3,P=5,N=2,enc_scale=0.5",          /* one-layer sigmoid belief net: f at the point (f_at) */
};
#define N_SMALL (sizeof small_specs / sizeof small_specs[0])

/* Run estimators a and b on generators with the same seed, N_DRAWS estimates at K; the
 * tolerance for coordinate q is tol_rel * scale_q (scale_fn) — see the callers. */
typedef double (*scale_fn)(const fixture *f, int q, const double *gb, const int *z, int K);

static double scale_self(const fixture *f, int q, const double *gb, const int *z, int K) { return fabs(gb[q]); }

/* leg vs tokui-sato: each coordinate is w_q (theta(1-theta) for a Bernoulli unit, pi_j for a
 * categorical one) times a difference of sums of at most C f values; both sides round those
 * sums to within C eps max|f| (C eps < 1e-15 here), so |difference| <= 1e-12 (|g_q| + w_q max|f|)
 * with a wide margin.  (Bernoulli: both are one exact difference f1 - f0 times the same three
 * factors, so they agree to a few ulps of g_q.) */
static double scale_local(const fixture *f, int q, const double *gb, const int *z, int K)
{
    const gv_layout *L = &f->p->layout;
    double w = f->pt.prob[q];
    for (int i = 0; i < L->n_units; i++)
        if (L->units[i].param == q && L->units[i].kind == GV_UNIT_BERNOULLI) w *= f->pt.comp[q];
    return fabs(gb[q]) + w * f->fmax;
}

static double compare_pair(const fixture *f, const char *ea, const char *eb, int K, double tol_rel, scale_fn scale,
                           uint64_t seed, int *ok)
{
    const int P = f->p->layout.n_params;
    gv_estimator *a = est_new(f, ea, K), *b = est_new(f, eb, K);
    gsl_rng *ra = gv_rng_new(gv_rng_default(), seed), *rb = gv_rng_new(gv_rng_default(), seed);
    double *ga = malloc((size_t)P * sizeof *ga), *gb = malloc((size_t)P * sizeof *gb);
    assert_true(a && b && ra && rb && ga && gb);
    gv_eval eva = {.problem = f->p, .pt = &f->pt, .exact = &f->ex}, evb = eva;
    double worst = 0; /* max |a - b| / scale */
    *ok = 1;
    for (int n = 0; n < N_DRAWS; n++) {
        memset(ga, 0, (size_t)P * sizeof *ga);
        memset(gb, 0, (size_t)P * sizeof *gb);
        assert_int_equal(a->type->estimate(a->state, &eva, K, ra, ga), 0);
        assert_int_equal(b->type->estimate(b->state, &evb, K, rb, gb), 0);
        for (int q = 0; q < P; q++) {
            double d = fabs(ga[q] - gb[q]), sc = scale(f, q, gb, NULL, K);
            if (d > tol_rel * sc || !isfinite(ga[q])) *ok = 0;
            if (d > 0) worst = fmax(worst, sc > 0 ? d / sc : INFINITY);
        }
    }
    CHECK(eva.n_f == evb.n_f, "%s and %s: %llu vs %llu f evaluations", ea, eb,
          (unsigned long long)eva.n_f, (unsigned long long)evb.n_f);
    CHECK(gsl_rng_get(ra) == gsl_rng_get(rb), "%s and %s K=%d on %s: random streams out of step", ea, eb, K,
          f->p->spec);
    free(ga), free(gb);
    gsl_rng_free(ra), gsl_rng_free(rb);
    gv_estimator_free(a), gv_estimator_free(b);
    return worst;
}

static void test_identity_dcv_alpha0_is_rloo(void **unused)
{
    n_bad = 0;
    for (size_t i = 0; i < N_SMALL; i++) {
        fixture f;
        assert_int_equal(fx_open(&f, small_specs[i]), 0);
        gfun_pt = &f.pt;
        for (int K = 2; K <= 4; K++) {
            const char *names[] = {"double-cv:alpha=0", "double-cv"}; /* fresh learned state: alpha = 0 */
            for (int e = 0; e < 2; e++) {
                int ok;
                double w = compare_pair(&f, names[e], "rloo", K, 1e-12, scale_self, SEED + K, &ok);
                print_message("  %-20s == rloo  K=%d  %-52s max rel diff %.3g\n", names[e], K, small_specs[i], w);
                CHECK(ok, "%s vs rloo K=%d on %s: relative difference %.3g > 1e-12", names[e], K, small_specs[i], w);
            }
        }
        fx_close(&f);
    }
    END_CHECKS();
}

static void test_identity_leg_is_tokui_sato(void **unused)
{
    n_bad = 0;
    for (size_t i = 0; i < N_SMALL; i++) {
        fixture f;
        assert_int_equal(fx_open(&f, small_specs[i]), 0);
        gfun_pt = &f.pt;
        for (int K = 1; K <= 3; K++) {
            int ok;
            double w = compare_pair(&f, "leg", "tokui-sato", K, 1e-12, scale_local, SEED + 10 + K, &ok);
            print_message("  leg == tokui-sato  K=%d  %-52s max diff / scale %.3g\n", K, small_specs[i], w);
            CHECK(ok, "leg vs tokui-sato K=%d on %s: difference %.3g x scale > 1e-12", K, small_specs[i], w);
        }
        fx_close(&f);
    }
    END_CHECKS();
}

/* The production estimators against the literal formulas, draw by draw: the test draws the same
 * K samples with gv_sample from a generator with the estimator's seed.  Tolerance 1e-12 times the
 * sum of the magnitudes of the terms of each coordinate (both sides round each term to ~1e-16). */
static void test_matches_catalogue_formula(void **unused)
{
    n_bad = 0;
    const char *dcv_specs[] = {"double-cv:alpha=0.7", "double-cv:alpha=-2.5"};
    const double dcv_alpha[] = {0.7, -2.5};
    for (size_t i = 0; i < N_SMALL; i++) {
        fixture f;
        assert_int_equal(fx_open(&f, small_specs[i]), 0);
        gfun_pt = &f.pt;
        const int P = f.p->layout.n_params, U = f.p->layout.n_units;
        double *ge = malloc((size_t)P * sizeof *ge), *gr = malloc((size_t)P * sizeof *gr);
        double *mag = malloc((size_t)P * sizeof *mag);
        int *z = malloc((size_t)4 * U * sizeof *z);
        double *gt = malloc((size_t)P * sizeof *gt), ft = gv_problem_ftilde(f.p, &f.pt, f.pt.prob);
        assert_true(ge && gr && mag && z && gt);
        gv_problem_grad_ftilde(f.p, &f.pt, f.pt.prob, gt);
        for (int K = 1; K <= 4; K++) {
            for (int e = 0; e < 3; e++) { /* two double-cv alphas, muprop */
                if (e < 2 && K < 2) continue;
                gv_estimator *est = est_new(&f, e < 2 ? dcv_specs[e] : "muprop", K);
                gsl_rng *r1 = gv_rng_new(gv_rng_default(), SEED + 100 + K), *r2 = gv_rng_new(gv_rng_default(), SEED + 100 + K);
                assert_true(est && r1 && r2);
                gv_eval ev = {.problem = f.p, .pt = &f.pt, .exact = &f.ex};
                double worst = 0;
                int ok = 1;
                for (int n = 0; n < N_DRAWS; n++) {
                    memset(ge, 0, (size_t)P * sizeof *ge);
                    assert_int_equal(est->type->estimate(est->state, &ev, K, r1, ge), 0);
                    for (int k = 0; k < K; k++) gv_sample(&f.pt, r2, z + (size_t)k * U);
                    if (e < 2) ref_dcv(f.p, f.pt.prob, z, K, dcv_alpha[e], gfun_problem, gr, mag);
                    else ref_muprop(f.p, f.pt.prob, z, K, ft, gt, gr, mag);
                    for (int q = 0; q < P; q++) {
                        double d = fabs(ge[q] - gr[q]);
                        if (!(d <= 1e-12 * mag[q])) ok = 0;
                        if (d > 0) worst = fmax(worst, d / mag[q]);
                    }
                }
                print_message("  %-20s == formula  K=%d  %-52s max diff / term scale %.3g\n",
                              e < 2 ? dcv_specs[e] : "muprop", K, small_specs[i], worst);
                CHECK(ok, "%s K=%d on %s: differs from the formula by %.3g x the term scale", e < 2 ? dcv_specs[e] : "muprop",
                      K, small_specs[i], worst);
                gsl_rng_free(r1), gsl_rng_free(r2);
                gv_estimator_free(est);
            }
        }
        free(ge), free(gr), free(mag), free(z), free(gt);
        fx_close(&f);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ (2) enumeration */

typedef struct { int D; double t, theta; } bq_t;

static double dcv_closed_var(const bq_t *b, double alpha)
{
    const double D = b->D, th = b->theta, p = th * (1 - th), c = (1 - 2 * b->t) / D, a = 2 / D, m = th - b->t;
    const double beta = alpha * a, c1 = c + beta * m;
    return c1 * c1 / 2 * p * (1 + 2 * p * (D - 2)) + beta * beta * p * p * p / 2 - beta * c1 * p * p * (1 - 2 * th);
}

static double dcv_closed_alpha_star(const bq_t *b)
{
    const double D = b->D, th = b->theta, p = th * (1 - th), c = (1 - 2 * b->t) / D, m = th - b->t;
    const double P1 = p * (1 + 2 * p * (D - 2));
    const double beta = c * (p * p * (1 - 2 * th) - P1 * m) / (P1 * m * m + p * p * p - 2 * p * p * (1 - 2 * th) * m);
    return beta * D / 2;
}

static double muprop_closed_var(const bq_t *b, int K)
{
    const double D = b->D, th = b->theta, p = th * (1 - th);
    const double m3 = p * (1 - 2 * th), m4 = p * (1 - 3 * p), m6 = p * (pow(1 - th, 5) + pow(th, 5));
    return (m6 + 2 * (D - 1) * p * m4 + p * ((D - 1) * m4 + (D - 1) * (D - 2) * p * p) - m3 * m3) / (K * D * D);
}

/* reinforce (no baseline), K samples (test_variance.c's derivation) */
static double reinforce_closed_var(const bq_t *b, int K)
{
    const double D = b->D, th = b->theta, p = th * (1 - th), c = (1 - 2 * b->t) / D;
    const double mu = b->t * b->t + c * D * th;
    const double Eg2 = mu * mu * p + 2 * mu * c * p * (1 - 2 * th) + c * c * (p * (1 - 3 * p) + p * p * (D - 1));
    return (Eg2 - c * c * p * p) / K;
}

/* q(z) for a factorised layout from the point */
static double q_of(const gv_point *pt, const int *z)
{
    const gv_layout *L = pt->layout;
    double q = 1;
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *u = &L->units[i];
        q *= u->kind == GV_UNIT_BERNOULLI ? (z[i] ? pt->prob[u->param] : pt->comp[u->param]) : pt->prob[u->param + z[i]];
    }
    return q;
}

/* Enumerate all K-tuples: mean and per-coordinate variance of ref_dcv (alpha, G), and
 * E[A.B], E[|B|^2] (A = the alpha = 0 estimate, B = the alpha = 1 estimate minus A). */
static void enum_dcv(const fixture *f, int K, double alpha, gfun_t G, double *mean, double *var, double *EAB,
                     double *EBB)
{
    const gv_layout *L = &f->p->layout;
    const int P = L->n_params, U = L->n_units, S = (int)gv_support_size(L);
    long n = 1;
    for (int k = 0; k < K; k++) n *= S;
    int *z = calloc((size_t)K * U, sizeof *z);
    double *g = malloc((size_t)P * sizeof *g), *A = malloc((size_t)P * sizeof *A), *B = malloc((size_t)P * sizeof *B);
    double *m2 = calloc((size_t)P, sizeof *m2);
    assert_true(z && g && A && B && m2);
    memset(mean, 0, (size_t)P * sizeof *mean);
    *EAB = *EBB = 0;
    for (long t = 0; t < n; t++) {
        double w = 1;
        for (int k = 0; k < K; k++) w *= q_of(&f->pt, z + (size_t)k * U);
        ref_dcv(f->p, f->pt.prob, z, K, alpha, G, g, NULL);
        ref_dcv(f->p, f->pt.prob, z, K, 0, G, A, NULL);
        ref_dcv(f->p, f->pt.prob, z, K, 1, G, B, NULL);
        double ab = 0, bb = 0;
        for (int q = 0; q < P; q++) {
            B[q] -= A[q];
            ab += A[q] * B[q], bb += B[q] * B[q];
            mean[q] += w * g[q];
            m2[q] += w * g[q] * g[q];
        }
        *EAB += w * ab, *EBB += w * bb;
        /* next K-tuple: odometer over (sample, unit) */
        for (int j = 0; j < K * U; j++) {
            if (++z[j] < L->units[j % U].ncat) break;
            z[j] = 0;
        }
    }
    for (int q = 0; q < P; q++) var[q] = m2[q] - mean[q] * mean[q];
    free(z), free(g), free(A), free(B), free(m2);
}

static void test_enumeration(void **unused)
{
    n_bad = 0;
    /* (a) unbiased for every alpha, with the problem's grad f~ and with an arbitrary g(z) */
    const char *specs[] = {"bernoulli-quadratic:D=3,t=0.3,p=0.2/0.5/0.9", "bernoulli-coupled:D=3,seed=4",
                           "categorical-abs:D=2,C=3,seed=2", "categorical-linear:D=2,C=3,seed=5"};
    const double alphas[] = {0, 0.7, -2.5};
    for (size_t i = 0; i < 4; i++) {
        fixture f;
        assert_int_equal(fx_open(&f, specs[i]), 0);
        gfun_pt = &f.pt;
        const int P = f.p->layout.n_params;
        double *mean = malloc((size_t)P * sizeof *mean), *var = malloc((size_t)P * sizeof *var);
        assert_true(mean && var);
        for (int K = 2; K <= 3; K++)
            for (int gi = 0; gi < 2; gi++)
                for (size_t a = 0; a < 3; a++) {
                    double eab, ebb, worst = 0, gn = 0;
                    enum_dcv(&f, K, alphas[a], gi ? gfun_synthetic : gfun_problem, mean, var, &eab, &ebb);
                    for (int q = 0; q < P; q++) gn = fmax(gn, fabs(f.ex.grad[q]) + sqrt(var[q]));
                    for (int q = 0; q < P; q++) worst = fmax(worst, fabs(mean[q] - f.ex.grad[q]));
                    CHECK(worst <= 1e-12 * gn, "%s K=%d alpha=%g g=%s: E g off the exact gradient by %.3g (scale %.3g)",
                          specs[i], K, alphas[a], gi ? "synthetic" : "grad f~", worst, gn);
                }
        /* muprop, K = 1 (the K samples are i.i.d.): the problem's Taylor point and an arbitrary one */
        {
            const int U = f.p->layout.n_units, S = (int)gv_support_size(&f.p->layout);
            double *gt = malloc((size_t)P * sizeof *gt), *g = malloc((size_t)P * sizeof *g);
            double *mag = malloc((size_t)P * sizeof *mag);
            int *z = calloc((size_t)U, sizeof *z);
            assert_true(gt && g && mag && z);
            for (int syn = 0; syn < 2; syn++) {
                double ft = 1.7;
                if (syn)
                    for (int q = 0; q < P; q++) gt[q] = 3 * cos(2.0 * q + 1);
                else {
                    ft = gv_problem_ftilde(f.p, &f.pt, f.pt.prob);
                    gv_problem_grad_ftilde(f.p, &f.pt, f.pt.prob, gt);
                }
                memset(mean, 0, (size_t)P * sizeof *mean);
                double scale = 0, worst = 0;
                for (int k = 0; k < S; k++) {
                    double w = q_of(&f.pt, z);
                    ref_muprop(f.p, f.pt.prob, z, 1, ft, gt, g, mag);
                    for (int q = 0; q < P; q++) mean[q] += w * g[q], scale = fmax(scale, mag[q]);
                    for (int u = 0; u < U && ++z[u] == f.p->layout.units[u].ncat; u++) z[u] = 0;
                }
                for (int q = 0; q < P; q++) worst = fmax(worst, fabs(mean[q] - f.ex.grad[q]));
                CHECK(worst <= 1e-12 * scale, "%s muprop (%s Taylor point): E g off the exact gradient by %.3g (scale %.3g)",
                      specs[i], syn ? "arbitrary" : "f~", worst, scale);
            }
            free(gt), free(g), free(mag), free(z);
        }
        print_message("  enumeration: CATALOGUE double-cv unbiased on %s for K = 2, 3, alpha in {0, 0.7, -2.5}; muprop too\n",
                      specs[i]);
        free(mean), free(var);
        fx_close(&f);
    }
    /* (b) the K = 2 closed forms on bernoulli-quadratic, D = 3 */
    const bq_t cases[] = {{3, 0.3, 0.3}, {3, 0.3, 0.7}, {3, 0.499, 0.5}};
    for (size_t i = 0; i < 3; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, "bernoulli-quadratic:D=%d,t=%g,p=%g", cases[i].D, cases[i].t, cases[i].theta);
        fixture f;
        assert_int_equal(fx_open(&f, spec), 0);
        gfun_pt = &f.pt;
        const int P = f.p->layout.n_params;
        double mean[3], var[3], eab, ebb;
        const double as = dcv_closed_alpha_star(&cases[i]), al[] = {0, as, 0.4};
        for (int a = 0; a < 3; a++) {
            enum_dcv(&f, 2, al[a], gfun_problem, mean, var, &eab, &ebb);
            double V = dcv_closed_var(&cases[i], al[a]);
            for (int q = 0; q < P; q++)
                CHECK(fabs(var[q] - V) <= 1e-12 * V, "%s alpha=%g coord %d: enumerated Var %.17g, closed form %.17g", spec,
                      al[a], q, var[q], V);
            if (a == 0)
                CHECK(fabs(-eab / ebb - as) <= 1e-12 * fabs(as), "%s: enumerated alpha* %.17g, closed form %.17g", spec,
                      -eab / ebb, as);
        }
        /* muprop, K = 1: every single state */
        const int S = (int)gv_support_size(&f.p->layout);
        double mm[3] = {0}, m2[3] = {0}, g[3], mag[3], gt[3], ft = gv_problem_ftilde(f.p, &f.pt, f.pt.prob);
        gv_problem_grad_ftilde(f.p, &f.pt, f.pt.prob, gt);
        int z[3] = {0};
        for (int k = 0; k < S; k++) {
            double w = q_of(&f.pt, z);
            ref_muprop(f.p, f.pt.prob, z, 1, ft, gt, g, mag);
            for (int q = 0; q < P; q++) mm[q] += w * g[q], m2[q] += w * g[q] * g[q];
            for (int u = 0; u < 3 && ++z[u] == 2; u++) z[u] = 0;
        }
        double Vm = muprop_closed_var(&cases[i], 1);
        for (int q = 0; q < P; q++) {
            CHECK(fabs(mm[q] - f.ex.grad[q]) <= 1e-12 * fabs(f.ex.grad[q]) + 1e-15, "%s muprop: mean %.17g, exact %.17g",
                  spec, mm[q], f.ex.grad[q]);
            CHECK(fabs(m2[q] - mm[q] * mm[q] - Vm) <= 1e-12 * Vm, "%s muprop: enumerated Var %.17g, closed %.17g", spec,
                  m2[q] - mm[q] * mm[q], Vm);
        }
        print_message("  enumeration = closed forms on %s: alpha* %.6g, V(0) %.6g, V(alpha*) %.6g, muprop V %.6g\n", spec,
                      as, dcv_closed_var(&cases[i], 0), dcv_closed_var(&cases[i], as), Vm);
        fx_close(&f);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ (3) statistics */

#define DCV_TOY "bernoulli-quadratic:preset=double-cv,p=%g"

/* z tests of this section (for the family size) */
#define N_VAR_Z 7     /* test_variance_closed */
#define N_LEARN_Z 5   /* test_learned_lowers_variance: 3 orderings + 2 closed forms */
#define N_ORACLE_Z 3  /* test_oracle_alpha */
#define N_MUPROP_Z 3  /* test_muprop_vs_reinforce orderings (one reversed) */
static const char *const unb_specs[] = {"bernoulli-quadratic:D=5,t=0.3,p=0.1/0.3/0.5/0.7/0.9",
                                        "bernoulli-coupled:D=6,seed=3", "categorical-abs:D=3,C=4,seed=2",
                                        "categorical-linear:D=2,C=3,seed=5"};
static const char *const unb_est[] = {"double-cv:alpha=0.7", "double-cv:alpha=-2.5"};
#define N_UNB_SPECS 4
#define N_UNB_EST 2

static int z_check_var(const fixture *f, const char *est, int K, long W, double V, const char *what)
{
    gv_row row;
    if (run_cell(f, est, K, R_VAR, W, &row)) {
        CHECK(0, "run failed");
        return -1;
    }
    double z = fabs(row.s.var_mean - V) / row.s.var_mean_se;
    print_message("  %-44s %-24s K=%d exact %.6g measured %.6g +- %.2g  z %.2f  %s\n", f->p->spec, est, K, V,
                  row.s.var_mean, row.s.var_mean_se, z, what);
    CHECK(z < z_thr, "%s %s K=%d: var_mean %.6g +- %.3g, closed form %.6g: z = %.2f >= %.2f", f->p->spec, est, K,
          row.s.var_mean, row.s.var_mean_se, V, z, z_thr);
    gv_row_free(&row);
    return 0;
}

/* 7 z tests */
static void test_variance_closed(void **unused)
{
    n_bad = 0;
    char spec[128], est[64];
    for (int s = 0; s < 2; s++) {
        bq_t b = {200, 0.499, s ? 0.7 : 0.3};
        snprintf(spec, sizeof spec, DCV_TOY, b.theta);
        fixture f;
        assert_int_equal(fx_open(&f, spec), 0);
        const double as = dcv_closed_alpha_star(&b);
        snprintf(est, sizeof est, "double-cv:alpha=%.10g", as);
        z_check_var(&f, est, 2, 0, dcv_closed_var(&b, as), "(alpha*)");
        if (!s) {
            z_check_var(&f, "double-cv:alpha=0.02", 2, 0, dcv_closed_var(&b, 0.02), "(alpha = 0.02)");
            z_check_var(&f, "double-cv:alpha=-0.01", 2, 0, dcv_closed_var(&b, -0.01), "(alpha = -0.01)");
        }
        z_check_var(&f, "muprop", 2, 0, muprop_closed_var(&b, 2), "");
        fx_close(&f);
    }
    bq_t b1 = {1, 0.45, 0.3};
    fixture f;
    assert_int_equal(fx_open(&f, "bernoulli-quadratic:preset=d1-t0.45,p=0.3"), 0);
    z_check_var(&f, "muprop", 1, 0, muprop_closed_var(&b1, 1), "");
    fx_close(&f);
    END_CHECKS();
}

/* The learned alpha (after the engine's W = 1000 warm-up) against alpha = 0, at theta = 0.3 and
 * 0.7 (K = 2) and 0.3 (K = 4); at K = 2 the measured variance must also equal the closed form
 * V(alpha_hat) at the alpha the state froze (read from the row's message).  5 z tests. */
static void test_learned_lowers_variance(void **unused)
{
    n_bad = 0;
    const struct { double theta; int K; } cases[] = {{0.3, 2}, {0.7, 2}, {0.3, 4}};
    for (size_t i = 0; i < 3; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, DCV_TOY, cases[i].theta);
        fixture f;
        assert_int_equal(fx_open(&f, spec), 0);
        gv_row r0, rl;
        int K = cases[i].K;
        if (run_cell(&f, "double-cv:alpha=0", K, R_VAR, 0, &r0) || run_cell(&f, "double-cv", K, R_VAR, W_WARM, &rl)) {
            CHECK(0, "run failed");
            fx_close(&f);
            continue;
        }
        double alpha = NAN;
        long n = 0;
        CHECK(sscanf(rl.message, "alpha=%lf n=%ld", &alpha, &n) == 2 && n == W_WARM,
              "cannot read the learned alpha from the message '%s'", rl.message);
        double se = sqrt(r0.s.var_mean_se * r0.s.var_mean_se + rl.s.var_mean_se * rl.s.var_mean_se);
        double zg = (r0.s.var_mean - rl.s.var_mean) / se;
        print_message("  %-44s K=%d  alpha=0: %.4g +- %.2g   learned (alpha %.6g): %.4g +- %.2g   ratio %.4f  z of gap %.1f\n",
                      spec, K, r0.s.var_mean, r0.s.var_mean_se, alpha, rl.s.var_mean, rl.s.var_mean_se,
                      rl.s.var_mean / r0.s.var_mean, zg);
        CHECK(zg > z_thr, "%s K=%d: learned alpha var_mean %.6g not below alpha=0's %.6g (z of gap %.2f <= %.2f)", spec,
              K, rl.s.var_mean, r0.s.var_mean, zg, z_thr);
        if (K == 2) {
            bq_t b = {200, 0.499, cases[i].theta};
            double V = dcv_closed_var(&b, alpha), z = fabs(rl.s.var_mean - V) / rl.s.var_mean_se;
            print_message("    closed form at the learned alpha %.6g (alpha* %.6g): %.6g, V(alpha*) %.6g; z %.2f\n", alpha,
                          dcv_closed_alpha_star(&b), V, dcv_closed_var(&b, dcv_closed_alpha_star(&b)), z);
            CHECK(z < z_thr, "%s: learned var_mean %.6g +- %.3g vs V(alpha_hat) %.6g: z %.2f", spec, rl.s.var_mean,
                  rl.s.var_mean_se, V, z);
        }
        gv_row_free(&r0);
        gv_row_free(&rl);
        fx_close(&f);
    }
    END_CHECKS();
}

/* alpha=oracle on the toy at theta = 0.3, 0.7, 0.5 against the closed-form alpha* (z with the
 * reported delta-method SE; 3 z tests); the sign flips between 0.3 and 0.7 and |alpha*| < 0.01.
 * On categorical-linear f~ is linear and exact on the one-hots, so h_k is constant at alpha = -1:
 * the oracle must find -1 (to rounding) and the variance must vanish there. */
static void test_oracle_alpha(void **unused)
{
    n_bad = 0;
    const double thetas[] = {0.3, 0.7, 0.5};
    double got[3];
    for (int i = 0; i < 3; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, DCV_TOY, thetas[i]);
        bq_t b = {200, 0.499, thetas[i]};
        fixture f;
        assert_int_equal(fx_open(&f, spec), 0);
        gv_row row;
        got[i] = NAN;
        if (!run_cell(&f, "double-cv:alpha=oracle", 2, 2 * GV_BLOCK, W_ORACLE, &row)) {
            double a, se;
            long n;
            CHECK(sscanf(row.message, "alpha=%lf se=%lf n=%ld", &a, &se, &n) == 3 && n == W_ORACLE,
                  "cannot read alpha, se, n from '%s'", row.message);
            double as = dcv_closed_alpha_star(&b), z = fabs(a - as) / se;
            got[i] = a;
            print_message("  oracle alpha at theta=%.1f: %.6g +- %.2g (W=%ld), closed-form alpha* %.6g, z %.2f\n",
                          thetas[i], a, se, n, as, z);
            CHECK(z < z_thr, "theta=%g: oracle alpha %.6g +- %.3g vs alpha* %.6g: z %.2f", thetas[i], a, se, as, z);
            CHECK(fabs(as) < 0.01, "alpha* %.6g is not small", as);
            gv_row_free(&row);
        } else CHECK(0, "run failed");
        fx_close(&f);
    }
    CHECK(got[0] > 0 && got[1] < 0, "alpha* should change sign between theta = 0.3 (%.3g) and 0.7 (%.3g)", got[0],
          got[1]);
    fixture f;
    assert_int_equal(fx_open(&f, "categorical-linear:D=2,C=3,seed=5"), 0);
    gv_row row;
    if (!run_cell(&f, "double-cv:alpha=oracle", 3, 2 * GV_BLOCK, W_WARM, &row)) {
        double a = NAN;
        sscanf(row.message, "alpha=%lf", &a);
        double gn = 0;
        for (int q = 0; q < f.p->layout.n_params; q++) gn += f.ex.grad[q] * f.ex.grad[q];
        print_message("  oracle alpha on categorical-linear: %.15g, var_mean %.3g (|grad|^2 %.3g)\n", a, row.s.var_mean, gn);
        CHECK(fabs(a + 1) < 1e-9, "categorical-linear: oracle alpha %.17g, expected -1", a);
        CHECK(row.s.var_mean < 1e-20 * gn, "categorical-linear: var_mean %.3g at alpha = -1, expected 0 to rounding",
              row.s.var_mean);
        gv_row_free(&row);
    } else CHECK(0, "run failed");
    fx_close(&f);
    END_CHECKS();
}

/* muprop below reinforce where (theta - t)^2 is large (the double-cv toy at theta = 0.3;
 * D = 10, t = 0.3, theta = 0.7), and above it on the 1-D preset (t = 0.45, theta = 0.3), where
 * the closed forms say so (checked first, deterministically); 3 one-sided z tests. */
static void test_muprop_vs_reinforce(void **unused)
{
    n_bad = 0;
    const struct { const char *spec; bq_t b; int K; int muprop_wins; } cases[] = {
        {"bernoulli-quadratic:preset=double-cv,p=0.3", {200, 0.499, 0.3}, 2, 1},
        {"bernoulli-quadratic:D=10,t=0.3,p=0.7", {10, 0.3, 0.7}, 1, 1},
        {"bernoulli-quadratic:preset=d1-t0.45,p=0.3", {1, 0.45, 0.3}, 1, 0},
    };
    for (size_t i = 0; i < 3; i++) {
        fixture f;
        assert_int_equal(fx_open(&f, cases[i].spec), 0);
        double Vm = muprop_closed_var(&cases[i].b, cases[i].K), Vr = reinforce_closed_var(&cases[i].b, cases[i].K);
        CHECK((Vm < Vr) == cases[i].muprop_wins, "%s: closed forms muprop %.6g, reinforce %.6g", cases[i].spec, Vm, Vr);
        gv_row rm, rr;
        if (run_cell(&f, "muprop", cases[i].K, R_VAR, 0, &rm) || run_cell(&f, "reinforce", cases[i].K, R_VAR, 0, &rr)) {
            CHECK(0, "run failed");
            fx_close(&f);
            continue;
        }
        double se = sqrt(rm.s.var_mean_se * rm.s.var_mean_se + rr.s.var_mean_se * rr.s.var_mean_se);
        double zg = (rr.s.var_mean - rm.s.var_mean) / se * (cases[i].muprop_wins ? 1 : -1);
        print_message("  %-44s K=%d  muprop %.5g (closed %.5g)  reinforce %.5g (closed %.5g)  z of gap %.1f\n",
                      cases[i].spec, cases[i].K, rm.s.var_mean, Vm, rr.s.var_mean, Vr, zg);
        CHECK(zg > z_thr, "%s: expected muprop %s reinforce: %.6g vs %.6g (z %.2f)", cases[i].spec,
              cases[i].muprop_wins ? "<" : ">", rm.s.var_mean, rr.s.var_mean, zg);
        gv_row_free(&rm);
        gv_row_free(&rr);
        fx_close(&f);
    }
    END_CHECKS();
}

/* Fixed alpha != 0: unbiased (bias_z_max < z_thr over every coordinate). */
static void test_fixed_alpha_unbiased(void **unused)
{
    n_bad = 0;
    for (int i = 0; i < N_UNB_SPECS; i++) {
        fixture f;
        assert_int_equal(fx_open(&f, unb_specs[i]), 0);
        for (int e = 0; e < N_UNB_EST; e++)
            for (int K = 2; K <= 3; K++) {
                gv_row row;
                if (run_cell(&f, unb_est[e], K, R_UNB, 0, &row)) {
                    CHECK(0, "run failed");
                    continue;
                }
                print_message("  %-22s K=%d %-52s bias_z_max %.3f (thr %.3f)\n", unb_est[e], K, unb_specs[i],
                              row.s.bias_z_max, z_thr);
                CHECK(row.s.bias_z_max < z_thr, "%s K=%d on %s: bias_z_max %.3f", unb_est[e], K, unb_specs[i],
                      row.s.bias_z_max);
                gv_row_free(&row);
            }
        fx_close(&f);
    }
    END_CHECKS();
}

int main(void)
{
    gsl_set_error_handler_off();
    /* the family: every z computed in section (3) */
    char err[GV_ERRLEN];
    double n = N_VAR_Z + N_LEARN_Z + N_ORACLE_Z + N_MUPROP_Z;
    for (int i = 0; i < N_UNB_SPECS; i++) {
        gv_problem *p;
        if (gv_problem_new(unb_specs[i], &p, err)) return print_error("%s: %s\n", unb_specs[i], err), 1;
        n += N_UNB_EST * 2 * p->layout.n_params; /* K = 2, 3 */
        gv_problem_free(p);
    }
    z_thr = gsl_cdf_ugaussian_Qinv(FAMILY_ALPHA / (2 * n));
    print_message("cv family: %.0f z statistics, threshold z_thr = Q^-1(%.0e / (2 * %.0f)) = %.3f\n", n, FAMILY_ALPHA, n,
                  z_thr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_dcv_alpha0_is_rloo),
        cmocka_unit_test(test_identity_leg_is_tokui_sato),
        cmocka_unit_test(test_matches_catalogue_formula),
        cmocka_unit_test(test_enumeration),
        cmocka_unit_test(test_variance_closed),
        cmocka_unit_test(test_learned_lowers_variance),
        cmocka_unit_test(test_oracle_alpha),
        cmocka_unit_test(test_muprop_vs_reinforce),
        cmocka_unit_test(test_fixed_alpha_unbiased),
    };
    return cmocka_run_group_tests_name("cv", tests, NULL, NULL);
}
