/* test_rws.c — the reweighted wake-sleep estimators (estimators/rws.c): rws-wake, rws-defensive, sleep.
 *   wake_exact       E[g] of rws-wake computed exactly — by summing over every K-tuple of latent states
 *                    (probability prod_k q(z_k)) and, independently, over the multisets of the other K - 1
 *                    draws (E[sum_k wbar_k s_k] = K sum_a q_a w_a s_a E[1 / (w_a + T)], T the sum of K - 1
 *                    i.i.d. weights): the two agree to 1e-12 at K = 1, 2, 3.  The engine's mean (gv_run_cell,
 *                    R draws) matches the exact E[g] at K = 1, 2, 3 (per-coordinate z-test, Bonferroni) on a
 *                    small sbn-posterior (D = 3, N = 1) and on a toy problem with a Bernoulli and a
 *                    categorical unit per group and N = 2 groups, and on cluster-posterior (X = 2 data
 *                    sets of 3 points, C = 3 classes: categorical units); E[g] = 0 at K = 1 (E_q s = 0; for
 *                    rws-defensive it is -E_r s_q, nonzero);
 *                    the exact bias |E[g] - g*| decreases strictly from K = 1 to K = 8 and the engine
 *                    detects it (bias_z_max against g* above the threshold) at K = 1, 2, 3.
 *   defensive_exact  the same enumeration with the proposal r = (1 - eps) q + eps p(z) at K = 1, 2, for
 *                    eps = 0.1 (default) and eps = 1 (the prior alone), on the three problems.
 *   shift            log p(x | z) shifted by -1e5 (the toy): the self-normalised weights do not change,
 *                    so every estimate is the unshifted one up to the rounding of log weights near -1e5
 *                    (no underflow to 0 / 0); and at logits +-50 every estimate is finite.
 *   sleep            sbn-posterior with marginal=1 and N = 3: sleep's wrt=phi-marginal row is unbiased
 *                    for N times the model-marginal gradient (bias_z_max below the threshold), its
 *                    wrt=phi row is detectably biased for the data objective; 0 log-likelihood
 *                    evaluations and the row's note.
 *   (cost)           inside the wake/defensive cases: f_evals per estimate = K N (log p(x | z)
 *                    evaluations, N groups) for rws-wake / rws-defensive.
 *   options          eps=0, eps=2, eps=abc, an unknown key, K = 0, an expectation problem and a problem
 *                    without amortisation (for sleep) are refused with messages naming the cause.
 * Statistics: each z-test family (wake, defensive, sleep) has false-alarm rate ALPHA_TEST, Bonferroni over
 * its coordinates: z* = Q^{-1}(ALPHA_TEST / (2 m)).  Detections use the same z*. */
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
#include <gsl/gsl_rng.h>

#include "harness/engine.h"
#include "harness/exact.h"
#include "harness/ikl.h"
#include "harness/rng.h"

#include "tests/testkit.h"

#define ALPHA_TEST 2.5e-4 /* per z-test family; 3 families + detections: family-wise rate below 1e-3 */
#define R_DRAWS 40000L
#define SEED 20260101ULL
#define MAXS 64  /* latent states per group in the enumerations */
#define MAXP 32  /* parameters */

static const char *const SBN_SPEC = "sbn-posterior:D=3,P=6,N=1,seed=3,scale=2,enc_scale=0.5";
static const char *const CLUSTER_SPEC = "cluster-posterior:X=2,N=3,C=3"; /* categorical units, 27 states a group */
static const char *const SLEEP_SPEC = "sbn-posterior:D=2,P=3,N=3,seed=2,scale=1.5,enc_scale=0.5,marginal=1";

static double zstar(int m) { return gsl_cdf_ugaussian_Qinv(ALPHA_TEST / (2.0 * m)); }

/* ------------------------------------------------------------------ a toy inclusive-KL problem
 * N = 2 groups of U = 2 units: a Bernoulli unit and a categorical unit with 3 classes; a factorised prior
 * and a seeded log-likelihood table; exact posteriors by enumerating the 6 states of each group. */
#define TOY_N 2
#define TOY_C 3
typedef struct {
    double prior_logit, prior_p[TOY_C];
    double ll[TOY_N][2][TOY_C];
    double shift; /* added to every log p(x | z) */
} toy_t;

