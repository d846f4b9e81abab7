/* test_arsm.c — ARSM (estimators/arsm.c) and the categorical-arsm problem.  test_unbiased.c z-tests
 * arsm on every registered categorical spec (GV_REGISTRY_SPECS); this file checks what that cannot:
 *
 *   formula          one draw at a time against a brute-force ARSM written here from the paper's
 *                    formula: varpi recovered by replaying the draw's uniforms (arsm.c's documented
 *                    consumption: per unit in layout order, C_d uniforms, E = -log u, varpi = E/sum E),
 *                    every pseudo-action z^{m<->j} by a full argmin of log varpi^{m<->j} - l over the
 *                    classes, g_{d,c} = sum_j [f(z^{c<->j}) - fbar^j](1/C_d - varpi_{d,j}) with dense
 *                    sums.  Checked: the estimate (to 1e-12 relative), and that f was evaluated exactly
 *                    once on each distinct pseudo-action (none repeated, none missing, none foreign) —
 *                    or not at all when every pseudo-action is the sample.  Layouts: 3 x C=3, 2 x C=10,
 *                    mixed C = (2, 5, 3), 1 x C=30, (C=100, C=7), and pi_0 = 1 - 1e-6 at C = 100.
 *                    Deterministic.
 *   uniform_counts   at uniform pi with one unit every swap (z, j) gives j and no other swap changes
 *                    anything, so an estimate costs exactly C evaluations per draw (C = 3, 10, 30, 100,
 *                    K = 1, 2); measured averages elsewhere are printed.
 *   unbiased         z test per coordinate against the exact gradient: categorical-abs d3c100 (3 x 100
 *                    classes), one unit of 100 classes with non-uniform logits, the mixed-C probe
 *                    (non-separable f, exact by enumeration), pi = 0.98/0.01/0.01 on categorical-linear
 *                    and pi_0 = 0.99 at C = 100 (rare swaps change the argmin).
 *   near_degenerate  pi_0 = 1 - 1e-6 (C = 3 and 100) and logits +-50: every estimate finite.  No z
 *                    test: almost every estimate is exactly 0 and the sample variance says nothing.
 *   k_average        an estimate with K = 3 is the mean of three K = 1 estimates from the same stream.
 *   problem          categorical-arsm: closed form against enumeration and against f itself; options.
 *
 * Statistics: the z statistics of `unbiased` are one family with false-alarm rate FAMILY_ALPHA,
 * z_thr = Q^{-1}(FAMILY_ALPHA / (2 N_Z)).  Fixed seeds throughout.
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
#define SEED 90210ULL
/* z statistics of `unbiased`: 300 (d3c100) + 100 (C = 100 non-uniform) + 10 (mixed probe)
 * + 6 (categorical-linear at 0.98) + 100 (C = 100 at 0.99) */
#define N_Z (300 + 100 + 10 + 6 + 100)
static double z_thr;

/* ------------------------------------------------------------------ a categorical probe problem */

/* Units of C_d classes (up to PMAX_D units, C_d <= PMAX_C); f non-separable:
 * f(z) = sum_d T[d][z_d] + 0.8 sin(0.7 + sum_d (d + 1.3)(z_d + 0.5)), T[d][c] = cos(1.7 d + 0.37 c^2).
 * While `rec_on`, f records every argument (single-threaded use only). */
#define PMAX_D 4
#define PMAX_C 100
#define REC_MAX 6000

static struct {
    int on, n, D;
    int z[REC_MAX][PMAX_D];
} rec;

static double pf_fn(int D, const int *z)
{
    double s = 0, t = 0.7;
    for (int d = 0; d < D; d++) s += cos(1.7 * d + 0.37 * z[d] * z[d]), t += (d + 1.3) * (z[d] + 0.5);
    return s + 0.8 * sin(t);
}

