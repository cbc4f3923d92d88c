/* The per-descriptor table. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>

#include "fdtab.h"

/* fd = (top index, page index, slot index): 11 + 12 + 8 bits cover every
 * non-negative int. The top level is static (16 KiB of zeroes), a page
 * of the directory (32 KiB) covers 2^20 numbers, a block 256. */
#define PAGE_BITS 12
#define BLOCK_BITS 8
#define PAGE_LEN (1u << PAGE_BITS)
#define TOP_LEN (1u << (31 - PAGE_BITS - BLOCK_BITS))

typedef struct se_fdslot *block_t;

static block_t *dir[TOP_LEN];
static unsigned end;

/* Maps len zeroed bytes, or NULL; errno is kept. */
static void *map(size_t len)
{
	int saved = errno;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	errno = saved;
	return p == MAP_FAILED ? NULL : p;
}

/* Installs a freshly mapped p at *at, unless another thread was first:
 * then p goes and theirs is returned. */
static void *install(void *at, void *p, size_t len)
{
	void *none = NULL;
	int saved = errno;

	if (__atomic_compare_exchange_n((void **)at, &none, p, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return p;
	munmap(p, len);
	errno = saved;
	return none;
}

static struct se_fdslot *find(int fd, bool make)
{
	unsigned u = (unsigned)fd, t, e;
	block_t *page, b;

	if (fd < 0)
		return NULL;
	t = u >> (PAGE_BITS + BLOCK_BITS);
	page = __atomic_load_n(&dir[t], __ATOMIC_ACQUIRE);
	if (!page) {
		if (!make || !(page = map(PAGE_LEN * sizeof(*page))))
			return NULL;
		page = install(&dir[t], page, PAGE_LEN * sizeof(*page));
	}
	b = __atomic_load_n(&page[(u >> BLOCK_BITS) & (PAGE_LEN - 1)], __ATOMIC_ACQUIRE);
	if (!b) {
		if (!make || !(b = map(SE_FDTAB_BLOCK * sizeof(*b))))
			return NULL;
		b = install(&page[(u >> BLOCK_BITS) & (PAGE_LEN - 1)], b,
			    SE_FDTAB_BLOCK * sizeof(*b));
		/* The end of the block just made, unless one beyond is. */
		e = (u | (SE_FDTAB_BLOCK - 1)) + 1;
		if (e == 0 || e > (unsigned)INT_MAX)
			e = (unsigned)INT_MAX;
		t = __atomic_load_n(&end, __ATOMIC_RELAXED);
		while (t < e && !__atomic_compare_exchange_n(&end, &t, e, true,
							     __ATOMIC_RELEASE,
							     __ATOMIC_RELAXED))
			;
	}
	return &b[u & (SE_FDTAB_BLOCK - 1)];
}

struct se_fdslot *se_fdtab_get(int fd)
{
	return find(fd, false);
}

struct se_fdslot *se_fdtab_make(int fd)
{
	return find(fd, true);
}

unsigned se_fdtab_end(void)
{
	return __atomic_load_n(&end, __ATOMIC_ACQUIRE);
}

void se_fdtab_reset(void)
{
	unsigned t, p;

	for (t = 0; t < TOP_LEN; t++)
		for (p = 0; dir[t] && p < PAGE_LEN; p++)
			if (dir[t][p])
				memset(dir[t][p], 0, SE_FDTAB_BLOCK * sizeof(struct se_fdslot));
}
