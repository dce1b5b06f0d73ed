/* svc_data: datasets. An upload is validated and converted by core/data's streaming
 * reader, block of rows by block of rows, straight into a zeroblob of the right size
 * (sqlite3_blob_write), each block in its own short transaction so that workers are
 * never kept waiting for the write lock. The dataset row says 'uploading' until the last
 * block is in; a failed import deletes it, and start-up deletes any a crash left. */
#include "svc_internal.h"

#include "dc_size.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"

enum {
    BLOCK_BYTES = 4 << 20, /* rows read and written per transaction */
    CHUNK_BYTES = 1 << 20, /* at most this many bytes per dataset_chunks row: a reader
                              that keeps one chunk (svc__chunk) holds no more */
};

int svc_upload_template(const svc *s, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s.upload-XXXXXX", s->file_base);
    return n > 0 && (size_t)n < cap ? 0 : DC_EINVAL;
}

/* PostgreSQL: "deepclust-<pid>.upload-XXXXXX" of a process that is gone (the spool
 * folder may be shared by several processes of this host). */
static int orphan_spool(const char *name)
{
    char *end;
    long pid;
    if (strncmp(name, "deepclust-", 10) != 0) return 0;
    pid = strtol(name + 10, &end, 10);
    if (end == name + 10 || pid <= 0 || strncmp(end, ".upload-", 8) != 0 ||
        strlen(end) != 8 + 6)
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

void svc__clean_uploads(const svc *s)
{
    char dir[4096], prefix[512];
    const char *slash = strrchr(s->file_base, '/');
    DIR *d;
    struct dirent *ent;

    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - s->file_base) : 1,
             slash ? (slash == s->file_base ? "/" : s->file_base) : ".");
    snprintf(prefix, sizeof prefix, "%s.upload-", slash ? slash + 1 : s->file_base);
    if (!(d = opendir(dir))) return;
    while ((ent = readdir(d)))
        if ((strncmp(ent->d_name, prefix, strlen(prefix)) == 0 &&
             strlen(ent->d_name) == strlen(prefix) + 6) ||
            (s->pg && orphan_spool(ent->d_name))) {
            char path[4600];
            snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
            if (unlink(path) == 0)
                fprintf(stderr, "deepclust: recovery: removed %s, left by an interrupted upload\n",
                        path);
        }
    closedir(d);
}

static const char dataset_cols[] =
    "SELECT id, name, format, dtype, n, d, shape, has_labels, n_classes, size_bytes, sha256, "
    "created_at, scale_mode, scale, scale_shift, scale_mult, range_min, range_max FROM datasets";

/* A row of dataset_cols into *o. */
static void dataset_row(db_stmt *st, svc_dataset *o)
{
    svc__col_text(st, 0, o->id, sizeof o->id);
    svc__col_text(st, 1, o->name, sizeof o->name);
    svc__col_text(st, 2, o->format, sizeof o->format);
    svc__col_text(st, 3, o->dtype, sizeof o->dtype);
    o->n = db_column_int64(st, 4);
    o->d = db_column_int(st, 5);
    svc__col_text(st, 6, o->shape, sizeof o->shape);
    o->has_labels = db_column_int(st, 7) != 0;
    o->n_classes = db_column_is_null(st, 8) ? -1 : db_column_int64(st, 8);
    o->size_bytes = db_column_int64(st, 9);
    svc__col_text(st, 10, o->sha256, sizeof o->sha256);
    svc__col_text(st, 11, o->created_at, sizeof o->created_at);
    svc__preprocess_row(st, 12, &o->pre);
}

static int dataset_fetch(db_conn *db, const char *id, svc_dataset *out, dc_err *e)
{
    db_stmt *st = NULL;
    char sql[512];
    int rc;

    snprintf(sql, sizeof sql, "%s WHERE id = ? AND status = 'ready'", dataset_cols);
    if ((rc = svc__row_by_id(db, sql, id, "dataset", "dataset", &st, e)) == 0)
        dataset_row(st, out);
    db_finalize(st);
    return rc;
}

