/* problem.h — the problem contract (a GSL-style "type": a const struct of data and hooks).
 *
 * A problem defines L(eta) = E_{z ~ q_eta}[f(z)] over the latent layout it builds in `init`
 * (objective kind `expectation`), at an initial parameter value eta0 (the frozen point of `run`).
 * Optional pieces: a continuous extension f~ on [0,1]^D / simplices and its gradient (for
 * relaxations, MuProp, ...), and a closed-form exact reference.  Without `exact` the harness
 * enumerates the joint support.  Outer parameters phi with eta = eta(phi): a problem with
 * n_outer > 0 sets p->phi (its initial value, n_outer), supplies `outer_map` (phi -> eta) and
 * `outer_vjp` (d/deta -> d/dphi = J^T d/deta); the harness then reports the phi-gradient beside the
 * eta-gradient (rows with wrt=phi) and `train` optimises phi.
 */
#ifndef GV_PROBLEM_H
#define GV_PROBLEM_H

#include "harness/core.h"

struct gv_problem;
struct gv_smc_target; /* harness/smc.h */

/* Inclusive-KL problems (objective GV_OBJ_INCLUSIVE_KL; issue #7).  The objective is
 *   L(eta) = sum_g KL(p(z_g | x_g) || q_eta(z_g)),
 * q factorised over the layout's units (Bernoulli or categorical), which form p->n_groups consecutive
 * groups of p->group_units units each: group g holds the latents of data point x_g, with its own
 * posterior p(z_g | x_g) ∝ p(z_g) p(x_g | z_g).  The exact reference is the type's exact_grad hook
 * (required): *value = L, cond[unit.cond + v] = p(z_unit = v | x_g) (the posterior marginals m),
 * grad = dL/deta = -(m - theta) (Bernoulli logit), -(m_c - pi_c) (categorical logit c).
 * Estimators see the model only through these hooks (z = one group's group_units values; all
 * read-only, thread-safe): */
typedef struct gv_ikl_hooks {
    double (*log_prior)(const struct gv_problem *p, int g, const int *z);    /* log p(z_g) */
    double (*log_lik)(const struct gv_problem *p, int g, const int *z);      /* log p(x_g | z_g): the cost unit */
    void (*sample_prior)(const struct gv_problem *p, int g, gsl_rng *r, int *z); /* z_g ~ p(z_g) */
    double (*log_marginal)(const struct gv_problem *p, int g);                /* exact log p(x_g) */
    /* Optional: a tempered-SMC target for group g with the problem's fast path, its context in ctx
     * (smc_ctx_size bytes, which must outlive t); 0 or -1.  Without it gv_ikl_smc_target (harness/ikl.h)
     * builds one from the three hooks above. */
    int (*smc_target)(const struct gv_problem *p, int g, void *ctx, struct gv_smc_target *t);
    size_t smc_ctx_size;
    /* Optional amortisation (p->n_outer > 0: q(z | x) = q_phi, eta_g = eta_phi(x_g)), for sleep:
     * a data point is p->x_dim doubles; sample_joint draws (z, x) ~ p(z) p(x | z) (one group's z);
     * score_phi adds w * d/dphi log q_phi(z | x) to gphi (n_outer). */
    void (*sample_joint)(const struct gv_problem *p, gsl_rng *r, int *z, double *x);
    void (*score_phi)(const struct gv_problem *p, const double *phi, const double *x, const int *z, double w,
                      double *gphi);
    /* Optional: the model-marginal objective E_{p(x)} KL(p(z | x) || q_phi(z | x)) (per data point) and
     * its phi-gradient, exactly (tiny models: x enumerable); 0, 1 = not available here (why in err), -1 failed. */
    int (*exact_marginal)(const struct gv_problem *p, const double *phi, double *value, double *gphi, char *err);
} gv_ikl_hooks;

