/* test_relax.c — the relaxation family (estimators/relaxed.c: st, gumbel-softmax, st-gumbel,
 * gumbel-rao) and REBAR / RELAX (estimators/rebar.c).  Unbiasedness of rebar and relax at their
 * default settings, and detection of the four biased ones, is test_unbiased.c's registry-wide job;
 * this file checks what that cannot see:
 *
 *   rebar_fd          the REBAR gradient term c [grad_eta f~(sigma(z/lambda)) - grad_eta
 *                     f~(sigma(z~/lambda))] equals a central difference in eta of
 *                     c [f~(sigma(z/lambda)) - f~(sigma(z~/lambda))] with the draw (u, v) frozen,
 *                     and dz~/deta (recovered from the estimate) equals both a central difference
 *                     of z~ and the closed forms sigma(eta + log v) (b = 1), sigma(-eta + log(1-v))
 *                     (b = 0), v recovered from z~.  Deterministic (see the tolerances there).
 *   conditional_law   z ~ eta + logistic, P(b = 1) = theta, z~ | b the logistic truncated to the
 *                     side of b: counts below quartiles against their binomial laws.
 *   learning          a learned parameter lowers the variance: rebar (c, lambda), relax with only
 *                     the MLP learning (lr=0), relax with all, W = 2000 against W = 0 on the
 *                     double-CV toy at theta = 0.3; lr=0 and lr_rho=0 change nothing (exactly).
 *   relax_surrogate   relax with a large fixed random MLP (init_out=1, nothing learned) is
 *                     unbiased: the MLP's input gradient and its dz~/deta weighting are right.
 *   gs_tau_trend      gumbel-softmax's bias2 on bernoulli-coupled decreases along
 *                     tau = 1, 0.5, 0.25, 0.1.
 *   gumbel_rao        gumbel-rao has st-gumbel's mean (it Rao-Blackwellises the same Jacobian)
 *                     and a smaller variance.
 *   st_closed_form    st's mean on bernoulli-quadratic is 2 (theta - t)/D theta (1 - theta).
 *   extreme           theta = 1e-4, 1 - 1e-4 and logits +-50: every estimate finite; rebar and
 *                     relax unbiased at theta = 1e-4, 1 - 1e-4.
 *   schedule          gumbel-softmax's annealed temperature.
 * Categorical units (gumbel-softmax, st-gumbel, gumbel-rao):
 *   cat_gs_fd         gumbel-softmax = d f~(y(l))/dl by central differences with the draw frozen
 *                     (non-linear f~, tau = 1 and 0.5); st-gumbel forwards the one-hot argmax of y.
 *   cat_identity      linear f~: st-gumbel and gumbel-softmax give identical estimates.
 *   cat_gs_tau_trend  linear f~: gumbel-softmax's bias2 decreases along tau = 1, 0.5, 0.25, 0.1.
 *   cat_gumbel_rao    gumbel-rao M = 1 has st-gumbel's mean, M = 10 the same mean and a smaller
 *                     variance; the forwarded one-hot sample is Cat(pi) for both.
 *   cat_extreme       pi_0 = 1 - 1e-6 at C = 100, logits +-50, tau from 0.001 to 100: finite.
 *
 * Statistics.  Every z test of this file is one family with false-alarm rate FAMILY_ALPHA:
 * z_thr = Q^{-1}(FAMILY_ALPHA / (2 N_Z)) with N_Z the number of z statistics (counted below);
 * one-sided tests use the same threshold (conservative).  Fixed seeds throughout.
 */
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

#include "tests/testkit.h"
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define FAMILY_ALPHA 1e-3
#define SEED 4242ULL
/* z statistics in the family: conditional_law 3 units x 10; learning 3; relax_surrogate 6 + 5
 * coordinates; gs_tau_trend 3 steps; gumbel_rao 6 coordinates + 1 variance order; st_closed_form
 * 5 coordinates; extreme 2 estimators x 4 coordinates; categorical: cat_gs_tau_trend 3 steps,
 * cat_gumbel_rao 14 coordinates + 1 variance order + 14 classes. */
#define N_Z (30 + 3 + 11 + 3 + 7 + 5 + 8 + 3 + 15 + 14)
static double z_thr;

static double sigmoid(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }
static double logit(double p) { return log(p / (1 - p)); }

/* ------------------------------------------------------------------ fixtures on registered problems */

