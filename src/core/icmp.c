/* Table-driven classification of ICMP errors, RFC 5461 Table 1. */
#include "config.h"

#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <stdio.h>
#include <sys/socket.h>

#include "icmp.h"

#define ANY_CODE 0xffff

struct icmp_row {
	uint8_t type;
	uint16_t code;		/* ANY_CODE: every code of the type */
	enum se_icmp_class class;
	const char *name;
};

static const struct icmp_row icmp4_rows[] = {
	{ ICMP_DEST_UNREACH, ICMP_NET_UNREACH,    SE_ICMP_SOFT,   "net-unreachable" },
	{ ICMP_DEST_UNREACH, ICMP_HOST_UNREACH,   SE_ICMP_SOFT,   "host-unreachable" },
	{ ICMP_DEST_UNREACH, ICMP_PROT_UNREACH,   SE_ICMP_HARD,   "protocol-unreachable" },
	{ ICMP_DEST_UNREACH, ICMP_PORT_UNREACH,   SE_ICMP_HARD,   "port-unreachable" },
	{ ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,    SE_ICMP_IGNORE, "frag-needed" },
	{ ICMP_DEST_UNREACH, ICMP_SR_FAILED,      SE_ICMP_SOFT,   "source-route-failed" },
	{ ICMP_DEST_UNREACH, ICMP_NET_UNKNOWN,    SE_ICMP_HARD,   "net-unknown" },
	{ ICMP_DEST_UNREACH, ICMP_HOST_UNKNOWN,   SE_ICMP_HARD,   "host-unknown" },
	{ ICMP_DEST_UNREACH, ICMP_HOST_ISOLATED,  SE_ICMP_HARD,   "host-isolated" },
	{ ICMP_DEST_UNREACH, ICMP_NET_ANO,        SE_ICMP_HARD,   "net-prohibited" },
	{ ICMP_DEST_UNREACH, ICMP_HOST_ANO,       SE_ICMP_HARD,   "host-prohibited" },
	{ ICMP_DEST_UNREACH, ICMP_NET_UNR_TOS,    SE_ICMP_HARD,   "net-unreachable-tos" },
	{ ICMP_DEST_UNREACH, ICMP_HOST_UNR_TOS,   SE_ICMP_HARD,   "host-unreachable-tos" },
	{ ICMP_DEST_UNREACH, ICMP_PKT_FILTERED,   SE_ICMP_HARD,   "admin-prohibited" },
	{ ICMP_DEST_UNREACH, ICMP_PREC_VIOLATION, SE_ICMP_HARD,   "precedence-violation" },
	{ ICMP_DEST_UNREACH, ICMP_PREC_CUTOFF,    SE_ICMP_HARD,   "precedence-cutoff" },
	{ ICMP_TIME_EXCEEDED, ICMP_EXC_TTL,       SE_ICMP_SOFT,   "ttl-exceeded" },
	{ ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME,  SE_ICMP_SOFT,   "reassembly-time-exceeded" },
	{ ICMP_PARAMETERPROB, ANY_CODE,           SE_ICMP_SOFT,   "parameter-problem" },
	{ ICMP_SOURCE_QUENCH, ANY_CODE,           SE_ICMP_IGNORE, "source-quench" },
};

static const struct icmp_row icmp6_rows[] = {
	{ ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOROUTE,     SE_ICMP_SOFT,   "no-route" },
	{ ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADMIN,       SE_ICMP_HARD,   "admin-prohibited" },
	{ ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_BEYONDSCOPE, SE_ICMP_HARD,   "beyond-scope" },
	{ ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR,        SE_ICMP_SOFT,   "address-unreachable" },
	{ ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT,      SE_ICMP_HARD,   "port-unreachable" },
	{ ICMP6_DST_UNREACH, 5,                             SE_ICMP_HARD,   "policy-failed" },
	{ ICMP6_DST_UNREACH, 6,                             SE_ICMP_HARD,   "reject-route" },
	{ ICMP6_PACKET_TOO_BIG, ANY_CODE,                   SE_ICMP_IGNORE, "packet-too-big" },
	{ ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEED_TRANSIT,   SE_ICMP_SOFT,   "hop-limit-exceeded" },
	{ ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEED_REASSEMBLY, SE_ICMP_SOFT,  "reassembly-time-exceeded" },
	{ ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER,         SE_ICMP_SOFT,   "bad-header-field" },
	{ ICMP6_PARAM_PROB, ICMP6_PARAMPROB_NEXTHEADER,     SE_ICMP_SOFT,   "unknown-next-header" },
	{ ICMP6_PARAM_PROB, ICMP6_PARAMPROB_OPTION,         SE_ICMP_SOFT,   "unknown-option" },
};

static const struct icmp_row *find_row(int family, uint8_t type, uint8_t code)
{
	const struct icmp_row *rows;
	size_t n, i;

	if (family == AF_INET) {
		rows = icmp4_rows;
		n = sizeof(icmp4_rows) / sizeof(icmp4_rows[0]);
	} else if (family == AF_INET6) {
		rows = icmp6_rows;
		n = sizeof(icmp6_rows) / sizeof(icmp6_rows[0]);
	} else {
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (rows[i].type == type &&
		    (rows[i].code == ANY_CODE || rows[i].code == code))
			return &rows[i];
	return NULL;
}

enum se_icmp_class se_icmp_classify(int family, uint8_t type, uint8_t code)
{
	const struct icmp_row *row = find_row(family, type, code);

	return row ? row->class : SE_ICMP_HARD;
}

const char *se_icmp_name(int family, uint8_t type, uint8_t code,
			 char *buf, size_t len)
{
	const struct icmp_row *row = find_row(family, type, code);

	if (row)
		return row->name;
	snprintf(buf, len, "%s-type-%u-code-%u",
		 family == AF_INET6 ? "icmp6" : "icmp", type, code);
	return buf;
}

const char *se_icmp_class_name(enum se_icmp_class c)
{
	switch (c) {
	case SE_ICMP_SOFT:
		return "soft";
	case SE_ICMP_IGNORE:
		return "pmtu";
	case SE_ICMP_HARD:
		break;
	}
	return "hard";
}
