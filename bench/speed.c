/* speed.c — estimates per second for reinforce and rloo (K = 2) on bernoulli-quadratic D = 200,
 * next to the time the same program needs just to draw the same number of uniforms from the same
 * generator; printed as a ratio (target: an estimate costs at most 3x its raw random numbers).
 * Both are measured in one process, interleaved, best of several rounds (the machine is shared).
 * Also: a cost table of every registered estimator that runs there at K = 2, as ratios to rloo
 * per estimate and per evaluation; the whole frozen-point engine (statistics included) per
 * estimate; and the generic enumeration rate.
 * And the categorical cost: carms, carms-gumbel, arsm vs rloo at C = 3, 10, 30 (categorical_costs),
 * and the sigmoid belief net's exact enumeration at D = 20 (sbn_costs), and the tempered SMC sampler
 * (smc_costs: Gibbs vs Metropolis, with and without the single-flip fast path, per log-likelihood
 * evaluation).
 * Usage: build/bench/speed [N_ESTIMATES] [--cost-csv FILE] [--cat-cost-csv FILE]  (the cost tables as
 * CSV, which `make bench` writes to results/cost.csv and results/cost-categorical.csv and `gradvar
 * bench` copies into REPORT.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_errno.h>
#include <omp.h>

#include "harness/engine.h"
#include "harness/output.h"
#include "harness/exact.h"
#include "harness/rng.h"
#include "harness/smc.h"
#include "estimators/carms.h"
#include "problems/sbn.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static volatile double sink;

static double time_uniforms(const gsl_rng_type *T, long n)
{
    gsl_rng *r = gv_rng_new(T, 7);
    double s = 0, t0 = now();
    for (long i = 0; i < n; i++) s += gv_uniform(r); /* what the samplers call */
    double t = now() - t0;
    sink = s;
    gsl_rng_free(r);
    return t;
}

static double time_estimates(gv_problem *p, gv_point *pt, gv_exact *ex, const char *name, int K, long n)
{
    gv_spec es;
    char err[GV_ERRLEN];
    gv_spec_parse(name, &es, err);
    gv_estimator *e;
    if (gv_estimator_new(&es, p, K, &e, err)) {
        fprintf(stderr, "speed: %s\n", err);
        exit(1);
    }
    gsl_rng *r = gv_rng_new(gv_rng_default(), 7);
    double *g = calloc((size_t)p->layout.n_params, sizeof(double));
    gv_eval ev = {.problem = p, .pt = pt, .exact = ex};
    double s = 0, t0 = now();
    for (long i = 0; i < n; i++) {
        memset(g, 0, (size_t)p->layout.n_params * sizeof(double));
        e->type->estimate(e->state, &ev, K, r, g);
        s += g[0];
    }
    double t = now() - t0;
    sink = s;
    free(g);
    gsl_rng_free(r);
    gv_estimator_free(e);
    return t;
}

/* Evaluations (f + f~ + grad f~) per estimate, counted by the harness. */
static double count_evals(gv_problem *p, gv_point *pt, gv_exact *ex, const char *name, int K)
{
    gv_spec es;
    char err[GV_ERRLEN];
    gv_spec_parse(name, &es, err);
    gv_estimator *e;
    if (gv_estimator_new(&es, p, K, &e, err)) return NAN;
    gsl_rng *r = gv_rng_new(gv_rng_default(), 11);
    double *g = calloc((size_t)p->layout.n_params, sizeof(double));
    gv_eval ev = {.problem = p, .pt = pt, .exact = ex};
    const int n = 100;
    for (int i = 0; i < n; i++) e->type->estimate(e->state, &ev, K, r, g);
    free(g);
    gsl_rng_free(r);
    gv_estimator_free(e);
    return (double)(ev.n_f + ev.n_ftilde + ev.n_grad) / n;
}

typedef struct {
    const gv_estimator_type **ts;
    const double *best, *evals;
    int ne, irloo, K;
    long m;
} cost_table;