static double toy_log_prior(const gv_problem *p, int g, const int *z)
{
    const toy_t *t = p->state;
    return gv_log_sigmoid(z[0] ? t->prior_logit : -t->prior_logit) + log(t->prior_p[z[1]]);
}
static double toy_log_lik(const gv_problem *p, int g, const int *z)
{
    const toy_t *t = p->state;
    return t->ll[g][z[0]][z[1]] + t->shift;
}
static void toy_sample_prior(const gv_problem *p, int g, gsl_rng *r, int *z)
{
    const toy_t *t = p->state;
    z[0] = gsl_rng_uniform(r) < gv_sigmoid(t->prior_logit);
    double u = gsl_rng_uniform(r), c = 0;
    z[1] = TOY_C - 1;
    for (int k = 0; k < TOY_C - 1; k++)
        if (u < (c += t->prior_p[k])) {
            z[1] = k;
            break;
        }
}
static double toy_log_marginal(const gv_problem *p, int g)
{
    double l[2 * TOY_C];
    for (int s = 0; s < 2 * TOY_C; s++) {
        int z[2] = {s % 2, s / 2};
        l[s] = toy_log_prior(p, g, z) + toy_log_lik(p, g, z);
    }
    return gv_logsumexp(l, 2 * TOY_C);
}
static int toy_exact_grad(const gv_problem *p, const gv_point *pt, double *value, double *cond, double *grad)
{
    double v = 0;
    for (int g = 0; g < TOY_N; g++) {
        const gv_unit *ub = &p->layout.units[2 * g], *uc = &p->layout.units[2 * g + 1];
        const double lpx = toy_log_marginal(p, g);
        double m1 = 0, mc[TOY_C] = {0};
        for (int s = 0; s < 2 * TOY_C; s++) {
            int z[2] = {s % 2, s / 2};
            const double lj = toy_log_prior(p, g, z) + toy_log_lik(p, g, z), post = exp(lj - lpx);
            m1 += z[0] * post, mc[z[1]] += post;
            v += post * (lj - lpx - gv_ikl_log_q(pt, p, g, z));
        }
        cond[ub->cond] = 1 - m1, cond[ub->cond + 1] = m1;
        grad[ub->param] = -(m1 - pt->prob[ub->param]);
        for (int c = 0; c < TOY_C; c++) {
            cond[uc->cond + c] = mc[c];
            grad[uc->param + c] = -(mc[c] - pt->prob[uc->param + c]);
        }
    }
    *value = v;
    return 0;
}
static const gv_ikl_hooks toy_ikl = {.log_prior = toy_log_prior, .log_lik = toy_log_lik,
                                     .sample_prior = toy_sample_prior, .log_marginal = toy_log_marginal};
static const gv_problem_type toy_type = {.name = "toy-ikl", .objective = GV_OBJ_INCLUSIVE_KL,
                                         .exact_grad = toy_exact_grad, .ikl = &toy_ikl};

static gv_problem *toy_new(double shift)
{
    gv_problem *p = calloc(1, sizeof *p);
    toy_t *t = calloc(1, sizeof *t);
    if (!p || !t) return free(p), free(t), NULL;
    p->type = &toy_type, p->state = t;
    t->prior_logit = 0.4, t->prior_p[0] = 0.5, t->prior_p[1] = 0.3, t->prior_p[2] = 0.2, t->shift = shift;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 11);
    for (int g = 0; g < TOY_N; g++)
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < TOY_C; c++) t->ll[g][b][c] = -4 * gsl_rng_uniform(r);
    gsl_rng_free(r);
    unsigned kind[2 * TOY_N];
    int ncat[2 * TOY_N];
    for (int i = 0; i < 2 * TOY_N; i++) kind[i] = i % 2 ? GV_UNIT_CATEGORICAL : GV_UNIT_BERNOULLI, ncat[i] = i % 2 ? TOY_C : 2;
    if (gv_layout_init(&p->layout, 2 * TOY_N, kind, ncat)) return gv_problem_free(p), NULL;
    static const double eta[] = {0.3, 0.2, -0.5, 0.1, -0.8, -0.3, 0.6, 0.0};
    p->eta = malloc(sizeof eta);
    memcpy(p->eta, eta, sizeof eta);
    p->n_groups = TOY_N, p->group_units = 2;
    snprintf(p->spec, sizeof p->spec, "toy-ikl:shift=%g", shift);
    return p;
}

