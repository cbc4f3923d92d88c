/* What the watcher knows of each number, read without the loop's lock.
 *
 * In the per-descriptor table's slot (core/fdtab.h), has: SE_KNOWN_ENTRY
 * (a pending attempt is on the number, pending.h), SE_KNOWN_REGS (the
 * program's epoll registrations of it are recorded, epmirror.h),
 * SE_KNOWN_EPFD (an epoll instance some registration names). Set (release)
 * before the record is used, cleared (release) after the thread's last use
 * of the number, read (acquire) before the program's close(): what the
 * thread did with the socket happens before it is closed, also when close()
 * need not take the lock. */
#ifndef SOFTERR_PRELOAD_KNOWN_H
#define SOFTERR_PRELOAD_KNOWN_H

#include <stdbool.h>

#include "core/fdtab.h"

#define SE_KNOWN_ENTRY 1u
#define SE_KNOWN_REGS 2u
#define SE_KNOWN_EPFD 4u

/* What is known of num (0: nothing, or no slot). Lock-free. */
static inline unsigned char se_known(int num)
{
	struct se_fdslot *sl = se_fdtab_get(num);

	return sl ? __atomic_load_n(&sl->has, __ATOMIC_ACQUIRE) : 0;
}

/* num has a slot (made before its entry or registration is set). */
static inline void se_known_mark(int num, unsigned bit)
{
	struct se_fdslot *sl = se_fdtab_get(num);

	if (sl)
		__atomic_or_fetch(&sl->has, bit, __ATOMIC_RELEASE);
}

static inline void se_known_unmark(int num, unsigned bit)
{
	struct se_fdslot *sl = se_fdtab_get(num);

	if (sl)
		__atomic_and_fetch(&sl->has, (unsigned char)~bit, __ATOMIC_RELEASE);
}

#endif