static int write_cost(FILE *f, const void *c)
{
    const cost_table *t = c;
    fprintf(f, "problem,estimator,K,ns_per_estimate,evals,ratio_rloo,ratio_rloo_per_eval\n");
    for (int k = 0; k < t->ne; k++) {
        double ratio = t->best[k] / t->best[t->irloo];
        fprintf(f, "\"bernoulli-quadratic:D=200,p=0.5,t=0.499\",%s,%d,%.1f,%.6g,%.4f,%.4f\n", t->ts[k]->name, t->K,
                1e9 * t->best[k] / t->m, t->evals[k], ratio, ratio / (t->evals[k] / t->evals[t->irloo]));
    }
    return ferror(f) ? -1 : 0;
}

/* Categorical cost (issue: CARMS's weight table is O(C^4) per unit): estimates per second of carms,
 * carms-gumbel, arsm and rloo on categorical-linear D = 3 at C = 3, 10, 30, n = K = 3, as ratios to
 * rloo in the same interleaved rounds (carms's table is built once, outside the timing, exactly as
 * the engine primes it), plus the time of one CARMS-I table build at n = 3 and n = 30 — the cost per
 * step in trajectory mode, where the logits change every step. */
typedef struct {
    int n;
    char problem[64][64];
    const char *est[64];
    double ns[64], evals[64], ratio[64], build_ms[64];
} cat_table;

static int write_cat_cost(FILE *f, const void *c)
{
    const cat_table *t = c;
    fprintf(f, "problem,estimator,K,ns_per_estimate,evals,ratio_rloo,ratio_rloo_per_eval,table_build_ms\n");
    for (int k = 0; k < t->n; k++) {
        int ir = k; /* rloo on the same problem */
        for (int j = 0; j < t->n; j++)
            if (!strcmp(t->problem[j], t->problem[k]) && !strcmp(t->est[j], "rloo")) ir = j;
        char b[32] = "";
        if (!isnan(t->build_ms[k])) snprintf(b, sizeof b, "%.3f", t->build_ms[k]);
        fprintf(f, "\"%s\",%s,3,%.1f,%.6g,%.4f,%.4f,%s\n", t->problem[k], t->est[k], t->ns[k], t->evals[k], t->ratio[k],
                t->ratio[k] / (t->evals[k] / t->evals[ir]), b);
    }
    return ferror(f) ? -1 : 0;
}

