/* Per-descriptor state, for every number the process can have.
 *
 * One slot per descriptor number, made on demand: slots come in blocks of
 * SE_FDTAB_BLOCK numbers, mapped (zeroed) with mmap() the first time a
 * number of the block needs one, under a directory whose pages are mapped
 * the same way. Nothing is allocated for a number the process never had,
 * so the table is bounded by the descriptor limit (RLIMIT_NOFILE, at most
 * the kernel's fs.nr_open), with no cap of its own below INT_MAX.
 *
 * The concurrency rule, for every field of a slot:
 *   A block, and a directory page, is installed with one compare-and-swap
 *   (a thread that loses unmaps its own) and never unmapped or moved: a
 *   slot, once found, stays valid for the life of the process (and of its
 *   children after fork()). Finding one takes no lock and is async-signal-
 *   safe (close() may run in a signal handler), making one too (mmap() is
 *   a system call; no malloc()). A field is written only by the module it
 *   belongs to, as its comment below says: under that module's lock, or
 *   with an atomic operation; a field read without that lock is read with
 *   an atomic load. */
#ifndef SOFTERR_CORE_FDTAB_H
#define SOFTERR_CORE_FDTAB_H

#include <stdint.h>

#include "sockrec.h"

#define SE_FDTAB_BLOCK 256

struct se_pending;
struct se_epreg;

struct se_fdslot {
	/* The preload layer's watcher: entry (the pending attempt on the
	 * number, src/preload/pending.c) and regs (the program's epoll
	 * registrations of it, src/preload/epmirror.c): under the loop's
	 * lock (loop.h). has (what of the two is set, and whether the
	 * number is an epoll instance some registration names,
	 * src/preload/known.h): atomic, read without the lock by close()
	 * and the other wrappers' fast path. */
	struct se_pending *entry;
	struct se_epreg *regs;
	unsigned char has;

	/* ownfd.c, all atomic: the library's own descriptor on the number,
	 * known by its file (own_ino 0: none); own_probe for an epoll
	 * instance. */
	uint64_t own_ino;
	uint64_t own_dev;
	int own_probe;

	/* sockrec.c: rec is read and written only by whoever set rec_busy
	 * (an atomic exchange); rec.tracked, rec.fresh and rec.unusable are
	 * also read and written atomically without it. */
	int rec_busy;
	struct se_sockrec rec;
};

/* fd's slot, or NULL when fd < 0 or none was ever made for it. Lock-free,
 * async-signal-safe. */
struct se_fdslot *se_fdtab_get(int fd);
/* fd's slot, made if need be; NULL when fd < 0 or no memory can be had.
 * Lock-free, async-signal-safe; errno is kept. */
struct se_fdslot *se_fdtab_make(int fd);
/* No slot was made at or above this number (for loops over every slot). */
unsigned se_fdtab_end(void);
/* Zeroes every slot (tests). */
void se_fdtab_reset(void);

#endif