static int exec_bind1(db_conn *db, const char *sql, const char *arg, dc_err *e)
{
    db_stmt *st = NULL;
    int rc = db_prepare(db, sql, &st);
    if (rc == DB_OK) {
        db_bind_text(st, 1, arg);
        rc = db_step(st);
    }
    rc = rc == DB_DONE ? 0 : svc__sql_err(db, sql, e);
    db_finalize(st);
    return rc;
}

/* Stores bytes [off, off + len) of part of dataset id as one chunk row (caller's
 * transaction). */
static int chunk_write(store *db, const char *id, const char *part, const void *buf,
                       int64_t len, int64_t off, dc_err *e)
{
    db_conn *h = store_db(db);
    db_stmt *st = NULL;
    int rc = 0;
    if (db_prepare(h, "INSERT INTO dataset_chunks (dataset_id, part, off, data) "
                      "VALUES (?, ?, ?, ?)", &st) != DB_OK)
        return svc__sql_err(h, "write dataset data", e);
    db_bind_text(st, 1, id);
    db_bind_text(st, 2, part);
    db_bind_int64(st, 3, off);
    db_bind_blob(st, 4, buf, len);
    if (db_step(st) != DB_DONE) rc = svc__sql_err(h, "write dataset data", e);
    db_finalize(st);
    return rc;
}

/* Stores bytes [at, at + len) of part as chunks of at most CHUNK_BYTES, in the
 * caller's transaction. */
static int chunks_write(store *db, const char *id, const char *part, const void *buf,
                        int64_t len, int64_t at, dc_err *e)
{
    for (int64_t off = 0; off < len; off += CHUNK_BYTES) {
        int64_t n = len - off < CHUNK_BYTES ? len - off : CHUNK_BYTES;
        int rc = chunk_write(db, id, part, (const char *)buf + off, n, at + off, e);
        if (rc < 0) return rc;
    }
    return 0;
}

