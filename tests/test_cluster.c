/* test_cluster.c — the cluster-posterior problem (problems/cluster_posterior.c).
 *   likelihood   log p(x_g | z) (both means modes) against a direct density: the cluster's points are
 *                N(m_c 1, sigma^2 I + s^2 1 1^T) (Cholesky, GSL), known means a product of normals (1e-10)
 *   brute force  a second, plain enumeration (every state's log joint from the direct density, one
 *                array, logsumexp) gives the same KL value, posterior marginals, gradient and log p(x)
 *                (1e-10), for X = 2 data sets, both modes and a non-uniform pi
 *   fin. diff.   the exact gradient against central differences of the exact KL value in every eta
 *                coordinate and (through outer_map / outer_vjp) every phi coordinate
 *   presets      representable: max |grad| < 1e-10 in eta and phi, KL ~ 0; collapsed: KL large
 *   threads      exact_grad and log p(x) give the same bits on 1 and 2 threads (X = 4)
 *   smc          the problem's SMC target (fast path) and the generic adapter built from the hooks
 *                (ncat = C): linear schedule, Gibbs and Metropolis, K = 8: z-test of mean(Ẑ)/p(x) - 1
 *                and of the Ẑ-weighted posterior marginals (|z| < 4.5; s.e. floored by that of R K
 *                independent posterior draws, for marginals ~1e-5), C = 3 and C = 2 (binary path)
 *   fast path    log_lik_set on random changes equals log_lik recomputed (1e-10 relative), the cache
 *                stays equal to aux_init's
 *   sleep hooks  score_phi against central differences of log q_phi(z | x)
 *   options      C^N too large, unknown key, bad pi, preset, means and phi are refused with messages */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <omp.h>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>

#include "harness/ikl.h"
#include "harness/rng.h"
#include "harness/smc.h"
#include "testkit.h"

/* Model constants re-derived from the spec's options (independent of the problem's state). */
typedef struct {
    int X, N, C, integrated;
    double s, sigma, spacing, pi[16];
} model_t;

static double centre(const model_t *m, int c) { return m->spacing * (c - (m->C - 1) / 2.0); }

/* log N(y; mean 1, sigma^2 I + s^2 1 1^T) of n points, by Cholesky. */
static double mvn_logpdf(const double *y, int n, double mean, double sigma, double s)
{
    gsl_matrix *S = gsl_matrix_alloc(n, n);
    gsl_vector *r = gsl_vector_alloc(n), *w = gsl_vector_alloc(n);
    for (int i = 0; i < n; i++) {
        gsl_vector_set(r, i, y[i] - mean);
        for (int j = 0; j < n; j++) gsl_matrix_set(S, i, j, s * s + (i == j ? sigma * sigma : 0));
    }
    gsl_linalg_cholesky_decomp1(S);
    double logdet = 0;
    for (int i = 0; i < n; i++) logdet += 2 * log(gsl_matrix_get(S, i, i));
    gsl_linalg_cholesky_solve(S, r, w);
    double q = 0;
    for (int i = 0; i < n; i++) q += gsl_vector_get(r, i) * gsl_vector_get(w, i);
    gsl_matrix_free(S), gsl_vector_free(r), gsl_vector_free(w);
    return -0.5 * (n * log(2 * M_PI) + logdet + q);
}

/* log p(x | z) directly: per class, the MVN of its points (integrated) or a product of normals. */
static double direct_loglik(const model_t *m, const double *x, const int *z)
{
    double l = 0, y[64];
    for (int c = 0; c < m->C; c++) {
        int n = 0;
        for (int i = 0; i < m->N; i++)
            if (z[i] == c) y[n++] = x[i];
        if (!n) continue;
        if (m->integrated) l += mvn_logpdf(y, n, centre(m, c), m->sigma, m->s);
        else
            for (int i = 0; i < n; i++) l += log(gsl_ran_gaussian_pdf(y[i] - centre(m, c), m->sigma));
    }
    return l;
}

