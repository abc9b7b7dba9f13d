#!/bin/bash
# Many readers of one producer, each on its own queue:
#
# 1. Three readers at once under a producer paced at 30 frames/s: two
#    normal readers (MMAP and USERPTR, 32 buffers each for the 32 frames,
#    so however slowly they run) receive every frame, 0..31 in order;
#    the third holds each buffer 100 ms (--slow-ms), so it cannot keep up
#    and loses frames. It must lose them whole: every frame it gets is
#    right, the frames it misses (gaps in the producer's numbering) equal
#    the gaps in its v4l2 sequence numbers, and equal its "dropped" count in
#    sysfs reader_stats; its "received" there equals what it dequeued. The
#    normal readers show 32 received, 0 dropped there. The producer pauses
#    before its last frame so the slow reader has a free buffer for it.
# 2. A producer sending flat out (-r 0) to three readers at a time, for
#    reader I/O MMAP, USERPTR and DMABUF (and producer I/O write, MMAP and
#    USERPTR): readers drop many frames, but no frame is ever torn, short or
#    out of order; missed frames equal v4l2 sequence gaps; and in sysfs each
#    reader's received + dropped is every frame sent, received is what it
#    dequeued, and dropped is what it missed between, before and after the
#    frames it got.
# 3. Three readers that stop dequeuing, one after the other, beside a
#    normal reader, with max_buffers=8: MMAP buffers are shared, so each
#    stalled reader holds some of the producer's buffers, but never so many
#    that the producer (paced at 30/s) cannot send all its frames; the
#    normal reader gets every one.
# 4. Readers get the MMAP buffers they ask for, with the default
#    max_buffers=8: one asking 16 (as PipeWire's pipewiresrc does, which
#    fails with fewer) gets 16, one asking 2 gets the whole pool (10), one
#    asking 32 gets 32. The first two get every frame. The third holds each
#    frame 100 ms, so once it holds its share of the pool the device copies
#    frames into its buffers beyond the pool: frames arrive there (top
#    buffer index >= 10), whole, and what it loses equals its sequence gaps.
#
# Readers run until stopped (SIGTERM, a clean end for lc-consume) once the
# producer is done and each reader has dequeued every frame delivered to it
# (counted from its per-frame -v lines), so reader_stats can be read while
# they still stream.
#
# Needs LOOPCAM_BUILD (lc-produce, lc-consume).
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

: "${LOOPCAM_BUILD:?run through tests/vm/run-vm --build DIR}"
progs=$LOOPCAM_BUILD/tests/vm/progs
work=$LOOPCAM_RESULTS/readers
mkdir -p "$work"

# count_frames FILE: lines lc-consume -v printed for dequeued frames.
count_frames() {
	local l n=0
	while IFS= read -r l; do [[ $l != "frame #"* ]] || n=$((n + 1)); done <"$1"
	printf '%s' "$n"
}

# Split device 30 (output) / 31 (capture); split device 32/33 and combined
# 36 and 38 lend DMABUF buffers to the readers, one device each: all
# handles of a device share its MMAP memory, so one device would give the
# three readers the same buffers. Combined 34 lends them to a DMABUF
# producer.
lc_load devices=5 max_buffers=32 video_nr=30,32,34,36,38 capture_nr=31,33,-1,-1,-1 \
	split_nodes=1,1,0,0,0
for n in 30 31 32 33 34 36 38; do
	lc_wait_dev /dev/video$n
done
# Room for any frame of this test in the donors' buffers.
for n in 32 36 38; do
	check "announce YUYV:1280x720 on DMABUF donor device video$n" \
		announce video$n YUYV:1280x720@30
done
rdonors=(/dev/video33 /dev/video36 /dev/video38)

declare -A P R
declare -a rpids rlogs stats

