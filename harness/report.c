/* report.c — results/REPORT.md: one markdown table per suite entry with its figures linked. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_cdf.h>

#include "gv_githash.h"
#include "harness/cli.h"
#include "harness/output.h"
#include "harness/stats.h"

/* Family-wise false-alarm rate of the per-row bias flag (Bonferroni over the row's coordinates). */
#define GV_REPORT_ALPHA 1e-3

static void num(char *b, size_t n, double x, const char *fmt)
{
    if (isnan(x)) snprintf(b, n, "–");
    else if (isinf(x)) snprintf(b, n, "inf");
    else snprintf(b, n, fmt, x);
}

/* Tokui & Sato (1611.01239): the variance of their estimator is never above REINFORCE with the
 * optimal baseline.  For every (problem, K) of the entry that has both rows, compare var_mean; the
 * inequality "holds" unless tokui-sato exceeds reinforce-optimal by more than 3 combined SEs. */
static void theorem_table(FILE *f, const gv_report_entry *e)
{
    int header = 0;
    for (int i = 0; i < e->n; i++) {
        const gv_row *a = &e->rows[i];
        if (strcmp(a->estimator, "tokui-sato") || strcmp(a->status, "ok")) continue;
        for (int j = 0; j < e->n; j++) {
            const gv_row *b = &e->rows[j];
            if (strcmp(b->estimator, "reinforce-optimal") || strcmp(b->status, "ok") || b->K != a->K ||
                strcmp(b->problem, a->problem))
                continue;
            if (!header) {
                fprintf(f, "\nTokui–Sato theorem (var tokui-sato ≤ var reinforce-optimal; \"holds\" unless above by > 3 "
                           "combined SEs)\n\n| problem | K | var tokui-sato | var reinforce-optimal | ratio | holds |\n"
                           "|---|---:|---:|---:|---:|:-:|\n");
                header = 1;
            }
            double se = sqrt(a->s.var_mean_se * a->s.var_mean_se + b->s.var_mean_se * b->s.var_mean_se);
            int holds = !(a->s.var_mean > b->s.var_mean + 3 * (isnan(se) ? 0 : se));
            char va[48], vb[48], ra[48];
            num(va, sizeof va, a->s.var_mean, "%.4g");
            num(vb, sizeof vb, b->s.var_mean, "%.4g");
            num(ra, sizeof ra, b->s.var_mean > 0 ? a->s.var_mean / b->s.var_mean : NAN, "%.3g");
            fprintf(f, "| `%s` | %d | %s | %s | %s | %s |\n", a->problem, a->K, va, vb, ra, holds ? "yes" : "**no**");
        }
    }
}

/* Train entries with --basket: var_mean of every basket estimator along the trajectory. */
static void basket_table(FILE *f, const gv_report_entry *e)
{
    int header = 0;
    for (int j = 0; j < e->ntraj; j++) {
        const gv_traj_summary *s = &e->traj[j];
        if (!s->basket) continue;
        if (!header) {
            fprintf(f, "Gradient basket (var_mean of R frozen-point estimates at the trajectory's points; raw rows in "
                       "`%s.basket.csv`)\n\n| estimator | K | seed | var at step 0 | var at the last step | lowest | "
                       "highest | f_evals | status |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n", e->name);
            header = 1;
        }
        char a[48], b[48], c[48], d[48], ev[48];
        num(a, sizeof a, s->first, "%.4g");
        num(b, sizeof b, s->final, "%.4g");
        num(c, sizeof c, isinf(s->best) ? NAN : s->best, "%.4g");
        num(d, sizeof d, isinf(s->worst) ? NAN : s->worst, "%.4g");
        num(ev, sizeof ev, s->evals_per_step, "%.3g");
        fprintf(f, "| %s | %d | %llu | %s | %s | %s | %s | %s | %s%s%s |\n", s->estimator, s->K,
                (unsigned long long)s->seed, a, b, c, d, ev, s->status, s->message[0] ? ": " : "", s->message);
    }
    if (header) fputc('\n', f);
}