/* The data x_g: the problem's data, read back from outer_map with phi = (0, .., 0, 1, 0, ..): eta_i0 = x_i. */
static void data_of(const gv_problem *p, double *x)
{
    const int C = p->n_outer / 2;
    double *phi = calloc(p->n_outer, sizeof *phi), *eta = malloc(p->layout.n_params * sizeof *eta);
    phi[C] = 1;
    p->type->outer_map(p, phi, eta);
    for (int u = 0; u < p->layout.n_units; u++) x[u] = eta[p->layout.units[u].param];
    free(phi), free(eta);
}

/* The point eta0 of p and its exact reference (the test fails on an error). */
static void exact_at_eta0(const gv_problem *p, gv_point *pt, gv_exact *ex)
{
    char err[GV_ERRLEN];
    assert_int_equal(gv_point_init(pt, &p->layout, p->eta), 0);
    assert_int_equal(gv_exact_alloc(ex, &p->layout), 0);
    if (gv_exact_compute(p, pt, GV_DEFAULT_MAX_STATES, 0, ex, err)) fail_msg("%s", err);
}

static gv_problem *open_problem(const char *spec, model_t *m)
{
    char err[GV_ERRLEN];
    gv_problem *p;
    if (gv_problem_new(spec, &p, err)) fail_msg("%s: %s", spec, err);
    m->X = p->n_groups, m->N = p->group_units, m->C = p->n_outer / 2;
    m->integrated = !strstr(spec, "means=known") && !strstr(spec, "preset=representable");
    m->s = 1, m->sigma = 0.5, m->spacing = 2;
    const char *v;
    if ((v = strstr(spec, ",s="))) m->s = atof(v + 3);
    if ((v = strstr(spec, "sigma="))) m->sigma = atof(v + 6);
    if ((v = strstr(spec, "spacing="))) m->spacing = atof(v + 8);
    for (int c = 0; c < m->C; c++) m->pi[c] = 1.0 / m->C;
    if ((v = strstr(spec, "pi="))) {
        v += 3;
        for (int c = 0; c < m->C; c++) m->pi[c] = strtod(v, (char **)&v), v += *v == '/';
    }
    return p;
}

/* ------------------------------------------------------------------ likelihood */

static void test_likelihood(void **unused)
{
    n_bad = 0;
    const char *specs[] = {"cluster-posterior:N=6,C=3,s=1.5,sigma=0.7", "cluster-posterior:N=6,C=4,means=known",
                           "cluster-posterior:N=7,C=2,spacing=3,s=0.3,sigma=1.2,seed=4"};
    gsl_rng *r = gv_rng_new(gv_rng_default(), 3);
    double worst = 0;
    for (int k = 0; k < 3; k++) {
        model_t m;
        gv_problem *p = open_problem(specs[k], &m);
        double x[64];
        data_of(p, x);
        for (int rep = 0; rep < 200; rep++) {
            int z[64];
            for (int i = 0; i < m.N; i++) z[i] = (int)(gv_uniform(r) * m.C);
            const double a = p->type->ikl->log_lik(p, 0, z), b = direct_loglik(&m, x, z);
            worst = fmax(worst, fabs(a - b) / (1 + fabs(b)));
            CHECK(fabs(a - b) < 1e-10 * (1 + fabs(b)), "%s: log p(x|z) %.15g, direct %.15g", specs[k], a, b);
            double lp = 0;
            for (int i = 0; i < m.N; i++) lp += log(m.pi[z[i]]);
            CHECK(fabs(p->type->ikl->log_prior(p, 0, z) - lp) < 1e-12, "%s: log p(z)", specs[k]);
        }
        gv_problem_free(p);
    }
    gsl_rng_free(r);
    print_message("  log p(x|z) against the direct density: worst relative difference %.3g\n", worst);
    END_CHECKS();
}

/* ------------------------------------------------------------------ brute force */

