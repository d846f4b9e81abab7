/* estimator.h — the estimator contract (a GSL-style "type").
 *
 * `estimate` writes ONE gradient estimate of dL/deta (n_params) at the point ev->pt using K
 * samples, drawing randomness only from the generator it is handed, and evaluating f only
 * through gv_eval_f / gv_eval_ftilde / gv_eval_grad so that the harness counts the work.
 * Learned pieces (EMA baselines, control-variate coefficients, ...) live in the state and change
 * only in `adapt`, which the harness calls after each estimate during warm-up (frozen-point mode)
 * or every step (trajectory mode).  `copy_learned` copies them between two instances built for
 * the same problem and K, so that parallel replicate blocks share one warmed-up state.
 */
#ifndef GV_ESTIMATOR_H
#define GV_ESTIMATOR_H

#include "harness/core.h"
#include "problems/problem.h"

/* Exact reference at one point (harness/exact.c). */
typedef struct {
    double value; /* E f */
    double *grad; /* dE f / deta, n_params */
    double *cond; /* E[f | z_unit = v], n_cond */
    int method;   /* GV_EXACT_CLOSED (the problem's own: exact, or exact_grad on hierarchical
                   * layouts) or GV_EXACT_ENUM */
    double states;/* joint states enumerated (0 for closed form) */
    /* Inclusive-KL problems with a model-marginal reference (gv_exact_marginal; else NULL): the
     * objective E_{p(x)} KL(p(z|x) || q_phi(z|x)) and its phi-gradient (n_outer), which sleep estimates. */
    double marg_value;
    double *marg_grad;
} gv_exact;

enum { GV_EXACT_CLOSED = 1, GV_EXACT_ENUM = 2 };

/* Distinct-point tracking (set by the engine): 64-bit hashes of the points f was evaluated at
 * during the current estimate; the engine counts the distinct ones after each estimate. */
typedef struct {
    uint64_t *h;
    size_t n, cap;
} gv_evtrack;

/* What estimate() sees: the problem, the point, the exact reference (NULL unless the estimator
 * needs it), the per-thread work counters, and (optionally) the distinct-point tracker. */
typedef struct {
    const gv_problem *problem;
    const gv_point *pt;
    const double *phi; /* the problem's outer parameters at this point (n_outer; NULL if none) */
    const gv_exact *exact;
    uint64_t n_f, n_ftilde, n_grad;
    gv_evtrack *track;
} gv_eval;

void gv_evtrack_add(gv_evtrack *t, const int *z, int n_units); /* harness/engine.c */
size_t gv_evtrack_distinct(gv_evtrack *t);                      /* and empties it */

static inline double gv_eval_f(gv_eval *ev, const int *z)
{
    ev->n_f++;
    if (ev->track) gv_evtrack_add(ev->track, z, ev->problem->layout.n_units);
    return gv_problem_f(ev->problem, ev->pt, z);
}
/* Inclusive-KL problems: log p(x_g | z) and log p(x_g, z) of group g, counted as one evaluation each
 * (the cost unit of that objective kind is the log-likelihood evaluation; n_f counts them). */
static inline double gv_eval_log_lik(gv_eval *ev, int g, const int *z)
{
    ev->n_f++;
    return ev->problem->type->ikl->log_lik(ev->problem, g, z);
}
static inline double gv_eval_log_joint(gv_eval *ev, int g, const int *z)
{
    const gv_ikl_hooks *h = ev->problem->type->ikl;
    ev->n_f++;
    return h->log_prior(ev->problem, g, z) + h->log_lik(ev->problem, g, z);
}
static inline double gv_eval_ftilde(gv_eval *ev, const double *y)
{
    ev->n_ftilde++;
    return gv_problem_ftilde(ev->problem, ev->pt, y);
}
static inline void gv_eval_grad(gv_eval *ev, const double *y, double *g)
{
    ev->n_grad++;
    gv_problem_grad_ftilde(ev->problem, ev->pt, y, g);
}

