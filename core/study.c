/* study: see study.h. */
#include "study.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "metrics.h"
#include "rng.h"

int study_shares_ae(const cluster_spec *s)
{
    switch (s->method) {
    case CM_AE_KMEANS: case CM_DEC: case CM_IDEC: case CM_DCEC: return 1;
    case CM_N2D: return s->n_hidden > 0;
    case CM_VAE: return s->pretrain_epochs > 0 && !s->vae_conv;
    default: return 0;
    }
}

const char *study_stat_name(int i)
{
    static const char *const names[ST_COUNT] = {"acc", "nmi", "ari", "silhouette",
                                                "calinski_harabasz", "davies_bouldin",
                                                "bic", "mean_loglik"};
    return i >= 0 && i < ST_COUNT ? names[i] : "unknown";
}

int study_criteria_of(const cluster_model *m, const dataset *ds, const cluster_event *last,
                      size_t sample, study_criteria *out, dc_err *e)
{
    size_t n = (size_t)ds->n, ms = sample == 0 || sample >= n ? n : sample;
    int d = ds->d, k = cluster_model_k(m), emb = cluster_model_embed(m), rc = 0;
    size_t *idx = malloc(sizeof *idx * (n ? n : 1));
    float *xs = malloc(sizeof *xs * ms * (size_t)d + 1);
    float *z = malloc(sizeof *z * ms * (size_t)emb + 1);
    int32_t *lab = malloc(sizeof *lab * ms + 1);
    int *cnt = calloc((size_t)k, sizeof *cnt);

    out->sil = out->ch = out->db = out->loglik = out->bic = NAN;
    out->sample = (int64_t)ms;
    if (!idx || !xs || !z || !lab || !cnt) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) idx[i] = i;
    if (ms < n) { /* the first ms of a partial Fisher-Yates, then in data order */
        rng r;
        rng_seed(&r, STUDY_SAMPLE_SEED);
        for (size_t i = 0; i < ms; i++) {
            size_t j = i + (size_t)rng_below(&r, n - i), t = idx[i];
            idx[i] = idx[j], idx[j] = t;
        }
        for (size_t i = 1; i < ms; i++) /* insertion sort is fine: ms is small */
            for (size_t j = i; j > 0 && idx[j - 1] > idx[j]; j--) {
                size_t t = idx[j];
                idx[j] = idx[j - 1], idx[j - 1] = t;
            }
    }
    for (size_t i = 0; i < ms; i++)
        memcpy(xs + i * (size_t)d, ds->x + idx[i] * (size_t)d, sizeof *xs * (size_t)d);
    if ((rc = cluster_predict(m, xs, (int64_t)ms, NULL, lab, z, e)) < 0) goto out;
    int nonempty = 0;
    for (size_t i = 0; i < ms; i++)
        if (lab[i] >= 0 && lab[i] < k && cnt[lab[i]]++ == 0) nonempty++;
    if (nonempty >= 2 && ms > (size_t)nonempty) {
        dc_err ig = {0}; /* a criterion that cannot be computed stays NAN */
        if (kselect_silhouette(z, ms, emb, (const int *)lab, k, 0, 0, &out->sil, &ig) < 0)
            out->sil = NAN;
        if (kselect_calinski_harabasz(z, ms, emb, (const int *)lab, k, &out->ch, &ig) < 0)
            out->ch = NAN;
        if (kselect_davies_bouldin(z, ms, emb, (const int *)lab, k, &out->db, &ig) < 0)
            out->db = NAN;
    }
    if (cluster_model_spec(m)->method == CM_N2D && last && last->phase == CP_MIXTURE &&
        isfinite(last->loss)) {
        /* the final mixture event: loss = minus the mean log-likelihood on all n;
           parameters of a full-covariance mixture: means, covariances, weights */
        double p = (double)k * emb + (double)k * emb * (emb + 1) / 2.0 + (k - 1);
        out->loglik = -last->loss;
        out->bic = -2.0 * (double)n * out->loglik + p * log((double)n);
    }
out:
    free(idx), free(xs), free(z), free(lab), free(cnt);
    return rc;
}

static void mean_std(const study_run *runs, int n, int s, double *mean, double *std)
{
    double sum = 0, sq = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(runs[i].stat[s])) sum += runs[i].stat[s], m++;
    *mean = *std = NAN;
    if (!m) return;
    *mean = sum / m;
    for (int i = 0; i < n; i++)
        if (isfinite(runs[i].stat[s])) sq += (runs[i].stat[s] - *mean) * (runs[i].stat[s] - *mean);
    *std = sqrt(sq / m);
}

