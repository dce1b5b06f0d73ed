/* test_server_guard: the pure parts of the HTTP hardening: the Host guard that answers
 * only loopback names without a token (http_host_allowed: names, ports, IPv6 brackets,
 * --allow-host entries, "*", malformed values) and the scrubbing of server paths out of
 * problem details (api_scrub_paths: upload temp files, the database, several in one
 * message, a message that would overflow). */
#include <string.h>

#include "api.h"
#include "check.h"
#include "http.h"

/* CHECK that host (a C string; NULL = no header) is allowed (want 1) or not (0). */
#define HOST_IS(want, host, allow, n)                                                    \
    do {                                                                                 \
        const char *h_ = (host);                                                         \
        int got_ = http_host_allowed(h_, h_ ? strlen(h_) : 0, (allow), (n));             \
        CHECK_MSG(got_ == (want), "Host '%s': expected %s, got %s", h_ ? h_ : "(none)",  \
                  (want) ? "allowed" : "refused", got_ ? "allowed" : "refused");         \
    } while (0)

static void test_hosts(void)
{
    const char *none[] = {NULL};
    const char *allow[] = {"dc.example.org", "[fd00::7]", "10.0.0.5"};
    const char *any[] = {"*"};

    HOST_IS(1, "localhost", none, 0);
    HOST_IS(1, "LocalHost:8080", none, 0);
    HOST_IS(1, "localhost.", none, 0);
    HOST_IS(1, "app.localhost:1", none, 0);
    HOST_IS(1, "127.0.0.1", none, 0);
    HOST_IS(1, "127.0.0.1:65535", none, 0);
    HOST_IS(1, "127.200.3.4:80", none, 0);
    HOST_IS(1, "[::1]", none, 0);
    HOST_IS(1, "[::1]:8080", none, 0);

    HOST_IS(0, NULL, none, 0);
    HOST_IS(0, "", none, 0);
    HOST_IS(0, "evil.example", none, 0);
    HOST_IS(0, "evil.example:8080", none, 0);
    HOST_IS(0, "127.0.0.1.evil.example", none, 0); /* a name, not an address */
    HOST_IS(0, "localhost.evil.example", none, 0);
    HOST_IS(0, "evillocalhost", none, 0);
    HOST_IS(0, "128.0.0.1", none, 0);
    HOST_IS(0, "10.0.0.5", none, 0);
    HOST_IS(0, "127.1", none, 0);              /* not a dotted quad */
    HOST_IS(0, "[::2]", none, 0);
    HOST_IS(0, "[::1", none, 0);
    HOST_IS(0, "::1", none, 0);                /* IPv6 without brackets: port syntax */
    HOST_IS(0, "localhost:80x", none, 0);
    HOST_IS(0, "localhost:", none, 0);
    HOST_IS(0, "localhost:80:80", none, 0);
    HOST_IS(0, ":8080", none, 0);
    {   /* a NUL inside the value is never a loopback name */
        int got = http_host_allowed("localhost\0.evil", 15, none, 0);
        CHECK_MSG(got == 0, "Host 'localhost\\0.evil': expected refused, got allowed");
    }

    HOST_IS(1, "dc.example.org", allow, 3);
    HOST_IS(1, "DC.Example.ORG:8443", allow, 3);
    HOST_IS(1, "[fd00::7]:80", allow, 3);
    HOST_IS(1, "10.0.0.5:8080", allow, 3);
    HOST_IS(1, "localhost", allow, 3);
    HOST_IS(0, "x.dc.example.org", allow, 3);
    HOST_IS(0, "dc.example.org.evil", allow, 3);
    HOST_IS(0, "10.0.0.50", allow, 3);

    HOST_IS(1, "anything.example", any, 1);
    HOST_IS(1, NULL, any, 1);
}

/* CHECK that scrubbing msg with db gives want. */
static void scrub_is(const char *msg, const char *db, size_t cap, const char *want, int line)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", msg);
    api_scrub_paths(buf, cap, db);
    if (strcmp(buf, want) == 0) {
        check_pass_++;
    } else {
        check_fail_++;
        fprintf(stderr, "%s:%d: scrub '%s' (db %s): expected '%s', got '%s'\n", __FILE__, line,
                msg, db ? db : "NULL", want, buf);
    }
}

static void test_scrub(void)
{
    const char *db = "./deepclust.db";
    scrub_is("./deepclust.db.upload-PZoRkt: blank line 2", db, 256,
             "the upload: blank line 2", __LINE__);
    scrub_is("/srv/dc/x.db.upload-abc123:3: expected 4 fields, got 2", "/srv/dc/x.db", 256,
             "the upload:3: expected 4 fields, got 2", __LINE__);
    scrub_is("./deepclust.db: disk I/O error", db, 256, "the database: disk I/O error",
             __LINE__);
    scrub_is("a ./deepclust.db.upload-AAAAAA b ./deepclust.db c", db, 256,
             "a the upload b the database c", __LINE__);
    scrub_is("no path here", db, 256, "no path here", __LINE__);
    scrub_is("./deepclust.db", NULL, 256, "./deepclust.db", __LINE__);
    scrub_is("./deepclust.db", "", 256, "./deepclust.db", __LINE__);
    /* "the database" is longer than "x": the result is cut to cap, still terminated */
    scrub_is("x x x x", "x", 16, "the database th", __LINE__);
}

int main(void)
{
    test_hosts();
    test_scrub();
    return CHECK_DONE();
}
