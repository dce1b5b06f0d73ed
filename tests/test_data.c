/* data: every format read back with its values, shapes, scaling and labels; broken
 * files refused with DC_EFORMAT and a message that says where; the streaming reader in
 * chunks of 7 equals the whole load; the DCF32 writer round-trips. All files are made
 * here, in a mkdtemp directory. */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "check.h"
#include "data.h"
#include "data_testutil.h"

/* rc must be `code` and e.msg must contain `sub`. */
#define EXPECT_ERR(rc, code, e, sub)                                                     \
    CHECK_MSG((rc) == (code) && strstr((e).msg, (sub)) != NULL,                          \
              "expected code %d with \"%s\" in the message, got %d: \"%s\"", (code),   \
              (sub), (rc), (e).msg)

#define EXPECT_OK(rc, e) CHECK_MSG((rc) == 0, "expected success, got %d: \"%s\"", (rc), (e).msg)

static void be_f32(unsigned char *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(u >> (24 - 8 * i));
}

static void be_f64(unsigned char *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(u >> (56 - 8 * i));
}

/* ---- IDX ---------------------------------------------------------------------------- */

static void test_idx_u8(void)
{
    unsigned char px[5 * 3 * 4];
    for (int i = 0; i < 60; i++) px[i] = (unsigned char)(i * 37 % 256);
    uint32_t dims[3] = {5, 3, 4};
    bytes b = idx_bytes(0x08, 3, dims, px, sizeof px);
    const char *plain = write_file("img.idx", b.p, b.n);
    const char *gz = write_gz("img.idx.gz", b.p, b.n);
    for (int k = 0; k < 2; k++) {
        dataset ds = {0};
        dc_err e = {0};
        int rc = dataset_load(&ds, k ? gz : plain, DATA_FMT_AUTO, NULL, &e);
        EXPECT_OK(rc, e);
        if (rc) continue;
        CHECK_EQ_INT(ds.n, 5);
        CHECK_EQ_INT(ds.d, 12);
        CHECK_EQ_INT(ds.h, 3);
        CHECK_EQ_INT(ds.w, 4);
        CHECK_EQ_INT(ds.c, 1);
        CHECK(ds.labels == NULL);
        int same = 1;
        for (int i = 0; i < 60; i++) same &= ds.x[i] == (float)px[i] / 255.0f;
        CHECK_MSG(same, "uint8 scaled by /255 (file %d)", k);
        CHECK_NEAR(ds.x[59], px[59] / 255.0, 1e-7);
        dataset_free(&ds);
        CHECK(ds.x == NULL && ds.n == 0);
    }
    /* scaling off */
    dataset ds = {0};
    dc_err e = {0};
    data_opts o = {.scale = DATA_SCALE_NONE};
    int rc = dataset_load(&ds, gz, DATA_FMT_IDX, &o, &e);
    EXPECT_OK(rc, e);
    if (!rc) {
        CHECK_NEAR(ds.x[7], px[7], 0);
        CHECK_NEAR(ds.x[59], px[59], 0);
    }
    dataset_free(&ds);
    /* the header says gzipped */
    data_reader *r = NULL;
    rc = data_reader_open(&r, gz, DATA_FMT_AUTO, NULL, &e);
    EXPECT_OK(rc, e);
    if (!rc) {
        const data_info *in = data_reader_info(r);
        CHECK_EQ_INT(in->gzipped, 1);
        CHECK_EQ_INT(in->format, DATA_FMT_IDX);
        CHECK_EQ_INT(in->dtype, DATA_U8);
        CHECK_EQ_INT(in->n, 5);
        CHECK_EQ_INT(in->data_offset, 16);
    }
    data_reader_close(r);
    b_free(&b);
}

