/* What the program set on its TCP sockets before connect(): the options
 * (setsockopt) and the local address (bind), so that a parallel attempt on a
 * private socket can carry them, and a winner put in the program's place
 * looks like the socket it set up.
 *
 * Records are kept, in the per-descriptor table (fdtab.h), for every
 * descriptor number that socket() created as a TCP stream socket; socket()
 * starts a fresh record for its descriptor, which is what makes a record
 * belong to the socket now behind that number. No locks: each record has a busy flag, and a record that two
 * threads touch at once is marked unusable rather than waited for (async-
 * signal-safe, as setsockopt() and bind() are). */
#ifndef SOFTERR_CORE_SOCKREC_H
#define SOFTERR_CORE_SOCKREC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define SE_SOCKREC_OPTS 12
#define SE_SOCKREC_VAL 16

struct se_sockopt {
	int level, name;
	socklen_t len;
	uint8_t val[SE_SOCKREC_VAL];
};

struct se_sockrec {
	bool tracked;		/* created by socket() as a TCP stream socket */
	bool fresh;		/* ... and not given to connect() yet */
	bool unusable;		/* something could not be recorded */
	bool bound;
	uint8_t n;
	struct sockaddr_in6 local;	/* what bind() was given (either family) */
	socklen_t local_len;
	struct se_sockopt opt[SE_SOCKREC_OPTS];
};

/* socket() returned fd for (domain, type, protocol): starts or ends its
 * record. */
void se_sockrec_socket(int fd, int domain, int type, int protocol);
/* Did socket() make fd as a TCP stream socket (AF_INET or AF_INET6,
 * protocol 0 or IPPROTO_TCP)? False when it is not known. */
bool se_sockrec_is_tcp(int fd);
/* Is fd such a socket that connect() has not been called for yet? */
bool se_sockrec_fresh(int fd);
/* connect() is called for fd. */
void se_sockrec_connect(int fd);
/* setsockopt()/bind() succeeded on fd: adds to its record. */
void se_sockrec_setsockopt(int fd, int level, int name, const void *val,
			   socklen_t len);
void se_sockrec_bind(int fd, const struct sockaddr *sa, socklen_t len);

/* Copies fd's record into out. Returns 0 when out can be trusted (a record
 * of this socket, complete), -1 when nothing is known for sure. */
int se_sockrec_get(int fd, struct se_sockrec *out);

/* The local port the program bound (network order), 0 if none. */
uint16_t se_sockrec_port(const struct se_sockrec *rec);

/* Gives the private socket fd (of family) what rec holds: the options in
 * the order the program set them (IP_TOS and IP_TTL mapped to IPV6_TCLASS
 * and IPV6_UNICAST_HOPS across families), then the local address. Returns
 * 0, or -1 with *why saying what could not be carried over. */
int se_sockrec_apply(const struct se_sockrec *rec, int fd, int family,
		     const char **why);

/* Resets every record, and the rest of the per-descriptor table (tests). */
void se_sockrec_reset(void);

#endif
