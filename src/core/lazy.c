/* libev and libmnl, loaded when first needed.
 *
 * Preloaded into every process (LD_PRELOAD, /etc/ld.so.preload), the
 * library must cost next to nothing where it does nothing: most processes
 * never connect() beyond loopback, and two libraries linked in would be
 * mapped and relocated at every exec (31 system calls for /bin/true without
 * softerr, 60 with both linked). So neither is linked: the functions of
 * theirs that the engine, the watcher and the network watch call are
 * defined here, hidden (the program's own libev, if any, is never
 * interposed), and each loads its library with dlopen() on first call and
 * goes on to the real function. A library that cannot be loaded (tried
 * again a second later: the descriptor limit may have been in the way) makes
 * ev_loop_new() and mnl_socket_fdopen() fail, which their callers survive
 * (connects are then the kernel's, the network is not watched); the other
 * functions are only reached through what those return. The callers load
 * them before they take a lock of theirs (se_lazy_load_ev(),
 * se_lazy_load_mnl()). */
#include "config.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <ev.h>
#include <libmnl/libmnl.h>

#include "lazy.h"

/* A library's handle: NULL until loaded; and when it could not be (not
 * installed, or no descriptor free to open it: EMFILE is not for ever),
 * when it is to be tried again (a second later). */
struct lazy_lib {
	const char *soname;
	void *handle;
	uint64_t retry_ms;
};

static struct lazy_lib ev_lib = { SE_LIBEV_SONAME, NULL, 0 };
static struct lazy_lib mnl_lib = { SE_LIBMNL_SONAME, NULL, 0 };

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* No once-only lock around dlopen(): the dynamic linker's own lock is
 * taken in there, and a library's constructor that connect()s while
 * holding it would wait forever for a thread that holds ours and waits for
 * it. dlopen() is safe to race (the loser's reference is kept, and never
 * dropped). */
static void *load(struct lazy_lib *lib)
{
	void *h = __atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE);
	uint64_t now;

	if (h)
		return h;
	now = now_ms();
	if (now < __atomic_load_n(&lib->retry_ms, __ATOMIC_RELAXED))
		return NULL;
	if ((h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL)))
		__atomic_store_n(&lib->handle, h, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&lib->retry_ms, now + 1000, __ATOMIC_RELAXED);
	return h;
}

static void *sym(struct lazy_lib *lib, const char *name)
{
	void *h = load(lib);

	return h ? dlsym(h, name) : NULL;
}

bool se_lazy_load_ev(void)
{
	return load(&ev_lib) != NULL;
}

bool se_lazy_load_mnl(void)
{
	return load(&mnl_lib) != NULL;
}

