/* png: a minimal PNG writer (8-bit grayscale or RGB, no interlace) and an image-grid
 * helper, so that generated samples and reconstructions can be looked at.
 *
 * Images are row-major, pixel-interleaved bytes (h, w, c) with c = 1 (gray) or 3 (RGB).
 * Every scanline is stored with filter type 0 (None), all of them in ONE IDAT chunk
 * deflated by zlib's compress2; chunk CRCs are zlib's crc32 over type + data.
 *
 *   float imgs[16 * 28 * 28];                        // 16 images 28x28x1 in [0,1]
 *   unsigned char *pix; int gw, gh;
 *   png_grid(&pix, &gw, &gh, imgs, 16, 28, 28, 1, 4, 1, &e);   // 4 per row, 1 px gap
 *   png_write(path, pix, gw, gh, 1, &e);
 *   free(pix);
 */
#ifndef DC_PNG_H
#define DC_PNG_H

#include <stddef.h>

#include "dc_err.h"

/* Encodes pix (h, w, c bytes; c 1 or 3) as a PNG into a malloc'd *buf of *len bytes
 * (caller frees). DC_EINVAL for bad sizes, DC_ENOMEM, DC_EIO if zlib fails. */
int png_encode(void **buf, size_t *len, const unsigned char *pix, int w, int h, int c,
               dc_err *e);

/* png_encode + write to path (created or truncated). */
int png_write(const char *path, const unsigned char *pix, int w, int h, int c, dc_err *e);

/* out[i] = round(255 * clamp(in[i], 0, 1)) for n values (NaN -> 0). */
void png_from_float(unsigned char *out, const float *in, size_t n);

/* Tiles n images (each h, w, c floats in [0,1], NHWC, back to back) into a canvas of
 * cols images per row (rows = ceil(n / cols)), with pad pixels of black between images
 * and around the border. *pix is malloc'd (caller frees), (*gh, *gw, c) bytes. */
int png_grid(unsigned char **pix, int *gw, int *gh, const float *imgs, int n, int h, int w,
             int c, int cols, int pad, dc_err *e);

#endif
