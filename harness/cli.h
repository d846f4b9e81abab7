/* cli.h — subcommands (harness/main.c dispatches to these). */
#ifndef GV_CLI_H
#define GV_CLI_H

#include "harness/engine.h"

/* Parsed `run` arguments. */
typedef struct {
    const char *problems[64];
    int n_problems;
    char *estimators[256];
    int n_estimators;
    int est_K[256]; /* K pinned by the estimator's spec (NAME:K=k), 0 = every -K value */
    int K[64];
    int n_K;
    long R, W;
    uint64_t seed;
    const gsl_rng_type *rng;
    const char *out;
    int per_coord, timing, quiet, threads;
    double max_states;
} gv_run_args;

/* Parse `run` arguments (argv[0] is "run"); GV_OK or GV_EUSAGE with err. */
int gv_run_parse(int argc, char **argv, gv_run_args *a, char *err);
void gv_run_args_free(gv_run_args *a);
/* Check every problem spec, estimator name and option without running anything. */
int gv_run_validate(const gv_run_args *a, char *err);
/* Execute: rows are returned (caller frees with gv_rows_free) if rows_out != NULL. */
int gv_run_exec(const gv_run_args *a, const char *command, gv_row **rows_out, int *n_out, char *err);
void gv_rows_free(gv_row *rows, int n);

/* Shared CLI pieces (harness/cliutil.c). */
int gv_cli_estimators(const char *arg, char **dst, int *n, int cap, char *err); /* one -e argument */
int gv_cli_seed(const char *arg, uint64_t *seed, char *err);
/* A comma-separated list of K values (each in [1, 1e6]) appended to K[*n] (at most cap). */
int gv_cli_klist(const char *opt, const char *arg, int *K, int *n, int cap, char *err);
/* An estimator spec may pin its own K ("tokui-sato:K=1", for comparisons at equal evaluations): the
 * option is taken out of *spec (rewritten in canonical form) and returned in *K; *K = 0 if absent. */
int gv_cli_pinned_K(char **spec, int *K, char *err);
char *gv_cli_join(int argc, char **argv); /* "gradvar ARGS...", malloc'd */
double gv_now_s(void);                    /* monotonic seconds */

int gv_cmd_run(int argc, char **argv);
int gv_cmd_bench(int argc, char **argv);
int gv_cmd_list(int argc, char **argv);
int gv_cmd_exact(int argc, char **argv);
int gv_cmd_describe(int argc, char **argv);
int gv_cmd_train(int argc, char **argv);

/* Trajectory mode (harness/train.c).  argv[0] is "train".  Returns GV_OK, GV_EUSAGE, GV_EFAIL
 * or -2 for --help; with validate_only nothing runs.  Summaries for reports: one per trajectory
 * (estimator, K, seed) (basket = 0: first/final/best/worst objective), then one per basket
 * (estimator, K, seed) (basket = 1:
 * first/final = var_mean at the first/last recorded step, best/worst = its lowest/highest,
 * evals_per_step = f evaluations per estimate). */
typedef struct {
    int basket;
    char estimator[GV_SPECLEN];
    int K;
    uint64_t seed;
    long last_step;
    double first, final, best, worst, evals_per_step; /* best = lowest, worst = highest objective */
    double eval[4];     /* trajectories: the last record's held-out values (train value, train log p(x),
                           test value, test log p(x)); NAN where the problem has none */
    double outer_final; /* baskets: var_mean of the phi-gradient at the last record (NAN: no phi) */
    const char *status;
    char message[GV_ERRLEN];
} gv_traj_summary;
int gv_train_run(int argc, char **argv, int validate_only, gv_traj_summary **sum, int *nsum, char *err);

/* Evidence of tempered SMC (harness/smcrun.c).  argv[0] is "smc".  One row per (problem, data point,
 * config, K), plus one over the data points (opaque here; *rows is one malloc'd array: free()).
 * Returns GV_OK, GV_EUSAGE, GV_EFAIL or -2 for --help; with validate_only nothing runs. */
typedef struct gv_smc_row gv_smc_row;
int gv_smc_main(int argc, char **argv, int validate_only, gv_smc_row **rows, int *nrows, char *err);
int gv_cmd_smc(int argc, char **argv);

/* Report (harness/report.c): markdown tables + figure links for a finished suite. */
typedef struct {
    const char *name;
    const gv_row *rows; /* run entries */
    int n;
    long R;
    const gv_traj_summary *traj; /* train entries */
    int ntraj;
    const char *const *figures; /* figure kinds drawn for this entry, NULL-terminated */
    const gv_smc_row *smc;      /* smc entries */
    int nsmc;
} gv_report_entry;
/* The table of an smc entry (harness/smcrun.c); nothing for other entries. */
void gv_smc_report(FILE *f, const gv_report_entry *e);

/* Figure kinds a suite entry may ask for (each has plots/KIND.gp); NULL-terminated. */
extern const char *const gv_figure_kinds[];
int gv_write_report(const char *path, const char *suite, const gv_report_entry *e, int n, char *err);

#endif
