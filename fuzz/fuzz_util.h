/* fuzz_util.h: what the libFuzzer targets of fuzz/ share (header-only, static): an
 * in-memory file for loaders that read by path, the FNV-1a checksum that model and
 * checkpoint buffers end with, and FUZZ_CHECK for invariants (a failed one aborts, which
 * libFuzzer reports as a crash with the input that caused it). Needs _GNU_SOURCE
 * (memfd_create), which fuzz/CMakeLists.txt defines. */
#ifndef DC_FUZZ_UTIL_H
#define DC_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_CHECK(cond, ...)                                                            \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* One memfd per process, rewritten for each input; its path is /proc/self/fd/N, which
 * the loaders open (and stat) like any file. Returns the path (static buffer). */
static inline const char *fuzz_memfile(const void *data, size_t len)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("dc_fuzz", 0);
        FUZZ_CHECK(fd >= 0, "memfd_create failed");
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    FUZZ_CHECK(ftruncate(fd, 0) == 0, "ftruncate failed");
    size_t off = 0;
    while (off < len) {
        ssize_t k = pwrite(fd, (const char *)data + off, len - off, (off_t)off);
        FUZZ_CHECK(k > 0, "pwrite failed");
        off += (size_t)k;
    }
    return path;
}

/* 64-bit FNV-1a, as core/cluster_io.c closes model and checkpoint buffers with. */
static inline uint64_t fuzz_fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* A malloc'd copy of data followed by its FNV-1a (8 bytes, little-endian host): the
 * checksum is the one thing random bytes never get right, so the model and checkpoint
 * targets fuzz what comes before it and append it here. *out_len = len + 8. */
static inline unsigned char *fuzz_with_fnv(const uint8_t *data, size_t len, size_t *out_len)
{
    unsigned char *p = malloc(len + 8);
    FUZZ_CHECK(p != NULL, "out of memory");
    if (len) memcpy(p, data, len);
    uint64_t h = fuzz_fnv1a(p, len);
    memcpy(p + len, &h, 8);
    *out_len = len + 8;
    return p;
}

#endif