typedef struct gv_problem_type {
    const char *name;
    const char *description;
    const char *citation;
    int objective;              /* enum gv_objective */
    const gv_optdoc *options;   /* terminated by {NULL} */
    const char *presets;        /* one line: names accepted by preset=, or NULL */
    size_t state_size;          /* private state, zeroed before init */

    /* Parse options, fill p->layout and p->eta (malloc'd, n_params). Return 0 or an error. */
    int (*init)(struct gv_problem *p, const gv_spec *spec, char *err);
    void (*free)(void *state); /* frees what init allocated inside the state; may be NULL */

    double (*f)(const void *state, const int *z);
    double (*ftilde)(const void *state, const double *y);                 /* optional */
    void (*grad_ftilde)(const void *state, const double *y, double *grad); /* optional */
    /* Instead of f / f~ / grad f~: the same at the point pt, for objectives that contain log q
     * itself (the ELBO: f = log p(x, z) - log q(z | x)).  The estimators treat f as fixed at the
     * current point, which is exact: d/deta E_q[f_eta] = E_q[f grad log q] + E_q[d f_eta / d eta]
     * and the last term is -E_q[grad log q] = 0.  A problem gives f or f_at, not both. */
    double (*f_at)(const void *state, const gv_point *pt, const int *z);
    double (*ftilde_at)(const void *state, const gv_point *pt, const double *y);
    void (*grad_ftilde_at)(const void *state, const gv_point *pt, const double *y, double *grad);

    /* Optional closed form at pt: *value = E f, cond[unit.cond + v] = E[f | z_unit = v].  Used on
     * factorised layouts only (the gradient follows from cond there). */
    int (*exact)(const struct gv_problem *p, const gv_point *pt, double *value, double *cond);
    const char *exact_label; /* what the problem's own `exact` is when not a closed form (e.g. "gray-code") */
    /* Optional, for hierarchical layouts (layout edges, core.h), where the conditional means do not
     * give the gradient: E f, cond (as above, under the joint q) and grad = dE f / deta (units' own
     * parameters and edge weights) directly.  Without it the harness enumerates the joint support
     * (harness/exact.c).  0, or -1 for a failed (e.g. non-finite) reference. */
    int (*exact_grad)(const struct gv_problem *p, const gv_point *pt, double *value, double *cond, double *grad);

    /* Optional outer parameters (p->n_outer > 0): eta = eta(phi) and gphi = J^T geta. */
    void (*outer_map)(const struct gv_problem *p, const double *phi, double *eta);
    void (*outer_vjp)(const struct gv_problem *p, const double *geta, double *gphi);

    /* Optional: print problem-specific details (targets, tables) for `describe`. */
    void (*describe)(const struct gv_problem *p, FILE *out);
    /* Optional: write the problem's own parameters as CSV (`describe --params`), in the format its
     * params= option reads back; 0 or -1.  Without it, describe writes the unit logits. */
    int (*dump_params)(const struct gv_problem *p, FILE *out);

    /* Optional model training (`train` on a generative model): the problem's own parameters theta
     * (p->n_model of them: a decoder and prior), which f depends on, trained beside phi by their
     * standard stochastic gradient E_q[grad_theta f] (no estimator needed: z does not depend on
     * theta).  model_get copies theta out, model_set installs one; model_grad adds w times
     * grad_theta f(z) at one sample z of the point pt. */
    void (*model_get)(const struct gv_problem *p, double *theta);
    void (*model_set)(struct gv_problem *p, const double *theta);
    void (*model_grad)(const struct gv_problem *p, const gv_point *pt, const int *z, double w, double *g);
    /* Optional minibatches: draw the next batch of the objective from the problem's training pool
     * (with dynamic binarisation where it has one); `train` then re-maps phi to eta.  0 or -1. */
    int (*next_batch)(struct gv_problem *p, gsl_rng *r);
    /* Optional exact evaluation at outer parameters phi (and the current theta) on a whole data
     * set: set 0 = the training pool, 1 = the test set.  *value = mean objective (the ELBO),
     * *logml = mean log-marginal likelihood log p(x).  0; 1 = the problem has no such set; -1 = failed. */
    int (*evaluate)(const struct gv_problem *p, const double *phi, int set, double *value, double *logml);

    /* Inclusive-KL problems: the model (required for that objective kind; NULL otherwise). */
    const gv_ikl_hooks *ikl;
} gv_problem_type;

typedef struct gv_problem {
    const gv_problem_type *type;
    void *state;
    gv_layout layout;
    double *eta;              /* eta0, n_params */
    int n_outer;              /* outer parameters phi (0: none) */
    double *phi;              /* phi0, n_outer (malloc'd by init when n_outer > 0) */
    int n_model;              /* model parameters theta (model_get / model_set; 0: none) */
    int n_groups, group_units; /* inclusive-KL problems: data points and latent units per point */
    int x_dim;                 /* inclusive-KL problems with sample_joint: doubles per data point */
    char spec[GV_SPECLEN];    /* canonical spec: identity in CSV rows and RNG streams */
} gv_problem;

/* Registry (problems/registry.c). */
extern const gv_problem_type *const gv_problem_types[]; /* NULL-terminated, alphabetical */
const gv_problem_type *gv_problem_find(const char *name);
int gv_problem_registry_check(char *err);
/* Parse SPEC, look the type up, init. Errors list valid names / keys. */
int gv_problem_new(const char *spec_text, gv_problem **out, char *err);
void gv_problem_free(gv_problem *p);

/* f, f~ and grad f~ of the problem at the point pt (f_at & co. when the problem gives them). */
static inline double gv_problem_f(const gv_problem *p, const gv_point *pt, const int *z)
{
    return p->type->f_at ? p->type->f_at(p->state, pt, z) : p->type->f(p->state, z);
}
static inline double gv_problem_ftilde(const gv_problem *p, const gv_point *pt, const double *y)
{
    return p->type->ftilde_at ? p->type->ftilde_at(p->state, pt, y) : p->type->ftilde(p->state, y);
}
static inline void gv_problem_grad_ftilde(const gv_problem *p, const gv_point *pt, const double *y, double *g)
{
    if (p->type->grad_ftilde_at) p->type->grad_ftilde_at(p->state, pt, y, g);
    else p->type->grad_ftilde(p->state, y, g);
}
static inline int gv_problem_has_ftilde(const gv_problem *p) { return p->type->ftilde || p->type->ftilde_at; }
static inline int gv_problem_has_grad_ftilde(const gv_problem *p)
{
    return p->type->grad_ftilde || p->type->grad_ftilde_at;
}

#endif
