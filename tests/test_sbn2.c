/* test_sbn2.c — hierarchical layouts (harness/core.c edges) and the two-layer sigmoid belief net
 * (problems/sbn.c, option D2).
 *   direct_sum    the nested enumeration (Gray code over z1, all z2 inside) against a direct sum over
 *                 every (z1, z2) written here: log p(x, z) from gv_sbn2_log_joint, log q from phi
 *                 (A x + a, a2 + B z1) with this file's sigmoid; ELBO, log p(x), E[f | z_u = v],
 *                 posterior marginals and the gradient sum_z q (f - E f) score (biases and edges);
 *                 includes a net whose z1 loop is cut into several blocks
 *   sampling      gv_sample's frequencies on a 16-state layout against q (chi-square, df 15), and
 *                 gv_sample_from_uniforms with the same uniforms gives the same draws
 *   score         gv_score_axpy against central differences of gv_log_q, every coordinate
 *   eta_fd/phi_fd the exact eta- and phi-gradients against central differences of the exact ELBO
 *   (threads: test_sbn.c checks the two-layer exact reference with 1 and 2 threads too)
 *   params        dump -> load -> dump byte-identical (V, b2, B, a2 included), same exact reference;
 *                 malformed second-layer files are usage errors naming what is wrong
 *   unbiased      every hierarchical-compatible unbiased estimator passes the Bonferroni z-test
 *                 (eta and phi rows) on a second two-layer net (the registry-wide test_unbiased.c
 *                 covers sbn:D=3,D2=2,P=5,N=2,enc_scale=0.5 at K = 1..4)
 *   ts_vs_leg     tokui-sato and leg are both unbiased on two layers, with variances that differ by
 *                 many standard errors (numbers printed; measured on sbn:D=4,D2=3,P=8,N=2,enc_scale=1,
 *                 K=1, R=20000: var_mean tokui-sato 0.008419 +- 2.6e-5, leg 0.1612 +- 6.5e-4, z of the
 *                 difference 233.6: leg's Markov-blanket weights keep the f level for layer-1 units,
 *                 which have children, while tokui-sato's common-random-number difference cancels it)
 *   incompatible  an estimator that assumes independent units is refused with the reason and the
 *                 list of the hierarchical-compatible estimators */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>

#include "harness/engine.h"
#include "harness/exact.h"
#include "harness/rng.h"
#include "problems/sbn.h"
#include "testkit.h"

static double sig(double x) { return 1 / (1 + exp(-x)); }

/* log q(z | x_n) from phi = (A, a, B, a2), computed here. */
static double log_q_phi(const gv_problem *p, int n, const int *z)
{
    gv_sbn_model m;
    int D2;
    const double *b2, *V;
    gv_sbn_get_model(p, &m), gv_sbn2_get_layer2(p, &D2, &b2, &V);
    const int D = m.D, P = m.P;
    const double *A = p->phi, *a = A + D * P, *B = a + D, *a2 = B + D2 * D, *x = m.x + (size_t)n * P;
    double lq = 0;
    for (int d = 0; d < D; d++) {
        double l = a[d];
        for (int j = 0; j < P; j++) l += A[d * P + j] * x[j];
        lq += log(z[d] ? sig(l) : 1 - sig(l));
    }
    for (int k = 0; k < D2; k++) {
        double l = a2[k];
        for (int d = 0; d < D; d++) l += B[k * D + d] * z[d];
        lq += log(z[D + k] ? sig(l) : 1 - sig(l));
    }
    return lq;
}

/* Direct sum over every z of data point n (U = D + D2 <= 20); the gradient in the same layout as
 * gv_sbn2_result.grad, from the score written here. */