# start_readers LOG-PREFIX "READER-ARGS"...: starts one reader per argument
# string on video31, one after the other, each streaming before the next
# starts (so reader_stats lists them in this order).
start_readers() {
	local prefix=$1 i=0 a
	shift
	rpids=() rlogs=()
	for a; do
		local args
		read -r -a args <<<"$a"
		rlogs[i]=$prefix-r$i.log
		timeout 120 "$progs/lc-consume" -d /dev/video31 -n 0 -t 100 -v \
			--timeout-ms 20000 "${args[@]}" >"${rlogs[i]}" 2>&1 &
		rpids[i]=$!
		i=$((i + 1))
		if ! wait_readers video30 "$i"; then
			show "reader $((i - 1))" "${rlogs[i - 1]}"
			lc_fail "reader $((i - 1)) ($a) streams within 10 s" || true
		fi
	done
}

# read_stats N: reader_stats into stats[] ("id received dropped" each),
# checking it lists N readers.
read_stats() {
	local l
	stats=()
	while IFS= read -r l; do stats+=("$l"); done </sys/class/video4linux/video30/reader_stats
	printf '  reader_stats: %s\n' "${stats[@]}"
	check "sysfs reader_stats lists the $1 streaming readers" test "${#stats[@]}" -eq "$1"
}

# drain_and_stop: waits until each reader has dequeued every frame the
# device gave it (reader_stats "received" == its -v frame lines), then stops
# the readers with SIGTERM and collects their exit codes into R_rc[].
declare -a R_rc
drain_and_stop() {
	local i n got rc
	for i in "${!rpids[@]}"; do
		read -r _ n _ <<<"${stats[i]}"
		for ((t = 0; t < 300; t++)); do
			got=$(count_frames "${rlogs[i]}")
			[ "$got" -lt "$n" ] || break
			sleep 0.1
		done
	done
	kill -TERM "${rpids[@]}" 2>/dev/null || true
	R_rc=()
	for i in "${!rpids[@]}"; do
		rc=0
		wait "${rpids[i]}" || rc=$?
		R_rc[i]=$rc
	done
}

# producer_result NAME RC: lc-produce's summary in $work/NAME-producer.log
# into P, with P[rc]=RC, printed; the log shown if it failed.
producer_result() {
	load_result P "$work/$1-producer.log"
	P[rc]=$2
	printf '  producer: %s\n' "${P[line]}"
	[ "$2" -eq 0 ] || show producer "$work/$1-producer.log"
}

# produce NAME ARGS...: lc-produce on video30 with ARGS, then producer_result.
produce() {
	local name=$1 rc=0
	shift
	timeout 60 "$progs/lc-produce" -d /dev/video30 "$@" >"$work/$name-producer.log" 2>&1 || rc=$?
	producer_result "$name" "$rc"
}

# collect_readers N: once the last frame has reached the N readers, their
# reader_stats (read_stats), then drain_and_stop.
collect_readers() {
	sleep 1
	read_stats "$1"
	drain_and_stop
}

# reader_result I: reader I's summary into R, with R[rc] its exit code,
# printed; its log shown if it failed.
reader_result() {
	load_result R "${rlogs[$1]}"
	R[rc]=${R_rc[$1]}
	printf '  reader %s: %s\n' "$1" "${R[line]}"
	[ "${R[rc]}" -eq 0 ] || show "reader $1" "${rlogs[$1]}"
}

# ---- 1. paced producer, two normal readers and a slow one --------------------
N=32
lc_info "paced: 3 readers, YUYV 320x240, $N frames at 30/s (uptime $(uptime_s))"
check "announce YUYV:320x240 through sysfs" \
	announce video30 YUYV:320x240@30
start_readers "$work/paced" \
	"-i mmap -b 32 --expect-format YUYV:320x240 --expect-all --expect-first-seq 0" \
	"-i userptr -b 32 --expect-format YUYV:320x240 --expect-all --expect-first-seq 0" \
	"-i mmap -b 4 --expect-format YUYV:320x240 --slow-ms 100"