/* KL, posterior marginals (cond layout), gradient and log p(x_g) by plain enumeration. */
static void brute(const gv_problem *p, const model_t *m, const gv_point *pt, double *value, double *cond,
                  double *grad, double *logpx)
{
    const int N = m->N, C = m->C;
    double x[256];
    data_of(p, x);
    long S = 1;
    for (int i = 0; i < N; i++) S *= C;
    double *lj = malloc(S * sizeof *lj);
    *value = 0;
    memset(cond, 0, p->layout.n_cond * sizeof *cond);
    for (int g = 0; g < m->X; g++) {
        int z[64];
        for (long s = 0; s < S; s++) {
            long t = s;
            for (int i = 0; i < N; i++) z[i] = t % C, t /= C;
            lj[s] = direct_loglik(m, x + g * N, z);
            for (int i = 0; i < N; i++) lj[s] += log(m->pi[z[i]]);
        }
        const double lz = gv_logsumexp(lj, (int)S);
        logpx[g] = lz;
        for (long s = 0; s < S; s++) {
            long t = s;
            for (int i = 0; i < N; i++) z[i] = t % C, t /= C;
            double lq = 0;
            for (int i = 0; i < N; i++) {
                const gv_unit *u = &p->layout.units[g * N + i];
                lq += log(pt->prob[u->param + z[i]]);
            }
            const double w = exp(lj[s] - lz);
            *value += w * (lj[s] - lz - lq);
            for (int i = 0; i < N; i++) cond[p->layout.units[g * N + i].cond + z[i]] += w;
        }
    }
    for (int u = 0; u < p->layout.n_units; u++) {
        const gv_unit *un = &p->layout.units[u];
        for (int c = 0; c < C; c++) grad[un->param + c] = pt->prob[un->param + c] - cond[un->cond + c];
    }
    free(lj);
}

static void test_brute_force(void **unused)
{
    n_bad = 0;
    const char *specs[] = {"cluster-posterior:X=2,N=4,C=3,seed=2", "cluster-posterior:X=2,N=5,C=2,means=known,sigma=0.8",
                           "cluster-posterior:X=2,N=4,C=4,pi=0.1/0.2/0.3/0.4,s=2,spacing=1.5"};
    double worst = 0;
    for (int k = 0; k < 3; k++) {
        model_t m;
        gv_problem *p = open_problem(specs[k], &m);
        gv_point pt;
        gv_exact ex;
        exact_at_eta0(p, &pt, &ex);
        double v, *cond = malloc(p->layout.n_cond * sizeof *cond), *grad = malloc(p->layout.n_params * sizeof *grad),
                  lpx[8];
        brute(p, &m, &pt, &v, cond, grad, lpx);
        double e = fabs(ex.value - v);
        CHECK(e < 1e-10, "%s: KL %.15g, brute force %.15g", specs[k], ex.value, v);
        for (int j = 0; j < p->layout.n_cond; j++) {
            e = fmax(e, fabs(ex.cond[j] - cond[j]));
            CHECK(fabs(ex.cond[j] - cond[j]) < 1e-10, "%s: marginal %d %.15g, brute %.15g", specs[k], j, ex.cond[j], cond[j]);
        }
        for (int j = 0; j < p->layout.n_params; j++) {
            e = fmax(e, fabs(ex.grad[j] - grad[j]));
            CHECK(fabs(ex.grad[j] - grad[j]) < 1e-10, "%s: grad %d %.15g, brute %.15g", specs[k], j, ex.grad[j], grad[j]);
        }
        for (int g = 0; g < m.X; g++) {
            const double l = p->type->ikl->log_marginal(p, g);
            e = fmax(e, fabs(l - lpx[g]) / (1 + fabs(lpx[g])));
            CHECK(fabs(l - lpx[g]) < 1e-10 * (1 + fabs(lpx[g])), "%s: log p(x_%d) %.15g, brute %.15g", specs[k], g, l,
                  lpx[g]);
        }
        worst = fmax(worst, e);
        print_message("  %-62s KL = %.6f, log p(x_0) = %.6f: == brute force\n", specs[k], ex.value, lpx[0]);
        free(cond), free(grad);
        gv_exact_free(&ex), gv_point_free(&pt), gv_problem_free(p);
    }
    print_message("  exact vs brute force: worst difference %.3g\n", worst);
    END_CHECKS();
}

/* ------------------------------------------------------------------ finite differences, presets, threads */

static double kl_at(const gv_problem *p, const double *eta) { return tk_exact_value(p, eta); }

