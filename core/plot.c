/* plot: heatmap and scatter as RGB pixels; see plot.h. */
#include "plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 3x5 digits, one row per byte, bit 2 = left column */
static const unsigned char DIGITS[10][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
    {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};

/* ten hues (Tableau 10) */
static const unsigned char HUES[10][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

void plot_color(int g, unsigned char rgb[3])
{
    if (g < 0) {
        rgb[0] = rgb[1] = rgb[2] = 160;
        return;
    }
    int round = (g / 10) % 3; /* 0: as is, 1: darker, 2: lighter */
    for (int i = 0; i < 3; i++) {
        int c = HUES[g % 10][i];
        rgb[i] = (unsigned char)(round == 1 ? c * 3 / 5 : round == 2 ? c + (255 - c) / 2 : c);
    }
}

static void put(unsigned char *p, int w, int h, int x, int y, const unsigned char rgb[3])
{
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    memcpy(p + ((size_t)y * w + x) * 3, rgb, 3);
}

/* the decimal digits of v (>= 0) with their top-left at (x, y), scale s; returns width */
static int text_num(unsigned char *p, int w, int h, int x, int y, int v, int s,
                    const unsigned char rgb[3])
{
    char buf[16];
    int n = 0;
    do buf[n++] = (char)(v % 10); while ((v /= 10) > 0 && n < 15);
    for (int k = 0; k < n; k++) {
        const unsigned char *g = DIGITS[(int)buf[n - 1 - k]];
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 3; c++)
                if (g[r] & (4 >> c))
                    for (int dy = 0; dy < s; dy++)
                        for (int dx = 0; dx < s; dx++)
                            put(p, w, h, x + (k * 4 + c) * s + dx, y + r * s + dy, rgb);
    }
    return n * 4 * s;
}

static int digits_of(int v)
{
    int n = 1;
    while (v >= 10) v /= 10, n++;
    return n;
}

int plot_heatmap(unsigned char **pix, int *w, int *h, const double *v, int rows, int cols,
                 int cell, dc_err *e)
{
    static const unsigned char INK[3] = {40, 40, 40}, LINE[3] = {200, 200, 200},
                               NAN_RGB[3] = {160, 160, 160};
    *pix = NULL;
    if (!v || rows < 1 || rows > 1000 || cols < 1 || cols > 1000 || cell < 4 || cell > 64)
        return dc_err_set(e, DC_EINVAL, "plot_heatmap: bad arguments (%d x %d, cell %d)", rows,
                          cols, cell);
    int s = cell >= 16 ? 2 : 1; /* digit scale */
    int left = digits_of(rows - 1) * 4 * s + 4 * s, top = 5 * s + 4 * s;
    int W = left + cols * cell + 1, H = top + rows * cell + 1;
    unsigned char *p = malloc((size_t)W * H * 3);
    if (!p) return dc_err_set(e, DC_ENOMEM, "plot_heatmap: out of memory");
    memset(p, 255, (size_t)W * H * 3);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double t = v[(size_t)r * cols + c];
            unsigned char rgb[3];
            if (!isfinite(t)) memcpy(rgb, NAN_RGB, 3);
            else {
                t = t < 0 ? 0 : t > 1 ? 1 : t; /* white -> (8, 48, 107) */
                rgb[0] = (unsigned char)lround(255 + t * (8 - 255));
                rgb[1] = (unsigned char)lround(255 + t * (48 - 255));
                rgb[2] = (unsigned char)lround(255 + t * (107 - 255));
            }
            for (int y = 0; y <= cell; y++)
                for (int x = 0; x <= cell; x++) {
                    int edge = x == 0 || y == 0 || x == cell || y == cell;
                    put(p, W, H, left + c * cell + x, top + r * cell + y, edge ? LINE : rgb);
                }
        }
    for (int r = 0; r < rows; r++) /* row indices, right-aligned, centred on the row */
        text_num(p, W, H, left - 2 * s - digits_of(r) * 4 * s + s,
                 top + r * cell + (cell - 5 * s) / 2, r, s, INK);
    for (int c = 0; c < cols; c++) /* column indices, centred, if they fit */
        if (digits_of(c) * 4 * s <= cell + s)
            text_num(p, W, H, left + c * cell + (cell - digits_of(c) * 4 * s + s) / 2, 2 * s, c,
                     s, INK);
    *pix = p;
    *w = W;
    *h = H;
    return 0;
}

int plot_scatter(unsigned char **pix, int w, int h, const float *xy, const int *group,
                 size_t n, const float *marks, int n_marks, dc_err *e)
{
    static const unsigned char BLACK[3] = {0, 0, 0};
    *pix = NULL;
    if (w < 16 || w > 4096 || h < 16 || h > 4096 || (n && (!xy || !group)) || n_marks < 0 ||
        (n_marks && !marks))
        return dc_err_set(e, DC_EINVAL, "plot_scatter: bad arguments (%dx%d, n %zu)", w, h, n);
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (size_t i = 0; i < n + (size_t)n_marks; i++) {
        const float *q = i < n ? xy + 2 * i : marks + 2 * (i - n);
        for (int k = 0; k < 2; k++)
            if (isfinite(q[k])) {
                lo[k] = q[k] < lo[k] ? q[k] : lo[k];
                hi[k] = q[k] > hi[k] ? q[k] : hi[k];
            }
    }
    unsigned char *p = malloc((size_t)w * h * 3);
    if (!p) return dc_err_set(e, DC_ENOMEM, "plot_scatter: out of memory");
    memset(p, 255, (size_t)w * h * 3);
    int m = (w < h ? w : h) / 20 + 4; /* margin */
    double span = fmax(hi[0] - lo[0], hi[1] - lo[1]);
    double scale = span > 0 && isfinite(span) ? fmin(w - 2 * m, h - 2 * m) / span : 0;
    double ox = m + ((w - 2 * m) - scale * (hi[0] - lo[0])) / 2,
           oy = m + ((h - 2 * m) - scale * (hi[1] - lo[1])) / 2;
    if (!isfinite(lo[0])) lo[0] = lo[1] = 0, ox = w / 2.0, oy = h / 2.0;
    for (size_t i = 0; i < n + (size_t)n_marks; i++) {
        const float *q = i < n ? xy + 2 * i : marks + 2 * (i - n);
        if (!isfinite(q[0]) || !isfinite(q[1])) continue;
        int x = (int)lround(ox + (q[0] - lo[0]) * scale),
            y = h - 1 - (int)lround(oy + (q[1] - lo[1]) * scale); /* y up */
        if (i < n) {
            unsigned char rgb[3];
            plot_color(group[i], rgb);
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) put(p, w, h, x + dx, y + dy, rgb);
        } else
            for (int d = -5; d <= 5; d++) /* a cross, 2 pixels thick */
                for (int t = 0; t < 2; t++) {
                    put(p, w, h, x + d, y + t, BLACK);
                    put(p, w, h, x + t, y + d, BLACK);
                }
    }
    *pix = p;
    return 0;
}