produce paced -f YUYV -s 320x240 -r 30 -n "$N" --stall-after $((N - 1)) --stall-ms 1500
check "paced producer sent $N frames" expect P rc=0 result=pass sent="$N"
collect_readers 3
for i in 0 1 2; do
	reader_result $i
	read -r sid srecv sdrop <<<"${stats[i]}"
	if [ "$i" -lt 2 ]; then
		check "normal reader $i got every frame, 0..$((N - 1)), whole and in order" \
			expect R rc=0 result=pass received="$N" missed=0 v4l2_gaps=0 torn=0 \
			bad_size=0 out_of_order=0 seq_mismatch=0 first_seq=0 last_seq=$((N - 1))
		check "normal reader $i in reader_stats (id $sid): $N received, 0 dropped" \
			test "$srecv" = "$N" -a "$sdrop" = 0
	else
		check "slow reader: every frame it got whole and in order, frames 0 and $((N - 1)) among them" \
			expect R rc=0 result=pass torn=0 bad_size=0 out_of_order=0 seq_mismatch=0 \
			first_seq=0 last_seq=$((N - 1))
		check "slow reader lost frames (missed=${R[missed]})" test "${R[missed]:-0}" -gt 0
		check "slow reader: missed frames ${R[missed]} == v4l2 sequence gaps ${R[v4l2_gaps]}" \
			test "${R[missed]}" = "${R[v4l2_gaps]}"
		check "slow reader: reader_stats dropped $sdrop == missed ${R[missed]}" \
			test "$sdrop" = "${R[missed]}"
		check "slow reader: reader_stats received $srecv == frames dequeued ${R[received]}" \
			test "$srecv" = "${R[received]}"
		check "slow reader: received + dropped == $N frames sent" \
			test $((srecv + sdrop)) -eq "$N"
	fi
done

# ---- 2. flat-out producer, three readers per reader I/O ---------------------
N=120
flat_out() {
	local rio=$1 pio=$2 donor=("" "" "") pdonor=() i
	[ "$rio" != dmabuf ] || donor=("${rdonors[@]/#/--dmabuf-from }")
	[ "$pio" != dmabuf ] || pdonor=(--dmabuf-from /dev/video34)
	local what="flat out: $pio producer, 3 $rio readers"
	lc_info "$what, YUYV 640x480, $N frames (uptime $(uptime_s))"
	check "announce YUYV:640x480 through sysfs" \
		announce video30 YUYV:640x480@30
	start_readers "$work/flat-$rio" \
		"-i $rio ${donor[0]} --expect-format YUYV:640x480" \
		"-i $rio ${donor[1]} --expect-format YUYV:640x480" \
		"-i $rio ${donor[2]} --expect-format YUYV:640x480"
	produce "flat-$rio" -i "$pio" "${pdonor[@]}" -f YUYV -s 640x480 -r 0 -n "$N"
	check "$what: producer sent $N frames" expect P rc=0 result=pass sent="$N"
	collect_readers 3
	for i in 0 1 2; do
		reader_result $i
		read -r sid srecv sdrop <<<"${stats[i]}"
		check "$what: reader $i: no torn, short or out-of-order frame" \
			expect R rc=0 result=pass torn=0 bad_size=0 out_of_order=0 seq_mismatch=0 \
			foreign=0 error_bufs=0 fmt_mismatch=0
		check "$what: reader $i got frames (${R[received]:-0})" test "${R[received]:-0}" -gt 0
		check "$what: reader $i: missed ${R[missed]} == v4l2 sequence gaps ${R[v4l2_gaps]}" \
			test "${R[missed]}" = "${R[v4l2_gaps]}"
		check "$what: reader $i: reader_stats received $srecv == frames dequeued ${R[received]}" \
			test "$srecv" = "${R[received]}"
		check "$what: reader $i: reader_stats received + dropped == $N frames sent" \
			test $((srecv + sdrop)) -eq "$N"
		local missed=${R[missed]:-0} first=${R[first_seq]:-0} last=${R[last_seq]:-0}
		check "$what: reader $i: reader_stats dropped $sdrop == missed $missed + $first before + $((N - 1 - last)) after" \
			test "$sdrop" -eq $((missed + first + N - 1 - last))
	done
}
flat_out mmap write
flat_out userptr mmap
flat_out dmabuf userptr

lc_unload