static int toy_open(fixture *f, double shift)
{
    char err[GV_ERRLEN];
    memset(f, 0, sizeof *f);
    if (!(f->p = toy_new(shift))) return -1;
    if (gv_point_init(&f->pt, &f->p->layout, f->p->eta) || gv_exact_alloc(&f->ex, &f->p->layout)) return -1;
    return gv_exact_compute(f->p, &f->pt, GV_DEFAULT_MAX_STATES, 0, &f->ex, err);
}

/* ------------------------------------------------------------------ exact self-normalised IS means
 * One group's states s = 0..S-1 (mixed radix over its units), the proposal's log r_s, the log weights
 * log w_s = log p(x, z_s) - log r_s, and the q-scores (n_params vectors, zero outside the group). */
typedef struct {
    int S, P;
    double logr[MAXS], logw[MAXS];
    double score[MAXS][MAXP];
} group_enum;

/* eps < 0: the proposal is q (rws-wake); else (1 - eps) q + eps p(z) */
static void enum_group(const fixture *f, int g, double eps, group_enum *e)
{
    const gv_problem *p = f->p;
    const int U = p->group_units;
    const gv_unit *u = p->layout.units + (size_t)g * U;
    e->S = 1, e->P = p->layout.n_params;
    for (int i = 0; i < U; i++) e->S *= u[i].ncat;
    assert_true(e->S <= MAXS && e->P <= MAXP);
    for (int s = 0; s < e->S; s++) {
        int z[8], rest = s;
        for (int i = 0; i < U; i++) z[i] = rest % u[i].ncat, rest /= u[i].ncat;
        const double lq = gv_ikl_log_q(&f->pt, p, g, z), lp = p->type->ikl->log_prior(p, g, z);
        const double lj = lp + p->type->ikl->log_lik(p, g, z);
        e->logr[s] = eps < 0 ? lq : log((1 - eps) * exp(lq) + eps * exp(lp));
        e->logw[s] = lj - e->logr[s];
        memset(e->score[s], 0, sizeof e->score[s]);
        gv_ikl_score_axpy(&f->pt, p, g, z, 1.0, e->score[s]);
    }
}

/* sum over all S^K tuples: out += E[-sum_k wbar_k s(z_k)] */
static void snis_tuples(const group_enum *e, int K, double *out)
{
    long n = 1;
    for (int k = 0; k < K; k++) n *= e->S;
    double M = -INFINITY;
    for (int s = 0; s < e->S; s++) M = fmax(M, e->logw[s]);
    for (long t = 0; t < n; t++) {
        int idx[16];
        long rest = t;
        double lp = 0, W = 0;
        for (int k = 0; k < K; k++) idx[k] = (int)(rest % e->S), rest /= e->S, lp += e->logr[idx[k]], W += exp(e->logw[idx[k]] - M);
        const double pr = exp(lp);
        for (int k = 0; k < K; k++) {
            const double wb = exp(e->logw[idx[k]] - M) / W;
            for (int q = 0; q < e->P; q++) out[q] -= pr * wb * e->score[idx[k]][q];
        }
    }
}

/* multisets of the other K - 1 draws: counts c_s with probability (K-1)! prod r_s^c_s / c_s! */
static void ms_rec(const group_enum *e, const double *w, int s, int left, double lp, double T, double *inv)
{
    if (s == e->S - 1) {
        lp += left * e->logr[s] - lgamma(left + 1.0);
        T += left * w[s];
        for (int a = 0; a < e->S; a++) inv[a] += exp(lp) / (w[a] + T);
        return;
    }
    for (int c = 0; c <= left; c++)
        ms_rec(e, w, s + 1, left - c, lp + c * e->logr[s] - lgamma(c + 1.0), T + c * w[s], inv);
}
static void snis_multisets(const group_enum *e, int K, double *out)
{
    double w[MAXS], inv[MAXS] = {0}, M = -INFINITY;
    for (int s = 0; s < e->S; s++) M = fmax(M, e->logw[s]);
    for (int s = 0; s < e->S; s++) w[s] = exp(e->logw[s] - M);
    ms_rec(e, w, 0, K - 1, lgamma((double)K), 0, inv);
    for (int a = 0; a < e->S; a++) {
        const double c = K * exp(e->logr[a]) * w[a] * inv[a];
        for (int q = 0; q < e->P; q++) out[q] -= c * e->score[a][q];
    }
}

