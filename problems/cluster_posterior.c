/* cluster_posterior.c — amortised clustering, an inclusive-KL problem (objective `inclusive-kl`,
 * issue #7; the SMC-Wake setting of McNamara, Loper, Regier 2403.10610).
 *
 * Model: X data sets of N points in 1-D; per point a class z_i ~ Categorical(pi) of C classes;
 * class centres m_c = spacing (c - (C-1)/2); class means mu_c ~ N(m_c, s^2) integrated out
 * (means=integrated) or mu_c = m_c (means=known); x_i | z, mu ~ N(mu_{z_i}, sigma^2).  Data drawn
 * once from the model with the seed.
 * Integrated likelihood of one cluster (n points, y_i = x_i - m_c): the points are jointly
 * N(m_c 1, sigma^2 I + s^2 1 1^T); by Sherman–Morrison and the matrix determinant lemma
 *   log p = -n/2 log(2 pi sigma^2) - 1/2 log(1 + n s^2/sigma^2)
 *           - (sum y^2 - s^2 (sum y)^2 / (sigma^2 + n s^2)) / (2 sigma^2),
 * from the sufficient statistics n_c, S_c = sum x, Q_c = sum x^2 (sum y = S - n m, sum y^2 =
 * Q - 2 m S + n m^2); known means drop the s terms.  p(x | z) = prod_c p(cluster c).
 * q factorised categorical, amortised: eta_{ic} = a_c + b_c x_i, phi = (a_0..a_{C-1}, b_0..b_{C-1}).
 * Exact: for each data set all C^N assignments (<= 1e6), z_0 innermost with the other points'
 * statistics fixed, a streaming log-sum-exp: posterior marginals m_ic, log p(x_g) and
 * E_post[log p(z | x)]; KL = E_post[log p(z|x)] - sum_ic m_ic log q_ic; dKL/deta_ic = -(m_ic - q_ic).
 * Cost of exact: O(C^N + N C^(N-1)) per data set. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "harness/rng.h"
#include "harness/smc.h"
#include "problems/common.h"

#define CP_MAXC 64
#define CP_MAXN 64
#define CP_MAX_STATES 1e6 /* joint states per data set */

typedef struct {
    int X, N, C, integrated;
    double s, sigma, spacing, h; /* h = 1 / (2 sigma^2) */
    double pi[CP_MAXC], logpi[CP_MAXC], cdf[CP_MAXC], m[CP_MAXC];
    double c0[CP_MAXN + 1], shrink[CP_MAXN + 1]; /* per cluster size n: the constant and s^2/(sigma^2 + n s^2) */
    double *x;     /* X x N */
    double *logpx; /* X: exact log p(x_g) */
} cp_state_t;

static const gv_optdoc cp_opts[] = {
    {"preset", NULL, "representable (means=known, phi at the exact optimum) | collapsed (q on all points in class 0)"},
    {"X", "1", "data sets (groups), each with its own posterior"},
    {"N", "8", "points per data set (C^N <= 1e6)"},
    {"C", "3", "classes (2..64)"},
    {"pi", NULL, "class prior: C probabilities, slash-separated, summing to 1 (default uniform)"},
    {"spacing", "2", "class centres m_c = spacing (c - (C-1)/2)"},
    {"means", "integrated", "integrated (mu_c ~ N(m_c, s^2) integrated out) | known (mu_c = m_c)"},
    {"s", "1", "prior s.d. of the class means (means=integrated)"},
    {"sigma", "0.5", "noise s.d. of the points"},
    {"seed", "1", "seed of the data draw and of the default phi"},
    {"phi", NULL, "encoder a_0/../a_{C-1}/b_0/../b_{C-1} (eta_ic = a_c + b_c x_i; default N(0, 0.1^2), seeded)"},
    {NULL, NULL, NULL}};

static void cp_free(void *v)
{
    cp_state_t *st = v;
    free(st->x), free(st->logpx);
}

/* log p(points of class c) from n, S = sum x, Q = sum x^2. */
static inline double cp_cluster(const cp_state_t *st, int c, int n, double S, double Q)
{
    if (n == 0) return 0;
    const double m = st->m[c], sy = S - n * m, syy = Q - 2 * m * S + n * m * m;
    return st->c0[n] - (syy - st->shrink[n] * sy * sy) * st->h;
}

