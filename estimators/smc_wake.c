/* smc_wake.c — SMC-Wake: inclusive-KL gradients from likelihood-tempered SMC samplers (McNamara, Loper
 * & Regier 2403.10610), five estimators sharing one pool of samplers per group (data point) g.
 *
 * Each sampler j (harness/smc.h: K particles from the prior, tempered to p(z) p(x_g | z)) gives normalised
 * weights W_j^k, particles z_j^k and an evidence estimate Ẑ_j; v_j = Ẑ_j / sum_i Ẑ_i; s(z) = d log q(z) / d eta.
 *   smc-naive    ĝ = -sum_k W_M^k s(z_M^k)                        (the newest sampler only)
 *   smc-wake-a   ĝ = -sum_j v_j sum_k W_j^k s(z_j^k)
 *   smc-wake-b   ĝ = -sum_j v_j (1/R) sum_r s(z_jr),  z_jr resampled (multinomial) from sampler j when stored
 *   smc-wake-c   ĝ = -(Ẑ_M / mean_j Ẑ_j) sum_k W_M^k s(z_M^k)
 *   smc-pimh     particle independent Metropolis-Hastings over samplers: a new sampler replaces the current
 *                one with probability min(1, Ẑ_new / Ẑ_cur); ĝ from the current sampler's weighted particles
 * summed over the groups, each with its own pool.  The score of a factorised q is affine in the one-hot
 * encoding of z (Bernoulli z - theta, categorical onehot(z) - pi), and the weights of a sampler sum to 1,
 * so a weighted particle set enters only through its weighted one-hot marginals mbar_j (one value per
 * parameter of the group): sum_k W_j^k s(z_j^k) = mbar_j - prob.  That is all a sampler leaves in the pool,
 * with log Ẑ_j (n_params + n_groups doubles per sampler, for all groups); it does not depend on q, so a
 * stored sampler stays valid when eta moves (the model is fixed).  v_j and Ẑ ratios are computed in log
 * space, shifted by the largest log Ẑ (running sums rescaled when a larger one arrives).
 *
 * Modes.  Frozen-point (schedule never called): every estimate draws a fresh pool of M samplers per group
 * (smc-naive runs only the newest one: its estimate does not depend on the others).  Trajectory (the
 * schedule hook was called): each estimate runs ONE new sampler per group and adds it to the pool kept in
 * the state across steps, as in the paper; without cap the pool is held as running log-space sums
 * (O(n_params) per step whatever its size), with cap the newest cap samplers are kept and summed at each
 * step.  There is no adapt hook (the engine would then run W warm-up estimates, each a fresh pool, for
 * nothing); the pool changes in estimate, in trajectory mode only; copy_learned copies mode and pool.
 *
 * Cost: the sum over the samplers run of their log-likelihood evaluations (gv_smc_result.n_loglik):
 * per sampler K + (steps) K moves D (C - 1) (Gibbs over sites of C values; C - 1 = 1 on bits) or
 * K + (steps) K moves flips (Metropolis).
 * Biased for finite K and M, all five (see each description for what they are consistent in). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estimators/estimator.h"
#include "harness/ikl.h"
#include "harness/rng.h"
#include "harness/smc.h"

enum { SW_NAIVE, SW_A, SW_B, SW_C, SW_PIMH };

typedef struct {
    int kind, K, M, R;
    long cap; /* trajectory pool size bound (0: unbounded; a, b, c) */
    gv_smc_options o;
    const gv_problem *p;
    int G, U, P, E;        /* groups, units per group, n_params, entry size P + G */
    int *lo, *hi;          /* G: group g's parameters are lo[g] .. hi[g] - 1 */
    char *ctx;             /* G x ctx_size: the SMC targets' contexts */
    size_t ctx_size;
    gv_smc_target *t;      /* G */
    gv_smc_result *res;    /* nres: 1 shared by all groups, or one per group (targets of unequal aux_dim) */
    int nres;
    double *cw, *ce;       /* smc-wake-b's resampling scratch: K cumulative weights, R + 1 exponentials */
    int *ci;               /* R: the resampled particles */
    /* entries: P marginals (each group's in its own parameter range) + G values log Ẑ */
    double *fresh;         /* the samplers just run */
    double *cur;           /* smc-pimh: the current samplers */
    /* the pool's sums per group g: ref[g] = largest log Ẑ, sw[g] = sum_j exp(log Ẑ_j - ref),
     * A[q] = sum_j exp(log Ẑ_j - ref) mbar_j[q]; n_agg samplers in them */
    double *ref, *sw, *A;
    long n_agg;
    /* trajectory mode */
    int traj;
    long n_seen;           /* samplers run per group since the trajectory began */
    double *ring;          /* cap > 0: the newest min(n_seen, cap) entries, ring_cap allocated */
    long ring_n, ring_head, ring_cap;
    /* counters for the note */
    long runs, steps, resamples, collapsed, proposals, accepts;
    char failed[GV_ERRLEN];
} sw_state_t;

