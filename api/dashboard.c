/* dashboard: GET /, one static page for people watching the service. Its source is
 * api/dashboard/ (index.html, style.css, app.js: read the JS there, as JS);
 * cmake/embed_dashboard.cmake inlines the CSS and JS into the HTML at build time, so
 * the page is self-contained: no dependencies, nothing fetched from outside the service.
 * It shows the job list (sort, filter, compare), the selected job's charts and, for a
 * finished job, its pictures (confusion matrix, samples per cluster, reconstructions,
 * vae samples, embedding map, outliers), and forms to upload a dataset and submit a job
 * (docs/dashboard.md). Its API calls carry the bearer token the user types into the
 * form it shows on a 401; GET / itself is public (API_ROUTE_PUBLIC): the page holds no
 * data. tests/test_svc_dashboard.sh checks its calls against the route table,
 * tests/test_svc_browser.sh draws it in headless Chromium. */
#include "handlers.h"

/* generated from api/dashboard/ (build/dashboard_embedded.c) */
extern const char dashboard_html[];
extern const size_t dashboard_html_len;

int api_h_dashboard(api_req *r)
{
    return api_reply_static(r, 200, "text/html; charset=utf-8", dashboard_html,
                            dashboard_html_len);
}
