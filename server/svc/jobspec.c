/* jobspec: see jobspec.h. Objects are walked key by key so that an unknown key is
 * reported with its path; each known key is type-checked (400) then range-checked (422).
 * The ranges are the ones cluster_spec_check enforces. */
#include "jobspec.h"

#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "data.h"

static int fail(jobspec_error *e, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(jobspec_error *e, int status, const char *field, const char *fmt, ...)
{
    va_list ap;
    e->status = status;
    snprintf(e->field, sizeof e->field, "%s", field);
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return DC_EINVAL;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int get_int(const json_t *v, const char *path, long long lo, long long hi, int *out,
                   jobspec_error *e)
{
    if (!json_is_integer(v))
        return fail(e, 400, path, "%s must be an integer, got %s", path, type_name(v));
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return fail(e, 422, path, "%s must be in [%lld, %lld], got %lld", path, lo, hi, x);
    *out = (int)x;
    return 0;
}

/* A number in [lo, hi] (or (lo, hi] when lo_open). */
static int get_num(const json_t *v, const char *path, double lo, double hi, int lo_open,
                   double *out, jobspec_error *e)
{
    if (!json_is_number(v))
        return fail(e, 400, path, "%s must be a number, got %s", path, type_name(v));
    double x = json_number_value(v);
    if (!isfinite(x) || (lo_open ? x <= lo : x < lo) || x > hi)
        return fail(e, 422, path, "%s must be in %c%g, %g], got %g", path, lo_open ? '(' : '[',
                    lo, hi, x);
    *out = x;
    return 0;
}

static int get_bool(const json_t *v, const char *path, int *out, jobspec_error *e)
{
    if (!json_is_boolean(v))
        return fail(e, 400, path, "%s must be a boolean, got %s", path, type_name(v));
    *out = json_is_true(v);
    return 0;
}

/* One of names[] (NULL-terminated) -> its index. */
static int get_enum(const json_t *v, const char *path, const char *const *names, int *out,
                    jobspec_error *e)
{
    char list[256] = "";
    if (!json_is_string(v))
        return fail(e, 400, path, "%s must be a string, got %s", path, type_name(v));
    for (int i = 0; names[i]; i++) {
        if (strcmp(json_string_value(v), names[i]) == 0) {
            *out = i;
            return 0;
        }
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", names[i]);
    }
    return fail(e, 422, path, "%s must be one of %s, got '%s'", path, list,
                json_string_value(v));
}

static const char *const opt_names[] = {"adam", "sgd", NULL}; /* OPT_ADAM 0, OPT_SGD 1 */
static const char *const rec_names[] = {"mse", "bce", NULL};  /* vae_bce 0 / 1 */
static const char *const init_names[] = {"glorot_uniform", "variance_scaling", "auto", NULL}; /* INIT_* */
static const char *const pre_opt_names[] = {"adam", "sgd", "auto", NULL}; /* OPT_* */
static const char *const manifold_init_names[] = {"pca", "spectral", NULL}; /* MANIFOLD_INIT_* */

#define PATH(sect, key) (snprintf(path, sizeof path, "%s.%s", sect, key), path)

static int check_object(const json_t *v, const char *path, jobspec_error *e)
{
    if (!json_is_object(v))
        return fail(e, 400, path, "%s must be an object, got %s", path, type_name(v));
    return 0;
}

static int parse_autoencoder(const json_t *o, cluster_spec *s, jobspec_error *e)
{
    const char *key;
    json_t *v;
    char path[128];
    int rc;
    if (json_is_string(o)) { /* "none": n2d on the raw features */
        if (strcmp(json_string_value(o), "none") != 0)
            return fail(e, 422, "autoencoder", "autoencoder must be an object or \"none\", "
                        "got '%s'", json_string_value(o));
        if (s->method != CM_N2D)
            return fail(e, 422, "autoencoder", "autoencoder \"none\" is for method n2d only "
                        "(the manifold on the raw features)");
        s->n_hidden = 0;
        return 0;
    }
    if ((rc = check_object(o, "autoencoder", e))) return rc;
    json_object_foreach((json_t *)o, key, v) {
        if (strcmp(key, "hidden") != 0)
            return fail(e, 400, PATH("autoencoder", key), "unknown field %s", path);
        if (!json_is_array(v))
            return fail(e, 400, "autoencoder.hidden",
                        "autoencoder.hidden must be an array of integers, got %s",
                        type_name(v));
        size_t n = json_array_size(v);
        if (n < 1 || n > CLUSTER_MAX_DIMS)
            return fail(e, 422, "autoencoder.hidden",
                        "autoencoder.hidden must have 1 to %d layer widths (the last is the "
                        "embedding), got %zu", CLUSTER_MAX_DIMS, n);
        for (size_t i = 0; i < n; i++) {
            snprintf(path, sizeof path, "autoencoder.hidden[%zu]", i);
            if ((rc = get_int(json_array_get(v, i), path, 1, 100000, &s->hidden[i], e))) return rc;
        }
        s->n_hidden = (int)n;
        s->embed_dim = s->hidden[n - 1];
    }
    return 0;
}

static int parse_pretrain(const json_t *o, cluster_spec *s, jobspec_error *e)
{
    const char *key;
    json_t *v;
    char path[128];
    int rc = check_object(o, "pretrain", e);
    if (rc) return rc;
    json_object_foreach((json_t *)o, key, v) {
        PATH("pretrain", key);
        if (strcmp(key, "epochs") == 0) rc = get_int(v, path, 0, 100000, &s->pretrain_epochs, e);
        else if (strcmp(key, "batch_size") == 0) rc = get_int(v, path, 1, 65536, &s->batch, e);
        else if (strcmp(key, "optimizer") == 0)
            rc = get_enum(v, path, pre_opt_names, &s->pretrain_opt, e);
        else if (strcmp(key, "lr") == 0) { /* null: the optimizer's default */
            if (json_is_null(v)) s->pretrain_lr = 0;
            else rc = get_num(v, path, 0, 10, 1, &s->pretrain_lr, e);
        }
        else if (strcmp(key, "momentum") == 0)
            rc = get_num(v, path, 0, 0.9999, 0, &s->pretrain_momentum, e);
        else if (strcmp(key, "init") == 0) rc = get_enum(v, path, init_names, &s->pretrain_init, e);
        else rc = fail(e, 400, path, "unknown field %s", path);
        if (rc) return rc;
    }
    return 0;
}

static int parse_cluster(const json_t *o, cluster_spec *s, jobspec_error *e)
{
    const char *key;
    json_t *v;
    char path[128];
    int rc = check_object(o, "cluster", e);
    if (rc) return rc;
    json_object_foreach((json_t *)o, key, v) {
        PATH("cluster", key);
        if (strcmp(key, "n_init") == 0) rc = get_int(v, path, 1, 1000, &s->n_init, e);
        else if (strcmp(key, "kmeans_max_iter") == 0)
            rc = get_int(v, path, 1, 100000, &s->kmeans_max_iter, e);
        else if (strcmp(key, "kmeans_tol") == 0) rc = get_num(v, path, 0, 1, 0, &s->kmeans_tol, e);
        else if (strcmp(key, "update_interval") == 0)
            rc = get_int(v, path, 1, 10000000, &s->update_interval, e);
        else if (strcmp(key, "tol") == 0) rc = get_num(v, path, 0, 1, 0, &s->tol, e);
        else if (strcmp(key, "maxiter") == 0) rc = get_int(v, path, 0, 100000000, &s->maxiter, e);
        else if (strcmp(key, "gamma") == 0) rc = get_num(v, path, 0, 1e6, 0, &s->gamma, e);
        else if (strcmp(key, "alpha") == 0) rc = get_num(v, path, 1e-6, 1e6, 0, &s->alpha, e);
        else if (strcmp(key, "lr") == 0) rc = get_num(v, path, 0, 10, 1, &s->cluster_lr, e);
        else if (strcmp(key, "optimizer") == 0)
            rc = get_enum(v, path, opt_names, &s->cluster_opt, e);
        else if (strcmp(key, "momentum") == 0)
            rc = get_num(v, path, 0, 0.9999, 0, &s->cluster_momentum, e);
        else rc = fail(e, 400, path, "unknown field %s", path);
        if (rc) return rc;
    }
    return 0;
}

static int parse_vae(const json_t *o, cluster_spec *s, jobspec_error *e)
{
    const char *key;
    json_t *v;
    char path[128];
    int rc = check_object(o, "vae", e);
    if (rc) return rc;
    json_object_foreach((json_t *)o, key, v) {
        PATH("vae", key);
        if (strcmp(key, "latent") == 0) rc = get_int(v, path, 1, 4096, &s->latent, e);
        else if (strcmp(key, "epochs") == 0) rc = get_int(v, path, 0, 100000, &s->vae_epochs, e);
        else if (strcmp(key, "conv") == 0) rc = get_bool(v, path, &s->vae_conv, e);
        else if (strcmp(key, "reconstruction") == 0)
            rc = get_enum(v, path, rec_names, &s->vae_bce, e);
        else if (strcmp(key, "rec_weight") == 0)
            rc = get_num(v, path, 0, 1e6, 0, &s->vae_rec_weight, e);
        else if (strcmp(key, "lr") == 0) rc = get_num(v, path, 0, 10, 1, &s->vae_lr, e);
        else rc = fail(e, 400, path, "unknown field %s", path);
        if (rc) return rc;
    }
    return 0;
}

static int parse_manifold(const json_t *o, cluster_spec *s, jobspec_error *e)
{
    const char *key;
    json_t *v;
    char path[128];
    int rc = check_object(o, "manifold", e);
    if (rc) return rc;
    json_object_foreach((json_t *)o, key, v) {
        PATH("manifold", key);
        if (strcmp(key, "components") == 0)
            rc = get_int(v, path, 1, 1024, &s->manifold_components, e);
        else if (strcmp(key, "neighbors") == 0)
            rc = get_int(v, path, 2, 1000, &s->manifold_neighbors, e);
        else if (strcmp(key, "min_dist") == 0)
            rc = get_num(v, path, 0, 1, 0, &s->manifold_min_dist, e);
        else if (strcmp(key, "epochs") == 0)
            rc = get_int(v, path, 0, 100000, &s->manifold_epochs, e);
        else if (strcmp(key, "init") == 0)
            rc = get_enum(v, path, manifold_init_names, &s->manifold_init, e);
        else rc = fail(e, 400, path, "unknown field %s", path);
        if (rc) return rc;
    }
    return 0;
}

static int parse_mixture(const json_t *o, cluster_spec *s, jobspec_error *e)
{
    const char *key;
    json_t *v;
    char path[128];
    int rc = check_object(o, "mixture", e);
    if (rc) return rc;
    json_object_foreach((json_t *)o, key, v) {
        PATH("mixture", key);
        if (strcmp(key, "n_init") == 0) rc = get_int(v, path, 1, 1000, &s->gmm_n_init, e);
        else rc = fail(e, 400, path, "unknown field %s", path);
        if (rc) return rc;
    }
    return 0;
}

int jobspec_parse(const json_t *in, cluster_spec *s, char *dataset, json_t **normalized,
                  jobspec_error *e)
{
    static const char *const top[] = {"dataset", "method", "n_clusters", "seed", "autoencoder",
                                      "pretrain", "cluster", "vae", "manifold", "mixture",
                                      NULL};
    const char *key;
    json_t *v;
    int rc, k = 0, method = -1;

    memset(e, 0, sizeof *e);
    if (normalized) *normalized = NULL;
    if (!json_is_object(in))
        return fail(e, 400, "", "the job spec must be a JSON object, got %s", type_name(in));
    json_object_foreach((json_t *)in, key, v) {
        int known = 0;
        for (int i = 0; top[i]; i++) known |= strcmp(key, top[i]) == 0;
        if (!known) return fail(e, 400, key, "unknown field %s", key);
    }
    /* Required fields first: the defaults depend on method and k. */
    v = json_object_get(in, "dataset");
    if (!v) return fail(e, 400, "dataset", "dataset is required (the id of an uploaded dataset)");
    if (!json_is_string(v))
        return fail(e, 400, "dataset", "dataset must be a string, got %s", type_name(v));
    if (json_string_length(v) < 1 || json_string_length(v) >= JOBSPEC_ID_MAX)
        return fail(e, 422, "dataset", "dataset must be a dataset id of 1 to %d characters",
                    JOBSPEC_ID_MAX - 1);
    snprintf(dataset, JOBSPEC_ID_MAX, "%s", json_string_value(v));
    v = json_object_get(in, "method");
    if (!v) return fail(e, 400, "method", "method is required");
    if (!json_is_string(v))
        return fail(e, 400, "method", "method must be a string, got %s", type_name(v));
    method = cluster_method_parse(json_string_value(v));
    if (method < 0) {
        char list[128] = "";
        for (int i = 0; i < CM_COUNT; i++) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "",
                     cluster_method_name((cluster_method)i));
        }
        return fail(e, 422, "method", "method must be one of %s, got '%s'", list,
                    json_string_value(v));
    }
    v = json_object_get(in, "n_clusters");
    if (!v) return fail(e, 400, "n_clusters", "n_clusters is required");
    if ((rc = get_int(v, "n_clusters", 1, 10000, &k, e))) return rc;
    cluster_spec_default(s, (cluster_method)method, k);
    if ((v = json_object_get(in, "seed"))) {
        if (!json_is_integer(v))
            return fail(e, 400, "seed", "seed must be an integer, got %s", type_name(v));
        if (json_integer_value(v) < 0)
            return fail(e, 422, "seed", "seed must be >= 0, got %lld",
                        (long long)json_integer_value(v));
        s->seed = (uint64_t)json_integer_value(v);
    }
    if ((v = json_object_get(in, "autoencoder")) && (rc = parse_autoencoder(v, s, e))) return rc;
    if ((v = json_object_get(in, "pretrain")) && (rc = parse_pretrain(v, s, e))) return rc;
    if ((v = json_object_get(in, "cluster")) && (rc = parse_cluster(v, s, e))) return rc;
    if ((v = json_object_get(in, "vae")) && (rc = parse_vae(v, s, e))) return rc;
    if ((v = json_object_get(in, "manifold")) && (rc = parse_manifold(v, s, e))) return rc;
    if ((v = json_object_get(in, "mixture")) && (rc = parse_mixture(v, s, e))) return rc;
    /* the convolutional vae has no pretrained start: unless pretrain.epochs is given (and
       then refused by the check), it trains from scratch */
    if (method == CM_VAE && s->vae_conv &&
        !json_object_get(json_object_get(in, "pretrain"), "epochs")) {
        s->pretrain_epochs = 0;
        if (!json_object_get(json_object_get(in, "vae"), "lr")) s->vae_lr = 1e-3;
    }
    if (s->n_hidden > 0) s->embed_dim = s->hidden[s->n_hidden - 1];
    if (normalized && !(*normalized = jobspec_to_json(s, dataset)))
        return fail(e, 500, "", "out of memory");
    return 0;
}

