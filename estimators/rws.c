/* rws.c — reweighted wake-sleep gradients of the inclusive KL (objective kind `inclusive-kl`, issue #7).
 * Bornschein & Bengio 1406.2751.  Per group g (data point x_g), with the score s(z) = d log q_eta(z) / d eta:
 *   rws-wake       z_k ~ q (k = 1..K), log w_k = log p(x_g, z_k) - log q(z_k), wbar = w / sum w (in log
 *                  space, shifted by the largest log w):  g += -sum_k wbar_k s(z_k).
 *                  Self-normalised importance sampling: biased for finite K (at K = 1 its mean is
 *                  -E_q s = 0), consistent as K -> inf.  Cost: K log p(x_g | z) evaluations per group,
 *                  K N per estimate (N = p->n_groups).
 *   rws-defensive  the same with the defensive proposal r = (1 - eps) q + eps p(z) (Hesterberg 1995):
 *                  pick the prior with probability eps, else q, then z; w = p(x_g, z) / r(z) with
 *                  log r = logsumexp(log(1 - eps) + log q, log eps + log p(z)); g += -sum_k wbar_k s(z_k).
 *                  The prior component bounds w <= p(x_g | z) / eps, so no weight explodes where q is
 *                  too narrow.  Biased, consistent.  Cost K N.
 *   sleep          wrt phi (an amortised q_phi(z | x)): K simulated pairs (z_s, x_s) ~ p(z) p(x | z),
 *                  g_phi = -(N / K) sum_s d/dphi log q_phi(z_s | x_s), N = p->n_groups (data points x_g;
 *                  on cluster-posterior a group is a whole data set).
 *                  Unbiased for the gradient of N E_{p(x)} KL(p(z | x) || q_phi(z | x)) (N times the
 *                  model-marginal objective: on the scale of the data objective's sum over N groups;
 *                  sbn-posterior's exact_marginal returns this N-scaled objective),
 *                  biased for the data objective unless the data are distributed as p(x).  It evaluates
 *                  no likelihood: cost 0 log p(x | z) evaluations — its work (K ancestral simulations and
 *                  K encoder scores) is not in any counter, which the row's message says.
 * An all-zero weight vector (every log p(x_g, z_k) = -inf) carries no information about the posterior: that
 * group then contributes nothing.  A NaN or +inf log weight makes the estimate non-finite (counted by the
 * engine, never hidden).  Units: Bernoulli and categorical, through harness/ikl.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "estimators/estimator.h"
#include "harness/ikl.h"

enum { RWS_WAKE, RWS_DEFENSIVE };

typedef struct {
    int mode;
    double eps, log_eps, log1m_eps; /* defensive mixture weight of the prior */
    int U;                          /* units per group */
    int *z;                         /* K x U */
    double *lw;                     /* K log weights */
} rws_state_t;

static const gv_optdoc rws_opts_none[] = {{NULL, NULL, NULL}};
static const gv_optdoc rws_opts_defensive[] = {
    {"eps", "0.1", "weight of the prior in the proposal (1-eps) q + eps p(z), in (0, 1]"},
    {NULL, NULL, NULL}};

static int rws_check_problem(const gv_problem *p, const char *name, char *err)
{
    if (!p->type->ikl || p->n_groups < 1 || p->group_units < 1)
        return gv_err(err, "%s needs an inclusive-KL problem with groups of latent units; %s has none", name,
                      p->spec), GV_EFAIL;
    return GV_OK;
}

static int rws_init_mode(rws_state_t *s, int mode, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    s->mode = mode;
    if (rws_check_problem(p, mode == RWS_WAKE ? "rws-wake" : "rws-defensive", err)) return GV_EFAIL;
    if (mode == RWS_DEFENSIVE) {
        if (gv_opt_double(spec, "eps", 0.1, -HUGE_VAL, HUGE_VAL, &s->eps, err)) return GV_EUSAGE;
        if (!(s->eps > 0 && s->eps <= 1)) /* the interval is half-open: gv_opt_double's bounds are closed */
            return gv_err(err, "option eps=%s of 'rws-defensive': must be in (0, 1] (the prior's weight in the "
                          "proposal; eps = 0 would be rws-wake)", gv_spec_get(spec, "eps")), GV_EUSAGE;
        s->log_eps = log(s->eps);
        s->log1m_eps = s->eps < 1 ? log1p(-s->eps) : -INFINITY;
    }
    s->U = p->group_units;
    s->z = malloc((size_t)K * s->U * sizeof(int));
    s->lw = malloc((size_t)K * sizeof(double));
    if (!s->z || !s->lw) return gv_err(err, "out of memory"), GV_EFAIL;
    return GV_OK;
}
static int rws_init_wake(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e)
{
    return rws_init_mode(v, RWS_WAKE, sp, p, K, e);
}
static int rws_init_defensive(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e)
{
    return rws_init_mode(v, RWS_DEFENSIVE, sp, p, K, e);
}

static void rws_free(void *v)
{
    rws_state_t *s = v;
    free(s->z);
    free(s->lw);
}

