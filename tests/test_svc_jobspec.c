/* test_svc_jobspec: the job spec parser (server/svc/jobspec.h) and SHA-256 (server/svc/sha256.h)
 * of the clustering service, without HTTP: defaults, every kind of error with its JSON
 * path and code, the JSON round trip the workers rely on, and FIPS 180 test vectors. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "jobspec.h"
#include "sha256.h"
#include "svc.h"

/* Parses text; returns jobspec_parse's code, fills s and je. */
static int parse(const char *text, cluster_spec *s, jobspec_error *je, json_t **norm)
{
    json_error_t jerr;
    char ds[JOBSPEC_ID_MAX];
    json_t *j = json_loads(text, 0, &jerr);
    if (!j) {
        fprintf(stderr, "bad test JSON: %s: %s\n", text, jerr.text);
        return 99;
    }
    int rc = jobspec_parse(j, s, ds, norm, je);
    json_decref(j);
    return rc;
}

/* Expects an error with code (DC_EFORMAT for the API's 400, DC_EINVAL for its 422) and
 * field. */
static void expect_error(const char *text, int code, const char *field)
{
    cluster_spec s;
    jobspec_error je;
    int rc = parse(text, &s, &je, NULL);
    CHECK_MSG(rc == DC_EINVAL, "%s: expected DC_EINVAL, got %d", text, rc);
    CHECK_MSG(je.code == code, "%s: expected code %d, got %d (%s)", text, code, je.code, je.msg);
    CHECK_MSG(strcmp(je.field, field) == 0, "%s: expected field '%s', got '%s'", text, field,
              je.field);
    CHECK_MSG(strstr(je.msg, field) != NULL, "%s: message '%s' should name %s", text, je.msg, field);
}