#define SW_OPT_M {"M", "16", "samplers in the pool (frozen-point mode: a fresh pool per estimate)"}
#define SW_OPTS_SMC                                                                                          \
    {"schedule", "adaptive", "tempering: adaptive (conditional ESS = K/2) | linear | geometric"},           \
    {"T", "10", "steps of a linear or geometric schedule"},                                                 \
    {"tau1", "0.001", "first temperature of the geometric schedule"}, GV_SMC_MOVE_OPTDOCS
#define SW_OPT_CAP {"cap", "0", "trajectory mode: keep at most the newest cap samplers (0: all)"}

/* smc-naive has no M: its estimate uses the newest sampler only, so a pool would not change it */
static const gv_optdoc sw_opts_naive[] = {SW_OPTS_SMC, {NULL, NULL, NULL}};
static const gv_optdoc sw_opts[] = {SW_OPT_M, SW_OPTS_SMC, {NULL, NULL, NULL}};
static const gv_optdoc sw_opts_pool[] = {SW_OPT_M, SW_OPTS_SMC, SW_OPT_CAP, {NULL, NULL, NULL}};
static const gv_optdoc sw_opts_b[] = {
    SW_OPT_M, SW_OPTS_SMC, SW_OPT_CAP, {"R", "1", "particles resampled (multinomial) from each sampler when it is stored"},
    {NULL, NULL, NULL}};

static void sw_clear_pool(sw_state_t *s)
{
    for (int g = 0; g < s->G; g++) s->ref[g] = -INFINITY, s->sw[g] = 0;
    memset(s->A, 0, (size_t)s->P * sizeof *s->A);
    s->n_agg = 0;
}