/* Maps the field cluster_spec_check names first in its message ("pretrain_lr must be
 * ...", "hidden[2] must ...", "dcec needs ...") to a JSON path; "" when unknown. */
static const char *json_path_of(const char *msg)
{
    static const char *const map[][2] = {
        {"k", "n_clusters"}, {"n_init", "cluster.n_init"},
        {"kmeans_max_iter", "cluster.kmeans_max_iter"}, {"kmeans_tol", "cluster.kmeans_tol"},
        {"n_hidden", "autoencoder.hidden"}, {"hidden", "autoencoder.hidden"},
        {"embed_dim", "autoencoder.hidden"}, {"pretrain_epochs", "pretrain.epochs"},
        {"batch", "pretrain.batch_size"}, {"pretrain_opt", "pretrain.optimizer"},
        {"pretrain_lr", "pretrain.lr"}, {"pretrain_momentum", "pretrain.momentum"},
        {"alpha", "cluster.alpha"}, {"update_interval", "cluster.update_interval"},
        {"tol", "cluster.tol"}, {"maxiter", "cluster.maxiter"}, {"gamma", "cluster.gamma"},
        {"cluster_opt", "cluster.optimizer"}, {"cluster_lr", "cluster.lr"},
        {"cluster_momentum", "cluster.momentum"}, {"latent", "vae.latent"},
        {"vae_epochs", "vae.epochs"}, {"vae_rec_weight", "vae.rec_weight"},
        {"vae_lr", "vae.lr"}, {"pretrain_init", "pretrain.init"},
        {"dcec", "method"}, {"a", "vae.conv"},
        {"manifold_components", "manifold.components"},
        {"manifold_neighbors", "manifold.neighbors"}, {"manifold_min_dist", "manifold.min_dist"},
        {"manifold_epochs", "manifold.epochs"}, {"manifold_init", "manifold.init"},
        {"gmm_n_init", "mixture.n_init"}};
    size_t l = strcspn(msg, " [");
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i][0]) == l && strncmp(msg, map[i][0], l) == 0) return map[i][1];
    return "";
}

