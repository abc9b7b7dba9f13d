# shellcheck shell=bash
# Helpers for VM test cases (tests/vm/cases/*.sh), which run inside the guest
# as root via tests/vm/run-vm. Source it first thing:
#
#   . "$LOOPCAM_TOP/tests/vm/guest-lib.sh"
#
# Checks print one line each, "PASS: what" or "FAIL: what", and are counted;
# when the script exits a summary line "N passed, N failed" follows and the
# exit status is non-zero if any check failed, even if the script itself ended
# with status 0. A failing check returns non-zero, so under `set -e` the script
# stops at the first failure; append `|| true` to go on regardless.
#
#   lc_load [PARAM=VALUE...]   insmod $LOOPCAM_MODULE with these parameters
#   lc_unload                  rmmod it
#   lc_loaded                  true while it is loaded
#   lc_wait_dev DEV [SECS]     wait (default 10 s) for a char device node
#   lc_check "what" CMD...     run CMD; PASS if it succeeds, FAIL otherwise
#   lc_check_not "what" CMD... the reverse: PASS if CMD fails
#   lc_pass "what" / lc_fail "what"   record a result decided by the script
#   lc_skip "why"              stop here, reporting the test as skipped (77)
#   lc_info "text"             a note in the log
#
# The module is never loaded by the harness; after the script guest-init
# unloads it if still loaded (failing the run if that fails) and checks
# kmemleak.

