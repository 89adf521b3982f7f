#!/usr/bin/env bash
# Build the local base images that stand in for official images when no registry can be reached:
#   postgres -> authflow.local/postgres:17  (stands in for postgres:17-alpine)
#   node     -> authflow.local/node:20      (stands in for node:22-bookworm-slim)
# from Debian trixie packages: ONE debootstrap --variant=minbase (shared), copied per image, the image's
# packages installed in a chroot (both images concurrently), stripped, `docker import`ed, and a thin
# Dockerfile on top (classic builder). Nothing is pulled; the mirror comes from this machine's apt sources.
#
# usage: images/build.sh [--force] [--rootfs-only|--layer-only] postgres|node ...
#   --force        rebuild the rootfs even if the image exists
# environment:
#   AUTHFLOW_DEBIAN_MIRROR, AUTHFLOW_DEBIAN_SECURITY_MIRROR  override the mirrors taken from apt's sources
#   AUTHFLOW_IMAGE_WORKDIR  temporary build trees (default /var/tmp/authflow), removed afterwards
#   AUTHFLOW_IMAGE_CACHE    optional directory of `docker save | gzip` archives: loaded instead of building
#                           when present and current, written after a build
#   AUTHFLOW_KEEP_ROOTFS=1  keep the build trees (debugging)
# Needs root (debootstrap, chroot) and a reachable Docker daemon.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=images/lib.sh
. "$HERE/lib.sh"
# shellcheck source=images/postgres/rootfs.sh
. "$HERE/postgres/rootfs.sh"
# shellcheck source=images/node/rootfs.sh
. "$HERE/node/rootfs.sh"

export DOCKER_BUILDKIT=0
force=0
want=()
for a; do
	case "$a" in
	--force) force=1 ;;
	postgres | node) want+=("$a") ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) af_die "unknown argument '$a' (usage: images/build.sh [--force] postgres|node ...)" ;;
	esac
done
[ ${#want[@]} -gt 0 ] || want=(postgres node)

[ "$(id -u)" = 0 ] || af_die "building base images needs root (debootstrap, chroot): run 'sudo $0 ${want[*]}'"
docker info >/dev/null 2>&1 || af_die "the Docker daemon does not answer (run scripts/setup.sh first)"

# per image: tag, rootfs tag, Dockerfile directory, packages, hooks
img_tag() { case $1 in postgres) echo "$PG_TAG" ;; node) echo "$NODE_TAG" ;; esac; }
img_rootfs_tag() { case $1 in postgres) echo "$PG_ROOTFS_TAG" ;; node) echo "$NODE_ROOTFS_TAG" ;; esac; }
img_packages() { case $1 in postgres) echo "${PG_PACKAGES[*]}" ;; node) echo "${NODE_PACKAGES[*]}" ;; esac; }
img_prepare() { case $1 in postgres) pg_rootfs_prepare "$2" ;; node) node_rootfs_prepare "$2" ;; esac; }
img_finish() { case $1 in postgres) pg_rootfs_finish "$2" ;; node) node_rootfs_finish "$2" ;; esac; }
img_recipe() { af_recipe "$HERE/$1"; }
label_of() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }

# thin layer: Dockerfile on top of the imported rootfs, then a smoke test
build_layer() {
	local name=$1 t0 tag rootfs_tag recipe
	t0=$(af_now)
	tag=$(img_tag "$name"); rootfs_tag=$(img_rootfs_tag "$name"); recipe=$(img_recipe "$name")
	if ! docker build -q --force-rm --build-arg BASE_IMAGE="$rootfs_tag" --build-arg RECIPE="$recipe" \
		-t "$tag" "$HERE/$name" >"$LOGDIR/$name-build.log" 2>&1; then
		af_log "$name: docker build FAILED:"; tail -n 20 "$LOGDIR/$name-build.log" >&2; return 1
	fi
	smoke_test "$name"
	af_log "$name: layer $tag (recipe $recipe) built ($(af_since "$t0"))"
}

