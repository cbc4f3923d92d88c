#!/bin/sh
# The manual pages pass mandoc's linter and groff's warnings: a page that
# warns fails the check.
set -u
top_builddir=${top_builddir:-.}
status=0
for page in $MAN_PAGES; do
	out=$(mandoc -T lint -W warning "$top_builddir/$page" 2>&1)
	if [ -n "$out" ]; then
		printf '%s\n' "$out"
		status=1
	fi
	if command -v groff >/dev/null 2>&1; then
		out=$(groff -man -ww -z "$top_builddir/$page" 2>&1)
		if [ -n "$out" ]; then
			printf '%s\n' "$out"
			status=1
		fi
	fi
	[ $status = 0 ] && echo "ok - $page"
done
exit $status