static double cp_log_lik_x(const cp_state_t *st, const double *x, const int *z)
{
    int n[CP_MAXC] = {0};
    double S[CP_MAXC] = {0}, Q[CP_MAXC] = {0}, l = 0;
    for (int i = 0; i < st->N; i++) n[z[i]]++, S[z[i]] += x[i], Q[z[i]] += x[i] * x[i];
    for (int c = 0; c < st->C; c++) l += cp_cluster(st, c, n[c], S[c], Q[c]);
    return l;
}

static double cp_log_prior_z(const cp_state_t *st, const int *z)
{
    double l = 0;
    for (int i = 0; i < st->N; i++) l += st->logpi[z[i]];
    return l;
}

static void cp_sample_z(const cp_state_t *st, gsl_rng *r, int *z)
{
    for (int i = 0; i < st->N; i++) {
        const double u = gv_uniform(r);
        int c = 0;
        while (c < st->C - 1 && u >= st->cdf[c]) c++;
        z[i] = c;
    }
}

/* (z, x) ~ p(z) p(mu) p(x | z, mu): the data draw and sleep's joint sample. */
static void cp_draw(const cp_state_t *st, gsl_rng *r, int *z, double *x)
{
    double mu[CP_MAXC];
    cp_sample_z(st, r, z);
    for (int c = 0; c < st->C; c++) mu[c] = st->m[c] + (st->integrated ? gsl_ran_gaussian(r, st->s) : 0);
    for (int i = 0; i < st->N; i++) x[i] = mu[z[i]] + gsl_ran_gaussian(r, st->sigma);
}

/* Enumerate data set x's C^N assignments: *logpx = log p(x); with marg (N x C) also the posterior
 * marginals and *elogpost = E_post[log p(z | x)] (= -entropy).  0, or -1 (non-finite). */
static int cp_enumerate(const cp_state_t *st, const double *x, double *logpx, double *marg, double *elogpost)
{
    const int N = st->N, C = st->C;
    int z[CP_MAXN] = {0}, n[CP_MAXC];
    double S[CP_MAXC], Q[CP_MAXC], L[CP_MAXC], lj[CP_MAXC];
    /* accumulators relative to the running maximum M: sum w, sum w (lj - M), sum w [z_i = c] */
    double M = -INFINITY, W = 0, E = 0;
    if (marg) memset(marg, 0, (size_t)N * C * sizeof *marg);
    const double x0 = x[0];
    for (;;) {
        /* points 1..N-1 fixed (z[1..]), point 0 runs over its C classes */
        memset(n, 0, (size_t)C * sizeof *n), memset(S, 0, (size_t)C * sizeof *S), memset(Q, 0, (size_t)C * sizeof *Q);
        double base = 0;
        for (int i = 1; i < N; i++) n[z[i]]++, S[z[i]] += x[i], Q[z[i]] += x[i] * x[i], base += st->logpi[z[i]];
        for (int c = 0; c < C; c++) base += L[c] = cp_cluster(st, c, n[c], S[c], Q[c]);
        double lm = -INFINITY;
        for (int c = 0; c < C; c++) {
            lj[c] = base - L[c] + cp_cluster(st, c, n[c] + 1, S[c] + x0, Q[c] + x0 * x0) + st->logpi[c];
            if (!isfinite(lj[c])) return -1;
            if (lj[c] > lm) lm = lj[c];
        }
        if (lm > M) { /* rescale to the new maximum: w (lj - M) = w' (lj - M') + w' (M' - M) */
            if (M > -INFINITY) {
                const double f = exp(M - lm);
                E = f * (E - (lm - M) * W), W *= f;
                if (marg)
                    for (int k = 0; k < N * C; k++) marg[k] *= f;
            }
            M = lm;
        }
        double wsum = 0;
        for (int c = 0; c < C; c++) {
            const double w = exp(lj[c] - M);
            wsum += w, E += w * (lj[c] - M);
            if (marg) marg[c] += w;
        }
        W += wsum;
        if (marg)
            for (int i = 1; i < N; i++) marg[i * C + z[i]] += wsum;
        int i = 1; /* mixed-radix increment of z[1..N-1] */
        while (i < N && ++z[i] == C) z[i++] = 0;
        if (i >= N) break;
    }
    *logpx = M + log(W);
    if (marg) {
        for (int k = 0; k < N * C; k++) marg[k] /= W;
        *elogpost = E / W - log(W);
    }
    return isfinite(*logpx) ? 0 : -1;
}

