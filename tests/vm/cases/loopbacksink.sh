#!/bin/bash
# loopbacksink (gst-plugin/) against the real module: the first VM checks of
# issue 5 (stall, caps change and EOS readers come with its C reader).
#
# 1. videotestsrc RGB 320x240 at 30/s into a split device's output node by
#    device=: with no format fixed the element picks I420 (the closest format
#    browsers read), the capture node announces YU12 320x240 at 30/s while it
#    streams, and v4l2-ctl reads 60 frames of exactly 320*240*3/2 bytes.
# 2. label=: the element finds the device by its card label, and a format
#    fixed through sysfs (YUYV 640x480) is what it converts and scales to.
# 3. A second loopbacksink on the same device while the first streams fails
#    at once with loopbacksink's own "in use by another producer" error; the
#    first pipeline carries on and ends with EOS.
# Every pipeline must exit 0 (the second: 1, with that message).
set -uo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

: "${LOOPCAM_BUILD:?run through tests/vm/run-vm --build DIR}"
# The guest's registry is prebuilt without the project's plugin: keep one here.
export GST_PLUGIN_PATH=$LOOPCAM_BUILD/gst-plugin
export GST_REGISTRY=/tmp/loopbacksink-registry.bin GST_REGISTRY_UPDATE=yes
OUT=/dev/video10 CAP=/dev/video11
SYS=/sys/class/video4linux/video11
work=/tmp/loopbacksink
mkdir -p "$work"

if ! gst-inspect-1.0 loopbacksink >"$work/inspect" 2>&1; then
	lc_fail "gst-inspect-1.0 finds no loopbacksink in $GST_PLUGIN_PATH (build gst-plugin/)"
	exit 1
fi
lc_pass "gst-inspect-1.0 finds loopbacksink in $GST_PLUGIN_PATH"

# wait_format WANT: sysfs format of the capture node becomes WANT within 20 s.
wait_format() {
	for _ in $(seq 200); do
		[ "$(cat $SYS/format)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# read_frames N BYTES: v4l2-ctl reads N frames of BYTES each from the capture node.
read_frames() {
	rm -f "$work/frames.raw"
	timeout 60 v4l2-ctl -d $CAP --stream-mmap --stream-count="$1" \
		--stream-to="$work/frames.raw" >/dev/null 2>&1 &&
		[ "$(stat -c %s "$work/frames.raw")" -eq $(($1 * $2)) ]
}

lc_load devices=1 video_nr=10 split_nodes=1 capture_nr=11 card_label=LbsCam || exit 1
lc_wait_dev $CAP || exit 1

lc_info "1. device=$OUT, RGB 320x240 at 30/s, nothing fixed"
bg_start rgb timeout 120 gst-launch-1.0 -q videotestsrc num-buffers=300 ! \
	video/x-raw,format=RGB,width=320,height=240,framerate=30/1 ! loopbacksink device=$OUT
lc_check "the capture node announces YU12:320x240@30 while loopbacksink streams" \
	wait_format YU12:320x240@30
lc_check "v4l2-ctl reads 60 frames of 115200 bytes (I420 320x240)" read_frames 60 115200
lc_check "the RGB pipeline ends with EOS, exit 0" bg_wait rgb

lc_info "2. label=LbsCam, format fixed through sysfs: YUYV 640x480"
lc_check "fix YUYV:640x480@30 through sysfs" sh -c "echo YUYV:640x480@30 >$SYS/format"
bg_start label timeout 120 gst-launch-1.0 -q videotestsrc num-buffers=300 ! \
	video/x-raw,format=I420,width=320,height=180,framerate=30/1 ! loopbacksink label=LbsCam
sleep 2
lc_check "v4l2-ctl reads 30 frames of 614400 bytes (YUYV 640x480, scaled from 320x180)" \
	read_frames 30 614400

lc_info "3. a second loopbacksink on the same device"
rc=0
timeout 60 gst-launch-1.0 videotestsrc num-buffers=30 ! loopbacksink device=$OUT \
	>"$work/second.log" 2>&1 || rc=$?
sed 's/^/  second: /' "$work/second.log" | head -n 8
expect_eq "the second pipeline fails" "$rc" 1
lc_check "with loopbacksink's 'in use by another producer' error" \
	grep -q "in use by another producer" "$work/second.log"
lc_check "the first pipeline carried on and ends with EOS, exit 0" bg_wait label
lc_unload
