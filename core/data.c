/* data.c: the streaming reader (IDX, NPY, CSV, DCF32; any of them gzip-compressed).
 * See data.h for the contract. Bytes come through zlib's gzread (which passes plain
 * files through untouched) into a 1 MiB block buffer; binary values are converted
 * straight from that buffer into the caller's rows, CSV is parsed one line at a time. */
#include "data.h"
#include "dc_size.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* The fuzz build (fuzz/) makes both buffers 1 KiB, so that short inputs cross refills
 * (any size >= 1 KiB gives the same results: headers are read in pieces). */
#ifndef DC_DATA_BUF_CAP
#define DC_DATA_BUF_CAP (1 << 20)
#endif
#ifndef DC_DATA_GZ_BUF
#define DC_DATA_GZ_BUF (1 << 18)
#endif
#define BUF_CAP DC_DATA_BUF_CAP      /* block buffer */
#define GZ_BUF DC_DATA_GZ_BUF        /* zlib's own input/output buffers */
#define CSV_MAX_LINE (16 << 20)      /* longest CSV line we accept */
#define NPY_MAX_HEADER (1 << 20)     /* longest NPY header dict */
#define MAX_NDIM 16

struct data_reader {
    gzFile gz;
    char *path;
    data_opts opts;
    data_info info;
    unsigned char *buf;   /* BUF_CAP bytes; unread bytes are buf[pos..len) */
    size_t pos, len;
    int64_t buf_off;      /* offset of buf[0] in the (decompressed) stream */
    int eof;              /* gzread reported the end */
    int esize, big;       /* element size in bytes, big-endian on disk */
    int div255;           /* scale non-uint8 values by 1/255 */
    float u8_table[256];  /* uint8 -> float, scaled */
    int64_t rows;         /* rows (or label values) delivered */
    int done;             /* end reached and checked */
    int failed;           /* an error was returned: only close is allowed */
    /* CSV */
    char *line;           /* current line, NUL-terminated, '\r' and '\n' stripped */
    size_t line_cap, line_len;
    int64_t lineno;       /* 1-based number of `line` */
    int ncols;            /* fields per line */
    int label_col;        /* 0-based label field, or -1 */
    int have_line;        /* `line` holds a data line not yet delivered */
    int64_t blank_line;   /* first blank line seen after data, 0 if none */
};

/* ---- errors ----------------------------------------------------------------------- */

__attribute__((format(printf, 4, 5)))
static int rfail(data_reader *r, dc_err *e, int code, const char *fmt, ...)
{
    char tmp[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    r->failed = 1;
    return dc_err_set(e, code, "%s: %s", r->path, tmp);
}

/* "byte 1234" or "byte 1234 of the decompressed data" */
static const char *where_gz(const data_reader *r)
{
    return r->info.gzipped ? " of the decompressed data" : "";
}

const char *data_format_name(data_format f)
{
    switch (f) {
    case DATA_FMT_AUTO: return "auto";
    case DATA_FMT_IDX: return "idx";
    case DATA_FMT_NPY: return "npy";
    case DATA_FMT_CSV: return "csv";
    case DATA_FMT_DCF32: return "dcf32";
    }
    return "?";
}

const char *data_dtype_name(data_dtype t)
{
    switch (t) {
    case DATA_U8: return "uint8";
    case DATA_I8: return "int8";
    case DATA_I16: return "int16";
    case DATA_I32: return "int32";
    case DATA_I64: return "int64";
    case DATA_F32: return "float32";
    case DATA_F64: return "float64";
    }
    return "?";
}

static int dtype_size(data_dtype t)
{
    switch (t) {
    case DATA_U8: case DATA_I8: return 1;
    case DATA_I16: return 2;
    case DATA_I32: case DATA_F32: return 4;
    case DATA_I64: case DATA_F64: return 8;
    }
    return 0;
}

/* ---- byte source ------------------------------------------------------------------ */

/* Tops up the buffer (moving unread bytes to the front). Detects corrupt and truncated
 * gzip streams. */
static int src_fill(data_reader *r, dc_err *e)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->buf_off += (int64_t)r->pos;
        r->len -= r->pos;
        r->pos = 0;
    }
    while (!r->eof && r->len < BUF_CAP) {
        unsigned want = (unsigned)(BUF_CAP - r->len);
        int got = gzread(r->gz, r->buf + r->len, want);
        int errnum = Z_OK;
        const char *zmsg = gzerror(r->gz, &errnum);
        if (got < 0 || (errnum != Z_OK && errnum != Z_BUF_ERROR)) {
            if (errnum == Z_ERRNO)
                return rfail(r, e, DC_EIO, "read failed near byte %lld: %s",
                             (long long)(r->buf_off + (int64_t)r->len), strerror(errno));
            return rfail(r, e, DC_EFORMAT, "corrupt gzip data near byte %lld%s: %s",
                         (long long)(r->buf_off + (int64_t)r->len), where_gz(r), zmsg);
        }
        if (got > 0) r->len += (size_t)got;
        if (errnum == Z_BUF_ERROR)
            return rfail(r, e, DC_EFORMAT,
                         "gzip stream truncated (it ends after byte %lld of the "
                         "decompressed data)", (long long)(r->buf_off + (int64_t)r->len));
        if ((unsigned)got < want) r->eof = 1;
    }
    return 0;
}

