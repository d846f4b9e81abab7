/* relaxed.c — relaxations through the continuous extension f~ (four variants sharing one sampler
 * loop; all biased).
 * Bernoulli unit: logistic noise L = log u - log(1 - u), z = eta + L (so b = 1[z > 0] ~
 * Bernoulli(theta)) and y = sigma(z / tau):
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
 * Categorical unit (gumbel-softmax, st-gumbel, gumbel-rao; st is Bernoulli only): logits l, pi =
 * softmax(l), Gumbel noise G_c = -log E_c, E_c = -log u_c ~ Exp(1), one uniform per class, and
 * y = softmax((l + G)/tau).  Everything is computed relative to log Z (Z = sum_c e^{l_c}):
 * x_c = l_c + G_c - log Z = log(pi_c / E_c) (the exponential race: argmax_c x_c = argmin_c E_c/pi_c
 * ~ Cat(pi)), and y = softmax(x / tau) with the maximum subtracted (tau = 1: y_c is proportional to
 * pi_c / E_c, no transcendental function).  The vector-Jacobian product with dy_c/dl_j =
 * y_c (delta_cj - y_j)/tau is  g_j = y_j (h_j - h . y) / tau,  h = grad f~ at the forward point:
 *   gumbel-softmax  forward y (f~'s argument is the relaxed simplex point)
 *   st-gumbel       forward the one-hot e_z, z = argmax_c x_c, backward through y (h = grad f~(e_z))
 *   gumbel-rao      z ~ Cat(pi) by the inverse CDF (one uniform, as gv_sample), h = grad f~(e_z), and
 *                   the product averaged over M draws of the noise given argmax = z (conditional
 *                   Gumbel, CATALOGUE.md, divided by Z):  x_z = -log E_z,  x_c = -log(E_c/pi_c + E_z)
 *                   for c != z.  (The maximum of l + G is log Z - log E_z, and given it the other
 *                   l_c + G_c are Gumbel(l_c) truncated below it: -log(E_c e^{-l_c} + E_z/Z).)
 *                   The conditional draws come after the one call of grad f~ per sample, since they
 *                   only enter through h.  A class with pi_c = 0 (underflow) gets y_c = 0, never NaN.
 * The Jacobian is d/deta of y(eta + noise) with the noise held fixed, as in the papers.
 * K samples averaged.  Cost: K grad-f~ evaluations (one per sample, at b, e_z or y); no f, no f~.
 * Biased: st and the hard-forward variants are biased whenever f~ is not affine along the unit
 * (and st at any theta != 1/2 on a quadratic); gumbel-softmax is unbiased for the relaxed
 * objective E f~(y), whose gradient differs from dE f/deta for tau > 0 even for a linear f~
 * (E y != pi in general); for a linear f~ that bias vanishes as tau -> 0, while the variance grows
 * like 1/tau.  With a linear f~, st-gumbel and gumbel-softmax give the same estimate from the same
 * noise, and gumbel-rao has their mean for every M.
 * Layouts: a purely Bernoulli layout takes the original loop (random numbers consumed unit by unit,
 * one u per unit, then M more for gumbel-rao); any layout with categorical units takes a general
 * loop that handles Bernoulli units the same way, unit by unit.
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
    double *x, *jac, *gf;              /* point handed to grad f~, Jacobian, grad f~: n_params each */
    double *y, *lp;                    /* categorical units: relaxed y, log pi (n_params) */
    int *z;                            /* gumbel-rao: the argmax of each unit (n_units) */
} rx_state_t;

static const gv_optdoc rx_opts_st[] = {{NULL, NULL, NULL}};
#define RX_TAU_OPTS                                                                 \
    {"tau", "1", "temperature of the relaxation y = softmax((l + G)/tau) (binary: sigma((eta + L)/tau))"},         \
    {"anneal", "0", "trajectory mode: tau <- max(tau_min, tau exp(-anneal)) per step"}, \
    {"tau_min", "0.1", "floor of the annealed temperature"}
static const gv_optdoc rx_opts_tau[] = {RX_TAU_OPTS, {NULL, NULL, NULL}};
static const gv_optdoc rx_opts_gr[] = {
    RX_TAU_OPTS, {"M", "10", "draws of the noise given the argmax averaged in the Jacobian"}, {NULL, NULL, NULL}};

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
    size_t n = (size_t)p->layout.n_params; /* = n_units for a Bernoulli layout */
    s->x = malloc(n * sizeof(double));
    s->jac = malloc(n * sizeof(double));
    s->gf = malloc(n * sizeof(double));
    if (!s->x || !s->jac || !s->gf) return gv_err(err, "out of memory"), GV_EFAIL;
    if (p->layout.kinds & GV_UNIT_CATEGORICAL) {
        s->y = malloc(n * sizeof(double));
        s->lp = malloc(n * sizeof(double));
        s->z = malloc((size_t)p->layout.n_units * sizeof(int));
        if (!s->y || !s->lp || !s->z) return gv_err(err, "out of memory"), GV_EFAIL;
    }
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
    free(s->y), free(s->lp), free(s->z);
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

