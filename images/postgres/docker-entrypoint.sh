#!/usr/bin/env bash
# Entrypoint of authflow.local/postgres:17.
#
# It keeps the contract of the official postgres image's entrypoint, so that code written for
# postgres:17-alpine (and testcontainers' postgres module) works unchanged:
#   * POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER (default postgres),
#     POSTGRES_DB (default $POSTGRES_USER), POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR,
#     POSTGRES_HOST_AUTH_METHOD; POSTGRES_{PASSWORD,USER,DB,INITDB_ARGS}_FILE read the value from a file.
#   * "IMAGE -c fsync=off" runs "postgres -c fsync=off"; any other command is exec'd as is.
#   * On an empty $PGDATA: initdb, a temporary server on the unix socket only (same arguments),
#     CREATE DATABASE $POSTGRES_DB, then /docker-entrypoint-initdb.d/* in sorted order
#     (*.sh executed when executable, sourced otherwise; *.sql, *.sql.gz, *.sql.xz, *.sql.zst fed to psql),
#     then the temporary server stops and the real one starts listening on all addresses.
#     So "database system is ready to accept connections" is logged exactly twice on a fresh start
#     and once on a start with existing data.
#   * Host connections authenticate with POSTGRES_HOST_AUTH_METHOD, default: the server's
#     password_encryption (scram-sha-256).
# Differences from the official image: no VOLUME, the postgres user is Debian's (not uid 999), root is
# dropped with setpriv instead of gosu, no nss_wrapper for arbitrary --user ids.
set -Eeo pipefail

log() { printf '%s: %s\n' "${0##*/}" "$*"; }
fail() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# read_env NAME [DEFAULT]: NAME from the environment, or from the file named by NAME_FILE, or DEFAULT.
read_env() {
	local name=$1 fallback=${2:-} from_file="${1}_FILE" value
	if [ -n "${!name:-}" ] && [ -n "${!from_file:-}" ]; then
		fail "both $name and $from_file are set (but are exclusive)"
	fi
	value=$fallback
	if [ -n "${!name:-}" ]; then
		value=${!name}
	elif [ -n "${!from_file:-}" ]; then
		value=$(<"${!from_file}")
	fi
	export "$name=$value"
	unset "$from_file"
}

# wants_no_server ARGS...: "postgres --version", "-C name", "--describe-config" etc. print and exit.
wants_no_server() {
	local a
	for a; do
		case "$a" in
		-'?' | --help | --describe-config | -V | --version | -C) return 0 ;;
		esac
	done
	return 1
}

if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi
if [ "$1" != 'postgres' ] || wants_no_server "$@"; then
	exec "$@"
fi

read_env POSTGRES_PASSWORD
read_env POSTGRES_USER postgres
read_env POSTGRES_DB "$POSTGRES_USER"
read_env POSTGRES_INITDB_ARGS
: "${POSTGRES_HOST_AUTH_METHOD:=}"
: "${POSTGRES_INITDB_WALDIR:=}"

