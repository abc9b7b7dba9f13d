#!/bin/bash
# caps: what QUERYCAP advertises, and who may produce, as clients rely on it.
#
# exclusive_caps=1 (combined node, OBS's modprobe line): device_caps is
# OUTPUT only until a producer streams; OBS 29.0.2's sequence (O_RDWR,
# QUERYCAP, G_FMT, S_PARM, S_FMT of the G_FMT struct, STREAMON without
# REQBUFS, write()) turns it into CAPTURE only and frames reach a reader;
# newest OBS's double STREAMON both succeed; after STREAMOFF + close it is
# OUTPUT again, unless keep_format=1 holds CAPTURE (a new producer may
# still take the kept node over, so OBS can restart its camera). Split
# nodes: the output node is OUTPUT only and the capture node CAPTURE only
# at all times, their bus_info strings are not prefixes of each other, card
# is card_label; a handle on the output node subscribed to
# LOOPCAM_EVENT_READERS hears a reader start and stop.
# exclusive_caps=0: both at all times. On every kind of node a second
# producer gets EBUSY from REQBUFS, STREAMON and write() on another handle.
set -uo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

P=$LOOPCAM_BUILD/tests/vm/progs
PROBE=$P/lc-probe
PRODUCE=$P/lc-produce
CONSUME=$P/lc-consume

# dir_of DEV [--rdonly]: capture, output, both or none (QUERYCAP device_caps).
dir_of() { "$PROBE" caps "$@" | kv dir; }

# expect_dir WHAT DEV DIR: device_caps direction now, opened O_RDWR and O_RDONLY.
expect_dir() {
	expect_eq "$1: $2 device_caps (O_RDWR, as OBS opens)" "$(dir_of "$2")" "$3"
	expect_eq "$1: $2 device_caps (O_RDONLY, as Chromium opens)" "$(dir_of "$2" --rdonly)" "$3"
}

# second_producer DEV: another handle gets EBUSY while a producer streams.
second_producer() {
	local dev=$1
	lc_check "$dev: second producer: REQBUFS(OUTPUT, 2) on another handle -> EBUSY" \
		"$PROBE" ops "$dev" reqbufs:out:2=EBUSY
	lc_check "$dev: second producer: STREAMON(OUTPUT) on another handle -> EBUSY" \
		"$PROBE" ops "$dev" streamon:out=EBUSY
	lc_check "$dev: second producer: write() of a frame on another handle -> EBUSY" \
		"$PROBE" ops "$dev" writeraw:614400=EBUSY
}

# ==== exclusive_caps=1, as OBS loads the module ======================================
EX=/dev/video30
lc_load exclusive_caps=1 'card_label="OBS Virtual Camera"' video_nr=30 || exit 1
lc_wait_dev $EX || exit 1
caps=$("$PROBE" caps $EX)
printf '%s\n' "$caps" | sed 's/^/  /'
expect_eq "$EX driver" "$(kv driver <<<"$caps")" "v4l2 loopback"
expect_eq "$EX card (card_label with spaces)" "$(kv card <<<"$caps")" "OBS Virtual Camera"
expect_eq "$EX bus_info" "$(kv bus_info <<<"$caps")" "platform:v4l2loopback-030"
expect_dir "exclusive, no producer" $EX output

lc_info "OBS 29.0.2: G_FMT, S_PARM, S_FMT(G_FMT struct, sizeimage w*h*2), STREAMON without REQBUFS, write()"
bg_start obs29 "$PRODUCE" -d $EX --obs-fmt --streamon -i write -f YUYV -s 640x480 -r 30 -t 120
wait_state $EX capture || true
expect_dir "exclusive, OBS 29.0.2 streaming" $EX capture
lc_check "exclusive: a reader gets 60 whole YUYV 640x480 frames from OBS 29.0.2's writes" \
	"$CONSUME" -d $EX -n 60 --wait-capture-ms 5000 --expect-format YUYV:640x480
second_producer $EX
kill -TERM "${bg_pids[obs29]}"
lc_check "exclusive: OBS 29.0.2-like producer ran (STREAMON accepted, writes, STREAMOFF)" \
	bg_wait obs29
expect_dir "exclusive, after OBS 29.0.2's STREAMOFF and close" $EX output

lc_info "newest OBS: QUERYCAP needs OUTPUT, STREAMON twice, both must succeed"
bg_start obsnew "$PROBE" ops $EX caps:output g_fmt:out s_parm:out:1/30 s_fmt:out:YUYV:640x480 \
	streamon:out streamon:out write:0:30 streamoff:out
wait_state $EX capture || true
expect_dir "exclusive, newest OBS streaming" $EX capture
lc_check "exclusive: a reader gets 60 whole frames from newest OBS's writes" \
	"$CONSUME" -d $EX -n 60 --wait-capture-ms 5000 --expect-format YUYV:640x480
kill -TERM "${bg_pids[obsnew]}"
lc_check "exclusive: newest OBS sequence: caps OUTPUT, STREAMON, STREAMON again, writes, STREAMOFF" \
	bg_wait obsnew
expect_dir "exclusive, after newest OBS's STREAMOFF and close" $EX output

