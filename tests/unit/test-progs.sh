#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host test of lc-produce and lc-consume against fakev4l2.so (LD_PRELOAD
# stand-in for a V4L2 node, see fakev4l2.c): every I/O method, the summary
# line, exit codes, and that lc-consume fails on each kind of broken frame.
# TAP output.
#
# usage: test-progs.sh LC_PRODUCE LC_CONSUME FAKEV4L2_SO
set -u

PRODUCE=$1 CONSUME=$2 FAKE=$3
TMP=$(mktemp -d /tmp/lc-test-progs.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
n=0 failed=0

# value of KEY in the last result= line of file $2
kv() { grep '^result=' "$2" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# check NAME EXPECTED_RC "KEY=VALUE ..." -- command...
# runs the command (with the fake preloaded), checks exit code and keys
check() {
	local name=$1 want_rc=$2 keys=$3 rc bad=
	shift 4
	LD_PRELOAD=$FAKE "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	n=$((n + 1))
	[ "$rc" = "$want_rc" ] || bad="exit $rc, want $want_rc"
	for kvp in $keys; do
		local k=${kvp%%=*} v=${kvp#*=} got
		got=$(kv "$k" "$TMP/out")
		if [[ $v == '>'* ]]; then
			awk -v g="$got" -v w="${v#>}" 'BEGIN { exit !(g + 0 > w + 0) }' ||
				bad="$bad; $k=$got, want >${v#>}"
		elif [[ $v == '<'* ]]; then
			awk -v g="$got" -v w="${v#<}" 'BEGIN { exit !(g + 0 < w + 0) }' ||
				bad="$bad; $k=$got, want <${v#<}"
		elif [ "$got" != "$v" ]; then
			bad="$bad; $k=$got, want $v"
		fi
	done
	if [ -z "$bad" ]; then
		echo "ok $n - $name"
	else
		failed=$((failed + 1))
		echo "not ok $n - $name: ${bad#; }"
		echo "#   command: $*"
		sed 's/^/#   out: /' "$TMP/out" | tail -n 5
		sed 's/^/#   err: /' "$TMP/err" | head -n 8
	fi
}

C=/fake/capture0 O=/fake/output0 D=/fake/donor0
export FAKE_V4L2_FRAMES=100 FAKE_V4L2_FMT=YUYV:640x480

echo "# lc-consume: I/O methods, clean stream"
for io in mmap userptr read; do
	check "consume $io: 50 clean frames" 0 "received=50 torn=0 missed=0 bad_size=0 out_of_order=0" \
		-- "$CONSUME" -d $C --io $io -n 50 --expect-format YUYV:640x480
done
check "consume dmabuf (from donor): 50 clean frames" 0 "received=50 torn=0 missed=0" \
	-- "$CONSUME" -d $C --io dmabuf --dmabuf-from $D -n 50
check "consume: --expect-ts copy with copied timestamps" 0 "ts_bad=0 ts_source=copy" \
	-- "$CONSUME" -d $C -n 20 --expect-ts copy
check "consume: sampled check" 0 "received=30 torn=0" -- "$CONSUME" -d $C -n 30 --sampled
check "consume: --until-seq 11 stops at frame 11, before -n 50" 0 \
	"received=12 first_seq=0 last_seq=11 buffers=4" \
	-- "$CONSUME" -d $C -n 50 --until-seq 11
check "consume: --until-seq 200 beyond the stream's 100 frames: incomplete" 3 "received=100" \
	-- "$CONSUME" -d $C -n 0 -t 30 --timeout-ms 500 --timeout-ok --until-seq 200
check "consume: --until-seq needs numbered frames" 2 "" \
	-- "$CONSUME" -d $C -n 50 -c none --until-seq 11
# A producer slow to start: the window counts from STREAMON, or from the first frame.
FAKE_V4L2_FIRST_MS=700 check "consume: -t 0.3 from STREAMON, first frame after 0.7 s: one of 50 (incomplete)" 3 \
	"received=1 " -- "$CONSUME" -d $C -n 50 -t 0.3 --timeout-ms 3000
FAKE_V4L2_FIRST_MS=700 check "consume: -t 0.3 --seconds-from-first, first frame after 0.7 s: all 50" 0 \
	"received=50 " -- "$CONSUME" -d $C -n 50 -t 0.3 --timeout-ms 3000 --seconds-from-first
check "consume: --seconds-from-first needs -t" 2 "" -- "$CONSUME" -d $C -n 5 --seconds-from-first
for fmt in NV12:641x481 YU12:33x17 RGB24:64x48 Y16:31x7 XBGR32:16x16 MJPEG:64x48 H264:320x240; do
	FAKE_V4L2_FMT=$fmt check "consume $fmt" 0 "received=10 torn=0 bad_size=0" \
		-- "$CONSUME" -d $C -n 10 --expect-format $fmt
done

echo "# lc-consume: each broken behaviour makes it fail"
export FAKE_V4L2_FAULTS=torn@10
check "torn frame (mmap) fails" 1 "torn=1 received=30" -- "$CONSUME" -d $C -n 30
check "torn frame (read) fails" 1 "torn=1" -- "$CONSUME" -d $C -n 30 --io read
check "torn frame (sampled) fails" 1 "torn=1" -- "$CONSUME" -d $C -n 30 --sampled
check "torn frame (userptr) fails" 1 "torn=1" -- "$CONSUME" -d $C -n 30 --io userptr
export FAKE_V4L2_FAULTS=short@5
check "bytesused one short fails" 1 "bad_size=1" -- "$CONSUME" -d $C -n 30
grep -q "bytesused 614399 != expected frame size 614400" "$TMP/err" &&
	echo "# checked: the message gives both numbers" ||
	{ n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - bad_size message"; }
export FAKE_V4L2_FAULTS=drop@7
check "dropped frame: counted, not failed" 0 "missed=1 v4l2_gaps=1 seq_mismatch=0" -- "$CONSUME" -d $C -n 30
check "dropped frame with --expect-all fails" 1 "missed=1" -- "$CONSUME" -d $C -n 30 --expect-all
check "dropped frame (read): counted" 0 "missed=1" -- "$CONSUME" -d $C -n 30 --io read
export FAKE_V4L2_FAULTS=seqskip@9
check "v4l2 sequence gap without a missed frame fails" 1 "seq_mismatch=1 missed=0" -- "$CONSUME" -d $C -n 30
export FAKE_V4L2_FAULTS=dup@12
check "repeated frame fails (out of order)" 1 "out_of_order=1" -- "$CONSUME" -d $C -n 30
export FAKE_V4L2_FAULTS=tsback@6
check "timestamp going back fails" 1 "ts_backwards=1" -- "$CONSUME" -d $C -n 30
export FAKE_V4L2_FAULTS=foreign@4
check "frame without header fails" 1 "foreign=1" -- "$CONSUME" -d $C -n 30
check "... unless --allow-foreign" 0 "foreign=1" -- "$CONSUME" -d $C -n 30 --allow-foreign
export FAKE_V4L2_FAULTS=errflag@3
check "ERROR-flagged buffer fails" 1 "error_bufs=1" -- "$CONSUME" -d $C -n 30
check "... unless --allow-error-bufs" 0 "error_bufs=1" -- "$CONSUME" -d $C -n 30 --allow-error-bufs
export FAKE_V4L2_FAULTS=
FAKE_V4L2_TS=zero check "zero timestamps with --expect-ts copy fail" 1 "ts_bad=20" \
	-- "$CONSUME" -d $C -n 20 --expect-ts copy
FAKE_V4L2_FRAMES=20 check "too few frames: exit 3" 3 "received=20 timeouts=1" \
	-- "$CONSUME" -d $C -n 30 --timeout-ms 100
FAKE_V4L2_FRAMES=20 check "too few frames with --timeout-ok: exit 0" 0 "received=20 timeouts=1" \
	-- "$CONSUME" -d $C -n 30 --timeout-ms 100 --timeout-ok
check "wrong --expect-format fails" 1 "" -- "$CONSUME" -d $C -n 5 --expect-format NV12:640x480
check "--wait-format-ms: waits, then fails on the wrong format" 1 "" \
	-- "$CONSUME" -d $C -n 5 --expect-format NV12:640x480 --wait-format-ms 300
grep -q "expected NV12 640x480" "$TMP/err" && echo "# checked: message names the expected format"
check "--seconds mode" 0 "torn=0" -- "$CONSUME" -d $C --seconds 0.2
check "consume on an output node: exit 2" 2 "" -- "$CONSUME" -d $O -n 5
check "--min-fps too high fails" 1 "" -- "$CONSUME" -d $C -n 20 --min-fps 1e12
check "--max-lat-us above the latency passes" 0 "" -- "$CONSUME" -d $C -n 20 --max-lat-us 100000000

export FAKE_V4L2_PATTERN=bars
for fmt in YUYV:640x480 NV12:641x481 RGB24:64x48; do
	FAKE_V4L2_FMT=$fmt check "consume --check bars $fmt" 0 "received=20 torn=0 missed=0 last_seq=19" \
		-- "$CONSUME" -d $C -n 20 --check bars
done
FAKE_V4L2_FAULTS=torn@5 check "torn bars frame fails" 1 "torn=1" -- "$CONSUME" -d $C -n 20 --check bars
FAKE_V4L2_FAULTS=drop@5 check "dropped bars frame counted" 0 "missed=1 v4l2_gaps=1" \
	-- "$CONSUME" -d $C -n 20 --check bars
check "test check on a bars stream fails (foreign)" 1 "foreign=5" -- "$CONSUME" -d $C -n 5
export FAKE_V4L2_PATTERN=

echo "# lc-consume --ref: frames compared byte for byte with a reference file"
export FAKE_V4L2_PATTERN=bars FAKE_V4L2_FMT=NV12:321x241
R=$TMP/ref.raw
check "--save writes every frame received" 0 "received=30" -- "$CONSUME" -d $C -c none -n 30 --save "$R"
n=$((n + 1))
if [ "$(stat -c %s "$R")" = $((30 * 116323)) ]; then
	echo "ok $n - the saved file holds 30 frames of 116323 bytes"
else
	failed=$((failed + 1))
	echo "not ok $n - saved file has $(stat -c %s "$R") bytes, want $((30 * 116323))"
fi
check "--ref: the same frames pass, all of them in order" 0 \
	"ref_frames=30 ref_matched=30 ref_first=0 ref_last=29 ref_repeats=0 ref_missed=0 ref_backwards=0 ref_unknown=0" \
	-- "$CONSUME" -d $C -n 30 --ref "$R" --ref-complete
check "--ref: a part of them passes" 0 "ref_matched=20 ref_last=19" -- "$CONSUME" -d $C -n 20 --ref "$R"
check "--ref-complete: ... but not with --ref-complete" 1 "ref_matched=20 ref_last=19" \
	-- "$CONSUME" -d $C -n 20 --ref "$R" --ref-complete
check "--ref: frames past the reference match none: fails" 1 "ref_matched=30 ref_unknown=5" \
	-- "$CONSUME" -d $C -n 35 --ref "$R"
FAKE_V4L2_FAULTS=drop@7 check "--ref: a dropped frame is a skipped reference frame: fails" 1 \
	"ref_missed=1 ref_matched=29" -- "$CONSUME" -d $C -n 29 --ref "$R"
FAKE_V4L2_FAULTS=drop@7 check "--ref: ... unless --ref-misses-ok" 0 "ref_missed=1 ref_last=29" \
	-- "$CONSUME" -d $C -n 29 --ref "$R" --ref-misses-ok
FAKE_V4L2_FAULTS=dup@12 check "--ref: a repeated frame fails" 1 "ref_repeats=1 ref_max_run=2" \
	-- "$CONSUME" -d $C -n 30 --ref "$R" --ref-misses-ok
FAKE_V4L2_FAULTS=dup@12 check "--ref: ... unless --ref-repeats-ok" 0 "ref_repeats=1 ref_missed=1" \
	-- "$CONSUME" -d $C -n 30 --ref "$R" --ref-misses-ok --ref-repeats-ok
FAKE_V4L2_FAULTS=torn@5 check "--ref: a torn frame matches none: fails" 1 "ref_unknown=1" \
	-- "$CONSUME" -d $C -n 30 --ref "$R" --ref-misses-ok
grep -Eq "matches no reference frame; against reference frame 5: [0-9]+ of 116323 bytes differ, the first at byte [0-9]+ " "$TMP/err" &&
	echo "# checked: the message says where it differs from the frame expected" ||
	{ n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - torn --ref message: $(grep -m1 'matches no' "$TMP/err")"; }
FAKE_V4L2_FAULTS=foreign@4 check "--ref: a foreign frame fails" 1 "ref_unknown=1" \
	-- "$CONSUME" -d $C -n 30 --ref "$R" --ref-misses-ok
FAKE_V4L2_FAULTS=foreign@4 check "--ref: ... unless --allow-foreign" 0 "ref_unknown=1" \
	-- "$CONSUME" -d $C -n 30 --ref "$R" --ref-misses-ok --allow-foreign
FAKE_V4L2_FAULTS=short@5 check "--ref: a short frame fails (bad_size)" 1 "bad_size=1" \
	-- "$CONSUME" -d $C -n 30 --ref "$R" --ref-misses-ok
# frames 10 and 11 swapped in the reference: the stream goes 11 -> 10
fs=116323
{ head -c $((10 * fs)) "$R"; tail -c +$((11 * fs + 1)) "$R" | head -c $fs
  tail -c +$((10 * fs + 1)) "$R" | head -c $fs; tail -c +$((12 * fs + 1)) "$R"; } >"$TMP/swapped.raw"
check "--ref: a reference frame earlier than the last one fails (backwards)" 1 "ref_backwards=1" \
	-- "$CONSUME" -d $C -n 30 --ref "$TMP/swapped.raw" --ref-misses-ok
head -c $((30 * fs - 1)) "$R" >"$TMP/cut.raw"
check "--ref: a file that is not whole frames: exit 2" 2 "" -- "$CONSUME" -d $C -n 5 --ref "$TMP/cut.raw"
check "--ref with -c: exit 2" 2 "" -- "$CONSUME" -d $C -n 5 --ref "$R" -c none
check "--ref-repeats-ok without --ref: exit 2" 2 "" -- "$CONSUME" -d $C -n 5 --ref-repeats-ok
check "--max-fps below the rate fails" 1 "" -- "$CONSUME" -d $C -n 20 -c none --max-fps 1
check "--max-fps above the rate passes" 0 "" -- "$CONSUME" -d $C -n 20 -c none --max-fps 1e12
# --slow-ms 20: the reader itself takes a frame every ~20 ms (50/s)
check "--min-1s: 1 s windows of a 50/s reader hold >= 40 frames" 0 "min_1s=>39 min_1s=<52" \
	-- "$CONSUME" -d $C -n 80 -c none --slow-ms 20 --min-1s 40
check "--min-1s 60 on a 50/s reader fails" 1 "min_1s=<52" \
	-- "$CONSUME" -d $C -n 80 -c none --slow-ms 20 --min-1s 60
check "--min-1s on a run shorter than 1 s fails (cannot measure)" 1 "min_1s=-1" \
	-- "$CONSUME" -d $C -n 10 -c none --slow-ms 20 --min-1s 1
export FAKE_V4L2_PATTERN= FAKE_V4L2_FMT=YUYV:640x480

check "--snapshot and --stats-json" 0 "received=10" \
	-- "$CONSUME" -d $C -n 10 --snapshot "$TMP/snap.png" --snapshot-frame 3 --stats-json "$TMP/s.json"
n=$((n + 1))
if head -c 8 "$TMP/snap.png" | od -An -c | grep -q 'P   N   G' &&
	grep -q '"received": 10' "$TMP/s.json" && grep -q '"result": "pass"' "$TMP/s.json"; then
	echo "ok $n - snapshot is a PNG, stats JSON has the counters"
else
	failed=$((failed + 1))
	echo "not ok $n - snapshot/stats files"
fi

echo "# lc-produce: I/O methods, every frame arrives whole"
for io in write mmap userptr; do
	rm -f "$TMP/rep"
	FAKE_V4L2_REPORT=$TMP/rep check "produce $io: 30 frames" 0 "sent=30" \
		-- "$PRODUCE" -d $O --io $io -n 30 --fps 0
	n=$((n + 1))
	if grep -q '^frames=30 ok=30 torn=0 bad_size=0 foreign=0 missed=0 out_of_order=0' "$TMP/rep"; then
		echo "ok $n - $io: the device got 30 good frames in order"
	else
		failed=$((failed + 1))
		echo "not ok $n - $io: device report: $(cat "$TMP/rep" 2>/dev/null)"
	fi
done
rm -f "$TMP/rep"
FAKE_V4L2_REPORT=$TMP/rep check "produce dmabuf (from donor)" 0 "sent=30" \
	-- "$PRODUCE" -d $O --io dmabuf --dmabuf-from $D -n 30 --fps 0
n=$((n + 1))
grep -q '^frames=30 ok=30 torn=0' "$TMP/rep" && echo "ok $n - dmabuf frames good" ||
	{ failed=$((failed + 1)); echo "not ok $n - dmabuf report: $(cat "$TMP/rep")"; }

for fmt in YUYV UYVY YVYU NV12 NV21 YU12 YV12 NV16 GREY RGB24 BGR24 RGB565 XRGB32 XBGR32 ARGB32 ABGR32 Y16; do
	for pat in test bars; do
		rm -f "$TMP/rep"
		FAKE_V4L2_CHECK=$pat FAKE_V4L2_REPORT=$TMP/rep check "produce $fmt 33x17 $pat" 0 "sent=4" \
			-- "$PRODUCE" -d $O -f $fmt -s 33x17 -n 4 --fps 0 --pattern $pat --io mmap
		n=$((n + 1))
		grep -q '^frames=4 ok=4 ' "$TMP/rep" && echo "ok $n - $fmt $pat frames good" ||
			{ failed=$((failed + 1)); echo "not ok $n - $fmt $pat: $(cat "$TMP/rep")"; }
	done
done
for fmt in MJPEG H264 VP9; do
	rm -f "$TMP/rep"
	FAKE_V4L2_REPORT=$TMP/rep check "produce $fmt (variable sizes)" 0 "sent=20" \
		-- "$PRODUCE" -d $O -f $fmt -s 320x240 -n 20 --fps 0 --io mmap
	n=$((n + 1))
	grep -q '^frames=20 ok=20 ' "$TMP/rep" && echo "ok $n - $fmt frames good" ||
		{ failed=$((failed + 1)); echo "not ok $n - $fmt: $(cat "$TMP/rep")"; }
done
rm -f "$TMP/rep"
FAKE_V4L2_REPORT=$TMP/rep check "produce write() in 1000-byte chunks" 0 "sent=10" \
	-- "$PRODUCE" -d $O -n 10 --fps 0 --write-chunk 1000 --streamon
n=$((n + 1))
grep -q '^frames=10 ok=10 ' "$TMP/rep" && echo "ok $n - chunked frames good" ||
	{ failed=$((failed + 1)); echo "not ok $n - chunked: $(cat "$TMP/rep")"; }
rm -f "$TMP/rep"
FAKE_V4L2_REPORT=$TMP/rep check "produce write() without poll (--no-poll)" 0 "sent=10" \
	-- "$PRODUCE" -d $O -n 10 --fps 0 --no-poll
n=$((n + 1))
grep -q '^frames=10 ok=10 ' "$TMP/rep" && echo "ok $n - unpolled frames good" ||
	{ failed=$((failed + 1)); echo "not ok $n - no-poll: $(cat "$TMP/rep")"; }
rm -f "$TMP/rep"
FAKE_V4L2_REPORT=$TMP/rep check "produce --seq-start 100 --obs-fmt" 0 "first_seq=100 last_seq=104" \
	-- "$PRODUCE" -d $O -n 5 --fps 0 --seq-start 100 --obs-fmt
n=$((n + 1))
grep -q 'first_seq=100' "$TMP/rep" && echo "ok $n - the device saw frame 100 first" ||
	{ failed=$((failed + 1)); echo "not ok $n - seq-start: $(cat "$TMP/rep")"; }
check "produce --fps 50: paced" 0 "sent=25 fps=>45 fps=<55" -- "$PRODUCE" -d $O -n 25 --fps 50
check "produce --stall-after 5 --stall-ms 300" 0 "sent=10 elapsed_s=>0.29" \
	-- "$PRODUCE" -d $O -n 10 --fps 0 --stall-after 5 --stall-ms 300
check "produce --seconds 0.3" 0 "sent=>5" -- "$PRODUCE" -d $O --seconds 0.3 --fps 30
FAKE_V4L2_READERS=2 check "produce --wait-readers 2 (present)" 0 "sent=3" \
	-- "$PRODUCE" -d $O -n 3 --wait-readers 2
FAKE_V4L2_READERS=0 check "produce --wait-readers 1 (absent): exit 2" 2 "" \
	-- "$PRODUCE" -d $O -n 3 --wait-readers 1 --wait-readers-ms 100
check "produce on a capture node: exit 2" 2 "" -- "$PRODUCE" -d $C -n 3
check "produce bad option: exit 1" 1 "" -- "$PRODUCE" -d $O --fps abc
check "produce dmabuf without donor: exit 1" 1 "" -- "$PRODUCE" -d $O --io dmabuf
check "produce too small for the header: exit 2" 2 "" -- "$PRODUCE" -d $O -f GREY -s 4x4

echo "1..$n"
[ "$failed" = 0 ]
