/* test_unbiased.c — registry-wide contract tests of the estimators (STYLE.md "Tests").
 *
 * Every estimator in gv_estimator_types is crossed with every problem of a fixed list of small
 * specs that covers every registered problem, and with K in {1,2,3,4} where compatible.  Cases
 * are named after the registry entry, so a new estimator inherits the whole suite:
 *
 *   unbiased/<name>       declared unbiased: bias_z_max below the Bonferroni threshold on every
 *                         compatible cell; declared biased: above it on at least one cell.
 *   deterministic/<name>  same seed => identical summary row (every double except
 *                         ns_per_estimate); another seed => a different row.
 *   cost/<name>           f evaluations per estimate follow the declared cost formula of K
 *                         (times the number of layers for a layerwise estimator on a hierarchical
 *                         layout; exactly K for reinforce* and rloo; a formula followed by "grad-ftilde",
 *                         e.g. gengs's "K grad-ftilde", counts grad f~ evaluations instead); no
 *                         f / f~ / grad f~ evaluations unless the estimator declares it needs
 *                         them; work_norm_var = var_mean x (f + f~ + grad f~ evaluations).
 *   detects/<double>      deliberately biased test doubles defined in this file are caught by
 *                         the same z statistic (gv_summarise's bias_z_max).
 *
 * Threshold.  Under unbiasedness each coordinate's z = |gbar_p - g*_p| / (s_p / sqrt(R)) is
 * ~ |N(0,1)| for large R.  With m coordinates in total over all unbiased cells tested, the
 * Bonferroni bound  P(any z > z*) <= m * 2 Q(z*)  = 1e-3 gives  z* = Q^{-1}(1e-3 / (2m)).
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
#include "harness/stats.h"

#include "tests/testkit.h"

#define FAMILY_ALPHA 1e-3 /* family-wise false-alarm rate of the whole unbiasedness family */
#define R_UNBIASED 50000L
/* Problems with count units: an estimate costs O(support cap) f or pmf evaluations for the
 * estimators that sum the support (tokui-sato, reinforce-optimal), so fewer replicates.  Power is
 * still ample: at R = 10000 the biased gengs and st-gengs reach bias_z_max >= 6.2 on every count
 * cell (measured; z grows like sqrt(R)), and > 29 on most; they need only one detecting cell. */
#define R_UNBIASED_COUNT 10000L
#define W_WARMUP 1000L
#define SEED 20240601ULL
#define K_MAX 4

static const char *const problem_specs[] = GV_REGISTRY_SPECS;
#define N_PROBLEMS (sizeof problem_specs / sizeof problem_specs[0])

static fixture fx[N_PROBLEMS];
static double z_star;
static long n_coords_family, n_cells_family;

static int has_option(const gv_estimator_type *t, const char *key)
{
    for (const gv_optdoc *d = t->options; d && d->key; d++)
        if (!strcmp(d->key, key)) return 1;
    return 0;
}

static int compatible(const gv_estimator_type *t, const fixture *f, int K)
{
    char msg[GV_ERRLEN];
    return gv_estimator_compatible(t, f->p, K, msg) == 0;
}

static int group_setup(void **unused)
{
    gsl_set_error_handler_off();
    for (size_t i = 0; i < N_PROBLEMS; i++)
        if (fx_open(&fx[i], problem_specs[i])) {
            print_error("cannot build %s\n", problem_specs[i]);
            return -1;
        }
    /* the family: every coordinate of every cell of every estimator declared unbiased */
    n_coords_family = n_cells_family = 0;
    for (const gv_estimator_type *const *t = gv_estimator_types; *t; t++) {
        if ((*t)->biased) continue;
        for (size_t i = 0; i < N_PROBLEMS; i++)
            for (int K = 1; K <= K_MAX; K++)
                if (compatible(*t, &fx[i], K)) {
                    n_cells_family++;
                    n_coords_family += fx[i].p->layout.n_params;
                }
    }
    z_star = gsl_cdf_ugaussian_Qinv(FAMILY_ALPHA / (2.0 * (double)(n_coords_family > 0 ? n_coords_family : 1)));
    print_message("unbiasedness family: %ld cells, %ld coordinates, R = %ld (%ld with count units); Bonferroni threshold "
                  "z* = Q^-1(%.0e / (2 * %ld)) = %.4f\n",
                  n_cells_family, n_coords_family, R_UNBIASED, R_UNBIASED_COUNT, FAMILY_ALPHA, n_coords_family, z_star);
    return 0;
}

