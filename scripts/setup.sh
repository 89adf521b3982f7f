#!/usr/bin/env bash
# authflow machine setup: from a fresh Debian 12 machine to everything the tests need, offline-capable
# (network: Debian's apt mirror, the npm registry and the Go module proxy only). Idempotent; installs or
# builds only what is missing, and takes well under 5 s when nothing is. Run by `make setup` and by every
# make target that needs the machine.
#
# Steps (one line each: what is checked, what was done, how long it took):
#   docker    the Docker daemon answers; else install docker.io and start dockerd (Debian, root)
#   browser   AUTHFLOW_BROWSER=chromium (default): /usr/bin/chromium, else apt-get install chromium;
#             AUTHFLOW_BROWSER=playwright: Playwright's own browser in ~/.cache/ms-playwright
#   node      node >= 20.19 on PATH (the driver, npm ci and the web build run on it)
#   driver    playwright-core at the version github.com/mxschmitt/playwright-go pins, in AUTHFLOW_DRIVER_DIR
#             (default ~/.cache/authflow/playwright-driver-<version>), with package/ and node symlinks
#   web       npm ci + npm run build in refapp/web when out of date
#   backend   CGO_ENABLED=0 go build of refapp/backend (refapp is its own Go module)
#   images    postgres:17-alpine / node:22-bookworm-slim when present or pullable, else the local
#             authflow.local/postgres:17 and authflow.local/node:20 built by images/build.sh (debootstrap)
#
# Environment: AUTHFLOW_BROWSER, AUTHFLOW_DRIVER_DIR, AUTHFLOW_DEBIAN_MIRROR (see images/build.sh),
#   AUTHFLOW_IMAGE_CACHE (optional docker save cache for the local images), AUTHFLOW_SETUP_PULL_TIMEOUT
#   (seconds for a pull attempt of an official image, default 30; fails in well under 1 s offline).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v go >/dev/null 2>&1 || PATH="$PATH:/usr/local/go/bin"
export DOCKER_BUILDKIT=0 DEBIAN_FRONTEND=noninteractive

MIN_NODE=20.19.0
PW_MODULE=github.com/mxschmitt/playwright-go
PG_OFFICIAL=postgres:17-alpine
PG_LOCAL=authflow.local/postgres:17
NODE_OFFICIAL=node:22-bookworm-slim
NODE_LOCAL=authflow.local/node:20

IS_ROOT=0; [ "$(id -u)" = 0 ] && IS_ROOT=1
IS_DEBIAN=0; [ "$(. /etc/os-release 2>/dev/null && echo "${ID:-}")" = debian ] && command -v apt-get >/dev/null && IS_DEBIAN=1
if [ "$IS_ROOT" = 1 ]; then LOG_DIR=/var/log/authflow; else LOG_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/authflow/logs; fi
mkdir -p "$LOG_DIR"

# one setup at a time (make targets may run it concurrently); the warm path holds the lock for < 1 s
exec 8>"$LOG_DIR/setup.lock"
if ! flock -n 8; then
	echo "setup: another setup is running (lock $LOG_DIR/setup.lock); waiting for it"
	flock 8
fi

# ---- output ------------------------------------------------------------------------------------------
T_SETUP=$EPOCHREALTIME
STEP=; T_STEP=
begin() { STEP=$1; T_STEP=$EPOCHREALTIME; }
secs() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1fs", b-a}'; }
# done_ RESULT: "setup: <what it checks> ... <result> (<time>)"
done_() { printf 'setup: %s ... %s (%s)\n' "$STEP" "$1" "$(secs "$T_STEP")"; }
note() { printf 'setup:   %s\n' "$*"; }
# fail RESULT HOW-TO-FIX...: the step's line, then the fix, then exit non-zero
fail() {
	printf 'setup: %s ... FAILED: %s (%s)\n' "$STEP" "$1" "$(secs "$T_STEP")" >&2
	shift
	local l
	for l; do printf 'setup:   %s\n' "$l" >&2; done
	exit 1
}
# join_ SEP WORDS...
join_() { local sep=$1 out=$2; shift 2 || return 0; local w; for w; do out+=$sep$w; done; printf '%s' "$out"; }
can_install() { [ "$IS_ROOT" = 1 ] && [ "$IS_DEBIAN" = 1 ]; }

