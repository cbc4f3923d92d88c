/* What the tools' --json output shares. */
#ifndef SOFTERR_TOOLS_JSON_H
#define SOFTERR_TOOLS_JSON_H

/* Writes s to stdout as a JSON string (host and service names come from
 * the user: quotes, backslashes and control characters are escaped). */
void json_str(const char *s);

#endif
