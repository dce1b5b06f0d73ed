/* rng: reproducible, in range, roughly normal. */
#include "check.h"
#include "rng.h"

int main(void)
{
    rng a, b;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= rng_u64(&a) == rng_u64(&b);
    CHECK(same);
    double s = 0, s2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = rng_normal(&a);
        s += x;
        s2 += x * x;
    }
    CHECK_NEAR(s / n, 0.0, 0.01);
    CHECK_NEAR(s2 / n, 1.0, 0.02);
    int ok = 1;
    for (int i = 0; i < 10000; i++) ok &= rng_below(&a, 7) < 7;
    CHECK(ok);
    int p[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, sum = 0;
    rng_shuffle(&a, p, 10);
    for (int i = 0; i < 10; i++) sum += p[i];
    CHECK_EQ_INT(sum, 45);
    return CHECK_DONE();
}
