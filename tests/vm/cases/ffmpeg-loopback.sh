#!/bin/bash
# FFmpeg's `-f loopback` output device (ffmpeg-output/) against the real
# module, with both patched FFmpeg lines (5.1 and 9.0) in one boot:
# $LOOPCAM_BUILD/ffmpeg-output/ffmpeg-LINE/ffmpeg. The same checks per line:
#
# 1. Content, byte for byte: lavfi testsrc in yuv420p, nv12, yuyv422 and
#    rgb24, at 320x240 and 321x241, into a device whose format is fixed to
#    the matching V4L2 format (YU12, NV12, YUYV, RGB3) through sysfs, on the
#    output node of a split device and on a combined node (two runs at a
#    time, one per device). lc-consume --ref reads the capture side from
#    before the first frame: every frame must equal a frame of the
#    reference (the same testsrc frames saved by the same ffmpeg with
#    -f rawvideo), reference frames 0..44 all there, in order, none skipped,
#    no gap over 300 ms (two producers starting at once under TCG: see
#    GAP2_US). Repeats
#    of a frame are counted, not failed: the device repeats a frame that is
#    1.25 intervals late, which a TCG hiccup can cause (section 5 bounds
#    them). Also rgb24 into a fixed YUYV device: converted, the reference
#    being the same conversion made by the ffmpeg CLI (swscale, bicubic).
# 2. Test frames (lc-framefile) as rawvideo input with -repeat 0: lc-consume
#    checks every byte of every frame, frames 0..44, none missing or
#    repeated: once at an odd size as rawvideo packets (-c:v rawvideo,
#    -buffers 2; every other run uses the default wrapped_avframe), once
#    with -io write. (No gap check here: without repeats a gap is the
#    producer's timing, which sections 5 and 6 check.)
# 3. Format choice with nothing fixed (`auto -split 1`, a new device each
#    time, two at a time): yuv420p -> YU12, nv12 -> NV12, yuyv422 -> YUYV,
#    yuv422p -> YUYV, rgb24 -> YU12, nv21 -> NV12; the reader checks the
#    frames against the reference (converted by the CLI where the device
#    converts), and the device is gone when ffmpeg ends.
# 4. Other readers: ffmpeg -f v4l2 (Debian's 5.1) and GStreamer's v4l2src
#    save 30 frames each; every saved frame is a reference frame, in
#    order, none skipped (repeats counted). v4l2src at 320x240 only: at odd
#    sizes GStreamer's I420 strides differ from V4L2's, so what it saves
#    is not in the device's layout.
# 5. Rate: testsrc at 30/s for 14 s without -re; lc-consume reads 10 s:
#    the device's frames/s and the rate of distinct input frames are 30
#    within 2%, >= 27 frames in every second, no frame skipped, no gap;
#    repeats at most 2%, and ffmpeg takes the 14 s. A file input with
#    -pace 0 runs faster than real time (under half the file's duration;
#    the reader sees over 45 frames/s).
# 6. A 3 s input stall (a pipe fed in two parts; the feeder waits until the
#    reader has frame 44 before it sleeps): the reader sees every reference
#    frame, no gap over 3 intervals and >= 27 frames in every second: the
#    stall is bridged by repeats at the device rate. The same with -repeat 0
#    must fail the gap check (proves the check catches a device that does
#    not repeat).
# 7. Errors: a missing node, a capture-only node, a bad -device_format,
#    compressed input into a raw device format, -on_end image without or
#    with a missing -placeholder, a second producer on a busy
#    device: ffmpeg fails (not killed, not a crash) within the timeout and
#    says why. A device being fed cannot be removed (the module refuses
#    with EBUSY while a node is open), so "the device disappears mid-
#    stream" cannot happen with loopcam: checked that the removal is
#    refused and the producer carries on.
# 8. `auto -label`: creates a device with that label (combined, or split
#    with -split 1), says which, removes it at the end; -keep_device 1 keeps
#    it; the label of an existing device finds that device.
# 9. -on_end last (frames keep flowing after the input ends, at the rate,
#    until one SIGINT), -on_end black with -timeout (black at the rate; the
#    control is set), -on_end image -placeholder PNG (a reader that starts
#    after the end gets the picture letterboxed, checked sample by sample),
#    -video_size with -framerate and -device_format
#    yuyv422 (FFmpeg's name for YUYV; scaled and converted, the device at
#    30/s from a 15/s input), MJPEG
#    passed through into an MJPG device: byte-identical to ffmpeg's own
#    -f mjpeg output, for a reader that streams before ffmpeg starts and
#    for one that starts later; H.264 (Annex B, made by Debian's ffmpeg with
#    libx264) copied into an H264 device: the frames together are the file.
# After both lines: `auto` with the module unloaded fails and names the
# module.
set -uo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

: "${LOOPCAM_BUILD:?run through tests/vm/run-vm --build DIR}"
PROGS=$LOOPCAM_BUILD/tests/vm/progs
CTL=$LOOPCAM_BUILD/tools/loopcam-ctl
PY=/usr/bin/python3
LINES=(5.1 9.0)
OUT=/dev/video10 CAP=/dev/video11 COMB=/dev/video20
# 3 frame intervals at 30/s: TCG alone delays a frame by up to 45 ms now
# and then (see loopbacksink.sh); a missing repeat leaves the whole stall.
GAP_US=100000
# Content runs go two at a time: the second ffmpeg's start (over a second
# of both CPUs under TCG) can hold the first one's frames back by more than
# that (203 ms once in CI on the clang kernel, with 25 frames in that
# second). Their gap check only catches a stall, and they check no rate;
# timing proper is sections 5, 6 and 9, one producer at a time.
GAP2_US=300000
# Frames in any 1 s: 30 at 30/s; 27 leaves room for TCG jitter, while
# repeats every 1.25 intervals (24/s) fall below it.
MIN_1S=27
N=45 # frames per content run (1.5 s)
work=/tmp/ffmpeg-loopback
mkdir -p "$work"

# The binaries are copied into the guest first: one rebuilt on the host
# while the case runs would otherwise reach the guest's page cache half
# old, half new (9p), and crash in code first run after the rebuild.
for line in "${LINES[@]}"; do
	bin=$LOOPCAM_BUILD/ffmpeg-output/ffmpeg-$line/ffmpeg
	mkdir -p "$work/bin-$line"
	if ! cp "$bin" "$work/bin-$line/ffmpeg" ||
		! "$work/bin-$line/ffmpeg" -hide_banner -h muxer=loopback >"$work/help-$line" 2>&1 ||
		! grep -q 'on_end' "$work/help-$line"; then
		lc_fail "ffmpeg $line with -f loopback at $bin (build the ffmpeg-$line target)"
		exit 1
	fi
	lc_pass "ffmpeg $line from $bin has the loopback muxer ($("$work/bin-$line/ffmpeg" -hide_banner -version | head -n 1))"
done

# ---- helpers -------------------------------------------------------------

# Set per line: FFB (binary), FF (the command: at most 90 s), L (label
# for messages), W (work dir).
FFB='' L='' W=''
FF=()

# ff ARGS...: the line's ffmpeg in the foreground. In the background use
# bg_start NAME "${FF[@]}" ARGS..., so that the pid is timeout's (which
# passes SIGINT on), not that of a subshell (which would ignore it).
ff() { "${FF[@]}" "$@"; }

