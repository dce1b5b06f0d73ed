/* routes_pictures: the picture and outlier routes (docs/api.md, "Pictures and outliers"):
 * parse the query, call one svc_* function of svc.h's "results" section, reply JSON or a
 * PNG drawn here with core/png.h and core/plot.h (generate: also NPY).
 *
 * A PNG is chosen by ?format=png, or by an Accept header naming image/png when there is
 * no ?format= (format wins); JSON otherwise. Refusals are problem+json: 400 a parameter
 * that does not parse (`field` names it), 422 a value the data cannot answer (n out of
 * range, cluster >= k, no labels, flat samples without ?shape=, no decoder, not a vae),
 * 404 unknown id, 409 a job that has not succeeded or whose model/dataset is gone. */
#include "handlers.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plot.h"
#include "png.h"
#include "svc.h"

enum { FMT_JSON = 0, FMT_PNG = 1, FMT_NPY = 2 };
enum { PAD = 1,            /* pixels between images in a grid */
       MAP_PX = 480 };     /* the embedding scatter's width and height */

/* ---- parsing ---------------------------------------------------------------------------- */

static svc *service(api_req *r) { return r->ctx->server; }

static const char *query(api_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* A refusal found while parsing, replied by the handler. */
typedef struct refusal {
    int status;
    char field[32];
    char msg[256];
} refusal;

static int refuse(refusal *b, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(refusal *b, int status, const char *field, const char *fmt, ...)
{
    va_list ap;
    b->status = status;
    snprintf(b->field, sizeof b->field, "%s", field);
    va_start(ap, fmt);
    vsnprintf(b->msg, sizeof b->msg, fmt, ap);
    va_end(ap);
    return DC_EINVAL;
}

static int reply_refusal(api_req *r, const refusal *b)
{
    return api_problem_ex(r, b->status, NULL, NULL, json_pack("{s:s}", "field", b->field), NULL,
                          NULL, "%s", b->msg);
}

/* A whole decimal number (an optional '-' then digits) into *v: 0, or -1. */
static int parse_ll(const char *s, long long *v)
{
    char *end;
    if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9'))) return -1;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return *end || errno ? -1 : 0;
}

/* ?name= an integer in [lo, hi], dflt when absent: 400 when it is not an integer, 422
 * when it is outside. */
static int int_param(api_req *r, const char *name, int dflt, int lo, int hi, int *out,
                     refusal *b)
{
    const char *v = query(r, name);
    long long x;
    *out = dflt;
    if (!v) return 0;
    if (parse_ll(v, &x) < 0)
        return refuse(b, 400, name, "query parameter %s must be an integer, got '%.40s'", name, v);
    if (x < lo || x > hi)
        return refuse(b, 422, name, "query parameter %s must be in [%d, %d], got %lld", name, lo,
                      hi, x);
    *out = (int)x;
    return 0;
}

/* ?seed= an unsigned 64-bit integer (0 when absent). */
static int seed_param(api_req *r, uint64_t *out, refusal *b)
{
    const char *v = query(r, "seed");
    char *end;
    *out = 0;
    if (!v) return 0;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (!(*v >= '0' && *v <= '9') || *end || errno)
        return refuse(b, 400, "seed", "query parameter seed must be an unsigned 64-bit "
                      "integer, got '%.40s'", v);
    *out = x;
    return 0;
}

/* ?cluster= "all" (-1, also when absent) or a cluster number (>= k: 422 from the service). */
static int cluster_param(api_req *r, int *out, refusal *b)
{
    const char *v = query(r, "cluster");
    long long x;
    *out = -1;
    if (!v || strcasecmp(v, "all") == 0) return 0;
    if (parse_ll(v, &x) < 0)
        return refuse(b, 400, "cluster", "query parameter cluster must be 'all' or a cluster "
                      "number, got '%.40s'", v);
    if (x < 0 || x > 1000000)
        return refuse(b, 422, "cluster", "cluster %lld is out of range", x);
    *out = (int)x;
    return 0;
}

/* ?shape= "H,W" or "H,W,C" (positive integers); all 0 when absent (the stored shape). The
 * service checks that it makes the samples' features. */
static int shape_param(api_req *r, svc_shape *out, refusal *b)
{
    const char *v = query(r, "shape"), *p = v;
    long long x[3] = {0, 0, 0};
    int dims = 0;
    *out = (svc_shape){0, 0, 0};
    if (!v) return 0;
    while (dims < 3) {
        char *end;
        if (!(*p >= '0' && *p <= '9')) break;
        errno = 0;
        x[dims++] = strtoll(p, &end, 10);
        if (errno || end == p) break;
        p = end;
        if (*p != ',') break;
        p++;
    }
    if (*p || dims < 2 || x[0] < 1 || x[1] < 1 || x[0] > 65535 || x[1] > 65535 ||
        (dims == 3 && x[2] != 1 && x[2] != 3))
        return refuse(b, 400, "shape", "query parameter shape must be H,W or H,W,C (positive "
                      "integers, C 1 or 3), got '%.40s'", v);
    *out = (svc_shape){(int)x[0], (int)x[1], dims == 3 ? (int)x[2] : 1};
    return 0;
}

/* ?name= one of names (case-insensitive): *out its index, dflt when absent; 400 else. */
static int enum_param(api_req *r, const char *name, const char *const *names, int dflt,
                      int *out, refusal *b)
{
    const char *v = query(r, name);
    *out = dflt;
    if (!v) return 0;
    for (int i = 0; names[i]; i++)
        if (strcasecmp(v, names[i]) == 0) {
            *out = i;
            return 0;
        }
    char list[128] = "";
    for (int i = 0; names[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 names[i]);
    return refuse(b, 400, name, "query parameter %s: unknown value '%.40s' (allowed: %s)", name,
                  v, list);
}

/* Whether the header value h names media type t (case-insensitive). */
static int names_type(const char *h, const char *t)
{
    size_t n = strlen(t);
    for (; h && *h; h++)
        if (strncasecmp(h, t, n) == 0) return 1;
    return 0;
}

/* FMT_* from ?format= (json, png, and npy when npy), else from the Accept header. */
static int format_param(api_req *r, int npy, int *out, refusal *b)
{
    static const char *const with_npy[] = {"json", "png", "npy", NULL};
    static const char *const plain[] = {"json", "png", NULL};
    const char *accept = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept");
    *out = FMT_JSON;
    if (query(r, "format")) return enum_param(r, "format", npy ? with_npy : plain, 0, out, b);
    if (names_type(accept, "image/png")) *out = FMT_PNG;
    else if (npy && names_type(accept, "application/x-npy")) *out = FMT_NPY;
    return 0;
}

/* ---- replies ----------------------------------------------------------------------------- */

/* A number, or null when not finite. New reference. */
static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static int reply_png(api_req *r, unsigned char *pix, int w, int h, int c)
{
    void *buf = NULL;
    size_t len = 0;
    dc_err e = {0};
    int rc = png_encode(&buf, &len, pix, w, h, c, &e);
    free(pix);
    rc = rc < 0 ? api_reply_err(r, rc, &e) : api_reply_buf(r, 200, "image/png", buf, len);
    free(buf);
    return rc;
}

/* count images (h, w, c floats in [0, 1]) in a grid of cols per row, PAD pixels apart. */
static int reply_grid(api_req *r, const svc_images *im, int cols)
{
    unsigned char *pix = NULL;
    int gw, gh;
    dc_err e = {0};
    int rc = png_grid(&pix, &gw, &gh, im->px, im->count, im->h, im->w, im->c, cols, PAD, &e);
    return rc < 0 ? api_reply_err(r, rc, &e) : reply_png(r, pix, gw, gh, im->c);
}

/* Columns of a grid of n images alone: ceil(sqrt(n)). */
static int square_cols(int n)
{
    int c = 1;
    while (c * c < n) c++;
    return c;
}

/* ---- routes ------------------------------------------------------------------------------ */

/* GET /v1/jobs/{id}/confusion[?format=json|png]
 *   200 {job, k, n, n_classes, classes, matrix (k x n_classes counts), mapping, acc}, or a
 *   PNG heatmap of the row-normalised matrix (rows clusters, columns class indices; grey:
 *   an empty cluster). 404, 409, 422 no labels. */
int api_h_job_confusion(api_req *r)
{
    svc_confusion c;
    dc_err e = {0};
    refusal b;
    int fmt, rc;

    if (!service(r)) return api_problem(r, 503, "the clustering service is not running");
    if (format_param(r, 0, &fmt, &b) < 0) return reply_refusal(r, &b);
    if ((rc = svc_job_confusion(service(r), api_param(r, "id"), &c, &e)) < 0)
        return api_reply_err(r, rc, &e);
    if (fmt == FMT_PNG) {
        double *v = malloc(sizeof *v * (size_t)c.k * c.c);
        unsigned char *pix = NULL;
        int w, h, big = c.k > c.c ? c.k : c.c, cell = 512 / big;
        cell = cell < 4 ? 4 : cell > 32 ? 32 : cell;
        for (int i = 0; v && i < c.k; i++) {
            int64_t sum = 0;
            for (int j = 0; j < c.c; j++) sum += c.counts[(size_t)i * c.c + j];
            for (int j = 0; j < c.c; j++)
                v[(size_t)i * c.c + j] = sum ? (double)c.counts[(size_t)i * c.c + j] / sum : NAN;
        }
        rc = !v ? DC_ENOMEM : plot_heatmap(&pix, &w, &h, v, c.k, c.c, cell, &e);
        free(v);
        rc = rc < 0 ? api_reply_err(r, rc, &e) : reply_png(r, pix, w, h, 3);
        svc_confusion_free(&c);
        return rc;
    }
    json_t *classes = json_array(), *matrix = json_array(), *mapping = json_array();
    for (int j = 0; classes && j < c.c; j++) json_array_append_new(classes, json_integer(c.classes[j]));
    for (int i = 0; matrix && i < c.k; i++) {
        json_t *row = json_array();
        for (int j = 0; row && j < c.c; j++)
            json_array_append_new(row, json_integer(c.counts[(size_t)i * c.c + j]));
        json_array_append_new(matrix, row);
        if (mapping) json_array_append_new(mapping, json_integer(c.mapping[i]));
    }
    json_t *o = json_pack("{s:s, s:i, s:I, s:i, s:o, s:o, s:o, s:o}", "job", api_param(r, "id"),
                          "k", c.k, "n", (json_int_t)c.n, "n_classes", c.c, "classes", classes,
                          "matrix", matrix, "mapping", mapping, "acc", num(c.acc));
    svc_confusion_free(&c);
    return api_reply_json(r, 200, o);
}

/* GET /v1/jobs/{id}/samples[?cluster=c|all][&n=1..64][&order=confident|random][&seed=]
 *                           [&shape=H,W[,C]][&format=json|png]
 *   200 {job, k, order, n, clusters: [{cluster, size, samples: [{index, q}]}]}: the n
 *   members of each cluster with the highest q (or a seeded random n); PNG: one row of
 *   n images per cluster (cluster=all, the default), or a square grid of one cluster's. */
int api_h_job_samples(api_req *r)
{
    static const char *const orders[] = {"confident", "random", NULL};
    svc_sample_req rq = {0};
    svc_samples p;
    dc_err e = {0};
    refusal b;
    int fmt, rc;

    if (!service(r)) return api_problem(r, 503, "the clustering service is not running");
    if (format_param(r, 0, &fmt, &b) < 0 || cluster_param(r, &rq.cluster, &b) < 0 ||
        int_param(r, "n", 10, 1, SVC_PICS_MAX, &rq.n, &b) < 0 ||
        enum_param(r, "order", orders, SVC_ORDER_CONFIDENT, &rq.order, &b) < 0 ||
        seed_param(r, &rq.seed, &b) < 0 || shape_param(r, &rq.shape, &b) < 0)
        return reply_refusal(r, &b);
    rq.images = fmt == FMT_PNG;
    if ((rc = svc_job_samples(service(r), api_param(r, "id"), &rq, &p, &e)) < 0)
        return api_reply_err(r, rc, &e);
    if (fmt == FMT_PNG) {
        rc = reply_grid(r, &p.images, rq.cluster < 0 ? p.n : square_cols(p.count[0]));
        svc_samples_free(&p);
        return rc;
    }
    json_t *clusters = json_array();
    for (int row = 0; clusters && row < p.rows; row++) {
        json_t *ss = json_array();
        for (int i = 0; ss && i < p.count[row]; i++)
            json_array_append_new(ss, json_pack("{s:I, s:o}", "index",
                                                (json_int_t)p.index[(size_t)row * p.n + i], "q",
                                                num(p.q[(size_t)row * p.n + i])));
        json_array_append_new(clusters, json_pack("{s:i, s:I, s:o}", "cluster", p.cluster[row],
                                                  "size", (json_int_t)p.size[row], "samples", ss));
    }
    json_t *o = json_pack("{s:s, s:i, s:s, s:i, s:o}", "job", api_param(r, "id"), "k", p.k,
                          "order", orders[rq.order], "n", rq.n, "clusters", clusters);
    svc_samples_free(&p);
    return api_reply_json(r, 200, o);
}

/* GET /v1/jobs/{id}/reconstructions[?n=1..64][&seed=][&shape=H,W[,C]][&format=json|png]
 *   200 {job, samples: [{index, error}]} for n training samples drawn with seed (error:
 *   mean squared error); PNG: the originals in one row, their reconstructions below.
 *   422 for a model without a decoder (kmeans). */
int api_h_job_reconstructions(api_req *r)
{
    svc_shape shape;
    svc_recons p;
    uint64_t seed;
    dc_err e = {0};
    refusal b;
    int fmt, n, rc;

    if (!service(r)) return api_problem(r, 503, "the clustering service is not running");
    if (format_param(r, 0, &fmt, &b) < 0 || int_param(r, "n", 8, 1, SVC_PICS_MAX, &n, &b) < 0 ||
        seed_param(r, &seed, &b) < 0 || shape_param(r, &shape, &b) < 0)
        return reply_refusal(r, &b);
    rc = svc_job_reconstructions(service(r), api_param(r, "id"), n, seed, fmt == FMT_PNG, shape,
                                 &p, &e);
    if (rc < 0) return api_reply_err(r, rc, &e);
    if (fmt == FMT_PNG) {
        rc = reply_grid(r, &p.images, p.count);
        svc_recons_free(&p);
        return rc;
    }
    json_t *ss = json_array();
    for (int i = 0; ss && i < p.count; i++)
        json_array_append_new(ss, json_pack("{s:I, s:o}", "index", (json_int_t)p.index[i],
                                            "error", num(p.error[i])));
    svc_recons_free(&p);
    return api_reply_json(r, 200, json_pack("{s:s, s:o}", "job", api_param(r, "id"), "samples",
                                            ss));
}

/* rows x d float32 as an NPY file (version 1.0, '<f4', C order); malloc'd into *out. */
static int npy_f32(const float *x, int rows, int d, void **out, size_t *len)
{
    char head[128];
    int hl = snprintf(head, sizeof head, "{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (%d, %d), }", rows, d);
    int total_head = 10 + hl + 1, pad = (64 - total_head % 64) % 64;
    size_t body = sizeof(float) * (size_t)rows * d;
    unsigned char *p = malloc((size_t)total_head + pad + body);
    if (!p) return DC_ENOMEM;
    memcpy(p, "\x93NUMPY\x01\x00", 8);
    int hlen = hl + pad + 1;
    p[8] = (unsigned char)(hlen & 0xff), p[9] = (unsigned char)(hlen >> 8);
    memcpy(p + 10, head, (size_t)hl);
    memset(p + 10 + hl, ' ', (size_t)pad);
    p[10 + hl + pad] = '\n';
    memcpy(p + 10 + hlen, x, body); /* little-endian hosts, as the predict body */
    *out = p;
    *len = (size_t)10 + hlen + body;
    return 0;
}

/* GET /v1/models/{id}/generate[?cluster=c|all][&n=1..64][&seed=][&shape=H,W[,C]]
 *                             [&format=json|png|npy]
 *   vae models: n samples of cluster c (or of each cluster; cluster c is drawn with
 *   seed + c). 200 {model, k, n, d, clusters: [{cluster, samples: [[d floats]]}]}; PNG a
 *   square grid (one cluster) or one row per cluster; NPY float32 (rows, d), the clusters'
 *   samples one after the other. 422 for other methods. */
int api_h_model_generate(api_req *r)
{
    svc_shape shape;
    svc_generated g;
    uint64_t seed;
    dc_err e = {0};
    refusal b;
    int fmt, cluster, n, rc;

    if (!service(r)) return api_problem(r, 503, "the clustering service is not running");
    if (format_param(r, 1, &fmt, &b) < 0 || cluster_param(r, &cluster, &b) < 0 ||
        int_param(r, "n", 8, 1, SVC_PICS_MAX, &n, &b) < 0 || seed_param(r, &seed, &b) < 0 ||
        shape_param(r, &shape, &b) < 0)
        return reply_refusal(r, &b);
    rc = svc_model_generate(service(r), api_param(r, "id"), cluster, n, seed, fmt == FMT_PNG,
                            shape, &g, &e);
    if (rc < 0) return api_reply_err(r, rc, &e);
    if (fmt == FMT_PNG) {
        svc_images im = {g.rows * g.n, g.shape.h, g.shape.w, g.shape.c, g.x};
        rc = reply_grid(r, &im, cluster < 0 ? g.n : square_cols(g.n));
    } else if (fmt == FMT_NPY) {
        void *buf = NULL;
        size_t len = 0;
        rc = npy_f32(g.x, g.rows * g.n, g.d, &buf, &len);
        rc = rc < 0 ? api_problem(r, 503, "out of memory")
                    : api_reply_buf(r, 200, "application/x-npy", buf, len);
        free(buf);
    } else {
        json_t *clusters = json_array();
        for (int row = 0; clusters && row < g.rows; row++) {
            json_t *ss = json_array();
            for (int i = 0; ss && i < g.n; i++) {
                json_t *v = json_array();
                const float *x = g.x + ((size_t)row * g.n + i) * g.d;
                for (int j = 0; v && j < g.d; j++) json_array_append_new(v, num(x[j]));
                json_array_append_new(ss, v);
            }
            json_array_append_new(clusters, json_pack("{s:i, s:o}", "cluster", g.cluster[row],
                                                      "samples", ss));
        }
        rc = api_reply_json(r, 200, json_pack("{s:s, s:i, s:i, s:i, s:o}", "model",
                                              api_param(r, "id"), "k", g.k, "n", g.n, "d", g.d,
                                              "clusters", clusters));
    }
    svc_generated_free(&g);
    return rc;
}

/* GET /v1/jobs/{id}/embedding[?n=10..5000][&format=json|png]
 *   200 {job, source: pca|manifold, k, points: [{index, x, y, cluster, label}],
 *   centroids: [{cluster, x, y}]}: n points (default 2000) sampled evenly across clusters,
 *   label null without labels; PNG a 480 x 480 scatter coloured by cluster, centroids as
 *   black crosses. */
int api_h_job_embedding(api_req *r)
{
    svc_embedding m;
    dc_err e = {0};
    refusal b;
    int fmt, n, rc;

    if (!service(r)) return api_problem(r, 503, "the clustering service is not running");
    if (format_param(r, 0, &fmt, &b) < 0 ||
        int_param(r, "n", 2000, SVC_MAP_MIN, SVC_MAP_MAX, &n, &b) < 0)
        return reply_refusal(r, &b);
    if ((rc = svc_job_embedding(service(r), api_param(r, "id"), n, &m, &e)) < 0)
        return api_reply_err(r, rc, &e);
    if (fmt == FMT_PNG) {
        unsigned char *pix = NULL;
        int *group = malloc(sizeof *group * (size_t)(m.count + 1));
        for (int i = 0; group && i < m.count; i++) group[i] = m.cluster[i];
        rc = !group ? DC_ENOMEM
                    : plot_scatter(&pix, MAP_PX, MAP_PX, m.xy, group, (size_t)m.count,
                                   m.centroid_xy, m.k, &e);
        free(group);
        rc = rc < 0 ? api_reply_err(r, rc, &e) : reply_png(r, pix, MAP_PX, MAP_PX, 3);
        svc_embedding_free(&m);
        return rc;
    }
    json_t *pts = json_array(), *cen = json_array();
    for (int i = 0; pts && i < m.count; i++)
        json_array_append_new(pts, json_pack("{s:I, s:o, s:o, s:i, s:o}", "index",
                                             (json_int_t)m.index[i], "x", num(m.xy[2 * i]), "y",
                                             num(m.xy[2 * i + 1]), "cluster", m.cluster[i],
                                             "label", m.label ? json_integer(m.label[i])
                                                              : json_null()));
    for (int c = 0; cen && c < m.k; c++)
        json_array_append_new(cen, json_pack("{s:i, s:o, s:o}", "cluster", c, "x",
                                             num(m.centroid_xy[2 * c]), "y",
                                             num(m.centroid_xy[2 * c + 1])));
    json_t *o = json_pack("{s:s, s:s, s:i, s:o, s:o}", "job", api_param(r, "id"), "source",
                          m.source, "k", m.k, "points", pts, "centroids", cen);
    svc_embedding_free(&m);
    return api_reply_json(r, 200, o);
}

/* The three outlier scores of one sample (reconstruction null without a decoder). New
 * reference. */
json_t *api_outlier_scores_json(float iforest, float confidence, float recon)
{
    return json_pack("{s:o, s:o, s:o}", "iforest", num(iforest), "confidence", num(confidence),
                     "reconstruction", num(recon));
}

/* GET /v1/jobs/{id}/outliers[?n=1..1000][&by=iforest|confidence|reconstruction]
 *                           [&shape=H,W[,C]][&format=json|png]
 *   200 {job, by, samples: [{index, iforest, confidence, reconstruction, cluster, label}]}:
 *   the n (default 20) training samples with the highest score `by`, most atypical first;
 *   PNG a square grid of their images. 422 by=reconstruction without a decoder. */
int api_h_job_outliers(api_req *r)
{
    static const char *const bys[] = {"iforest", "confidence", "reconstruction", NULL};
    svc_shape shape;
    svc_outliers p;
    dc_err e = {0};
    refusal b;
    int fmt, n, by, rc;

    if (!service(r)) return api_problem(r, 503, "the clustering service is not running");
    if (format_param(r, 0, &fmt, &b) < 0 ||
        int_param(r, "n", 20, 1, SVC_OUTLIERS_MAX, &n, &b) < 0 ||
        enum_param(r, "by", bys, SVC_BY_IFOREST, &by, &b) < 0 || shape_param(r, &shape, &b) < 0)
        return reply_refusal(r, &b);
    rc = svc_job_outliers(service(r), api_param(r, "id"), n, by, fmt == FMT_PNG, shape, &p, &e);
    if (rc < 0) return api_reply_err(r, rc, &e);
    if (fmt == FMT_PNG) {
        rc = reply_grid(r, &p.images, square_cols(p.count));
        svc_outliers_free(&p);
        return rc;
    }
    json_t *ss = json_array();
    for (int i = 0; ss && i < p.count; i++)
        json_array_append_new(ss, json_pack("{s:I, s:o, s:o, s:o, s:i, s:o}", "index",
                                            (json_int_t)p.index[i], "iforest", num(p.iforest[i]),
                                            "confidence", num(p.confidence[i]), "reconstruction",
                                            num(p.recon[i]), "cluster", p.cluster[i], "label",
                                            p.label ? json_integer(p.label[i]) : json_null()));
    svc_outliers_free(&p);
    return api_reply_json(r, 200, json_pack("{s:s, s:s, s:o}", "job", api_param(r, "id"), "by",
                                            bys[by], "samples", ss));
}