# apt_install PKG...: apt-get update only when a package has no install candidate (or the install fails
# on stale lists), then install without recommends. Log: $LOG_DIR/apt.log.
apt_install() {
	local p need_update=0
	for p; do
		apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [^(]' || need_update=1
	done
	if [ "$need_update" = 1 ]; then
		apt-get update >>"$LOG_DIR/apt.log" 2>&1 || { tail -n 15 "$LOG_DIR/apt.log" >&2; return 1; }
	fi
	apt-get install -y -q --no-install-recommends "$@" >>"$LOG_DIR/apt.log" 2>&1 && return 0
	# stale package lists (404 on a superseded .deb): refresh once and retry
	if apt-get update >>"$LOG_DIR/apt.log" 2>&1 &&
		apt-get install -y -q --no-install-recommends "$@" >>"$LOG_DIR/apt.log" 2>&1; then
		return 0
	fi
	tail -n 15 "$LOG_DIR/apt.log" >&2
	return 1
}

# version_ge A B: A >= B (dotted versions)
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# ---- a. Docker daemon --------------------------------------------------------------------------------
docker_answers() { docker info >/dev/null 2>&1; }

start_dockerd() {
	# cgroups: v2 (cgroup.controllers) or v1 hierarchies (memory) must be mounted
	if [ ! -e /sys/fs/cgroup/cgroup.controllers ] && [ ! -e /sys/fs/cgroup/memory ]; then
		command -v cgroupfs-mount >/dev/null || apt_install cgroupfs-mount
		cgroupfs-mount
		note "mounted cgroups (cgroupfs-mount)"
	fi
	# a dockerd that died leaves its pid file behind, and a new one refuses to start
	local pidf=/var/run/docker.pid pid
	if [ -s "$pidf" ]; then
		pid=$(cat "$pidf")
		if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]; then rm -f "$pidf"; fi
	fi
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		systemctl start docker
		return
	fi
	# 8>&-: the daemon must not inherit (and hold forever) the setup lock
	setsid nohup dockerd >>"$LOG_DIR/dockerd.log" 2>&1 </dev/null 8>&- &
	DOCKERD_PID=$!
}

step_docker() {
	begin "docker daemon (docker info)"
	if docker_answers; then done_ ok; return; fi
	local err; err=$(docker info 2>&1 >/dev/null | tail -n 1 || true)
	if [ "$IS_ROOT" = 0 ] && printf '%s' "$err" | grep -qi 'permission denied'; then
		fail "no access to the Docker socket ($err)" \
			"fix: sudo usermod -aG docker $(id -un)   (then log in again), or run as root"
	fi
	if ! can_install; then
		fail "no Docker daemon answers (${err:-docker not installed})" \
			"fix (Debian/Ubuntu, as root): apt-get install -y --no-install-recommends docker.io && (systemctl start docker || (setsid nohup dockerd >/var/log/dockerd.log 2>&1 &))" \
			"elsewhere: install Docker Engine or Docker Desktop and start it; then re-run make setup"
	fi
	local did=()
	if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
		apt_install docker.io || fail "apt-get install docker.io failed (log: $LOG_DIR/apt.log)"
		did+=("installed docker.io")
	fi
	# with systemd, the package's postinst may already have started it
	if ! docker_answers; then
		DOCKERD_PID=
		start_dockerd
		did+=("started dockerd${DOCKERD_PID:+ (pid $DOCKERD_PID, log $LOG_DIR/dockerd.log)}")
		local deadline=$((SECONDS + 30))
		until docker_answers; do
			if [ -n "$DOCKERD_PID" ] && ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
				tail -n 20 "$LOG_DIR/dockerd.log" >&2
				fail "dockerd exited at start (log above, from $LOG_DIR/dockerd.log)"
			fi
			if [ "$SECONDS" -ge "$deadline" ]; then
				tail -n 20 "$LOG_DIR/dockerd.log" >&2 || :
				fail "dockerd did not answer within 30 s (log: $LOG_DIR/dockerd.log)"
			fi
			sleep 0.2
		done
	fi
	done_ "$(join_ ", " "${did[@]}")"
}