static double pf_f(const void *st, const int *z)
{
    const int D = *(const int *)st;
    if (rec.on && rec.n < REC_MAX) memcpy(rec.z[rec.n], z, (size_t)D * sizeof(int));
    if (rec.on) rec.n++;
    return pf_fn(D, z);
}

static const gv_optdoc pf_opts[] = {{NULL, NULL, NULL}};
static const gv_problem_type pf_type = {
    .name = "arsm-probe", .description = "test probe", .citation = "test_arsm.c", .objective = GV_OBJ_EXPECTATION,
    .options = pf_opts, .f = pf_f};

typedef struct {
    gv_problem p;
    int D;
    gv_point pt;
    gv_exact ex;
    double eta[PMAX_D * PMAX_C];
} probe;

/* logits: eta[k] = scale sin(1 + 2.3 k) unless given */
static int probe_open(probe *q, int D, const int *C, const double *eta, double scale, int with_exact)
{
    char err[GV_ERRLEN];
    memset(q, 0, sizeof *q);
    unsigned kind[PMAX_D];
    for (int d = 0; d < D; d++) kind[d] = GV_UNIT_CATEGORICAL;
    q->D = D;
    q->p.type = &pf_type;
    q->p.state = &q->D;
    q->p.eta = q->eta;
    snprintf(q->p.spec, sizeof q->p.spec, "arsm-probe:D=%d,C0=%d", D, C[0]);
    if (gv_layout_init(&q->p.layout, D, kind, C)) return -1;
    for (int k = 0; k < q->p.layout.n_params; k++) q->eta[k] = eta ? eta[k] : scale * sin(1 + 2.3 * k);
    if (gv_point_init(&q->pt, &q->p.layout, q->eta)) return -1;
    if (with_exact && (gv_exact_alloc(&q->ex, &q->p.layout) ||
                       gv_exact_compute(&q->p, &q->pt, GV_DEFAULT_MAX_STATES, 0, &q->ex, err)))
        return print_error("probe exact: %s\n", err), -1;
    return 0;
}

static void probe_close(probe *q)
{
    if (q->ex.grad) gv_exact_free(&q->ex);
    gv_point_free(&q->pt);
    gv_layout_free(&q->p.layout);
}

/* ------------------------------------------------------------------ brute force */

/* argmin_i (log E'_i - l_i) with E' = E with entries m and j swapped (m = j: no swap); first index
 * on ties, as arsm.c.  lE = log E. */
static int bf_argmin(const double *lE, const double *l, int C, int m, int j)
{
    int best = -1;
    double bk = 0;
    for (int i = 0; i < C; i++) {
        int ii = i == m ? j : i == j ? m : i;
        double k = lE[ii] - l[i];
        if (best < 0 || k < bk) best = i, bk = k;
    }
    return best;
}

static int zcmp(const int *a, const int *b, int D) { return memcmp(a, b, (size_t)D * sizeof(int)); }

/* One draw of the brute force from generator r (which must be in the state arsm's draw starts from):
 * the estimate (added to g with weight w) and the distinct pseudo-actions (returned, into uz). */