static int cp_exact_grad(const gv_problem *p, const gv_point *pt, double *value, double *cond, double *grad)
{
    const cp_state_t *st = p->state;
    const int N = st->N, C = st->C, X = st->X;
    double *kl = malloc((size_t)X * sizeof *kl);
    if (!kl) return -1;
    int bad = 0;
    /* one data set per iteration, each summed sequentially: the same bits for any thread count */
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : bad) if (X > 1 && pow(C, N) >= 1000)
    for (int g = 0; g < X; g++) {
        double marg[CP_MAXN * CP_MAXC], lpx, elp;
        if (cp_enumerate(st, st->x + (size_t)g * N, &lpx, marg, &elp)) {
            bad++;
            continue;
        }
        double cross = 0; /* E_post log q = sum_ic m_ic log q_ic, log q from the logits (no underflow) */
        for (int i = 0; i < N; i++) {
            const gv_unit *u = &p->layout.units[(size_t)g * N + i];
            const double *eta = pt->eta + u->param, lse = gv_logsumexp(eta, C);
            for (int c = 0; c < C; c++) {
                const double mi = marg[i * C + c];
                if (mi > 0) cross += mi * (eta[c] - lse);
                cond[u->cond + c] = mi;
                grad[u->param + c] = -(mi - pt->prob[u->param + c]);
            }
        }
        kl[g] = elp - cross;
    }
    double v = 0;
    for (int g = 0; g < X; g++) v += kl[g];
    free(kl);
    *value = v;
    return bad || !isfinite(v) ? -1 : 0;
}

static void cp_outer_map(const gv_problem *p, const double *phi, double *eta)
{
    const cp_state_t *st = p->state;
    const int C = st->C;
    for (int k = 0; k < st->X * st->N; k++) {
        const gv_unit *u = &p->layout.units[k];
        for (int c = 0; c < C; c++) eta[u->param + c] = phi[c] + phi[C + c] * st->x[k];
    }
}

static void cp_outer_vjp(const gv_problem *p, const double *geta, double *gphi)
{
    const cp_state_t *st = p->state;
    const int C = st->C;
    memset(gphi, 0, (size_t)2 * C * sizeof *gphi);
    for (int k = 0; k < st->X * st->N; k++) {
        const gv_unit *u = &p->layout.units[k];
        for (int c = 0; c < C; c++) gphi[c] += geta[u->param + c], gphi[C + c] += geta[u->param + c] * st->x[k];
    }
}

/* ------------------------------------------------------------------ inclusive-KL hooks */

static double cp_log_prior(const gv_problem *p, int g, const int *z) { return cp_log_prior_z(p->state, z); }
static double cp_log_lik(const gv_problem *p, int g, const int *z)
{
    const cp_state_t *st = p->state;
    return cp_log_lik_x(st, st->x + (size_t)g * st->N, z);
}
static void cp_sample_prior(const gv_problem *p, int g, gsl_rng *r, int *z) { cp_sample_z(p->state, r, z); }
static double cp_log_marginal(const gv_problem *p, int g) { return ((const cp_state_t *)p->state)->logpx[g]; }
static void cp_sample_joint(const gv_problem *p, gsl_rng *r, int *z, double *x) { cp_draw(p->state, r, z, x); }

static void cp_score_phi(const gv_problem *p, const double *phi, const double *x, const int *z, double w, double *gphi)
{
    const cp_state_t *st = p->state;
    const int C = st->C;
    for (int i = 0; i < st->N; i++) {
        double eta[CP_MAXC];
        for (int c = 0; c < C; c++) eta[c] = phi[c] + phi[C + c] * x[i];
        const double lse = gv_logsumexp(eta, C);
        for (int c = 0; c < C; c++) {
            const double r = (z[i] == c) - exp(eta[c] - lse);
            gphi[c] += w * r, gphi[C + c] += w * r * x[i];
        }
    }
}

/* The SMC target of data set g; the cache holds, per class c, (n_c, S_c, Q_c, log p(cluster c)), so
 * moving one point between classes costs two cluster evaluations. */
