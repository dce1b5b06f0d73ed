/* data_dataset.c: the in-memory dataset, the whole-file loaders built on the streaming
 * reader (data.c), and the DCF32 writer. */
#include "data.h"
#include "dc_size.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* First allocation, in bytes, when a file's row count cannot be trusted (CSV, some .gz):
 * then buffers double as rows arrive. The fuzz build (fuzz/) makes it 64 bytes so that
 * short inputs go through the growth; any size gives the same results. */
#ifndef DC_DATA_FIRST_ALLOC
#define DC_DATA_FIRST_ALLOC (1 << 22)
#endif

/* ---- dataset ------------------------------------------------------------------------ */

void dataset_free(dataset *ds)
{
    if (!ds) return;
    free(ds->x);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

/* n*d floats fit in size_t bytes? */
static int size_ok(int64_t n, int64_t d, size_t elem, size_t *bytes)
{
    return dc_mul3_size(n, d, (int64_t)elem, bytes) == 0;
}

int dataset_alloc(dataset *ds, int64_t n, int d, int with_labels, dc_err *e)
{
    size_t bx, bl;
    if (!ds || n < 1 || d < 1 || !size_ok(n, d, sizeof(float), &bx) ||
        !size_ok(n, 1, sizeof(int32_t), &bl))
        return dc_err_set(e, DC_EINVAL, "dataset_alloc: bad shape n = %lld, d = %d",
                          (long long)n, d);
    memset(ds, 0, sizeof *ds);
    ds->x = calloc(1, bx);
    if (with_labels) ds->labels = calloc(1, bl);
    if (!ds->x || (with_labels && !ds->labels)) {
        dataset_free(ds);
        return dc_err_set(e, DC_ENOMEM, "out of memory for %lld x %d floats", (long long)n, d);
    }
    ds->n = n;
    ds->d = d;
    return 0;
}

/* ---- loaders ------------------------------------------------------------------------ */

int dataset_load(dataset *ds, const char *path, data_format fmt, const data_opts *opts,
                 dc_err *e)
{
    data_reader *r = NULL;
    dataset t = {0};
    int rc;
    if (!ds || !path) return dc_err_set(e, DC_EINVAL, "dataset_load: NULL argument");
    rc = data_reader_open(&r, path, fmt, opts, e);
    if (rc) goto out;
    const data_info *in = data_reader_info(r);
    if (in->labels_only) {
        rc = dc_err_set(e, DC_EINVAL, "%s: a 1-D array of %lld values is a label file "
                        "(load it with data_load_labels)", path, (long long)in->n);
        goto out;
    }
    /* Allocate n rows at once when the header's n is backed by the file's size; else
     * (CSV, a .gz whose trailer disagrees) grow as rows arrive, so that a lying header
     * costs no more memory than the data that is really there. */
    int64_t limit = in->n > 0 ? in->n : INT64_MAX, cap = 0, n = 0, got;
    int64_t first = in->size_checked ? limit : DC_DATA_FIRST_ALLOC / 4 / in->d + 1;
    t.d = in->d;
    for (;;) {
        if (n == limit) break; /* all rows: the reader has checked the end */
        if (n == cap) {
            int64_t nc = cap ? (cap > limit / 2 ? limit : cap * 2) : (first < limit ? first : limit);
            size_t bx;
            if (!size_ok(nc, t.d, sizeof(float), &bx)) {
                rc = dc_err_set(e, DC_ENOMEM, "%s: too many rows", path);
                goto out;
            }
            float *nx = realloc(t.x, bx);
            if (!nx) {
                rc = dc_err_set(e, DC_ENOMEM, "%s: out of memory for %lld rows of %d", path,
                                (long long)nc, t.d);
                goto out;
            }
            t.x = nx;
            if (in->has_labels) {
                int32_t *nl = realloc(t.labels, (size_t)nc * sizeof *nl);
                if (!nl) {
                    rc = dc_err_set(e, DC_ENOMEM, "%s: out of memory for %lld labels", path,
                                    (long long)nc);
                    goto out;
                }
                t.labels = nl;
            }
            cap = nc;
        }
        rc = data_reader_next(r, t.x + n * t.d, t.labels ? t.labels + n : NULL, cap - n, &got,
                              e);
        if (rc) goto out;
        if (got == 0) break;
        n += got;
    }
    if (n == 0) { /* the reader refuses empty files; kept as a guard */
        rc = dc_err_set(e, DC_EFORMAT, "%s: no rows", path);
        goto out;
    }
    t.n = n;
    if (cap > n) {
        float *nx = realloc(t.x, (size_t)n * (size_t)t.d * sizeof(float));
        if (nx) t.x = nx;
        if (t.labels) {
            int32_t *nl = realloc(t.labels, (size_t)n * sizeof *nl);
            if (nl) t.labels = nl;
        }
    }
    t.h = in->h;
    t.w = in->w;
    t.c = in->c;
    *ds = t;
    memset(&t, 0, sizeof t);
out:
    dataset_free(&t);
    data_reader_close(r);
    return rc;
}

int data_load_labels(int32_t **labels, int64_t *n, const char *path, data_format fmt,
                     dc_err *e)
{
    data_reader *r = NULL;
    int32_t *lab = NULL;
    int64_t cap = 0, cnt = 0, got;
    int rc;
    data_opts o = {.scale = DATA_SCALE_NONE};
    if (!labels || !n || !path) return dc_err_set(e, DC_EINVAL, "data_load_labels: NULL argument");
    *labels = NULL;
    *n = 0;
    rc = data_reader_open(&r, path, fmt, &o, e);
    if (rc) goto out;
    const data_info *in = data_reader_info(r);
    if (in->d != 1) {
        rc = dc_err_set(e, DC_EFORMAT, "%s: not a label file: %d values per row, expected 1",
                        path, in->d);
        goto out;
    }
    for (;;) {
        if (in->n > 0 && cnt == in->n) break; /* all read; the reader checked the end */
        if (cnt == cap) {
            int64_t limit = in->n > 0 ? in->n : INT64_MAX;
            int64_t nc = in->size_checked ? limit : cap ? cap * 2 : DC_DATA_FIRST_ALLOC / 64;
            if (nc > limit) nc = limit;
            int32_t *nl = (uint64_t)nc > SIZE_MAX / sizeof *nl ? NULL
                                                                : realloc(lab, (size_t)nc * sizeof *nl);
            if (!nl) {
                rc = dc_err_set(e, DC_ENOMEM, "%s: out of memory for %lld labels", path,
                                (long long)nc);
                goto out;
            }
            lab = nl;
            cap = nc;
        }
        rc = data_reader_next_labels(r, lab + cnt, cap - cnt, &got, e);
        if (rc) goto out;
        if (got == 0) break;
        cnt += got;
    }
    *labels = lab;
    *n = cnt;
    lab = NULL;
out:
    free(lab);
    data_reader_close(r);
    return rc;
}

int dataset_attach_labels(dataset *ds, const int32_t *labels, int64_t n, dc_err *e)
{
    if (!ds || !labels) return dc_err_set(e, DC_EINVAL, "dataset_attach_labels: NULL argument");
    if (n != ds->n)
        return dc_err_set(e, DC_EINVAL, "%lld labels for %lld samples", (long long)n,
                          (long long)ds->n);
    int32_t *l = malloc((size_t)n * sizeof *l);
    if (!l) return dc_err_set(e, DC_ENOMEM, "out of memory for %lld labels", (long long)n);
    memcpy(l, labels, (size_t)n * sizeof *l);
    free(ds->labels);
    ds->labels = l;
    return 0;
}

int dataset_load_labels(dataset *ds, const char *path, data_format fmt, dc_err *e)
{
    int32_t *lab = NULL;
    int64_t n = 0;
    if (!ds) return dc_err_set(e, DC_EINVAL, "dataset_load_labels: NULL argument");
    int rc = data_load_labels(&lab, &n, path, fmt, e);
    if (rc) goto out;
    if (n != ds->n) {
        rc = dc_err_set(e, DC_EFORMAT, "%s: %lld labels for a dataset of %lld samples", path,
                        (long long)n, (long long)ds->n);
        goto out;
    }
    free(ds->labels);
    ds->labels = lab;
    lab = NULL;
out:
    free(lab);
    return rc;
}

int dataset_concat(dataset *out, const dataset *a, const dataset *b, dc_err *e)
{
    dataset t = {0};
    size_t bx;
    int rc = 0;
    if (!out || !a || !b || !a->x || !b->x)
        return dc_err_set(e, DC_EINVAL, "dataset_concat: NULL argument");
    if (a->d != b->d)
        return dc_err_set(e, DC_EINVAL, "dataset_concat: d differs (%d vs %d)", a->d, b->d);
    if (!a->labels != !b->labels)
        return dc_err_set(e, DC_EINVAL, "dataset_concat: only the %s dataset has labels",
                          a->labels ? "first" : "second");
    int64_t n;
    if (dc_add_i64(a->n, b->n, &n) < 0 || !size_ok(n, a->d, sizeof(float), &bx))
        return dc_err_set(e, DC_EINVAL, "dataset_concat: too many rows");
    rc = dataset_alloc(&t, n, a->d, a->labels != NULL, e);
    if (rc) return rc;
    size_t ra = (size_t)a->n * (size_t)a->d;
    memcpy(t.x, a->x, ra * sizeof(float));
    memcpy(t.x + ra, b->x, (size_t)b->n * (size_t)b->d * sizeof(float));
    if (t.labels) {
        memcpy(t.labels, a->labels, (size_t)a->n * sizeof(int32_t));
        memcpy(t.labels + a->n, b->labels, (size_t)b->n * sizeof(int32_t));
    }
    if (a->h == b->h && a->w == b->w && a->c == b->c) {
        t.h = a->h;
        t.w = a->w;
        t.c = a->c;
    }
    if (out == a || out == b) dataset_free(out);
    *out = t;
    return rc;
}

/* ---- DCF32 writer ------------------------------------------------------------------- */

struct dcf32_writer {
    FILE *f;
    char *path;
    int d;
    int64_t n;
    int failed;
};

static void put_le(unsigned char *p, uint64_t v, int size)
{
    for (int i = 0; i < size; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static int host_is_le(void)
{
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

int dcf32_writer_open(dcf32_writer **out, const char *path, int d, int h, int wd, int c,
                      dc_err *e)
{
    dcf32_writer *w = NULL;
    unsigned char hdr[32] = "DCF32";
    int rc = 0;
    if (!out || !path) return dc_err_set(e, DC_EINVAL, "dcf32_writer_open: NULL argument");
    *out = NULL;
    int img = h || wd || c;
    int64_t hwc = 0;
    if (d < 1 || (img && (h < 1 || wd < 1 || c < 1 ||
                          dc_mul_i64((int64_t)h * wd, c, &hwc) < 0 || hwc != d)))
        return dc_err_set(e, DC_EINVAL, "%s: bad shape d = %d, image %d x %d x %d", path, d, h,
                          wd, c);
    w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        rc = dc_err_set(e, DC_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    w->d = d;
    w->f = fopen(path, "wb");
    if (!w->f) {
        rc = dc_err_set(e, DC_EIO, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    put_le(hdr + 6, 1, 2);
    put_le(hdr + 8, 0, 8);
    put_le(hdr + 16, (uint32_t)d, 4);
    put_le(hdr + 20, (uint32_t)h, 4);
    put_le(hdr + 24, (uint32_t)wd, 4);
    put_le(hdr + 28, (uint32_t)c, 4);
    if (fwrite(hdr, 1, 32, w->f) != 32) {
        rc = dc_err_set(e, DC_EIO, "%s: write failed: %s", path, strerror(errno));
        goto out;
    }
out:
    if (rc) {
        dcf32_writer_abort(w);
        w = NULL;
    }
    *out = w;
    return rc;
}

int dcf32_writer_write(dcf32_writer *w, const float *rows, int64_t nrows, dc_err *e)
{
    if (!w || (!rows && nrows) || nrows < 0)
        return dc_err_set(e, DC_EINVAL, "dcf32_writer_write: bad argument");
    if (w->failed) return dc_err_set(e, DC_EINVAL, "%s: writer used after an error", w->path);
    size_t m = (size_t)nrows * (size_t)w->d;
    for (size_t i = 0; i < m; i++)
        if (!isfinite(rows[i])) {
            w->failed = 1;
            return dc_err_set(e, DC_EINVAL, "%s: non-finite value at row %lld, column %lld",
                              w->path, (long long)(w->n + (int64_t)(i / (size_t)w->d)),
                              (long long)(i % (size_t)w->d));
        }
    if (host_is_le()) {
        if (fwrite(rows, sizeof(float), m, w->f) != m) goto io;
    } else {
        for (size_t i = 0; i < m; i++) {
            uint32_t u;
            unsigned char b[4];
            memcpy(&u, rows + i, 4);
            put_le(b, u, 4);
            if (fwrite(b, 1, 4, w->f) != 4) goto io;
        }
    }
    w->n += nrows;
    return 0;
io:
    w->failed = 1;
    return dc_err_set(e, DC_EIO, "%s: write failed: %s", w->path, strerror(errno));
}

int dcf32_writer_close(dcf32_writer *w, dc_err *e)
{
    int rc = 0;
    unsigned char nb[8];
    if (!w) return dc_err_set(e, DC_EINVAL, "dcf32_writer_close: NULL writer");
    if (w->failed) {
        rc = dc_err_set(e, DC_EINVAL, "%s: writer closed after an error", w->path);
        goto out;
    }
    if (w->n == 0) {
        rc = dc_err_set(e, DC_EINVAL, "%s: no rows written", w->path);
        goto out;
    }
    put_le(nb, (uint64_t)w->n, 8);
    if (fflush(w->f) || fseek(w->f, 8, SEEK_SET) || fwrite(nb, 1, 8, w->f) != 8 ||
        fflush(w->f) || fsync(fileno(w->f))) {
        rc = dc_err_set(e, DC_EIO, "%s: finishing the file failed: %s", w->path, strerror(errno));
        goto out;
    }
out:
    if (fclose(w->f) && !rc)
        rc = dc_err_set(e, DC_EIO, "%s: close failed: %s", w->path, strerror(errno));
    free(w->path);
    free(w);
    return rc;
}

void dcf32_writer_abort(dcf32_writer *w)
{
    if (!w) return;
    if (w->f) {
        fclose(w->f);
        remove(w->path);
    }
    free(w->path);
    free(w);
}

int dataset_save_dcf32(const dataset *ds, const char *path, dc_err *e)
{
    dcf32_writer *w = NULL;
    if (!ds || !ds->x) return dc_err_set(e, DC_EINVAL, "dataset_save_dcf32: NULL dataset");
    int rc = dcf32_writer_open(&w, path, ds->d, ds->h, ds->w, ds->c, e);
    if (rc) return rc;
    rc = dcf32_writer_write(w, ds->x, ds->n, e);
    if (rc) {
        dcf32_writer_abort(w);
        return rc;
    }
    return dcf32_writer_close(w, e);
}