static int bf_draw(const probe *q, gsl_rng *r, double w, double *g, int (*uz)[PMAX_D])
{
    const gv_layout *L = &q->p.layout;
    const int D = L->n_units, Cmax = L->max_ncat;
    static double E[PMAX_D * PMAX_C], lE[PMAX_D * PMAX_C], S[PMAX_D];
    static int zz[PMAX_C][PMAX_C][PMAX_D];
    static double F[PMAX_C][PMAX_C];
    for (int d = 0; d < D; d++) {
        const gv_unit *u = &L->units[d];
        S[d] = 0;
        for (int i = 0; i < u->ncat; i++) {
            double v = gv_uniform(r);
            S[d] += E[u->param + i] = -log(v > 0 ? v : 0x1.0p-54);
            lE[u->param + i] = log(E[u->param + i]);
        }
    }
    int nu = 0;
    for (int m = 0; m < Cmax; m++)
        for (int j = 0; j < Cmax; j++) {
            for (int d = 0; d < D; d++) {
                const gv_unit *u = &L->units[d];
                int sw = m < u->ncat && j < u->ncat;
                zz[m][j][d] = bf_argmin(lE + u->param, q->eta + u->param, u->ncat, sw ? m : 0, sw ? j : 0);
            }
            F[m][j] = pf_fn(D, zz[m][j]);
            int k = 0;
            while (k < nu && zcmp(uz[k], zz[m][j], D)) k++;
            if (k == nu) memcpy(uz[nu++], zz[m][j], (size_t)D * sizeof(int));
        }
    for (int d = 0; d < D; d++) {
        const gv_unit *u = &L->units[d];
        const int C = u->ncat;
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int j = 0; j < C; j++) {
                double fbar = 0;
                for (int m = 0; m < C; m++) fbar += F[m][j];
                s += (F[c][j] - fbar / C) * (1.0 / C - E[u->param + j] / S[d]);
            }
            g[u->param + c] += w * s;
        }
    }
    return nu;
}

/* ------------------------------------------------------------------ formula */