int study_summarize_k(int k, const study_run *runs, int n_runs, size_t n,
                      const int32_t *truth, study_k *out, dc_err *e)
{
    const int **lab = NULL;
    int *who = NULL, *cons = NULL, L = 0, rc = 0;
    double *ari = NULL;

    memset(out, 0, sizeof *out);
    out->k = k;
    out->n_runs = n_runs;
    out->chosen = out->best_sil = -1;
    out->stability = out->chosen_agreement = out->consensus_acc = NAN;
    if (!runs || n_runs < 1 || n_runs > 64)
        return dc_err_set(e, DC_EINVAL, "study: k %d needs 1..64 runs, got %d", k, n_runs);
    for (int s = 0; s < ST_COUNT; s++) mean_std(runs, n_runs, s, &out->mean[s], &out->std[s]);
    for (int i = 0; i < n_runs; i++)
        if (isfinite(runs[i].stat[ST_SIL]) &&
            (out->best_sil < 0 || runs[i].stat[ST_SIL] > runs[out->best_sil].stat[ST_SIL]))
            out->best_sil = i;

    /* the row kselect_suggest reads: the runs whose silhouette is known */
    kselect_fit fits[64];
    int nf = 0;
    for (int i = 0; i < n_runs; i++)
        if (isfinite(runs[i].stat[ST_SIL]))
            fits[nf++] = (kselect_fit){runs[i].stat[ST_SIL], runs[i].stat[ST_CH],
                                       runs[i].stat[ST_DB], runs[i].stat[ST_BIC]};
    if (nf > 0 && (rc = kselect_row_from_fits(k, fits, nf, NULL, n, &out->row, e)) < 0) goto out;
    if (nf == 0) {
        out->row.k = k;
        out->row.sil = out->row.sil_std = out->row.ch = out->row.ch_std = NAN;
        out->row.db = out->row.db_std = out->row.sil_best = out->row.ch_best = NAN;
        out->row.bic = NAN;
    }
    out->row.stability = NAN;

    lab = malloc(sizeof *lab * (size_t)n_runs);
    who = malloc(sizeof *who * (size_t)n_runs);
    ari = calloc((size_t)n_runs * (size_t)n_runs, sizeof *ari);
    if (!lab || !who || !ari) {
        rc = dc_err_set(e, DC_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n_runs; i++)
        if (runs[i].labels) who[L] = i, lab[L++] = (const int *)runs[i].labels;
    out->chosen = L ? who[0] : out->best_sil;
    if (L >= 2) { /* pairwise ARI: stability, and each run's agreement with the others */
        double sum = 0, best = -INFINITY;
        for (int a = 0; a < L; a++)
            for (int b = a + 1; b < L; b++) {
                if ((rc = metrics_ari(lab[a], lab[b], n, &ari[a * L + b], e)) < 0) goto out;
                ari[b * L + a] = ari[a * L + b];
                sum += ari[a * L + b];
            }
        out->stability = out->row.stability = sum / ((double)L * (L - 1) / 2.0);
        for (int a = 0; a < L; a++) {
            double m = 0;
            for (int b = 0; b < L; b++) m += a == b ? 0 : ari[a * L + b];
            m /= L - 1;
            if (m > best) best = m, out->chosen = who[a], out->chosen_agreement = m;
        }
    }
    if (L >= 1 && truth && n > 0) {
        if (!(cons = malloc(sizeof *cons * n))) {
            rc = dc_err_set(e, DC_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = kselect_consensus(lab, L, n, k, cons, NULL, e)) < 0 ||
            (rc = metrics_acc(cons, (const int *)truth, n, &out->consensus_acc, e)) < 0)
            goto out;
    }
out:
    free(lab), free(who), free(ari), free(cons);
    return rc;
}

double study_eta_s(const study_eta_run *runs, int n_runs, int parallel)
{
    double pre_sum = 0, stage_sum = 0, work = 0;
    int n_done = 0, n_pre = 0, n_left = 0, n_left_pre = 0;
    for (int i = 0; i < n_runs; i++) {
        const study_eta_run *r = &runs[i];
        if (r->state == STUDY_RUN_DONE) {
            n_done++;
            stage_sum += r->seconds - r->pretrain_s;
            if (r->pretrain_s > 0) pre_sum += r->pretrain_s, n_pre++;
        } else if (r->state == STUDY_RUN_RUNNING && isfinite(r->eta_s)) {
            work += r->eta_s > 0 ? r->eta_s : 0;
        } else {
            n_left++;
            n_left_pre += r->pretrains != 0;
        }
    }
    if (n_left) {
        if (!n_done) return NAN;
        work += n_left * (stage_sum / n_done) + n_left_pre * (n_pre ? pre_sum / n_pre : 0);
    }
    return work / (parallel > 1 ? parallel : 1);
}