static void test_finite_differences(void **unused)
{
    n_bad = 0;
    model_t m;
    gv_problem *p = open_problem("cluster-posterior:X=2,N=4,C=3,seed=7,phi=0.3/-0.2/0.1/0.5/0.05/-0.4", &m);
    const int P = p->layout.n_params, Q = p->n_outer;
    gv_point pt;
    gv_exact ex;
    exact_at_eta0(p, &pt, &ex);
    const double h = 1e-5;
    double *e = malloc(P * sizeof *e), worst = 0;
    memcpy(e, p->eta, P * sizeof *e);
    for (int j = 0; j < P; j++) {
        e[j] = p->eta[j] + h;
        const double up = kl_at(p, e);
        e[j] = p->eta[j] - h;
        const double dn = kl_at(p, e);
        e[j] = p->eta[j];
        const double fd = (up - dn) / (2 * h);
        worst = fmax(worst, fabs(fd - ex.grad[j]));
        CHECK(fabs(fd - ex.grad[j]) < 1e-7, "eta %d: exact %.10g, central difference %.10g", j, ex.grad[j], fd);
    }
    double gphi[32], phi[32], wp = 0;
    p->type->outer_vjp(p, ex.grad, gphi);
    memcpy(phi, p->phi, Q * sizeof *phi);
    for (int j = 0; j < Q; j++) {
        phi[j] = p->phi[j] + h, p->type->outer_map(p, phi, e);
        const double up = kl_at(p, e);
        phi[j] = p->phi[j] - h, p->type->outer_map(p, phi, e);
        const double dn = kl_at(p, e);
        phi[j] = p->phi[j];
        const double fd = (up - dn) / (2 * h);
        wp = fmax(wp, fabs(fd - gphi[j]));
        CHECK(fabs(fd - gphi[j]) < 1e-6 * (1 + fabs(gphi[j])), "phi %d: exact %.10g, central difference %.10g", j,
              gphi[j], fd);
    }
    print_message("  gradient vs central differences (h = 1e-5): worst |diff| %.3g (eta, %d coords), %.3g (phi, %d)\n",
                  worst, P, wp, Q);
    free(e);
    gv_exact_free(&ex), gv_point_free(&pt), gv_problem_free(p);
    END_CHECKS();
}

static void test_presets(void **unused)
{
    n_bad = 0;
    const char *specs[] = {"cluster-posterior:preset=representable", "cluster-posterior:preset=representable,X=3,C=4,N=6",
                           "cluster-posterior:preset=collapsed"};
    for (int k = 0; k < 3; k++) {
        model_t m;
        gv_problem *p = open_problem(specs[k], &m);
        gv_point pt;
        gv_exact ex;
        exact_at_eta0(p, &pt, &ex);
        double ge = 0, gp = 0, gphi[32];
        for (int j = 0; j < p->layout.n_params; j++) ge = fmax(ge, fabs(ex.grad[j]));
        p->type->outer_vjp(p, ex.grad, gphi);
        for (int j = 0; j < p->n_outer; j++) gp = fmax(gp, fabs(gphi[j]));
        if (k < 2) {
            CHECK(ge < 1e-10 && gp < 1e-10, "%s: max |grad| = %.3g (eta), %.3g (phi)", specs[k], ge, gp);
            CHECK(fabs(ex.value) < 1e-10, "%s: KL = %.3g", specs[k], ex.value);
        } else {
            CHECK(ex.value > 10, "%s: KL = %g, expected large", specs[k], ex.value);
        }
        print_message("  %-55s KL = %.4g, max |grad| = %.3g (eta), %.3g (phi)\n", specs[k], ex.value, ge, gp);
        gv_exact_free(&ex), gv_point_free(&pt), gv_problem_free(p);
    }
    END_CHECKS();
}

