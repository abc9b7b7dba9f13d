#!/bin/bash
# ctl: loopcam-ctl against the real module, and the real v4l2loopback-ctl
# tools run unchanged: Debian 12's 0.12.7 (a shell script: set-fps,
# set-caps, set-timeout-image) and sid's 0.15.4 (a C program: add, delete,
# list, query, set-fps, get-fps, set-caps, get-caps).
#
# loopcam-ctl: "module not loaded" before the module is; add (combined with
# the v4l2loopback-ctl 0.15 option spellings, split with a default format,
# first free number); list and list --json; query and query --json;
# set-caps/get-caps and set-fps/get-fps in both argument orders, checked
# through G_FMT/G_PARM of a reader too; set-timeout-image with a PNG made by GStreamer, after which a
# reader gets exactly that picture (converted by GStreamer on its own) once
# the timeout passes; readers while one streams; remove/delete, refused
# with a clear error while a node is open; bad input (sizes, numbers,
# formats, rates, nonexistent devices) fails with exit 1 and the module
# stays usable; exit 4 for a user without access to the control device.
#
# The v4l2loopback-ctl packages are fetched on the host by scripts/setup
# into $LOOPCAM_CACHE/v4l2loopback-utils-VERSION/root; sid's binary runs
# with the loader and C library of the sid v4l-utils cache (it needs glibc
# >= 2.38, bookworm has 2.36; see docs/v4l-utils.md).
#
# Needs LOOPCAM_BUILD (tools/loopcam-ctl, tests/vm/progs).
set -uo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"
# shellcheck source=scripts/lib.sh
. "$LOOPCAM_TOP/scripts/lib.sh"

: "${LOOPCAM_BUILD:?run through tests/vm/run-vm --build DIR}"
CTL=$LOOPCAM_BUILD/tools/loopcam-ctl
PROBE=$LOOPCAM_BUILD/tests/vm/progs/lc-probe
work=/tmp/ctl
mkdir -p "$work/bin"
[ -x "$CTL" ] || {
	lc_fail "$CTL missing: build it (ninja -C $LOOPCAM_BUILD)"
	exit 1
}

# ---- helpers ------------------------------------------------------------------
# ctl_out WHAT EXPECTED ARGS...: loopcam-ctl ARGS exits 0 and prints EXPECTED.
ctl_out() {
	local what=$1 want=$2 got rc=0
	shift 2
	got=$("$CTL" "$@" 2>"$work/err") || rc=$?
	if [ "$rc" = 0 ] && [ "$got" = "$want" ]; then
		lc_pass "$what: loopcam-ctl $* -> '$want'"
	else
		lc_fail "$what: loopcam-ctl $*: exit $rc, printed '$got', want '$want'; stderr: $(cat "$work/err")"
	fi
}

# ctl_err WHAT RC PATTERN ARGS...: loopcam-ctl ARGS exits RC and its
# stderr matches the grep -E PATTERN.
ctl_err() {
	local what=$1 want_rc=$2 pat=$3 rc=0
	shift 3
	"$CTL" "$@" >"$work/out" 2>"$work/err" || rc=$?
	if [ "$rc" = "$want_rc" ] && grep -Eq -- "$pat" "$work/err"; then
		lc_pass "$what: loopcam-ctl $* -> exit $rc: $(head -n 1 "$work/err")"
	else
		lc_fail "$what: loopcam-ctl $*: exit $rc (want $want_rc), stderr '$(cat "$work/err")' (want /$pat/)"
	fi
}

# qv KEY DEV: the value of KEY in 'loopcam-ctl query DEV'.
qv() { "$CTL" query "$2" | sed -n "s/^$1: //p"; }

# expect_query DEV KEY=VALUE...: query DEV shows each KEY with VALUE.
expect_query() {
	local dev=$1 kv
	shift
	"$CTL" query "$dev" >"$work/query" 2>&1 || true
	sed 's/^/  query: /' "$work/query"
	for kv in "$@"; do
		expect_eq "query $dev ${kv%%=*}" "$(sed -n "s/^${kv%%=*}: //p" "$work/query")" "${kv#*=}"
	done
}



