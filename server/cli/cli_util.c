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

void cli_spec_over_init(cli_spec_over *o) { memset(o, 0, sizeof *o); }

int cli_spec_flag(int argc, char **argv, int *i, cli_spec_over *o)
{
    for (int f = 0; f < COPT_COUNT; f++) {
        const cluster_opt *r = &cluster_opts[f];
        const char *v;
        if (!r->flag) continue;
        if (r->type == COPT_T_BOOL) { /* a switch: --vae-conv */
            if (strncmp(argv[*i], "--", 2) != 0 || strcmp(argv[*i] + 2, r->flag) != 0) continue;
            o->val[f] = "true";
            return 1;
        }
        int m = cli_flag(argc, argv, i, r->flag, &v);
        if (m) {
            if (m > 0) o->val[f] = v;
            return m;
        }
    }
    return 0;
}

int cli_spec_over_one(const cli_spec_over *o, cluster_opt_id id, cluster_spec *s)
{
    dc_err e = {0};
    if (o->val[id] && cluster_opt_parse(s, id, o->val[id], &e) < 0)
        return cli_usage_error("--%s: %s", cluster_opts[id].flag, e.msg), -1;
    return 0;
}

int cli_spec_over_apply(const cli_spec_over *o, cluster_spec *s)
{
    unsigned char given[COPT_COUNT];
    for (int f = 0; f < COPT_COUNT; f++) {
        given[f] = o->val[f] != NULL;
        if (!(cluster_opts[f].flags & COPT_F_REQUIRED) && cli_spec_over_one(o, f, s) < 0)
            return -1;
    }
    cluster_opts_finish(s, given);
    return 0;
}

/* The value of option id of s as JSON text (the job spec's form). */
static void opt_value_json(FILE *f, const cluster_spec *s, cluster_opt_id id)
{
    const cluster_opt *o = &cluster_opts[id];
    double x = cluster_opt_get(s, id);
    switch (o->type) {
    case COPT_T_WIDTHS:
        if (!s->n_hidden) {
            fputs("\"none\"", f);
            break;
        }
        for (int i = 0; i < s->n_hidden; i++) fprintf(f, "%c%d", i ? ',' : '[', s->hidden[i]);
        fputc(']', f);
        break;
    case COPT_T_SEED: fprintf(f, "%llu", (unsigned long long)s->seed); break;
    case COPT_T_BOOL: fputs(x ? "true" : "false", f); break;
    case COPT_T_ENUM: fprintf(f, "\"%s\"", o->names[(int)x]); break;
    case COPT_T_NUM:
        if ((o->flags & COPT_F_ZERO_UNSET) && x == 0) fputs("null", f);
        else fprintf(f, "%.17g", x);
        break;
    default: fprintf(f, "%d", (int)x); break;
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void cli_spec_dump_json(FILE *f)
{
    static const char *const types[] = {"integer", "number", "boolean", "enum", "seed", "widths"};
    cluster_spec base, m;
    memset(&base, 0, sizeof base);
    cluster_opts_set_defaults(&base, -1);
    fprintf(f, "{\"max_widths\":%d,\"methods\":", CLUSTER_MAX_DIMS);
    for (int i = 0; i < CM_COUNT; i++) fprintf(f, "%c\"%s\"", i ? ',' : '[', cluster_method_names[i]);
    fputs("],\"options\":[", f);
    for (int id = 0; id < COPT_COUNT; id++) {
        const cluster_opt *o = &cluster_opts[id];
        fprintf(f, "%s\n{\"field\":\"%s\",\"json\":\"%s\",\"flag\":", id ? "," : "", o->field, o->json);
        json_str(f, o->flag);
        fprintf(f, ",\"type\":\"%s\",\"lo\":%.17g,\"hi\":%.17g,\"lo_open\":%s,\"nullable\":%s,"
                   "\"required\":%s,\"derived\":%s,\"doc\":", types[o->type], o->lo, o->hi,
                o->flags & COPT_F_LO_OPEN ? "true" : "false",
                o->flags & COPT_F_ZERO_UNSET ? "true" : "false",
                o->flags & COPT_F_REQUIRED ? "true" : "false",
                o->flags & COPT_F_DERIVED ? "true" : "false");
        json_str(f, o->doc);
        if (o->names) {
            fputs(",\"names\":", f);
            for (int i = 0; o->names[i]; i++) {
                fputc(i ? ',' : '[', f);
                json_str(f, o->names[i]);
            }
            fputc(']', f);
        }
        if (o->flags & COPT_F_REQUIRED) {
            fputc('}', f);
            continue;
        }
        fputs(",\"default\":", f);
        opt_value_json(f, &base, (cluster_opt_id)id);
        fputs(",\"method_defaults\":{", f);
        for (int k = 0, n = 0; k < CM_COUNT; k++) {
            if (cluster_opt_default((cluster_opt_id)id, (cluster_method)k) == o->def) continue;
            cluster_spec_default(&m, (cluster_method)k, 1);
            fprintf(f, "%s\"%s\":", n++ ? "," : "", cluster_method_names[k]);
            opt_value_json(f, &m, (cluster_opt_id)id);
        }
        fputs("}}", f);
    }
    fputs("]}\n", f);
}

void cli_spec_help(FILE *f)
{
    char head[192], vals[96];
    for (int id = 0; id < COPT_COUNT; id++) {
        const cluster_opt *o = &cluster_opts[id];
        if (!o->flag || (o->flags & (COPT_F_REQUIRED | COPT_F_DERIVED))) continue;
        switch (o->type) {
        case COPT_T_BOOL: vals[0] = 0; break;
        case COPT_T_WIDTHS: snprintf(vals, sizeof vals, " A,B,..,E"); break;
        case COPT_T_ENUM:
            vals[0] = ' ', vals[1] = 0;
            for (int i = 0; o->names[i]; i++)
                snprintf(vals + strlen(vals), sizeof vals - strlen(vals), "%s%s", i ? "|" : "",
                         o->names[i]);
            break;
        case COPT_T_NUM: snprintf(vals, sizeof vals, " X"); break;
        default: snprintf(vals, sizeof vals, " N"); break;
        }
        snprintf(head, sizeof head, "--%s%s", o->flag, vals);
        /* the doc, then the default (and a method's own), wrapped at 80 columns */
        char text[512];
        int l = snprintf(text, sizeof text, "%s", o->doc);
        if (!(o->flags & COPT_F_ZERO_UNSET) && o->type != COPT_T_BOOL)
            l += snprintf(text + l, sizeof text - (size_t)l, " (%s", o->def);
        for (int k = 0; k < CM_COUNT && l < (int)sizeof text; k++) {
            const char *d = cluster_opt_default((cluster_opt_id)id, (cluster_method)k);
            if (d != o->def)
                l += snprintf(text + l, sizeof text - (size_t)l, "; %s %s", cluster_method_names[k], d);
        }
        if (!(o->flags & COPT_F_ZERO_UNSET) && o->type != COPT_T_BOOL && l < (int)sizeof text)
            snprintf(text + l, sizeof text - (size_t)l, ")");
        int col = fprintf(f, "  %-24s", head);
        for (const char *w = text; *w;) {
            int n = (int)strcspn(w, " ");
            if (col > 27 && col + 1 + n > 80) col = fprintf(f, "\n%26s", "") - 1;
            col += fprintf(f, " %.*s", n, w);
            w += n + (w[n] == ' ');
        }
        fputc('\n', f);
    }
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
