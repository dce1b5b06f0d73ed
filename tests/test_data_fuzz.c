/* data under random damage: valid files of every format (plain and gzip) with bytes
 * flipped, inserted, deleted, or cut short, loaded thousands of times. Each load must
 * either succeed with a sane, finite dataset or fail with DC_EFORMAT/DC_EINVAL and a
 * message naming the file — never crash (run it under -DDC_SANITIZE=ON). (A damaged
 * file may still be valid: a flipped data byte, a dropped CSV row.) Seeded: the same run every time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data.h"
#include "data_testutil.h"
#include "rng.h"

typedef struct base {
    const char *name;
    bytes b;
    int64_t n; /* rows of the undamaged file */
} base;

static int64_t ok_loads, err_loads;

static void one(const char *path, const char *what, int iter)
{
    dataset ds = {0};
    dc_err e = {0};
    data_opts o = {0};
    int rc = dataset_load(&ds, path, DATA_FMT_AUTO, &o, &e);
    if (rc == 0) {
        ok_loads++;
        int sane = ds.n >= 1 && ds.d >= 1 && ds.x != NULL;
        for (int64_t i = 0; sane && i < ds.n * ds.d; i++) sane &= isfinite(ds.x[i]) != 0;
        CHECK_MSG(sane, "%s iter %d: success with an insane dataset n %lld d %d", what, iter,
                  (long long)ds.n, ds.d);
    } else {
        err_loads++;
        CHECK_MSG((rc == DC_EFORMAT || rc == DC_EINVAL) && strstr(e.msg, path) == e.msg,
                  "%s iter %d: rc %d msg \"%s\"", what, iter, rc, e.msg);
    }
    dataset_free(&ds);
}

int main(void)
{
    /* DC_FUZZ_SEED / DC_FUZZ_ITERS for longer manual runs */
    const char *es = getenv("DC_FUZZ_SEED"), *ei = getenv("DC_FUZZ_ITERS");
    rng g;
    rng_seed(&g, es ? strtoull(es, NULL, 10) : 20240601);
    base bs[5];
    /* IDX uint8 (40, 5, 5) */
    unsigned char px[40 * 25];
    for (int i = 0; i < 1000; i++) px[i] = (unsigned char)rng_below(&g, 256);
    bs[0] = (base){"idx", idx_bytes(0x08, 3, (uint32_t[]){40, 5, 5}, px, sizeof px), 40};
    /* NPY <f4 (30, 7) */
    float f[210];
    for (int i = 0; i < 210; i++) f[i] = (float)rng_normal(&g);
    bs[1] = (base){"npy", npy_bytes(1, "<f4", 0, "(30, 7)", f, sizeof f), 30};
    /* NPY <f8 (10, 3) */
    double dv[30];
    for (int i = 0; i < 30; i++) dv[i] = rng_normal(&g) * 100;
    bs[2] = (base){"npy8", npy_bytes(2, "<f8", 0, "(10, 3)", dv, sizeof dv), 10};
    /* CSV with header, 25 x 4 */
    bytes c = {0};
    b_put(&c, "a,b,c,d\n", 8);
    for (int i = 0; i < 25; i++) {
        char line[128];
        int k = snprintf(line, sizeof line, "%.4f,%.4f,%d,%.2e\n", rng_normal(&g),
                         rng_uniform(&g), (int)rng_below(&g, 10), rng_normal(&g) * 1e5);
        b_put(&c, line, (size_t)k);
    }
    bs[3] = (base){"csv", c, 25};
    /* DCF32 (20, 6) written by the writer */
    {
        const char *p = tmp_path("base.dcf32");
        dcf32_writer *w = NULL;
        dc_err e = {0};
        float x[120];
        for (int i = 0; i < 120; i++) x[i] = (float)rng_uniform(&g);
        if (dcf32_writer_open(&w, p, 6, 1, 2, 3, &e) || dcf32_writer_write(w, x, 20, &e) ||
            dcf32_writer_close(w, &e)) {
            fprintf(stderr, "writer: %s\n", e.msg);
            return 1;
        }
        bs[4] = (base){"dcf32", read_all(p), 20};
    }
    int iters = ei ? atoi(ei) : 600;
    for (int bi = 0; bi < 5; bi++) {
        base *B = &bs[bi];
        /* the undamaged file loads, plain and gzipped */
        for (int gz = 0; gz < 2; gz++) {
            dataset ds = {0};
            dc_err e = {0};
            const char *p = gz ? write_gz("clean.gz", B->b.p, B->b.n)
                               : write_file("clean", B->b.p, B->b.n);
            int rc = dataset_load(&ds, p, DATA_FMT_AUTO, NULL, &e);
            CHECK_MSG(rc == 0 && ds.n == B->n, "%s clean (gz %d): rc %d n %lld %s", B->name,
                      gz, rc, (long long)ds.n, e.msg);
            dataset_free(&ds);
        }
        for (int it = 0; it < iters; it++) {
            bytes m = {0};
            b_put(&m, B->b.p, B->b.n);
            int kind = (int)rng_below(&g, 4);
            size_t pos = (size_t)rng_below(&g, m.n);
            if (kind == 0) { /* flip 1-3 bytes, mostly in the header */
                int k = 1 + (int)rng_below(&g, 3);
                for (int j = 0; j < k; j++) {
                    size_t q = rng_below(&g, 2) ? (size_t)rng_below(&g, m.n < 140 ? m.n : 140)
                                                : (size_t)rng_below(&g, m.n);
                    m.p[q] ^= (unsigned char)(1 + rng_below(&g, 255));
                }
            } else if (kind == 1) { /* cut */
                m.n = pos;
            } else if (kind == 2) { /* delete a run */
                size_t k = 1 + (size_t)rng_below(&g, 8);
                if (pos + k > m.n) k = m.n - pos;
                memmove(m.p + pos, m.p + pos + k, m.n - pos - k);
                m.n -= k;
            } else { /* insert junk */
                unsigned char junk[8];
                size_t k = 1 + (size_t)rng_below(&g, 8);
                for (size_t j = 0; j < k; j++) junk[j] = (unsigned char)rng_below(&g, 256);
                b_put(&m, junk, k); /* grow, then shift */
                memmove(m.p + pos + k, m.p + pos, m.n - k - pos);
                memcpy(m.p + pos, junk, k);
            }
            int gz = (int)rng_below(&g, 2);
            const char *p = gz ? write_gz("fuzz.gz", m.p, m.n) : write_file("fuzz", m.p, m.n);
            one(p, B->name, it);
            /* damage the compressed stream itself */
            if (gz && it % 4 == 0) {
                bytes z = read_all(p);
                if (z.n > 20) {
                    if (rng_below(&g, 2)) z.n = 10 + (size_t)rng_below(&g, z.n - 10);
                    else z.p[10 + rng_below(&g, z.n - 10)] ^= 0x5A;
                    one(write_file("fuzz2.gz", z.p, z.n), B->name, it);
                }
                b_free(&z);
            }
            b_free(&m);
        }
    }
    printf("fuzz: %lld loads succeeded, %lld refused cleanly\n", (long long)ok_loads,
           (long long)err_loads);
    CHECK(err_loads > iters); /* the damage does get noticed */
    for (int i = 0; i < 5; i++) b_free(&bs[i].b);
    tmp_cleanup();
    return CHECK_DONE();
}