static int sw_init_kind(sw_state_t *s, int kind, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    long M, R = 1, cap = 0;
    s->kind = kind, s->K = K, s->p = p;
    gv_smc_options_default(&s->o, K);
    if (gv_opt_long(spec, "M", 16, 1, 1000000, &M, err) || gv_smc_options_parse(spec, &s->o, err) ||
        (kind == SW_B && gv_opt_long(spec, "R", 1, 1, 100000000, &R, err)) ||
        gv_opt_long(spec, "cap", 0, 0, 1000000000, &cap, err))
        return GV_EUSAGE;
    s->M = (int)M, s->R = (int)R, s->cap = cap;
    if (!p->type->ikl || p->n_groups < 1 || p->group_units < 1 || p->n_groups * p->group_units != p->layout.n_units)
        return gv_err(err, "%s: problem %s has no inclusive-KL groups", spec->name, p->spec), GV_EFAIL;
    s->G = p->n_groups, s->U = p->group_units, s->P = p->layout.n_params, s->E = s->P + s->G;
    s->lo = malloc((size_t)s->G * sizeof *s->lo);
    s->hi = malloc((size_t)s->G * sizeof *s->hi);
    s->ctx_size = gv_ikl_smc_ctx_size(p);
    s->ctx = calloc((size_t)s->G, s->ctx_size ? s->ctx_size : 1);
    s->t = calloc((size_t)s->G, sizeof *s->t);
    s->cw = malloc((size_t)K * sizeof *s->cw);
    s->ce = malloc((size_t)(s->R + 1) * sizeof *s->ce);
    s->ci = malloc((size_t)s->R * sizeof *s->ci);
    s->fresh = calloc((size_t)s->E, sizeof *s->fresh);
    s->cur = calloc((size_t)s->E, sizeof *s->cur);
    s->ref = malloc((size_t)s->G * sizeof *s->ref);
    s->sw = malloc((size_t)s->G * sizeof *s->sw);
    s->A = malloc((size_t)s->P * sizeof *s->A);
    if (!s->lo || !s->hi || !s->ctx || !s->t || !s->cw || !s->ce || !s->ci || !s->fresh || !s->cur || !s->ref || !s->sw || !s->A)
        return gv_err(err, "out of memory"), GV_EFAIL;
    int uniform = 1;
    for (int g = 0; g < s->G; g++) {
        const gv_unit *u = p->layout.units + (size_t)g * s->U;
        int n = 0;
        for (int i = 0; i < s->U; i++) n += u[i].nparam;
        s->lo[g] = u[0].param, s->hi[g] = u[s->U - 1].param + u[s->U - 1].nparam;
        if (s->hi[g] - s->lo[g] != n)
            return gv_err(err, "%s: group %d of %s does not own a contiguous parameter range", spec->name, g, p->spec),
                   GV_EFAIL;
        if (gv_ikl_smc_target(p, g, s->ctx + (size_t)g * s->ctx_size, &s->t[g]))
            return gv_err(err, "%s: cannot build the SMC target of group %d of %s", spec->name, g, p->spec), GV_EFAIL;
        if (s->t[g].D != s->U)
            return gv_err(err, "%s: the SMC target of group %d of %s has %d sites, the group %d units", spec->name, g,
                          p->spec, s->t[g].D, s->U), GV_EFAIL;
        if (s->t[g].aux_dim != s->t[0].aux_dim) uniform = 0;
    }
    s->nres = uniform ? 1 : s->G;
    s->res = calloc((size_t)s->nres, sizeof *s->res);
    if (!s->res) return gv_err(err, "out of memory"), GV_EFAIL;
    for (int i = 0; i < s->nres; i++)
        if (gv_smc_result_alloc(&s->res[i], K, &s->t[i])) {
            for (int j = 0; j < i; j++) gv_smc_result_free(&s->res[j]);
            free(s->res), s->res = NULL;
            return gv_err(err, "out of memory"), GV_EFAIL;
        }
    sw_clear_pool(s);
    return GV_OK;
}

static int sw_init_naive(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return sw_init_kind(v, SW_NAIVE, sp, p, K, e); }
static int sw_init_a(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return sw_init_kind(v, SW_A, sp, p, K, e); }
static int sw_init_b(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return sw_init_kind(v, SW_B, sp, p, K, e); }
static int sw_init_c(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return sw_init_kind(v, SW_C, sp, p, K, e); }
static int sw_init_pimh(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return sw_init_kind(v, SW_PIMH, sp, p, K, e); }

static void sw_free(void *v)
{
    sw_state_t *s = v;
    for (int i = 0; s->res && i < s->nres; i++) gv_smc_result_free(&s->res[i]);
    free(s->res), free(s->lo), free(s->hi), free(s->ctx), free(s->t), free(s->cw), free(s->ce), free(s->ci), free(s->fresh), free(s->cur);
    free(s->ref), free(s->sw), free(s->A), free(s->ring);
}

static void sw_reset(void *v)
{
    sw_state_t *s = v;
    s->traj = 0, s->n_seen = 0, s->ring_n = 0, s->ring_head = 0;
    sw_clear_pool(s);
}

static void sw_copy_learned(void *dst, const void *src)
{
    sw_state_t *d = dst;
    const sw_state_t *s = src;
    d->traj = s->traj, d->n_seen = s->n_seen, d->n_agg = s->n_agg;
    memcpy(d->fresh, s->fresh, (size_t)s->E * sizeof *s->fresh);
    memcpy(d->cur, s->cur, (size_t)s->E * sizeof *s->cur);
    memcpy(d->ref, s->ref, (size_t)s->G * sizeof *s->ref);
    memcpy(d->sw, s->sw, (size_t)s->G * sizeof *s->sw);
    memcpy(d->A, s->A, (size_t)s->P * sizeof *s->A);
    d->ring_n = d->ring_head = 0;
    if (s->ring_n > 0) {
        double *r = realloc(d->ring, (size_t)s->ring_cap * s->E * sizeof *r);
        if (!r) { /* keep the sums (an uncapped copy of the pool), drop the ring */
            snprintf(d->failed, sizeof d->failed, "copy of the trajectory pool: out of memory");
            return;
        }
        memcpy(r, s->ring, (size_t)s->ring_cap * s->E * sizeof *r);
        d->ring = r, d->ring_cap = s->ring_cap, d->ring_n = s->ring_n, d->ring_head = s->ring_head;
    }
}

