# shellcheck shell=bash
# Shared helpers for loopcam's set-up, test and benchmark scripts.
# Sourced, never run: it defines paths and small functions only.

LOOPCAM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Caches live outside the checkout so a fresh clone reuses them; keyed by
# version below this root.
LOOPCAM_CACHE=${LOOPCAM_CACHE:-/var/cache/loopcam}

log() { printf '[loopcam] %s\n' "$*" >&2; }
die() { printf '[loopcam] error: %s\n' "$*" >&2; exit 1; }

# The installed Debian 6.1 kernel release (highest if several), e.g. 6.1.0-56-amd64.
debian_kernel_release() {
	local series=${1:-6.1}
	# shellcheck disable=SC2012
	ls -1 /lib/modules 2>/dev/null | grep -E "^${series//./\\.}\.[0-9]+-[0-9]+-amd64$" |
		sort -V | tail -n 1
}

# Directory of the cached clang/ThinLTO kernel build (see tests/vm/build-clang-kernel).
clang_kernel_dir() {
	local srcver cfgsum
	srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) || return 1
	cfgsum=$(cat "$LOOPCAM_TOP/tests/vm/clang-kernel.config" \
		"$LOOPCAM_TOP/tests/vm/build-clang-kernel" | sha256sum | cut -c1-12)
	printf '%s/kernels/clang-%s-%s\n' "$LOOPCAM_CACHE" "$srcver" "$cfgsum"
}
