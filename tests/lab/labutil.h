/* What the lab's test programs share. */
#ifndef SOFTERR_LABUTIL_H
#define SOFTERR_LABUTIL_H

/* CLOCK_MONOTONIC in milliseconds, with fractions. */
double lab_now_ms(void);
/* Descriptors open in this process now. */
int lab_count_fds(void);
/* "EHOSTUNREACH" for EHOSTUNREACH, "0" for 0, "E123" for the unnamed. */
const char *lab_errname(int err);

#endif