: "${LOOPCAM_MODULE:?guest-lib.sh runs inside the VM (tests/vm/run-vm)}"
LC_MODULE_NAME=$(basename "$LOOPCAM_MODULE" .ko)
LC_MODULE_NAME=${LC_MODULE_NAME//-/_}
lc_passed=0
lc_failed=0

lc_info() { printf 'INFO: %s\n' "$*"; }

lc_pass() {
	lc_passed=$((lc_passed + 1))
	printf 'PASS: %s\n' "$*"
}

lc_fail() {
	lc_failed=$((lc_failed + 1))
	printf 'FAIL: %s\n' "$*"
	return 1
}

lc_skip() {
	printf 'SKIP: %s\n' "$*"
	lc_skipped=1
	exit 77
}

lc_check() {
	local what=$1 rc=0
	shift
	"$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		lc_pass "$what"
	else
		lc_fail "$what (exit $rc: $*)"
	fi
}

lc_check_not() {
	local what=$1 rc=0
	shift
	"$@" || rc=$?
	if [ "$rc" -ne 0 ]; then
		lc_pass "$what (exit $rc as expected)"
	else
		lc_fail "$what (succeeded, expected failure: $*)"
	fi
}

lc_loaded() { grep -q "^$LC_MODULE_NAME " /proc/modules; }

# The latest kernel messages, to show why a load or unload failed.
lc__dmesg_tail() { dmesg | tail -n 20 | sed 's/^/  dmesg: /'; }

lc_load() {
	[ -f "$LOOPCAM_MODULE" ] || {
		lc_fail "load $LOOPCAM_MODULE: file missing"
		return 1
	}
	if lc_loaded; then
		lc_fail "load $LC_MODULE_NAME: already loaded"
		return 1
	fi
	if insmod "$LOOPCAM_MODULE" "$@"; then
		lc_pass "load $LC_MODULE_NAME${*:+ with $*}"
	else
		lc__dmesg_tail
		lc_fail "load $LC_MODULE_NAME${*:+ with $*}: insmod failed"
	fi
}

lc_unload() {
	if ! lc_loaded; then
		lc_fail "unload $LC_MODULE_NAME: not loaded"
		return 1
	fi
	if rmmod "$LC_MODULE_NAME"; then
		lc_pass "unload $LC_MODULE_NAME"
	else
		grep "^$LC_MODULE_NAME " /proc/modules | sed 's/^/  \/proc\/modules: /'
		lc__dmesg_tail
		lc_fail "unload $LC_MODULE_NAME: rmmod failed"
	fi
}

lc_wait_dev() {
	local dev=$1 secs=${2:-10} waited=0
	# devtmpfs creates the node as the driver registers it: a short poll.
	while [ ! -c "$dev" ]; do
		if [ "$waited" -ge $((secs * 10)) ]; then
			lc_fail "device $dev appears within ${secs}s"
			return 1
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	lc_pass "device $dev appears"
}

# check WHAT CMD...: lc_check that lets a set -e script go on after a failure.
check() { lc_check "$@" || true; }

# show PREFIX FILE: the lines of FILE, indented and prefixed.
show() { local l; while IFS= read -r l; do printf '  %s: %s\n' "$1" "$l"; done <"$2"; }

# lacks REGEX FILE: true when no line of FILE matches REGEX (prints those that do).
lacks() { ! grep -n -E "$1" "$2"; }

uptime_s() { local u _; read -r u _ </proc/uptime; printf '%s' "$u"; }

# announce NODE FOURCC:WxH@FPS: the format readers see before a producer sets one.
announce() { echo "$2" >"/sys/class/video4linux/${1#/dev/}/format"; }

# load_result NAME FILE: the last "result=... key=value" line of FILE into
# the associative array NAME (NAME[line] holds the whole line).
load_result() {
	local -n _res=$1
	local l line=
	_res=()
	if [ -r "$2" ]; then
		while IFS= read -r l; do [[ $l != result=* ]] || line=$l; done <"$2"
	fi
	for l in $line; do _res[${l%%=*}]=${l#*=}; done
	_res[line]=$line
}

# expect NAME key=value...: true if array NAME has all these values; prints
# the ones it does not have.
expect() {
	local -n _exp=$1
	local kv k bad=
	shift
	for kv; do
		k=${kv%%=*}
		[ "${_exp[$k]-<none>}" = "${kv#*=}" ] ||
			bad+=" $k=${_exp[$k]-<none>} (expected ${kv#*=})"
	done
	[ -z "$bad" ] || printf '  mismatch:%s\n' "$bad"
	[ -z "$bad" ]
}

# Polling uses shell builtins only: under TCG every fork and exec (cat,
# sleep) costs milliseconds of the guest's two CPUs, enough to delay the
# producers and readers a case measures.
# lc_nap SECS: sleep without a process.
exec {LC_NAP_FD}<> <(:)
lc_nap() { read -rt "$1" -u "$LC_NAP_FD" || :; }

# lc_until SECS CMD...: runs CMD every 0.1 s until it succeeds (0) or SECS
# (whole seconds) have passed (1).
lc_until() {
	local now=${EPOCHREALTIME/./} end
	end=$((now + $1 * 1000000))
	shift
	until "$@"; do
		now=${EPOCHREALTIME/./}
		[ "$now" -lt "$end" ] || return 1
		lc_nap 0.1
	done
}

# lc__sysread VAR NODE ATTR: VAR (a local of the caller, set empty) gets a
# sysfs attribute of /dev/videoN or videoN, without a subshell.
lc__sysread() { read -r "$1" 2>/dev/null <"/sys/class/video4linux/${2#/dev/}/$3" || :; }

# lc_sysattr NODE ATTR: prints a sysfs attribute of /dev/videoN or videoN
# (empty if none).
lc_sysattr() {
	local v=
	lc__sysread v "$1" "$2"
	printf '%s' "$v"
}

# lc_gone DEV: true once the node has disappeared (devtmpfs removes it on
# unregister), false if it is still there after 5 s.
lc_gone() { lc_until 5 test ! -e "$1"; }

# Helpers for cases that run programs in the background and compare
# values exactly. Background output goes to $LOGS/NAME.log.
LOGS=/tmp/lc-logs
mkdir -p "$LOGS"
declare -A bg_pids=()

# bg_start NAME CMD...: run CMD in the background, output in $LOGS/NAME.log.
bg_start() {
	local name=$1
	shift
	"$@" >"$LOGS/$name.log" 2>&1 &
	bg_pids[$name]=$!
}

# bg_wait NAME: wait for it, show its output; its exit status.
bg_wait() {
	local rc=0
	wait "${bg_pids[$1]}" || rc=$?
	sed "s/^/  [$1] /" "$LOGS/$1.log"
	return "$rc"
}

# expect_eq WHAT ACTUAL EXPECTED: exact comparison, both values in the log.
expect_eq() {
	if [ "$2" = "$3" ]; then
		lc_pass "$1: '$3'"
	else
		lc_fail "$1: got '$2', expected '$3'"
	fi
}

# kv KEY < lc-probe output: the value of KEY=...
kv() { sed -n "s/^$1=//p" | head -n 1; }

# wait_readers DEV N [SECS]: until sysfs says at least N readers stream on
# DEV (/dev/videoN or videoN).
lc__readers_ge() {
	local n=
	lc__sysread n "$1" readers
	[ "${n:-0}" -ge "$2" ]
}
wait_readers() {
	lc_until "${3:-10}" lc__readers_ge "$1" "$2" && return 0
	lc_info "$1: readers is $(lc_sysattr "$1" readers), waited for $2"
	return 1
}

# wait_format NODE [WANT]: until NODE's sysfs format is WANT (with no WANT:
# any format, as a producer sets one), 20 s at most.
lc__format_is() {
	local f=
	lc__sysread f "$1" format
	if [ $# -gt 1 ]; then [ "$f" = "$2" ]; else [ -n "$f" ]; fi
}
wait_format() { lc_until 20 lc__format_is "$@"; }

# wait_state DEV STATE: until sysfs state is STATE (capture = a producer streams).
lc__state_is() {
	local v=
	lc__sysread v "$1" state
	[ "$v" = "$2" ]
}
wait_state() {
	lc_until 10 lc__state_is "$1" "$2" && return 0
	lc_info "$1: state is $(lc_sysattr "$1" state), waited for $2"
	return 1
}

lc__summary() {
	local rc=$?
	[ -z "${lc_skipped:-}" ] || return 0
	echo "$lc_passed passed, $lc_failed failed"
	if [ "$lc_failed" -gt 0 ] && [ "$rc" -eq 0 ]; then
		rc=1
	fi
	exit "$rc"
}
trap lc__summary EXIT