static void test_threads(void **unused)
{
    n_bad = 0;
    double val[2], lpx[2][4], *grad[2];
    for (int pass = 0; pass < 2; pass++) {
        omp_set_num_threads(pass + 1);
        model_t m;
        gv_problem *p = open_problem("cluster-posterior:X=4,N=7,C=3,seed=3", &m);
        gv_point pt;
        gv_exact ex;
        exact_at_eta0(p, &pt, &ex);
        val[pass] = ex.value;
        grad[pass] = malloc(p->layout.n_params * sizeof(double));
        memcpy(grad[pass], ex.grad, p->layout.n_params * sizeof(double));
        for (int g = 0; g < 4; g++) lpx[pass][g] = p->type->ikl->log_marginal(p, g);
        CHECK(pass == 0 || !memcmp(grad[0], grad[1], p->layout.n_params * sizeof(double)), "gradients differ");
        gv_exact_free(&ex), gv_point_free(&pt), gv_problem_free(p);
    }
    omp_set_num_threads(omp_get_num_procs());
    CHECK(!memcmp(val, val + 1, sizeof *val) && !memcmp(lpx[0], lpx[1], sizeof lpx[0]), "values differ: %.17g %.17g",
          val[0], val[1]);
    free(grad[0]), free(grad[1]);
    END_CHECKS();
}

/* ------------------------------------------------------------------ SMC */

/* R runs on target t of a group with log p(x) = lz: z of mean(Ẑ)/p(x) - 1 and worst z of the
 * Ẑ-weighted marginals (N x C) against post. */
static double smc_many(const gv_smc_target *t, const gv_smc_options *o, int R, uint64_t seed, double lz,
                       const double *post, int C, double *zm, double *mean_out)
{
    const int N = t->D, K = o->K;
    gv_smc_result res;
    assert_int_equal(gv_smc_result_alloc(&res, K, t), 0);
    gsl_rng *r = gv_rng_new(gv_rng_default(), seed);
    char err[GV_ERRLEN];
    double *q = malloc(R * sizeof *q), *mk = malloc((size_t)R * N * C * sizeof *mk), s = 0, s2 = 0;
    for (int i = 0; i < R; i++) {
        if (gv_smc_run(t, o, r, &res, err)) fail_msg("%s", err);
        q[i] = exp(res.log_z - lz), s += q[i], s2 += q[i] * q[i];
        double *mi = mk + (size_t)i * N * C;
        memset(mi, 0, N * C * sizeof *mi);
        for (int k = 0; k < K; k++)
            for (int d = 0; d < N; d++) mi[d * C + res.z[(size_t)k * N + d]] += exp(res.logw[k]);
    }
    const double mean = s / R, z = (mean - 1) / sqrt((s2 - R * mean * mean) / (R - 1) / R);
    *zm = 0;
    for (int j = 0; j < N * C; j++) {
        double num = 0, e2 = 0;
        for (int i = 0; i < R; i++) num += q[i] * mk[(size_t)i * N * C + j];
        const double est = num / s;
        for (int i = 0; i < R; i++) e2 += pow(q[i] * (mk[(size_t)i * N * C + j] - est), 2);
        /* delta-method s.e., floored by the binomial s.e. of R K independent posterior draws: for a
         * marginal ~1e-5 that few runs ever visit the delta-method s.e. (of ~0 visits) is meaningless */
        const double se = fmax(sqrt(e2) / s, sqrt(post[j] * (1 - post[j]) / ((double)R * K)));
        const double zj = se > 0 ? (est - post[j]) / se : (fabs(est - post[j]) < 1e-12 ? 0 : 1e9);
        if (fabs(zj) > fabs(*zm)) *zm = zj;
    }
    *mean_out = mean;
    free(q), free(mk);
    gsl_rng_free(r);
    gv_smc_result_free(&res);
    return z;
}

