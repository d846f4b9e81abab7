/* run.c — `gradvar run`: problems x estimators x K, one summary row per cell. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness/cli.h"
#include "harness/exact.h"
#include "harness/output.h"
#include "harness/rng.h"

static const char run_usage[] =
    "usage: gradvar run -p SPEC [-p SPEC ...] -e EST[,EST...] [-e EST:opt=v,...] -K K[,K...]\n"
    "                   [-R REPLICATES] [-W WARMUP] [--seed S] [-o FILE.csv] [--per-coord]\n"
    "                   [--rng NAME] [--max-states N] [--threads N] [--no-timing] [-q]\n"
    "\n"
    "Draws R independent gradient estimates per (problem, estimator, K) at the problem's frozen\n"
    "point and compares them with the exact gradient.  Writes one CSV summary row per cell (schema:\n"
    "results/README.md) to FILE (atomically, rewritten after every cell, with FILE.meta) or stdout.\n"
    "\n"
    "  -p SPEC        problem, e.g. bernoulli-quadratic:D=200,t=0.499 (repeatable)\n"
    "  -e EST         comma-separated estimator names, or one estimator with options\n"
    "                 (gumbel-softmax:tau=0.5); repeatable\n"
    "  -K LIST        samples per estimate, comma-separated (default 2); an estimator spec can pin\n"
    "                 its own K instead (-e tokui-sato:K=1 -e rloo:K=25: equal evaluations)\n"
    "  -R N           replicates per cell (default 10000, at least 2)\n"
    "  -W N           warm-up estimates for learned state before freezing it (default 1000)\n"
    "  --seed S       master seed (default 1)\n"
    "  -o FILE        output CSV (default stdout)\n"
    "  --per-coord    also write per-coordinate rows to FILE's .coord.csv\n"
    "  --rng NAME     GSL generator name or xoshiro256ss (default xoshiro256ss)\n"
    "  --max-states N enumeration limit for the exact reference (default 4194304 = 2^22)\n"
    "  --threads N    OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  --no-timing    leave ns_per_estimate empty, so the CSV is byte-identical across runs\n"
    "  -q             no progress bar\n"
    "Exit status: 0 ok, 1 runtime failure, 2 usage error (also for a single incompatible cell).\n";

void gv_run_args_free(gv_run_args *a)
{
    for (int i = 0; i < a->n_estimators; i++) free(a->estimators[i]);
    a->n_estimators = 0;
}

static int parse_long_arg(const char *opt, const char *v, long lo, long hi, long *out, char *err)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi)
        return gv_err(err, "%s %s: expected an integer in [%ld, %ld]", opt, v, lo, hi), GV_EUSAGE;
    *out = x;
    return GV_OK;
}

int gv_run_parse(int argc, char **argv, gv_run_args *a, char *err)
{
    memset(a, 0, sizeof *a);
    a->R = 10000;
    a->W = 1000;
    a->seed = 1;
    a->rng = gv_rng_default();
    a->timing = 1;
    a->max_states = GV_DEFAULT_MAX_STATES;
    enum { O_SEED = 256, O_PERCOORD, O_RNG, O_MAXSTATES, O_THREADS, O_NOTIMING, O_HELP };
    static const struct option lo[] = {
        {"problem", required_argument, 0, 'p'}, {"estimator", required_argument, 0, 'e'},
        {"seed", required_argument, 0, O_SEED}, {"per-coord", no_argument, 0, O_PERCOORD},
        {"rng", required_argument, 0, O_RNG}, {"max-states", required_argument, 0, O_MAXSTATES},
        {"threads", required_argument, 0, O_THREADS}, {"no-timing", no_argument, 0, O_NOTIMING},
        {"output", required_argument, 0, 'o'}, {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    int c;
    long x;
    while ((c = getopt_long(argc, argv, ":p:e:K:R:W:o:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (a->n_problems == 64) return gv_err(err, "too many -p (limit 64)"), GV_EUSAGE;
            a->problems[a->n_problems++] = optarg;
            break;
        case 'e':
            if (gv_cli_estimators(optarg, a->estimators, &a->n_estimators, 256, err)) return GV_EUSAGE;
            break;
        case 'K':
            if (gv_cli_klist("-K", optarg, a->K, &a->n_K, 64, err)) return GV_EUSAGE;
            break;
        case 'R':
            if (parse_long_arg("-R", optarg, 2, 1000000000L, &a->R, err)) return GV_EUSAGE;
            break;
        case 'W':
            if (parse_long_arg("-W", optarg, 0, 1000000000L, &a->W, err)) return GV_EUSAGE;
            break;
        case 'o': a->out = optarg; break;
        case 'q': a->quiet = 1; break;
        case O_SEED:
            if (gv_cli_seed(optarg, &a->seed, err)) return GV_EUSAGE;
            break;
        case O_PERCOORD: a->per_coord = 1; break;
        case O_NOTIMING: a->timing = 0; break;
        case O_RNG:
            if (!(a->rng = gv_rng_type_find(optarg)))
                return gv_err(err, "--rng %s: unknown generator; use xoshiro256ss or a GSL name "
                                   "(mt19937, taus2, ranlxd2, ...)", optarg), GV_EUSAGE;
            break;
        case O_MAXSTATES: {
            char *end;
            double m = strtod(optarg, &end);
            if (end == optarg || *end || !(m >= 1) || !isfinite(m))
                return gv_err(err, "--max-states %s: expected a positive number", optarg), GV_EUSAGE;
            a->max_states = m;
            break;
        }
        case O_THREADS:
            if (parse_long_arg("--threads", optarg, 1, 1024, &x, err)) return GV_EUSAGE;
            a->threads = (int)x;
            break;
        case 'h':
        case O_HELP: return gv_err(err, "help"), -2;
        case ':': return gv_err(err, "option %s needs a value", argv[optind - 1]), GV_EUSAGE;
        default: return gv_err(err, "unknown option '%s' (see gradvar run --help)", argv[optind - 1]), GV_EUSAGE;
        }
    }
    if (optind < argc) return gv_err(err, "unexpected argument '%s' (see gradvar run --help)", argv[optind]), GV_EUSAGE;
    if (!a->n_problems) return gv_err(err, "run needs at least one problem (-p SPEC); see gradvar list problems"), GV_EUSAGE;
    if (!a->n_estimators) return gv_err(err, "run needs at least one estimator (-e NAME); see gradvar list estimators"), GV_EUSAGE;
    if (!a->n_K) a->K[a->n_K++] = 2;
    for (int j = 0; j < a->n_estimators; j++)
        if (gv_cli_pinned_K(&a->estimators[j], &a->est_K[j], err)) return GV_EUSAGE;
    return GV_OK;
}

void gv_rows_free(gv_row *rows, int n)
{
    for (int i = 0; i < n; i++) gv_row_free(&rows[i]);
    free(rows);
}

/* ---------------------------------------------------------------- progress bar */

