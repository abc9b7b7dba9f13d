#!/bin/bash
# pipewire: Debian's PipeWire 0.3.65 and WirePlumber 0.4.13 find the cameras
# as a desktop session would (udevd running, the v4l2 monitor watching it),
# and pipewiresrc reads frames through them.
#
# 1. A split device, idle, with a default format: PipeWire makes a camera
#    (Video/Source) of its capture node, named by the card label, and none
#    of its output node. Once a producer streams (lc-produce, MMAP),
#    `pipewiresrc num-buffers=30 ! filesink` saves 30 frames through that
#    camera: lc-framefile finds them whole, of the exact size, in order.
#    pipewiresrc asks for 16 buffers and PipeWire's v4l2 source fails when
#    REQBUFS grants fewer ("can't allocate enough buffers"): the module is
#    loaded with the default max_buffers=8, and readers still get 16.
# 2. A combined device with exclusive_caps=1 (as OBS loads it): no camera
#    while it shows OUTPUT; when a producer streams it turns to CAPTURE and
#    the module sends udev a change event, so udev's ID_V4L_CAPABILITIES
#    says capture and PipeWire makes a camera of it, which delivers frames
#    the same way; when the producer has gone, capture is gone from udev
#    and the camera from PipeWire.
set -uo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

P=$LOOPCAM_BUILD/tests/vm/progs
PRODUCE=$P/lc-produce
FRAMEFILE=$P/lc-framefile
SPLIT_OUT=/dev/video10
SPLIT_CAP=/dev/video11
EX=/dev/video20

for prog in pipewire wireplumber pw-dump /lib/systemd/systemd-udevd dbus-daemon; do
	command -v "$prog" >/dev/null || {
		lc_fail "$prog is installed (scripts/setup installs it)"
		exit 1
	}
done

# pw_cameras: "NODE-PATH LABEL SERIAL" of every PipeWire Video/Source.
pw_cameras() {
	pw-dump | /usr/bin/python3 -c '
import json, sys
for o in json.load(sys.stdin):
    p = (o.get("info") or {}).get("props") or {}
    if p.get("media.class") == "Video/Source":
        print(p.get("object.path", "?").replace("v4l2:", ""), p.get("node.nick"),
              p.get("object.serial"))'
}

# cameras: "NODE-PATH LABEL" of every camera, one per line, sorted.
cameras() { pw_cameras | cut -d' ' -f1,2 | sort; }

# camera_serial NODE: object.serial of the camera on NODE.
camera_serial() { pw_cameras | awk -v node="$1" '$1 == node { print $3 }'; }

# wait_cameras EXPECTED SECS: until cameras prints EXPECTED.
cameras_are() { [ "$(cameras)" = "$1" ]; }
wait_cameras() { lc_until "$2" cameras_are "$1"; }

# udev_caps NODE: ID_V4L_CAPABILITIES as udev has it.
udev_caps() { udevadm info --query=property --property=ID_V4L_CAPABILITIES --value "$1"; }

# wait_udev_caps NODE EXPECTED: until udev has EXPECTED for NODE (10 s).
udev_caps_are() { [ "$(udev_caps "$1")" = "$2" ]; }
wait_udev_caps() { lc_until 10 udev_caps_are "$1" "$2"; }

# read_frames NODE STREAM: 30 frames of stream STREAM through PipeWire's
# camera on NODE, checked.
read_frames() {
	local serial out=/tmp/pipewire-$$.raw
	serial=$(camera_serial "$1")
	lc_info "$1: PipeWire camera object.serial=$serial"
	rm -f "$out"
	check "$1: pipewiresrc num-buffers=30 saves frames through PipeWire" \
		timeout 120 gst-launch-1.0 -q pipewiresrc target-object="$serial" num-buffers=30 \
		! video/x-raw,format=YUY2,width=640,height=480 ! filesink location="$out"
	check "$1: the 30 frames PipeWire delivered are whole and in order" \
		"$FRAMEFILE" check -F YUYV:640x480 --stream-id "$2" --allow-gaps -n 30 "$out"
}

lc_load devices=2 split_nodes=1,0 exclusive_caps=0,1 video_nr=10,20 capture_nr=11 \
	card_label=loopcam-split,loopcam-exclusive default_format=YUYV:640x480@30 || exit 1
lc_wait_dev $EX || exit 1

# A session: udevd (the v4l2 monitor reads capabilities from its
# database), a D-Bus session bus, PipeWire, then WirePlumber without its
# Bluetooth part (it quits when logind is missing, as in this guest).
export XDG_RUNTIME_DIR=/tmp/xdg-runtime
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
/lib/systemd/systemd-udevd --daemon
udevadm trigger --subsystem-match=video4linux --action=add
udevadm settle --timeout=30
eval "$(dbus-daemon --session --fork --print-address=1 |
	sed 's/^/export DBUS_SESSION_BUS_ADDRESS=/')"
bg_start pipewire pipewire
cp -r /usr/share/wireplumber /tmp/wireplumber-conf
sed -i '/bluetooth.lua/d' /tmp/wireplumber-conf/wireplumber.conf
export WIREPLUMBER_CONFIG_DIR=/tmp/wireplumber-conf
bg_start wireplumber wireplumber

expect_eq "udev: $SPLIT_CAP capabilities" "$(udev_caps $SPLIT_CAP)" ":capture:"
expect_eq "udev: $EX capabilities, no producer" "$(udev_caps $EX)" ":video_output:"

# ==== 1: split device =================================================================
check "PipeWire: one camera, the split capture node, while idle" \
	wait_cameras "$SPLIT_CAP loopcam-split" 60
cameras | sed 's/^/  camera: /'
bg_start split-producer "$PRODUCE" -d $SPLIT_OUT -i mmap -f YUYV -s 640x480 -r 30 \
	-n 0 -t 60 --stream-id 77
read_frames $SPLIT_CAP 77
kill -INT "${bg_pids[split-producer]}"
bg_wait split-producer >/dev/null || true

# ==== 2: exclusive_caps=1 ============================================================
bg_start ex-producer "$PRODUCE" -d $EX -i mmap -f YUYV -s 640x480 -r 30 -n 0 -t 90 \
	--stream-id 78
check "udev: $EX capabilities while a producer streams (change event)" \
	wait_udev_caps $EX ":capture:"
check "PipeWire: the exclusive_caps node becomes a camera" \
	wait_cameras "$(printf '%s\n%s\n' "$SPLIT_CAP loopcam-split" "$EX loopcam-exclusive" |
		sort)" 60
cameras | sed 's/^/  camera: /'
read_frames $EX 78
kill -INT "${bg_pids[ex-producer]}"
bg_wait ex-producer >/dev/null || true
check "udev: $EX capabilities after the producer has gone" \
	wait_udev_caps $EX ":video_output:"
check "PipeWire: the exclusive_caps camera is gone again" \
	wait_cameras "$SPLIT_CAP loopcam-split" 60

kill "${bg_pids[wireplumber]}" "${bg_pids[pipewire]}"
wait "${bg_pids[wireplumber]}" "${bg_pids[pipewire]}" 2>/dev/null
grep -h -E '^\[?E' "$LOGS/pipewire.log" "$LOGS/wireplumber.log" | head -n 20 |
	sed 's/^/  session error: /'
udevadm control --exit
lc_unload
