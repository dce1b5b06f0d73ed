/* plot: pictures as pixels for png.h, drawn without any font library: a heatmap (a
 * confusion matrix: clusters x classes) and a 2-D scatter (an embedding map), both RGB
 * (h, w, 3) bytes ready for png_encode. Axis indices are drawn with a built-in 3x5 digit
 * font, so a heatmap can be read without the JSON beside it.
 *
 *   unsigned char *pix; int w, h;
 *   plot_heatmap(&pix, &w, &h, frac, 10, 10, 24, &e);    // frac (rows, cols) in [0, 1]
 *   png_encode(&buf, &len, pix, w, h, 3, &e); free(pix);
 *   plot_scatter(&pix, 480, 480, xy, group, n, cxy, 10, &e);   // xy (n, 2), cxy (10, 2)
 *
 * Colours: the heatmap goes from white (0) to dark blue (1); the scatter's groups take
 * plot_color(g) (ten well-separated hues, then darker and lighter rounds of them),
 * marks (centroids) are black crosses. Non-finite values draw nothing (heatmap: grey). */
#ifndef DC_PLOT_H
#define DC_PLOT_H

#include <stddef.h>

#include "dc_err.h"

/* rgb of group g >= 0 (negative: grey). */
void plot_color(int g, unsigned char rgb[3]);

/* A rows x cols grid of cell x cell squares coloured by v (rows, cols) in [0, 1] (values
 * outside are clamped), row indices at the left, column indices on top, 1-pixel grey
 * lines. *pix malloc'd (caller frees), (*h, *w, 3). rows, cols 1..1000, cell 4..64. */
int plot_heatmap(unsigned char **pix, int *w, int *h, const double *v, int rows, int cols,
                 int cell, dc_err *e);

/* n points xy (n, 2) on a white w x h canvas (each 16..4096), scaled to fit with a
 * margin (both axes the same scale), each a 3x3 dot of plot_color(group[i]); then
 * n_marks marks (n_marks, 2) in the same coordinates as black crosses (may be NULL/0). */
int plot_scatter(unsigned char **pix, int w, int h, const float *xy, const int *group,
                 size_t n, const float *marks, int n_marks, dc_err *e);

#endif