/* One cell with per-coordinate detail; 0 and *row filled (caller frees), or -1. */
static int run(const fixture *f, const char *est, int K, long R, long W, gv_row *row)
{
    char err[GV_ERRLEN];
    gv_engine_opts o = {.R = R, .W = W, .seed = SEED, .rng = gv_rng_default(), .timing = 0};
    int rc = gv_run_cell(f->p, &f->pt, &f->ex, est, K, &o, 1, row, err);
    if (rc != GV_OK) return print_error("%s on %s: %s\n", est, f->p->spec, err), -1;
    if (!row->coord_mean) {
        print_error("%s on %s: status %s %s\n", est, f->p->spec, row->status, row->message);
        gv_row_free(row);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ a probe problem */

/* Three units; f~(y) = w.y + 0.8 (a.y)^2 + 1.5 y0 y1 y2 on [0,1]^3 (smooth, non-separable), f = f~
 * on the vertices.  Its hooks record what the estimator hands them, so a test can see b, y and y~
 * without reaching into the estimator. */
#define PD 3
static const double pr_w[PD] = {0.9, -1.3, 0.4}, pr_a[PD] = {0.5, 1.0, -0.7};

static double pr_fn(const double *y)
{
    double ay = 0, wy = 0;
    for (int i = 0; i < PD; i++) ay += pr_a[i] * y[i], wy += pr_w[i] * y[i];
    return wy + 0.8 * ay * ay + 1.5 * y[0] * y[1] * y[2];
}

static void pr_gradfn(const double *y, double *g)
{
    double ay = 0;
    for (int i = 0; i < PD; i++) ay += pr_a[i] * y[i];
    for (int i = 0; i < PD; i++) g[i] = pr_w[i] + 1.6 * ay * pr_a[i];
    g[0] += 1.5 * y[1] * y[2], g[1] += 1.5 * y[0] * y[2], g[2] += 1.5 * y[0] * y[1];
}

static struct {
    int n_f, n_ft, n_g;
    int b[PD];
    double yt[PD], gy[2][PD];
} rec;

static double pr_f(const void *st, const int *z)
{
    double y[PD];
    for (int i = 0; i < PD; i++) y[i] = rec.b[i] = z[i];
    rec.n_f++;
    return pr_fn(y);
}

static double pr_ftilde(const void *st, const double *y)
{
    memcpy(rec.yt, y, sizeof rec.yt);
    rec.n_ft++;
    return pr_fn(y);
}

static void pr_grad(const void *st, const double *y, double *g)
{
    if (rec.n_g < 2) memcpy(rec.gy[rec.n_g], y, sizeof rec.gy[0]);
    rec.n_g++;
    pr_gradfn(y, g);
}

static const gv_optdoc pr_opts[] = {{NULL, NULL, NULL}};
static const gv_problem_type probe_type = {
    .name = "probe", .description = "test probe", .citation = "test_relax.c", .objective = GV_OBJ_EXPECTATION,
    .options = pr_opts, .f = pr_f, .ftilde = pr_ftilde, .grad_ftilde = pr_grad};

typedef struct {
    gv_problem p;
    gv_point pt;
    double eta[PD];
    gv_estimator *e;
} probe;

static int probe_open(probe *q, const char *est)
{
    char msg[GV_ERRLEN];
    gv_spec spec;
    memset(q, 0, sizeof *q);
    q->p.type = &probe_type;
    q->p.eta = q->eta;
    snprintf(q->p.spec, sizeof q->p.spec, "probe");
    if (gv_layout_uniform(&q->p.layout, PD, GV_UNIT_BERNOULLI, 2) || gv_point_init(&q->pt, &q->p.layout, q->eta))
        return -1;
    if (gv_spec_parse(est, &spec, msg) || gv_estimator_new(&spec, &q->p, 1, &q->e, msg))
        return print_error("%s: %s\n", est, msg), -1;
    return 0;
}

static void probe_close(probe *q)
{
    gv_estimator_free(q->e);
    gv_point_free(&q->pt);
    gv_layout_free(&q->p.layout);
}

/* One K = 1 estimate at eta from generator r: the estimate, b, y = sigma(z/lambda) and
 * y~ = sigma(z~/lambda) (y~ is f~'s argument; y is the other grad f~ argument). */
typedef struct {
    double g[PD], y[PD], yt[PD];
    int b[PD];
} probe_draw;

static int probe_estimate(probe *q, const double *eta, gsl_rng *r, probe_draw *d)
{
    gv_point_set(&q->pt, eta);
    gv_eval ev = {.problem = &q->p, .pt = &q->pt};
    memset(&rec, 0, sizeof rec);
    memset(d->g, 0, sizeof d->g);
    if (q->e->type->estimate(q->e->state, &ev, 1, r, d->g)) return -1;
    if (rec.n_f != 1 || rec.n_ft != 1 || rec.n_g != 2) return -1;
    int same0 = !memcmp(rec.gy[0], rec.yt, sizeof rec.yt), same1 = !memcmp(rec.gy[1], rec.yt, sizeof rec.yt);
    if (same0 == same1) return -1;
    memcpy(d->y, rec.gy[same0 ? 1 : 0], sizeof d->y);
    memcpy(d->yt, rec.yt, sizeof d->yt);
    memcpy(d->b, rec.b, sizeof d->b);
    return 0;
}

static int probe_estimate_seed(probe *q, const double *eta, uint64_t seed, probe_draw *d)
{
    gsl_rng *r = gv_rng_new(gv_rng_default(), seed);
    int rc = r ? probe_estimate(q, eta, r, d) : -1;
    gsl_rng_free(r);
    return rc;
}

/* ------------------------------------------------------------------ rebar_fd */

/* With (u, v) frozen (same seed) and b unchanged, F(eta) = c [f~(y) - f~(y~)] is smooth in eta and
 * the estimate minus its score part, g_i - [f(b) - c f~(y~)] (b_i - theta_i), must be dF/deta_i.
 * Central differences with h = 1e-5: truncation h^2/6 |F'''| <= 2e-10 x |F'''| (|F'''| < 1e3 here:
 * at most three factors 1/lambda = 1/0.6 times derivatives of a cubic bounded by ~10), rounding
 * ~ eps |F| / h ~ 1e-10.  Tolerance TOL_FD = 1e-6 (1 + |dF|) is far above both and far below any
 * formula error (a wrong factor in dz~/deta moves g_i by O(0.01 .. 1)).  z~ = lambda logit(y~)
 * loses ~ lambda eps / (y~(1 - y~)) absolutely: draws with y~(1 - y~) < 1e-3 are not used for the
 * dz~/deta comparisons (<= 3e-13 / h = 3e-8), nor draws whose v is within 1e-3 of 0 or 1 for the
 * closed forms (v recovered from z~ by a subtraction). */
#define FD_H 1e-5
#define TOL_FD 1e-6
#define N_FD_DRAWS 300

static void test_rebar_fd(void **unused)
{
    n_bad = 0;
    const double c = 0.7, lambda = 0.6;
    const double etas[][PD] = {{-1.2, 0.4, 2.5}, {-6, 6, 0.1}};
    probe q;
    assert_int_equal(probe_open(&q, "rebar:c=0.7,lambda=0.6"), 0);
    long n_cmp = 0, n_dz = 0, n_closed = 0, n_flip = 0, n_b1 = 0, n_bad_draw = 0;
    double max_err = 0, max_dz_fd = 0, max_dz_closed = 0;
    for (size_t e = 0; e < NELEM(etas); e++) {
        for (int sd = 1; sd <= N_FD_DRAWS; sd++) {
            probe_draw d0, dp, dm;
            if (probe_estimate_seed(&q, etas[e], (uint64_t)sd, &d0)) { n_bad_draw++; continue; }
            double fb[PD], Gy[PD], Gyt[PD];
            for (int i = 0; i < PD; i++) fb[i] = d0.b[i];
            pr_gradfn(d0.y, Gy);
            pr_gradfn(d0.yt, Gyt);
            const double score_w = pr_fn(fb) - c * pr_fn(d0.yt);
            for (int i = 0; i < PD; i++) {
                double ep[PD], em[PD];
                memcpy(ep, etas[e], sizeof ep), memcpy(em, etas[e], sizeof em);
                ep[i] += FD_H, em[i] -= FD_H;
                if (probe_estimate_seed(&q, ep, (uint64_t)sd, &dp) || probe_estimate_seed(&q, em, (uint64_t)sd, &dm)) {
                    n_bad_draw++;
                    continue;
                }
                if (memcmp(dp.b, d0.b, sizeof d0.b) || memcmp(dm.b, d0.b, sizeof d0.b)) { n_flip++; continue; }
                const double eta = etas[e][i], th = sigmoid(eta), s = d0.b[i] - th;
                /* b = 1 iff z > 0 iff y > 1/2; z~ on the same side */
                CHECK((d0.y[i] > 0.5) == d0.b[i] && (d0.yt[i] >= 0.5) == d0.b[i],
                      "eta %g seed %d unit %d: b = %d but y = %.6g, y~ = %.6g", eta, sd, i, d0.b[i], d0.y[i], d0.yt[i]);
                n_b1 += d0.b[i];
                /* the full gradient term */
                double Fp = c * (pr_fn(dp.y) - pr_fn(dp.yt)), Fm = c * (pr_fn(dm.y) - pr_fn(dm.yt));
                double fd = (Fp - Fm) / (2 * FD_H), an = d0.g[i] - score_w * s;
                double err = fabs(an - fd) / (1 + fabs(fd));
                if (err > max_err) max_err = err;
                CHECK(err < TOL_FD, "eta %g seed %d unit %d b %d: g - score part %.12g, central difference %.12g", eta,
                      sd, i, d0.b[i], an, fd);
                n_cmp++;
                /* dz~/deta: implied by the estimate, by a central difference of z~, by the closed form */
                double wt = d0.yt[i] * (1 - d0.yt[i]);
                if (wt < 1e-3 || fabs(Gyt[i]) < 1e-3) continue;
                double dz_est = (Gy[i] * d0.y[i] * (1 - d0.y[i]) - lambda * an / c) / (Gyt[i] * wt);
                double dz_fd = (lambda * logit(dp.yt[i]) - lambda * logit(dm.yt[i])) / (2 * FD_H);
                double e1 = fabs(dz_est - dz_fd);
                if (e1 > max_dz_fd) max_dz_fd = e1;
                CHECK(e1 < TOL_FD, "eta %g seed %d unit %d b %d: dz~/deta from the estimate %.12g, central difference "
                                   "%.12g", eta, sd, i, d0.b[i], dz_est, dz_fd);
                CHECK(dz_est > 0 && dz_est < (d0.b[i] ? th : 1 - th),
                      "dz~/deta = %.12g outside (0, %s) (b = %d, theta %g)", dz_est, d0.b[i] ? "theta" : "1-theta",
                      d0.b[i], th);
                n_dz++;
                double vp = sigmoid(lambda * logit(d0.yt[i]) - eta); /* v' */
                double v = d0.b[i] ? (vp - (1 - th)) / th : vp / (1 - th);
                if (v < 1e-3 || v > 1 - 1e-3) continue;
                double dz_closed = d0.b[i] ? sigmoid(eta + log(v)) : sigmoid(-eta + log(1 - v));
                double e2 = fabs(dz_est - dz_closed);
                if (e2 > max_dz_closed) max_dz_closed = e2;
                CHECK(e2 < TOL_FD, "eta %g seed %d unit %d b %d: dz~/deta %.12g, closed form %.12g (v %.6g)", eta, sd, i,
                      d0.b[i], dz_est, dz_closed, v);
                n_closed++;
            }
        }
    }
    print_message("  %ld gradient-term comparisons (%ld with b = 1; %ld skipped: b flipped within h), max rel err %.2g;\n"
                  "  dz~/deta: %ld vs central difference (max err %.2g), %ld vs closed form (max err %.2g); tol %.0e\n",
                  n_cmp, n_b1, n_flip, max_err, n_dz, max_dz_fd, n_closed, max_dz_closed, TOL_FD);
    CHECK(n_bad_draw == 0, "%ld probe estimates did not record 1 f, 1 f~ and 2 grad f~ evaluations", n_bad_draw);
    CHECK(n_cmp > 1500 && n_b1 > 300 && n_cmp - n_b1 > 300 && n_dz > 500 && n_closed > 500,
          "too few comparisons: %ld (%ld with b = 1), %ld, %ld", n_cmp, n_b1, n_dz, n_closed);
    probe_close(&q);
    END_CHECKS();
}

/* ------------------------------------------------------------------ conditional_law */

/* N draws at eta = (0.7, -1.5, 2.2), lambda = 1 so y = sigma(z), y~ = sigma(z~).  Per unit:
 * n1 = #{b = 1} ~ Bin(N, theta); for q in {1/4, 1/2, 3/4}: #{z <= x_q} with sigma(x_q - eta) = q,
 * ~ Bin(N, q); among b = 1 draws #{z~ <= x} with x = eta + logit(1 - theta + q theta) (the q-quantile
 * of the logistic truncated to z > 0) ~ Bin(n1, q); among b = 0, x = eta + logit(q (1 - theta)).
 * 10 z statistics per unit, (k - n q) / sqrt(n q (1 - q)). */
#define N_LAW 40000

static void test_conditional_law(void **unused)
{
    n_bad = 0;
    const double eta[PD] = {0.7, -1.5, 2.2}, qs[3] = {0.25, 0.5, 0.75};
    probe q;
    assert_int_equal(probe_open(&q, "rebar:lambda=1"), 0);
    long n1[PD] = {0}, kz[PD][3] = {{0}}, k1[PD][3] = {{0}}, k0[PD][3] = {{0}};
    gsl_rng *r = gv_rng_new(gv_rng_default(), SEED);
    assert_non_null(r);
    for (long n = 0; n < N_LAW; n++) {
        probe_draw d;
        if (probe_estimate(&q, eta, r, &d)) { CHECK(0, "probe estimate failed"); break; }
        for (int i = 0; i < PD; i++) {
            const double th = sigmoid(eta[i]);
            n1[i] += d.b[i];
            for (int j = 0; j < 3; j++) {
                /* z <= x iff sigma(z) <= sigma(x): compared on the y scale the estimator hands f~ */
                kz[i][j] += d.y[i] <= sigmoid(eta[i] + logit(qs[j]));
                if (d.b[i]) k1[i][j] += d.yt[i] <= sigmoid(eta[i] + logit(1 - th + qs[j] * th));
                else k0[i][j] += d.yt[i] <= sigmoid(eta[i] + logit(qs[j] * (1 - th)));
            }
        }
    }
    gsl_rng_free(r);
    double zmax = 0;
    for (int i = 0; i < PD; i++) {
        const double th = sigmoid(eta[i]), N = N_LAW, m1 = (double)n1[i], m0 = N - m1;
        double z = (m1 - N * th) / sqrt(N * th * (1 - th));
        zmax = fmax(zmax, fabs(z));
        CHECK(fabs(z) < z_thr, "unit %d: P(b = 1) %.5f, theta %.5f: z = %.2f", i, m1 / N, th, z);
        for (int j = 0; j < 3; j++) {
            const double p = qs[j], sq = sqrt(p * (1 - p));
            double za = (kz[i][j] - N * p) / (sqrt(N) * sq), zb = (k1[i][j] - m1 * p) / (sqrt(m1) * sq),
                   zc = (k0[i][j] - m0 * p) / (sqrt(m0) * sq);
            zmax = fmax(zmax, fmax(fabs(za), fmax(fabs(zb), fabs(zc))));
            CHECK(fabs(za) < z_thr, "unit %d: P(z <= x_%.2f) = %.5f: z = %.2f", i, p, kz[i][j] / N, za);
            CHECK(fabs(zb) < z_thr, "unit %d: P(z~ <= x_%.2f | b = 1) = %.5f: z = %.2f", i, p, k1[i][j] / m1, zb);
            CHECK(fabs(zc) < z_thr, "unit %d: P(z~ <= x_%.2f | b = 0) = %.5f: z = %.2f", i, p, k0[i][j] / m0, zc);
        }
    }
    print_message("  %d draws x %d units: max |z| %.2f over 30 statistics (z_thr %.2f)\n", N_LAW, PD, zmax, z_thr);
    probe_close(&q);
    END_CHECKS();
}

/* ------------------------------------------------------------------ learning */

/* Double-CV toy (D = 200, t = 0.499) at theta = 0.3, K = 2: with c = 1, lambda = 0.5 the control
 * variate c f~(sigma(z~/lambda)) is far from f(b) (f~ on the open cube is not near f's almost
 * constant 0.249), so var_mean starts near 1e-3; learning brings it down by orders of magnitude
 * (measured: rebar 9.7e-4 -> 6e-6 at W = 1000).  One-sided z = (v_0 - v_W) / sqrt(se_0^2 + se_W^2)
 * > z_thr.  With lr = 0 (and lr_rho = 0) nothing may change: the rows must be identical. */
#define DCV "bernoulli-quadratic:preset=double-cv,p=0.3"
#define R_LEARN 10000L
#define W_LEARN 2000L

static void test_learning(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, DCV), 0);
    const char *learn[] = {"rebar", "relax:lr=0", "relax"};
    for (size_t k = 0; k < NELEM(learn); k++) {
        gv_row a, b;
        if (run(&f, learn[k], 2, R_LEARN, 0, &a)) { CHECK(0, "%s did not run", learn[k]); continue; }
        if (run(&f, learn[k], 2, R_LEARN, W_LEARN, &b)) { gv_row_free(&a); CHECK(0, "%s did not run", learn[k]); continue; }
        double se = sqrt(a.s.var_mean_se * a.s.var_mean_se + b.s.var_mean_se * b.s.var_mean_se);
        double z = (a.s.var_mean - b.s.var_mean) / se;
        print_message("  %-12s var_mean W=0 %.4g +- %.2g (%s)  ->  W=%ld %.4g +- %.2g (%s): z %.1f\n", learn[k],
                      a.s.var_mean, a.s.var_mean_se, a.message, W_LEARN, b.s.var_mean, b.s.var_mean_se, b.message, z);
        CHECK(z > z_thr, "%s: learning did not lower var_mean: %.6g -> %.6g (z %.2f)", learn[k], a.s.var_mean,
              b.s.var_mean, z);
        gv_row_free(&a), gv_row_free(&b);
    }
    const char *frozen[] = {"rebar:lr=0", "relax:lr=0,lr_rho=0"};
    for (size_t k = 0; k < NELEM(frozen); k++) {
        gv_row a, b;
        if (run(&f, frozen[k], 2, 2000, 0, &a)) { CHECK(0, "%s did not run", frozen[k]); continue; }
        if (run(&f, frozen[k], 2, 2000, W_LEARN, &b)) { gv_row_free(&a); CHECK(0, "%s did not run", frozen[k]); continue; }
        CHECK(a.s.var_mean == b.s.var_mean && !memcmp(a.coord_mean, b.coord_mean, (size_t)a.P * sizeof(double)),
              "%s: warm-up changed the estimates (var_mean %.17g vs %.17g)", frozen[k], a.s.var_mean, b.s.var_mean);
        gv_row_free(&a), gv_row_free(&b);
    }
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ relax_surrogate */

/* A surrogate with r of order 1 (init=1, init_out=1) held fixed (lr=0, lr_rho=0): its score,
 * reparameterised and conditional terms cancel in mean only if dr/dz and the dz~/deta weighting are
 * right.  A wrong input gradient gives a bias of the order of r's slope, O(0.1 .. 1), against
 * standard errors ~ 1 / sqrt(R) = 0.004 here.  Per coordinate |gbar - g*| / se < z_thr. */
#define R_SURR 60000L

static void test_relax_surrogate(void **unused)
{
    n_bad = 0;
    const char *probs[] = {"bernoulli-coupled:D=6,seed=3", "bernoulli-quadratic:D=5,t=0.3,p=0.1/0.3/0.5/0.7/0.9"};
    for (size_t i = 0; i < NELEM(probs); i++) {
        fixture f;
        assert_int_equal(fx_open(&f, probs[i]), 0);
        gv_row row, reb;
        const char *est = "relax:init=1,init_out=1,lr=0,lr_rho=0";
        if (run(&f, est, 1, R_SURR, 0, &row)) { CHECK(0, "relax did not run"); fx_close(&f); continue; }
        if (run(&f, "rebar:lr=0", 1, R_SURR, 0, &reb)) { CHECK(0, "rebar did not run"); gv_row_free(&row); fx_close(&f); continue; }
        double zmax = 0;
        for (int q = 0; q < row.P; q++) {
            double z = (row.coord_mean[q] - row.coord_exact[q]) / sqrt(row.coord_var[q] / R_SURR);
            zmax = fmax(zmax, fabs(z));
            CHECK(fabs(z) < z_thr, "%s on %s coordinate %d: mean %.6g, exact %.6g, z %.2f", est, probs[i], q,
                  row.coord_mean[q], row.coord_exact[q], z);
        }
        /* the surrogate is not negligible: it changes the variance visibly */
        print_message("  %-52s relax (fixed random MLP) max |z| %.2f; var_mean %.4g vs rebar %.4g\n", probs[i], zmax,
                      row.s.var_mean, reb.s.var_mean);
        CHECK(fabs(row.s.var_mean - reb.s.var_mean) > 0.1 * reb.s.var_mean,
              "the fixed MLP hardly changes the estimator (var_mean %.6g vs %.6g): the test has no power",
              row.s.var_mean, reb.s.var_mean);
        gv_row_free(&row), gv_row_free(&reb);
        fx_close(&f);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ gs_tau_trend */

/* bias2 = sum_p (gbar_p - g*_p)^2 - s_p^2/R estimates ||b||^2; with gbar_p - g*_p = b_p + e_p,
 * e_p ~ N(0, sigma_p^2/R):  sd(bias2)^2 ~ sum_p 4 b_p^2 sigma_p^2/R + 2 sigma_p^4/R^2 (b_p estimated by
 * gbar_p - g*_p).  A decrease from tau_i to tau_{i+1} is asserted when bias2_i - bias2_{i+1} >
 * z_thr sqrt(sd_i^2 + sd_{i+1}^2).  Measured on bernoulli-coupled:D=6,seed=3 (R = 2e5): bias2
 * 0.0417, 0.0082, 0.0012, 1.5e-5 at tau = 1, 0.5, 0.25, 0.1 (variance 0.019 .. 0.83), every step
 * >= 7 sd. */
#define R_TAU 200000L

/* bias2 of gumbel-softmax at K = 1 falls with tau = 1, 0.5, 0.25, 0.1 on SPEC (each step z > z_thr;
 * sd of bias2 from the delta method: 4 b^2 s^2 / R + 2 s^4 / R^2 per coordinate). */
static void gs_tau_trend(const char *spec)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, spec), 0);
    const char *cells[] = {"gumbel-softmax:tau=1", "gumbel-softmax:tau=0.5", "gumbel-softmax:tau=0.25",
                           "gumbel-softmax:tau=0.1"};
    double b2[4], sd[4];
    int ok = 1;
    for (size_t k = 0; k < NELEM(cells); k++) {
        gv_row row;
        if (run(&f, cells[k], 1, R_TAU, 0, &row)) { ok = 0; continue; }
        double v = 0;
        for (int q = 0; q < row.P; q++) {
            double bq = row.coord_mean[q] - row.coord_exact[q], s2 = row.coord_var[q];
            v += 4 * bq * bq * s2 / R_TAU + 2 * s2 * s2 / ((double)R_TAU * R_TAU);
        }
        b2[k] = row.s.bias2, sd[k] = sqrt(v);
        print_message("  %-24s bias2 %.5g +- %.2g  var_mean %.4g\n", cells[k], b2[k], sd[k], row.s.var_mean);
        gv_row_free(&row);
    }
    CHECK(ok, "a gumbel-softmax cell did not run");
    for (size_t k = 0; ok && k + 1 < NELEM(cells); k++) {
        double z = (b2[k] - b2[k + 1]) / sqrt(sd[k] * sd[k] + sd[k + 1] * sd[k + 1]);
        print_message("  %s -> %s: bias2 drops %.1f sd\n", cells[k], cells[k + 1], z);
        CHECK(z > z_thr, "bias2 does not decrease from %s (%.5g +- %.2g) to %s (%.5g +- %.2g)", cells[k], b2[k], sd[k],
              cells[k + 1], b2[k + 1], sd[k + 1]);
    }
    fx_close(&f);
    END_CHECKS();
}

