/* smcrun.c — `gradvar smc`: is the tempered-SMC evidence estimate unbiased?  (issue #7, experiment 4)
 *
 * For every (inclusive-KL problem, data point x_g, K, sampler configuration) RUNS independent samplers
 * (harness/smc.c) on the group's target p(z_g) p(x_g | z_g)^tau give Ẑ_1..Ẑ_R, which are compared with
 * the exact log p(x_g) (the problem's log_marginal hook):
 *   ratio_mean = (1/R) sum_r Ẑ_r / p(x_g) ± its standard error, z = (ratio_mean - 1) / SE.
 * A fixed schedule with the weight-first order gives an exactly unbiased Ẑ (Del Moral 2004, thm 7.4.2),
 * so z ~ N(0, 1) up to the heavy right tail of Ẑ; move-first (the authors' code) and the adaptive
 * schedule (delta chosen from the current particles) are biased.  The ratios are formed from
 * l_r = log Ẑ_r - log p(x_g) shifted by max_r l_r, so huge or tiny ratios neither overflow nor
 * underflow; E log(Ẑ/p) (< 0 by Jensen even when Ẑ is unbiased) is reported beside them.
 *
 * Streams: one per (master seed, problem spec, canonical configuration, K, group and block of runs),
 * purpose GV_STREAM_SMC; the per-run values are reduced serially in run order, so every column but
 * ns_per_run is the same for any thread count. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cli.h"
#include "harness/ikl.h"
#include "harness/output.h"
#include "harness/rng.h"
#include "harness/stats.h"

#define SMC_BLOCK 8 /* runs per stream / parallel task */

struct gv_smc_row {
    char problem[GV_SPECLEN];
    int group; /* -1: every group of the problem (the aggregate row) */
    char config[GV_SPECLEN];
    int K;
    long runs, collapsed;
    uint64_t seed;
    double log_marginal, ratio_mean, ratio_se, ratio_z, log_ratio_mean, log_ratio_sd;
    double steps_mean, loglik_evals_mean, resample_mean, ns_per_run;
    const char *status;
    char message[GV_ERRLEN];
};

static const char *const smc_columns[] = {
    "problem", "group", "config", "K", "runs", "seed", "log_marginal", "ratio_mean", "ratio_se", "ratio_z",
    "log_ratio_mean", "log_ratio_sd", "collapsed", "steps_mean", "loglik_evals_mean", "resample_mean", "ns_per_run",
    "status", "message", NULL};

static const char smc_usage[] =
    "usage: gradvar smc -p SPEC [-p SPEC ...] -K K[,K...] --config CFG [--config CFG ...] [-R RUNS]\n"
    "                   [--seed S] [-o FILE.csv] [--rng NAME] [--threads N] [--no-timing] [-q]\n"
    "\n"
    "Evidence of likelihood-tempered SMC (harness/smc.c) on inclusive-KL problems: for every (problem,\n"
    "data point x_g, K, CFG) RUNS independent samplers, one CSV row with E[Ẑ]/p(x_g) ± SE, its z-score\n"
    "against 1, E log(Ẑ/p(x_g)), steps, log-likelihood evaluations and resamplings per run (schema:\n"
    "results/README.md); problems with several data points also get a row with group=all.\n"
    "\n"
    "  -p SPEC      an inclusive-kl problem, e.g. sbn-posterior:preset=easy (repeatable)\n"
    "  -K LIST      particles, comma-separated (default 16)\n"
    "  -R N         sampler runs per row (default 1000, at least 2)\n"
    "  --config CFG SCHEDULE[:key=value,...] (repeatable), SCHEDULE one of\n"
    "                 adaptive   delta from conditional ESS = cess K (biased Ẑ)   cess (0.5)\n"
    "                 linear     tau_t = t/T (unbiased Ẑ)                          T (10)\n"
    "                 geometric  tau_t = tau1^((T-t)/(T-1)) (unbiased Ẑ)           T (10), tau1 (0.001)\n"
    "               and for all: order=weight-first|move-first, kernel=gibbs|metropolis, moves (1),\n"
    "               flips (metropolis proposals per move; default D), resampling=systematic|multinomial,\n"
    "               ess (resample when ESS < ess K; 0.5)\n"
    "               e.g. linear:T=10,order=move-first   adaptive:kernel=metropolis,flips=4\n"
    "  --seed S     master seed (default 1)\n"
    "  -o FILE      output CSV (atomically rewritten after every row, with FILE.meta; default stdout)\n"
    "  --rng NAME   GSL generator name or xoshiro256ss (default)\n"
    "  --threads N  OpenMP threads (parallel over blocks of runs)\n"
    "  --no-timing  leave ns_per_run empty, so the CSV is byte-identical across runs and thread counts\n"
    "Exit status: 0 ok, 1 runtime failure, 2 usage error.\n";

