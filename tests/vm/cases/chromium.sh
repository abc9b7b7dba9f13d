#!/bin/bash
# chromium: Debian's Chromium, headless, uses the device as a web page uses
# a camera (tests/vm/browser/camera-page.html, served by page-server.py on
# 127.0.0.1; --use-fake-ui-for-media-stream grants the camera).
#
# 1. Split device, idle, with a default format announced (YUYV 640x480 at
#    30/s): getUserMedia lists the capture node as a camera under its card
#    label, and only it (not the output node), and opens it at 640x480 and
#    30 frames/s before any producer exists. With the timeout control set
#    it gets the black placeholder and still streams 12 s later (Chromium
#    drops a camera that sends nothing for 10 s).
# 2. Only then does a producer start (lc-produce, MMAP, the bars pattern):
#    the page, still on the same camera, reads the frame number back from
#    each of 60 presented frames (canvas pixels) and the eight colour bars:
#    every frame after the first numbered one decodes (before it, only the
#    black placeholder), numbers never go backwards, the numbers advance at
#    the producer's 30/s, 640x480 only, and the bars' colours are right (a
#    wrong YUV byte order would swap them).
# 3. Combined node with exclusive_caps=1 (as OBS loads it): no camera is
#    listed while nobody produces; while a producer streams, the page lists
#    it and reads 30 frames the same way.
#
# Chromium is slow to start under TCG; the waits are generous. The guest runs
# without AVX2 (tests/vm/meson.build): Chromium's GPU process dies in an AVX2
# gather instruction under qemu 7.2's TCG.
set -uo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

P=$LOOPCAM_BUILD/tests/vm/progs
PRODUCE=$P/lc-produce
PAGE_DIR=$LOOPCAM_TOP/tests/vm/browser
CHROMIUM=/usr/lib/chromium/chromium
LABEL="loopcam browser test"
REPORTS=/tmp/page-reports.jsonl

[ -x "$CHROMIUM" ] || {
	lc_fail "$CHROMIUM is installed (scripts/setup installs Debian's chromium)"
	exit 1
}
"$CHROMIUM" --version | sed 's/^/INFO: /'
# The page is served on 127.0.0.1: the guest boots with the loopback
# interface down.
ip link set lo up || lc_fail "ip link set lo up"

# report FIELD [PHASE]: FIELD of the last report (of PHASE, if given), as JSON.
report() {
	/usr/bin/python3 - "$REPORTS" "$1" "${2:-}" <<'EOF'
import json, sys
path, field, phase = sys.argv[1:4]
last = None
for line in open(path):
    r = json.loads(line)
    if not phase or r.get("phase") == phase:
        last = r
v = last
for k in field.split(".") if field != "." else []:
    v = v.get(k) if isinstance(v, dict) else None
print(json.dumps(v) if not isinstance(v, str) else v)
EOF
}

# wait_phase PHASE SECS: until the page has reported PHASE (or an error).
wait_phase() {
	for _ in $(seq $(($2 * 2))); do
		grep -q "\"phase\": \"$1\"" "$REPORTS" 2>/dev/null && return 0
		if grep -q '"phase": "error"' "$REPORTS" 2>/dev/null; then
			lc_info "page error: $(report error error)"
			return 1
		fi
		sleep 0.5
	done
	lc_info "no '$1' report within $2 s"
	return 1
}

# browse QUERY: start the server and Chromium on the page with QUERY.
browse() {
	local port
	rm -f "$REPORTS" /tmp/page-port /tmp/chromium-profile -r
	bg_start page-server /usr/bin/python3 "$PAGE_DIR/page-server.py" \
		"$PAGE_DIR" "$REPORTS" /tmp/page-port
	# Python takes seconds to start under TCG.
	for _ in $(seq 120); do
		[ -s /tmp/page-port ] && break
		sleep 0.5
	done
	port=$(cat /tmp/page-port) || {
		lc_fail "the page server listens (its log: $(tail -n 3 "$LOGS/page-server.log"))"
		return 1
	}
	bg_start chromium "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--use-fake-ui-for-media-stream --no-first-run \
		--autoplay-policy=no-user-gesture-required \
		--user-data-dir=/tmp/chromium-profile \
		"http://127.0.0.1:$port/camera-page.html?$1"
}

# stop_browser: end Chromium and the server.
stop_browser() {
	kill "${bg_pids[chromium]:-}" "${bg_pids[page-server]:-}" 2>/dev/null
	wait "${bg_pids[chromium]:-}" "${bg_pids[page-server]:-}" 2>/dev/null
	grep -v -e dbus -e 'Fontconfig' "$LOGS/chromium.log" | tail -n 15 |
		sed 's/^/  [chromium] /'
}