static void test_defaults_and_overrides(void)
{
    cluster_spec s, d;
    jobspec_error je;
    json_t *norm = NULL;

    CHECK_EQ_INT(parse("{\"dataset\":\"ds_1\",\"method\":\"dec\",\"n_clusters\":10}", &s, &je, &norm), 0);
    cluster_spec_default(&d, CM_DEC, 10);
    d.embed_dim = d.hidden[d.n_hidden - 1];
    CHECK_MSG(memcmp(&s, &d, sizeof s) == 0, "a minimal spec must equal cluster_spec_default");
    CHECK(norm != NULL);
    /* the normalized form parses back to the same spec (what the workers do) */
    if (norm) {
        char *text = json_dumps(norm, JSON_COMPACT);
        cluster_spec s2;
        CHECK_EQ_INT(parse(text, &s2, &je, NULL), 0);
        CHECK_MSG(memcmp(&s, &s2, sizeof s) == 0, "round trip changed the spec: %s", text);
        free(text);
        json_decref(norm);
    }

    CHECK_EQ_INT(parse("{\"dataset\":\"ds_1\",\"method\":\"idec\",\"n_clusters\":4,\"seed\":7,"
                       "\"autoencoder\":{\"hidden\":[32,16,3]},"
                       "\"pretrain\":{\"epochs\":5,\"batch_size\":64,\"optimizer\":\"sgd\",\"lr\":0.5,"
                       "\"momentum\":0.8,\"init\":\"variance_scaling\"},"
                       "\"cluster\":{\"n_init\":3,\"update_interval\":7,\"tol\":0.01,\"maxiter\":99,"
                       "\"gamma\":0.2,\"alpha\":2,\"lr\":0.02,\"optimizer\":\"adam\",\"momentum\":0.5,"
                       "\"kmeans_max_iter\":50,\"kmeans_tol\":0.001},"
                       "\"vae\":{\"latent\":6,\"epochs\":9,\"conv\":true,\"reconstruction\":\"mse\","
                       "\"rec_weight\":2.5,\"lr\":0.002}}", &s, &je, &norm), 0);
    CHECK_EQ_INT(s.method, CM_IDEC);
    CHECK_EQ_INT(s.k, 4);
    CHECK_EQ_INT(s.seed, 7);
    CHECK_EQ_INT(s.n_hidden, 3);
    CHECK_EQ_INT(s.hidden[2], 3);
    CHECK_EQ_INT(s.embed_dim, 3);
    CHECK_EQ_INT(s.pretrain_epochs, 5);
    CHECK_EQ_INT(s.batch, 64);
    CHECK_EQ_INT(s.pretrain_opt, OPT_SGD);
    CHECK_NEAR(s.pretrain_lr, 0.5, 0);
    CHECK_NEAR(s.pretrain_momentum, 0.8, 0);
    CHECK_EQ_INT(s.pretrain_init, INIT_VARSCALE);
    CHECK_EQ_INT(s.n_init, 3);
    CHECK_EQ_INT(s.update_interval, 7);
    CHECK_NEAR(s.tol, 0.01, 0);
    CHECK_EQ_INT(s.maxiter, 99);
    CHECK_NEAR(s.gamma, 0.2, 0);
    CHECK_NEAR(s.alpha, 2, 0);
    CHECK_NEAR(s.cluster_lr, 0.02, 0);
    CHECK_EQ_INT(s.cluster_opt, OPT_ADAM);
    CHECK_NEAR(s.cluster_momentum, 0.5, 0);
    CHECK_EQ_INT(s.kmeans_max_iter, 50);
    CHECK_NEAR(s.kmeans_tol, 0.001, 0);
    CHECK_EQ_INT(s.latent, 6);
    CHECK_EQ_INT(s.vae_epochs, 9);
    CHECK_EQ_INT(s.vae_conv, 1);
    CHECK_EQ_INT(s.vae_bce, 0);
    CHECK_NEAR(s.vae_rec_weight, 2.5, 0);
    CHECK_NEAR(s.vae_lr, 0.002, 0);
    if (norm) {
        char *text = json_dumps(norm, JSON_COMPACT);
        cluster_spec s2;
        CHECK_EQ_INT(parse(text, &s2, &je, NULL), 0);
        CHECK_MSG(memcmp(&s, &s2, sizeof s) == 0, "round trip changed the spec: %s", text);
        free(text);
        json_decref(norm);
    }
    /* the pretraining recipe defaults to auto (resolved on the data); lr null = default */
    CHECK_EQ_INT(parse("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3}", &s, &je, &norm), 0);
    CHECK_EQ_INT(s.pretrain_opt, OPT_AUTO);
    CHECK_EQ_INT(s.pretrain_init, INIT_AUTO);
    CHECK_NEAR(s.pretrain_lr, 0, 0);
    if (norm) {
        json_t *pre = json_object_get(norm, "pretrain");
        CHECK(json_is_null(json_object_get(pre, "lr")));
        CHECK(strcmp(json_string_value(json_object_get(pre, "optimizer")), "auto") == 0);
        CHECK(strcmp(json_string_value(json_object_get(pre, "init")), "auto") == 0);
        json_decref(norm);
    }
    CHECK_EQ_INT(parse("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,"
                       "\"pretrain\":{\"optimizer\":\"sgd\",\"lr\":null,\"init\":\"glorot_uniform\"}}",
                       &s, &je, NULL), 0);
    CHECK(s.pretrain_opt == OPT_SGD && s.pretrain_lr == 0 && s.pretrain_init == INIT_GLOROT);
    /* a convolutional vae trains from scratch unless pretrain.epochs is given */
    CHECK_EQ_INT(parse("{\"dataset\":\"d\",\"method\":\"vae\",\"n_clusters\":3,\"vae\":{\"conv\":true}}",
                       &s, &je, NULL), 0);
    CHECK_EQ_INT(s.pretrain_epochs, 0);
    CHECK_EQ_INT(parse("{\"dataset\":\"d\",\"method\":\"vae\",\"n_clusters\":3}", &s, &je, NULL), 0);
    CHECK_MSG(s.pretrain_epochs > 0, "the dense vae pretrains by default (%d)", s.pretrain_epochs);
    /* every method of the core is accepted, vae included */
    for (int m = 0; m < CM_COUNT; m++) {
        char text[160];
        snprintf(text, sizeof text, "{\"dataset\":\"d\",\"method\":\"%s\",\"n_clusters\":2}",
                 cluster_method_name((cluster_method)m));
        CHECK_MSG(parse(text, &s, &je, NULL) == 0 && s.method == m, "method %s refused: %s",
                  cluster_method_name((cluster_method)m), je.msg);
    }
}