/* The same in its own transaction. */
static int chunks_write_txn(store *db, const char *id, const char *part, const void *buf,
                            int64_t len, int64_t at, dc_err *e)
{
    int rc = store_begin(db, e);
    if (rc < 0) return rc;
    if ((rc = chunks_write(db, id, part, buf, len, at, e)) < 0 || (rc = store_commit(db, e)) < 0)
        store_rollback(db);
    return rc;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Distinct values of labels (n); -1 when out of memory. */
static int64_t n_distinct(const int32_t *labels, int64_t n)
{
    int32_t *c = malloc(sizeof *c * (size_t)n);
    int64_t k = 0;
    if (!c) return -1;
    memcpy(c, labels, sizeof *c * (size_t)n);
    qsort(c, (size_t)n, sizeof *c, cmp_i32);
    for (int64_t i = 0; i < n; i++) k += i == 0 || c[i] != c[i - 1];
    free(c);
    return k;
}

/* Reads the whole file once to count (and validate) its rows, and, when lo is not NULL,
 * to find the smallest and largest value (*lo, *hi). */
static int count_rows(const char *path, const svc_upload *u, const data_opts *o, int64_t *n,
                      double *lo, double *hi, dc_err *e)
{
    data_reader *r = NULL;
    float *buf = NULL;
    int64_t got, block;
    int rc = data_reader_open(&r, path, (data_format)u->format, o, e);
    if (rc < 0) return rc;
    block = BLOCK_BYTES / ((int64_t)data_reader_info(r)->d * 4);
    if (block < 1) block = 1;
    if (!(buf = malloc(sizeof(float) * (size_t)(block * data_reader_info(r)->d)))) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    while ((rc = data_reader_next(r, buf, NULL, block, &got, e)) == 0 && got > 0)
        for (int64_t i = 0; lo && i < got * data_reader_info(r)->d; i++) {
            if (buf[i] < *lo) *lo = buf[i];
            if (buf[i] > *hi) *hi = buf[i];
        }
    if (rc == 0) *n = data_reader_rows(r);
out:
    free(buf);
    data_reader_close(r);
    return rc;
}

/* Import step 1: opens the upload and knows its row count: from the header when it
 * gives one the reader checked against the file size, else by a first pass (CSV, or a
 * .gz). A label vector is refused. *r stays open on success. */
static int import_open(const char *path, const svc_upload *u, const data_opts *o,
                       data_reader **r, int64_t *n, dc_err *e)
{
    const data_info *in;
    int rc;

    if ((rc = data_reader_open(r, path, (data_format)u->format, o, e)) < 0) return rc;
    in = data_reader_info(*r);
    if (in->labels_only)
        return dc_err_set(e, DC_EINVAL, "the upload is a label vector (1-D, %lld values), not "
                          "samples: send it to PUT /v1/datasets/{id}/labels", (long long)in->n);
    if (in->n >= 0 && in->size_checked) {
        *n = in->n;
        return 0;
    }
    data_reader_close(*r);
    *r = NULL;
    if ((rc = count_rows(path, u, o, n, NULL, NULL, e)) < 0) return rc;
    return data_reader_open(r, path, (data_format)u->format, o, e);
}

/* Import step 2: n x d (and labels) fit the operator's limit and one SQLite BLOB. */
static int import_check_size(svc *s, store *db, int64_t n, int d, int has_labels, dc_err *e)
{
    int64_t stored = n * d * 4 + (has_labels ? n * 4 : 0), max = s->cfg.max_dataset_bytes;
    if (max > 0 && stored > max) {
        svc_limit_count(s, SVC_LIMIT_DATASET);
        return dc_err_set(e, DC_ETOOLARGE, "%lld samples x %d features is %lld values, %lld "
                          "bytes stored, over the limit of %lld bytes (--max-dataset-mb %lld)",
                          (long long)n, d, (long long)(n * d), (long long)stored,
                          (long long)max, (long long)(max >> 20));
    }
    size_t xbytes; /* the service's offsets into a dataset are checked to INT32_MAX */
    if (dc_mul3_size(n, d, sizeof(float), &xbytes) < 0 || xbytes > INT32_MAX)
        return dc_err_set(e, DC_ETOOLARGE, "%lld samples x %d features as float32 are over the "
                          "%lld-byte limit of one stored dataset", (long long)n, d,
                          (long long)INT32_MAX);
    /* SQLite: the whole upload must fit now (the file's free pages, the filesystem's free
       bytes less what is kept free, and as much again for the WAL, up to two blocks,
       before it is checkpointed into the file), or it is refused before a
       byte is written: a half-written upload would leave WAL frames that need room to
       be checkpointed, room the deletes that free space need. */
    int64_t fs = svc__disk_free(s);
    if (store_kind(db) == DB_SQLITE && fs >= 0) {
        int64_t wal = stored < 2 * BLOCK_BYTES ? stored : 2 * BLOCK_BYTES;
        int64_t room = fs + store_free_bytes(db) - SVC_DISK_MIN_FREE - wal;
        if (stored > room)
            return svc_nospace(e, "cannot store the dataset",
                               stored > 0 && room < 0 ? "no room left" : "it does not fit");
    }
    return 0;
}

/* Import step 3: in one transaction, the datasets row ('uploading') and zeroblobs of the
 * final size for x (and y). */
static int import_insert(store *db, const char *id, const svc_upload *u, const data_info *in,
                         int64_t n, int d, dc_err *e)
{
    db_conn *h = store_db(db);
    db_stmt *st = NULL;
    char shape[96], fmt[32];
    int rc;

    if (u->shape_h > 0 && u->shape_c > 1)
        snprintf(shape, sizeof shape, "[%d,%d,%d]", u->shape_h, u->shape_w, u->shape_c);
    else if (u->shape_h > 0) snprintf(shape, sizeof shape, "[%d,%d]", u->shape_h, u->shape_w);
    else if (in->h > 0 && in->c > 1) snprintf(shape, sizeof shape, "[%d,%d,%d]", in->h, in->w, in->c);
    else if (in->h > 0) snprintf(shape, sizeof shape, "[%d,%d]", in->h, in->w);
    else snprintf(shape, sizeof shape, "[%d]", d);
    snprintf(fmt, sizeof fmt, "%s%s", data_format_name(in->format), in->gzipped ? ".gz" : "");
    if ((rc = store_begin(db, e)) < 0) return rc;
    if (db_prepare(h,
                           "INSERT INTO datasets (id, name, format, dtype, n, d, shape, "
                           "has_labels, size_bytes, sha256, status) VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'uploading')", &st) != DB_OK) {
        rc = svc__sql_err(h, "insert dataset", e);
        goto out;
    }
    db_bind_text(st, 1, id);
    db_bind_text(st, 2, u->name && *u->name ? u->name : "dataset");
    db_bind_text(st, 3, fmt);
    db_bind_text(st, 4, data_dtype_name(in->dtype));
    db_bind_int64(st, 5, n);
    db_bind_int(st, 6, d);
    db_bind_text(st, 7, shape);
    db_bind_int(st, 8, in->has_labels);
    db_bind_int64(st, 9, n * d * 4 + (in->has_labels ? n * 4 : 0));
    db_bind_text(st, 10, u->sha256);
    if (db_step(st) != DB_DONE) {
        rc = svc__sql_err(h, "insert dataset", e);
        goto out;
    }
    db_finalize(st);
    st = NULL;
    rc = store_commit(db, e);
out:
    db_finalize(st);
    if (rc < 0) store_rollback(db);
    return rc;
}

/* Import step 4: the samples from r, block by block (each its own transaction), then the
 * labels; *ncls = distinct labels (-1 without). A file with more or fewer rows than
 * counted is DC_EFORMAT. */
static int import_write(store *db, data_reader *r, const char *id, int64_t n, int d,
                        int has_labels, svc_preprocess *pre, int64_t *ncls, dc_err *e)
{
    int64_t block = BLOCK_BYTES / ((int64_t)d * 4), done = 0, got;
    float *buf = NULL;
    int32_t *labels = NULL;
    int rc;

    *ncls = -1;
    if (block < 1) block = 1;
    buf = malloc(sizeof(float) * (size_t)(block * d));
    /* + block: a reader that found more rows than counted must not write past the end */
    if (has_labels) labels = malloc(sizeof(int32_t) * (size_t)(n + block));
    if (!buf || (has_labels && !labels)) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    int32_t *lab_block = labels;
    while ((rc = data_reader_next(r, buf, lab_block, block, &got, e)) == 0 && got > 0) {
        if (done + got > n) {
            rc = dc_err_set(e, DC_EFORMAT, "more than the %lld rows counted", (long long)n);
            goto out;
        }
        svc__preprocess_block(pre, buf, got * d, done == 0);
        if ((rc = chunks_write_txn(db, id, "x", buf, got * d * 4, done * d * 4, e)) < 0)
            goto out;
        done += got;
        if (labels) lab_block = labels + done;
    }
    if (rc < 0) goto out;
    if (done != n) {
        rc = dc_err_set(e, DC_EFORMAT, "%lld rows read, the header said %lld", (long long)done,
                        (long long)n);
        goto out;
    }
    if (labels) {
        if ((rc = chunks_write_txn(db, id, "y", labels, n * 4, 0, e)) < 0) goto out;
        *ncls = n_distinct(labels, n);
    }
out:
    free(buf);
    free(labels);
    return rc;
}

/* Import step 5: the dataset is 'ready' (with its label count, ncls >= 0, and its
 * preprocessing). */
static int import_finish(store *db, const char *id, int64_t ncls, const svc_preprocess *pre,
                         dc_err *e)
{
    db_conn *h = store_db(db);
    db_stmt *st = NULL;
    int rc;

    if ((rc = store_begin(db, e)) < 0) return rc;
    if (db_prepare(h, "UPDATE datasets SET status = 'ready', n_classes = ?, "
                           "scale_mode = ?, scale = ?, scale_shift = ?, scale_mult = ?, "
                           "range_min = ?, range_max = ? WHERE id = ?", &st) != DB_OK) {
        rc = svc__sql_err(h, "finish dataset", e);
        goto out;
    }
    if (ncls >= 0) db_bind_int64(st, 1, ncls);
    svc__preprocess_bind(st, 2, pre);
    db_bind_text(st, 8, id);
    if (db_step(st) != DB_DONE) {
        rc = svc__sql_err(h, "finish dataset", e);
        goto out;
    }
    rc = store_commit(db, e);
out:
    db_finalize(st);
    if (rc < 0) store_rollback(db);
    return rc;
}

/* After a failed import: deletes the half-written rows, even on a full disk (the
 * reserve); start-up recovery deletes them when even that fails. */
static void import_undo(svc *s, store *db, const char *id)
{
    int rc = exec_bind1(store_db(db), "DELETE FROM datasets WHERE id = ?", id, NULL);
    if (rc == DC_ENOSPC && svc__make_room(s, db))
        rc = exec_bind1(store_db(db), "DELETE FROM datasets WHERE id = ?", id, NULL);
    if (rc < 0)
        fprintf(stderr, "deepclust: dataset %s: cannot delete the half-written rows "
                "(start-up recovery will): %s\n", id, db_errmsg(store_db(db)));
    else
        svc__space_back(s, db);
}

int svc_dataset_import(svc *s, const char *path, const svc_upload *u, svc_dataset *out,
                       dc_err *e)
{
    data_opts o = {.scale = u->scale == SVC_SCALE_UNIT ? DATA_SCALE_NONE : u->scale,
                   .csv_header = u->csv_header, .csv_has_label = u->csv_has_label,
                   .csv_label_col = u->csv_label_col};
    svc_preprocess pre = {.known = 1, .shift = 0, .mult = 1};
    double lo = INFINITY, hi = -INFINITY;
    data_reader *r = NULL;
    const data_info *in;
    store *db = NULL;
    char id[JOBSPEC_ID_MAX];
    int64_t n = -1, ncls;
    int rc, inserted = 0;

    if (u->scale == SVC_SCALE_UNIT && (rc = count_rows(path, u, &o, &n, &lo, &hi, e)) < 0)
        goto out;
    if ((rc = import_open(path, u, &o, &r, &n, e)) < 0) goto out;
    in = data_reader_info(r);
    if ((rc = svc__preprocess_plan(u, in->dtype, lo, hi, &pre, e)) < 0) goto out;
    if (u->shape_h > 0 && (int64_t)u->shape_h * u->shape_w * (u->shape_c ? u->shape_c : 1) != in->d) {
        rc = dc_err_set(e, DC_EINVAL, "shape %d,%d%s%.0d holds %lld values, the samples have "
                        "%d", u->shape_h, u->shape_w, u->shape_c ? "," : "", u->shape_c,
                        (long long)u->shape_h * u->shape_w * (u->shape_c ? u->shape_c : 1), in->d);
        goto out;
    }
    if ((rc = svc__space_ok(s, "cannot store the dataset", e)) < 0) goto out;
    if (!(db = svc__db_get(s, e))) {
        rc = e ? e->code : DC_EIO;
        goto out;
    }
    if ((rc = import_check_size(s, db, n, in->d, in->has_labels, e)) < 0) goto out;
    svc__new_id(id, sizeof id, "ds_");
    if ((rc = import_insert(db, id, u, in, n, in->d, e)) < 0) goto out;
    inserted = 1;
    if ((rc = import_write(db, r, id, n, in->d, in->has_labels, &pre, &ncls, e)) < 0) goto out;
    if ((rc = import_finish(db, id, ncls, &pre, e)) < 0) goto out;
    rc = dataset_fetch(store_db(db), id, out, e);
out:
    if (db) {
        store_rollback(db);
        if (rc < 0 && inserted) import_undo(s, db, id);
        svc__db_put(s, db);
    }
    data_reader_close(r);
    return rc;
}

int svc_dataset_set_labels(svc *s, const char *id, const char *path, svc_dataset *out,
                           dc_err *e)
{
    int32_t *labels = NULL;
    int64_t nl = 0, n = -1, ncls;
    db_stmt *st = NULL;
    store *db = NULL;
    db_conn *h;
    int rc;

    if (!(db = svc__db_get(s, e))) return e ? e->code : DC_EIO;
    h = store_db(db);
    if (db_prepare(h, "SELECT n FROM datasets WHERE id = ? AND status = 'ready'", &st) != DB_OK) {
        rc = svc__sql_err(h, "get dataset", e);
        goto out;
    }
    db_bind_text(st, 1, id);
    if (db_step(st) == DB_ROW) n = db_column_int64(st, 0);
    db_finalize(st);
    st = NULL;
    if (n < 0) {
        rc = dc_err_set(e, DC_ENOTFOUND, "no dataset %s", id);
        goto out;
    }
    if ((rc = data_load_labels(&labels, &nl, path, DATA_FMT_AUTO, e)) < 0) goto out;
    if (nl != n) {
        rc = dc_err_set(e, DC_EINVAL, "%lld labels for a dataset of %lld samples", (long long)nl,
                        (long long)n);
        goto out;
    }
    if ((ncls = n_distinct(labels, n)) < 0) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = svc__space_ok(s, "cannot store the labels", e)) < 0) goto out;
    if ((rc = store_begin(db, e)) < 0) goto out;
    if ((rc = exec_bind1(h, "DELETE FROM dataset_chunks WHERE dataset_id = ? AND part = 'y'",
                         id, e)) < 0 ||
        (rc = chunks_write(db, id, "y", labels, n * 4, 0, e)) < 0)
        goto out;
    if (db_prepare(h,
                           "UPDATE datasets SET has_labels = 1, n_classes = ?, "
                           "size_bytes = n * d * 4 + n * 4 WHERE id = ?", &st) != DB_OK) {
        rc = svc__sql_err(h, "store labels", e);
        goto out;
    }
    db_bind_int64(st, 1, ncls);
    db_bind_text(st, 2, id);
    if (db_step(st) != DB_DONE) {
        rc = svc__sql_err(h, "store labels", e);
        goto out;
    }
    if ((rc = store_commit(db, e)) < 0) goto out;
    rc = dataset_fetch(h, id, out, e);