typedef struct {
    int on;
    long total, base, done;
    double t0, last;
} progress_t;

static void progress_cb(void *ctx, long blocks_done)
{
    progress_t *p = ctx;
    p->done = p->base + blocks_done;
    double t = gv_now_s();
    if (!p->on || t - p->t0 < 1.0 || t - p->last < 0.1) return;
    p->last = t;
    double frac = (double)p->done / p->total, eta = frac > 0 ? (t - p->t0) * (1 - frac) / frac : 0;
    int w = 30, fill = (int)(frac * w);
    fprintf(stderr, "\r[%.*s%*s] %3.0f%%  ETA %5.0fs ", fill, "##############################", w - fill, "",
            100 * frac, eta);
    fflush(stderr);
}

/* ---------------------------------------------------------------- exec */

/* Build every problem (probs[i]) and check every estimator name and option before running
 * anything, so that a usage error never leaves a half-written run behind. */
static int build_and_validate(const gv_run_args *a, gv_problem **probs, char *err)
{
    int rc = GV_OK;
    for (int i = 0; i < a->n_problems && !rc; i++) rc = gv_problem_new(a->problems[i], &probs[i], err);
    for (int j = 0; j < a->n_estimators && !rc; j++) {
        gv_spec es;
        if ((rc = gv_spec_parse(a->estimators[j], &es, err))) break;
        const gv_estimator_type *t = gv_estimator_find(es.name);
        if (!t) {
            gv_estimator *tmp;
            rc = gv_estimator_new(&es, probs[0], 2, &tmp, err); /* produces the "valid estimators" message */
            break;
        }
        rc = gv_spec_check(&es, t->options, "estimator", err);
    }
    return rc;
}

int gv_run_validate(const gv_run_args *a, char *err)
{
    gv_problem **probs = calloc((size_t)a->n_problems, sizeof *probs);
    if (!probs) return gv_err(err, "out of memory"), GV_EFAIL;
    int rc = build_and_validate(a, probs, err);
    for (int i = 0; i < a->n_problems; i++) gv_problem_free(probs[i]);
    free(probs);
    return rc;
}

