/* double_cv.c — double control variates for RLOO (Titsias & Shi 2111.05300).
 * K >= 2 samples z_k with embeddings x(z_k) (b for a Bernoulli unit, the one-hot e_z for a
 * categorical one; x(z) - E x = s(z), the score).  g_k = grad f~(x(z_k)); gbar_{-k} = mean of g_j
 * over j != k; gbar = mean of all g_k;  h_k = f_k + alpha gbar_{-k}^T s(z_k);  hbar_{-k} = mean of
 * h_j over j != k;
 *   g = (1/K) sum_k (h_k - hbar_{-k}) s(z_k) - alpha F gbar,
 *   F = E[s s^T] = diag theta(1-theta) (Bernoulli), diag pi - pi pi^T per categorical unit.
 * Unbiased for every alpha: E[gbar_{-k}^T s_k s_k] = F E[g] since gbar_{-k} does not depend on
 * z_k, and E[h_j s_k] = 0 for j != k (h_j depends on z_k only through alpha g_k^T s_j / (K-1), and
 * E s_j = 0).  alpha = 0 is rloo exactly (h_k - hbar_{-k} = K/(K-1) (f_k - fbar)).
 * g is affine in alpha: g = A + alpha B, A = rloo, B = 1/(K-1) sum_k (c_k - cbar) s_k - F gbar,
 * c_k = gbar_{-k}^T s_k.  The alpha minimising E||g||^2 (= total variance + ||grad||^2, the
 * latter free of alpha) is alpha* = -E[A.B] / E[||B||^2] = -Cov(A, B) / Var(B)  (E B = 0).
 * alpha (option):
 *   learned (default): alpha starts at 0; adapt sets alpha = -Cov^(A, B) / Var^(B) from
 *     exponentially discounted sums (weight forget^age) of A.B, ||B||^2 and the vectors A, B:
 *     the exact minimiser of the discounted empirical variance of A + alpha B (scalar recursive
 *     least squares with an intercept).  Centring matters: the raw ratio -sum A.B / sum ||B||^2
 *     carries the noise term grad . sum B, large when the gradient is large against the noise
 *     (on categorical-linear, where alpha* = -1 gives zero variance, it is off by ~1%; the
 *     centred ratio is -1 to rounding).  Chosen over SGD on ||g||^2 (gradient 2 g.B): it is
 *     invariant to the scale of f (an SGD step would need tuning per problem: E||g||^2 is ~2e-7 on
 *     the D = 200 toy and ~5 on categorical-linear), cannot diverge and has no step size;
 *     forgetting (default 0.99: about 200 effective estimates) lets it track alpha* along a
 *     trajectory.  Each estimate uses the alpha of past estimates only, so it stays unbiased.
 *   oracle: the same estimate with no forgetting, accumulated over the engine's warm-up (the W
 *     estimates before the state is frozen are the replicates alpha* is estimated from); W = 0
 *     leaves alpha = 0.  The row's message gives alpha, a delta-method SE and W.
 *   VALUE: fixed alpha.
 * alpha is never clipped: on quadratic toys alpha* is small and changes sign with theta.
 * Cost: K evaluations of f and K of grad f~ (no f~).  Unbiased. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estimators/estimator.h"

enum { DCV_LEARNED, DCV_ORACLE, DCV_FIXED };

typedef struct {
    int mode;
    double alpha0, forget;
    /* learned state: alpha and the discounted sums it is computed from (weight forget^age):
     * n = sum of weights, sab = sum A.B, sbb = sum ||B||^2, sa = sum A, sb = sum B (vectors);
     * sx .. syy: sums of x = (A - Abar).(B - Bbar), y = ||B - Bbar||^2 and their products, with
     * the means of the preceding estimates (from the second estimate on; m = their weight), for
     * the oracle's SE */
    double alpha, n, sab, sbb, m, sx, sy, sxx, sxy, syy;
    double *sa, *sb;
    long updates;
    /* scratch; A and B of the last estimate are read by adapt */
    int n_units, P;
    int *z;     /* K x n_units */
    double *f;  /* K */
    double *c;  /* K */
    double *G;  /* K x P: grad f~ at the samples */
    double *gsum, *y, *A, *B; /* P each */
} dcv_state_t;

