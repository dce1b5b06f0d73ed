/* bench_service: a small HTTP load generator for `deepclust serve` (no wrk here).
 *
 *   bench_service PORT MODEL_ID JOB_ID [SECONDS=10] [CLIENTS=4]
 *
 * 1. Mixed load for SECONDS: CLIENTS threads, each on one keep-alive connection,
 *    alternate POST /v1/models/MODEL_ID/predict (one sample, JSON) and
 *    GET /v1/jobs/JOB_ID; prints requests/s, p50/p99/max latency per kind, non-2xx.
 *    Start a training job first to measure "while a job trains".
 * 2. Predict throughput on one connection, binary float32 bodies: batches of 1 and of
 *    1000 samples; prints requests/s and samples/s.
 * Samples are uniform [0,1) of the model's dimension (read from GET /v1/models/ID). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dc_time.h"

static int port;
static const char *model, *job;
static int dim;
static double seconds = 10;

static int connect_lo(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("connect");
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Case-insensitive strstr (strcasestr is a GNU extension). */
static char *find_ci(char *h, const char *n)
{
    size_t l = strlen(n);
    for (; *h; h++)
        if (strncasecmp(h, n, l) == 0) return h;
    return NULL;
}

/* Sends one request, reads the whole response; returns the status (-1 on error).
 * The body read is kept in *buf (grown as needed). */
static int roundtrip(int fd, const char *head, const void *body, size_t blen, char **buf,
                     size_t *cap)
{
    size_t hl = strlen(head), got = 0;
    if (write(fd, head, hl) != (ssize_t)hl) return -1;
    if (blen && write(fd, body, blen) != (ssize_t)blen) return -1;
    for (;;) {
        if (got + 4096 > *cap) {
            *cap = *cap * 2 + 8192;
            *buf = realloc(*buf, *cap);
        }
        ssize_t n = read(fd, *buf + got, *cap - got - 1);
        if (n <= 0) return -1;
        got += (size_t)n;
        (*buf)[got] = 0;
        char *end = strstr(*buf, "\r\n\r\n");
        if (!end) continue;
        char *cl = find_ci(*buf, "Content-Length:");
        size_t len = cl ? strtoul(cl + 15, NULL, 10) : 0, need = (size_t)(end + 4 - *buf) + len;
        while (got < need) {
            if (need + 1 > *cap) {
                *cap = need + 1;
                *buf = realloc(*buf, *cap);
            }
            n = read(fd, *buf + got, need - got);
            if (n <= 0) return -1;
            got += (size_t)n;
        }
        return atoi(*buf + 9);
    }
}

typedef struct stats {
    double *lat[2];
    size_t n[2], cap[2];
    long errors;
} stats;

static void add(stats *s, int kind, double v)
{
    if (s->n[kind] == s->cap[kind]) {
        s->cap[kind] = s->cap[kind] * 2 + 1024;
        s->lat[kind] = realloc(s->lat[kind], s->cap[kind] * sizeof(double));
    }
    s->lat[kind][s->n[kind]++] = v;
}

static void *client(void *arg)
{
    stats *s = arg;
    char head[512], body[65536], *buf = NULL;
    size_t cap = 0;
    int fd = connect_lo(), o = snprintf(body, sizeof body, "{\"samples\":[[");
    for (int j = 0; j < dim; j++) o += snprintf(body + o, sizeof body - o, "%s%.4f", j ? "," : "", (double)rand() / RAND_MAX);
    o += snprintf(body + o, sizeof body - o, "]]}");
    double t_end = dc_now_s() + seconds;
    for (int i = 0; dc_now_s() < t_end; i++) {
        int kind = i & 1, st;
        double t0 = dc_now_s();
        if (kind == 0) {
            snprintf(head, sizeof head, "POST /v1/models/%s/predict HTTP/1.1\r\nHost: x\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", model, o);
            st = roundtrip(fd, head, body, (size_t)o, &buf, &cap);
        } else {
            snprintf(head, sizeof head, "GET /v1/jobs/%s HTTP/1.1\r\nHost: x\r\n\r\n", job);
            st = roundtrip(fd, head, NULL, 0, &buf, &cap);
        }
        add(s, kind, dc_now_s() - t0);
        if (st < 200 || st > 299) {
            s->errors++;
            if (st < 0) {
                close(fd);
                fd = connect_lo();
            }
        }
    }
    close(fd);
    free(buf);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *name, double *v, size_t n, double secs)
{
    qsort(v, n, sizeof *v, cmp);
    if (!n) return;
    printf("  %-22s %7zu req  %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms\n", name, n,
           n / secs, 1e3 * v[n / 2], 1e3 * v[(size_t)(n * 0.99)], 1e3 * v[n - 1]);
}