static void categorical_costs(long n, int rounds, const char *csv)
{
    static const int Cs[] = {3, 10, 30};
    static const char *const ests[] = {"rloo", "carms", "carms-gumbel", "arsm"};
    enum { NE = 4 };
    const int K = 3;
    cat_table t = {0};
    char err[GV_ERRLEN];
    printf("  categorical cost (categorical-linear D=3, K=n=%d; weight tables built once, as the engine primes them):\n", K);
    printf("    %-6s %-14s %10s %8s %10s %12s %16s\n", "C", "estimator", "ns/est", "evals", "x rloo", "x rloo/eval",
           "table build (ms)");
    for (int ci = 0; ci < 3; ci++) {
        char spec[64];
        snprintf(spec, sizeof spec, "categorical-linear:C=%d,D=3,seed=1", Cs[ci]);
        gv_problem *p;
        if (gv_problem_new(spec, &p, err)) {
            fprintf(stderr, "speed: %s\n", err);
            return;
        }
        gv_point pt;
        gv_exact ex;
        gv_point_init(&pt, &p->layout, p->eta);
        gv_exact_alloc(&ex, &p->layout);
        gv_exact_compute(p, &pt, GV_DEFAULT_MAX_STATES, 0, &ex, err);
        double best[NE];
        for (int k = 0; k < NE; k++) best[k] = INFINITY;
        const long m = n / 10 > 1000 ? n / 10 : 1000;
        for (int r = 0; r < rounds; r++)
            for (int k = 0; k < NE; k++) {
                /* the first estimate of an instance builds its tables: time it separately */
                double te = time_estimates(p, &pt, &ex, ests[k], K, m + 1) - time_estimates(p, &pt, &ex, ests[k], K, 1);
                if (te < best[k]) best[k] = te;
            }
        /* one CARMS-I table (unit 0's pi) at n = 3, and n = 30 */
        double *q2 = malloc((size_t)Cs[ci] * Cs[ci] * sizeof *q2), bms[2];
        for (int j = 0; j < 2; j++) {
            double tb = INFINITY;
            for (int r = 0; r < rounds; r++) {
                double t0 = now();
                gv_carms_joint(Cs[ci], pt.prob, j ? 30 : 3, q2);
                tb = fmin(tb, now() - t0);
            }
            bms[j] = 1e3 * tb;
        }
        free(q2);
        for (int k = 0; k < NE; k++) {
            int i = t.n++;
            snprintf(t.problem[i], sizeof t.problem[i], "%s", spec);
            t.est[i] = ests[k];
            t.ns[i] = 1e9 * best[k] / m;
            t.evals[i] = count_evals(p, &pt, &ex, ests[k], K);
            t.ratio[i] = best[k] / best[0];
            t.build_ms[i] = k == 1 ? bms[0] : NAN;
            printf("    %-6d %-14s %10.0f %8.2f %10.2f %12.2f", Cs[ci], ests[k], t.ns[i], t.evals[i], t.ratio[i],
                   t.ratio[i] / (t.evals[i] / t.evals[i - k]));
            if (k == 1) printf("   %.3f (n=3), %.2f (n=30)", bms[0], bms[1]);
            printf("\n");
        }
        gv_exact_free(&ex);
        gv_point_free(&pt);
        gv_problem_free(p);
    }
    if (csv && gv_atomic_write(csv, write_cat_cost, &t, err)) fprintf(stderr, "speed: %s\n", err);
}

/* Sigmoid belief net enumeration (problems/sbn.c): exact ELBO, log p(x) and gradient of D = 20
 * latents, P = 196 visible units.  One thread: the Gray-code enumeration of each of N = 10 data
 * points, and the straightforward one (W z + c recomputed per state, libm log-sigmoid) of the first
 * — ratio of the two per data point, and state x visible evaluations per second per core.  Then the
 * whole exact reference of the N = 10 batch with every thread. */
static int write_sbn_cost(FILE *f, const void *c)
{
    const double *v = c; /* gray s/point, direct s/point, ratio, evals/s/core, exact wall s, threads */
    fprintf(f, "problem,gray_s_per_point,direct_s_per_point,speedup,state_visible_per_s_per_core,exact_batch_s,threads\n");
    fprintf(f, "\"sbn:D=20,N=10,P=196,scale=0.2\",%.4f,%.4f,%.2f,%.4g,%.3f,%d\n", v[0], v[1], v[2], v[3], v[4], (int)v[5]);
    return ferror(f) ? -1 : 0;
}

