/* Checkpoints: a run resumed from any checkpoint (mid-pretraining, mid-self-training, or
 * in or between vae epochs) ends with exactly the model of the uninterrupted run; foreign or
 * corrupt checkpoints are refused; a checkpoint sink can stop the run. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "cluster.h"
#include "cluster_internal.h"
#include "data.h"
#include "rng.h"

enum { MAXCK = 64 };
static void *blobs[MAXCK];
static size_t lens[MAXCK];
static int nck, stop_at, stopped;

static int sink(void *ctx, const void *state, size_t len)
{
    (void)ctx;
    if (nck < MAXCK) {
        blobs[nck] = malloc(len);
        memcpy(blobs[nck], state, len);
        lens[nck++] = len;
    }
    return stop_at && nck >= stop_at;
}

static atomic_int stop_flag;
static long stop_after_us;
static int events_seen, stop_event;

/* progress callback that raises the stop flag at event stop_event: a stop at a known
   point, whatever the machine's speed */
static int stop_cb(void *ctx, const cluster_event *ev)
{
    (void)ctx, (void)ev;
    if (++events_seen == stop_event) atomic_store(&stop_flag, 1);
    return 0;
}

static void *stopper(void *arg)
{
    (void)arg;
    struct timespec ts = {stop_after_us / 1000000, (stop_after_us % 1000000) * 1000};
    nanosleep(&ts, NULL);
    atomic_store(&stop_flag, 1);
    return NULL;
}

static float *predict_q(cluster_model *m, const dataset *ds)
{
    float *q = malloc(sizeof(float) * ds->n * cluster_model_k(m));
    cluster_predict(m, ds->x, ds->n, q, NULL, NULL, NULL);
    return q;
}

/* Resumes s on ds from a checkpoint blob: -1 the resume failed (message in e), 0 its q
   equals q_ref, 1 it differs. */
static int resume_differs(const cluster_spec *s, const dataset *ds, const void *blob, size_t len,
                          const float *q_ref, dc_err *e)
{
    cluster_fit_opts ro = {.resume = blob, .resume_len = len};
    cluster_model *m = NULL;
    if (cluster_fit_ex(&m, s, ds, &ro, e) != 0 || !m) return -1;
    float *q = predict_q(m, ds);
    int differs = memcmp(q, q_ref, sizeof(float) * ds->n * cluster_model_k(m)) != 0;
    free(q);
    cluster_model_free(m);
    return differs;
}

/* vae (pretrained start or one step from scratch): every checkpoint resumes to the
   uninterrupted run's q, and so does a stop raised before the run or during it. */
