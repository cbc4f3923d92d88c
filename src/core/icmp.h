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

/* A configuration's changes to the table: each rule names a type, or a type
 * and code, of one family and the class it has instead. */
#define SE_ICMP_RULES_MAX 16
#define SE_ICMP_ANY_CODE 0xffff

struct se_icmp_rule {
	uint8_t family6;	/* 1: ICMPv6 */
	uint8_t type;
	uint16_t code;		/* SE_ICMP_ANY_CODE: every code of the type */
	uint8_t cls;		/* enum se_icmp_class */
};

struct se_icmp_rules {
	unsigned n;
	struct se_icmp_rule rule[SE_ICMP_RULES_MAX];
};

/* The class under rules (may be NULL): the last rule that names the
 * message (type and code before type alone), else the table. */
enum se_icmp_class se_icmp_classify_by(const struct se_icmp_rules *rules,
				       int family, uint8_t type, uint8_t code);

/* Makes the messages listed in text ("3/1 net-unreachable 12", separated by
 * spaces or commas: TYPE/CODE, TYPE for every code, or a name of the
 * table) of family have class cls, replacing the rules an earlier call gave
 * for this family and class. An empty list only removes them. Returns 0,
 * or -1 (rules untouched) for a word that is no message or too many rules. */
int se_icmp_rules_set(struct se_icmp_rules *rules, int family,
		      enum se_icmp_class cls, const char *text);

/* A short name for the log, such as "host-unreachable" or "ttl-exceeded";
 * never NULL ("type-42" style names are written into buf, of size len, for
 * what the table does not know). */
const char *se_icmp_name(int family, uint8_t type, uint8_t code,
			 char *buf, size_t len);

const char *se_icmp_class_name(enum se_icmp_class c);

#endif