static const gv_optdoc dcv_opts[] = {
    {"alpha", "learned", "learned | oracle | VALUE: coefficient of the second control variate (see the header)"},
    {"forget", "0.99", "alpha=learned: forgetting factor of the running least squares, in (0, 1] (oracle uses 1)"},
    {NULL, NULL, NULL}};

static int dcv_init(void *v, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    dcv_state_t *s = v;
    const char *a = gv_spec_get(spec, "alpha");
    if (!a || !strcmp(a, "learned")) s->mode = DCV_LEARNED;
    else if (!strcmp(a, "oracle")) s->mode = DCV_ORACLE;
    else {
        s->mode = DCV_FIXED;
        if (gv_opt_double(spec, "alpha", 0, -DBL_MAX, DBL_MAX, &s->alpha0, err))
            return gv_err(err, "option alpha=%s of '%s': valid values are learned, oracle or a finite number", a,
                          spec->name), GV_EUSAGE;
    }
    if (gv_opt_double(spec, "forget", 0.99, 0, 1, &s->forget, err)) return GV_EUSAGE;
    if (!(s->forget > 0)) return gv_err(err, "option forget=0 of '%s': must be in (0, 1]", spec->name), GV_EUSAGE;
    if (s->mode == DCV_ORACLE) s->forget = 1;
    s->alpha = s->alpha0;
    s->n_units = p->layout.n_units;
    s->P = p->layout.n_params;
    const size_t P = (size_t)s->P;
    s->z = malloc((size_t)K * s->n_units * sizeof(int));
    s->f = malloc((size_t)K * sizeof(double));
    s->c = malloc((size_t)K * sizeof(double));
    s->G = malloc((size_t)K * P * sizeof(double));
    s->gsum = malloc(P * sizeof(double));
    s->y = malloc(P * sizeof(double));
    s->A = calloc(P, sizeof(double));
    s->B = calloc(P, sizeof(double));
    s->sa = calloc(P, sizeof(double));
    s->sb = calloc(P, sizeof(double));
    if (!s->z || !s->f || !s->c || !s->G || !s->gsum || !s->y || !s->A || !s->B || !s->sa || !s->sb)
        return gv_err(err, "out of memory"), GV_EFAIL;
    return GV_OK;
}

static void dcv_free(void *v)
{
    dcv_state_t *s = v;
    free(s->z), free(s->f), free(s->c), free(s->G);
    free(s->gsum), free(s->y), free(s->A), free(s->B), free(s->sa), free(s->sb);
}

static void dcv_reset(void *v)
{
    dcv_state_t *s = v;
    s->alpha = s->alpha0;
    s->n = s->sab = s->sbb = s->m = s->sx = s->sy = s->sxx = s->sxy = s->syy = 0;
    memset(s->sa, 0, (size_t)s->P * sizeof(double));
    memset(s->sb, 0, (size_t)s->P * sizeof(double));
    s->updates = 0;
}

static void dcv_copy_learned(void *dst, const void *src)
{
    dcv_state_t *d = dst;
    const dcv_state_t *s = src;
    d->alpha = s->alpha;
    d->n = s->n, d->sab = s->sab, d->sbb = s->sbb;
    d->m = s->m, d->sx = s->sx, d->sy = s->sy, d->sxx = s->sxx, d->sxy = s->sxy, d->syy = s->syy;
    memcpy(d->sa, s->sa, (size_t)s->P * sizeof(double));
    memcpy(d->sb, s->sb, (size_t)s->P * sizeof(double));
    d->updates = s->updates;
}

/* y = x(z): b (Bernoulli), one-hot e_z (categorical). */
static void dcv_embed(const gv_point *pt, const int *z, double *y)
{
    const gv_layout *L = pt->layout;
    if (L->kinds == GV_UNIT_BERNOULLI) {
        for (int i = 0; i < L->n_units; i++) y[i] = z[i];
        return;
    }
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *u = &L->units[i];
        if (u->kind == GV_UNIT_BERNOULLI) y[u->param] = z[i];
        else
            for (int c = 0; c < u->ncat; c++) y[u->param + c] = c == z[i];
    }
}

