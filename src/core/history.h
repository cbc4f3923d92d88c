/* Address history: what connecting to each address did lately, so that a
 * dead address is paid for once, not by every process.
 *
 * Outcomes (a soft error with its type and code, a hard error, no answer,
 * refused, connected with its handshake time) are kept per address for a
 * bounded time in a bounded table. Shared between the processes of one
 * user through a small fixed-size file (under $XDG_RUNTIME_DIR, mode 0600)
 * read with pread() and written under flock(), so that no descriptor stays
 * open and no mapping can fault: a damaged file, or one of another size,
 * is ignored and rebuilt. A file that is not a regular file of this
 * user's (the effective uid) with mode 0600 or stricter, or a symbolic
 * link, is neither read nor written: it is checked at every read, on the
 * descriptor read from, and the history becomes the process's own.
 *
 * An entry is an address and the path it was learned on (netwatch.h: the
 * gateway, output interface and source address the kernel would use): a
 * lookup finds only the entry of the path the address has now, so that a
 * network change forgets exactly what it affects, and what was learned on
 * a path is used again when the path comes back within the lifetime. An
 * address may have entries on several paths at once (up to
 * SE_HIST_PROBE); they go when they expire or for room. */
#ifndef SOFTERR_CORE_HISTORY_H
#define SOFTERR_CORE_HISTORY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "names.h"
#include "settings.h"

#define SE_HIST_SLOTS 256
/* Records a deferring thread may queue before one is written at once. */
#define SE_HIST_QUEUE 16
#define SE_HIST_PROBE 8		/* slots an address may live in */
#define SE_HIST_MAGIC "SEHIST02"	/* 01: no paths, a fingerprint */
#define SE_HIST_NO_ICMP 0xff	/* icmp_type of an error no ICMP brought */

enum se_hist_kind {
	SE_HIST_NONE = 0,
	SE_HIST_CONNECTED,
	SE_HIST_REFUSED,
	SE_HIST_SOFT,
	SE_HIST_HARD,
	SE_HIST_SILENT,		/* no answer for the attempt delay or longer */
	/* One soft error, on an attempt that then ended at once: it may be
	 * forged (RFC 5461 6), so it demotes nothing; a second soft error
	 * (or any failure) on the address within the lifetime confirms it,
	 * as SE_HIST_SOFT (se_history_record()). */
	SE_HIST_SOFT_ONCE,
	/* A process persisted on the address (the last of its name) after a
	 * soft error, and no SYN-ACK came: later processes do not persist on
	 * it again. A failure. */
	SE_HIST_PERSIST_LOST,
};

/* One address on one path, as stored in the file (48 bytes). */
struct se_hist_entry {
	uint8_t family, kind, icmp_type, icmp_code;
	uint32_t rtt_us;		/* CONNECTED: the handshake's time */
	uint8_t addr[16];
	uint64_t at_ms;			/* CLOCK_BOOTTIME */
	uint64_t path;			/* se_netstate_path(); 0: not known */
	uint32_t check;			/* of the above; 0: a free slot */
	uint32_t pad;
};

struct se_hist_head {
	char magic[8];
	uint32_t slots, entry_size;
	uint8_t boot_id[16];		/* a file from another boot is stale */
	uint64_t generation;		/* one more at each forgetting */
	uint32_t check;
	uint32_t pad;
};

struct se_history {
	pthread_mutex_t lock;	/* after the loop's, before flock() (loop.h) */
	bool enabled;
	uint64_t lifetime_ms;
	char path[256];			/* "": this process only */
	uint8_t boot_id[16];
	/* The paths entries are keyed by (se_history_use_network()); NULL:
	 * every entry's path is 0. */
	struct se_netstate *net;
	/* The table as last read (or, unshared, the table itself), and when
	 * and from what the file was read. */
	struct se_hist_head head;
	struct se_hist_entry e[SE_HIST_SLOTS];
	uint64_t read_at_ms;
	uint64_t file_stamp;		/* size, inode and mtime, mixed */
	/* The debug log, told once why the file is not used; NULL (as
	 * se_history_init() leaves it): not told. */
	const struct se_log_target *log;
	/* Entries of e[] that record a failure, expired or not; read without
	 * the lock by se_history_any_failed(). */
	unsigned failures;
	/* Records made while deferring (se_history_defer_here()), in e[]
	 * already, to be written to the file by se_history_flush(). */
	struct se_hist_queued {
		struct se_addr addr;
		struct se_hist_entry e;		/* as recorded, before merging */
	} queue[SE_HIST_QUEUE];
	unsigned queued;
};

/* What is known of one address. */
struct se_hist_info {
	enum se_hist_kind kind;
	uint8_t icmp_type, icmp_code;
	uint32_t rtt_us;
	uint64_t age_ms;
};