static void direct_sum2(const gv_problem *p, int n, gv_sbn2_result *r)
{
    gv_sbn_model m;
    int D2;
    const double *b2, *V;
    gv_sbn_get_model(p, &m), gv_sbn2_get_layer2(p, &D2, &b2, &V);
    const int D = m.D, U = D + D2, P = m.P;
    const double *A = p->phi, *a = A + D * P, *B = a + D, *a2 = B + D2 * D, *x = m.x + (size_t)n * P;
    const long S = 1L << U;
    double *lj = malloc((size_t)S * sizeof *lj), *f = malloc((size_t)S * sizeof *f), *q = malloc((size_t)S * sizeof *q);
    assert_true(lj && f && q);
    int z[GV_SBN_MAXD];
    double M = -INFINITY, Ef = 0;
    for (long s = 0; s < S; s++) {
        for (int u = 0; u < U; u++) z[u] = (int)(s >> u & 1);
        const double lq = log_q_phi(p, n, z);
        lj[s] = gv_sbn2_log_joint(p, n, z), q[s] = exp(lq), f[s] = lj[s] - lq;
        M = fmax(M, lj[s]), Ef += q[s] * f[s];
    }
    double L = 0, Lm[GV_SBN_MAXD] = {0}, W1[GV_SBN_MAXD] = {0}, F1[GV_SBN_MAXD] = {0}, W0[GV_SBN_MAXD] = {0},
           F0[GV_SBN_MAXD] = {0};
    memset(r, 0, sizeof *r);
    double th1[GV_SBN_MAXD];
    for (int d = 0; d < D; d++) {
        double l = a[d];
        for (int j = 0; j < P; j++) l += A[d * P + j] * x[j];
        th1[d] = sig(l);
    }
    for (long s = 0; s < S; s++) {
        for (int u = 0; u < U; u++) z[u] = (int)(s >> u & 1);
        const double e = exp(lj[s] - M), c = q[s] * (f[s] - Ef);
        L += e;
        for (int u = 0; u < U; u++) {
            Lm[u] += z[u] * e;
            if (z[u]) W1[u] += q[s], F1[u] += q[s] * f[s];
            else W0[u] += q[s], F0[u] += q[s] * f[s];
        }
        for (int d = 0; d < D; d++) r->grad[d] += c * (z[d] - th1[d]);
        for (int k = 0; k < D2; k++) {
            double l = a2[k];
            for (int d = 0; d < D; d++) l += B[k * D + d] * z[d];
            const double sk = z[D + k] - sig(l);
            r->grad[D + k] += c * sk;
            for (int d = 0; d < D; d++) r->grad[U + k * D + d] += c * sk * z[d];
        }
    }
    r->elbo = Ef, r->logpx = M + log(L);
    for (int u = 0; u < U; u++) r->cond1[u] = F1[u] / W1[u], r->cond0[u] = F0[u] / W0[u], r->post[u] = Lm[u] / L;
    free(lj), free(f), free(q);
}

static const char *const small2[] = {
    "sbn:D=1,D2=1,P=1,N=2",
    "sbn:D=3,D2=2,P=5,N=2,enc_scale=0.5",
    "sbn:D=4,D2=4,P=9,N=2,scale=2,enc_scale=1.5,seed=4",
    "sbn:D=2,D2=6,P=3,N=1,seed=6,enc_scale=2",
    "sbn:D=6,D2=8,P=7,N=1,enc_scale=1,seed=9", /* z1 in 4 blocks of 2^4 */
};

static void test_direct_sum(void **unused)
{
    n_bad = 0;
    for (size_t i = 0; i < sizeof small2 / sizeof small2[0]; i++) {
        fixture fx;
        assert_int_equal(fx_open(&fx, small2[i]), 0);
        gv_sbn_model m;
        int D2;
        const double *b2, *V;
        gv_sbn_get_model(fx.p, &m), gv_sbn2_get_layer2(fx.p, &D2, &b2, &V);
        const int U = m.D + D2;
        double worst = 0, mean = 0;
        gv_sbn2_result *e = malloc(sizeof *e), *d = malloc(sizeof *d);
        for (int n = 0; n < m.N; n++) {
            assert_int_equal(gv_sbn2_enumerate(fx.p, n, fx.pt.eta, e), 0);
            direct_sum2(fx.p, n, d);
            mean += d->elbo / m.N;
            double w = fabs(e->elbo - d->elbo) / (1 + fabs(d->elbo));
            w = fmax(w, fabs(e->logpx - d->logpx) / (1 + fabs(d->logpx)));
            for (int u = 0; u < U; u++) {
                w = fmax(w, fabs(e->cond1[u] - d->cond1[u]) / (1 + fabs(d->cond1[u])));
                w = fmax(w, fabs(e->cond0[u] - d->cond0[u]) / (1 + fabs(d->cond0[u])));
                w = fmax(w, fabs(e->post[u] - d->post[u]));
            }
            for (int k = 0; k < U + D2 * m.D; k++) w = fmax(w, fabs(e->grad[k] - d->grad[k]) / (1 + fabs(d->elbo)));
            worst = fmax(worst, w);
            CHECK(e->logpx >= e->elbo, "%s n=%d: ELBO %.17g above log p(x) %.17g", small2[i], n, e->elbo, e->logpx);
        }
        print_message("  %-48s nested enumeration vs direct sum: worst relative difference %.3g\n", small2[i], worst);
        CHECK(worst < 1e-12, "%s: nested enumeration differs from the direct sum by %.3g", small2[i], worst);
        CHECK(fabs(fx.ex.value - mean) < 1e-12 * (1 + fabs(mean)), "%s: exact value %.17g, direct mean ELBO %.17g",
              small2[i], fx.ex.value, mean);
        CHECK(fx.ex.method == GV_EXACT_CLOSED, "%s: the problem's own exact_grad should be used", small2[i]);
        free(e), free(d);
        fx_close(&fx);
    }
    END_CHECKS();
}