typedef struct {
    const cp_state_t *st;
    const double *x;
} cp_smc_ctx;

static double cps_log_prior(void *v, const int *z) { return cp_log_prior_z(((cp_smc_ctx *)v)->st, z); }
static void cps_sample_prior(void *v, gsl_rng *r, int *z) { cp_sample_z(((cp_smc_ctx *)v)->st, r, z); }
static double cps_log_lik(void *v, const int *z)
{
    const cp_smc_ctx *a = v;
    return cp_log_lik_x(a->st, a->x, z);
}
static void cps_aux_init(void *v, const int *z, double *aux)
{
    const cp_smc_ctx *a = v;
    const cp_state_t *st = a->st;
    memset(aux, 0, (size_t)4 * st->C * sizeof *aux);
    for (int i = 0; i < st->N; i++) {
        double *s = aux + 4 * z[i];
        s[0] += 1, s[1] += a->x[i], s[2] += a->x[i] * a->x[i];
    }
    for (int c = 0; c < st->C; c++) {
        double *s = aux + 4 * c;
        s[3] = cp_cluster(st, c, (int)s[0], s[1], s[2]);
    }
}
static double cps_log_lik_set(void *v, const int *z, int d, int val, double ll, const double *aux)
{
    const cp_smc_ctx *a = v;
    const int u = z[d];
    const double xd = a->x[d], *su = aux + 4 * u, *sv = aux + 4 * val;
    return ll - su[3] - sv[3] + cp_cluster(a->st, u, (int)su[0] - 1, su[1] - xd, su[2] - xd * xd) +
           cp_cluster(a->st, val, (int)sv[0] + 1, sv[1] + xd, sv[2] + xd * xd);
}
static void cps_aux_set(void *v, const int *z, int d, int val, double *aux)
{
    const cp_smc_ctx *a = v;
    const int u = z[d];
    const double xd = a->x[d];
    double *su = aux + 4 * u, *sv = aux + 4 * val;
    su[0] -= 1, su[1] -= xd, su[2] -= xd * xd;
    if (su[0] == 0) su[1] = su[2] = 0; /* an empty class: exact zeros, no drift */
    sv[0] += 1, sv[1] += xd, sv[2] += xd * xd;
    su[3] = cp_cluster(a->st, u, (int)su[0], su[1], su[2]);
    sv[3] = cp_cluster(a->st, val, (int)sv[0], sv[1], sv[2]);
}

static int cp_smc_target(const gv_problem *p, int g, void *ctx, gv_smc_target *t)
{
    const cp_state_t *st = p->state;
    if (g < 0 || g >= st->X) return -1;
    cp_smc_ctx *a = ctx;
    a->st = st, a->x = st->x + (size_t)g * st->N;
    *t = (gv_smc_target){.D = st->N, .ncat = st->C, .ctx = a, .log_prior = cps_log_prior,
                         .sample_prior = cps_sample_prior, .log_lik = cps_log_lik, .log_lik_set = cps_log_lik_set,
                         .aux_dim = 4 * st->C, .aux_init = cps_aux_init, .aux_set = cps_aux_set};
    return 0;
}

static const gv_ikl_hooks cp_ikl = {
    .log_prior = cp_log_prior, .log_lik = cp_log_lik, .sample_prior = cp_sample_prior,
    .log_marginal = cp_log_marginal, .smc_target = cp_smc_target, .smc_ctx_size = sizeof(cp_smc_ctx),
    .sample_joint = cp_sample_joint, .score_phi = cp_score_phi,
};

/* ------------------------------------------------------------------ init, describe */

/* known means: log p(z_i = c | x_i) = const + log pi_c - m_c^2 / (2 sigma^2) + m_c x_i / sigma^2 */
static void cp_optimal_phi(const cp_state_t *st, double *phi)
{
    for (int c = 0; c < st->C; c++)
        phi[c] = st->logpi[c] - st->m[c] * st->m[c] * st->h, phi[st->C + c] = 2 * st->h * st->m[c];
}

