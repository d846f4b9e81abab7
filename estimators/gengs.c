/* gengs.c — generalized Gumbel-Softmax for count variables (Joo et al. 2003.01847) and its
 * straight-through variant.  Per count unit: truncate the law to classes 0..M-1 (tail=lump: the
 * last class carries P(X >= M-1), i.e. the law of min(X, M-1); tail=renorm: renormalise p on
 * 0..M-1), relax the truncated categorical pi with Gumbel-Softmax, y = softmax((log pi + G)/tau),
 * and map back linearly, x~ = sum_k k y_k.
 *   g = f~'(x~) dx~/deta,  dx~/deta = (1/tau) sum_k k y_k (dlog pi_k - sum_j y_j dlog pi_j)
 * with dlog pi_k = s(k) = d/deta log p(k) for k < M-1 and, for the lumped class,
 * d log T = sum_{k >= M-1} p(k) s(k) / T.  st-gengs forwards the hard value argmax_k (log pi_k +
 * G_k) and keeps the relaxed backward pass.  One grad-f~ evaluation per sample, no f evaluation.
 * Biased (temperature and truncation); M = option, or the least M with P(X >= M) <= eps.
 * Trajectory mode anneals tau <- max(tau_min, tau exp(-anneal)) each step (option anneal). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "estimators/estimator.h"
#include "harness/rng.h"

typedef struct {
    double tau0, tau, tau_min, anneal, eps;
    int M_opt, lump, st;
    int n_units, M_max;
    /* per unit, cached for the eta they were built at */
    double *eta_cached; /* n_units */
    int *M;             /* n_units */
    double *logpi, *dlogpi; /* n_units x M_max */
    double *a, *y, *xt, *dx, *gf; /* scratch: M_max, M_max, n_units x3 */
} gg_state_t;

static const gv_optdoc gg_opts[] = {
    {"tau", "1", "Gumbel-Softmax temperature"},
    {"M", "0", "truncation: classes 0..M-1 (0 = choose M from eps)"},
    {"eps", "1e-6", "with M=0: least M with tail P(X >= M) <= eps"},
    {"tail", "lump", "lump (last class = P(X >= M-1)) | renorm"},
    {"anneal", "0", "trajectory mode: tau <- max(tau_min, tau exp(-anneal)) per step"},
    {"tau_min", "0.1", "floor of the annealed temperature"},
    {NULL, NULL, NULL}};

static const char *const gg_tails[] = {"lump", "renorm", NULL};

static int gg_init_common(gg_state_t *s, const gv_spec *spec, const gv_problem *p, int st, char *err)
{
    long M;
    int tail;
    if (gv_opt_double(spec, "tau", 1, 1e-4, 1e4, &s->tau0, err) || gv_opt_long(spec, "M", 0, 0, 10000000, &M, err) ||
        gv_opt_double(spec, "eps", 1e-6, 1e-300, 0.5, &s->eps, err) ||
        gv_opt_choice(spec, "tail", gg_tails, 0, &tail, err) ||
        gv_opt_double(spec, "anneal", 0, 0, 10, &s->anneal, err) ||
        gv_opt_double(spec, "tau_min", 0.1, 1e-4, 1e4, &s->tau_min, err))
        return GV_EUSAGE;
    if (M == 1) return gv_err(err, "option M=1 of '%s': the truncation needs at least 2 classes", spec->name), GV_EUSAGE;
    s->tau = s->tau0;
    s->M_opt = (int)M;
    s->lump = tail == 0;
    s->st = st;
    s->n_units = p->layout.n_units;
    /* the largest M needed: fixed, or from eps at eta0 with room for the parameter to move */
    int Mmax = s->M_opt;
    for (int i = 0; i < s->n_units && !s->M_opt; i++) {
        const gv_unit *u = &p->layout.units[i];
        int m = gv_count_support(u, p->eta[u->param], s->eps);
        if (m < 2) m = 2;
        if (4 * m + 16 > Mmax) Mmax = 4 * m + 16; /* grown on demand if a trajectory needs more */
    }
    s->M_max = Mmax;
    size_t n = (size_t)s->n_units, m = (size_t)Mmax;
    s->eta_cached = malloc(n * sizeof(double));
    s->M = calloc(n, sizeof(int));
    s->logpi = malloc(n * m * sizeof(double));
    s->dlogpi = malloc(n * m * sizeof(double));
    s->a = malloc(m * sizeof(double));
    s->y = malloc(m * sizeof(double));
    s->xt = malloc(n * sizeof(double));
    s->dx = malloc(n * sizeof(double));
    s->gf = malloc(n * sizeof(double));
    if (!s->eta_cached || !s->M || !s->logpi || !s->dlogpi || !s->a || !s->y || !s->xt || !s->dx || !s->gf)
        return gv_err(err, "out of memory"), GV_EFAIL;
    for (size_t i = 0; i < n; i++) s->eta_cached[i] = NAN;
    return GV_OK;
}

static int gg_init(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return gg_init_common(v, sp, p, 0, e); }
static int gg_init_st(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return gg_init_common(v, sp, p, 1, e); }

static void gg_free(void *v)
{
    gg_state_t *s = v;
    free(s->eta_cached), free(s->M), free(s->logpi), free(s->dlogpi);
    free(s->a), free(s->y), free(s->xt), free(s->dx), free(s->gf);
}

/* sum_{k >= m} p(k) s(k): from below when the tail is large, by summing the tail when small
 * (sum_{k<m} p s = -sum_{k>=m} p s cancels catastrophically when the tail is tiny). */
