/* Table-driven classification of ICMP errors, RFC 5461 Table 1. */
#include "config.h"

#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <stdio.h>
#include <string.h>
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

enum se_icmp_class se_icmp_classify_by(const struct se_icmp_rules *rules,
				       int family, uint8_t type, uint8_t code)
{
	const struct se_icmp_rule *by_type = NULL;
	uint8_t f6 = family == AF_INET6;
	unsigned i;

	if (rules && (family == AF_INET || family == AF_INET6)) {
		for (i = rules->n; i-- > 0;) {
			const struct se_icmp_rule *r = &rules->rule[i];

			if (r->family6 != f6 || r->type != type)
				continue;
			if (r->code == code)
				return (enum se_icmp_class)r->cls;
			if (r->code == SE_ICMP_ANY_CODE && !by_type)
				by_type = r;
		}
		if (by_type)
			return (enum se_icmp_class)by_type->cls;
	}
	return se_icmp_classify(family, type, code);
}

/* A number from 0 to 255 ending at *end. */
static int parse_byte(const char *p, const char **end, unsigned *out)
{
	unsigned n = 0;
	const char *q = p;

	while (*q >= '0' && *q <= '9' && q - p < 4)
		n = n * 10 + (unsigned)(*q++ - '0');
	if (q == p || n > 255)
		return -1;
	*end = q;
	*out = n;
	return 0;
}

/* One word of a rule list: TYPE, TYPE/CODE or a name of the table. */
static int parse_message(int family, const char *w, size_t len,
			 struct se_icmp_rule *out)
{
	const struct icmp_row *rows = family == AF_INET6 ? icmp6_rows : icmp4_rows;
	size_t n = family == AF_INET6 ? sizeof(icmp6_rows) / sizeof(icmp6_rows[0]) :
		   sizeof(icmp4_rows) / sizeof(icmp4_rows[0]);
	const char *end;
	unsigned type, code;
	size_t i;

	if (*w >= '0' && *w <= '9') {
		if (parse_byte(w, &end, &type) < 0)
			return -1;
		out->type = (uint8_t)type;
		out->code = SE_ICMP_ANY_CODE;
		if (end < w + len && *end == '/') {
			if (parse_byte(end + 1, &end, &code) < 0)
				return -1;
			out->code = (uint16_t)code;
		}
		return end == w + len ? 0 : -1;
	}
	for (i = 0; i < n; i++)
		if (strlen(rows[i].name) == len && strncmp(rows[i].name, w, len) == 0) {
			out->type = rows[i].type;
			out->code = rows[i].code;
			return 0;
		}
	return -1;
}

int se_icmp_rules_set(struct se_icmp_rules *rules, int family,
		      enum se_icmp_class cls, const char *text)
{
	struct se_icmp_rules next;
	uint8_t f6 = family == AF_INET6;
	const char *p = text;
	unsigned i;

	next.n = 0;
	for (i = 0; i < rules->n; i++)
		if (rules->rule[i].family6 != f6 || rules->rule[i].cls != cls)
			next.rule[next.n++] = rules->rule[i];
	for (;;) {
		struct se_icmp_rule r = { .family6 = f6, .cls = (uint8_t)cls };
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		len = strcspn(p, " \t,");
		if (parse_message(family, p, len, &r) < 0 ||
		    next.n >= SE_ICMP_RULES_MAX)
			return -1;
		next.rule[next.n++] = r;
		p += len;
	}
	*rules = next;
	return 0;
}
