# shellcheck shell=bash
# shellcheck disable=SC2034,SC2016 # settings used by images/build.sh; dpkg-query formats are literal
# What images/build.sh puts into the postgres rootfs on top of the shared trixie minbase.
# Sourced; defines PG_* settings and pg_rootfs_prepare / pg_rootfs_finish.

PG_TAG=authflow.local/postgres:17
PG_ROOTFS_TAG=authflow.local/postgres-rootfs:17
# locales: source of the en_US.UTF-8 definition (removed again after localedef)
# util-linux: setpriv, to drop root in the entrypoint
PG_PACKAGES=(postgresql-17 locales util-linux)

# before apt-get install: do not let postgresql-common create (initdb) the default cluster 17/main
pg_rootfs_prepare() {
	local root=$1
	mkdir -p "$root/etc/postgresql-common/createcluster.d"
	echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.d/authflow.conf"
}

pg_rootfs_finish() {
	local root=$1 pkgs
	# the cluster, in case the postinst created one anyway
	rm -rf "$root/etc/postgresql/17/main" "$root/var/lib/postgresql/17"
	# the official image's locale
	chroot "$root" localedef -i en_US -c -f UTF-8 -A /usr/share/locale/locale.alias en_US.UTF-8
	# LLVM is only the optional JIT provider: without it PostgreSQL runs without JIT (pg_jit_available() = f)
	pkgs=$(chroot "$root" dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'libllvm*' 'libz3-*' 2>/dev/null | awk '$1 ~ /^.i/ {print $2}')
	# perl only serves postgresql-common's wrappers (pg_ctlcluster, /usr/bin/psql -> pg_wrapper); the
	# entrypoint calls the binaries in /usr/lib/postgresql/17/bin directly
	pkgs+=" "$(chroot "$root" dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' perl 'perl-modules-*' 'libperl5*' 2>/dev/null | awk '$1 ~ /^.i/ {print $2}')
	# shellcheck disable=SC2086
	[ -z "${pkgs// /}" ] || chroot "$root" dpkg --purge --force-depends --force-remove-essential $pkgs >/dev/null
	rm -rf "$root"/usr/lib/postgresql/17/lib/llvmjit* "$root"/usr/lib/postgresql/17/lib/bitcode
	local b
	for b in psql pg_dump pg_dumpall pg_restore pg_isready createdb dropdb createuser dropuser clusterdb reindexdb vacuumdb pg_basebackup; do
		[ -e "$root/usr/lib/postgresql/17/bin/$b" ] && ln -sf "../lib/postgresql/17/bin/$b" "$root/usr/bin/$b"
	done
	# locale sources are not needed once the locale archive holds en_US.UTF-8
	rm -rf "$root/usr/share/i18n"
	rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
	af_strip_common "$root"
}
