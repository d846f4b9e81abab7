/* engine.h — frozen-point replicate engine and the result rows it produces. */
#ifndef GV_ENGINE_H
#define GV_ENGINE_H

#include "estimators/estimator.h"
#include "harness/stats.h"

#define GV_BLOCK 256 /* replicates per block: the unit of RNG streams, parallelism and SE batches */

typedef struct {
    long R;        /* replicates */
    long W;        /* warm-up estimates for learned state */
    uint64_t seed; /* master seed */
    const gsl_rng_type *rng;
    int timing;    /* 0: ns_per_estimate left empty (byte-identical output) */
    void (*progress)(void *ctx, long blocks_done); /* called under a lock; may be NULL */
    void *progress_ctx;
} gv_engine_opts;

typedef struct gv_row {
    char problem[GV_SPECLEN];
    char estimator[GV_SPECLEN];
    const char *objective;
    int K;
    uint64_t seed;
    long step; /* -1: not a trajectory row */
    gv_summary s;
    const char *status; /* ok | nonfinite | incompatible | error */
    char message[GV_ERRLEN];
    double prob_mean; /* mean over the parameters of theta / pi / rate / q at the point (trajectory plots) */
    const char *wrt; /* "eta" (the units' parameters) or "phi" (the problem's outer parameters) */
    int P; /* coordinates (n_params or n_outer); per-coordinate detail below is NULL unless requested */
    double *coord_mean, *coord_var, *coord_exact;
    struct gv_row *outer; /* for problems with outer parameters: the same cell's phi-gradient row */
} gv_row;

void gv_row_init(gv_row *row, const gv_problem *p, const char *est_spec, int K, uint64_t seed);
void gv_row_free(gv_row *row);
/* A trajectory's basket row: step and seed on the row and on its phi-gradient twin (row->outer). */
void gv_row_set_step(gv_row *row, long step, uint64_t seed);

/* Blocks a run of R replicates is cut into. */
long gv_engine_blocks(long R);

/* Run one (problem, estimator, K) cell at the frozen point pt with exact reference ex.
 * For a problem with outer parameters every estimate is also mapped through outer_vjp and
 * summarised against the mapped exact gradient in row->outer (malloc'd; gv_row_free frees it).
 * Returns GV_OK with the row filled (its status says whether it ran), or GV_EUSAGE for an
 * unknown estimator or bad option (msg says which and lists the valid choices). */
int gv_run_cell(const gv_problem *p, const gv_point *pt, const gv_exact *ex, const char *est_spec,
                int K, const gv_engine_opts *o, int want_coords, gv_row *row, char *msg);

#endif
