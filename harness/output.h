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

/* "%.10g", empty for NaN (not defined), "inf"/"-inf" for infinities. */
void gv_fmt_num(char *buf, size_t len, double x);

#endif
