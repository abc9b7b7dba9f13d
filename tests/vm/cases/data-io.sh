#!/bin/bash
# Data integrity through every I/O method: a producer using write(), MMAP,
# USERPTR or DMABUF and a reader using read(), MMAP, USERPTR or DMABUF, on a
# split device (output node + capture node) and on a combined node, move
# frames of YUYV 640x480, NV12 1280x720, YU12 641x481 (odd), RGB24 321x241,
# XRGB32 320x240, GREY 333x199, Y16 322x240 and MJPEG 640x480 with frames of
# varying size (200 bytes .. 600 KiB). The reader checks every byte of every
# frame (lc-consume's full test-pattern check), the exact bytesused (the raw
# frame size, or the size the producer sent), and that it got every frame
# from the first one on, in order, with v4l2 sequence numbers to match.
#
# All 16 producer x reader I/O pairs run on both layouts (32 runs); the
# formats rotate over them so that each format meets every producer I/O
# method once, every reader I/O method once, and each layout twice. Two more
# runs use a combined node with exclusive_caps=1, where the reader can only
# open the capture side once the producer streams. DMABUF buffers are
# exported (EXPBUF) from two spare loopback devices.
#
# No frame may be lost: the reader streams before the producer starts (the
# format is announced through sysfs first), and the producer runs in lock
# step with it (lc-produce --pace on lc-consume --progress): frame N goes
# out only once the reader has frame N-2, so the reader (4 buffers, also
# inside vb2's read() emulation) always has a free buffer, however slowly
# it runs on a loaded host. In the exclusive_caps runs the reader joins a
# stream already running, so it queues 32 buffers (max_buffers=32) for the
# 32 frames it checks instead.
#
# Needs LOOPCAM_BUILD (lc-produce, lc-consume).
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

: "${LOOPCAM_BUILD:?run through tests/vm/run-vm --build DIR}"
progs=$LOOPCAM_BUILD/tests/vm/progs
work=$LOOPCAM_RESULTS/data-io
data=/tmp/data-io
mkdir -p "$work" "$data"
FRAMES=60

# FOURCC:WxH as lc-produce/lc-consume take it, the fourcc for sysfs, extra
# producer options.
formats=(
	"YUYV:640x480 YUYV"
	"NV12:1280x720 NV12"
	"YU12:641x481 YU12"
	"RGB24:321x241 RGB3"
	"XRGB32:320x240 BX24"
	"GREY:333x199 GREY"
	"Y16:322x240 Y16"
	"MJPEG:640x480 MJPG --frame-bytes=200:614400"
)
pios=(write mmap userptr dmabuf)
rios=(read mmap userptr dmabuf)

# Nodes: split 20 (output) / 21 (capture), combined 22, DMABUF donors 24
# (for producers) and 25 (for readers), combined with exclusive_caps=1 26.
lc_load devices=5 max_buffers=32 video_nr=20,22,24,25,26 capture_nr=21,-1,-1,-1,-1 \
	split_nodes=1,0,0,0,0 exclusive_caps=0,0,0,0,1
for n in 20 21 22 24 25 26; do
	lc_wait_dev /dev/video$n
done
check "split device: video21 is video20's capture peer" \
	grep -qx video21 /sys/class/video4linux/video20/peer

declare -A P R