/* E[g] of the estimator (eps < 0: rws-wake) at K over every group, by multisets (tuples: the other route) */
static void exact_mean(const fixture *f, double eps, int K, int tuples, double *out)
{
    memset(out, 0, (size_t)f->p->layout.n_params * sizeof *out);
    for (int g = 0; g < f->p->n_groups; g++) {
        group_enum e;
        enum_group(f, g, eps, &e);
        if (tuples) snis_tuples(&e, K, out);
        else snis_multisets(&e, K, out);
    }
}

static double dist(const double *a, const double *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s);
}

/* Run est at K through the engine with per-coordinate output; max |z| of the mean against want. */
static double engine_z(const fixture *f, const char *est, int K, const double *want, gv_row *row)
{
    char err[GV_ERRLEN];
    gv_engine_opts o = {.R = R_DRAWS, .W = 0, .seed = SEED, .rng = gv_rng_default(), .timing = 0};
    int rc = gv_run_cell(f->p, &f->pt, &f->ex, est, K, &o, 1, row, err);
    assert_int_equal(rc, GV_OK);
    CHECK(!strcmp(row->status, "ok"), "%s K=%d on %s: %s %s", est, K, f->p->spec, row->status, row->message);
    if (strcmp(row->status, "ok") || !row->coord_mean) return INFINITY;
    double zm = 0;
    for (int q = 0; q < row->P; q++) {
        const double se = sqrt(row->coord_var[q] / (double)row->s.replicates), d = fabs(row->coord_mean[q] - want[q]);
        zm = fmax(zm, se > 0 ? d / se : d < 1e-12 ? 0 : INFINITY);
    }
    return zm;
}

/* ------------------------------------------------------------------ tests */

static void check_exact_vs_engine(fixture *f, const char *est, double eps, int Kmax, double zt, int detect)
{
    const int P = f->p->layout.n_params;
    for (int K = 1; K <= Kmax; K++) {
        double et[MAXP], em[MAXP];
        exact_mean(f, eps, K, 1, et);
        exact_mean(f, eps, K, 0, em);
        CHECK(dist(et, em, P) < 1e-12, "%s on %s K=%d: tuple and multiset enumerations differ by %.3g", est,
              f->p->spec, K, dist(et, em, P));
        if (K == 1) { /* wbar = 1: E[g] = -E_r[s_q], which is 0 for r = q (rws-wake) */
            double want[MAXP] = {0};
            for (int g = 0; g < f->p->n_groups && eps >= 0; g++) {
                group_enum e;
                enum_group(f, g, eps, &e);
                for (int s = 0; s < e.S; s++)
                    for (int q = 0; q < P; q++) want[q] -= exp(e.logr[s]) * e.score[s][q];
            }
            CHECK(dist(et, want, P) < 1e-12, "%s K=1: E[g] is %.3g away from -E_r[s_q] (0 for rws-wake)", est,
                  dist(et, want, P));
            if (eps >= 0) CHECK(dist(want, (double[MAXP]){0}, P) > 1e-3, "%s K=1: -E_r[s_q] = 0", est);
        }
        gv_row row;
        const double z = engine_z(f, est, K, et, &row);
        print_message("  %-22s %-58s K=%d  |E g - g*| %.5f  z(mean vs exact E g) %.3f  bias_z_max(vs g*) %.2f  "
                      "f_evals %g\n", est, f->p->spec, K, dist(et, f->ex.grad, P), z, row.s.bias_z_max,
                      row.s.f_evals);
        CHECK(z < zt, "%s on %s K=%d: engine mean differs from the exact E[g]: max |z| %.3f >= %.3f", est, f->p->spec,
              K, z, zt);
        if (detect)
            CHECK(row.s.bias_z_max > zt, "%s on %s K=%d: bias against g* not detected (bias_z_max %.3f)", est,
                  f->p->spec, K, row.s.bias_z_max);
        CHECK(row.s.f_evals == (double)K * f->p->n_groups, "%s K=%d: %g log-lik evaluations per estimate, want K N = %d",
              est, K, row.s.f_evals, K * f->p->n_groups);
        gv_row_free(&row);
    }
}

