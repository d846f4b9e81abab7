/* sbn_posterior.c — the problem `sbn-posterior` (objective kind inclusive-kl, issue #7): the posteriors
 * p(z | x_n) of a one-layer sigmoid belief net given N data points, to be fitted by an amortised
 * factorised Bernoulli q(z | x) with logits A x + a by minimising sum_n KL(p(z | x_n) || q(z | x_n)).
 *
 * The model, its data and the encoder are an inner `sbn` problem (problems/sbn.c) built from the same
 * options, so every sbn option that makes sense here carries over (synthetic or Fashion-MNIST data,
 * seeded or loaded parameters) and `describe --params` / params= round-trip in the sbn format.
 * Exact reference: the sbn's Gray-code enumeration of each point's 2^D states gives log p(x_n), the
 * posterior marginals m and E_post[log p(x_n, z)]; since q is factorised,
 *   KL_n = E_post[log p(x_n, z)] - log p(x_n) - sum_d (m_d log theta_d + (1 - m_d) log(1 - theta_d)),
 *   dKL_n / d eta_d = -(m_d - theta_d).
 * Model-marginal reference (marginal=1, P + D <= 20): N E_{p(x)}[KL(p(z | x) || q_phi(z | x))] and its
 * phi-gradient -N sum_x p(x) J_x^T (m(x) - theta(x)) by enumerating every x in {0,1}^P and every z —
 * the objective sleep estimates (N times the per-point one, so that it counts N data points like the
 * data objective).
 * Presets: easy (D = 10, P = 16, decoder weights N(0, 1)), multimodal (D = 16, P = 16, weights N(0, 9):
 * strong explaining-away; on the default seed each of the 4 posteriors has 1-7 local modes (states
 * above 1 % that beat all their one-bit neighbours), entropy 4.7-6.2 nats; P = 64 would make them
 * nearly point masses instead). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

#include "harness/smc.h"
#include "problems/common.h"
#include "problems/sbn.h"

#define SP_MAXP 4096

typedef struct {
    gv_problem *sbn; /* the inner sbn: model, data x (N x P), encoder */
    gv_sbn_model m;
    double spb;      /* sum_d softplus(b_d) */
    double *logpx;   /* N: exact log p(x_n) */
    int marginal;
} sp_state;

static const gv_optdoc sp_opts[] = {
    {"preset", NULL, "easy (D=10, P=16, scale=1) | multimodal (D=16, P=16, scale=3); explicit options override"},
    {"D", "8", "latent units (1..20)"},
    {"P", "16", "visible units (synthetic data; Fashion-MNIST: size^2)"},
    {"N", "4", "data points x_n (groups: one posterior each)"},
    {"data", "synthetic", "synthetic (x ~ p(x) of the model) | fashion-mnist"},
    {"size", "14", "Fashion-MNIST image side: 14 or 7"},
    {"offset", "0", "index of the first Fashion-MNIST image"},
    {"dir", NULL, "directory of the Fashion-MNIST IDX files (default: the sbn problem's)"},
    {"seed", "1", "seed of the weights, the synthetic data and the binarisation"},
    {"scale", "1", "s.d. of the seeded decoder weights W (the posterior's multimodality grows with it)"},
    {"enc_scale", "0.1", "s.d. of the seeded encoder weights A (a = 0): q starts near uniform"},
    {"params", NULL, "sbn parameters CSV (param,row,col,value; b, W, c, optionally A, a)"},
    {"marginal", "0", "1: also the exact model-marginal objective E_p(x) KL (sleep's; needs P + D <= 20)"},
    {NULL, NULL, NULL}};

static void sp_free(void *v)
{
    sp_state *s = v;
    gv_problem_free(s->sbn);
    free(s->logpx);
}

/* Append ",key=value" for an sbn option given here (or by the preset). */
static void put(char *buf, size_t len, const char *key, const char *val)
{
    if (!val) return;
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, "%s%s=%s", buf[n - 1] == ':' ? "" : ",", key, val);
}