# check_frames N: the "done" report shows N good frames of the bars pattern.
check_frames() {
	local n=$1 rate
	report . "done" | sed 's/^/  report: /'
	check "page: $n numbered frames presented" test "$(report numbered "done")" -ge "$n"
	[ "$(report undecodable "done")" = 0 ] || lc_info "frames not read: $(report undecodableFrames "done")"
	expect_eq "page: frames after the first numbered one whose number could not be read" \
		"$(report undecodableAfterFirst "done")" 0
	expect_eq "page: frames before it that were neither numbered nor black" \
		"$(report undecodableNotBlack "done")" 0
	expect_eq "page: frame numbers going backwards" "$(report backwards "done")" 0
	expect_eq "page: frame sizes" "$(report sizes "done")" "{\"640x480\": $(report frames "done")}"
	check "page: at least $((n / 2)) distinct frames" \
		test "$(report distinct "done")" -ge $((n / 2))
	check "page: colour bars within 24 of their colours (worst $(report worstBar "done"))" \
		test "$(report worstBar "done")" -le 24
	rate=$(/usr/bin/python3 -c 'import sys; a, b, s = map(float, sys.argv[1:]);
print(int((b - a) / s) if s > 0 else 0)' \
		"$(report firstSeq "done")" "$(report lastSeq "done")" "$(report decodedSpanS "done")")
	check "page: frame numbers advance at 30/s (got $rate/s; 24 to 36 accepted)" \
		test "$rate" -ge 24 -a "$rate" -le 36
}

# ==== 1-2: split device, camera opened before the producer starts ================
OUT=/dev/video10
CAP=/dev/video11
lc_load devices=1 split_nodes=1 video_nr=10 capture_nr=11 \
	"card_label=\"$LABEL\"" default_format=YUYV:640x480@30 || exit 1
lc_wait_dev $CAP || exit 1
# An idle camera that sends nothing loses Chromium after 10 s; with a
# timeout it sends the placeholder (black) at the nominal rate instead.
lc_check "v4l2-ctl -c timeout=500" v4l2-ctl -d $CAP -c timeout=500

browse "label=$(printf '%s' "$LABEL" | sed 's/ /%20/g')&frames=60&seconds=150"
if wait_phase opened 240; then
	report . opened | sed 's/^/  report: /'
	expect_eq "idle split device: cameras listed" "$(report devices opened |
		/usr/bin/python3 -c 'import json, sys; print(", ".join(d["label"] for d in json.load(sys.stdin)))')" "$LABEL"
	expect_eq "idle split device: opened camera's label" "$(report label opened)" "$LABEL"
	expect_eq "idle split device: opened at width" "$(report settings.width opened)" 640
	expect_eq "idle split device: opened at height" "$(report settings.height opened)" 480
	expect_eq "idle split device: frame rate" "$(report settings.frameRate opened)" 30
	check "idle split device: Chromium streams from the capture node" wait_readers $CAP 1 30
	# Chromium gives up on a camera after 10 polls of 1 s without a frame
	# (../shared/reference/clients.md): the idle placeholder keeps it.
	sleep 12
	check "idle split device: Chromium still streams after 12 s without a producer" \
		wait_readers $CAP 1 5
	bg_start producer "$PRODUCE" -d $OUT -i mmap -f YUYV -s 640x480 -r 30 -p bars \
		-n 0 -t 120
	if wait_phase "done" 200; then
		check_frames 60
	else
		lc_fail "page read frames from the camera"
	fi
	kill -INT "${bg_pids[producer]}" 2>/dev/null
	bg_wait producer || true
else
	lc_fail "page opened the idle camera"
fi
stop_browser
lc_unload || exit 1

# ==== 3: exclusive_caps=1, as OBS loads the module ===============================
EX=/dev/video20
lc_load devices=1 exclusive_caps=1 video_nr=20 "card_label=\"$LABEL\"" || exit 1
lc_wait_dev $EX || exit 1
browse "label=nothing&frames=1&seconds=1"
if wait_phase "done" 240 || grep -q '"phase": "error"' "$REPORTS"; then
	report . | sed 's/^/  report: /'
	expect_eq "exclusive_caps, no producer: cameras listed" "$(report devices)" "[]"
else
	lc_fail "page reported with no camera to list"
fi
stop_browser

bg_start producer "$PRODUCE" -d $EX -i mmap -f YUYV -s 640x480 -r 30 -p bars -n 0 -t 150
wait_state $EX capture || lc_fail "producer streams on $EX"
browse "label=$(printf '%s' "$LABEL" | sed 's/ /%20/g')&frames=30&seconds=120"
if wait_phase "done" 240; then
	expect_eq "exclusive_caps, producer streaming: cameras listed" "$(report devices "done" |
		/usr/bin/python3 -c 'import json, sys; print(", ".join(d["label"] for d in json.load(sys.stdin)))')" "$LABEL"
	check_frames 30
else
	lc_fail "page read frames from the exclusive_caps camera"
fi
stop_browser
kill -INT "${bg_pids[producer]}" 2>/dev/null
bg_wait producer || true
lc_unload
