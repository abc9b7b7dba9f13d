#!/bin/bash
# v4l2-ctl (v4l-utils, the Debian package) as producer and reader:
# `v4l2-ctl --set-fmt-video-out ... --stream-out-mmap --stream-from=FILE`
# sends a file of test frames (lc-framefile) into the device, and
# `v4l2-ctl --stream-mmap --stream-count=N --stream-to=FILE` saves what the
# device delivers. lc-framefile then checks the saved file frame by frame:
# every byte as sent, the exact frame size (v4l2-ctl saves bytesused bytes
# per buffer), frames 0..N-1 in order, none missing or repeated.
#
# Runs: YUYV 640x480 on a split device (MMAP both ways); USERPTR both ways
# (--stream-out-user / --stream-user) with RGB24 at an odd size (321x241);
# a combined node with exclusive_caps=1, where v4l2-ctl reads what v4l2-ctl
# sends once the node shows CAPTURE; and v4l2-ctl reading a combined node
# with exclusive_caps=0 that lc-produce feeds by write(). (v4l2-ctl 1.22
# cannot send into a node that shows CAPTURE and OUTPUT at once: it takes
# the node for its capture side, and --stream-out-mmap then allocates and
# waits for CAPTURE buffers, also with --out-device; so no v4l2-ctl
# producer on that node.) The reader starts first, on the format announced
# through sysfs, and queues 32 buffers (max_buffers=32) for the 32 frames,
# so no frame can be lost however slowly it runs; the producer pauses 1 s
# every 10 frames (--stream-sleep).
#
# Needs LOOPCAM_BUILD (lc-framefile).
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

: "${LOOPCAM_BUILD:?run through tests/vm/run-vm --build DIR}"
progs=$LOOPCAM_BUILD/tests/vm/progs
work=$LOOPCAM_RESULTS/v4l2-ctl
data=/tmp/v4l2-ctl
mkdir -p "$work" "$data"
N=32

command -v v4l2-ctl >/dev/null || lc_fail "v4l2-ctl is installed (Debian package v4l-utils)"
lc_info "$(v4l2-ctl --version)"

# Split 40 (output) / 41 (capture), combined 42, combined with
# exclusive_caps=1 43.
lc_load devices=3 max_buffers=32 video_nr=40,42,43 capture_nr=41,-1,-1 split_nodes=1,0,0 \
	exclusive_caps=0,0,1
for n in 40 41 42 43; do
	lc_wait_dev /dev/video$n
done