/* Records the calling thread makes from now on (on: true) are kept in
 * memory at once and written to the file later, by se_history_flush(),
 * so that a thread holding a lock the program's threads wait for (the
 * loop's, loop.h) never waits behind another process's flock() on the
 * file. A full queue is written at once. Per thread; off unless set. */
void se_history_defer_here(bool on);
/* Writes the queued records to the file (one flock()), each merged with
 * what the file holds then, as se_history_record() would have. Call it
 * with no lock of the library's held. */
void se_history_flush(struct se_history *h);

/* path NULL or "": kept in this process only. Never fails: a file that
 * cannot be used makes the history this process's own (said to h->log,
 * which the caller may set afterwards). */
void se_history_init(struct se_history *h, bool enabled, uint64_t lifetime_ms,
		     const char *path);

/* Where a user's shared history may live (the roots are parameters for
 * the tests; the libraries pass "/run/user", "/run" and "/tmp"). */
struct se_history_places {
	const char *configured;		/* the history_path setting, or NULL */
	const char *runtime_dir;	/* $XDG_RUNTIME_DIR, or NULL */
	const char *run_user;		/* run_user/UID: the user's runtime dir */
	const char *run;		/* run/softerr: root's */
	const char *tmp;		/* tmp/softerr-UID: everyone else's */
};

/* The file for this user, the first that can be used of: the history_path
 * setting (in a directory of the user's or root's that no one else may
 * write to), $XDG_RUNTIME_DIR/softerr/history, /run/user/UID/softerr/history,
 * for root /run/softerr/history, else /tmp/softerr-UID/history. Every
 * directory is the user's, reached without a symbolic link, and closed to
 * others (0700; the last one is made so when missing). Returns true with
 * buf the file and why the choice ("PATH (XDG_RUNTIME_DIR)"), or false
 * with buf "" and why the reason ("off: /tmp/softerr-1000 belongs to user
 * 1001"), for the log and softerr-probe. */
bool se_history_locate(const struct se_history_places *p, char *buf, size_t len,
		       char *why, size_t why_len);

/* Where a process shares its history under settings s (history,
 * history_share, history_path): se_history_locate() with the system's
 * roots, or none (buf "") when secure (secure-execution mode), the
 * history is off, or not shared. why says which, for the log, the API's
 * report and softerr-probe. Returns whether buf names a file. */
bool se_history_choose(const struct se_settings *s, bool secure,
		       const char *runtime_dir, char *buf, size_t len,
		       char *why, size_t why_len);

struct se_netstate;

/* Keys h's entries by the paths ns chooses (netwatch.h); without it, or
 * while ns cannot read the network, the path is 0 for every address. */
void se_history_use_network(struct se_history *h, struct se_netstate *ns);

/* What happened to a on the path it has now, within the lifetime; false
 * when nothing is known. */
bool se_history_get(struct se_history *h, const struct se_addr *a,
		    uint64_t now_ms, struct se_hist_info *out);

/* Records a's latest outcome, on the path it has now. SE_HIST_SOFT_ONCE on an address whose
 * live entry is a failure or SE_HIST_SOFT_ONCE is recorded as SE_HIST_SOFT
 * (confirmed), and leaves an SE_HIST_PERSIST_LOST entry as it is. */
void se_history_record(struct se_history *h, const struct se_addr *a,
		       enum se_hist_kind kind, uint8_t icmp_type,
		       uint8_t icmp_code, uint32_t rtt_us, uint64_t now_ms);

/* Forgets everything, on every path, in the file too. */
void se_history_forget(struct se_history *h);

/* Forgets every entry of a (the family and the bytes; the scope is not
 * kept), in the shared file too, under its lock; a missing file is not
 * made. Returns 1 when an entry was held (within the lifetime or not), 0
 * when none was, -1 when the shared file is refused (said to h->log) or
 * cannot be written: the history is then this process's own. */
int se_history_forget_addr(struct se_history *h, const struct se_addr *a);

/* One entry, for se_history_each(): return false to stop. */
typedef bool se_history_each_fn(const struct se_addr *a,
				const struct se_hist_info *i, void *arg);

/* Gives fn each entry known within the lifetime as of now_ms, the shared
 * file read afresh, in the table's order (no other). fn runs without the
 * history's lock, and may call into it. Returns how many entries fn was
 * given, or -1 with errno EPERM when the shared file is refused (not a
 * regular file of this user's with mode 0600 or stricter, or a symbolic
 * link: said to h->log, and the history is then this process's own), or
 * EBADMSG when it is damaged, of another size or from another boot: then
 * nothing in it is known, as for every reader, and the next write
 * rebuilds it. A missing file holds nothing: 0. */
int se_history_each(struct se_history *h, uint64_t now_ms,
		    se_history_each_fn *fn, void *arg);

