/* fuzz_jobspec: the JSON job spec of POST /v1/jobs (server/svc/jobspec.c) on arbitrary bytes,
 * parsed as the handler does (json_loadb with JSON_REJECT_DUPLICATES).
 *
 * Invariants: a rejected spec has status 400 or 422 and a message; an accepted one
 * passes cluster_spec_check-like limits through jobspec_check_data without crashing,
 * and its normalized JSON and jobspec_to_json both parse back to the same spec. */
#include <jansson.h>

#include "fuzz_util.h"
#include "jobspec.h"

static void same_spec(const cluster_spec *a, const cluster_spec *b)
{
    FUZZ_CHECK(a->method == b->method && a->k == b->k && a->seed == b->seed &&
                       a->n_hidden == b->n_hidden && a->embed_dim == b->embed_dim &&
                       a->pretrain_epochs == b->pretrain_epochs && a->maxiter == b->maxiter &&
                       a->latent == b->latent && a->vae_epochs == b->vae_epochs,
               "round trip changed the spec");
    for (int i = 0; i < a->n_hidden; i++)
        FUZZ_CHECK(a->hidden[i] == b->hidden[i], "hidden[%d] %d vs %d", i, a->hidden[i],
                   b->hidden[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    json_t *norm = NULL, *back = NULL;
    cluster_spec s, s2, s3;
    char ds[JOBSPEC_ID_MAX], ds2[JOBSPEC_ID_MAX];
    jobspec_error je = {0};
    if (!in) return 0;
    int rc = jobspec_parse(in, &s, ds, &norm, &je);
    if (rc < 0) {
        FUZZ_CHECK(je.code == DC_EFORMAT || je.code == DC_EINVAL, "code %d", je.code);
        FUZZ_CHECK(je.msg[0] != 0, "no message");
        FUZZ_CHECK(norm == NULL, "normalized spec on error");
        goto out;
    }
    FUZZ_CHECK(norm != NULL, "no normalized spec");
    FUZZ_CHECK(memchr(ds, 0, sizeof ds) != NULL, "dataset id not terminated");
    /* against a few dataset shapes: flat, image, tiny */
    static const int shapes[][5] = {{100, 784, 28, 28, 1}, {5, 3, 0, 0, 0}, {70000, 10, 0, 0, 0},
                                    {1, 1, 1, 1, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        jobspec_error je2 = {0};
        if (jobspec_check_data(&s, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3],
                               shapes[i][4], &je2) < 0)
            FUZZ_CHECK(je2.code == DC_EINVAL && je2.msg[0], "check_data code %d", je2.code);
    }
    /* the stored (normalized) form must parse back to the same spec, as workers do */
    memset(&je, 0, sizeof je);
    FUZZ_CHECK(jobspec_parse(norm, &s2, ds2, NULL, &je) == 0, "normalized spec rejected: %s",
               je.msg);
    same_spec(&s, &s2);
    FUZZ_CHECK(strcmp(ds, ds2) == 0, "dataset %s vs %s", ds, ds2);
    back = jobspec_to_json(&s, ds);
    FUZZ_CHECK(back != NULL, "jobspec_to_json failed");
    memset(&je, 0, sizeof je);
    FUZZ_CHECK(jobspec_parse(back, &s3, ds2, NULL, &je) == 0, "jobspec_to_json rejected: %s",
               je.msg);
    same_spec(&s, &s3);
out:
    json_decref(back);
    json_decref(norm);
    json_decref(in);
    return 0;
}