static void throughput(int batch, int reps)
{
    char head[512], *buf = NULL;
    size_t cap = 0, blen = (size_t)batch * dim * 4;
    float *x = malloc(blen);
    for (size_t i = 0; i < (size_t)batch * dim; i++) x[i] = (float)rand() / RAND_MAX;
    int fd = connect_lo(), bad = 0;
    snprintf(head, sizeof head, "POST /v1/models/%s/predict HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: application/octet-stream\r\nX-Shape: %d,%d\r\nContent-Length: %zu\r\n\r\n",
             model, batch, dim, blen);
    double t0 = dc_now_s();
    for (int r = 0; r < reps; r++) bad += roundtrip(fd, head, x, blen, &buf, &cap) != 200;
    double dt = dc_now_s() - t0;
    printf("  batch %5d: %5d requests in %.2f s: %8.1f req/s, %10.0f samples/s, %d errors\n",
           batch, reps, dt, reps / dt, reps * (double)batch / dt, bad);
    close(fd);
    free(buf);
    free(x);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_service PORT MODEL_ID JOB_ID [SECONDS] [CLIENTS]\n");
        return 2;
    }
    port = atoi(argv[1]);
    model = argv[2];
    job = argv[3];
    if (argc > 4) seconds = atof(argv[4]);
    int nc = argc > 5 ? atoi(argv[5]) : 4;
    char head[256], *buf = NULL;
    size_t cap = 0;
    int fd = connect_lo();
    snprintf(head, sizeof head, "GET /v1/models/%s HTTP/1.1\r\nHost: x\r\n\r\n", model);
    if (roundtrip(fd, head, NULL, 0, &buf, &cap) != 200 || !strstr(buf, "\"d\":")) {
        fprintf(stderr, "cannot read model %s\n", model);
        return 1;
    }
    dim = atoi(strstr(buf, "\"d\":") + 4);
    close(fd);
    free(buf);
    printf("model %s: d=%d; %d clients for %.0f s\n", model, dim, nc, seconds);
    stats *st = calloc((size_t)nc, sizeof *st);
    pthread_t *th = calloc((size_t)nc, sizeof *th);
    for (int i = 0; i < nc; i++) pthread_create(&th[i], NULL, client, &st[i]);
    stats all = {0};
    for (int i = 0; i < nc; i++) {
        pthread_join(th[i], NULL);
        for (int k = 0; k < 2; k++)
            for (size_t j = 0; j < st[i].n[k]; j++) add(&all, k, st[i].lat[k][j]);
        all.errors += st[i].errors;
        free(st[i].lat[0]), free(st[i].lat[1]);
    }
    report("predict (1, JSON)", all.lat[0], all.n[0], seconds);
    report("GET job status", all.lat[1], all.n[1], seconds);
    printf("  total %.0f req/s, non-2xx or failed: %ld\n", (all.n[0] + all.n[1]) / seconds, all.errors);
    printf("predict throughput (binary float32, one connection):\n");
    throughput(1, 2000);
    throughput(1000, 100);
    free(all.lat[0]), free(all.lat[1]);
    free(st);
    free(th);
    return 0;
}
