#!/bin/bash
# rate: frame interval and timestamps from producer to readers.
#
# - S_PARM(OUTPUT) sets the interval readers see: G_PARM(CAPTURE) and the one
#   DISCRETE ENUM_FRAMEINTERVALS entry of the capture side are exactly the
#   producer's fraction (1/25, 1001/30000), without and with the producer
#   streaming, on a split capture node and on a combined node.
# - Timestamps: an MMAP or USERPTR producer's explicit timestamps reach the
#   reader unchanged (lc-consume --expect-ts copy); a write() producer's
#   frames, and MMAP frames queued with timestamp 0, get CLOCK_MONOTONIC
#   stamps between the send and the dequeue (--expect-ts kernel); timestamps
#   never go back.
set -uo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

P=$LOOPCAM_BUILD/tests/vm/progs
PROBE=$P/lc-probe
PRODUCE=$P/lc-produce
CONSUME=$P/lc-consume

# expect_rate WHAT READER-DEV NUM/DEN: what readers are told about the interval.
expect_rate() {
	local out
	out=$("$PROBE" enum --type cap "$2")
	printf '%s\n' "$out" | sed 's/^/  /'
	expect_eq "$1: $2 G_PARM(CAPTURE) timeperframe" "$(kv g_parm <<<"$out")" "$3"
	expect_eq "$1: $2 ENUM_FRAMEINTERVALS(YUYV 640x480)" \
		"$(kv frameintervals.YUYV.640x480 <<<"$out")" "DISCRETE:$3"
}

# timestamps NAME READER-DEV PRODUCER-DEV KIND PRODUCER-OPTS...
timestamps() {
	local name=$1 rdev=$2 pdev=$3 kind=$4
	shift 4
	bg_start "$name-r" "$CONSUME" -d "$rdev" -n 60 --timeout-ms 15000 --expect-ts "$kind"
	wait_readers "$rdev" 1 || true
	bg_start "$name-p" "$PRODUCE" -d "$pdev" -r 30 -t 120 "$@"
	lc_check "$name: 60 frames, timestamps --expect-ts $kind, none going back" bg_wait "$name-r"
	kill -TERM "${bg_pids[$name-p]}"
	lc_check "$name: producer ran without error" bg_wait "$name-p"
}

SO=/dev/video60 SC=/dev/video61 PL=/dev/video62
lc_load devices=2 video_nr=60,62 split_nodes=1,0 capture_nr=61,-1 || exit 1
for d in $SO $SC $PL; do lc_wait_dev "$d" || exit 1; done

# ---- S_PARM -> readers ------------------------------------------------------------------
expect_rate "split, default" $SC 1/30
lc_check "split: S_FMT YUYV 640x480, S_PARM(OUTPUT) 1/25 returns 1/25" \
	"$PROBE" ops $SO s_fmt:out:YUYV:640x480 s_parm:out:1/25 g_parm:out:1/25
expect_rate "split, after S_PARM 1/25" $SC 1/25
# A producer that set a format and left fixed nothing: sysfs reads empty, as
# v4l2loopback's does (v4l2loopback-ctl 0.12 and loopbacksink rely on it).
expect_eq "split: sysfs format after a producer's S_FMT and close" \
	"$(cat /sys/class/video4linux/video61/format)" ""
lc_check "split: S_PARM(OUTPUT) 1001/30000 returns 1001/30000" \
	"$PROBE" ops $SO s_parm:out:1001/30000
expect_rate "split, after S_PARM 1001/30000" $SC 1001/30000

bg_start split-25 "$PRODUCE" -d $SO -i mmap -r 25 -t 120
wait_state $SO capture || true
expect_eq "split: sysfs format while a 25/s producer streams" \
	"$(cat /sys/class/video4linux/video61/format)" "YUYV:640x480@25"
expect_rate "split, producer streaming at S_PARM 1/25" $SC 1/25
lc_check "split: a reader's G_PARM shows 1/25 while it streams" \
	sh -c "'$CONSUME' -d $SC -n 10 | grep -x 'G_PARM: CAPTURE timeperframe=1/25 (TIMEPERFRAME)'"
kill -TERM "${bg_pids[split-25]}"
lc_check "split: 25 fps producer ran without error" bg_wait split-25

bg_start comb-25 "$PRODUCE" -d $PL -i write -r 25 -t 120
wait_state $PL capture || true
expect_rate "combined, producer streaming at S_PARM 1/25" $PL 1/25
kill -TERM "${bg_pids[comb-25]}"
lc_check "combined: 25 fps producer ran without error" bg_wait comb-25

# ---- timestamps --------------------------------------------------------------------------
timestamps split-mmap $SC $SO copy -i mmap
timestamps split-userptr $SC $SO copy -i userptr
timestamps split-mmap-ts0 $SC $SO kernel -i mmap --timestamp-zero
timestamps split-write $SC $SO kernel -i write
timestamps comb-mmap $PL $PL copy -i mmap
timestamps comb-write $PL $PL kernel -i write
lc_unload