/* Parses text, then its normalized form, and expects the same spec. */
static void round_trip(const char *text, cluster_spec *s)
{
    jobspec_error je;
    json_t *norm = NULL;
    CHECK_MSG(parse(text, s, &je, &norm) == 0, "%s: %s", text, je.msg);
    if (!norm) return;
    char *t2 = json_dumps(norm, JSON_COMPACT);
    cluster_spec s2;
    CHECK_MSG(parse(t2, &s2, &je, NULL) == 0, "normalized %s: %s", t2, je.msg);
    CHECK_MSG(memcmp(s, &s2, sizeof s2) == 0, "round trip changed the spec: %s", t2);
    free(t2);
    json_decref(norm);
}

static void test_n2d(void)
{
    cluster_spec s, d;
    jobspec_error je;
    json_t *norm = NULL;
    /* defaults: DESIGN.md's N2D (ae_kmeans' autoencoder, UMAP 10/20/0, 100 mixture starts) */
    CHECK_EQ_INT(parse("{\"dataset\":\"d\",\"method\":\"n2d\",\"n_clusters\":10}", &s, &je, &norm), 0);
    cluster_spec_default(&d, CM_N2D, 10);
    CHECK_MSG(memcmp(&s, &d, sizeof s) == 0, "a minimal n2d spec must equal cluster_spec_default");
    CHECK_EQ_INT(s.method, CM_N2D);
    CHECK(s.manifold_components == 10 && s.manifold_neighbors == 20 && s.manifold_min_dist == 0 &&
          s.manifold_epochs == 0 && s.manifold_init == MANIFOLD_INIT_SPECTRAL && s.gmm_n_init == 100);
    CHECK(s.n_hidden == 4 && s.hidden[3] == 10);
    if (norm) {
        json_t *m = json_object_get(norm, "manifold");
        CHECK_EQ_INT(json_integer_value(json_object_get(m, "components")), 10);
        CHECK_EQ_INT(json_integer_value(json_object_get(m, "neighbors")), 20);
        CHECK(strcmp(json_string_value(json_object_get(m, "init")), "spectral") == 0);
        CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(norm, "mixture"), "n_init")), 100);
        json_decref(norm);
    }
    round_trip("{\"dataset\":\"d\",\"method\":\"n2d\",\"n_clusters\":4,"
               "\"autoencoder\":{\"hidden\":[32,8]},\"manifold\":{\"components\":3,"
               "\"neighbors\":7,\"min_dist\":0.1,\"epochs\":50,\"init\":\"pca\"},"
               "\"mixture\":{\"n_init\":2}}", &s);
    CHECK(s.manifold_components == 3 && s.manifold_neighbors == 7 && s.manifold_min_dist == 0.1 &&
          s.manifold_epochs == 50 && s.manifold_init == MANIFOLD_INIT_PCA &&
          s.gmm_n_init == 2 && s.n_hidden == 2 && s.embed_dim == 8);
    /* raw: no autoencoder; written back as "none" */
    CHECK_EQ_INT(parse("{\"dataset\":\"d\",\"method\":\"n2d\",\"n_clusters\":4,"
                       "\"autoencoder\":\"none\"}", &s, &je, &norm), 0);
    CHECK_EQ_INT(s.n_hidden, 0);
    if (norm) {
        CHECK(strcmp(json_string_value(json_object_get(norm, "autoencoder")), "none") == 0);
        json_decref(norm);
    }
    round_trip("{\"dataset\":\"d\",\"method\":\"n2d\",\"n_clusters\":4,\"autoencoder\":\"none\","
               "\"manifold\":{\"components\":2}}", &s);
    CHECK_EQ_INT(s.n_hidden, 0);
    /* errors: field paths, DC_EFORMAT (400) for type and unknown keys, DC_EINVAL (422) for ranges */
    const char *h = "{\"dataset\":\"d\",\"method\":\"n2d\",\"n_clusters\":3,";
    char t[256];
