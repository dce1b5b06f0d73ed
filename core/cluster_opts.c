/* cluster_opts: the option table (cluster_opts.def) and what reads a row. */
#include "cluster_opts.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const cluster_method_names[CM_COUNT + 1] = {"kmeans", "ae_kmeans", "dec", "idec",
                                                        "dcec", "vae", "n2d", NULL};
/* index = OPT_*, INIT_*, vae_bce, MANIFOLD_INIT_* */
static const char *const copt_pretrain_opt_names[] = {"adam", "sgd", "auto", NULL};
static const char *const copt_cluster_opt_names[] = {"adam", "sgd", NULL};
static const char *const copt_init_names[] = {"glorot_uniform", "variance_scaling", "auto", NULL};
static const char *const copt_rec_names[] = {"mse", "bce", NULL};
static const char *const copt_manifold_init_names[] = {"pca", "spectral", NULL};
/* the CLI's shorter names for --init, same indices */
static const char *const copt_init_cli_names[] = {"glorot", "varscale", "auto", NULL};

const cluster_opt cluster_opts[COPT_COUNT] = {
#define COPT(id_, field_, json_, flag_, type_, lo_, hi_, flags_, def_, names_, doc_)          \
    [COPT_##id_] = {COPT_##id_, #field_, json_, flag_, COPT_T_##type_,                          \
                    offsetof(cluster_spec, field_), lo_, hi_, flags_, def_, names_, doc_},
#include "cluster_opts.def"
#undef COPT
};

static const struct {
    cluster_method method;
    cluster_opt_id id;
    const char *def;
} method_defaults[] = {
#define COPT_METHOD_DEFAULT(m, id, def) {m, COPT_##id, def},
#include "cluster_opts.def"
#undef COPT_METHOD_DEFAULT
};

_Static_assert(CM_COUNT == 7 && OPT_ADAM == 0 && OPT_SGD == 1 && OPT_AUTO == 2 &&
                   INIT_GLOROT == 0 && INIT_VARSCALE == 1 && INIT_AUTO == 2 &&
                   MANIFOLD_INIT_PCA == 0 && MANIFOLD_INIT_SPECTRAL == 1,
               "the names above are indexed by these values");

const cluster_opt *cluster_opt_by_json(const char *path)
{
    for (int i = 0; i < COPT_COUNT; i++)
        if (!(cluster_opts[i].flags & COPT_F_DERIVED) && strcmp(cluster_opts[i].json, path) == 0)
            return &cluster_opts[i];
    return NULL;
}

const char *cluster_opt_default(cluster_opt_id id, cluster_method m)
{
    for (size_t i = 0; i < sizeof method_defaults / sizeof method_defaults[0]; i++)
        if (method_defaults[i].method == m && method_defaults[i].id == id)
            return method_defaults[i].def;
    return cluster_opts[id].def;
}

int cluster_opt_n_names(const cluster_opt *o)
{
    int n = 0;
    while (o->names && o->names[n]) n++;
    return n;
}

int cluster_opt_in_range(const cluster_opt *o, double x)
{
    return (o->flags & COPT_F_LO_OPEN ? x > o->lo : x >= o->lo) && x <= o->hi;
}

const char *cluster_opt_range_text(const cluster_opt *o, char *buf, size_t n)
{
    snprintf(buf, n, "%c%g, %g]", o->flags & COPT_F_LO_OPEN ? '(' : '[', o->lo, o->hi);
    return buf;
}

static void *field_of(cluster_spec *s, cluster_opt_id id) { return (char *)s + cluster_opts[id].off; }

double cluster_opt_get(const cluster_spec *s, cluster_opt_id id)
{
    const void *p = (const char *)s + cluster_opts[id].off;
    switch (cluster_opts[id].type) {
    case COPT_T_NUM: return *(const double *)p;
    case COPT_T_SEED: return (double)*(const uint64_t *)p;
    case COPT_T_WIDTHS: return s->n_hidden;
    default: return *(const int *)p;
    }
}

void cluster_opt_set_num(cluster_spec *s, cluster_opt_id id, double x)
{
    void *p = field_of(s, id);
    switch (cluster_opts[id].type) {
    case COPT_T_NUM: *(double *)p = x; break;
    case COPT_T_SEED: *(uint64_t *)p = (uint64_t)x; break;
    case COPT_T_BOOL: *(int *)p = x != 0; break;
    case COPT_T_WIDTHS: break; /* not a scalar */
    default: *(int *)p = (int)x; break;
    }
}

/* "a, b or c" of names (and the CLI's aliases) into buf. */
static void names_text(const char *const *names, const char *const *alias, char *buf, size_t n)
{
    size_t l = 0;
    buf[0] = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; pass ? alias && alias[i] : names[i] != NULL; i++) {
            const char *w = pass ? alias[i] : names[i];
            int dup = 0;
            for (int j = 0; pass && names[j]; j++) dup |= strcmp(names[j], w) == 0;
            if (dup) continue;
            l += (size_t)snprintf(buf + l, l < n ? n - l : 0, "%s%s", l ? ", " : "", w);
        }
}

