/* ICMP and ICMPv6 errors as a connecting TCP socket sees them.
 *
 * RFC 5461 Table 1 names the soft errors; every other error that can reach a
 * connecting TCP socket is hard, and so is anything this table does not know.
 * Messages about the path MTU carry no verdict on reachability at all. */
#ifndef SOFTERR_CORE_ICMP_H
#define SOFTERR_CORE_ICMP_H

#include <stdint.h>
#include <stddef.h>

enum se_icmp_class {
	SE_ICMP_HARD = 0,	/* ends an attempt under every policy */
	SE_ICMP_SOFT,		/* RFC 5461 Table 1: the policy decides */
	SE_ICMP_IGNORE,		/* path MTU signalling: not about reachability */
};

/* family is AF_INET (ICMP) or AF_INET6 (ICMPv6); any other family is hard. */
enum se_icmp_class se_icmp_classify(int family, uint8_t type, uint8_t code);

/* A short name for the log, such as "host-unreachable" or "ttl-exceeded";
 * never NULL ("type-42" style names are written into buf, of size len, for
 * what the table does not know). */
const char *se_icmp_name(int family, uint8_t type, uint8_t code,
			 char *buf, size_t len);

const char *se_icmp_class_name(enum se_icmp_class c);

#endif
