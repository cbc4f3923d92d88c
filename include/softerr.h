/* softerr: TCP's reaction to ICMP soft errors, RFC 5461, for every program.
 *
 * Programs get it without change through LD_PRELOAD (libsofterr(7)). This
 * header is the API of the same engine for programs that want it by name
 * (link with -lsofterr-api; pkg-config softerr): connect to a host and service,
 * failing over and racing as the policy says, and learn, on request, what
 * each address did. See softerr_connect(3). */
#ifndef SOFTERR_H
#define SOFTERR_H

#include <stddef.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SOFTERR_VERSION_MAJOR 0
#define SOFTERR_VERSION_MINOR 1
#define SOFTERR_VERSION_PATCH 0

/* Settings for softerr_connect(): opaque, made by softerr_options_new(). */
struct softerr_options;

/* The built-in defaults, no file read. NULL with errno ENOMEM. */
struct softerr_options *softerr_options_new(void);

/* Reads a configuration file (softerr.conf(5)) into o: path, or with NULL
 * the file the preloaded library would read, and the SOFTERR_* environment
 * after it, as the library does; "" for none. Faults are said on standard
 * error, naming file and line, and leave defaults, as in the library.
 * Returns 0, or -1 with errno (ENOENT: path given and missing). */
int softerr_options_load(struct softerr_options *o, const char *path);

/* Sets one setting, by its softerr.conf(5) key ("policy", "attempt_delay",
 * "icmp_soft", ...), for every destination: it wins over the file. Also
 * "family": "any" (default), "ipv4" or "ipv6". Returns 0, or -1 with errno
 * EINVAL (unknown key or bad value: o is unchanged). */
int softerr_options_set(struct softerr_options *o, const char *key,
			const char *value);

void softerr_options_free(struct softerr_options *o);

/* What became of one address. */
enum softerr_outcome {
	SOFTERR_NOT_TRIED = 0,	/* another address connected first */
	SOFTERR_CONNECTED,
	SOFTERR_REFUSED,	/* a TCP reset: nothing listens */
	SOFTERR_SOFT_ERROR,	/* an ICMP soft error ended it (the policy) */
	SOFTERR_HARD_ERROR,	/* an ICMP hard error or a local error */
	SOFTERR_NO_ANSWER,	/* silent; the next address was started */
	SOFTERR_CANCELLED,	/* still trying when another connected */
	SOFTERR_TIMED_OUT,	/* the establishment timer ran out */
	SOFTERR_INTERRUPTED,	/* a signal interrupted the call */
	SOFTERR_NO_SOCKET,	/* no socket could be made for it */
};

/* One address, in the order the attempts started (addresses never tried
 * come last, in the resolver's order). Times in milliseconds since the
 * connect began (after the name was resolved). */
struct softerr_attempt {
	struct sockaddr_storage address;	/* with the port */
	socklen_t address_len;
	enum softerr_outcome outcome;
	int error;			/* the errno it ended with; 0 connected */
	double started_ms, ended_ms;	/* -1: not started, not ended */
	unsigned syns;			/* SYNs sent, retransmissions included */
	unsigned icmp_errors;		/* ICMP errors received */
	/* The last ICMP error, when icmp_errors > 0. */
	int icmp_family;		/* AF_INET: ICMP; AF_INET6: ICMPv6 */
	int icmp_type, icmp_code;
	int icmp_soft;			/* 1: soft (RFC 5461 Table 1 or the
					 * configuration), 0: hard or PMTU */
	char icmp_name[40];		/* "host-unreachable" */
	struct sockaddr_storage icmp_from;	/* the router that sent it */
	socklen_t icmp_from_len;	/* 0: not known */
	/* When the address history put this address last: what it knew,
	 * "no answer 40 s ago"; "" otherwise. */
	char history[64];
};

struct softerr_report {
	char host[256], service[64];
	char policy[16];		/* the policy in force */
	int error;			/* 0 connected; else the errno returned */
	int resolve_error;		/* getaddrinfo()'s EAI_*, 0 resolved */
	double resolve_ms;		/* time getaddrinfo() took */
	double elapsed_ms;		/* connect time, after resolve_ms */
	int connected;			/* index in attempts[] of the winner, -1 */
	size_t n_attempts;		/* one per address of the name */
	struct softerr_attempt *attempts;
	/* Where the address history shared with the user's other processes
	 * lives ("/run/user/1000/softerr/history (XDG_RUNTIME_DIR)"), or
	 * why there is none ("off: ..."). */
	char history[320];
	/* The delay before the second address started (or would have), and
	 * where it came from: "15 ms from sibling 203.0.113.20 (srtt 5.0
	 * ms)", "250 ms configured" (libsofterr(7)). delay_ms -1 and ""
	 * when the first address answered before one was needed. */
	int delay_ms;
	char delay[128];
};

/* Connects a TCP socket to host (a name or a numeric address) and service
 * (a name or a port number) with softerr's engine and o's settings (NULL:
 * the defaults): the name's addresses are tried in the resolver's order,
 * families interleaved, failing over on soft errors as the policy says and
 * starting the next address after attempt_delay of silence.
 *
 * Returns a connected, blocking, close-on-exec descriptor, or -1 with errno
 * (the most informative error of the attempts; ENXIO when the name could
 * not be resolved, the report saying why). When report is not NULL, *report
 * is set (also on failure, NULL only when out of memory) and must be freed
 * with softerr_report_free(). Thread-safe. */
int softerr_connect(const char *host, const char *service,
		    const struct softerr_options *o,
		    struct softerr_report **report);

void softerr_report_free(struct softerr_report *r);

/* "connected", "soft-error", ... ; "?" for a value not in the enum. */
const char *softerr_outcome_name(enum softerr_outcome outcome);

#ifdef __cplusplus
}
#endif

#endif