static void test_smc(void **unused)
{
    n_bad = 0;
    const char *specs[] = {"cluster-posterior:X=2,N=5,C=3,seed=2", "cluster-posterior:X=2,N=6,C=2,seed=5"};
    double worst = 0, wm = 0;
    for (int k = 0; k < 2; k++) {
        model_t m;
        gv_problem *p = open_problem(specs[k], &m);
        gv_point pt;
        gv_exact ex;
        exact_at_eta0(p, &pt, &ex);
        const int g = 1, N = m.N, C = m.C;
        double post[64 * 16];
        for (int i = 0; i < N; i++)
            for (int c = 0; c < C; c++) post[i * C + c] = ex.cond[p->layout.units[g * N + i].cond + c];
        const double lz = p->type->ikl->log_marginal(p, g);
        /* the problem's target, and the generic one built from its hooks (a copy of the type without smc_target) */
        gv_problem_type ty = *p->type;
        gv_ikl_hooks hk = *p->type->ikl;
        hk.smc_target = NULL, hk.smc_ctx_size = 0, ty.ikl = &hk;
        gv_problem pg = *p;
        pg.type = &ty;
        for (int which = 0; which < 2; which++) {
            const gv_problem *pp = which ? &pg : p;
            void *ctx = malloc(gv_ikl_smc_ctx_size(pp));
            gv_smc_target t;
            assert_int_equal(gv_ikl_smc_target(pp, g, ctx, &t), 0);
            CHECK(gv_smc_ncat(&t) == C && t.D == N, "%s: target with ncat %d, D %d", specs[k], t.ncat, t.D);
            CHECK(which || t.aux_dim == 4 * C, "problem's target has no cache");
            for (int kern = 0; kern < 2 - which; kern++) {
                gv_smc_options o;
                gv_smc_options_default(&o, 8);
                o.schedule = GV_SMC_LINEAR, o.T = 4, o.kernel = kern ? GV_SMC_METROPOLIS : GV_SMC_GIBBS;
                double zm, mean;
                const int R = 3000;
                const double z = smc_many(&t, &o, R, 40 + 4 * k + 2 * which + kern, lz, post, C, &zm, &mean);
                print_message("  %s, %s target, %s, K=8 linear T=4: E[Z^]/p(x) = %.4f (z = %+.2f); Z^-weighted "
                              "marginals worst z = %+.2f\n", specs[k], which ? "generic" : "problem's",
                              kern ? "metropolis" : "gibbs", mean, z, zm);
                CHECK(fabs(z) < 4.5, "%s: E[Z^]/p(x) z = %.2f", specs[k], z);
                CHECK(fabs(zm) < 4.5, "%s: marginal z = %.2f", specs[k], zm);
                worst = fmax(worst, fabs(z)), wm = fmax(wm, fabs(zm));
            }
            free(ctx);
        }
        gv_exact_free(&ex), gv_point_free(&pt), gv_problem_free(p);
    }
    print_message("  smc on cluster-posterior: worst |z| = %.2f (Z^), %.2f (marginals)\n", worst, wm);
    END_CHECKS();
}

static void test_fast_path(void **unused)
{
    n_bad = 0;
    const char *specs[] = {"cluster-posterior:X=2,N=9,C=4,seed=3", "cluster-posterior:N=8,C=2,means=known,seed=2"};
    gsl_rng *r = gv_rng_new(gv_rng_default(), 8);
    double worst = 0, wa = 0;
    for (int k = 0; k < 2; k++) {
        model_t m;
        gv_problem *p = open_problem(specs[k], &m);
        void *ctx = malloc(gv_ikl_smc_ctx_size(p));
        gv_smc_target t;
        assert_int_equal(gv_ikl_smc_target(p, p->n_groups - 1, ctx, &t), 0);
        int z[64];
        double aux[256], fresh[256];
        t.sample_prior(t.ctx, r, z);
        double ll = t.log_lik(t.ctx, z);
        t.aux_init(t.ctx, z, aux);
        for (int step = 0; step < 5000; step++) {
            const int d = (int)(gv_uniform(r) * m.N);
            int v = (int)(gv_uniform(r) * (m.C - 1));
            if (v >= z[d]) v++;
            const double lf = t.log_lik_set(t.ctx, z, d, v, ll, aux);
            t.aux_set(t.ctx, z, d, v, aux);
            z[d] = v, ll = lf;
            const double direct = t.log_lik(t.ctx, z);
            worst = fmax(worst, fabs(lf - direct) / fabs(direct));
            CHECK(fabs(lf - direct) <= 1e-10 * fabs(direct), "%s step %d: fast %.15g, direct %.15g", specs[k], step, lf,
                  direct);
            CHECK(fabs(direct - p->type->ikl->log_lik(p, p->n_groups - 1, z)) < 1e-12, "target and hook differ");
            t.aux_init(t.ctx, z, fresh);
            for (int j = 0; j < t.aux_dim; j++) wa = fmax(wa, fabs(aux[j] - fresh[j]));
        }
        CHECK(wa < 1e-9, "%s: cache drifted by %.3g", specs[k], wa);
        free(ctx);
        gv_problem_free(p);
    }
    gsl_rng_free(r);
    print_message("  fast path over 5000 random changes: worst relative |fast - direct| = %.3g, cache drift %.3g\n",
                  worst, wa);
    END_CHECKS();
}