static void test_sampling(void **unused)
{
    n_bad = 0;
    fixture fx; /* N = 1, D = 2, D2 = 2: 16 joint states, strongly coupled layers */
    assert_int_equal(fx_open(&fx, "sbn:D=2,D2=2,P=3,N=1,enc_scale=2,seed=5"), 0);
    for (int e = 0; e < fx.p->layout.n_edges; e++) fx.pt.eta[fx.p->layout.edges[e].param] = e % 2 ? 2.0 : -1.5;
    gv_point_set(&fx.pt, fx.pt.eta);
    const long R = 200000;
    long cnt[16] = {0};
    int z[4], z2[4];
    double u[4];
    gsl_rng *r = gv_rng_new(gv_rng_default(), 77), *r2 = gv_rng_new(gv_rng_default(), 77);
    int same = 1;
    for (long t = 0; t < R; t++) {
        gv_sample(&fx.pt, r, z);
        for (int i = 0; i < 4; i++) u[i] = gv_uniform(r2);
        gv_sample_from_uniforms(&fx.pt, u, 0, z2);
        same &= !memcmp(z, z2, sizeof z);
        cnt[z[0] | z[1] << 1 | z[2] << 2 | z[3] << 3]++;
    }
    CHECK(same, "gv_sample and gv_sample_from_uniforms with the same uniforms differ");
    double chi2 = 0, qs = 0;
    for (int s = 0; s < 16; s++) {
        for (int i = 0; i < 4; i++) z[i] = s >> i & 1;
        /* q from the edge list, computed here */
        double lq = 0;
        for (int i = 0; i < 4; i++) {
            double l = fx.pt.eta[fx.p->layout.units[i].param];
            for (int e = 0; e < fx.p->layout.n_edges; e++)
                if (fx.p->layout.edges[e].child == i && z[fx.p->layout.edges[e].parent]) l += fx.pt.eta[fx.p->layout.edges[e].param];
            lq += log(z[i] ? sig(l) : 1 - sig(l));
        }
        CHECK(fabs(lq - gv_log_q(&fx.pt, z)) < 1e-13, "state %d: gv_log_q %.17g, here %.17g", s, gv_log_q(&fx.pt, z), lq);
        const double ex = R * exp(lq);
        qs += exp(lq);
        chi2 += (cnt[s] - ex) * (cnt[s] - ex) / ex;
    }
    const double pval = gsl_cdf_chisq_Q(chi2, 15);
    print_message("  ancestral sampling, 16 states, R = %ld: chi-square %.2f (df 15), p = %.3g; sum q = %.15f\n", R, chi2,
                  pval, qs);
    CHECK(pval > 1e-4, "sampling frequencies do not follow q: chi-square %.2f, p = %.3g", chi2, pval);
    CHECK(fabs(qs - 1) < 1e-14, "q sums to %.17g", qs);
    gsl_rng_free(r), gsl_rng_free(r2);
    fx_close(&fx);
    END_CHECKS();
}

static void test_score(void **unused)
{
    n_bad = 0;
    fixture fx;
    assert_int_equal(fx_open(&fx, "sbn:D=3,D2=2,P=4,N=2,enc_scale=1"), 0);
    const gv_layout *L = &fx.p->layout;
    const int NP = L->n_params, NU = L->n_units;
    double *g = malloc((size_t)NP * sizeof *g), *eta = malloc((size_t)NP * sizeof *eta);
    int *z = malloc((size_t)NU * sizeof *z);
    gsl_rng *r = gv_rng_new(gv_rng_default(), 5);
    gv_point pt;
    assert_int_equal(gv_point_init(&pt, L, fx.pt.eta), 0);
    double worst = 0;
    for (int rep = 0; rep < 20; rep++) {
        gv_sample(&fx.pt, r, z);
        memset(g, 0, (size_t)NP * sizeof *g);
        gv_score_axpy(&fx.pt, z, 1.0, g);
        for (int q = 0; q < NP; q++) {
            const double h = 1e-6;
            memcpy(eta, fx.pt.eta, (size_t)NP * sizeof *eta);
            eta[q] += h, gv_point_set(&pt, eta);
            const double lp = gv_log_q(&pt, z);
            eta[q] -= 2 * h, gv_point_set(&pt, eta);
            const double lm = gv_log_q(&pt, z);
            worst = fmax(worst, fabs((lp - lm) / (2 * h) - g[q]));
        }
    }
    print_message("  hierarchical score (%d coordinates, %d of them edges) vs central differences of log q: %.3g\n", NP,
                  L->n_edges, worst);
    CHECK(worst < 1e-8, "score vs finite differences of log q: %.3g", worst);
    gv_point_free(&pt);
    gsl_rng_free(r);
    free(g), free(eta), free(z);
    fx_close(&fx);
    END_CHECKS();
}

