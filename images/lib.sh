# shellcheck shell=bash
# shellcheck disable=SC2034 # settings used by the scripts that source this file
# Shared helpers for the local base images (sourced by images/build.sh).
# Builds Debian trixie root filesystems with debootstrap from the mirror this machine's apt already uses.

AF_SUITE=${AUTHFLOW_IMAGE_SUITE:-trixie}
AF_WORK_ROOT=${AUTHFLOW_IMAGE_WORKDIR:-/var/tmp/authflow}

af_log() { printf 'images: %s\n' "$*" >&2; }
af_die() { printf 'images: ERROR: %s\n' "$*" >&2; exit 1; }

# af_now: seconds with decimals (for timings).
af_now() { date +%s.%N; }
af_since() { awk -v a="$1" -v b="$(af_now)" 'BEGIN{printf "%.1fs", b-a}'; }

# af_apt_sources: print "URI SUITE" for every enabled "deb" entry of the machine's apt sources
# (deb822 *.sources and one-line *.list / sources.list).
af_apt_sources() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '
			function flush() {
				if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no" && uris != "") {
					n = split(uris, u, /[ \t]+/); m = split(suites, s, /[ \t]+/)
					for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) if (u[i] != "" && s[j] != "") print u[i], s[j]
				}
				types = ""; uris = ""; suites = ""; enabled = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{
				key = tolower($1); sub(/:$/, "", key); val = $0; sub(/^[^:]*:[ \t]*/, "", val)
				if (key == "types") types = val
				else if (key == "uris") uris = val
				else if (key == "suites") suites = val
				else if (key == "enabled") enabled = tolower(val)
			}
			END { flush() }
		' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		# deb [opts] URI SUITE COMPONENTS...
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 3 { print $2, $3 }'
	done
}

# af_mirrors: set DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR (may stay empty) from the machine's apt sources,
# unless AUTHFLOW_DEBIAN_MIRROR / AUTHFLOW_DEBIAN_SECURITY_MIRROR override them.
af_mirrors() {
	local codename="" srcs uri suite
	codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}") || true
	srcs=$(af_apt_sources)
	DEBIAN_MIRROR=${AUTHFLOW_DEBIAN_MIRROR:-}
	DEBIAN_SECURITY_MIRROR=${AUTHFLOW_DEBIAN_SECURITY_MIRROR:-}
	if [ -z "$DEBIAN_MIRROR" ]; then
		while read -r uri suite; do
			[ -n "$uri" ] || continue
			case "$suite" in *-security | *-backports | *-updates) continue ;; esac
			if [ -n "$codename" ] && [ "$suite" != "$codename" ]; then continue; fi
			DEBIAN_MIRROR=${uri%/}; break
		done <<<"$srcs"
	fi
	if [ -z "$DEBIAN_SECURITY_MIRROR" ]; then
		while read -r uri suite; do
			case "$suite" in *-security) DEBIAN_SECURITY_MIRROR=${uri%/}; break ;; esac
		done <<<"$srcs"
	fi
	if [ -z "$DEBIAN_MIRROR" ]; then
		af_die "no Debian mirror found in /etc/apt/sources.list{,.d/*} for suite '${codename:-?}'. Set AUTHFLOW_DEBIAN_MIRROR=<http://your-mirror/debian> (and optionally AUTHFLOW_DEBIAN_SECURITY_MIRROR)."
	fi
	export DEBIAN_MIRROR DEBIAN_SECURITY_MIRROR
}

# af_debootstrap ROOTFS LOG [extra debootstrap args...]: minbase trixie; on failure show the log tail and the mirror.
af_debootstrap() {
	local root=$1 log=$2; shift 2
	command -v debootstrap >/dev/null || af_die "debootstrap is not installed (apt-get install -y --no-install-recommends debootstrap)"
	# dpkg inside the new root reads these during debootstrap's second stage: no fsync per file (a build
	# tree needs no crash safety), and no docs/man/translations unpacked (removed again by af_strip_common)
	mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
	echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/01-authflow-unsafe-io"
	af_dpkg_slim "$root"
	if ! debootstrap --variant=minbase "$@" "$AF_SUITE" "$root" "$DEBIAN_MIRROR" >"$log" 2>&1; then
		af_log "debootstrap $AF_SUITE from $DEBIAN_MIRROR FAILED. Last lines of $log:"
		tail -n 25 "$log" >&2
		if [ -f "$root/debootstrap/debootstrap.log" ]; then
			af_log "last lines of $root/debootstrap/debootstrap.log:"
			tail -n 25 "$root/debootstrap/debootstrap.log" >&2
		fi
		af_die "debootstrap failed (mirror: $DEBIAN_MIRROR, suite: $AF_SUITE)"
	fi
}

