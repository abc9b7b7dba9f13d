# shellcheck shell=bash
# Shared helpers for loopcam's set-up, test and benchmark scripts.
# Sourced, never run: it defines paths and small functions only.

LOOPCAM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Caches live outside the checkout so a fresh clone reuses them; keyed by
# version below this root.
LOOPCAM_CACHE=${LOOPCAM_CACHE:-/var/cache/loopcam}

log() { printf '[loopcam] %s\n' "$*" >&2; }
die() { printf '[loopcam] error: %s\n' "$*" >&2; exit 1; }

# The installed Debian kernel release of a series (highest if several), e.g.
# 6.1.0-56-amd64 or 6.12.117+deb12-amd64. Only the generic amd64 flavour:
# -rt-amd64 and -cloud-amd64 kernels are other configurations.
debian_kernel_release() {
	local series=${1:-6.1} dir
	for dir in /lib/modules/*; do
		printf '%s\n' "${dir##*/}"
	done | grep -E "^${series//./\\.}(\.[0-9]+)?[-+][^-]+-amd64$" | sort -V | tail -n 1
}

# Directory of the cached clang/ThinLTO kernel build (see tests/vm/build-clang-kernel).
clang_kernel_dir() {
	local srcver cfgsum
	srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) || return 1
	cfgsum=$(cat "$LOOPCAM_TOP/tests/vm/clang-kernel.config" \
		"$LOOPCAM_TOP/tests/vm/build-clang-kernel" | sha256sum | cut -c1-12)
	printf '%s/kernels/clang-%s-%s\n' "$LOOPCAM_CACHE" "$srcver" "$cfgsum"
}

# The test kernels, by name. kernel_resolve NAME sets:
#   KREL    kernel release (uname -r of the guest)
#   KIMAGE  bootable image
#   KBUILD  build directory for out-of-tree modules (make -C $KBUILD M=...)
#   KMODDIR modules directory of that kernel, empty when all needed is built in
# and returns 1 when that kernel is not installed/built yet.
LOOPCAM_KERNELS="debian-6.1 clang-6.1 debian-6.12"
# shellcheck disable=SC2034 # KREL & co. are results for the caller
kernel_resolve() {
	KREL='' KIMAGE='' KBUILD='' KMODDIR=''
	case "$1" in
	debian-6.1 | debian-6.12)
		KREL=$(debian_kernel_release "${1#debian-}")
		[ -n "$KREL" ] || return 1
		KIMAGE=/boot/vmlinuz-$KREL
		KBUILD=/lib/modules/$KREL/build
		KMODDIR=/lib/modules/$KREL
		;;
	clang-6.1)
		local dir
		dir=$(clang_kernel_dir) || return 1
		[ -e "$dir/.complete" ] || return 1
		KREL=$(cat "$dir/build/include/config/kernel.release")
		KIMAGE=$dir/build/arch/x86/boot/bzImage
		KBUILD=$dir/build
		KMODDIR=
		;;
	*) die "unknown kernel '$1' (known: $LOOPCAM_KERNELS)" ;;
	esac
	[ -e "$KIMAGE" ] && [ -e "$KBUILD/Makefile" ]
}

# Directory of the newest completed v4l-utils in the cache (see
# tests/vm/build-v4l-utils and docs/v4l-utils.md), e.g.
# /var/cache/loopcam/v4l-utils-sid-1.32.0-5. Its bin/v4l2-compliance and
# bin/v4l2-ctl are wrappers that run Debian sid's binaries with sid's own
# loader and libraries from root/. Returns 1 when none is cached yet.
# Needs no network.
v4l_utils_dir() {
	local dir
	# shellcheck disable=SC2012
	dir=$(ls -1d "$LOOPCAM_CACHE"/v4l-utils-sid-*/.complete 2>/dev/null | sed 's,/\.complete$,,' |
		sort -V | tail -n 1)
	[ -n "$dir" ] || return 1
	printf '%s\n' "$dir"
}

