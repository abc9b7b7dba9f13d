#!/bin/bash
# idle: what readers get while no producer feeds them.
#
# - No producer, timeout control 0 (default): a streaming reader gets no
#   frame (blocks) for 2 s.
# - timeout=500: placeholder frames, limited-range black (YUYV bytes 16, 128,
#   16, 128 everywhere), the first after the timeout, then at the device's
#   nominal frame rate within 20% (30 fps, then 15 fps).
# - timeout=500 with a producer that stalls for 2.5 s: its frames, black
#   placeholder frames during the stall, its frames again.
# - timeout_image_io: press the button, a producer writes one frame and
#   leaves: once the timeout has passed readers get exactly that frame,
#   whole, over and over, and no black.
# - sustain_framerate=1: a producer writing 5 fps into a 30 fps device gives
#   readers ~30 fps (within 20%) of whole, repeated producer frames.
# lc-probe watch classifies every dequeued frame (black, test frame
# STREAM:SEQ, bad) and measures the rate from the first to the last frame.
set -uo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

P=$LOOPCAM_BUILD/tests/vm/progs
PROBE=$P/lc-probe
PRODUCE=$P/lc-produce

# wstat NAME KEY: a number from the summary line of watch NAME's log.
wstat() { grep -o "\b$2=[^ ]*" "$LOGS/$1.log" | tail -n 1 | cut -d= -f2; }

# expect_num WHAT VALUE LO HI: LO <= VALUE <= HI (decimals allowed).
expect_num() {
	if [ -n "$2" ] && awk -v v="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(v >= lo && v <= hi) }'; then
		lc_pass "$1: $2 (within $3..$4)"
	else
		lc_fail "$1: ${2:-nothing}, expected $3..$4"
	fi
}

# expect_rate WHAT NAME FPS: watch NAME measured FPS within 20%.
expect_rate() {
	expect_num "$1" "$(wstat "$2" fps)" "$(awk -v f="$3" 'BEGIN { print f * 0.8 }')" \
		"$(awk -v f="$3" 'BEGIN { print f * 1.2 }')"
}

DEV=/dev/video40
lc_load video_nr=40 || exit 1
lc_wait_dev $DEV || exit 1

# ---- no producer, no timeout: the reader blocks ----------------------------
bg_start block "$PROBE" watch -t 2 $DEV
lc_check "no producer, timeout 0: watch runs" bg_wait block
expect_eq "no producer, timeout 0: frames in 2 s" "$(wstat block received)" 0

# ---- timeout: black placeholder at the nominal rate --------------------------
lc_check "v4l2-ctl -c timeout=500" v4l2-ctl -d $DEV -c timeout=500
expect_eq "timeout control reads back" "$(v4l2-ctl -d $DEV -C timeout)" "timeout: 500"
bg_start black30 "$PROBE" watch -t 5 $DEV
lc_check "timeout=500, 30 fps: watch runs" bg_wait black30
expect_num "timeout=500: placeholder frames received in 5 s" "$(wstat black30 received)" 60 999
expect_eq "timeout=500: every frame is the black placeholder (16,128,16,128)" \
	"$(wstat black30 black)" "$(wstat black30 received)"
expect_num "timeout=500: first placeholder after the timeout (ms after STREAMON)" \
	"$(wstat black30 first_ms)" 450 1500
expect_rate "timeout=500: placeholder rate at nominal 30 fps" black30 30

lc_check "device rate to 15 fps (sysfs format YUYV:640x480@15)" \
	sh -c "echo YUYV:640x480@15 >/sys/class/video4linux/video40/format"
bg_start black15 "$PROBE" watch -t 5 $DEV
lc_check "timeout=500, 15 fps: watch runs" bg_wait black15
expect_eq "timeout=500, 15 fps: every frame is the black placeholder" \
	"$(wstat black15 black)" "$(wstat black15 received)"
expect_rate "timeout=500: placeholder rate at nominal 15 fps" black15 15
lc_check "device rate back to 30 fps" \
	sh -c "echo YUYV:640x480@30 >/sys/class/video4linux/video40/format"

# ---- timeout with a producer that stalls ------------------------------------------
# Expected frame sequence: [black...] frames 0..44, black..., frames 45..89, [black...]
bg_start stall "$PROBE" watch -t 600 $DEV
wait_readers $DEV 1 || true
lc_check "producer: 45 frames, a 2.5 s stall, 45 frames" \
	"$PRODUCE" -d $DEV -i write -r 30 -n 90 --stall-after 45 --stall-ms 2500 --stream-id 0x57a11