int jobspec_check_data(const cluster_spec *s, int64_t n, int d, int h, int w, int c,
                       jobspec_error *e)
{
    dataset ds = {.n = n, .d = d, .h = h, .w = w, .c = c};
    dc_err de = {0};
    memset(e, 0, sizeof *e);
    if (cluster_spec_check(s, &ds, &de) < 0) {
        const char *f = json_path_of(de.msg);
        return fail(e, 422, f, "%s%s%s", f[0] ? f : "", f[0] ? ": " : "", de.msg);
    }
    return 0;
}

json_t *jobspec_to_json(const cluster_spec *s, const char *dataset)
{
    json_t *hidden = json_array(), *ae;
    for (int i = 0; hidden && i < s->n_hidden; i++)
        json_array_append_new(hidden, json_integer(s->hidden[i]));
    if (s->n_hidden > 0) ae = json_pack("{s:o}", "hidden", hidden);
    else ae = json_string("none"), json_decref(hidden); /* raw n2d */
    return json_pack(
        "{s:s, s:s, s:i, s:I, s:o, s:{s:i, s:i, s:s, s:o, s:f, s:s},"
        " s:{s:i, s:i, s:f, s:i, s:f, s:i, s:f, s:f, s:f, s:s, s:f},"
        " s:{s:i, s:i, s:b, s:s, s:f, s:f}, s:{s:i, s:i, s:f, s:i, s:s}, s:{s:i}}",
        "dataset", dataset, "method", cluster_method_name((cluster_method)s->method),
        "n_clusters", s->k, "seed", (json_int_t)s->seed,
        "autoencoder", ae,
        "pretrain", "epochs", s->pretrain_epochs, "batch_size", s->batch, "optimizer",
        pre_opt_names[s->pretrain_opt], "lr",
        s->pretrain_lr > 0 ? json_real(s->pretrain_lr) : json_null(), "momentum",
        s->pretrain_momentum, "init", init_names[s->pretrain_init],
        "cluster", "n_init", s->n_init, "kmeans_max_iter", s->kmeans_max_iter, "kmeans_tol",
        s->kmeans_tol, "update_interval", s->update_interval, "tol", s->tol, "maxiter",
        s->maxiter, "gamma", s->gamma, "alpha", s->alpha, "lr", s->cluster_lr, "optimizer",
        opt_names[s->cluster_opt == OPT_SGD], "momentum", s->cluster_momentum,
        "vae", "latent", s->latent, "epochs", s->vae_epochs, "conv", s->vae_conv,
        "reconstruction", rec_names[s->vae_bce ? 1 : 0], "rec_weight", s->vae_rec_weight, "lr",
        s->vae_lr,
        "manifold", "components", s->manifold_components, "neighbors", s->manifold_neighbors,
        "min_dist", s->manifold_min_dist, "epochs", s->manifold_epochs, "init",
        manifold_init_names[s->manifold_init == MANIFOLD_INIT_SPECTRAL],
        "mixture", "n_init", s->gmm_n_init);
}