static double tail_score(const gv_unit *u, double eta, int m, double T)
{
    double acc = 0;
    if (T > 0.25) {
        for (int k = 0; k < m; k++) acc -= exp(gv_count_logpmf(u, eta, k)) * gv_count_score(u, eta, k);
        return acc;
    }
    double mean = gv_count_mean(u, eta);
    for (long k = m; k < m + 100000000L; k++) {
        double pk = exp(gv_count_logpmf(u, eta, (double)k));
        acc += pk * gv_count_score(u, eta, (double)k);
        if (k > mean && pk < 1e-18 * T) break;
        if (u->family == GV_BINOMIAL && k >= u->shape) break;
    }
    return acc;
}

/* Build log pi and d log pi / d eta for unit i at eta. */
static int gg_build(gg_state_t *s, const gv_unit *u, int i, double eta)
{
    int M = s->M_opt ? s->M_opt : gv_count_support(u, eta, s->eps);
    if (M < 2) M = 2;
    if (u->family == GV_BINOMIAL && M > u->shape + 1) M = (int)u->shape + 1;
    if (M > s->M_max) return -1;
    double *lp = s->logpi + (size_t)i * s->M_max, *dl = s->dlogpi + (size_t)i * s->M_max;
    for (int k = 0; k < M; k++) {
        lp[k] = gv_count_logpmf(u, eta, k);
        dl[k] = gv_count_score(u, eta, k);
    }
    if (s->lump) {
        double T = gv_count_tail(u, eta, M - 1);
        if (T > 0) {
            lp[M - 1] = log(T);
            dl[M - 1] = tail_score(u, eta, M - 1, T) / T;
        }
    } else {
        double lz = gv_logsumexp(lp, M), Wp = 0, Sp = 0;
        for (int k = 0; k < M; k++) {
            double w = exp(lp[k] - lz);
            Wp += w;
            Sp += w * dl[k];
        }
        for (int k = 0; k < M; k++) lp[k] -= lz, dl[k] -= Sp / Wp;
    }
    s->M[i] = M;
    s->eta_cached[i] = eta;
    return 0;
}

static int gg_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    gg_state_t *s = v;
    const gv_point *pt = ev->pt;
    const gv_layout *L = pt->layout;
    const double invK = 1.0 / K, tau = s->tau;
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *u = &L->units[i];
        double eta = pt->eta[u->param];
        if (eta != s->eta_cached[i] && gg_build(s, u, i, eta)) return -1;
    }
    for (int k = 0; k < K; k++) {
        for (int i = 0; i < L->n_units; i++) {
            const int M = s->M[i];
            const double *lp = s->logpi + (size_t)i * s->M_max, *dl = s->dlogpi + (size_t)i * s->M_max;
            double amax = -INFINITY;
            int kmax = 0;
            for (int c = 0; c < M; c++) {
                double u01 = gv_uniform(r);
                double gum = -log(-log(u01 > 0 ? u01 : 0x1.0p-54)); /* Gumbel(0,1) */
                s->a[c] = lp[c] + gum;
                if (s->a[c] > amax) amax = s->a[c], kmax = c;
            }
            double Z = 0;
            for (int c = 0; c < M; c++) Z += (s->y[c] = exp((s->a[c] - amax) / tau));
            double xt = 0, ybar_dl = 0;
            for (int c = 0; c < M; c++) {
                s->y[c] /= Z;
                xt += c * s->y[c];
                ybar_dl += s->y[c] * dl[c];
            }
            double dx = 0;
            for (int c = 0; c < M; c++) dx += c * s->y[c] * (dl[c] - ybar_dl);
            s->xt[i] = s->st ? (double)kmax : xt;
            s->dx[i] = dx / tau;
        }
        gv_eval_grad(ev, s->xt, s->gf);
        for (int i = 0; i < L->n_units; i++) g[L->units[i].param] += invK * s->gf[i] * s->dx[i];
    }
    return 0;
}

static void gg_reset(void *v)
{
    gg_state_t *s = v;
    s->tau = s->tau0;
}

static void gg_copy(void *dst, const void *src) { ((gg_state_t *)dst)->tau = ((const gg_state_t *)src)->tau; }

static void gg_schedule(void *v, long step)
{
    gg_state_t *s = v;
    s->tau = fmax(s->tau_min, s->tau0 * exp(-s->anneal * (double)step));
}

static void gg_note(const void *v, char *buf, size_t len)
{
    const gg_state_t *s = v;
    snprintf(buf, len, "tau=%g, truncated to M=%d classes (%s)", s->tau, s->M[0], s->lump ? "lump" : "renorm");
}

#define GG_COMMON                                                                                   \
    .objective = GV_OBJ_EXPECTATION, .units = GV_UNIT_COUNT, .needs = GV_NEED_GRAD_FTILDE, .min_K = 1, \
    .K_multiple = 1, .biased = 1, .cost = "K grad-ftilde", .options = gg_opts,                           \
    .state_size = sizeof(gg_state_t), .free = gg_free, .reset = gg_reset, .copy_learned = gg_copy,       \
    .estimate = gg_estimate, .schedule = gg_schedule, .note = gg_note

const gv_estimator_type gv_est_gengs = {
    .name = "gengs",
    .description = "generalized Gumbel-Softmax: truncated, relaxed count, mapped back linearly",
    .citation = "Joo, Kim, Shin, Yang & Moon 2003.01847",
    .init = gg_init, GG_COMMON};

const gv_estimator_type gv_est_st_gengs = {
    .name = "st-gengs",
    .description = "straight-through GenGS: hard count forward, relaxed backward",
    .citation = "Joo, Kim, Shin, Yang & Moon 2003.01847; Bengio et al. 1308.3432",
    .init = gg_init_st, GG_COMMON};