# --- Debian sid binary packages ---------------------------------------------
# sid_apt ARGS...        apt-get      with a private Debian sid configuration
# sid_apt_cache ARGS...  apt-cache    with the same configuration
# sid_apt_update         apt-get update with it; returns 1 (after apt's own
#                        messages) when the sid index could not be fetched
#
# The configuration lives in $LOOPCAM_CACHE/apt-sid/: a sources.list with the
# single line
#   deb [arch=<native> signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
# its own lists/ and cache/, and an empty dpkg status file. The machine's own
# apt sources, lists, pins and dpkg status are neither read nor changed. It
# is for fetching sid's binary packages, never for installing them: sid_apt
# refuses install/upgrade/remove-like commands unless --download-only,
# --simulate or --print-uris is given, and dpkg is replaced by /bin/false
# besides. Sid's *source* packages are not usable (the project's mirror gives
# 404 for them). Run sid_apt_update once (network), then e.g.:
#   sid_apt_cache policy v4l2loopback-dkms       # which version sid has
#   (cd "$dir" && sid_apt download v4l2loopback-dkms=0.15.4-2)
# apt-get download checks the file against the signed sid index; unpack with
# dpkg-deb -x. Once sid_apt_update has run, queries and downloads of cached
# .debs need no further update. Needs root (apt's sandbox user is root here).
LOOPCAM_SID_APT=$LOOPCAM_CACHE/apt-sid
sid_apt_opts() {
	local d=$LOOPCAM_SID_APT arch
	arch=$(dpkg --print-architecture)
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	local line="deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main"
	if [ "$(tail -n 1 "$d/sources.list" 2>/dev/null)" != "$line" ]; then
		printf '%s\n' "# Written by loopcam scripts/lib.sh (sid_apt): Debian sid binary packages." \
			"$line" >"$d/sources.list"
	fi
	[ -e "$d/status" ] || : >"$d/status"
	SID_APT_OPTS=(
		-o Dir::Etc::SourceList="$d/sources.list"
		-o Dir::Etc::SourceParts=/dev/null
		-o Dir::Etc::Preferences=/dev/null
		-o Dir::Etc::PreferencesParts=/dev/null
		-o Dir::State::Lists="$d/lists"
		-o Dir::State::status="$d/status"
		-o Dir::State::extended_states="$d/extended_states"
		-o Dir::Cache="$d/cache"
		-o Dir::Cache::pkgcache=pkgcache.bin
		-o Dir::Cache::srcpkgcache=
		-o Dir::Bin::dpkg=/bin/false
		-o APT::Architecture="$arch"
		-o APT::Architectures="$arch"
		-o APT::Sandbox::User=root
		-o Acquire::Languages=none
	)
}
sid_apt() {
	local SID_APT_OPTS arg cmd='' safe=0
	for arg in "$@"; do
		case "$arg" in
		-d | --download-only | -s | --simulate | --dry-run | --just-print | --no-act | --recon | --print-uris) safe=1 ;;
		install | reinstall | remove | purge | upgrade | dist-upgrade | full-upgrade | dselect-upgrade | \
			build-dep | satisfy | autoremove | autopurge) cmd=$arg ;;
		esac
	done
	if [ -n "$cmd" ] && [ "$safe" = 0 ]; then
		log "error: sid_apt $cmd would change this machine: only update, download, source, changelog, or $cmd --download-only/--simulate"
		return 2
	fi
	sid_apt_opts
	apt-get "${SID_APT_OPTS[@]}" "$@"
}
sid_apt_cache() {
	local SID_APT_OPTS
	sid_apt_opts
	apt-cache "${SID_APT_OPTS[@]}" "$@"
}
sid_apt_update() {
	local out rc=0
	# apt-get update exits 0 even when an index could not be fetched: look
	# for its warnings too.
	out=$(sid_apt -q update 2>&1) || rc=$?
	printf '%s\n' "$out" >&2
	[ "$rc" = 0 ] || return 1
	! grep -Eq '^(E:|W: (Failed to fetch|Some index files failed))' <<<"$out"
}

# Configure the meson build directory DIR for the checkout (again when the
# meson files changed; meson itself notices that on the next build).
meson_setup() {
	local dir=$1
	if [ -f "$dir/build.ninja" ]; then
		return 0
	fi
	meson setup "$dir" "$LOOPCAM_TOP" >/dev/null ||
		die "meson setup $dir failed (see $dir/meson-logs/meson-log.txt)"
}
