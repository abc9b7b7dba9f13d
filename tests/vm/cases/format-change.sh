#!/bin/bash
# format-change: what readers see of the format, before and across a change.
#
# 1. Before any producer exists, the capture node of a split device announces
#    exactly one format: default_format from the module parameter, then each
#    value written to the sysfs format attribute (ENUM_FMT one format,
#    ENUM_FRAMESIZES one DISCRETE size, ENUM_FRAMEINTERVALS one DISCRETE
#    interval, G_FMT and G_PARM the same).
# 2. A reader streaming while the producer changes its format gets
#    V4L2_EVENT_SOURCE_CHANGE (subscribe, POLLPRI, DQEVENT), no frame of the
#    new format lands in its old-format buffers, and after STREAMOFF, G_FMT,
#    REQBUFS, STREAMON it receives whole frames of the new format
#    (lc-probe follow). Checked on a split capture node (in-place S_FMT of a
#    write() producer with the same frame size, then a new MMAP producer with
#    a bigger format), a combined node (exclusive_caps=0) and a combined
#    node with exclusive_caps=1.
# 3. A reader whose buffers were made (REQBUFS, QBUF) before a producer changed
#    the format, and which only then calls STREAMON, gets no frame of the new
#    format in them.
set -uo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

P=$LOOPCAM_BUILD/tests/vm/progs
PROBE=$P/lc-probe
PRODUCE=$P/lc-produce

# expect_announced DEV FOURCC W H NUM/DEN BYTESPERLINE SIZEIMAGE
expect_announced() {
	local dev=$1 f=$2 w=$3 h=$4 tpf=$5 bpl=$6 size=$7 out
	out=$("$PROBE" enum --type cap "$dev")
	printf '%s\n' "$out" | sed 's/^/  /'
	expect_eq "$dev ENUM_FMT(CAPTURE) lists one format" "$(kv fmts <<<"$out")" "$f"
	expect_eq "$dev ENUM_FRAMESIZES($f)" "$(kv "framesizes.$f" <<<"$out")" "DISCRETE:${w}x$h"
	expect_eq "$dev ENUM_FRAMEINTERVALS($f ${w}x$h)" \
		"$(kv "frameintervals.$f.${w}x$h" <<<"$out")" "DISCRETE:$tpf"
	expect_eq "$dev G_FMT(CAPTURE)" "$(kv g_fmt <<<"$out")" \
		"$f:${w}x$h bytesperline=$bpl sizeimage=$size"
	expect_eq "$dev G_PARM(CAPTURE) timeperframe" "$(kv g_parm <<<"$out")" "$tpf"
}

OUT=/dev/video20 CAP=/dev/video21 COMB=/dev/video22 EXCL=/dev/video23
CAP_SYS=/sys/class/video4linux/video21

lc_load devices=3 video_nr=20,22,23 split_nodes=1,0,0 capture_nr=21,-1,-1 \
	exclusive_caps=0,0,1 default_format=NV12:1280x720@25 || exit 1
for d in $OUT $CAP $COMB $EXCL; do lc_wait_dev "$d" || exit 1; done

# ---- 1. announced before any producer -----------------------------------------
lc_info "split capture node, no producer: default_format=NV12:1280x720@25"
expect_eq "sysfs format of $CAP" "$(cat $CAP_SYS/format)" "NV12:1280x720@25"
expect_announced $CAP NV12 1280 720 1/25 1280 1382400

lc_info "sysfs format attribute, still no producer"
lc_check "write UYVY:320x240@15 to $CAP_SYS/format" sh -c "echo UYVY:320x240@15 >$CAP_SYS/format"
expect_eq "sysfs format of $CAP" "$(cat $CAP_SYS/format)" "UYVY:320x240@15"
expect_announced $CAP UYVY 320 240 1/15 640 153600

lc_check "write YUYV:640x480@30000/1001 to the output node's format attribute" \
	sh -c "echo YUYV:640x480@30000/1001 >/sys/class/video4linux/video20/format"
expect_eq "sysfs format of $CAP" "$(cat $CAP_SYS/format)" "YUYV:640x480@30000/1001"
expect_announced $CAP YUYV 640 480 1001/30000 1280 614400

lc_check "write YUYV:640x480@30 to $CAP_SYS/format" sh -c "echo YUYV:640x480@30 >$CAP_SYS/format"
expect_announced $CAP YUYV 640 480 1/30 1280 614400

# ---- 2. a reader across a format change -------------------------------------------
# Producers send old-format frames once the reader streams, change the format,
# and send new-format frames until SIGTERM (after the reader is done).