# logged FILE CMD...: CMD with its output in FILE (for checks whose own
# PASS/FAIL line must not go there).
logged() {
	local f=$1
	shift
	"$@" >"$f" 2>&1
}

# frame_bytes FOURCC WxH: the device's exact frame size.
frame_bytes() {
	local w=${2%x*} h=${2#*x}
	case $1 in
	YU12 | NV12) echo $((w * h + 2 * ((w + 1) / 2) * ((h + 1) / 2))) ;;
	YUYV) echo $((((w + 1) / 2) * 4 * h)) ;;
	RGB3) echo $((w * h * 3)) ;;
	esac
}

# refpath PIX WxH [DEVPIX]: where the reference file for that input is.
refpath() { echo "$W/ref-$1-$2${3:+-$3}.raw"; }

# make_refs: the line's reference files: 120 testsrc frames at 320x240
# (inputs send the first 30, 45, 60, 90 or 120 of them), 45 at 321x241,
# 420 at 160x120 (the rate check). Frames as the device holds them: in
# PIX, converted from testsrc's rgb24 by the CLI's filter graph (as the
# producers' -pix_fmt PIX is), and for inputs the device converts, from
# PIX to the device format by a second ffmpeg: swscale with the flags the
# device uses (bicubic).
make_refs() {
	local size p outs=() rc=0 f n
	for size in 320x240 321x241; do
		outs=()
		n=120
		[ $size = 320x240 ] || n=$N
		for p in yuv420p nv12 yuyv422 rgb24; do
			outs+=(-frames:v "$n" -pix_fmt "$p" -f rawvideo -y "$(refpath "$p" $size)")
		done
		if [ $size = 320x240 ]; then
			for p in yuv422p nv21; do
				outs+=(-frames:v "$n" -pix_fmt "$p" -f rawvideo -y "$W/in-$p-$size.raw")
			done
		fi
		ff -loglevel error -f lavfi -i "testsrc=size=$size:rate=30" "${outs[@]}" \
			>"$W/refs-$size.log" 2>&1 || rc=$?
	done
	# input -> the device format, as the device converts
	local rin=(-f rawvideo -s 320x240 -framerate 30)
	ff -loglevel error \
		"${rin[@]}" -pix_fmt rgb24 -i "$(refpath rgb24 320x240)" \
		"${rin[@]}" -pix_fmt yuv422p -i "$W/in-yuv422p-320x240.raw" \
		"${rin[@]}" -pix_fmt nv21 -i "$W/in-nv21-320x240.raw" \
		-map 0 -pix_fmt yuyv422 -f rawvideo -y "$(refpath rgb24 320x240 yuyv422)" \
		-map 0 -pix_fmt yuv420p -f rawvideo -y "$(refpath rgb24 320x240 yuv420p)" \
		-map 1 -pix_fmt yuyv422 -f rawvideo -y "$(refpath yuv422p 320x240 yuyv422)" \
		-map 2 -pix_fmt nv12 -f rawvideo -y "$(refpath nv21 320x240 nv12)" \
		>"$W/refs-conv.log" 2>&1 || rc=$?
	# the rate check's: 14 s at 160x120 (its frames and file input)
	ff -loglevel error -f lavfi -i testsrc=size=160x120:rate=30 -frames:v 420 -pix_fmt yuv420p \
		-f rawvideo -y "$(refpath yuv420p 160x120)" >"$W/refs-rate.log" 2>&1 || rc=$?
	local bad=
	for f in "$W"/ref-*.raw; do
		[ -s "$f" ] || bad+=" ${f##*/}"
	done
	check "$L the reference files: testsrc frames in each pixel format and size, 120 at 320x240, $N at 321x241, 420 at 160x120 for the rate (exit $rc${bad:+; empty:$bad})" \
		test $rc -eq 0 -a -z "$bad"
	[ $rc -eq 0 ] || cat "$W"/refs-*.log | head -n 20 | sed 's/^/  refs: /'
}

# consume NAME ARGS...: lc-consume in the background (stop it with stop_bg).
consume() {
	local name=$1
	shift
	bg_start "$name" timeout 120 "$PROGS/lc-consume" --timeout-ms 10000 "$@"
}

# brief NAME: what matters in the log of reader NAME: its problems, what
# it checked of the frames, its summary.
brief() {
	grep -E '^(lc-consume|lc-probe|lc-framefile): |^checked: [0-9]+ frame|^result=' \
		"$LOGS/$1.log" | cut -c1-480 | sed "s/^/  [$1] /"
}

# reader_done NAME: waits for background reader NAME; its exit status.
reader_done() {
	local rc=0
	wait "${bg_pids[$1]}" || rc=$?
	brief "$1"
	return $rc
}

# stop_bg NAME: SIGINT to a background reader (lc-consume prints its
# summary and judges what it got); its exit status.
stop_bg() {
	kill -INT "${bg_pids[$1]}" 2>/dev/null
	reader_done "$1"
}

# ff_log FILE NAME: an ffmpeg log without the stream listings.
ff_log() {
	grep -v -E '^\s*(Input|Output|Stream|Duration|Metadata|encoder|Press|Side data|[a-z_]+ +:|frame=)' \
		"$1" | cut -c1-300 | sed "s/^/  [$2] /" | head -n 12
}

# producer NAME ARGS...: the line's ffmpeg in the foreground, log in
# $W/NAME.log (shown); its exit status.
producer() {
	local name=$1 rc=0
	shift
	ff "$@" >"$W/$name.log" 2>&1 || rc=$?
	ff_log "$W/$name.log" "$name"
	return $rc
}

# ff_done NAME: waits for the ffmpeg started by bg_start NAME, shows its
# log and copies it to $W/NAME.log; its exit status.
ff_done() {
	local rc=0
	wait "${bg_pids[$1]}" || rc=$?
	ff_log "$LOGS/$1.log" "$1"
	cp "$LOGS/$1.log" "$W/$1.log"
	return $rc
}

# info_line NAME REGEX: the muxer's start line in $W/NAME.log matches REGEX.
info_line() { grep -Eq "$2" "$W/$1.log"; }

# failed_cleanly RC: ffmpeg failed by itself: not 0, not killed by the
# timeout (124), not a crash (128 + SIGILL, SIGABRT, SIGBUS, SIGFPE,
# SIGKILL, SIGSEGV, SIGTERM). 5.1 exits 1 on errors, 9.0 with the AVERROR
# (ENOENT: 254, EINVAL: 234, EBUSY: 240).
failed_cleanly() {
	case $1 in
	0 | 124 | 132 | 134 | 135 | 136 | 137 | 139 | 143) return 1 ;;
	esac
}

# R: a reader's summary (load_result).
declare -A R