static void sw_schedule(void *v, long step)
{
    sw_state_t *s = v;
    (void)step;
    s->traj = 1;
}

/* Run one sampler for group g and write its marginals and log Ẑ into entry e. */
static int sw_run(sw_state_t *s, int g, gv_eval *ev, gsl_rng *r, double *e)
{
    gv_smc_result *res = &s->res[s->nres == 1 ? 0 : g];
    if (gv_smc_run(&s->t[g], &s->o, r, res, s->failed)) return -1;
    ev->n_f += (uint64_t)res->n_loglik;
    s->runs++, s->steps += res->n_steps, s->resamples += res->n_resample, s->collapsed += res->collapsed;
    const gv_unit *u = s->p->layout.units + (size_t)g * s->U;
    const int K = s->K, U = s->U;
    memset(e + s->lo[g], 0, (size_t)(s->hi[g] - s->lo[g]) * sizeof *e);
    if (s->kind == SW_B) { /* R i.i.d. draws from the weighted particles */
        gv_smc_draw(res->logw, K, s->R, GV_SMC_MULTINOMIAL, r, s->cw, s->ce, s->ci);
        const double w = 1.0 / s->R;
        for (int i = 0; i < s->R; i++) {
            const int a = s->ci[i];
            const int *z = res->z + (size_t)a * U;
            for (int j = 0; j < U; j++) {
                if (u[j].kind == GV_UNIT_BERNOULLI) e[u[j].param] += w * z[j];
                else e[u[j].param + z[j]] += w;
            }
        }
    } else {
        for (int k = 0; k < K; k++) {
            const double w = exp(res->logw[k]);
            const int *z = res->z + (size_t)k * U;
            for (int j = 0; j < U; j++) {
                if (u[j].kind == GV_UNIT_BERNOULLI) e[u[j].param] += w * z[j];
                else e[u[j].param + z[j]] += w;
            }
        }
    }
    e[s->P + g] = res->log_z;
    return 0;
}

/* Add group g's part of entry e to the pool's sums (a sampler with Ẑ = 0 adds nothing but its count). */
static void sw_add(sw_state_t *s, int g, const double *e)
{
    const double lz = e[s->P + g];
    s->n_agg += g == 0;
    if (lz == -INFINITY) return;
    double *A = s->A;
    if (lz > s->ref[g]) {
        const double f = s->ref[g] == -INFINITY ? 0 : exp(s->ref[g] - lz);
        s->sw[g] *= f;
        for (int q = s->lo[g]; q < s->hi[g]; q++) A[q] *= f;
        s->ref[g] = lz;
    }
    const double w = exp(lz - s->ref[g]);
    s->sw[g] += w;
    for (int q = s->lo[g]; q < s->hi[g]; q++) A[q] += w * e[q];
}

/* smc-pimh: propose group g's part of entry e against the current one (the first is accepted). */
static void sw_propose(sw_state_t *s, int g, const double *e, int first, gsl_rng *r)
{
    const double ln = e[s->P + g], lc = s->cur[s->P + g];
    int acc = first || lc == -INFINITY || ln >= lc;
    if (!first) {
        s->proposals++;
        if (!acc) acc = gv_uniform(r) < exp(ln - lc);
        s->accepts += acc;
    }
    if (acc) {
        memcpy(s->cur + s->lo[g], e + s->lo[g], (size_t)(s->hi[g] - s->lo[g]) * sizeof *e);
        s->cur[s->P + g] = ln;
    }
}

/* grad += -f (ms m - prob) over group g's parameters (Bernoulli ms m - theta computed as
 * mq (1 - theta) - (1 - mq) theta, without cancellation near theta = 0 or 1). */