/* mean ± s.d. over the summaries ss[0..n) of one value (eval[which] for which < 4, final for 4,
 * outer_final for 5; NaN values skipped). */
static void mean_sd(char *b, size_t len, const gv_traj_summary *const *ss, int n, int which, const char *fmt)
{
    gv_welford w = {0};
    for (int i = 0; i < n; i++) {
        const double v = which < 4 ? ss[i]->eval[which] : which == 4 ? ss[i]->final : ss[i]->outer_final;
        if (!isnan(v)) gv_welford_add(&w, v);
    }
    char a[28], c[28];
    if (w.n == 0) { snprintf(b, len, "–"); return; }
    num(a, sizeof a, w.mean, fmt);
    if (w.n < 2) { snprintf(b, len, "%s", a); return; }
    num(c, sizeof c, sqrt(gv_welford_var(&w)), "%.2g");
    snprintf(b, len, "%s ± %s", a, c);
}

/* Train entries over several seeds or with held-out sets (sbn training): per (estimator, K), the
 * final exact values as mean ± s.d. over the seeds, and the final basket variance. */
static void seeds_table(FILE *f, const gv_report_entry *e)
{
    int many = 0, held = 0;
    for (int j = 0; j < e->ntraj; j++) {
        const gv_traj_summary *s = &e->traj[j];
        if (s->seed != e->traj[0].seed) many = 1;
        if (!s->basket && (!isnan(s->eval[0]) || !isnan(s->eval[3]))) held = 1;
    }
    if (!many && !held) return;
    const gv_traj_summary **tr = malloc((size_t)e->ntraj * sizeof *tr), **bk = malloc((size_t)e->ntraj * sizeof *bk);
    char *seen = calloc((size_t)e->ntraj + 1, 1);
    if (!tr || !bk || !seen) { free(tr), free(bk), free(seen); return; }
    fprintf(f, "Final values over seeds (mean ± s.d. over the trajectories of each estimator and K; exact, at the last "
               "recorded step; the held-out sets — the training pool at its fixed binarisation and the test set — at the "
               "final parameters, value = the problem's objective (sbn: the ELBO), log p(x) exact; per step in "
               "`%s.seeds.csv`)\n\n"
               "| estimator | K | seeds | objective (batch) | train value | train log p(x) | test value | test log p(x) | "
               "basket var (φ) | evaluations per step |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", e->name);
    for (int j = 0; j < e->ntraj; j++) {
        const gv_traj_summary *s = &e->traj[j];
        if (s->basket || seen[j]) continue;
        int nt = 0, nb = 0;
        for (int i = j; i < e->ntraj; i++) {
            const gv_traj_summary *u = &e->traj[i];
            if (u->K != s->K || strcmp(u->estimator, s->estimator)) continue;
            if (u->basket) bk[nb++] = u;
            else tr[nt++] = u, seen[i] = 1;
        }
        char c[6][64], ev[48];
        mean_sd(c[0], sizeof c[0], tr, nt, 4, "%.6g");
        for (int q = 0; q < 4; q++) mean_sd(c[1 + q], sizeof c[1 + q], tr, nt, q, "%.6g");
        int outer = nb > 0 && !isnan(bk[0]->outer_final);
        mean_sd(c[5], sizeof c[5], bk, nb, outer ? 5 : 4, "%.4g");
        num(ev, sizeof ev, s->evals_per_step, "%.3g");
        fprintf(f, "| %s | %d | %d | %s | %s | %s | %s | %s | %s%s | %s |\n", s->estimator, s->K, nt, c[0], c[1], c[2],
                c[3], c[4], c[5], nb && !outer ? " (η)" : "", ev);
    }
    fputc('\n', f);
    free(tr), free(bk), free(seen);
}

static int has_figure(const gv_report_entry *e, const char *kind)
{
    for (int k = 0; e->figures && e->figures[k]; k++)
        if (!strcmp(e->figures[k], kind)) return 1;
    return 0;
}

/* Equal-budget comparison (entries with the budget figure): work×var = var_mean × evaluations per
 * estimate at K = 2, 4, 8, and its ratio to rloo's at the same K (below 1: better than rloo for
 * the same number of evaluations). */