# follow_change NAME READER-DEV OLD NEW -- PRODUCER...
follow_change() {
	local name=$1 dev=$2 old=$3 new=$4
	shift 5
	bg_start "$name-reader" "$PROBE" follow "$dev" --old "$old" --new "$new"
	wait_readers "$dev" 1 || true
	bg_start "$name-producer" "$@"
	lc_check "$name: reader follows $old -> $new: event, no new-format frame in old buffers, whole new frames after restart" \
		bg_wait "$name-reader"
	kill -TERM "${bg_pids[$name-producer]}"
	lc_check "$name: producer's ioctls and writes all succeeded" bg_wait "$name-producer"
}

lc_info "split node: write() producer changes YUYV 640x480 -> UYVY 640x480 (same frame size) with S_FMT on its handle"
follow_change split-inplace $CAP YUYV:640x480 UYVY:640x480 -- \
	"$PROBE" ops $OUT s_fmt:out:YUYV:640x480 write:60:30 s_fmt:out:UYVY:640x480 write:0:30

lc_info "split node: old producer leaves, a new MMAP producer sets NV12 1280x720"
bg_start split-new-reader "$PROBE" follow $CAP --old UYVY:640x480 --new NV12:1280x720
wait_readers $CAP 1 || true
lc_check "split-new: first producer sends 60 UYVY 640x480 frames and leaves" \
	"$PROBE" ops $OUT s_fmt:out:UYVY:640x480 write:60:30
bg_start split-new-producer "$PRODUCE" -d $OUT -f NV12 -s 1280x720 -i mmap -r 30 -t 120
lc_check "split-new: reader follows UYVY 640x480 -> NV12 1280x720" bg_wait split-new-reader
kill -TERM "${bg_pids[split-new-producer]}"
lc_check "split-new: MMAP producer ran without error" bg_wait split-new-producer

lc_info "combined node (exclusive_caps=0): write() producer changes YUYV 640x480 -> YUYV 320x240"
follow_change combined $COMB YUYV:640x480 YUYV:320x240 -- \
	"$PROBE" ops $COMB s_fmt:out:YUYV:640x480 write:60:30 s_fmt:out:YUYV:320x240 write:0:30

lc_info "combined node with exclusive_caps=1: write() producer changes YUYV 640x480 -> NV12 1280x720"
# The node only offers CAPTURE once the producer streams: the reader starts
# after the first frames, the producer waits for it before going on.
bg_start exclusive-producer "$PROBE" ops $EXCL s_fmt:out:YUYV:640x480 write:15:30 \
	wait-readers:1:20000 write:60:30 s_fmt:out:NV12:1280x720 write:0:30
bg_start exclusive-reader "$PROBE" follow $EXCL --old YUYV:640x480 --new NV12:1280x720 \
	--wait-capture-ms 10000
lc_check "exclusive: reader follows YUYV 640x480 -> NV12 1280x720" bg_wait exclusive-reader
kill -TERM "${bg_pids[exclusive-producer]}"
lc_check "exclusive: producer's ioctls and writes all succeeded" bg_wait exclusive-producer

# ---- 3. a change between a reader's REQBUFS and its STREAMON ----------------------
# The reader's buffers are made for YUYV 640x480; before it streams, a producer
# sets UYVY 320x240 and sends frames. None may land in those buffers (the
# reader would read them as YUYV 640x480): it gets no frame at all.
lc_info "split node: the format changes between a reader's REQBUFS and its STREAMON"
lc_check "write YUYV:640x480@30 to $CAP_SYS/format" sh -c "echo YUYV:640x480@30 >$CAP_SYS/format"
bg_start early-reader "$P/lc-consume" -d $CAP --expect-format YUYV:640x480 -n 10 \
	--pause-before-streamon-ms 3000 --timeout-ms 3000 --timeout-ok
sleep 1 # its G_FMT, REQBUFS and QBUFs are done by now
rc=0
"$PRODUCE" -d $OUT -f UYVY -s 320x240 -i mmap -r 30 -n 150 >"$LOGS/early-producer.log" 2>&1 || rc=$?
show early-producer "$LOGS/early-producer.log"
expect_eq "early: the producer sent its 150 UYVY 320x240 frames" "$rc" 0
bg_wait early-reader || true
early=$(grep '^result=' "$LOGS/early-reader.log" | tail -n 1)
expect_eq "early: frames the reader got in its YUYV 640x480 buffers" "$(kv received <<<"${early// /$'\n'}")" 0
expect_eq "early: wrongly sized frames" "$(kv bad_size <<<"${early// /$'\n'}")" 0

lc_unload
