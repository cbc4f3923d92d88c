/* The epoll mirror (epmirror.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "core/fdtab.h"
#include "core/loop.h"
#include "core/sys.h"
#include "epmirror.h"
#include "known.h"

/* One registration of a number: what to carry over when the file behind
 * it changes. Buried when forgotten (se_loop_bury()): its grave first. */
struct se_epreg {
	struct se_grave grave;
	int epfd;
	struct epoll_event ev;
	struct se_epreg *next;
};

/* No registration is recorded above this number (under the lock). */
static int regs_top = -1;

/* num's registrations (with the lock held): a number without a slot has
 * none, and none is added to it (se_epmirror_ctl() makes the slot
 * first). */
static struct se_epreg **regs(int num)
{
	static struct se_epreg *none;
	struct se_fdslot *sl = se_fdtab_get(num);

	return sl ? &sl->regs : &none;
}

static struct se_epreg **find_reg(int epfd, int num)
{
	struct se_epreg **p;

	for (p = regs(num); *p; p = &(*p)->next)
		if ((*p)->epfd == epfd)
			return p;
	return p;
}

static void remove_reg(struct se_epreg **p, int num)
{
	struct se_epreg *g = *p;

	*p = g->next;
	se_loop_bury(&g->grave);
	if (!*regs(num))
		se_known_unmark(num, SE_KNOWN_REGS);
}

int se_epmirror_ctl(int epfd, int op, int num, struct epoll_event *ev)
{
	sigset_t old;
	struct se_epreg **p, *g;
	int rc, err;

	se_loop_take(&old);
	se_loop_reap();
	rc = se_sys.epoll_ctl(epfd, op, num, ev);
	err = errno;
	if (se_fdtab_make(num) && se_fdtab_make(epfd) &&
	    (rc == 0 || (op == EPOLL_CTL_DEL && err == ENOENT))) {
		p = find_reg(epfd, num);
		if (op == EPOLL_CTL_DEL) {
			if (*p)
				remove_reg(p, num);
		} else if (*p) {
			(*p)->ev = *ev;
		} else if ((g = malloc(sizeof(*g)))) {
			g->epfd = epfd;
			g->ev = *ev;
			g->next = NULL;
			*p = g;
			se_known_mark(num, SE_KNOWN_REGS);
			se_known_mark(epfd, SE_KNOWN_EPFD);
			if (num > regs_top)
				regs_top = num;
		}
	}
	se_loop_give(&old);
	errno = err;
	return rc;
}

int se_epmirror_put(int file, int num)
{
	struct se_epreg *g, **p;
	int rc;

	/* The registrations leave the file there now... */
	for (g = *regs(num); g; g = g->next)
		se_sys.epoll_ctl(g->epfd, EPOLL_CTL_DEL, num, NULL);
	rc = se_dup_onto(file, num);
	/* ... and are made again for the file put there. */
	p = regs(num);
	while (*p) {
		struct epoll_event ev = (*p)->ev;

		if (se_sys.epoll_ctl((*p)->epfd, EPOLL_CTL_ADD, num, &ev) < 0 &&
		    errno == EBADF)
			remove_reg(p, num);
		else
			p = &(*p)->next;
	}
	return rc;
}

void se_epmirror_drop(int num)
{
	while (*regs(num))
		remove_reg(regs(num), num);
}

void se_epmirror_forget(int num)
{
	int t;

	se_epmirror_drop(num);
	if (!(se_known(num) & SE_KNOWN_EPFD))
		return;
	for (t = 0; t <= regs_top; t++) {
		struct se_epreg **p = find_reg(num, t);

		if (*p)
			remove_reg(p, t);
	}
	se_known_unmark(num, SE_KNOWN_EPFD);
}