/* Central differences of the exact ELBO in eta (in_phi = 0) or in phi (mapped to eta by outer_map)
 * against the exact gradient g of the same coordinates; the worst absolute difference. */
static double fd_worst(const fixture *fx, int in_phi, const double *g)
{
    const int NP = fx->p->layout.n_params, n = in_phi ? fx->p->n_outer : NP;
    double *x = malloc((size_t)n * sizeof *x), *eta = malloc((size_t)NP * sizeof *eta), worst = 0, v[2];
    const double h = 1e-5;
    /* truncation ~ h^2 f''' ~ 1e-10, rounding ~ 1e-16 |f| / h ~ 1e-10 */
    for (int k = 0; k < n; k++) {
        for (int side = 0; side < 2; side++) {
            memcpy(x, in_phi ? fx->p->phi : fx->pt.eta, (size_t)n * sizeof *x);
            x[k] += side ? -h : h;
            if (in_phi) fx->p->type->outer_map(fx->p, x, eta);
            v[side] = tk_exact_value(fx->p, in_phi ? eta : x);
        }
        const double fd = (v[0] - v[1]) / (2 * h);
        worst = fmax(worst, fabs(fd - g[k]));
        CHECK(fabs(fd - g[k]) < 1e-7, "%s[%d]%s: exact %.12g, finite difference %.12g", in_phi ? "phi" : "eta", k,
              !in_phi && k >= fx->p->layout.n_unit_params ? " (edge)" : "", g[k], fd);
    }
    free(x), free(eta);
    return worst;
}

static void test_eta_phi_fd(void **unused)
{
    n_bad = 0;
    fixture fx;
    assert_int_equal(fx_open(&fx, "sbn:D=4,D2=3,P=7,N=2,enc_scale=0.8,seed=5"), 0);
    double *g = malloc((size_t)fx.p->n_outer * sizeof *g);
    fx.p->type->outer_vjp(fx.p, fx.ex.grad, g);
    const double we = fd_worst(&fx, 0, fx.ex.grad), wp = fd_worst(&fx, 1, g);
    print_message("  d ELBO / d eta (%d coordinates, %d edges): worst |exact - central difference| %.3g; "
                  "d / d phi (%d): %.3g\n", fx.p->layout.n_params, fx.p->layout.n_edges, we, fx.p->n_outer, wp);
    free(g);
    fx_close(&fx);
    END_CHECKS();
}

/* f~ of the two-layer net: equal to f (bit for bit: one formula) at every vertex of one data point's
 * cube (the other point random), and grad f~ against central differences of f~ at random interior
 * points; the edge slots of the gradient are 0. */
static void test_ftilde(void **unused)
{
    n_bad = 0;
    fixture fx;
    assert_int_equal(fx_open(&fx, "sbn:D=3,D2=2,P=6,N=2,enc_scale=0.8,seed=7"), 0);
    const gv_problem *p = fx.p;
    const int NU = p->layout.n_units, NP = p->layout.n_params, U = NU / 2;
    int *z = malloc((size_t)NU * sizeof *z);
    double *y = calloc((size_t)NP, sizeof *y), *g = malloc((size_t)NP * sizeof *g), worst = 0;
    gsl_rng *r = gv_rng_new(gv_rng_default(), 11);
    for (int i = 0; i < NU; i++) z[i] = gsl_rng_uniform(r) < 0.5;
    int vert = 0;
    for (int m = 0; m < 1 << U; m++, vert++) {
        for (int u = 0; u < U; u++) z[u] = m >> u & 1;
        for (int i = 0; i < NU; i++) y[i] = z[i];
        const double f = gv_problem_f(p, &fx.pt, z), ft = gv_problem_ftilde(p, &fx.pt, y);
        CHECK(f == ft, "vertex %d: f %.17g, f~ %.17g", m, f, ft);
    }
    const double h = 1e-5;
    for (int rep = 0; rep < 5; rep++) {
        for (int i = 0; i < NU; i++) y[i] = gsl_rng_uniform(r);
        for (int q = NU; q < NP; q++) y[q] = 0;
        for (int q = 0; q < NP; q++) g[q] = NAN;
        gv_problem_grad_ftilde(p, &fx.pt, y, g);
        for (int q = NU; q < NP; q++) CHECK(g[q] == 0, "edge slot %d of grad f~: %g", q, g[q]);
        for (int i = 0; i < NU; i++) {
            const double y0 = y[i];
            y[i] = y0 + h;
            const double fp = gv_problem_ftilde(p, &fx.pt, y);
            y[i] = y0 - h;
            const double fm = gv_problem_ftilde(p, &fx.pt, y);
            y[i] = y0;
            const double fd = (fp - fm) / (2 * h);
            worst = fmax(worst, fabs(fd - g[i]));
            CHECK(fabs(fd - g[i]) < 1e-7, "grad f~[%d] %.12g, central difference %.12g", i, g[i], fd);
        }
    }
    print_message("  f~ == f at %d vertices; grad f~ vs central differences (5 points x %d units): worst %.3g\n", vert,
                  NU, worst);
    gsl_rng_free(r);
    free(z), free(y), free(g);
    fx_close(&fx);
    END_CHECKS();
}