static int parse_widths(cluster_spec *s, const cluster_opt *o, const char *text, dc_err *err)
{
    int n = 0, w[CLUSTER_MAX_DIMS];
    if (strcmp(text, "none") == 0) { /* n2d on the raw features */
        if (s->method != CM_N2D)
            return dc_err_set(err, DC_EINVAL, "none: only n2d runs without an autoencoder");
        s->n_hidden = 0;
        return 0;
    }
    for (const char *p = text; *p;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || v < o->lo || v > o->hi || n == CLUSTER_MAX_DIMS ||
            (*end && *end != ','))
            return dc_err_set(err, DC_EINVAL, "expected up to %d widths in [%g, %g] like "
                              "500,500,2000,10, got '%s'", CLUSTER_MAX_DIMS, o->lo, o->hi, text);
        w[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (!n) return dc_err_set(err, DC_EINVAL, "empty");
    memcpy(s->hidden, w, (size_t)n * sizeof *w);
    s->n_hidden = n;
    s->embed_dim = w[n - 1];
    return 0;
}

/* Sets o from text; with check, refuses a value out of o's range. */
static int set_text(cluster_spec *s, const cluster_opt *o, const char *text, int check,
                    dc_err *err)
{
    char range[64], list[160];
    char *end;
    switch (o->type) {
    case COPT_T_WIDTHS: return parse_widths(s, o, text, err);
    case COPT_T_BOOL:
        if (strcmp(text, "true") && strcmp(text, "false"))
            return dc_err_set(err, DC_EINVAL, "expected true or false, got '%s'", text);
        cluster_opt_set_num(s, o->id, text[0] == 't');
        return 0;
    case COPT_T_ENUM: {
        const char *const *alias = o->id == COPT_PRETRAIN_INIT ? copt_init_cli_names : NULL;
        for (int i = 0; o->names[i]; i++)
            if (strcmp(text, o->names[i]) == 0 || (alias && strcmp(text, alias[i]) == 0)) {
                cluster_opt_set_num(s, o->id, i);
                return 0;
            }
        names_text(o->names, alias, list, sizeof list);
        return dc_err_set(err, DC_EINVAL, "expected one of %s, got '%s'", list, text);
    }
    case COPT_T_SEED: {
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (!errno && end != text && *end) { /* "1e6": exact as a double up to 2^53 */
            double x = strtod(text, &end);
            v = x >= 0 && x <= 9007199254740992.0 && x == floor(x) ? (unsigned long long)x : 0;
            if (v != x) end = (char *)text;
        }
        if (errno || end == text || *end || text[0] == '-' || (check && v > (uint64_t)INT64_MAX))
            return dc_err_set(err, DC_EINVAL, "expected an integer in %s, got '%s'",
                              cluster_opt_range_text(o, range, sizeof range), text);
        *(uint64_t *)field_of(s, o->id) = v;
        return 0;
    }
    default: {
        errno = 0;
        double x = strtod(text, &end);
        int bad = errno || end == text || *end || !isfinite(x) || (check && !cluster_opt_in_range(o, x));
        if (o->type == COPT_T_INT) bad |= x != floor(x);
        if (bad)
            return dc_err_set(err, DC_EINVAL, "expected %s in %s, got '%s'",
                              o->type == COPT_T_INT ? "an integer" : "a number",
                              cluster_opt_range_text(o, range, sizeof range), text);
        cluster_opt_set_num(s, o->id, x);
        return 0;
    }
    }
}

int cluster_opt_parse(cluster_spec *s, cluster_opt_id id, const char *text, dc_err *err)
{
    return set_text(s, &cluster_opts[id], text, 1, err);
}

void cluster_opts_set_defaults(cluster_spec *s, int method)
{
    for (int i = 0; i < COPT_COUNT; i++) {
        const char *d = cluster_opt_default((cluster_opt_id)i, (cluster_method)method);
        if (d) set_text(s, &cluster_opts[i], d, 0, NULL);
    }
}

void cluster_opts_finish(cluster_spec *s, const unsigned char given[COPT_COUNT])
{
    if (s->method == CM_VAE && s->vae_conv && !given[COPT_PRETRAIN_EPOCHS]) {
        s->pretrain_epochs = 0;
        if (!given[COPT_VAE_LR]) /* from scratch: the rows' lr, not the dense vae's */
            set_text(s, &cluster_opts[COPT_VAE_LR], cluster_opts[COPT_VAE_LR].def, 0, NULL);
    }
}

int cluster_opt_check(const cluster_spec *s, cluster_opt_id id, dc_err *err)
{
    const cluster_opt *o = &cluster_opts[id];
    char range[64];
    if (o->type == COPT_T_WIDTHS) {
        int lo = s->method == CM_N2D ? 0 : 1; /* n2d: 0, the manifold on the raw features */
        if (s->n_hidden < lo || s->n_hidden > CLUSTER_MAX_DIMS)
            return dc_err_set(err, DC_EINVAL, "n_hidden must be in [%d, %d], got %d", lo,
                              CLUSTER_MAX_DIMS, s->n_hidden);
        for (int i = 0; i < s->n_hidden; i++)
            if (!cluster_opt_in_range(o, s->hidden[i]))
                return dc_err_set(err, DC_EINVAL, "hidden[%d] must be in %s, got %d", i,
                                  cluster_opt_range_text(o, range, sizeof range), s->hidden[i]);
        return 0;
    }
    double x = cluster_opt_get(s, id);
    if ((o->flags & COPT_F_ZERO_UNSET) && x == 0) return 0;
    if (o->type == COPT_T_SEED ? x > o->hi : !cluster_opt_in_range(o, x))
        return dc_err_set(err, DC_EINVAL, "%s must be in %s, got %g", o->field,
                          cluster_opt_range_text(o, range, sizeof range), x);
    return 0;
}