/* ---------------------------------------------------------------- configurations */

#define SMC_COMMON_OPTS GV_SMC_MOVE_OPTDOCS, {"ess", "0.5", "resample when ESS < ess K (0: never, > 1: always)"}

static const gv_optdoc adaptive_opts[] = {{"cess", "0.5", "conditional ESS / K each step aims for"}, SMC_COMMON_OPTS,
                                          {NULL, NULL, NULL}};
static const gv_optdoc linear_opts[] = {{"T", "10", "steps"}, SMC_COMMON_OPTS, {NULL, NULL, NULL}};
static const gv_optdoc geometric_opts[] = {{"T", "10", "steps"}, {"tau1", "0.001", "first temperature"},
                                           SMC_COMMON_OPTS, {NULL, NULL, NULL}};
/* indexed by gv_smc_schedule */
static const char *const schedule_names[] = {"adaptive", "linear", "geometric", NULL};
static const gv_optdoc *const schedule_opts[] = {adaptive_opts, linear_opts, geometric_opts};

typedef struct {
    gv_smc_options o; /* K filled in per cell */
    char canon[GV_SPECLEN];
} smc_config;

static int parse_config(const char *text, smc_config *c, char *err)
{
    gv_spec s;
    char e2[GV_ERRLEN];
    int sch = -1;
    if (gv_spec_parse(text, &s, e2)) return gv_err(err, "--config %s: %s", text, e2), GV_EUSAGE;
    for (int i = 0; schedule_names[i]; i++)
        if (!strcmp(schedule_names[i], s.name)) sch = i;
    if (sch < 0)
        return gv_err(err, "--config %s: unknown schedule '%s'; valid schedules: adaptive, linear, geometric", text,
                      s.name), GV_EUSAGE;
    gv_smc_options_default(&c->o, 1);
    c->o.schedule = (gv_smc_schedule)sch;
    if (gv_spec_check(&s, schedule_opts[sch], "schedule", e2) || gv_smc_options_parse(&s, &c->o, e2))
        return gv_err(err, "--config %s: %s", text, e2), GV_EUSAGE;
    gv_spec_canonical(&s, c->canon, sizeof c->canon);
    return GV_OK;
}

/* ---------------------------------------------------------------- arguments */

typedef struct {
    const char *problems[64], *configs[64];
    int n_problems, n_configs, K[64], n_K;
    smc_config cfg[64];
    long R;
    uint64_t seed;
    const gsl_rng_type *rng;
    const char *out;
    int timing, quiet, threads;
} smc_args;

