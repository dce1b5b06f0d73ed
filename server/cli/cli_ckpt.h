/* cli_ckpt: the checkpoint file of `deepclust train --checkpoint F`. It wraps the core's
 * opaque state blob (cluster_fit_opts.ckpt / .resume) with the run's time so far, so a
 * run killed or stopped part-way continues from its last checkpoint when the same command
 * is run again, and its reported seconds cover every process that worked on it.
 *
 * Layout (native byte order, one machine's own file): magic "DCTRNCK1", then
 * u32 resumes, u32 0, f64 seconds, f64 pretrain_end_s, f64 kmeans_end_s, u64 blob length,
 * blob. Written to F.tmp, synced, then renamed over F: F is always a whole checkpoint. */
#ifndef DC_CLI_CKPT_H
#define DC_CLI_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "dc_err.h"

typedef struct cli_ckpt_hdr {
    uint32_t resumes;      /* times this run has been resumed before the current process */
    double seconds;        /* training time so far, all processes (work redone counts) */
    double pretrain_end_s; /* time of the last pretraining epoch so far, 0 if none */
    double kmeans_end_s;   /* time at which k-means ended, 0 if not (yet) */
} cli_ckpt_hdr;

/* 1 loaded (*blob malloc'd, free() it), 0 no file at path, < 0 error (DC_EFORMAT for a
 * file that is not a whole checkpoint, DC_EIO). */
int cli_ckpt_read(const char *path, cli_ckpt_hdr *h, void **blob, size_t *len, dc_err *e);

int cli_ckpt_write(const char *path, const cli_ckpt_hdr *h, const void *blob, size_t len,
                   dc_err *e);

#endif