static int cp_init(gv_problem *p, const gv_spec *s, char *err)
{
    cp_state_t *st = p->state;
    static const char *const presets[] = {"representable", "collapsed", NULL};
    static const char *const means[] = {"integrated", "known", NULL};
    int preset = -1, known;
    const char *pre = gv_spec_get(s, "preset");
    if (pre) {
        for (preset = 0; presets[preset] && strcmp(pre, presets[preset]); preset++) {}
        if (!presets[preset])
            return gv_err(err, "problem %s: unknown preset '%s'; valid presets: representable, collapsed", s->name, pre),
                   GV_EUSAGE;
    }
    long X, N, C, seed;
    if (gv_opt_long(s, "X", 1, 1, 10000, &X, err) || gv_opt_long(s, "N", 8, 1, CP_MAXN, &N, err) ||
        gv_opt_long(s, "C", 3, 2, CP_MAXC, &C, err) || gv_opt_long(s, "seed", 1, 0, 2147483647L, &seed, err) ||
        gv_opt_double(s, "spacing", 2, 0, 1e4, &st->spacing, err) || gv_opt_double(s, "s", 1, 1e-6, 1e4, &st->s, err) ||
        gv_opt_double(s, "sigma", 0.5, 1e-6, 1e4, &st->sigma, err) ||
        gv_opt_choice(s, "means", means, preset == 0, &known, err))
        return GV_EUSAGE;
    const double states = pow((double)C, (double)N);
    if (states > CP_MAX_STATES)
        return gv_err(err, "problem %s: C=%ld, N=%ld give C^N = %.4g joint states per data set, above the enumeration "
                      "limit %.0f; lower C or N", s->name, C, N, states, CP_MAX_STATES), GV_EUSAGE;
    st->X = (int)X, st->N = (int)N, st->C = (int)C, st->integrated = !known, st->h = 0.5 / (st->sigma * st->sigma);
    double *v = NULL;
    int nv = 0;
    if (gv_opt_dlist(s, "pi", 0, 1, &v, &nv, err)) return GV_EUSAGE;
    if (v) {
        double sum = 0;
        int zero = 0;
        for (int c = 0; c < nv; c++) sum += v[c], zero |= !(v[c] > 0);
        if (nv != C || zero || fabs(sum - 1) > 1e-9) {
            gv_err(err, "problem %s: pi= needs C=%ld probabilities, each > 0, summing to 1 (got %d values summing to "
                   "%.12g)", s->name, C, nv, sum);
            free(v);
            return GV_EUSAGE;
        }
        for (int c = 0; c < C; c++) st->pi[c] = v[c] / sum;
        free(v);
    } else {
        for (int c = 0; c < C; c++) st->pi[c] = 1.0 / C;
    }
    double cum = 0;
    for (int c = 0; c < C; c++) {
        st->logpi[c] = log(st->pi[c]), st->cdf[c] = cum += st->pi[c];
        st->m[c] = st->spacing * (c - (C - 1) / 2.0);
    }
    st->cdf[C - 1] = 1;
    const double s2 = st->integrated ? st->s * st->s : 0, v2 = st->sigma * st->sigma;
    for (int n = 0; n <= N; n++) {
        st->c0[n] = -0.5 * n * log(2 * M_PI * v2) - 0.5 * log1p(n * s2 / v2);
        st->shrink[n] = s2 / (v2 + n * s2);
    }
    /* data: (z, mu, x) per data set from the problem's own stream */
    st->x = malloc((size_t)X * N * sizeof *st->x);
    st->logpx = malloc((size_t)X * sizeof *st->logpx);
    p->n_outer = 2 * (int)C;
    p->x_dim = (int)N; /* a data point of sleep's simulations is one data set of N values */
    p->phi = malloc((size_t)p->n_outer * sizeof *p->phi);
    if (!st->x || !st->logpx || !p->phi) return gv_err(err, "out of memory"), GV_EFAIL;
    gsl_rng *r = gv_problem_rng((unsigned long)seed, s->name);
    if (!r) return gv_err(err, "out of memory"), GV_EFAIL;
    int z[CP_MAXN];
    for (long g = 0; g < X; g++) cp_draw(st, r, z, st->x + g * N);
    gsl_rng_free(r);
    /* phi: the option, else the preset's, else small seeded values */
    if (gv_opt_dlist(s, "phi", -1e6, 1e6, &v, &nv, err)) return GV_EUSAGE;
    if (v) {
        if (nv != 2 * C) {
            free(v);
            return gv_err(err, "problem %s: phi= has %d values; it needs 2C = %ld (a_0..a_{C-1} then b_0..b_{C-1})",
                          s->name, nv, 2 * C), GV_EUSAGE;
        }
        memcpy(p->phi, v, (size_t)nv * sizeof *v);
        free(v);
    } else if (preset == 0) {
        cp_optimal_phi(st, p->phi);
    } else if (preset == 1) {
        for (int k = 0; k < 2 * C; k++) p->phi[k] = k == 0 ? 8 : 0;
    } else {
        gsl_rng *rp = gv_problem_rng((unsigned long)seed, "cluster-posterior/phi");
        if (!rp) return gv_err(err, "out of memory"), GV_EFAIL;
        for (int k = 0; k < 2 * C; k++) p->phi[k] = gsl_ran_gaussian(rp, 0.1);
        gsl_rng_free(rp);
    }
    if (gv_layout_uniform(&p->layout, (int)(X * N), GV_UNIT_CATEGORICAL, (int)C)) return gv_err(err, "out of memory"), GV_EFAIL;
    p->n_groups = (int)X, p->group_units = (int)N;
    if (!(p->eta = malloc((size_t)p->layout.n_params * sizeof *p->eta))) return gv_err(err, "out of memory"), GV_EFAIL;
    cp_outer_map(p, p->phi, p->eta);
    int bad = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : bad) if (X > 1 && states >= 1000)
    for (long g = 0; g < X; g++) bad += cp_enumerate(st, st->x + g * N, &st->logpx[g], NULL, NULL) != 0;
    if (bad) return gv_err(err, "problem %s: log p(x) is not finite for %d data sets", s->name, bad), GV_EFAIL;
    return GV_OK;
}