static int sp_init(gv_problem *p, const gv_spec *s, char *err)
{
    sp_state *st = p->state;
    static const char *const presets[] = {"easy", "multimodal", NULL};
    /* preset defaults: D, P, scale */
    static const char *const pre[2][3] = {{"10", "16", "1"}, {"16", "16", "3"}};
    int preset = -1;
    if (gv_spec_get(s, "preset") && gv_opt_choice(s, "preset", presets, 0, &preset, err)) return GV_EUSAGE;
    long marginal;
    if (gv_opt_long(s, "marginal", 0, 0, 1, &marginal, err)) return GV_EUSAGE;
    st->marginal = (int)marginal;
    char inner[GV_SPECLEN] = "sbn:";
    static const char *const keys[] = {"D", "P", "N", "data", "size", "offset", "dir", "seed", "scale", "enc_scale",
                                       "params"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        const char *v = gv_spec_get(s, keys[k]);
        if (!v && preset >= 0 && k < 2) v = pre[preset][k];
        if (!v && preset >= 0 && !strcmp(keys[k], "scale")) v = pre[preset][2];
        put(inner, sizeof inner, keys[k], v);
    }
    int rc = gv_problem_new(inner, &st->sbn, err);
    if (rc) return rc;
    gv_sbn_get_model(st->sbn, &st->m);
    const gv_sbn_model *m = &st->m;
    if (m->P > SP_MAXP)
        return gv_err(err, "sbn-posterior: P = %d visible units, above the limit %d", m->P, SP_MAXP), GV_EUSAGE;
    if (st->marginal && (m->P + m->D > 20))
        return gv_err(err, "sbn-posterior: marginal=1 enumerates 2^(P+D) = 2^%d (x, z) pairs; it needs P + D <= 20 "
                      "(got P=%d, D=%d)", m->P + m->D, m->P, m->D), GV_EUSAGE;
    for (int d = 0; d < m->D; d++) st->spb -= gv_log_sigmoid(-m->b[d]);
    const gv_problem *q = st->sbn;
    if (gv_layout_uniform(&p->layout, q->layout.n_units, GV_UNIT_BERNOULLI, 2))
        return gv_err(err, "out of memory"), GV_EFAIL;
    p->n_groups = m->N;
    p->group_units = m->D;
    p->x_dim = m->P;
    p->n_outer = q->n_outer;
    p->eta = malloc((size_t)q->layout.n_params * sizeof(double));
    p->phi = malloc((size_t)q->n_outer * sizeof(double));
    st->logpx = malloc((size_t)m->N * sizeof(double));
    if (!p->eta || !p->phi || !st->logpx) return gv_err(err, "out of memory"), GV_EFAIL;
    memcpy(p->eta, q->eta, (size_t)q->layout.n_params * sizeof(double));
    memcpy(p->phi, q->phi, (size_t)q->n_outer * sizeof(double));
    for (int n = 0; n < m->N; n++) {
        gv_sbn_result r;
        if (gv_sbn_enumerate(q, n, p->eta + (size_t)n * m->D, GV_SBN_GRAY, &r) || !isfinite(r.logpx))
            return gv_err(err, "sbn-posterior: the exact log p(x_%d) is not finite", n), GV_EFAIL;
        st->logpx[n] = r.logpx;
    }
    return GV_OK;
}

static void sp_map(const gv_problem *p, const double *phi, double *eta)
{
    const sp_state *st = p->state;
    st->sbn->type->outer_map(st->sbn, phi, eta);
}

static void sp_vjp(const gv_problem *p, const double *geta, double *gphi)
{
    const sp_state *st = p->state;
    st->sbn->type->outer_vjp(st->sbn, geta, gphi);
}

/* KL(p(z | x) || q) of one point from its enumeration, q with logits eta (D). */
static double point_kl(const gv_sbn_result *r, const double *eta, int D)
{
    double elq = 0; /* E_post log q */
    for (int d = 0; d < D; d++) elq += r->post[d] * gv_log_sigmoid(eta[d]) + (1 - r->post[d]) * gv_log_sigmoid(-eta[d]);
    return r->post_lj - r->logpx - elq;
}

