/* bench_data: what the service does with an upload — stream a data file (any format)
 * through the reader into a DCF32 file with bounded memory — then the whole-file load.
 * Prints the time and peak RSS of each step.
 *
 *   bench_data IN [OUT.dcf32]     (OUT defaults to /tmp/bench_data.dcf32, removed after)
 *
 * e.g. bench_data ../shared/data/mnist/train-images-idx3-ubyte.gz */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "data.h"
#include "dc_time.h"

static double peak_mib(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_maxrss / 1024.0; /* Linux: KiB */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s IN [OUT.dcf32]\n", argv[0]);
        return 2;
    }
    const char *out = argc > 2 ? argv[2] : "/tmp/bench_data.dcf32";
    dc_err e = {0};
    data_reader *r = NULL;
    dcf32_writer *w = NULL;
    float *rows = NULL;
    int32_t *labels = NULL;
    int rc = 1;
    double rss0 = peak_mib(), t0 = dc_now_s();
    if (data_reader_open(&r, argv[1], DATA_FMT_AUTO, NULL, &e)) goto fail;
    const data_info *in = data_reader_info(r);
    int64_t chunk = (4 << 20) / ((int64_t)in->d * 4) + 1; /* about 4 MiB of rows */
    rows = malloc(sizeof(float) * (size_t)(chunk * in->d));
    labels = malloc(sizeof(int32_t) * (size_t)chunk);
    if (!rows || !labels) goto fail;
    if (dcf32_writer_open(&w, out, in->d, in->h, in->w, in->c, &e)) goto fail;
    int64_t got, total = 0;
    while (data_reader_next(r, rows, labels, chunk, &got, &e) == 0 && got > 0) {
        if (dcf32_writer_write(w, rows, got, &e)) goto fail;
        total += got;
    }
    if (e.code) goto fail;
    rc = dcf32_writer_close(w, &e);
    w = NULL;
    if (rc) goto fail;
    double t1 = dc_now_s(), rss1 = peak_mib();
    printf("stream %s (%s%s, %lld x %d) -> dcf32: %.3f s, peak RSS +%.1f MiB\n", argv[1],
           data_format_name(in->format), in->gzipped ? ".gz" : "", (long long)total, in->d,
           t1 - t0, rss1 - rss0);
    dataset ds = {0};
    if (dataset_load(&ds, argv[1], DATA_FMT_AUTO, NULL, &e)) goto fail;
    double t2 = dc_now_s();
    printf("dataset_load: %.3f s, peak RSS %.1f MiB\n", t2 - t1, peak_mib());
    dataset_free(&ds);
    if (dataset_load(&ds, out, DATA_FMT_AUTO, NULL, &e)) goto fail;
    printf("dataset_load of the dcf32 copy: %.3f s\n", dc_now_s() - t2);
    dataset_free(&ds);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "%s\n", e.msg[0] ? e.msg : "out of memory");
    rc = 1;
done:
    dcf32_writer_abort(w);
    data_reader_close(r);
    free(rows);
    free(labels);
    if (argc <= 2) unlink(out);
    return rc;
}
