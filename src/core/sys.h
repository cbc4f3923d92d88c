/* The real functions behind the ones the library wraps, one table for the
 * engine and the wrappers alike, and small helpers around system calls
 * that every part of the engine uses. */
#ifndef SOFTERR_CORE_SYS_H
#define SOFTERR_CORE_SYS_H

#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct epoll_event;

struct se_sys {
	int (*connect)(int fd, const struct sockaddr *sa, socklen_t len);
	int (*setsockopt)(int fd, int level, int name, const void *val,
			  socklen_t len);
	int (*bind)(int fd, const struct sockaddr *sa, socklen_t len);
	int (*socket)(int domain, int type, int protocol);
	int (*getsockopt)(int fd, int level, int name, void *val,
			  socklen_t *len);
	int (*close)(int fd);
	int (*dup3)(int oldfd, int newfd, int flags);
	int (*epoll_ctl)(int epfd, int op, int fd, struct epoll_event *ev);
	int (*getsockname)(int fd, struct sockaddr *sa, socklen_t *len);
	int (*getpeername)(int fd, struct sockaddr *sa, socklen_t *len);
	int (*shutdown)(int fd, int how);
	int (*dup2)(int oldfd, int newfd);
	int (*getaddrinfo)(const char *node, const char *service,
			   const struct addrinfo *hints, struct addrinfo **res);
	void (*freeaddrinfo)(struct addrinfo *res);
	struct hostent *(*gethostbyname)(const char *name);
	struct hostent *(*gethostbyname2)(const char *name, int af);
	int (*gethostbyname_r)(const char *name, struct hostent *ret, char *buf,
			       size_t len, struct hostent **result, int *h_errnop);
	int (*gethostbyname2_r)(const char *name, int af, struct hostent *ret,
				char *buf, size_t len, struct hostent **result,
				int *h_errnop);
	/* NULL where the C library has none (the caller makes the system
	 * call): not required by se_sys_init(). */
	int (*close_range)(unsigned first, unsigned last, int flags);
	void (*closefrom)(int lowfd);
};

/* The next definitions after the caller's (dlsym RTLD_NEXT). In the
 * preloaded library these are libc's; in a test program linking the core,
 * too. Filled by se_sys_init(), which makes no system call; returns -1 if
 * one that is required could not be found. */
extern struct se_sys se_sys;
int se_sys_init(void);

/* close() that never comes back into the library's own wrapper, even
 * before se_sys_init(). */
int se_close(int fd);

/* Puts file on num in place of what is there (the real dup3(), retried on
 * EINTR and EBUSY), keeping num's close-on-exec flag. Returns as dup3(). */
int se_dup_onto(int file, int num);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t se_now_ms(void);
/* ... and in microseconds. */
uint64_t se_now_us(void);

/* Does an object of the process other than the one holding self (the
 * main program, a library) name a library whose soname starts with
 * prefix ("libev.so") among those it needs? */
bool se_other_object_needs(const char *prefix, const void *self);

#endif
