/* core.h — types shared by problems, estimators and the harness.
 *
 * A problem's latent layout is a list of independent units.  Each unit owns a slice of the
 * parameter vector eta (the estimand is dL/deta):
 *   Bernoulli   : 1 parameter, the logit;           z in {0,1}; score  b - theta
 *   categorical : C parameters, the class logits;   z in {0..C-1}; score onehot(z) - pi
 *   count       : 1 parameter: log-rate (Poisson) or logit of the success probability (binomial,
 *                 geometric, negative binomial); z in {0, 1, ...}; score d/deta log p(z).
 *                 ncat = M is a support cap: exact references sum values 0..M-1 and check that
 *                 the neglected tail P(X >= M) is below GV_COUNT_TAIL at the current parameter.
 * A unit also owns `ncat` rows of the conditional-mean table E[f | z_unit = v] that the exact
 * reference computes (2 rows for a Bernoulli unit), from which every exact gradient follows.
 *
 * Hierarchical layouts.  A layout may also hold directed edges parent -> child between Bernoulli
 * units (units in topological order: parent index < child index), added by gv_layout_add_edges
 * after the units.  Each edge owns one parameter, its weight, appended to eta after every unit's
 * own parameters (so n_params = n_unit_params + n_edges).  Unit i's logit given z is
 *   l_i(z) = eta[param_i] + sum_{edges e into i} eta[edge_e.param] z[parent_e],
 * q(z) = prod_i Bern(z_i; sigma(l_i(z))) is sampled ancestrally, and the score is
 * d log q / d eta[param_i] = z_i - sigma(l_i(z)),  d log q / d w_e = (z_child - sigma(l_child)) z_parent.
 * On such a layout pt->prob / pt->comp of a unit with parents hold sigma(+-eta[param_i]), the value at
 * all parents 0, and of an edge parameter sigma(+-w_e): neither is a probability of q, so estimators
 * must not use them there (gv_hier_theta gives the per-sample values).  Estimators declaring
 * `hierarchical` run on these layouts directly, those declaring `layerwise` through the layer-wise
 * driver (estimators/layerwise.c, estimators/estimator.h); the exact gradient no longer follows
 * from the conditional means (harness/exact.h).
 */
#ifndef GV_CORE_H
#define GV_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <gsl/gsl_rng.h>

#define GV_ERRLEN 512
#define GV_SPECLEN 512
#define GV_MAXOPT 32

enum gv_exit { GV_OK = 0, GV_EFAIL = 1, GV_EUSAGE = 2 };

enum gv_objective { GV_OBJ_EXPECTATION = 1, GV_OBJ_INCLUSIVE_KL = 2 };

enum gv_unit_kind {
    GV_UNIT_BERNOULLI = 1u,
    GV_UNIT_CATEGORICAL = 2u,
    GV_UNIT_COUNT = 4u
};

/* What an estimator needs from a problem. */
enum gv_need {
    GV_NEED_F = 1u,           /* f on the discrete support (every expectation estimator) */
    GV_NEED_FTILDE = 2u,      /* continuous extension f~ */
    GV_NEED_GRAD_FTILDE = 4u, /* its gradient */
    GV_NEED_EXACT = 8u        /* exact E f and conditional means (oracle baselines) */
};

enum gv_count_family { GV_POISSON = 1, GV_BINOMIAL, GV_GEOMETRIC, GV_NEGBIN };

/* Largest tail mass a count unit's truncated support may neglect in an exact reference. */
#define GV_COUNT_TAIL 1e-12

typedef struct {
    unsigned kind; /* one gv_unit_kind */
    int ncat;      /* support size: 2 Bernoulli, C categorical, support cap M for counts */
    int family;    /* count units: enum gv_count_family */
    double shape;  /* count units: trials N (binomial), r (negative binomial) */
    int param;     /* offset of this unit's parameters in eta */
    int nparam;    /* 1 Bernoulli, C categorical */
    int cond;      /* offset of this unit's rows in the conditional-mean table */
} gv_unit;

/* A hierarchical edge parent -> child (both Bernoulli units, parent < child). */
typedef struct {
    int parent, child;
    int param; /* offset of its weight in eta (>= n_unit_params) */
} gv_edge;

typedef struct {
    int n_units;
    int n_params; /* length of eta, of every gradient, and of f~'s argument */
    int n_unit_params; /* parameters owned by the units (= n_params when there are no edges) */
    int n_edges;       /* 0: independent units (factorised q) */
    gv_edge *edges;    /* n_edges, in the order added (edge e's weight is eta[n_unit_params + e]) */
    int *in_off, *in_edge;   /* edges into unit i: in_edge[in_off[i] .. in_off[i+1]-1] (edge indices) */
    int *out_off, *out_edge; /* edges out of unit i (to its children), likewise */
    int n_cond;   /* rows of the conditional-mean table: sum of ncat */
    unsigned kinds; /* OR of the unit kinds present */
    int max_ncat;
    gv_unit *units;
} gv_layout;

/* Build a layout of n_units units; kind[i], ncat[i] (ncat ignored for Bernoulli). */
int gv_layout_init(gv_layout *L, int n_units, const unsigned *kind, const int *ncat);
/* Build a layout from unit prototypes (kind, ncat, family, shape); offsets are filled in. */
int gv_layout_init_units(gv_layout *L, int n_units, const gv_unit *proto);
int gv_layout_uniform(gv_layout *L, int n_units, unsigned kind, int ncat);
void gv_layout_free(gv_layout *L);
/* Add n edges parent[e] -> child[e] (parent < child, no duplicates; every unit of the layout must be
 * Bernoulli); their weights
 * take parameters n_params .. n_params + n - 1.  May be called once, after the units.  0 or -1 with
 * the reason in err. */