static int rws_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    rws_state_t *s = v;
    const gv_problem *p = ev->problem;
    const gv_ikl_hooks *h = p->type->ikl;
    for (int grp = 0; grp < p->n_groups; grp++) {
        double m = -INFINITY;
        int nan = 0;
        for (int k = 0; k < K; k++) {
            int *z = s->z + (size_t)k * s->U;
            double lw;
            if (s->mode == RWS_WAKE) {
                gv_ikl_sample_q(ev->pt, p, grp, r, z);
                lw = gv_eval_log_joint(ev, grp, z) - gv_ikl_log_q(ev->pt, p, grp, z);
            } else {
                if (gsl_rng_uniform(r) < s->eps) h->sample_prior(p, grp, r, z);
                else gv_ikl_sample_q(ev->pt, p, grp, r, z);
                const double lp = h->log_prior(p, grp, z);
                const double lr = gv_logsumexp((const double[]){s->log1m_eps + gv_ikl_log_q(ev->pt, p, grp, z), s->log_eps + lp}, 2);
                lw = lp + gv_eval_log_lik(ev, grp, z) - lr;
            }
            s->lw[k] = lw;
            if (isnan(lw)) nan = 1;
            else if (lw > m) m = lw;
        }
        if (nan || m == INFINITY) { /* no finite normalisation: say so in the estimate */
            g[p->layout.units[(size_t)grp * s->U].param] = NAN;
            continue;
        }
        if (m == -INFINITY) continue; /* every weight 0: see the header */
        double sum = 0;
        for (int k = 0; k < K; k++) sum += s->lw[k] = exp(s->lw[k] - m);
        for (int k = 0; k < K; k++)
            if (s->lw[k] > 0) gv_ikl_score_axpy(ev->pt, p, grp, s->z + (size_t)k * s->U, -s->lw[k] / sum, g);
    }
    return 0;
}

/* ---- sleep: simulated data, gradient in phi */
typedef struct {
    int *z;
    double *x;
} sleep_state_t;

static int sleep_init(void *v, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    sleep_state_t *s = v;
    if (rws_check_problem(p, "sleep", err)) return GV_EFAIL;
    const gv_ikl_hooks *h = p->type->ikl;
    if (p->n_outer < 1 || !h->sample_joint || !h->score_phi || p->x_dim < 1)
        return gv_err(err, "sleep needs an amortised q_phi(z | x) with joint simulation (z, x) ~ p(z) p(x | z) and "
                      "its phi-score; problem %s lacks them", p->spec), GV_EFAIL;
    s->z = malloc((size_t)p->group_units * sizeof(int));
    s->x = malloc((size_t)p->x_dim * sizeof(double));
    if (!s->z || !s->x) return gv_err(err, "out of memory"), GV_EFAIL;
    return GV_OK;
}

static void sleep_free(void *v)
{
    sleep_state_t *s = v;
    free(s->z);
    free(s->x);
}

static int sleep_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    sleep_state_t *s = v;
    const gv_problem *p = ev->problem;
    const gv_ikl_hooks *h = p->type->ikl;
    const double *phi = ev->phi ? ev->phi : p->phi;
    /* N / K: each simulated pair stands for one of the N data points of the data objective's sum */
    const double w = -(double)p->n_groups / K;
    for (int k = 0; k < K; k++) {
        h->sample_joint(p, r, s->z, s->x);
        h->score_phi(p, phi, s->x, s->z, w, g);
    }
    return 0;
}

static void sleep_note(const void *v, char *buf, size_t len)
{
    snprintf(buf, len, "sleep evaluates no log p(x | z) (cost 0); its work, K joint simulations and K encoder "
                       "scores, is in no counter; scaled by the number of groups (data points) to N E_p(x) KL");
}

const gv_estimator_type gv_est_rws_wake = {
    .name = "rws-wake",
    .description = "reweighted wake: z_k ~ q, self-normalised w = p(x,z)/q(z), -sum wbar_k s(z_k) per data point",
    .citation = "Bornschein & Bengio 1406.2751",
    .objective = GV_OBJ_INCLUSIVE_KL,
    .units = GV_UNIT_BERNOULLI | GV_UNIT_CATEGORICAL,
    .needs = GV_NEED_F,
    .min_K = 1, .K_multiple = 1, .biased = 1, .cost = "K N",
    .options = rws_opts_none,
    .state_size = sizeof(rws_state_t),
    .init = rws_init_wake, .free = rws_free, .estimate = rws_estimate,
};

const gv_estimator_type gv_est_rws_defensive = {
    .name = "rws-defensive",
    .description = "reweighted wake with the defensive proposal (1-eps) q + eps p(z), mixture-density weights",
    .citation = "Bornschein & Bengio 1406.2751; Hesterberg 1995 (Technometrics 37) for defensive mixtures",
    .objective = GV_OBJ_INCLUSIVE_KL,
    .units = GV_UNIT_BERNOULLI | GV_UNIT_CATEGORICAL,
    .needs = GV_NEED_F,
    .min_K = 1, .K_multiple = 1, .biased = 1, .cost = "K N",
    .options = rws_opts_defensive,
    .state_size = sizeof(rws_state_t),
    .init = rws_init_defensive, .free = rws_free, .estimate = rws_estimate,
};

const gv_estimator_type gv_est_sleep = {
    .name = "sleep",
    .description = "sleep phase: (z, x) ~ p(z) p(x|z), -(N/K) sum grad_phi log q_phi(z_s|x_s); model-marginal KL",
    .citation = "Hinton, Dayan, Frey & Neal 1995 (Science 268); Bornschein & Bengio 1406.2751",
    .objective = GV_OBJ_INCLUSIVE_KL,
    .units = GV_UNIT_BERNOULLI | GV_UNIT_CATEGORICAL,
    .needs = 0,
    .min_K = 1, .K_multiple = 1, .biased = 1, .wrt_phi = 1, .cost = "0",
    .options = rws_opts_none,
    .state_size = sizeof(sleep_state_t),
    .init = sleep_init, .free = sleep_free, .estimate = sleep_estimate, .note = sleep_note,
};
