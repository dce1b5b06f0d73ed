/* cli_util: see cli_util.h. */
#include "cli_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dc_blas.h"

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("deepclust: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_USAGE;
}

int cli_data_flag(int argc, char **argv, int *i, data_opts *o)
{
    const char *v;
    int m, col;
    if ((m = cli_flag(argc, argv, i, "scale", &v))) {
        if (m < 0) return -1;
        if (strcmp(v, "auto") == 0) o->scale = DATA_SCALE_AUTO;
        else if (strcmp(v, "none") == 0) o->scale = DATA_SCALE_NONE;
        else if (strcmp(v, "255") == 0) o->scale = DATA_SCALE_255;
        else return cli_usage_error("--scale: expected auto, none or 255, got '%s'", v), -1;
        return 1;
    }
    if ((m = cli_flag(argc, argv, i, "csv-label-col", &v))) {
        if (m < 0 || cli_int("csv-label-col", v, -100000, 100000, &col) < 0) return -1;
        o->csv_has_label = 1;
        o->csv_label_col = col;
        return 1;
    }
    if ((m = cli_flag(argc, argv, i, "csv-header", &v))) {
        if (m < 0) return -1;
        if (strcmp(v, "auto") == 0) o->csv_header = DATA_CSV_HEADER_AUTO;
        else if (strcmp(v, "yes") == 0) o->csv_header = DATA_CSV_HEADER_YES;
        else if (strcmp(v, "no") == 0) o->csv_header = DATA_CSV_HEADER_NO;
        else return cli_usage_error("--csv-header: expected auto, yes or no, got '%s'", v), -1;
        return 1;
    }
    return 0;
}

int cli_files_flag(int argc, char **argv, int *i, const char **data, int *nd,
                   const char **labels, int *nl, int max)
{
    const char *v;
    int m;
    if ((m = cli_flag(argc, argv, i, "data", &v))) {
        if (m < 0) return -1;
        if (*nd == max) return cli_usage_error("at most %d --data files", max), -1;
        data[(*nd)++] = v;
        return 1;
    }
    if ((m = cli_flag(argc, argv, i, "labels", &v))) {
        if (m < 0) return -1;
        if (*nl == max) return cli_usage_error("at most %d --labels files", max), -1;
        labels[(*nl)++] = v;
        return 1;
    }
    return 0;
}

static const char *spec_flags[CLI_SPEC_NFLAGS] = {
    "seed", "hidden", "pretrain-epochs", "pretrain-opt", "pretrain-lr", "batch", "n-init",
    "maxiter", "update-interval", "tol", "gamma", "cluster-lr", "latent", "vae-epochs",
    "alpha", "cluster-opt", "init", "vae-lr", "manifold-components", "manifold-neighbors",
    "manifold-min-dist", "manifold-epochs", "manifold-init", "gmm-n-init"};

void cli_spec_over_init(cli_spec_over *o) { memset(o, 0, sizeof *o); }

int cli_spec_flag(int argc, char **argv, int *i, cli_spec_over *o)
{
    if (strcmp(argv[*i], "--vae-conv") == 0) {
        o->vae_conv = 1;
        return 1;
    }
    for (int f = 0; f < CLI_SPEC_NFLAGS; f++) {
        const char *v;
        int m = cli_flag(argc, argv, i, spec_flags[f], &v);
        if (m) {
            if (m > 0) o->val[f] = v;
            return m;
        }
    }
    return 0;
}