static int group_teardown(void **unused)
{
    for (size_t i = 0; i < N_PROBLEMS; i++) fx_close(&fx[i]);
    return 0;
}

static gv_engine_opts opts(long R, uint64_t seed, int timing)
{
    gv_engine_opts o = {.R = R, .W = W_WARMUP, .seed = seed, .rng = gv_rng_default(), .timing = timing};
    return o;
}

/* ------------------------------------------------------------------ registry coverage */

static void test_registry_covered(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    for (const gv_problem_type *const *t = gv_problem_types; *t; t++) {
        int found = 0;
        for (size_t i = 0; i < N_PROBLEMS; i++) found |= fx[i].p->type == *t;
        CHECK(found, "registered problem '%s' is not in test_unbiased.c's problem list: add a small spec",
              (*t)->name);
    }
    for (const gv_estimator_type *const *t = gv_estimator_types; *t; t++) {
        int cells = 0;
        for (size_t i = 0; i < N_PROBLEMS; i++)
            for (int K = 1; K <= K_MAX; K++) cells += compatible(*t, &fx[i], K);
        CHECK(cells > 0, "estimator '%s' is compatible with no problem of the list at K <= %d: it would go untested",
              (*t)->name, K_MAX);
    }
    CHECK(gv_estimator_registry_check(err) == GV_OK, "estimator registry: %s", err);
    CHECK(gv_problem_registry_check(err) == GV_OK, "problem registry: %s", err);
    END_CHECKS();
}

/* ------------------------------------------------------------------ unbiasedness */

static void test_unbiased(void **state)
{
    n_bad = 0;
    const gv_estimator_type *t = *state;
    char err[GV_ERRLEN];
    double zmax_all = 0;
    int cells = 0;
    for (size_t i = 0; i < N_PROBLEMS; i++) {
        for (int K = 1; K <= K_MAX; K++) {
            if (!compatible(t, &fx[i], K)) continue;
            const int ikl = t->objective == GV_OBJ_INCLUSIVE_KL;
            gv_engine_opts o = opts(fx[i].p->layout.kinds & GV_UNIT_COUNT ? R_UNBIASED_COUNT : R_UNBIASED, SEED, 0);
            gv_row row;
            /* inclusive-KL estimators with a pool of M samplers are consistent in M when the schedule is
             * fixed: at their default (M = 16, adaptive) the bias on these small posteriors is below what
             * R replicates resolve on sbn-posterior (bias_z_max 2.0-3.5, measured); M = 2 with a linear
             * schedule still forms a pool (at M = 1 a, c and pimh are naive draw for draw) and is detected:
             * smallest maximum over the cells 8.1 (smc-wake-c, cluster-posterior K = 1) at R = 50000 */
            char spec[GV_SPECLEN];
            snprintf(spec, sizeof spec, "%s%s", t->name, ikl && has_option(t, "M") ? ":M=2,schedule=linear" : "");
            int rc = gv_run_cell(fx[i].p, &fx[i].pt, &fx[i].ex, spec, K, &o, 0, &row, err);
            CHECK(rc == GV_OK && !strcmp(row.status, "ok"), "%s on %s K=%d: rc %d status %s: %s", t->name,
                  problem_specs[i], K, rc, rc == GV_OK ? row.status : "-", rc == GV_OK ? row.message : err);
            if (rc == GV_OK) {
                cells++;
                double z = row.s.bias_z_max;
                if (row.outer) z = fmax(z, row.outer->s.bias_z_max); /* the phi-gradient J^T g as well */
                print_message("  %-18s %-52s K=%d  bias_z_max %7.3f  (z* %.3f)\n", t->name, problem_specs[i], K, z,
                              z_star);
                if (!t->biased)
                    CHECK(z < z_star, "%s declared unbiased, but on %s K=%d bias_z_max = %.3f >= z* = %.3f "
                                      "(bias2 %.3g, var_mean %.3g)",
                          t->name, problem_specs[i], K, z, z_star, row.s.bias2, row.s.var_mean);
                if (z > zmax_all || isnan(z)) zmax_all = z;
            }
            gv_row_free(&row);
        }
    }
    CHECK(cells > 0, "%s: no compatible cell", t->name);
    if (t->biased)
        CHECK(zmax_all > z_star, "%s declared biased, but no cell detected it: max bias_z_max %.3f <= z* %.3f",
              t->name, zmax_all, z_star);
    END_CHECKS();
}