static void sw_emit(const sw_state_t *s, int g, const gv_point *pt, const double *m, double ms, double f, double *grad)
{
    const gv_unit *u = s->p->layout.units + (size_t)g * s->U;
    for (int j = 0; j < s->U; j++) {
        const int q0 = u[j].param;
        if (u[j].kind == GV_UNIT_BERNOULLI) {
            const double mq = m[q0] * ms;
            grad[q0] -= f * (mq * pt->comp[q0] - (1 - mq) * pt->prob[q0]);
        } else {
            for (int c = 0; c < u[j].ncat; c++) grad[q0 + c] -= f * (m[q0 + c] * ms - pt->prob[q0 + c]);
        }
    }
}

/* Group g's estimate from the pool's sums, the newest entry s->fresh and (pimh) s->cur. */
static void sw_readout(const sw_state_t *s, int g, const gv_point *pt, double *grad)
{
    if (s->kind == SW_PIMH) return sw_emit(s, g, pt, s->cur, 1, 1, grad);
    if ((s->kind == SW_A || s->kind == SW_B) && s->sw[g] > 0) /* A / sw: the v-weighted mean of the marginals */
        return sw_emit(s, g, pt, s->A, 1 / s->sw[g], 1, grad);
    double f = 1; /* naive; a, b, c with every Ẑ_j = 0 (0/0): the newest sampler as it is */
    if (s->kind == SW_C && s->sw[g] > 0) { /* Ẑ_M / mean_j Ẑ_j = exp(log Ẑ_M - ref) n / sw */
        const double lz = s->fresh[s->P + g];
        f = lz == -INFINITY ? 0 : exp(lz - s->ref[g]) * (double)s->n_agg / s->sw[g];
    }
    sw_emit(s, g, pt, s->fresh, 1, f, grad);
}

static int sw_ring_push(sw_state_t *s)
{
    if (s->ring_n < s->cap && s->ring_n == s->ring_cap) { /* grow (amortised), up to cap entries */
        long nc = s->ring_cap ? 2 * s->ring_cap : 64;
        if (nc > s->cap) nc = s->cap;
        double *r = realloc(s->ring, (size_t)nc * s->E * sizeof *r);
        if (!r) return snprintf(s->failed, sizeof s->failed, "trajectory pool: out of memory"), -1;
        s->ring = r, s->ring_cap = nc; /* entries 0 .. ring_n - 1 are in order while the ring is not full */
    }
    long slot;
    if (s->ring_n < s->cap) slot = s->ring_n++;
    else slot = s->ring_head, s->ring_head = (s->ring_head + 1) % s->cap;
    memcpy(s->ring + (size_t)slot * s->E, s->fresh, (size_t)s->E * sizeof *s->fresh);
    return 0;
}

static int sw_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *grad)
{
    sw_state_t *s = v;
    (void)K;
    const int pool = s->kind == SW_A || s->kind == SW_B || s->kind == SW_C;
    if (!s->traj) { /* a fresh pool of M samplers per group */
        sw_clear_pool(s);
        for (int g = 0; g < s->G; g++) {
            const int n = s->kind == SW_NAIVE ? 1 : s->M;
            for (int j = 0; j < n; j++) {
                if (sw_run(s, g, ev, r, s->fresh)) return -1;
                if (pool) sw_add(s, g, s->fresh); /* n_agg counts group 0's samplers: M */
                else if (s->kind == SW_PIMH) sw_propose(s, g, s->fresh, j == 0, r);
            }
        }
        for (int g = 0; g < s->G; g++) sw_readout(s, g, ev->pt, grad);
        return 0;
    }
    /* trajectory: one new sampler per group joins the pool kept across steps */
    for (int g = 0; g < s->G; g++) {
        if (sw_run(s, g, ev, r, s->fresh)) return -1;
        if (s->kind == SW_PIMH) sw_propose(s, g, s->fresh, s->n_seen == 0, r);
        else if (pool && s->cap == 0) sw_add(s, g, s->fresh);
    }
    s->n_seen++;
    if (pool && s->cap > 0) {
        if (sw_ring_push(s)) return -1;
        sw_clear_pool(s);
        for (long j = 0; j < s->ring_n; j++)
            for (int g = 0; g < s->G; g++) sw_add(s, g, s->ring + (size_t)j * s->E);
    }
    for (int g = 0; g < s->G; g++) sw_readout(s, g, ev->pt, grad);
    return 0;
}