static void test_formula(void **unused)
{
    n_bad = 0;
    static const struct { int D, C[PMAX_D], draws; double scale, p0; } lays[] = {
        {3, {3, 3, 3}, 400, 1.0, 0},   {2, {10, 10}, 200, 1.5, 0}, {3, {2, 5, 3}, 400, 1.0, 0},
        {1, {30}, 200, 2.0, 0},        {2, {100, 7}, 12, 1.0, 0},  {1, {100}, 200, 0, 1 - 1e-6},
    };
    static int uz[PMAX_C * PMAX_C + 1][PMAX_D];
    char msg[GV_ERRLEN];
    for (size_t li = 0; li < NELEM(lays); li++) {
        probe q;
        double eta[PMAX_D * PMAX_C];
        const double *e0 = NULL;
        if (lays[li].p0 > 0) { /* one unit: pi_0 = p0, the rest equal */
            const int C = lays[li].C[0];
            eta[0] = log(lays[li].p0);
            for (int c = 1; c < C; c++) eta[c] = log((1 - lays[li].p0) / (C - 1));
            e0 = eta;
        }
        assert_int_equal(probe_open(&q, lays[li].D, lays[li].C, e0, lays[li].scale, 0), 0);
        const int D = q.D, P = q.p.layout.n_params, Cmax = q.p.layout.max_ncat;
        gv_spec spec;
        gv_estimator *est;
        assert_int_equal(gv_spec_parse("arsm", &spec, msg), 0);
        assert_int_equal(gv_estimator_new(&spec, &q.p, 1, &est, msg), GV_OK);
        long n_draws = 0, sum_distinct = 0, n_zero = 0, max_distinct = 0;
        double max_err = 0;
        for (int t = 0; t < lays[li].draws; t++) {
            const int K = t % 5 == 4 ? 2 : 1;
            double g[PMAX_D * PMAX_C] = {0}, gb[PMAX_D * PMAX_C] = {0};
            gsl_rng *r = gv_rng_new(gv_rng_default(), 1000 + (uint64_t)t), *rb = gv_rng_new(gv_rng_default(), 1000 + (uint64_t)t);
            assert_non_null(r), assert_non_null(rb);
            gv_eval ev = {.problem = &q.p, .pt = &q.pt};
            rec.on = 1, rec.n = 0;
            int rc = est->type->estimate(est->state, &ev, K, r, g);
            rec.on = 0;
            CHECK(rc == 0, "estimate failed");
            int want = 0, rec_at = 0, ok_evals = 1;
            for (int k = 0; k < K; k++) {
                int nu = bf_draw(&q, rb, 1.0 / K, gb, uz);
                n_draws++, sum_distinct += nu, n_zero += nu == 1;
                if (nu > max_distinct) max_distinct = nu;
                CHECK(nu <= 1 + Cmax * (Cmax - 1) / 2 && (D > 1 || nu <= Cmax), "%d distinct pseudo-actions", nu);
                const int ne = nu > 1 ? nu : 0;
                want += ne;
                /* this draw's evaluations: rec.z[rec_at .. rec_at + ne), each a distinct pseudo-action */
                for (int a = rec_at; a < rec_at + ne && a < rec.n && a < REC_MAX; a++) {
                    int found = 0;
                    for (int k2 = 0; k2 < nu; k2++) found |= !zcmp(rec.z[a], uz[k2], D);
                    for (int b = rec_at; b < a; b++) ok_evals &= zcmp(rec.z[a], rec.z[b], D) != 0;
                    ok_evals &= found;
                }
                rec_at += ne;
            }
            CHECK(rec.n == want && rec.n <= REC_MAX && ok_evals,
                  "layout %zu draw %d: %d f evaluations, %d distinct pseudo-actions expected (or a repeated / "
                  "foreign one: %d)", li, t, rec.n, want, !ok_evals);
            CHECK(ev.n_f == (uint64_t)want, "n_f %llu, expected %d", (unsigned long long)ev.n_f, want);
            double scale = 0;
            for (int k = 0; k < P; k++) scale = fmax(scale, fabs(gb[k]));
            for (int k = 0; k < P; k++) {
                double err = fabs(g[k] - gb[k]) / (1 + scale);
                max_err = fmax(max_err, err);
                CHECK(err < 1e-12, "layout %zu draw %d coordinate %d: arsm %.17g, brute force %.17g", li, t, k, g[k],
                      gb[k]);
            }
            /* the generator advanced by the same amount */
            CHECK(gsl_rng_get(r) == gsl_rng_get(rb), "layout %zu draw %d: arsm consumed other random numbers", li, t);
            gsl_rng_free(r), gsl_rng_free(rb);
        }
        char cs[64] = "";
        for (int d = 0; d < D; d++) snprintf(cs + strlen(cs), sizeof cs - strlen(cs), d ? "/%d" : "%d", lays[li].C[d]);
        print_message("  D=%d C=%s%s%s: %ld draws, distinct pseudo-actions mean %.2f max %ld, only the sample "
                      "%.0f%%; max rel err %.2g\n", D, cs, "", lays[li].p0 > 0 ? " (pi_0 = 1 - 1e-6)" : "",
                      n_draws, (double)sum_distinct / n_draws, max_distinct, 100.0 * n_zero / n_draws, max_err);
        gv_estimator_free(est);
        probe_close(&q);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ uniform_counts */

static int run(const gv_problem *p, const gv_point *pt, const gv_exact *ex, const char *est, int K, long R,
               gv_row *row)
{
    char err[GV_ERRLEN];
    gv_engine_opts o = {.R = R, .W = 0, .seed = SEED, .rng = gv_rng_default(), .timing = 0};
    int rc = gv_run_cell(p, pt, ex, est, K, &o, 1, row, err);
    if (rc != GV_OK) return print_error("%s on %s: %s\n", est, p->spec, err), -1;
    if (!row->coord_mean) {
        print_error("%s on %s: status %s %s\n", est, p->spec, row->status, row->message);
        gv_row_free(row);
        return -1;
    }
    return 0;
}

static void test_uniform_counts(void **unused)
{
    n_bad = 0;
    const int Cs[] = {3, 10, 30, 100};
    for (size_t i = 0; i < NELEM(Cs); i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "categorical-arsm:C=%d", Cs[i]);
        fixture f;
        assert_int_equal(fx_open(&f, spec), 0);
        for (int K = 1; K <= 2; K++) {
            gv_row row;
            if (run(f.p, &f.pt, &f.ex, "arsm", K, 2000, &row)) { CHECK(0, "%s did not run", spec); continue; }
            CHECK(row.s.f_evals == (double)K * Cs[i], "%s K=%d: %g f evaluations per estimate, expected K C = %d", spec,
                  K, row.s.f_evals, K * Cs[i]);
            gv_row_free(&row);
        }
        fx_close(&f);
    }
    /* data-dependent counts, printed for the record */
    const char *specs[] = {"categorical-arsm:C=3,logit=0.5/-1/2",
                           "categorical-linear:D=3,C=3", "categorical-linear:D=3,C=10", "categorical-linear:D=3,C=30",
                           "categorical-linear:D=3,C=30,alpha=100", "categorical-abs:preset=d12c3",
                           "categorical-abs:preset=d6c10", "categorical-abs:preset=d3c100"};
    for (size_t i = 0; i < NELEM(specs); i++) {
        fixture f;
        assert_int_equal(fx_open(&f, specs[i]), 0);
        gv_row row;
        if (run(f.p, &f.pt, &f.ex, "arsm", 1, 2000, &row)) { CHECK(0, "%s did not run", specs[i]); fx_close(&f); continue; }
        print_message("  %-40s f evaluations per draw %.2f\n", specs[i], row.s.f_evals);
        gv_row_free(&row);
        fx_close(&f);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ unbiased */

static double check_z(const gv_row *row, long R, const char *what)
{
    double zmax = 0;
    for (int q = 0; q < row->P; q++) {
        double se = sqrt(row->coord_var[q] / R), z = (row->coord_mean[q] - row->coord_exact[q]) / se;
        if (se == 0) z = row->coord_mean[q] == row->coord_exact[q] ? 0 : INFINITY;
        zmax = fmax(zmax, fabs(z));
        CHECK(fabs(z) < z_thr, "%s coordinate %d: mean %.6g, exact %.6g, z %.2f", what, q, row->coord_mean[q],
              row->coord_exact[q], z);
    }
    CHECK(row->s.nonfinite == 0, "%s: %g non-finite estimates", what, row->s.nonfinite);
    print_message("  %-46s max |z| %.2f over %d coordinates (z_thr %.2f), f evals %.1f\n", what, zmax, row->P, z_thr,
                  row->s.f_evals);
    return zmax;
}

static void test_unbiased(void **unused)
{
    n_bad = 0;
    int nz = 0;
    { /* 3 units of 100 classes */
        fixture f;
        assert_int_equal(fx_open(&f, "categorical-abs:preset=d3c100"), 0);
        gv_row row;
        const long R = 20000;
        if (!run(f.p, &f.pt, &f.ex, "arsm", 1, R, &row)) {
            check_z(&row, R, "categorical-abs:preset=d3c100"), nz += row.P;
            gv_row_free(&row);
        } else CHECK(0, "d3c100 did not run");
        fx_close(&f);
    }
    { /* one unit of 100 classes, logits 2 sin(1 + 2.3 c); and pi_0 = 0.99 */
        for (int v = 0; v < 2; v++) {
            fixture f;
            assert_int_equal(fx_open(&f, "categorical-arsm:C=100,R=1"), 0);
            double eta[100];
            for (int c = 0; c < 100; c++) eta[c] = v ? (c ? log(0.01 / 99) : log(0.99)) : 2 * sin(1 + 2.3 * c);
            char err[GV_ERRLEN];
            gv_point_set(&f.pt, eta);
            assert_int_equal(gv_exact_compute(f.p, &f.pt, GV_DEFAULT_MAX_STATES, 0, &f.ex, err), 0);
            const long R = v ? 100000 : 20000;
            gv_row row;
            if (!run(f.p, &f.pt, &f.ex, "arsm", 1, R, &row)) {
                check_z(&row, R, v ? "C=100, pi_0 = 0.99" : "C=100, logits 2 sin(1 + 2.3c)"), nz += row.P;
                gv_row_free(&row);
            } else CHECK(0, "C=100 did not run");
            fx_close(&f);
        }
    }
    { /* mixed C, non-separable f, exact by enumeration */
        probe q;
        const int C[3] = {2, 5, 3};
        assert_int_equal(probe_open(&q, 3, C, NULL, 1.0, 1), 0);
        const long R = 50000;
        gv_row row;
        if (!run(&q.p, &q.pt, &q.ex, "arsm", 2, R, &row)) {
            check_z(&row, R, "probe, C = 2/5/3, K = 2"), nz += row.P;
            gv_row_free(&row);
        } else CHECK(0, "probe did not run");
        probe_close(&q);
    }
    { /* nearly degenerate, D = 2 */
        fixture f;
        assert_int_equal(fx_open(&f, "categorical-linear:D=2,C=3,p=0.98/0.01/0.01"), 0);
        const long R = 100000;
        gv_row row;
        if (!run(f.p, &f.pt, &f.ex, "arsm", 1, R, &row)) {
            check_z(&row, R, "categorical-linear, pi = 0.98/0.01/0.01"), nz += row.P;
            gv_row_free(&row);
        } else CHECK(0, "categorical-linear did not run");
        fx_close(&f);
    }
    CHECK(nz == N_Z, "%d z statistics, N_Z says %d", nz, N_Z);
    END_CHECKS();
}

/* ------------------------------------------------------------------ near_degenerate */

static void test_near_degenerate(void **unused)
{
    n_bad = 0;
    struct { const char *spec; int C; double p0, big; } cases[] = {
        {"categorical-arsm:C=100", 100, 1 - 1e-6, 0},
        {"categorical-arsm:C=3", 3, 1 - 1e-6, 0},
        {"categorical-arsm:C=3", 3, 0, 50},
        {"categorical-linear:D=3,C=3,p=0.999999/0.0000005/0.0000005", 0, 0, 0},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        fixture f;
        assert_int_equal(fx_open(&f, cases[i].spec), 0);
        if (cases[i].C) {
            const int C = cases[i].C;
            double eta[100];
            for (int c = 0; c < C; c++)
                eta[c] = cases[i].big ? (c == 0 ? cases[i].big : c == 1 ? -cases[i].big : 0)
                                      : (c ? log((1 - cases[i].p0) / (C - 1)) : log(cases[i].p0));
            char err[GV_ERRLEN];
            gv_point_set(&f.pt, eta);
            assert_int_equal(gv_exact_compute(f.p, &f.pt, GV_DEFAULT_MAX_STATES, 0, &f.ex, err), 0);
        }
        gv_row row;
        if (run(f.p, &f.pt, &f.ex, "arsm", 2, 20000, &row)) { CHECK(0, "%s did not run", cases[i].spec); fx_close(&f); continue; }
        int finite = 1;
        for (int q = 0; q < row.P; q++) finite &= isfinite(row.coord_mean[q]) && isfinite(row.coord_var[q]);
        CHECK(!strcmp(row.status, "ok") && row.s.nonfinite == 0 && finite, "%s (case %zu): status %s, %g non-finite",
              cases[i].spec, i, row.status, row.s.nonfinite);
        print_message("  %-58s %s: f evals per estimate %.4f, var_mean %.3g\n", cases[i].spec,
                      cases[i].C ? (cases[i].big ? "logits 50/-50/0" : "pi_0 = 1 - 1e-6") : "", row.s.f_evals,
                      row.s.var_mean);
        gv_row_free(&row);
        fx_close(&f);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ k_average */

static void test_k_average(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, "categorical-abs:D=3,C=4,seed=2"), 0);
    char msg[GV_ERRLEN];
    gv_spec spec;
    gv_estimator *e1, *e3;
    assert_int_equal(gv_spec_parse("arsm", &spec, msg), 0);
    assert_int_equal(gv_estimator_new(&spec, f.p, 1, &e1, msg), GV_OK);
    assert_int_equal(gv_estimator_new(&spec, f.p, 3, &e3, msg), GV_OK);
    const int P = f.p->layout.n_params;
    for (int t = 0; t < 200; t++) {
        double g1[12] = {0}, g3[12] = {0};
        gsl_rng *a = gv_rng_new(gv_rng_default(), 77 + (uint64_t)t), *b = gv_rng_new(gv_rng_default(), 77 + (uint64_t)t);
        gv_eval ev = {.problem = f.p, .pt = &f.pt};
        for (int k = 0; k < 3; k++) {
            double gk[12] = {0};
            e1->type->estimate(e1->state, &ev, 1, a, gk);
            for (int q = 0; q < P; q++) g1[q] += gk[q] / 3;
        }
        e3->type->estimate(e3->state, &ev, 3, b, g3);
        for (int q = 0; q < P; q++)
            CHECK(fabs(g1[q] - g3[q]) <= 1e-13 * (1 + fabs(g1[q])), "seed %d coordinate %d: K=3 %.17g, mean of 3 %.17g",
                  t, q, g3[q], g1[q]);
        gsl_rng_free(a), gsl_rng_free(b);
    }
    gv_estimator_free(e1), gv_estimator_free(e3);
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ problem */

static void test_problem(void **unused)
{
    n_bad = 0;
    const char *specs[] = {"categorical-arsm", "categorical-arsm:C=5,R=2,p=0.1/0.2/0.3/0.25/0.15",
                           "categorical-arsm:C=4,logit=3/-1/0.5/-40"};
    for (size_t i = 0; i < NELEM(specs); i++) {
        char err[GV_ERRLEN];
        gv_problem *p;
        assert_int_equal(gv_problem_new(specs[i], &p, err), GV_OK);
        gv_point pt;
        gv_exact a, b;
        assert_int_equal(gv_point_init(&pt, &p->layout, p->eta), 0);
        assert_int_equal(gv_exact_alloc(&a, &p->layout), 0);
        assert_int_equal(gv_exact_alloc(&b, &p->layout), 0);
        assert_int_equal(gv_exact_compute(p, &pt, GV_DEFAULT_MAX_STATES, 0, &a, err), 0);
        assert_int_equal(gv_exact_compute(p, &pt, GV_DEFAULT_MAX_STATES, 1, &b, err), 0);
        CHECK(a.method == GV_EXACT_CLOSED && b.method == GV_EXACT_ENUM, "%s: methods %d %d", specs[i], a.method, b.method);
        const int C = p->layout.n_params;
        /* f(z) = 0.5 + (z + 1)/(C R) by hand; E f from pi */
        double R = i == 1 ? 2 : 30, ef = 0;
        for (int c = 0; c < C; c++) {
            double fc = 0.5 + (c + 1) / (C * R);
            CHECK(fabs(gv_problem_f(p, NULL, &c) - fc) < 1e-15, "%s: f(%d) = %.17g, expected %.17g", specs[i], c,
                  gv_problem_f(p, NULL, &c), fc);
            ef += pt.prob[c] * fc;
        }
        CHECK(fabs(a.value - ef) < 1e-14 && fabs(a.value - b.value) < 1e-14, "%s: E f closed %.17g, enum %.17g, by hand %.17g",
              specs[i], a.value, b.value, ef);
        for (int c = 0; c < C; c++) {
            CHECK(fabs(a.grad[c] - b.grad[c]) < 1e-14, "%s: grad %d closed %.17g, enumeration %.17g", specs[i], c,
                  a.grad[c], b.grad[c]);
            CHECK(fabs(a.cond[c] - b.cond[c]) < 1e-14, "%s: cond %d closed %.17g, enumeration %.17g", specs[i], c,
                  a.cond[c], b.cond[c]);
        }
        /* f~ and its gradient: the linear extension */
        double y[30], gy[30], ft = 0;
        for (int c = 0; c < C; c++) y[c] = (c + 1.0) / (C * (C + 1) / 2.0);
        for (int c = 0; c < C; c++) ft += y[c] * (0.5 + (c + 1) / (C * R));
        p->type->grad_ftilde(p->state, y, gy);
        CHECK(fabs(p->type->ftilde(p->state, y) - ft) < 1e-14, "%s: f~ %.17g, expected %.17g", specs[i],
              p->type->ftilde(p->state, y), ft);
        for (int c = 0; c < C; c++) CHECK(fabs(gy[c] - (0.5 + (c + 1) / (C * R))) < 1e-15, "%s: grad f~ %d", specs[i], c);
        gv_exact_free(&a), gv_exact_free(&b);
        gv_point_free(&pt);
        gv_problem_free(p);
    }
    /* defaults: C = 30, uniform pi */
    char err[GV_ERRLEN];
    gv_problem *p;
    assert_int_equal(gv_problem_new("categorical-arsm", &p, err), GV_OK);
    CHECK(p->layout.n_units == 1 && p->layout.n_params == 30 && p->eta[0] == 0 && p->eta[29] == 0, "defaults");
    gv_problem_free(p);
    const char *bad[] = {"categorical-arsm:C=1", "categorical-arsm:C=3,logit=1/2", "categorical-arsm:C=3,p=0.5/0.5",
                         "categorical-arsm:C=2,p=0.5/0.5,logit=0", "categorical-arsm:R=0", "categorical-linear:preset=carms-a2"};
    for (size_t i = 0; i < NELEM(bad); i++) {
        p = NULL;
        int rc = gv_problem_new(bad[i], &p, err);
        CHECK(rc == GV_EUSAGE && !p, "%s accepted (rc %d)", bad[i], rc);
        gv_problem_free(p);
    }
    /* the CARMS presets: D = C = 3 and the alpha draw of seed 1; options override */
    const char *pairs[][2] = {{"categorical-linear:preset=carms-a1", "categorical-linear:D=3,C=3,alpha=1,seed=1"},
                              {"categorical-linear:preset=carms-a10", "categorical-linear:alpha=10"},
                              {"categorical-linear:preset=carms-a100", "categorical-linear:alpha=100"},
                              {"categorical-linear:preset=carms-a1000", "categorical-linear:alpha=1000"},
                              {"categorical-linear:preset=carms-a1000,alpha=2,D=2", "categorical-linear:alpha=2,D=2"}};
    for (size_t i = 0; i < NELEM(pairs); i++) {
        gv_problem *x, *y;
        assert_int_equal(gv_problem_new(pairs[i][0], &x, err), GV_OK);
        assert_int_equal(gv_problem_new(pairs[i][1], &y, err), GV_OK);
        CHECK(x->layout.n_params == y->layout.n_params &&
                  !memcmp(x->eta, y->eta, (size_t)x->layout.n_params * sizeof(double)),
              "%s differs from %s", pairs[i][0], pairs[i][1]);
        gv_problem_free(x), gv_problem_free(y);
    }
    END_CHECKS();
}

int main(void)
{
    gsl_set_error_handler_off();
    z_thr = gsl_cdf_ugaussian_Qinv(FAMILY_ALPHA / (2.0 * N_Z));
    print_message("arsm: %d z statistics, threshold z_thr = Q^-1(%.0e / (2 * %d)) = %.3f\n", N_Z, FAMILY_ALPHA, N_Z,
                  z_thr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formula),         cmocka_unit_test(test_uniform_counts),
        cmocka_unit_test(test_unbiased),        cmocka_unit_test(test_near_degenerate),
        cmocka_unit_test(test_k_average),       cmocka_unit_test(test_problem),
    };
    return cmocka_run_group_tests_name("arsm", tests, NULL, NULL);
}
