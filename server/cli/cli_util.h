/* cli_util: helpers the train/predict/generate subcommands share: data loading from
 * repeated --data/--labels files, the spec override flags, file and NPY writing. */
#ifndef DC_CLI_UTIL_H
#define DC_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cluster.h"
#include "cluster_opts.h"
#include "data.h"

/* Prints "deepclust: <message>" to stderr; returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --scale auto|none|255, --csv-label-col I, --csv-header yes|no|auto.
 * 1 taken, 0 not this flag, -1 bad value (message printed). */
int cli_data_flag(int argc, char **argv, int *i, data_opts *o);

/* --data F / --labels F, each appended to its list (at most max entries).
 * 1 taken, 0 not one of these, -1 missing value or too many (message printed). */
int cli_files_flag(int argc, char **argv, int *i, const char **data, int *nd,
                   const char **labels, int *nl, int max);

/* The flags of core's option table (core/cluster_opts.def), kept as text until the
 * method's defaults are known: val[COPT_BATCH] is --batch's value, NULL when not given
 * ("true" for a flag without value, --vae-conv). */
typedef struct cli_spec_over {
    const char *val[COPT_COUNT];
} cli_spec_over;
void cli_spec_over_init(cli_spec_over *o);
/* 1 taken, 0 not a spec flag, -1 missing value. */
int cli_spec_flag(int argc, char **argv, int *i, cli_spec_over *o);
/* Parses option id's recorded value into s (the table's range); -1 (message printed)
 * on a bad value, 0 also when not given. */
int cli_spec_over_one(const cli_spec_over *o, cluster_opt_id id, cluster_spec *s);
/* Parses and applies the recorded values but the required ones (--method, --clusters);
 * -1 (message printed) on a bad value. */
int cli_spec_over_apply(const cli_spec_over *o, cluster_spec *s);
/* The table's flags for --help: flag, value, doc, default (and a method's own). */
void cli_spec_help(FILE *f);
/* The table as JSON, for tests/test_svc_opts_openapi.sh: one object per option with its
 * field, json path, flag, type, range, default, methods' own defaults, names, doc. */
void cli_spec_dump_json(FILE *f);

void cli_set_blas_threads(int n);

/* Loads and concatenates nd data files (and nl == nd label files, or nl == 0). */
int cli_load_data(dataset *ds, const char **data, const char **labels, int nd, int nl,
                  const data_opts *o, dc_err *e);

/* Both write to path.tmp, fsync it and rename it over path: path is never left half
 * written. cli_write_atomic writes head then buf. */
int cli_write_file(const char *path, const void *buf, size_t len, dc_err *e);
int cli_write_atomic(const char *path, const void *head, size_t head_len, const void *buf,
                     size_t len, dc_err *e);
int cli_save_model(const cluster_model *m, const char *path, dc_err *e);
/* NPY 1.0, C order: float32 (n, k) and int32 (n,). */
int cli_write_npy_f32(const char *path, const float *a, int64_t n, int k, dc_err *e);
int cli_write_npy_i32(const char *path, const int32_t *a, int64_t n, dc_err *e);

#endif
