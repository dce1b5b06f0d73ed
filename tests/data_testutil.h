/* data_testutil.h: helpers for the data tests — a temp dir, writing byte buffers to files
 * (plain or gzip), and building IDX / NPY images in memory. Header-only (static). */
#ifndef DC_DATA_TESTUTIL_H
#define DC_DATA_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"

typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

static inline void b_put(bytes *b, const void *src, size_t k)
{
    if (b->n + k > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + k) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, k);
    b->n += k;
}

static inline void b_be32(bytes *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    b_put(b, c, 4);
}

static inline void b_free(bytes *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static char tmpdir_[256];

static inline const char *tmp_dir(void)
{
    if (!tmpdir_[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir_, sizeof tmpdir_, "%s/dc_data_XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir_)) {
            perror("mkdtemp");
            abort();
        }
    }
    return tmpdir_;
}

/* Removes the files we made (names recorded here) and the dir. */
static char *made_[512];
static int nmade_;

static inline const char *tmp_path(const char *name)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", tmp_dir(), name);
    for (int i = 0; i < nmade_; i++)
        if (!strcmp(made_[i], buf)) return made_[i];
    if (nmade_ == 512) abort();
    made_[nmade_] = strdup(buf);
    return made_[nmade_++];
}

static inline void tmp_cleanup(void)
{
    for (int i = 0; i < nmade_; i++) {
        unlink(made_[i]);
        free(made_[i]);
    }
    nmade_ = 0;
    if (tmpdir_[0]) rmdir(tmpdir_);
}

static inline const char *write_file(const char *name, const void *p, size_t n)
{
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
        perror(path);
        abort();
    }
    return path;
}

static inline const char *write_str(const char *name, const char *s)
{
    return write_file(name, s, strlen(s));
}

/* gzip-compresses p into name (a real .gz file, with header and trailer). */
static inline const char *write_gz(const char *name, const void *p, size_t n)
{
    const char *path = tmp_path(name);
    gzFile g = gzopen(path, "wb6");
    if (!g || (n && gzwrite(g, p, (unsigned)n) != (int)n) || gzclose(g) != Z_OK) {
        fprintf(stderr, "gz write %s failed\n", path);
        abort();
    }
    return path;
}

static inline bytes read_all(const char *path)
{
    bytes b = {0};
    FILE *f = fopen(path, "rb");
    unsigned char buf[65536];
    size_t k;
    if (!f) abort();
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) b_put(&b, buf, k);
    fclose(f);
    return b;
}

/* IDX: magic 00 00 type ndim, big-endian dims, then raw (already big-endian) data. */
static inline bytes idx_bytes(int type, int ndim, const uint32_t *dims, const void *data, size_t n)
{
    bytes b = {0};
    unsigned char m[4] = {0, 0, (unsigned char)type, (unsigned char)ndim};
    b_put(&b, m, 4);
    for (int i = 0; i < ndim; i++) b_be32(&b, dims[i]);
    if (n) b_put(&b, data, n);
    return b;
}

/* NPY: magic, version, header dict padded with spaces to a multiple of 64, '\n'. */
static inline bytes npy_bytes(int major, const char *descr, int fortran, const char *shape,
                       const void *data, size_t n)
{
    bytes b = {0};
    char dict[256];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }",
                      descr, fortran ? "True" : "False", shape);
    int pre = major == 1 ? 10 : 12;
    int total = pre + dl + 1;
    int pad = (64 - total % 64) % 64;
    size_t hl = (size_t)(dl + pad + 1);
    unsigned char m[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0};
    b_put(&b, m, 8);
    unsigned char lb[4] = {(unsigned char)hl, (unsigned char)(hl >> 8), (unsigned char)(hl >> 16),
                           (unsigned char)(hl >> 24)};
    b_put(&b, lb, major == 1 ? 2 : 4);
    b_put(&b, dict, (size_t)dl);
    for (int i = 0; i < pad; i++) b_put(&b, " ", 1);
    b_put(&b, "\n", 1);
    if (n) b_put(&b, data, n);
    return b;
}

/* Loads a file with defaults; returns the code, fills e. */
static inline int load_code(const char *path, data_format fmt, const data_opts *o, dc_err *e)
{
    dataset ds = {0};
    int rc = dataset_load(&ds, path, fmt, o, e);
    dataset_free(&ds);
    return rc;
}

#endif