# ref_file_check REF FRAME_BYTES FILE: compares the frames of FILE (saved
# by another reader) with the reference frames; prints "result=done
# frames= first= last= repeats= skipped= backwards= unknown= trailing=".
ref_file_check() {
	"$PY" - "$@" <<'EOF'
import hashlib, sys
ref, fs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
idx = {}
with open(ref, 'rb') as f:
    i = 0
    while True:
        b = f.read(fs)
        if len(b) < fs:
            break
        idx.setdefault(hashlib.sha1(b).digest(), i)
        i += 1
n = rep = skip = back = unk = trailing = 0
first = last = -1
with open(out, 'rb') as f:
    while True:
        b = f.read(fs)
        if not b:
            break
        if len(b) < fs:
            trailing = len(b)
            break
        n += 1
        j = idx.get(hashlib.sha1(b).digest())
        if j is None:
            unk += 1
            continue
        if first < 0:
            first = j
        elif j == last:
            rep += 1
        elif j < last:
            back += 1
        elif j > last + 1:
            skip += j - last - 1
        last = j
print(f"result=done frames={n} first={first} last={last} repeats={rep} skipped={skip} "
      f"backwards={back} unknown={unk} trailing={trailing}")
EOF
}

# jpeg_run_check REF FILE: FILE is a run of consecutive JPEG frames of REF
# (concatenated; frames split at their SOI markers); prints "result=done
# frames= first= last= whole=0|1".
jpeg_run_check() {
	"$PY" - "$@" <<'EOF'
import sys
ref, out = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
def starts(b):
    s, i = [], b.find(b'\xff\xd8\xff')
    while i >= 0:
        s.append(i)
        i = b.find(b'\xff\xd8\xff', i + 3)
    return s + [len(b)]
rs, os_ = starts(ref), starts(out)
n = len(os_) - 1
at = ref.find(out) if out else -1
whole = int(at in rs and at + len(out) in rs and n > 0)
first = rs.index(at) if whole else -1
print(f"result=done frames={n} first={first} last={first + n - 1 if whole else -1} whole={whole}")
EOF
}

# node_named NAME: /dev/videoN whose sysfs name is NAME (fails if none).
node_named() {
	local d n
	for d in /sys/class/video4linux/video*; do
		n=
		read -r n <"$d/name" 2>/dev/null
		[ "$n" = "$1" ] && { echo "/dev/${d##*/}"; return 0; }
	done
	return 1
}

# wait_node NAME [SECS]: until a node with sysfs name NAME exists and its
# /dev node too; prints it.
_node_ready() { _node=$(node_named "$1") && [ -c "$_node" ]; }
wait_node() {
	_node=
	lc_until "${2:-20}" _node_ready "$1" && echo "$_node"
}

# wait_rd NODE N [SECS]: wait_readers, and the case goes on if it times out.
wait_rd() { wait_readers "$@" || :; }

# progress_ge FILE N: lc-consume --progress FILE shows at least N frames.
progress_ge() {
	local n=
	read -r n <"$1" 2>/dev/null
	[ "${n:-0}" -ge "$2" ]
}

# wait_log FILE REGEX [SECS]: until FILE has a line matching REGEX.
_log_has() {
	local l
	while IFS= read -r l; do [[ $l =~ $2 ]] && return 0; done <"$1"
	return 1
}
wait_log() { lc_until "${3:-30}" _log_has "$1" "$2"; }

# gone NODE...: the nodes disappear within 5 s.
gone() {
	local n
	for n; do lc_gone "$n" || return 1; done
}

# ---- 1. content, fixed device format --------------------------------------

# content_start NAME NODE CAPNODE PIX FOURCC WxH [DEVPIX]: lavfi testsrc in
# PIX into a device fixed to FOURCC WxH, a reader checking every frame
# against the reference (DEVPIX: converted to it); content_end NAME judges.
declare -A C_ARGS
content_start() {
	local name=$1 node=$2 cap=$3 pix=$4 fourcc=$5 size=$6 dev=${7:-}
	C_ARGS[$name]="$node $cap $pix $fourcc $size ${dev:-copied}"
	check "$L $name: announce $fourcc:$size@30 on $node through sysfs" \
		announce "$node" "$fourcc:$size@30"
	consume "$name" -d "$cap" -n 0 -t 60 --ref "$(refpath "$pix" "$size" "$dev")" \
		--ref-repeats-ok --expect-format "$fourcc:$size" --max-gap-us $GAP2_US
	wait_rd "$cap" 1
	bg_start "$name-ff" "${FF[@]}" -f lavfi -i "testsrc=size=$size:rate=30" -frames:v $N \
		-pix_fmt "$pix" -f loopback "$node"
}

content_end() {
	local name=$1 node cap pix fourcc size dev how=converted rc=0
	read -r node cap pix fourcc size dev <<<"${C_ARGS[$name]}"
	[ "$dev" != copied ] || how=copied
	ff_done "$name-ff" || rc=$?
	lc_nap 0.5
	check "$L $name: ffmpeg -f lavfi -i testsrc -frames:v $N -pix_fmt $pix -f loopback $node exits 0 (exit $rc)" \
		test $rc -eq 0
	check "$L $name: start line '$node: $fourcc $size at 30/1 frames/s by MMAP ... input $pix $size: $how'" \
		info_line "$name-ff" "$node: $fourcc $size at 30/1 frames/s by MMAP .*input $pix ${size}: $how"
	check "$L $name: lc-consume: every frame equals a reference frame, in order, none skipped, no gap over $GAP2_US us" \
		stop_bg "$name"
	load_result R "$LOGS/$name.log"
	check "$L $name: reference frames 0..$((N - 1)) all received ($how, byte for byte), none unknown" \
		expect R ref_matched=$N ref_first=0 ref_last=$((N - 1)) ref_missed=0 ref_unknown=0 \
		ref_backwards=0 bad_size=0
	lc_info "$L $name: repeats ${R[ref_repeats]-?}, ${R[fps]-?} frames/s, min ${R[min_1s]-?} in 1 s, max gap ${R[max_gap_us]-?} us"
	repeats_total=$((repeats_total + ${R[ref_repeats]:-0}))
}

