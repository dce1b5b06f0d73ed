/* png: see png.h. Layout of the file written:
 *   8-byte signature, IHDR (13 bytes: width, height, depth 8, colour type 0 or 2,
 *   compression 0, filter 0, interlace 0), one IDAT, IEND. */
#include "png.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Writes one chunk at p (length, type, data, CRC); returns bytes written. */
static size_t put_chunk(unsigned char *p, const char *type, const unsigned char *data,
                        size_t n)
{
    put_be32(p, (uint32_t)n);
    memcpy(p + 4, type, 4);
    if (n) memcpy(p + 8, data, n);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, p + 4, (uInt)(n + 4));
    put_be32(p + 8 + n, (uint32_t)crc);
    return 12 + n;
}

int png_encode(void **buf, size_t *len, const unsigned char *pix, int w, int h, int c,
               dc_err *e)
{
    int rc = 0;
    unsigned char *raw = NULL, *z = NULL, *out = NULL;
    *buf = NULL;
    *len = 0;
    if (w <= 0 || h <= 0 || (c != 1 && c != 3) || !pix)
        return dc_err_set(e, DC_EINVAL, "png: bad image %dx%dx%d", w, h, c);
    size_t stride = (size_t)w * c + 1;
    if ((double)stride * h > (double)UINT32_MAX / 2)
        return dc_err_set(e, DC_EINVAL, "png: image %dx%d too large", w, h);
    size_t rawn = stride * (size_t)h;
    raw = malloc(rawn);
    uLongf zn = compressBound((uLong)rawn);
    z = malloc(zn);
    if (!raw || !z) {
        rc = dc_err_set(e, DC_ENOMEM, "png: out of memory");
        goto out;
    }
    for (int y = 0; y < h; y++) {
        raw[y * stride] = 0; /* filter type None */
        memcpy(raw + y * stride + 1, pix + (size_t)y * w * c, (size_t)w * c);
    }
    if (compress2(z, &zn, raw, (uLong)rawn, Z_DEFAULT_COMPRESSION) != Z_OK) {
        rc = dc_err_set(e, DC_EIO, "png: zlib compress failed");
        goto out;
    }
    size_t total = 8 + (12 + 13) + (12 + zn) + 12;
    out = malloc(total);
    if (!out) {
        rc = dc_err_set(e, DC_ENOMEM, "png: out of memory");
        goto out;
    }
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(out, sig, 8);
    unsigned char ihdr[13];
    put_be32(ihdr, (uint32_t)w);
    put_be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;                   /* bit depth */
    ihdr[9] = c == 1 ? 0 : 2;      /* colour type: gray / truecolour */
    ihdr[10] = ihdr[11] = ihdr[12] = 0; /* deflate, adaptive filtering, no interlace */
    size_t o = 8;
    o += put_chunk(out + o, "IHDR", ihdr, 13);
    o += put_chunk(out + o, "IDAT", z, zn);
    o += put_chunk(out + o, "IEND", NULL, 0);
    *buf = out;
    *len = o;
    out = NULL;
out:
    free(raw);
    free(z);
    free(out);
    return rc;
}

int png_write(const char *path, const unsigned char *pix, int w, int h, int c, dc_err *e)
{
    void *buf = NULL;
    size_t n = 0;
    FILE *f = NULL;
    int rc = png_encode(&buf, &n, pix, w, h, c, e);
    if (rc) goto out;
    f = fopen(path, "wb");
    if (!f) {
        rc = dc_err_set(e, DC_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (fwrite(buf, 1, n, f) != n) {
        rc = dc_err_set(e, DC_EIO, "%s: write failed", path);
        goto out;
    }
out:
    if (f && fclose(f) != 0 && rc == 0) rc = dc_err_set(e, DC_EIO, "%s: close failed", path);
    free(buf);
    return rc;
}

void png_from_float(unsigned char *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = in[i];
        if (!(v > 0)) v = 0; /* also NaN */
        if (v > 1) v = 1;
        out[i] = (unsigned char)lrintf(v * 255.0f);
    }
}

int png_grid(unsigned char **pix, int *gw, int *gh, const float *imgs, int n, int h, int w,
             int c, int cols, int pad, dc_err *e)
{
    *pix = NULL;
    if (n <= 0 || h <= 0 || w <= 0 || (c != 1 && c != 3) || cols <= 0 || pad < 0)
        return dc_err_set(e, DC_EINVAL, "png_grid: bad arguments (n %d, %dx%dx%d, cols %d)", n,
                          h, w, c, cols);
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols;
    double W = (double)cols * (w + pad) + pad, H = (double)rows * (h + pad) + pad;
    if (W * H * c > (double)INT_MAX / 2 || W > INT_MAX / 4 || H > INT_MAX / 4)
        return dc_err_set(e, DC_EINVAL, "png_grid: canvas too large");
    int cw = (int)W, ch = (int)H;
    unsigned char *p = calloc((size_t)cw * ch * c, 1);
    if (!p) return dc_err_set(e, DC_ENOMEM, "png_grid: out of memory");
    for (int i = 0; i < n; i++) {
        int gy = pad + (i / cols) * (h + pad), gx = pad + (i % cols) * (w + pad);
        const float *img = imgs + (size_t)i * h * w * c;
        for (int y = 0; y < h; y++)
            png_from_float(p + ((size_t)(gy + y) * cw + gx) * c, img + (size_t)y * w * c,
                           (size_t)w * c);
    }
    *pix = p;
    *gw = cw;
    *gh = ch;
    return 0;
}
