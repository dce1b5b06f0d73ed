/* cluster_opts: the one table of a cluster_spec's options (cluster_opts.def).
 *
 * Each option is one row: its cluster_spec field, its path in a job spec's JSON, its
 * `deepclust train` flag, type, range, default (and a method's own default), one line
 * of doc. cluster_spec_default and cluster_spec_check read the table; so do the job-spec
 * parser (server/svc/jobspec.c), the CLI's flags and --help (server/cli/), and the test
 * that api/openapi.yaml agrees with it. An error names its option by id
 * (cluster_spec_check_ex), and each layer maps the id to its own name for it.
 *
 *   const cluster_opt *o = cluster_opt_by_json("pretrain.lr");
 *   if (o && !cluster_opt_in_range(o, x)) ...;     // "pretrain.lr must be in (0, 10]"
 *   cluster_opt_set_num(&spec, o->id, x);
 *   if (cluster_opt_parse(&spec, COPT_BATCH, "128", &err) < 0) ...;  // CLI text
 */
#ifndef DC_CLUSTER_OPTS_H
#define DC_CLUSTER_OPTS_H

#include <stddef.h>

#include "cluster.h"
#include "dc_err.h"

typedef enum cluster_opt_id {
#define COPT(id, ...) COPT_##id,
#include "cluster_opts.def"
#undef COPT
    COPT_COUNT
} cluster_opt_id;

typedef enum cluster_opt_type {
    COPT_T_INT,    /* int */
    COPT_T_NUM,    /* double */
    COPT_T_BOOL,   /* int 0/1; the CLI flag takes no value */
    COPT_T_ENUM,   /* int, index into names */
    COPT_T_SEED,   /* uint64_t */
    COPT_T_WIDTHS, /* n_hidden + hidden[]: 1 to CLUSTER_MAX_DIMS widths (n2d: 0 too) */
} cluster_opt_type;

enum {
    COPT_F_REQUIRED = 1,   /* no default: method and n_clusters */
    COPT_F_DERIVED = 2,    /* set from other options, checked by cluster_spec_check */
    COPT_F_LO_OPEN = 4,    /* the range is (lo, hi] */
    COPT_F_ZERO_UNSET = 8, /* 0 means "unset" (JSON null), besides the range */
};

typedef struct cluster_opt {
    cluster_opt_id id;
    const char *field;  /* cluster_spec member: "pretrain_lr" */
    const char *json;   /* job spec path: "pretrain.lr" */
    const char *flag;   /* `deepclust train` flag without "--", or NULL */
    cluster_opt_type type;
    size_t off;         /* offsetof(cluster_spec, field) */
    double lo, hi;
    unsigned flags;     /* COPT_F_* */
    const char *def;    /* default, as text the CLI takes; NULL when required */
    const char *const *names; /* ENUM: NULL-terminated, index = value */
    const char *doc;
} cluster_opt;

extern const cluster_opt cluster_opts[COPT_COUNT];
extern const char *const cluster_method_names[CM_COUNT + 1];

/* The row whose json path is path (not a derived one), or NULL. */
const cluster_opt *cluster_opt_by_json(const char *path);
/* The default of option id for method m, as text (NULL for required options). */
const char *cluster_opt_default(cluster_opt_id id, cluster_method m);
/* Number of names of an ENUM row. */
int cluster_opt_n_names(const cluster_opt *o);

/* x within o's range ((lo, hi] with COPT_F_LO_OPEN). */
int cluster_opt_in_range(const cluster_opt *o, double x);
/* "[1, 10000]" or "(0, 10]", %g, into buf. */
const char *cluster_opt_range_text(const cluster_opt *o, char *buf, size_t n);

/* A scalar option's value as a double, and set (INT, BOOL, ENUM: truncated; SEED). */
double cluster_opt_get(const cluster_spec *s, cluster_opt_id id);
void cluster_opt_set_num(cluster_spec *s, cluster_opt_id id, double x);

/* Sets option id from text as the CLI writes it ("128", "adam", "500,500,10",
 * "none" for n2d's widths, "true"): 0, or DC_EINVAL with a message (without the flag's
 * name) when the text is not one or out of range. */
int cluster_opt_parse(cluster_spec *s, cluster_opt_id id, const char *text, dc_err *err);

/* Sets every option but the required ones to its default for method (-1: the rows' own,
 * no method's); cluster_spec_default is this after method and k. */
void cluster_opts_set_defaults(cluster_spec *s, int method);

/* Defaults that depend on which options were given (given[id] nonzero): a convolutional
 * vae has no pretrained start, so unless pretrain epochs are given it trains from scratch
 * (pretrain_epochs 0) with vae lr 1e-3 unless that is given. Called by the parsers after
 * the given options are set. */
void cluster_opts_finish(cluster_spec *s, const unsigned char given[COPT_COUNT]);

/* Range check of one option of s (the table's range; WIDTHS: count and each width);
 * DC_EINVAL naming the field ("batch must be in [1, 65536], got 0"). */
int cluster_opt_check(const cluster_spec *s, cluster_opt_id id, dc_err *err);

#endif