static void test_sleep_hooks(void **unused)
{
    n_bad = 0;
    model_t m;
    gv_problem *p = open_problem("cluster-posterior:N=5,C=3,seed=4,phi=0.2/-0.1/0.4/0.3/-0.6/0.1", &m);
    const int N = m.N, C = m.C, Q = p->n_outer;
    gsl_rng *r = gv_rng_new(gv_rng_default(), 2);
    int z[64];
    double x[64], worst = 0;
    for (int rep = 0; rep < 20; rep++) {
        p->type->ikl->sample_joint(p, r, z, x);
        for (int i = 0; i < N; i++) CHECK(z[i] >= 0 && z[i] < C && isfinite(x[i]), "bad joint sample");
        double g[32] = {0}, phi[32];
        p->type->ikl->score_phi(p, p->phi, x, z, 2.0, g);
        memcpy(phi, p->phi, Q * sizeof *phi);
        for (int j = 0; j < Q; j++) {
            double l[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                phi[j] = p->phi[j] + (sgn ? -1e-5 : 1e-5);
                l[sgn] = 0;
                for (int i = 0; i < N; i++) {
                    double eta[16];
                    for (int c = 0; c < C; c++) eta[c] = phi[c] + phi[C + c] * x[i];
                    l[sgn] += eta[z[i]] - gv_logsumexp(eta, C);
                }
            }
            phi[j] = p->phi[j];
            const double fd = 2.0 * (l[0] - l[1]) / 2e-5;
            worst = fmax(worst, fabs(fd - g[j]));
            CHECK(fabs(fd - g[j]) < 1e-6 * (1 + fabs(g[j])), "score_phi %d: %.10g, central difference %.10g", j, g[j], fd);
        }
    }
    print_message("  score_phi vs central differences of log q_phi(z|x): worst %.3g\n", worst);
    gsl_rng_free(r);
    gv_problem_free(p);
    END_CHECKS();
}

static void test_options(void **unused)
{
    n_bad = 0;
    struct { const char *spec, *msg[4]; } bad[] = {
        {"cluster-posterior:N=13,C=3", {"C=3", "N=13", "1.594e+06", "limit 1000000"}},
        {"cluster-posterior:N=20,C=2", {"C=2", "N=20", "C^N", "limit"}},
        {"cluster-posterior:K=3", {"K", "valid", "sigma", NULL}},
        {"cluster-posterior:C=3,pi=0.5/0.3/0.1", {"pi=", "summing to 1", NULL, NULL}},
        {"cluster-posterior:C=3,pi=0.5/0.5", {"pi=", "C=3", NULL, NULL}},
        {"cluster-posterior:preset=nope", {"unknown preset", "representable", "collapsed", NULL}},
        {"cluster-posterior:means=unknown", {"means", "integrated", "known", NULL}},
        {"cluster-posterior:C=2,phi=1/2/3", {"phi=", "2C = 4", NULL, NULL}},
        {"cluster-posterior:C=1", {"C", NULL, NULL, NULL}},
        {"cluster-posterior:sigma=0", {"sigma", NULL, NULL, NULL}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[GV_ERRLEN] = "";
        gv_problem *p = NULL;
        const int rc = gv_problem_new(bad[i].spec, &p, err);
        CHECK(rc == GV_EUSAGE && !p, "%s: accepted (rc %d)", bad[i].spec, rc);
        for (int j = 0; j < 4 && bad[i].msg[j]; j++)
            CHECK(strstr(err, bad[i].msg[j]), "%s: message '%s' lacks '%s'", bad[i].spec, err, bad[i].msg[j]);
        print_message("  %-42s -> %s\n", bad[i].spec, err);
        gv_problem_free(p);
    }
    END_CHECKS();
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_likelihood), cmocka_unit_test(test_brute_force), cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_presets),    cmocka_unit_test(test_threads),     cmocka_unit_test(test_smc),
        cmocka_unit_test(test_fast_path),  cmocka_unit_test(test_sleep_hooks), cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
