#!/bin/bash
# Smoke test: the module loads with one device, that device is a V4L2 node
# whose driver calls itself "v4l2 loopback" (what v4l2loopback users and tools
# match on), and the module unloads again, taking the node with it.
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

# Other drivers may own nodes already (the clang kernel has vim2m built in):
# the module's node is the one that appears with it.
nodes() { find /dev -maxdepth 1 -name 'video*' -type c | sort; }
before=$(nodes)

lc_load devices=1
new=
for _ in $(seq 50); do
	new=$(comm -13 <(printf '%s\n' "$before") <(nodes))
	[ -z "$new" ] || break
	sleep 0.1
done
got=$(printf '%s' "$new" | tr '\n' ' ')
lc_check "exactly one new /dev/video node (got: ${got:-none})" test "$(printf '%s' "$new" | grep -c .)" -eq 1
dev=$new
lc_wait_dev "$dev"

info=$(v4l2-ctl -D -d "$dev")
printf '%s\n' "$info"
lc_check "$dev reports driver name \"v4l2 loopback\"" \
	grep -Eq '^[[:space:]]*Driver name[[:space:]]*: v4l2 loopback$' <<<"$info"

lc_unload
lc_check "$dev is gone after unload" test ! -e "$dev"
