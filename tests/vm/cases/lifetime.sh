#!/bin/bash
# lifetime: devices and the module going away, and processes dying.
#
# - rmmod fails while a video node (or the control device) is open and
#   succeeds after close.
# - CTL_REMOVE (number passed by value) while a node of the device is open:
#   EBUSY, node stays; after close: success, node gone; unknown number: ENODEV.
# - CTL_ADD / CTL_QUERY round trip (v4l2loopback's and the legacy numbers):
#   the node appears with the label, QUERY reports it, a taken number gives
#   EEXIST, the new device streams.
# - Malformed control-device requests (lc-ctl-abuse: NULL and unmapped
#   pointers, labels without a NUL, sizes, counts and numbers out of range,
#   bad extension fields, removing a streaming device) fail with the right
#   errno while a device streams, from a 64-bit and a 32-bit process, CTL_QUERY returns no stale bytes, and the
#   module still adds and removes devices.
# - max_memory_mb: MMAP buffers of all devices share one budget; REQBUFS
#   gets fewer buffers, then ENOMEM, and the memory comes back on close;
#   handles of one device share its pool; exported (EXPBUF) buffers count
#   until their dma-buf is closed.
# - SIGKILL of producers and readers mid-stream (MMAP, USERPTR, read(),
#   write(), a reader idle in poll) leaves the device usable (a reader
#   survives its producer being killed and gets the next producer's frames)
#   and the module unloadable; run-vm fails the run on any WARN/oops/lockdep
#   report in the console and guest-init on kmemleak reports.
set -uo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

P=$LOOPCAM_BUILD/tests/vm/progs
PROBE=$P/lc-probe
PRODUCE=$P/lc-produce
CONSUME=$P/lc-consume


# killed NAME...: SIGKILL them, reap them, show what they printed.
killed() {
	local n
	for n in "$@"; do kill -KILL "${bg_pids[$n]}" 2>/dev/null; done
	for n in "$@"; do
		wait "${bg_pids[$n]}" 2>/dev/null
		lc_info "$n: killed with SIGKILL ($(tail -n 1 "$LOGS/$n.log" | cut -c1-120))"
	done
}

# sysattr DEV NAME: a sysfs attribute of DEV
sysattr() { cat "/sys/class/video4linux/${1#/dev/}/$2"; }

# ---- rmmod while open --------------------------------------------------------------
DEV=/dev/video50
lc_load video_nr=50 || exit 1
lc_wait_dev $DEV || exit 1
exec 3<>$DEV
lc_check_not "rmmod while $DEV is open" rmmod "$LC_MODULE_NAME"
lc_check "module still loaded" lc_loaded
lc_check "$DEV still there" test -c $DEV
exec 3>&-
exec 3<>/dev/v4l2loopback
lc_check_not "rmmod while /dev/v4l2loopback is open" rmmod "$LC_MODULE_NAME"
lc_check "module still loaded" lc_loaded
exec 3>&-
lc_unload
lc_check "$DEV gone with the module" test ! -e $DEV

# ---- control device: remove while open, add/query --------------------------------------
SO=/dev/video53 SC=/dev/video54
lc_load devices=2 video_nr=50,53 split_nodes=0,1 capture_nr=-1,54 || exit 1
for d in $DEV $SO $SC; do lc_wait_dev "$d" || exit 1; done
lc_check "CTL_VERSION is the header's" "$PROBE" ctl version
lc_check "CTL_QUERY 50" "$PROBE" ctl query:50:"Dummy video device"

exec 3<>$DEV
lc_check "CTL_REMOVE 50 while $DEV is open -> EBUSY" "$PROBE" ctl remove:50=EBUSY
lc_check "$DEV still there after the refused remove" test -c $DEV
lc_check "$DEV still works after the refused remove (QUERYCAP)" "$PROBE" ops $DEV querycap
exec 3>&-
lc_check "CTL_REMOVE 50 after close" "$PROBE" ctl remove:50
lc_check "$DEV gone after CTL_REMOVE" lc_gone $DEV
lc_check "CTL_QUERY 50 after removal -> ENODEV" "$PROBE" ctl query:50=ENODEV
lc_check "CTL_REMOVE 50 again -> ENODEV" "$PROBE" ctl remove:50=ENODEV

exec 3<>$SC
lc_check "split device: CTL_REMOVE 53 while its capture node is open -> EBUSY" \
	"$PROBE" ctl remove:53=EBUSY