static void test_wake_exact(void **unused)
{
    n_bad = 0;
    fixture fs, ft, fc;
    assert_int_equal(fx_open(&fs, SBN_SPEC), 0);
    assert_int_equal(toy_open(&ft, 0), 0);
    assert_int_equal(fx_open(&fc, CLUSTER_SPEC), 0);
    const double zt = zstar(3 * (fs.p->layout.n_params + ft.p->layout.n_params + fc.p->layout.n_params));
    print_message("  wake family: z* = %.3f\n", zt);
    check_exact_vs_engine(&fs, "rws-wake", -1, 3, zt, 1);
    check_exact_vs_engine(&ft, "rws-wake", -1, 3, zt, 1);
    check_exact_vs_engine(&fc, "rws-wake", -1, 3, zt, 1);
    fx_close(&fc);
    /* the exact bias shrinks with K */
    for (int t = 0; t < 2; t++) {
        fixture *f = t ? &ft : &fs;
        double prev = INFINITY, m[MAXP];
        for (int K = 1; K <= 8; K++) {
            exact_mean(f, -1, K, 0, m);
            const double b = dist(m, f->ex.grad, f->p->layout.n_params);
            print_message("  exact bias |E g - g*| of rws-wake on %s, K=%d: %.6f\n", f->p->spec, K, b);
            CHECK(b < prev && b > 0, "%s K=%d: exact bias %.6g does not decrease (K-1: %.6g)", f->p->spec, K, b, prev);
            prev = b;
        }
    }
    fx_close(&fs);
    fx_close(&ft);
    END_CHECKS();
}

static void test_defensive_exact(void **unused)
{
    n_bad = 0;
    fixture fs, ft, fc;
    assert_int_equal(fx_open(&fs, SBN_SPEC), 0);
    assert_int_equal(toy_open(&ft, 0), 0);
    assert_int_equal(fx_open(&fc, CLUSTER_SPEC), 0);
    const double zt = zstar(2 * 2 * (fs.p->layout.n_params + ft.p->layout.n_params + fc.p->layout.n_params));
    print_message("  defensive family: z* = %.3f\n", zt);
    check_exact_vs_engine(&fc, "rws-defensive", 0.1, 2, zt, 1);
    check_exact_vs_engine(&fc, "rws-defensive:eps=1", 1.0, 2, zt, 1);
    fx_close(&fc);
    check_exact_vs_engine(&fs, "rws-defensive", 0.1, 2, zt, 1);
    check_exact_vs_engine(&ft, "rws-defensive", 0.1, 2, zt, 1);
    check_exact_vs_engine(&fs, "rws-defensive:eps=1", 1.0, 2, zt, 1);
    check_exact_vs_engine(&ft, "rws-defensive:eps=1", 1.0, 2, zt, 1);
    fx_close(&fs);
    fx_close(&ft);
    END_CHECKS();
}

