#!/bin/bash
# params: module parameters, checked at load time.
#
# Bad values fail the load: insmod exits non-zero, the module is not loaded
# and the kernel log names the parameter (exact message). Boundary values
# load. devices=0 creates no video node (the control device is still there);
# video_nr picks node numbers; split_nodes with capture_nr puts the capture
# node at that number; card_label is QUERYCAP's card. max_readers=2: a third
# reader gets EBUSY at REQBUFS. max_openers=3: producer + readers are limited
# to 3 while 100 plain opens of the node still work.
set -uo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

P=$LOOPCAM_BUILD/tests/vm/progs
PROBE=$P/lc-probe
PRODUCE=$P/lc-produce
CONSUME=$P/lc-consume

nodes() { find /dev -maxdepth 1 -name 'video*' -type c | sort; }
# new_nodes: video nodes that were not there before the module was loaded
before=$(nodes)
new_nodes() { comm -13 <(printf '%s\n' "$before") <(nodes) | grep . ; }

# load_fails "MESSAGE" PARAM...: insmod fails, module absent, MESSAGE logged.
load_fails() {
	local msg=$1 n rc=0 log
	shift
	n=$(dmesg | wc -l)
	insmod "$LOOPCAM_MODULE" "$@" 2>"$LOGS/insmod.err" || rc=$?
	log=$(dmesg | tail -n +$((n + 1)))
	if [ "$rc" -eq 0 ]; then
		lc_fail "insmod $* is refused (it loaded)"
		rmmod "$LC_MODULE_NAME"
		return 1
	fi
	lc_pass "insmod $* is refused (exit $rc: $(head -c 200 "$LOGS/insmod.err" | tr '\n' ' '))"
	if lc_loaded; then
		lc_fail "module not loaded after the refused insmod $*"
		rmmod "$LC_MODULE_NAME"
	else
		lc_pass "module not loaded after the refused insmod $*"
	fi
	if grep -qF -- "$msg" <<<"$log"; then
		lc_pass "kernel log for $*: '$msg'"
	else
		lc_fail "kernel log for $* should say '$msg'; it says: $(tr '\n' '|' <<<"$log")"
	fi
}

# load_ok PARAM...: loads (then the caller checks and unloads).
load_ok() { lc_load "$@" && lc_wait_dev "${LC_WAIT_FOR:-/dev/v4l2loopback}"; }

label31=abcdefghijklmnopqrstuvwxyz01234
label32=${label31}5

# ---- rejected -------------------------------------------------------------------
load_fails "v4l2loopback: max_buffers=1: must be 2..32" max_buffers=1
load_fails "v4l2loopback: max_buffers=33: must be 2..32" max_buffers=33
load_fails "v4l2loopback: max_openers=0: must be 1..1024" max_openers=0
load_fails "v4l2loopback: max_openers=1025: must be 1..1024" max_openers=1025
load_fails "v4l2loopback: devices=65: must be 0..64" devices=65
load_fails "v4l2loopback: devices=-2: must be 0..64" devices=-2
load_fails "v4l2loopback: max_width/max_height must be 2..16384" max_width=1
load_fails "v4l2loopback: max_width/max_height must be 2..16384" max_height=16385
load_fails "v4l2loopback: default_format[0]='XXXX:1x1@0': expected FOURCC:WxH@fps" \
	default_format=XXXX:1x1@0
load_fails "v4l2loopback: default_format[0]='YUYV:640x480@0': expected FOURCC:WxH@fps" \
	default_format=YUYV:640x480@0
load_fails "v4l2loopback: default_format[0]='YUYV:1x480@30': expected FOURCC:WxH@fps" \
	default_format=YUYV:1x480@30
load_fails "v4l2loopback: card_label[0] longer than 31 characters" card_label=$label32
load_fails "v4l2loopback: max_openers must be 1..1024 and max_readers 1..max_openers" \
	max_openers=4 max_readers=5
load_fails "v4l2loopback: output and capture node need different numbers" \
	split_nodes=1 video_nr=9 capture_nr=9
load_fails "invalid for parameter \`max_buffers'" max_buffers=abc

# ---- accepted boundaries -----------------------------------------------------------
for p in max_buffers=2 max_buffers=32 max_openers=1024 max_width=16384; do
	if load_ok "$p"; then
		expect_eq "$p: new video nodes" "$(new_nodes | wc -l)" 1
		lc_unload
	fi
done
if load_ok devices=64; then
	expect_eq "devices=64: new video nodes" "$(new_nodes | wc -l)" 64
	lc_unload
fi

# ---- devices=0 ----------------------------------------------------------------------
if load_ok devices=0; then
	expect_eq "devices=0: new video nodes" "$(new_nodes | tr '\n' ' ')" ""
	lc_check "devices=0: control device /dev/v4l2loopback exists" test -c /dev/v4l2loopback
	lc_unload
fi

# ---- video_nr -----------------------------------------------------------------------
if LC_WAIT_FOR=/dev/video7 load_ok video_nr=5,7; then
	expect_eq "video_nr=5,7: new video nodes" "$(new_nodes | tr '\n' ' ')" "/dev/video5 /dev/video7 "
	for d in /dev/video5 /dev/video7; do
		expect_eq "$d is a loopback node" "$("$PROBE" caps $d | kv driver)" "v4l2 loopback"
	done
	lc_unload
