/* png: the writer produces a well-formed PNG. For a small gray and a small RGB image the
 * test parses the bytes back: the signature, chunk order (IHDR, IDAT, IEND), IHDR fields,
 * every chunk's CRC (recomputed with zlib's crc32), and that inflating IDAT gives back the
 * filtered scanlines (a 0 filter byte, then the row). Also png_from_float's rounding and
 * clamping and png_grid's layout, and png_write to a file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "png.h"

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void check_png(const unsigned char *b, size_t n, const unsigned char *pix, int w, int h,
                      int c)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    CHECK(n > 8 && memcmp(b, sig, 8) == 0);
    const char *want[3] = {"IHDR", "IDAT", "IEND"};
    size_t o = 8;
    int idx = 0;
    while (o + 12 <= n && idx < 3) {
        uint32_t len = be32(b + o);
        CHECK_MSG(o + 12 + len <= n, "chunk %d overruns the buffer", idx);
        if (o + 12 + len > n) return;
        CHECK_MSG(memcmp(b + o + 4, want[idx], 4) == 0, "chunk %d: expected %s, got %.4s", idx,
                  want[idx], (const char *)(b + o + 4));
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b + o + 4, len + 4);
        CHECK_EQ_INT(be32(b + o + 8 + len), crc);
        const unsigned char *d = b + o + 8;
        if (idx == 0) {
            CHECK_EQ_INT(len, 13);
            CHECK_EQ_INT(be32(d), w);
            CHECK_EQ_INT(be32(d + 4), h);
            CHECK_EQ_INT(d[8], 8);
            CHECK_EQ_INT(d[9], c == 1 ? 0 : 2);
            CHECK_EQ_INT(d[10], 0);
            CHECK_EQ_INT(d[11], 0);
            CHECK_EQ_INT(d[12], 0);
        } else if (idx == 1) {
            size_t rawn = (size_t)h * (w * c + 1);
            unsigned char *raw = malloc(rawn + 16);
            uLongf got = rawn + 16;
            CHECK_EQ_INT(uncompress(raw, &got, d, len), Z_OK);
            CHECK_EQ_INT(got, rawn);
            int same = got == rawn;
            for (int y = 0; y < h && same; y++) {
                if (raw[y * (w * c + 1)] != 0) same = 0;
                if (memcmp(raw + y * (w * c + 1) + 1, pix + y * w * c, (size_t)w * c)) same = 0;
            }
            CHECK_MSG(same, "IDAT does not inflate to the filtered scanlines");
            free(raw);
        } else {
            CHECK_EQ_INT(len, 0);
        }
        o += 12 + len;
        idx++;
    }
    CHECK_EQ_INT(idx, 3);
    CHECK_EQ_INT(o, n);
}

int main(void)
{
    dc_err e = {0};
    unsigned char gray[5 * 3], rgb[4 * 2 * 3];
    for (int i = 0; i < 15; i++) gray[i] = (unsigned char)(i * 17);
    for (int i = 0; i < 24; i++) rgb[i] = (unsigned char)(255 - i * 10);
    void *buf = NULL;
    size_t n = 0;
    CHECK(png_encode(&buf, &n, gray, 5, 3, 1, &e) == 0);
    check_png(buf, n, gray, 5, 3, 1);
    free(buf);
    CHECK(png_encode(&buf, &n, rgb, 4, 2, 3, &e) == 0);
    check_png(buf, n, rgb, 4, 2, 3);
    free(buf);
    CHECK_EQ_INT(png_encode(&buf, &n, gray, 0, 3, 1, &e), DC_EINVAL);
    CHECK_EQ_INT(png_encode(&buf, &n, gray, 5, 3, 2, &e), DC_EINVAL);

    float f[5] = {-0.5f, 0.0f, 0.5f, 1.0f, 7.0f};
    unsigned char u[5];
    png_from_float(u, f, 5);
    CHECK_EQ_INT(u[0], 0);
    CHECK_EQ_INT(u[1], 0);
    CHECK_EQ_INT(u[2], 128);
    CHECK_EQ_INT(u[3], 255);
    CHECK_EQ_INT(u[4], 255);

    /* grid: 3 images 2x2x1 with values 0.2 (img 0), 0.6 (img 1), 1.0 (img 2), 2 per row,
     * pad 1 -> canvas 7 wide, 7 high; image 2 in the second row, first column */
    float im[3 * 4];
    for (int i = 0; i < 12; i++) im[i] = i < 4 ? 0.2f : i < 8 ? 0.6f : 1.0f;
    unsigned char *g = NULL;
    int gw = 0, gh = 0;
    CHECK(png_grid(&g, &gw, &gh, im, 3, 2, 2, 1, 2, 1, &e) == 0);
    CHECK_EQ_INT(gw, 7);
    CHECK_EQ_INT(gh, 7);
    if (g) {
        CHECK_EQ_INT(g[0], 0);          /* border */
        CHECK_EQ_INT(g[1 * 7 + 1], 51); /* image 0 */
        CHECK_EQ_INT(g[2 * 7 + 2], 51);
        CHECK_EQ_INT(g[1 * 7 + 3], 0);  /* gap */
        CHECK_EQ_INT(g[1 * 7 + 4], 153); /* image 1 */
        CHECK_EQ_INT(g[4 * 7 + 1], 255); /* image 2 */
        CHECK_EQ_INT(g[4 * 7 + 4], 0);   /* empty slot */
    }

    char path[] = "/tmp/dc_test_png_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    CHECK(png_write(path, g, gw, gh, 1, &e) == 0);
    FILE *fp = fopen(path, "rb");
    unsigned char fb[4096];
    size_t got = fp ? fread(fb, 1, sizeof fb, fp) : 0;
    if (fp) fclose(fp);
    CHECK(got > 0);
    if (got && g) check_png(fb, got, g, gw, gh, 1);
    unlink(path);
    CHECK_EQ_INT(png_write("/nonexistent-dir/x.png", g, gw, gh, 1, &e), DC_EIO);
    free(g);
    return CHECK_DONE();
}
