/* output.c — CSV via libcsv (fields quoted only when they need it), the .meta sidecar, and
 * atomic replacement (write temp file in the same directory, fsync, rename). */
#include "gv_githash.h"
#include "harness/output.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <gsl/gsl_version.h>

const char *const gv_csv_columns[] = {
    "problem", "estimator", "objective", "K", "replicates", "seed", "step", "wrt", "prob_mean", "f_evals", "ftilde_evals",
    "grad_evals", "distinct_evals", "ns_per_estimate", "exact_norm", "var_mean", "var_mean_se", "var_sum", "var_max",
    "log10_var_mean", "bias2", "bias2_raw", "bias_z_max", "mse", "cos_mean", "cos_var", "snr",
    "work_norm_var", "nonfinite", "status", "message", NULL};

static const char *const coord_columns[] = {"problem", "estimator", "K", "seed", "step", "wrt", "coord",
                                            "exact", "mean", "var", "z", NULL};

void gv_fmt_num(char *buf, size_t len, double x)
{
    if (isnan(x)) buf[0] = 0;
    else if (isinf(x)) snprintf(buf, len, x > 0 ? "inf" : "-inf");
    else snprintf(buf, len, "%.10g", x);
}

void gv_csv_field(FILE *out, const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n")) csv_fwrite(out, s, strlen(s)); /* quotes and doubles inner quotes */
    else fputs(s, out);
    fputc(last ? '\n' : ',', out);
}

void gv_csv_num(FILE *out, double x, int last)
{
    char b[64];
    gv_fmt_num(b, sizeof b, x);
    gv_csv_field(out, b, last);
}

static void put_header(FILE *out, const char *const *cols)
{
    for (int i = 0; cols[i]; i++) gv_csv_field(out, cols[i], !cols[i + 1]);
}

/* The rows of one cell: its eta row, then (problems with outer parameters) its phi row. */
#define FOR_ROW_AND_OUTER(r, rows, n)                     \
    for (int i_ = 0; i_ < (n); i_++)                      \
        for (const gv_row *r = &(rows)[i_]; r; r = r->outer)

int gv_write_rows(FILE *out, const gv_row *rows, int n)
{
    put_header(out, gv_csv_columns);
    FOR_ROW_AND_OUTER(r, rows, n) {
        const gv_summary *s = &r->s;
        char b[64];
        gv_csv_field(out, r->problem, 0);
        gv_csv_field(out, r->estimator, 0);
        gv_csv_field(out, r->objective, 0);
        snprintf(b, sizeof b, "%d", r->K);
        gv_csv_field(out, b, 0);
        snprintf(b, sizeof b, "%.0f", isnan(s->replicates) ? 0.0 : s->replicates);
        gv_csv_field(out, b, 0);
        snprintf(b, sizeof b, "%llu", (unsigned long long)r->seed);
        gv_csv_field(out, b, 0);
        if (r->step >= 0) snprintf(b, sizeof b, "%ld", r->step);
        else b[0] = 0;
        gv_csv_field(out, b, 0);
        gv_csv_field(out, r->wrt ? r->wrt : "eta", 0);
        const double v[] = {r->prob_mean, s->f_evals, s->ftilde_evals, s->grad_evals, s->distinct_evals, s->ns_per_estimate, s->exact_norm,
                            s->var_mean, s->var_mean_se, s->var_sum, s->var_max, s->log10_var_mean, s->bias2,
                            s->bias2_raw, s->bias_z_max, s->mse, s->cos_mean, s->cos_var, s->snr,
                            s->work_norm_var};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) gv_csv_num(out, v[k], 0);
        snprintf(b, sizeof b, "%.0f", isnan(s->nonfinite) ? 0.0 : s->nonfinite);
        gv_csv_field(out, b, 0);
        gv_csv_field(out, r->status, 0);
        gv_csv_field(out, r->message, 1);
    }
    return ferror(out) ? -1 : 0;
}