# As root: prepare the directories, then run this script again as the postgres user.
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chmod 3777 /var/run/postgresql
	find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
	chmod 700 "$PGDATA" || :
	if [ -n "$POSTGRES_INITDB_WALDIR" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres:postgres '{}' +
		chmod 700 "$POSTGRES_INITDB_WALDIR"
	fi
	# exec keeps the final postgres as PID 1 (docker stop's SIGINT reaches it)
	exec setpriv --reuid=postgres --regid=postgres --init-groups env HOME=/var/lib/postgresql "${BASH_SOURCE[0]}" "$@"
fi

if [ -s "$PGDATA/PG_VERSION" ]; then
	printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
	exec "$@"
fi

# ---- first start: initialise -------------------------------------------------------------------
# During initialisation bash is PID 1, and PID 1 ignores signals it has no handler for: without this
# trap "docker stop" (SIGINT) would wait out the whole stop timeout. Children run in the background
# and are waited for, so the trap fires at once.
child=
on_signal() {
	log "interrupted during initialization"
	[ -z "$child" ] || kill -INT "$child" 2>/dev/null || :
	if [ -s "$PGDATA/postmaster.pid" ]; then
		pg_ctl -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || :
	fi
	exit 1
}
trap on_signal INT TERM
run() { "$@" & child=$!; wait "$child"; local rc=$?; child=; return "$rc"; }

if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
	cat >&2 <<-'EOT'
		Error: Database is uninitialized and superuser password is not specified.
		       You must specify POSTGRES_PASSWORD to a non-empty value for the
		       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

		       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
		       connections without a password. This is *not* recommended.
	EOT
	exit 1
fi
if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
	cat >&2 <<-'EOT'
		********************************************************************************
		WARNING: POSTGRES_HOST_AUTH_METHOD has been set to "trust". This will allow
		         anyone with access to the Postgres port to access your database without
		         a password, even if POSTGRES_PASSWORD is set.
		********************************************************************************
	EOT
fi
# fail early (before initdb) if the init directory cannot be read
ls /docker-entrypoint-initdb.d/ >/dev/null

# initdb; the password goes through a pipe, never the command line. "--pwfile" rejects an empty file,
# hence the newline. POSTGRES_INITDB_ARGS is word-split on purpose (eval), like the official image.
initdb_extra=()
[ -z "$POSTGRES_INITDB_WALDIR" ] || initdb_extra+=(--waldir "$POSTGRES_INITDB_WALDIR")
eval 'run initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") "${initdb_extra[@]}" '"$POSTGRES_INITDB_ARGS"

server_args=("${@:2}") # the command's arguments without "postgres", e.g. -c fsync=off

# host connections: the configured method, else what the server encrypts passwords with
auth_method=$POSTGRES_HOST_AUTH_METHOD
if [ -z "$auth_method" ]; then
	auth_method=$(postgres -C password_encryption "${server_args[@]}")
fi
{
	printf '\n'
	[ "$auth_method" != trust ] || printf '# warning: trust is enabled for all connections\n'
	printf 'host all all all %s\n' "$auth_method"
} >>"$PGDATA/pg_hba.conf"

# temporary server: the same arguments, but no TCP listener
temp_opts=$(printf '%q ' "${server_args[@]}" -c "listen_addresses=" -p "${PGPORT:-5432}")
export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
NOTIFY_SOCKET='' PGUSER="${PGUSER:-$POSTGRES_USER}" run pg_ctl -D "$PGDATA" -o "$temp_opts" -w start

psql_cmd=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
if [ "$POSTGRES_DB" != postgres ]; then
	# psql variables are interpolated on stdin, not in --command
	have_db=$("${psql_cmd[@]}" --dbname postgres --tuples-only --no-align --set db="$POSTGRES_DB" \
		<<<"SELECT 1 FROM pg_database WHERE datname = :'db' ;")
	if [ -z "$have_db" ]; then
		"${psql_cmd[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;'
	fi
fi
psql_cmd+=(--dbname "$POSTGRES_DB")

printf '\n'
for f in /docker-entrypoint-initdb.d/*; do
	[ -e "$f" ] || continue
	case "$f" in
	*.sh)
		if [ -x "$f" ]; then
			log "running $f"
			run "$f"
		else
			log "sourcing $f"
			# shellcheck disable=SC1090
			. "$f"
		fi
		;;
	*.sql) log "running $f"; run "${psql_cmd[@]}" -f "$f"; printf '\n' ;;
	*.sql.gz) log "running $f"; gunzip -c "$f" | "${psql_cmd[@]}"; printf '\n' ;;
	*.sql.xz)
		command -v xz >/dev/null || fail "$f: xz is not installed in this image"
		log "running $f"; xz -dc "$f" | "${psql_cmd[@]}"; printf '\n' ;;
	*.sql.zst)
		command -v zstd >/dev/null || fail "$f: zstd is not installed in this image"
		log "running $f"; zstd -dc "$f" | "${psql_cmd[@]}"; printf '\n' ;;
	*) log "ignoring $f" ;;
	esac
done

PGUSER="${PGUSER:-$POSTGRES_USER}" run pg_ctl -D "$PGDATA" -m fast -w stop
unset PGPASSWORD
trap - INT TERM
printf '\nPostgreSQL init process complete; ready for start up.\n\n'

exec "$@"
