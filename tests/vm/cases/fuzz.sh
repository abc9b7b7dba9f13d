#!/bin/bash
# Random requests must never take the kernel down (tests/vm/progs/lc-fuzz):
# four processes send valid and malformed V4L2 requests for 40 s to the
# nodes of a split device, a combined device with exclusive_caps and a
# device that a fifth process adds and removes through the control device
# all along. run-vm fails the case on any oops, WARN, lockdep report
# (the clang kernel has PROVE_LOCKING), hung task or kmemleak report, and
# when the module cannot be unloaded afterwards. Then, with controls and
# format reset, the devices must still work: all 60 frames of a producer
# reach a reader of the split device whole and in order, and 30 of 90 a
# reader of the combined one.
#
# LC_FUZZ_SEED picks another seed (the default is fixed so that a failure
# can be run again); LC_FUZZ_SECONDS another length (whole seconds).
#
# Needs LOOPCAM_BUILD (lc-fuzz, lc-produce, lc-consume).
set -euo pipefail
# shellcheck source=tests/vm/guest-lib.sh
. "$LOOPCAM_TOP/tests/vm/guest-lib.sh"

: "${LOOPCAM_BUILD:?run through tests/vm/run-vm --build DIR}"
progs=$LOOPCAM_BUILD/tests/vm/progs
work=$LOOPCAM_RESULTS/fuzz
mkdir -p "$work"
seed=${LC_FUZZ_SEED:-1}
seconds=${LC_FUZZ_SECONDS:-40}

# Split 50 (output) / 51 (capture), combined 52 with exclusive_caps; the
# fuzzer's own device comes and goes as 55.
lc_load devices=2 video_nr=50,52 split_nodes=1,0 capture_nr=51,-1 exclusive_caps=0,1 \
	max_buffers=8 || exit 1
for d in /dev/video50 /dev/video51 /dev/video52; do
	lc_wait_dev "$d" || exit 1
done

lc_info "lc-fuzz: 4 workers, seed $seed, $seconds s; device 55 added and removed meanwhile"
rc=0
timeout $((seconds + 120)) "$progs/lc-fuzz" --node /dev/video50 --node /dev/video51 \
	--node /dev/video52 --node /dev/video55 --workers 4 --seed "$seed" \
	--seconds "$seconds" --churn /dev/v4l2loopback:55 >"$work/fuzz.log" 2>&1 || rc=$?
sed 's/^/  /' "$work/fuzz.log"
expect_eq "lc-fuzz ended, none of its processes killed or failed (exit status)" "$rc" 0
# Every worker must have run; the stream paths are counted over all of them,
# because one worker's random mix can miss a successful DQBUF in 40 s on a
# loaded host while the run as a whole still exercised it.
# shellcheck disable=SC2016 # $i is awk's
lc_check "all 4 workers sent requests, and together got qbuf, dqbuf, stream and mmap requests through" \
	awk '/^checked: worker/ { n++; for (i = 1; i <= NF; i++) { split($i, kv, "[=/]"); ok[kv[1]] += kv[2] } }
		END { exit !(n == 4 && ok["qbuf"] > 0 && ok["dqbuf"] > 0 && ok["stream"] > 0 && ok["mmap"] > 0) }' \
	"$work/fuzz.log"
lc_check "the churn process added and removed its device while the workers ran" \
	grep -Eq '^checked: churn: device 55 added [1-9][0-9]* times, removed [1-9][0-9]* times' "$work/fuzz.log"

# Whatever state the fuzzing left, the devices still carry frames once
# their controls are back at the defaults (the fuzzer sets them at random:
# a timeout, say, gives readers the placeholder) and the format is
# announced again (a reader's buffers are made for the format it finds;
# another one would never reach them). A timeout_image_io the fuzzer pressed
# takes the next frame for the placeholder: one frame is sent first for it.
# Then 60 test frames from a producer reach
# a reader of the split device, every one whole and in order; on the
# combined node (exclusive_caps: a reader can start once the producer
# streams) a reader gets 30 of 90, whole, in order.
for d in /dev/video50 /dev/video52; do
	v4l2-ctl -d "$d" -l 2>&1 | sed "s|^|  $d after fuzzing: |"
	lc_check "$d: controls back to their defaults" v4l2-ctl -d "$d" \
		--set-ctrl=keep_format=0,sustain_framerate=0,timeout=0
	# The format too: the fuzzer's last one may be 8192x8192.
	lc_check "$d: format YUYV 640x480 announced (sysfs)" \
		sh -c "echo YUYV:640x480@30 >/sys/class/video4linux/${d#/dev/}/format"
done
for d in /dev/video50 /dev/video52; do
	lc_check "$d: one frame sent (the placeholder, if the fuzzer asked for one)" \
		timeout 60 "$progs/lc-produce" -d "$d" -f YUYV -s 640x480 -n 1
done
rc=0
bg_start split timeout 60 "$progs/lc-consume" -d /dev/video51 -n 60 --expect-all --timeout-ms 10000
sleep 1
timeout 60 "$progs/lc-produce" -d /dev/video50 -i mmap -f YUYV -s 640x480 -r 60 -n 60 \
	>"$work/split-produce.log" 2>&1 || rc=$?
show "split producer" "$work/split-produce.log"
expect_eq "split: the producer sent its 60 frames" "$rc" 0
lc_check "split: a reader got all 60 frames, whole and in order" bg_wait split

rc=0
bg_start combined-producer timeout 60 "$progs/lc-produce" -d /dev/video52 -i mmap -f YUYV \
	-s 640x480 -r 30 -n 90
timeout 60 "$progs/lc-consume" -d /dev/video52 -n 30 --wait-capture-ms 10000 \
	--timeout-ms 10000 >"$work/combined-consume.log" 2>&1 || rc=$?
show "combined reader" "$work/combined-consume.log"
expect_eq "combined: a reader got 30 frames, whole and in order (exit status)" "$rc" 0
lc_check "combined: the producer sent its 90 frames" bg_wait combined-producer
lc_unload
