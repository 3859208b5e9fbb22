/* check.h: the smallest test framework that does the job. A test is a function; CHECK marks
 * the running test failed and prints where, without stopping, so one run shows every failure.
 * The runner prints "N passed, M failed" as its last line and exits non-zero on failures. */
#ifndef HEARTH_CHECK_H
#define HEARTH_CHECK_H

#include <stdio.h>
#include <string.h>

extern int check_failed_now;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            printf("  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                      \
            check_failed_now = 1;                                                         \
        }                                                                                 \
    } while (0)

#define CHECK_INT(a, b)                                                                   \
    do {                                                                                  \
        long long a_ = (long long)(a), b_ = (long long)(b);                               \
        if (a_ != b_) {                                                                   \
            printf("  FAIL %s:%d: %s == %lld, want %lld\n", __FILE__, __LINE__, #a, a_, b_); \
            check_failed_now = 1;                                                         \
        }                                                                                 \
    } while (0)

#define CHECK_STR(a, b)                                                                   \
    do {                                                                                  \
        const char *a_ = (a), *b_ = (b);                                                  \
        if (a_ == NULL || strcmp(a_, b_) != 0) {                                          \
            printf("  FAIL %s:%d: %s == \"%s\", want \"%s\"\n", __FILE__, __LINE__, #a,   \
                   a_ ? a_ : "(null)", b_);                                               \
            check_failed_now = 1;                                                         \
        }                                                                                 \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                             \
    do {                                                                                  \
        double a_ = (a), b_ = (b), t_ = (tol);                                            \
        if (!(a_ >= b_ - t_ && a_ <= b_ + t_)) {                                          \
            printf("  FAIL %s:%d: %s == %g, want %g +- %g\n", __FILE__, __LINE__, #a, a_, b_, \
                   t_);                                                                   \
            check_failed_now = 1;                                                         \
        }                                                                                 \
    } while (0)

typedef struct {
    const char *name;
    void (*fn)(void);
} test_case;

#endif