static void test_idx_types(void)
{
    /* float32 2-D (3, 2), big-endian */
    unsigned char f[24];
    float fv[6] = {1.5f, -2.25f, 3e-3f, 1e6f, -0.0f, 42.0f};
    for (int i = 0; i < 6; i++) be_f32(f + 4 * i, fv[i]);
    uint32_t d2[2] = {3, 2};
    bytes b = idx_bytes(0x0D, 2, d2, f, sizeof f);
    dataset ds = {0};
    dc_err e = {0};
    int rc = dataset_load(&ds, write_file("f32.idx", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_OK(rc, e);
    if (!rc) {
        CHECK_EQ_INT(ds.n, 3);
        CHECK_EQ_INT(ds.d, 2);
        CHECK_EQ_INT(ds.h, 0); /* 2-D: no image shape */
        for (int i = 0; i < 6; i++) CHECK_NEAR(ds.x[i], fv[i], 0);
    }
    dataset_free(&ds);
    b_free(&b);

    /* int16 (2, 2) with negatives; int8; float64 */
    unsigned char s[8] = {0xFF, 0xFE, 0x01, 0x00, 0x80, 0x00, 0x7F, 0xFF};
    b = idx_bytes(0x0B, 2, (uint32_t[]){2, 2}, s, sizeof s);
    rc = dataset_load(&ds, write_file("i16.idx", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_OK(rc, e);
    if (!rc) {
        CHECK_NEAR(ds.x[0], -2, 0);
        CHECK_NEAR(ds.x[1], 256, 0);
        CHECK_NEAR(ds.x[2], -32768, 0);
        CHECK_NEAR(ds.x[3], 32767, 0);
    }
    dataset_free(&ds);
    b_free(&b);

    unsigned char i8[2] = {0xFF, 0x05};
    b = idx_bytes(0x09, 2, (uint32_t[]){1, 2}, i8, 2);
    rc = dataset_load(&ds, write_file("i8.idx", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_OK(rc, e);
    if (!rc) CHECK(ds.x[0] == -1.0f && ds.x[1] == 5.0f); /* int8 is not scaled */
    dataset_free(&ds);
    b_free(&b);

    /* float64 2-D: header 12 bytes, so 8-byte values straddle the reader's 1 MiB blocks */
    int nv = 300000;
    unsigned char *d8 = malloc((size_t)nv * 8);
    for (int i = 0; i < nv; i++) be_f64(d8 + 8 * (size_t)i, i * 0.5 - 7.0);
    b = idx_bytes(0x0E, 2, (uint32_t[]){(uint32_t)(nv / 3), 3}, d8, (size_t)nv * 8);
    for (int k = 0; k < 2; k++) {
        const char *p = k ? write_gz("f64.idx.gz", b.p, b.n) : write_file("f64.idx", b.p, b.n);
        rc = dataset_load(&ds, p, DATA_FMT_AUTO, NULL, &e);
        EXPECT_OK(rc, e);
        if (!rc) {
            int same = ds.n == nv / 3 && ds.d == 3;
            for (int i = 0; same && i < nv; i++) same &= ds.x[i] == (float)(i * 0.5 - 7.0);
            CHECK_MSG(same, "float64 IDX across block boundaries (gz %d)", k);
        }
        dataset_free(&ds);
    }
    free(d8);
    b_free(&b);
}

static void test_idx_labels(void)
{
    unsigned char lab[5] = {3, 1, 4, 1, 5};
    bytes b = idx_bytes(0x08, 1, (uint32_t[]){5}, lab, 5);
    const char *lp = write_gz("lab.idx.gz", b.p, b.n);
    int32_t *l = NULL;
    int64_t n = 0;
    dc_err e = {0};
    int rc = data_load_labels(&l, &n, lp, DATA_FMT_AUTO, &e);
    EXPECT_OK(rc, e);
    CHECK_EQ_INT(n, 5);
    if (!rc) CHECK(l[0] == 3 && l[2] == 4 && l[4] == 5); /* labels are never scaled */
    free(l);

    /* attach to a 5-row dataset, refuse a 4-row one */
    dataset ds = {0};
    CHECK_EQ_INT(dataset_alloc(&ds, 5, 2, 0, &e), 0);
    rc = dataset_load_labels(&ds, lp, DATA_FMT_AUTO, &e);
    EXPECT_OK(rc, e);
    CHECK(ds.labels && ds.labels[1] == 1 && ds.labels[4] == 5);
    dataset_free(&ds);
    CHECK_EQ_INT(dataset_alloc(&ds, 4, 2, 0, &e), 0);
    rc = dataset_load_labels(&ds, lp, DATA_FMT_AUTO, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "5 labels for a dataset of 4");
    CHECK(ds.labels == NULL);
    int32_t four[4] = {0, 1, 2, 3};
    rc = dataset_attach_labels(&ds, four, 3, &e);
    EXPECT_ERR(rc, DC_EINVAL, e, "3 labels for 4 samples");
    rc = dataset_attach_labels(&ds, four, 4, &e);
    EXPECT_OK(rc, e);
    CHECK(ds.labels && ds.labels[3] == 3);
    dataset_free(&ds);

    /* a label file is not data */
    rc = load_code(lp, DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EINVAL, e, "label file");
    /* a data file is not labels */
    unsigned char px[4] = {1, 2, 3, 4};
    b_free(&b);
    b = idx_bytes(0x08, 2, (uint32_t[]){2, 2}, px, 4);
    rc = data_load_labels(&l, &n, write_file("notlab.idx", b.p, b.n), DATA_FMT_AUTO, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "2 values per row");
    b_free(&b);
}

static void test_idx_broken(void)
{
    unsigned char px[2 * 3 * 4];
    for (int i = 0; i < 24; i++) px[i] = (unsigned char)i;
    bytes b = idx_bytes(0x08, 3, (uint32_t[]){2, 3, 4}, px, sizeof px); /* 16 + 24 bytes */
    dc_err e = {0};
    int rc;
    /* truncated inside the magic, inside the dims, inside the data (plain files: the size
     * check names both sizes; gzip: the stream read names the byte where it ended) */
    struct { size_t len; const char *plain, *gz; } cut[] = {
        {2, "truncated", "truncated"},
        {9, "truncated IDX dimensions: need 12 bytes at byte 4", "need 12 bytes at byte 4"},
        {16, "file size 16 does not match", "truncated at byte 16"},
        {30, "file size 30 does not match", "truncated at byte 30"},
        {39, "file size 39 does not match", "truncated at byte 39"},
    };
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "cut%zu.idx", i);
        rc = load_code(write_file(name, b.p, cut[i].len), DATA_FMT_IDX, NULL, &e);
        EXPECT_ERR(rc, DC_EFORMAT, e, cut[i].plain);
        snprintf(name, sizeof name, "cut%zu.idx.gz", i);
        rc = load_code(write_gz(name, b.p, cut[i].len), DATA_FMT_IDX, NULL, &e);
        EXPECT_ERR(rc, DC_EFORMAT, e, cut[i].gz);
    }
    /* a pipe has no size to check up front: the stream read catches the truncation,
     * after delivering the rows that were complete */
    {
        const char *fifo = tmp_path("pipe.idx");
        unlink(fifo);
        CHECK(mkfifo(fifo, 0600) == 0);
        pid_t pid = fork();
        if (pid == 0) { /* child: write the first 30 bytes (16 header + 14 data), leave */
            int fd = open(fifo, O_WRONLY);
            ssize_t wr = fd >= 0 ? write(fd, b.p, 30) : -1;
            _exit(wr == 30 ? 0 : 1);
        }
        data_reader *r = NULL;
        float row[12];
        int64_t got = -1;
        rc = data_reader_open(&r, fifo, DATA_FMT_AUTO, NULL, &e);
        EXPECT_OK(rc, e);
        if (!rc) {
            CHECK_EQ_INT(data_reader_info(r)->size_checked, 0);
            rc = data_reader_next(r, row, NULL, 1, &got, &e);
            CHECK_MSG(rc == 0 && got == 1, "first row of a truncated pipe: rc %d got %lld", rc,
                      (long long)got);
            CHECK(row[11] == 11.0f / 255.0f);
            rc = data_reader_next(r, row, NULL, 1, &got, &e);
            EXPECT_ERR(rc, DC_EFORMAT, e, "truncated at byte 30: the header promises 2 rows "
                                          "(40 bytes), the data ends in row 1");
            rc = data_reader_next(r, row, NULL, 1, &got, &e);
            EXPECT_ERR(rc, DC_EINVAL, e, "after an error");
        }
        data_reader_close(r);
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    /* a .gz of two members: the trailer vouches only for the last, so the reader counts
     * the stream once; a complete file then loads, a short one is refused at open */
    {
        const char *p1 = write_gz("m1.gz", b.p, 20), *p2 = write_gz("m2.gz", b.p + 20, 20);
        bytes g1 = read_all(p1), g2 = read_all(p2);
        b_put(&g1, g2.p, g2.n);
        const char *mp = write_file("multi.idx.gz", g1.p, g1.n);
        dataset ds = {0};
        data_reader *r = NULL;
        rc = data_reader_open(&r, mp, DATA_FMT_AUTO, NULL, &e);
        EXPECT_OK(rc, e);
        if (!rc) CHECK_EQ_INT(data_reader_info(r)->size_checked, 1);
        data_reader_close(r);
        rc = dataset_load(&ds, mp, DATA_FMT_AUTO, NULL, &e);
        EXPECT_OK(rc, e);
        if (!rc) CHECK(ds.n == 2 && ds.x[23] == 23.0f / 255.0f);
        dataset_free(&ds);
        b_free(&g2);
        p2 = write_gz("m3.gz", b.p + 20, 10);
        g2 = read_all(p2);
        bytes g3 = read_all(p1);
        b_put(&g3, g2.p, g2.n);
        rc = load_code(write_file("multishort.idx.gz", g3.p, g3.n), DATA_FMT_AUTO, NULL, &e);
        EXPECT_ERR(rc, DC_EFORMAT, e, "truncated at byte 30 of the decompressed data: the "
                                      "header promises 40 bytes");
        b_free(&g1);
        b_free(&g2);
        b_free(&g3);
    }
    /* trailing garbage */
    b_put(&b, "xyz", 3);
    rc = load_code(write_file("trail.idx", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "trailing bytes");
    rc = load_code(write_gz("trail.idx.gz", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "trailing data at byte 40");
    /* wrong magic when forced; auto falls to CSV and refuses the binary bytes */
    b.p[1] = 1;
    rc = load_code(write_file("magic.idx", b.p, b.n - 3), DATA_FMT_IDX, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "wrong IDX magic 00 01 08 03 at byte 0");
    rc = load_code(tmp_path("magic.idx"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "line 1");
    b.p[1] = 0;
    b.p[2] = 0x0A; /* no such type */
    rc = load_code(write_file("type.idx", b.p, b.n - 3), DATA_FMT_IDX, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "wrong IDX magic");
    b_free(&b);
    /* dims whose product overflows; dims that do not match the data; n = 0; ndim 0 */
    b = idx_bytes(0x08, 3, (uint32_t[]){0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, px, 4);
    rc = load_code(write_file("ovf.idx", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "overflows");
    b_free(&b);
    b = idx_bytes(0x0D, 2, (uint32_t[]){0x7FFFFFFFu, 0x7FFFFFFFu}, px, 4);
    rc = load_code(write_gz("ovf2.idx.gz", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    CHECK_MSG(rc == DC_EFORMAT, "huge dims in a .gz: got %d \"%s\"", rc, e.msg);
    b_free(&b);
    b = idx_bytes(0x08, 3, (uint32_t[]){3, 3, 4}, px, sizeof px);
    rc = load_code(write_file("dims.idx", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "= 52 bytes (truncated)");
    b_free(&b);
    b = idx_bytes(0x08, 3, (uint32_t[]){0, 3, 4}, px, 0);
    rc = load_code(write_file("n0.idx", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "n = 0");
    b_free(&b);
    b = idx_bytes(0x08, 0, NULL, px, 0);
    rc = load_code(write_file("nd0.idx", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "ndim 0");
    b_free(&b);
    /* empty file, missing file */
    rc = load_code(write_file("empty", "", 0), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "empty");
    rc = load_code(tmp_path("no-such-file"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EIO, e, "no-such-file");
}

static void test_gz_broken(void)
{
    /* a 20x50 uint8 IDX, gzipped, then cut or corrupted */
    int n = 20, d = 50;
    unsigned char *px = malloc((size_t)n * d);
    for (int i = 0; i < n * d; i++) px[i] = (unsigned char)(i * 13 + i / 7);
    bytes raw = idx_bytes(0x08, 2, (uint32_t[]){(uint32_t)n, (uint32_t)d}, px, (size_t)n * d);
    bytes gz = read_all(write_gz("ok.gz", raw.p, raw.n));
    dc_err e = {0};
    dataset ds = {0};
    int rc = dataset_load(&ds, tmp_path("ok.gz"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_OK(rc, e);
    dataset_free(&ds);
    size_t cuts[] = {gz.n / 2, gz.n - 9, gz.n - 4, gz.n - 1};
    for (size_t i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "gzcut%zu.gz", i);
        rc = load_code(write_file(name, gz.p, cuts[i]), DATA_FMT_AUTO, NULL, &e);
        EXPECT_ERR(rc, DC_EFORMAT, e, "truncated");
    }
    /* a flipped byte in the deflate data (or its CRC) */
    gz.p[gz.n / 2] ^= 0x55;
    rc = load_code(write_file("gzbad.gz", gz.p, gz.n), DATA_FMT_AUTO, NULL, &e);
    CHECK_MSG(rc == DC_EFORMAT, "corrupt gzip: got %d \"%s\"", rc, e.msg);
    b_free(&gz);
    b_free(&raw);
    free(px);
}

/* ---- NPY ---------------------------------------------------------------------------- */

static void test_npy(void)
{
    dataset ds = {0};
    dc_err e = {0};
    int rc;
    /* <f4 (3, 4), versions 1.0 and 2.0 */
    float f[12];
    for (int i = 0; i < 12; i++) f[i] = (float)i * 0.25f - 1.0f;
    for (int major = 1; major <= 2; major++) {
        bytes b = npy_bytes(major, "<f4", 0, "(3, 4)", f, sizeof f);
        rc = dataset_load(&ds, write_file(major == 1 ? "a1.npy" : "a2.npy", b.p, b.n),
                          DATA_FMT_AUTO, NULL, &e);
        EXPECT_OK(rc, e);
        if (!rc) {
            CHECK_EQ_INT(ds.n, 3);
            CHECK_EQ_INT(ds.d, 4);
            int same = 1;
            for (int i = 0; i < 12; i++) same &= ds.x[i] == f[i];
            CHECK_MSG(same, "npy v%d float32 values", major);
        }
        dataset_free(&ds);
        b_free(&b);
    }
    /* |u1 (2, 2, 3) -> image 2x3, c = 1, scaled; NHWC (2, 2, 2, 3) -> c = 3 */
    unsigned char u[24];
    for (int i = 0; i < 24; i++) u[i] = (unsigned char)(i * 10);
    bytes b = npy_bytes(1, "|u1", 0, "(2, 2, 3)", u, 12);
    rc = dataset_load(&ds, write_file("u1.npy", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_OK(rc, e);
    if (!rc) {
        CHECK(ds.n == 2 && ds.d == 6 && ds.h == 2 && ds.w == 3 && ds.c == 1);
        CHECK(ds.x[11] == 110.0f / 255.0f);
    }
    dataset_free(&ds);
    b_free(&b);
    b = npy_bytes(1, "|u1", 0, "(2, 2, 2, 3)", u, 24);
    rc = dataset_load(&ds, write_gz("nhwc.npy.gz", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_OK(rc, e);
    if (!rc) {
        CHECK(ds.n == 2 && ds.d == 12 && ds.h == 2 && ds.w == 2 && ds.c == 3);
        CHECK(ds.x[23] == 230.0f / 255.0f);
    }
    dataset_free(&ds);
    b_free(&b);
    /* <f8, <i4, <i8, >f4 */
    double dv[4] = {0.1, -1e10, 3.0, 1e-30};
    b = npy_bytes(1, "<f8", 0, "(2, 2)", dv, sizeof dv);
    rc = dataset_load(&ds, write_file("f8.npy", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_OK(rc, e);
    if (!rc)
        for (int i = 0; i < 4; i++) CHECK(ds.x[i] == (float)dv[i]);
    dataset_free(&ds);
    b_free(&b);
    int32_t iv[4] = {-5, 0, 7, 1 << 20};
    b = npy_bytes(1, "<i4", 0, "(4, 1)", iv, sizeof iv);
    rc = dataset_load(&ds, write_file("i4.npy", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_OK(rc, e);
    if (!rc) CHECK(ds.n == 4 && ds.d == 1 && ds.x[0] == -5.0f && ds.x[3] == (float)(1 << 20));
    dataset_free(&ds);
    b_free(&b);
    unsigned char bef[8];
    be_f32(bef, 2.5f);
    be_f32(bef + 4, -8.0f);
    b = npy_bytes(1, ">f4", 0, "(1, 2)", bef, 8);
    rc = dataset_load(&ds, write_file("be.npy", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_OK(rc, e);
    if (!rc) CHECK(ds.x[0] == 2.5f && ds.x[1] == -8.0f);
    dataset_free(&ds);
    b_free(&b);
    /* 1-D <i8 labels; fractional labels refused */
    int64_t lv[3] = {9, 0, 2};
    b = npy_bytes(1, "<i8", 0, "(3,)", lv, sizeof lv);
    int32_t *l = NULL;
    int64_t n = 0;
    rc = data_load_labels(&l, &n, write_file("lab.npy", b.p, b.n), DATA_FMT_AUTO, &e);
    EXPECT_OK(rc, e);
    CHECK(n == 3 && l && l[0] == 9 && l[2] == 2);
    free(l);
    b_free(&b);
    float fl[2] = {1.0f, 2.5f};
    b = npy_bytes(1, "<f4", 0, "(2,)", fl, sizeof fl);
    rc = data_load_labels(&l, &n, write_file("flab.npy", b.p, b.n), DATA_FMT_AUTO, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "label 2.5 at index 1");
    b_free(&b);
}

static void test_npy_broken(void)
{
    dc_err e = {0};
    int rc;
    float f[6] = {1, 2, 3, 4, 5, 6};
    bytes b = npy_bytes(1, "<f4", 1, "(2, 3)", f, sizeof f);
    rc = load_code(write_file("fort.npy", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "Fortran");
    b_free(&b);
    b = npy_bytes(1, "<c8", 0, "(2, 3)", f, sizeof f);
    rc = load_code(write_file("c8.npy", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "unsupported NPY dtype '<c8'");
    b_free(&b);
    b = npy_bytes(1, "<f4", 0, "(2, x)", f, sizeof f);
    rc = load_code(write_file("shape.npy", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "malformed NPY header at byte 64");
    b_free(&b);
    /* a header that ends after a key, or after "'shape':" (found by fuzz/fuzz_data: the
       error message quoted the bytes after the header's end, a heap over-read) */
    static const char *const cut[] = {"{'descr'", "{'descr': '<f4', 'shape': "};
    for (int i = 0; i < 2; i++) {
        unsigned char h[10 + 64] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 64, 0};
        memset(h + 10, ' ', 64);
        memcpy(h + 10, cut[i], strlen(cut[i]));
        h[10 + 63] = '\n';
        rc = load_code(write_file("cut.npy", h, sizeof h), DATA_FMT_AUTO, NULL, &e);
        EXPECT_ERR(rc, DC_EFORMAT, e, "malformed NPY header at byte 74: \"\"");
    }
    b = npy_bytes(1, "<f4", 0, "()", f, 4);
    rc = load_code(write_file("scalar.npy", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "scalar");
    b_free(&b);
    b = npy_bytes(1, "<f4", 0, "(0, 3)", f, 0);
    rc = load_code(write_file("n0.npy", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "n = 0");
    b_free(&b);
    b = npy_bytes(1, "<f4", 0, "(2, 3)", f, sizeof f);
    b.p[6] = 7;
    rc = load_code(write_file("ver.npy", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "unsupported NPY version 7.0 at byte 6");
    b.p[6] = 1;
    rc = load_code(write_file("hcut.npy", b.p, 40), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "truncated NPY header");
    rc = load_code(write_file("dcut.npy", b.p, b.n - 5), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "file size 147 does not match");
    rc = load_code(write_gz("dcut.npy.gz", b.p, b.n - 5), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "truncated at byte 147 of the decompressed data");
    b_free(&b);
    /* NaN / Inf, with row and column; allow_nonfinite lets them through */
    float g[6] = {1, 2, 3, 4, NAN, 6};
    b = npy_bytes(1, "<f4", 0, "(2, 3)", g, sizeof g);
    const char *p = write_file("nan.npy", b.p, b.n);
    rc = load_code(p, DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "non-finite value nan at row 1, column 1 (byte 144)");
    data_opts o = {.allow_nonfinite = 1};
    dataset ds = {0};
    rc = dataset_load(&ds, p, DATA_FMT_AUTO, &o, &e);
    EXPECT_OK(rc, e);
    if (!rc) CHECK(isnan(ds.x[4]));
    dataset_free(&ds);
    b_free(&b);
    double h[2] = {-INFINITY, 1e300};
    b = npy_bytes(1, "<f8", 0, "(1, 2)", h, sizeof h);
    rc = load_code(write_file("inf.npy", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "row 0, column 0");
    h[0] = 0;
    b_free(&b);
    b = npy_bytes(1, "<f8", 0, "(1, 2)", h, sizeof h);
    rc = load_code(write_file("big.npy", b.p, b.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "out of float32 range");
    b_free(&b);
}

/* ---- CSV ---------------------------------------------------------------------------- */

static void test_csv(void)
{
    dataset ds = {0};
    dc_err e = {0};
    int rc;
    /* header auto-detected, label column last, CRLF, spaces, trailing blank lines */
    const char *s = "a,b,label\r\n1.5, -2 ,3\r\n4e1,0.25,7\r\n\r\n\n";
    data_opts o = {.csv_has_label = 1, .csv_label_col = -1};
    rc = dataset_load(&ds, write_str("a.csv", s), DATA_FMT_AUTO, &o, &e);
    EXPECT_OK(rc, e);
    if (!rc) {
        CHECK_EQ_INT(ds.n, 2);
        CHECK_EQ_INT(ds.d, 2);
        CHECK(ds.x[0] == 1.5f && ds.x[1] == -2.0f && ds.x[2] == 40.0f && ds.x[3] == 0.25f);
        CHECK(ds.labels && ds.labels[0] == 3 && ds.labels[1] == 7);
    }
    dataset_free(&ds);
    /* no header, label column 0, no final newline, gzipped */
    s = "2,0.5,0.75\n0,1,2";
    o.csv_label_col = 0;
    rc = dataset_load(&ds, write_gz("b.csv.gz", s, strlen(s)), DATA_FMT_AUTO, &o, &e);
    EXPECT_OK(rc, e);
    if (!rc) {
        CHECK(ds.n == 2 && ds.d == 2 && ds.x[1] == 0.75f && ds.x[3] == 2.0f);
        CHECK(ds.labels && ds.labels[0] == 2 && ds.labels[1] == 0);
    }
    dataset_free(&ds);
    /* plain, no labels, header forced off / on */
    s = "1,2\n3,4\n";
    data_opts hy = {.csv_header = DATA_CSV_HEADER_YES};
    rc = dataset_load(&ds, write_str("c.csv", s), DATA_FMT_CSV, &hy, &e);
    EXPECT_OK(rc, e);
    CHECK(ds.n == 1 && ds.x[0] == 3.0f && ds.labels == NULL);
    dataset_free(&ds);
    data_opts hn = {.csv_header = DATA_CSV_HEADER_NO};
    rc = load_code(write_str("d.csv", "x,y\n1,2\n"), DATA_FMT_AUTO, &hn, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "line 1, column 1: not a number 'x'");
    /* many rows: the whole-file loader grows past its first block */
    bytes big = {0};
    for (int i = 0; i < 5000; i++) {
        char line[64];
        int k = snprintf(line, sizeof line, "%d,%d.5,%d\n", i, i, i % 10);
        b_put(&big, line, (size_t)k);
    }
    o.csv_label_col = 2;
    rc = dataset_load(&ds, write_file("big.csv", big.p, big.n), DATA_FMT_AUTO, &o, &e);
    EXPECT_OK(rc, e);
    if (!rc) {
        CHECK_EQ_INT(ds.n, 5000);
        CHECK(ds.x[2 * 4321] == 4321.0f && ds.x[2 * 4321 + 1] == 4321.5f);
        CHECK(ds.labels[4321] == 1);
    }
    dataset_free(&ds);
    b_free(&big);
    /* a one-column CSV is a label file */
    int32_t *l = NULL;
    int64_t n = 0;
    rc = data_load_labels(&l, &n, write_str("lab.csv", "label\n4\n2\n"), DATA_FMT_AUTO, &e);
    EXPECT_OK(rc, e);
    CHECK(n == 2 && l && l[0] == 4 && l[1] == 2);
    free(l);
}

static void test_csv_broken(void)
{
    dc_err e = {0};
    int rc;
    rc = load_code(write_str("e1.csv", "1,2,3\n4,5,6\n7,abc,9\n"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "line 3, column 2: not a number 'abc'");
    rc = load_code(write_str("e2.csv", "h1,h2\n1,2\n3,4\n5\n"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "line 4 has 1 columns, expected 2");
    rc = load_code(write_str("e3.csv", "1,2\n3,4,5\n"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "line 2 has 3 columns");
    rc = load_code(write_str("e4.csv", "1,2\nnan,4\n"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "line 2, column 1: non-finite");
    rc = load_code(write_str("e5.csv", "1,2\n3,inf\n"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "line 2, column 2: non-finite");
    rc = load_code(write_str("e6.csv", "1,2\n3,1e39\n"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "line 2, column 2: out of float32 range");
    rc = load_code(write_str("e7.csv", "1,2\n\n3,4\n"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "blank line 2");
    rc = load_code(write_str("e8.csv", "1,,2\n"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "line 1, column 2: empty value");
    rc = load_code(write_str("e9.csv", "a,b\n"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "no data rows after the header on line 1");
    rc = load_code(write_str("e10.csv", "\n\n"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "no data rows");
    data_opts o = {.csv_has_label = 1, .csv_label_col = -1};
    rc = load_code(write_str("e11.csv", "1,2,3\n4,5,6.5\n"), DATA_FMT_AUTO, &o, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "line 2, column 3: label 6.5");
    o.csv_label_col = 5;
    rc = load_code(write_str("e12.csv", "1,2,3\n"), DATA_FMT_AUTO, &o, &e);
    EXPECT_ERR(rc, DC_EINVAL, e, "label column 5 out of range");
    rc = load_code(write_str("e13.csv", "1,2\n3,4x\n"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "line 2, column 2: not a number '4x'");
    /* a gzipped CSV cut in the middle */
    bytes big = {0};
    for (int i = 0; i < 3000; i++) {
        char line[64];
        int k = snprintf(line, sizeof line, "%d,%d\n", i * 7919 % 10007, i);
        b_put(&big, line, (size_t)k);
    }
    bytes gz = read_all(write_gz("full.csv.gz", big.p, big.n));
    rc = load_code(write_file("cut.csv.gz", gz.p, gz.n / 2), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "gzip stream truncated");
    b_free(&gz);
    b_free(&big);
}

/* ---- DCF32 -------------------------------------------------------------------------- */

static void test_dcf32(void)
{
    dc_err e = {0};
    int rc;
    int n = 23, d = 6;
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    for (int i = 0; i < n * d; i++) x[i] = (float)sin(i * 0.1) * 3.0f;
    const char *p = tmp_path("a.dcf32");
    dcf32_writer *w = NULL;
    rc = dcf32_writer_open(&w, p, d, 1, 2, 3, &e);
    EXPECT_OK(rc, e);
    if (!rc) {
        /* rows written in three pieces */
        EXPECT_OK(dcf32_writer_write(w, x, 10, &e), e);
        EXPECT_OK(dcf32_writer_write(w, x + 10 * d, 0, &e), e);
        EXPECT_OK(dcf32_writer_write(w, x + 10 * d, 13, &e), e);
        rc = dcf32_writer_close(w, &e);
        EXPECT_OK(rc, e);
    }
    bytes f = read_all(p);
    CHECK_EQ_INT(f.n, 32 + n * d * 4);
    CHECK(f.n >= 32 && !memcmp(f.p, "DCF32\0\1\0", 8) && f.p[8] == 23 && f.p[16] == 6);
    dataset ds = {0};
    rc = dataset_load(&ds, p, DATA_FMT_AUTO, NULL, &e);
    EXPECT_OK(rc, e);
    if (!rc) {
        CHECK(ds.n == n && ds.d == d && ds.h == 1 && ds.w == 2 && ds.c == 3);
        CHECK(!memcmp(ds.x, x, sizeof(float) * (size_t)(n * d)));
    }
    /* dataset_save_dcf32 of what we loaded gives the same bytes */
    const char *p2 = tmp_path("b.dcf32");
    rc = dataset_save_dcf32(&ds, p2, &e);
    EXPECT_OK(rc, e);
    bytes f2 = read_all(p2);
    CHECK(f2.n == f.n && !memcmp(f.p, f2.p, f.n));
    b_free(&f2);
    dataset_free(&ds);
    /* broken: truncated, trailing, version, n = 0, bad image shape */
    rc = load_code(write_file("cut.dcf32", f.p, f.n - 4), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "(truncated)");
    rc = load_code(write_gz("cut.dcf32.gz", f.p, f.n - 4), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "truncated at byte 580");
    rc = load_code(write_file("hcut.dcf32", f.p, 20), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "truncated DCF32 header");
    b_put(&f, "\0", 1);
    rc = load_code(write_file("trail.dcf32", f.p, f.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "trailing bytes");
    f.n--;
    f.p[6] = 2;
    rc = load_code(write_file("ver.dcf32", f.p, f.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "unsupported DCF32 version 2 at byte 6");
    f.p[6] = 1;
    f.p[20] = 5;
    rc = load_code(write_file("img.dcf32", f.p, f.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "image shape 5 x 2 x 3");
    f.p[20] = 1;
    memcpy(f.p + 32 + 4 * 17, &(float){INFINITY}, 4);
    rc = load_code(write_file("inf.dcf32", f.p, f.n), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "row 2, column 5 (byte 100)");
    b_free(&f);
    /* the writer: no rows, bad shape, NaN */
    rc = dcf32_writer_open(&w, tmp_path("z.dcf32"), d, 0, 0, 0, &e);
    EXPECT_OK(rc, e);
    rc = dcf32_writer_close(w, &e);
    EXPECT_ERR(rc, DC_EINVAL, e, "no rows written");
    rc = load_code(tmp_path("z.dcf32"), DATA_FMT_AUTO, NULL, &e);
    EXPECT_ERR(rc, DC_EFORMAT, e, "n = 0");
    rc = dcf32_writer_open(&w, tmp_path("y.dcf32"), 6, 2, 2, 2, &e);
    EXPECT_ERR(rc, DC_EINVAL, e, "bad shape");
    CHECK(w == NULL);
    rc = dcf32_writer_open(&w, tmp_path("y.dcf32"), 6, 0, 0, 0, &e);
    EXPECT_OK(rc, e);
    x[7] = NAN;
    rc = dcf32_writer_write(w, x, 2, &e);
    EXPECT_ERR(rc, DC_EINVAL, e, "row 1, column 1");
    dcf32_writer_abort(w);
    CHECK(access(tmp_path("y.dcf32"), F_OK) != 0); /* abort removes the file */
    free(x);
}

/* ---- streaming: chunks of 7 equal the whole load ------------------------------------ */

static void stream_equals_load(const char *path, const data_opts *o, const char *what)
{
    dataset ds = {0};
    dc_err e = {0};
    data_reader *r = NULL;
    int rc = dataset_load(&ds, path, DATA_FMT_AUTO, o, &e);
    EXPECT_OK(rc, e);
    if (rc) return;
    rc = data_reader_open(&r, path, DATA_FMT_AUTO, o, &e);
    EXPECT_OK(rc, e);
    if (rc) {
        dataset_free(&ds);
        return;
    }
    const data_info *in = data_reader_info(r);
    CHECK_EQ_INT(in->d, ds.d);
    float *rows = malloc(sizeof(float) * 7 * (size_t)ds.d);
    int32_t lab[7];
    int64_t total = 0, got, calls = 0, short_chunks = 0;
    int same = 1;
    while ((rc = data_reader_next(r, rows, lab, 7, &got, &e)) == 0 && got > 0) {
        calls++;
        if (got < 7) short_chunks++;
        if (total + got > ds.n) {
            same = 0;
            break;
        }
        same &= !memcmp(rows, ds.x + total * ds.d, sizeof(float) * (size_t)(got * ds.d));
        if (ds.labels) same &= !memcmp(lab, ds.labels + total, sizeof(int32_t) * (size_t)got);
        total += got;
    }
    EXPECT_OK(rc, e);
    CHECK_MSG(same, "%s: streamed rows differ from the whole load", what);
    CHECK_MSG(total == ds.n, "%s: streamed %lld rows, loaded %lld", what, (long long)total,
              (long long)ds.n);
    CHECK_MSG(calls == (ds.n + 6) / 7 && short_chunks == (ds.n % 7 != 0),
              "%s: %lld calls, %lld short", what, (long long)calls, (long long)short_chunks);
    CHECK_EQ_INT(data_reader_rows(r), ds.n);
    CHECK_EQ_INT(in->n, ds.n); /* CSV: known after the end */
    rc = data_reader_next(r, rows, lab, 7, &got, &e);
    CHECK_MSG(rc == 0 && got == 0, "%s: after the end rc %d got %lld", what, rc, (long long)got);
    free(rows);
    data_reader_close(r);
    dataset_free(&ds);
}

static void test_streaming(void)
{
    int n = 50, d = 13;
    unsigned char *u = malloc((size_t)(n * d));
    float *f = malloc(sizeof(float) * (size_t)(n * d));
    for (int i = 0; i < n * d; i++) {
        u[i] = (unsigned char)(i * 31 + 7);
        f[i] = (float)cos(i * 0.37) * (float)(i % 11);
    }
    bytes b = idx_bytes(0x08, 2, (uint32_t[]){(uint32_t)n, (uint32_t)d}, u, (size_t)(n * d));
    stream_equals_load(write_gz("s.idx.gz", b.p, b.n), NULL, "idx.gz");
    b_free(&b);
    b = npy_bytes(1, "<f4", 0, "(50, 13)", f, sizeof(float) * (size_t)(n * d));
    stream_equals_load(write_file("s.npy", b.p, b.n), NULL, "npy");
    b_free(&b);
    bytes c = {0};
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) {
            char cell[48];
            int k = snprintf(cell, sizeof cell, "%.9g,", f[i * d + j]);
            b_put(&c, cell, (size_t)k);
        }
        char lab[16];
        int k = snprintf(lab, sizeof lab, "%d\n", i % 4);
        b_put(&c, lab, (size_t)k);
    }
    data_opts o = {.csv_has_label = 1, .csv_label_col = -1};
    const char *cp = write_file("s.csv", c.p, c.n);
    stream_equals_load(cp, &o, "csv");
    /* CSV text round-trips the float32 values exactly (%.9g) */
    dataset ds = {0};
    dc_err e = {0};
    if (dataset_load(&ds, cp, DATA_FMT_AUTO, &o, &e) == 0)
        CHECK(!memcmp(ds.x, f, sizeof(float) * (size_t)(n * d)) && ds.labels[5] == 1);
    dataset_free(&ds);
    b_free(&c);
    free(u);
    free(f);
}

/* ---- concat ------------------------------------------------------------------------- */

static void test_concat(void)
{
    dataset a = {0}, b = {0}, c = {0};
    dc_err e = {0};
    CHECK_EQ_INT(dataset_alloc(&a, 3, 4, 1, &e), 0);
    CHECK_EQ_INT(dataset_alloc(&b, 2, 4, 1, &e), 0);
    for (int i = 0; i < 12; i++) a.x[i] = (float)i;
    for (int i = 0; i < 8; i++) b.x[i] = 100.0f + (float)i;
    for (int i = 0; i < 3; i++) a.labels[i] = i;
    for (int i = 0; i < 2; i++) b.labels[i] = 10 + i;
    a.h = b.h = 2, a.w = b.w = 2, a.c = b.c = 1;
    int rc = dataset_concat(&c, &a, &b, &e);
    EXPECT_OK(rc, e);
    if (!rc) {
        CHECK(c.n == 5 && c.d == 4 && c.h == 2 && c.c == 1);
        CHECK(c.x[11] == 11.0f && c.x[12] == 100.0f && c.x[19] == 107.0f);
        CHECK(c.labels[2] == 2 && c.labels[3] == 10 && c.labels[4] == 11);
    }
    dataset_free(&c);
    /* in place: a = a + b */
    rc = dataset_concat(&a, &a, &b, &e);
    EXPECT_OK(rc, e);
    CHECK(a.n == 5 && a.x[12] == 100.0f);
    free(b.labels);
    b.labels = NULL;
    rc = dataset_concat(&c, &a, &b, &e);
    EXPECT_ERR(rc, DC_EINVAL, e, "only the first dataset has labels");
    b.d = 2;
    b.n = 4;
    rc = dataset_concat(&c, &a, &b, &e);
    EXPECT_ERR(rc, DC_EINVAL, e, "d differs");
    dataset_free(&a);
    dataset_free(&b);
}

int main(void)
{
    test_idx_u8();
    test_idx_types();
    test_idx_labels();
    test_idx_broken();
    test_gz_broken();
    test_npy();
    test_npy_broken();
    test_csv();
    test_csv_broken();
    test_dcf32();
    test_streaming();
    test_concat();
    tmp_cleanup();
    return CHECK_DONE();
}
