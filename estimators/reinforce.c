/* reinforce.c — the score-function (REINFORCE) family, four variants sharing one sampler loop.
 *   reinforce          g = (1/K) sum_k f(z_k) s(z_k)                       Williams 1992
 *   reinforce-ema      baseline c = EMA of past f (updated in adapt only)  unbiased for fixed c
 *   reinforce-mean     baseline c = exact E f ("R*", oracle)
 *   reinforce-optimal  per-coordinate c_p = E[f s_p^2] / E[s_p^2] (oracle), from the exact
 *                      conditional means: Bernoulli c = (1-theta) m_1 + theta m_0; categorical
 *                      c_j = (1-pi_j) m_j + pi_j sum_{c!=j} pi_c m_c / (1 - pi_j); count units
 *                      c = sum_v p(v) s(v)^2 m_v / sum_v p(v) s(v)^2.
 * Cost: K evaluations of f.  All unbiased: E s_p = 0 for every constant baseline.
 * Hierarchical layouts (edges, core.h): reinforce, -ema and -mean need only ancestral sampling and
 * the hierarchical score (gv_sample, gv_score_axpy) and E f, so they run there.  -optimal's formula
 * from the conditional means assumes independent units; there it computes c_p = E[f s_p^2] / E[s_p^2]
 * with the hierarchical score s (bias: z_i - sigma(l_i(z)); edge: that times z_parent; E s_p = 0 still)
 * by enumerating the joint support, at most RF_HIER_MAX_STATES states (init refuses larger layouts:
 * an `incompatible` row), once per point (cached on eta: once per replicate block at a frozen point,
 * once per step in trajectory mode).  The enumeration is oracle work like the exact reference: its
 * f evaluations are not counted in the row. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "estimators/estimator.h"
#include "harness/exact.h"

#define RF_HIER_MAX_STATES 65536.0 /* 2^16: the joint enumeration of -optimal on a hierarchical layout */

enum { RF_PLAIN, RF_EMA, RF_MEAN, RF_OPTIMAL };

typedef struct {
    int mode;
    double decay;     /* EMA */
    double c;         /* EMA baseline (learned) */
    int have_c;
    double last_mean; /* mean f of the last estimate, for adapt */
    int *z;
    double *score, *base; /* per-coordinate scratch (optimal) */
    double *heta, *hden;  /* optimal, hierarchical: the eta that base was enumerated at; scratch */
    int have_base;
} rf_state_t;

static const gv_optdoc rf_opts_none[] = {{NULL, NULL, NULL}};
static const gv_optdoc rf_opts_ema[] = {
    {"decay", "0.9", "EMA decay: c <- decay*c + (1-decay)*mean f of the last estimate"},
    {NULL, NULL, NULL}};

static int rf_init_mode(rf_state_t *s, int mode, const gv_spec *spec, const gv_problem *p, char *err)
{
    s->mode = mode;
    if (mode == RF_EMA && gv_opt_double(spec, "decay", 0.9, 0.0, 1.0, &s->decay, err)) return GV_EUSAGE;
    s->z = malloc((size_t)p->layout.n_units * sizeof(int));
    s->score = malloc((size_t)p->layout.n_params * sizeof(double));
    s->base = malloc((size_t)p->layout.n_params * sizeof(double));
    if (!s->z || !s->score || !s->base) return gv_err(err, "out of memory"), GV_EFAIL;
    if (mode == RF_OPTIMAL && gv_layout_hierarchical(&p->layout)) {
        const double n = gv_support_size(&p->layout);
        if (!(n <= RF_HIER_MAX_STATES))
            return gv_err(err, "reinforce-optimal on a hierarchical layout enumerates the joint support for its baselines "
                          "E[f s_p^2] / E[s_p^2]; problem %s has %.4g joint states, above %.0f", p->spec, n,
                          RF_HIER_MAX_STATES), GV_EFAIL;
        s->heta = malloc((size_t)p->layout.n_params * sizeof(double));
        s->hden = malloc((size_t)p->layout.n_params * sizeof(double));
        if (!s->heta || !s->hden) return gv_err(err, "out of memory"), GV_EFAIL;
    }
    return GV_OK;
}
static int rf_init(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return rf_init_mode(v, RF_PLAIN, sp, p, e); }
static int rf_init_ema(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return rf_init_mode(v, RF_EMA, sp, p, e); }
static int rf_init_mean(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return rf_init_mode(v, RF_MEAN, sp, p, e); }
static int rf_init_optimal(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return rf_init_mode(v, RF_OPTIMAL, sp, p, e); }

