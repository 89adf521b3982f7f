#!/usr/bin/env bash
# scripts/app-repo.sh DIR: a scratch app repository made of authflow's reference app, to try authflow
# the way an app team uses it (README, "From an app repository"): the app's files at the top
# (web/ with Better Auth, backend/ with the ChatKit server, their go.mod), its target file
# authflow.yaml and the CI workflow of examples/app-repo/, as a git repository of one commit. The
# files come from this checkout's HEAD; nothing of authflow's own code is copied.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:?usage: scripts/app-repo.sh DIR (a new or empty folder)}
if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
	echo "app-repo: $DIR is not empty; name a new folder" >&2
	exit 2
fi
mkdir -p "$DIR"
git -C "$ROOT" archive --format=tar HEAD:refapp | tar -x -C "$DIR"
git -C "$ROOT" archive --format=tar HEAD:examples/app-repo | tar -x -C "$DIR"
git -C "$DIR" init -q
git -C "$DIR" add -A
git -C "$DIR" -c user.name=authflow -c user.email=authflow@example.test commit -q -m "the reference app as an app repository"
echo "app-repo: $DIR holds the reference app (web/, backend/), authflow.yaml and .github/workflows/authflow.yml"