/* (u - w)^T s(z) (1 - p taken from comp, as gv_score_axpy does). */
static double dcv_score_dot(const gv_point *pt, const int *z, const double *u, const double *w)
{
    const gv_layout *L = pt->layout;
    double acc = 0;
    if (L->kinds == GV_UNIT_BERNOULLI) {
        const double *th = pt->prob, *cm = pt->comp;
        for (int i = 0; i < L->n_units; i++) { /* branch-free: a branch on b mispredicts at theta ~ 1/2 */
            double b = z[i];
            acc += (u[i] - w[i]) * (b * cm[i] - (1.0 - b) * th[i]);
        }
        return acc;
    }
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *un = &L->units[i];
        const int o = un->param, zi = z[i];
        const double *p = pt->prob + o;
        if (un->kind == GV_UNIT_BERNOULLI) {
            acc += (u[o] - w[o]) * (zi ? pt->comp[o] : -p[0]);
        } else {
            double s = (u[o + zi] - w[o + zi]) * pt->comp[o + zi];
            for (int j = 0; j < un->ncat; j++)
                if (j != zi) s -= (u[o + j] - w[o + j]) * p[j];
            acc += s;
        }
    }
    return acc;
}

/* g += a F u, F = E[s s^T] per unit: theta(1-theta) u; pi_j (u_j - sum_c pi_c u_c). */
static void dcv_fisher_axpy(const gv_point *pt, const double *u, double a, double *g)
{
    const gv_layout *L = pt->layout;
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *un = &L->units[i];
        const int o = un->param;
        const double *p = pt->prob + o;
        if (un->kind == GV_UNIT_BERNOULLI) {
            g[o] += a * p[0] * pt->comp[o] * u[o];
        } else {
            double m = 0;
            for (int c = 0; c < un->ncat; c++) m += p[c] * u[o + c];
            for (int j = 0; j < un->ncat; j++) g[o + j] += a * p[j] * (u[o + j] - m);
        }
    }
}

static int dcv_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    dcv_state_t *s = v;
    const gv_point *pt = ev->pt;
    const int P = s->P, U = s->n_units;
    double fbar = 0, cbar = 0;
    memset(s->gsum, 0, (size_t)P * sizeof(double));
    for (int k = 0; k < K; k++) {
        int *z = s->z + (size_t)k * U;
        double *gk = s->G + (size_t)k * P;
        gv_sample(pt, r, z);
        fbar += s->f[k] = gv_eval_f(ev, z);
        dcv_embed(pt, z, s->y);
        gv_eval_grad(ev, s->y, gk);
        for (int q = 0; q < P; q++) s->gsum[q] += gk[q];
    }
    fbar /= K;
    /* c_k = gbar_{-k}^T s_k = (gsum - g_k)^T s_k / (K-1) */
    for (int k = 0; k < K; k++) {
        s->c[k] = dcv_score_dot(pt, s->z + (size_t)k * U, s->gsum, s->G + (size_t)k * P) / (K - 1);
        cbar += s->c[k];
    }
    cbar /= K;
    /* (1/K) sum_k (h_k - hbar_{-k}) s_k = 1/(K-1) sum_k (h_k - hbar) s_k; the f part is rloo's sum,
     * accumulated in the same order (so alpha = 0 reproduces rloo bit for bit) */
    memset(s->A, 0, (size_t)P * sizeof(double));
    memset(s->B, 0, (size_t)P * sizeof(double));
    for (int k = 0; k < K; k++) gv_score_axpy(pt, s->z + (size_t)k * U, (s->f[k] - fbar) / (K - 1), s->A);
    for (int k = 0; k < K; k++) gv_score_axpy(pt, s->z + (size_t)k * U, (s->c[k] - cbar) / (K - 1), s->B);
    dcv_fisher_axpy(pt, s->gsum, -1.0 / K, s->B);
    const double alpha = s->alpha;
    for (int q = 0; q < P; q++) g[q] += s->A[q] + alpha * s->B[q];
    return 0;
}