static int sp_exact_grad(const gv_problem *p, const gv_point *pt, double *value, double *cond, double *grad)
{
    const sp_state *st = p->state;
    const int D = st->m.D, N = st->m.N;
    double *kl = malloc((size_t)N * sizeof *kl);
    if (!kl) return -1;
    int fail = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : fail)
    for (int n = 0; n < N; n++) {
        gv_sbn_result r;
        const double *eta = pt->eta + (size_t)n * D;
        if (gv_sbn_enumerate(st->sbn, n, eta, GV_SBN_GRAY, &r)) { fail = 1; continue; }
        kl[n] = point_kl(&r, eta, D);
        for (int d = 0; d < D; d++) {
            const gv_unit *u = &p->layout.units[n * D + d];
            cond[u->cond] = 1 - r.post[d], cond[u->cond + 1] = r.post[d];
            grad[u->param] = -(r.post[d] - pt->prob[u->param]);
        }
    }
    double v = 0;
    for (int n = 0; n < N; n++) v += kl[n]; /* in point order: the same sum for any thread count */
    free(kl);
    *value = v;
    return fail || !isfinite(v) ? -1 : 0;
}

/* ---- the model for the estimators */

static double sp_log_prior(const gv_problem *p, int g, const int *z)
{
    (void)g;
    const sp_state *st = p->state;
    double l = -st->spb;
    for (int d = 0; d < st->m.D; d++) l += z[d] * st->m.b[d];
    return l;
}

/* a = c + W^T z (P) */
static void activations(const gv_sbn_model *m, const int *z, double *a)
{
    memcpy(a, m->c, (size_t)m->P * sizeof *a);
    for (int d = 0; d < m->D; d++)
        if (z[d]) {
            const double *w = m->W + (size_t)d * m->P;
            for (int j = 0; j < m->P; j++) a[j] += w[j];
        }
}

static double sp_log_lik(const gv_problem *p, int g, const int *z)
{
    const sp_state *st = p->state;
    double a[SP_MAXP];
    activations(&st->m, z, a);
    return gv_sbn_loglik_fast(a, st->m.x + (size_t)g * st->m.P, st->m.P);
}

static void sp_sample_prior(const gv_problem *p, int g, gsl_rng *r, int *z)
{
    (void)g;
    const sp_state *st = p->state;
    for (int d = 0; d < st->m.D; d++) z[d] = gsl_rng_uniform(r) < gv_sigmoid(st->m.b[d]);
}

static double sp_log_marginal(const gv_problem *p, int g)
{
    const sp_state *st = p->state;
    return st->logpx[g];
}

static int sp_smc_target(const gv_problem *p, int g, void *ctx, gv_smc_target *t)
{
    const sp_state *st = p->state;
    return gv_smc_sbn_target(st->sbn, g, 1, ctx, t);
}

static void sp_sample_joint(const gv_problem *p, gsl_rng *r, int *z, double *x)
{
    const sp_state *st = p->state;
    double a[SP_MAXP];
    sp_sample_prior(p, 0, r, z);
    activations(&st->m, z, a);
    for (int j = 0; j < st->m.P; j++) x[j] = gsl_rng_uniform(r) < gv_sigmoid(a[j]);
}

/* q_phi(z | x): logits eta_d = A_d . x + a_d; phi = (A: D x P, a: D) */
static void sp_score_phi(const gv_problem *p, const double *phi, const double *x, const int *z, double w, double *gphi)
{
    const sp_state *st = p->state;
    const int D = st->m.D, P = st->m.P;
    for (int d = 0; d < D; d++) {
        const double *A = phi + (size_t)d * P;
        double eta = phi[(size_t)D * P + d];
        for (int j = 0; j < P; j++) eta += A[j] * x[j];
        const double s = w * (z[d] ? gv_sigmoid(-eta) : -gv_sigmoid(eta));
        double *gA = gphi + (size_t)d * P;
        for (int j = 0; j < P; j++) gA[j] += s * x[j];
        gphi[(size_t)D * P + d] += s;
    }
}