/* f: the real name, found once (a race finds the same address twice). */
#define REAL(lib, name)							\
	static typeof(&name) real_##name;				\
	typeof(&name) f = __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE);	\
	if (!f) {							\
		f = (typeof(&name))sym(&lib##_lib, #name);		\
		__atomic_store_n(&real_##name, f, __ATOMIC_RELEASE);	\
	}

/* --- libev --------------------------------------------------------------- */

struct ev_loop *ev_loop_new(unsigned int flags)
{
	REAL(ev, ev_loop_new)
	return f ? f(flags) : NULL;
}

void ev_loop_destroy(struct ev_loop *l)
{
	REAL(ev, ev_loop_destroy)
	if (f)
		f(l);
}

void ev_set_syserr_cb(void (*cb)(const char *msg))
{
	REAL(ev, ev_set_syserr_cb)
	if (f)
		f(cb);
}

void ev_set_loop_release_cb(struct ev_loop *l, void (*release)(struct ev_loop *),
			    void (*acquire)(struct ev_loop *))
{
	REAL(ev, ev_set_loop_release_cb)
	if (f)
		f(l, release, acquire);
}

int ev_run(struct ev_loop *l, int flags)
{
	REAL(ev, ev_run)
	return f ? f(l, flags) : 0;
}

void ev_break(struct ev_loop *l, int how)
{
	REAL(ev, ev_break)
	if (f)
		f(l, how);
}

unsigned int ev_iteration(struct ev_loop *l)
{
	REAL(ev, ev_iteration)
	return f ? f(l) : 0;
}

void ev_now_update(struct ev_loop *l)
{
	REAL(ev, ev_now_update)
	if (f)
		f(l);
}

void ev_io_start(struct ev_loop *l, ev_io *w)
{
	REAL(ev, ev_io_start)
	if (f)
		f(l, w);
}

void ev_io_stop(struct ev_loop *l, ev_io *w)
{
	REAL(ev, ev_io_stop)
	if (f)
		f(l, w);
}

void ev_timer_start(struct ev_loop *l, ev_timer *w)
{
	REAL(ev, ev_timer_start)
	if (f)
		f(l, w);
}

void ev_timer_stop(struct ev_loop *l, ev_timer *w)
{
	REAL(ev, ev_timer_stop)
	if (f)
		f(l, w);
}

/* --- libmnl -------------------------------------------------------------- */

struct mnl_socket *mnl_socket_fdopen(int fd)
{
	REAL(mnl, mnl_socket_fdopen)
	return f ? f(fd) : NULL;
}

int mnl_socket_bind(struct mnl_socket *nl, unsigned int groups, pid_t pid)
{
	REAL(mnl, mnl_socket_bind)
	return f ? f(nl, groups, pid) : -1;
}

unsigned int mnl_socket_get_portid(const struct mnl_socket *nl)
{
	REAL(mnl, mnl_socket_get_portid)
	return f ? f(nl) : 0;
}

ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *req, size_t siz)
{
	REAL(mnl, mnl_socket_sendto)
	return f ? f(nl, req, siz) : -1;
}

ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t siz)
{
	REAL(mnl, mnl_socket_recvfrom)
	return f ? f(nl, buf, siz) : -1;
}

struct nlmsghdr *mnl_nlmsg_put_header(void *buf)
{
	REAL(mnl, mnl_nlmsg_put_header)
	return f ? f(buf) : NULL;
}

void *mnl_nlmsg_put_extra_header(struct nlmsghdr *nlh, size_t size)
{
	REAL(mnl, mnl_nlmsg_put_extra_header)
	return f ? f(nlh, size) : NULL;
}

void *mnl_nlmsg_get_payload(const struct nlmsghdr *nlh)
{
	REAL(mnl, mnl_nlmsg_get_payload)
	return f ? f(nlh) : NULL;
}

uint16_t mnl_attr_get_type(const struct nlattr *attr)
{
	REAL(mnl, mnl_attr_get_type)
	return f ? f(attr) : 0;
}

uint16_t mnl_attr_get_payload_len(const struct nlattr *attr)
{
	REAL(mnl, mnl_attr_get_payload_len)
	return f ? f(attr) : 0;
}

void *mnl_attr_get_payload(const struct nlattr *attr)
{
	REAL(mnl, mnl_attr_get_payload)
	return f ? f(attr) : NULL;
}

uint32_t mnl_attr_get_u32(const struct nlattr *attr)
{
	REAL(mnl, mnl_attr_get_u32)
	return f ? f(attr) : 0;
}

int mnl_attr_type_valid(const struct nlattr *attr, uint16_t maxtype)
{
	REAL(mnl, mnl_attr_type_valid)
	return f ? f(attr, maxtype) : -1;
}

int mnl_attr_parse(const struct nlmsghdr *nlh, unsigned int offset,
		   mnl_attr_cb_t cb, void *data)
{
	REAL(mnl, mnl_attr_parse)
	return f ? f(nlh, offset, cb, data) : -1;
}

int mnl_cb_run(const void *buf, size_t numbytes, unsigned int seq,
	       unsigned int portid, mnl_cb_t cb_data, void *data)
{
	REAL(mnl, mnl_cb_run)
	return f ? f(buf, numbytes, seq, portid, cb_data, data) : -1;
}