# ---- b. Browser --------------------------------------------------------------------------------------
step_browser() {
	local kind=${AUTHFLOW_BROWSER:-chromium}
	case "$kind" in
	chromium)
		begin "browser: Debian chromium (/usr/bin/chromium)"
		if [ -x /usr/bin/chromium ]; then done_ ok; return; fi
		can_install || fail "/usr/bin/chromium is missing" \
			"fix (Debian, as root): apt-get install -y --no-install-recommends chromium fonts-dejavu-core" \
			"or use Playwright's own browser: AUTHFLOW_BROWSER=playwright (after: go tool playwright install chromium)"
		apt_install chromium fonts-dejavu-core || fail "apt-get install chromium failed (log: $LOG_DIR/apt.log)"
		done_ "installed chromium $(dpkg-query -W -f='${Version}' chromium 2>/dev/null)"
		;;
	playwright)
		begin "browser: Playwright's own chromium (~/.cache/ms-playwright)"
		local found
		found=$(find "${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}" -maxdepth 1 -name 'chromium*' 2>/dev/null | head -n1)
		[ -n "$found" ] || fail "no Playwright browser in ${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}" \
			"fix (needs Playwright's CDN, not reachable offline): go tool playwright install chromium" \
			"or use Debian's package: unset AUTHFLOW_BROWSER (default chromium) and re-run make setup"
		done_ "ok (${found##*/})"
		;;
	*)
		begin "browser (AUTHFLOW_BROWSER)"
		fail "AUTHFLOW_BROWSER=$kind is not allowed" "allowed: chromium (Debian's package, default) or playwright (Playwright's own build)"
		;;
	esac
}

