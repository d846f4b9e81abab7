/* test_exact.c — the exact reference (harness/exact.c and the problems' closed forms).
 *
 *  - every problem with a closed form: closed form == enumeration (value, conditional means,
 *    gradient), at sizes where enumeration is feasible (up to 1e6 states);
 *  - an independent brute force written here (own mixed-radix loop, own sigmoid / softmax, GSL's
 *    pdfs and the CATALOGUE score formulas for count units, the
 *    naive sum  grad = sum_z q(z) f(z) score(z)) agrees with gv_exact_compute on every problem
 *    of a small-spec table that covers the whole registry (bernoulli-coupled has no closed form:
 *    this is its only independent check);
 *  - hand formulas: bernoulli-quadratic  dE/deta_i = theta_i (1-theta_i)(1-2t)/D,
 *    categorical-linear  dE/dl_dj = pi_dj (F_dj - sum_c pi_dc F_dc);
 *  - logits of +-50 (and +-300) give finite values matching the hand formula coordinate by
 *    coordinate (relative to each coordinate's own size, which is ~e^-50 for the saturated units);
 *  - enumeration above the limit is a usage error naming the limit.
 *
 * Tolerances: both sides are deterministic double computations of the same sums over at most
 * 1e6 terms of one sign (enumeration weights are positive), so they agree to ~1e-13 relative to
 * the size of the conditional means; 1e-10 leaves three decades of room. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>

#include "harness/exact.h"

#define GV_TESTKIT_NO_FIXTURE
#include "tests/testkit.h"

#define TOL 1e-10

/* Small specs covering every registered problem (test_registry_covered enforces it). */
static const char *const specs[] = {
    "bernoulli-coupled:D=1,seed=2",
    "bernoulli-coupled:D=3,seed=5,scale=2",
    "bernoulli-coupled:D=8",
    "bernoulli-coupled:D=12,seed=7,p=0.05/0.5/0.9/0.2/0.3/0.4/0.6/0.7/0.8/0.1/0.95/0.5",
    "bernoulli-quadratic:D=1,t=0.45",
    "bernoulli-quadratic:preset=d1-t0.499",
    "bernoulli-quadratic:D=6,t=0.3,p=0.2/0.5/0.7/0.1/0.9/0.35",
    "bernoulli-quadratic:D=10,t=-0.4,p=0.3",
    "bernoulli-shared",
    "bernoulli-shared:t=0.2/0.9/0.5/0.1,logit=-1.5",
    "categorical-abs:D=2,C=3,seed=4",
    "categorical-abs:D=4,C=5",
    "categorical-abs:preset=d12c3",
    "categorical-abs:preset=d6c10",
    "categorical-abs:preset=d3c100",
    "categorical-arsm",
    "categorical-coupled",
    "categorical-coupled:D=4,C=3/4/2/5,seed=3,scale=2",
    "sbn:D=4,P=6,N=2",
    "sbn:D=3,P=9,N=3,seed=4,scale=3,enc_scale=1",
    /* two latent layers: a hierarchical layout (edges), its own exact_grad vs the generic enumeration
     * and the brute force below */
    "sbn:D=3,D2=2,P=5,N=2,enc_scale=0.5",
    "sbn:D=2,D2=3,P=4,N=1,seed=3,scale=2,enc_scale=1.5",
    "categorical-arsm:C=5,R=2,p=0.5/0.2/0.1/0.1/0.1",
    "categorical-linear:D=3,C=4",
    "categorical-linear:D=2,C=3,alpha=0.1,seed=9",
    "categorical-linear:D=2,C=3,p=0.2/0.3/0.5/0.6/0.3/0.1",
    "categorical-linear:D=4,C=3,alpha=100,F=1/-2/3/0.5/0/0/7/7/-7/2/4/8",
    "categorical-linear:D=2,C=4,alpha=0.001,seed=3", /* near-degenerate pi (classes ~1e-300) */
    /* inclusive KL: here for the registry-coverage check only (no f, no closed form to compare); their
     * exact references are tested against direct sums in test_ikl.c and test_cluster.c */
    "cluster-posterior:X=2,N=4,C=3",
    "sbn-posterior:D=3,P=5,N=2,enc_scale=0.5",
    /* count units: the four GenGS presets, every f variant, several units with distinct targets,
     * extreme rate / probability; default support caps (tail <= 1e-12 at twice the mean) */
    "count-quadratic:preset=poisson5",
    "count-quadratic:preset=binomial20",
    "count-quadratic:preset=geometric,f=sqrt",
    "count-quadratic:preset=negbin3,D=2",
    "count-quadratic:family=poisson,rate=0.001,f=linear",
    "count-quadratic:family=poisson,rate=40,D=2,t=30/45",
    "count-quadratic:family=binomial,N=7,q=0.9,D=3,f=square",
    "count-quadratic:family=binomial,N=3,q=0.000001,t=0.5",
    "count-quadratic:family=geometric,q=0.999999,D=2,t=1/-2",
    "count-quadratic:family=negbin,r=0.5,q=0.3,f=sqrt",
};
#define N_SPECS (sizeof specs / sizeof specs[0])
/* the independent brute force is run where the support is at most this big */
#define BRUTE_MAX 100000.0