static void budget_table(FILE *f, const gv_report_entry *e)
{
    static const int Ks[] = {2, 4, 8};
    for (int pass = 0; pass < 2; pass++) { /* eta rows, then the outer parameters' rows */
        const char *problem = NULL;
        for (int r = 0; r < e->n; r++) {
            const gv_row *w = pass ? e->rows[r].outer : &e->rows[r];
            if (!w || (problem && !strcmp(w->problem, problem))) continue;
            problem = w->problem;
            fprintf(f, "\nEqual budget on `%s`%s: work×var (ratio to rloo at the same K)\n\n| estimator | K = 2 | K = 4 | "
                       "K = 8 |\n|---|---:|---:|---:|\n", problem, pass ? " — d/dφ (outer parameters)" : "");
            /* estimators in first-seen order */
            for (int i = 0; i < e->n; i++) {
                const gv_row *a = pass ? e->rows[i].outer : &e->rows[i];
                if (!a || strcmp(a->problem, problem)) continue;
                int seen = 0;
                for (int j = 0; j < i && !seen; j++) {
                    const gv_row *b = pass ? e->rows[j].outer : &e->rows[j];
                    seen = b && !strcmp(b->problem, problem) && !strcmp(b->estimator, a->estimator);
                }
                if (seen) continue;
                fprintf(f, "| %s |", a->estimator);
                for (int k = 0; k < 3; k++) {
                    const gv_row *x = NULL, *ref = NULL;
                    for (int j = 0; j < e->n; j++) {
                        const gv_row *b = pass ? e->rows[j].outer : &e->rows[j];
                        if (!b || strcmp(b->problem, problem) || b->K != Ks[k] || strcmp(b->status, "ok")) continue;
                        if (!strcmp(b->estimator, a->estimator)) x = b;
                        if (!strcmp(b->estimator, "rloo")) ref = b;
                    }
                    char v[48], q[48];
                    num(v, sizeof v, x ? x->s.work_norm_var : NAN, "%.3g");
                    num(q, sizeof q, x && ref && ref->s.work_norm_var > 0 ? x->s.work_norm_var / ref->s.work_norm_var : NAN,
                        "%.3g");
                    fprintf(f, " %s%s%s%s |", v, x && ref ? " (" : "", x && ref ? q : "", x && ref ? ")" : "");
                }
                fputc('\n', f);
            }
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Entries with the coord-var figure (the CARMS toy): the spread over coordinates of the natural log
 * of the per-coordinate variance, per problem and (estimator, K) — the numbers behind the boxes. */
static void coord_table(FILE *f, const gv_report_entry *e)
{
    int header = 0;
    for (int i = 0; i < e->n; i++) {
        const gv_row *w = &e->rows[i];
        if (!w->coord_var || strcmp(w->status, "ok") || w->P <= 0) continue;
        if (!header) {
            fprintf(f, "\nPer-coordinate variance (natural log; the figure's boxes; raw rows in `%s.coord.csv`)\n\n"
                       "| problem | estimator | K | f_evals | median ln var | min | max | coordinates |\n"
                       "|---|---|---:|---:|---:|---:|---:|---:|\n", e->name);
            header = 1;
        }
        double *v = malloc((size_t)w->P * sizeof *v);
        if (!v) return;
        int m = 0;
        for (int q = 0; q < w->P; q++)
            if (w->coord_var[q] > 0) v[m++] = log(w->coord_var[q]);
        qsort(v, (size_t)m, sizeof *v, cmp_double);
        char md[48], lo[48], hi[48], fe[64];
        num(md, sizeof md, m ? (m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2])) : NAN, "%.3f");
        num(lo, sizeof lo, m ? v[0] : NAN, "%.3f");
        num(hi, sizeof hi, m ? v[m - 1] : NAN, "%.3f");
        num(fe, sizeof fe, w->s.f_evals, "%.3g");
        if (w->s.distinct_evals < w->s.f_evals - 0.005)
            snprintf(fe + strlen(fe), sizeof fe - strlen(fe), " (%.3g)", w->s.distinct_evals);
        fprintf(f, "| `%s` | %s | %d | %s | %s | %s | %s | %d of %d |\n", w->problem, w->estimator, w->K, fe, md, lo, hi,
                m, w->P);
        free(v);
    }
}

/* Entries with the cosine figure (IndeCateR convention): 1 - mean cos(g, g*) and var cos. */
static void cosine_table(FILE *f, const gv_report_entry *e)
{
    int header = 0;
    for (int i = 0; i < e->n; i++) {
        const gv_row *w = &e->rows[i];
        if (strcmp(w->status, "ok")) continue;
        if (!header) {
            fprintf(f, "\nCosine to the exact gradient (IndeCateR convention; the figure's bars)\n\n"
                       "| problem | estimator | K | evaluations | 1 − mean cos | var cos |\n|---|---|---:|---:|---:|---:|\n");
            header = 1;
        }
        char b[48], v[48];
        num(b, sizeof b, 1 - w->s.cos_mean, "%.3g");
        num(v, sizeof v, w->s.cos_var, "%.3g");
        fprintf(f, "| `%s` | %s | %d | %.3g | %s | %s |\n", w->problem, w->estimator, w->K,
                w->s.f_evals + w->s.ftilde_evals + w->s.grad_evals, b, v);
    }
}

/* A file next to the report (bench/speed's cost tables), or NULL. */
static FILE *open_sibling(const char *report_path, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s", report_path);
    char *slash = strrchr(path, '/');
    snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0), "%s", name);
    return fopen(path, "r");
}

