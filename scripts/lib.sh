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

# private_apt_opts DIR NAME LINE...: sets PRIVATE_APT_OPTS, the apt options
# of a private configuration in DIR whose sources.list holds the LINEs
# (written by NAME). Neither the machine's sources, lists and pins nor its
# dpkg status are read or changed, and dpkg itself is /bin/false.
private_apt_opts() {
	local d=$1 name=$2 arch want
	shift 2
	arch=$(dpkg --print-architecture)
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	want=$(printf '%s\n' "# Written by loopcam scripts/lib.sh ($name)." "$@")
	if [ "$(cat "$d/sources.list" 2>/dev/null)" != "$want" ]; then
		printf '%s\n' "$want" >"$d/sources.list"
	fi
	[ -e "$d/status" ] || : >"$d/status"
	PRIVATE_APT_OPTS=(
		-o Dir::Etc::SourceList="$d/sources.list"
		-o Dir::Etc::SourceParts=/dev/null
		-o Dir::Etc::Preferences=/dev/null
		-o Dir::Etc::PreferencesParts=/dev/null
		-o Dir::State::Lists="$d/lists"
		-o Dir::State::status="$d/status"
		-o Dir::State::extended_states="$d/extended_states"
		-o Dir::Cache="$d/cache"
		-o Dir::Cache::srcpkgcache=
		-o Dir::Bin::dpkg=/bin/false
		-o APT::Architecture="$arch"
		-o APT::Architectures="$arch"
		-o APT::Sandbox::User=root
		-o Acquire::Languages=none
	)
}

# private_apt_refuse NAME GUARDED ARGS...: returns 2 (saying why) when the
# apt-get command in ARGS is one of GUARDED (space-separated) or installs,
# without --download-only, --simulate or --print-uris.
private_apt_refuse() {
	local name=$1 guarded=" $2 " arg cmd='' safe=0
	shift 2
	for arg in "$@"; do
		case "$arg" in
		-d | --download-only | -s | --simulate | --dry-run | --just-print | --no-act | --recon | --print-uris) safe=1 ;;
		install | reinstall | remove | purge | upgrade | dist-upgrade | full-upgrade | dselect-upgrade | \
			build-dep | satisfy | autoremove | autopurge) cmd=$arg ;;
		*) [[ "$guarded" != *" $arg "* ]] || cmd=$arg ;;
		esac
	done
	if [ -n "$cmd" ] && [ "$safe" = 0 ]; then
		log "error: $name $cmd would change this machine: only fetch, or $cmd --download-only/--simulate"
		return 2
	fi
}

# private_apt_update FUNC: FUNC -q update; 1 (after apt's own messages) when
# an index could not be fetched, which apt-get update does not say by its
# exit status.
private_apt_update() {
	local out rc=0
	out=$("$1" -q update 2>&1) || rc=$?
	printf '%s\n' "$out" >&2
	[ "$rc" = 0 ] || return 1
	! grep -Eq '^(E:|W: (Failed to fetch|Some index files failed))' <<<"$out"
}

sid_apt_opts() {
	private_apt_opts "$LOOPCAM_SID_APT" sid_apt "# Debian sid binary packages." \
		"deb [arch=$(dpkg --print-architecture) signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main"
	SID_APT_OPTS=("${PRIVATE_APT_OPTS[@]}" -o Dir::Cache::pkgcache=pkgcache.bin)
}
sid_apt() {
	local PRIVATE_APT_OPTS SID_APT_OPTS
	private_apt_refuse sid_apt '' "$@" || return
	sid_apt_opts
	apt-get "${SID_APT_OPTS[@]}" "$@"
}
sid_apt_cache() {
	local PRIVATE_APT_OPTS SID_APT_OPTS
	sid_apt_opts
	apt-cache "${SID_APT_OPTS[@]}" "$@"
}
sid_apt_update() { private_apt_update sid_apt; }

# Configure the meson build directory DIR for the checkout (again when the
# meson files changed; meson itself notices that on the next build).
# -Dffmpeg_config=tests: the ffmpeg-output builds then hold only what the
# tests and benchmark use, minutes faster on a machine without caches. A
# directory set up before that option existed gets it too; a value chosen
# since (meson configure -Dffmpeg_config=full) is kept.
meson_setup() {
	local dir=$1
	if [ -f "$dir/build.ninja" ]; then
		if ! grep -q '"name": "ffmpeg_config"' "$dir/meson-info/intro-buildoptions.json" 2>/dev/null; then
			meson setup --reconfigure "$dir" "$LOOPCAM_TOP" -Dffmpeg_config=tests >/dev/null ||
				die "meson setup --reconfigure $dir failed (see $dir/meson-logs/meson-log.txt)"
		fi
		return 0
	fi
	meson setup "$dir" "$LOOPCAM_TOP" -Dffmpeg_config=tests >/dev/null ||
		die "meson setup $dir failed (see $dir/meson-logs/meson-log.txt)"
}

# --- Debian source packages (deb-src) of bookworm and sid -------------------
# src_apt ARGS...        apt-get      with a private deb-src configuration
# src_apt_cache ARGS...  apt-cache    with the same configuration
# src_apt_update         apt-get update with it; returns 1 (after apt's own
#                        messages) when an index could not be fetched
#
# Like sid_apt above, but for *source* packages of bookworm and sid (e.g.
# ffmpeg-output/build-ffmpeg fetches FFmpeg's orig tarballs with it). The
# configuration lives in $LOOPCAM_CACHE/apt-src/: a sources.list with
#   deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
#   deb-src [signed-by=...same...] http://deb.debian.org/debian sid main
# and its own lists/, cache/ and empty dpkg status; the machine's own apt
# sources, lists and status are neither read nor changed. Only downloads:
# src_apt refuses `source` without --download-only (unpacking runs
# dpkg-source, whose results nothing here wants) and anything that installs.
# On this mirror sid's .dsc and .debian.tar.xz give 404 while the
# .orig.tar.xz downloads (hash-checked against the signed index), so
# `src_apt source --download-only` can fail and still leave the orig
# tarball: check for the file, not the exit status. Needs root.
LOOPCAM_SRC_APT=$LOOPCAM_CACHE/apt-src
src_apt_opts() {
	local key=/usr/share/keyrings/debian-archive-keyring.gpg
	private_apt_opts "$LOOPCAM_SRC_APT" src_apt "# Debian source packages." \
		"deb-src [signed-by=$key] http://deb.debian.org/debian bookworm main" \
		"deb-src [signed-by=$key] http://deb.debian.org/debian sid main"
	SRC_APT_OPTS=("${PRIVATE_APT_OPTS[@]}" -o Dir::Cache::pkgcache=
		-o Acquire::IndexTargets::deb::Packages::DefaultEnabled=false)
}
src_apt() {
	local PRIVATE_APT_OPTS SRC_APT_OPTS
	private_apt_refuse src_apt source "$@" || return
	src_apt_opts
	apt-get "${SRC_APT_OPTS[@]}" "$@"
}
src_apt_cache() {
	local PRIVATE_APT_OPTS SRC_APT_OPTS
	src_apt_opts
	apt-cache "${SRC_APT_OPTS[@]}" "$@"
}
src_apt_update() { private_apt_update src_apt; }
