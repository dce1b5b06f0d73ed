/* test_plot: the heatmap and scatter pixels of core/plot.h (sizes, colours where they are
 * known, digits drawn, bad arguments refused) and that they encode as PNG. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plot.h"
#include "png.h"

static const unsigned char *px(const unsigned char *p, int w, int x, int y)
{
    return p + ((size_t)y * w + x) * 3;
}

static int is_rgb(const unsigned char *q, int r, int g, int b)
{
    return q[0] == r && q[1] == g && q[2] == b;
}

static void test_heatmap(void)
{
    double v[3 * 4] = {0, 0.5, 1, 2, -1, NAN, 0, 0, 1, 1, 1, 1};
    unsigned char *p = NULL;
    int w = 0, h = 0;
    dc_err e = {0};
    CHECK(plot_heatmap(&p, &w, &h, v, 3, 4, 8, &e) == 0);
    /* cell 8 -> digit scale 1; left margin 1 digit (4) + 4, top 5 + 4 */
    int left = 8, top = 9;
    CHECK_EQ_INT(w, left + 4 * 8 + 1);
    CHECK_EQ_INT(h, top + 3 * 8 + 1);
#define CELL(r, c) px(p, w, left + (c) * 8 + 4, top + (r) * 8 + 4)
    CHECK(is_rgb(CELL(0, 0), 255, 255, 255));
    CHECK(is_rgb(CELL(0, 2), 8, 48, 107));
    CHECK(is_rgb(CELL(0, 3), 8, 48, 107));   /* 2 clamped to 1 */
    CHECK(is_rgb(CELL(1, 0), 255, 255, 255)); /* -1 clamped to 0 */
    CHECK(is_rgb(CELL(1, 1), 160, 160, 160)); /* NaN */
    CHECK(is_rgb(CELL(0, 1), 132, 152, 181)); /* 0.5: halfway, rounded */
    CHECK(is_rgb(px(p, w, left, top), 200, 200, 200)); /* grid line */
    int ink_left = 0, ink_top = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < left; x++) ink_left += is_rgb(px(p, w, x, y), 40, 40, 40);
    for (int y = 0; y < top; y++)
        for (int x = left; x < w; x++) ink_top += is_rgb(px(p, w, x, y), 40, 40, 40);
    /* digits 0,1,2 on the left (12+7+11 pixels... at least one each), 0..3 on top */
    CHECK(ink_left >= 3 * 7 && ink_top >= 4 * 7);
    void *png = NULL;
    size_t len = 0;
    CHECK(png_encode(&png, &len, p, w, h, 3, &e) == 0);
    CHECK(len > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    free(png);
    free(p);
#undef CELL
    /* bigger cells: digits twice as large; 10 x 10 like a confusion matrix */
    double big[100];
    for (int i = 0; i < 100; i++) big[i] = (i % 11) == 0;
    CHECK(plot_heatmap(&p, &w, &h, big, 10, 10, 24, &e) == 0);
    CHECK_EQ_INT(w, (1 * 8 + 8) + 10 * 24 + 1);
    free(p);
    CHECK(plot_heatmap(&p, &w, &h, v, 0, 4, 8, &e) == DC_EINVAL && !p);
    CHECK(plot_heatmap(&p, &w, &h, v, 3, 4, 3, &e) == DC_EINVAL && !p);
    CHECK(plot_heatmap(&p, &w, &h, NULL, 3, 4, 8, &e) == DC_EINVAL && !p);
}

static void test_scatter(void)
{
    float xy[] = {0, 0, 1, 1, NAN, 0.5f};
    int group[] = {0, 1, 2};
    float marks[] = {0.5f, 0.5f};
    unsigned char *p = NULL;
    dc_err e = {0};
    int w = 100, h = 80;
    CHECK(plot_scatter(&p, w, h, xy, group, 3, marks, 1, &e) == 0);
    unsigned char c0[3], c1[3], c2[3];
    plot_color(0, c0), plot_color(1, c1), plot_color(2, c2);
    long n0 = 0, n1 = 0, n2 = 0, nb = 0;
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0, xb = 0, yb = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const unsigned char *q = px(p, w, x, y);
            if (!memcmp(q, c0, 3)) n0++, x0 += x, y0 += y;
            if (!memcmp(q, c1, 3)) n1++, x1 += x, y1 += y;
            if (!memcmp(q, c2, 3)) n2++;
            if (is_rgb(q, 0, 0, 0)) nb++, xb += x, yb += y;
        }
    CHECK(n0 == 9 && n1 == 9 && n2 == 0); /* 3x3 dots; the NaN point is not drawn */
    CHECK(nb > 20);
    /* (0,0) bottom left of (1,1) (y grows downwards on the canvas), the mark between */
    CHECK(x0 / n0 < xb / nb && xb / nb < x1 / n1);
    CHECK(y0 / n0 > yb / nb && yb / nb > y1 / n1);
    CHECK(x1 / n1 - x0 / n0 > 40 && fabs((x0 / n0 + x1 / n1) / 2 - w / 2.0) < 2);
    free(p);
    /* distinct colours for the first 30 groups */
    int distinct = 1;
    for (int a = 0; a < 30; a++)
        for (int b = a + 1; b < 30; b++) {
            unsigned char ca[3], cb[3];
            plot_color(a, ca), plot_color(b, cb);
            distinct &= memcmp(ca, cb, 3) != 0;
        }
    CHECK(distinct);
    CHECK(plot_scatter(&p, 8, 80, xy, group, 3, NULL, 0, &e) == DC_EINVAL && !p);
    CHECK(plot_scatter(&p, 100, 80, NULL, group, 3, NULL, 0, &e) == DC_EINVAL && !p);
    CHECK(plot_scatter(&p, 100, 80, NULL, NULL, 0, NULL, 0, &e) == 0); /* empty: white */
    CHECK(is_rgb(p, 255, 255, 255));
    free(p);
}

int main(void)
{
    test_heatmap();
    test_scatter();
    return CHECK_DONE();
}