/* One Bernoulli unit of one sample: the point handed to grad f~ (*x) and the Jacobian factor. */
static inline void rx_bernoulli(const rx_state_t *s, double th, double cm, double itau, gsl_rng *r, double *x,
                                double *jac_out)
{
    double u = rx_u01(r);
    if (s->mode == RX_ST) { /* the same comparison as gv_sample */
        *x = u < th;
        *jac_out = th * cm;
        return;
    }
    /* z = eta + logit u = log(a/q), b = 1[z > 0] */
    double a = u * th, q = (1 - u) * cm, jac, y = rx_relax(a, q, itau, &jac);
    int b = a > q;
    if (s->mode != RX_GR) {
        *x = s->mode == RX_GS ? y : b;
        *jac_out = jac;
    } else {
        /* z~ = eta + logit v' = log(v' theta / ((1 - v')(1 - theta))).  With (A, B, x) =
         * (1 - theta, theta, w) if b = 1, (theta, 1 - theta, 1 - w) if b = 0, the pair
         * {v', 1 - v'} is {A + x B, B (1 - x)} and the odds are (A + x B) B / ((1 - x) B A) or
         * its inverse; y(1 - y) is the same for both, so no branch on b in the loop. */
        const double A = b ? cm : th, B = b ? th : cm;
        double acc = 0;
        for (long m = 0; m < s->M; m++) {
            double w = rx_u01(r), x1 = b ? w : 1 - w, x0 = b ? 1 - w : w;
            rx_relax((A + x1 * B) * B, x0 * B * A, itau, &jac);
            acc += jac;
        }
        *x = b;
        *jac_out = acc / (double)s->M;
    }
}

/* One categorical draw y = softmax((l + G)/tau) of C classes (C uniforms); returns argmax_c (l_c +
 * G_c).  x_c = log(pi_c / E_c); tau = 1: y_c = w_c / sum w, w_c = pi_c / E_c; otherwise from
 * log pi (finite even where pi underflows) with the maximum subtracted. */
static int rx_cat_draw(const double *pi, const double *lp, int C, double itau, gsl_rng *r, double *y)
{
    int best = 0;
    double sum = 0;
    if (itau == 1) {
        double wmax = -1;
        for (int c = 0; c < C; c++) {
            double w = pi[c] / -log(rx_u01(r));
            y[c] = w, sum += w;
            if (w > wmax) wmax = w, best = c;
        }
    } else {
        double tmax = -INFINITY;
        for (int c = 0; c < C; c++) {
            double t = (lp[c] - log(-log(rx_u01(r)))) * itau;
            y[c] = t;
            if (t > tmax) tmax = t, best = c;
        }
        for (int c = 0; c < C; c++) sum += y[c] = exp(y[c] - tmax);
    }
    const double is = 1 / sum;
    for (int c = 0; c < C; c++) y[c] *= is;
    return best;
}

/* y = softmax(x/tau) for noise drawn given argmax = z (C uniforms): x_z = -log E_z, x_c =
 * -log(E_c/pi_c + E_z).  tau = 1: y proportional to 1/E_z and pi_c/(E_c + pi_c E_z); otherwise
 * x_c = -logaddexp(log E_c - log pi_c, log E_z), and x_z is the maximum. */
static void rx_cat_cond(const double *pi, const double *lp, int C, int z, double itau, gsl_rng *r, double *y)
{
    for (int c = 0; c < C; c++) y[c] = -log(rx_u01(r));
    const double Ez = y[z];
    double sum = 0;
    if (itau == 1) {
        for (int c = 0; c < C; c++) sum += y[c] = c == z ? 1 / Ez : pi[c] / (y[c] + pi[c] * Ez);
    } else {
        const double lEz = log(Ez);
        for (int c = 0; c < C; c++) {
            if (c == z) continue;
            double a = log(y[c]) - lp[c], m = a > lEz ? a : lEz, d = -fabs(a - lEz);
            double xc = -(m + log1p(exp(d)));   /* x_c - x_z = xc + lEz <= 0 */
            sum += y[c] = exp((xc + lEz) * itau);
        }
        sum += y[z] = 1;
    }
    const double is = 1 / sum;
    for (int c = 0; c < C; c++) y[c] *= is;
}

/* g_j += w y_j (h_j - h.y): the vector-Jacobian product of y = softmax(x/tau) with dx/dl = I
 * (w carries 1/tau and the averaging weights). */
static inline void rx_cat_vjp(const double *y, const double *h, int C, double w, double *g)
{
    double hy = 0;
    for (int c = 0; c < C; c++) hy += h[c] * y[c];
    for (int c = 0; c < C; c++) g[c] += w * y[c] * (h[c] - hy);
}