exec 3>&-
lc_check "split device: CTL_REMOVE by the capture node's number 54 after close" \
	"$PROBE" ctl remove:54
lc_check "$SO gone" lc_gone $SO
lc_check "$SC gone" lc_gone $SC

lc_check "CTL_ADD 51 'CtlCam', CTL_QUERY 51 gives it back" \
	"$PROBE" ctl add:51:CtlCam query:51:CtlCam
lc_wait_dev /dev/video51
caps=$("$PROBE" caps /dev/video51)
expect_eq "/dev/video51 card" "$(kv card <<<"$caps")" CtlCam
expect_eq "/dev/video51 device_caps (announce_all_caps default)" "$(kv dir <<<"$caps")" both
lc_check "CTL_ADD 51 again -> EEXIST" "$PROBE" ctl add:51=EEXIST
out=$("$PROBE" ctl add:-1)
printf '%s\n' "$out" | sed 's/^/  /'
nr=$(sed -n 's/^ *added=//p' <<<"$out")
lc_check "CTL_ADD -1 picks a free number (${nr:-none})" test -n "$nr"
[ -z "$nr" ] || lc_check "CTL_QUERY $nr" "$PROBE" ctl query:"$nr"
[ -z "$nr" ] || lc_check "CTL_REMOVE $nr" "$PROBE" ctl remove:"$nr"
lc_check "legacy numbers: CTL_ADD 52, CTL_QUERY 52, CTL_REMOVE 52" \
	"$PROBE" ctl add-legacy:52:Legacy query-legacy:52:Legacy remove-legacy:52
lc_check "/dev/video52 gone" lc_gone /dev/video52

DEV=/dev/video51
lc_info "the CTL_ADDed device streams"
bg_start r0 "$CONSUME" -d $DEV -n 30
wait_readers $DEV 1 || true
bg_start p0 "$PRODUCE" -d $DEV -r 30 -t 120
lc_check "reader gets 30 whole frames on the CTL_ADDed device" bg_wait r0
kill -TERM "${bg_pids[p0]}"
lc_check "producer on the CTL_ADDed device ran without error" bg_wait p0

lc_info "malformed control-device requests while $DEV streams"
bg_start pa "$PRODUCE" -d $DEV -r 30 -t 120
bg_start ra "$CONSUME" -d $DEV -t 120
wait_readers $DEV 1 || true
lc_check "bad pointers, labels, sizes, counts, numbers, extension fields, removing a streaming device: clean errors, module usable" \
	"$P/lc-ctl-abuse" --streaming 51
if [ -x "$P/lc-ctl-abuse32" ]; then
	lc_check "the same from a 32-bit process (compat ioctl path, same struct layout)" \
		"$P/lc-ctl-abuse32" --streaming 51
else
	lc_fail "$P/lc-ctl-abuse32 missing: install gcc-multilib (scripts/setup does) and rebuild"
fi
lc_check "$DEV streamed on through the bad requests (reader still running)" kill -0 "${bg_pids[ra]}"
kill -TERM "${bg_pids[pa]}" "${bg_pids[ra]}"
lc_check "producer ran without error through the bad requests" bg_wait pa
lc_check "reader got only whole frames through the bad requests" bg_wait ra

# ---- SIGKILL mid-stream ------------------------------------------------------------------
lc_info "SIGKILL: MMAP producer, MMAP reader, read() reader"
bg_start k1p "$PRODUCE" -d $DEV -i mmap -r 30 -t 600
bg_start k1a "$CONSUME" -d $DEV -i mmap -t 600
bg_start k1b "$CONSUME" -d $DEV -i read -t 600
wait_readers $DEV 2 || true
sleep 2
killed k1p k1a k1b
expect_eq "after SIGKILL: streaming readers" "$(sysattr $DEV readers)" 0
expect_eq "after SIGKILL: state (no producer)" "$(sysattr $DEV state)" output

lc_info "SIGKILL: write() producer at full speed, slow USERPTR reader, idle reader"
bg_start k2p "$PRODUCE" -d $DEV -i write -r 0 -t 600
bg_start k2a "$CONSUME" -d $DEV -i userptr --slow-ms 50 -t 600
wait_readers $DEV 1 || true
sleep 2
killed k2p k2a
bg_start k2c "$PROBE" watch -t 600 $DEV
wait_readers $DEV 1 || true
killed k2c
expect_eq "after SIGKILL: streaming readers" "$(sysattr $DEV readers)" 0