int gv_run_exec(const gv_run_args *a, const char *command, gv_row **rows_out, int *n_out, char *err)
{
    if (a->threads) omp_set_num_threads(a->threads);
    int n_prob = a->n_problems, ncell = 0;
    for (int j = 0; j < a->n_estimators; j++) ncell += n_prob * (a->est_K[j] ? 1 : a->n_K);
    gv_problem **probs = calloc((size_t)n_prob, sizeof *probs);
    gv_row *rows = calloc((size_t)ncell, sizeof *rows);
    if (!probs || !rows) {
        free(probs), free(rows);
        return gv_err(err, "out of memory"), GV_EFAIL;
    }
    int nrows = 0;
    int rc = build_and_validate(a, probs, err);
    const int single = ncell == 1;
    progress_t prog = {.on = !a->quiet && isatty(2), .total = (long)ncell * gv_engine_blocks(a->R), .t0 = gv_now_s()};
    gv_engine_opts eo = {.R = a->R, .W = a->W, .seed = a->seed, .rng = a->rng, .timing = a->timing,
                         .progress = progress_cb, .progress_ctx = &prog};
    gv_meta meta = {.seed = a->seed, .rng = a->rng->name, .command = command, .R = a->R, .W = a->W,
                    .cells_total = ncell};
    for (int i = 0; i < n_prob && !rc; i++) {
        gv_problem *p = probs[i];
        gv_point pt;
        gv_exact ex;
        char xerr[GV_ERRLEN] = "";
        int have_pt = gv_point_init(&pt, &p->layout, p->eta) == 0;
        int have_ex = have_pt && gv_exact_alloc(&ex, &p->layout) == 0;
        int xrc = have_ex ? gv_exact_compute(p, &pt, a->max_states, 0, &ex, xerr) : GV_EFAIL;
        if (!have_ex) snprintf(xerr, sizeof xerr, "out of memory");
        if (!xrc && gv_exact_marginal(p, p->phi, &ex, xerr) < 0) xrc = GV_EFAIL; /* 1: none, fine */
        if (xrc && single) {
            snprintf(err, GV_ERRLEN, "%s", xerr);
            rc = xrc;
        }
        for (int j = 0; j < a->n_estimators && !rc; j++)
            for (int k = 0; k < (a->est_K[j] ? 1 : a->n_K) && !rc; k++) {
                const int K = a->est_K[j] ? a->est_K[j] : a->K[k];
                gv_row *row = &rows[nrows];
                char msg[GV_ERRLEN] = "";
                if (xrc) { /* no exact reference: every cell of this problem is an error row */
                    gv_spec es;
                    gv_spec_parse(a->estimators[j], &es, msg);
                    char canon[GV_SPECLEN];
                    gv_spec_canonical(&es, canon, sizeof canon);
                    gv_row_init(row, p, canon, K, a->seed);
                    row->status = "error";
                    snprintf(row->message, sizeof row->message, "exact reference: %s", xerr);
                } else {
                    int crc = gv_run_cell(p, &pt, &ex, a->estimators[j], K, &eo, a->per_coord, row, msg);
                    if (crc) {
                        snprintf(err, GV_ERRLEN, "%s", msg);
                        rc = crc;
                        break;
                    }
                    if (single && strcmp(row->status, "incompatible") == 0) {
                        snprintf(err, GV_ERRLEN, "incompatible: %.480s", row->message);
                        rc = GV_EUSAGE;
                    }
                }
                nrows++;
                prog.base += gv_engine_blocks(a->R);
                meta.cells_done = nrows;
                if (a->out) { /* finished rows are never lost: rewrite the whole file after each cell */
                    char serr[GV_ERRLEN];
                    if (gv_save(a->out, rows, nrows, a->per_coord, &meta, serr)) {
                        snprintf(err, GV_ERRLEN, "%s", serr);
                        rc = GV_EFAIL;
                    }
                }
            }
        if (have_ex) gv_exact_free(&ex);
        if (have_pt) gv_point_free(&pt);
    }
    if (prog.on && gv_now_s() - prog.t0 >= 1.0) fprintf(stderr, "\r%*s\r", 60, "");
    if (!a->out && nrows && rc != GV_EUSAGE) {
        gv_write_rows(stdout, rows, nrows);
        if (a->per_coord) gv_write_coord_rows(stdout, rows, nrows);
        fflush(stdout);
    }
    for (int i = 0; i < n_prob; i++) gv_problem_free(probs[i]);
    free(probs);
    if (rows_out) {
        *rows_out = rows;
        *n_out = nrows;
    } else {
        gv_rows_free(rows, nrows);
    }
    return rc;
}

int gv_cmd_run(int argc, char **argv)
{
    gv_run_args a;
    char err[GV_ERRLEN];
    int rc = gv_run_parse(argc, argv, &a, err);
    if (rc == -2) {
        fputs(run_usage, stdout);
        gv_run_args_free(&a);
        return GV_OK;
    }
    if (rc) {
        fprintf(stderr, "gradvar run: %s\n", err);
        gv_run_args_free(&a);
        return GV_EUSAGE;
    }
    char *cmd = gv_cli_join(argc, argv);
    rc = gv_run_exec(&a, cmd, NULL, NULL, err);
    if (rc) fprintf(stderr, "gradvar run: %s\n", err);
    free(cmd);
    gv_run_args_free(&a);
    return rc;
}