lc_info "exclusive: keep_format=1 keeps CAPTURE after the producer closes"
lc_check "v4l2-ctl -c keep_format=1" v4l2-ctl -d $EX -c keep_format=1
lc_check "exclusive: OBS 29.0.2-like producer sends 30 frames and closes" \
	"$PRODUCE" -d $EX --obs-fmt --streamon -i write -r 30 -n 30
expect_dir "exclusive, keep_format=1, producer closed" $EX capture
lc_check "exclusive, keep_format=1: G_FMT(CAPTURE) keeps the producer's format" \
	"$PROBE" ops $EX g_fmt:cap:YUYV:640x480
lc_info "exclusive, keep_format=1: OBS 29.0.2 (which checks no caps) restarts its virtual camera on the kept node"
bg_start obs29again "$PRODUCE" -d $EX --obs-fmt --no-cap-check --streamon -i write -f YUYV -s 640x480 -r 30 -t 120
lc_check "exclusive, keep_format=1: a reader gets 30 whole frames from the restarted producer" \
	"$CONSUME" -d $EX -n 30 --wait-capture-ms 5000 --expect-format YUYV:640x480
second_producer $EX
kill -TERM "${bg_pids[obs29again]}"
lc_check "exclusive, keep_format=1: the restarted producer's G_FMT/S_PARM/S_FMT/STREAMON/writes succeeded" \
	bg_wait obs29again
expect_dir "exclusive, keep_format=1, restarted producer closed" $EX capture
lc_check "v4l2-ctl -c keep_format=0" v4l2-ctl -d $EX -c keep_format=0
expect_dir "exclusive, keep_format back to 0" $EX output
lc_unload

# ==== exclusive_caps=0 combined node and a split device =============================
PL=/dev/video31 SO=/dev/video32 SC=/dev/video33
lc_load devices=2 video_nr=31,32 split_nodes=0,1 capture_nr=-1,33 card_label=PlainLoop,SplitCam || exit 1
for d in $PL $SO $SC; do lc_wait_dev "$d" || exit 1; done
pl_caps=$("$PROBE" caps $PL)
so_caps=$("$PROBE" caps $SO)
sc_caps=$("$PROBE" caps $SC)
printf '%s\n' "$pl_caps" "$so_caps" "$sc_caps" | sed 's/^/  /'
expect_eq "$PL card" "$(kv card <<<"$pl_caps")" PlainLoop
expect_eq "$PL bus_info" "$(kv bus_info <<<"$pl_caps")" "platform:v4l2loopback-031"
expect_eq "$SO card" "$(kv card <<<"$so_caps")" SplitCam
expect_eq "$SC card" "$(kv card <<<"$sc_caps")" SplitCam
so_bus=$(kv bus_info <<<"$so_caps")
sc_bus=$(kv bus_info <<<"$sc_caps")
if [ -n "$so_bus" ] && [ -n "$sc_bus" ] && [[ "$so_bus" != "$sc_bus"* ]] && [[ "$sc_bus" != "$so_bus"* ]]; then
	lc_pass "split bus_info not prefixes of each other: '$so_bus' / '$sc_bus'"
else
	lc_fail "split bus_info must not be prefixes of each other: '$so_bus' / '$sc_bus'"
fi
expect_dir "exclusive_caps=0, no producer" $PL both
expect_dir "split output node, no producer" $SO output
expect_dir "split capture node, no producer" $SC capture

lc_info "split: an MMAP producer streams"
bg_start split-prod "$PRODUCE" -d $SO -i mmap -r 30 -t 60
wait_state $SO capture || true
expect_dir "split output node, producer streaming" $SO output
expect_dir "split capture node, producer streaming" $SC capture
lc_check "split: a reader on the capture node gets 30 whole frames" \
	"$CONSUME" -d $SC -n 30 --expect-format YUYV:640x480
second_producer $SO
kill -TERM "${bg_pids[split-prod]}"
lc_check "split: first producer unaffected by the second" bg_wait split-prod
expect_dir "split output node, producer gone" $SO output
expect_dir "split capture node, producer gone" $SC capture

lc_info "LOOPCAM_EVENT_READERS: a handle on the output node learns when readers come and go"
bg_start readers-event "$PROBE" ops $SO subscribe:readers readers-event:1 readers-event:0
sleep 2
lc_check "split: a reader streams on $SC for 2 s (no producer)" \
	"$CONSUME" -d $SC -t 2 --timeout-ok
lc_check "split: the output-node handle got LOOPCAM_EVENT_READERS with 1, then with 0 readers" \
	bg_wait readers-event

lc_info "exclusive_caps=0: a write() producer streams"
bg_start plain-prod "$PRODUCE" -d $PL -i write -r 30 -t 60
wait_state $PL capture || true
expect_dir "exclusive_caps=0, producer streaming" $PL both
lc_check "exclusive_caps=0: a reader gets 30 whole frames" \
	"$CONSUME" -d $PL -n 30 --expect-format YUYV:640x480
second_producer $PL
kill -TERM "${bg_pids[plain-prod]}"
lc_check "exclusive_caps=0: first producer unaffected by the second" bg_wait plain-prod
expect_dir "exclusive_caps=0, producer gone" $PL both
lc_unload
