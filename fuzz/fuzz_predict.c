/* fuzz_predict: the body of POST /v1/models/{id}/predict, through the real handler
 * (api_h_model_predict in api/routes_svc.c) on a fake request (fake_req.h): JSON rows,
 * or float32 rows whose shape comes from the X-Shape header or ?n=&d=.
 *
 * Input: byte 0 says which of Content-Type (bit 0), X-Shape (1), ?n (2), ?d (3) and
 * ?embeddings (4) are present; their values follow in that order, each ended by '\n';
 * the rest is the body. The handler must queue exactly one reply (or fail with a
 * negative code and none), and the floats it hands to svc_model_predict must all be
 * there (the fake predict reads n*d of them under ASan). */
#include <stdlib.h>
#include <string.h>

#include "fake_req.h"
#include "fuzz_util.h"
#include "handlers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"Content-Type", "X-Shape", "n", "d", "embeddings"};
    if (size < 1) return 0;
    char *copy = malloc(size + 1);
    FUZZ_CHECK(copy != NULL, "out of memory");
    memcpy(copy, data, size);
    copy[size] = 0;
    api_ctx ctx;
    api_req r;
    fake_reset();
    fake_req_init(&r, &ctx);
    size_t pos = 1;
    for (int i = 0; i < 5; i++) {
        if (!(data[0] >> i & 1)) continue;
        char *nl = memchr(copy + pos, '\n', size - pos);
        if (!nl) goto out; /* not enough fields: not an input of this shape */
        *nl = 0;
        if (i < 2) fake_header(names[i], copy + pos);
        else fake_arg(names[i], copy + pos);
        pos = (size_t)(nl - copy) + 1;
    }
    r.path = "/v1/models/m_fuzz/predict";
    r.method = "POST";
    FUZZ_CHECK(api_route_find(api_routes, r.method, r.path, &r, NULL, 0) == API_MATCH_OK,
               "predict route not found");
    r.body_len = size - pos;
    if (r.body_len) {
        /* as http.c accumulates it: its own buffer, NUL-terminated */
        r.body = malloc(r.body_len + 1);
        FUZZ_CHECK(r.body != NULL, "out of memory");
        memcpy(r.body, data + pos, r.body_len);
        r.body[r.body_len] = 0;
        r.body_cap = r.body_len + 1;
    }
    int rc = api_h_model_predict(&r);
    FUZZ_CHECK(rc < 0 ? fake_queued() == 0 : fake_queued() == 1, "rc %d, %d replies queued", rc,
               fake_queued());
    FUZZ_CHECK(!fake_queued() || (fake_status() >= 200 && fake_status() < 600), "status %u",
               fake_status());
    free(r.body);
out:
    free(copy);
    return 0;
}