# ---- 3. stalled readers never hold the producer back -------------------------
# MMAP buffers are shared: a reader holds the producer's buffer until it
# queues its own again. Three readers that stop dequeuing, each at another
# moment, so that each holds different buffers, must still leave the
# producer enough of its max_buffers=8 to go on at its rate, and a normal
# reader gets every frame.
N=120
lc_info "stalled: 3 readers that stop dequeuing + 1 normal, YUYV 320x240, $N frames at 30/s"
lc_load devices=1 max_buffers=8 video_nr=30 capture_nr=31 split_nodes=1
lc_wait_dev /dev/video30
lc_wait_dev /dev/video31
check "announce YUYV:320x240 through sysfs" announce video30 YUYV:320x240@30
start_readers "$work/stalled" \
	"-i userptr -b 8 --expect-format YUYV:320x240 --expect-all --expect-first-seq 0"
prc=0
timeout 60 "$progs/lc-produce" -d /dev/video30 -i mmap -b 8 -f YUYV -s 320x240 -r 30 \
	-n "$N" >"$work/stalled-producer.log" 2>&1 &
ppid=$!
for i in 1 2 3; do
	sleep 0.7
	timeout 120 "$progs/lc-consume" -d /dev/video31 -i mmap -b 10 -n 0 -t 100 -v \
		--slow-ms 100000 --timeout-ms 20000 >"$work/stalled-r$i.log" 2>&1 &
	rpids[i]=$!
	rlogs[i]=$work/stalled-r$i.log
done
wait "$ppid" || prc=$?
producer_result stalled "$prc"
check "stalled readers: the MMAP producer sent all $N frames at 30/s" \
	expect P rc=0 result=pass sent="$N"
sleep 1
read_stats 4
for i in 1 2 3; do
	read -r _ srecv sdrop <<<"${stats[i]}"
	check "stalled reader $i got frames ($srecv) and lost the rest for itself ($sdrop)" \
		test "$srecv" -gt 0 -a "$sdrop" -gt 0
done
rpids=("${rpids[0]}") rlogs=("${rlogs[0]}") stats=("${stats[0]}")
drain_and_stop
reader_result 0
check "normal reader beside 3 stalled ones got every frame, 0..$((N - 1)), whole" \
	expect R rc=0 result=pass received="$N" missed=0 torn=0 bad_size=0 out_of_order=0 \
	first_seq=0 last_seq=$((N - 1))
pkill -TERM -f "lc-consume -d /dev/video31" || true
wait
lc_unload

# ---- 4. readers get the buffers they ask for ------------------------------------
N=60
lc_info "buffer counts: readers asking 16, 2 and 32 MMAP buffers, max_buffers=8 (the default), $N frames at 30/s"
lc_load devices=1 video_nr=30 capture_nr=31 split_nodes=1
lc_wait_dev /dev/video30
lc_wait_dev /dev/video31
check "announce YUYV:320x240 through sysfs" announce video30 YUYV:320x240@30
start_readers "$work/counts" \
	"-i mmap -b 16 --expect-format YUYV:320x240 --expect-all --expect-first-seq 0" \
	"-i mmap -b 2 --expect-format YUYV:320x240 --expect-all --expect-first-seq 0" \
	"-i mmap -b 32 --expect-format YUYV:320x240 --slow-ms 100"
produce counts -i mmap -b 8 -f YUYV -s 320x240 -r 30 -n "$N"
check "buffer counts: the MMAP producer sent all $N frames" expect P rc=0 result=pass sent="$N"
collect_readers 3
for i in 0 1 2; do
	reader_result $i
	case $i in
	0) check "a reader asking 16 MMAP buffers (PipeWire's count) got 16 and every frame, 0..$((N - 1))" \
		expect R rc=0 result=pass buffers=16 received="$N" missed=0 torn=0 first_seq=0 \
		last_seq=$((N - 1)) ;;
	1) check "a reader asking 2 MMAP buffers got the pool's 10 and every frame, 0..$((N - 1))" \
		expect R rc=0 result=pass buffers=10 received="$N" missed=0 torn=0 first_seq=0 \
		last_seq=$((N - 1)) ;;
	2) check "a slow reader asking 32 got 32, and whole frames in buffers beyond the pool" \
		expect R rc=0 result=pass buffers=32 torn=0 bad_size=0 out_of_order=0 seq_mismatch=0
		check "the slow reader's frames reached buffer index 10 or more (top: ${R[top_buffer]})" \
			test "${R[top_buffer]}" -ge 10 ;;
	esac
done
lc_unload