# run LABEL OUT CAP FORMAT:WxH FOURCC V4L2-CTL-PIXFMT OUT-IO CAP-IO
run() {
	local label=$1 out=$2 cap=$3 fmt=$4 fourcc=$5 pixfmt=$6 oio=$7 cio=$8
	local size=${fmt#*:} w h cpid orc=0 crc=0
	w=${size%x*} h=${size#*x}
	local in=$data/$label-in.raw outf=$data/$label-out.raw log=$work/$label
	local what="$label: v4l2-ctl $oio -> v4l2-ctl $cio, $fmt, $N frames"
	lc_info "$what (uptime $(uptime_s))"
	rm -f "$in" "$outf"
	check "$label: write $N test frames of $fmt" \
		"$progs/lc-framefile" write -F "$fmt" -n "$N" -o "$in"
	check "$label: announce $fourcc:$size through sysfs" \
		announce "$out" "$fourcc:$size@30"
	# The reader sets the same format (the capture side keeps the announced one).
	timeout 120 v4l2-ctl -d "/dev/$cap" --set-fmt-video "width=$w,height=$h,pixelformat=$pixfmt" \
		"--stream-$cio" 32 --stream-count "$N" --stream-to "$outf" >"$log.reader" 2>&1 &
	cpid=$!
	if ! wait_readers "$out" 1 30; then
		kill "$cpid" 2>/dev/null || true
		wait "$cpid" || true
		show reader "$log.reader"
		lc_fail "$what: v4l2-ctl reader streams within 30 s" || true
		return 0
	fi
	timeout 120 v4l2-ctl -d "/dev/$out" --set-fmt-video-out "width=$w,height=$h,pixelformat=$pixfmt" \
		"--stream-out-$oio" 4 --stream-from "$in" --stream-sleep 10 >"$log.producer" 2>&1 || orc=$?
	wait "$cpid" || crc=$?
	show producer "$log.producer"
	show reader "$log.reader"
	check "$what: producer v4l2-ctl streamed the file and exited 0 (exit $orc)" test "$orc" -eq 0
	check "$what: reader v4l2-ctl got $N buffers and exited 0 within 120 s (exit $crc)" test "$crc" -eq 0
	"$progs/lc-framefile" check -F "$fmt" -n "$N" --seq-start 0 "$outf" >"$log.check" 2>&1 || true
	show check "$log.check"
	check "$what: saved file holds frames 0..$((N - 1)), in order, every byte as sent, exact size" \
		grep -q '^result=pass ' "$log.check"
	rm -f "$in" "$outf"
}

run split video40 video41 YUYV:640x480 YUYV YUYV mmap mmap
run userptr video40 video41 RGB24:321x241 RGB3 RGB3 user user

# v4l2-ctl reading a combined node (CAPTURE and OUTPUT shown) that
# lc-produce feeds by write(), its frames numbered as lc-framefile's.
combined_reader() {
	local outf=$data/combined-out.raw log=$work/combined cpid prc=0 crc=0
	local what="combined: lc-produce write -> v4l2-ctl mmap, YUYV:640x480, $N frames"
	lc_info "$what (uptime $(uptime_s))"
	check "combined: announce YUYV:640x480 through sysfs" \
		announce video42 YUYV:640x480@30
	timeout 120 v4l2-ctl -d /dev/video42 --stream-mmap 32 --stream-count "$N" \
		--stream-to "$outf" >"$log.reader" 2>&1 &
	cpid=$!
	if ! wait_readers video42 1 30; then
		kill "$cpid" 2>/dev/null || true
		wait "$cpid" || true
		show reader "$log.reader"
		lc_fail "$what: v4l2-ctl reader streams within 30 s" || true
		return 0
	fi
	timeout 120 "$progs/lc-produce" -d /dev/video42 -f YUYV -s 640x480 -r 15 -n "$N" \
		--stream-id 0x4c43 >"$log.producer" 2>&1 || prc=$?
	wait "$cpid" || crc=$?
	show producer "$log.producer"
	show reader "$log.reader"
	check "$what: lc-produce sent $N frames (exit $prc)" test "$prc" -eq 0
	check "$what: reader v4l2-ctl got $N buffers and exited 0 within 120 s (exit $crc)" test "$crc" -eq 0
	"$progs/lc-framefile" check -F YUYV:640x480 -n "$N" --seq-start 0 --stream-id 0x4c43 \
		"$outf" >"$log.check" 2>&1 || true
	show check "$log.check"
	check "$what: saved file holds frames 0..$((N - 1)), in order, every byte as sent, exact size" \
		grep -q '^result=pass ' "$log.check"
	rm -f "$outf"
}
combined_reader

# exclusive_caps=1: the node shows CAPTURE only once the producer streams,
# so the reader starts second and saves 30 frames from wherever it joins.
excl() {
	local in=$data/excl-in.raw outf=$data/excl-out.raw log=$work/exclusive ppid prc=0 crc=0 i caps=
	local what="exclusive_caps: v4l2-ctl mmap -> v4l2-ctl mmap, YUYV:640x480"
	lc_info "$what (uptime $(uptime_s))"
	check "exclusive_caps: write 150 test frames" \
		"$progs/lc-framefile" write -F YUYV:640x480 -n 150 -o "$in"
	timeout 120 v4l2-ctl -d /dev/video43 --set-fmt-video-out width=640,height=480,pixelformat=YUYV \
		--stream-out-mmap 4 --stream-from "$in" --stream-sleep 5 >"$log.producer" 2>&1 &
	ppid=$!
	for ((i = 0; i < 300; i++)); do
		caps=$(v4l2-ctl -d /dev/video43 -D 2>/dev/null | sed -n '/Device Caps/,$p')
		! grep -q 'Video Capture' <<<"$caps" || break
		sleep 0.1
	done
	check "$what: the node advertises Video Capture once v4l2-ctl streams into it" \
		grep -q 'Video Capture' <<<"$caps"
	timeout 60 v4l2-ctl -d /dev/video43 --stream-mmap 32 --stream-count 30 \
		--stream-to "$outf" >"$log.reader" 2>&1 || crc=$?
	kill -INT "$ppid" 2>/dev/null || true
	wait "$ppid" || prc=$?
	show producer "$log.producer"
	show reader "$log.reader"
	check "$what: reader v4l2-ctl got 30 buffers and exited 0 (exit $crc)" test "$crc" -eq 0
	"$progs/lc-framefile" check -F YUYV:640x480 -n 30 "$outf" >"$log.check" 2>&1 || true
	show check "$log.check"
	check "$what: saved file holds 30 consecutive frames, every byte as sent, exact size" \
		grep -q '^result=pass ' "$log.check"
	rm -f "$in" "$outf"
}
excl

lc_unload
