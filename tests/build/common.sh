# shellcheck shell=bash
# Shared by the tests in tests/build (sourced, never run).  Each test prints
# one PASS/FAIL line per thing it checked and exits non-zero on any FAIL.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
# Compiler messages with ASCII quotes, as the checks expect.  LANG too: the
# kernel's Makefile unexports LC_ALL, so gcc would fall back to LANG.
export LC_ALL=C LANG=C
unset LANGUAGE LC_CTYPE LC_MESSAGES

# The module sources under test.  LOOPCAM_KMOD may point at another Kbuild
# tree (e.g. a hello-world module) to exercise the tests themselves.
KMOD_SRC=${LOOPCAM_KMOD:-$LOOPCAM_TOP/kmod}
BUILD_USER=loopcam-build

failures=0
pass() { printf 'PASS: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
# check WHAT CMD...: PASS/FAIL on CMD's status.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
	if [ "$failures" -eq 0 ]; then
		echo "all checks passed"
		exit 0
	fi
	echo "$failures check(s) failed"
	exit 1
}
# Stop right away: the remaining checks would only repeat this failure.
abort() {
	fail "$*"
	finish
}

[ "$(id -u)" -eq 0 ] || abort "tests/build needs root (unprivileged user, mounts, dkms)"

TMP=$(mktemp -d /tmp/loopcam-build-test.XXXXXX)
chmod 755 "$TMP"
trap 'rm -rf "$TMP"' EXIT

# need_kernel NAME: resolve a test kernel (KREL, KBUILD, ...) or fail.  A
# kernel named in -Dkernels must exist: CI installs them all, so a missing one
# is an error, not a skip.
need_kernel() {
	KNAME=$1
	kernel_resolve "$KNAME" ||
		abort "kernel $KNAME is not available (scripts/setup installs the Debian ones," \
			"tests/vm/build-clang-kernel builds clang-6.1; or drop it with -Dkernels=...)"
	KCONFIG=$KBUILD/include/config/auto.conf
	[ -e "$KCONFIG" ] || KCONFIG=$KBUILD/.config
	# What the kernel itself was built with: clang major or "gcc".
	if grep -q '^CONFIG_CC_IS_CLANG=y' "$KCONFIG"; then
		KCLANG=$(($(sed -n 's/^CONFIG_CLANG_VERSION=//p' "$KCONFIG") / 10000))
		KCOMP="clang $KCLANG"
	else
		KCLANG=
		KCOMP=gcc
	fi
	echo "kernel $KNAME: release $KREL, build dir $KBUILD, compiler $KCOMP"
}

# copy_kmod DEST: the module's source files (no build products) into DEST.
copy_kmod() {
	mkdir -p "$1"
	rsync -rlp --include='*/' --include='*.[ch]' --include=Kbuild --include=Makefile \
		--include=dkms.conf --exclude='*' "$KMOD_SRC/" "$1/"
}

# run LOG CMD...: run CMD, output to LOG and (indented) to stdout; CMD's status.
run() {
	local log=$1 rc=0
	shift
	echo "\$ $*"
	"$@" >"$log" 2>&1 || rc=$?
	# Kbuild's V=1 compiler lines run to kilobytes: shorten them here.
	awk '{ print "    " (length($0) > 300 ? substr($0, 1, 300) " [...]" : $0) }' "$log"
	return "$rc"
}

# kernel_dirs: every directory a module build reads from KBUILD (Debian
# splits it over linux-headers-*-{amd64,common} and linux-kbuild-*).
kernel_dirs() {
	local d
	{
		readlink -f "$KBUILD"
		[ ! -e "$KBUILD/source" ] || readlink -f "$KBUILD/source"
		for d in scripts tools; do
			[ ! -e "$KBUILD/$d" ] || dirname "$(readlink -f "$KBUILD/$d")"
		done
		sed -n 's/^include[[:space:]]\+//p' "$KBUILD/Makefile" | xargs -r -n1 dirname
	} | sort -u | awk 'NR == 1 || index($0, prev "/") != 1 { print; prev = $0 }'
}

# snapshot DIR...: listing with type, size, mode and mtime of everything.
snapshot() {
	find "$@" -printf '%p %y %s %m %T@\n' | sort
}

# lacks REGEX FILE: FILE has no line matching the extended REGEX.
lacks() { ! grep -qE -- "$1" "$2"; }

# same_tree WHAT BEFORE AFTER: PASS if two snapshots match, else show diff.
same_tree() {
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1; differences (< before, > after):"
		diff "$2" "$3" | head -n 20 | sed 's/^/    /' || true
	fi
}

# vermagic_ok KO: the module's vermagic names the kernel release.
vermagic_ok() {
	local vm
	vm=$(modinfo -F vermagic "$1")
	echo "    vermagic: $vm"
	[ "${vm%% *}" = "$KREL" ]
}

# compiler_ok KO: .comment shows the kernel's compiler (and only it).
compiler_ok() {
	local c
	c=$(readelf -p .comment "$1" | sed -n 's/^ *\[ *[0-9a-f]*\] *//p' | sort -u)
	sed 's/^/    .comment: /' <<<"$c"
	if [ -n "$KCLANG" ]; then
		grep -q "clang version $KCLANG\." <<<"$c" && ! grep -q '^GCC:' <<<"$c"
	else
		grep -q '^GCC:' <<<"$c" && ! grep -q 'clang version' <<<"$c"
	fi
}

# module_ok KO: an x86-64 relocatable ELF with the sections insmod needs.
# (Output captured first: "readelf | grep -q" dies of SIGPIPE under pipefail.)
module_ok() {
	local h s
	h=$(readelf -h "$1") && s=$(readelf -SW "$1") || return 1
	grep -q 'Type:[[:space:]]*REL' <<<"$h" &&
		grep -q 'Machine:[[:space:]]*Advanced Micro Devices X86-64' <<<"$h" &&
		grep -q '\.gnu\.linkonce\.this_module' <<<"$s" &&
		[ "$(modinfo -F name "$1")" = v4l2loopback ]
}

# toolchain_line LOG: the Makefile's one-line toolchain report.
toolchain_line() {
	grep -m1 '^loopcam: kernel .* was built with ' "$1" || true
}

# The unprivileged user that runs "read-only" builds (root ignores
# permissions, so only another user shows what a read-only tree does).
ensure_build_user() {
	(
		flock 9
		id "$BUILD_USER" >/dev/null 2>&1 ||
			useradd --system --no-create-home --shell /usr/sbin/nologin "$BUILD_USER"
	) 9>/run/lock/loopcam-build-user.lock
}
