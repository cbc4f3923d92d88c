#include "config.h"

#include <dlfcn.h>
#include <time.h>

#include "sys.h"

struct se_sys se_sys;

int se_sys_init(void)
{
	/* dlsym returns void *; the cast through a union keeps -Wpedantic quiet
	 * about object-to-function pointer conversion. */
	union {
		void *p;
		int (*connect)(int, const struct sockaddr *, socklen_t);
		int (*setsockopt)(int, int, int, const void *, socklen_t);
		int (*bind)(int, const struct sockaddr *, socklen_t);
		int (*socket)(int, int, int);
		int (*getsockopt)(int, int, int, void *, socklen_t *);
		int (*close)(int);
	} u;

	u.p = dlsym(RTLD_NEXT, "connect");
	se_sys.connect = u.connect;
	u.p = dlsym(RTLD_NEXT, "setsockopt");
	se_sys.setsockopt = u.setsockopt;
	u.p = dlsym(RTLD_NEXT, "bind");
	se_sys.bind = u.bind;
	u.p = dlsym(RTLD_NEXT, "socket");
	se_sys.socket = u.socket;
	u.p = dlsym(RTLD_NEXT, "getsockopt");
	se_sys.getsockopt = u.getsockopt;
	u.p = dlsym(RTLD_NEXT, "close");
	se_sys.close = u.close;
	return se_sys.connect && se_sys.setsockopt && se_sys.bind &&
	       se_sys.socket && se_sys.getsockopt && se_sys.close ? 0 : -1;
}

uint64_t se_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
