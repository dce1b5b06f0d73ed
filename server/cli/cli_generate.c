/* cli_generate: `deepclust generate`, samples of one cluster from a saved VAE model
 * (method vae), written as a PNG grid for image data and/or as an NPY array.
 *
 *   deepclust generate --model m.bin --cluster 3 -n 16 --out grid.png [--seed S]
 *                      [--cols C] [--npy samples.npy]
 *
 * Needs from core/cluster.h: cluster_generate (out n x d, values in [0,1]),
 * cluster_model_dim, cluster_model_k and cluster_model_image_shape. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "cluster.h"
#include "png.h"

static void generate_usage(FILE *f)
{
    fprintf(f,
            "usage: deepclust generate --model FILE --cluster J [-n N] [--out grid.png]\n"
            "                          [--npy samples.npy] [--seed S] [--cols C]\n"
            "Draws N samples (default 16) of cluster J from a saved vae model: z ~ N(mu_J, I),\n"
            "decoded to values in [0,1]. --out writes a PNG grid (image data only: C per row,\n"
            "default ceil(sqrt(N)), 1 px gaps); --npy writes the float32 array (N, d).\n"
            "At least one of --out and --npy. --seed (default 1) makes the draw reproducible.\n");
}

int cli_generate(int argc, char **argv)
{
    const char *model_path = NULL, *out = NULL, *npy = NULL, *v;
    int cluster = -1, n = 16, cols = 0, m, rc = CLI_FAIL;
    unsigned long long seed = 1;
    void *buf = NULL;
    size_t len = 0;
    cluster_model *model = NULL;
    float *x = NULL;
    unsigned char *pix = NULL;
    dc_err e = {0};
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            generate_usage(stdout);
            return CLI_OK;
        } else if ((m = cli_flag(argc, argv, &i, "model", &v))) {
            if (m < 0) return CLI_USAGE;
            model_path = v;
        } else if ((m = cli_flag(argc, argv, &i, "cluster", &v))) {
            if (m < 0 || cli_int("--cluster", v, 0, 1 << 20, &cluster) < 0) return CLI_USAGE;
        } else if (strcmp(argv[i], "-n") == 0 || (m = cli_flag(argc, argv, &i, "n", &v))) {
            if (strcmp(argv[i], "-n") == 0) {
                if (i + 1 >= argc) return cli_usage_error("-n needs a value");
                v = argv[++i];
            } else if (m < 0) {
                return CLI_USAGE;
            }
            if (cli_int("-n", v, 1, 100000, &n) < 0) return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "cols", &v))) {
            if (m < 0 || cli_int("--cols", v, 1, 10000, &cols) < 0) return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "seed", &v))) {
            char *end;
            if (m < 0) return CLI_USAGE;
            seed = strtoull(v, &end, 10);
            if (!*v || *end) return cli_usage_error("--seed: '%s' is not a number", v);
        } else if ((m = cli_flag(argc, argv, &i, "out", &v))) {
            if (m < 0) return CLI_USAGE;
            out = v;
        } else if ((m = cli_flag(argc, argv, &i, "npy", &v))) {
            if (m < 0) return CLI_USAGE;
            npy = v;
        } else {
            return cli_usage_error("generate: unknown argument '%s' (see deepclust generate --help)",
                                   argv[i]);
        }
    }
    if (!model_path || cluster < 0 || (!out && !npy))
        return cli_usage_error("generate needs --model, --cluster and --out or --npy (see --help)");
    if (data_read_file(model_path, &buf, &len, &e) < 0 ||
        cluster_model_load(&model, buf, len, &e) < 0)
        goto fail;
    int k = cluster_model_k(model), d = cluster_model_dim(model), h = 0, w = 0, c = 0;
    if (cluster >= k) {
        dc_err_set(&e, DC_EINVAL, "--cluster %d: the model has %d clusters (0..%d)", cluster, k,
                   k - 1);
        goto fail;
    }
    cluster_model_image_shape(model, &h, &w, &c);
    if (out && (h <= 0 || w <= 0 || (c != 1 && c != 3) || (int64_t)h * w * c != d)) {
        dc_err_set(&e, DC_EINVAL,
                   "the model's data has no gray or RGB image shape (d %d): use --npy", d);
        goto fail;
    }
    x = malloc(sizeof(float) * (size_t)n * d);
    if (!x) {
        dc_err_set(&e, DC_ENOMEM, "out of memory");
        goto fail;
    }
    if (cluster_generate(model, cluster, n, (uint64_t)seed, x, &e) < 0) goto fail;
    if (npy && cli_write_npy_f32(npy, x, n, d, &e) < 0) goto fail;
    if (out) {
        int gw, gh;
        if (!cols) cols = (int)ceil(sqrt((double)n));
        if (png_grid(&pix, &gw, &gh, x, n, h, w, c, cols, 1, &e) < 0 ||
            png_write(out, pix, gw, gh, c, &e) < 0)
            goto fail;
        fprintf(stderr, "wrote %d samples of cluster %d to %s (%dx%d)\n", n, cluster, out, gw, gh);
    }
    rc = CLI_OK;
    goto done;
fail:
    fprintf(stderr, "deepclust: %s\n", e.msg);
done:
    free(pix);
    free(x);
    free(buf);
    cluster_model_free(model);
    return rc;
}
