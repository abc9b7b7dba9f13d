#!/bin/bash
# GStreamer (Debian's 1.22) v4l2sink into the device and v4l2src out of it.
#
# 1. Content, YUY2 640x480: `filesrc ! rawvideoparse ! v4l2sink` plays a file
#    of 60 test frames (lc-framefile) into a split device's output node at
#    6 frames/s while `v4l2src num-buffers=60 ! filesink` saves what the
#    capture node delivers; lc-framefile checks the saved file frame by
#    frame: every byte as sent, exact frame size, frames 0..59 in order.
# 2. The same with I420 640x480, v4l2sink in io-mode=userptr and v4l2src in
#    io-mode=rw (read()). (v4l2sink's io-mode=rw is not implemented in
#    GStreamer 1.22: "implement write()".)
# 3. `filesrc ! rawvideoparse ! v4l2sink` read by lc-consume (32 buffers for
#    32 frames): every frame whole and in order, and buffer timestamps that
#    never go backwards.
# 4. `videotestsrc pattern=ball ! video/x-raw,format=YUY2,... ! v4l2sink`
#    (v4l2sink's MMAP buffer pool offered upstream, no identity
#    drop-allocation=1) and `v4l2src ! filesink`; the saved frames must be
#    byte for byte the frames videotestsrc makes into a file directly.
# 5. A combined node with exclusive_caps=1 (OBS's setting): a live
#    videotestsrc (200 frames, 20 s) feeds v4l2sink, the node then shows
#    CAPTURE, and `v4l2src num-buffers=30 ! filesink` joins and saves 30
#    whole frames; the producer ends with EOS after its 200 frames. (Not
#    stopped by SIGINT: gst-launch -e then forces EOS into the live source,
#    whose basesrc flushes the buffer pool it shares with v4l2sink while
#    v4l2sink renders, and GStreamer 1.22 then sometimes hangs with
#    v4l2sink "waiting in preroll for flush or PLAYING", every thread in a
#    userspace futex wait, none in the driver: one run in four here.)
#
# Every pipeline must reach EOS within its timeout and exit 0, with no
# ERROR or WARNING message (GStreamer's known v4l2loopback failures -
# not-negotiated, frozen pipelines, "Dequeued v4l2 buffer contains N bytes"
# - all show up that way). The reader starts first, on the format announced
# through sysfs. v4l2sink runs with show-preroll-frame=false (a video sink
# otherwise renders its preroll frame and then renders it again once
# PLAYING: v4l2sink would send the first frame twice) and max-lateness=-1
# (by default it drops frames more than 20 ms late, which a loaded TCG
# guest can make them). v4l2src gets only 4 buffers from GStreamer (the
# driver has no MIN_BUFFERS_FOR_CAPTURE control), so a queue decouples
# filesink from it and frames come at 6/s.
#
# Needs LOOPCAM_BUILD (lc-framefile).
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

: "${LOOPCAM_BUILD:?run through tests/vm/run-vm --build DIR}"
progs=$LOOPCAM_BUILD/tests/vm/progs
work=$LOOPCAM_RESULTS/gstreamer
data=/tmp/gstreamer
mkdir -p "$work" "$data"
N=60
SINK_OPTS=(show-preroll-frame=false max-lateness=-1)
# Frame rate of the pipelines read by v4l2src.
RATE=6

# gst_ok WHAT LOG RC: the pipeline exited 0 after EOS, without errors or
# warnings.
gst_ok() {
	local what=$1 log=$2 rc=$3
	check "$what: exit 0 within the timeout (exit $rc)" test "$rc" -eq 0
	check "$what: reached EOS" grep -q '^Got EOS from element' "$log"
	check "$what: no ERROR or WARNING message" \
		lacks "^(ERROR|WARNING)|not-negotiated|Dequeued v4l2 buffer contains" "$log"
}

command -v gst-launch-1.0 >/dev/null || lc_fail "gst-launch-1.0 is installed"
lc_info "$(gst-launch-1.0 --version | tr '\n' ' ')"
# Page the GStreamer libraries in before anything is timed.
gst-inspect-1.0 v4l2src >/dev/null 2>&1 || true
gst-inspect-1.0 rawvideoparse >/dev/null 2>&1 || true

# Split 50 (output) / 51 (capture); combined with exclusive_caps=1 52.
lc_load devices=2 max_buffers=32 video_nr=50,52 capture_nr=51,-1 split_nodes=1,0 exclusive_caps=0,1
for n in 50 51 52; do
	lc_wait_dev /dev/video$n