/* ---- cost estimate ------------------------------------------------------------------- */

/* Saturating int64 arithmetic: widths up to 100000 make products past 2^63. */
static int64_t sat_add(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }
static int64_t sat_mul(int64_t a, int64_t b)
{
    if (a == 0 || b == 0) return 0;
    return a > INT64_MAX / b ? INT64_MAX : a * b;
}

typedef struct cost_acc {
    int64_t params;
    int64_t units;   /* outputs per sample, summed over layers */
    int64_t im2col;  /* largest im2col buffer per sample, floats */
} cost_acc;

static void dense(cost_acc *a, int64_t in, int64_t out)
{
    a->params = sat_add(a->params, sat_add(sat_mul(in, out), out));
    a->units = sat_add(a->units, out);
}

/* conv (t 0) or convT (t 1) over (ih, iw, ic) -> (oh, ow, oc) with a k x k kernel. */
static void conv_t(cost_acc *a, int t, int64_t k, int64_t ic, int64_t oc, int64_t ih,
                   int64_t iw, int64_t oh, int64_t ow)
{
    a->params = sat_add(a->params, sat_add(sat_mul(k * k, sat_mul(ic, oc)), oc));
    a->units = sat_add(a->units, sat_mul(oh * ow, oc));
    /* im2col of the output positions (conv), col2im of the input positions (convT) */
    int64_t cols = t ? sat_mul(k * k, sat_mul(oc, ih * iw)) : sat_mul(k * k, sat_mul(ic, oh * ow));
    if (cols > a->im2col) a->im2col = cols;
}
#define conv(a, k, ic, oc, ih, iw, oh, ow) conv_t(a, 0, k, ic, oc, ih, iw, oh, ow)
#define convt(a, k, ic, oc, ih, iw, oh, ow) conv_t(a, 1, k, ic, oc, ih, iw, oh, ow)

