/* dc_time: the one clock for elapsed times (monotonic seconds), shared by core, server,
 * benchmarks and tests. */
#ifndef DC_TIME_H
#define DC_TIME_H

#include <time.h>

static inline double dc_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