static int sp_exact_marginal(const gv_problem *p, const double *phi, double *value, double *gphi, char *err)
{
    const sp_state *st = p->state;
    if (!st->marginal) return gv_err(err, "the model-marginal reference needs the option marginal=1"), 1;
    const gv_sbn_model *m = &st->m;
    const int D = m->D, P = m->P, Q = p->n_outer;
    const long nx = 1L << P, nz = 1L << D;
    double *lj = malloc((size_t)nz * sizeof *lj), *xs = malloc((size_t)P * sizeof *xs);
    double *g = calloc((size_t)Q, sizeof *g);
    if (!lj || !xs || !g) {
        free(lj), free(xs), free(g);
        return gv_err(err, "out of memory"), -1;
    }
    double v = 0, a[SP_MAXP], eta[GV_SBN_MAXD], post[GV_SBN_MAXD];
    int z[GV_SBN_MAXD];
    for (long ix = 0; ix < nx; ix++) {
        for (int j = 0; j < P; j++) xs[j] = (double)(ix >> j & 1);
        double M = -INFINITY;
        for (long iz = 0; iz < nz; iz++) {
            double l = -st->spb;
            for (int d = 0; d < D; d++) z[d] = (int)(iz >> d & 1), l += z[d] * m->b[d];
            activations(m, z, a);
            lj[iz] = l + gv_sbn_loglik_libm(a, xs, P);
            if (lj[iz] > M) M = lj[iz];
        }
        double L = 0, LL = 0;
        memset(post, 0, sizeof post);
        for (long iz = 0; iz < nz; iz++) {
            const double e = exp(lj[iz] - M);
            L += e, LL += e * lj[iz];
            for (int d = 0; d < D; d++) post[d] += (iz >> d & 1) ? e : 0;
        }
        const double logpx = M + log(L), px = exp(logpx);
        double elq = 0;
        for (int d = 0; d < D; d++) {
            post[d] /= L;
            double s = phi[(size_t)D * P + d];
            for (int j = 0; j < P; j++) s += phi[(size_t)d * P + j] * xs[j];
            eta[d] = s;
            elq += post[d] * gv_log_sigmoid(s) + (1 - post[d]) * gv_log_sigmoid(-s);
        }
        v += px * (LL / L - logpx - elq);
        for (int d = 0; d < D; d++) { /* -p(x) J_x^T (m - theta) */
            const double r = -px * (post[d] - gv_sigmoid(eta[d]));
            for (int j = 0; j < P; j++) g[(size_t)d * P + j] += r * xs[j];
            g[(size_t)D * P + d] += r;
        }
    }
    const double N = m->N;
    *value = N * v;
    for (int q = 0; q < Q; q++) gphi[q] = N * g[q];
    free(lj), free(xs), free(g);
    return isfinite(*value) ? 0 : (gv_err(err, "non-finite model-marginal objective"), -1);
}

static void sp_describe(const gv_problem *p, FILE *out)
{
    const sp_state *st = p->state;
    fprintf(out, "  inner model: %s\n  groups: %d data points x %d latents; exact log p(x_n):", st->sbn->spec,
            p->n_groups, p->group_units);
    for (int n = 0; n < p->n_groups; n++) fprintf(out, " %.6g", st->logpx[n]);
    fprintf(out, "\n");
    if (st->sbn->type->describe) st->sbn->type->describe(st->sbn, out);
}

static int sp_dump(const gv_problem *p, FILE *out)
{
    const sp_state *st = p->state;
    return st->sbn->type->dump_params ? st->sbn->type->dump_params(st->sbn, out) : -1;
}

static const gv_ikl_hooks sp_ikl = {
    .log_prior = sp_log_prior,
    .log_lik = sp_log_lik,
    .sample_prior = sp_sample_prior,
    .log_marginal = sp_log_marginal,
    .smc_target = sp_smc_target,
    .smc_ctx_size = sizeof(gv_smc_sbn),
    .sample_joint = sp_sample_joint,
    .score_phi = sp_score_phi,
    .exact_marginal = sp_exact_marginal,
};

const gv_problem_type gv_prob_sbn_posterior = {
    .name = "sbn-posterior",
    .description = "posteriors p(z | x_n) of a one-layer sigmoid belief net; amortised factorised q(z | x), inclusive KL",
    .citation = "McNamara, Loper, Regier 2024 (arXiv 2403.10610); Bornschein & Bengio 2015 (arXiv 1406.2751)",
    .objective = GV_OBJ_INCLUSIVE_KL,
    .options = sp_opts,
    .presets = "easy, multimodal",
    .state_size = sizeof(sp_state),
    .init = sp_init,
    .free = sp_free,
    .exact_grad = sp_exact_grad,
    .exact_label = "gray-code",
    .outer_map = sp_map,
    .outer_vjp = sp_vjp,
    .describe = sp_describe,
    .dump_params = sp_dump,
    .ikl = &sp_ikl,
};