int gv_write_coord_rows(FILE *out, const gv_row *rows, int n)
{
    put_header(out, coord_columns);
    FOR_ROW_AND_OUTER(r, rows, n) {
        for (int q = 0; q < r->P && r->coord_mean; q++) {
            char b[64];
            gv_csv_field(out, r->problem, 0);
            gv_csv_field(out, r->estimator, 0);
            snprintf(b, sizeof b, "%d", r->K);
            gv_csv_field(out, b, 0);
            snprintf(b, sizeof b, "%llu", (unsigned long long)r->seed);
            gv_csv_field(out, b, 0);
            if (r->step >= 0) snprintf(b, sizeof b, "%ld", r->step);
            else b[0] = 0;
            gv_csv_field(out, b, 0);
            gv_csv_field(out, r->wrt ? r->wrt : "eta", 0);
            snprintf(b, sizeof b, "%d", q);
            gv_csv_field(out, b, 0);
            gv_csv_num(out, r->coord_exact[q], 0);
            gv_csv_num(out, r->coord_mean[q], 0);
            gv_csv_num(out, r->coord_var[q], 0);
            double R = r->s.replicates, sd = sqrt(r->coord_var[q] / R);
            gv_csv_num(out, sd > 0 ? fabs(r->coord_mean[q] - r->coord_exact[q]) / sd : NAN, 1);
        }
    }
    return ferror(out) ? -1 : 0;
}

/* Write via fn into path.tmp.PID, then rename over path. */
int gv_atomic_write(const char *path, int (*fn)(FILE *, const void *), const void *ctx, char *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return gv_err(err, "cannot write %s: %s", tmp, strerror(errno)), GV_EFAIL;
    int rc = fn(f, ctx);
    if (fflush(f) || fsync(fileno(f))) rc = -1;
    if (fclose(f)) rc = -1;
    if (rc || rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return gv_err(err, "cannot write %s: %s", path, strerror(e)), GV_EFAIL;
    }
    return GV_OK;
}

typedef struct { const gv_row *rows; int n; const gv_meta *meta; } save_ctx;

static int w_rows(FILE *f, const void *c) { const save_ctx *s = c; return gv_write_rows(f, s->rows, s->n); }
static int w_coords(FILE *f, const void *c) { const save_ctx *s = c; return gv_write_coord_rows(f, s->rows, s->n); }

static int w_meta(FILE *f, const void *c)
{
    const gv_meta *m = ((const save_ctx *)c)->meta;
    char host[256] = "unknown", date[64];
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    time_t t = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    fprintf(f, "gradvar_version=%s\n", GV_VERSION);
    fprintf(f, "git_hash=%s\n", GV_GIT_HASH);
#if defined(__clang__)
    fprintf(f, "compiler=clang %s\n", __clang_version__);
#elif defined(__GNUC__)
    fprintf(f, "compiler=gcc %s\n", __VERSION__);
#else
    fprintf(f, "compiler=unknown\n");
#endif
    fprintf(f, "cflags=%s\n", GV_CFLAGS);
    fprintf(f, "gsl_version=%s\n", gsl_version);
    fprintf(f, "rng=%s\n", m->rng);
    fprintf(f, "seed=%llu\n", (unsigned long long)m->seed);
    fprintf(f, "replicates=%ld\n", m->R);
    fprintf(f, "warmup=%ld\n", m->W);
    fprintf(f, "threads=%d\n", omp_get_max_threads());
    fprintf(f, "date=%s\n", date);
    fprintf(f, "host=%s\n", host);
    fprintf(f, "command=%s\n", m->command ? m->command : "");
    fprintf(f, "cells_done=%d\n", m->cells_done);
    fprintf(f, "cells_total=%d\n", m->cells_total);
    fprintf(f, "status=%s\n", m->cells_done == m->cells_total ? "complete" : "partial");
    return ferror(f) ? -1 : 0;
}

void gv_sibling_path(const char *path, const char *suffix, char *out, size_t len)
{
    size_t l = strlen(path);
    if (l > 4 && !strcmp(path + l - 4, ".csv")) snprintf(out, len, "%.*s%s", (int)(l - 4), path, suffix);
    else snprintf(out, len, "%s%s", path, suffix);
}

int gv_save(const char *path, const gv_row *rows, int n, int coords, const gv_meta *meta, char *err)
{
    save_ctx c = {rows, n, meta};
    char p2[4200];
    int rc = gv_atomic_write(path, w_rows, &c, err);
    if (!rc && coords) {
        gv_sibling_path(path, ".coord.csv", p2, sizeof p2);
        rc = gv_atomic_write(p2, w_coords, &c, err);
    }
    if (!rc && meta) rc = gv_save_meta(path, meta, err);
    return rc;
}

int gv_save_meta(const char *path, const gv_meta *meta, char *err)
{
    save_ctx c = {NULL, 0, meta};
    char p2[4200];
    gv_sibling_path(path, ".meta", p2, sizeof p2);
    return gv_atomic_write(p2, w_meta, &c, err);
}
