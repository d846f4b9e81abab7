/* stats.h — Welford accumulators (one-pass, mergeable in a fixed order: Chan et al. 1979) and the
 * summary statistics of DESIGN.md "Statistics". */
#ifndef GV_STATS_H
#define GV_STATS_H

#include <stddef.h>

/* Relative resolution below which a difference between an estimate's mean and the exact gradient
 * is taken to be rounding, not bias (bias_z_max). */
#define GV_FP_RESOLUTION 1e-12

typedef struct { double n, mean, m2; } gv_welford;

static inline void gv_welford_add(gv_welford *w, double x)
{
    w->n += 1;
    double d = x - w->mean;
    w->mean += d / w->n;
    w->m2 += d * (x - w->mean);
}
void gv_welford_merge(gv_welford *a, const gv_welford *b); /* a <- a ∪ b */
double gv_welford_var(const gv_welford *w);               /* unbiased; NAN if n < 2 */

/* Per-coordinate Welford over P coordinates. */
typedef struct {
    int P;
    double n;
    double *mean, *m2;
} gv_vwelford;
int gv_vwelford_init(gv_vwelford *w, int P);
void gv_vwelford_free(gv_vwelford *w);
void gv_vwelford_add(gv_vwelford *w, const double *x);
void gv_vwelford_merge(gv_vwelford *a, const gv_vwelford *b);

/* Everything one block of replicates contributes; blocks merge in block order. */
typedef struct {
    gv_vwelford coord; /* per-coordinate mean and M2 of the estimates */
    gv_welford sqerr;  /* ||g_r - g*||^2 */
    gv_welford cosine; /* cos(g_r, g*) (0 when g_r = 0); unused when g* = 0 */
    gv_welford dvar;   /* d_r = (1/P)||g_r - block mean||^2 * B/(B-1): mean = var_mean, gives its SE */
    double nonfinite;
    double n_f, n_ftilde, n_grad; /* work counters, summed */
    double n_distinct;            /* distinct points among each estimate's f evaluations, summed */
    double ns;                    /* wall time in estimate(), summed */
} gv_block_stats;

int gv_block_stats_init(gv_block_stats *b, int P);
void gv_block_stats_free(gv_block_stats *b);
void gv_block_stats_merge(gv_block_stats *a, const gv_block_stats *b);
/* Add the B finite estimates stored row-wise in G (B x P) with exact gradient gstar. */
void gv_block_stats_add(gv_block_stats *s, const double *G, int B, const double *gstar, double gstar_norm);

/* The summary row statistics. NAN means "not defined" (written as an empty field). */
typedef struct {
    double replicates, exact_norm;
    double f_evals, ftilde_evals, grad_evals, distinct_evals, ns_per_estimate;
    double var_mean, var_mean_se, var_sum, var_max, log10_var_mean;
    double bias2, bias2_raw, bias_z_max, mse, cos_mean, cos_var, snr, work_norm_var;
    double nonfinite;
} gv_summary;

void gv_summarise(const gv_block_stats *s, const double *gstar, int P, gv_summary *out);

#endif
