#!/bin/bash
# FFmpeg (Debian's 5.1) into the device and out of it:
#
#   ffmpeg -re -f rawvideo -pix_fmt P -s WxH -framerate 15 -i frames.raw -f v4l2 /dev/OUT
#   ffmpeg -f v4l2 -i /dev/CAP -frames:v N -fps_mode passthrough -enc_time_base -1 \
#          -f rawvideo out.raw
#
# frames.raw is a file of test frames (lc-framefile); lc-framefile checks
# out.raw frame by frame: every byte as sent, exact frame size, frames
# 0..N-1 in order. FFmpeg's v4l2 input must not print "Dequeued v4l2 buffer
# contains N bytes, but M were expected" (it drops such buffers), and both
# ffmpeg runs must exit 0 within the timeout.
#
# Runs: yuyv422 640x480 and yuv420p at an odd size (641x481) on a split
# device, and yuyv422 320x240 on a combined node with exclusive_caps=1 (the
# reader joins once the producer's write()s make the node show CAPTURE, and
# saves 30 consecutive frames).
#
# The reader streams before the producer starts (format announced through
# sysfs) and gets 32 buffers (it asks for 256; max_buffers=32) for the 32
# frames, so it cannot lose one however slowly it runs on a loaded host. -fps_mode passthrough: the rawvideo muxer would
# otherwise make ffmpeg resample to a constant frame rate (duplicating or
# dropping frames by timestamp); -enc_time_base -1 keeps the input's
# microsecond time base so two frames closer than 1/15 s do not get the
# same timestamp.
#
# Needs LOOPCAM_BUILD (lc-framefile).
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

: "${LOOPCAM_BUILD:?run through tests/vm/run-vm --build DIR}"
progs=$LOOPCAM_BUILD/tests/vm/progs
work=$LOOPCAM_RESULTS/ffmpeg
data=/tmp/ffmpeg
mkdir -p "$work" "$data"
N=32

FF=(ffmpeg -hide_banner -nostdin -nostats -loglevel info)
READ_OPTS=(-fps_mode passthrough -enc_time_base -1 -f rawvideo -y)

command -v ffmpeg >/dev/null || lc_fail "ffmpeg is installed"
lc_info "$(ffmpeg -hide_banner -version | head -n 1)"

# Split 60 (output) / 61 (capture); combined with exclusive_caps=1 62.
lc_load devices=2 max_buffers=32 video_nr=60,62 capture_nr=61,-1 split_nodes=1,0 exclusive_caps=0,1
for n in 60 61 62; do
	lc_wait_dev /dev/video$n
done

# no_short_buffers WHAT LOG: ffmpeg did not warn about a buffer size.
no_short_buffers() {
	check "$1: no \"Dequeued v4l2 buffer contains\" warning" \
		lacks "Dequeued v4l2 buffer contains" "$2"
}

# run LABEL FORMAT:WxH FOURCC PIX_FMT
run() {
	local label=$1 fmt=$2 fourcc=$3 pixfmt=$4 size=${2#*:} cpid prc=0 crc=0
	local in=$data/$label-in.raw outf=$data/$label-out.raw log=$work/$label
	local what="$label: ffmpeg -f rawvideo -pix_fmt $pixfmt -s $size -> -f v4l2 -> ffmpeg -f v4l2 -> rawvideo"
	lc_info "$what (uptime $(uptime_s))"
	check "$label: write $N test frames of $fmt" "$progs/lc-framefile" write -F "$fmt" -n "$N" -o "$in"
	check "$label: announce $fourcc:$size through sysfs" \
		announce video60 "$fourcc:$size@15"
	timeout 120 "${FF[@]}" -f v4l2 -i /dev/video61 -frames:v "$N" "${READ_OPTS[@]}" "$outf" \
		>"$log.reader" 2>&1 &
	cpid=$!
	if ! wait_readers video60 1 60; then
		kill "$cpid" 2>/dev/null || true
		wait "$cpid" || true
		show reader "$log.reader"
		lc_fail "$what: ffmpeg reader streams within 60 s" || true
		return 0
	fi
	timeout 120 "${FF[@]}" -re -f rawvideo -pix_fmt "$pixfmt" -s "$size" -framerate 15 -i "$in" \
		-f v4l2 /dev/video60 >"$log.producer" 2>&1 || prc=$?
	wait "$cpid" || crc=$?
	show producer "$log.producer"
	show reader "$log.reader"
	check "$what: producer ffmpeg exited 0 (exit $prc)" test "$prc" -eq 0
	check "$what: reader ffmpeg got $N frames and exited 0 within 120 s (exit $crc)" test "$crc" -eq 0
	no_short_buffers "$label: reader ffmpeg" "$log.reader"
	"$progs/lc-framefile" check -F "$fmt" -n "$N" --seq-start 0 "$outf" >"$log.check" 2>&1 || true
	show check "$log.check"
	check "$what: out.raw holds frames 0..$((N - 1)), in order, every byte as sent, exact size" \
		grep -q '^result=pass ' "$log.check"
	rm -f "$in" "$outf"
}

run yuyv422 YUYV:640x480 YUYV yuyv422
run yuv420p-odd YU12:641x481 YU12 yuv420p

# exclusive_caps=1: the reader can open the capture side only once ffmpeg
# writes frames into the node.
exclusive() {
	local in=$data/excl-in.raw outf=$data/excl-out.raw log=$work/exclusive ppid prc=0 crc=0 i caps=
	local what="exclusive_caps: ffmpeg -f v4l2 (write) -> ffmpeg -f v4l2 -frames:v 30, yuyv422 320x240"
	lc_info "$what (uptime $(uptime_s))"
	# 40 s of frames: enough for a slow guest to start the reader.
	check "exclusive_caps: write 600 test frames" \
		"$progs/lc-framefile" write -F YUYV:320x240 -n 600 -o "$in"
	timeout 120 "${FF[@]}" -re -f rawvideo -pix_fmt yuyv422 -s 320x240 -framerate 15 -i "$in" \
		-f v4l2 /dev/video62 >"$log.producer" 2>&1 &
	ppid=$!
	for ((i = 0; i < 600; i++)); do
		caps=$(v4l2-ctl -d /dev/video62 -D 2>/dev/null | sed -n '/Device Caps/,$p')
		! grep -q 'Video Capture' <<<"$caps" || break
		sleep 0.1
	done
	check "$what: the node advertises Video Capture once ffmpeg writes into it" \
		grep -q 'Video Capture' <<<"$caps"
	timeout 60 "${FF[@]}" -f v4l2 -i /dev/video62 -frames:v 30 "${READ_OPTS[@]}" "$outf" \
		>"$log.reader" 2>&1 || crc=$?
	kill -INT "$ppid" 2>/dev/null || true
	wait "$ppid" || prc=$?
	show producer "$log.producer"
	show reader "$log.reader"
	check "$what: producer ffmpeg ran until stopped (exit $prc: 0, or 255 after SIGINT)" \
		test "$prc" -eq 0 -o "$prc" -eq 255
	check "$what: reader ffmpeg got 30 frames and exited 0 (exit $crc)" test "$crc" -eq 0
	no_short_buffers "exclusive_caps: reader ffmpeg" "$log.reader"
	"$progs/lc-framefile" check -F YUYV:320x240 -n 30 "$outf" >"$log.check" 2>&1 || true
	show check "$log.check"
	check "$what: out.raw holds 30 consecutive frames, every byte as sent, exact size" \
		grep -q '^result=pass ' "$log.check"
	rm -f "$in" "$outf"
}
exclusive

lc_unload