done

# through LABEL FORMAT:WxH FOURCC GST-FORMAT SINK-IO SRC-IO: a file of test
# frames through v4l2sink, the device and v4l2src into a file.
through() {
	local label=$1 fmt=$2 fourcc=$3 gfmt=$4 sio=$5 rio=$6 size=${2#*:} w h cpid prc=0 crc=0
	w=${size%x*} h=${size#*x}
	local in=$data/$label-in.raw outf=$data/$label-out.raw log=$work/$label
	local what="$label: filesrc ! rawvideoparse ! v4l2sink io-mode=$sio -> v4l2src io-mode=$rio ! filesink, $fmt"
	lc_info "$what (uptime $(uptime_s))"
	check "$label: write $N test frames of $fmt" "$progs/lc-framefile" write -F "$fmt" -n "$N" -o "$in"
	check "$label: announce $fourcc:$size through sysfs" \
		announce video50 "$fourcc:$size@$RATE"
	timeout 120 gst-launch-1.0 -e v4l2src device=/dev/video51 io-mode="$rio" num-buffers="$N" \
		! "video/x-raw,format=$gfmt,width=$w,height=$h" ! queue \
		! filesink location="$outf" >"$log.reader" 2>&1 &
	cpid=$!
	if ! wait_readers video50 1 60; then
		kill "$cpid" 2>/dev/null || true
		wait "$cpid" || true
		show reader "$log.reader"
		lc_fail "$what: v4l2src streams within 60 s" || true
		return 0
	fi
	timeout 120 gst-launch-1.0 -e filesrc location="$in" \
		! rawvideoparse format="${gfmt,,}" width="$w" height="$h" framerate=$RATE/1 colorimetry=bt601 \
		! v4l2sink device=/dev/video50 io-mode="$sio" "${SINK_OPTS[@]}" >"$log.producer" 2>&1 || prc=$?
	wait "$cpid" || crc=$?
	show producer "$log.producer"
	show reader "$log.reader"
	gst_ok "$label: v4l2sink pipeline" "$log.producer" "$prc"
	gst_ok "$label: v4l2src pipeline" "$log.reader" "$crc"
	"$progs/lc-framefile" check -F "$fmt" -n "$N" --seq-start 0 "$outf" >"$log.check" 2>&1 || true
	show check "$log.check"
	check "$what: saved file holds frames 0..$((N - 1)), in order, every byte as sent, exact size" \
		grep -q '^result=pass ' "$log.check"
	rm -f "$in" "$outf"
}

through yuy2 YUYV:640x480 YUYV YUY2 mmap mmap
through i420 YU12:640x480 YU12 I420 userptr rw

# v4l2sink read by lc-consume, which also follows the buffer timestamps.
to_lc_consume() {
	local in=$data/lcc-in.raw log=$work/lc-consume cpid prc=0 crc=0 n=32
	local what="filesrc ! rawvideoparse ! v4l2sink -> lc-consume, YUYV:640x480"
	lc_info "$what (uptime $(uptime_s))"
	check "lc-consume: write $n test frames" "$progs/lc-framefile" write -F YUYV:640x480 -n "$n" -o "$in"
	check "lc-consume: announce YUYV:640x480 through sysfs" \
		announce video50 YUYV:640x480@10
	timeout 120 "$progs/lc-consume" -d /dev/video51 -b 32 -n "$n" --timeout-ms 20000 \
		--expect-format YUYV:640x480 --expect-all --expect-first-seq 0 >"$log.reader" 2>&1 &
	cpid=$!
	if ! wait_readers video50 1 60; then
		wait "$cpid" || true
		show reader "$log.reader"
		lc_fail "$what: lc-consume streams within 60 s" || true
		return 0
	fi
	timeout 120 gst-launch-1.0 -e filesrc location="$in" \
		! rawvideoparse format=yuy2 width=640 height=480 framerate=10/1 colorimetry=bt601 \
		! v4l2sink device=/dev/video50 "${SINK_OPTS[@]}" >"$log.producer" 2>&1 || prc=$?
	wait "$cpid" || crc=$?
	show producer "$log.producer"
	show reader "$log.reader"
	gst_ok "lc-consume: v4l2sink pipeline" "$log.producer" "$prc"
	check "$what: frames 0..$((n - 1)) whole, in order, exact bytesused, timestamps never backwards (exit $crc)" \
		test "$crc" -eq 0
	rm -f "$in"
}
to_lc_consume

# videotestsrc straight into v4l2sink's own buffers; what comes out must be
# what videotestsrc makes.
testsrc() {
	local caps="video/x-raw,format=YUY2,width=640,height=480,framerate=$RATE/1,colorimetry=bt601"
	local ref=$data/testsrc-ref.raw outf=$data/testsrc-out.raw log=$work/testsrc cpid prc=0 crc=0
	local what="videotestsrc ! v4l2sink -> v4l2src ! filesink, YUY2 640x480"
	lc_info "$what (uptime $(uptime_s))"
	check "videotestsrc: reference file of $N frames" \
		timeout 120 gst-launch-1.0 -q videotestsrc pattern=ball num-buffers="$N" ! "$caps" \
		! filesink location="$ref"
	check "videotestsrc: announce YUYV:640x480 through sysfs" \
		announce video50 "YUYV:640x480@$RATE"
	timeout 120 gst-launch-1.0 -e v4l2src device=/dev/video51 num-buffers="$N" \
		! video/x-raw,format=YUY2,width=640,height=480 ! queue ! filesink location="$outf" \
		>"$log.reader" 2>&1 &
	cpid=$!
	if ! wait_readers video50 1 60; then
		kill "$cpid" 2>/dev/null || true
		wait "$cpid" || true
		show reader "$log.reader"
		lc_fail "$what: v4l2src streams within 60 s" || true
		return 0
	fi
	timeout 120 gst-launch-1.0 -e videotestsrc pattern=ball num-buffers="$N" ! "$caps" \
		! v4l2sink device=/dev/video50 "${SINK_OPTS[@]}" >"$log.producer" 2>&1 || prc=$?
	wait "$cpid" || crc=$?
	show producer "$log.producer"
	show reader "$log.reader"
	gst_ok "videotestsrc: v4l2sink pipeline" "$log.producer" "$prc"
	gst_ok "videotestsrc: v4l2src pipeline" "$log.reader" "$crc"
	check "$what: $N frames saved ($(stat -c %s "$outf" 2>/dev/null || echo 0) bytes)" \
		test "$(stat -c %s "$outf" 2>/dev/null || echo 0)" -eq $((N * 614400))
	check "$what: the saved frames are videotestsrc's, byte for byte" cmp "$ref" "$outf"
	rm -f "$ref" "$outf"
}
testsrc

# exclusive_caps=1: v4l2src can open the capture side only once v4l2sink
# streams.
exclusive() {
	local outf=$data/excl-out.raw log=$work/exclusive ppid prc=0 crc=0 i caps=
	local what="exclusive_caps: live videotestsrc ! v4l2sink -> v4l2src num-buffers=30"
	lc_info "$what (uptime $(uptime_s))"
	timeout 180 gst-launch-1.0 -e videotestsrc is-live=true num-buffers=200 \
		! video/x-raw,format=YUY2,width=640,height=480,framerate=10/1 \
		! v4l2sink device=/dev/video52 "${SINK_OPTS[@]}" >"$log.producer" 2>&1 &
	ppid=$!
	for ((i = 0; i < 600; i++)); do
		caps=$(v4l2-ctl -d /dev/video52 -D 2>/dev/null | sed -n '/Device Caps/,$p')
		! grep -q 'Video Capture' <<<"$caps" || break
		sleep 0.1
	done
	check "$what: the node advertises Video Capture once v4l2sink streams" \
		grep -q 'Video Capture' <<<"$caps"
	timeout 120 gst-launch-1.0 -e v4l2src device=/dev/video52 num-buffers=30 \
		! video/x-raw,format=YUY2,width=640,height=480 ! queue ! filesink location="$outf" \
		>"$log.reader" 2>&1 || crc=$?
	wait "$ppid" || prc=$?
	show producer "$log.producer"
	show reader "$log.reader"
	gst_ok "exclusive_caps: v4l2sink pipeline" "$log.producer" "$prc"
	gst_ok "exclusive_caps: v4l2src pipeline" "$log.reader" "$crc"
	check "$what: 30 whole frames saved ($(stat -c %s "$outf" 2>/dev/null || echo 0) bytes)" \
		test "$(stat -c %s "$outf" 2>/dev/null || echo 0)" -eq $((30 * 614400))
	rm -f "$outf"
}
exclusive

lc_unload