typedef struct {
    gv_problem *p;
    gv_point pt;
    gv_exact ex;
} fixture;

static int fx_open(fixture *f, const char *spec, char *err)
{
    memset(f, 0, sizeof *f);
    if (gv_problem_new(spec, &f->p, err)) return -1;
    if (gv_point_init(&f->pt, &f->p->layout, f->p->eta) || gv_exact_alloc(&f->ex, &f->p->layout)) {
        gv_err(err, "out of memory");
        return -1;
    }
    return 0;
}

static void fx_close(fixture *f)
{
    gv_exact_free(&f->ex);
    gv_point_free(&f->pt);
    gv_problem_free(f->p);
}

static double max_abs(const double *x, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* |a - b| <= tol * scale, NaN never passes */
static int near(double a, double b, double scale) { return fabs(a - b) <= TOL * scale; }

/* ------------------------------------------------------------------ registry coverage */

static void test_registry_covered(void **unused)
{
    n_bad = 0;
    for (const gv_problem_type *const *t = gv_problem_types; *t; t++) {
        size_t len = strlen((*t)->name);
        int found = 0;
        for (size_t i = 0; i < N_SPECS; i++)
            if (!strncmp(specs[i], (*t)->name, len) && (specs[i][len] == ':' || specs[i][len] == 0)) found = 1;
        CHECK(found, "registered problem '%s' has no spec in test_exact.c's table: add a small one", (*t)->name);
    }
    char err[GV_ERRLEN];
    CHECK(gv_problem_registry_check(err) == GV_OK, "problem registry check: %s", err);
    END_CHECKS();
}

/* ------------------------------------------------------------------ closed form vs enumeration */

static void test_closed_vs_enum(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    int n_closed_types = 0;
    for (const gv_problem_type *const *t = gv_problem_types; *t; t++) {
        if (!(*t)->exact) continue;
        n_closed_types++;
        size_t len = strlen((*t)->name);
        int n_cases = 0;
        for (size_t i = 0; i < N_SPECS; i++) {
            if (strncmp(specs[i], (*t)->name, len) || (specs[i][len] != ':' && specs[i][len] != 0)) continue;
            fixture f;
            if (fx_open(&f, specs[i], err)) {
                CHECK(0, "%s: %s", specs[i], err);
                fx_close(&f);
                continue;
            }
            const gv_layout *L = &f.p->layout;
            gv_exact en;
            assert_int_equal(gv_exact_alloc(&en, L), 0);
            int rc1 = gv_exact_compute(f.p, &f.pt, GV_DEFAULT_MAX_STATES, 0, &f.ex, err);
            CHECK(rc1 == GV_OK && f.ex.method == GV_EXACT_CLOSED, "%s: closed form rc=%d method=%d %s", specs[i],
                  rc1, f.ex.method, err);
            int rc2 = gv_exact_compute(f.p, &f.pt, 1e6, 1, &en, err);
            CHECK(rc2 == GV_OK && en.method == GV_EXACT_ENUM && en.states == gv_support_size(L),
                  "%s: enumeration rc=%d method=%d states=%g %s", specs[i], rc2, en.method, en.states, err);
            if (rc1 == GV_OK && rc2 == GV_OK) {
                n_cases++;
                double scale = 1 + max_abs(f.ex.cond, L->n_cond);
                CHECK(near(f.ex.value, en.value, scale), "%s: value closed %.17g enum %.17g", specs[i], f.ex.value,
                      en.value);
                for (int k = 0; k < L->n_cond; k++)
                    CHECK(near(f.ex.cond[k], en.cond[k], scale), "%s: cond[%d] closed %.17g enum %.17g", specs[i], k,
                          f.ex.cond[k], en.cond[k]);
                for (int k = 0; k < L->n_params; k++)
                    CHECK(near(f.ex.grad[k], en.grad[k], scale), "%s: grad[%d] closed %.17g enum %.17g", specs[i], k,
                          f.ex.grad[k], en.grad[k]);
                print_message("  %-70s %8.0f states: closed == enumeration\n", specs[i], en.states);
            }
            gv_exact_free(&en);
            fx_close(&f);
        }
        CHECK(n_cases > 0, "problem '%s' has a closed form but no spec in the table to check it against", (*t)->name);
    }
    CHECK(n_closed_types > 0, "no registered problem has a closed form?");
    END_CHECKS();
}

/* ------------------------------------------------------------------ independent brute force */

/* Count units, computed here with GSL's own pdfs (not gv_count_logpmf): the law of unit u at
 * its parameter eta (log rate, or logit q), and the score d/deta log p(k) from CATALOGUE.md. */
static double count_pmf(const gv_unit *u, double eta, int k)
{
    double q = 1 / (1 + exp(-eta));
    switch (u->family) {
    case GV_POISSON: return gsl_ran_poisson_pdf((unsigned)k, exp(eta));
    case GV_BINOMIAL: return gsl_ran_binomial_pdf((unsigned)k, q, (unsigned)u->shape);
    case GV_GEOMETRIC: return gsl_ran_geometric_pdf((unsigned)k + 1, q); /* GSL counts trials */
    case GV_NEGBIN: return gsl_ran_negative_binomial_pdf((unsigned)k, q, u->shape);
    }
    return NAN;
}

static double count_score(const gv_unit *u, double eta, int k)
{
    double q = 1 / (1 + exp(-eta));
    switch (u->family) {
    case GV_POISSON: return k - exp(eta);
    case GV_BINOMIAL: return k - u->shape * q;
    case GV_GEOMETRIC: return (1 - q) - k * q;
    case GV_NEGBIN: return u->shape * (1 - q) - k * q;
    }
    return NAN;
}

/* Per-unit probabilities computed here from eta (not from gv_point). */
static void unit_probs(const gv_unit *u, const double *eta, double *pr)
{
    if (u->kind == GV_UNIT_COUNT) { /* the truncated support 0..ncat-1, not renormalised */
        for (int c = 0; c < u->ncat; c++) pr[c] = count_pmf(u, eta[u->param], c);
        return;
    }
    if (u->kind == GV_UNIT_BERNOULLI) {
        double th = 1 / (1 + exp(-eta[u->param]));
        pr[0] = 1 - th;
        pr[1] = th;
        return;
    }
    double m = -INFINITY, s = 0;
    for (int c = 0; c < u->ncat; c++) m = fmax(m, eta[u->param + c]);
    for (int c = 0; c < u->ncat; c++) s += pr[c] = exp(eta[u->param + c] - m);
    for (int c = 0; c < u->ncat; c++) pr[c] /= s;
}

/* Hierarchical layouts (all-Bernoulli, edges): the same sums with q(z) = prod_i Bern(z_i; th_i),
 * th_i = sigma(eta_i + sum of the weights of edges into i from parents at 1), walking the edge list
 * here (not core.c's indices); score z_i - th_i on the bias, times z_parent on each edge. */
static void brute_force_hier(const gv_problem *p, double *value, double *cond, double *grad)
{
    const gv_layout *L = &p->layout;
    const int D = L->n_units;
    double *wc = calloc((size_t)L->n_cond, sizeof *wc), *th = malloc((size_t)D * sizeof *th);
    gv_point pt;
    assert_true(D < 31 && wc && th && gv_point_init(&pt, L, p->eta) == 0);
    memset(cond, 0, (size_t)L->n_cond * sizeof *cond);
    memset(grad, 0, (size_t)L->n_params * sizeof *grad);
    int z[31];
    double tot = 0;
    for (long s = 0; s < 1L << D; s++) {
        for (int i = 0; i < D; i++) z[i] = (int)(s >> i & 1);
        double q = 1;
        for (int i = 0; i < D; i++) {
            double l = p->eta[L->units[i].param];
            for (int e = 0; e < L->n_edges; e++)
                if (L->edges[e].child == i && z[L->edges[e].parent]) l += p->eta[L->edges[e].param];
            th[i] = 1 / (1 + exp(-l));
            q *= z[i] ? th[i] : 1 - th[i];
        }
        const double f = gv_problem_f(p, &pt, z);
        tot += q * f;
        for (int i = 0; i < D; i++) {
            cond[L->units[i].cond + z[i]] += q * f, wc[L->units[i].cond + z[i]] += q;
            grad[L->units[i].param] += q * f * (z[i] - th[i]);
        }
        for (int e = 0; e < L->n_edges; e++) {
            const gv_edge *ed = &L->edges[e];
            grad[ed->param] += q * f * (z[ed->child] - th[ed->child]) * z[ed->parent];
        }
    }
    for (int k = 0; k < L->n_cond; k++) cond[k] /= wc[k];
    *value = tot;
    gv_point_free(&pt);
    free(wc), free(th);
}

/* value, cond (as E[f 1{z_i = v}] / P(z_i = v)) and grad = sum_z q(z) f(z) score(z) */
static void brute_force(const gv_problem *p, double *value, double *cond, double *grad)
{
    const gv_layout *L = &p->layout;
    if (L->n_edges) return brute_force_hier(p, value, cond, grad);
    int D = L->n_units;
    double *pr = malloc((size_t)L->n_cond * sizeof *pr); /* laid out like cond */
    double *wc = calloc((size_t)L->n_cond, sizeof *wc);
    int *z = calloc((size_t)D, sizeof *z);
    gv_point pt; /* for problems whose f depends on the point (f_at) */
    assert_true(pr && wc && z && gv_point_init(&pt, L, p->eta) == 0);
    for (int i = 0; i < D; i++) unit_probs(&L->units[i], p->eta, pr + L->units[i].cond);
    memset(cond, 0, (size_t)L->n_cond * sizeof *cond);
    memset(grad, 0, (size_t)L->n_params * sizeof *grad);
    double tot = 0;
    for (;;) {
        double q = 1;
        for (int i = 0; i < D; i++) q *= pr[L->units[i].cond + z[i]];
        double f = gv_problem_f(p, &pt, z);
        tot += q * f;
        for (int i = 0; i < D; i++) {
            const gv_unit *u = &L->units[i];
            cond[u->cond + z[i]] += q * f;
            wc[u->cond + z[i]] += q;
            if (u->kind == GV_UNIT_BERNOULLI) {
                grad[u->param] += q * f * (z[i] - pr[u->cond + 1]);
            } else if (u->kind == GV_UNIT_COUNT) {
                grad[u->param] += q * f * count_score(u, p->eta[u->param], z[i]);
            } else {
                for (int c = 0; c < u->ncat; c++) grad[u->param + c] += q * f * ((c == z[i]) - pr[u->cond + c]);
            }
        }
        int i = 0; /* mixed-radix increment */
        while (i < D && ++z[i] == L->units[i].ncat) z[i++] = 0;
        if (i == D) break;
    }
    for (int k = 0; k < L->n_cond; k++) cond[k] /= wc[k];
    *value = tot;
    gv_point_free(&pt);
    free(pr);
    free(wc);
    free(z);
}

static void test_brute_force(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    for (size_t i = 0; i < N_SPECS; i++) {
        fixture f;
        if (fx_open(&f, specs[i], err)) {
            CHECK(0, "%s: %s", specs[i], err);
            fx_close(&f);
            continue;
        }
        const gv_layout *L = &f.p->layout;
        /* inclusive-KL problems have no f: their own tests check exact_grad by brute force */
        if (gv_support_size(L) > BRUTE_MAX || f.p->type->objective == GV_OBJ_INCLUSIVE_KL) {
            fx_close(&f);
            continue;
        }
        double value, *cond = malloc((size_t)L->n_cond * sizeof *cond), *grad = malloc((size_t)L->n_params * sizeof *grad);
        assert_true(cond && grad);
        brute_force(f.p, &value, cond, grad);
        /* both the library's default method (closed form or enumeration) and forced enumeration */
        for (int force = 0; force < 2; force++) {
            int rc = gv_exact_compute(f.p, &f.pt, GV_DEFAULT_MAX_STATES, force, &f.ex, err);
            CHECK(rc == GV_OK, "%s (force_enum=%d): %s", specs[i], force, err);
            if (rc) continue;
            double scale = 1 + max_abs(cond, L->n_cond);
            CHECK(near(f.ex.value, value, scale), "%s (force_enum=%d): value %.17g, brute force %.17g", specs[i],
                  force, f.ex.value, value);
            for (int k = 0; k < L->n_cond; k++)
                CHECK(near(f.ex.cond[k], cond[k], scale), "%s (force_enum=%d): cond[%d] %.17g, brute force %.17g",
                      specs[i], force, k, f.ex.cond[k], cond[k]);
            for (int k = 0; k < L->n_params; k++)
                CHECK(near(f.ex.grad[k], grad[k], scale), "%s (force_enum=%d): grad[%d] %.17g, brute force %.17g",
                      specs[i], force, k, f.ex.grad[k], grad[k]);
        }
        print_message("  %-70s %8.0f states: == brute force\n", specs[i], gv_support_size(L));
        free(cond);
        free(grad);
        fx_close(&f);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ hand formulas */

typedef struct {
    const char *spec;
    int D;
    double t;
} bq_case;

/* the last two exercise saturated logits: theta(1-theta) ~ e^-50 and e^-300 */
static const bq_case bq_cases[] = {
    {"bernoulli-quadratic:D=6,t=0.3,p=0.2/0.5/0.7/0.1/0.9/0.35", 6, 0.3},
    {"bernoulli-quadratic:D=1,t=0.49", 1, 0.49},
    {"bernoulli-quadratic:D=3,t=0.3,logit=50/-50/0", 3, 0.3},
    {"bernoulli-quadratic:D=4,t=0.7,logit=300/-300/36/-36", 4, 0.7},
};

static void test_bernoulli_quadratic_hand(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    for (size_t c = 0; c < sizeof bq_cases / sizeof bq_cases[0]; c++) {
        const bq_case *bc = &bq_cases[c];
        fixture f;
        if (fx_open(&f, bc->spec, err)) {
            CHECK(0, "%s: %s", bc->spec, err);
            fx_close(&f);
            continue;
        }
        const int D = bc->D;
        assert_int_equal(f.p->layout.n_params, D);
        gv_exact en;
        assert_int_equal(gv_exact_alloc(&en, &f.p->layout), 0);
        int rc1 = gv_exact_compute(f.p, &f.pt, GV_DEFAULT_MAX_STATES, 0, &f.ex, err);
        CHECK(rc1 == GV_OK, "%s: %s", bc->spec, err);
        int rc2 = gv_exact_compute(f.p, &f.pt, GV_DEFAULT_MAX_STATES, 1, &en, err);
        CHECK(rc2 == GV_OK, "%s: %s", bc->spec, err);
        /* hand: theta (1 - theta) = sigma(eta) sigma(-eta), each factor without cancellation;
         * E f = (1/D) sum_i [theta_i (1-t)^2 + (1-theta_i) t^2] */
        double value = 0;
        for (int i = 0; i < D && rc1 == GV_OK && rc2 == GV_OK; i++) {
            double e = f.p->eta[i];
            double th = 1 / (1 + exp(-e)), th1 = 1 / (1 + exp(e));
            double g = th * th1 * (1 - 2 * bc->t) / D;
            value += (th * (1 - bc->t) * (1 - bc->t) + th1 * bc->t * bc->t) / D;
            CHECK(isfinite(f.ex.grad[i]) && isfinite(en.grad[i]), "%s: grad[%d] not finite: closed %g enum %g",
                  bc->spec, i, f.ex.grad[i], en.grad[i]);
            /* coordinate-wise relative: the saturated coordinates are ~1e-22 and ~1e-131 */
            CHECK(fabs(f.ex.grad[i] - g) <= TOL * fabs(g), "%s: grad[%d] closed %.17g, hand %.17g", bc->spec, i,
                  f.ex.grad[i], g);
            CHECK(fabs(en.grad[i] - g) <= TOL * fabs(g), "%s: grad[%d] enumeration %.17g, hand %.17g", bc->spec, i,
                  en.grad[i], g);
        }
        if (rc1 == GV_OK && rc2 == GV_OK) {
            CHECK(near(f.ex.value, value, 1), "%s: value closed %.17g, hand %.17g", bc->spec, f.ex.value, value);
            CHECK(near(en.value, value, 1), "%s: value enumeration %.17g, hand %.17g", bc->spec, en.value, value);
            for (int k = 0; k < f.p->layout.n_cond; k++)
                CHECK(isfinite(f.ex.cond[k]) && isfinite(en.cond[k]), "%s: cond[%d] not finite", bc->spec, k);
        }
        gv_exact_free(&en);
        fx_close(&f);
    }
    END_CHECKS();
}

static void test_categorical_linear_hand(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    /* given probabilities, default table F[d][c] = C (dC + c + 1) */
    const char *spec = "categorical-linear:D=2,C=3,p=0.2/0.3/0.5/0.6/0.3/0.1";
    const double pi[2][3] = {{0.2, 0.3, 0.5}, {0.6, 0.3, 0.1}};
    fixture f;
    assert_int_equal(fx_open(&f, spec, err), 0);
    for (int force = 0; force < 2; force++) {
        assert_int_equal(gv_exact_compute(f.p, &f.pt, GV_DEFAULT_MAX_STATES, force, &f.ex, err), GV_OK);
        double value = 0;
        for (int d = 0; d < 2; d++) {
            double Fbar = 0;
            for (int c = 0; c < 3; c++) Fbar += pi[d][c] * 3.0 * (d * 3 + c + 1);
            value += Fbar;
            for (int j = 0; j < 3; j++) {
                double g = pi[d][j] * (3.0 * (d * 3 + j + 1) - Fbar);
                CHECK(near(f.ex.grad[d * 3 + j], g, 20), "force_enum=%d: grad[%d][%d] = %.17g, hand %.17g", force, d,
                      j, f.ex.grad[d * 3 + j], g);
            }
        }
        CHECK(near(f.ex.value, value, 20), "force_enum=%d: value %.17g, hand %.17g", force, f.ex.value, value);
    }
    fx_close(&f);

    /* seeded pi (Dirichlet): the same formula with pi = softmax(eta) computed here */
    spec = "categorical-linear:D=3,C=4,alpha=0.5,seed=11";
    assert_int_equal(fx_open(&f, spec, err), 0);
    assert_int_equal(gv_exact_compute(f.p, &f.pt, GV_DEFAULT_MAX_STATES, 0, &f.ex, err), GV_OK);
    for (int d = 0; d < 3; d++) {
        double pr[4], Fbar = 0;
        unit_probs(&f.p->layout.units[d], f.p->eta, pr);
        for (int c = 0; c < 4; c++) Fbar += pr[c] * 4.0 * (d * 4 + c + 1);
        for (int j = 0; j < 4; j++) {
            double g = pr[j] * (4.0 * (d * 4 + j + 1) - Fbar);
            CHECK(near(f.ex.grad[d * 4 + j], g, 50), "%s: grad[%d][%d] = %.17g, hand %.17g", spec, d, j,
                  f.ex.grad[d * 4 + j], g);
        }
    }
    fx_close(&f);
    END_CHECKS();
}

/* bernoulli-coupled:D=8 (no closed form): the brute force above against gv_exact_compute, plus
 * every gradient coordinate rederived a second way, theta(1-theta)(E[f|z_i=1] - E[f|z_i=0]),
 * with the conditional means summed here. */
static void test_bernoulli_coupled_d8(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    fixture f;
    assert_int_equal(fx_open(&f, "bernoulli-coupled:D=8", err), 0);
    assert_null(f.p->type->exact);
    assert_int_equal(gv_exact_compute(f.p, &f.pt, GV_DEFAULT_MAX_STATES, 0, &f.ex, err), GV_OK);
    CHECK(f.ex.method == GV_EXACT_ENUM && f.ex.states == 256, "method %d states %g", f.ex.method, f.ex.states);
    double value, cond[16], grad[8];
    brute_force(f.p, &value, cond, grad);
    double scale = 1 + max_abs(cond, 16);
    CHECK(near(f.ex.value, value, scale), "value %.17g, brute force %.17g", f.ex.value, value);
    for (int i = 0; i < 8; i++) {
        double th = 1 / (1 + exp(-f.p->eta[i]));
        double g2 = th * (1 - th) * (cond[2 * i + 1] - cond[2 * i]);
        CHECK(near(f.ex.grad[i], grad[i], scale), "grad[%d] %.17g, brute force %.17g", i, f.ex.grad[i], grad[i]);
        CHECK(near(g2, grad[i], scale), "grad[%d]: two brute-force forms disagree: %.17g vs %.17g", i, g2, grad[i]);
    }
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ limits */

/* Outer parameters: the phi-gradient J^T g_eta of bernoulli-shared equals the hand form
 * theta(1-theta) sum_i (1 - 2 t_i) and a central finite difference of the exact objective in phi
 * (eta = outer_map(phi +- h)). */
static void test_outer_parameters(void **unused)
{
    n_bad = 0;
    static const struct { const char *spec; double t[4]; int D; } cases[] = {
        {"bernoulli-shared", {0.6, 0.51, 0.48}, 3},
        {"bernoulli-shared:t=0.2/0.9/0.5/0.1,logit=-1.5", {0.2, 0.9, 0.5, 0.1}, 4},
        {"bernoulli-shared:p=0.999", {0.6, 0.51, 0.48}, 3},
    };
    char err[GV_ERRLEN];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fixture f;
        if (fx_open(&f, cases[c].spec, err)) {
            CHECK(0, "%s: %s", cases[c].spec, err);
            fx_close(&f);
            continue;
        }
        const gv_problem *p = f.p;
        CHECK(p->n_outer == 1 && p->phi && p->layout.n_params == cases[c].D, "%s: n_outer %d, P %d", cases[c].spec,
              p->n_outer, p->layout.n_params);
        CHECK(gv_exact_compute(p, &f.pt, GV_DEFAULT_MAX_STATES, 0, &f.ex, err) == GV_OK, "%s", err);
        double phi = p->phi[0], th = 1 / (1 + exp(-phi)), st = 0, gphi;
        for (int i = 0; i < cases[c].D; i++) st += 1 - 2 * cases[c].t[i];
        p->type->outer_vjp(p, f.ex.grad, &gphi);
        double hand = th * (1 - th) * st;
        CHECK(fabs(gphi - hand) <= TOL * fmax(fabs(hand), 1e-300), "%s: d/dphi %.17g, hand %.17g", cases[c].spec,
              gphi, hand);
        /* central difference with step h: truncation ~h^2 |L'''| ~ 1e-10, rounding ~1e-16/h ~ 1e-11 */
        const double h = 1e-5;
        double val[2], *eta = malloc((size_t)p->layout.n_params * sizeof(double));
        gv_exact ex2;
        assert_int_equal(gv_exact_alloc(&ex2, &p->layout), 0);
        for (int s = 0; s < 2; s++) {
            double ph = phi + (s ? h : -h);
            p->type->outer_map(p, &ph, eta);
            gv_point_set(&f.pt, eta);
            CHECK(gv_exact_compute(p, &f.pt, GV_DEFAULT_MAX_STATES, 0, &ex2, err) == GV_OK, "%s", err);
            val[s] = ex2.value;
        }
        double fd = (val[1] - val[0]) / (2 * h);
        CHECK(fabs(fd - gphi) <= 1e-8 * fmax(1, fabs(gphi)), "%s: d/dphi %.12g, finite difference %.12g",
              cases[c].spec, gphi, fd);
        gv_exact_free(&ex2);
        free(eta);
        fx_close(&f);
    }
    END_CHECKS();
}

static void test_enumeration_limit(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    fixture f;
    /* no closed form, 2^10 = 1024 states, limit 1000 */
    assert_int_equal(fx_open(&f, "bernoulli-coupled:D=10", err), 0);
    err[0] = 0;
    int rc = gv_exact_compute(f.p, &f.pt, 1000, 0, &f.ex, err);
    CHECK(rc == GV_EUSAGE, "1024 states over a limit of 1000: rc = %d, expected GV_EUSAGE", rc);
    CHECK(strstr(err, "limit") && strstr(err, "1000") && strstr(err, "1024"),
          "message should name the size and the limit: '%s'", err);
    rc = gv_exact_compute(f.p, &f.pt, 1024, 0, &f.ex, err);
    CHECK(rc == GV_OK, "exactly at the limit (1024 states, limit 1024) should enumerate: rc %d %s", rc, err);
    fx_close(&f);
    /* a closed form does not need the limit, but forcing enumeration does: 2^200 states */
    assert_int_equal(fx_open(&f, "bernoulli-quadratic:D=200", err), 0);
    rc = gv_exact_compute(f.p, &f.pt, GV_DEFAULT_MAX_STATES, 0, &f.ex, err);
    CHECK(rc == GV_OK && f.ex.method == GV_EXACT_CLOSED, "closed form at D=200: rc %d", rc);
    err[0] = 0;
    rc = gv_exact_compute(f.p, &f.pt, GV_DEFAULT_MAX_STATES, 1, &f.ex, err);
    CHECK(rc == GV_EUSAGE, "forced enumeration of 2^200 states: rc = %d, expected GV_EUSAGE", rc);
    CHECK(strstr(err, "limit") && strstr(err, "4194304"), "message should name the limit: '%s'", err);
    fx_close(&f);
    END_CHECKS();
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_covered),
        cmocka_unit_test(test_closed_vs_enum),
        cmocka_unit_test(test_brute_force),
        cmocka_unit_test(test_bernoulli_quadratic_hand),
        cmocka_unit_test(test_categorical_linear_hand),
        cmocka_unit_test(test_bernoulli_coupled_d8),
        cmocka_unit_test(test_outer_parameters),
        cmocka_unit_test(test_enumeration_limit),
    };
    return cmocka_run_group_tests_name("exact", tests, NULL, NULL);
}