# content2 SPEC [SPEC]: one or two content runs at once (the first on the
# split device, the second on the combined node); SPEC = PIX:FOURCC:WxH[:DEVPIX].
content2() {
	local a b p f s d names=()
	for a in "$@"; do
		IFS=: read -r p f s d <<<"$a"
		if [ ${#names[@]} -eq 0 ]; then
			b=content-$p-$f-$s-video10
			content_start "$b" $OUT $CAP "$p" "$f" "$s" "$d"
		else
			b=content-$p-$f-$s-video20
			content_start "$b" $COMB $COMB "$p" "$f" "$s" "$d"
		fi
		names+=("$b")
	done
	for b in "${names[@]}"; do content_end "$b"; done
}

# ---- 2. lc-framefile test frames --------------------------------------------

# testframes PIX FOURCC WxH [ffmpeg output options]: test frames of the
# device format as rawvideo input, -repeat 0: every byte, every frame.
testframes() {
	local pix=$1 fourcc=$2 size=$3 name rc=0 f io='MMAP \(4 buffers\)'
	shift 3
	[[ " $* " != *" -io write "* ]] || io='write\(\)'
	[[ " $* " != *" -buffers 2 "* ]] || io='MMAP \(2 buffers\)'
	name=testframes-$pix-$size
	f=$W/$name.raw
	check "$L $name: lc-framefile writes $N test frames $fourcc:$size" \
		logged "$W/$name.framefile" "$PROGS/lc-framefile" write -F "$fourcc:$size" -n $N -o "$f"
	check "$L $name: announce $fourcc:$size@30 through sysfs" announce $OUT "$fourcc:$size@30"
	consume "$name" -d $CAP -n $N --expect-format "$fourcc:$size" --expect-all \
		--expect-first-seq 0 --min-fps 27
	wait_rd $CAP 1
	producer "$name" -f rawvideo -pix_fmt "$pix" -s "$size" -framerate 30 -i "$f" \
		-f loopback -repeat 0 "$@" $OUT || rc=$?
	check "$L $name: ffmpeg -f rawvideo -i test frames -f loopback -repeat 0 $* exits 0 (exit $rc)" \
		test $rc -eq 0
	check "$L $name: start line: $fourcc $size at 30/1 by ${io//\\/}, copied" \
		info_line "$name" "$OUT: $fourcc $size at 30/1 frames/s by $io.*: copied"
	check "$L $name: lc-consume: frames 0..$((N - 1)), every byte as sent, none missing or repeated, >= 27/s" \
		reader_done "$name"
	load_result R "$LOGS/$name.log"
	check "$L $name: the reader's summary" \
		expect R result=pass received=$N torn=0 missed=0 out_of_order=0 first_seq=0 \
		last_seq=$((N - 1))
	lc_info "$L $name: ${R[fps]-?} frames/s, max gap ${R[max_gap_us]-?} us (not judged: -repeat 0)"
	rm -f "$f"
}

# ---- 3. format choice ------------------------------------------------------

# pick_start LABEL PIX FOURCC [DEVPIX]: nothing fixed (a new device made by
# auto -label LABEL -split 1): PIX input must make the device FOURCC; once
# it does, a reader checks 15 frames against the reference (DEVPIX: as
# converted to it). pick_end LABEL judges.
declare -A P_ARGS
pick_start() {
	local label=$1 pix=$2 fourcc=$3 dev=${4:-} name out=- cap=-
	name=pick-$pix
	bg_start "$name-ff" "${FF[@]}" -f lavfi -i testsrc=size=320x240:rate=30 \
		-frames:v 120 -pix_fmt "$pix" -f loopback -label "$label" -split 1 auto
	if cap=$(wait_node "$label (capture)") && out=$(node_named "$label (output)"); then
		consume "$name" -d "$cap" -n 15 --expect-format "$fourcc:320x240" \
			--wait-format-ms 20000 --ref "$(refpath "$pix" 320x240 "$dev")" --ref-repeats-ok
		lc_pass "$L $name: auto -label $label -split 1 created $out (output) and $cap (capture)"
		check "$L $name: with nothing fixed, $pix input makes the device $fourcc:320x240@30 (sysfs)" \
			wait_format "$cap" "$fourcc:320x240@30"
	else
		lc_fail "$L $name: auto -label $label -split 1 creates a split device" || true
		cap=- out=-
	fi
	P_ARGS[$label]="$pix $fourcc ${dev:-copied} $out $cap"
}

pick_end() {
	local label=$1 pix fourcc dev how=converted name rc=0 out cap
	read -r pix fourcc dev out cap <<<"${P_ARGS[$label]}"
	[ "$dev" != copied ] || { how=copied; dev=; }
	name=pick-$pix
	if [ "$cap" != - ]; then
		check "$L $name: lc-consume: 15 frames $fourcc 320x240, each a reference frame${dev:+ (converted to $dev)}, in order, none skipped" \
			reader_done "$name"
	fi
	ff_done "$name-ff" || rc=$?
	[ "$cap" != - ] || return 0
	check "$L $name: ffmpeg exits 0 (exit $rc)" test $rc -eq 0
	check "$L $name: start line: $out: $fourcc 320x240 at 30/1 frames/s by MMAP, input $pix 320x240: $how" \
		info_line "$name-ff" "$out: $fourcc 320x240 at 30/1 frames/s by MMAP.*input $pix 320x240: $how"
	check "$L $name: it said what it created: output $out, readers open $cap" \
		grep -q "created '$label': output $out, readers open $cap" "$W/$name-ff.log"
	check "$L $name: the created device is removed at the end ($out and $cap gone)" gone "$out" "$cap"
}

# pick2 SPEC [SPEC]: one or two at a time; SPEC = PIX:FOURCC[:DEVPIX].
pick2() {
	local a p f d i=0
	local -a labels=(FflPickA FflPickB)
	for a in "$@"; do
		IFS=: read -r p f d <<<"$a"
		pick_start "${labels[$i]}" "$p" "$f" "$d"
		i=$((i + 1))
	done
	for ((i = 0; i < $#; i++)); do pick_end "${labels[$i]}"; done
}

# ---- the checks, per line -----------------------------------------------------

run_line() {
	local rc r fs t0 t1 el name rep gnode aout acap crate

	lc_info "==== FFmpeg $L: $FFB (uptime $(uptime_s))"
	repeats_total=0
	make_refs

	lc_info "$L 1. content: testsrc into a fixed device format, byte for byte (uptime $(uptime_s))"
	content2 yuv420p:YU12:320x240 nv12:NV12:321x241
	content2 yuv420p:YU12:321x241 yuyv422:YUYV:320x240
	content2 nv12:NV12:320x240 rgb24:RGB3:321x241
	content2 yuyv422:YUYV:321x241 rgb24:YUYV:320x240:yuyv422
	content2 rgb24:RGB3:320x240
	lc_info "$L content runs: $repeats_total repeated frame(s) in all"

	lc_info "$L 2. test frames (lc-framefile) as rawvideo input (uptime $(uptime_s))"
	testframes yuv420p YU12 321x241 -c:v rawvideo -buffers 2
	testframes yuyv422 YUYV 320x240 -io write

	lc_info "$L 3. nothing fixed: the format closest to the input (uptime $(uptime_s))"
	pick2 yuv420p:YU12 nv12:NV12
	pick2 yuyv422:YUYV yuv422p:YUYV:yuyv422
	pick2 rgb24:YU12:yuv420p nv21:NV12:nv12

	lc_info "$L 4. ffmpeg -f v4l2 and v4l2src read the device (uptime $(uptime_s))"
	r=$(refpath yuv420p 320x240)
	fs=$(frame_bytes YU12 320x240)
	check "$L readers: announce YU12:320x240@30" announce $OUT YU12:320x240@30
	rm -f "$W/rd-ff.raw" "$W/rd-gst.raw"
	bg_start rd-ff timeout 60 ffmpeg -hide_banner -nostdin -nostats -f v4l2 -i $CAP -frames:v 30 \
		-fps_mode passthrough -enc_time_base -1 -f rawvideo -y "$W/rd-ff.raw"
	bg_start rd-gst timeout 60 gst-launch-1.0 -q v4l2src device=$CAP num-buffers=30 ! \
		video/x-raw,format=I420,width=320,height=240 ! filesink location="$W/rd-gst.raw"
	wait_rd $CAP 2 30
	rc=0
	producer readers -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 60 -pix_fmt yuv420p \
		-f loopback $OUT || rc=$?
	check "$L readers: the producer exits 0 (exit $rc)" test $rc -eq 0
	check "$L readers: ffmpeg -f v4l2 -i $CAP -frames:v 30 -f rawvideo exits 0" ff_done rd-ff
	check "$L readers: gst-launch v4l2src num-buffers=30 ! filesink exits 0" ff_done rd-gst
	for rd in ff gst; do
		ref_file_check "$r" "$fs" "$W/rd-$rd.raw" >"$W/rd-$rd.check" 2>&1
		show "rd-$rd" "$W/rd-$rd.check"
		load_result R "$W/rd-$rd.check"
		check "$L readers: $rd: 30 frames of $fs bytes, each a reference frame, in order, none skipped" \
			expect R frames=30 skipped=0 backwards=0 unknown=0 trailing=0 \
			last=$((${R[first]:-0} + 29 - ${R[repeats]:-0}))
	done
	check "$L readers: no 'Dequeued v4l2 buffer contains' warning from ffmpeg -f v4l2" \
		lacks "Dequeued v4l2 buffer contains" "$LOGS/rd-ff.log"

	lc_info "$L 5. rate over 10 s without -re; -pace 0 (uptime $(uptime_s))"
	r=$(refpath yuv420p 160x120)
	check "$L rate: announce YU12:160x120@30" announce $OUT YU12:160x120@30
	bg_start rate-ff "${FF[@]}" -f lavfi -i testsrc=size=160x120:rate=30 -frames:v 420 \
		-pix_fmt yuv420p -f loopback $OUT
	t0=$(uptime_s)
	check "$L rate: the producer streams" wait_state $OUT capture
	lc_nap 1
	check "$L rate: lc-consume over 10 s: every frame a reference frame, none skipped, no gap over $GAP_US us, >= $MIN_1S frames in every second, 29.4..30.6 frames/s" \
		logged "$LOGS/rate.log" timeout 60 "$PROGS/lc-consume" -d $CAP -t 10 --ref "$r" \
		--ref-repeats-ok --max-gap-us $GAP_US --min-1s $MIN_1S --min-fps 29.4 --max-fps 30.6
	brief rate
	load_result R "$LOGS/rate.log"
	rc=0
	ff_done rate-ff || rc=$?
	t1=$(uptime_s)
	el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	check "$L rate: the producer exits 0 (exit $rc)" test $rc -eq 0
	# Input frames covered per second: the span of reference frames seen
	# over the time between the first and the last frame.
	crate=$(awk -v s="${R[ref_first]:-0}" -v e="${R[ref_last]:-0}" -v n="${R[received]:-1}" \
		-v f="${R[fps]:-0}" 'BEGIN { if (n > 1) printf "%.2f", (e - s) * f / (n - 1); else print 0 }')
	lc_info "$L rate: device ${R[fps]-?} frames/s (min ${R[min_1s]-?} in 1 s), input frames ${R[ref_first]-?}..${R[ref_last]-?} at $crate/s, repeats ${R[ref_repeats]-?}, max gap ${R[max_gap_us]-?} us; 420 frames took ${el} s"
	check "$L rate: distinct input frames at 29.4..30.6/s ($crate)" \
		awk -v r="$crate" 'BEGIN { exit !(r >= 29.4 && r <= 30.6) }'
	check "$L rate: repeats at most 2% of the frames (${R[ref_repeats]-?} of ${R[received]-?})" \
		awk -v p="${R[ref_repeats]:-0}" -v n="${R[received]:-0}" 'BEGIN { exit !(n > 0 && p * 50 <= n) }'
	check "$L rate: 420 frames at 30/s take at least 13.9 s without -re ($el s)" \
		awk -v e="$el" 'BEGIN { exit !(e >= 13.9) }'
	# -pace 0: the same 420 frames from a file, as fast as the device takes them.
	consume pace0-rd -d $CAP -n 0 -t 60 -c none --expect-format YU12:160x120
	wait_rd $CAP 1
	t0=$(uptime_s)
	rc=0
	producer pace0 -f rawvideo -pix_fmt yuv420p -s 160x120 -framerate 30 -i "$r" \
		-f loopback -pace 0 $OUT || rc=$?
	t1=$(uptime_s)
	el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	lc_nap 0.3
	stop_bg pace0-rd >/dev/null
	load_result R "$LOGS/pace0-rd.log"
	check "$L pace 0: ffmpeg -f rawvideo -i (14 s of frames) -f loopback -pace 0 exits 0 (exit $rc)" \
		test $rc -eq 0
	lc_info "$L pace 0: 420 frames (14 s at 30/s) in $el s; the reader got ${R[received]-?} at ${R[fps]-?}/s"
	check "$L pace 0: faster than real time: under 7 s ($el s)" awk -v e="$el" 'BEGIN { exit !(e < 7) }'
	check "$L pace 0: the reader sees over 45 frames/s (${R[fps]-?})" \
		awk -v f="${R[fps]:-0}" 'BEGIN { exit !(f > 45) }'

	lc_info "$L 6. a 3 s input stall (uptime $(uptime_s))"
	r=$(refpath yuv420p 320x240)
	fs=$(frame_bytes YU12 320x240)
	for rep in 1 0; do
		name=stall-repeat$rep
		check "$L $name: announce YU12:320x240@30" announce $OUT YU12:320x240@30
		rm -f "$W/$name.progress"
		consume "$name" -d $CAP -n 0 -t 60 --ref "$r" --ref-repeats-ok \
			--expect-format YU12:320x240 --max-gap-us $GAP_US --min-1s $MIN_1S \
			--progress "$W/$name.progress"
		wait_rd $CAP 1
		rc=0
		# Frames 0..44, then nothing for 3 s once the reader has frame 44
		# (ffmpeg reads ahead of the device), then frames 45..89.
		{
			dd if="$r" bs="$fs" count=45 status=none
			lc_until 30 progress_ge "$W/$name.progress" 45
			lc_nap 3
			dd if="$r" bs="$fs" skip=45 count=45 status=none
		} | ff -f rawvideo -pix_fmt yuv420p -s 320x240 -framerate 30 -i pipe:0 \
			-f loopback -repeat $rep $OUT >"$W/$name.log" 2>&1 || rc=$?
		ff_log "$W/$name.log" "$name-ff"
		lc_nap 0.5
		check "$L $name: ffmpeg -i pipe:0 (45 frames, 3 s nothing, 45 frames) -f loopback -repeat $rep exits 0 (exit $rc)" \
			test $rc -eq 0
		rc=0
		stop_bg "$name" || rc=$?
		load_result R "$LOGS/$name.log"
		lc_info "$L $name: ${R[received]-?} frames, reference ${R[ref_first]-?}..${R[ref_last]-?}, repeats ${R[ref_repeats]-?} (longest run ${R[ref_max_run]-?}), max gap ${R[max_gap_us]-?} us at frame ${R[max_gap_at]-?}, min ${R[min_1s]-?} frames in 1 s"
		if [ $rep = 1 ]; then
			check "$L $name: the reader passes: all 90 reference frames in order, no gap over $GAP_US us, >= $MIN_1S frames in every second" \
				test $rc -eq 0
			check "$L $name: all 90 input frames arrived, none skipped or unknown" \
				expect R ref_matched=90 ref_first=0 ref_last=89 ref_missed=0 ref_unknown=0 \
				ref_backwards=0
			check "$L $name: the stall was bridged by repeats of frame 44 at the rate (${R[ref_repeats]-?} >= 80 in 3 s)" \
				test "${R[ref_repeats]:-0}" -ge 80
		else
			check "$L $name: mutation check: without repeats the same reader FAILS (exit $rc, max gap ${R[max_gap_us]-?} us)" \
				test $rc -eq 1
			check "$L $name: ... on a gap of the stall (>= 2.9 s), with all 90 frames and no repeat" \
				sh -c "[ '${R[max_gap_us]:-0}' -ge 2900000 ] && [ '${R[ref_matched]:-0}' = 90 ] && [ '${R[ref_repeats]:-1}' = 0 ]"
		fi
	done

	lc_info "$L 7. errors (uptime $(uptime_s))"
	# fails NAME REGEX WHAT ARGS...: ffmpeg fails cleanly, its log matches REGEX.
	fails() {
		local name=$1 re=$2 what=$3
		shift 3
		rc=0
		producer "$name" "$@" || rc=$?
		check "$L $what: ffmpeg fails by itself within 90 s (exit $rc)" failed_cleanly $rc
		check "$L $what: the message says why: /$re/" grep -Eq -e "$re" "$W/$name.log"
	}
	fails err-missing '/dev/video99 does not exist' "a node that does not exist (/dev/video99)" \
		-f lavfi -i testsrc=size=320x240:rate=30 -frames:v 30 -f loopback /dev/video99
	fails err-capture "$CAP is a capture node: write to the device's output node $OUT" \
		"the capture node of a split device ($CAP)" \
		-f lavfi -i testsrc=size=320x240:rate=30 -frames:v 30 -f loopback $CAP
	fails err-format "Unknown device_format 'FOO'" "-device_format FOO" \
		-f lavfi -i testsrc=size=320x240:rate=30 -frames:v 30 -device_format FOO -f loopback $OUT
	fails err-mjpeg "Cannot feed mjpeg input into a YUYV device" "-c:v mjpeg into -device_format YUYV" \
		-f lavfi -i testsrc=size=320x240:rate=30 -frames:v 30 -c:v mjpeg -device_format YUYV \
		-f loopback $OUT
	fails err-noimage '-on_end image needs an image: add -placeholder FILE' \
		"-on_end image without -placeholder" \
		-f lavfi -i testsrc=size=320x240:rate=30 -frames:v 30 -on_end image -f loopback $OUT
	fails err-badimage "Cannot read a picture from the placeholder '/nonexistent.png'" \
		"-placeholder of a file that does not exist" \
		-f lavfi -i testsrc=size=320x240:rate=30 -frames:v 30 -on_end image \
		-placeholder /nonexistent.png -f loopback $OUT
	check "$L busy: announce YU12:320x240@30" announce $OUT YU12:320x240@30
	bg_start busy-first "${FF[@]}" -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 120 \
		-pix_fmt yuv420p -f loopback $OUT
	check "$L busy: the first producer streams" wait_state $OUT capture
	fails err-busy "$OUT: .*in use by another producer" "a second producer on $OUT while the first streams" \
		-f lavfi -i testsrc=size=320x240:rate=30 -frames:v 30 -pix_fmt yuv420p -f loopback $OUT
	check "$L busy: the first producer carried on and exits 0" ff_done busy-first
	# A device being fed cannot go away: the control device refuses.
	bg_start gone-ff "${FF[@]}" -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 90 \
		-pix_fmt yuv420p -f loopback -label FflGone auto
	if gnode=$(wait_node FflGone); then
		wait_state "$gnode" capture
		rc=0
		"$CTL" remove "$gnode" >"$W/gone-remove.log" 2>&1 || rc=$?
		show remove "$W/gone-remove.log"
		check "$L remove while fed: loopcam-ctl remove $gnode is refused (exit $rc: 1, 'in use')" \
			sh -c "[ $rc -eq 1 ] && grep -q 'in use' '$W/gone-remove.log'"
		check "$L remove while fed: the producer carries on and exits 0" ff_done gone-ff
		check "$L auto (combined): it said what it created: 'created 'FflGone': $gnode'" \
			grep -q "created 'FflGone': $gnode\$" "$W/gone-ff.log"
		check "$L remove while fed: ... and removes its device at the end" gone "$gnode"
	else
		lc_fail "$L remove while fed: auto -label FflGone creates a device" || true
		ff_done gone-ff
	fi

	lc_info "$L 8. auto -label (uptime $(uptime_s))"
	r=$(refpath yuv420p 320x240)
	bg_start auto-ff "${FF[@]}" -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 90 \
		-pix_fmt yuv420p -f loopback -label FflAuto -split 1 auto
	if acap=$(wait_node "FflAuto (capture)") && aout=$(node_named "FflAuto (output)"); then
		lc_pass "$L auto: -label FflAuto -split 1 created $aout and $acap"
		wait_format "$acap"
		check "$L auto: a reader of $acap gets 30 reference frames in order" \
			logged "$LOGS/auto.log" timeout 60 "$PROGS/lc-consume" -d "$acap" -n 30 \
			--ref "$r" --ref-repeats-ok --expect-format YU12:320x240
		brief auto
		rc=0
		ff_done auto-ff || rc=$?
		check "$L auto: ffmpeg exits 0 (exit $rc)" test $rc -eq 0
		check "$L auto: it said what it created" \
			grep -q "created 'FflAuto': output $aout, readers open $acap" "$W/auto-ff.log"
		check "$L auto: the device is gone after ffmpeg ends" gone "$aout" "$acap"
	else
		lc_fail "$L auto: -label FflAuto -split 1 creates a device" || true
		ff_done auto-ff
	fi
	rc=0
	producer keep -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 15 -pix_fmt yuv420p \
		-f loopback -label FflKeep -keep_device 1 auto || rc=$?
	check "$L keep_device: ffmpeg exits 0 (exit $rc)" test $rc -eq 0
	if aout=$(node_named FflKeep); then
		lc_pass "$L keep_device 1: the device FflKeep ($aout) is still there"
		check "$L keep_device 1: loopcam-ctl removes it" "$CTL" remove "$aout"
	else
		lc_fail "$L keep_device 1: the device FflKeep is still there" || true
	fi
	check "$L label of an existing device: announce YU12:320x240@30" announce $OUT YU12:320x240@30
	consume label-rd -d $CAP -n 0 -t 60 --ref "$r" --ref-repeats-ok --expect-format YU12:320x240
	wait_rd $CAP 1
	rc=0
	producer label -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 30 -pix_fmt yuv420p \
		-f loopback -label FflCam auto || rc=$?
	lc_nap 0.3
	check "$L label FflCam (the module's split device): ffmpeg exits 0 (exit $rc)" test $rc -eq 0
	check "$L label FflCam: it used $OUT, created nothing" \
		sh -c "grep -q '$OUT: YU12 320x240' '$W/label.log' && ! grep -q created '$W/label.log'"
	stop_bg label-rd >/dev/null
	load_result R "$LOGS/label-rd.log"
	check "$L label FflCam: the reader of $CAP got the 30 frames" \
		expect R result=pass ref_matched=30 ref_first=0 ref_last=29 ref_missed=0
	check "$L label FflCam: the device stays" test -c $OUT

	lc_info "$L 9. -on_end, -timeout, -video_size/-framerate, MJPEG (uptime $(uptime_s))"
	r=$(refpath yuv420p 320x240)
	check "$L on_end last: announce YU12:320x240@30" announce $OUT YU12:320x240@30
	consume end-last -d $CAP -n 0 -t 60 --ref "$r" --ref-repeats-ok --max-gap-us $GAP_US \
		--min-1s $MIN_1S
	wait_rd $CAP 1
	bg_start end-last-ff "${FF[@]}" -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 30 \
		-pix_fmt yuv420p -f loopback -on_end last $OUT
	check "$L on_end last: after the input ends, ffmpeg says it shows the last frame" \
		wait_log "$LOGS/end-last-ff.log" 'input ended: showing the last frame until interrupted'
	lc_nap 2
	check "$L on_end last: ffmpeg is still running 2 s after the input ended" \
		kill -0 "${bg_pids[end-last-ff]}"
	t0=$(uptime_s)
	kill -INT "${bg_pids[end-last-ff]}"
	rc=0
	ff_done end-last-ff || rc=$?
	t1=$(uptime_s)
	el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	check "$L on_end last: one SIGINT ends it within 5 s ($el s), exit 0 or 255 (exit $rc)" \
		sh -c "awk -v e=$el 'BEGIN { exit !(e < 5) }' && { [ $rc -eq 0 ] || [ $rc -eq 255 ]; }"
	check "$L on_end last: the producer stops streaming" wait_state $OUT output
	rc=0
	stop_bg end-last || rc=$?
	load_result R "$LOGS/end-last.log"
	lc_info "$L on_end last: ${R[received]-?} frames, reference ${R[ref_first]-?}..${R[ref_last]-?}, the last one ${R[ref_max_run]-?} times, min ${R[min_1s]-?} in 1 s, max gap ${R[max_gap_us]-?} us"
	check "$L on_end last: the reader passes (every frame a reference frame, no gap over $GAP_US us, >= $MIN_1S frames in every second)" \
		test $rc -eq 0
	check "$L on_end last: frames 0..29, then frame 29 again for 2 s (>= 55 times)" \
		sh -c "[ '${R[ref_first]:-}' = 0 ] && [ '${R[ref_last]:-}' = 29 ] && [ '${R[ref_matched]:-}' = 30 ] && [ '${R[ref_max_run]:-0}' -ge 55 ]"

	check "$L on_end black: the timeout control is 0 before" \
		sh -c "[ \"\$(v4l2-ctl -d $OUT -C timeout)\" = 'timeout: 0' ]"
	bg_start end-black-rd timeout 60 "$PROGS/lc-probe" watch -t 60 $CAP
	wait_rd $CAP 1
	bg_start end-black-ff "${FF[@]}" -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 30 \
		-pix_fmt yuv420p -f loopback -on_end black -timeout 1500 $OUT
	check "$L on_end black: ffmpeg says it shows black" \
		wait_log "$LOGS/end-black-ff.log" 'input ended: showing black until interrupted'
	lc_nap 1.5
	kill -INT "${bg_pids[end-black-ff]}"
	rc=0
	ff_done end-black-ff || rc=$?
	check "$L on_end black: one SIGINT ends it, exit 0 or 255 (exit $rc)" \
		sh -c "[ $rc -eq 0 ] || [ $rc -eq 255 ]"
	kill -INT "${bg_pids[end-black-rd]}"
	wait "${bg_pids[end-black-rd]}"
	grep -E '^(runs|last_run|received)' "$LOGS/end-black-rd.log" | cut -c1-300 | sed 's/^/  [end-black] /'
	check "$L on_end black: black frames followed the last frame, at the rate (>= 40 black in the 1.5 s)" \
		sh -c "grep -Eq '^runs: other\([0-9]+ bytes\) x[0-9]+, black x[0-9]+\$' '$LOGS/end-black-rd.log' &&
			[ \"\$(sed -n 's/.* black=\([0-9]*\) .*/\1/p' '$LOGS/end-black-rd.log')\" -ge 40 ]"
	check "$L -timeout 1500: the device's timeout control is 1500" \
		sh -c "[ \"\$(v4l2-ctl -d $OUT -C timeout)\" = 'timeout: 1500' ]"
	v4l2-ctl -d $OUT -c timeout=0

	# A 160x240 red picture on a 320x240 device: shown whole, centred, with
	# black bars left and right (not stretched, not black, not the last frame).
	rc=0
	ff -loglevel error -f lavfi -i color=c=0xC83232:size=160x240 -frames:v 1 \
		"$W/placeholder.png" || rc=$?
	check "$L on_end image: ffmpeg writes a 160x240 PNG of RGB 200,50,50 (exit $rc)" \
		test -s "$W/placeholder.png"
	check "$L on_end image: announce YU12:320x240@30" announce $OUT YU12:320x240@30
	bg_start end-image-ff "${FF[@]}" -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 30 \
		-pix_fmt yuv420p -f loopback -on_end image -placeholder "$W/placeholder.png" $OUT
	check "$L on_end image: ffmpeg says it shows the placeholder" \
		wait_log "$LOGS/end-image-ff.log" "input ended: showing '$W/placeholder.png' until interrupted"
	rc=0
	timeout 30 v4l2-ctl -d $CAP --stream-mmap --stream-count 10 --stream-to "$W/end-image.raw" \
		>"$LOGS/end-image-rd.log" 2>&1 || rc=$?
	check "$L on_end image: a reader that starts after the input ended gets 10 frames (exit $rc)" \
		test $rc -eq 0
	kill -INT "${bg_pids[end-image-ff]}"
	rc=0
	ff_done end-image-ff || rc=$?
	check "$L on_end image: one SIGINT ends it, exit 0 or 255 (exit $rc)" \
		sh -c "[ $rc -eq 0 ] || [ $rc -eq 255 ]"
	"$PY" - "$W/end-image.raw" >"$W/end-image.check" 2>&1 <<'EOF'
import sys
# YU12 320x240; BT.601 limited range of RGB 200,50,50 is Y 97.5, Cb 105.8, Cr 193.9.
W, H = 320, 240
data = open(sys.argv[1], 'rb').read()
fs = W * H * 3 // 2
frames = [data[i:i + fs] for i in range(0, len(data) - fs + 1, fs)]
bad = []
for n, f in enumerate(frames):
    planes = [(f[:W * H], W, H, 16, 97.5), (f[W * H:W * H * 5 // 4], W // 2, H // 2, 128, 105.8),
              (f[W * H * 5 // 4:], W // 2, H // 2, 128, 193.9)]
    for p, (pl, w, h, black, colour) in enumerate(planes):
        for y in range(h):
            row = pl[y * w:(y + 1) * w]
            for x, v in enumerate(row):
                inside = w // 4 <= x < w * 3 // 4
                want = colour if inside else black
                if abs(v - want) > 3:
                    bad.append(f"frame {n} plane {p} ({x},{y}) = {v}, want {want}")
print(f"frames={len(frames)} trailing={len(data) % fs} bad={len(bad)}")
for b in bad[:5]:
    print(b)
EOF
	sed 's/^/  [end-image] /' "$W/end-image.check"
	check "$L on_end image: 10 frames, each the picture centred 160 px wide between black bars (every sample within 3 of BT.601 limited)" \
		grep -q '^frames=10 trailing=0 bad=0$' "$W/end-image.check"

	check "$L -video_size: announce NV12:160x120@15 on $COMB (the options override it)" \
		announce $COMB NV12:160x120@15
	bg_start size-ff "${FF[@]}" -f lavfi -i testsrc=size=160x120:rate=15 -frames:v 45 \
		-pix_fmt yuv420p -f loopback -device_format yuyv422 -video_size 320x240 -framerate 30 $COMB
	check "$L -device_format yuyv422 (FFmpeg's name) -video_size 320x240 -framerate 30: the device format becomes YUYV:320x240@30" \
		wait_format $COMB YUYV:320x240@30
	check "$L ... a reader gets 30 whole YUYV 320x240 frames at 27..33/s from a 15/s input, G_PARM 1/30" \
		logged "$LOGS/size.log" timeout 60 "$PROGS/lc-consume" -d $COMB -c none -n 30 \
		--expect-format YUYV:320x240 --min-fps 27 --max-fps 33 --max-gap-us $GAP_US
	brief size
	check "$L ... G_PARM gives 1/30" grep -q 'G_PARM: CAPTURE timeperframe=1/30' "$LOGS/size.log"
	rc=0
	ff_done size-ff || rc=$?
	check "$L ... ffmpeg exits 0 (exit $rc); start line: YUYV 320x240 at 30/1, input yuv420p 160x120: converted" \
		sh -c "[ $rc -eq 0 ] && grep -Eq '$COMB: YUYV 320x240 at 30/1 frames/s by MMAP.*input yuv420p 160x120: converted' '$W/size-ff.log'"

	rc=0
	ff -loglevel error -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 150 -c:v mjpeg -q:v 5 \
		-f mjpeg -y "$W/ref.mjpeg" >"$W/ref-mjpeg.log" 2>&1 || rc=$?
	check "$L MJPEG: reference: 150 testsrc frames by ffmpeg -c:v mjpeg -q:v 5 -f mjpeg (exit $rc)" \
		test $rc -eq 0 -a -s "$W/ref.mjpeg"
	check "$L MJPEG: announce MJPG:320x240@30" announce $OUT MJPG:320x240@30
	rm -f "$W/mjpeg-early.out" "$W/mjpeg-late.out"
	consume mjpeg-early -d $CAP -n 0 -t 60 -c none --expect-format MJPG:320x240 \
		--save "$W/mjpeg-early.out"
	wait_rd $CAP 1
	bg_start mjpeg-ff "${FF[@]}" -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 150 \
		-c:v mjpeg -q:v 5 -f loopback -repeat 0 $OUT
	wait_state $OUT capture
	lc_info "$L MJPEG: sizeimage: $(sed -n 's/^G_FMT: .*\(sizeimage[= ][0-9]*\).*/\1/p' "$LOGS/mjpeg-early.log" | head -n 1) announced (the early reader's), $(v4l2-ctl -d $CAP --get-fmt-video | sed -n 's/.*Size Image *: */sizeimage /p') now that ffmpeg streams"
	check "$L MJPEG: a reader that starts while ffmpeg streams gets 20 frames" \
		logged "$LOGS/mjpeg-late.log" timeout 60 "$PROGS/lc-consume" -d $CAP -n 20 -c none \
		--timeout-ms 10000 \
		--expect-format MJPG:320x240 --save "$W/mjpeg-late.out"
	brief mjpeg-late
	rc=0
	ff_done mjpeg-ff || rc=$?
	lc_nap 0.3
	stop_bg mjpeg-early
	check "$L MJPEG: ffmpeg -c:v mjpeg -f loopback -repeat 0 into the MJPG device exits 0 (exit $rc)" \
		test $rc -eq 0
	check "$L MJPEG: start line: MJPG 320x240, passed through" \
		info_line mjpeg-ff "$OUT: MJPG 320x240 at 30/1 frames/s by MMAP.*: passed through"
	for rd in early late; do
		jpeg_run_check "$W/ref.mjpeg" "$W/mjpeg-$rd.out" >"$W/mjpeg-$rd.check" 2>&1
		show "mjpeg-$rd" "$W/mjpeg-$rd.check"
		load_result R "$W/mjpeg-$rd.check"
		if [ $rd = early ]; then
			check "$L MJPEG: the reader streaming before ffmpeg started got all 150 frames, byte for byte ffmpeg's own -f mjpeg output" \
				expect R whole=1 frames=150 first=0
		else
			check "$L MJPEG: the later reader's 20 frames are 20 consecutive frames of ffmpeg's own -f mjpeg output, byte for byte" \
				expect R whole=1 frames=20
		fi
	done

	# H.264 (Annex B) from a file, packets copied: the device's frames put
	# together are the file, byte for byte.
	check "$L H.264: announce H264:320x240@30" announce $OUT H264:320x240@30
	rm -f "$W/h264.out"
	consume h264 -d $CAP -n 0 -t 60 -c none --expect-format H264:320x240 --save "$W/h264.out"
	wait_rd $CAP 1
	rc=0
	producer h264-ff -f h264 -framerate 30 -i "$H264_REF" -c:v copy -f loopback -repeat 0 \
		$OUT || rc=$?
	lc_nap 0.3
	stop_bg h264
	check "$L H.264: ffmpeg -f h264 -i (60 frames) -c:v copy -f loopback exits 0 (exit $rc)" \
		test $rc -eq 0
	check "$L H.264: start line: H264 320x240, passed through" \
		info_line h264-ff "$OUT: H264 320x240 at 30/1 frames/s by MMAP.*: passed through"
	check "$L H.264: the reader's frames put together are the file, byte for byte ($(stat -c %s "$W/h264.out" 2>/dev/null || echo 0) of $(stat -c %s "$H264_REF") bytes)" \
		cmp "$H264_REF" "$W/h264.out"
}

lc_load devices=2 video_nr=10,20 split_nodes=1,0 capture_nr=11,-1 card_label=FflCam,FflComb \
	max_buffers=24 || exit 1
lc_wait_dev $CAP || exit 1
lc_wait_dev $COMB || exit 1

# The H.264 reference comes from Debian's ffmpeg (libx264); the builds
# under test have no H.264 encoder, only the parser for pass-through.
H264_REF=$work/ref.h264
rc=0
timeout 120 /usr/bin/ffmpeg -hide_banner -nostdin -loglevel error -f lavfi \
	-i testsrc=size=320x240:rate=30 -frames:v 60 -pix_fmt yuv420p -c:v libx264 \
	-preset ultrafast -bf 0 -g 30 -f h264 -y "$H264_REF" >"$work/ref-h264.log" 2>&1 || rc=$?
check "H.264 reference: 60 testsrc frames by Debian's ffmpeg -c:v libx264 -f h264 (exit $rc)" \
	test $rc -eq 0 -a -s "$H264_REF"

for line in "${LINES[@]}"; do
	FFB=$work/bin-$line/ffmpeg
	FF=(timeout 90 "$FFB" -hide_banner -nostdin -nostats -loglevel info)
	L="[$line]"
	W=$work/$line
	mkdir -p "$W"
	run_line
	rm -f "$W"/*.raw "$W"/*.out
done
lc_info "both lines done (uptime $(uptime_s))"
lc_unload

lc_info "the module unloaded: auto has no control device"
for line in "${LINES[@]}"; do
	FFB=$work/bin-$line/ffmpeg
	FF=(timeout 90 "$FFB" -hide_banner -nostdin -nostats -loglevel info)
	L="[$line]"
	W=$work/$line
	rc=0
	producer no-module -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 30 \
		-f loopback -label FflNone auto || rc=$?
	check "$L auto without the module: ffmpeg fails by itself within 90 s (exit $rc)" \
		failed_cleanly $rc
	check "$L auto without the module: the message names the module" \
		grep -q 'is the v4l2loopback module loaded' "$W/no-module.log"
done
