#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"

struct se_sys se_sys;

#define REQUIRED(f) { #f, offsetof(struct se_sys, f), false }
#define OPTIONAL(f) { #f, offsetof(struct se_sys, f), true }

int se_sys_init(void)
{
	static const struct {
		const char *name;
		size_t offset;
		bool optional;
	} wanted[] = {
		REQUIRED(connect),
		REQUIRED(setsockopt),
		REQUIRED(bind),
		REQUIRED(socket),
		REQUIRED(getsockopt),
		REQUIRED(close),
		REQUIRED(dup3),
		REQUIRED(epoll_ctl),
		REQUIRED(getsockname),
		REQUIRED(getpeername),
		REQUIRED(shutdown),
		REQUIRED(dup2),
		REQUIRED(getaddrinfo),
		REQUIRED(freeaddrinfo),
		REQUIRED(gethostbyname),
		REQUIRED(gethostbyname2),
		REQUIRED(gethostbyname_r),
		REQUIRED(gethostbyname2_r),
		OPTIONAL(close_range),
		OPTIONAL(closefrom),
	};
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		void *p = dlsym(RTLD_NEXT, wanted[i].name);

		/* Stored as the function pointer it is: POSIX guarantees that
		 * dlsym()'s object pointer converts to one. */
		*(void **)((char *)&se_sys + wanted[i].offset) = p;
		if (!p && !wanted[i].optional)
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

int se_dup_onto(int file, int num)
{
	int fdflags = fcntl(num, F_GETFD), rc;

	do
		rc = se_sys.dup3(file, num, fdflags > 0 && (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0);
	while (rc < 0 && (errno == EINTR || errno == EBUSY));
	return rc;
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

struct needs {
	const char *prefix;
	uintptr_t self;
};

static int object_needs(struct dl_phdr_info *info, size_t size, void *arg)
{
	const struct needs *n = arg;
	const ElfW(Dyn) *dyn = NULL, *d;
	uintptr_t strtab = 0;
	size_t len = strlen(n->prefix);
	int i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && n->self >= lo && n->self < lo + ph->p_memsz)
			return 0;	/* the caller's own object */
		if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
	}
	if (!dyn)
		return 0;
	for (d = dyn; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_STRTAB)
			strtab = d->d_un.d_ptr;
	if (!strtab)
		return 0;
	/* Relocated in place by the dynamic linker, except where it is not
	 * (the vDSO): there an offset from the object's base. */
	if (strtab < info->dlpi_addr)
		strtab += info->dlpi_addr;
	for (d = dyn; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_NEEDED &&
		    strncmp((const char *)strtab + d->d_un.d_val, n->prefix, len) == 0)
			return 1;
	return 0;
}

bool se_other_object_needs(const char *prefix, const void *self)
{
	struct needs n = { prefix, (uintptr_t)self };

	return dl_iterate_phdr(object_needs, &n) != 0;
}