smoke_test() {
	local name=$1 v
	case "$name" in
	postgres)
		v=$(docker run --rm "$PG_TAG" postgres --version) || { af_log "postgres: smoke test failed"; return 1; }
		af_log "postgres: $v"
		;;
	node)
		v=$(docker run --rm "$NODE_TAG" node --version) || { af_log "node: smoke test failed"; return 1; }
		if [ "$(printf '%s\n%s\n' "$NODE_MIN_VERSION" "${v#v}" | sort -V | head -n1)" != "$NODE_MIN_VERSION" ]; then
			af_log "node: $NODE_TAG has node $v, need >= $NODE_MIN_VERSION"; return 1
		fi
		af_log "node: node $v"
		;;
	esac
}

cache_file() { echo "${AUTHFLOW_IMAGE_CACHE%/}/$(img_tag "$1" | tr '/:' '__').tar.gz"; }

# from the optional save cache; succeeds only if the loaded image carries the current recipe
load_cached() {
	local name=$1 f t0
	[ -n "${AUTHFLOW_IMAGE_CACHE:-}" ] || return 1
	f=$(cache_file "$name"); [ -s "$f" ] || return 1
	t0=$(af_now)
	gzip -dc "$f" | docker load -q >/dev/null || { af_log "$name: cannot load $f, building"; return 1; }
	if [ "$(label_of "$(img_tag "$name")" org.authflow.recipe)" != "$(img_recipe "$name")" ]; then
		af_log "$name: $f is an older recipe, rebuilding the layer"
		docker image inspect "$(img_rootfs_tag "$name")" >/dev/null 2>&1 || return 1
		build_layer "$name" || return 1
	fi
	af_log "$name: loaded from $f ($(af_since "$t0"))"
}

save_cached() {
	local name=$1 f t0
	[ -n "${AUTHFLOW_IMAGE_CACHE:-}" ] || return 0
	mkdir -p "$AUTHFLOW_IMAGE_CACHE"; f=$(cache_file "$name"); t0=$(af_now)
	docker save "$(img_tag "$name")" "$(img_rootfs_tag "$name")" | gzip -1 >"$f.tmp" && mv "$f.tmp" "$f"
	af_log "$name: saved to $f ($(du -h "$f" | cut -f1), $(af_since "$t0"))"
}

# one image from a copy of the base rootfs: install, strip, import, layer
build_image() {
	local name=$1 root=$2 t0 t1 log
	log="$LOGDIR/$name.log"
	t0=$(af_now)
	img_prepare "$name" "$root"
	# shellcheck disable=SC2046
	af_chroot_apt "$root" "$log" install $(img_packages "$name")
	af_log "$name: installed $(img_packages "$name") ($(af_since "$t0"))"
	t1=$(af_now)
	img_finish "$name" "$root" >>"$log" 2>&1
	af_log "$name: stripped to $(du -sh --one-file-system "$root" | cut -f1) ($(af_since "$t1"))"
	t1=$(af_now)
	af_import "$root" "$(img_rootfs_tag "$name")"
	af_log "$name: imported $(img_rootfs_tag "$name") ($(af_since "$t1"))"
	[ "${AUTHFLOW_KEEP_ROOTFS:-0}" = 1 ] || af_rm_rootfs "$root"
	build_layer "$name"
	save_cached "$name"
	af_log "$name: $(img_tag "$name") ready, $(docker image inspect -f '{{.Size}}' "$(img_tag "$name")" | awk '{printf "%.0f MB", $1/1e6}') ($(af_since "$t0") after the base)"
}

mkdir -p "$AF_WORK_ROOT"
# one build at a time on this machine (setup.sh may run from several make targets at once)
exec 9>"$AF_WORK_ROOT/images.lock"
if ! flock -n 9; then
	af_log "another image build is running (lock $AF_WORK_ROOT/images.lock); waiting for it"
	flock 9
fi

# what is left to do, after the lock (another build may just have finished it)
todo=()
for name in "${want[@]}"; do
	tag=$(img_tag "$name")
	if [ "$force" = 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
		if [ "$(label_of "$tag" org.authflow.recipe)" = "$(img_recipe "$name")" ]; then
			af_log "$name: $tag is present and current"
			# fill an empty save cache from the present image
			if [ -n "${AUTHFLOW_IMAGE_CACHE:-}" ] && [ ! -s "$(cache_file "$name")" ]; then
				LOGDIR=$AF_WORK_ROOT save_cached "$name"
			fi
			continue
		fi
		if docker image inspect "$(img_rootfs_tag "$name")" >/dev/null 2>&1; then
			LOGDIR=$AF_WORK_ROOT; af_log "$name: $tag is from an older Dockerfile/entrypoint, rebuilding its layer"
			build_layer "$name"; continue
		fi
	fi
	if [ "$force" = 0 ] && LOGDIR=$AF_WORK_ROOT load_cached "$name"; then continue; fi
	todo+=("$name")
done
[ ${#todo[@]} -gt 0 ] || exit 0

command -v debootstrap >/dev/null || af_die "debootstrap is missing: apt-get install -y --no-install-recommends debootstrap"
af_mirrors
WORK=$(mktemp -d "$AF_WORK_ROOT/build.XXXXXX")
LOGDIR=$WORK/logs
mkdir -p "$LOGDIR"
pids=()
cleanup() {
	local rc=$? p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || :; done
	wait 2>/dev/null || :
	if [ "${AUTHFLOW_KEEP_ROOTFS:-0}" = 1 ]; then
		af_log "build tree kept in $WORK"
	elif [ "$rc" != 0 ]; then
		# keep the logs of a failed build, drop the big trees
		mkdir -p "$AF_WORK_ROOT/failed-logs"
		cp -a "$LOGDIR/." "$AF_WORK_ROOT/failed-logs/" 2>/dev/null || :
		af_log "logs of the failed build: $AF_WORK_ROOT/failed-logs/"
		af_rm_rootfs "$WORK"
	else
		af_rm_rootfs "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$(af_now)
af_log "building ${todo[*]} from Debian $AF_SUITE, mirror $DEBIAN_MIRROR${DEBIAN_SECURITY_MIRROR:+ (security: $DEBIAN_SECURITY_MIRROR)}, work dir $WORK"
t=$(af_now)
af_debootstrap "$WORK/base" "$LOGDIR/debootstrap.log"
af_log "base: debootstrap --variant=minbase $AF_SUITE ($(af_since "$t"))"
t=$(af_now)
af_prepare_apt "$WORK/base"
af_chroot_apt "$WORK/base" "$LOGDIR/base-apt.log" update
af_chroot_apt "$WORK/base" "$LOGDIR/base-apt.log" dist-upgrade
af_log "base: $AF_SUITE-updates/-security applied ($(af_since "$t"))"

# copies for all but the last image; the last one takes the base itself
t=$(af_now)
n=${#todo[@]}
for i in "${!todo[@]}"; do
	if [ "$i" -lt $((n - 1)) ]; then
		cp -a "$WORK/base" "$WORK/${todo[$i]}"
	else
		mv "$WORK/base" "$WORK/${todo[$i]}"
	fi
done
[ "$n" -lt 2 ] || af_log "base: copied for ${todo[*]} ($(af_since "$t"))"

for name in "${todo[@]}"; do
	build_image "$name" "$WORK/$name" &
	pids+=($!)
done
rc=0
for i in "${!pids[@]}"; do
	if ! wait "${pids[$i]}"; then
		af_log "${todo[$i]}: FAILED. Last lines of $LOGDIR/${todo[$i]}.log:"
		tail -n 20 "$LOGDIR/${todo[$i]}.log" >&2 || :
		rc=1
	fi
done
pids=()
[ "$rc" = 0 ] || exit 1
af_log "done: ${todo[*]} in $(af_since "$T0")"