/* ------------------------------------------------------------------ determinism */

static void summary_key(const gv_summary *s, gv_summary *k)
{
    *k = *s;
    k->ns_per_estimate = 0; /* the only column allowed to differ */
}

static void test_deterministic(void **state)
{
    n_bad = 0;
    const gv_estimator_type *t = *state;
    char err[GV_ERRLEN];
    for (size_t i = 0; i < N_PROBLEMS; i++) {
        for (int K = 1; K <= K_MAX; K++) {
            if (!compatible(t, &fx[i], K)) continue;
            gv_row a, b, c;
            gv_engine_opts o1 = opts(3000, 7, 1), o2 = opts(3000, 8, 1); /* 12 blocks */
            int ra = gv_run_cell(fx[i].p, &fx[i].pt, &fx[i].ex, t->name, K, &o1, 1, &a, err);
            int rb = gv_run_cell(fx[i].p, &fx[i].pt, &fx[i].ex, t->name, K, &o1, 1, &b, err);
            int rc = gv_run_cell(fx[i].p, &fx[i].pt, &fx[i].ex, t->name, K, &o2, 1, &c, err);
            CHECK(ra == GV_OK && rb == GV_OK && rc == GV_OK, "%s on %s K=%d: %s", t->name, problem_specs[i], K, err);
            if (ra == GV_OK && rb == GV_OK && rc == GV_OK) {
                gv_summary ka, kb, kc;
                summary_key(&a.s, &ka);
                summary_key(&b.s, &kb);
                summary_key(&c.s, &kc);
                CHECK(!memcmp(&ka, &kb, sizeof ka), "%s on %s K=%d: same seed, different summary (var_mean %.17g vs %.17g)",
                      t->name, problem_specs[i], K, a.s.var_mean, b.s.var_mean);
                int P = t->wrt_phi ? fx[i].p->n_outer : fx[i].p->layout.n_params;
                CHECK(a.P == P && b.P == P && a.coord_mean && b.coord_mean &&
                          !memcmp(a.coord_mean, b.coord_mean, (size_t)P * sizeof(double)) &&
                          !memcmp(a.coord_var, b.coord_var, (size_t)P * sizeof(double)),
                      "%s on %s K=%d: same seed, different per-coordinate rows", t->name, problem_specs[i], K);
                /* an estimator whose estimate does not depend on the draw at all (tokui-sato on one
                 * count unit sums the whole support: var_mean is exactly 0 for every seed) cannot
                 * show the seed; it must then give the same row for both seeds */
                if (a.s.var_mean == 0 && c.s.var_mean == 0)
                    CHECK(!memcmp(a.coord_mean, c.coord_mean, (size_t)P * sizeof(double)),
                          "%s on %s K=%d: zero variance under both seeds but different means", t->name,
                          problem_specs[i], K);
                else
                    CHECK(ka.var_mean != kc.var_mean, "%s on %s K=%d: seeds 7 and 8 give the same var_mean %.17g",
                          t->name, problem_specs[i], K, a.s.var_mean);
                CHECK(!strcmp(a.status, b.status) && !strcmp(a.estimator, b.estimator),
                      "%s on %s K=%d: status/estimator differ", t->name, problem_specs[i], K);
            }
            gv_row_free(&a);
            gv_row_free(&b);
            gv_row_free(&c);
        }
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ cost counting */

/* A tiny evaluator for cost formulas in K: numbers, K, + - * /, parentheses, implicit
 * multiplication ("2K").  Anything else (a formula that depends on the problem) gives NAN. */
typedef struct { const char *s; int bad; } cparse;
static double c_expr(cparse *c, double K);
static void c_ws(cparse *c) { while (*c->s == ' ') c->s++; }
static double c_factor(cparse *c, double K)
{
    c_ws(c);
    if (*c->s == 'K') { c->s++; return K; }
    if (*c->s == '(') {
        c->s++;
        double v = c_expr(c, K);
        c_ws(c);
        if (*c->s != ')') c->bad = 1; else c->s++;
        return v;
    }
    char *end;
    double v = strtod(c->s, &end);
    if (end == c->s) { c->bad = 1; return NAN; }
    c->s = end;
    return v;
}
static double c_term(cparse *c, double K)
{
    double v = c_factor(c, K);
    for (;;) {
        c_ws(c);
        if (*c->s == '*') { c->s++; v *= c_factor(c, K); }
        else if (*c->s == '/') { c->s++; v /= c_factor(c, K); }
        else if (*c->s == 'K' || *c->s == '(') v *= c_factor(c, K);
        else return v;
    }
}
static double c_expr(cparse *c, double K)
{
    double v = c_term(c, K);
    for (;;) {
        c_ws(c);
        if (*c->s == '+') { c->s++; v += c_term(c, K); }
        else if (*c->s == '-') { c->s++; v -= c_term(c, K); }
        else return v;
    }
}
static double cost_of(const char *formula, int K)
{
    cparse c = {formula, 0};
    double v = c_expr(&c, K);
    c_ws(&c);
    return c.bad || *c.s ? NAN : v;
}

static void test_cost(void **state)
{
    n_bad = 0;
    const gv_estimator_type *t = *state;
    char err[GV_ERRLEN];
    /* reinforce and its baselines, and rloo, draw exactly K samples and evaluate f once on each */
    int exactly_K = !strncmp(t->name, "reinforce", 9) || !strcmp(t->name, "rloo");
    for (size_t i = 0; i < N_PROBLEMS; i++) {
        for (int K = 1; K <= K_MAX; K++) {
            if (!compatible(t, &fx[i], K)) continue;
            gv_row row;
            gv_engine_opts o = opts(300, 3, 0);
            int rc = gv_run_cell(fx[i].p, &fx[i].pt, &fx[i].ex, t->name, K, &o, 0, &row, err);
            CHECK(rc == GV_OK && !strcmp(row.status, "ok"), "%s on %s K=%d: %s", t->name, problem_specs[i], K,
                  rc == GV_OK ? row.message : err);
            if (rc == GV_OK) {
                /* "FORMULA grad-ftilde": FORMULA counts grad f~ evaluations, not f */
                char cbuf[128];
                const char *unit_word = strstr(t->cost, " grad-ftilde");
                int counts_grad = unit_word && !strcmp(unit_word, " grad-ftilde");
                snprintf(cbuf, sizeof cbuf, "%.*s", counts_grad ? (int)(unit_word - t->cost) : (int)strlen(t->cost),
                         t->cost);
                /* a layerwise estimator on a hierarchical layout pays its cost on every layer */
                const int layers = t->layerwise && gv_layout_hierarchical(&fx[i].p->layout)
                                       ? gv_layout_layers(&fx[i].p->layout) : 1;
                double want = cost_of(cbuf, K) * layers;
                double counted = counts_grad ? row.s.grad_evals : row.s.f_evals;
                double work = row.s.f_evals + row.s.ftilde_evals + row.s.grad_evals;
                if (exactly_K) CHECK(row.s.f_evals == K, "%s K=%d on %s: f_evals %g per estimate, expected K", t->name,
                                     K, problem_specs[i], row.s.f_evals);
                if (!isnan(want))
                    CHECK(fabs(counted - want) < 1e-9, "%s K=%d on %s: %s %g per estimate, cost formula '%s' says %g",
                          t->name, K, problem_specs[i], counts_grad ? "grad_evals" : "f_evals", counted, t->cost, want);
                else
                    CHECK(work > 0 && isfinite(work), "%s K=%d on %s: %g evaluations (f + f~ + grad f~) per estimate",
                          t->name, K, problem_specs[i], work);
                if (!(t->needs & GV_NEED_F))
                    CHECK(row.s.f_evals == 0, "%s does not declare f but evaluated it %g times per estimate", t->name,
                          row.s.f_evals);
                if (!(t->needs & GV_NEED_FTILDE))
                    CHECK(row.s.ftilde_evals == 0, "%s does not declare f~ but evaluated it %g times per estimate",
                          t->name, row.s.ftilde_evals);
                if (!(t->needs & GV_NEED_GRAD_FTILDE))
                    CHECK(row.s.grad_evals == 0, "%s does not declare grad f~ but evaluated it %g times per estimate",
                          t->name, row.s.grad_evals);
                /* every evaluation counts as one (a relaxation that evaluates no f is not free) */
                CHECK(row.s.work_norm_var == row.s.var_mean * work,
                      "%s on %s K=%d: work_norm_var %.17g != var_mean * (f + f~ + grad f~ evaluations) %.17g", t->name,
                      problem_specs[i], K, row.s.work_norm_var, row.s.var_mean * work);
            }
            gv_row_free(&row);
        }
    }
    if (isnan(cost_of(t->cost, 1)) && !strstr(t->cost, " grad-ftilde"))
        print_message("  note: cost '%s' of %s is not a formula of K alone; only positivity was checked\n", t->cost,
                      t->name);
    END_CHECKS();
}

/* ------------------------------------------------------------------ a local driver for test doubles */

/* gv_run_cell looks estimators up in the (const) registry, so test doubles run through this
 * sequential copy of the engine's frozen-point loop: same streams (gv_stream_seed with the same
 * identities), same blocks, same gv_block_stats / gv_summarise.  test_driver_matches_engine shows
 * it reproduces gv_run_cell bit for bit on a registered estimator. */
static int local_run(const gv_estimator_type *t, const fixture *f, const char *name, int K, long R, long W,
                     uint64_t seed, gv_summary *out)
{
    char err[GV_ERRLEN];
    gv_spec spec;
    if (gv_spec_parse(name, &spec, err)) return -1;
    const gv_problem *p = f->p;
    const int P = p->layout.n_params;
    gv_eval ev0 = {.problem = p, .pt = &f->pt, .exact = &f->ex};
    void *warm = calloc(1, t->state_size ? t->state_size : 1);
    double *g = malloc((size_t)P * sizeof *g);
    if (!warm || !g || t->init(warm, &spec, p, K, err)) return free(warm), free(g), -1;
    if (t->adapt && W > 0) {
        gsl_rng *r = gv_rng_new(gv_rng_default(), gv_stream_seed(seed, p->spec, name, K, 0, GV_STREAM_WARMUP));
        gv_eval evw = ev0; /* warm-up work is not counted */
        for (long w = 0; w < W; w++) {
            memset(g, 0, (size_t)P * sizeof *g);
            t->estimate(warm, &evw, K, r, g);
            t->adapt(warm, &evw);
        }
        gsl_rng_free(r);
    }
    free(g);
    long nb = gv_engine_blocks(R);
    double gn = 0;
    for (int q = 0; q < P; q++) gn += f->ex.grad[q] * f->ex.grad[q];
    gn = sqrt(gn);
    gv_block_stats acc;
    gv_block_stats_init(&acc, P);
    int rc = 0;
    for (long b = 0; b < nb && !rc; b++) {
        long r0 = R * b / nb, r1 = R * (b + 1) / nb;
        int B = (int)(r1 - r0);
        gv_block_stats bs;
        gv_block_stats_init(&bs, P);
        void *st = calloc(1, t->state_size ? t->state_size : 1);
        double *G = malloc((size_t)B * P * sizeof *G);
        gsl_rng *r = gv_rng_new(gv_rng_default(), gv_stream_seed(seed, p->spec, name, K, b, GV_STREAM_REPLICATE));
        if (!st || !G || !r || t->init(st, &spec, p, K, err)) rc = -1;
        else {
            if (t->copy_learned) t->copy_learned(st, warm);
            gv_evtrack tr = {0};
            gv_eval ev = ev0;
            ev.track = &tr;
            int n = 0;
            for (int i = 0; i < B; i++) {
                double *gi = G + (size_t)n * P;
                memset(gi, 0, (size_t)P * sizeof *gi);
                if (t->estimate(st, &ev, K, r, gi)) { rc = -1; break; }
                bs.n_distinct += (double)gv_evtrack_distinct(&tr);
                int finite = 1;
                for (int q = 0; q < P; q++) finite &= isfinite(gi[q]) != 0;
                if (finite) n++; else bs.nonfinite++;
            }
            bs.n_f = (double)ev.n_f, bs.n_ftilde = (double)ev.n_ftilde, bs.n_grad = (double)ev.n_grad;
            free(tr.h);
            gv_block_stats_add(&bs, G, n, f->ex.grad, gn);
            gv_block_stats_merge(&acc, &bs);
        }
        if (st && t->free) t->free(st);
        free(st);
        free(G);
        gsl_rng_free(r);
        gv_block_stats_free(&bs);
    }
    if (!rc) gv_summarise(&acc, f->ex.grad, P, out);
    gv_block_stats_free(&acc);
    if (t->free) t->free(warm);
    free(warm);
    return rc;
}

static void test_driver_matches_engine(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    const char *names[] = {"reinforce", "reinforce-ema", "rloo"};
    for (size_t e = 0; e < sizeof names / sizeof names[0]; e++) {
        const gv_estimator_type *t = gv_estimator_find(names[e]);
        if (!t) continue; /* not registered (any more): nothing to compare */
        for (size_t i = 0; i < N_PROBLEMS; i++) {
            int K = t->min_K > 2 ? t->min_K : 2;
            if (!compatible(t, &fx[i], K)) continue;
            gv_row row;
            gv_engine_opts o = opts(1000, 11, 0);
            assert_int_equal(gv_run_cell(fx[i].p, &fx[i].pt, &fx[i].ex, t->name, K, &o, 0, &row, err), GV_OK);
            gv_summary s, ka, kb;
            int rc = local_run(t, &fx[i], t->name, K, 1000, W_WARMUP, 11, &s);
            CHECK(rc == 0, "local driver failed for %s", t->name);
            summary_key(&row.s, &ka);
            summary_key(&s, &kb);
            CHECK(rc || !memcmp(&ka, &kb, sizeof ka), "%s on %s: local driver var_mean %.17g, engine %.17g",
                  t->name, problem_specs[i], s.var_mean, row.s.var_mean);

            gv_row_free(&row);
        }
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ biased test doubles */

typedef struct {
    int *z;    /* K x n_units */
    double *f; /* K */
    int n_units;
} dbl_state_t;

static int dbl_init(void *v, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    dbl_state_t *s = v;
    s->n_units = p->layout.n_units;
    s->z = malloc((size_t)K * s->n_units * sizeof *s->z);
    s->f = malloc((size_t)K * sizeof *s->f);
    return s->z && s->f ? 0 : GV_EFAIL;
}
static void dbl_free(void *v)
{
    dbl_state_t *s = v;
    free(s->z);
    free(s->f);
}

/* "reinforce-shrunk": 0.9 x reinforce (a mis-scaled score): mean 0.9 g*, bias -0.1 g*. */
static int shrunk_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    dbl_state_t *s = v;
    for (int k = 0; k < K; k++) {
        gv_sample(ev->pt, r, s->z);
        gv_score_axpy(ev->pt, s->z, 0.9 * gv_eval_f(ev, s->z) / K, g);
    }
    return 0;
}

/* "rloo-self-baseline": the classic bug of averaging the baseline over all K samples including
 * the sample itself and dividing by K instead of K-1:
 *   (1/K) sum_k (f_k - fbar) s_k = ((K-1)/K) * rloo,  so its mean is ((K-1)/K) g*. */
static int self_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    dbl_state_t *s = v;
    double fbar = 0;
    for (int k = 0; k < K; k++) {
        gv_sample(ev->pt, r, s->z + (size_t)k * s->n_units);
        fbar += s->f[k] = gv_eval_f(ev, s->z + (size_t)k * s->n_units);
    }
    fbar /= K;
    for (int k = 0; k < K; k++) gv_score_axpy(ev->pt, s->z + (size_t)k * s->n_units, (s->f[k] - fbar) / K, g);
    return 0;
}

static const gv_optdoc dbl_opts[] = {{NULL, NULL, NULL}};
static const gv_estimator_type dbl_shrunk = {
    .name = "reinforce-shrunk", .description = "TEST DOUBLE: 0.9 x reinforce", .citation = "-",
    .objective = GV_OBJ_EXPECTATION, .units = GV_UNIT_BERNOULLI | GV_UNIT_CATEGORICAL, .needs = GV_NEED_F,
    .min_K = 1, .K_multiple = 1, .biased = 1, .cost = "K", .options = dbl_opts,
    .state_size = sizeof(dbl_state_t), .init = dbl_init, .free = dbl_free, .estimate = shrunk_estimate};
static const gv_estimator_type dbl_self = {
    .name = "rloo-self-baseline", .description = "TEST DOUBLE: (1/K) sum (f_k - mean f incl. k) s_k",
    .citation = "-", .objective = GV_OBJ_EXPECTATION, .units = GV_UNIT_BERNOULLI | GV_UNIT_CATEGORICAL,
    .needs = GV_NEED_F, .min_K = 2, .K_multiple = 1, .biased = 1, .cost = "K", .options = dbl_opts,
    .state_size = sizeof(dbl_state_t), .init = dbl_init, .free = dbl_free, .estimate = self_estimate};

/* Each double has a NAMED case where detection is guaranteed a priori (computed by hand, before
 * running), and is also run across the problem list for information.
 *
 * reinforce-shrunk on bernoulli-quadratic:D=1,t=0.1,p=0.5, K=1: f(1) = 0.81, f(0) = 0.01;
 *   reinforce = 0.405 or -0.005 with prob 1/2 each: mean g* = 0.2, sd 0.205.  The double has
 *   mean 0.18, sd 0.1845; expected z = 0.02 / (0.1845 / sqrt(R)) = 15.3 at R = 20000, far above
 *   any z* here (the z statistic itself has sd ~ 1).
 * rloo-self-baseline on bernoulli-quadratic:D=5,t=0.3,p=0.1/0.3/0.5/0.7/0.9, K=2: mean g* / 2.
 *   f = t^2 + c sum_j b_j with c = (1-2t)/D = 0.08; rloo at K=2 is (c/2) d_i sum_j d_j with
 *   d_j = b_j - b'_j, so E rloo_i^2 = (c^2/2) p_i (1 + 2 sum_{j!=i} p_j), p_j = theta_j(1-theta_j).
 *   For the theta = 0.5 unit: p_i = 0.25, sum of the others 0.6: E rloo^2 = 0.00176, g* = c p_i =
 *   0.02, var = 0.00176 - 0.0004 = 0.00136, sd 0.0369.  The double is rloo/2: bias -0.01, sd
 *   0.0184; expected z = 0.01 / (0.0184 / sqrt(20000)) = 77. */
typedef struct {
    const gv_estimator_type *type;
    const char *spec;
    int K;
    double z_expected; /* a priori, for the message only */
} detect_case;
static const detect_case detect_cases[] = {
    {&dbl_shrunk, "bernoulli-quadratic:D=1,t=0.1,p=0.5", 1, 15.3},
    {&dbl_self, "bernoulli-quadratic:D=5,t=0.3,p=0.1/0.3/0.5/0.7/0.9", 2, 77},
};

static void test_detects(void **state)
{
    n_bad = 0;
    const detect_case *c = *state;
    fixture f;
    assert_int_equal(fx_open(&f, c->spec), 0);
    gv_summary s;
    int rc = local_run(c->type, &f, c->type->name, c->K, 20000, 0, SEED, &s);
    CHECK(rc == 0, "local driver failed");
    print_message("  NAMED CASE %s on %s K=%d: bias_z_max %.2f (expected ~%.0f), z* %.3f\n", c->type->name, c->spec,
                  c->K, s.bias_z_max, c->z_expected, z_star);
    CHECK(!rc && s.bias_z_max > z_star, "%s on %s K=%d not detected: bias_z_max %.3f <= z* %.3f", c->type->name,
          c->spec, c->K, s.bias_z_max, z_star);
    fx_close(&f);
    /* for information: the same double across the problem list */
    for (size_t i = 0; i < N_PROBLEMS; i++)
        for (int K = 1; K <= K_MAX; K++) {
            if (!compatible(c->type, &fx[i], K)) continue;
            if (local_run(c->type, &fx[i], c->type->name, K, 20000, 0, SEED, &s)) continue;
            print_message("    %-20s %-52s K=%d bias_z_max %8.2f %s\n", c->type->name, problem_specs[i], K,
                          s.bias_z_max, s.bias_z_max > z_star ? "detected" : "");
        }
    END_CHECKS();
}

/* ------------------------------------------------------------------ extreme logits */

/* Every estimator declared unbiased that runs on Bernoulli units, on a non-separable problem with
 * theta = 1e-4 and 1 - 1e-4 (logits -+9.21) next to ordinary ones: no estimate may be non-finite,
 * and the z-test must pass.  The rare value occurs ~ R K 1e-4 = 200 times per extreme unit at
 * R = 1e6, K = 2, enough for the normal approximation of the mean (skewness ~ 1/sqrt(200)); the
 * threshold is Bonferroni over every coordinate of every cell of this family. */
#define R_EXTREME 1000000L
static const char extreme_spec[] = "bernoulli-coupled:D=4,seed=2,p=1e-4/0.9999/0.3/0.6";

static void test_extreme_logits(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, extreme_spec), 0);
    const gv_estimator_type *cells[64];
    int K[64], nc = 0;
    for (const gv_estimator_type *const *t = gv_estimator_types; *t && nc < 64; t++) {
        if ((*t)->biased) continue;
        int k = (*t)->min_K > 2 ? (*t)->min_K : 2;
        while (k % ((*t)->K_multiple > 0 ? (*t)->K_multiple : 1)) k++;
        if (!compatible(*t, &f, k)) continue;
        cells[nc] = *t, K[nc++] = k;
    }
    const double zt = gsl_cdf_ugaussian_Qinv(FAMILY_ALPHA / (2.0 * nc * f.p->layout.n_params));
    char err[GV_ERRLEN];
    for (int c = 0; c < nc; c++) {
        gv_engine_opts o = opts(R_EXTREME, SEED + 7, 0);
        gv_row row;
        int rc = gv_run_cell(f.p, &f.pt, &f.ex, cells[c]->name, K[c], &o, 0, &row, err);
        CHECK(rc == GV_OK && !strcmp(row.status, "ok") && row.s.nonfinite == 0, "%s K=%d on %s: status %s (%s)",
              cells[c]->name, K[c], extreme_spec, rc == GV_OK ? row.status : "-", rc == GV_OK ? row.message : err);
        if (rc == GV_OK) {
            print_message("  %-18s K=%d theta = 1e-4/0.9999/0.3/0.6: bias_z_max %.2f (z* %.2f)\n", cells[c]->name, K[c],
                          row.s.bias_z_max, zt);
            CHECK(row.s.bias_z_max < zt, "%s K=%d at extreme logits: bias_z_max %.2f >= %.2f", cells[c]->name, K[c],
                  row.s.bias_z_max, zt);
        }
        gv_row_free(&row);
    }
    CHECK(nc >= 10, "only %d unbiased Bernoulli estimators found", nc);
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ main */

int main(void)
{
    gsl_set_error_handler_off();
    size_t n_est = 0;
    while (gv_estimator_types[n_est]) n_est++;
    size_t n_det = sizeof detect_cases / sizeof detect_cases[0];
    size_t cap = 3 + 3 * n_est + n_det, n = 0;
    struct CMUnitTest *tests = calloc(cap, sizeof *tests);
    char(*names)[128] = calloc(cap, sizeof *names);
    if (!tests || !names) return 1;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_registry_covered);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_driver_matches_engine);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_extreme_logits);
    static const struct { const char *prefix; CMUnitTestFunction fn; } kinds[] = {
        {"unbiased", test_unbiased}, {"deterministic", test_deterministic}, {"cost", test_cost}};
    for (size_t k = 0; k < 3; k++)
        for (size_t e = 0; e < n_est; e++) {
            snprintf(names[n], sizeof names[n], "%s/%s", kinds[k].prefix, gv_estimator_types[e]->name);
            tests[n] = (struct CMUnitTest){names[n], kinds[k].fn, NULL, NULL, (void *)gv_estimator_types[e]};
            n++;
        }
    for (size_t d = 0; d < n_det; d++) {
        snprintf(names[n], sizeof names[n], "detects/%s", detect_cases[d].type->name);
        tests[n] = (struct CMUnitTest){names[n], test_detects, NULL, NULL, (void *)&detect_cases[d]};
        n++;
    }
    int rc = _cmocka_run_group_tests("unbiased", tests, n, group_setup, group_teardown);
    free(tests);
    free(names);
    return rc;
}