/* The cost table of bench/speed (DIR/cost.csv, written by `make bench` before the suite). */
static void cost_section(FILE *f, const char *report_path)
{
    FILE *c = open_sibling(report_path, "cost.csv");
    if (!c) return;
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, c)) {
        char est[256];
        int K;
        double ns, ev, ratio, per;
        const char *q = strrchr(line, '"'); /* the problem spec is quoted; the rest has no commas */
        if (!q || sscanf(q + 1, ",%255[^,],%d,%lf,%lf,%lf,%lf", est, &K, &ns, &ev, &ratio, &per) != 6) continue;
        if (!n++)
            fprintf(f, "## Cost per estimate\n\nbench/speed (one thread, best of 5 interleaved rounds; `bernoulli-quadratic` "
                       "D = 200, K = %d): time per estimate as a ratio to rloo, and per evaluation of f, f̃ or ∇f̃ — the "
                       "table to compare estimators at equal time. Raw numbers: `cost.csv`.\n\n| estimator | ns/estimate | "
                       "evaluations | × rloo | × rloo per evaluation |\n|---|---:|---:|---:|---:|\n", K);
        fprintf(f, "| %s | %.0f | %.0f | %.2f | %.2f |\n", est, ns, ev, ratio, per);
    }
    if (n) fputc('\n', f);
    fclose(c);
}

/* bench/speed's categorical cost table (DIR/cost-categorical.csv): carms, carms-gumbel, arsm vs rloo. */
static void cat_cost_section(FILE *f, const char *report_path)
{
    FILE *c = open_sibling(report_path, "cost-categorical.csv");
    if (!c) return;
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, c)) {
        char prob[256], est[256], build[64] = "";
        int K;
        double ns, ev, ratio, per;
        if (sscanf(line, "\"%255[^\"]\",%255[^,],%d,%lf,%lf,%lf,%lf,%63s", prob, est, &K, &ns, &ev, &ratio, &per, build) < 7)
            continue;
        if (!n++)
            fprintf(f, "Categorical units (bench/speed, one thread, best of 5 interleaved rounds, n = K = %d; CARMS's "
                       "weight tables are built once per point, as in frozen-point runs; the last column is one "
                       "CARMS-I table, the cost per unit and step in trajectory mode). Raw numbers: "
                       "`cost-categorical.csv`.\n\n| problem | estimator | ns/estimate | evaluations | × rloo | × rloo "
                       "per evaluation | table build (ms) |\n|---|---|---:|---:|---:|---:|---:|\n", K);
        fprintf(f, "| `%s` | %s | %.0f | %.3g | %.2f | %.2f | %s |\n", prob, est, ns, ev, ratio, per, build);
    }
    if (n) fputc('\n', f);
    fclose(c);
}

