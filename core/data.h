/* data: datasets in memory and the streaming readers/writer underneath them.
 *
 * A `dataset` is n samples of dimension d as one row-major float32 array, with optional
 * int32 labels and an optional image shape (h, w, c; d == h*w*c). Whole-file loaders
 * build one from IDX (MNIST), gzip-compressed IDX, NPY, CSV or our own DCF32 file:
 *
 *   dataset ds = {0};
 *   dc_err e = {0};
 *   if (dataset_load(&ds, "train-images-idx3-ubyte.gz", DATA_FMT_AUTO, NULL, &e) < 0 ||
 *       dataset_load_labels(&ds, "train-labels-idx1-ubyte.gz", DATA_FMT_AUTO, &e) < 0)
 *       fprintf(stderr, "%s\n", e.msg);
 *   ...
 *   dataset_free(&ds);
 *
 * The loaders sit on a STREAMING reader with bounded memory (about 2 MiB: a 1 MiB
 * block buffer, zlib's buffers and window, and for CSV one line of at most 16 MiB), so
 * that a large upload can be validated and converted row block by row block (see
 * bench/bench_data.c, which turns any supported file into DCF32 this way):
 *
 *   data_reader *r;
 *   if (data_reader_open(&r, path, DATA_FMT_AUTO, NULL, &e) < 0) ...;
 *   const data_info *in = data_reader_info(r);      // n (-1 for CSV until the end), d, ...
 *   int64_t got;
 *   while ((rc = data_reader_next(r, rows, labels, 256, &got, &e)) == 0 && got > 0) ...;
 *   data_reader_close(r);
 *
 * Any gzip-compressed file is decompressed on the fly (detected from its 1f 8b magic);
 * the format is then detected from the first decompressed bytes: IDX magic 00 00 TT ND,
 * "\x93NUMPY", "DCF32\0", otherwise CSV.
 *
 * Validation: truncated, malformed or inconsistent input fails with DC_EFORMAT and a
 * message naming the file and where: a byte offset for binary formats (an offset in the
 * DECOMPRESSED stream for .gz files), "line L, column C" (1-based, C counts fields) for
 * CSV. Refused: wrong magic, unknown dtype, n == 0 or d == 0, dimensions whose product
 * overflows, file size not matching the header (short or trailing bytes), ragged or
 * non-numeric CSV rows, corrupt or truncated gzip streams, and — unless
 * opts.allow_nonfinite — NaN or ±Inf values (also float64 values beyond float32's range),
 * reported with their row and column. A reader that returned an error must not be used
 * again except to close it. Rows delivered before an error are not to be trusted as a
 * complete dataset: the error is the answer for the whole file.
 *
 * DCF32, our canonical stored form (all little-endian):
 *   offset 0  char[6]  "DCF32\0"
 *   offset 6  uint16   version (1)
 *   offset 8  int64    n (rows)
 *   offset 16 int32    d, h, w, c (h, w, c all 0 when not an image; else h*w*c == d)
 *   offset 32 float32  n*d values, row-major
 * The writer streams: open, write rows, close (close patches n in the header).
 */
#ifndef DC_DATA_H
#define DC_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "dc_err.h"

/* ---- in-memory dataset ---------------------------------------------------------- */

typedef struct dataset {
    int64_t n;        /* samples */
    int d;            /* features per sample */
    float *x;         /* (n, d) row-major, owned, malloc'd */
    int32_t *labels;  /* (n) owned, or NULL */
    int h, w, c;      /* image shape (d == h*w*c) or all 0 */
} dataset;

/* Frees x and labels and zeroes *ds (the struct itself belongs to the caller).
 * NULL and an already-freed/zeroed dataset are fine. */
void dataset_free(dataset *ds);

/* Allocates x (n*d floats, zeroed) and, if with_labels, labels (zeroed). *ds is
 * overwritten (free it first). n >= 1, d >= 1. */
int dataset_alloc(dataset *ds, int64_t n, int d, int with_labels, dc_err *e);

/* ---- formats, options, header ----------------------------------------------------- */

