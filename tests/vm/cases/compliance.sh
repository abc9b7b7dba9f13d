#!/bin/bash
# v4l2-compliance -s on every kind of node the module makes:
#   - a split capture node while a producer streams into its output node,
#   - a split output node,
#   - a combined node with exclusive_caps=1,
#   - a combined node with exclusive_caps=0,
# each with streaming (MMAP, USERPTR, DMABUF via --expbuf-device) and
# read()/write(). Every run must end with 0 failed and 0 warnings.
#
# Two facts shape the setup:
#   - v4l2-compliance expects a single owner per queue: a second handle's
#     REQBUFS must fail with EBUSY. The devices tested here are therefore
#     made with max_readers=1, which is exactly that classic behaviour; a
#     multi-reader device (the default) gives each reader its own queue on
#     purpose (tests/vm/cases/readers.sh covers that).
#   - A combined node without exclusive caps advertises OUTPUT and CAPTURE,
#     which v4l2-compliance only accepts from mem2mem devices: its QUERYCAP
#     rule fails (twice), and so does its rule that a node with OUTPUT offers
#     no V4L2_EVENT_SOURCE_CHANGE, which readers of such a node need. That
#     is the documented cost of v4l2loopback's classic mode (docs/device.md);
#     this test accepts exactly those failures there and nothing else. Its
#     capture side streams the placeholder (timeout control) at 5 frames/s
#     (slow enough that v4l2-compliance never misses one under TCG), since
#     no producer can run while v4l2-compliance itself tests the output side.
#
# Debian 12's v4l2-compliance (1.22) predates the kernel's NV12/NV21/NV16
# format descriptions and fails every driver that lists them, so the run
# uses Debian sid's v4l2-compliance (tests/vm/build-v4l-utils).
# No -e: every node is tested even when an earlier one fails.
set -uo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"
# shellcheck source=scripts/lib.sh
. "$LOOPCAM_TOP/scripts/lib.sh"

progs=$LOOPCAM_BUILD/tests/vm/progs
# LOOPCAM_V4L2_COMPLIANCE picks another binary (to compare versions).
if [ -n "${LOOPCAM_V4L2_COMPLIANCE:-}" ]; then
	compliance=$LOOPCAM_V4L2_COMPLIANCE
elif compliance_dir=$(v4l_utils_dir); then
	compliance=$compliance_dir/bin/v4l2-compliance
else
	lc_fail "sid's v4l2-compliance is built (run scripts/setup)"
	exit 1
fi
lc_info "using $("$compliance" --version 2>&1 | head -n 1)"

# Numbers from 10 up: a kernel may have video nodes of its own (the clang
# test kernel has vim2m built in).
# video10: combined; video11: combined, exclusive caps; video12/13: split
# pair; video14: combined, only lends DMABUFs (4 bytes/pixel at the largest size,
# so its buffers fit any format the tests leave behind). v4l2-compliance
# ends its S_FMT tests at the largest size: 1920x1080 keeps frames small
# enough for TCG (8192x8192 frames take seconds each to copy there).
lc_load devices=4 video_nr=10,11,12,14 capture_nr=-1,-1,13,-1 \
	exclusive_caps=0,1,0,0 split_nodes=0,0,1,0 max_readers=1,1,1,1 \
	max_width=1920 max_height=1080 \
	default_format=YUYV:640x480@5,YUYV:640x480@30,YUYV:640x480@30,BX24:1920x1080@30
for n in 10 11 12 13 14; do lc_wait_dev /dev/video$n; done
expbuf=/dev/video14

# run_compliance NAME ALLOWED_FAIL_REGEX ALLOWED_FAILED_TESTS ARGS...
run_compliance() {
	local name=$1 allowed=$2 allowed_tests=$3 out total failed warnings
	shift 3
	out=$LOOPCAM_RESULTS/compliance-$name.txt
	timeout 600 "$compliance" -s 10 --expbuf-device "$expbuf" "$@" >"$out" 2>&1 || true
	grep -E 'fail:|warn:|Total' "$out" | sed "s/^/  [$name] /" || true
	total=$(grep -E '^Total for ' "$out" | tail -n 1 || true)
	if [ -z "$total" ]; then
		tail -n 30 "$out" | sed "s/^/  [$name] /"
		lc_fail "$name: v4l2-compliance finished (no Total line)"
		return 1
	fi
	failed=$(sed -E 's/.*Failed: ([0-9]+).*/\1/' <<<"$total")
	warnings=$(sed -E 's/.*Warnings: ([0-9]+).*/\1/' <<<"$total")
	lc_check "$name: v4l2-compliance reports 0 warnings ($total)" test "$warnings" -eq 0
	if [ -z "$allowed" ]; then
		lc_check "$name: v4l2-compliance reports 0 failed ($total)" test "$failed" -eq 0
	else
		lc_check "$name: only the documented failures ($allowed_tests x '$allowed')" \
			test "$failed" -eq "$allowed_tests"
		lc_check_not "$name: no other failure message" \
			grep -Ev "$allowed" <(grep 'fail:' "$out")
	fi
}

run_compliance split-output '' 0 -d /dev/video12
run_compliance combined-exclusive '' 0 -d /dev/video11

v4l2-ctl -d /dev/video10 -c timeout=200
run_compliance combined 'dcaps & output_caps|have_source_change' 3 -d /dev/video10

# A slow producer: v4l2-compliance warns about sequence gaps if a frame
# arrives while it holds all its buffers, which a loaded TCG guest can make
# happen even at 5 frames/s.
"$progs/lc-produce" -d /dev/video12 -i mmap -r 2 -t 900 >"$LOOPCAM_RESULTS/producer.txt" 2>&1 &
producer=$!
"$progs/lc-consume" -d /dev/video13 -n 2 -c test --timeout-ms 20000 >/dev/null
run_compliance split-capture '' 0 -d /dev/video13
kill "$producer"
wait "$producer" || true

lc_unload
