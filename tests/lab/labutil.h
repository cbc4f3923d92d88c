/* What the lab's test programs share. */
#ifndef SOFTERR_LABUTIL_H
#define SOFTERR_LABUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* CLOCK_MONOTONIC in milliseconds, with fractions. */
double lab_now_ms(void);
/* Descriptors open in this process now. */
int lab_count_fds(void);
/* Those below the numbers a preloaded softerr moves its own to (ownfd.h:
 * FD_SETSIZE, or an eighth below a soft limit under FD_SETSIZE and an
 * eighth): the program's, which must be as they were. softerr's own come
 * and go: its loop starts at the first connect that needs it and lets go
 * after 30 s idle. */
int lab_count_program_fds(void);
/* Are softerr's own descriptors (those above) no more than its loop holds
 * between connects: one pipe, both ends, at most two epoll instances and
 * a timerfd (its alarm)?
 * A socket, a lone pipe end or anything else there is a run's left behind:
 * false, and why says what. */
bool lab_library_fds_idle(char *why, size_t len);
/* "EHOSTUNREACH" for EHOSTUNREACH, "0" for 0, "E123" for the unnamed. */
const char *lab_errname(int err);
/* The address of sa (AF_INET or AF_INET6) as text in buf. */
const char *lab_addr_str(const struct sockaddr *sa, char *buf, size_t len);
/* Makes the next descriptors this process opens n and above, as in a busy
 * server: RLIMIT_NOFILE raised past n (within its hard limit), every lower
 * number from 3 up taken by /dev/null. Returns 0, or -1 if that cannot be
 * had. */
int lab_numbers_from(int n);
struct addrinfo;
/* A non-blocking, close-on-exec TCP socket connecting to ai: its number,
 * or -1 with *err set (socket()'s or connect()'s errno; err may be NULL). */
int lab_nb_connect(const struct addrinfo *ai, int *err);

#endif
