#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every configuration key the daemon knows is documented in
# ksmvirtd.conf(5), and the example file lists them all.
set -u
top=${KSMVIRT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
keys=$("$top/build/ksmvirt" balance --print-config --config /dev/null) || { echo "FAIL: --print-config"; exit 1; }
rc=0
group=
while read -r line; do
	case "$line" in
	\[*\]) group=$line; grep -qF ".SS $group" "$top/doc/ksmvirtd.conf.5" || { echo "FAIL: $group undocumented"; rc=1; } ;;
	*=*) key=${line%% =*}
	     grep -qE "(^\.BR | )$key \"" "$top/doc/ksmvirtd.conf.5" || { echo "FAIL: $group $key undocumented"; rc=1; }
	     grep -qF "# $line" "$top/doc/ksmvirtd.conf.example" || { echo "FAIL: $group $key not in the example"; rc=1; } ;;
	esac
done <<<"$keys"
n=$(grep -c ' = ' <<<"$keys")
[ "$rc" = 0 ] && echo "ok: $n keys documented"
exit $rc
