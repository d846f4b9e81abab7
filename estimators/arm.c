/* arm.c — Augment-REINFORCE-Merge (ARM), Yin & Zhou 1807.11143, Bernoulli units.
 * Per antithetic pair, u ~ U(0,1)^D:
 *   b_i = 1[u_i > 1 - theta_i],  b~_i = 1[u_i < theta_i];   g_i = (f(b) - f(b~)) (u_i - 1/2),
 * averaged over K/2 independent pairs.  Unbiased: it is the average of the AR estimate
 * f(1[u < theta]) (1 - 2u) at u and at 1 - u (both uniform), each unbiased (see ar.c).
 * 1 - theta_i is the point's exact complement (no cancellation at theta near 1).
 * Cost: K evaluations of f (2 per pair).  K even, K >= 2. */
#include <stdlib.h>

#include "estimators/estimator.h"
#include "harness/rng.h"

typedef struct {
    int *b, *bt;
    double *w; /* u_i - 1/2 of the current pair */
    int D;
} arm_state_t;

static const gv_optdoc arm_opts[] = {{NULL, NULL, NULL}};

static int arm_init(void *v, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    arm_state_t *s = v;
    s->D = p->layout.n_units;
    for (int i = 0; i < s->D; i++) /* theta_i = prob[i] below */
        if (p->layout.units[i].param != i) return gv_err(err, "arm: unit %d does not own parameter %d", i, i), GV_EFAIL;
    s->b = malloc((size_t)s->D * sizeof(int));
    s->bt = malloc((size_t)s->D * sizeof(int));
    s->w = malloc((size_t)s->D * sizeof(double));
    if (!s->b || !s->bt || !s->w) return gv_err(err, "out of memory"), GV_EFAIL;
    return GV_OK;
}

static void arm_free(void *v)
{
    arm_state_t *s = v;
    free(s->b);
    free(s->bt);
    free(s->w);
}

static int arm_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    arm_state_t *s = v;
    const double *th = ev->pt->prob, *comp = ev->pt->comp;
    const int pairs = K / 2;
    for (int k = 0; k < pairs; k++) {
        for (int i = 0; i < s->D; i++) {
            double u = gv_uniform(r);
            s->b[i] = u > comp[i];
            s->bt[i] = u < th[i];
            s->w[i] = u - 0.5;
        }
        double df = (gv_eval_f(ev, s->b) - gv_eval_f(ev, s->bt)) / pairs;
        for (int i = 0; i < s->D; i++) g[i] += df * s->w[i];
    }
    return 0;
}

const gv_estimator_type gv_est_arm = {
    .name = "arm",
    .description = "augment-REINFORCE-merge: (f(1[u > 1-theta]) - f(1[u < theta])) (u - 1/2), K/2 pairs",
    .citation = "Yin & Zhou 1807.11143",
    .objective = GV_OBJ_EXPECTATION,
    .units = GV_UNIT_BERNOULLI,
    .needs = GV_NEED_F,
    .min_K = 2, .K_multiple = 2, .biased = 0, .cost = "K", .layerwise = 1,
    .options = arm_opts,
    .state_size = sizeof(arm_state_t),
    .init = arm_init, .free = arm_free, .estimate = arm_estimate,
};
