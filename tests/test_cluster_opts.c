/* test_cluster_opts: core's option table (core/cluster_opts.def) is consistent: unique
 * ids, fields, JSON paths and flags; every default (the rows' and each method's) parses
 * and is in range; enum rows have as many names as their range; cluster_spec_default
 * passes cluster_spec_check for every method; a value out of range is refused by the
 * check naming the option, and by cluster_opt_parse with the range in the message. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cluster_opts.h"

static void test_rows(void)
{
    for (int i = 0; i < COPT_COUNT; i++) {
        const cluster_opt *o = &cluster_opts[i];
        CHECK_MSG(o->id == (cluster_opt_id)i, "row %d has id %d", i, o->id);
        CHECK_MSG(o->field && o->json && o->doc && o->doc[0], "row %d (%s) incomplete", i,
                  o->field);
        CHECK_MSG(o->lo <= o->hi, "%s: range [%g, %g]", o->field, o->lo, o->hi);
        CHECK_MSG(!(o->flags & COPT_F_REQUIRED) == (o->def != NULL),
                  "%s: a default exactly when not required", o->field);
        if (o->type == COPT_T_ENUM)
            CHECK_MSG(o->lo == 0 && cluster_opt_n_names(o) == (int)o->hi + 1,
                      "%s: %d names for the range [%g, %g]", o->field, cluster_opt_n_names(o),
                      o->lo, o->hi);
        if (!(o->flags & COPT_F_DERIVED))
            CHECK_MSG(cluster_opt_by_json(o->json) == o, "%s: by_json(%s)", o->field, o->json);
        for (int j = 0; j < i; j++) {
            const cluster_opt *p = &cluster_opts[j];
            CHECK_MSG(strcmp(o->field, p->field) != 0, "field %s twice", o->field);
            CHECK_MSG(!o->flag || !p->flag || strcmp(o->flag, p->flag) != 0, "flag %s twice",
                      o->flag);
            CHECK_MSG((o->flags & COPT_F_DERIVED) || (p->flags & COPT_F_DERIVED) ||
                          strcmp(o->json, p->json) != 0, "json %s twice", o->json);
        }
    }
    CHECK(cluster_opt_by_json("pretrain.nope") == NULL);
}

static void test_defaults(void)
{
    cluster_spec s;
    dc_err e = {0};
    for (int m = 0; m < CM_COUNT; m++) {
        cluster_spec_default(&s, (cluster_method)m, 3);
        int opt = -2;
        CHECK_MSG(cluster_spec_check_ex(&s, NULL, &opt, &e) == 0 && opt == -1,
                  "%s defaults: %s (option %d)", cluster_method_name((cluster_method)m), e.msg, opt);
    }
    /* the table's figures, as DESIGN.md has them */
    cluster_spec_default(&s, CM_DEC, 10);
    CHECK(s.n_hidden == 4 && s.hidden[0] == 500 && s.hidden[2] == 2000 && s.embed_dim == 10);
    CHECK(s.pretrain_epochs == 150 && s.batch == 256 && s.pretrain_opt == OPT_AUTO);
    CHECK(s.pretrain_lr == 0 && s.kmeans_tol == 1e-4 && s.gamma == 0.1 && s.cluster_opt == OPT_SGD);
    cluster_spec_default(&s, CM_DCEC, 10);
    CHECK(s.pretrain_epochs == 30 && s.cluster_opt == OPT_ADAM && s.cluster_lr == 1e-3);
    cluster_spec_default(&s, CM_N2D, 10);
    CHECK(s.pretrain_epochs == 25 && s.manifold_init == MANIFOLD_INIT_SPECTRAL && s.gmm_n_init == 100);
    cluster_spec_default(&s, CM_VAE, 10);
    CHECK(s.n_hidden == 3 && s.hidden[3] == 0 && s.latent == 10 && s.embed_dim == 10 &&
          s.vae_lr == 1e-4 && s.batch == 100);
    /* a convolutional vae without pretrain epochs given trains from scratch, lr 1e-3 */
    unsigned char given[COPT_COUNT] = {0};
    s.vae_conv = 1;
    cluster_opts_finish(&s, given);
    CHECK(s.pretrain_epochs == 0 && s.vae_lr == 1e-3);
}

static void test_errors(void)
{
    cluster_spec s;
    dc_err e = {0};
    int opt;
    cluster_spec_default(&s, CM_DEC, 3);
    s.batch = 0;
    CHECK_EQ_INT(cluster_spec_check_ex(&s, NULL, &opt, &e), DC_EINVAL);
    CHECK_EQ_INT(opt, COPT_BATCH);
    CHECK_MSG(strcmp(e.msg, "batch must be in [1, 65536], got 0") == 0, "%s", e.msg);
    cluster_spec_default(&s, CM_DEC, 3);
    s.cluster_lr = 0;
    CHECK_EQ_INT(cluster_spec_check_ex(&s, NULL, &opt, &e), DC_EINVAL);
    CHECK_EQ_INT(opt, COPT_CLUSTER_LR);
    CHECK_MSG(strstr(e.msg, "(0, 10]") != NULL, "%s", e.msg);
    s.cluster_lr = 0.01;
    s.pretrain_lr = 0; /* unset: the optimizer's default */
    CHECK_EQ_INT(cluster_spec_check(&s, NULL, &e), 0);
    s.hidden[1] = 0;
    CHECK_EQ_INT(cluster_spec_check_ex(&s, NULL, &opt, &e), DC_EINVAL);
    CHECK_EQ_INT(opt, COPT_HIDDEN);
    /* text, as the CLI gives it */
    cluster_spec_default(&s, CM_DEC, 3);
    CHECK_EQ_INT(cluster_opt_parse(&s, COPT_BATCH, "128", &e), 0);
    CHECK_EQ_INT(s.batch, 128);
    CHECK_EQ_INT(cluster_opt_parse(&s, COPT_BATCH, "2.5", &e), DC_EINVAL);
    CHECK_EQ_INT(cluster_opt_parse(&s, COPT_BATCH, "65537", &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "[1, 65536]") != NULL, "%s", e.msg);
    CHECK_EQ_INT(cluster_opt_parse(&s, COPT_PRETRAIN_INIT, "varscale", &e), 0);
    CHECK_EQ_INT(s.pretrain_init, INIT_VARSCALE);
    CHECK_EQ_INT(cluster_opt_parse(&s, COPT_PRETRAIN_INIT, "variance_scaling", &e), 0);
    CHECK_EQ_INT(cluster_opt_parse(&s, COPT_CLUSTER_OPT, "auto", &e), DC_EINVAL);
    CHECK_EQ_INT(cluster_opt_parse(&s, COPT_HIDDEN, "32,16,4", &e), 0);
    CHECK(s.n_hidden == 3 && s.hidden[2] == 4 && s.embed_dim == 4);
    CHECK_EQ_INT(cluster_opt_parse(&s, COPT_HIDDEN, "none", &e), DC_EINVAL); /* n2d only */
    CHECK_EQ_INT(cluster_opt_parse(&s, COPT_SEED, "1e6", &e), 0);
    CHECK_EQ_INT(s.seed, 1000000);
    CHECK_EQ_INT(cluster_opt_parse(&s, COPT_SEED, "-1", &e), DC_EINVAL);
    CHECK_EQ_INT(cluster_opt_parse(&s, COPT_VAE_CONV, "true", &e), 0);
    CHECK_EQ_INT(s.vae_conv, 1);
}

int main(void)
{
    test_rows();
    test_defaults();
    test_errors();
    return CHECK_DONE();
}
