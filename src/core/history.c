/* Address history, in this process and in a file shared by the user's. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "history.h"
#include "icmp.h"
#include "log.h"
#include "netwatch.h"
#include "sys.h"

#define REREAD_MS 50		/* the file is looked at no more often */

static uint32_t fnv(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *b++) * 16777619u;
	return h;
}

static uint32_t entry_check(const struct se_hist_entry *e)
{
	return fnv(e, offsetof(struct se_hist_entry, check)) | 1;
}

static uint32_t head_check(const struct se_hist_head *hd)
{
	return fnv(hd, offsetof(struct se_hist_head, check)) | 1;
}

uint64_t se_boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void read_boot_id(uint8_t id[16])
{
	char text[64];
	ssize_t n = 0;
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);

	memset(id, 0, 16);
	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		se_close(fd);
	}
	if (n > 0) {
		uint32_t a = fnv(text, (size_t)n), b = fnv(text, (size_t)n / 2);

		memcpy(id, &a, 4);
		memcpy(id + 4, &b, 4);
		memcpy(id + 8, text, 8);
	}
}

static void fresh_head(struct se_history *h, uint64_t generation)
{
	memset(&h->head, 0, sizeof(h->head));
	memcpy(h->head.magic, SE_HIST_MAGIC, 8);
	h->head.slots = SE_HIST_SLOTS;
	h->head.entry_size = sizeof(struct se_hist_entry);
	memcpy(h->head.boot_id, h->boot_id, 16);
	h->head.generation = generation;
	h->head.check = head_check(&h->head);
}

static bool head_valid(const struct se_history *h, const struct se_hist_head *hd)
{
	return memcmp(hd->magic, SE_HIST_MAGIC, 8) == 0 &&
	       hd->slots == SE_HIST_SLOTS &&
	       hd->entry_size == sizeof(struct se_hist_entry) &&
	       hd->check == head_check(hd) &&
	       memcmp(hd->boot_id, h->boot_id, 16) == 0;
}

static bool kind_failed(unsigned kind)
{
	return kind == SE_HIST_SOFT || kind == SE_HIST_HARD ||
	       kind == SE_HIST_SILENT || kind == SE_HIST_REFUSED ||
	       kind == SE_HIST_PERSIST_LOST;
}

/* A success corrects it. */
static bool kind_doubtful(unsigned kind)
{
	return kind_failed(kind) || kind == SE_HIST_SOFT_ONCE;
}

/* After the table changed (the lock held). */
static void recount(struct se_history *h)
{
	unsigned i, n = 0;

	for (i = 0; i < SE_HIST_SLOTS; i++)
		n += h->e[i].check != 0 && kind_doubtful(h->e[i].kind);
	__atomic_store_n(&h->failures, n, __ATOMIC_RELAXED);
}

bool se_history_any_failed(const struct se_history *h)
{
	return h->enabled && __atomic_load_n(&h->failures, __ATOMIC_RELAXED) != 0;
}

#define FILE_SIZE (sizeof(struct se_hist_head) + \
		   SE_HIST_SLOTS * sizeof(struct se_hist_entry))