/* Write the lines of src except those starting with `drop` (NULL: none), then `extra`, to dst. */
static void filtered(const char *src, const char *dst, const char *drop, const char *extra)
{
    FILE *i = fopen(src, "r"), *o = fopen(dst, "w");
    assert_true(i && o);
    char buf[512];
    while (fgets(buf, sizeof buf, i))
        if (!drop || strncmp(buf, drop, strlen(drop))) fputs(buf, o);
    if (extra) fputs(extra, o);
    fclose(i), fclose(o);
}

static void test_params(void **unused)
{
    n_bad = 0;
    char p1[] = "/tmp/gv_sbn2_p1XXXXXX", p2[] = "/tmp/gv_sbn2_p2XXXXXX", p3[] = "/tmp/gv_sbn2_p3XXXXXX";
    close(mkstemp(p1)), close(mkstemp(p2)), close(mkstemp(p3));
    fixture a, b;
    assert_int_equal(fx_open(&a, "sbn:D=4,D2=3,P=6,N=3,seed=8,scale=2,enc_scale=0.7"), 0);
    assert_int_equal(tk_dump_params(a.p, p1), 0);
    char spec[160], err[GV_ERRLEN];
    snprintf(spec, sizeof spec, "sbn:params=%s,N=3,seed=8", p1);
    assert_int_equal(fx_open(&b, spec), 0);
    assert_int_equal(tk_dump_params(b.p, p2), 0);
    CHECK(tk_same_file(p1, p2), "two layers: dump -> load -> dump is not byte-identical (%s, %s)", p1, p2);
    CHECK(a.ex.value == b.ex.value && !memcmp(a.ex.grad, b.ex.grad, (size_t)a.p->layout.n_params * sizeof(double)),
          "loaded problem: exact %.17g vs %.17g", b.ex.value, a.ex.value);
    CHECK(b.p->layout.n_edges == 3 * 3 * 4, "loaded problem has %d edges, expected N D2 D = 36", b.p->layout.n_edges);
    fx_close(&b);
    /* malformed second layers: usage errors naming the problem */
    static const struct { const char *drop, *extra, *want; } bad[] = {
        {"V,", NULL, "needs V (D x D2 = 4 x 3) and b2 (D2) together"},
        {"b2,", NULL, "needs V (D x D2 = 4 x 0) and b2"},
        {"a2,", NULL, "B must be D2 x D = 3 x 4 and a2 D2"},
        {"B,2,3,", NULL, "B entry 11 (row 2) is missing"},
        {NULL, "V,0,0,1\n", "V[0][0] is given twice"},
        {NULL, "b2,0,1,0.5\n", "b2 is a vector: col must be 0"},
        {NULL, "a2,x,0,1\n", "expected a2,ROW,COL,VALUE"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        filtered(p1, p3, bad[i].drop, bad[i].extra);
        snprintf(spec, sizeof spec, "sbn:params=%s", p3);
        gv_problem *q = NULL;
        const int rc = gv_problem_new(spec, &q, err);
        CHECK(rc == GV_EUSAGE && strstr(err, bad[i].want), "malformed file %zu: rc %d, message '%s' lacks '%s'", i, rc,
              rc ? err : "-", bad[i].want);
        if (!rc) gv_problem_free(q);
    }
    gv_problem *q = NULL;
    snprintf(spec, sizeof spec, "sbn:params=%s,D2=2", p1);
    CHECK(gv_problem_new(spec, &q, err) == GV_EUSAGE && strstr(err, "D2 comes from the params file"), "D2 with params=");
    CHECK(gv_problem_new("sbn:D=12,D2=9", &q, err) == GV_EUSAGE && strstr(err, "D + D2 = 12 + 9"), "D + D2 > 20: %s", err);
    fx_close(&a);
    unlink(p1), unlink(p2), unlink(p3);
    END_CHECKS();
}

/* ------------------------------------------------------------------ estimators */

#define FAMILY_ALPHA 1e-3
#define SEED 20240607ULL
static const char *const z_spec = "sbn:D=4,D2=3,P=8,N=2,enc_scale=1";

/* Bonferroni threshold over every eta and phi coordinate of the unbiased estimators compatible with
 * fx at K = 2 (layerwise_only: of the layerwise ones). */
static double family_threshold(const fixture *fx, int layerwise_only)
{
    char err[GV_ERRLEN];
    long m = 0;
    for (const gv_estimator_type *const *t = gv_estimator_types; *t; t++)
        if (!(*t)->biased && (!layerwise_only || (*t)->layerwise) && gv_estimator_compatible(*t, fx->p, 2, err) == 0)
            m += fx->p->layout.n_params + fx->p->n_outer;
    return gsl_cdf_ugaussian_Qinv(FAMILY_ALPHA / (2.0 * (double)m));
}

static void test_unbiased_two_layer(void **unused)
{
    n_bad = 0;
    fixture fx;
    assert_int_equal(fx_open(&fx, z_spec), 0);
    char err[GV_ERRLEN];
    const double zs = family_threshold(&fx, 0);
    int n_est = 0;
    for (const gv_estimator_type *const *t = gv_estimator_types; *t; t++) {
        if (gv_estimator_compatible(*t, fx.p, 2, err)) {
            CHECK(!(*t)->hierarchical, "%s declares hierarchical but is incompatible: %s", (*t)->name, err);
            continue;
        }
        if ((*t)->biased) continue;
        n_est++;
        gv_engine_opts o = {.R = 20000, .W = 1000, .seed = SEED, .rng = gv_rng_default(), .timing = 0};
        gv_row row;
        assert_int_equal(gv_run_cell(fx.p, &fx.pt, &fx.ex, (*t)->name, 2, &o, 0, &row, err), GV_OK);
        CHECK(!strcmp(row.status, "ok") && row.outer, "%s: status %s: %s", (*t)->name, row.status, row.message);
        const double z = row.s.bias_z_max, zo = row.outer ? row.outer->s.bias_z_max : NAN;
        print_message("  %-16s K=2  eta: bias_z_max %6.3f  var_mean %.4g   phi: bias_z_max %6.3f  (z* %.3f)\n",
                      (*t)->name, z, row.s.var_mean, zo, zs);
        CHECK(z < zs && zo < zs, "%s on %s: bias_z_max eta %.3f, phi %.3f >= z* %.3f", (*t)->name, z_spec, z, zo, zs);
        gv_row_free(&row);
    }
    CHECK(n_est >= 6, "only %d hierarchical-compatible unbiased estimators", n_est);
    fx_close(&fx);
    END_CHECKS();
}

static void test_ts_vs_leg(void **unused)
{
    n_bad = 0;
    fixture fx;
    assert_int_equal(fx_open(&fx, z_spec), 0);
    char err[GV_ERRLEN];
    gv_engine_opts o = {.R = 20000, .W = 0, .seed = SEED + 1, .rng = gv_rng_default(), .timing = 0};
    gv_row ts, leg;
    assert_int_equal(gv_run_cell(fx.p, &fx.pt, &fx.ex, "tokui-sato", 1, &o, 0, &ts, err), GV_OK);
    assert_int_equal(gv_run_cell(fx.p, &fx.pt, &fx.ex, "leg", 1, &o, 0, &leg, err), GV_OK);
    CHECK(!strcmp(ts.status, "ok") && !strcmp(leg.status, "ok"), "%s / %s", ts.message, leg.message);
    const double z = (leg.s.var_mean - ts.s.var_mean) / hypot(leg.s.var_mean_se, ts.s.var_mean_se);
    print_message("  %s K=1 R=%ld: var_mean tokui-sato %.4g +- %.2g, leg %.4g +- %.2g; z of the difference %.1f; "
                  "bias_z_max %.2f / %.2f (eta), %.2f / %.2f (phi)\n", z_spec, o.R, ts.s.var_mean, ts.s.var_mean_se,
                  leg.s.var_mean, leg.s.var_mean_se, z, ts.s.bias_z_max, leg.s.bias_z_max, ts.outer->s.bias_z_max,
                  leg.outer->s.bias_z_max);
    /* both unbiased: the same per-family threshold as above, for 2 estimators x (eta + phi) coordinates */
    const double zs = gsl_cdf_ugaussian_Qinv(FAMILY_ALPHA / (2.0 * 2 * (fx.p->layout.n_params + fx.p->n_outer)));
    CHECK(ts.s.bias_z_max < zs && leg.s.bias_z_max < zs && ts.outer->s.bias_z_max < zs && leg.outer->s.bias_z_max < zs,
          "tokui-sato / leg bias_z_max above z* %.3f", zs);
    /* different estimators: a difference of many standard errors (measured 233.6; 10 is far beyond chance) */
    CHECK(fabs(z) > 10, "tokui-sato and leg variances differ by only %.2f standard errors", z);
    gv_row_free(&ts), gv_row_free(&leg);
    fx_close(&fx);
    END_CHECKS();
}

/* The layer-wise driver (estimators/layerwise.c) on a tiny two-layer net at large R: every layerwise
 * unbiased estimator's mean matches the exact eta- and phi-gradients (Bonferroni over their
 * coordinates), and the biased relaxations (tau = 1) are far above the same threshold there, so the
 * z statistic has the power to see a bias of their size; f evaluations per estimate are the
 * factorised cost on each of the two layers. */
#define LW_R 100000L
static const char *const lw_spec = "sbn:D=2,D2=2,P=3,N=2,enc_scale=1,seed=3";

static void test_layerwise(void **unused)
{
    n_bad = 0;
    fixture fx;
    assert_int_equal(fx_open(&fx, lw_spec), 0);
    char err[GV_ERRLEN];
    CHECK(gv_layout_layers(&fx.p->layout) == 2, "%s: %d layers", lw_spec, gv_layout_layers(&fx.p->layout));
    const double zs = family_threshold(&fx, 1);
    int n_unb = 0, n_bia = 0;
    for (const gv_estimator_type *const *t = gv_estimator_types; *t; t++) {
        if (!(*t)->layerwise) continue;
        const int K = 2;
        gv_engine_opts o = {.R = LW_R, .W = 1000, .seed = SEED + 2, .rng = gv_rng_default(), .timing = 0};
        gv_row row;
        assert_int_equal(gv_run_cell(fx.p, &fx.pt, &fx.ex, (*t)->name, K, &o, 0, &row, err), GV_OK);
        CHECK(!strcmp(row.status, "ok") && row.outer, "%s: status %s: %s", (*t)->name, row.status, row.message);
        if (strcmp(row.status, "ok") || !row.outer) continue;
        const double z = row.s.bias_z_max, zo = row.outer->s.bias_z_max;
        print_message("  %-16s K=2 R=%ld  eta: bias_z_max %7.3f   phi: bias_z_max %7.3f  (z* %.3f)  f_evals %g\n",
                      (*t)->name, LW_R, z, zo, zs, row.s.f_evals);
        if ((*t)->biased) {
            n_bia++;
            CHECK(fmax(z, zo) > zs, "biased %s not detected on %s: bias_z_max %.3f / %.3f <= z* %.3f", (*t)->name,
                  lw_spec, z, zo, zs);
        } else {
            n_unb++;
            CHECK(z < zs && zo < zs, "%s on %s: bias_z_max eta %.3f, phi %.3f >= z* %.3f", (*t)->name, lw_spec, z,
                  zo, zs);
            if (!strcmp((*t)->cost, "K")) CHECK(row.s.f_evals == 2 * K, "%s: %g f evaluations per estimate, not 2 K",
                                                (*t)->name, row.s.f_evals);
        }
        gv_row_free(&row);
    }
    CHECK(n_unb >= 9 && n_bia >= 4, "%d unbiased and %d biased layerwise estimators", n_unb, n_bia);
    fx_close(&fx);
    END_CHECKS();
}

/* reinforce-optimal on a hierarchical layout (baselines by joint enumeration, estimators/reinforce.c):
 * at K = 1 each coordinate's variance is V_p(c) = E[(f - c)^2 s_p^2] - g_p^2, minimal at
 * c_p = E[f s_p^2] / E[s_p^2].  This file's own enumeration gives V_p(c_p) and V_p(E f); the
 * estimator's empirical per-coordinate variances (R = 50000) must match V_p(c_p) within 6 standard
 * errors of a variance estimate (from the exact fourth moment), and sum_p V_p(c_p) <= sum_p V_p(E f)
 * (the reinforce-mean oracle's). */
static void test_optimal_baseline(void **unused)
{
    n_bad = 0;
    fixture fx;
    assert_int_equal(fx_open(&fx, "sbn:D=3,D2=2,P=5,N=2,enc_scale=0.5"), 0);
    const gv_point *pt = &fx.pt;
    const int U = fx.p->layout.n_units, P = fx.p->layout.n_params;
    int z[32];
    double *s = malloc((size_t)P * sizeof *s), *mom = calloc((size_t)P * 6, sizeof *mom), Ef = fx.ex.value;
    /* mom, per p: E s^2, E f s^2 (pass 1), then E (f-c_p)^2 s^2, E (f-c_p)^4 s^4, E (f-Ef)^2 s^2 (pass 2) */
    for (int pass = 0; pass < 2; pass++)
        for (long m = 0; m < 1L << U; m++) {
            for (int i = 0; i < U; i++) z[i] = (int)(m >> i & 1);
            const double q = exp(gv_log_q(pt, z)), f = gv_problem_f(fx.p, pt, z);
            memset(s, 0, (size_t)P * sizeof *s);
            gv_score_axpy(pt, z, 1.0, s);
            for (int k = 0; k < P; k++) {
                double *M = mom + (size_t)k * 6, s2 = s[k] * s[k];
                if (!pass) {
                    M[0] += q * s2, M[1] += q * f * s2;
                    continue;
                }
                const double c = M[1] / M[0], d = (f - c) * (f - c) * s2;
                M[3] += q * d, M[4] += q * d * d, M[5] += q * (f - Ef) * (f - Ef) * s2;
            }
        }
    gv_engine_opts o = {.R = 50000, .W = 0, .seed = SEED + 3, .rng = gv_rng_default(), .timing = 0};
    gv_row row;
    char err[GV_ERRLEN];
    assert_int_equal(gv_run_cell(fx.p, pt, &fx.ex, "reinforce-optimal", 1, &o, 1, &row, err), GV_OK);
    CHECK(!strcmp(row.status, "ok") && row.coord_var, "status %s: %s", row.status, row.message);
    double vo = 0, vm = 0, worst = 0;
    for (int k = 0; row.coord_var && k < P; k++) {
        const double *M = mom + (size_t)k * 6, g = fx.ex.grad[k];
        /* X = (f - c_p) s_p: Var X = E X^2 - g^2; the SE of its estimate ~ sqrt(Var(X^2) / R) */
        const double V = M[3] - g * g, se = sqrt(fmax(M[4] - M[3] * M[3], 0) / o.R) + 1e-300;
        const double zv = fabs(row.coord_var[k] - V) / se;
        worst = fmax(worst, zv);
        CHECK(zv < 6, "coordinate %d: empirical variance %.6g, exact V_p(c_p) %.6g (%.2f SE)", k, row.coord_var[k], V, zv);
        vo += V, vm += M[5] - g * g;
    }
    print_message("  reinforce-optimal K=1 on the registry's two-layer net: sum_p V_p(c_p) %.6g <= sum_p V_p(E f) %.6g; "
                  "empirical per-coordinate variances within %.2f SE of V_p(c_p)\n", vo, vm, worst);
    CHECK(vo <= vm, "sum of optimal-baseline variances %.6g > that of the mean baseline %.6g", vo, vm);
    gv_row_free(&row);
    free(s), free(mom);
    fx_close(&fx);
    END_CHECKS();
}

/* An estimator type declaring neither hierarchical nor layerwise (a test double, never run). */
static const gv_estimator_type factorised_only = {.name = "factorised-only", .objective = GV_OBJ_EXPECTATION,
                                                  .units = GV_UNIT_BERNOULLI, .needs = GV_NEED_F, .min_K = 1,
                                                  .K_multiple = 1};

static void test_incompatible(void **unused)
{
    n_bad = 0;
    fixture fx;
    assert_int_equal(fx_open(&fx, "sbn:D=2,D2=1,P=3,N=1"), 0);
    char err[GV_ERRLEN];
    CHECK(gv_estimator_compatible(&factorised_only, fx.p, 2, err) == -1 && strstr(err, "assumes independent units") &&
              strstr(err, "leg, reinforce, reinforce-ema, reinforce-mean, reinforce-optimal, rloo, tokui-sato") &&
              strstr(err, "layer by layer: ar, arm, arms, arms-normal, disarm, double-cv"),
          "an estimator for factorised layouts only: %s", err);
    gv_engine_opts o = {.R = 10, .W = 0, .seed = 1, .rng = gv_rng_default(), .timing = 0};
    gv_row row;
    /* an estimator for factorised layouts runs through the layer-wise driver */
    assert_int_equal(gv_run_cell(fx.p, &fx.pt, &fx.ex, "disarm", 2, &o, 0, &row, err), GV_OK);
    CHECK(!strcmp(row.status, "ok"), "disarm on a hierarchical layout: status %s, message %s", row.status, row.message);
    gv_row_free(&row);
    fx_close(&fx);
    /* reinforce-optimal's joint enumeration has a size limit */
    assert_int_equal(fx_open(&fx, "sbn:D=4,D2=3,P=3,N=3"), 0);
    assert_int_equal(gv_run_cell(fx.p, &fx.pt, &fx.ex, "reinforce-optimal", 2, &o, 0, &row, err), GV_OK);
    CHECK(!strcmp(row.status, "incompatible") && strstr(row.message, "enumerates the joint support") &&
              strstr(row.message, "2.097e+06 joint states, above 65536"),
          "reinforce-optimal on 2^21 joint states: status %s, message %s", row.status, row.message);
    gv_row_free(&row);
    fx_close(&fx);
    END_CHECKS();
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_sum),  cmocka_unit_test(test_sampling),           cmocka_unit_test(test_score),
        cmocka_unit_test(test_eta_phi_fd),  cmocka_unit_test(test_ftilde),            cmocka_unit_test(test_params),
        cmocka_unit_test(test_incompatible), cmocka_unit_test(test_unbiased_two_layer), cmocka_unit_test(test_ts_vs_leg),
        cmocka_unit_test(test_layerwise),          cmocka_unit_test(test_optimal_baseline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