/* bench/speed's sbn enumeration timing (DIR/cost-sbn.csv), one row. */
static void sbn_cost_section(FILE *f, const char *report_path)
{
    FILE *c = open_sibling(report_path, "cost-sbn.csv");
    if (!c) return;
    char line[1024], prob[256];
    double g, d, ratio, rate, te;
    int th;
    while (fgets(line, sizeof line, c))
        if (sscanf(line, "\"%255[^\"]\",%lf,%lf,%lf,%lf,%lf,%d", prob, &g, &d, &ratio, &rate, &te, &th) == 7)
            fprintf(f, "Sigmoid belief net, exact enumeration (`%s`, 2^20 latent states per data point; bench/speed): "
                       "Gray-code order %.3f s per data point on one thread, straightforward %.3f s (%.2f× faster); "
                       "%.3g state × visible-unit evaluations per second per core; the exact ELBO, gradient and "
                       "log p(x) of the 10 data points with %d threads: %.2f s. Raw numbers: `cost-sbn.csv`.\n\n",
                    prob, g, d, ratio, rate, th, te);
    fclose(c);
}

int gv_write_report(const char *path, const char *suite, const gv_report_entry *E, int n, char *err)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return gv_err(err, "cannot write %s", tmp), GV_EFAIL;
    time_t t = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&t));
    fprintf(f, "# gradvar report\n\nSuite `%s`, %s, gradvar %s (%s). Raw numbers: the CSV files next to this "
               "report (schema: [README.md](README.md)).\n\n",
            suite, date, GV_VERSION, GV_GIT_HASH);
    fprintf(f, "Columns: `var_mean` = mean over coordinates of the per-coordinate variance of one estimate, ± its "
               "standard error; `bias2` = ‖ḡ − g*‖² − var_sum/R (noise-corrected; ≈ 0 ± noise when unbiased); "
               "`z_max` = largest |ḡ_p − g*_p| / SE_p; **biased?** = z_max above the Bonferroni threshold for a "
               "family-wise false-alarm rate of %g over all coordinates of all rows of the entry (the z-test assumes the mean of R estimates is close to normal: heavy tails or rare classes need a larger R); `mse` = E‖ĝ − g*‖²; "
               "`f_evals` = evaluations of f per estimate (in parentheses the mean number of distinct points among them, when smaller); `work×var` = var_mean × f_evals (variance at an equal "
               "evaluation budget).\n\n", GV_REPORT_ALPHA);
    for (int i = 0; i < n; i++) {
        const gv_report_entry *e = &E[i];
        fprintf(f, "## %s\n\n", e->name);
        if (e->traj) { /* a train entry: one row per trajectory */
            fprintf(f, "Trajectories (exact objective; raw rows in `%s.csv`)\n\n| estimator | K | seed | steps | objective "
                       "at step 0 | final | lowest | highest | evaluations per step | status |\n"
                       "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n", e->name);
            for (int j = 0; j < e->ntraj; j++) {
                const gv_traj_summary *s = &e->traj[j];
                if (s->basket) continue;
                char a[48], b[48], c[48], d[48], ev[48];
                num(a, sizeof a, s->first, "%.6g");
                num(b, sizeof b, s->final, "%.6g");
                num(c, sizeof c, s->best, "%.6g");
                num(d, sizeof d, s->worst, "%.6g");
                num(ev, sizeof ev, s->evals_per_step, "%.3g");
                fprintf(f, "| %s | %d | %llu | %ld | %s | %s | %s | %s | %s | %s%s%s |\n", s->estimator, s->K,
                        (unsigned long long)s->seed, s->last_step, a, b, c, d, ev, s->status, s->message[0] ? ": " : "",
                        s->message);
            }
            fputc('\n', f);
            seeds_table(f, e);
            basket_table(f, e);
        }
        /* the bias flag is family-wise over every coordinate of every row of this entry */
        double coords = 0;
        for (int r = 0; r < e->n; r++)
            for (const gv_row *w = &e->rows[r]; w; w = w->outer) coords += w->P > 0 ? w->P : 1;
        const double thr = gsl_cdf_ugaussian_Qinv(GV_REPORT_ALPHA / (2.0 * (coords > 0 ? coords : 1)));
        const char *last_problem = "", *last_wrt = "";
        /* each cell's first row (eta; phi for an estimator of phi itself), then its twins (the outer
         * parameters' row, then the model-marginal one), a table per (problem, gradient) */
        for (int k = 0; k < 3 * e->n; k++) {
            const gv_row *w = &e->rows[k % e->n];
            for (int lv = 0; lv < k / e->n && w; lv++) w = w->outer;
            if (!w) continue;
            const char *wrt = w->wrt ? w->wrt : "eta";
            if (strcmp(w->problem, last_problem) || strcmp(wrt, last_wrt)) {
                last_problem = w->problem, last_wrt = wrt;
                fprintf(f, "%sProblem `%s`%s (%d coordinate%s, R = %ld replicates per row; bias flag at z > %.2f)\n\n",
                        k ? "\n" : "", w->problem,
                        !strcmp(wrt, "phi")            ? " — gradient in the outer parameters φ"
                        : !strcmp(wrt, "phi-marginal") ? " — φ-gradient against the model-marginal objective N·E_p(x) "
                                                         "KL(p(z|x) ‖ q_φ(z|x)) (sleep's)"
                                                       : "",
                        w->P, w->P == 1 ? "" : "s", e->R, thr);
                fprintf(f, "| estimator | K | var_mean ± se | bias2 | z_max | biased? | mse | f_evals | work×var | "
                           "ns/estimate | status |\n|---|---:|---:|---:|---:|:-:|---:|---:|---:|---:|---|\n");
            }
            const gv_summary *s = &w->s;
            char v[48], se[48], b2[48], z[48], mse[48], fe[48], wv[48], ns[48];
            num(v, sizeof v, s->var_mean, "%.4g");
            num(se, sizeof se, s->var_mean_se, "%.2g");
            num(b2, sizeof b2, s->bias2, "%.3g");
            num(z, sizeof z, s->bias_z_max, "%.2f");
            num(mse, sizeof mse, s->mse, "%.4g");
            num(fe, sizeof fe, s->f_evals, "%.3g");
            if (s->distinct_evals < s->f_evals - 0.005) { /* some evaluations repeated a point */
                size_t l = strlen(fe);
                snprintf(fe + l, sizeof fe - l, " (%.3g)", s->distinct_evals);
            }
            num(wv, sizeof wv, s->work_norm_var, "%.4g");
            num(ns, sizeof ns, s->ns_per_estimate, "%.0f");
            const char *flag = isnan(s->bias_z_max) ? "–" : s->bias_z_max > thr ? "**yes**" : "no";
            char status[GV_ERRLEN + 32];
            if (strcmp(w->status, "ok")) snprintf(status, sizeof status, "%s: %s", w->status, w->message);
            else snprintf(status, sizeof status, "ok");
            for (char *c = status; *c; c++)
                if (*c == '|') *c = '/';
            fprintf(f, "| %s | %d | %s ± %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w->estimator, w->K, v, se, b2,
                    z, flag, mse, fe, wv, ns, status);
        }
        theorem_table(f, e);
        if (has_figure(e, "budget")) budget_table(f, e);
        if (has_figure(e, "coord-var")) coord_table(f, e);
        if (has_figure(e, "cosine")) cosine_table(f, e);
        gv_smc_report(f, e);
        fputc('\n', f);
        for (int k = 0; e->figures && e->figures[k]; k++)
            fprintf(f, "![%s: %s](../plots/%s-%s.png)\n", e->name, e->figures[k], e->name, e->figures[k]);
        fputc('\n', f);
    }
    cost_section(f, path);
    cat_cost_section(f, path);
    sbn_cost_section(f, path);
    int bad = ferror(f);
    if (fclose(f) || bad || rename(tmp, path)) {
        remove(tmp);
        return gv_err(err, "cannot write %s", path), GV_EFAIL;
    }
    return GV_OK;
}