static void vae_case(const dataset *ds, int pretrain)
{
    cluster_spec s;
    cluster_spec_default(&s, CM_VAE, 3);
    s.n_hidden = 1, s.hidden[0] = 32, s.latent = 3;
    s.pretrain_epochs = pretrain, s.vae_epochs = 6, s.batch = 30, s.n_init = 2, s.seed = 4;
    if (!pretrain) s.vae_lr = 1e-3;
    dc_err e = {0};
    cluster_fit_opts o = {.ckpt = sink, .ckpt_every_s = 1e-9};
    cluster_model *ref = NULL;
    nck = 0;
    CHECK_MSG(cluster_fit_ex(&ref, &s, ds, &o, &e) == 0, "vae (pretrain %d): %s", pretrain, e.msg);
    if (!ref) return;
    float *q_ref = predict_q(ref, ds);
    int n1 = 0, n3 = 0;
    for (int c = 0; c < nck; c++) {
        cluster_ckpt ck;
        CHECK_EQ_INT(cluster__ckpt_peek(blobs[c], lens[c], &ck, &e), 0);
        n1 += ck.phase == 1;
        n3 += ck.phase == 3;
        int d = resume_differs(&s, ds, blobs[c], lens[c], q_ref, &e);
        CHECK_MSG(d >= 0, "vae resume from phase %d iter %d: %s", ck.phase, ck.iter, e.msg);
        CHECK_MSG(d <= 0,
                  "vae (pretrain %d) resumed from phase %d iter %d differs from the uninterrupted run",
                  pretrain, ck.phase, ck.iter);
    }
    CHECK_MSG(n1 == pretrain && n3 == 6, "vae checkpoints: %d pretraining (expected %d), %d vae (expected 6)",
              n1, pretrain, n3);
    /* a phase-3 checkpoint does not resume a dec run, nor another vae spec */
    cluster_spec s2 = s;
    s2.vae_epochs = 7;
    cluster_fit_opts ro = {.resume = blobs[nck - 2], .resume_len = lens[nck - 2]};
    cluster_model *m = NULL;
    CHECK_EQ_INT(cluster_fit_ex(&m, &s2, ds, &ro, &e), DC_EINVAL);
    cluster_spec_default(&s2, CM_DEC, 3);
    CHECK_EQ_INT(cluster_fit_ex(&m, &s2, ds, &ro, &e), DC_EINVAL);
    for (int c = 0; c < nck; c++) free(blobs[c]);
    /* stop flag already raised: the run stops before its first vae batch (or first
       pretraining batch) with a checkpoint that resumes to the same model */
    nck = 0;
    atomic_store(&stop_flag, 1);
    cluster_fit_opts so = {.ckpt = sink, .stop = &stop_flag};
    CHECK_EQ_INT(cluster_fit_ex(&m, &s, ds, &so, &e), DC_ECANCEL);
    atomic_store(&stop_flag, 0);
    CHECK_MSG(nck >= 1, "no checkpoint after a stop (pretrain %d)", pretrain);
    if (nck) {
        int d = resume_differs(&s, ds, blobs[nck - 1], lens[nck - 1], q_ref, &e);
        CHECK_MSG(d >= 0, "vae resume after stop: %s", e.msg);
        CHECK_MSG(d <= 0, "vae (pretrain %d) stopped and resumed differs", pretrain);
    }
    for (int c = 0; c < nck; c++) free(blobs[c]);
    nck = 0;
    /* a stop flag raised at the end of vae epoch 1, 3 or 5: the run stops before the next
       batch (test_vae_state stops runs inside epochs) and its last checkpoint resumes to
       the same model */
    for (int k = 1; k <= 5; k += 2) {
        nck = 0;
        atomic_store(&stop_flag, 0);
        events_seen = 0;
        stop_event = pretrain + (pretrain > 0) + k; /* pretraining epochs, k-means, vae epochs */
        cluster_fit_opts eo = {.ckpt = sink, .stop = &stop_flag, .cb = stop_cb};
        CHECK_EQ_INT(cluster_fit_ex(&m, &s, ds, &eo, &e), DC_ECANCEL);
        CHECK_MSG(strstr(e.msg, "vae: stopped in epoch") != NULL, "stop after vae epoch %d: %s", k,
                  e.msg);
        CHECK_MSG(nck >= 1, "no checkpoint after a stop at vae epoch %d", k);
        if (nck) {
            cluster_ckpt last;
            CHECK_EQ_INT(cluster__ckpt_peek(blobs[nck - 1], lens[nck - 1], &last, &e), 0);
            CHECK_MSG(last.phase == 3 && last.iter == k, "stop at vae epoch %d: checkpoint phase %d iter %d",
                      k, last.phase, last.iter);
            int d = resume_differs(&s, ds, blobs[nck - 1], lens[nck - 1], q_ref, &e);
            CHECK_MSG(d >= 0, "vae resume after a stop at epoch %d: %s", k, e.msg);
            CHECK_MSG(d <= 0, "vae (pretrain %d) stopped after epoch %d and resumed differs",
                      pretrain, k);
        }
        for (int c = 0; c < nck; c++) free(blobs[c]);
    }
    stop_event = 0;
    nck = 0;
    /* NULL opts: the defaults, the same model */
    CHECK_EQ_INT(cluster_fit_ex(&m, &s, ds, NULL, &e), 0);
    if (m) {
        float *q = predict_q(m, ds);
        CHECK_MSG(memcmp(q, q_ref, sizeof(float) * ds->n * 3) == 0, "vae with NULL opts differs");
        free(q);
        cluster_model_free(m);
        m = NULL;
    }
    free(q_ref);
    cluster_model_free(ref);
}