static void test_gs_tau_trend(void **unused) { gs_tau_trend("bernoulli-coupled:D=6,seed=3"); }

/* ------------------------------------------------------------------ gumbel_rao */

/* gumbel-rao replaces st-gumbel's Jacobian y(1 - y)/tau by its conditional mean given b, so the
 * two have the same mean (two-sample z per coordinate) and gumbel-rao the smaller variance
 * (one-sided z on var_mean).  tau = 0.5, where the Jacobian varies a lot given b. */
#define R_GR 100000L

static void test_gumbel_rao(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, "bernoulli-coupled:D=6,seed=3"), 0);
    gv_row a, b;
    assert_int_equal(run(&f, "st-gumbel:tau=0.5", 1, R_GR, 0, &a), 0);
    assert_int_equal(run(&f, "gumbel-rao:tau=0.5", 1, R_GR, 0, &b), 0);
    double zmax = 0;
    for (int q = 0; q < a.P; q++) {
        double z = (a.coord_mean[q] - b.coord_mean[q]) / sqrt((a.coord_var[q] + b.coord_var[q]) / R_GR);
        zmax = fmax(zmax, fabs(z));
        CHECK(fabs(z) < z_thr, "coordinate %d: st-gumbel mean %.6g, gumbel-rao mean %.6g: z %.2f", q, a.coord_mean[q],
              b.coord_mean[q], z);
    }
    double zv = (a.s.var_mean - b.s.var_mean) / sqrt(a.s.var_mean_se * a.s.var_mean_se + b.s.var_mean_se * b.s.var_mean_se);
    print_message("  means agree (max |z| %.2f); var_mean st-gumbel %.4g, gumbel-rao %.4g (z %.1f)\n", zmax, a.s.var_mean,
                  b.s.var_mean, zv);
    CHECK(zv > z_thr, "gumbel-rao var_mean %.6g not below st-gumbel's %.6g (z %.2f)", b.s.var_mean, a.s.var_mean, zv);
    gv_row_free(&a), gv_row_free(&b);
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ st_closed_form */

