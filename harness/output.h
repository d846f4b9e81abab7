/* output.h — CSV rows (libcsv), per-coordinate rows, the .meta sidecar; every file is written
 * whole to a temporary file in the same directory and renamed into place (atomic). */
#ifndef GV_OUTPUT_H
#define GV_OUTPUT_H

#include "harness/engine.h"

/* The summary columns, in order (the stable contract; results/README.md documents them). */
extern const char *const gv_csv_columns[];

int gv_write_rows(FILE *out, const gv_row *rows, int n);
int gv_write_coord_rows(FILE *out, const gv_row *rows, int n);

typedef struct {
    uint64_t seed;
    const char *rng, *command;
    long R, W;
    int cells_done, cells_total;
} gv_meta;

/* Write rows to path atomically (and path's .coord.csv if coords, and path's .meta). */
int gv_save(const char *path, const gv_row *rows, int n, int coords, const gv_meta *meta, char *err);
/* Only path's .meta sidecar. */
int gv_save_meta(const char *path, const gv_meta *meta, char *err);

/* One CSV field (quoted by libcsv only when it needs it), then ',' or '\n'. */
void gv_csv_field(FILE *out, const char *s, int last);
/* One number as a field (gv_fmt_num). */
void gv_csv_num(FILE *out, double x, int last);
/* Write via fn into a temporary file next to path, fsync, rename over path. */
int gv_atomic_write(const char *path, int (*fn)(FILE *, const void *), const void *ctx, char *err);
/* path with its .csv suffix replaced by suffix (e.g. ".meta", ".basket.csv") */
void gv_sibling_path(const char *path, const char *suffix, char *out, size_t len);

/* "%.10g", empty for NaN (not defined), "inf"/"-inf" for infinities. */
void gv_fmt_num(char *buf, size_t len, double x);

#endif
