/* fake_req: a request without a connection, to run api/ handlers in-process.
 *
 * The fuzz targets that use it are linked with -Wl,--wrap for the functions below
 * (fuzz/CMakeLists.txt): MHD_lookup_connection_value reads the headers and query
 * arguments set here, MHD_queue_response records the status and accepts, and the svc_*
 * calls of api/routes_svc.c answer "not found" without a service, except
 * svc_model_predict, which reads every one of the n*d floats it is given (so that ASan
 * sees a buffer shorter than its stated shape) and answers with a small JSON object, and
 * svc_model_prepare_input, which reads them too and flags values over 1e6 as far out.
 * The handlers themselves run unchanged. */
#ifndef DC_FUZZ_FAKE_REQ_H
#define DC_FUZZ_FAKE_REQ_H

#include "api.h"

enum { FAKE_MAX_KV = 16 };

/* Forgets every header and argument, and the last status. */
void fake_reset(void);
/* Adds a header (looked up case-insensitively) or a query argument; the strings are
 * borrowed until fake_reset. */
void fake_header(const char *name, const char *value);
void fake_arg(const char *name, const char *value);
/* Status of the last MHD_queue_response, 0 if none. */
unsigned fake_status(void);
/* Calls to MHD_queue_response since fake_reset. */
int fake_queued(void);
/* A request on a fake connection, with a non-NULL (never dereferenced) service. */
void fake_req_init(api_req *r, api_ctx *ctx);

#endif