/* The dense autoencoder dims[0..nd-1] and its mirror. */
static void dense_ae(cost_acc *a, const int64_t *dims, int nd)
{
    for (int i = 0; i + 1 < nd; i++) dense(a, dims[i], dims[i + 1]);
    for (int i = nd - 1; i > 0; i--) dense(a, dims[i], dims[i - 1]);
}

static int64_t conv_out(int64_t in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

void jobspec_estimate(const cluster_spec *s, int64_t n, int d, int h, int w, int c,
                      jobspec_cost *out)
{
    cost_acc a = {0};
    int64_t dims[CLUSTER_MAX_DIMS + 2], e = s->embed_dim, k = s->k, B = s->batch;
    int nd = 0;

    if (B > n) B = n;
    if (h <= 0 || w <= 0 || c <= 0) h = 1, w = 1, c = d;
    if (s->method == CM_KMEANS) {
        a.params = sat_mul(k, d);
        e = d;
    } else if (s->method == CM_DCEC) { /* nn_ae_new_conv, filters 32, 64, 128 */
        int64_t f[3] = {32, 64, 128}, K[3] = {5, 5, 3}, P[3] = {2, 2, h % 8 == 0 ? 1 : 0};
        int64_t hs[4] = {h}, ws[4] = {w}, cs[4] = {c, 32, 64, 128};
        for (int i = 0; i < 3; i++) {
            hs[i + 1] = conv_out(hs[i], (int)K[i], 2, (int)P[i]);
            ws[i + 1] = conv_out(ws[i], (int)K[i], 2, (int)P[i]);
            conv(&a, K[i], cs[i], f[i], hs[i], ws[i], hs[i + 1], ws[i + 1]);
        }
        int64_t flat = sat_mul(hs[3] * ws[3], f[2]);
        dense(&a, flat, e);
        dense(&a, e, flat);
        for (int i = 2; i >= 0; i--)
            convt(&a, K[i], cs[i + 1], cs[i], hs[i + 1], ws[i + 1], hs[i], ws[i]);
        a.params = sat_add(a.params, sat_mul(k, e));
    } else {
        int vae = s->method == CM_VAE;
        dims[nd++] = d;
        for (int i = 0; i < s->n_hidden; i++) dims[nd++] = s->hidden[i];
        if (vae) dims[nd++] = s->latent, e = s->latent;
        if (!vae || s->pretrain_epochs > 0) dense_ae(&a, dims, nd); /* pretrained AE */
        if (s->method == CM_N2D) e = s->manifold_components;
        if (!vae) a.params = sat_add(a.params, sat_mul(k, e));   /* centroids */
    }
    if (s->method == CM_VAE) { /* vae.h: encoder, two heads, classifier, mu_y, decoder */
        int64_t L = s->latent, F;
        if (s->vae_conv) {
            int64_t h1 = (h + 1) / 2, w1 = (w + 1) / 2, h2 = (h1 + 1) / 2, w2 = (w1 + 1) / 2;
            conv(&a, 3, c, 32, h, w, h1, w1);
            conv(&a, 3, 32, 32, h1, w1, h1, w1);
            conv(&a, 3, 32, 64, h1, w1, h2, w2);
            conv(&a, 3, 64, 64, h2, w2, h2, w2);
            F = sat_mul(h2 * w2, 64);
            dense(&a, L, F);
            convt(&a, 3, 64, 64, h2, w2, h2, w2);
            convt(&a, 3, 64, 64, h2, w2, h1, w1);
            convt(&a, 3, 64, 32, h1, w1, h1, w1);
            convt(&a, 3, 32, 32, h1, w1, h, w);
            convt(&a, 3, 32, c, h, w, h, w);
        } else {
            int64_t in = d;
            for (int i = 0; i < s->n_hidden; i++) dense(&a, in, s->hidden[i]), in = s->hidden[i];
            F = in;
            for (int i = s->n_hidden - 1; i >= 0; i--) dense(&a, i == s->n_hidden - 1 ? L :
                                                           s->hidden[i + 1], s->hidden[i]);
            dense(&a, s->hidden[0], d);
        }
        dense(&a, F, L);
        dense(&a, F, L);
        dense(&a, L, 256);
        dense(&a, 256, k);
        a.params = sat_add(a.params, sat_mul(k, L));
    }
    int64_t bytes = 32 << 20;
    bytes = sat_add(bytes, sat_mul(4, sat_add(sat_mul(n, d), n)));           /* dataset */
    bytes = sat_add(bytes, sat_mul(32, a.params));                          /* params & co */
    bytes = sat_add(bytes, sat_mul(4 * B, sat_add(sat_mul(3, a.units), a.im2col)));
    bytes = sat_add(bytes, sat_mul(4, sat_mul(n, sat_add(e, 2 * k + 2))));  /* z, q, p */
    if (s->method == CM_N2D) { /* umap.h, gmm.h: rough, see jobspec.h */
        int64_t code = s->n_hidden > 0 ? s->hidden[s->n_hidden - 1] : d, nn = s->manifold_neighbors;
        bytes = sat_add(bytes, sat_mul(4, sat_mul(n, sat_add(sat_mul(2, code), e)))); /* codes, umap's copy, embedding */
        bytes = sat_add(bytes, sat_mul(8, sat_mul(n, nn)));                  /* kNN idx + dist */
        bytes = sat_add(bytes, sat_mul(48, sat_mul(2 * n, nn > 1 ? nn - 1 : 1))); /* graph, layout */
        bytes = sat_add(bytes, sat_mul(8, sat_mul(n, k)));                   /* responsibilities */
        a.params = sat_add(a.params, sat_mul(k, sat_add(1, sat_mul(e, e))));  /* mixture covs, weights */
    }
    out->params = a.params;
    out->train_bytes = bytes;
}