static void rf_free(void *v)
{
    rf_state_t *s = v;
    free(s->z);
    free(s->score);
    free(s->base);
    free(s->heta);
    free(s->hden);
}

static void rf_reset(void *v)
{
    rf_state_t *s = v;
    s->c = 0;
    s->have_c = 0;
}

static void rf_copy_learned(void *dst, const void *src)
{
    rf_state_t *d = dst;
    const rf_state_t *s = src;
    d->c = s->c;
    d->have_c = s->have_c;
}

/* c_p from the exact conditional means (see the header). */
static void rf_optimal_baseline(const gv_eval *ev, double *base)
{
    const gv_point *pt = ev->pt;
    const gv_layout *L = pt->layout;
    const double *cond = ev->exact->cond;
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *u = &L->units[i];
        const double *m = cond + u->cond, *p = pt->prob + u->param, *q = pt->comp + u->param;
        if (u->kind == GV_UNIT_BERNOULLI) {
            base[u->param] = q[0] * m[1] + p[0] * m[0];
        } else if (u->kind == GV_UNIT_COUNT) { /* sum_v p s^2 m / sum_v p s^2 over the support cap */
            double eta = pt->eta[u->param], num = 0, den = 0;
            for (int v = 0; v < u->ncat; v++) {
                double sc = gv_count_score(u, eta, v), w = exp(gv_count_logpmf(u, eta, v)) * sc * sc;
                num += w * m[v];
                den += w;
            }
            base[u->param] = den > 0 ? num / den : ev->exact->value;
        } else {
            double M = 0;
            for (int c = 0; c < u->ncat; c++) M += p[c] * m[c];
            for (int j = 0; j < u->ncat; j++) {
                double others = q[j] > 0 ? (M - p[j] * m[j]) / q[j] : m[j];
                base[u->param + j] = q[j] * m[j] + p[j] * others;
            }
        }
    }
}

/* Hierarchical layouts: c_p = sum_z q f s_p^2 / sum_z q s_p^2 over the joint support (weights
 * q(z) / q(first state) in log space against underflow); E f where sum q s_p^2 = 0.  Uses s->z and
 * s->score as scratch. */
static void rf_optimal_baseline_hier(rf_state_t *s, const gv_eval *ev)
{
    const gv_point *pt = ev->pt;
    const gv_layout *L = pt->layout;
    const int P = L->n_params, U = L->n_units;
    double *num = s->base, *den = s->hden, W = 0, F = 0, l0 = 0;
    memset(num, 0, (size_t)P * sizeof(double));
    memset(den, 0, (size_t)P * sizeof(double));
    for (long m = 0; m < 1L << U; m++) {
        for (int i = 0; i < U; i++) s->z[i] = (int)(m >> i & 1);
        const double lq = gv_log_q(pt, s->z);
        if (m == 0) l0 = lq;
        const double w = exp(lq - l0), f = gv_problem_f(ev->problem, pt, s->z);
        memset(s->score, 0, (size_t)P * sizeof(double));
        gv_score_axpy(pt, s->z, 1.0, s->score);
        W += w, F += w * f;
        for (int q = 0; q < P; q++) {
            const double w2 = w * s->score[q] * s->score[q];
            num[q] += w2 * f;
            den[q] += w2;
        }
    }
    for (int q = 0; q < P; q++) num[q] = den[q] > 0 ? num[q] / den[q] : F / W;
    memcpy(s->heta, pt->eta, (size_t)P * sizeof(double));
    s->have_base = 1;
}