# ==== before the module is loaded ==================================================
ctl_err "no module: list" 3 "not loaded; load it: sudo modprobe v4l2loopback" list
ctl_err "no module: add" 3 "not loaded; load it: sudo modprobe v4l2loopback" add -n Cam
ctl_out "no module: version" "$(printf 'loopcam-ctl %s\nmodule not-loaded' \
	"$("$CTL" version | sed -n 's/^loopcam-ctl //p')")" version

lc_load devices=0 || exit 1
lc_wait_dev /dev/v4l2loopback || exit 1
ctl_out "version: tool and module" "$(printf 'loopcam-ctl %s\nmodule 0.15.4' \
	"$("$CTL" version | sed -n 's/^loopcam-ctl //p')")" version
ctl_out "list with no devices: header only" \
	"$(printf '%-13s %-13s %-24s %-8s %-7s %s' DEVICE CAPTURE FORMAT STATE READERS LABEL)" list
ctl_out "list --json with no devices" "[]" list --json

# A user outside group video (the control node is root 0600 without udev).
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$CTL" add >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" = 4 ] && grep -q "add yourself to group video" "$work/err"; then
	lc_pass "add as nobody: exit 4, says how to get access: $(cat "$work/err")"
else
	lc_fail "add as nobody: exit $rc (want 4): $(cat "$work/err")"
fi

# ==== add ==========================================================================
lc_info "add with v4l2loopback-ctl 0.15 spellings: add -n LABEL -x 1 -b 2 /dev/video7"
ctl_out "add combined, exclusive caps" /dev/video7 add -n "Ctl Cam" -x 1 -b 2 /dev/video7
lc_wait_dev /dev/video7 || exit 1
expect_query /dev/video7 device=/dev/video7 capture_device=none "label=Ctl Cam" mode=combined \
	exclusive_caps=1 buffers=2 format=YUYV:640x480@30
expect_eq "/dev/video7 QUERYCAP card" "$("$PROBE" caps /dev/video7 | kv card)" "Ctl Cam"
expect_eq "/dev/video7 exclusive caps: OUTPUT only without producer" "$("$PROBE" caps /dev/video7 | kv dir)" output

lc_info "add split with a default format, reader limit and timeout"
ctl_out "add split 21 22 with --format" "/dev/video21 /dev/video22" \
	add --name SplitCtl --format UYVY:320x240@15 --max-readers 2 --timeout 500 -o 4 \
	--min-width 16 --max-width 1920 --min-height 16 --max-height 1080 21 /dev/video22
lc_wait_dev /dev/video22 || exit 1
expect_query 22 device=/dev/video21 capture_device=/dev/video22 label=SplitCtl mode=split \
	exclusive_caps=0 max_openers=4 max_readers=2 timeout_ms=500 min_width=16 max_width=1920 \
	min_height=16 max_height=1080 format=UYVY:320x240@15
lc_check "split capture node announces UYVY 320x240 (G_FMT)" "$PROBE" ops /dev/video22 g_fmt:cap:UYVY:320x240
"$CTL" query --json 7 /dev/video22 >"$work/query.json" 2>&1
sed 's/^/  query --json: /' "$work/query.json"
lc_check "query --json 7 /dev/video22: an array of both devices with the text output's values" \
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [x["device"] for x in d] == ["/dev/video7", "/dev/video21"], d
assert d[0]["capture_device"] is None and d[0]["label"] == "Ctl Cam" and d[0]["exclusive_caps"] == 1, d[0]
assert d[1]["capture_device"] == "/dev/video22" and d[1]["mode"] == "split", d[1]
assert d[1]["max_readers"] == 2 and d[1]["timeout_ms"] == 500 and d[1]["format"] == "UYVY:320x240@15", d[1]
' "$work/query.json"

auto=$("$CTL" add 2>"$work/err")
if [[ $auto =~ ^/dev/video[0-9]+$ ]]; then
	lc_pass "add without number: prints the node, '$auto'"
else
	lc_fail "add without number printed '$auto': $(cat "$work/err")"
fi
lc_wait_dev "$auto" || true
pair=$("$CTL" add --split -n Two 2>"$work/err")
if [[ $pair =~ ^/dev/video[0-9]+\ /dev/video[0-9]+$ ]]; then
	lc_pass "add --split without numbers: prints both nodes, '$pair'"
