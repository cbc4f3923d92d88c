/* The library's own descriptors. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>

#include "fdtab.h"
#include "ownfd.h"
#include "sys.h"

/* No record at or above this number. */
static unsigned top;
/* Records held. */
static unsigned held;

/* Records fd as the library's, holding the file st describes. */
static void record_as(int fd, const struct stat *st, int probe)
{
	struct se_fdslot *s;

	if (fd >= 0 && (s = se_fdtab_make(fd))) {
		__atomic_store_n(&s->own_dev, (uint64_t)st->st_dev, __ATOMIC_RELAXED);
		__atomic_store_n(&s->own_probe, probe, __ATOMIC_RELAXED);
		/* An inode 0 is recorded as 1: never matched, never spared. */
		if (!__atomic_exchange_n(&s->own_ino, st->st_ino ? (uint64_t)st->st_ino : 1,
					 __ATOMIC_RELEASE))
			__atomic_add_fetch(&held, 1, __ATOMIC_RELAXED);
		if ((unsigned)fd >= __atomic_load_n(&top, __ATOMIC_RELAXED))
			__atomic_store_n(&top, (unsigned)fd + 1, __ATOMIC_RELEASE);
	}
}

static void record(int fd, int probe)
{
	struct stat st;
	int saved = errno;

	if (fd >= 0 && fstat(fd, &st) == 0)
		record_as(fd, &st, probe);
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

/* The descriptor limit as one call of the library's read it
 * (se_own_limit_hold()), in this thread; 0: read it each time. */
static __thread rlim_t held_limit __attribute__((tls_model("initial-exec")));

void se_own_limit_hold(bool hold)
{
	struct rlimit rl;
	int saved = errno;

	held_limit = 0;
	if (hold && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 0)
		held_limit = rl.rlim_cur;
	errno = saved;
}

/* The soft RLIMIT_NOFILE (0 if it cannot be read). errno is kept. */
static rlim_t limit(void)
{
	struct rlimit rl;
	int saved = errno;

	if (held_limit)
		return held_limit;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		rl.rlim_cur = 0;
	errno = saved;
	return rl.rlim_cur;
}

int se_own_base(void)
{
	rlim_t lim = limit();

	if (lim - lim / 8 > FD_SETSIZE)
		return FD_SETSIZE;
	return (int)(lim - lim / 8);
}

/* A copy of fd from se_own_base() up, recorded as the library's by the
 * file fd holds (*st, what fstat() said of fd): the new number is visible
 * to the program's threads the moment it exists, and one of them may put
 * a file of its own there with dup2() before the record is made; recorded
 * by what fstat() says of the new number, that file would pass for the
 * library's and be closed by it later. Recorded by the file it should hold, such a number is simply not
 * the library's. Returns the copy, or -1 (fd untouched; recorded itself
 * when move says so, by the same file). errno is kept. */
static int own_copy_as(int fd, const struct stat *st, bool move)
{
	int saved = errno, to = fcntl(fd, F_DUPFD_CLOEXEC, se_own_base());

	if (to >= 0)
		record_as(to, st, -1);
	else if (move)
		/* The range is full up to the limit: fd stays. */
		record_as(fd, st, -1);
	errno = saved;
	return to;
}

int se_own_move_as(int fd, const struct stat *st)
{
	int to = own_copy_as(fd, st, true);

	if (to < 0)
		return fd;
	se_close(fd);
	return to;
}

/* fstat() of fd, errno kept. */
static bool stat_of(int fd, struct stat *st)
{
	int saved = errno;
	bool ok = fd >= 0 && fstat(fd, st) == 0;

	errno = saved;
	return ok;
}

int se_own_move(int fd)
{
	struct stat st;

	return stat_of(fd, &st) ? se_own_move_as(fd, &st) : fd;
}

int se_own_dup(int fd)
{
	struct stat st;

	return stat_of(fd, &st) ? own_copy_as(fd, &st, false) : -1;
}

void se_disown(int fd)
{
	struct se_fdslot *s = se_fdtab_get(fd);

	if (s && __atomic_exchange_n(&s->own_ino, 0, __ATOMIC_RELEASE))
		__atomic_sub_fetch(&held, 1, __ATOMIC_RELAXED);
}

bool se_own_room(unsigned n)
{
	rlim_t lim = limit();

	return lim >= SE_OWN_SMALL_LIMIT &&
	       __atomic_load_n(&held, __ATOMIC_RELAXED) + n <= lim / 8;
}

bool se_owns(int fd)
{
	struct se_fdslot *s = se_fdtab_get(fd);
	struct epoll_event ev = { .events = 0 };
	struct stat st;
	uint64_t ino;
	int saved, probe;
	bool same;

	if (!s || !(ino = __atomic_load_n(&s->own_ino, __ATOMIC_ACQUIRE)))
		return false;
	saved = errno;
	probe = __atomic_load_n(&s->own_probe, __ATOMIC_RELAXED);
	if (probe >= 0) {
		/* An epoll instance: every one has the same inode, so fstat()
		 * would tell nothing; this one holds the probe (adding it
		 * again says so: EEXIST), another would take it (or is no
		 * epoll instance: EINVAL, EBADF). */
		if (se_sys.epoll_ctl(fd, EPOLL_CTL_ADD, probe, &ev) == 0) {
			se_sys.epoll_ctl(fd, EPOLL_CTL_DEL, probe, NULL);
			same = false;
		} else {
			same = errno == EEXIST;
		}
	} else {
		same = fstat(fd, &st) == 0 && (uint64_t)st.st_ino == ino &&
		       (uint64_t)st.st_dev == __atomic_load_n(&s->own_dev, __ATOMIC_RELAXED);
	}
	if (!same)
		se_disown(fd);
	errno = saved;
	return same;
}

int se_own_next(unsigned lo, unsigned hi)
{
	unsigned t = __atomic_load_n(&top, __ATOMIC_ACQUIRE), fd;

	if (!t)
		return -1;
	if (hi >= t)
		hi = t - 1;
	for (fd = lo; fd <= hi; fd++) {
		struct se_fdslot *s = se_fdtab_get((int)fd);

		if (!s) {
			/* No slot in the whole block: none of the library's. */
			fd |= SE_FDTAB_BLOCK - 1;
			continue;
		}
		if (__atomic_load_n(&s->own_ino, __ATOMIC_RELAXED))
			return (int)fd;
	}
	return -1;
}

bool se_owns_any(unsigned lo, unsigned hi)
{
	return se_own_next(lo, hi) >= 0;
}

void se_close_own(int fd)
{
	int saved = errno;

	/* A number without a slot could not be recorded (no memory for
	 * it): closed, rather than leaked. */
	if (se_owns(fd) || (fd >= 0 && !se_fdtab_get(fd))) {
		se_disown(fd);
		se_sys.close(fd);
	}
	errno = saved;
}
