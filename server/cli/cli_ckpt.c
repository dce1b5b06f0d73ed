/* cli_ckpt: see cli_ckpt.h. */
#include "cli_ckpt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"

static const char MAGIC[8] = {'D', 'C', 'T', 'R', 'N', 'C', 'K', '1'};
enum { HDR_LEN = 8 + 4 + 4 + 3 * 8 + 8 };

int cli_ckpt_write(const char *path, const cli_ckpt_hdr *h, const void *blob, size_t len,
                   dc_err *e)
{
    unsigned char hdr[HDR_LEN], *p = hdr;
    uint32_t zero = 0;
    uint64_t n = len;
    memcpy(p, MAGIC, 8), p += 8;
    memcpy(p, &h->resumes, 4), p += 4;
    memcpy(p, &zero, 4), p += 4;
    memcpy(p, &h->seconds, 8), p += 8;
    memcpy(p, &h->pretrain_end_s, 8), p += 8;
    memcpy(p, &h->kmeans_end_s, 8), p += 8;
    memcpy(p, &n, 8);
    return cli_write_atomic(path, hdr, sizeof hdr, blob, len, e);
}

int cli_ckpt_read(const char *path, cli_ckpt_hdr *h, void **blob, size_t *len, dc_err *e)
{
    void *buf = NULL;
    size_t n = 0;
    *blob = NULL;
    *len = 0;
    if (access(path, F_OK) != 0 && errno == ENOENT) return 0;
    int rc = data_read_file(path, &buf, &n, e);
    if (rc < 0) return rc;
    const unsigned char *p = buf;
    uint64_t bl = 0;
    if (n >= HDR_LEN) memcpy(&bl, p + HDR_LEN - 8, 8);
    if (n < HDR_LEN || memcmp(p, MAGIC, 8) != 0 || bl != n - HDR_LEN) {
        free(buf);
        return dc_err_set(e, DC_EFORMAT,
                          "%s is not a whole deepclust train checkpoint (delete it to start "
                          "over)", path);
    }
    memcpy(&h->resumes, p + 8, 4);
    memcpy(&h->seconds, p + 16, 8);
    memcpy(&h->pretrain_end_s, p + 24, 8);
    memcpy(&h->kmeans_end_s, p + 32, 8);
    if (!(h->seconds >= 0) || !isfinite(h->seconds)) {
        free(buf);
        return dc_err_set(e, DC_EFORMAT, "%s: bad time in the checkpoint header", path);
    }
    memmove(buf, p + HDR_LEN, (size_t)bl);
    *blob = buf;
    *len = (size_t)bl;
    return 1;
}