out:
    db_finalize(st);
    svc__db_put(s, db); /* rolls back an open transaction */
    free(labels);
    return rc;
}

int svc_dataset_get(svc *s, const char *id, svc_dataset *out, dc_err *e)
{
    store *db = svc__db_get(s, e);
    if (!db) return e ? e->code : DC_EIO;
    int rc = dataset_fetch(store_db(db), id, out, e);
    svc__db_put(s, db);
    return rc;
}

int svc_dataset_list(svc *s, int limit, int64_t offset, svc_dataset **items, int *n,
                     int64_t *total, dc_err *e)
{
    db_stmt *st = NULL;
    store *db = svc__db_get(s, e);
    svc_dataset *it = NULL;
    char sql[512];
    int rc, k = 0;

    *items = NULL;
    *n = 0;
    *total = 0;
    if (!db) return e ? e->code : DC_EIO;
    if (limit < 1 || !(it = malloc(sizeof *it * (size_t)limit))) {
        rc = limit < 1 ? dc_err_set(e, DC_EINVAL, "limit %d < 1", limit)
                       : dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(sql, sizeof sql, "%s WHERE status = 'ready' ORDER BY created_at DESC, rowid DESC "
             "LIMIT ? OFFSET ?", dataset_cols);
    if (db_prepare(store_db(db), sql, &st) != DB_OK) {
        rc = svc__sql_err(store_db(db), "list datasets", e);
        goto out;
    }
    db_bind_int(st, 1, limit);
    db_bind_int64(st, 2, offset);
    while (k < limit && (rc = db_step(st)) == DB_ROW) dataset_row(st, &it[k++]);
    if (k < limit && rc != DB_DONE) {
        rc = svc__sql_err(store_db(db), "list datasets", e);
        goto out;
    }
    db_finalize(st);
    st = NULL;
    if (db_prepare(store_db(db), "SELECT count(*) FROM datasets WHERE status = 'ready'", &st) == DB_OK && db_step(st) == DB_ROW)
        *total = db_column_int64(st, 0);
    rc = 0;
out:
    db_finalize(st);
    svc__db_put(s, db);
    if (rc < 0 || k == 0) {
        free(it);
        it = NULL;
        k = 0;
    }
    *items = it;
    *n = k;
    return rc;
}

/* The delete in one transaction (rolled back on failure). */
static int dataset_delete_txn(store *db, const char *id, dc_err *e)
{
    db_stmt *st = NULL;
    db_conn *h = store_db(db);
    int rc;

    if ((rc = store_begin(db, e)) < 0) goto out;
    if (db_prepare(
                h,
                "SELECT (SELECT count(*) FROM datasets WHERE id = ?1 AND status = 'ready'), "
                "(SELECT count(*) FROM jobs WHERE dataset_id = ?1 AND status IN ('queued', "
                "'running'))", &st) != DB_OK ||
        (db_bind_text(st, 1, id), db_step(st) != DB_ROW)) {
        rc = svc__sql_err(h, "delete dataset", e);
        goto out;
    }
    if (db_column_int(st, 0) == 0) {
        rc = dc_err_set(e, DC_ENOTFOUND, "no dataset %s", id);
        goto out;
    }
    if (db_column_int(st, 1) > 0) {
        rc = dc_err_set(e, DC_ECONFLICT, "dataset %s is used by %d queued or running job(s); "
                        "cancel them first", id, db_column_int(st, 1));
        goto out;
    }
    if ((rc = exec_bind1(h, "DELETE FROM datasets WHERE id = ?", id, e)) < 0) goto out;
    rc = store_commit(db, e);
out:
    db_finalize(st);
    if (rc < 0) store_rollback(db);
    return rc;
}

int svc_dataset_delete(svc *s, const char *id, dc_err *e)
{
    store *db = svc__db_get(s, e);
    int rc;

    if (!db) return e ? e->code : DC_EIO;
    rc = dataset_delete_txn(db, id, e);
    /* A full disk: WAL pages for the delete come out of the reserve. */
    if (rc == DC_ENOSPC && svc__make_room(s, db)) rc = dataset_delete_txn(db, id, e);
    if (rc == 0) svc__space_back(s, db);
    svc__db_put(s, db);
    return rc;
}

int svc__dataset_load(db_conn *h, const char *id, int gone, dataset *ds, dc_err *e)
{
    db_stmt *st = NULL;
    int rc, has_labels, d;
    int64_t n;

    if (db_prepare(h, "SELECT n, d, shape, has_labels FROM datasets WHERE id = ?", &st) != DB_OK)
        return svc__sql_err(h, "dataset", e);
    db_bind_text(st, 1, id);
    if (db_step(st) != DB_ROW) {
        db_finalize(st);
        return dc_err_set(e, gone, "dataset %s is gone", id);
    }
    n = db_column_int64(st, 0);
    d = db_column_int(st, 1);
    json_t *shape = json_loads((const char *)db_column_text(st, 2), 0, NULL);
    has_labels = db_column_int(st, 3);
    db_finalize(st);
    if ((rc = dataset_alloc(ds, n, d, has_labels, e)) < 0) {
        json_decref(shape);
        return rc;
    }
    if (json_array_size(shape) >= 2) {
        ds->h = (int)json_integer_value(json_array_get(shape, 0));
        ds->w = (int)json_integer_value(json_array_get(shape, 1));
        ds->c = json_array_size(shape) >= 3 ? (int)json_integer_value(json_array_get(shape, 2)) : 1;
    }
    json_decref(shape);
    if ((rc = svc__blob_read(h, id, "x", 0, ds->x, n * d * 4, e)) < 0) return rc;
    if (has_labels && (rc = svc__blob_read(h, id, "y", 0, ds->labels, n * 4, e)) < 0) return rc;
    return 0;
}