/* log p(x | z) - 1e5: the same estimates, to rounding */
static void test_shift(void **unused)
{
    n_bad = 0;
    fixture a, b;
    assert_int_equal(toy_open(&a, 0), 0);
    assert_int_equal(toy_open(&b, -1e5), 0);
    const char *est[] = {"rws-wake", "rws-defensive"};
    char msg0[GV_ERRLEN];
    for (int e = 0; e < 2; e++) {
        char msg[GV_ERRLEN];
        gv_spec sp;
        gv_estimator *ea, *eb;
        assert_int_equal(gv_spec_parse(est[e], &sp, msg), 0);
        assert_int_equal(gv_estimator_new(&sp, a.p, 5, &ea, msg), GV_OK);
        assert_int_equal(gv_estimator_new(&sp, b.p, 5, &eb, msg), GV_OK);
        gsl_rng *ra = gv_rng_new(gv_rng_default(), 5), *rb = gv_rng_new(gv_rng_default(), 5);
        double worst = 0;
        for (int i = 0; i < 2000; i++) {
            double ga[MAXP] = {0}, gb[MAXP] = {0};
            gv_eval va = {.problem = a.p, .pt = &a.pt}, vb = {.problem = b.p, .pt = &b.pt};
            ea->type->estimate(ea->state, &va, 5, ra, ga);
            eb->type->estimate(eb->state, &vb, 5, rb, gb);
            for (int q = 0; q < a.p->layout.n_params; q++)
                worst = isfinite(gb[q]) ? fmax(worst, fabs(ga[q] - gb[q])) : INFINITY;
        }
        print_message("  %s: log p(x|z) - 1e5 changes the estimates by at most %.3g\n", est[e], worst);
        /* each log weight near -1e5 carries a rounding error of about 1e5 DBL_EPSILON = 2.2e-11, which
         * becomes a relative error of the weights; bound: 64 such errors (|score| <= 1) */
        CHECK(worst < 64 * 1e5 * DBL_EPSILON, "%s: shifted log-likelihood changes an estimate by %.3g", est[e], worst);
        gsl_rng_free(ra), gsl_rng_free(rb);
        gv_estimator_free(ea), gv_estimator_free(eb);
    }
    /* logits of +-50 (q nearly deterministic, log q down to -50 and log w up to +50): finite estimates */
    static const double big[] = {50, -50, 50, 0, -50, 50, -50, 50};
    gv_point_set(&a.pt, big);
    assert_int_equal(gv_exact_compute(a.p, &a.pt, GV_DEFAULT_MAX_STATES, 0, &a.ex, msg0), 0);
    for (int e = 0; e < 2; e++) {
        gv_row row;
        gv_engine_opts o = {.R = 4000, .W = 0, .seed = SEED, .rng = gv_rng_default(), .timing = 0};
        assert_int_equal(gv_run_cell(a.p, &a.pt, &a.ex, est[e], 3, &o, 0, &row, msg0), GV_OK);
        print_message("  %s at logits +-50: status %s, nonfinite %g, var_mean %.3g\n", est[e], row.status,
                      row.s.nonfinite, row.s.var_mean);
        CHECK(!strcmp(row.status, "ok") && row.s.nonfinite == 0 && isfinite(row.s.var_mean),
              "%s at logits +-50: %s (%s), %g non-finite estimates", est[e], row.status, row.message, row.s.nonfinite);
        gv_row_free(&row);
    }
    fx_close(&a);
    fx_close(&b);
    END_CHECKS();
}

static void test_sleep(void **unused)
{
    n_bad = 0;
    fixture f;
    char err[GV_ERRLEN];
    assert_int_equal(fx_open(&f, SLEEP_SPEC), 0);
    assert_int_equal(gv_exact_marginal(f.p, f.p->phi, &f.ex, err), 0);
    const int Q = f.p->n_outer, Ks[] = {1, 4};
    const double zt = zstar(2 * Q);
    print_message("  sleep family: z* = %.3f (n_outer %d, N %d)\n", zt, Q, f.p->n_groups);
    for (int i = 0; i < 2; i++) {
        gv_row row;
        gv_engine_opts o = {.R = R_DRAWS, .W = 0, .seed = SEED, .rng = gv_rng_default(), .timing = 0};
        assert_int_equal(gv_run_cell(f.p, &f.pt, &f.ex, "sleep", Ks[i], &o, 1, &row, err), GV_OK);
        CHECK(!strcmp(row.status, "ok") && !strcmp(row.wrt, "phi") && row.P == Q, "sleep row: %s %s wrt %s P %d",
              row.status, row.message, row.wrt, row.P);
        const gv_row *m = row.outer;
        CHECK(m && !strcmp(m->wrt, "phi-marginal") && !m->outer, "sleep: no single phi-marginal twin row");
        if (m) {
            /* the twin's exact reference is the problem's N E_p(x) KL gradient */
            CHECK(m->coord_exact && !memcmp(m->coord_exact, f.ex.marg_grad, (size_t)Q * sizeof(double)),
                  "sleep: the phi-marginal row is not against exact_marginal's gradient");
            print_message("  sleep K=%d: bias_z_max vs model-marginal gradient %.3f, vs data objective %.3f "
                          "(|g*_marg| %.4f, |g*_data| %.4f)\n", Ks[i], m->s.bias_z_max, row.s.bias_z_max,
                          m->s.exact_norm, row.s.exact_norm);
            CHECK(m->s.bias_z_max < zt, "sleep K=%d: biased for the model-marginal objective: z %.3f >= %.3f", Ks[i],
                  m->s.bias_z_max, zt);
        }
        CHECK(row.s.bias_z_max > zt, "sleep K=%d: bias for the data objective not detected: z %.3f", Ks[i],
              row.s.bias_z_max);
        CHECK(row.s.f_evals == 0 && row.s.ftilde_evals == 0 && row.s.grad_evals == 0, "sleep evaluated %g / %g / %g",
              row.s.f_evals, row.s.ftilde_evals, row.s.grad_evals);
        CHECK(strstr(row.message, "no log p(x | z)") != NULL, "sleep row message '%s'", row.message);
        gv_row_free(&row);
    }
    fx_close(&f);
    END_CHECKS();
}