static void sbn_costs(const char *csv)
{
    char err[GV_ERRLEN];
    gv_problem *p;
    if (gv_problem_new("sbn:D=20,N=10,P=196,scale=0.2", &p, err)) {
        fprintf(stderr, "speed: %s\n", err);
        return;
    }
    gv_sbn_model m;
    gv_sbn_get_model(p, &m);
    gv_sbn_result r, rd;
    double tg = 0;
    for (int n = 0; n < m.N; n++) {
        double t0 = now();
        gv_sbn_enumerate(p, n, p->eta + n * m.D, GV_SBN_GRAY, &r);
        tg += now() - t0;
    }
    tg /= m.N;
    gv_sbn_enumerate(p, 0, p->eta, GV_SBN_GRAY, &r);
    double t0 = now();
    gv_sbn_enumerate(p, 0, p->eta, GV_SBN_DIRECT, &rd);
    const double td = now() - t0, rate = (double)(1L << m.D) * m.P / tg;
    gv_point pt;
    gv_exact ex;
    gv_point_init(&pt, &p->layout, p->eta);
    gv_exact_alloc(&ex, &p->layout);
    const int threads = omp_get_num_procs();
    omp_set_num_threads(threads);
    t0 = now();
    gv_exact_compute(p, &pt, GV_DEFAULT_MAX_STATES, 0, &ex, err);
    const double te = now() - t0;
    printf("  sbn D=%d P=%d (2^%d states per data point), 1 thread: Gray-code %.3f s per data point, straightforward "
           "%.3f s: %.2fx; %.3g state x visible evaluations/s per core (log p(x) %.10g vs %.10g); exact reference of "
           "N=%d data points (ELBO, gradient, log p(x)) with %d threads: %.2f s\n",
           m.D, m.P, m.D, tg, td, td / tg, rate, r.logpx, rd.logpx, m.N, threads, te);
    const double v[6] = {tg, td, td / tg, rate, te, threads};
    if (csv && gv_atomic_write(csv, write_sbn_cost, v, err)) fprintf(stderr, "speed: %s\n", err);
    gv_exact_free(&ex);
    gv_point_free(&pt);
    gv_problem_free(p);
}

/* Tempered SMC (harness/smc.c) on the model of sbn-posterior:preset=multimodal (D = 16, P = 16, decoder
 * weights N(0, 9)), data point 0, K = 64, adaptive schedule, one move per step: Gibbs and Metropolis
 * (D flips per move), each with the sbn adapter's cached-activation flip path (O(P) per evaluation)
 * and without it (log p(x|z) recomputed, O(DP)).  Interleaved, best of rounds, one thread; reported
 * per log-likelihood evaluation (#7's cost unit; the schedules differ between kernels, so per run is
 * not comparable) and as ratios to Gibbs with the fast path. */