static int num(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        cli_usage_error("--%s: expected a number in [%g, %g], got '%s'", flag, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* adam | sgd, and auto where allow_auto. */
static int opt_kind(const char *flag, const char *s, int allow_auto, int *out)
{
    if (strcmp(s, "adam") == 0) *out = OPT_ADAM;
    else if (strcmp(s, "sgd") == 0) *out = OPT_SGD;
    else if (allow_auto && strcmp(s, "auto") == 0) *out = OPT_AUTO;
    else return cli_usage_error("--%s: expected adam%s or sgd, got '%s'", flag,
                                allow_auto ? ", auto" : "", s), -1;
    return 0;
}

int cli_spec_over_apply(const cli_spec_over *o, cluster_spec *s)
{
    double x;
    for (int f = 0; f < CLI_SPEC_NFLAGS; f++) {
        const char *v = o->val[f], *name = spec_flags[f];
        if (!v) continue;
        switch (f) {
        case 0:
            if (num(name, v, 0, 9007199254740992.0, &x) < 0) return -1;
            s->seed = (uint64_t)x;
            break;
        case 1: {
            int n = 0;
            if (strcmp(v, "none") == 0) { /* n2d on the raw features */
                if (s->method != CM_N2D)
                    return cli_usage_error("--hidden none: only n2d runs without an "
                                           "autoencoder"), -1;
                s->n_hidden = 0;
                break;
            }
            const char *p = v;
            while (*p) {
                char *end;
                long w = strtol(p, &end, 10);
                if (end == p || w < 1 || w > 100000 || n == CLUSTER_MAX_DIMS ||
                    (*end && *end != ','))
                    return cli_usage_error("--hidden: expected up to %d widths like "
                                           "500,500,2000,10, got '%s'", CLUSTER_MAX_DIMS, v), -1;
                s->hidden[n++] = (int)w;
                p = *end ? end + 1 : end;
            }
            if (!n) return cli_usage_error("--hidden: empty"), -1;
            s->n_hidden = n;
            s->embed_dim = s->hidden[n - 1];
            break;
        }
        case 2: if (num(name, v, 0, 100000, &x) < 0) return -1; s->pretrain_epochs = (int)x; break;
        case 3: if (opt_kind(name, v, 1, &s->pretrain_opt) < 0) return -1; break;
        case 4: if (num(name, v, 1e-9, 10, &s->pretrain_lr) < 0) return -1; break;
        case 5: if (num(name, v, 1, 65536, &x) < 0) return -1; s->batch = (int)x; break;
        case 6: if (num(name, v, 1, 1000, &x) < 0) return -1; s->n_init = (int)x; break;
        case 7: if (num(name, v, 0, 1e8, &x) < 0) return -1; s->maxiter = (int)x; break;
        case 8: if (num(name, v, 1, 1e7, &x) < 0) return -1; s->update_interval = (int)x; break;
        case 9: if (num(name, v, 0, 1, &s->tol) < 0) return -1; break;
        case 10: if (num(name, v, 0, 1e6, &s->gamma) < 0) return -1; break;
        case 11: if (num(name, v, 1e-9, 10, &s->cluster_lr) < 0) return -1; break;
        case 12: if (num(name, v, 1, 4096, &x) < 0) return -1; s->latent = (int)x; break;
        case 13: if (num(name, v, 0, 100000, &x) < 0) return -1; s->vae_epochs = (int)x; break;
        case 14: if (num(name, v, 1e-6, 1e6, &s->alpha) < 0) return -1; break;
        case 15: if (opt_kind(name, v, 0, &s->cluster_opt) < 0) return -1; break;
        case 16:
            if (strcmp(v, "glorot") == 0) s->pretrain_init = INIT_GLOROT;
            else if (strcmp(v, "varscale") == 0) s->pretrain_init = INIT_VARSCALE;
            else if (strcmp(v, "auto") == 0) s->pretrain_init = INIT_AUTO;
            else return cli_usage_error("--init: expected glorot, varscale or auto, got '%s'", v), -1;
            break;
        case 17: if (num(name, v, 1e-9, 10, &s->vae_lr) < 0) return -1; break;
        case 18: if (num(name, v, 1, 1024, &x) < 0) return -1; s->manifold_components = (int)x; break;
        case 19: if (num(name, v, 2, 1000, &x) < 0) return -1; s->manifold_neighbors = (int)x; break;
        case 20: if (num(name, v, 0, 1, &s->manifold_min_dist) < 0) return -1; break;
        case 21: if (num(name, v, 0, 100000, &x) < 0) return -1; s->manifold_epochs = (int)x; break;
        case 22:
            if (strcmp(v, "pca") == 0) s->manifold_init = MANIFOLD_INIT_PCA;
            else if (strcmp(v, "spectral") == 0) s->manifold_init = MANIFOLD_INIT_SPECTRAL;
            else return cli_usage_error("--manifold-init: expected pca or spectral, got '%s'", v), -1;
            break;
        case 23: if (num(name, v, 1, 1000, &x) < 0) return -1; s->gmm_n_init = (int)x; break;
        }
    }
    if (o->vae_conv) s->vae_conv = 1;
    /* the convolutional vae has no pretrained start (an explicit --pretrain-epochs > 0 is
       refused by cluster_spec_check) */
    if (s->method == CM_VAE && s->vae_conv && !o->val[2]) {
        s->pretrain_epochs = 0;
        if (!o->val[17]) s->vae_lr = 1e-3;
    }
    return 0;
}

void cli_set_blas_threads(int n) { dc_blas_set_threads(n); }

int cli_load_data(dataset *ds, const char **data, const char **labels, int nd, int nl,
                  const data_opts *o, dc_err *e)
{
    int rc = 0;
    for (int f = 0; f < nd && rc == 0; f++) {
        dataset part = {0};
        rc = dataset_load(&part, data[f], DATA_FMT_AUTO, o, e);
        if (rc == 0 && nl) rc = dataset_load_labels(&part, labels[f], DATA_FMT_AUTO, e);
        if (rc == 0) {
            if (f == 0) {
                *ds = part;
                continue;
            }
            rc = dataset_concat(ds, ds, &part, e);
        }
        dataset_free(&part);
    }
    if (rc < 0) dataset_free(ds);
    return rc;
}

int cli_read_file(const char *path, void **buf, size_t *len, dc_err *e)
{
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    *len = 0;
    if (!f) return dc_err_set(e, DC_EIO, "%s: %s", path, strerror(errno));
    int rc = 0;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        rc = dc_err_set(e, DC_EIO, "%s: cannot get its size", path);
    } else if (!(*buf = malloc(n ? (size_t)n : 1))) {
        rc = dc_err_set(e, DC_ENOMEM, "%s: out of memory for %ld bytes", path, n);
    } else if (fread(*buf, 1, (size_t)n, f) != (size_t)n) {
        rc = dc_err_set(e, DC_EIO, "%s: short read", path);
    } else {
        *len = (size_t)n;
    }
    fclose(f);
    if (rc < 0) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}

int cli_write_atomic(const char *path, const void *head, size_t head_len, const void *buf,
                     size_t len, dc_err *e)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) return dc_err_set(e, DC_ENOMEM, "out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int rc = 0;
    /* 0600: models and checkpoints are derived from the data; private like the db */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        if (fd >= 0) close(fd);
        rc = dc_err_set(e, DC_EIO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    int bad = (head_len && fwrite(head, 1, head_len, f) != head_len) ||
              (len && fwrite(buf, 1, len, f) != len) || fflush(f) != 0 || fsync(fileno(f)) != 0;
    int err = errno;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        if (!bad) err = errno;
        remove(tmp);
        rc = dc_err_set(e, DC_EIO, "%s: write failed (%s)", path, strerror(err));
    }
out:
    free(tmp);
    return rc;
}

int cli_write_file(const char *path, const void *buf, size_t len, dc_err *e)
{
    return cli_write_atomic(path, NULL, 0, buf, len, e);
}

int cli_save_model(const cluster_model *m, const char *path, dc_err *e)
{
    void *b = NULL;
    size_t bl = 0;
    int rc = cluster_model_save(m, &b, &bl, e);
    if (rc == 0) rc = cli_write_file(path, b, bl, e);
    free(b);
    return rc;
}

int cli_write_npy_f32(const char *path, const float *a, int64_t n, int k, dc_err *e)
{
    char shape[64];
    snprintf(shape, sizeof shape, "(%lld, %d)", (long long)n, k);
    return data_write_npy(path, "<f4", shape, a, (size_t)n * k * sizeof *a, e);
}

int cli_write_npy_i32(const char *path, const int32_t *a, int64_t n, dc_err *e)
{
    char shape[64];
    snprintf(shape, sizeof shape, "(%lld,)", (long long)n);
    return data_write_npy(path, "<i4", shape, a, (size_t)n * sizeof *a, e);
}