fi

# ---- split_nodes + capture_nr ---------------------------------------------------------
if LC_WAIT_FOR=/dev/video9 load_ok split_nodes=1 capture_nr=9; then
	new=$(new_nodes | tr '\n' ' ')
	lc_check "split_nodes=1 capture_nr=9: two new nodes, one is /dev/video9 ($new)" \
		sh -c "[ \$(echo $new | wc -w) -eq 2 ] && echo ' $new' | grep -q ' /dev/video9 '"
	expect_eq "/dev/video9 device_caps" "$("$PROBE" caps /dev/video9 | kv dir)" capture
	out=$(new_nodes | grep -vx /dev/video9 | head -n 1)
	expect_eq "${out:-output node} device_caps" "$("$PROBE" caps "${out:-/nonexistent}" | kv dir)" output
	expect_eq "sysfs peer of /dev/video9" "$(cat /sys/class/video4linux/video9/peer)" "${out#/dev/}"
	lc_unload
fi

# ---- card_label -----------------------------------------------------------------------
if LC_WAIT_FOR=/dev/video6 load_ok devices=2 video_nr=5,6 card_label=$label31,Cam2; then
	expect_eq "card_label (31 characters) in QUERYCAP card" "$("$PROBE" caps /dev/video5 | kv card)" "$label31"
	expect_eq "card_label of the second device in QUERYCAP card" "$("$PROBE" caps /dev/video6 | kv card)" Cam2
	lc_unload
fi

# ---- max_readers=2 ---------------------------------------------------------------------
DEV=/dev/video5
if LC_WAIT_FOR=$DEV load_ok video_nr=5 max_readers=2; then
	bg_start prod "$PRODUCE" -d $DEV -r 30 -t 120
	bg_start r1 "$CONSUME" -d $DEV -t 120
	bg_start r2 "$CONSUME" -d $DEV -i read -t 120
	wait_readers $DEV 2 || true
	lc_check "max_readers=2: third reader: REQBUFS(CAPTURE, 2) -> EBUSY" \
		"$PROBE" ops $DEV reqbufs:cap:2=EBUSY
	lc_check "max_readers=2: third reader: STREAMON(CAPTURE) -> EBUSY" \
		"$PROBE" ops $DEV streamon:cap=EBUSY
	kill -TERM "${bg_pids[r1]}" "${bg_pids[r2]}"
	lc_check "max_readers=2: reader 1 (mmap) ran without error" bg_wait r1
	lc_check "max_readers=2: reader 2 (read) ran without error" bg_wait r2
	lc_check "max_readers=2: once they stopped, another reader gets buffers" \
		"$PROBE" ops $DEV reqbufs:cap:2 reqbufs:cap:0
	kill -TERM "${bg_pids[prod]}"
	lc_check "max_readers=2: producer ran without error" bg_wait prod
	lc_unload
fi

# ---- max_openers=3 ---------------------------------------------------------------------
if LC_WAIT_FOR=$DEV load_ok video_nr=5 max_openers=3; then
	bg_start many "$PROBE" ops $DEV open-many:100 sleep:600000
	lc_check "max_openers=3: 100 more handles open (each did QUERYCAP)" \
		lc_until 20 grep -q '100 more handles open' "$LOGS/many.log"
	lc_check "max_openers=3: with 101 handles open, one more open + QUERYCAP works" \
		"$PROBE" ops $DEV querycap
	bg_start prod "$PRODUCE" -d $DEV -r 30 -t 120
	bg_start r1 "$CONSUME" -d $DEV -t 120
	bg_start r2 "$CONSUME" -d $DEV -t 120
	wait_readers $DEV 2 || true
	lc_check "max_openers=3: producer + 2 readers: third reader REQBUFS(CAPTURE, 2) -> EBUSY" \
		"$PROBE" ops $DEV reqbufs:cap:2=EBUSY
	kill -TERM "${bg_pids[r1]}" "${bg_pids[r2]}" "${bg_pids[prod]}"
	lc_check "max_openers=3: reader 1 ran without error" bg_wait r1
	lc_check "max_openers=3: reader 2 ran without error" bg_wait r2
	lc_check "max_openers=3: producer ran without error" bg_wait prod
	bg_start w1 "$PROBE" watch -t 600 $DEV
	bg_start w2 "$PROBE" watch -t 600 $DEV
	bg_start w3 "$PROBE" watch -t 600 $DEV
	wait_readers $DEV 3 || true
	lc_check "max_openers=3: 3 readers: producer REQBUFS(OUTPUT, 2) -> EBUSY" \
		"$PROBE" ops $DEV reqbufs:out:2=EBUSY
	lc_check "max_openers=3: 3 readers: producer write() -> EBUSY" \
		"$PROBE" ops $DEV writeraw:614400=EBUSY
	kill -TERM "${bg_pids[w1]}" "${bg_pids[w2]}" "${bg_pids[w3]}" "${bg_pids[many]}"
	wait "${bg_pids[w1]}" "${bg_pids[w2]}" "${bg_pids[w3]}" "${bg_pids[many]}"
	lc_unload
fi
