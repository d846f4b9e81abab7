/* relaxed.c — relaxations of Bernoulli units through the continuous extension f~ (four variants
 * sharing one sampler loop; all biased).  Per unit, logistic noise L = log u - log(1 - u),
 * z = eta + L (so b = 1[z > 0] ~ Bernoulli(theta)) and y = sigma(z / tau):
 *   st              b ~ q forward, dtheta/deta backward:     g = grad f~(b) . theta (1 - theta)
 *                   (Bengio, Leonard & Courville 1308.3432)
 *   gumbel-softmax  binary Concrete (Jang, Gu & Poole 1611.01144; Maddison, Mnih & Teh 1611.00712):
 *                   g = grad_eta f~(y) = grad f~(y) . y (1 - y) / tau
 *   st-gumbel       hard b forward, relaxed y backward:      g = grad f~(b) . y (1 - y) / tau
 *   gumbel-rao      (Paulus, Maddison & Krause 2010.04838) st-gumbel with the Jacobian replaced by
 *                   its mean over M draws of the noise given b:  g = grad f~(b) . (1/M) sum_m
 *                   y~_m (1 - y~_m) / tau,  y~_m = sigma(z~_m / tau),  z~_m ~ p(z | b) drawn as in
 *                   REBAR: v' = v (1 - theta) if b = 0, v theta + (1 - theta) if b = 1,
 *                   z~ = eta + logit v'  (v' is uniform on the part of (0,1) where u gives b).
 * The Jacobian is d/deta of y(eta + L) with the noise held fixed (dz/deta = 1), as in the papers.
 * K samples averaged.  Cost: K grad-f~ evaluations (one per sample, at b or y); no f, no f~.
 * Biased: st and the hard-forward variants are biased whenever f~ is not affine along the unit
 * (and st at any theta != 1/2 on a quadratic); gumbel-softmax is unbiased for the relaxed
 * objective E f~(y), whose gradient differs from dE f/deta by O(tau) for a smooth f~.
 * Options tau, anneal, tau_min as in gengs.c: trajectory mode sets tau = max(tau_min,
 * tau0 exp(-anneal step)) in schedule(). */
#include <math.h>
#include <stdlib.h>

#include "estimators/estimator.h"
#include "harness/rng.h"

enum { RX_ST, RX_GS, RX_STGS, RX_GR };

typedef struct {
    int mode;
    long M;                            /* gumbel-rao draws */
    double tau0, tau, tau_min, anneal; /* tau: the current temperature (schedule) */
    double *x, *jac, *gf;              /* point handed to grad f~, Jacobian, grad f~: n_units each */
} rx_state_t;

static const gv_optdoc rx_opts_st[] = {{NULL, NULL, NULL}};
#define RX_TAU_OPTS                                                                 \
    {"tau", "1", "temperature of the relaxation y = sigma((eta + L)/tau)"},         \
    {"anneal", "0", "trajectory mode: tau <- max(tau_min, tau exp(-anneal)) per step"}, \
    {"tau_min", "0.1", "floor of the annealed temperature"}
static const gv_optdoc rx_opts_tau[] = {RX_TAU_OPTS, {NULL, NULL, NULL}};
static const gv_optdoc rx_opts_gr[] = {
    RX_TAU_OPTS, {"M", "10", "draws of the noise given b averaged in the Jacobian"}, {NULL, NULL, NULL}};

static int rx_init_mode(rx_state_t *s, int mode, const gv_spec *spec, const gv_problem *p, char *err)
{
    s->mode = mode;
    s->tau0 = 1;
    if (mode != RX_ST && (gv_opt_double(spec, "tau", 1, 1e-4, 1e4, &s->tau0, err) ||
                          gv_opt_double(spec, "anneal", 0, 0, 10, &s->anneal, err) ||
                          gv_opt_double(spec, "tau_min", 0.1, 1e-4, 1e4, &s->tau_min, err)))
        return GV_EUSAGE;
    if (mode == RX_GR && gv_opt_long(spec, "M", 10, 1, 1000000, &s->M, err)) return GV_EUSAGE;
    s->tau = s->tau0;
    size_t n = (size_t)p->layout.n_units;
    s->x = malloc(n * sizeof(double));
    s->jac = malloc(n * sizeof(double));
    s->gf = malloc(n * sizeof(double));
    if (!s->x || !s->jac || !s->gf) return gv_err(err, "out of memory"), GV_EFAIL;
    return GV_OK;
}
static int rx_init_st(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return rx_init_mode(v, RX_ST, sp, p, e); }
static int rx_init_gs(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return rx_init_mode(v, RX_GS, sp, p, e); }
static int rx_init_stgs(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return rx_init_mode(v, RX_STGS, sp, p, e); }
static int rx_init_gr(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return rx_init_mode(v, RX_GR, sp, p, e); }

static void rx_free(void *v)
{
    rx_state_t *s = v;
    free(s->x), free(s->jac), free(s->gf);
}

/* u in (0,1): gv_uniform is in [0,1); 0 would give log 0 */
static inline double rx_u01(gsl_rng *r)
{
    double u = gv_uniform(r);
    return u > 0 ? u : 0x1.0p-54;
}

/* y = sigma(z/tau) and dy/dz = y (1 - y)/tau at z = log(a/q), a, q > 0 (the odds a/q are
 * formed from theta and 1 - theta without cancellation).  tau = 1: y = a/(a + q),
 * y (1 - y) = a q/(a + q)^2, no transcendental function; otherwise one log and one exp. */
