/* fuzz_data: the data loaders of core/data*.c (IDX, IDX.gz or any gzip member, NPY,
 * CSV, DCF32, label files) on arbitrary bytes.
 *
 * Input: byte 0 picks the format (AUTO, IDX, NPY, CSV, DCF32: b0 % 5) and the entry point
 * ((b0 / 5) % 3: dataset_load, data_load_labels, or the streaming reader in blocks of 3
 * rows); byte 1 the options (bits 0-1 scale, 2-3 csv_header, 4 csv_has_label, 5-6
 * csv_label_col - 2, 7 allow_nonfinite); the rest is the file, written to a memfd.
 * Every load must succeed with a sane dataset or fail with a message; never crash. */
#include <math.h>

#include "data.h"
#include "fuzz_util.h"

static void check_rows(const float *x, int64_t n, int d, int allow_nonfinite)
{
    if (allow_nonfinite) return;
    for (int64_t i = 0; i < n * d; i++)
        FUZZ_CHECK(isfinite(x[i]), "value %lld is not finite", (long long)i);
}

static void run_dataset(const char *path, data_format fmt, const data_opts *o)
{
    dataset ds = {0};
    dc_err e = {0};
    int rc = dataset_load(&ds, path, fmt, o, &e);
    if (rc < 0) {
        FUZZ_CHECK(e.msg[0] != 0, "error %d without a message", rc);
        FUZZ_CHECK(ds.x == NULL && ds.labels == NULL, "failed load left buffers");
        return;
    }
    FUZZ_CHECK(ds.n >= 1 && ds.d >= 1 && ds.x, "n %lld d %d", (long long)ds.n, ds.d);
    FUZZ_CHECK((ds.h == 0 && ds.w == 0 && ds.c == 0) || (int64_t)ds.h * ds.w * ds.c == ds.d,
               "shape %dx%dx%d for d %d", ds.h, ds.w, ds.c, ds.d);
    check_rows(ds.x, ds.n, ds.d, o->allow_nonfinite);
    dataset_free(&ds);
}

static void run_labels(const char *path, data_format fmt)
{
    int32_t *lab = NULL;
    int64_t n = 0;
    dc_err e = {0};
    int rc = data_load_labels(&lab, &n, path, fmt, &e);
    if (rc < 0) {
        FUZZ_CHECK(e.msg[0] != 0, "error %d without a message", rc);
        return;
    }
    FUZZ_CHECK(n >= 1 && lab, "n %lld", (long long)n);
    int64_t sum = 0;
    for (int64_t i = 0; i < n; i++) sum += lab[i]; /* ASan: all n are there */
    FUZZ_CHECK(sum >= (int64_t)INT32_MIN * n && sum <= (int64_t)INT32_MAX * n, "sum %lld",
               (long long)sum);
    free(lab);
}

static void run_stream(const char *path, data_format fmt, const data_opts *o)
{
    data_reader *r = NULL;
    dc_err e = {0};
    int rc = data_reader_open(&r, path, fmt, o, &e);
    if (rc < 0) {
        FUZZ_CHECK(r == NULL && e.msg[0], "open failed (%d) badly", rc);
        return;
    }
    const data_info *in = data_reader_info(r);
    FUZZ_CHECK(in->d >= 1 && in->format != DATA_FMT_AUTO, "d %d format %d", in->d, in->format);
    if ((size_t)in->d > ((size_t)64 << 20) / (3 * sizeof(float))) goto out; /* huge rows */
    float *rows = malloc((size_t)3 * in->d * sizeof(float));
    int32_t lab[3];
    int64_t got = 0, total = 0;
    FUZZ_CHECK(rows != NULL, "out of memory");
    if (in->labels_only) {
        while ((rc = data_reader_next_labels(r, lab, 3, &got, &e)) == 0 && got > 0) total += got;
    } else {
        while ((rc = data_reader_next(r, rows, lab, 3, &got, &e)) == 0 && got > 0) {
            check_rows(rows, got, in->d, o->allow_nonfinite);
            total += got;
        }
    }
    if (rc == 0) {
        FUZZ_CHECK(total == data_reader_rows(r), "rows %lld vs %lld", (long long)total,
                   (long long)data_reader_rows(r));
        FUZZ_CHECK(in->n < 0 || in->n == total, "header n %lld, read %lld", (long long)in->n,
                   (long long)total);
    } else {
        FUZZ_CHECK(e.msg[0] != 0, "error %d without a message", rc);
    }
    free(rows);
out:
    data_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    data_format fmt = (data_format)(data[0] % 5);
    int mode = (data[0] / 5) % 3;
    data_opts o = {
        .scale = (data[1] & 3) % 3,
        .csv_header = ((data[1] >> 2) & 3) % 3,
        .csv_has_label = (data[1] >> 4) & 1,
        .csv_label_col = ((data[1] >> 5) & 3) - 2,
        .allow_nonfinite = (data[1] >> 7) & 1,
    };
    const char *path = fuzz_memfile(data + 2, size - 2);
    if (mode == 0) run_dataset(path, fmt, &o);
    else if (mode == 1) run_labels(path, fmt);
    else run_stream(path, fmt, &o);
    return 0;
}