static uint64_t stamp_of(const struct stat *st)
{
	uint64_t parts[4] = { (uint64_t)st->st_size, (uint64_t)st->st_ino,
			      (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec };

	return ((uint64_t)fnv(parts, sizeof(parts)) << 32) | fnv(parts, 16);
}

/* Why a file with these attributes may not be shared through, into why;
 * false when it may. Only a regular file of this user's (the effective
 * uid: root too refuses another user's) that no one else may read or
 * write, as softerr makes it: anything else may be another user's doing,
 * and another user's entries would steer this user's connections. */
static bool refused(const struct stat *st, char *why, size_t len)
{
	if (!S_ISREG(st->st_mode))
		snprintf(why, len, "not a regular file");
	else if (st->st_uid != geteuid())
		snprintf(why, len, "owned by uid %lu, not by uid %lu",
			 (unsigned long)st->st_uid, (unsigned long)geteuid());
	else if (st->st_mode & 077)
		snprintf(why, len, "mode %04o, open to other users",
			 (unsigned)(st->st_mode & 07777));
	else
		return false;
	return true;
}

/* The file at h->path is not to be used (the lock held): this process's
 * history becomes its own, the file is left as it is, and the debug log
 * says why, once (nothing looks at the path again). */
static void give_up(struct se_history *h, const char *why)
{
	if (h->log && h->log->to != SE_LOG_OFF) {
		struct se_line l;

		se_line_init(&l);
		se_line_add(&l, "softerr: history file %s not used: %s; the history "
			    "stays in this process", h->path, why);
		se_line_emit(&l, h->log);
	}
	h->path[0] = '\0';
}

/* Reads the file's table into h (the lock held): a damaged file, or one
 * of another size than softerr makes, reads as empty. fd is open on it,
 * and st is its fstat(). */
static void load(struct se_history *h, int fd, const struct stat *st)
{
	struct se_hist_head hd;

	h->file_stamp = stamp_of(st);
	if (st->st_size != (off_t)FILE_SIZE ||
	    pread(fd, &hd, sizeof(hd), 0) != (ssize_t)sizeof(hd) || !head_valid(h, &hd) ||
	    pread(fd, h->e, sizeof(h->e), sizeof(hd)) != (ssize_t)sizeof(h->e)) {
		fresh_head(h, 0);
		memset(h->e, 0, sizeof(h->e));
	} else {
		h->head = hd;
	}
	recount(h);
}

static int apply(struct se_history *h, const struct se_addr *a,
		 struct se_hist_entry e);

/* What this process has yet to write (se_history_flush()) stays known
 * over a table read anew. */
static void reapply_queued(struct se_history *h)
{
	for (unsigned i = 0; i < h->queued; i++)
		apply(h, &h->queue[i].addr, h->queue[i].e);
}

/* Brings h up to date with the file, when it may have changed. */
static void refresh(struct se_history *h, uint64_t now_ms)
{
	char why[96];
	struct stat st;
	int fd;

	if (!h->path[0] || (h->read_at_ms && now_ms - h->read_at_ms < REREAD_MS &&
			    now_ms >= h->read_at_ms))
		return;
	h->read_at_ms = now_ms;
	/* lstat(): a link is not the file, and a FIFO or a device is not
	 * even opened (opening one can block or act). */
	if (lstat(h->path, &st) < 0) {
		if (errno == ENOENT) {
			memset(h->e, 0, sizeof(h->e));
			recount(h);
			h->file_stamp = 0;
			reapply_queued(h);
		}
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		give_up(h, "a symbolic link");
		return;
	}
	if (refused(&st, why, sizeof(why))) {
		give_up(h, why);
		return;
	}
	if (stamp_of(&st) == h->file_stamp)
		return;
	fd = open(h->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		/* Gone or replaced since: looked at again next time. */
		if (errno == ELOOP)
			give_up(h, "a symbolic link");
		return;
	}
	/* What is read is what was opened: the checks again, on it. */
	if (fstat(fd, &st) < 0) {
		se_close(fd);
		return;
	}
	if (refused(&st, why, sizeof(why))) {
		give_up(h, why);
	} else {
		load(h, fd, &st);
		reapply_queued(h);
	}
	se_close(fd);
}

/* Opens the file for a change, locked; builds it when it is missing,
 * short, or damaged. -1 when it cannot be used: the history is then this
 * process's own, and a file that is not ours to rebuild is left as it
 * is (see refused()). */
static int open_locked(struct se_history *h)
{
	char why[96];
	struct stat st;
	int fd;

	/* Not even opened when it is plainly not ours: a FIFO or a device
	 * at the path would block or act on open(). */
	if (lstat(h->path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			give_up(h, "a symbolic link");
			return -1;
		}
		if (refused(&st, why, sizeof(why))) {
			give_up(h, why);
			return -1;
		}
	}
	fd = open(h->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
		  O_NOCTTY, 0600);
	if (fd < 0) {
		give_up(h, errno == ELOOP ? "a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		se_close(fd);
		goto unusable;
	}
	if (refused(&st, why, sizeof(why))) {
		se_close(fd);
		give_up(h, why);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			se_close(fd);
			goto unusable;
		}
	/* Its size now, under the lock: another writer may have built it
	 * since it was opened. */
	if (fstat(fd, &st) < 0) {
		se_close(fd);
		goto unusable;
	}
	load(h, fd, &st);
	if (st.st_size != (off_t)FILE_SIZE || h->head.generation == 0 ||
	    h->head.check != head_check(&h->head)) {
		/* New, of another size, or damaged: rebuilt. */
		uint64_t gen = h->head.generation + 1;

		fresh_head(h, gen);
		memset(h->e, 0, sizeof(h->e));
		if (ftruncate(fd, 0) < 0 || ftruncate(fd, FILE_SIZE) < 0 ||
		    pwrite(fd, &h->head, sizeof(h->head), 0) != (ssize_t)sizeof(h->head)) {
			se_close(fd);
			goto unusable;
		}
	}
	return fd;
unusable:
	h->path[0] = '\0';
	return -1;
}

static void close_written(struct se_history *h, int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0)
		h->file_stamp = stamp_of(&st);
	se_close(fd);		/* and the lock with it */
}

/* Is dir a directory of this user's that nobody else may enter (made 0700
 * first when make says so)? Not through a symbolic link. */
static bool private_dir(const char *dir, bool make, char *why, size_t why_len)
{
	struct stat st;

	if (make && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(why, why_len, "%s cannot be made: %s", dir, strerror(errno));
		return false;
	}
	if (lstat(dir, &st) < 0) {
		snprintf(why, why_len, "%s: %s", dir, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode))
		snprintf(why, why_len, "%s is not a directory", dir);
	else if (st.st_uid != geteuid())
		snprintf(why, why_len, "%s belongs to user %u", dir, (unsigned)st.st_uid);
	else if (st.st_mode & 077)
		snprintf(why, why_len, "%s is open to others (mode %03o)", dir,
			 (unsigned)(st.st_mode & 0777));
	else
		return true;
	return false;
}

/* The history file in dir, dir being this user's and private (made so
 * when make says so); why otherwise. */
static bool file_in(const char *dir, bool make, char *buf, size_t len,
		    char *why, size_t why_len)
{
	if (!private_dir(dir, make, why, why_len))
		return false;
	if ((size_t)snprintf(buf, len, "%s/history", dir) < len)
		return true;
	snprintf(why, why_len, "%.200s: the name is too long", dir);
	return false;
}

/* The history file in dir/softerr (made when missing), dir being this
 * user's and private: a runtime directory. */
static bool file_under(const char *dir, char *buf, size_t len, char *why,
		       size_t why_len)
{
	char d[256];

	if (!private_dir(dir, false, why, why_len))
		return false;
	if ((size_t)snprintf(d, sizeof(d), "%s/softerr", dir) >= sizeof(d)) {
		snprintf(why, why_len, "%.200s: the name is too long", dir);
		return false;
	}
	return file_in(d, true, buf, len, why, why_len);
}

/* history_path: a file in a directory of the user's (or root's) that no one
 * else may write to. */
static bool configured_file(const char *path, char *buf, size_t len, char *why,
			    size_t why_len)
{
	const char *slash = strrchr(path, '/');
	char dir[256];
	struct stat st;

	if (path[0] != '/' || !slash[1] || (size_t)(slash - path) >= sizeof(dir)) {
		snprintf(why, why_len, "history_path %.200s is not an absolute file name", path);
		return false;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (!dir[0])
		strcpy(dir, "/");
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    (st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 022)) {
		snprintf(why, why_len, "history_path: %.160s is not a directory of this "
			 "user's that only its owner may write to", dir);
		return false;
	}
	if ((size_t)snprintf(buf, len, "%s", path) < len)
		return true;
	snprintf(why, why_len, "history_path is too long");
	return false;
}

bool se_history_locate(const struct se_history_places *p, char *buf, size_t len,
		       char *why, size_t why_len)
{
	char dir[256], no[256] = "";
	unsigned uid = (unsigned)geteuid();
	const char *from = "";
	bool found;

	if (p->configured && p->configured[0]) {
		found = configured_file(p->configured, buf, len, no, sizeof(no));
		from = " (history_path)";
	} else if (p->runtime_dir && p->runtime_dir[0] == '/' &&
		   file_under(p->runtime_dir, buf, len, no, sizeof(no))) {
		found = true;
		from = " (XDG_RUNTIME_DIR)";
	} else {
		/* No usable XDG_RUNTIME_DIR (root from sudo or su, cron,
		 * services, containers): the user's runtime directory if the
		 * system made one, else a private directory of the library's:
		 * root's under run, everyone else's under tmp. */
		snprintf(dir, sizeof(dir), "%s/%u", p->run_user, uid);
		found = file_under(dir, buf, len, no, sizeof(no));
		if (!found && uid == 0) {
			snprintf(dir, sizeof(dir), "%s/softerr", p->run);
			found = file_in(dir, true, buf, len, no, sizeof(no));
		}
		if (!found) {
			snprintf(dir, sizeof(dir), "%s/softerr-%u", p->tmp, uid);
			found = file_in(dir, true, buf, len, no, sizeof(no));
		}
	}
	if (found) {
		snprintf(why, why_len, "%s%s", buf, from);
		return true;
	}
	buf[0] = '\0';
	snprintf(why, why_len, "off: %s", no);
	return false;
}

bool se_history_choose(const struct se_settings *s, bool secure,
		       const char *runtime_dir, char *buf, size_t len,
		       char *why, size_t why_len)
{
	struct se_history_places p = {
		.configured = s->history_path,
		.runtime_dir = runtime_dir,
		.run_user = "/run/user",
		.run = "/run",
		.tmp = "/tmp",
	};

	buf[0] = '\0';
	if (secure)
		snprintf(why, why_len, "off (a set-user-ID program)");
	else if (!s->history)
		snprintf(why, why_len, "off (history = off)");
	else if (!s->history_share)
		snprintf(why, why_len, "kept in this process (history_share = off)");
	else
		return se_history_locate(&p, buf, len, why, why_len);
	return false;
}

void se_history_init(struct se_history *h, bool enabled, uint64_t lifetime_ms,
		     const char *path)
{
	pthread_mutex_init(&h->lock, NULL);
	h->enabled = enabled;
	h->lifetime_ms = lifetime_ms;
	snprintf(h->path, sizeof(h->path), "%s", path ? path : "");
	/* The boot only tells a shared file's entries from another boot's:
	 * a history that stays in the process never reads it (three system
	 * calls saved in every process that connects). */
	if (enabled && h->path[0])
		read_boot_id(h->boot_id);
	else
		memset(h->boot_id, 0, sizeof(h->boot_id));
	h->net = NULL;
	h->read_at_ms = 0;
	h->file_stamp = 0;
	h->log = NULL;
	fresh_head(h, 1);
	memset(h->e, 0, sizeof(h->e));
	h->failures = 0;
	h->queued = 0;
}

static unsigned slot_of(const struct se_addr *a)
{
	return fnv(a->bytes, a->family == AF_INET ? 4 : 16) % SE_HIST_SLOTS;
}

/* Is e a sound entry of a (on any path)? */
static bool of_addr(const struct se_hist_entry *e, const struct se_addr *a)
{
	return e->check && e->check == entry_check(e) && e->family == a->family &&
	       memcmp(e->addr, a->bytes, a->family == AF_INET ? 4 : 16) == 0;
}

static bool holds(const struct se_hist_entry *e, const struct se_addr *a,
		  uint64_t path)
{
	return e->path == path && of_addr(e, a);
}

/* Does the history hold a on any path (with the lock held)? */
static bool holds_any(const struct se_history *h, const struct se_addr *a)
{
	unsigned s = slot_of(a), i;

	for (i = 0; i < SE_HIST_PROBE; i++)
		if (of_addr(&h->e[(s + i) % SE_HIST_SLOTS], a))
			return true;
	return false;
}

/* The slot holding a on path, or -1. All of a's paths share its slots. */
static int find(const struct se_history *h, const struct se_addr *a, uint64_t path)
{
	unsigned s = slot_of(a), i;

	for (i = 0; i < SE_HIST_PROBE; i++)
		if (holds(&h->e[(s + i) % SE_HIST_SLOTS], a, path))
			return (int)((s + i) % SE_HIST_SLOTS);
	return -1;
}

/* Where a on path goes: its own slot, a free or damaged one, else the
 * oldest (an entry of another path is kept while there is room). */
static unsigned place(const struct se_history *h, const struct se_addr *a,
		      uint64_t path)
{
	unsigned s = slot_of(a), i, best = s;
	int k = find(h, a, path);

	if (k >= 0)
		return (unsigned)k;
	for (i = 0; i < SE_HIST_PROBE; i++) {
		const struct se_hist_entry *e = &h->e[(s + i) % SE_HIST_SLOTS];

		if (!e->check || e->check != entry_check(e))
			return (s + i) % SE_HIST_SLOTS;
		if (e->at_ms < h->e[best].at_ms)
			best = (s + i) % SE_HIST_SLOTS;
	}
	return best;
}

void se_history_use_network(struct se_history *h, struct se_netstate *ns)
{
	__atomic_store_n(&h->net, ns, __ATOMIC_RELEASE);
}

/* The path a has now (before h->lock is taken: the network's lock is never
 * taken under it). */
static uint64_t path_of(const struct se_history *h, const struct se_addr *a)
{
	struct se_netstate *ns = __atomic_load_n(&h->net, __ATOMIC_ACQUIRE);

	return ns ? se_netstate_path(ns, a) : 0;
}

bool se_history_get(struct se_history *h, const struct se_addr *a,
		    uint64_t now_ms, struct se_hist_info *out)
{
	const struct se_hist_entry *e;
	bool known = false;
	uint64_t path;
	int k;

	if (!h->enabled)
		return false;
	/* The path needs the network read (rtnetlink, every few seconds at
	 * most): only for an address the history holds on some path. A
	 * process whose addresses it never saw reads no network. */
	pthread_mutex_lock(&h->lock);
	refresh(h, now_ms);
	known = holds_any(h, a);
	pthread_mutex_unlock(&h->lock);
	if (!known)
		return false;
	known = false;
	path = path_of(h, a);
	pthread_mutex_lock(&h->lock);
	refresh(h, now_ms);
	k = find(h, a, path);
	/* An entry from the future is damage, one past its lifetime is gone. */
	if (k >= 0 && (e = &h->e[k])->at_ms <= now_ms + 1000) {
		uint64_t age = e->at_ms > now_ms ? 0 : now_ms - e->at_ms;

		if (age < h->lifetime_ms) {
			out->kind = (enum se_hist_kind)e->kind;
			out->icmp_type = e->icmp_type;
			out->icmp_code = e->icmp_code;
			out->rtt_us = e->rtt_us;
			out->age_ms = age;
			known = out->kind != SE_HIST_NONE;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return known;
}

static __thread bool deferring __attribute__((tls_model("initial-exec")));

void se_history_defer_here(bool on)
{
	deferring = on;
}

/* e, as recorded for a, into the table, with the lock held. Returns its
 * slot, or -1 when the table keeps what it has. */
static int apply(struct se_history *h, const struct se_addr *a,
		 struct se_hist_entry e)
{
	unsigned s = place(h, a, e.path);

	if (e.kind == SE_HIST_SOFT_ONCE && holds(&h->e[s], a, e.path) &&
	    h->e[s].at_ms <= e.at_ms + 1000 &&
	    (h->e[s].at_ms > e.at_ms || e.at_ms - h->e[s].at_ms < h->lifetime_ms)) {
		/* A second piece of evidence confirms a soft error; one that
		 * persistence was lost on stays so, from when it was lost. */
		if (h->e[s].kind == SE_HIST_PERSIST_LOST)
			return -1;
		if (kind_doubtful(h->e[s].kind)) {
			e.kind = SE_HIST_SOFT;
			e.check = entry_check(&e);
		}
	}
	h->e[s] = e;
	recount(h);
	return (int)s;
}

static void write_slot(struct se_history *h, int fd, int s)
{
	if (pwrite(fd, &h->e[s], sizeof(h->e[s]),
		   (off_t)(sizeof(struct se_hist_head) + (size_t)s * sizeof(h->e[s]))) !=
	    (ssize_t)sizeof(h->e[s]))
		h->path[0] = '\0';
}

/* With the lock held, the table just read from the file (open_locked():
 * fd) or -1 when it could not be (the table then keeps them as they were
 * applied): the queued records on it again, and written. Empties the
 * queue. */
static void write_queued(struct se_history *h, int fd)
{
	for (unsigned i = 0; i < h->queued && fd >= 0; i++) {
		int s = apply(h, &h->queue[i].addr, h->queue[i].e);

		if (s >= 0)
			write_slot(h, fd, s);
	}
	__atomic_store_n(&h->queued, 0, __ATOMIC_RELAXED);
}

void se_history_record(struct se_history *h, const struct se_addr *a,
		       enum se_hist_kind kind, uint8_t icmp_type,
		       uint8_t icmp_code, uint32_t rtt_us, uint64_t now_ms)
{
	struct se_hist_entry e;
	int fd = -1, s;

	if (!h->enabled)
		return;
	memset(&e, 0, sizeof(e));
	e.family = (uint8_t)a->family;
	e.kind = (uint8_t)kind;
	e.icmp_type = icmp_type;
	e.icmp_code = icmp_code;
	e.rtt_us = rtt_us;
	memcpy(e.addr, a->bytes, a->family == AF_INET ? 4 : 16);
	e.at_ms = now_ms;
	e.path = path_of(h, a);
	e.check = entry_check(&e);

	pthread_mutex_lock(&h->lock);
	if (deferring && h->path[0] && h->queued < SE_HIST_QUEUE) {
		apply(h, a, e);
		h->queue[h->queued].addr = *a;
		h->queue[h->queued].e = e;
		__atomic_store_n(&h->queued, h->queued + 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&h->lock);
		return;
	}
	if (h->path[0])
		fd = open_locked(h);
	write_queued(h, fd);
	s = apply(h, a, e);
	if (fd >= 0) {
		if (s >= 0)
			write_slot(h, fd, s);
		close_written(h, fd);
		h->read_at_ms = now_ms;
	}
	pthread_mutex_unlock(&h->lock);
}

void se_history_flush(struct se_history *h)
{
	uint64_t last;
	int fd = -1;

	/* Asked at every turn of the loop: nothing queued, no lock taken.
	 * The count is written under the lock, and a thread that queued
	 * asks here after, so it sees what it added itself (another
	 * thread's may be written by that thread, or by this one). */
	if (!__atomic_load_n(&h->queued, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&h->lock);
	if (h->queued) {
		last = h->queue[h->queued - 1].e.at_ms;
		if (h->path[0])
			fd = open_locked(h);
		write_queued(h, fd);
		if (fd >= 0) {
			close_written(h, fd);
			h->read_at_ms = last;
		}
	}
	pthread_mutex_unlock(&h->lock);
}

/* With the lock held. */
static void forget_locked(struct se_history *h)
{
	int fd = h->path[0] ? open_locked(h) : -1;

	fresh_head(h, h->head.generation + 1);
	memset(h->e, 0, sizeof(h->e));
	recount(h);
	__atomic_store_n(&h->queued, 0, __ATOMIC_RELAXED);	/* learned on the network that was */
	if (fd >= 0) {
		if (pwrite(fd, &h->head, sizeof(h->head), 0) != (ssize_t)sizeof(h->head) ||
		    pwrite(fd, h->e, sizeof(h->e), sizeof(h->head)) != (ssize_t)sizeof(h->e))
			h->path[0] = '\0';
		close_written(h, fd);
	}
}

void se_history_forget(struct se_history *h)
{
	if (!h->enabled)
		return;
	pthread_mutex_lock(&h->lock);
	forget_locked(h);
	pthread_mutex_unlock(&h->lock);
}

int se_history_forget_addr(struct se_history *h, const struct se_addr *a)
{
	size_t len = a->family == AF_INET ? 4 : 16;
	struct stat st;
	int fd = -1, rc = 0;
	bool shared;
	unsigned i;

	if (!h->enabled)
		return 0;
	pthread_mutex_lock(&h->lock);
	shared = h->path[0] != '\0';
	if (shared && lstat(h->path, &st) < 0 && errno == ENOENT) {
		/* No file holds nothing, and none is made to say so. */
		memset(h->e, 0, sizeof(h->e));
		recount(h);
		h->file_stamp = 0;
		pthread_mutex_unlock(&h->lock);
		return 0;
	}
	if (shared && (fd = open_locked(h)) < 0) {
		pthread_mutex_unlock(&h->lock);
		return -1;
	}
	/* Every entry of a's, whatever else it may be kept by. */
	for (i = 0; i < SE_HIST_SLOTS; i++) {
		struct se_hist_entry *e = &h->e[i];

		if (!e->check || e->family != a->family || memcmp(e->addr, a->bytes, len))
			continue;
		memset(e, 0, sizeof(*e));
		rc = rc < 0 ? rc : 1;
		if (fd >= 0 && pwrite(fd, e, sizeof(*e), (off_t)(sizeof(struct se_hist_head) +
							   i * sizeof(*e))) != (ssize_t)sizeof(*e)) {
			h->path[0] = '\0';
			rc = -1;
		}
	}
	recount(h);
	if (fd >= 0)
		close_written(h, fd);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

int se_history_each(struct se_history *h, uint64_t now_ms,
		    se_history_each_fn *fn, void *arg)
{
	struct {
		struct se_addr a;
		struct se_hist_info i;
	} got[SE_HIST_SLOTS];
	unsigned i, n = 0;
	bool shared, damaged;

	if (!h->enabled)
		return 0;
	pthread_mutex_lock(&h->lock);
	shared = h->path[0] != '\0';
	h->read_at_ms = 0;
	h->file_stamp = 0;
	refresh(h, now_ms);
	if (shared && !h->path[0]) {
		pthread_mutex_unlock(&h->lock);
		errno = EPERM;
		return -1;
	}
	/* load() reads a file it cannot use as generation 0, which no
	 * written file has (open_locked() rebuilds it first). */
	damaged = shared && h->file_stamp && h->head.generation == 0;
	for (i = 0; i < SE_HIST_SLOTS; i++) {
		const struct se_hist_entry *e = &h->e[i];
		uint64_t age;

		/* As se_history_get() believes an entry. */
		if (!e->check || e->check != entry_check(e) || e->kind == SE_HIST_NONE ||
		    (e->family != AF_INET && e->family != AF_INET6) ||
		    e->at_ms > now_ms + 1000)
			continue;
		age = e->at_ms > now_ms ? 0 : now_ms - e->at_ms;
		if (age >= h->lifetime_ms)
			continue;
		memset(&got[n].a, 0, sizeof(got[n].a));
		got[n].a.family = e->family;
		memcpy(got[n].a.bytes, e->addr, e->family == AF_INET ? 4 : 16);
		got[n].i.kind = (enum se_hist_kind)e->kind;
		got[n].i.icmp_type = e->icmp_type;
		got[n].i.icmp_code = e->icmp_code;
		got[n].i.rtt_us = e->rtt_us;
		got[n].i.age_ms = age;
		n++;
	}
	pthread_mutex_unlock(&h->lock);
	if (damaged) {
		errno = EBADMSG;
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!fn(&got[i].a, &got[i].i, arg)) {
			i++;
			break;
		}
	return (int)i;
}

bool se_history_failed(const struct se_hist_info *i)
{
	return kind_failed(i->kind);
}

bool se_history_doubtful(const struct se_hist_info *i)
{
	return kind_doubtful(i->kind);
}

size_t se_history_order(struct se_history *h, struct se_addr *addrs, size_t n,
			uint64_t now_ms, size_t *order, struct se_hist_info *why)
{
	struct se_hist_info info[SE_NAME_ADDRS_MAX];
	struct se_addr was[SE_NAME_ADDRS_MAX];
	bool failed[SE_NAME_ADDRS_MAX];
	size_t i, k = 0, nfailed = 0;
	int pass;

	if (n > SE_NAME_ADDRS_MAX)
		n = SE_NAME_ADDRS_MAX;
	for (i = 0; i < n; i++) {
		if (!se_history_get(h, &addrs[i], now_ms, &info[i]))
			info[i].kind = SE_HIST_NONE;
		failed[i] = se_history_failed(&info[i]);
		nfailed += failed[i];
		was[i] = addrs[i];
	}
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < n; i++)
			if (failed[i] == (pass == 1)) {
				order[k] = i;
				addrs[k] = was[i];
				if (why)
					why[k] = info[i];
				k++;
			}
	return nfailed;
}

const char *se_history_describe(const struct se_hist_info *i, int family,
				char *buf, size_t len)
{
	static const char *const what[] = {
		[SE_HIST_NONE] = "nothing", [SE_HIST_CONNECTED] = "connected",
		[SE_HIST_REFUSED] = "refused", [SE_HIST_SOFT] = "soft",
		[SE_HIST_HARD] = "hard", [SE_HIST_SILENT] = "no answer",
		[SE_HIST_SOFT_ONCE] = "unconfirmed soft",
		[SE_HIST_PERSIST_LOST] = "persisted and lost",
	};
	unsigned long long s = (unsigned long long)(i->age_ms / 1000);

	if ((i->kind == SE_HIST_SOFT || i->kind == SE_HIST_HARD ||
	     i->kind == SE_HIST_SOFT_ONCE) &&
	    i->icmp_type != SE_HIST_NO_ICMP) {
		char nbuf[40];

		snprintf(buf, len, "%s %s %llu s ago", what[i->kind],
			 se_icmp_name(family, i->icmp_type, i->icmp_code, nbuf,
				      sizeof(nbuf)), s);
	} else {
		snprintf(buf, len, "%s %llu s ago",
			 (unsigned)i->kind < sizeof(what) / sizeof(what[0]) ?
			 what[i->kind] : "?", s);
	}
	return buf;
}

/* --- Handshake times ----------------------------------------------------- */

uint32_t se_hist_smooth(uint32_t srtt_us, uint32_t sample_us)
{
	int64_t d = (int64_t)sample_us - (int64_t)srtt_us;

	if (!srtt_us)
		return sample_us ? sample_us : 1;
	srtt_us = (uint32_t)((int64_t)srtt_us + d / 8);
	return srtt_us ? srtt_us : 1;
}

void se_history_handshake(struct se_history *h, const struct se_addr *a,
			  uint32_t sample_us, uint64_t now_ms)
{
	struct se_hist_info i;
	uint32_t srtt = 0;

	if (!h->enabled)
		return;
	/* Another process may record between the two: one sample lost to
	 * the smoothing, no more. */
	if (se_history_get(h, a, now_ms, &i) && i.kind == SE_HIST_CONNECTED)
		srtt = i.rtt_us;
	se_history_record(h, a, SE_HIST_CONNECTED, SE_HIST_NO_ICMP, 0,
			  se_hist_smooth(srtt, sample_us), now_ms);
}

/* Does e hold a handshake time of a's /24 or /48, within the lifetime? */
static bool near_handshake(const struct se_history *h, const struct se_hist_entry *e,
			   const struct se_addr *a, uint64_t path, uint64_t now_ms)
{
	size_t n = a->family == AF_INET ? 3 : 6;

	return e->check && e->check == entry_check(e) && e->family == a->family &&
	       e->path == path &&
	       e->kind == SE_HIST_CONNECTED && e->rtt_us &&
	       e->at_ms <= now_ms + 1000 &&
	       (e->at_ms > now_ms || now_ms - e->at_ms < h->lifetime_ms) &&
	       memcmp(e->addr, a->bytes, n) == 0 &&
	       memcmp(e->addr, a->bytes, a->family == AF_INET ? 4 : 16) != 0;
}

bool se_history_rtt(struct se_history *h, const struct se_addr *a,
		    const struct se_addr *sibs, size_t n, uint64_t now_ms,
		    struct se_rtt *out)
{
	struct se_hist_info i;
	uint64_t path;
	size_t k;

	memset(out, 0, sizeof(*out));
	if (!h || !h->enabled)
		return false;
	if (se_history_get(h, a, now_ms, &i)) {
		/* What the address itself did lately says it all: a failure
		 * is no handshake time, and its siblings' do not apply. */
		if (i.kind != SE_HIST_CONNECTED || !i.rtt_us)
			return false;
		out->from = SE_RTT_OWN;
		out->srtt_us = i.rtt_us;
		return true;
	}
	for (k = 0; k < n; k++)
		if (!se_addr_equal(&sibs[k], a) &&
		    se_history_get(h, &sibs[k], now_ms, &i) &&
		    i.kind == SE_HIST_CONNECTED && i.rtt_us > out->srtt_us) {
			out->from = SE_RTT_SIBLING;
			out->srtt_us = i.rtt_us;
			out->via = sibs[k];
		}
	if (out->from)
		return true;
	/* Its neighbours' handshakes, learned on the path a takes now (not
	 * with h->lock held: the network may be read). */
	path = path_of(h, a);
	pthread_mutex_lock(&h->lock);
	refresh(h, now_ms);
	for (k = 0; k < SE_HIST_SLOTS; k++) {
		const struct se_hist_entry *e = &h->e[k];

		if (near_handshake(h, e, a, path, now_ms) && e->rtt_us > out->srtt_us) {
			out->from = SE_RTT_PREFIX;
			out->srtt_us = e->rtt_us;
			out->via.family = e->family;
			memcpy(out->via.bytes, e->addr, sizeof(out->via.bytes));
		}
	}
	pthread_mutex_unlock(&h->lock);
	return out->from != SE_RTT_NONE;
}

unsigned se_rtt_delay_ms(const struct se_rtt *r, unsigned ceiling_ms)
{
	uint64_t d;

	if (r->from == SE_RTT_NONE || !r->srtt_us)
		return ceiling_ms;
	d = ((uint64_t)r->srtt_us * 2 + 999) / 1000 + SE_DELAY_MARGIN_MS;
	if (d < SE_DELAY_FLOOR_MS)
		d = SE_DELAY_FLOOR_MS;
	return d < ceiling_ms ? (unsigned)d : ceiling_ms;
}

unsigned se_rtt_silence_ms(const struct se_rtt *r)
{
	uint64_t s = r->from == SE_RTT_NONE ? 0 : ((uint64_t)r->srtt_us * 3 + 999) / 1000;

	if (s < SE_SILENCE_FLOOR_MS)
		s = SE_SILENCE_FLOOR_MS;
	return s > UINT32_MAX ? UINT32_MAX : (unsigned)s;
}

const char *se_rtt_describe(const struct se_rtt *r, unsigned ms, char *buf,
			    size_t len)
{
	char abuf[INET6_ADDRSTRLEN], sbuf[32];
	unsigned us = r->srtt_us;

	if (us < 10000)
		snprintf(sbuf, sizeof(sbuf), "srtt %u.%u ms", us / 1000, us % 1000 / 100);
	else
		snprintf(sbuf, sizeof(sbuf), "srtt %u ms", (us + 500) / 1000);
	switch (r->from) {
	case SE_RTT_OWN:
		snprintf(buf, len, "%u ms from this address's handshakes (%s)", ms, sbuf);
		break;
	case SE_RTT_SIBLING:
		snprintf(buf, len, "%u ms from sibling %s (%s)", ms,
			 se_addr_str(&r->via, abuf, sizeof(abuf)), sbuf);
		break;
	case SE_RTT_PREFIX: {
		struct se_addr p = r->via;

		if (p.family == AF_INET) {
			p.bytes[3] = 0;
		} else {
			memset(p.bytes + 6, 0, 10);
			p.scope_id = 0;
		}
		snprintf(buf, len, "%u ms from %s/%u (%s)", ms,
			 se_addr_str(&p, abuf, sizeof(abuf)),
			 p.family == AF_INET ? 24 : 48, sbuf);
		break;
	}
	default:
		snprintf(buf, len, "%u ms configured", ms);
	}
	return buf;
}