typedef enum data_format {
    DATA_FMT_AUTO = 0, /* detect from the first bytes */
    DATA_FMT_IDX,
    DATA_FMT_NPY,
    DATA_FMT_CSV,
    DATA_FMT_DCF32,
} data_format;

typedef enum data_dtype {
    DATA_U8 = 1, DATA_I8, DATA_I16, DATA_I32, DATA_I64, DATA_F32, DATA_F64,
} data_dtype;

enum data_scale {
    DATA_SCALE_AUTO = 0, /* default: uint8 data / 255 into [0,1]; other dtypes as they are */
    DATA_SCALE_NONE,     /* values as stored, also for uint8 */
    DATA_SCALE_255,      /* divide by 255 whatever the dtype */
};

enum data_csv_header {
    DATA_CSV_HEADER_AUTO = 0, /* default: the first line is a header iff none of its
                                 fields is a number */
    DATA_CSV_HEADER_YES,      /* the first line is a header (skipped) */
    DATA_CSV_HEADER_NO,       /* the first line is data */
};

/* Options; a zeroed struct (or NULL) means the defaults. */
typedef struct data_opts {
    int scale;            /* enum data_scale */
    int csv_header;       /* enum data_csv_header */
    int csv_has_label;    /* 1: CSV has a label column (integer values), index below */
    int csv_label_col;    /* 0-based field index; negative counts from the end (-1 last) */
    int allow_nonfinite;  /* 1: let NaN/Inf through instead of DC_EFORMAT */
} data_opts;

/* What the header says, filled by data_reader_open. */
typedef struct data_info {
    data_format format;   /* the detected (or forced) format, never AUTO */
    int gzipped;          /* 1 if the file was gzip-compressed */
    data_dtype dtype;     /* element type on disk (CSV: DATA_F64, parsed text) */
    int64_t n;            /* rows; -1 for CSV until the end (see data_reader_rows) */
    int d;                /* values per row (labels-only files: 1) */
    int h, w, c;          /* image shape or all 0: IDX (n,h,w) -> c=1; NPY (n,h,w) -> c=1,
                             NPY (n,h,w,c) NHWC; DCF32 as stored */
    int ndim;             /* dimensions on disk (CSV: 2) */
    int labels_only;      /* 1 for a 1-D file (IDX1, NPY shape (n,)): a label vector */
    int has_labels;       /* 1 when data_reader_next fills labels (CSV with label column) */
    int64_t data_offset;  /* byte offset of the first value (binary formats; CSV 0) */
    int size_checked;     /* 1 when the file's size agrees with the header, so n can be
                             trusted to size an allocation: a plain file's size, or a .gz
                             file's trailer (uncompressed length, if below 4 GiB). 0 for
                             CSV, for .gz files whose trailer disagrees (e.g. several
                             members) or of 4 GiB or more, and for pipes:
                             then grow buffers as rows arrive; the end is checked anyway. */
} data_info;

const char *data_format_name(data_format f); /* "idx", "npy", "csv", "dcf32", "auto" */
const char *data_dtype_name(data_dtype t);   /* "uint8", ..., "float64" */

/* ---- streaming reader ------------------------------------------------------------- */

typedef struct data_reader data_reader;

/* Opens path, reads and checks the header. fmt DATA_FMT_AUTO detects; a forced format
 * whose magic does not match is DC_EFORMAT. opts may be NULL (defaults); it is copied.
 * On error *r is NULL. For CSV the first line (and, with auto header detection, whether
 * it is a header) is read here, so d is known after open. */
int data_reader_open(data_reader **r, const char *path, data_format fmt,
                     const data_opts *opts, dc_err *e);

/* The header; valid until data_reader_close. */
const data_info *data_reader_info(const data_reader *r);

/* Reads up to max_rows rows as float32 (scaled per opts) into rows (max_rows*d floats),
 * and, for CSV with a label column, their labels into labels (max_rows int32; may be
 * NULL, it is left untouched for files without labels). *got = rows stored; 0 at the
 * end. It fills max_rows unless the data ends first, so got < max_rows means the end.
 * The end is checked: the row count must match the header and nothing may follow.
 * (On a labels-only file this gives the values as floats, scaled per opts: read labels
 * with data_reader_next_labels instead.) */