/* Makes at least k (<= BUF_CAP) unread bytes available if the stream has them. */
static int src_need(data_reader *r, size_t k, dc_err *e)
{
    if (r->len - r->pos >= k || r->eof) return 0;
    return src_fill(r, e);
}

static size_t src_avail(const data_reader *r) { return r->len - r->pos; }

static int64_t src_offset(const data_reader *r) { return r->buf_off + (int64_t)r->pos; }

/* Reads exactly k header bytes or fails naming what was being read. */
static int src_read_hdr(data_reader *r, void *dst, size_t k, const char *what, dc_err *e)
{
    int rc = src_need(r, k, e);
    if (rc) return rc;
    if (src_avail(r) < k)
        return rfail(r, e, DC_EFORMAT, "truncated %s: need %zu bytes at byte %lld%s, "
                     "the file ends at byte %lld", what, k, (long long)src_offset(r),
                     where_gz(r), (long long)(r->buf_off + (int64_t)r->len));
    memcpy(dst, r->buf + r->pos, k);
    r->pos += k;
    return 0;
}

static uint64_t load_uint(const unsigned char *p, int size, int big)
{
    uint64_t v = 0;
    if (big)
        for (int i = 0; i < size; i++) v = (v << 8) | p[i];
    else
        for (int i = size - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ---- header checks shared by the binary formats ---------------------------------- */

/* For a .gz file whose trailer does not vouch for the header (several members, 4 GiB or
 * more, or a lying header): decompress the whole stream once, counting, so that n can be
 * trusted before anyone allocates n rows; then rewind to the first value. */
static int gz_count_pass(data_reader *r, int64_t expect, dc_err *e)
{
    int64_t total = r->buf_off + (int64_t)r->len, skip = r->info.data_offset;
    int rc;
    while (!r->eof) {
        r->pos = r->len; /* discard: src_fill then reads a whole new block */
        rc = src_fill(r, e);
        if (rc) return rc;
        total = r->buf_off + (int64_t)r->len;
        if (total > expect) break;
    }
    if (total != expect)
        return rfail(r, e, DC_EFORMAT, "%s at byte %lld of the decompressed data: the header "
                     "%s %lld bytes", total < expect ? "truncated" : "trailing data",
                     (long long)(total < expect ? total : expect),
                     total < expect ? "promises" : "accounts for", (long long)expect);
    if (gzrewind(r->gz) != 0)
        return rfail(r, e, DC_EIO, "cannot rewind the gzip stream");
    r->pos = r->len = 0;
    r->buf_off = 0;
    r->eof = 0;
    while (skip > 0) {
        rc = src_need(r, 1, e);
        if (rc) return rc;
        size_t k = src_avail(r) < (size_t)skip ? src_avail(r) : (size_t)skip;
        if (k == 0) return rfail(r, e, DC_EIO, "the gzip stream changed while reading");
        r->pos += k;
        skip -= (int64_t)k;
    }
    r->info.size_checked = 1;
    return 0;
}

/* n rows of d elements: checks n, d, overflow and (plain files) the file size. */
static int check_shape(data_reader *r, const int64_t *dims, int ndim, dc_err *e)
{
    data_info *in = &r->info;
    int64_t d = 1, n = dims[0];
    for (int i = 0; i < ndim; i++)
        if (dims[i] <= 0)
            return rfail(r, e, DC_EFORMAT, "%s (dimension %d of %d is %lld)",
                         i == 0 ? "no rows: n = 0" : "empty rows", i, ndim,
                         (long long)dims[i]);
    for (int i = 1; i < ndim; i++)
        if (dc_mul_i64(d, dims[i], &d) < 0 || d > INT_MAX)
            return rfail(r, e, DC_EFORMAT, "row size overflows: the product of "
                         "dimensions 1..%d exceeds %d", ndim - 1, INT_MAX);
    int64_t bytes;
    if (dc_mul_i64(n, d, &bytes) < 0 || dc_mul_i64(bytes, r->esize, &bytes) < 0 ||
        dc_add_i64(bytes, in->data_offset, &bytes) < 0)
        return rfail(r, e, DC_EFORMAT, "data size overflows: %lld rows x %lld values",
                     (long long)n, (long long)d);
    in->n = n;
    in->d = (int)d;
    in->ndim = ndim;
    struct stat st;
    if (stat(r->path, &st) != 0 || !S_ISREG(st.st_mode)) return 0; /* a pipe: unchecked */
    if (!in->gzipped) {
        if ((int64_t)st.st_size != bytes)
            return rfail(r, e, DC_EFORMAT, "file size %lld does not match the header: "
                         "%lld header bytes + %lld x %lld %s values = %lld bytes (%s)",
                         (long long)st.st_size, (long long)in->data_offset, (long long)n,
                         (long long)d, data_dtype_name(in->dtype), (long long)bytes,
                         (int64_t)st.st_size < bytes ? "truncated" : "trailing bytes");
        in->size_checked = 1;
    } else if (st.st_size >= 18) {
        /* gzip trailer: ISIZE, the uncompressed length mod 2^32, in the last 4 bytes.
         * Trusted only below 4 GiB, where "mod 2^32" cannot hide a lying header. */
        unsigned char t[4];
        FILE *f = fopen(r->path, "rb");
        if (f && fseek(f, -4, SEEK_END) == 0 && fread(t, 1, 4, f) == 4)
            in->size_checked = bytes <= 0xFFFFFFFF && load_uint(t, 4, 0) == (uint64_t)bytes;
        if (f) fclose(f);
        if (!in->size_checked) return gz_count_pass(r, bytes, e);
    }
    return 0;
}

/* ---- IDX ---------------------------------------------------------------------------- */

static int open_idx(data_reader *r, dc_err *e)
{
    unsigned char m[4], db[4 * MAX_NDIM];
    int64_t dims[MAX_NDIM];
    int rc = src_read_hdr(r, m, 4, "IDX magic", e);
    if (rc) return rc;
    data_dtype t = 0;
    switch (m[2]) {
    case 0x08: t = DATA_U8; break;
    case 0x09: t = DATA_I8; break;
    case 0x0B: t = DATA_I16; break;
    case 0x0C: t = DATA_I32; break;
    case 0x0D: t = DATA_F32; break;
    case 0x0E: t = DATA_F64; break;
    }
    if (m[0] != 0 || m[1] != 0 || t == 0)
        return rfail(r, e, DC_EFORMAT, "wrong IDX magic %02x %02x %02x %02x at byte 0 "
                     "(expected 00 00, a type 08/09/0b/0c/0d/0e, ndim)", m[0], m[1], m[2],
                     m[3]);
    int ndim = m[3];
    if (ndim < 1 || ndim > MAX_NDIM)
        return rfail(r, e, DC_EFORMAT, "IDX ndim %d at byte 3 out of range 1..%d", ndim,
                     MAX_NDIM);
    rc = src_read_hdr(r, db, 4 * (size_t)ndim, "IDX dimensions", e);
    if (rc) return rc;
    for (int i = 0; i < ndim; i++) dims[i] = (int64_t)load_uint(db + 4 * i, 4, 1);
    r->info.dtype = t;
    r->esize = dtype_size(t);
    r->big = 1;
    r->info.data_offset = 4 + 4 * (int64_t)ndim;
    r->info.labels_only = ndim == 1;
    rc = check_shape(r, dims, ndim, e);
    if (rc) return rc;
    if (ndim == 3) {
        r->info.h = (int)dims[1];
        r->info.w = (int)dims[2];
        r->info.c = 1;
    }
    return 0;
}

/* ---- NPY ---------------------------------------------------------------------------- */

typedef struct npy_parse {
    const char *s;
    size_t i;
} npy_parse;

static void npy_ws(npy_parse *p)
{
    while (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')
        p->i++;
}

/* A quoted string into out (cap bytes); 0 ok, -1 malformed. */
static int npy_str(npy_parse *p, char *out, size_t cap)
{
    npy_ws(p);
    char q = p->s[p->i];
    if (q != '\'' && q != '"') return -1;
    p->i++;
    size_t k = 0;
    while (p->s[p->i] && p->s[p->i] != q) {
        if (k + 1 >= cap) return -1;
        out[k++] = p->s[p->i++];
    }
    if (p->s[p->i] != q) return -1;
    p->i++;
    out[k] = 0;
    return 0;
}

static int npy_dtype(const char *descr, data_dtype *t, int *big)
{
    char o = descr[0];
    if (o != '<' && o != '>' && o != '|' && o != '=') return -1;
    const char *k = descr + 1;
    *big = o == '>';
    if (!strcmp(k, "u1")) *t = DATA_U8;
    else if (!strcmp(k, "i1")) *t = DATA_I8;
    else if (!strcmp(k, "i2")) *t = DATA_I16;
    else if (!strcmp(k, "i4")) *t = DATA_I32;
    else if (!strcmp(k, "i8")) *t = DATA_I64;
    else if (!strcmp(k, "f4")) *t = DATA_F32;
    else if (!strcmp(k, "f8")) *t = DATA_F64;
    else return -1;
    if (o == '|' && dtype_size(*t) != 1) return -1;
    return 0;
}

static int open_npy(data_reader *r, dc_err *e)
{
    unsigned char m[8], lb[4];
    char *hdr = NULL;
    int64_t dims[MAX_NDIM];
    int ndim = -1, fortran = -1, rc;
    char descr[32] = "";
    rc = src_read_hdr(r, m, 8, "NPY magic", e);
    if (rc) goto out;
    if (memcmp(m, "\x93NUMPY", 6) != 0) {
        rc = rfail(r, e, DC_EFORMAT, "wrong NPY magic at byte 0 (expected \\x93NUMPY)");
        goto out;
    }
    int lsize = m[6] == 1 ? 2 : (m[6] == 2 || m[6] == 3) ? 4 : 0;
    if (lsize == 0) {
        rc = rfail(r, e, DC_EFORMAT, "unsupported NPY version %d.%d at byte 6", m[6], m[7]);
        goto out;
    }
    rc = src_read_hdr(r, lb, (size_t)lsize, "NPY header length", e);
    if (rc) goto out;
    uint64_t hlen = load_uint(lb, lsize, 0);
    int64_t hstart = 8 + lsize;
    if (hlen == 0 || hlen > NPY_MAX_HEADER) {
        rc = rfail(r, e, DC_EFORMAT, "NPY header length %llu at byte 8 out of range 1..%d",
                   (unsigned long long)hlen, NPY_MAX_HEADER);
        goto out;
    }
    hdr = malloc(hlen + 1);
    if (!hdr) {
        rc = rfail(r, e, DC_ENOMEM, "out of memory for the NPY header");
        goto out;
    }
    /* Read the header in pieces no larger than the buffer. */
    for (size_t done = 0; done < hlen;) {
        size_t k = hlen - done < BUF_CAP ? hlen - done : BUF_CAP;
        rc = src_read_hdr(r, hdr + done, k, "NPY header", e);
        if (rc) goto out;
        done += k;
    }
    hdr[hlen] = 0;
    if (strlen(hdr) != hlen) {
        rc = rfail(r, e, DC_EFORMAT, "NUL byte in the NPY header at byte %lld",
                   (long long)(hstart + (int64_t)strlen(hdr)));
        goto out;
    }
    npy_parse p = {hdr, 0};
    npy_ws(&p);
    if (hdr[p.i] != '{') goto bad;
    p.i++;
    for (;;) {
        char key[32];
        npy_ws(&p);
        if (hdr[p.i] == '}') break;
        if (npy_str(&p, key, sizeof key)) goto bad;
        npy_ws(&p);
        if (hdr[p.i] != ':') goto bad; /* not past the NUL: `bad` quotes hdr + p.i */
        p.i++;
        npy_ws(&p);
        if (!strcmp(key, "descr")) {
            if (npy_str(&p, descr, sizeof descr)) goto bad;
        } else if (!strcmp(key, "fortran_order")) {
            if (!strncmp(hdr + p.i, "True", 4)) fortran = 1, p.i += 4;
            else if (!strncmp(hdr + p.i, "False", 5)) fortran = 0, p.i += 5;
            else goto bad;
        } else if (!strcmp(key, "shape")) {
            if (hdr[p.i] != '(') goto bad;
            p.i++;
            ndim = 0;
            for (;;) {
                npy_ws(&p);
                if (hdr[p.i] == ')') break;
                if (hdr[p.i] < '0' || hdr[p.i] > '9') goto bad;
                errno = 0;
                char *end;
                long long v = strtoll(hdr + p.i, &end, 10);
                if (errno == ERANGE) {
                    rc = rfail(r, e, DC_EFORMAT, "NPY shape value overflows at byte %lld",
                               (long long)(hstart + (int64_t)p.i));
                    goto out;
                }
                if (ndim == MAX_NDIM) {
                    rc = rfail(r, e, DC_EFORMAT, "NPY shape has more than %d dimensions",
                               MAX_NDIM);
                    goto out;
                }
                dims[ndim++] = v;
                p.i = (size_t)(end - hdr);
                npy_ws(&p);
                if (hdr[p.i] == ',') p.i++;
                else if (hdr[p.i] != ')') goto bad;
            }
            p.i++;
        } else {
            rc = rfail(r, e, DC_EFORMAT, "unknown key '%s' in the NPY header at byte %lld",
                       key, (long long)(hstart + (int64_t)p.i));
            goto out;
        }
        npy_ws(&p);
        if (hdr[p.i] == ',') p.i++;
        else if (hdr[p.i] != '}') goto bad;
    }
    if (!descr[0] || fortran < 0 || ndim < 0) {
        rc = rfail(r, e, DC_EFORMAT, "NPY header lacks %s (header at byte %lld)",
                   !descr[0] ? "'descr'" : fortran < 0 ? "'fortran_order'" : "'shape'",
                   (long long)hstart);
        goto out;
    }
    if (npy_dtype(descr, &r->info.dtype, &r->big)) {
        rc = rfail(r, e, DC_EFORMAT, "unsupported NPY dtype '%s' (supported: |u1 |i1 i2 "
                   "i4 i8 f4 f8, either byte order)", descr);
        goto out;
    }
    if (ndim == 0) {
        rc = rfail(r, e, DC_EFORMAT, "NPY array is a scalar (shape ())");
        goto out;
    }
    if (fortran && ndim > 1) {
        rc = rfail(r, e, DC_EFORMAT, "Fortran-order NPY arrays are not supported "
                   "(fortran_order True in the header at byte %lld); save a C-order array "
                   "(np.ascontiguousarray)", (long long)hstart);
        goto out;
    }
    r->esize = dtype_size(r->info.dtype);
    r->info.data_offset = hstart + (int64_t)hlen;
    r->info.labels_only = ndim == 1;
    rc = check_shape(r, dims, ndim, e);
    if (rc) goto out;
    if (ndim == 3 || ndim == 4) {
        r->info.h = (int)dims[1];
        r->info.w = (int)dims[2];
        r->info.c = ndim == 4 ? (int)dims[3] : 1;
    }
    goto out;
bad:
    rc = rfail(r, e, DC_EFORMAT, "malformed NPY header at byte %lld: \"%.60s\"",
               (long long)(hstart + (int64_t)p.i), hdr + p.i);
out:
    free(hdr);
    return rc;
}

/* ---- DCF32 -------------------------------------------------------------------------- */

static int open_dcf32(data_reader *r, dc_err *e)
{
    unsigned char h[32];
    int rc = src_read_hdr(r, h, 32, "DCF32 header", e);
    if (rc) return rc;
    if (memcmp(h, "DCF32\0", 6) != 0)
        return rfail(r, e, DC_EFORMAT, "wrong DCF32 magic at byte 0 (expected \"DCF32\\0\")");
    unsigned ver = (unsigned)load_uint(h + 6, 2, 0);
    if (ver != 1)
        return rfail(r, e, DC_EFORMAT, "unsupported DCF32 version %u at byte 6", ver);
    int64_t n = (int64_t)load_uint(h + 8, 8, 0);
    int32_t d = (int32_t)load_uint(h + 16, 4, 0), ih = (int32_t)load_uint(h + 20, 4, 0),
            iw = (int32_t)load_uint(h + 24, 4, 0), ic = (int32_t)load_uint(h + 28, 4, 0);
    int img = ih || iw || ic;
    int64_t hwc = 0;
    if (img && (ih <= 0 || iw <= 0 || ic <= 0 ||
                dc_mul_i64((int64_t)ih * iw, ic, &hwc) < 0 || hwc != d))
        return rfail(r, e, DC_EFORMAT, "DCF32 image shape %d x %d x %d (bytes 20..31) does "
                     "not match d = %d", ih, iw, ic, d);
    r->info.dtype = DATA_F32;
    r->esize = 4;
    r->big = 0;
    r->info.data_offset = 32;
    int64_t dims[2] = {n, d};
    if (n < 0 || d < 0)
        return rfail(r, e, DC_EFORMAT, "negative DCF32 dimension (n = %lld at byte 8, d = %d "
                     "at byte 16)", (long long)n, d);
    rc = check_shape(r, dims, 2, e);
    if (rc) return rc;
    r->info.h = ih;
    r->info.w = iw;
    r->info.c = ic;
    return 0;
}

/* ---- CSV ---------------------------------------------------------------------------- */

/* Next line into r->line; 1 = a line, 0 = end of file, < 0 error. */
static int csv_getline(data_reader *r, dc_err *e)
{
    r->line_len = 0;
    int any = 0;
    for (;;) {
        if (src_avail(r) == 0) {
            int rc = src_fill(r, e);
            if (rc) return rc;
            if (src_avail(r) == 0) break;
        }
        any = 1;
        const unsigned char *p = r->buf + r->pos;
        size_t avail = src_avail(r);
        const unsigned char *nl = memchr(p, '\n', avail);
        size_t k = nl ? (size_t)(nl - p) : avail;
        if (r->line_len + k + 1 > CSV_MAX_LINE)
            return rfail(r, e, DC_EFORMAT, "line %lld is longer than %d bytes",
                         (long long)(r->lineno + 1), CSV_MAX_LINE);
        if (r->line_len + k + 1 > r->line_cap) {
            size_t cap = r->line_cap ? r->line_cap : 4096;
            while (cap < r->line_len + k + 1) cap *= 2;
            char *nb = realloc(r->line, cap);
            if (!nb) return rfail(r, e, DC_ENOMEM, "out of memory for a CSV line");
            r->line = nb;
            r->line_cap = cap;
        }
        memcpy(r->line + r->line_len, p, k);
        r->line_len += k;
        r->pos += k;
        if (nl) {
            r->pos++;
            break;
        }
    }
    if (!any) return 0;
    r->lineno++;
    if (r->line_len > 0 && r->line[r->line_len - 1] == '\r') r->line_len--;
    r->line[r->line_len] = 0;
    if (memchr(r->line, 0, r->line_len))
        return rfail(r, e, DC_EFORMAT, "NUL byte in line %lld (binary data is not CSV)",
                     (long long)r->lineno);
    return 1;
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t') return 0;
    return 1;
}

/* Next non-blank line; blank lines are only allowed at the end. 1 line, 0 end, < 0. */
static int csv_next_line(data_reader *r, dc_err *e)
{
    for (;;) {
        int rc = csv_getline(r, e);
        if (rc <= 0) return rc;
        if (is_blank(r->line)) {
            if (!r->blank_line) r->blank_line = r->lineno;
            continue;
        }
        if (r->blank_line)
            return rfail(r, e, DC_EFORMAT, "blank line %lld inside the data (line %lld "
                         "follows)", (long long)r->blank_line, (long long)r->lineno);
        return 1;
    }
}

/* Parses one field starting at s (up to ',' or NUL): *v the number, *next after the
 * field (at ',' or NUL). Returns 0 ok, -1 empty, -2 not a number. */
static int csv_field(const char *s, double *v, const char **next)
{
    while (*s == ' ' || *s == '\t') s++;
    const char *end = s;
    while (*end && *end != ',') end++;
    *next = end;
    const char *t = end;
    while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
    if (t == s) return -1;
    char *q;
    errno = 0;
    *v = strtod(s, &q);
    if (q != t) return -2;
    return 0;
}

static int count_fields(const char *s)
{
    int n = 1;
    for (; *s; s++) n += *s == ',';
    return n;
}

/* Quotes a field for an error message. */
static void field_text(const char *s, char *out, size_t cap)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t k = 0;
    while (s[k] && s[k] != ',' && k + 1 < cap) k++;
    memcpy(out, s, k);
    out[k] = 0;
}

/* Parses r->line into row (d floats) and *label. */
static int csv_parse(data_reader *r, float *row, int32_t *label, dc_err *e)
{
    int nf = count_fields(r->line);
    if (nf != r->ncols)
        return rfail(r, e, DC_EFORMAT, "line %lld has %d columns, expected %d",
                     (long long)r->lineno, nf, r->ncols);
    const char *s = r->line;
    int j = 0;
    for (int col = 0; col < r->ncols; col++) {
        double v;
        const char *next;
        int rc = csv_field(s, &v, &next);
        if (rc) {
            char txt[48];
            field_text(s, txt, sizeof txt);
            return rfail(r, e, DC_EFORMAT, "line %lld, column %d: %s '%s'",
                         (long long)r->lineno, col + 1,
                         rc == -1 ? "empty value" : "not a number", txt);
        }
        if (col == r->label_col) {
            if (!(v == floor(v)) || v < INT32_MIN || v > INT32_MAX)
                return rfail(r, e, DC_EFORMAT, "line %lld, column %d: label %g is not an "
                             "int32 integer", (long long)r->lineno, col + 1, v);
            if (label) *label = (int32_t)v;
        } else {
            float f = (float)v;
            if (r->div255) f /= 255.0f;
            if (!isfinite(f) && !r->opts.allow_nonfinite)
                return rfail(r, e, DC_EFORMAT, "line %lld, column %d: %s value %g (row %lld)",
                             (long long)r->lineno, col + 1,
                             isfinite(v) ? "out of float32 range" : "non-finite", v,
                             (long long)r->rows);
            row[j++] = f;
        }
        s = *next ? next + 1 : next;
    }
    return 0;
}

static int open_csv(data_reader *r, dc_err *e)
{
    int rc = csv_next_line(r, e);
    if (rc < 0) return rc;
    if (rc == 0) return rfail(r, e, DC_EFORMAT, "no data rows (the file is empty)");
    r->ncols = count_fields(r->line);
    int header = r->opts.csv_header == DATA_CSV_HEADER_YES;
    if (r->opts.csv_header == DATA_CSV_HEADER_AUTO) {
        header = 1;
        const char *s = r->line;
        for (int col = 0; col < r->ncols; col++) {
            double v;
            const char *next;
            if (csv_field(s, &v, &next) == 0) header = 0;
            s = *next ? next + 1 : next;
        }
    }
    if (header) {
        int64_t hl = r->lineno;
        rc = csv_next_line(r, e);
        if (rc < 0) return rc;
        if (rc == 0)
            return rfail(r, e, DC_EFORMAT, "no data rows after the header on line %lld",
                         (long long)hl);
    }
    r->have_line = 1;
    r->label_col = -1;
    if (r->opts.csv_has_label) {
        int lc = r->opts.csv_label_col < 0 ? r->ncols + r->opts.csv_label_col
                                           : r->opts.csv_label_col;
        if (lc < 0 || lc >= r->ncols)
            return rfail(r, e, DC_EINVAL, "label column %d out of range for %d columns",
                         r->opts.csv_label_col, r->ncols);
        if (r->ncols < 2)
            return rfail(r, e, DC_EFORMAT, "only the label column: no data columns");
        r->label_col = lc;
        r->info.has_labels = 1;
    }
    r->info.dtype = DATA_F64;
    r->esize = 0;
    r->info.n = -1;
    r->info.d = r->ncols - (r->label_col >= 0);
    r->info.ndim = 2;
    return 0;
}

/* One CSV row: 1 stored, 0 end, < 0 error. */
static int csv_row(data_reader *r, float *row, int32_t *label, dc_err *e)
{
    if (!r->have_line) {
        int rc = csv_next_line(r, e);
        if (rc <= 0) return rc;
    }
    int rc = csv_parse(r, row, label, e);
    if (rc) return rc;
    r->have_line = 0;
    r->rows++;
    return 1;
}

/* ---- open / close ----------------------------------------------------------------- */

int data_reader_open(data_reader **out, const char *path, data_format fmt,
                     const data_opts *opts, dc_err *e)
{
    int rc = 0;
    data_reader *r = NULL;
    if (!out || !path) return dc_err_set(e, DC_EINVAL, "data_reader_open: NULL argument");
    *out = NULL;
    if (fmt < DATA_FMT_AUTO || fmt > DATA_FMT_DCF32)
        return dc_err_set(e, DC_EINVAL, "%s: unknown format %d", path, (int)fmt);
    r = calloc(1, sizeof *r);
    if (!r) return dc_err_set(e, DC_ENOMEM, "%s: out of memory", path);
    if (opts) r->opts = *opts;
    if (r->opts.scale < DATA_SCALE_AUTO || r->opts.scale > DATA_SCALE_255) {
        rc = dc_err_set(e, DC_EINVAL, "%s: unknown scale option %d", path, r->opts.scale);
        goto out;
    }
    r->path = strdup(path);
    r->buf = malloc(BUF_CAP);
    if (!r->path || !r->buf) {
        rc = dc_err_set(e, DC_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    errno = 0;
    r->gz = gzopen(path, "rb");
    if (!r->gz) {
        rc = dc_err_set(e, errno == ENOMEM ? DC_ENOMEM : DC_EIO, "%s: cannot open: %s", path,
                        errno ? strerror(errno) : "gzopen failed");
        goto out;
    }
    gzbuffer(r->gz, GZ_BUF);
    rc = src_need(r, 8, e);
    if (rc) goto out;
    r->info.gzipped = !gzdirect(r->gz);
    if (src_avail(r) == 0) {
        rc = rfail(r, e, DC_EFORMAT, "empty file: no data rows");
        goto out;
    }
    if (fmt == DATA_FMT_AUTO) {
        const unsigned char *b = r->buf + r->pos;
        size_t a = src_avail(r);
        if (a >= 6 && !memcmp(b, "DCF32\0", 6)) fmt = DATA_FMT_DCF32;
        else if (a >= 6 && !memcmp(b, "\x93NUMPY", 6)) fmt = DATA_FMT_NPY;
        else if (a >= 4 && b[0] == 0 && b[1] == 0 &&
                 (b[2] == 0x08 || b[2] == 0x09 || (b[2] >= 0x0B && b[2] <= 0x0E)))
            fmt = DATA_FMT_IDX;
        else fmt = DATA_FMT_CSV;
    }
    r->info.format = fmt;
    switch (fmt) {
    case DATA_FMT_IDX: rc = open_idx(r, e); break;
    case DATA_FMT_NPY: rc = open_npy(r, e); break;
    case DATA_FMT_DCF32: rc = open_dcf32(r, e); break;
    default: rc = open_csv(r, e); break;
    }
    if (rc) goto out;
    r->div255 = r->opts.scale == DATA_SCALE_255;
    int u8div = r->opts.scale != DATA_SCALE_NONE;
    for (int i = 0; i < 256; i++) r->u8_table[i] = u8div ? (float)i / 255.0f : (float)i;
out:
    if (rc) {
        data_reader_close(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

const data_info *data_reader_info(const data_reader *r) { return &r->info; }

int64_t data_reader_rows(const data_reader *r) { return r->rows; }

void data_reader_close(data_reader *r)
{
    if (!r) return;
    if (r->gz) gzclose(r->gz);
    free(r->buf);
    free(r->line);
    free(r->path);
    free(r);
}

/* ---- binary rows ------------------------------------------------------------------ */

/* Converts m elements at src (element index idx0 of the data) into out. */
static int conv_f32(data_reader *r, const unsigned char *src, float *out, size_t m,
                    int64_t idx0, dc_err *e)
{
    int es = r->esize, big = r->big;
    switch (r->info.dtype) {
    case DATA_U8:
        for (size_t i = 0; i < m; i++) out[i] = r->u8_table[src[i]];
        return 0; /* finite, scaled by the table */
    case DATA_I8:
        for (size_t i = 0; i < m; i++) out[i] = (float)(int8_t)src[i];
        break;
    case DATA_I16:
        for (size_t i = 0; i < m; i++) out[i] = (float)(int16_t)load_uint(src + i * 2, 2, big);
        break;
    case DATA_I32:
        for (size_t i = 0; i < m; i++) out[i] = (float)(int32_t)load_uint(src + i * 4, 4, big);
        break;
    case DATA_I64:
        for (size_t i = 0; i < m; i++) out[i] = (float)(int64_t)load_uint(src + i * 8, 8, big);
        break;
    case DATA_F32:
        if (!big) {
            memcpy(out, src, m * 4);
        } else {
            for (size_t i = 0; i < m; i++) {
                uint32_t u = (uint32_t)load_uint(src + i * 4, 4, 1);
                memcpy(out + i, &u, 4);
            }
        }
        break;
    case DATA_F64:
        for (size_t i = 0; i < m; i++) {
            uint64_t u = load_uint(src + i * 8, 8, big);
            double v;
            memcpy(&v, &u, 8);
            out[i] = (float)v;
        }
        break;
    }
    if (r->div255)
        for (size_t i = 0; i < m; i++) out[i] /= 255.0f;
    if ((r->info.dtype == DATA_F32 || r->info.dtype == DATA_F64) && !r->opts.allow_nonfinite) {
        for (size_t i = 0; i < m; i++) {
            if (isfinite(out[i])) continue;
            int64_t idx = idx0 + (int64_t)i;
            double v = out[i];
            if (r->info.dtype == DATA_F64) {
                uint64_t u = load_uint(src + i * 8, 8, big);
                memcpy(&v, &u, 8);
            }
            return rfail(r, e, DC_EFORMAT, "%s value %g at row %lld, column %lld (byte %lld%s)",
                         isfinite(v) ? "out of float32 range" : "non-finite", v,
                         (long long)(idx / r->info.d), (long long)(idx % r->info.d),
                         (long long)(r->info.data_offset + idx * es), where_gz(r));
        }
    }
    return 0;
}

/* Converts m elements into int32 labels. */
static int conv_i32(data_reader *r, const unsigned char *src, int32_t *out, size_t m,
                    int64_t idx0, dc_err *e)
{
    int es = r->esize, big = r->big;
    for (size_t i = 0; i < m; i++) {
        const unsigned char *p = src + i * (size_t)es;
        double v;
        switch (r->info.dtype) {
        case DATA_U8: v = p[0]; break;
        case DATA_I8: v = (int8_t)p[0]; break;
        case DATA_I16: v = (int16_t)load_uint(p, 2, big); break;
        case DATA_I32: v = (int32_t)load_uint(p, 4, big); break;
        case DATA_I64: {
            int64_t x = (int64_t)load_uint(p, 8, big);
            v = x < INT32_MIN ? -3e9 : x > INT32_MAX ? 3e9 : (double)x;
            break;
        }
        case DATA_F32: {
            uint32_t u = (uint32_t)load_uint(p, 4, big);
            float f;
            memcpy(&f, &u, 4);
            v = f;
            break;
        }
        default: {
            uint64_t u = load_uint(p, 8, big);
            memcpy(&v, &u, 8);
        }
        }
        if (!(v == floor(v)) || v < INT32_MIN || v > INT32_MAX)
            return rfail(r, e, DC_EFORMAT, "label %g at index %lld (byte %lld%s) is not an "
                         "int32 integer", v, (long long)(idx0 + (int64_t)i),
                         (long long)(r->info.data_offset + (idx0 + (int64_t)i) * es),
                         where_gz(r));
        out[i] = (int32_t)v;
    }
    return 0;
}

/* After the last row: nothing may follow, and the gzip stream must end cleanly. */
static int check_end(data_reader *r, dc_err *e)
{
    int rc = src_need(r, 1, e);
    if (rc) return rc;
    if (src_avail(r) > 0)
        return rfail(r, e, DC_EFORMAT, "trailing data at byte %lld%s: the header accounts "
                     "for %lld bytes", (long long)src_offset(r), where_gz(r),
                     (long long)src_offset(r));
    r->done = 1;
    return 0;
}

/* Reads up to max rows of binary data into out (floats or int32 labels). */
static int bin_next(data_reader *r, void *out, int as_labels, int64_t max, int64_t *got,
                    dc_err *e)
{
    int64_t want = r->info.n - r->rows;
    if (want > max) want = max;
    int64_t d = r->info.d, nelem = want * d, idx0 = r->rows * d, k = 0;
    size_t es = (size_t)r->esize;
    while (k < nelem) {
        if (src_avail(r) < es) {
            int rc = src_need(r, es, e);
            if (rc) return rc;
            if (src_avail(r) < es) {
                int64_t end = r->buf_off + (int64_t)r->len;
                int64_t expect = r->info.data_offset + r->info.n * d * (int64_t)es;
                return rfail(r, e, DC_EFORMAT, "truncated at byte %lld%s: the header "
                             "promises %lld rows (%lld bytes), the data ends in row %lld",
                             (long long)end, where_gz(r), (long long)r->info.n,
                             (long long)expect, (long long)((idx0 + k) / d));
            }
        }
        size_t m = src_avail(r) / es;
        if ((int64_t)m > nelem - k) m = (size_t)(nelem - k);
        int rc = as_labels
                     ? conv_i32(r, r->buf + r->pos, (int32_t *)out + k, m, idx0 + k, e)
                     : conv_f32(r, r->buf + r->pos, (float *)out + k, m, idx0 + k, e);
        if (rc) return rc;
        r->pos += m * es;
        k += (int64_t)m;
    }
    r->rows += want;
    *got = want;
    if (r->rows == r->info.n) return check_end(r, e);
    return 0;
}

int data_reader_next(data_reader *r, float *rows, int32_t *labels, int64_t max_rows,
                     int64_t *got, dc_err *e)
{
    if (!r || !rows || !got || max_rows < 1)
        return dc_err_set(e, DC_EINVAL, "data_reader_next: bad argument");
    *got = 0;
    if (r->failed)
        return dc_err_set(e, DC_EINVAL, "%s: reader used after an error", r->path);
    if (r->done) return 0;
    if (r->info.format != DATA_FMT_CSV) return bin_next(r, rows, 0, max_rows, got, e);
    int64_t k = 0;
    int d = r->info.d;
    while (k < max_rows) {
        int rc = csv_row(r, rows + k * d, labels ? labels + k : NULL, e);
        if (rc < 0) return rc;
        if (rc == 0) {
            r->done = 1;
            r->info.n = r->rows;
            break;
        }
        k++;
    }
    *got = k;
    return 0;
}

int data_reader_next_labels(data_reader *r, int32_t *labels, int64_t max, int64_t *got,
                            dc_err *e)
{
    if (!r || !labels || !got || max < 1)
        return dc_err_set(e, DC_EINVAL, "data_reader_next_labels: bad argument");
    *got = 0;
    if (r->failed)
        return dc_err_set(e, DC_EINVAL, "%s: reader used after an error", r->path);
    if (r->info.d != 1)
        return rfail(r, e, DC_EFORMAT, "not a label file: %d values per row, expected 1",
                     r->info.d);
    if (r->done) return 0;
    if (r->info.format != DATA_FMT_CSV) return bin_next(r, labels, 1, max, got, e);
    int64_t k = 0;
    int div = r->div255;
    r->div255 = 0;
    while (k < max) {
        float v;
        int rc = csv_row(r, &v, NULL, e);
        if (rc < 0) return rc;
        if (rc == 0) {
            r->done = 1;
            r->info.n = r->rows;
            break;
        }
        if (!(v == floorf(v)) || v < -2147483648.0f || v >= 2147483648.0f)
            return rfail(r, e, DC_EFORMAT, "line %lld: label %g is not an int32 integer",
                         (long long)r->lineno, (double)v);
        labels[k++] = (int32_t)v;
    }
    r->div255 = div;
    *got = k;
    return 0;
}

/* NPY 1.0 writer (data.h). */
int data_read_file(const char *path, void **buf, size_t *len, dc_err *e)
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

int data_write_npy(const char *path, const char *descr, const char *shape, const void *a,
                   size_t bytes, dc_err *e)
{
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    int total = 10 + n + 1, pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f) return dc_err_set(e, DC_EIO, "%s: %s", path, strerror(errno));
    unsigned short hl = (unsigned short)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(hdr, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    size_t w = fwrite(a, 1, bytes, f);
    if (fclose(f) != 0 || w != bytes) {
        remove(path);
        return dc_err_set(e, DC_EIO, "%s: write failed", path);
    }
    return 0;
}