static void sw_note(const void *v, char *buf, size_t len)
{
    const sw_state_t *s = v;
    int n = 0;
    buf[0] = 0;
    if (s->failed[0]) n += snprintf(buf + n, len - n, "%s; ", s->failed);
    if (s->runs > 0 && n < (int)len)
        n += snprintf(buf + n, len - n, "smc: %.3g steps, %.3g resamplings per sampler", (double)s->steps / s->runs,
                      (double)s->resamples / s->runs);
    if (s->collapsed > 0 && n < (int)len) n += snprintf(buf + n, len - n, "; %ld samplers collapsed (Ẑ = 0)", s->collapsed);
    if (s->proposals > 0 && n < (int)len)
        n += snprintf(buf + n, len - n, "; pimh acceptance %.3g", (double)s->accepts / s->proposals);
    if (s->traj && n < (int)len) {
        const long stored = s->kind == SW_NAIVE || s->kind == SW_PIMH ? (s->n_seen > 0)
                            : s->cap > 0 ? s->ring_n : s->n_seen;
        snprintf(buf + n, len - n, "; trajectory pool: %ld samplers stored per group of %ld run", stored, s->n_seen);
    }
}

#define SW_COMMON                                                                                            \
    .citation = "McNamara, Loper & Regier 2403.10610 (AISTATS 2024)", .objective = GV_OBJ_INCLUSIVE_KL,       \
    .units = GV_UNIT_BERNOULLI | GV_UNIT_CATEGORICAL, .needs = GV_NEED_F, .min_K = 1, .K_multiple = 1, .biased = 1, \
    .state_size = sizeof(sw_state_t), .free = sw_free, .reset = sw_reset, .copy_learned = sw_copy_learned,  \
    .estimate = sw_estimate, .schedule = sw_schedule, .note = sw_note

const gv_estimator_type gv_est_smc_naive = {
    .name = "smc-naive",
    .description = "newest SMC sampler only: -sum_k W^k s(z^k); consistent in K only (not in M)",
    .cost = "N (K + S K moves D (C - 1)), S = SMC steps, C = values per site",
    .options = sw_opts_naive, .init = sw_init_naive, SW_COMMON,
};
const gv_estimator_type gv_est_smc_pimh = {
    .name = "smc-pimh",
    .description = "particle independent MH over SMC samplers (accept min(1, Z_new/Z_cur)), current sampler's "
                   "-sum_k W^k s(z^k); consistent in M (chain length) or K",
    .cost = "N M (K + S K moves D (C - 1)), S = SMC steps, C = values per site",
    .options = sw_opts, .init = sw_init_pimh, SW_COMMON,
};
const gv_estimator_type gv_est_smc_wake_a = {
    .name = "smc-wake-a",
    .description = "Z-weighted pool of M SMC samplers: -sum_j v_j sum_k W_j^k s(z_j^k), v_j = Z_j / sum Z; "
                   "strongly consistent in M (or K)",
    .cost = "N M (K + S K moves D (C - 1)), S = SMC steps, C = values per site",
    .options = sw_opts_pool, .init = sw_init_a, SW_COMMON,
};
const gv_estimator_type gv_est_smc_wake_b = {
    .name = "smc-wake-b",
    .description = "smc-wake-a with R particles resampled from each sampler when stored: "
                   "-sum_j v_j (1/R) sum_r s(z_jr); consistent in M",
    .cost = "N M (K + S K moves D (C - 1)), S = SMC steps, C = values per site",
    .options = sw_opts_b, .init = sw_init_b, SW_COMMON,
};
const gv_estimator_type gv_est_smc_wake_c = {
    .name = "smc-wake-c",
    .description = "newest sampler reweighted by the pool's evidence: -(Z_M / mean_j Z_j) sum_k W_M^k s(z_M^k); "
                   "asymptotically unbiased in M, variance does not vanish",
    .cost = "N M (K + S K moves D (C - 1)), S = SMC steps, C = values per site",
    .options = sw_opts_pool, .init = sw_init_c, SW_COMMON,
};