/* Might the table hold a failure or an unconfirmed soft error? Lock-free
 * and as of the last look at the file: false lets the healthy path skip
 * asking about its address. */
bool se_history_any_failed(const struct se_history *h);

/* Is a's latest outcome a failure within the lifetime? */
bool se_history_failed(const struct se_hist_info *i);

/* Does a's latest outcome want a successful connect recorded to correct
 * it (a failure, or an unconfirmed soft error)? */
bool se_history_doubtful(const struct se_hist_info *i);

/* Puts addrs[0..n) in the history's order, in place: the addresses that
 * failed lately after the others, each group in its own order (a stable
 * partition: nothing is dropped, families stay interleaved as they came).
 * order[i] (n entries) is where the i-th came from, for the caller's own
 * arrays; why[i] (may be NULL) what the history knew of it. One lookup
 * per address. Returns how many failed (they are the last ones). */
size_t se_history_order(struct se_history *h, struct se_addr *addrs, size_t n,
			uint64_t now_ms, size_t *order, struct se_hist_info *why);

/* "no answer 40 s ago", "soft host-unreachable 3 s ago", "persisted and
 * lost 20 s ago", for the log. */
const char *se_history_describe(const struct se_hist_info *i, int family,
				char *buf, size_t len);

/* CLOCK_BOOTTIME in milliseconds: comparable between processes, and it
 * goes on during suspend. */
uint64_t se_boot_ms(void);

/* --- Handshake times: attempt delays and the weight of a silence --------- */

/* Records that a connected, its handshake having taken sample_us: the
 * entry's rtt_us becomes the smoothed handshake time (SRTT, RFC 6298's
 * gain of 1/8) of the samples while the address keeps connecting; the
 * first sample, or one after a failure, starts it anew. */
void se_history_handshake(struct se_history *h, const struct se_addr *a,
			  uint32_t sample_us, uint64_t now_ms);

/* srtt_us after one more sample (srtt_us 0: none yet). */
uint32_t se_hist_smooth(uint32_t srtt_us, uint32_t sample_us);

/* Where a handshake time came from. */
enum se_rtt_from {
	SE_RTT_NONE = 0,	/* nothing known: the configured delay */
	SE_RTT_OWN,		/* the address's own handshakes */
	SE_RTT_SIBLING,		/* another address of the name (via) */
	SE_RTT_PREFIX,		/* an address of the same /24 or /48 (via) */
};

struct se_rtt {
	enum se_rtt_from from;
	uint32_t srtt_us;
	struct se_addr via;	/* SIBLING, PREFIX: the address it is of */
};

/* The handshake time a is expected to show, within the lifetime: its own
 * smoothed one; else the longest of the other addresses sibs[0..n) (its
 * name's, a among them or not) that connected lately; else the longest of
 * the addresses of a's /24 (IPv4) or /48 (IPv6) that did. The longest:
 * a delay or a patience too short costs a needless SYN or a live address
 * put last, one too long only what it costs without the history. False
 * (out->from SE_RTT_NONE) when none is known. */
bool se_history_rtt(struct se_history *h, const struct se_addr *a,
		    const struct se_addr *sibs, size_t n, uint64_t now_ms,
		    struct se_rtt *out);

#define SE_DELAY_FLOOR_MS 10	/* RFC 8305 section 5: never sooner */
#define SE_DELAY_MARGIN_MS 5
#define SE_SILENCE_FLOOR_MS 100	/* RFC 8305's recommended minimum delay */

/* The attempt delay after an address expected to answer in r: twice its
 * handshake time (RFC 6298's bound SRTT + 4 RTTVAR for a variation of a
 * quarter of the time; the history keeps no variation) plus
 * SE_DELAY_MARGIN_MS for the scheduling of this process and the peer's,
 * within [SE_DELAY_FLOOR_MS, ceiling_ms]; ceiling_ms (attempt_delay)
 * when nothing is known. */
unsigned se_rtt_delay_ms(const struct se_rtt *r, unsigned ceiling_ms);

/* How long an attempt to an address expected to answer in r must have
 * been silent for its end to teach the history "no answer": three of its
 * handshake times, and never less than SE_SILENCE_FLOOR_MS (also when
 * nothing is known): a program that gives up sooner judged by a delay
 * no Happy Eyeballs implementation uses, not by the address. */
unsigned se_rtt_silence_ms(const struct se_rtt *r);

/* "23 ms from this address's handshakes (srtt 9 ms)", "15 ms from sibling
 * 203.0.113.20 (srtt 5 ms)", "10 ms from 203.0.113.0/24 (srtt 0.4 ms)",
 * "250 ms configured": the delay ms and where r says it came from, for
 * the log, the API's report and softerr-probe. */
const char *se_rtt_describe(const struct se_rtt *r, unsigned ms, char *buf,
			    size_t len);

#endif