int main(void)
{
    dataset ds = {0};
    rng r;
    rng_seed(&r, 5);
    dataset_alloc(&ds, 300, 12, 1, NULL);
    for (int64_t i = 0; i < ds.n; i++) {
        ds.labels[i] = (int)(i % 3);
        for (int j = 0; j < 12; j++)
            ds.x[i * 12 + j] = (float)((j % 3 == ds.labels[i]) * 2.0 + 0.4 * rng_normal(&r));
    }
    for (int meth = CM_DEC; meth <= CM_IDEC; meth++) {
        cluster_spec s;
        cluster_spec_default(&s, meth, 3);
        s.n_hidden = 2, s.hidden[0] = 128, s.hidden[1] = 3;
        s.pretrain_epochs = 12, s.batch = 16, s.n_init = 2, s.update_interval = 10, s.maxiter = 60;
        s.tol = 0; /* run all 40 batches: several self-training checkpoints */
        s.seed = 9;
        cluster_fit_opts o = {.ckpt = sink, .ckpt_every_s = 1e-9};
        cluster_model *ref = NULL;
        dc_err e = {0};
        nck = 0;
        CHECK_EQ_INT(cluster_fit_ex(&ref, &s, &ds, &o, &e), 0);
        if (!ref) break;
        /* the length of a run as the stop tests below make it (phase-end checkpoints only) */
        struct timespec t0, t1;
        int nck0 = nck;
        cluster_fit_opts to = {.ckpt = sink};
        cluster_model *tm = NULL;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        CHECK_EQ_INT(cluster_fit_ex(&tm, &s, &ds, &to, &e), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ref_us = (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3;
        cluster_model_free(tm);
        for (int c = nck0; c < nck; c++) free(blobs[c]);
        nck = nck0;
        float *q_ref = predict_q(ref, &ds);
        int n1 = 0, n2 = 0;
        for (int c = 0; c < nck; c++) {
            cluster_ckpt ck;
            CHECK_EQ_INT(cluster__ckpt_peek(blobs[c], lens[c], &ck, &e), 0);
            n1 += ck.phase == 1;
            n2 += ck.phase == 2;
            if (ck.iter == 0 && ck.phase == 1) continue;
            cluster_fit_opts ro = {.resume = blobs[c], .resume_len = lens[c]};
            cluster_model *m = NULL;
            int rc = cluster_fit_ex(&m, &s, &ds, &ro, &e);
            CHECK_MSG(rc == 0, "resume from checkpoint %d (phase %d, iter %d): %s", c, ck.phase,
                      ck.iter, e.msg);
            if (!m) continue;
            float *q = predict_q(m, &ds);
            CHECK_MSG(memcmp(q, q_ref, sizeof(float) * ds.n * 3) == 0,
                      "%s resumed from phase %d iter %d differs from the uninterrupted run",
                      cluster_method_name(meth), ck.phase, ck.iter);
            free(q);
            cluster_model_free(m);
        }
        CHECK_MSG(n1 == 12, "pretraining checkpoints: expected 12, got %d", n1);
        CHECK_MSG(n2 >= 5, "self-training checkpoints: expected >= 5, got %d", n2);
        /* another spec: refused */
        cluster_spec s2 = s;
        s2.seed = 10;
        cluster_fit_opts ro = {.resume = blobs[nck - 1], .resume_len = lens[nck - 1]};
        cluster_model *m = NULL;
        CHECK_EQ_INT(cluster_fit_ex(&m, &s2, &ds, &ro, &e), DC_EINVAL);
        CHECK(strstr(e.msg, "another spec") != NULL);
        /* corrupt: refused */
        ((unsigned char *)blobs[2])[lens[2] / 2] ^= 1;
        ro.resume = blobs[2], ro.resume_len = lens[2];
        CHECK_EQ_INT(cluster_fit_ex(&m, &s, &ds, &ro, &e), DC_EFORMAT);
        ro.resume_len = 10;
        CHECK_EQ_INT(cluster_fit_ex(&m, &s, &ds, &ro, &e), DC_EFORMAT);
        for (int c = 0; c < nck; c++) free(blobs[c]);
        /* the sink stops the run */
        nck = 0;
        stop_at = 3;
        CHECK_EQ_INT(cluster_fit_ex(&m, &s, &ds, &o, &e), DC_ECANCEL);
        CHECK(m == NULL);
        stop_at = 0;
        for (int c = 0; c < nck; c++) free(blobs[c]);
        /* a stop flag raised at a known event (after pretraining epoch 4; after the
           second target update), then at arbitrary moments from another thread (these
           may land after the end on a fast machine): the final checkpoint each leaves
           resumes to the same model */
        long delays[] = {0, 0, (long)(ref_us * 0.1), (long)(ref_us * 0.3), (long)(ref_us * 0.6),
                         (long)(ref_us * 0.9)};
        int at_event[] = {4, s.pretrain_epochs + 1 + 2, 0, 0, 0, 0};
        for (int t = 0; t < 6; t++) {
            nck = 0;
            atomic_store(&stop_flag, 0);
            stop_after_us = delays[t];
            events_seen = 0;
            stop_event = at_event[t];
            cluster_fit_opts so = {.ckpt = sink, .stop = &stop_flag,
                                   .cb = stop_event ? stop_cb : NULL};
            pthread_t th;
            if (!stop_event) pthread_create(&th, NULL, stopper, NULL);
            int rc = cluster_fit_ex(&m, &s, &ds, &so, &e);
            if (!stop_event) pthread_join(th, NULL);
            if (stop_event)
                CHECK_MSG(rc == DC_ECANCEL, "%s: stop flag at event %d: rc %d",
                          cluster_method_name(meth), stop_event, rc);
            if (rc == 0) { /* finished before the flag: fine, nothing to resume */
                cluster_model_free(m);
                m = NULL;
                for (int c = 0; c < nck; c++) free(blobs[c]);
                continue;
            }
            CHECK_EQ_INT(rc, DC_ECANCEL);
            stopped += !stop_event;
            if (nck) {
                cluster_ckpt last;
                cluster__ckpt_peek(blobs[nck - 1], lens[nck - 1], &last, NULL);
                printf("%s: stopped after %ld us at phase %d iter %d pos %lld\n",
                       cluster_method_name(meth), delays[t], last.phase, last.iter,
                       (long long)last.pos);
            }
            cluster_model *m2 = NULL;
            cluster_fit_opts ro2 = {.resume = nck ? blobs[nck - 1] : NULL,
                                    .resume_len = nck ? lens[nck - 1] : 0};
            CHECK_MSG(cluster_fit_ex(&m2, &s, &ds, &ro2, &e) == 0, "resume after stop: %s", e.msg);
            if (m2) {
                float *q = predict_q(m2, &ds);
                CHECK_MSG(memcmp(q, q_ref, sizeof(float) * ds.n * 3) == 0,
                          "%s stopped after %ld us and resumed (%d checkpoints) differs",
                          cluster_method_name(meth), delays[t], nck);
                free(q);
                cluster_model_free(m2);
            }
            for (int c = 0; c < nck; c++) free(blobs[c]);
        }
        free(q_ref);
        cluster_model_free(ref);
    }
    printf("%d of 8 stops from another thread landed before the end of the run\n", stopped);
    /* the vae models intensities in [0, 1]: the same data, min-max scaled */
    float lo = ds.x[0], hi = ds.x[0];
    for (int64_t i = 0; i < ds.n * 12; i++) lo = fminf(lo, ds.x[i]), hi = fmaxf(hi, ds.x[i]);
    for (int64_t i = 0; i < ds.n * 12; i++) ds.x[i] = (ds.x[i] - lo) / (hi - lo);
    vae_case(&ds, 3);
    vae_case(&ds, 0);
    dataset_free(&ds);
    return CHECK_DONE();
}
