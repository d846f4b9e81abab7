/* disarm.c — DisARM, Dong, Mnih & Tucker 2006.10680, Bernoulli units.  Per antithetic pair,
 * u ~ U(0,1)^D:  b_i = 1[u_i < theta_i],  b~_i = 1[1 - u_i < theta_i];
 *   g_i = 1/2 (f(b) - f(b~)) (-1)^{b~_i} 1[b_i != b~_i] sigma(|eta_i|),
 * averaged over K/2 independent pairs.  It is ARM (arm.c) with u_i integrated out given the pair
 * (b, b~): E[u_i - 1/2 | b_i, b~_i] is 0 when b_i = b~_i and +-(max(theta,1-theta))/2 otherwise,
 * so it is unbiased and never has larger variance than ARM.  (-1)^{b~_i} 1[b_i != b~_i] = b_i - b~_i
 * and sigma(|eta_i|) = max(theta_i, 1 - theta_i), taken from the point's exact prob / comp.
 * U2G (Yin et al. 2006.06448) is the same estimator and is not registered separately.
 * Cost: K evaluations of f (2 per pair).  K even, K >= 2. */
#include <math.h>
#include <stdlib.h>

#include "estimators/estimator.h"
#include "harness/rng.h"

typedef struct {
    int *b, *bt;
    int D;
} disarm_state_t;

static const gv_optdoc disarm_opts[] = {{NULL, NULL, NULL}};

static int disarm_init(void *v, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    disarm_state_t *s = v;
    s->D = p->layout.n_units;
    for (int i = 0; i < s->D; i++) /* theta_i = prob[i] below */
        if (p->layout.units[i].param != i)
            return gv_err(err, "disarm: unit %d does not own parameter %d", i, i), GV_EFAIL;
    s->b = malloc((size_t)s->D * sizeof(int));
    s->bt = malloc((size_t)s->D * sizeof(int));
    if (!s->b || !s->bt) return gv_err(err, "out of memory"), GV_EFAIL;
    return GV_OK;
}

static void disarm_free(void *v)
{
    disarm_state_t *s = v;
    free(s->b);
    free(s->bt);
}

static int disarm_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    disarm_state_t *s = v;
    const double *th = ev->pt->prob, *comp = ev->pt->comp;
    const int pairs = K / 2;
    for (int k = 0; k < pairs; k++) {
        for (int i = 0; i < s->D; i++) {
            double u = gv_uniform(r);
            s->b[i] = u < th[i];
            s->bt[i] = 1 - u < th[i]; /* 1 - u is exact for u on gv_uniform's 2^-53 grid */
        }
        double hdf = 0.5 * (gv_eval_f(ev, s->b) - gv_eval_f(ev, s->bt)) / pairs;
        for (int i = 0; i < s->D; i++) /* no branch on b != b~: it is unpredictable */
            g[i] += (s->b[i] - s->bt[i]) * hdf * fmax(th[i], comp[i]);
    }
    return 0;
}

const gv_estimator_type gv_est_disarm = {
    .name = "disarm",
    .description = "ARM with u integrated out given the antithetic pair (= U2G), K/2 pairs",
    .citation = "Dong, Mnih & Tucker 2006.10680; Yin et al. 2006.06448 (U2G)",
    .objective = GV_OBJ_EXPECTATION,
    .units = GV_UNIT_BERNOULLI,
    .needs = GV_NEED_F,
    .min_K = 2, .K_multiple = 2, .biased = 0, .cost = "K", .layerwise = 1,
    .options = disarm_opts,
    .state_size = sizeof(disarm_state_t),
    .init = disarm_init, .free = disarm_free, .estimate = disarm_estimate,
};