int data_reader_next(data_reader *r, float *rows, int32_t *labels, int64_t max_rows,
                     int64_t *got, dc_err *e);

/* For labels-only files (info.labels_only) and any file with d == 1: reads up to max
 * values as int32 (no scaling). Values must be integers within int32 range. */
int data_reader_next_labels(data_reader *r, int32_t *labels, int64_t max, int64_t *got,
                            dc_err *e);

/* Rows delivered so far (for CSV, after the end: the total). */
int64_t data_reader_rows(const data_reader *r);

/* Frees everything; NULL is fine. */
void data_reader_close(data_reader *r);

/* ---- whole-file loaders (built on the reader) ----------------------------------- */

/* Loads a data file (not a labels-only 1-D file: DC_EINVAL) into *ds (overwritten; free
 * it first). CSV label columns become ds->labels. Memory: the dataset plus the reader. */
int dataset_load(dataset *ds, const char *path, data_format fmt, const data_opts *opts,
                 dc_err *e);

/* Loads a label vector (IDX1, NPY 1-D, or any file with d == 1) into a malloc'd int32
 * array *labels (caller frees) of *n values. */
int data_load_labels(int32_t **labels, int64_t *n, const char *path, data_format fmt,
                     dc_err *e);

/* Copies n labels into ds (replacing any it had). n must equal ds->n: else DC_EINVAL. */
int dataset_attach_labels(dataset *ds, const int32_t *labels, int64_t n, dc_err *e);

/* data_load_labels + dataset_attach_labels; a count mismatch is DC_EFORMAT naming path. */
int dataset_load_labels(dataset *ds, const char *path, data_format fmt, dc_err *e);

/* out = rows of a followed by rows of b (e.g. MNIST train + test = 70,000). d must match
 * (DC_EINVAL otherwise); the image shape is kept if both agree, else dropped; labels are
 * kept if both have them; if only one has labels: DC_EINVAL. out may be a or b (its old
 * buffers are then freed); otherwise *out is overwritten (free it first). */
int dataset_concat(dataset *out, const dataset *a, const dataset *b, dc_err *e);

/* ---- DCF32 writer ------------------------------------------------------------------- */

typedef struct dcf32_writer dcf32_writer;

/* Creates path (truncating) and writes a header with n = 0. h, w, c all 0 or
 * h*w*c == d. */
int dcf32_writer_open(dcf32_writer **w, const char *path, int d, int h, int wd, int c,
                      dc_err *e);

/* Appends nrows rows (nrows*d floats). */
int dcf32_writer_write(dcf32_writer *w, const float *rows, int64_t nrows, dc_err *e);

/* Patches n into the header, flushes, closes and frees w (always, also on error).
 * Zero rows written is DC_EINVAL (the file would not be readable). */
int dcf32_writer_close(dcf32_writer *w, dc_err *e);

/* Closes w without finishing and removes the file; NULL is fine. */
void dcf32_writer_abort(dcf32_writer *w);

/* Writes ds->x as a DCF32 file (labels are not part of DCF32). */
int dataset_save_dcf32(const dataset *ds, const char *path, dc_err *e);

/* Reads the whole file at path into a malloc'd *buf of *len bytes (caller frees; empty
 * files give a 1-byte buffer and *len 0). DC_EIO naming the path, or DC_ENOMEM. */
int data_read_file(const char *path, void **buf, size_t *len, dc_err *e);

/* Writes bytes of a as an NPY 1.0 file: descr e.g. "<f4", shape the Python tuple text,
 * e.g. "(70000, 10)"; the header is padded so the data start at a multiple of 64 bytes.
 * DC_EIO on failure (a partial file is removed). */
int data_write_npy(const char *path, const char *descr, const char *shape, const void *a,
                   size_t bytes, dc_err *e);

#endif