#define N2D_ERR(tail, st, field) (snprintf(t, sizeof t, "%s%s", h, tail), expect_error(t, st, field))
    N2D_ERR("\"manifold\":{\"neighbours\":5}}", DC_EFORMAT, "manifold.neighbours");
    N2D_ERR("\"manifold\":{\"neighbors\":1}}", DC_EINVAL, "manifold.neighbors");
    N2D_ERR("\"manifold\":{\"neighbors\":1001}}", DC_EINVAL, "manifold.neighbors");
    N2D_ERR("\"manifold\":{\"components\":0}}", DC_EINVAL, "manifold.components");
    N2D_ERR("\"manifold\":{\"components\":2.5}}", DC_EFORMAT, "manifold.components");
    N2D_ERR("\"manifold\":{\"min_dist\":1.5}}", DC_EINVAL, "manifold.min_dist");
    N2D_ERR("\"manifold\":{\"epochs\":-1}}", DC_EINVAL, "manifold.epochs");
    N2D_ERR("\"manifold\":{\"init\":\"random\"}}", DC_EINVAL, "manifold.init");
    N2D_ERR("\"manifold\":[]}", DC_EFORMAT, "manifold");
    N2D_ERR("\"mixture\":{\"n_init\":0}}", DC_EINVAL, "mixture.n_init");
    N2D_ERR("\"mixture\":{\"covariance\":\"full\"}}", DC_EFORMAT, "mixture.covariance");
    N2D_ERR("\"autoencoder\":\"nothing\"}", DC_EINVAL, "autoencoder");
#undef N2D_ERR
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"autoencoder\":\"none\"}",
                 DC_EINVAL, "autoencoder");
    /* what needs the data: named with the JSON path */
    cluster_spec_default(&s, CM_N2D, 3);
    CHECK_EQ_INT(jobspec_check_data(&s, 100, 20, 0, 0, 0, &je), 0);
    CHECK_EQ_INT(jobspec_check_data(&s, 15, 20, 0, 0, 0, &je), DC_EINVAL);
    CHECK_MSG(je.code == DC_EINVAL && strcmp(je.field, "manifold.neighbors") == 0,
              "neighbors > n: %d '%s' (%s)", je.code, je.field, je.msg);
    s.manifold_components = 11; /* > the code size 10 with the pca init */
    s.manifold_init = MANIFOLD_INIT_PCA;
    CHECK_EQ_INT(jobspec_check_data(&s, 100, 20, 0, 0, 0, &je), DC_EINVAL);
    CHECK_MSG(strcmp(je.field, "manifold.components") == 0, "components: '%s' (%s)", je.field, je.msg);
    s.n_hidden = 0; /* raw: up to the 20 features */
    CHECK_EQ_INT(jobspec_check_data(&s, 100, 20, 0, 0, 0, &je), 0);
    s.manifold_components = 21;
    CHECK_EQ_INT(jobspec_check_data(&s, 100, 20, 0, 0, 0, &je), DC_EINVAL);
    CHECK_MSG(strcmp(je.field, "manifold.components") == 0, "raw components: '%s' (%s)", je.field, je.msg);
    s.manifold_init = MANIFOLD_INIT_SPECTRAL; /* spectral: up to samples - 2 */
    CHECK_EQ_INT(jobspec_check_data(&s, 100, 20, 0, 0, 0, &je), 0);
    s.manifold_components = 99;
    CHECK_EQ_INT(jobspec_check_data(&s, 100, 20, 0, 0, 0, &je), DC_EINVAL);
    CHECK_MSG(strcmp(je.field, "manifold.components") == 0, "spectral components: '%s' (%s)", je.field, je.msg);
    /* the estimate counts the manifold's extras */
    jobspec_cost c1, c2;
    cluster_spec_default(&s, CM_N2D, 10);
    cluster_spec_default(&d, CM_AE_KMEANS, 10);
    jobspec_estimate(&s, 70000, 784, 0, 0, 0, &c1);
    jobspec_estimate(&d, 70000, 784, 0, 0, 0, &c2);
    /* kNN 70k x 20 x 8 B + graph/layout 2 x 70k x 19 x 48 B + codes & embedding */
    CHECK_MSG(c1.train_bytes - c2.train_bytes > 70000LL * 20 * 8 + 2LL * 70000 * 19 * 48,
              "n2d estimate %lld vs ae_kmeans %lld", (long long)c1.train_bytes,
              (long long)c2.train_bytes);
    CHECK_EQ_INT(c1.params - c2.params, 10LL * (10 * 10 + 1));
}