lc_info "SIGKILL of the producer only: the reader survives and gets the next producer's frames"
bg_start k3r "$CONSUME" -d $DEV -n 90 --timeout-ms 15000
wait_readers $DEV 1 || true
bg_start k3p "$PRODUCE" -d $DEV -i mmap -r 30 -t 600 --stream-id 0x0000dead
sleep 2
killed k3p
bg_start k3q "$PRODUCE" -d $DEV -i mmap -r 30 -t 600 --stream-id 0x00000a1e
lc_check "reader ran across the killed producer and the next one (90 whole frames)" bg_wait k3r
lc_check "the reader saw both producers" grep -q 'streams=2' "$LOGS/k3r.log"
kill -TERM "${bg_pids[k3q]}"
lc_check "second producer ran without error" bg_wait k3q

lc_info "after all that the device still works"
bg_start r9 "$CONSUME" -d $DEV -n 30
wait_readers $DEV 1 || true
bg_start p9 "$PRODUCE" -d $DEV -r 30 -t 120
lc_check "reader gets 30 whole frames" bg_wait r9
kill -TERM "${bg_pids[p9]}"
lc_check "producer ran without error" bg_wait p9
lc_check "CTL_REMOVE 51" "$PROBE" ctl remove:51
lc_unload

# ---- max_memory_mb: one budget for all MMAP buffers ------------------------------------
# 640x480 YUYV frames are 614400 bytes (150 pages): 3 fit in 2 MiB, 4 do not.
# A device's handles share its pool of MMAP buffers, so the budget runs out
# for the second device, not for a second handle.
DEV=/dev/video56
DEV2=/dev/video57
lc_load devices=2 video_nr=56,57 max_memory_mb=2 || exit 1
lc_wait_dev $DEV || exit 1
lc_wait_dev $DEV2 || exit 1
out=$("$PROBE" ops $DEV reqbufs:cap:8 reqbufs:cap:0 reqbufs:cap:3 2>&1)
printf '%s\n' "$out" | sed 's/^/  /'
expect_eq "max_memory_mb=2: REQBUFS(8) of 614400-byte buffers gives" \
	"$(sed -n 's/^ *reqbufs gave //p' <<<"$out" | head -n 1)" 3
expect_eq "max_memory_mb=2: after REQBUFS(0), REQBUFS(3) gives" \
	"$(sed -n 's/^ *reqbufs gave //p' <<<"$out" | tail -n 1)" 3
bg_start rm "$CONSUME" -d $DEV -i mmap -b 3 -t 120
wait_readers $DEV 1 || true
out=$("$PROBE" ops $DEV reqbufs:cap:2 2>&1)
printf '%s\n' "$out" | sed 's/^/  /'
expect_eq "another handle on $DEV shares the reader's pool: REQBUFS(2) gives" \
	"$(sed -n 's/^ *reqbufs gave //p' <<<"$out" | head -n 1)" 3
lc_check "max_memory_mb=2 spent by $DEV's pool: REQBUFS(2) on $DEV2 -> ENOMEM" \
	"$PROBE" ops $DEV2 reqbufs:cap:2=ENOMEM
kill -TERM "${bg_pids[rm]}"
lc_check "the budget-holding reader got only whole frames" bg_wait rm
lc_check "$DEV's memory came back when its last handle closed: REQBUFS(3) on $DEV2 succeeds" \
	"$PROBE" ops $DEV2 reqbufs:cap:3
# An exported buffer keeps its memory after its pool buffer is reallocated
# for another size, so exports count until released: 640x480 (614400
# bytes) exported, reallocated as 640x496 (634880) and exported, back to
# 640x480 (1863680 charged in all): a third export does not fit in 2 MiB.
lc_check "max_memory_mb=2: exported buffers count until released: the third EXPBUF -> EINVAL" \
	"$PROBE" ops $DEV s_fmt:out:YUYV:640x480 reqbufs:out:1 expbuf:out:0 reqbufs:out:0 \
	s_fmt:out:YUYV:640x496 reqbufs:out:1 expbuf:out:0 reqbufs:out:0 \
	s_fmt:out:YUYV:640x480 reqbufs:out:1 expbuf:out:0=EINVAL
lc_check "the exports' memory came back when they were closed: REQBUFS(3) on $DEV2 succeeds" \
	"$PROBE" ops $DEV2 reqbufs:cap:3
lc_unload