static void test_options(void **unused)
{
    n_bad = 0;
    fixture f, t, x;
    assert_int_equal(fx_open(&f, SBN_SPEC), 0);
    assert_int_equal(toy_open(&t, 0), 0);
    assert_int_equal(fx_open(&x, "bernoulli-quadratic:D=3,t=0.3"), 0);
    struct {
        const char *spec;
        const fixture *fx;
        int K, rc;
        const char *must[2];
    } cases[] = {
        {"rws-defensive:eps=0", &f, 2, GV_EUSAGE, {"eps=0", "(0, 1]"}},
        {"rws-defensive:eps=2", &f, 2, GV_EUSAGE, {"eps=2", "(0, 1]"}},
        {"rws-defensive:eps=-0.5", &f, 2, GV_EUSAGE, {"eps=-0.5", "(0, 1]"}},
        {"rws-defensive:eps=abc", &f, 2, GV_EUSAGE, {"eps=abc", "not a finite number"}},
        {"rws-wake:eps=0.5", &f, 2, GV_EUSAGE, {"eps", "rws-wake"}},
        {"sleep:foo=1", &f, 2, GV_EUSAGE, {"foo", "sleep"}},
        {"rws-wake", &f, 0, -1, {"K >= 1", "K=0"}},
        {"rws-defensive", &f, 0, -1, {"K >= 1", "K=0"}},
        {"sleep", &f, 0, -1, {"K >= 1", "K=0"}},
        {"rws-wake", &x, 2, -1, {"inclusive-kl", "expectation"}},
        {"sleep", &t, 2, -1, {"outer parameters", "toy-ikl"}},
        {"rws-defensive:eps=1", &f, 1, GV_OK, {"", ""}},
        {"rws-defensive:eps=1e-300", &t, 1, GV_OK, {"", ""}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char msg[GV_ERRLEN] = "";
        gv_spec sp;
        gv_estimator *e = NULL;
        assert_int_equal(gv_spec_parse(cases[i].spec, &sp, msg), 0);
        int rc = gv_estimator_new(&sp, cases[i].fx->p, cases[i].K, &e, msg);
        print_message("  %-26s K=%d on %-28s rc %2d  %s\n", cases[i].spec, cases[i].K, cases[i].fx->p->spec, rc, msg);
        CHECK(rc == cases[i].rc, "%s K=%d: rc %d, want %d (%s)", cases[i].spec, cases[i].K, rc, cases[i].rc, msg);
        for (int k = 0; k < 2; k++)
            CHECK(strstr(msg, cases[i].must[k]) != NULL, "%s: message '%s' lacks '%s'", cases[i].spec, msg,
                  cases[i].must[k]);
        gv_estimator_free(e);
    }
    fx_close(&f);
    fx_close(&t);
    fx_close(&x);
    END_CHECKS();
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wake_exact), cmocka_unit_test(test_defensive_exact), cmocka_unit_test(test_shift),
        cmocka_unit_test(test_sleep),      cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