# af_chroot_apt ROOTFS LOG apt-get-args...: run apt-get inside the rootfs, quiet, fast dpkg.
af_chroot_apt() {
	local root=$1 log=$2; shift 2
	if ! DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 chroot "$root" apt-get -q -y \
		-o Dpkg::Options::=--force-unsafe-io -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false \
		"$@" >>"$log" 2>&1; then
		af_log "apt-get $* in $root FAILED (mirror: $DEBIAN_MIRROR). Last lines of $log:"
		tail -n 25 "$log" >&2
		return 1
	fi
}

# af_prepare_apt ROOTFS: sources for trixie + trixie-updates + trixie-security, and no service starts in the chroot.
af_prepare_apt() {
	local root=$1
	{
		echo "deb $DEBIAN_MIRROR $AF_SUITE main"
		echo "deb $DEBIAN_MIRROR $AF_SUITE-updates main"
		[ -z "$DEBIAN_SECURITY_MIRROR" ] || echo "deb $DEBIAN_SECURITY_MIRROR $AF_SUITE-security main"
	} >"$root/etc/apt/sources.list"
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	af_dpkg_slim "$root"
	printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/01-authflow"
}

# af_dpkg_slim ROOTFS: keep docs, man pages and translations out of every install (kept in the image)
af_dpkg_slim() {
	local root=$1
	mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
	cat >"$root/etc/dpkg/dpkg.cfg.d/01-authflow-slim" <<-'EOC'
		path-exclude=/usr/share/doc/*
		path-include=/usr/share/doc/*/copyright
		path-exclude=/usr/share/man/*
		path-exclude=/usr/share/info/*
		path-exclude=/usr/share/locale/*
		path-include=/usr/share/locale/locale.alias
		path-exclude=/usr/share/lintian/*
		path-exclude=/usr/share/linda/*
	EOC
}

# af_strip_common ROOTFS: what no image needs at run time.
af_strip_common() {
	local root=$1
	rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/dpkg/dpkg.cfg.d/01-authflow-unsafe-io"
	rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* \
		"$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old \
		"$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/* "$root"/var/tmp/* \
		"$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian "$root"/usr/share/linda \
		"$root"/usr/share/common-licenses "$root"/debootstrap
	find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
	find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
	find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
	# an empty machine-id like the official Debian images
	: >"$root/etc/machine-id" 2>/dev/null || true
}

# af_import ROOTFS TAG: tar the rootfs into a docker image.
af_import() {
	local root=$1 tag=$2
	tar --numeric-owner --xattrs -C "$root" -c . | docker import - "$tag" >/dev/null
}

# af_rm_rootfs DIR: remove a build tree. File systems still mounted below it (an interrupted debootstrap
# leaves proc/sys mounted in the target) are unmounted first, and rm never crosses into a mount.
af_rm_rootfs() {
	local d=$1 m
	[ -n "$d" ] && [ -d "$d" ] || return 0
	d=$(cd "$d" && pwd -P)
	awk -v p="$d/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || :
	done
	if awk -v p="$d/" 'index($2, p) == 1 {found=1} END {exit !found}' /proc/mounts; then
		af_log "WARNING: something is still mounted under $d; not removing it"
		return 0
	fi
	rm -rf --one-file-system "$d"
}

# af_recipe IMAGE_DIR: short hash of what the thin layer is made of (Dockerfile + files it copies);
# stored as the image label org.authflow.recipe, so a changed entrypoint gets its layer rebuilt.
af_recipe() {
	local d=$1 f files=()
	for f in Dockerfile docker-entrypoint.sh; do
		[ -f "$d/$f" ] && files+=("$d/$f")
	done
	cat "${files[@]}" | sha256sum | cut -c1-16
}