static void smc_costs(int rounds)
{
    char err[GV_ERRLEN];
    gv_problem *p;
    if (gv_problem_new("sbn:D=16,P=16,scale=3", &p, err)) {
        fprintf(stderr, "speed: %s\n", err);
        return;
    }
    enum { NV = 4, RUNS = 20 };
    static const char *const names[NV] = {"gibbs, fast flips", "gibbs, no fast path", "metropolis, fast flips",
                                          "metropolis, no fast path"};
    double best[NV], evals[NV] = {0}, logz[NV] = {0};
    gv_smc_sbn ad[NV];
    gv_smc_target t[NV];
    gv_smc_options o[NV];
    for (int v = 0; v < NV; v++) {
        best[v] = INFINITY;
        gv_smc_options_default(&o[v], 64);
        o[v].kernel = v < 2 ? GV_SMC_GIBBS : GV_SMC_METROPOLIS;
        if (gv_smc_sbn_target(p, 0, v % 2 == 0, &ad[v], &t[v])) {
            fprintf(stderr, "speed: no SMC target for the sbn\n");
            gv_problem_free(p);
            return;
        }
    }
    gv_smc_result res[NV];
    for (int v = 0; v < NV; v++)
        if (gv_smc_result_alloc(&res[v], 64, &t[v])) {
            fprintf(stderr, "speed: out of memory\n");
            while (v--) gv_smc_result_free(&res[v]);
            gv_problem_free(p);
            return;
        }
    for (int r = 0; r < rounds; r++)
        for (int v = 0; v < NV; v++) {
            gsl_rng *g = gv_rng_new(gv_rng_default(), 11); /* the same runs in every round */
            double n = 0, lz = 0, t0 = now();
            for (int k = 0; k < RUNS; k++) {
                if (gv_smc_run(&t[v], &o[v], g, &res[v], err)) fprintf(stderr, "speed: %s\n", err);
                n += (double)res[v].n_loglik, lz += res[v].log_z;
            }
            const double dt = now() - t0;
            if (dt < best[v]) best[v] = dt;
            evals[v] = n / RUNS, logz[v] = lz / RUNS;
            gsl_rng_free(g);
        }
    printf("  tempered SMC (sbn D=16 P=16 scale=3, point 0, K=64, adaptive, 1 move/step; %d runs, best of %d "
           "rounds, 1 thread):\n    %-26s %10s %12s %12s %10s %10s\n", RUNS, rounds, "kernel", "ms/run",
           "evals/run", "ns/eval", "x gibbs", "mean logZ");
    const double ref = best[0] / RUNS / evals[0];
    for (int v = 0; v < NV; v++) {
        const double per = best[v] / RUNS / evals[v];
        printf("    %-26s %10.3f %12.0f %12.1f %10.2f %10.4f\n", names[v], 1e3 * best[v] / RUNS, evals[v], 1e9 * per,
               per / ref, logz[v]);
    }
    printf("    fast-path speed-up per evaluation: gibbs %.2fx, metropolis %.2fx\n",
           (best[1] / evals[1]) / (best[0] / evals[0]), (best[3] / evals[3]) / (best[2] / evals[2]));
    for (int v = 0; v < NV; v++) gv_smc_result_free(&res[v]);
    gv_problem_free(p);
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    long n = 200000;
    const char *cost_csv = NULL, *cat_csv = NULL, *sbn_csv = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--cost-csv") && i + 1 < argc) cost_csv = argv[++i];
        else if (!strcmp(argv[i], "--cat-cost-csv") && i + 1 < argc) cat_csv = argv[++i];
        else if (!strcmp(argv[i], "--sbn-cost-csv") && i + 1 < argc) sbn_csv = argv[++i];
        else if (atol(argv[i]) > 0) n = atol(argv[i]);
        else return fprintf(stderr, "usage: speed [N_ESTIMATES] [--cost-csv FILE] [--cat-cost-csv FILE] [--sbn-cost-csv FILE]\n"), 2;
    }
    const int K = 2, D = 200, rounds = 5;
    char err[GV_ERRLEN];
    gv_problem *p;
    if (gv_problem_new("bernoulli-quadratic:D=200,t=0.499,p=0.5", &p, err)) return fprintf(stderr, "%s\n", err), 1;
    gv_point pt;
    gv_exact ex;
    gv_point_init(&pt, &p->layout, p->eta);
    gv_exact_alloc(&ex, &p->layout);
    gv_exact_compute(p, &pt, GV_DEFAULT_MAX_STATES, 0, &ex, err);

    const char *names[] = {"reinforce", "rloo"};
    double best_u = INFINITY, best_e[2] = {INFINITY, INFINITY};
    for (int r = 0; r < rounds; r++) { /* interleaved, best of rounds */
        double tu = time_uniforms(gv_rng_default(), n * K * D);
        if (tu < best_u) best_u = tu;
        for (int k = 0; k < 2; k++) {
            double te = time_estimates(p, &pt, &ex, names[k], K, n);
            if (te < best_e[k]) best_e[k] = te;
        }
    }
    printf("bernoulli-quadratic D=%d, K=%d, %ld estimates, generator %s, best of %d rounds, 1 thread\n", D, K, n,
           gv_rng_default()->name, rounds);
    printf("  raw uniforms (%d per estimate): %8.1f ns per estimate-worth (%.2f ns per uniform)\n", K * D,
           1e9 * best_u / n, 1e9 * best_u / (n * (double)K * D));
    for (int k = 0; k < 2; k++)
        printf("  %-10s %10.0f estimates/s  %8.1f ns/estimate  ratio to raw uniforms %.2f  (target <= 3)\n",
               names[k], n / best_e[k], 1e9 * best_e[k] / n, best_e[k] / best_u);

    /* Cost table: every registered estimator that runs on this problem at K = 2, interleaved rounds,
     * best of rounds, as a ratio to rloo (time per estimate, and per evaluation of f, f~ or grad f~). */
    {
        enum { MAXE = 64 };
        const gv_estimator_type *ts[MAXE];
        double best[MAXE], evals[MAXE];
        int ne = 0;
        for (const gv_estimator_type *const *t = gv_estimator_types; *t && ne < MAXE; t++) {
            char msg[GV_ERRLEN];
            if (gv_estimator_compatible(*t, p, K, msg)) continue;
            ts[ne] = *t, best[ne] = INFINITY, evals[ne] = 0, ne++;
        }
        long m = n / 20 > 1000 ? n / 20 : 1000;
        for (int r = 0; r < rounds; r++)
            for (int k = 0; k < ne; k++) {
                double te = time_estimates(p, &pt, &ex, ts[k]->name, K, m);
                if (te < best[k]) best[k] = te;
            }
        int irloo = -1;
        for (int k = 0; k < ne; k++) {
            if (!strcmp(ts[k]->name, "rloo")) irloo = k;
            evals[k] = count_evals(p, &pt, &ex, ts[k]->name, K);
        }
        printf("  cost table (K=%d, %ld estimates each, best of %d interleaved rounds):\n", K, m, rounds);
        printf("    %-18s %10s %8s %10s %12s\n", "estimator", "ns/est", "evals", "x rloo", "x rloo/eval");
        for (int k = 0; k < ne; k++) {
            double ratio = best[k] / best[irloo];
            printf("    %-18s %10.0f %8.0f %10.2f %12.2f\n", ts[k]->name, 1e9 * best[k] / m, evals[k], ratio,
                   ratio / (evals[k] / evals[irloo]));
        }
        if (cost_csv) {
            cost_table ct = {ts, best, evals, ne, irloo, K, m};
            if (gv_atomic_write(cost_csv, write_cost, &ct, err)) return fprintf(stderr, "speed: %s\n", err), 1;
        }
    }

    categorical_costs(n, rounds, cat_csv);

    /* other generators, for the record */
    const char *gens[] = {"taus2", "mt19937"};
    for (int i = 0; i < 2; i++) {
        double t = time_uniforms(gv_rng_type_find(gens[i]), n * K * D / 4);
        printf("  %-8s %.2f ns per uniform\n", gens[i], 1e9 * t / (n * (double)K * D / 4));
    }

    /* the whole engine, statistics included */
    omp_set_num_threads(1);
    gv_engine_opts eo = {.R = n / 4, .W = 0, .seed = 1, .rng = gv_rng_default(), .timing = 1};
    gv_row row;
    double t0 = now();
    gv_run_cell(p, &pt, &ex, "rloo", K, &eo, 0, &row, err);
    double te = now() - t0;
    printf("  engine (rloo, R=%ld, statistics over %d coordinates included): %.1f ns per replicate\n", eo.R,
           p->layout.n_params, 1e9 * te / eo.R);
    gv_row_free(&row);

    sbn_costs(sbn_csv);
    smc_costs(rounds);

    /* enumeration rate */
    gv_problem *pc;
    if (!gv_problem_new("bernoulli-coupled:D=20", &pc, err)) {
        gv_point pc_pt;
        gv_exact pc_ex;
        gv_point_init(&pc_pt, &pc->layout, pc->eta);
        gv_exact_alloc(&pc_ex, &pc->layout);
        omp_set_num_threads(1);
        t0 = now();
        gv_exact_compute(pc, &pc_pt, GV_DEFAULT_MAX_STATES, 0, &pc_ex, err);
        double tenum = now() - t0;
        printf("  enumeration bernoulli-coupled D=20 (2^20 states, f is O(D^2)): %.1f ns per state, 1 thread\n",
               1e9 * tenum / 1048576.0);
        gv_exact_free(&pc_ex);
        gv_point_free(&pc_pt);
        gv_problem_free(pc);
    }
    gv_exact_free(&ex);
    gv_point_free(&pt);
    gv_problem_free(p);
    return 0;
}