# run_one LABEL OUT CAP PIO RIO FORMAT_ENTRY
run_one() {
	local label=$1 out=$2 cap=$3 pio=$4 rio=$5 fmt fourcc extra_s=
	local extra=() pdonor=() rdonor=() rpid prc=0 rrc=0 progress=$data/progress
	read -r fmt fourcc extra_s <<<"$6" || true
	[ -z "$extra_s" ] || read -r -a extra <<<"$extra_s"
	local name=${fmt%%:*} size=${fmt#*:} log=$work/$label-$pio-$rio
	[ "$pio" != dmabuf ] || pdonor=(--dmabuf-from /dev/video24)
	[ "$rio" != dmabuf ] || rdonor=(--dmabuf-from /dev/video25)
	local what="$label: $pio producer -> $rio reader, $fmt"

	lc_info "$what, $FRAMES frames in lock step (uptime $(uptime_s))"
	rm -f "$progress"
	# The reader starts first, on the announced format, so it sees frame 0.
	if ! echo "$fourcc:$size@30" >"/sys/class/video4linux/$out/format"; then
		lc_fail "$what: announce $fourcc:$size through sysfs" || true
		return 0
	fi
	timeout 120 "$progs/lc-consume" -d "/dev/$cap" -i "$rio" "${rdonor[@]}" -b 4 \
		-n "$FRAMES" --timeout-ms 20000 --expect-format "$fmt" --expect-all \
		--expect-first-seq 0 --progress "$progress" >"$log.reader" 2>&1 &
	rpid=$!
	if ! wait_readers "$out" 1; then
		wait "$rpid" || true
		show reader "$log.reader"
		lc_fail "$what: reader streams within 10 s" || true
		return 0
	fi
	timeout 120 "$progs/lc-produce" -d "/dev/$out" -i "$pio" "${pdonor[@]}" -f "$name" \
		-s "$size" -r 0 -n "$FRAMES" --pace "$progress:2" --timeout-ms 20000 "${extra[@]}" \
		>"$log.producer" 2>&1 || prc=$?
	wait "$rpid" || rrc=$?
	load_result P "$log.producer"
	load_result R "$log.reader"
	P[rc]=$prc R[rc]=$rrc
	if [ "$prc" -ne 0 ] || [ "$rrc" -ne 0 ]; then
		show producer "$log.producer"
		show reader "$log.reader"
	else
		printf '  producer: %s\n  reader: %s\n' "${P[line]}" "${R[line]}"
	fi
	check "$what: producer sent $FRAMES frames" expect P rc=0 result=pass sent="$FRAMES"
	check "$what: reader got frames 0..$((FRAMES - 1)) in order, every byte right, exact bytesused" \
		expect R rc=0 result=pass received="$FRAMES" torn=0 bad_size=0 missed=0 v4l2_gaps=0 \
		out_of_order=0 seq_mismatch=0 fmt_mismatch=0 first_seq=0 \
		last_seq=$((FRAMES - 1))
}

for layout in split combined; do
	if [ "$layout" = split ]; then
		out=video20 cap=video21 l=0
	else
		out=video22 cap=video22 l=1
	fi
	for p in 0 1 2 3; do
		for r in 0 1 2 3; do
			# Each format once per producer I/O and once per reader I/O.
			f=$((4 * ((l + p) % 2) + (r - p + 4) % 4))
			run_one "$layout" "$out" "$cap" "${pios[$p]}" "${rios[$r]}" "${formats[$f]}"
		done
	done
done

# exclusive_caps=1: the capture side appears once the producer streams; the
# reader joins a running stream and checks every frame from its first. The
# producer runs until the reader is done (SIGTERM ends it cleanly).
excl_run() {
	local pio=$1 rio=$2 fmt=$3 name=${3%%:*} size=${3#*:} ppid prc=0 rrc=0
	local log=$work/exclusive-$pio-$rio what="exclusive_caps: $pio producer -> $rio reader, $3"
	lc_info "$what (uptime $(uptime_s))"
	timeout 120 "$progs/lc-produce" -d /dev/video26 -i "$pio" -f "$name" -s "$size" \
		-r 15 -n 0 -t 90 >"$log.producer" 2>&1 &
	ppid=$!
	timeout 80 "$progs/lc-consume" -d /dev/video26 -i "$rio" -b 32 -n 32 \
		--timeout-ms 20000 --wait-capture-ms 30000 --expect-format "$3" \
		--wait-format-ms 10000 --expect-all >"$log.reader" 2>&1 || rrc=$?
	kill -TERM "$ppid" 2>/dev/null || true
	wait "$ppid" || prc=$?
	load_result P "$log.producer"
	load_result R "$log.reader"
	P[rc]=$prc R[rc]=$rrc
	if [ "$prc" -ne 0 ] || [ "$rrc" -ne 0 ]; then
		show producer "$log.producer"
		show reader "$log.reader"
	else
		printf '  producer: %s\n  reader: %s\n' "${P[line]}" "${R[line]}"
	fi
	check "$what: producer ran without error until stopped" \
		expect P rc=0 result=pass interrupted=1
	check "$what: reader got 32 consecutive frames, every byte right, exact bytesused" \
		expect R rc=0 result=pass received=32 missed=0 v4l2_gaps=0 torn=0 \
		bad_size=0 seq_mismatch=0
}
excl_run write mmap YUYV:640x480
excl_run mmap userptr NV12:1280x720

lc_unload
