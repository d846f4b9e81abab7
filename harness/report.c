/* report.c — results/REPORT.md: one markdown table per suite entry with its figures linked. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_cdf.h>

#include "gv_githash.h"
#include "harness/cli.h"
#include "harness/output.h"

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
               "`f_evals` = evaluations of f per estimate; `work×var` = var_mean × f_evals (variance at an equal "
               "evaluation budget).\n\n", GV_REPORT_ALPHA);
    for (int i = 0; i < n; i++) {
        const gv_report_entry *e = &E[i];
        fprintf(f, "## %s\n\n", e->name);
        if (e->traj) { /* a train entry: one row per trajectory */
            fprintf(f, "Trajectories (exact objective; raw rows in `%s.csv`)\n\n| estimator | K | steps | objective at "
                       "step 0 | final | lowest | highest | evaluations per step | status |\n"
                       "|---|---:|---:|---:|---:|---:|---:|---:|---|\n", e->name);
            for (int j = 0; j < e->ntraj; j++) {
                const gv_traj_summary *s = &e->traj[j];
                char a[48], b[48], c[48], d[48], ev[48];
                num(a, sizeof a, s->first, "%.6g");
                num(b, sizeof b, s->final, "%.6g");
                num(c, sizeof c, s->best, "%.6g");
                num(d, sizeof d, s->worst, "%.6g");
                num(ev, sizeof ev, s->evals_per_step, "%.3g");
                fprintf(f, "| %s | %d | %ld | %s | %s | %s | %s | %s | %s%s%s |\n", s->estimator, s->K, s->last_step, a, b,
                        c, d, ev, s->status, s->message[0] ? ": " : "", s->message);
            }
            fputc('\n', f);
        }
        /* the bias flag is family-wise over every coordinate of every row of this entry */
        double coords = 0;
        for (int r = 0; r < e->n; r++) coords += e->rows[r].P > 0 ? e->rows[r].P : 1;
        const double thr = gsl_cdf_ugaussian_Qinv(GV_REPORT_ALPHA / (2.0 * (coords > 0 ? coords : 1)));
        const char *last_problem = "";
        for (int r = 0; r < e->n; r++) {
            const gv_row *w = &e->rows[r];
            if (strcmp(w->problem, last_problem)) {
                last_problem = w->problem;
                fprintf(f, "Problem `%s` (%d coordinates, R = %ld replicates per row; bias flag at z > %.2f)\n\n",
                        w->problem, w->P, e->R, thr);
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
        fputc('\n', f);
        for (int k = 0; e->figures && e->figures[k]; k++)
            fprintf(f, "![%s: %s](../plots/%s-%s.png)\n", e->name, e->figures[k], e->name, e->figures[k]);
        fputc('\n', f);
    }
    int bad = ferror(f);
    if (fclose(f) || bad || rename(tmp, path)) {
        remove(tmp);
        return gv_err(err, "cannot write %s", path), GV_EFAIL;
    }
    return GV_OK;
}