static void test_errors(void)
{
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"extra\":1}", DC_EFORMAT, "extra");
    expect_error("{\"method\":\"dec\",\"n_clusters\":3}", DC_EFORMAT, "dataset");
    expect_error("{\"dataset\":5,\"method\":\"dec\",\"n_clusters\":3}", DC_EFORMAT, "dataset");
    expect_error("{\"dataset\":\"d\",\"n_clusters\":3}", DC_EFORMAT, "method");
    expect_error("{\"dataset\":\"d\",\"method\":\"spectral\",\"n_clusters\":3}", DC_EINVAL, "method");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\"}", DC_EFORMAT, "n_clusters");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":\"3\"}", DC_EFORMAT, "n_clusters");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":0}", DC_EINVAL, "n_clusters");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"seed\":-1}", DC_EINVAL, "seed");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"pretrain\":1}", DC_EFORMAT, "pretrain");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"pretrain\":{\"lr\":0}}", DC_EINVAL,
                 "pretrain.lr");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"pretrain\":{\"lr\":true}}", DC_EFORMAT,
                 "pretrain.lr");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"pretrain\":{\"epochs\":1.5}}",
                 DC_EFORMAT, "pretrain.epochs");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"pretrain\":{\"batch\":1}}", DC_EFORMAT,
                 "pretrain.batch");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"cluster\":{\"optimizer\":\"lbfgs\"}}",
                 DC_EINVAL, "cluster.optimizer");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"cluster\":{\"alpha\":0}}", DC_EINVAL,
                 "cluster.alpha");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"autoencoder\":{\"hidden\":[8,-2]}}",
                 DC_EINVAL, "autoencoder.hidden[1]");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"autoencoder\":{\"hidden\":[1,2,3,4,5,6,7,8,9]}}",
                 DC_EINVAL, "autoencoder.hidden");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"autoencoder\":{\"hidden\":\"32\"}}",
                 DC_EFORMAT, "autoencoder.hidden");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"autoencoder\":{\"widths\":[3]}}",
                 DC_EFORMAT, "autoencoder.widths");
    expect_error("{\"dataset\":\"d\",\"method\":\"vae\",\"n_clusters\":3,\"vae\":{\"reconstruction\":\"l1\"}}",
                 DC_EINVAL, "vae.reconstruction");
    expect_error("{\"dataset\":\"d\",\"method\":\"vae\",\"n_clusters\":3,\"vae\":{\"latent\":0}}", DC_EINVAL,
                 "vae.latent");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"pretrain\":{\"init\":\"he\"}}",
                 DC_EINVAL, "pretrain.init");
    expect_error("{\"dataset\":\"d\",\"method\":\"vae\",\"n_clusters\":3,\"vae\":{\"lr\":0}}", DC_EINVAL,
                 "vae.lr");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"cluster\":{\"optimizer\":\"auto\"}}",
                 DC_EINVAL, "cluster.optimizer");
    expect_error("{\"dataset\":\"d\",\"method\":\"dec\",\"n_clusters\":3,\"pretrain\":{\"lr\":\"x\"}}",
                 DC_EFORMAT, "pretrain.lr");
    expect_error("[]", DC_EFORMAT, "");
}