static inline double rx_relax(double a, double q, double itau, double *jac)
{
    if (itau == 1) {
        double den = 1 / (a + q);
        *jac = a * q * den * den;
        return a * den;
    }
    double x = log(a / q) * itau, e = exp(-fabs(x)), inv = 1 / (1 + e);
    *jac = e * inv * inv * itau;
    return x > 0 ? inv : e * inv;
}

static int rx_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    rx_state_t *s = v;
    const gv_point *pt = ev->pt;
    const int D = pt->layout->n_units;
    const double *th = pt->prob, *cm = pt->comp;
    const double invK = 1.0 / K, itau = 1.0 / s->tau;
    for (int k = 0; k < K; k++) {
        for (int i = 0; i < D; i++) {
            double u = rx_u01(r);
            if (s->mode == RX_ST) { /* the same comparison as gv_sample */
                s->x[i] = u < th[i];
                s->jac[i] = th[i] * cm[i];
                continue;
            }
            /* z = eta + logit u = log(a/q), b = 1[z > 0] */
            double a = u * th[i], q = (1 - u) * cm[i], jac, y = rx_relax(a, q, itau, &jac);
            int b = a > q;
            if (s->mode != RX_GR) {
                s->x[i] = s->mode == RX_GS ? y : b;
                s->jac[i] = jac;
            } else {
                /* z~ = eta + logit v' = log(v' theta / ((1 - v')(1 - theta))).  With (A, B, x) =
                 * (1 - theta, theta, w) if b = 1, (theta, 1 - theta, 1 - w) if b = 0, the pair
                 * {v', 1 - v'} is {A + x B, B (1 - x)} and the odds are (A + x B) B / ((1 - x) B A) or
                 * its inverse; y(1 - y) is the same for both, so no branch on b in the loop. */
                const double A = b ? cm[i] : th[i], B = b ? th[i] : cm[i];
                double acc = 0;
                for (long m = 0; m < s->M; m++) {
                    double w = rx_u01(r), x1 = b ? w : 1 - w, x0 = b ? 1 - w : w;
                    rx_relax((A + x1 * B) * B, x0 * B * A, itau, &jac);
                    acc += jac;
                }
                s->x[i] = b;
                s->jac[i] = acc / (double)s->M;
            }
        }
        gv_eval_grad(ev, s->x, s->gf);
        for (int i = 0; i < D; i++) g[i] += invK * s->gf[i] * s->jac[i];
    }
    return 0;
}

static void rx_reset(void *v)
{
    rx_state_t *s = v;
    s->tau = s->tau0;
}

static void rx_copy(void *dst, const void *src) { ((rx_state_t *)dst)->tau = ((const rx_state_t *)src)->tau; }

static void rx_schedule(void *v, long step)
{
    rx_state_t *s = v;
    s->tau = fmax(s->tau_min, s->tau0 * exp(-s->anneal * (double)step));
}

static void rx_note(const void *v, char *buf, size_t len)
{
    const rx_state_t *s = v;
    if (s->mode == RX_GR) snprintf(buf, len, "tau=%g, M=%ld", s->tau, s->M);
    else snprintf(buf, len, "tau=%g", s->tau);
}

#define RX_COMMON                                                                                          \
    .objective = GV_OBJ_EXPECTATION, .units = GV_UNIT_BERNOULLI, .needs = GV_NEED_GRAD_FTILDE, .min_K = 1,  \
    .K_multiple = 1, .biased = 1, .cost = "K grad-ftilde", .state_size = sizeof(rx_state_t), .free = rx_free, \
    .estimate = rx_estimate
#define RX_TAU_HOOKS .reset = rx_reset, .copy_learned = rx_copy, .schedule = rx_schedule, .note = rx_note

const gv_estimator_type gv_est_st = {
    .name = "st",
    .description = "straight-through: hard b forward, grad f~(b) . theta(1-theta) backward",
    .citation = "Bengio, Leonard & Courville 1308.3432",
    .options = rx_opts_st, .init = rx_init_st, RX_COMMON};

const gv_estimator_type gv_est_gumbel_softmax = {
    .name = "gumbel-softmax",
    .description = "binary Concrete: grad f~(y) . y(1-y)/tau at y = sigma((eta + logistic)/tau)",
    .citation = "Jang, Gu & Poole 1611.01144; Maddison, Mnih & Teh 1611.00712",
    .options = rx_opts_tau, .init = rx_init_gs, RX_COMMON, RX_TAU_HOOKS};

const gv_estimator_type gv_est_st_gumbel = {
    .name = "st-gumbel",
    .description = "straight-through Gumbel: hard b = 1[eta + logistic > 0] forward, relaxed y backward",
    .citation = "Jang, Gu & Poole 1611.01144",
    .options = rx_opts_tau, .init = rx_init_stgs, RX_COMMON, RX_TAU_HOOKS};

const gv_estimator_type gv_est_gumbel_rao = {
    .name = "gumbel-rao",
    .description = "st-gumbel with the Jacobian averaged over M draws of the noise given b",
    .citation = "Paulus, Maddison & Krause 2010.04838",
    .options = rx_opts_gr, .init = rx_init_gr, RX_COMMON, RX_TAU_HOOKS};