static void cp_describe(const gv_problem *p, FILE *out)
{
    const cp_state_t *st = p->state;
    const int C = st->C, N = st->N;
    fprintf(out, "%d data set(s) of %d points, %d classes, sigma = %g, means %s", st->X, N, C, st->sigma,
            st->integrated ? "integrated out" : "known");
    if (st->integrated) fprintf(out, " (mu_c ~ N(m_c, %g^2))", st->s);
    fprintf(out, "\n  centres m_c and prior pi_c:");
    for (int c = 0; c < C; c++) fprintf(out, " %g (%.4g)", st->m[c], st->pi[c]);
    fprintf(out, "\n  phi0 (a_c; b_c):");
    for (int k = 0; k < 2 * C; k++) fprintf(out, "%s %.6g", k == C ? ";" : "", p->phi[k]);
    if (!st->integrated) {
        double opt[2 * CP_MAXC];
        cp_optimal_phi(st, opt);
        fprintf(out, "\n  optimal phi (q = the posterior exactly):");
        for (int k = 0; k < 2 * C; k++) fprintf(out, "%s %.6g", k == C ? ";" : "", opt[k]);
    }
    fprintf(out, "\n");
    const int shown = st->X < 20 ? st->X : 20;
    for (int g = 0; g < shown; g++) {
        fprintf(out, "  x_%d (log p(x) = %.6f):", g, st->logpx[g]);
        for (int i = 0; i < N; i++) fprintf(out, " %.4f", st->x[(size_t)g * N + i]);
        fprintf(out, "\n");
    }
    if (shown < st->X) fprintf(out, "  ... (%d more data sets)\n", st->X - shown);
}

const gv_problem_type gv_prob_cluster_posterior = {
    .name = "cluster-posterior",
    .description = "inclusive KL(p(z|x) || q_phi(z|x)) of a 1-D Gaussian mixture's class posterior (C^N <= 1e6), "
                   "amortised categorical q with logits a_c + b_c x_i",
    .citation = "inclusive-KL toy of issue #7 (SMC-Wake: McNamara, Loper, Regier 2403.10610)",
    .objective = GV_OBJ_INCLUSIVE_KL,
    .options = cp_opts,
    .presets = "representable (means=known, phi at the exact optimum: zero gradient), collapsed (means=integrated, "
               "a = (8, 0, ..), b = 0: q puts almost all mass on every point in class 0)",
    .state_size = sizeof(cp_state_t),
    .init = cp_init, .free = cp_free,
    .exact_grad = cp_exact_grad,
    .exact_label = "enumeration",
    .outer_map = cp_outer_map, .outer_vjp = cp_outer_vjp,
    .describe = cp_describe,
    .ikl = &cp_ikl,
};