else
	lc_fail "add --split without numbers printed '$pair': $(cat "$work/err")"
fi

# ==== list ===========================================================================
"$CTL" list >"$work/list" 2>&1
sed 's/^/  list: /' "$work/list"
lc_check "list: combined /dev/video7 row" grep -Eq '^/dev/video7 +- +YUYV:640x480@30 +output +0 +Ctl Cam$' "$work/list"
lc_check "list: split pair on one row" grep -Eq '^/dev/video21 +/dev/video22 +UYVY:320x240@15 +output +0 +SplitCtl$' "$work/list"
lc_check "list: capture node 22 has no row of its own" bash -c "! grep -q '^/dev/video22 ' '$work/list'"
lc_check "list: $auto row" grep -Eq "^$auto +- " "$work/list"
"$CTL" list --json >"$work/list.json"
lc_check "list --json: the devices with exact fields" python3 - "$work/list.json" "$auto" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
by = {e["device"]: e for e in d}
assert by["/dev/video7"] == {"device": "/dev/video7", "number": 7, "capture_device": None,
    "capture_number": None, "label": "Ctl Cam", "format": "YUYV:640x480@30", "state": "output",
    "readers": 0, "buffers": 2, "max_openers": 10}, by["/dev/video7"]
s = by["/dev/video21"]
assert (s["capture_device"], s["capture_number"], s["label"], s["format"], s["max_openers"]) == \
    ("/dev/video22", 22, "SplitCtl", "UYVY:320x240@15", 4), s
assert sys.argv[2] in by and "/dev/video22" not in by
EOF

# ==== formats and frame rates ========================================================
ctl_out "get-caps 21" UYVY:320x240@15 get-caps 21
ctl_out "get-fps /dev/video21" 15 get-fps /dev/video21
lc_check "set-caps DEVICE FORMAT (0.15 order, 0.15 spelling)" "$CTL" set-caps /dev/video21 YUYV:640x480@30/1
ctl_out "get-caps after set-caps" YUYV:640x480@30 get-caps /dev/video22
lc_check "reader's G_FMT shows the new format" "$PROBE" ops /dev/video22 g_fmt:cap:YUYV:640x480
lc_check "set-caps FORMAT DEVICE (0.12 order)" "$CTL" set-caps "YU12:320x180" /dev/video21
ctl_out "get-caps after 0.12-order set-caps (rate kept)" YU12:320x180@30 get-caps 21
lc_check "set-fps DEVICE FPS" "$CTL" set-fps /dev/video21 25
ctl_out "get-fps after set-fps" 25 get-fps 21
lc_check "set-fps FPS DEVICE (0.12 order)" "$CTL" set-fps 30000/1001 /dev/video22
ctl_out "get-fps after 0.12-order set-fps" 30000/1001 get-fps 21
lc_check "reader's G_PARM shows 1001/30000" bash -c \
	"v4l2-ctl -d /dev/video22 --get-parm | grep -q 'Frames per second: 29.970 (30000/1001)'"
lc_check "set-caps with GStreamer caps (0.12 style)" "$CTL" set-caps \
	"video/x-raw, format=YUY2, width=320, height=240, framerate=30/1" /dev/video21
ctl_out "get-caps after GStreamer caps" YUYV:320x240@30 get-caps 21

