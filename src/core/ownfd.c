/* The library's own descriptors. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "ownfd.h"
#include "sys.h"

struct own {
	uint64_t ino;		/* 0: not the library's */
	uint64_t dev;
	int probe;		/* an epoll instance: a descriptor in it; else -1 */
};

static struct own own[SE_OWN_FDS];
/* No record at or above this number. */
static unsigned top;
/* Records held. */
static unsigned held;

static bool in_range(int fd)
{
	return fd >= 0 && fd < SE_OWN_FDS;
}

static void record(int fd, int probe)
{
	struct stat st;
	int saved = errno;

	if (in_range(fd) && fstat(fd, &st) == 0) {
		__atomic_store_n(&own[fd].dev, (uint64_t)st.st_dev, __ATOMIC_RELAXED);
		__atomic_store_n(&own[fd].probe, probe, __ATOMIC_RELAXED);
		/* An inode 0 is recorded as 1: never matched, never spared. */
		if (!__atomic_exchange_n(&own[fd].ino, st.st_ino ? (uint64_t)st.st_ino : 1,
					 __ATOMIC_RELEASE))
			__atomic_add_fetch(&held, 1, __ATOMIC_RELAXED);
		if ((unsigned)fd >= __atomic_load_n(&top, __ATOMIC_RELAXED))
			__atomic_store_n(&top, (unsigned)fd + 1, __ATOMIC_RELEASE);
	}
	errno = saved;
}

void se_own(int fd)
{
	record(fd, -1);
}

void se_own_epoll(int epfd, int probe)
{
	record(epfd, probe);
}

void se_disown(int fd)
{
	if (in_range(fd) && __atomic_exchange_n(&own[fd].ino, 0, __ATOMIC_RELEASE))
		__atomic_sub_fetch(&held, 1, __ATOMIC_RELAXED);
}

bool se_own_room(unsigned n)
{
	struct rlimit rl;
	int saved = errno;
	bool room = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur >= SE_OWN_SMALL_LIMIT &&
		    __atomic_load_n(&held, __ATOMIC_RELAXED) + n <= rl.rlim_cur / 8;

	errno = saved;
	return room;
}

bool se_owns(int fd)
{
	struct stat st;
	uint64_t ino;
	int saved, probe;
	bool same;

	if (!in_range(fd) || !(ino = __atomic_load_n(&own[fd].ino, __ATOMIC_ACQUIRE)))
		return false;
	saved = errno;
	same = fstat(fd, &st) == 0 && (uint64_t)st.st_ino == ino &&
	       (uint64_t)st.st_dev == __atomic_load_n(&own[fd].dev, __ATOMIC_RELAXED);
	probe = __atomic_load_n(&own[fd].probe, __ATOMIC_RELAXED);
	if (same && probe >= 0) {
		/* Every epoll instance has this inode: this one holds the
		 * probe (adding it again says so), another would take it. */
		struct epoll_event ev = { .events = 0 };

		if (se_sys.epoll_ctl(fd, EPOLL_CTL_ADD, probe, &ev) == 0) {
			se_sys.epoll_ctl(fd, EPOLL_CTL_DEL, probe, NULL);
			same = false;
		} else {
			same = errno == EEXIST;
		}
	}
	if (!same)
		se_disown(fd);
	errno = saved;
	return same;
}

bool se_owns_any(unsigned lo, unsigned hi)
{
	unsigned t = __atomic_load_n(&top, __ATOMIC_ACQUIRE), fd;

	if (hi >= t)
		hi = t ? t - 1 : 0;
	for (fd = lo; t && fd <= hi; fd++)
		if (__atomic_load_n(&own[fd].ino, __ATOMIC_RELAXED))
			return true;
	return false;
}

void se_close_own(int fd)
{
	int saved = errno;

	/* Past the table nothing is known: closed, as it always was. */
	if (!in_range(fd) || se_owns(fd)) {
		se_disown(fd);
		se_sys.close(fd);
	}
	errno = saved;
}