sleep 1
kill -TERM "${bg_pids[stall]}"
lc_check "stalled producer: watch runs" bg_wait stall
verdict=$(sed -n 's/^runs: //p' "$LOGS/stall.log" | tr ',' '\n' | awk '
	{ sub(/^ +/, "") }
	/^black x/ { if (state == 1 || state == 3) state++; next }
	/^test 00057a11:[0-9]+ x/ {
		split($2, a, ":"); seq = a[2] + 0; n = substr($3, 2) + 0
		if (state == 0 || state == 2) state++
		if (state == 1 && seq > 44) bad = bad " frame " seq " before the stall;"
		if (state == 3 && seq < 45) bad = bad " frame " seq " after the stall;"
		if (state == 4) bad = bad " frame " seq " after a second black run;"
		if (state == 1) before += n; else after += n
		next
	}
	{ bad = bad " unexpected run \"" $0 "\";" }
	END {
		if (state < 3) bad = bad " no black run between two runs of frames;"
		printf "%d frames before the stall, %d after%s\n", before, after, bad == "" ? "" : ":" bad
	}')
case "$verdict" in
*:*) lc_fail "stalled producer: frames 0..44, black during the stall, frames 45..89: $verdict ($(grep '^runs:' "$LOGS/stall.log" | cut -c1-300))" ;;
*) lc_pass "stalled producer: frames 0..44, black placeholder during the stall, frames 45..89 ($verdict)" ;;
esac
before=${verdict%% frames before*}
after=$(sed -n 's/.*, \([0-9]*\) after.*/\1/p' <<<"$verdict")
expect_num "stalled producer: frames received before the stall" "$before" 20 45
expect_num "stalled producer: frames received after the stall" "$after" 20 45
expect_eq "stalled producer: no broken frame" "$(wstat stall bad)" 0

# ---- timeout_image_io: the producer's next frame becomes the placeholder ------
bg_start image "$PROBE" watch -t 600 $DEV
wait_readers $DEV 1 || true
sleep 1
lc_check "v4l2-ctl -c timeout_image_io=1 (press the button)" v4l2-ctl -d $DEV -c timeout_image_io=1
lc_check "producer writes one frame (stream 5eed0001, frame 0) and leaves" \
	"$PRODUCE" -d $DEV -i write -n 1 --stream-id 0x5eed0001
sleep 3.5
kill -TERM "${bg_pids[image]}"
lc_check "timeout_image_io: watch runs" bg_wait image
runs=$(grep '^runs:' "$LOGS/image.log")
expect_eq "timeout_image_io: the last frames are the producer's frame, whole" \
	"$(sed -n 's/^last_run=//p' "$LOGS/image.log")" "test 5eed0001:0"
if grep -q 'test 5eed0001:0 x' <<<"$runs" && ! grep -q 'test 5eed0001:0 x[0-9]*, black' <<<"$runs"; then
	lc_pass "timeout_image_io: black placeholder, then frame 5eed0001:0 only ($runs)"
else
	lc_fail "timeout_image_io: expected black, then only frame 5eed0001:0 ($runs)"
fi
image_n=$(grep -o 'test 5eed0001:0 x[0-9]*' <<<"$runs" | tail -n 1 | sed 's/.* x//')
expect_num "timeout_image_io: repeats of the producer's frame in the 3.5 s after it left" "${image_n:-0}" 30 999
expect_eq "timeout_image_io: no broken frame" "$(wstat image bad)" 0
expect_eq "timeout_image_io: distinct producer frames seen" "$(wstat image distinct)" 1

# ---- sustain_framerate ---------------------------------------------------------
lc_check "v4l2-ctl -c timeout=0 -c sustain_framerate=1" \
	v4l2-ctl -d $DEV -c timeout=0 -c sustain_framerate=1
bg_start slow "$PRODUCE" -d $DEV -i write -r 5 --parm-fps 30 -t 120
wait_state $DEV capture || true
bg_start sustain "$PROBE" watch -t 5 $DEV
lc_check "sustain_framerate=1: watch runs" bg_wait sustain
kill -TERM "${bg_pids[slow]}"
lc_check "5 fps producer ran without error" bg_wait slow
received=$(wstat sustain received)
distinct=$(wstat sustain distinct)
expect_eq "sustain_framerate=1: every frame is a whole producer frame" "$(wstat sustain test)" "$received"
expect_rate "sustain_framerate=1: reader rate with a 5 fps producer on a 30 fps device" sustain 30
expect_num "sustain_framerate=1: distinct producer frames in 5 s (5 fps)" "${distinct:-0}" 15 40
if [ -n "$received" ] && [ -n "$distinct" ] && [ "$received" -ge $((distinct * 4)) ]; then
	lc_pass "sustain_framerate=1: frames repeated ($received received, $distinct distinct)"
else
	lc_fail "sustain_framerate=1: frames repeated (${received:-?} received, ${distinct:-?} distinct, want >= 4x)"
fi
lc_unload