# ==== bad input ========================================================================
ctl_err "set-caps too small for the device" 1 "refused format 'YUYV:8x8'" set-caps 21 YUYV:8x8
ctl_err "set-caps larger than max_width" 1 "refused format" set-caps 21 YUYV:3840x2160
ctl_err "set-caps unknown fourcc" 1 "refused format 'ZZZZ:640x480'" set-caps 21 ZZZZ:640x480
ctl_err "set-fps 5000 (over 1000 fps)" 1 "refused format '@5000'" set-fps 21 5000
ctl_err "set-caps malformed" 2 "bad format" set-caps 21 YUYV:640
ctl_err "get-caps of a nonexistent device" 1 "no such device: /dev/video77" get-caps 77
ctl_err "add -b 99 (max 32)" 1 "refused these settings" add -b 99
ctl_err "add with min-width > max-width" 1 "refused these settings" add --min-width 100 --max-width 50
ctl_err "add --format outside its size limits" 1 "refused these settings" add --max-width 320 --format YUYV:640x480
ctl_err "add a taken number" 1 "taken or out of range" add /dev/video7
ctl_err "add number 99999" 1 "taken or out of range" add 99999
ctl_err "add --timeout 200000 (max 100000)" 1 "refused these settings" add --timeout 200000
ctl_err "remove a nonexistent device" 1 "no such device: /dev/video77" remove 77
ctl_err "delete a nonexistent device" 1 "no such device: /dev/video78" delete /dev/video78
ctl_err "query a nonexistent device" 1 "no such device: /dev/video77" query 77
ctl_err "set-timeout-image of a missing file" 1 "cannot read image" set-timeout-image 21 /nonexistent.png
lc_check "module usable after bad input: add 30" "$CTL" add -n After 30
lc_wait_dev /dev/video30 || true
expect_eq "module usable after bad input: query 30 label" "$(qv label 30)" After
lc_check "module usable after bad input: remove 30" "$CTL" remove 30
lc_check "/dev/video30 gone" lc_gone /dev/video30

# ==== set-timeout-image ================================================================
lc_info "set-timeout-image: a PNG made by GStreamer becomes the picture after the timeout"
gst-launch-1.0 -q videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,width=160,height=120 ! \
	pngenc ! filesink location="$work/image.png" || lc_fail "make a PNG with gst-launch-1.0"
# The same conversion GStreamer makes for loopcam-ctl: YUYV 320x240.
gst-launch-1.0 -q filesrc location="$work/image.png" ! decodebin ! videoconvert ! videoscale ! \
	video/x-raw,format=YUY2,width=320,height=240 ! filesink location="$work/expected.yuv" ||
	lc_fail "convert the PNG with gst-launch-1.0"
lc_check "set-timeout-image -t 300 DEVICE IMAGE" "$CTL" set-timeout-image -v -t 300 /dev/video21 "$work/image.png"
expect_eq "timeout after set-timeout-image -t 300" "$(qv timeout_ms 21)" 300
rm -f "$work/got.yuv"
timeout 60 v4l2-ctl -d /dev/video22 --stream-mmap --stream-count=1 --stream-to="$work/got.yuv" ||
	lc_fail "v4l2-ctl reads a frame from /dev/video22"
expect_eq "placeholder frame size" "$(stat -c %s "$work/got.yuv" 2>/dev/null)" 153600
lc_check "the reader gets exactly the image, converted to YUYV 320x240" cmp "$work/expected.yuv" "$work/got.yuv"
lc_check "set-timeout-image IMAGE DEVICE (0.12 order) through the capture node" \
	"$CTL" set-timeout-image "$work/image.png" /dev/video22

# ==== readers, busy devices ==============================================================
bg_start reader v4l2-ctl -d /dev/video22 --stream-mmap --stream-count=100000
wait_readers /dev/video22 1 20 || true
"$CTL" readers 22 >"$work/readers" 2>&1
sed 's/^/  readers: /' "$work/readers"
lc_check "readers: one streaming reader" grep -qx "readers 1" "$work/readers"
lc_check "readers: its line" grep -Eq "^reader [0-9]+ received [0-9]+ dropped [0-9]+$" "$work/readers"
lc_check "list shows 1 reader" bash -c "'$CTL' list | grep -Eq '^/dev/video21 +/dev/video22 .* 1 +SplitCtl$'"
ctl_err "set-fps while a reader streams" 1 "is busy" set-fps 21 10
ctl_err "remove while a reader has it open" 1 "/dev/video21 is in use: close the programs" remove 21
kill -TERM "${bg_pids[reader]}" 2>/dev/null
wait "${bg_pids[reader]}" 2>/dev/null
ctl_out "readers after the reader stopped" "readers 0" readers 22

exec 7</dev/video7
ctl_err "remove while a handle is open (EBUSY)" 1 "/dev/video7 is in use" remove /dev/video7
exec 7<&-
lc_check "remove /dev/video7 after close" "$CTL" remove /dev/video7
lc_check "delete 22 (capture node) removes the split device" "$CTL" delete 22
lc_check "remove two devices at once: $auto ${pair%% *}" "$CTL" remove "$auto" "${pair%% *}"
for d in /dev/video7 /dev/video21 /dev/video22 "$auto" ${pair}; do
	lc_check "$d gone" lc_gone "$d"
