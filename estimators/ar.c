/* ar.c — Augment-REINFORCE (AR), Yin & Zhou 1807.11143 (ARM paper, Theorem 1), Bernoulli units.
 *   b_i = 1[u_i < theta_i],  u ~ U(0,1)^D;   g_i = f(b) (1 - 2 u_i),
 * averaged over K independent draws.  Unbiased: with m_v = E[f | b_i = v],
 *   E[f(b)(1 - 2u_i)] = m_1 int_0^theta (1-2u) du + m_0 int_theta^1 (1-2u) du
 *                     = theta(1-theta) (m_1 - m_0) = dE f / d eta_i.
 * (The paper's 1[u > sigma(-phi)] (2u - 1) form is the same estimator under u -> 1 - u.)
 * No baseline: its variance grows with f^2, which is why ARM pairs u with 1 - u.
 * Cost: K evaluations of f.  K >= 1. */
#include <stdlib.h>

#include "estimators/estimator.h"
#include "harness/rng.h"

typedef struct {
    int *z;
    double *w; /* 1 - 2 u_i of the current draw */
    int D;
} ar_state_t;

static const gv_optdoc ar_opts[] = {{NULL, NULL, NULL}};

static int ar_init(void *v, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    ar_state_t *s = v;
    s->D = p->layout.n_units;
    for (int i = 0; i < s->D; i++) /* theta_i = prob[i] below */
        if (p->layout.units[i].param != i) return gv_err(err, "ar: unit %d does not own parameter %d", i, i), GV_EFAIL;
    s->z = malloc((size_t)s->D * sizeof(int));
    s->w = malloc((size_t)s->D * sizeof(double));
    if (!s->z || !s->w) return gv_err(err, "out of memory"), GV_EFAIL;
    return GV_OK;
}

static void ar_free(void *v)
{
    ar_state_t *s = v;
    free(s->z);
    free(s->w);
}

static int ar_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    ar_state_t *s = v;
    const double *th = ev->pt->prob, invK = 1.0 / K;
    for (int k = 0; k < K; k++) {
        for (int i = 0; i < s->D; i++) {
            double u = gv_uniform(r);
            s->z[i] = u < th[i];
            s->w[i] = 1 - 2 * u;
        }
        double f = gv_eval_f(ev, s->z) * invK;
        for (int i = 0; i < s->D; i++) g[i] += f * s->w[i];
    }
    return 0;
}

const gv_estimator_type gv_est_ar = {
    .name = "ar",
    .description = "augment-REINFORCE: f(1[u < theta]) (1 - 2u), averaged over K draws",
    .citation = "Yin & Zhou 1807.11143 (ARM paper, AR estimator)",
    .objective = GV_OBJ_EXPECTATION,
    .units = GV_UNIT_BERNOULLI,
    .needs = GV_NEED_F,
    .min_K = 1, .K_multiple = 1, .biased = 0, .cost = "K", .layerwise = 1,
    .options = ar_opts,
    .state_size = sizeof(ar_state_t),
    .init = ar_init, .free = ar_free, .estimate = ar_estimate,
};