static void dcv_adapt(void *v, const gv_eval *ev)
{
    dcv_state_t *s = v;
    if (s->mode == DCV_FIXED) return;
    const int P = s->P;
    const double l = s->forget, inv = s->n > 0 ? 1 / s->n : 0;
    double ab = 0, bb = 0, x = 0, y = 0;
    for (int q = 0; q < P; q++) {
        const double a = s->A[q], b = s->B[q], ac = a - s->sa[q] * inv, bc = b - s->sb[q] * inv;
        ab += a * b, bb += b * b;
        x += ac * bc, y += bc * bc;
    }
    if (!isfinite(ab) || !isfinite(bb) || !isfinite(x) || !isfinite(y)) return; /* teaches nothing */
    double sasb = 0, sbsb = 0;
    for (int q = 0; q < P; q++) {
        s->sa[q] = l * s->sa[q] + s->A[q];
        s->sb[q] = l * s->sb[q] + s->B[q];
        sasb += s->sa[q] * s->sb[q];
        sbsb += s->sb[q] * s->sb[q];
    }
    if (s->n > 0) { /* x, y need the preceding estimates' means */
        s->m = l * s->m + 1;
        s->sx = l * s->sx + x, s->sy = l * s->sy + y;
        s->sxx = l * s->sxx + x * x, s->sxy = l * s->sxy + x * y, s->syy = l * s->syy + y * y;
    }
    s->n = l * s->n + 1;
    s->sab = l * s->sab + ab;
    s->sbb = l * s->sbb + bb;
    s->updates++;
    /* -Cov/Var with the (discounted) sample means */
    const double cov = s->sab - sasb / s->n, var = s->sbb - sbsb / s->n;
    if (s->updates >= 2 && var > 0) s->alpha = -cov / var;
}

/* Delta-method SE of alpha = -Cov(A,B)/Var(B) from n replicates, with the residual
 * r = x + alpha y of the centred products (x, y centred by the preceding estimates' means):
 * SE = sd(r) / sqrt(n) / mean(y). */
static double dcv_alpha_se(const dcv_state_t *s)
{
    const double n = s->m, a = s->alpha;
    if (n < 3 || !(s->sy > 0)) return NAN;
    const double sr = s->sx + a * s->sy, srr = s->sxx + 2 * a * s->sxy + a * a * s->syy;
    double vr = (srr - sr * sr / n) / (n - 1);
    if (vr < 0) vr = 0; /* cancellation when the control variate explains A exactly */
    return sqrt(vr / n) / (s->sy / n);
}

static void dcv_note(const void *v, char *buf, size_t len)
{
    const dcv_state_t *s = v;
    if (s->mode == DCV_FIXED) snprintf(buf, len, "alpha=%.10g (fixed)", s->alpha);
    else if (s->mode == DCV_ORACLE)
        snprintf(buf, len, "alpha=%.10g se=%.4g n=%ld (oracle: -Cov(A,B)/Var(B) over the warm-up estimates)",
                 s->alpha, dcv_alpha_se(s), s->updates);
    else
        snprintf(buf, len, "alpha=%.10g n=%ld (learned: running least squares, forget=%g)", s->alpha, s->updates,
                 s->forget);
}

const gv_estimator_type gv_est_double_cv = {
    .name = "double-cv",
    .description = "rloo with a second, Taylor-expansion control variate alpha gbar_{-k}^T s_k (alpha learned)",
    .citation = "Titsias & Shi 2111.05300",
    .objective = GV_OBJ_EXPECTATION,
    .units = GV_UNIT_BERNOULLI | GV_UNIT_CATEGORICAL,
    .needs = GV_NEED_F | GV_NEED_GRAD_FTILDE,
    .min_K = 2, .K_multiple = 1, .biased = 0, .cost = "K", .layerwise = 1,
    .options = dcv_opts,
    .state_size = sizeof(dcv_state_t),
    .init = dcv_init, .free = dcv_free, .reset = dcv_reset, .copy_learned = dcv_copy_learned,
    .estimate = dcv_estimate, .adapt = dcv_adapt, .note = dcv_note,
};