typedef struct gv_estimator_type {
    const char *name;
    const char *description;
    const char *citation;
    int objective;            /* enum gv_objective */
    unsigned units;           /* OR of gv_unit_kind it supports */
    unsigned needs;           /* OR of gv_need */
    int min_K;                /* K >= min_K */
    int K_multiple;           /* K % K_multiple == 0 (1 = any) */
    int biased;               /* 1 = biased by design (the tests must detect it) */
    int hierarchical;         /* 1 = also correct on hierarchical layouts (edges between Bernoulli units,
                               * core.h): samples with gv_sample, scores with gv_score_axpy, and uses
                               * per-sample theta (gv_hier_theta), never pt->prob of a unit with parents */
    int layerwise;            /* 1 = runs on hierarchical layouts through the layer-wise driver
                               * (estimators/layerwise.c) when not `hierarchical` itself: its estimate is
                               * linear in the f values it evaluates, with coefficients free of the
                               * noise inside f, and any f~ control variate is unbiased for any fixed f~ */
    int wrt_phi;              /* 1 = estimate writes a gradient with respect to the problem's outer
                               * parameters (n_outer values, at ev->phi), not eta: sleep, whose
                               * simulated data points have no eta (inclusive-KL problems only) */
    const char *cost;         /* f evaluations per estimate, as a formula of K (inclusive-KL:
                               * log p(x | z) evaluations) */
    const gv_optdoc *options; /* terminated by {NULL} */
    size_t state_size;        /* zeroed before init */

    int (*init)(void *state, const gv_spec *spec, const gv_problem *p, int K, char *err);
    void (*free)(void *state);                               /* may be NULL */
    void (*reset)(void *state);                              /* learned state to its start; may be NULL */
    void (*copy_learned)(void *dst, const void *src);        /* may be NULL (nothing learned) */
    int (*estimate)(void *state, gv_eval *ev, int K, gsl_rng *r, double *g); /* 0 ok */
    void (*adapt)(void *state, const gv_eval *ev);           /* may be NULL */
    /* Trajectory mode: called before each optimisation step (temperature annealing); may be NULL. */
    void (*schedule)(void *state, long step);
    /* Optional remark for the row's message column (e.g. a truncation bound); may be NULL. */
    void (*note)(const void *state, char *buf, size_t len);
} gv_estimator_type;

typedef struct {
    const gv_estimator_type *type;
    void *state;
    int K;
    char spec[GV_SPECLEN]; /* canonical */
} gv_estimator;

/* Registry (estimators/registry.c). */
extern const gv_estimator_type *const gv_estimator_types[]; /* NULL-terminated, alphabetical */
const gv_estimator_type *gv_estimator_find(const char *name);
int gv_estimator_registry_check(char *err);

/* Is this estimator usable on this problem with this K?  0 if yes; else the reason in msg. */
int gv_estimator_compatible(const gv_estimator_type *t, const gv_problem *p, int K, char *msg);
/* Parse options, check compatibility, allocate and init.  Returns GV_OK, or GV_EUSAGE with msg
 * for bad names/options, or -1 with msg when incompatible. */
int gv_estimator_new(const gv_spec *spec, const gv_problem *p, int K, gv_estimator **out, char *msg);
void gv_estimator_free(gv_estimator *e);

/* The layer-wise driver (estimators/layerwise.c): runs a `layerwise` estimator type on a
 * hierarchical layout, one factorised sub-problem per layer (units grouped by depth).
 * gv_layerwise_init is called by gv_estimator_new on a zeroed state of gv_layerwise_state_size
 * bytes; it points e->type at a copy of the estimator's type with the driver's hooks (so
 * e->type->free releases what it allocated, also after a failed init).  GV_OK, GV_EUSAGE or GV_EFAIL. */
extern const size_t gv_layerwise_state_size;
int gv_layerwise_init(gv_estimator *e, const gv_spec *spec, const gv_problem *p, int K, char *msg);
/* Number of layers (1 + the largest unit depth) of a layout; 1 on a factorised one. */
int gv_layout_layers(const gv_layout *L);

#endif