done
ctl_out "list --json: no devices left" "[]" list --json

# ==== Debian 12's v4l2loopback-ctl 0.12.7 (shell script) ===================================
old=$LOOPCAM_CACHE/v4l2loopback-utils-0.12.7-2/root/usr/bin/v4l2loopback-ctl
if [ ! -x "$old" ]; then
	lc_fail "$old missing: run scripts/setup (it fetches v4l2loopback-utils 0.12.7 on the host)"
else
	# The script raises privileges with sudo, which this machine lacks; we are root.
	printf '#!/bin/sh\nexec "$@"\n' >"$work/bin/sudo"
	# Its set-timeout-image pipeline fails to preroll (see below; ending in
	# fakesink instead of v4l2sink it prerolls), and GStreamer 1.22 then
	# crashes in the teardown now and then (3 of 40 runs in one boot:
	# gst_value_intersect criticals, then SIGSEGV in the typefind thread).
	# gst-launch-1.0's fault handler turns that crash into an endless spin;
	# --no-fault lets it die, and the script, which ignores gst-launch's
	# status, goes on as it does on the runs without the crash.
	gst=$(command -v gst-launch-1.0)
	printf '#!/bin/sh\nexec %s --no-fault "$@"\n' "$gst" >"$work/bin/gst-launch-1.0"
	chmod +x "$work/bin/sudo" "$work/bin/gst-launch-1.0"
	ctl_out "add /dev/video40 for 0.12.7 (both caps)" /dev/video40 add -n Old 40
	lc_wait_dev /dev/video40 || true
	rc=0
	PATH=$work/bin:$PATH "$old" set-fps 25 /dev/video40 >"$work/out" 2>&1 || rc=$?
	sed 's/^/  0.12.7: /' "$work/out"
	expect_eq "0.12.7 set-fps 25 /dev/video40: exit" "$rc" 0
	ctl_out "0.12.7 set-fps took effect" 25 get-fps 40
	rc=0
	PATH=$work/bin:$PATH "$old" set-caps "video/x-raw, format=UYVY, width=320, height=240" /dev/video40 \
		>"$work/out" 2>&1 || rc=$?
	sed 's/^/  0.12.7: /' "$work/out"
	expect_eq "0.12.7 set-caps 'video/x-raw, format=UYVY, width=320, height=240' /dev/video40: exit" "$rc" 0
	# Its one-buffer videotestsrc ! v4l2sink pipeline sets videotestsrc's
	# 30/1 by S_PARM, as it does with v4l2loopback.
	ctl_out "0.12.7 set-caps took effect" UYVY:320x240@30 get-caps 40
	lc_check "v4l2-ctl -c keep_format=0" v4l2-ctl -d /dev/video40 -c keep_format=0
	lc_check "set-caps YUYV:320x240@30 for set-timeout-image" "$CTL" set-caps 40 YUYV:320x240@30
	rc=0
	PATH=$work/bin:$PATH timeout 120 "$old" set-timeout-image "$work/image.png" /dev/video40 \
		>"$work/out" 2>&1 || rc=$?
	sed 's/^/  0.12.7: /' "$work/out"
	expect_eq "0.12.7 set-timeout-image IMAGE /dev/video40: exit" "$rc" 0
	lc_check "0.12.7 set-timeout-image reports the timeout" grep -q "^timeout: 0" "$work/out"
	# The script's own pipeline (uridecodebin ! videoconvert ! videoscale !
	# imagefreeze ! identity error-after=2 ! v4l2sink) stops with "Failed to
	# configure the buffer pool" in bookworm's GStreamer 1.22 against the
	# real v4l2loopback 0.15.4 just the same, and the script ignores that, so
	# the picture itself is not checked: only that the device carries on.
	lc_check "v4l2-ctl -c timeout=300" v4l2-ctl -d /dev/video40 -c timeout=300
	rm -f "$work/got.yuv"
	if timeout 60 v4l2-ctl -d /dev/video40 --stream-mmap --stream-count=1 --stream-to="$work/got.yuv" &&
		[ "$(stat -c %s "$work/got.yuv")" -eq $((320 * 240 * 2)) ]; then
		lc_pass "after 0.12.7 set-timeout-image a reader gets a whole 320x240 YUYV placeholder frame"
	else
		lc_fail "after 0.12.7 set-timeout-image no whole placeholder frame reached the reader"
	fi
	lc_check "remove /dev/video40" "$CTL" remove 40
