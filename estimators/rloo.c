/* rloo.c — REINFORCE leave-one-out (RLOO / LOORF / VarGrad), Kool, van Hoof & Welling 2019;
 * Salimans & Knowles 1402.0459.
 *   g = 1/(K-1) sum_k (f_k - fbar) s(z_k),  fbar = (1/K) sum_j f_j.
 * Equivalent to giving each sample the mean of the other K-1 as baseline.  K >= 2, K evals,
 * unbiased.  Runs on hierarchical layouts too (ancestral samples, hierarchical score). */
#include <stdlib.h>

#include "estimators/estimator.h"

typedef struct {
    int *z;   /* K x n_units */
    double *f;
    int n_units;
} rloo_state_t;

static const gv_optdoc rloo_opts[] = {{NULL, NULL, NULL}};

static int rloo_init(void *v, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    rloo_state_t *s = v;
    s->n_units = p->layout.n_units;
    s->z = malloc((size_t)K * s->n_units * sizeof(int));
    s->f = malloc((size_t)K * sizeof(double));
    if (!s->z || !s->f) return gv_err(err, "out of memory"), GV_EFAIL;
    return GV_OK;
}

static void rloo_free(void *v)
{
    rloo_state_t *s = v;
    free(s->z);
    free(s->f);
}

static int rloo_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    rloo_state_t *s = v;
    double fbar = 0;
    for (int k = 0; k < K; k++) {
        int *z = s->z + (size_t)k * s->n_units;
        gv_sample(ev->pt, r, z);
        fbar += s->f[k] = gv_eval_f(ev, z);
    }
    fbar /= K;
    for (int k = 0; k < K; k++)
        gv_score_axpy(ev->pt, s->z + (size_t)k * s->n_units, (s->f[k] - fbar) / (K - 1), g);
    return 0;
}

const gv_estimator_type gv_est_rloo = {
    .name = "rloo",
    .description = "leave-one-out baseline: 1/(K-1) sum (f_k - fbar) s(z_k)",
    .citation = "Kool, van Hoof & Welling 2019 (ICLR DeepRL workshop); Salimans & Knowles 1402.0459",
    .objective = GV_OBJ_EXPECTATION,
    .units = GV_UNIT_BERNOULLI | GV_UNIT_CATEGORICAL | GV_UNIT_COUNT,
    .needs = GV_NEED_F,
    .min_K = 2, .K_multiple = 1, .biased = 0, .cost = "K", .hierarchical = 1,
    .options = rloo_opts,
    .state_size = sizeof(rloo_state_t),
    .init = rloo_init, .free = rloo_free, .estimate = rloo_estimate,
};