/* f~(y) = (1/D) sum (y_i - t)^2, grad f~(b)_i = 2 (b_i - t)/D: E st_i = 2 (theta_i - t)/D theta_i (1 - theta_i). */
static void test_st_closed_form(void **unused)
{
    n_bad = 0;
    const double th[5] = {0.1, 0.3, 0.5, 0.7, 0.9}, t = 0.3;
    const long R = 50000;
    fixture f;
    assert_int_equal(fx_open(&f, "bernoulli-quadratic:D=5,t=0.3,p=0.1/0.3/0.5/0.7/0.9"), 0);
    gv_row row;
    assert_int_equal(run(&f, "st", 3, R, 0, &row), 0);
    for (int q = 0; q < 5; q++) {
        double m = 2 * (th[q] - t) / 5 * th[q] * (1 - th[q]);
        double z = (row.coord_mean[q] - m) / sqrt(row.coord_var[q] / R);
        CHECK(fabs(z) < z_thr, "coordinate %d: st mean %.6g, closed form %.6g: z %.2f", q, row.coord_mean[q], m, z);
    }
    gv_row_free(&row);
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ extreme */

/* theta = 1e-4 and 1 - 1e-4 (logit -+9.21) and logits +-50: no estimate may be NaN or infinite.
 * At theta = 1e-4 the rare value of b still occurs ~ 2 R K 1e-4 = 80 times, so rebar and relax are
 * also z-tested there (|gbar - g*|/se per coordinate).  At +-50 the other value of b has
 * probability 2e-22 and never occurs: the sample mean of any score-function estimator (rloo too)
 * then misses an O(1e-22) term and the z statistic is meaningless, so only finiteness is checked. */
static void test_extreme(void **unused)
{
    n_bad = 0;
    const char *probs[] = {"bernoulli-quadratic:D=4,t=0.3,p=1e-4/0.9999/0.3/0.5",
                           "bernoulli-quadratic:D=3,t=0.3,logit=50/-50/0",
                           "bernoulli-coupled:D=4,seed=2,logit=50/-50/9.21/-9.21"};
    const char *ests[] = {"st", "gumbel-softmax", "gumbel-softmax:tau=0.1", "st-gumbel", "gumbel-rao", "rebar", "relax"};
    for (size_t i = 0; i < NELEM(probs); i++) {
        fixture f;
        assert_int_equal(fx_open(&f, probs[i]), 0);
        for (size_t k = 0; k < NELEM(ests); k++) {
            gv_row row;
            if (run(&f, ests[k], 2, 5000, 1000, &row)) { CHECK(0, "%s on %s did not run", ests[k], probs[i]); continue; }
            CHECK(!strcmp(row.status, "ok") && row.s.nonfinite == 0 && isfinite(row.s.var_mean),
                  "%s on %s: status %s, %g non-finite estimates, var_mean %g", ests[k], probs[i], row.status,
                  row.s.nonfinite, row.s.var_mean);
            gv_row_free(&row);
        }
        fx_close(&f);
    }
    fixture f;
    assert_int_equal(fx_open(&f, "bernoulli-coupled:D=4,seed=2,p=1e-4/0.9999/0.3/0.6"), 0);
    const long R = 200000;
    for (int k = 0; k < 2; k++) {
        const char *est = k ? "relax" : "rebar";
        gv_row row;
        if (run(&f, est, 2, R, 1000, &row)) { CHECK(0, "%s did not run", est); continue; }
        double zmax = 0;
        for (int q = 0; q < row.P; q++) {
            double z = (row.coord_mean[q] - row.coord_exact[q]) / sqrt(row.coord_var[q] / R);
            zmax = fmax(zmax, fabs(z));
            CHECK(fabs(z) < z_thr, "%s coordinate %d: mean %.6g, exact %.6g: z %.2f", est, q, row.coord_mean[q],
                  row.coord_exact[q], z);
        }
        print_message("  %s at theta = 1e-4/0.9999/0.3/0.6: max |z| %.2f\n", est, zmax);
        gv_row_free(&row);
    }
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ categorical units */

/* A categorical probe: units of 3 and 4 classes (7 parameters), f~(y) = w.y + 0.7 (a.y)^2 +
 * 1.2 y_{0,1} y_{1,2} on the product of simplices (smooth, non-separable), f = f~ at the one-hot
 * points (exact reference by enumeration, 12 states).  While `crec.on` (single-threaded use), the
 * gradient hook records its argument. */
#define CP 7
static const double cp_w[CP] = {0.4, -1.1, 0.9, 0.3, -0.6, 1.5, -0.2}, cp_a[CP] = {1.0, -0.5, 0.8, -1.2, 0.6, 0.3, 0.9};
static const int cp_C[2] = {3, 4};

static double cp_fn(const double *y)
{
    double ay = 0, wy = 0;
    for (int k = 0; k < CP; k++) ay += cp_a[k] * y[k], wy += cp_w[k] * y[k];
    return wy + 0.7 * ay * ay + 1.2 * y[1] * y[5];
}

static void cp_gradfn(const double *y, double *g)
{
    double ay = 0;
    for (int k = 0; k < CP; k++) ay += cp_a[k] * y[k];
    for (int k = 0; k < CP; k++) g[k] = cp_w[k] + 1.4 * ay * cp_a[k];
    g[1] += 1.2 * y[5], g[5] += 1.2 * y[1];
}

static struct {
    int on, n;
    double x[CP];
} crec;

static double cp_f(const void *st, const int *z)
{
    double y[CP] = {0};
    y[z[0]] = 1, y[3 + z[1]] = 1;
    return cp_fn(y);
}
static double cp_ftilde(const void *st, const double *y) { return cp_fn(y); }
static void cp_grad(const void *st, const double *y, double *g)
{
    if (crec.on) memcpy(crec.x, y, sizeof crec.x), crec.n++;
    cp_gradfn(y, g);
}

static const gv_problem_type cprobe_type = {
    .name = "cat-probe", .description = "test probe", .citation = "test_relax.c", .objective = GV_OBJ_EXPECTATION,
    .options = pr_opts, .f = cp_f, .ftilde = cp_ftilde, .grad_ftilde = cp_grad};

typedef struct {
    gv_problem p;
    gv_point pt;
    gv_exact ex;
    double eta[CP];
} cprobe;

static int cprobe_open(cprobe *q, const double *eta)
{
    char err[GV_ERRLEN];
    const unsigned kind[2] = {GV_UNIT_CATEGORICAL, GV_UNIT_CATEGORICAL};
    memset(q, 0, sizeof *q);
    q->p.type = &cprobe_type;
    q->p.eta = q->eta;
    memcpy(q->eta, eta, sizeof q->eta);
    snprintf(q->p.spec, sizeof q->p.spec, "cat-probe");
    if (gv_layout_init(&q->p.layout, 2, kind, cp_C) || gv_point_init(&q->pt, &q->p.layout, q->eta) ||
        gv_exact_alloc(&q->ex, &q->p.layout) ||
        gv_exact_compute(&q->p, &q->pt, GV_DEFAULT_MAX_STATES, 0, &q->ex, err))
        return print_error("cat-probe: %s\n", err), -1;
    return 0;
}

static void cprobe_close(cprobe *q)
{
    gv_exact_free(&q->ex);
    gv_point_free(&q->pt);
    gv_layout_free(&q->p.layout);
}

/* One K = 1 estimate of estimator e at eta from seed: g and grad f~'s argument x. */
static int cprobe_estimate(cprobe *q, gv_estimator *e, const double *eta, uint64_t seed, double *g, double *x)
{
    gv_point_set(&q->pt, eta);
    gv_eval ev = {.problem = &q->p, .pt = &q->pt};
    gsl_rng *r = gv_rng_new(gv_rng_default(), seed);
    memset(g, 0, CP * sizeof(double));
    crec.on = 1, crec.n = 0;
    int rc = r ? e->type->estimate(e->state, &ev, 1, r, g) : -1;
    crec.on = 0;
    gsl_rng_free(r);
    if (rc || crec.n != 1) return -1;
    memcpy(x, crec.x, sizeof crec.x);
    return 0;
}

static gv_estimator *cprobe_est(cprobe *q, const char *name)
{
    char msg[GV_ERRLEN];
    gv_spec spec;
    gv_estimator *e = NULL;
    if (gv_spec_parse(name, &spec, msg) || gv_estimator_new(&spec, &q->p, 1, &e, msg)) print_error("%s: %s\n", name, msg);
    return e;
}

/* ------------------------------------------------------------------ cat_gs_fd */

/* gumbel-softmax on categorical units: with the uniforms frozen (same seed), y(l) = softmax((l + G)/tau)
 * is smooth in l and the estimate must be d f~(y(l)) / dl: central differences with h = 1e-5 of
 * f~ evaluated at the recorded y (truncation h^2/6 |F'''| with |F'''| < 1e3 / tau^3 ~ 1e-7 at
 * tau = 0.5; rounding eps |f~| / h ~ 1e-10): tolerance TOL_FD (1 + |fd|), while a wrong Jacobian
 * (a missing 1/tau, y_c delta_cj without - y_c y_j) moves the estimate by O(0.1 .. 1).  Both code
 * paths: tau = 1 (y from pi/E) and tau = 0.5 (from log pi), and logits with spread +-4.  st-gumbel
 * from the same seed must forward the one-hot argmax of that y (it consumes the same uniforms). */
static void test_cat_gs_fd(void **unused)
{
    n_bad = 0;
    const double etas[][CP] = {{0.3, -0.4, 0.1, 0.5, -0.2, 0.0, 0.8}, {4, -4, 0.5, -3, 3.5, 0, -1}};
    const char *ests[] = {"gumbel-softmax", "gumbel-softmax:tau=0.5"}, *sts[] = {"st-gumbel", "st-gumbel:tau=0.5"};
    long n_cmp = 0, n_bad_draw = 0;
    double max_err = 0;
    for (size_t t = 0; t < NELEM(ests); t++) {
        cprobe q;
        assert_int_equal(cprobe_open(&q, etas[0]), 0);
        gv_estimator *e = cprobe_est(&q, ests[t]), *st = cprobe_est(&q, sts[t]);
        assert_non_null(e), assert_non_null(st);
        for (size_t ei = 0; ei < NELEM(etas); ei++) {
            for (int sd = 1; sd <= 200; sd++) {
                double g[CP], y[CP], gp[CP], yp[CP], gm[CP], ym[CP], gs[CP], xs[CP];
                if (cprobe_estimate(&q, e, etas[ei], (uint64_t)sd, g, y) ||
                    cprobe_estimate(&q, st, etas[ei], (uint64_t)sd, gs, xs)) { n_bad_draw++; continue; }
                for (int u = 0, o = 0; u < 2; o += cp_C[u++]) { /* st-gumbel's x: one-hot at argmax y */
                    int am = 0;
                    for (int c = 1; c < cp_C[u]; c++) if (y[o + c] > y[o + am]) am = c;
                    for (int c = 0; c < cp_C[u]; c++)
                        CHECK(xs[o + c] == (c == am), "%s eta %zu seed %d unit %d: forward %g at class %d, argmax y = %d",
                              sts[t], ei, sd, u, xs[o + c], c, am);
                }
                for (int k = 0; k < CP; k++) {
                    double ep[CP], em[CP];
                    memcpy(ep, etas[ei], sizeof ep), memcpy(em, etas[ei], sizeof em);
                    ep[k] += FD_H, em[k] -= FD_H;
                    if (cprobe_estimate(&q, e, ep, (uint64_t)sd, gp, yp) || cprobe_estimate(&q, e, em, (uint64_t)sd, gm, ym)) {
                        n_bad_draw++;
                        continue;
                    }
                    double fd = (cp_fn(yp) - cp_fn(ym)) / (2 * FD_H), err = fabs(g[k] - fd) / (1 + fabs(fd));
                    max_err = fmax(max_err, err);
                    CHECK(err < TOL_FD, "%s eta %zu seed %d coordinate %d: estimate %.12g, central difference %.12g",
                          ests[t], ei, sd, k, g[k], fd);
                    n_cmp++;
                }
            }
        }
        gv_estimator_free(e), gv_estimator_free(st);
        cprobe_close(&q);
    }
    print_message("  %ld comparisons, max rel err %.2g (tol %.0e)\n", n_cmp, max_err, TOL_FD);
    CHECK(n_bad_draw == 0, "%ld probe estimates failed or did not call grad f~ once", n_bad_draw);
    END_CHECKS();
}

/* ------------------------------------------------------------------ cat_identity */

/* With a linear f~ grad f~ is constant, so st-gumbel (grad at the one-hot argmax) and gumbel-softmax
 * (grad at y), backpropagating through the same y from the same uniforms, give identical estimates. */
static void test_cat_identity(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, "categorical-linear:D=2,C=3,seed=5"), 0);
    const char *pairs[][2] = {{"gumbel-softmax", "st-gumbel"}, {"gumbel-softmax:tau=0.5", "st-gumbel:tau=0.5"}};
    for (size_t i = 0; i < NELEM(pairs); i++) {
        char msg[GV_ERRLEN];
        gv_spec sa, sb;
        gv_estimator *a, *b;
        assert_int_equal(gv_spec_parse(pairs[i][0], &sa, msg) | gv_spec_parse(pairs[i][1], &sb, msg), 0);
        assert_int_equal(gv_estimator_new(&sa, f.p, 2, &a, msg), GV_OK);
        assert_int_equal(gv_estimator_new(&sb, f.p, 2, &b, msg), GV_OK);
        int same = 1;
        for (int sd = 0; sd < 500; sd++) {
            double ga[6] = {0}, gb[6] = {0};
            gsl_rng *ra = gv_rng_new(gv_rng_default(), 31 + (uint64_t)sd), *rb = gv_rng_new(gv_rng_default(), 31 + (uint64_t)sd);
            gv_eval ev = {.problem = f.p, .pt = &f.pt};
            a->type->estimate(a->state, &ev, 2, ra, ga);
            b->type->estimate(b->state, &ev, 2, rb, gb);
            same &= !memcmp(ga, gb, sizeof ga);
            gsl_rng_free(ra), gsl_rng_free(rb);
        }
        CHECK(same, "%s and %s differ on a linear f~", pairs[i][0], pairs[i][1]);
        gv_estimator_free(a), gv_estimator_free(b);
    }
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ cat_gs_tau_trend */

/* On a linear f~ gumbel-softmax estimates d/dl E[F.y_tau] without bias, and E[F.y_tau] -> E f with its
 * gradient as tau -> 0 (d/dl_j E[h(l + G)] = E[h(l + G)(1 - e^{-G_j})] for Gumbel G, and y_tau ->
 * one-hot argmax, dominated), so the bias vanishes as tau -> 0 — while the variance grows like 1/tau.
 * bias2 with its sd as in gs_tau_trend.  Measured on categorical-linear:D=2,C=3,seed=5 (R = 2e5):
 * bias2 0.52, 0.084, 0.0073, 0.0005 at tau = 1, 0.5, 0.25, 0.1 (var_mean 0.11 .. 5.4); each step
 * >= 8.7 sd.  The bias at tau = 1 itself is detected by test_unbiased.c (bias_z_max ~ 260). */
static void test_cat_gs_tau_trend(void **unused) { gs_tau_trend("categorical-linear:D=2,C=3,seed=5"); }

/* ------------------------------------------------------------------ cat_gumbel_rao */

/* Categorical gumbel-rao draws z ~ Cat(pi) and the noise given argmax = z, so (z, y) has st-gumbel's
 * joint law: gumbel-rao with M = 1 has st-gumbel's distribution, and every M the same mean
 * (E[J | z] does not depend on M), with a smaller variance for M = 10.  On the non-linear probe at
 * tau = 0.5, where grad f~ at the one-hot point depends on z: two-sample z per coordinate for
 * st-gumbel vs M = 1 and M = 1 vs M = 10 (14), one-sided z on var_mean (1).  The law of the hard
 * sample: per class, #{z = c} among N draws of each estimator ~ Bin(N, pi_c) (14). */
#define R_CGR 100000L
#define N_CLAW 40000

static void test_cat_gumbel_rao(void **unused)
{
    n_bad = 0;
    const double eta[CP] = {0.3, -0.4, 0.1, 0.5, -0.2, 0.0, 0.8};
    cprobe q;
    assert_int_equal(cprobe_open(&q, eta), 0);
    fixture f = {.p = &q.p, .pt = q.pt, .ex = q.ex};
    gv_row a, b, c;
    assert_int_equal(run(&f, "st-gumbel:tau=0.5", 1, R_CGR, 0, &a), 0);
    assert_int_equal(run(&f, "gumbel-rao:tau=0.5,M=1", 1, R_CGR, 0, &b), 0);
    assert_int_equal(run(&f, "gumbel-rao:tau=0.5,M=10", 1, R_CGR, 0, &c), 0);
    double zmax = 0;
    for (int k = 0; k < CP; k++) {
        double z1 = (a.coord_mean[k] - b.coord_mean[k]) / sqrt((a.coord_var[k] + b.coord_var[k]) / R_CGR);
        double z2 = (b.coord_mean[k] - c.coord_mean[k]) / sqrt((b.coord_var[k] + c.coord_var[k]) / R_CGR);
        zmax = fmax(zmax, fmax(fabs(z1), fabs(z2)));
        CHECK(fabs(z1) < z_thr, "coordinate %d: st-gumbel mean %.6g, gumbel-rao M=1 %.6g: z %.2f", k, a.coord_mean[k],
              b.coord_mean[k], z1);
        CHECK(fabs(z2) < z_thr, "coordinate %d: gumbel-rao M=1 mean %.6g, M=10 %.6g: z %.2f", k, b.coord_mean[k],
              c.coord_mean[k], z2);
    }
    double zv = (b.s.var_mean - c.s.var_mean) / sqrt(b.s.var_mean_se * b.s.var_mean_se + c.s.var_mean_se * c.s.var_mean_se);
    print_message("  means agree (max |z| %.2f); var_mean st-gumbel %.4g, gumbel-rao M=1 %.4g, M=10 %.4g (z %.1f); "
                  "bias2 %.4g %.4g %.4g\n", zmax, a.s.var_mean, b.s.var_mean, c.s.var_mean, zv, a.s.bias2, b.s.bias2,
                  c.s.bias2);
    CHECK(zv > z_thr, "gumbel-rao M=10 var_mean %.6g not below M=1's %.6g (z %.2f)", c.s.var_mean, b.s.var_mean, zv);
    gv_row_free(&a), gv_row_free(&b), gv_row_free(&c);
    /* the hard sample's law */
    const char *ests[] = {"st-gumbel:tau=0.5", "gumbel-rao:tau=0.5,M=2"};
    double zl = 0;
    for (size_t t = 0; t < NELEM(ests); t++) {
        gv_estimator *e = cprobe_est(&q, ests[t]);
        assert_non_null(e);
        long cnt[CP] = {0};
        gsl_rng *r = gv_rng_new(gv_rng_default(), SEED + t);
        gv_eval ev = {.problem = &q.p, .pt = &q.pt};
        for (long n = 0; n < N_CLAW; n++) {
            double g[CP] = {0};
            crec.on = 1, crec.n = 0;
            e->type->estimate(e->state, &ev, 1, r, g);
            crec.on = 0;
            for (int k = 0; k < CP; k++) cnt[k] += crec.x[k] == 1;
        }
        gsl_rng_free(r);
        for (int k = 0; k < CP; k++) {
            double p = q.pt.prob[k], z = (cnt[k] - N_CLAW * p) / sqrt(N_CLAW * p * (1 - p));
            zl = fmax(zl, fabs(z));
            CHECK(fabs(z) < z_thr, "%s: P(z = class %d) = %.5f, pi = %.5f: z %.2f", ests[t], k, (double)cnt[k] / N_CLAW, p, z);
        }
        gv_estimator_free(e);
    }
    print_message("  law of the one-hot forward: max |z| %.2f over 14 classes\n", zl);
    cprobe_close(&q);
    END_CHECKS();
}

/* ------------------------------------------------------------------ cat_extreme */

/* Categorical units with pi_0 = 1 - 1e-6 at C = 100, logits +-50 (pi ~ e^-100) and tiny / large tau:
 * no estimate may be NaN or infinite. */
static void test_cat_extreme(void **unused)
{
    n_bad = 0;
    const char *ests[] = {"gumbel-softmax", "gumbel-softmax:tau=0.1", "gumbel-softmax:tau=0.001",
                          "gumbel-softmax:tau=100", "st-gumbel", "st-gumbel:tau=0.01", "gumbel-rao",
                          "gumbel-rao:tau=0.01,M=3", "gumbel-rao:tau=100,M=3"};
    for (int v = 0; v < 3; v++) {
        fixture f;
        assert_int_equal(fx_open(&f, v == 2 ? "categorical-linear:D=2,C=3,seed=5" : "categorical-abs:preset=d3c100"), 0);
        const int P = f.p->layout.n_params;
        double *eta = malloc((size_t)P * sizeof *eta);
        assert_non_null(eta);
        memcpy(eta, f.p->eta, (size_t)P * sizeof *eta);
        const char *what;
        if (v == 0) { /* unit 0: pi_0 = 1 - 1e-6, the other 99 classes equal */
            for (int c = 0; c < 100; c++) eta[c] = c ? log(1e-6 / 99) : log(1 - 1e-6);
            what = "d3c100, unit 0 at pi_0 = 1 - 1e-6";
        } else if (v == 1) {
            for (int c = 0; c < 100; c++) eta[100 + c] = c == 3 ? 50 : c == 7 ? -50 : 0.01 * c;
            what = "d3c100, unit 1 with logits 50 / -50";
        } else {
            const double e2[6] = {50, -50, 0, -50, 0, 50};
            memcpy(eta, e2, sizeof e2);
            what = "categorical-linear, logits 50/-50/0, -50/0/50";
        }
        char err[GV_ERRLEN];
        gv_point_set(&f.pt, eta);
        assert_int_equal(gv_exact_compute(f.p, &f.pt, GV_DEFAULT_MAX_STATES, 0, &f.ex, err), 0);
        for (size_t k = 0; k < NELEM(ests); k++) {
            gv_row row;
            if (run(&f, ests[k], 2, 3000, 0, &row)) { CHECK(0, "%s on %s did not run", ests[k], what); continue; }
            CHECK(!strcmp(row.status, "ok") && row.s.nonfinite == 0 && isfinite(row.s.var_mean),
                  "%s on %s: status %s, %g non-finite estimates, var_mean %g", ests[k], what, row.status,
                  row.s.nonfinite, row.s.var_mean);
            gv_row_free(&row);
        }
        free(eta);
        fx_close(&f);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ schedule */

static void test_schedule(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, "bernoulli-coupled:D=6,seed=3"), 0);
    char msg[GV_ERRLEN], note[GV_ERRLEN];
    gv_spec spec;
    gv_estimator *e;
    assert_int_equal(gv_spec_parse("gumbel-softmax:tau=2,anneal=0.1,tau_min=0.5", &spec, msg), 0);
    assert_int_equal(gv_estimator_new(&spec, f.p, 1, &e, msg), GV_OK);
    const struct { long step; const char *want; } at[] = {{0, "tau=2"}, {5, "tau=1.21306"}, {100, "tau=0.5"}};
    for (size_t i = 0; i < NELEM(at); i++) {
        e->type->schedule(e->state, at[i].step);
        e->type->note(e->state, note, sizeof note);
        CHECK(!strcmp(note, at[i].want), "step %ld: note '%s', expected '%s'", at[i].step, note, at[i].want);
    }
    e->type->reset(e->state);
    e->type->note(e->state, note, sizeof note);
    CHECK(!strcmp(note, "tau=2"), "after reset: '%s'", note);
    gv_estimator_free(e);
    fx_close(&f);
    END_CHECKS();
}

int main(void)
{
    gsl_set_error_handler_off();
    z_thr = gsl_cdf_ugaussian_Qinv(FAMILY_ALPHA / (2.0 * N_Z));
    print_message("relax family: %d z statistics, threshold z_thr = Q^-1(%.0e / (2 * %d)) = %.3f\n", N_Z, FAMILY_ALPHA,
                  N_Z, z_thr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rebar_fd),        cmocka_unit_test(test_conditional_law),
        cmocka_unit_test(test_learning),        cmocka_unit_test(test_relax_surrogate),
        cmocka_unit_test(test_gs_tau_trend),    cmocka_unit_test(test_gumbel_rao),
        cmocka_unit_test(test_st_closed_form),  cmocka_unit_test(test_extreme),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_cat_gs_fd),       cmocka_unit_test(test_cat_identity),
        cmocka_unit_test(test_cat_gs_tau_trend), cmocka_unit_test(test_cat_gumbel_rao),
        cmocka_unit_test(test_cat_extreme),
    };
    return cmocka_run_group_tests_name("relax", tests, NULL, NULL);
}
