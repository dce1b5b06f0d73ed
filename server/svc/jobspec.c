/* jobspec: see jobspec.h. The options are core's table (cluster_opts.def): the parser
 * walks the document's objects key by key, so that an unknown key is reported with its
 * path, finds each key's row by its JSON path, type-checks the value (DC_EFORMAT) and
 * then range-checks it with the row's range (DC_EINVAL). */
#include "jobspec.h"

#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cluster_opts.h"
#include "data.h"

static int fail(jobspec_error *e, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(jobspec_error *e, int code, const char *field, const char *fmt, ...)
{
    va_list ap;
    e->code = code;
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

static int get_int(const json_t *v, const char *path, long long lo, long long hi, long long *out,
                   jobspec_error *e)
{
    if (!json_is_integer(v))
        return fail(e, DC_EFORMAT, path, "%s must be an integer, got %s", path, type_name(v));
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return fail(e, DC_EINVAL, path, "%s must be in [%lld, %lld], got %lld", path, lo, hi, x);
    *out = x;
    return 0;
}

/* One of the row's names -> its index. */
static int get_enum(const json_t *v, const char *path, const char *const *names, int *out,
                    jobspec_error *e)
{
    char list[256] = "";
    if (!json_is_string(v))
        return fail(e, DC_EFORMAT, path, "%s must be a string, got %s", path, type_name(v));
    for (int i = 0; names[i]; i++) {
        if (strcmp(json_string_value(v), names[i]) == 0) {
            *out = i;
            return 0;
        }
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", names[i]);
    }
    return fail(e, DC_EINVAL, path, "%s must be one of %s, got '%s'", path, list,
                json_string_value(v));
}

/* autoencoder.hidden: 1 to CLUSTER_MAX_DIMS widths, each in the row's range. */
static int get_widths(const json_t *v, const cluster_opt *o, cluster_spec *s, jobspec_error *e)
{
    char path[160];
    long long w;
    int rc;
    if (!json_is_array(v))
        return fail(e, DC_EFORMAT, o->json, "%s must be an array of integers, got %s", o->json,
                    type_name(v));
    size_t n = json_array_size(v);
    if (n < 1 || n > CLUSTER_MAX_DIMS)
        return fail(e, DC_EINVAL, o->json, "%s must have 1 to %d layer widths (the last is "
                    "the embedding), got %zu", o->json, CLUSTER_MAX_DIMS, n);
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s[%zu]", o->json, i);
        if ((rc = get_int(json_array_get(v, i), path, (long long)o->lo, (long long)o->hi, &w, e)))
            return rc;
        s->hidden[i] = (int)w;
    }
    s->n_hidden = (int)n;
    s->embed_dim = s->hidden[n - 1];
    return 0;
}

/* v into option o of s: its JSON type first (DC_EFORMAT), then its range (DC_EINVAL). */
static int get_opt(const json_t *v, const cluster_opt *o, cluster_spec *s, jobspec_error *e)
{
    const char *path = o->json;
    long long i;
    int rc, x = 0;
    switch (o->type) {
    case COPT_T_WIDTHS: return get_widths(v, o, s, e);
    case COPT_T_SEED:
        if (!json_is_integer(v))
            return fail(e, DC_EFORMAT, path, "%s must be an integer, got %s", path, type_name(v));
        if (json_integer_value(v) < o->lo)
            return fail(e, DC_EINVAL, path, "%s must be >= %g, got %lld", path, o->lo,
                        (long long)json_integer_value(v));
        s->seed = (uint64_t)json_integer_value(v); /* <= INT64_MAX, the row's hi */
        return 0;
    case COPT_T_INT:
        if ((rc = get_int(v, path, (long long)o->lo, (long long)o->hi, &i, e))) return rc;
        cluster_opt_set_num(s, o->id, (double)i);
        return 0;
    case COPT_T_BOOL:
        if (!json_is_boolean(v))
            return fail(e, DC_EFORMAT, path, "%s must be a boolean, got %s", path, type_name(v));
        cluster_opt_set_num(s, o->id, json_is_true(v));
        return 0;
    case COPT_T_ENUM:
        if ((rc = get_enum(v, path, o->names, &x, e))) return rc;
        cluster_opt_set_num(s, o->id, x);
        return 0;
    case COPT_T_NUM: {
        char range[64];
        if ((o->flags & COPT_F_ZERO_UNSET) && json_is_null(v)) { /* the optimizer's default */
            cluster_opt_set_num(s, o->id, 0);
            return 0;
        }
        if (!json_is_number(v))
            return fail(e, DC_EFORMAT, path, "%s must be a number, got %s", path, type_name(v));
        double d = json_number_value(v);
        if (!isfinite(d) || !cluster_opt_in_range(o, d))
            return fail(e, DC_EINVAL, path, "%s must be in %s, got %g", path,
                        cluster_opt_range_text(o, range, sizeof range), d);
        cluster_opt_set_num(s, o->id, d);
        return 0;
    }
    }
    return 0;
}

/* The top-level key of a row's path ("pretrain" of "pretrain.lr") into buf. */
static const char *section_of(const cluster_opt *o, char *buf, size_t n)
{
    snprintf(buf, n, "%.*s", (int)strcspn(o->json, "."), o->json);
    return buf;
}

static int is_section_start(int i)
{
    char a[64], b[64];
    const cluster_opt *o = &cluster_opts[i];
    if (o->flags & COPT_F_DERIVED || !strchr(o->json, '.')) return 0;
    for (int j = 0; j < i; j++)
        if (!(cluster_opts[j].flags & COPT_F_DERIVED) &&
            strcmp(section_of(&cluster_opts[j], a, sizeof a), section_of(o, b, sizeof b)) == 0)
            return 0;
    return 1;
}

/* One object of options ("pretrain": {...}), key by key. */
static int parse_section(const json_t *obj, const char *sect, cluster_spec *s,
                         unsigned char *given, jobspec_error *e)
{
    const char *key;
    json_t *v;
    char path[128];
    int rc;
    if (!json_is_object(obj))
        return fail(e, DC_EFORMAT, sect, "%s must be an object, got %s", sect, type_name(obj));
    json_object_foreach((json_t *)obj, key, v) {
        snprintf(path, sizeof path, "%s.%s", sect, key);
        const cluster_opt *o = cluster_opt_by_json(path);
        if (!o) return fail(e, DC_EFORMAT, path, "unknown field %s", path);
        if ((rc = get_opt(v, o, s, e))) return rc;
        given[o->id] = 1;
    }
    return 0;
}

/* "autoencoder": "none", n2d on the raw features. */
static int parse_no_autoencoder(const json_t *v, const char *sect, cluster_spec *s,
                                jobspec_error *e)
{
    if (strcmp(json_string_value(v), "none") != 0)
        return fail(e, DC_EINVAL, sect, "%s must be an object or \"none\", got '%s'", sect,
                    json_string_value(v));
    if (s->method != CM_N2D)
        return fail(e, DC_EINVAL, sect, "%s \"none\" is for method n2d only (the manifold on "
                    "the raw features)", sect);
    s->n_hidden = 0;
    return 0;
}

/* Refuses a top-level key that is neither "dataset" nor an option or a section of them. */
static int check_top_keys(const json_t *in, jobspec_error *e)
{
    const char *key;
    json_t *v;
    char sect[64];
    json_object_foreach((json_t *)in, key, v) {
        int known = strcmp(key, "dataset") == 0;
        for (int i = 0; !known && i < COPT_COUNT; i++)
            known = !(cluster_opts[i].flags & COPT_F_DERIVED) &&
                    strcmp(key, section_of(&cluster_opts[i], sect, sizeof sect)) == 0;
        if (!known) return fail(e, DC_EFORMAT, key, "unknown field %s", key);
    }
    return 0;
}

/* The required options (method, n_clusters) into *s with their defaults. */
static int parse_required(const json_t *in, cluster_spec *s, jobspec_error *e)
{
    cluster_spec req = {0};
    int rc;
    for (int i = 0; i < COPT_COUNT; i++) {
        const cluster_opt *o = &cluster_opts[i];
        if (!(o->flags & COPT_F_REQUIRED)) continue;
        const json_t *v = json_object_get(in, o->json);
        if (!v) return fail(e, DC_EFORMAT, o->json, "%s is required", o->json);
        if ((rc = get_opt(v, o, &req, e))) return rc;
    }
    cluster_spec_default(s, (cluster_method)req.method, req.k);
    return 0;
}

int jobspec_parse(const json_t *in, cluster_spec *s, char *dataset, json_t **normalized,
                  jobspec_error *e)
{
    unsigned char given[COPT_COUNT] = {0};
    char sect[64];
    json_t *v;
    int rc;

    memset(e, 0, sizeof *e);
    if (normalized) *normalized = NULL;
    if (!json_is_object(in))
        return fail(e, DC_EFORMAT, "", "the job spec must be a JSON object, got %s",
                    type_name(in));
    if ((rc = check_top_keys(in, e))) return rc;
    /* Required fields first: the defaults depend on method and k. */
    v = json_object_get(in, "dataset");
    if (!v)
        return fail(e, DC_EFORMAT, "dataset", "dataset is required (the id of an uploaded dataset)");
    if (!json_is_string(v))
        return fail(e, DC_EFORMAT, "dataset", "dataset must be a string, got %s", type_name(v));
    if (json_string_length(v) < 1 || json_string_length(v) >= JOBSPEC_ID_MAX)
        return fail(e, DC_EINVAL, "dataset", "dataset must be a dataset id of 1 to %d characters",
                    JOBSPEC_ID_MAX - 1);
    snprintf(dataset, JOBSPEC_ID_MAX, "%s", json_string_value(v));
    if ((rc = parse_required(in, s, e))) return rc;
    /* then the top-level options, then each section, in the table's order */
    for (int i = 0; i < COPT_COUNT; i++) {
        const cluster_opt *o = &cluster_opts[i];
        if (o->flags & (COPT_F_REQUIRED | COPT_F_DERIVED) || strchr(o->json, '.') ||
            !(v = json_object_get(in, o->json)))
            continue;
        if ((rc = get_opt(v, o, s, e))) return rc;
        given[i] = 1;
    }
    for (int i = 0; i < COPT_COUNT; i++) {
        if (!is_section_start(i)) continue;
        section_of(&cluster_opts[i], sect, sizeof sect);
        if (!(v = json_object_get(in, sect))) continue;
        if (cluster_opts[i].type == COPT_T_WIDTHS && json_is_string(v))
            rc = parse_no_autoencoder(v, sect, s, e);
        else
            rc = parse_section(v, sect, s, given, e);
        if (rc) return rc;
    }
    cluster_opts_finish(s, given);
    if (s->n_hidden > 0) s->embed_dim = s->hidden[s->n_hidden - 1];
    if (normalized && !(*normalized = jobspec_to_json(s, dataset)))
        return fail(e, DC_ENOMEM, "", "out of memory");
    return 0;
}

int jobspec_check_data(const cluster_spec *s, int64_t n, int d, int h, int w, int c,
                       jobspec_error *e)
{
    dataset ds = {.n = n, .d = d, .h = h, .w = w, .c = c};
    dc_err de = {0};
    int opt;
    memset(e, 0, sizeof *e);
    if (cluster_spec_check_ex(s, &ds, &opt, &de) < 0) {
        const char *f = opt >= 0 ? cluster_opts[opt].json : "";
        return fail(e, DC_EINVAL, f, "%s%s%s", f, f[0] ? ": " : "", de.msg);
    }
    return 0;
}

/* The value of option o of s as JSON (new reference). */
static json_t *opt_json(const cluster_spec *s, const cluster_opt *o)
{
    double x = cluster_opt_get(s, o->id);
    switch (o->type) {
    case COPT_T_WIDTHS: {
        json_t *a = json_array();
        for (int i = 0; a && i < s->n_hidden; i++)
            if (json_array_append_new(a, json_integer(s->hidden[i]))) json_decref(a), a = NULL;
        return a;
    }
    case COPT_T_SEED: return json_integer((json_int_t)s->seed);
    case COPT_T_INT: return json_integer((json_int_t)x);
    case COPT_T_BOOL: return json_boolean(x != 0);
    case COPT_T_ENUM:
        return json_string(o->names[x >= 0 && x < cluster_opt_n_names(o) ? (int)x : 0]);
    case COPT_T_NUM:
        return (o->flags & COPT_F_ZERO_UNSET) && x == 0 ? json_null() : json_real(x);
    }
    return NULL;
}

json_t *jobspec_to_json(const cluster_spec *s, const char *dataset)
{
    json_t *root = json_object();
    char sect[64];
    int ok = root && json_object_set_new(root, "dataset", json_string(dataset)) == 0;
    for (int i = 0; ok && i < COPT_COUNT; i++) {
        const cluster_opt *o = &cluster_opts[i];
        const char *dot = strchr(o->json, '.');
        if (o->flags & COPT_F_DERIVED) continue;
        if (!dot) {
            ok = json_object_set_new(root, o->json, opt_json(s, o)) == 0;
            continue;
        }
        section_of(o, sect, sizeof sect);
        if (o->type == COPT_T_WIDTHS && s->n_hidden == 0) { /* raw n2d */
            ok = json_object_set_new(root, sect, json_string("none")) == 0;
            continue;
        }
        json_t *obj = json_object_get(root, sect);
        if (!obj && (!(obj = json_object()) || json_object_set_new(root, sect, obj) < 0)) {
            ok = 0;
            break;
        }
        ok = json_object_set_new(obj, dot + 1, opt_json(s, o)) == 0;
    }
    if (!ok) json_decref(root);
    return ok ? root : NULL;
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