int gv_layout_add_edges(gv_layout *L, int n, const int *parent, const int *child, char *err);
static inline int gv_layout_hierarchical(const gv_layout *L) { return L->n_edges > 0; }
const char *gv_unit_kind_names(unsigned kinds, char *buf, size_t len);

/* The distribution q_eta at one parameter value, with what sampling and scores need. */
typedef struct {
    const gv_layout *layout;
    double *eta;  /* n_params */
    double *prob; /* theta (Bernoulli), pi (categorical), rate or success probability (count) */
    double *comp; /* 1 - prob, computed without cancellation (sigma(-eta), sum of other pi) */
    double *cdf;  /* categorical inverse-CDF table, n_params; last entry of a unit is 1 */
} gv_point;

int gv_point_init(gv_point *pt, const gv_layout *L, const double *eta);
void gv_point_set(gv_point *pt, const double *eta); /* recompute for a new eta */
void gv_point_free(gv_point *pt);

/* Draw z ~ q_eta (one value per unit). */
void gv_sample(const gv_point *pt, gsl_rng *r, int *z);
/* g += w * score(z), score = d log q(z) / d eta. */
void gv_score_axpy(const gv_point *pt, const int *z, double w, double *g);
/* log q(z) (used by enumeration and tests). */
double gv_log_q(const gv_point *pt, const int *z);

/* Hierarchical layouts (also correct, and then trivial, on factorised Bernoulli units). */
/* l_i(z): unit i's logit given its parents' values in z (Bernoulli unit i). */
double gv_unit_logit(const gv_point *pt, const int *z, int i);
/* sigma(l_i(z)) of Bernoulli unit i (pt->prob of a unit without parents, as gv_sample uses it). */
double gv_unit_theta(const gv_point *pt, const int *z, int i);
/* theta[i] = sigma(l_i(z)), comp[i] = sigma(-l_i(z)) for every unit i of an all-Bernoulli layout
 * (indexed by unit); comp may be NULL. */
void gv_hier_theta(const gv_point *pt, const int *z, double *theta, double *comp);
/* Ancestral draw of an all-Bernoulli layout from given uniforms u (one per unit, in unit order):
 * z_i = u_i < sigma(l_i(z)).  Units from `from` on are (re)drawn, units before it are kept: with the
 * same u, setting z_i and redrawing from i + 1 re-simulates exactly the descendants of i with common
 * random numbers (a later non-descendant keeps its value: its logit does not depend on z_i).
 * gv_sample on a hierarchical layout is this with fresh uniforms drawn in unit order. */
void gv_sample_from_uniforms(const gv_point *pt, const double *u, int from, int *z);

/* Count units (harness/count.c).  eta = log-rate (Poisson) or logit q (the others). */
double gv_count_logpmf(const gv_unit *u, double eta, double k);
double gv_count_score(const gv_unit *u, double eta, double k); /* d/deta log p(k) */
double gv_count_mean(const gv_unit *u, double eta);
double gv_count_tail(const gv_unit *u, double eta, int M);      /* P(X >= M) */
int gv_count_support(const gv_unit *u, double eta, double eps); /* least M with P(X >= M) <= eps; -1 if > 1e9 */
int gv_count_sample(const gv_unit *u, double eta, gsl_rng *r);
const char *gv_count_family_name(int family);

/* Options: "name:key=value,key=value"; list values are slash-separated. */
typedef struct {
    const char *key;
    const char *def; /* default as text, or NULL = required/unset */
    const char *help;
} gv_optdoc;

typedef struct {
    char name[128];
    int n;
    char *key[GV_MAXOPT];
    char *val[GV_MAXOPT];
    char buf[GV_SPECLEN];
} gv_spec;

int gv_spec_parse(const char *text, gv_spec *s, char *err);
/* Every key must be in docs (NULL-terminated by key == NULL); error names the key and the valid keys. */
int gv_spec_check(const gv_spec *s, const gv_optdoc *docs, const char *what, char *err);
/* Canonical text: name, then the options sorted by key. */
void gv_spec_canonical(const gv_spec *s, char *out, size_t len);
const char *gv_spec_get(const gv_spec *s, const char *key); /* NULL if absent */
int gv_opt_long(const gv_spec *s, const char *key, long def, long lo, long hi, long *out, char *err);
int gv_opt_double(const gv_spec *s, const char *key, double def, double lo, double hi, double *out,
                  char *err);
/* Slash-separated list; *out malloc'd; *n its length.  Absent → *out = NULL, *n = 0. */
int gv_opt_dlist(const gv_spec *s, const char *key, double lo, double hi, double **out, int *n,
                 char *err);
/* Value must be one of the NULL-terminated choices; returns its index in *out. */
int gv_opt_choice(const gv_spec *s, const char *key, const char *const *choices, int def, int *out,
                  char *err);

void gv_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Numerics. */
double gv_sigmoid(double x);
double gv_log_sigmoid(double x); /* log sigma(x), stable for |x| large */
double gv_logsumexp(const double *x, int n);

#endif