# ---- node (for c and d) ------------------------------------------------------------------------------
step_node() {
	begin "node >= $MIN_NODE and npm on PATH"
	local v=""
	command -v node >/dev/null && v=$(node --version 2>/dev/null) && v=${v#v}
	local problem=
	if [ -z "$v" ]; then problem="node is not installed"
	elif ! version_ge "$v" "$MIN_NODE"; then problem="node $v at $(command -v node) is older than $MIN_NODE"
	elif ! command -v npm >/dev/null; then problem="npm is not installed (node $v is)"
	fi
	if [ -n "$problem" ]; then
		fail "$problem" \
			"the Playwright driver needs node >= 20 and Better Auth's build >= $MIN_NODE; Debian 12 ships 18.x" \
			"fix: install Node.js 20.19+ or 22 with npm, e.g. from NodeSource (deb.nodesource.com, node_20.x or node_22.x)," \
			"     or the official tarball from nodejs.org into /usr/local; then re-run make setup"
	fi
	done_ "ok (node $v at $(command -v node))"
}

# ---- c. Playwright driver ----------------------------------------------------------------------------
# driver_version: playwrightCliVersion from the pinned module's source; derived from the module version
# (v0.6401.0 -> 1.64.1) only when the source cannot be had.
driver_version() {
	local modver moddir v
	modver=$(grep -oE "$PW_MODULE v[^ ]+" go.mod | head -n1 | cut -d' ' -f2)
	[ -n "$modver" ] || { echo "cannot find $PW_MODULE in go.mod" >&2; return 1; }
	moddir="$(go env GOMODCACHE 2>/dev/null)/$PW_MODULE@$modver"
	if [ ! -f "$moddir/run.go" ]; then
		moddir=$(go mod download -json "$PW_MODULE@$modver" 2>/dev/null | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p') || moddir=
	fi
	if [ -n "$moddir" ] && [ -f "$moddir/run.go" ]; then
		v=$(sed -nE 's/^[[:space:]]*playwrightCliVersion[[:space:]]*=[[:space:]]*"([0-9.]+)".*/\1/p' "$moddir/run.go" | head -n1)
	fi
	if [ -z "${v:-}" ]; then
		# v0.MMPP.x -> 1.MM.PP
		local mp=${modver#v0.}; mp=${mp%%.*}
		[ ${#mp} = 4 ] || { echo "cannot derive the driver version from $PW_MODULE $modver" >&2; return 1; }
		v="1.$((10#${mp:0:2})).$((10#${mp:2:2}))"
		echo "setup:   (driver version derived from $modver: the module source was not available)" >&2
	fi
	echo "$v"
}

step_driver() {
	begin "playwright driver"
	local ver dir have=""
	ver=$(driver_version) || fail "cannot tell which playwright-core version $PW_MODULE needs"
	dir=${AUTHFLOW_DRIVER_DIR:-$HOME/.cache/authflow/playwright-driver-$ver}
	STEP="playwright driver (playwright-core $ver in $dir)"
	if [ -f "$dir/node_modules/playwright-core/package.json" ]; then
		have=$(sed -nE 's/^[[:space:]]*"version":[[:space:]]*"([^"]+)".*/\1/p' "$dir/node_modules/playwright-core/package.json" | head -n1)
	fi
	if [ "$have" = "$ver" ] && [ -f "$dir/package/cli.js" ] && [ -x "$dir/node" ]; then
		done_ ok
		return
	fi
	mkdir -p "$dir"
	[ -f "$dir/package.json" ] || echo '{"private":true}' >"$dir/package.json"
	(cd "$dir" && npm install --no-audit --no-fund --save-exact --loglevel=error "playwright-core@$ver") >"$LOG_DIR/driver-npm.log" 2>&1 ||
		{ tail -n 15 "$LOG_DIR/driver-npm.log" >&2; fail "npm install playwright-core@$ver failed (log: $LOG_DIR/driver-npm.log)"; }
	ln -sfn node_modules/playwright-core "$dir/package"
	ln -sfn "$(command -v node)" "$dir/node"
	local out; out=$("$dir/node" "$dir/package/cli.js" --version 2>&1) || true
	case "$out" in
	*"$ver"*) ;;
	*) fail "node package/cli.js --version printed '$out', expected $ver" ;;
	esac
	done_ "installed ($out)"
}

# ---- d. refapp/web -----------------------------------------------------------------------------------
step_web() {
	local web=refapp/web did=()
	begin "refapp/web (npm ci, npm run build)"
	if [ ! -f "$web/package.json" ]; then done_ "skipped: no $web here (the reference app is in authflow's checkout only)"; return; fi
	if [ ! -f "$web/package-lock.json" ]; then
		fail "$web/package-lock.json is missing (npm ci needs it)" "fix: (cd $web && npm install) and commit package-lock.json"
	fi
	if [ ! -f "$web/node_modules/.package-lock.json" ] || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
		(cd "$web" && npm ci --no-audit --no-fund --loglevel=error) >"$LOG_DIR/web-npm-ci.log" 2>&1 ||
			{ tail -n 15 "$LOG_DIR/web-npm-ci.log" >&2; fail "npm ci failed (log: $LOG_DIR/web-npm-ci.log)"; }
		did+=("npm ci")
	fi
	if grep -q '"build"[[:space:]]*:' "$web/package.json"; then
		if [ ! -f "$web/public/app.js" ] || [ -n "$(find "$web/client" "$web/package.json" -newer "$web/public/app.js" -print -quit 2>/dev/null)" ]; then
			(cd "$web" && npm run build --silent) >"$LOG_DIR/web-build.log" 2>&1 ||
				{ tail -n 15 "$LOG_DIR/web-build.log" >&2; fail "npm run build failed (log: $LOG_DIR/web-build.log)"; }
			did+=("npm run build")
		fi
	fi
	if [ ${#did[@]} = 0 ]; then done_ ok; else done_ "$(join_ ", " "${did[@]}")"; fi
}

# ---- e. refapp/backend -------------------------------------------------------------------------------
step_backend() {
	begin "refapp/backend binary (go build)"
	local bin=refapp/backend/bin/backend
	if ! grep -qs '^package main' refapp/backend/*.go; then
		done_ "skipped: no refapp/backend here (the reference app is in authflow's checkout only)"
		return
	fi
	# go build is cheap with a warm cache (0.2-1 s), but the warm path must stay fast on a loaded machine:
	# skip it when the binary is newer than every Go file of refapp's own module (refapp/go.mod: the
	# backend imports nothing of the harness), its go.mod and go.sum, and the go binary itself
	if [ -x "$bin" ] && [ -z "$(find refapp -path refapp/web -prune -o \
		\( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$bin" -print -quit 2>/dev/null)" ] &&
		[ ! "$(readlink -f "$(command -v go)")" -nt "$bin" ]; then
		done_ "ok ($bin is up to date)"
		return
	fi
	(cd refapp && CGO_ENABLED=0 go build -trimpath -o backend/bin/backend ./backend) >"$LOG_DIR/backend-build.log" 2>&1 ||
		{ tail -n 20 "$LOG_DIR/backend-build.log" >&2; fail "go build ./refapp/backend failed (log: $LOG_DIR/backend-build.log)"; }
	# go build leaves an unchanged binary's mtime alone: touch it so the check above holds next time
	touch "$bin"
	done_ "built $bin"
}

# ---- f. base images ----------------------------------------------------------------------------------
# IMAGES: "name recipe-label" for each of the four candidate images present locally (one docker call)
IMAGES=
scan_images() {
	IMAGES=$(docker image inspect -f '{{range .RepoTags}}{{.}} {{end}}| {{index .Config.Labels "org.authflow.recipe"}}' \
		"$PG_OFFICIAL" "$PG_LOCAL" "$NODE_OFFICIAL" "$NODE_LOCAL" 2>/dev/null |
		awk -F'[|]' '{ n = split($1, t, " "); for (i = 1; i <= n; i++) print t[i], $2 }') || true
}
image_present() { printf '%s\n' "$IMAGES" | grep -q "^$1 "; }
# local_current TAG DIR: the local image exists and was built from the current Dockerfile/entrypoint
local_current() {
	local want have
	have=$(printf '%s\n' "$IMAGES" | awk -v t="$1" '$1 == t {print $2; exit}')
	[ -n "$have" ] || return 1
	want=$(. images/lib.sh && af_recipe "images/$2")
	[ "$want" = "$have" ]
}
try_pull() {
	timeout "${AUTHFLOW_SETUP_PULL_TIMEOUT:-30}" docker pull -q "$1" >>"$LOG_DIR/pull.log" 2>&1
}

# resolve_image OFFICIAL LOCAL DIR: sets RESOLVED (an image to use) or BUILD (a local image to build)
resolve_image() {
	local official=$1 local_tag=$2 dir=$3
	RESOLVED=; BUILD=
	if image_present "$official"; then RESOLVED=$official; return; fi
	if local_current "$local_tag" "$dir"; then RESOLVED=$local_tag; return; fi
	if try_pull "$official"; then RESOLVED=$official; return; fi
	BUILD=$dir
}

# images_start: resolve both images; if a local one must be built, start images/build.sh in the
# background (it runs while the browser, driver, web and backend steps run; debootstrap does not touch
# the host's dpkg lock). images_finish waits for it and prints the step's line.
IMG_PID=; IMG_TODO=(); IMG_T0=; RES_PG=; RES_NODE=; IMG_DID=()
images_start() {
	IMG_T0=$EPOCHREALTIME
	scan_images
	resolve_image "$PG_OFFICIAL" "$PG_LOCAL" postgres; RES_PG=$RESOLVED; [ -z "$BUILD" ] || IMG_TODO+=(postgres)
	resolve_image "$NODE_OFFICIAL" "$NODE_LOCAL" node; RES_NODE=$RESOLVED; [ -z "$BUILD" ] || IMG_TODO+=(node)
	[ ${#IMG_TODO[@]} -gt 0 ] || return 0
	begin "base images (postgres, node)"
	if [ "$IS_ROOT" = 0 ]; then
		fail "cannot pull $PG_OFFICIAL / $NODE_OFFICIAL and the local image(s) for ${IMG_TODO[*]} are missing" \
			"fix: sudo bash images/build.sh ${IMG_TODO[*]}   (debootstrap needs root), then re-run make setup"
	fi
	if ! command -v debootstrap >/dev/null; then
		can_install || fail "debootstrap is missing" \
			"fix: install debootstrap, or build the authflow.local images on a Debian machine and docker load them"
		apt_install debootstrap || fail "apt-get install debootstrap failed (log: $LOG_DIR/apt.log)"
		IMG_DID+=("installed debootstrap")
	fi
	note "no official image for ${IMG_TODO[*]} (no registry, see $LOG_DIR/pull.log): building authflow.local images in the background (log: $LOG_DIR/images-build.log)"
	# own session: on failure or Ctrl-C, on_exit stops the whole build (debootstrap included)
	setsid bash images/build.sh "${IMG_TODO[@]}" >"$LOG_DIR/images-build.log" 2>&1 </dev/null 8>&- &
	IMG_PID=$!
}

images_finish() {
	STEP="base images (postgres, node)"; T_STEP=$IMG_T0
	if [ -n "$IMG_PID" ]; then
		local rc=0 n
		wait "$IMG_PID" || rc=$?
		IMG_PID=
		sed 's/^/setup:   /' "$LOG_DIR/images-build.log"
		[ "$rc" = 0 ] || fail "images/build.sh ${IMG_TODO[*]} failed (output above, log: $LOG_DIR/images-build.log)"
		for n in "${IMG_TODO[@]}"; do
			case $n in postgres) RES_PG=$PG_LOCAL ;; node) RES_NODE=$NODE_LOCAL ;; esac
		done
		if [ -n "${AUTHFLOW_IMAGE_CACHE:-}" ]; then
			IMG_DID+=("built or loaded from $AUTHFLOW_IMAGE_CACHE: ${IMG_TODO[*]}")
		else
			IMG_DID+=("built ${IMG_TODO[*]}")
		fi
	fi
	local summary=ok
	[ ${#IMG_DID[@]} = 0 ] || summary=$(join_ ", " "${IMG_DID[@]}")
	done_ "$summary; postgres -> $RES_PG, node -> $RES_NODE"
}

# a failing step must not leave the background build running
on_exit() { [ -z "$IMG_PID" ] || kill -TERM -- "-$IMG_PID" 2>/dev/null || :; }
trap on_exit EXIT

step_docker
images_start
step_browser
step_node
step_driver
step_web
step_backend
images_finish
printf 'setup: all done (%s)\n' "$(secs "$T_SETUP")"