static int parse_args(int argc, char **argv, smc_args *a, char *err)
{
    memset(a, 0, sizeof *a);
    a->R = 1000, a->seed = 1, a->rng = gv_rng_default(), a->timing = 1;
    enum { O_SEED = 256, O_CONFIG, O_RNG, O_THREADS, O_NOTIMING, O_HELP };
    static const struct option lo[] = {
        {"problem", required_argument, 0, 'p'}, {"config", required_argument, 0, O_CONFIG},
        {"seed", required_argument, 0, O_SEED}, {"rng", required_argument, 0, O_RNG},
        {"threads", required_argument, 0, O_THREADS}, {"no-timing", no_argument, 0, O_NOTIMING},
        {"output", required_argument, 0, 'o'}, {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    int c;
    char *end;
    long x;
    while ((c = getopt_long(argc, argv, ":p:K:R:o:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (a->n_problems == 64) return gv_err(err, "too many -p (limit 64)"), GV_EUSAGE;
            a->problems[a->n_problems++] = optarg;
            break;
        case O_CONFIG:
            if (a->n_configs == 64) return gv_err(err, "too many --config (limit 64)"), GV_EUSAGE;
            if (parse_config(optarg, &a->cfg[a->n_configs], err)) return GV_EUSAGE;
            a->configs[a->n_configs++] = optarg;
            break;
        case 'K':
            if (gv_cli_klist("-K", optarg, a->K, &a->n_K, 64, err)) return GV_EUSAGE;
            break;
        case 'R':
            x = strtol(optarg, &end, 10);
            if (end == optarg || *end || x < 2 || x > 100000000L)
                return gv_err(err, "-R %s: expected an integer in [2, 100000000]", optarg), GV_EUSAGE;
            a->R = x;
            break;
        case O_THREADS:
            x = strtol(optarg, &end, 10);
            if (end == optarg || *end || x < 1 || x > 1024)
                return gv_err(err, "--threads %s: expected an integer in [1, 1024]", optarg), GV_EUSAGE;
            a->threads = (int)x;
            break;
        case O_SEED:
            if (gv_cli_seed(optarg, &a->seed, err)) return GV_EUSAGE;
            break;
        case O_RNG:
            if (!(a->rng = gv_rng_type_find(optarg)))
                return gv_err(err, "--rng %s: unknown generator; use xoshiro256ss or a GSL name (mt19937, taus2, ...)",
                              optarg), GV_EUSAGE;
            break;
        case 'o': a->out = optarg; break;
        case 'q': a->quiet = 1; break;
        case O_NOTIMING: a->timing = 0; break;
        case 'h':
        case O_HELP: return gv_err(err, "help"), -2;
        case ':': return gv_err(err, "option %s needs a value", argv[optind - 1]), GV_EUSAGE;
        default: return gv_err(err, "unknown option '%s' (see gradvar smc --help)", argv[optind - 1]), GV_EUSAGE;
        }
    }
    if (optind < argc) return gv_err(err, "unexpected argument '%s' (see gradvar smc --help)", argv[optind]), GV_EUSAGE;
    if (!a->n_problems)
        return gv_err(err, "smc needs at least one inclusive-kl problem (-p SPEC); see gradvar list problems"), GV_EUSAGE;
    if (!a->n_configs)
        return gv_err(err, "smc needs at least one --config SCHEDULE[:key=value,...] (adaptive, linear, geometric)"),
               GV_EUSAGE;
    if (!a->n_K) a->K[a->n_K++] = 16;
    return GV_OK;
}

/* Build problem i; usage error unless it is an inclusive-KL problem. */
static int build_problem(const char *spec, gv_problem **p, char *err)
{
    int rc = gv_problem_new(spec, p, err);
    if (rc) return rc;
    if ((*p)->type->objective == GV_OBJ_INCLUSIVE_KL && (*p)->type->ikl && (*p)->n_groups > 0) return GV_OK;
    char names[400] = "";
    for (const gv_problem_type *const *t = gv_problem_types; *t; t++)
        if ((*t)->objective == GV_OBJ_INCLUSIVE_KL)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? ", " : "", (*t)->name);
    gv_err(err, "problem '%s' has objective kind expectation; smc needs an inclusive-kl problem (a posterior "
                "with an exact log p(x)): %s", (*p)->spec, names);
    gv_problem_free(*p);
    *p = NULL;
    return GV_EUSAGE;
}

/* ---------------------------------------------------------------- one row */

/* Ratio statistics from l_r = log Ẑ_r - log p(x), r < R, in run order. */
static void ratio_stats(const double *l, long R, gv_smc_row *row)
{
    double m = -INFINITY;
    for (long r = 0; r < R; r++)
        if (l[r] > m) m = l[r];
    gv_welford w = {0}, wl = {0};
    row->collapsed = 0;
    for (long r = 0; r < R; r++) {
        gv_welford_add(&w, isfinite(m) ? exp(l[r] - m) : 0.0); /* Ẑ_r / p(x) / e^m, in [0, 1] */
        if (isfinite(l[r])) gv_welford_add(&wl, l[r]);
        else row->collapsed++;
    }
    const double se = sqrt(gv_welford_var(&w) / (double)R); /* scaled by e^-m, like w.mean */
    if (!isfinite(m)) { /* every run collapsed: Ẑ = 0 */
        row->ratio_mean = 0, row->ratio_se = 0, row->ratio_z = -INFINITY;
    } else {
        row->ratio_mean = exp(m + log(w.mean));
        row->ratio_se = se > 0 ? exp(m + log(se)) : 0;
        row->ratio_z = se > 0 ? (w.mean - exp(-m)) / se : NAN;
    }
    row->log_ratio_mean = row->collapsed ? -INFINITY : wl.mean;
    row->log_ratio_sd = row->collapsed ? NAN : sqrt(gv_welford_var(&wl));
}

typedef struct {
    double steps, evals, resample, ns;
    int rc;
    char msg[GV_ERRLEN];
} block_sums;

static void run_cell(const gv_problem *p, int g, const smc_config *c, int K, const smc_args *a, gv_smc_row *row)
{
    memset(row, 0, sizeof *row);
    snprintf(row->problem, sizeof row->problem, "%s", p->spec);
    snprintf(row->config, sizeof row->config, "%s", c->canon);
    row->group = g, row->K = K, row->runs = a->R, row->seed = a->seed, row->status = "ok";
    row->log_marginal = p->type->ikl->log_marginal(p, g);
    row->ratio_mean = row->ratio_se = row->ratio_z = row->log_ratio_mean = row->log_ratio_sd = NAN;
    row->steps_mean = row->loglik_evals_mean = row->resample_mean = row->ns_per_run = NAN;
    const long nb = (a->R + SMC_BLOCK - 1) / SMC_BLOCK;
    void *ctx = malloc(gv_ikl_smc_ctx_size(p));
    double *l = malloc((size_t)a->R * sizeof *l);
    block_sums *bs = calloc((size_t)nb, sizeof *bs);
    gv_smc_target t;
    if (!ctx || !l || !bs) {
        row->status = "error", snprintf(row->message, sizeof row->message, "out of memory");
    } else if (!isfinite(row->log_marginal)) {
        row->status = "error", snprintf(row->message, sizeof row->message, "exact log p(x_%d) is not finite", g);
    } else if (gv_ikl_smc_target(p, g, ctx, &t)) {
        row->status = "error", snprintf(row->message, sizeof row->message, "no SMC target for group %d", g);
    } else {
        gv_smc_options o = c->o;
        o.K = K;
#pragma omp parallel for schedule(dynamic)
        for (long b = 0; b < nb; b++) {
            block_sums *s = &bs[b];
            /* group and block in one stream index: blocks never reach 2^32 */
            gsl_rng *r = gv_rng_new(a->rng, gv_stream_seed(a->seed, p->spec, c->canon, K, ((long)g << 32) | b, GV_STREAM_SMC));
            gv_smc_result res;
            if (!r || gv_smc_result_alloc(&res, K, &t)) {
                s->rc = -1, snprintf(s->msg, sizeof s->msg, "out of memory");
                if (r) gsl_rng_free(r);
                continue;
            }
            for (long i = b * SMC_BLOCK; i < (b + 1) * SMC_BLOCK && i < a->R && !s->rc; i++) {
                const double t0 = a->timing ? gv_now_s() : 0;
                s->rc = gv_smc_run(&t, &o, r, &res, s->msg);
                if (a->timing) s->ns += 1e9 * (gv_now_s() - t0);
                l[i] = res.log_z - row->log_marginal;
                s->steps += res.n_steps, s->evals += (double)res.n_loglik, s->resample += res.n_resample;
            }
            gv_smc_result_free(&res);
            gsl_rng_free(r);
        }
        double steps = 0, evals = 0, resample = 0, ns = 0;
        for (long b = 0; b < nb && !strcmp(row->status, "ok"); b++) { /* block order: deterministic */
            if (bs[b].rc) row->status = "error", snprintf(row->message, sizeof row->message, "%s", bs[b].msg);
            steps += bs[b].steps, evals += bs[b].evals, resample += bs[b].resample, ns += bs[b].ns;
        }
        if (!strcmp(row->status, "ok")) {
            ratio_stats(l, a->R, row);
            row->steps_mean = steps / a->R, row->loglik_evals_mean = evals / a->R, row->resample_mean = resample / a->R;
            if (a->timing) row->ns_per_run = ns / a->R;
            if (row->collapsed)
                snprintf(row->message, sizeof row->message, "%ld of %ld runs collapsed (every weight 0: Ẑ = 0)",
                         row->collapsed, a->R);
        }
    }
    free(ctx), free(l), free(bs);
}

/* The aggregate of a problem's G group rows (same config and K): the mean of the G ratios, whose
 * expectation is 1 when each is unbiased; SE = sqrt(sum SE_g^2) / G. */
static void aggregate(const gv_smc_row *rows, int G, gv_smc_row *agg)
{
    *agg = rows[0];
    agg->group = -1, agg->runs = 0, agg->collapsed = 0, agg->message[0] = 0;
    double sum[9] = {0};
    for (int g = 0; g < G; g++) {
        const gv_smc_row *w = &rows[g];
        if (strcmp(w->status, "ok") && !strcmp(agg->status, "ok"))
            agg->status = w->status, snprintf(agg->message, sizeof agg->message, "group %d: %.480s", g, w->message);
        const double v[9] = {w->log_marginal, w->ratio_mean, w->ratio_se * w->ratio_se, w->log_ratio_mean,
                             w->log_ratio_sd * w->log_ratio_sd, w->steps_mean, w->loglik_evals_mean, w->resample_mean,
                             w->ns_per_run};
        for (int k = 0; k < 9; k++) sum[k] += v[k];
        agg->runs += w->runs, agg->collapsed += w->collapsed;
    }
    agg->log_marginal = sum[0]; /* log p(x_1, ..., x_G): the points are independent */
    agg->ratio_mean = sum[1] / G, agg->ratio_se = sqrt(sum[2]) / G;
    agg->ratio_z = agg->ratio_se > 0 ? (agg->ratio_mean - 1) / agg->ratio_se : NAN;
    agg->log_ratio_mean = sum[3] / G, agg->log_ratio_sd = sqrt(sum[4] / G); /* pooled within-group s.d. */
    agg->steps_mean = sum[5] / G, agg->loglik_evals_mean = sum[6] / G, agg->resample_mean = sum[7] / G;
    agg->ns_per_run = sum[8] / G;
}

/* ---------------------------------------------------------------- output */

typedef struct {
    const gv_smc_row *rows;
    int n;
} rows_ctx;

static int write_rows(FILE *f, const void *vc)
{
    const rows_ctx *c = vc;
    for (int i = 0; smc_columns[i]; i++) gv_csv_field(f, smc_columns[i], !smc_columns[i + 1]);
    for (int i = 0; i < c->n; i++) {
        const gv_smc_row *w = &c->rows[i];
        char b[64];
        gv_csv_field(f, w->problem, 0);
        if (w->group >= 0) snprintf(b, sizeof b, "%d", w->group);
        else snprintf(b, sizeof b, "all");
        gv_csv_field(f, b, 0);
        gv_csv_field(f, w->config, 0);
        snprintf(b, sizeof b, "%d", w->K);
        gv_csv_field(f, b, 0);
        snprintf(b, sizeof b, "%ld", w->runs);
        gv_csv_field(f, b, 0);
        snprintf(b, sizeof b, "%llu", (unsigned long long)w->seed);
        gv_csv_field(f, b, 0);
        const double v[] = {w->log_marginal, w->ratio_mean, w->ratio_se, w->ratio_z, w->log_ratio_mean,
                            w->log_ratio_sd, (double)w->collapsed, w->steps_mean, w->loglik_evals_mean,
                            w->resample_mean, w->ns_per_run};
        for (size_t k = 0; k < sizeof v / sizeof *v; k++) gv_csv_num(f, v[k], 0);
        gv_csv_field(f, w->status, 0);
        gv_csv_field(f, w->message, 1);
    }
    return ferror(f) ? -1 : 0;
}

/* ---------------------------------------------------------------- the command */

int gv_smc_main(int argc, char **argv, int validate_only, gv_smc_row **rows_out, int *n_out, char *err)
{
    if (rows_out) *rows_out = NULL, *n_out = 0;
    smc_args *a = malloc(sizeof *a);
    if (!a) return gv_err(err, "out of memory"), GV_EFAIL;
    int rc = parse_args(argc, argv, a, err);
    gv_problem **probs = rc ? NULL : calloc((size_t)a->n_problems, sizeof *probs);
    if (!rc && !probs) rc = GV_EFAIL, gv_err(err, "out of memory");
    int nrows = 0, cap = 0;
    for (int i = 0; !rc && i < a->n_problems; i++) { /* every problem checked before anything runs */
        rc = build_problem(a->problems[i], &probs[i], err);
        if (!rc) {
            const int G = probs[i]->n_groups;
            cap += a->n_configs * a->n_K * (G + (G > 1));
        }
    }
    gv_smc_row *rows = NULL;
    if (!rc && !validate_only) {
        if (a->threads) omp_set_num_threads(a->threads);
        rows = calloc((size_t)cap, sizeof *rows);
        if (!rows) rc = GV_EFAIL, gv_err(err, "out of memory");
        char *command = gv_cli_join(argc, argv);
        gv_meta meta = {.seed = a->seed, .rng = a->rng->name, .command = command, .R = a->R, .cells_total = cap};
        for (int i = 0; !rc && i < a->n_problems; i++) {
            const gv_problem *p = probs[i];
            const int G = p->n_groups;
            for (int j = 0; !rc && j < a->n_configs; j++)
                for (int k = 0; !rc && k < a->n_K; k++) {
                    const int first = nrows;
                    for (int g = 0; g < G; g++) run_cell(p, g, &a->cfg[j], a->K[k], a, &rows[nrows++]);
                    if (G > 1) aggregate(rows + first, G, &rows[nrows]), nrows++;
                    meta.cells_done = nrows;
                    if (a->out) { /* finished rows are never lost: rewrite the whole file after each cell */
                        rows_ctx c = {rows, nrows};
                        if (gv_atomic_write(a->out, write_rows, &c, err) || gv_save_meta(a->out, &meta, err))
                            rc = GV_EFAIL;
                    }
                }
        }
        if (!rc && !a->out) {
            rows_ctx c = {rows, nrows};
            write_rows(stdout, &c);
            fflush(stdout);
        }
        free(command);
        for (int r = 0; !rc && r < nrows; r++)
            if (strcmp(rows[r].status, "ok")) rc = GV_EFAIL, gv_err(err, "%s, group %d, %s, K=%d: %s", rows[r].problem,
                                                                     rows[r].group, rows[r].config, rows[r].K,
                                                                     rows[r].message);
    }
    for (int i = 0; probs && i < a->n_problems; i++) gv_problem_free(probs[i]);
    free(probs);
    free(a);
    if (rows_out) *rows_out = rows, *n_out = nrows;
    else free(rows);
    return rc;
}

int gv_cmd_smc(int argc, char **argv)
{
    char err[GV_ERRLEN];
    int rc = gv_smc_main(argc, argv, 0, NULL, NULL, err);
    if (rc == -2) return fputs(smc_usage, stdout), GV_OK;
    if (rc) fprintf(stderr, "gradvar smc: %s\n", err);
    return rc;
}

/* ---------------------------------------------------------------- REPORT.md */

/* |z| above this flags a row: Ẑ's mean differs from p(x) by more than sampling noise explains. */
#define SMC_Z_FLAG 4.0

/* A table cell: x with `digits` significant digits, a dash if undefined. */
static void cell(char *b, size_t n, double x, int digits)
{
    if (isnan(x)) snprintf(b, n, "–");
    else snprintf(b, n, "%.*g", digits, x);
}

void gv_smc_report(FILE *f, const gv_report_entry *e)
{
    if (!e->smc || e->nsmc == 0) return;
    fprintf(f, "Evidence of tempered SMC (`gradvar smc`; raw rows, one per data point, in `%s.csv`): E[Ẑ]/p(x) over "
               "R = %ld independent sampler runs per data point ± 1 standard error, z = (ratio − 1)/SE; **biased?** when |z| > %.0f. A fixed "
               "schedule with weight-first order is exactly unbiased; the SE is computed from the runs themselves, so "
               "a heavy right tail of Ẑ (few particles, a multimodal posterior) makes it optimistic and z then tends "
               "to be negative. E log(Ẑ/p) < 0 by Jensen even when Ẑ is unbiased. Problems with several data points "
               "are shown averaged over them (the ratio is the mean of the per-point ratios); \"points flagged\" "
               "counts the per-point rows with |z| > %.0f.\n\n"
               "| problem | points | config | K | E[Ẑ]/p(x) ± SE | z | biased? | points flagged | E log(Ẑ/p(x)) | "
               "log-lik evaluations | status |\n|---|---|---|---:|---:|---:|:-:|---:|---:|---:|---|\n",
            e->name, e->smc[0].runs, SMC_Z_FLAG, SMC_Z_FLAG);
    int flagged = 0, npts = 0;
    for (int i = 0; i < e->nsmc; i++) {
        const gv_smc_row *w = &e->smc[i];
        if (w->group == 0) flagged = npts = 0; /* a new (problem, config, K) */
        if (w->group >= 0) npts++, flagged += fabs(w->ratio_z) > SMC_Z_FLAG;
        const int single = w->group == 0 && !(i + 1 < e->nsmc && e->smc[i + 1].group == 1);
        if (w->group >= 0 && !single) continue; /* shown through its aggregate row */
        char r[48], se[48], z[48], lr[48], ev[48];
        cell(r, sizeof r, w->ratio_mean, 4), cell(se, sizeof se, w->ratio_se, 2), cell(z, sizeof z, w->ratio_z, 3);
        cell(lr, sizeof lr, w->log_ratio_mean, 4), cell(ev, sizeof ev, w->loglik_evals_mean, 4);
        const char *flag = isnan(w->ratio_z) ? "–" : fabs(w->ratio_z) > SMC_Z_FLAG ? "**yes**" : "no";
        fprintf(f, "| `%s` | %d | `%s` | %d | %s ± %s | %s | %s | %d of %d | %s | %s | %s%s%s |\n", w->problem, npts,
                w->config, w->K, r, se, z, flag, flagged, npts, lr, ev, w->status, w->message[0] ? ": " : "",
                w->message);
    }
    fputc('\n', f);
}