/* Layouts with categorical units (and possibly Bernoulli ones). */
static int rx_estimate_general(rx_state_t *s, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    const gv_point *pt = ev->pt;
    const gv_layout *L = pt->layout;
    const int D = L->n_units;
    const double invK = 1.0 / K, itau = 1.0 / s->tau;
    for (int i = 0; i < D; i++) { /* log pi from the logits: finite where pi underflows */
        const gv_unit *u = &L->units[i];
        if (u->kind != GV_UNIT_CATEGORICAL) continue;
        const double lse = gv_logsumexp(pt->eta + u->param, u->ncat);
        for (int c = 0; c < u->ncat; c++) s->lp[u->param + c] = pt->eta[u->param + c] - lse;
    }
    for (int k = 0; k < K; k++) {
        for (int i = 0; i < D; i++) {
            const gv_unit *u = &L->units[i];
            const int o = u->param, C = u->ncat;
            if (u->kind == GV_UNIT_BERNOULLI) {
                rx_bernoulli(s, pt->prob[o], pt->comp[o], itau, r, s->x + o, s->jac + o);
                continue;
            }
            int z;
            if (s->mode == RX_GR) { /* z ~ Cat(pi) by the inverse CDF, as gv_sample */
                const double v = gv_uniform(r), *F = pt->cdf + o;
                z = 0;
                while (z < C - 1 && v >= F[z]) z++;
                s->z[i] = z;
            } else {
                z = rx_cat_draw(pt->prob + o, s->lp + o, C, itau, r, s->y + o);
            }
            if (s->mode == RX_GS) {
                for (int c = 0; c < C; c++) s->x[o + c] = s->y[o + c];
            } else {
                for (int c = 0; c < C; c++) s->x[o + c] = c == z;
            }
        }
        gv_eval_grad(ev, s->x, s->gf);
        for (int i = 0; i < D; i++) {
            const gv_unit *u = &L->units[i];
            const int o = u->param, C = u->ncat;
            if (u->kind == GV_UNIT_BERNOULLI) {
                g[o] += invK * s->gf[o] * s->jac[o];
            } else if (s->mode != RX_GR) {
                rx_cat_vjp(s->y + o, s->gf + o, C, invK * itau, g + o);
            } else {
                const double w = invK * itau / (double)s->M;
                for (long m = 0; m < s->M; m++) {
                    rx_cat_cond(pt->prob + o, s->lp + o, C, s->z[i], itau, r, s->y + o);
                    rx_cat_vjp(s->y + o, s->gf + o, C, w, g + o);
                }
            }
        }
    }
    return 0;
}

static int rx_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    rx_state_t *s = v;
    const gv_point *pt = ev->pt;
    if (pt->layout->kinds != GV_UNIT_BERNOULLI) return rx_estimate_general(s, ev, K, r, g);
    const int D = pt->layout->n_units;
    const double *th = pt->prob, *cm = pt->comp;
    const double invK = 1.0 / K, itau = 1.0 / s->tau;
    for (int k = 0; k < K; k++) {
        for (int i = 0; i < D; i++) rx_bernoulli(s, th[i], cm[i], itau, r, s->x + i, s->jac + i);
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
    .objective = GV_OBJ_EXPECTATION, .needs = GV_NEED_GRAD_FTILDE, .min_K = 1,                               \
    .K_multiple = 1, .biased = 1, .cost = "K grad-ftilde", .state_size = sizeof(rx_state_t), .free = rx_free, \
    .estimate = rx_estimate, .layerwise = 1
#define RX_UNITS (GV_UNIT_BERNOULLI | GV_UNIT_CATEGORICAL)
#define RX_TAU_HOOKS .reset = rx_reset, .copy_learned = rx_copy, .schedule = rx_schedule, .note = rx_note

const gv_estimator_type gv_est_st = {
    .name = "st",
    .description = "straight-through: hard b forward, grad f~(b) . theta(1-theta) backward",
    .citation = "Bengio, Leonard & Courville 1308.3432",
    .options = rx_opts_st, .init = rx_init_st, .units = GV_UNIT_BERNOULLI, RX_COMMON};

const gv_estimator_type gv_est_gumbel_softmax = {
    .name = "gumbel-softmax",
    .description = "Concrete relaxation: grad_eta f~(y), y = softmax((l + Gumbel)/tau) (binary: sigma((eta + logistic)/tau))",
    .citation = "Jang, Gu & Poole 1611.01144; Maddison, Mnih & Teh 1611.00712",
    .options = rx_opts_tau, .init = rx_init_gs, .units = RX_UNITS, RX_COMMON, RX_TAU_HOOKS};

const gv_estimator_type gv_est_st_gumbel = {
    .name = "st-gumbel",
    .description = "straight-through Gumbel: hard argmax (one-hot) forward, relaxed y backward",
    .citation = "Jang, Gu & Poole 1611.01144",
    .options = rx_opts_tau, .init = rx_init_stgs, .units = RX_UNITS, RX_COMMON, RX_TAU_HOOKS};

const gv_estimator_type gv_est_gumbel_rao = {
    .name = "gumbel-rao",
    .description = "st-gumbel with the Jacobian averaged over M draws of the noise given the argmax",
    .citation = "Paulus, Maddison & Krause 2010.04838",
    .options = rx_opts_gr, .init = rx_init_gr, .units = RX_UNITS, RX_COMMON, RX_TAU_HOOKS};
