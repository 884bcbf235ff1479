/* clock.h - the one clock the event loop's deadlines are measured on.
 *
 * Deadlines (timeouts, lease renewals, libcurl's timers) use CLOCK_MONOTONIC
 * so that a wall-clock step never fires or delays them.  Fire times are a
 * different matter: they come from the database's clock (DESIGN.md).
 */
#ifndef TC_CLOCK_H
#define TC_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