static void test_check_data(void)
{
    cluster_spec s;
    jobspec_error je;
    cluster_spec_default(&s, CM_DEC, 10);
    CHECK_EQ_INT(jobspec_check_data(&s, 100, 784, 28, 28, 1, &je), 0);
    CHECK_EQ_INT(jobspec_check_data(&s, 5, 784, 28, 28, 1, &je), DC_EINVAL);
    CHECK_EQ_INT(je.code, DC_EINVAL);
    CHECK_MSG(strcmp(je.field, "n_clusters") == 0, "k > n: field '%s' (%s)", je.field, je.msg);
    cluster_spec_default(&s, CM_DCEC, 3);
    CHECK_EQ_INT(jobspec_check_data(&s, 100, 20, 0, 0, 0, &je), DC_EINVAL);
    CHECK_MSG(strcmp(je.field, "method") == 0, "dcec on flat data: field '%s' (%s)", je.field, je.msg);
    CHECK_EQ_INT(jobspec_check_data(&s, 100, 784, 28, 28, 1, &je), 0);
    cluster_spec_default(&s, CM_VAE, 3); /* a conv vae asked to pretrain */
    s.vae_conv = 1;
    s.pretrain_epochs = 5;
    CHECK_EQ_INT(jobspec_check_data(&s, 100, 784, 28, 28, 1, &je), DC_EINVAL);
    CHECK_EQ_INT(je.code, DC_EINVAL);
    CHECK_MSG(strcmp(je.field, "vae.conv") == 0, "conv vae + pretrain: field '%s' (%s)", je.field, je.msg);
}

static void hex_of(const char *msg, size_t len, size_t reps, char out[65])
{
    sha256_ctx c;
    sha256_init(&c);
    for (size_t i = 0; i < reps; i++) sha256_update(&c, msg, len);
    sha256_final_hex(&c, out);
}

static void test_sha256(void)
{
    char h[65];
    hex_of("", 0, 1, h);
    CHECK_MSG(strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0,
              "sha256(\"\") = %s", h);
    hex_of("abc", 3, 1, h);
    CHECK_MSG(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
              "sha256(abc) = %s", h);
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes */
    hex_of(two, strlen(two), 1, h);
    CHECK_MSG(strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0,
              "sha256(2 blocks) = %s", h);
    /* a million 'a' fed in uneven pieces: exercises the partial-block path */
    sha256_ctx c;
    char a[1000];
    memset(a, 'a', sizeof a);
    sha256_init(&c);
    size_t done = 0, piece = 1;
    while (done < 1000000) {
        size_t n = piece < 1000000 - done ? piece : 1000000 - done;
        if (n > sizeof a) n = sizeof a;
        sha256_update(&c, a, n);
        done += n;
        piece = piece * 7 % 997 + 1;
    }
    sha256_final_hex(&c, h);
    CHECK_MSG(strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
              "sha256(1e6 x a) = %s", h);
}

int main(void)
{
    test_defaults_and_overrides();
    test_errors();
    test_n2d();
    test_check_data();
    test_sha256();
    return CHECK_DONE();
}
