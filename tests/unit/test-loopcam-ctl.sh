#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host test of loopcam-ctl, no kernel module needed: usage errors, --help,
# exit codes, the "module not loaded" and "permission denied" messages,
# v4l2loopback-ctl 0.15 and 0.12 argument orders, format spellings, and the
# sysfs side (list, --json, get/set-caps, get/set-fps, readers) against a
# fake sysfs tree. The control device and sysfs are redirected with
# LOOPCAM_CTL_CONTROL_DEVICE and LOOPCAM_CTL_SYSFS (test-only overrides).
# TAP output.
#
# usage: test-loopcam-ctl.sh LOOPCAM_CTL
set -u

CTL=$1
TMP=$(mktemp -d /tmp/lc-test-ctl.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
n=0 failed=0

SYS=$TMP/sys
V=$SYS/class/video4linux
export LOOPCAM_CTL_SYSFS=$SYS LOOPCAM_CTL_CONTROL_DEVICE=$TMP/v4l2loopback

# node N NAME INDEX [PEER]: a fake loopback node with v4l2loopback's and
# loopcam's attributes.
node() {
	mkdir -p "$V/video$1"
	echo "$2" >"$V/video$1/name"
	echo "$3" >"$V/video$1/index"
	echo "YUYV:640x480@30" >"$V/video$1/format"
	echo 8 >"$V/video$1/buffers"
	echo 10 >"$V/video$1/max_openers"
	echo output >"$V/video$1/state"
	echo 0 >"$V/video$1/readers"
	: >"$V/video$1/reader_stats"
	[ -z "${4:-}" ] || echo "video$4" >"$V/video$1/peer"
}

# run ARGS...: run the tool; sets rc, out (stdout) and err (stderr).
run() {
	"$CTL" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	out=$(cat "$TMP/out")
	err=$(cat "$TMP/err")
}

# check NAME WANT_RC [STREAM PATTERN]... -- ARGS...: run the tool, check the
# exit code and that each stream (out, err) matches its grep -E pattern.
check() {
	local name=$1 want_rc=$2 bad=
	shift 2
	local -a pats=()
	while [ "$1" != -- ]; do
		pats+=("$1" "$2")
		shift 2
	done
	shift
	run "$@"
	n=$((n + 1))
	[ "$rc" = "$want_rc" ] || bad="exit $rc, want $want_rc"
	local i
	for ((i = 0; i < ${#pats[@]}; i += 2)); do
		local text=$out
		[ "${pats[i]}" = out ] || text=$err
		grep -Eq -- "${pats[i + 1]}" <<<"$text" ||
			bad="$bad; $(printf '%s' "${pats[i]}") lacks /${pats[i + 1]}/"
	done
	report "$name" "$bad" "$*"
}

# report NAME BAD COMMAND: one TAP line; details when BAD is not empty.
report() {
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		failed=$((failed + 1))
		echo "not ok $n - $1: ${2#; }"
		echo "#   command: loopcam-ctl $3"
		sed 's/^/#   out: /' "$TMP/out" | head -n 8
		sed 's/^/#   err: /' "$TMP/err" | head -n 8
	fi
}

# check_file NAME FILE EXPECTED -- ARGS...: the tool exits 0 and FILE then
# holds EXPECTED (what the tool wrote to sysfs).
check_file() {
	local name=$1 file=$2 want=$3 bad=
	shift 4
	: >"$file"
	run "$@"
	n=$((n + 1))
	[ "$rc" = 0 ] || bad="exit $rc, want 0"
	[ "$(cat "$file")" = "$want" ] || bad="$bad; wrote '$(cat "$file")', want '$want'"
	report "$name" "$bad" "$*"
}

echo "# usage, help and exit codes"
check "no arguments: usage on stderr, exit 2" 2 err "^Usage: loopcam-ctl COMMAND" -- 
check "--help: exit 0, lists commands" 0 out "set-timeout-image" out "^  delete|'delete' is another" -- --help
check "--help documents exit codes 0-4" 0 out "^  0  success" out "^  2  usage" \
	out "^  3 .*not loaded" out "^  4  permission" -- --help
check "--help documents the test-only overrides" 0 out "LOOPCAM_CTL_CONTROL_DEVICE" \
	out "LOOPCAM_CTL_SYSFS" -- --help
for c in add remove delete list query set-caps get-caps set-fps get-fps set-timeout-image readers version help; do
	check "$c --help: exit 0, its usage on stdout" 0 out "^Usage: loopcam-ctl ${c/delete/remove} " -- $c --help
done
check "help set-fps = set-fps --help" 0 out "^Usage: loopcam-ctl set-fps DEVICE FPS" -- help set-fps
check "add -? is help (v4l2loopback-ctl spelling)" 0 out "^Usage: loopcam-ctl add" -- add -?
check "query -h is help" 0 out "^Usage: loopcam-ctl query" -- query -h
check "unknown command: exit 2" 2 err "unknown command 'frobnicate'" -- frobnicate
check "unknown option: exit 2, names it" 2 err "unknown option '--bogus'" -- add --bogus
check "unknown short option: exit 2" 2 err "unknown option '-z'" -- set-fps -z 3 30
check "option without its argument: exit 2" 2 err "'-b' needs an argument" -- add -b
check "add -b x: not a number, exit 2" 2 err "'x' is not a number \(option -b\)" -- add -b x
check "add --buffers=-1: not a number, exit 2" 2 err "is not a number" -- add --buffers=-1
check "add -x 2: exit 2" 2 err "takes 0 or 1" -- add -x 2
check "add: label of 32 bytes is too long, exit 2" 2 err "longer than 31 bytes" \
	-- add -n 0123456789abcdef0123456789abcdef
check "add --split -x 1: exit 2" 2 err "combined devices" -- add --split -x 1
check "add OUTPUT CAPTURE -x 1: exit 2 (split)" 2 err "combined devices" -- add -x 1 10 11
check "add with 3 devices: exit 2" 2 err "too many arguments" -- add 1 2 3
check "add /tmp: not a video device, exit 2" 2 err "'/tmp' is not a video device" -- add /tmp
check "add --format bad: exit 2" 2 err "bad format 'YUYV:640y480'" -- add --format YUYV:640y480
check "add --format with a 5-letter fourcc: exit 2" 2 err "bad format" -- add --format ABCDE:64x48
check "remove without a device: exit 2" 2 err "no device given" -- remove
check "remove of 'video': exit 2" 2 err "is not a video device" -- remove video
check "get-caps with two devices: exit 2" 2 err "too many arguments" -- get-caps 1 2
check "set-fps with one argument: exit 2" 2 err "want a device and a frame rate" -- set-fps 3
check "set-fps DEVICE 0: exit 2" 2 err "bad frame rate '0'" -- set-fps /dev/video3 0
check "set-fps DEVICE 30/0: exit 2" 2 err "bad frame rate" -- set-fps /dev/video3 30/0
check "set-fps DEVICE abc: exit 2" 2 err "bad frame rate 'abc'" -- set-fps /dev/video3 abc
check "set-caps DEVICE YUYV:0x480: exit 2" 2 err "bad format" -- set-caps /dev/video3 YUYV:0x480
check "set-caps DEVICE YUYV:640x480@: exit 2" 2 err "bad format" -- set-caps /dev/video3 YUYV:640x480@
check "set-caps DEVICE '': exit 2" 2 err "bad format" -- set-caps /dev/video3 ''
check "set-caps with GStreamer caps lacking height: exit 2" 2 err "bad format" \
	-- set-caps /dev/video3 "video/x-raw,format=UYVY,width=640"
check "set-timeout-image -t x: exit 2" 2 err "bad timeout 'x'" -- set-timeout-image -t x 3 img.png
check "version with an argument: exit 2" 2 err "too many arguments" -- version 1

echo "# module not loaded: no control device, no /sys/module/v4l2loopback"
mkdir -p "$SYS"
for c in "add" "add -n Cam -x 1 -b 2 /dev/video7" "remove 3" "query /dev/video3" "list" \
	"get-caps 3" "set-fps /dev/video3 30" "readers 3" "set-timeout-image 3 img.png"; do
	# shellcheck disable=SC2086 # word splitting wanted
	check "$c: exit 3, says how to load the module" 3 \
		err "module is not loaded; load it: sudo modprobe v4l2loopback" -- $c
done
check "version: tool version, module not-loaded, exit 0" 0 out "^loopcam-ctl [0-9]+\.[0-9]+\.[0-9]+$" \
	out "^module not-loaded$" -- version
check "add -h 720 is --max-height, not help (v4l2loopback-ctl 0.15)" 3 err "not loaded" -- add -h 720

echo "# module loaded, control device missing or refused"
mkdir -p "$SYS/module/v4l2loopback"
echo 0.15.4 >"$SYS/module/v4l2loopback/version"
check "version: module version from sysfs" 0 out "^module 0\.15\.4$" -- version
check "add: control device missing although loaded, exit 3" 3 err "v4l2loopback is missing although" -- add
: >"$TMP/v4l2loopback"
chmod 0600 "$TMP/v4l2loopback"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
	chmod 0755 "$TMP"
else
	as_user=()
	chmod 0000 "$TMP/v4l2loopback"
fi
for c in "add" "remove 3" "query 3"; do
	# shellcheck disable=SC2086 # word splitting wanted
	"${as_user[@]}" "$CTL" $c >"$TMP/out" 2>"$TMP/err"
	rc=$? n=$((n + 1)) bad=
	[ "$rc" = 4 ] || bad="exit $rc, want 4"
	grep -q "permission denied on $TMP/v4l2loopback: run as root, or add yourself to group video" "$TMP/err" &&
		grep -q "60-loopcam.rules gives group video read-write access (0660)" "$TMP/err" ||
		bad="$bad; message lacks how to fix it"
	report "$c as a user without access: exit 4, says how to get access" "$bad" "$c"
done
chmod 0600 "$TMP/v4l2loopback"
check "add on a control device without the ioctls: exit 1, says so" 1 err "no loopcam extension" -- add

echo "# sysfs: list, formats, frame rates, readers"
node 0 "Integrated Camera" 0
rm "$V/video0/format" "$V/video0/buffers" "$V/video0/max_openers"
node 3 "Dummy video device" 0
node 4 "Split Cam (output)" 0 5
node 5 "Split Cam (capture)" 1 4
node 12 "Tab	Label" 0
echo capture >"$V/video4/state"
echo 2 >"$V/video4/readers"
check "list: header, combined node, split pair on one line, escaped label" 0 \
	out "^DEVICE +CAPTURE +FORMAT +STATE +READERS +LABEL$" \
	out "^/dev/video3 +- +YUYV:640x480@30 +output +0 +Dummy video device$" \
	out "^/dev/video4 +/dev/video5 +YUYV:640x480@30 +capture +2 +Split Cam$" \
	out '^/dev/video12 .* Tab\\011Label$' -- list
n=$((n + 1))
if [ "$(grep -c '^/dev/' "$TMP/out")" = 3 ]; then
	echo "ok $n - list: 3 devices (the non-loopback node and the capture node of the pair are not rows)"
else
	failed=$((failed + 1))
	echo "not ok $n - list: want 3 device rows, got:"
	sed 's/^/#   /' "$TMP/out"
fi
n=$((n + 1))
if [ "$(grep -o '^/dev/video[0-9]*' "$TMP/out" | tr '\n' ' ')" = "/dev/video3 /dev/video4 /dev/video12 " ]; then
	echo "ok $n - list: rows in numeric order (video3, video4, video12)"
else
	failed=$((failed + 1))
	echo "not ok $n - list: rows not in numeric order"
fi
run list --json
n=$((n + 1))
if python3 - "$TMP/out" <<'EOF'; then
import json, sys
d = json.load(open(sys.argv[1]))
assert [e["device"] for e in d] == ["/dev/video3", "/dev/video4", "/dev/video12"], d
s = d[1]
assert s == {"device": "/dev/video4", "number": 4, "capture_device": "/dev/video5",
             "capture_number": 5, "label": "Split Cam", "format": "YUYV:640x480@30",
             "state": "capture", "readers": 2, "buffers": 8, "max_openers": 10}, s
assert d[0]["capture_device"] is None and d[0]["capture_number"] is None
assert d[2]["label"] == "Tab\tLabel"
EOF
	echo "ok $n - list --json: valid JSON, exact objects, control characters escaped"
else
	failed=$((failed + 1))
	echo "not ok $n - list --json"
	sed 's/^/#   out: /' "$TMP/out"
fi
check "list -e (v4l2loopback-ctl 0.15 option) accepted" 0 out "^/dev/video3 " -- list -e
mv "$V" "$TMP/v4l"
check "list --json with no devices: []" 0 out '^\[\]$' -- list --json
mv "$TMP/v4l" "$V"

check "get-caps /dev/video3" 0 out "^YUYV:640x480@30$" -- get-caps /dev/video3
check "get-caps 3 (number)" 0 out "^YUYV:640x480@30$" -- get-caps 3
check "get-fps 3" 0 out "^30$" -- get-fps 3
echo "NV12:1280x720@30000/1001" >"$V/video3/format"
check "get-fps of a fractional rate" 0 out "^30000/1001$" -- get-fps 3
check "get-caps of the capture node of a pair" 0 out "^YUYV:640x480@30$" -- get-caps 5
check "get-caps /dev/video9: no such device, exit 1" 1 err "no such device: /dev/video9" -- get-caps /dev/video9
check "get-caps of a non-loopback node: exit 1" 1 err "/dev/video0 is not a v4l2loopback device" -- get-caps 0
check "set-fps of a missing node: exit 1" 1 err "no such device: /dev/video9" -- set-fps 9 30

F=$V/video3/format
check_file "set-fps DEVICE FPS (0.15 order) writes @25" "$F" "@25" -- set-fps /dev/video3 25
check_file "set-fps FPS DEVICE (0.12 order) writes @15" "$F" "@15" -- set-fps 15 /dev/video3
check_file "set-fps N N: device first (0.15 order wins)" "$F" "@20" -- set-fps 3 20
check_file "set-fps 29.97 3: decimal rate, device last" "$F" "@2997/100" -- set-fps 29.97 3
check_file "set-fps 3 50/2: fraction reduced" "$F" "@25" -- set-fps 3 50/2
check_file "set-fps 3 30000/1001" "$F" "@30000/1001" -- set-fps 3 30000/1001
check_file "set-caps DEVICE UYVY:640x480@30/1 (0.15 spelling)" "$F" "UYVY:640x480@30" \
	-- set-caps /dev/video3 UYVY:640x480@30/1
check_file "set-caps YU12:1280x720 DEVICE (0.12 order)" "$F" "YU12:1280x720" -- set-caps YU12:1280x720 /dev/video3
check_file "set-caps \"YUYV:640x480\" /dev/video3 (the 0.12 example)" "$F" "YUYV:640x480" \
	-- set-caps "YUYV:640x480" /dev/video3
check_file "set-caps 3 I420:320x240 (GStreamer name)" "$F" "YU12:320x240" -- set-caps 3 I420:320x240
check_file "set-caps 3 Y16:64x48 (short fourcc)" "$F" "Y16:64x48" -- set-caps 3 Y16:64x48
check_file "set-caps 3 @60 (rate only)" "$F" "@60" -- set-caps 3 @60
check_file "set-caps with GStreamer caps (0.12 style)" "$F" "UYVY:640x480@30000/1001" \
	-- set-caps "video/x-raw, format=(string)UYVY, width=640, height=(int)480, framerate=30000/1001" /dev/video3
check_file "set-caps through the capture node of a pair" "$V/video5/format" "NV12:64x48" -- set-caps 5 NV12:64x48

echo 2 >"$V/video3/readers"
printf '1 120 3\n2 118 0\n' >"$V/video3/reader_stats"
check "readers: count, then one line per reader" 0 out "^readers 2$" \
	out "^reader 1 received 120 dropped 3$" out "^reader 2 received 118 dropped 0$" -- readers 3
rm "$V/video3/readers"
check "readers on a node without the attribute: exit 1" 1 err "does not report its readers" -- readers 3

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
