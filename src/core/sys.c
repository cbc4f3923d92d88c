#include "config.h"

#include <dlfcn.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"

struct se_sys se_sys;

int se_sys_init(void)
{
	static const struct {
		const char *name;
		size_t offset;
	} wanted[] = {
		{ "connect", offsetof(struct se_sys, connect) },
		{ "setsockopt", offsetof(struct se_sys, setsockopt) },
		{ "bind", offsetof(struct se_sys, bind) },
		{ "socket", offsetof(struct se_sys, socket) },
		{ "getsockopt", offsetof(struct se_sys, getsockopt) },
		{ "close", offsetof(struct se_sys, close) },
		{ "dup3", offsetof(struct se_sys, dup3) },
		{ "epoll_ctl", offsetof(struct se_sys, epoll_ctl) },
		{ "getsockname", offsetof(struct se_sys, getsockname) },
		{ "getpeername", offsetof(struct se_sys, getpeername) },
		{ "shutdown", offsetof(struct se_sys, shutdown) },
	};
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		void *p = dlsym(RTLD_NEXT, wanted[i].name);

		/* Stored as the function pointer it is: POSIX guarantees that
		 * dlsym()'s object pointer converts to one. */
		*(void **)((char *)&se_sys + wanted[i].offset) = p;
		if (!p)
			rc = -1;
	}
	return rc;
}

int se_close(int fd)
{
	if (se_sys.close)
		return se_sys.close(fd);
	return (int)syscall(SYS_close, fd);
}

uint64_t se_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t se_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