static int rf_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    rf_state_t *s = v;
    const gv_point *pt = ev->pt;
    const int P = pt->layout->n_params;
    double c = 0, sum = 0, invK = 1.0 / K;
    if (s->mode == RF_EMA) c = s->c;
    if (s->mode == RF_MEAN) c = ev->exact->value;
    if (s->mode == RF_OPTIMAL && !s->heta) rf_optimal_baseline(ev, s->base);
    if (s->heta && !(s->have_base && !memcmp(s->heta, pt->eta, (size_t)P * sizeof(double))))
        rf_optimal_baseline_hier(s, ev);
    for (int k = 0; k < K; k++) {
        gv_sample(pt, r, s->z);
        double f = gv_eval_f(ev, s->z);
        sum += f;
        if (s->mode != RF_OPTIMAL) {
            gv_score_axpy(pt, s->z, (f - c) * invK, g);
        } else {
            memset(s->score, 0, (size_t)P * sizeof(double));
            gv_score_axpy(pt, s->z, 1.0, s->score);
            for (int q = 0; q < P; q++) g[q] += (f - s->base[q]) * s->score[q] * invK;
        }
    }
    s->last_mean = sum * invK;
    return 0;
}

static void rf_adapt(void *v, const gv_eval *ev)
{
    rf_state_t *s = v;
    if (!s->have_c) { /* start the average at the first observation, not at 0 */
        s->c = s->last_mean;
        s->have_c = 1;
    } else {
        s->c = s->decay * s->c + (1 - s->decay) * s->last_mean;
    }
}

#define RF_COMMON                                                                          \
    .objective = GV_OBJ_EXPECTATION, .units = GV_UNIT_BERNOULLI | GV_UNIT_CATEGORICAL | GV_UNIT_COUNT, \
    .min_K = 1, .K_multiple = 1, .biased = 0, .cost = "K", .state_size = sizeof(rf_state_t), \
    .free = rf_free, .estimate = rf_estimate

const gv_estimator_type gv_est_reinforce = {
    .name = "reinforce",
    .description = "score function, no baseline: (1/K) sum f(z_k) s(z_k)",
    .citation = "Williams 1992 (Mach. Learn. 8:229)",
    .needs = GV_NEED_F, .options = rf_opts_none, .init = rf_init, .hierarchical = 1, RF_COMMON};

const gv_estimator_type gv_est_reinforce_ema = {
    .name = "reinforce-ema",
    .description = "score function with an exponential-moving-average baseline of past f",
    .citation = "Williams 1992; Mnih & Gregor 1402.0030",
    .needs = GV_NEED_F, .options = rf_opts_ema, .init = rf_init_ema, .reset = rf_reset,
    .copy_learned = rf_copy_learned, .adapt = rf_adapt, .hierarchical = 1, RF_COMMON};

const gv_estimator_type gv_est_reinforce_mean = {
    .name = "reinforce-mean",
    .description = "score function with the exact mean E f as baseline (oracle R*)",
    .citation = "Titsias & Shi 2111.05300 (R*)",
    .needs = GV_NEED_F | GV_NEED_EXACT, .options = rf_opts_none, .init = rf_init_mean, .hierarchical = 1, RF_COMMON};

const gv_estimator_type gv_est_reinforce_optimal = {
    .name = "reinforce-optimal",
    .description = "score function with the per-coordinate optimal constant baseline (oracle)",
    .citation = "Weaver & Tao 1301.2315; Tokui & Sato 1611.01239",
    .needs = GV_NEED_F | GV_NEED_EXACT, .options = rf_opts_none, .init = rf_init_optimal, .hierarchical = 1, RF_COMMON};
