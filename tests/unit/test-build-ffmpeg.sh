#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host test of ffmpeg-output/build-ffmpeg without building FFmpeg: --help,
# version and line detection from fake FFmpeg trees and tarballs (RELEASE,
# VERSION, libavformat/version_major.h or version.h), the refusals with
# their messages, and that each line's patches carry that line's muxer type.
# No network, no cache. TAP output.
#
# usage: test-build-ffmpeg.sh BUILD_FFMPEG
set -u

BF=$1
PATCHES=$(dirname "$BF")/patches
TMP=$(mktemp -d /tmp/lc-test-build-ffmpeg.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# Nothing here may touch the real cache.
export LOOPCAM_CACHE=$TMP/cache
n=0 failed=0

ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		[ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/# /'
	fi
}

# tree DIR RELEASE LAVF_MAJOR [HEADER]: a fake FFmpeg source tree.
tree() {
	mkdir -p "$1/libavformat" "$1/libavdevice"
	: >"$1/configure"
	[ -z "$2" ] || echo "$2" >"$1/RELEASE"
	printf '#define LIBAVFORMAT_VERSION_MAJOR  %s\n' "$3" >"$1/libavformat/${4:-version_major.h}"
}

# detect NAME SOURCE WANT: --detect prints WANT ("VERSION LINE").
detect() {
	local out rc
	out=$("$BF" --detect "$2" 2>&1)
	rc=$?
	[ "$rc" = 0 ] && [ "$out" = "$3" ]
	ok $? "$1: --detect says '$3'" "exit $rc: $out"
}

# refuse NAME PATTERN ARGS...: build-ffmpeg fails saying PATTERN (grep -E).
refuse() {
	local name=$1 pat=$2 out rc
	shift 2
	out=$("$BF" "$@" 2>&1)
	rc=$?
	[ "$rc" != 0 ] && grep -Eq "$pat" <<<"$out"
	ok $? "$name: fails saying /$pat/" "exit $rc: $out"
}

out=$("$BF" --help 2>&1)
rc=$?
[ "$rc" = 0 ] && grep -q -- '--source PATH' <<<"$out" && grep -q -- '--config' <<<"$out"
ok $? "--help exits 0 and lists the options" "exit $rc: $out"

tree "$TMP/t51" 5.1.9 59
detect "5.1.9 tree" "$TMP/t51" "5.1.9 5.1"
tree "$TMP/t50" 5.0.3 59 version.h
detect "5.0 tree (version.h only)" "$TMP/t50" "5.0.3 5.1"
tree "$TMP/t60" 6.0 60
detect "6.0 tree" "$TMP/t60" "6.0 9.0"
tree "$TMP/t90" 9.0.2 63
detect "9.0.2 tree" "$TMP/t90" "9.0.2 9.0"
tree "$TMP/tgit" '' 62
detect "git tree without RELEASE" "$TMP/tgit" "lavf62 9.0"
tree "$TMP/tver" '' 61
echo 7.1.5 >"$TMP/tver/VERSION"
detect "tree with VERSION only" "$TMP/tver" "7.1.5 9.0"

mkdir -p "$TMP/tar/ffmpeg-7.1.5"
tree "$TMP/tar/ffmpeg-7.1.5" 7.1.5 61
tar -cJf "$TMP/ffmpeg-7.1.5.tar.xz" -C "$TMP/tar" ffmpeg-7.1.5
detect "7.1.5 tarball" "$TMP/ffmpeg-7.1.5.tar.xz" "7.1.5 9.0"

tree "$TMP/t44" 4.4.4 58
refuse "FFmpeg 4.4" 'older than 5\.0' --detect "$TMP/t44"
refuse "missing source" 'does not exist' --detect "$TMP/nothing"
mkdir -p "$TMP/empty"
refuse "not an FFmpeg tree" 'not an FFmpeg source tree' --detect "$TMP/empty"
echo hello | xz >"$TMP/junk.tar.xz"
refuse "not an FFmpeg tarball" 'not an FFmpeg source tarball' --detect "$TMP/junk.tar.xz"
refuse "unknown line" "no FFmpeg line '7\.0'.*known lines are 5\.1 9\.0" --line 7.0 "$TMP/out"
refuse "line/source mismatch" 'takes the 9\.0 patches, not --line 5\.1' --line 5.1 --source "$TMP/t90" "$TMP/out"
refuse "bad --config" "must be 'tests' or 'full'" --config small --line 9.0 "$TMP/out"
refuse "missing device source" 'LOOPCAM_FFMPEG_MUXER_SRC.*does not exist' \
	--muxer-source "$TMP/nothing.c" --source "$TMP/t90" "$TMP/out"

# Each line's alldevices.c hunk declares the muxer with that line's type.
grep -q '^+extern const AVOutputFormat ff_loopback_muxer;' "$PATCHES"/5.1/*.patch
ok $? "5.1 patches declare 'extern const AVOutputFormat ff_loopback_muxer'"
grep -q '^+extern const FFOutputFormat ff_loopback_muxer;' "$PATCHES"/9.0/*.patch
ok $? "9.0 patches declare 'extern const FFOutputFormat ff_loopback_muxer'"
for l in 5.1 9.0; do
	# shellcheck disable=SC2016 # a literal $(CONFIG_...) is searched for
	grep -q '^+OBJS-$(CONFIG_LOOPBACK_OUTDEV) *+= loopback.o$' "$PATCHES/$l"/*.patch &&
		grep -q '^+loopback_outdev_deps=' "$PATCHES/$l"/*.patch
	ok $? "$l patches add loopback.o to libavdevice/Makefile and loopback_outdev_deps to configure"
done

echo "1..$n"
[ "$failed" = 0 ]