fi

# ==== sid's v4l2loopback-ctl 0.15.4 (C, needs sid's glibc) ================================
new=$LOOPCAM_CACHE/v4l2loopback-utils-0.15.4-2/root/usr/bin/v4l2loopback-ctl
if [ ! -x "$new" ]; then
	lc_fail "$new missing: run scripts/setup (it fetches v4l2loopback-utils 0.15.4 from sid on the host)"
elif ! sid=$(v4l_utils_dir); then
	lc_fail "no sid v4l-utils cache for sid's C library: run scripts/setup"
else
	sidroot=$sid/root
	# v4l2loopback-ctl-0.15 ARGS...: sid's binary with sid's loader and libraries.
	new_ctl() {
		"$sidroot/usr/lib64/ld-linux-x86-64.so.2" --argv0 v4l2loopback-ctl \
			--library-path "$sidroot/usr/lib/x86_64-linux-gnu" "$new" "$@"
	}
	# new_run WHAT ARGS...: run it, show its output, pass on exit 0.
	new_run() {
		local what=$1 rc=0
		shift
		new_ctl "$@" >"$work/out" 2>&1 || rc=$?
		sed 's/^/  0.15.4: /' "$work/out"
		if [ "$rc" = 0 ]; then
			lc_pass "0.15.4 $what: v4l2loopback-ctl $*"
		else
			lc_fail "0.15.4 $what: v4l2loopback-ctl $*: exit $rc"
		fi
	}
	new_run "version" --version
	new_run "add" add -n SidCam -x 1 /dev/video41
	lc_wait_dev /dev/video41 || true
	expect_query 41 label=SidCam exclusive_caps=1 mode=combined
	new_run "add (second device, free number)" add -n SidTwo
	new_run "list" list
	lc_check "0.15.4 list shows /dev/video41" grep -q "/dev/video41" "$work/out"
	lc_check "0.15.4 list shows SidTwo" grep -q "SidTwo" "$work/out"
	two=$(grep SidTwo "$work/out" | grep -o '/dev/video[0-9]*' | head -n 1)
	new_run "query" query /dev/video41
	lc_check "0.15.4 query shows the label" grep -q "SidCam" "$work/out"
	new_run "set-fps" set-fps /dev/video41 25
	ctl_out "0.15.4 set-fps took effect" 25 get-fps 41
	new_run "get-fps" get-fps /dev/video41
	# No format chosen yet (sysfs format empty, as v4l2loopback 0.15.4 has
	# it): the tool prints G_PARM's time per frame, 1/25, as it does there.
	lc_check "0.15.4 get-fps prints 1/25, as against v4l2loopback 0.15.4" \
		grep -Eq "^1/25$" "$work/out"
	new_run "set-caps" set-caps /dev/video41 UYVY:320x240
	ctl_out "0.15.4 set-caps took effect" UYVY:320x240@25 get-caps 41
	new_run "get-caps" get-caps /dev/video41
	lc_check "0.15.4 get-caps prints UYVY:320x240" grep -q "UYVY:320x240" "$work/out"
	new_run "set-caps with a rate" set-caps 41 YUYV:640x480@30/1
	ctl_out "0.15.4 set-caps with a rate took effect" YUYV:640x480@30 get-caps 41
	new_run "delete" delete /dev/video41
	lc_check "/dev/video41 gone after 0.15.4 delete" lc_gone /dev/video41
	if [ -n "$two" ]; then
		new_run "delete by number" delete "${two#/dev/video}"
	else
		lc_fail "0.15.4 list did not show SidTwo's node"
	fi
	rc=0
	new_ctl delete 77 >"$work/out" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		lc_pass "0.15.4 delete of a nonexistent device fails (exit $rc): $(head -n 1 "$work/out")"
	else
		lc_fail "0.15.4 delete 77 succeeded"
	fi
fi

ctl_out "no devices left" "[]" list --json
lc_unload
