# shellcheck shell=bash
# Shell functions shared by `make test` (test/run-tests.sh) and `make demo`
# (test/demo/demo.sh): installing what is missing, building, and running a
# throwaway PostgreSQL cluster with tenant_guard preloaded.
#
# PostgreSQL refuses to run as root, so when these scripts run as root the
# clusters run as the postgres system user; a developer without root runs
# them as himself, after installing the packages and the extension once.

TG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

tg_log() { printf '==> %s\n' "$*"; }
tg_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The PostgreSQL to build against and to run is the one PG_CONFIG names, as
# for any PGXS extension (make test PG_CONFIG=/opt/postgresql/18/bin/pg_config);
# by default Debian's PostgreSQL 15.  Initdb, pg_ctl, psql and the others
# come from its bindir.  A PostgreSQL packaged by Debian (or by
# apt.postgresql.org, the same layout) is installed when missing, so its
# pg_config need not exist yet; any other must.
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
if [[ $PG_CONFIG != */* ]]; then
	TG_PG_CONFIG_PATH=$(command -v "$PG_CONFIG") || tg_die "PG_CONFIG=$PG_CONFIG: not in PATH"
	PG_CONFIG=$TG_PG_CONFIG_PATH
fi
TG_DEBIAN_MAJOR=
if [[ $PG_CONFIG =~ ^/usr/lib/postgresql/([0-9]+)/bin/pg_config$ ]]; then
	TG_DEBIAN_MAJOR=${BASH_REMATCH[1]}
	PG_BINDIR=${PG_CONFIG%/pg_config}
elif [ -x "$PG_CONFIG" ]; then
	PG_BINDIR=$("$PG_CONFIG" --bindir)
	if [[ $PG_BINDIR =~ ^/usr/lib/postgresql/([0-9]+)/bin$ ]]; then
		TG_DEBIAN_MAJOR=${BASH_REMATCH[1]} # /usr/bin/pg_config, Debian's wrapper
	fi
else
	tg_die "PG_CONFIG=$PG_CONFIG: no such program"
fi
export PG_CONFIG PG_BINDIR

# Debian packages the build and the test suites need, whatever the
# PostgreSQL: make, gcc and the C library's headers (gcc only recommends
# them); libpq's headers (payment_race, the report); Kerberos's, because
# the server headers of a PostgreSQL built with GSSAPI (Debian's is)
# include gssapi/gssapi.h; perl with IPC::Run for the TAP tests.  A
# Debian-packaged PostgreSQL adds its server and its headers.
TG_PACKAGES=(make gcc libc6-dev libpq-dev libkrb5-dev perl libipc-run-perl)
if [ -n "$TG_DEBIAN_MAJOR" ]; then
	TG_PACKAGES+=("postgresql-$TG_DEBIAN_MAJOR" "postgresql-server-dev-$TG_DEBIAN_MAJOR")
fi

# Run a command as the user that owns the clusters.
tg_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

tg_missing_packages() {
	local missing=() pkg
	for pkg in "${TG_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$pkg")
	done
	echo "${missing[@]}"
}

# Install the Debian packages the project needs (plus any named), once;
# as root, also the postgres user the clusters run as, which Debian's
# PostgreSQL packages create but a PostgreSQL built from source does not.
tg_ensure_packages() {
	local missing
	missing=$(tg_missing_packages "$@")
	if [ -n "$missing" ] && [ "$(id -u)" -ne 0 ]; then
		tg_die "missing packages: $missing
Install them with:  sudo apt-get update && sudo apt-get install -y $missing
or run this command as root, which installs them itself."
	fi
	if [ -n "$missing" ]; then
		tg_log "installing $missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >/dev/null
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing >/dev/null ||
			tg_die "could not install $missing"
	fi
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		tg_log "creating the postgres user"
		useradd --system --user-group --create-home --home-dir /var/lib/postgresql \
			--shell /bin/bash postgres || tg_die "could not create the postgres user"
	fi
}

# Without root the installation cannot be refreshed; it will do if it is
# exactly this build (after a 'sudo make install').
tg_installed_build_is_current() {
	local f
	cmp -s "$TG_ROOT/tenant_guard.so" "$("$PG_CONFIG" --pkglibdir)/tenant_guard.so" || return 1
	for f in "$TG_ROOT"/tenant_guard.control "$TG_ROOT"/tenant_guard--*.sql; do
		cmp -s "$f" "$("$PG_CONFIG" --sharedir)/extension/$(basename "$f")" || return 1
	done
}

# Build with warnings as errors and install into the server's directories.
tg_build_and_install() {
	tg_log "building tenant_guard (warnings are errors)"
	make -s -C "$TG_ROOT" PG_CONFIG="$PG_CONFIG" COPT=-Werror >/dev/null
	if [ "$(id -u)" -eq 0 ]; then
		make -s -C "$TG_ROOT" PG_CONFIG="$PG_CONFIG" install >/dev/null
	elif ! make -s -C "$TG_ROOT" PG_CONFIG="$PG_CONFIG" install >/dev/null 2>&1 &&
		! tg_installed_build_is_current; then
		tg_die "cannot install into $("$PG_CONFIG" --pkglibdir): run 'sudo make install' first, or run as root"
	fi
}

# Print a TCP port nobody listens on.
tg_free_port() {
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
									  Proto => "tcp", Listen => 1) or die $!;
		print $s->sockport, "\n";'
}

# tg_start_cluster DIR PORT [PRELOAD]: initdb in DIR (which must not exist)
# and start a server on PORT with tenant_guard preloaded (or the
# shared_preload_libraries PRELOAD, '' for none); its socket is in DIR too.
# TG_CLUSTER_CONF, if set, holds more lines for its postgresql.conf.
tg_start_cluster() {
	local dir=$1 port=$2 preload=${3-tenant_guard}
	tg_as_owner mkdir -p "$dir"
	tg_as_owner "$PG_BINDIR/initdb" -D "$dir/data" -U postgres -A trust \
		-E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log"; tg_die "initdb failed"; }
	tg_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<-CONF
		port = $port
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$dir'
		shared_preload_libraries = '$preload'
		fsync = off
		log_line_prefix = '%m [%p] %q%a '
	CONF
	if [ -n "${TG_CLUSTER_CONF:-}" ]; then
		printf '%s\n' "$TG_CLUSTER_CONF" | tg_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
	fi
	tg_as_owner "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null ||
		{ tail -n 30 "$dir/server.log"; tg_die "the server did not start"; }
}

tg_stop_cluster() {
	local dir=$1
	[ -f "$dir/data/postmaster.pid" ] || return 0
	tg_as_owner "$PG_BINDIR/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 ||
		tg_as_owner "$PG_BINDIR/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}

# A directory the cluster owner can write, removed by the caller.
tg_make_workdir() {
	local dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/tenant_guard-$1.XXXXXX")
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	chmod 755 "$dir"
	if ! tg_as_owner test -w "$dir" 2>/dev/null; then
		rm -rf "$dir"
		tg_die "the postgres user cannot write $dir: every directory above it must be searchable by others"
	fi
	echo "$dir"
}

# tg_regress_results LOG: "NAME ok" or "NAME failed", one line per test that
# pg_regress or pg_isolation_regress reported in LOG, in either of their
# output formats: up to PostgreSQL 15 "test NAME ... ok" and "     NAME ...
# FAILED", from 16 on TAP ("ok 3         + NAME  12 ms", "not ok 4     - NAME").
tg_regress_results() {
	sed -nE \
		-e 's/^(test| {5}) ([^ ]+) +\.\.\. ok .*/\2 ok/p' \
		-e 's/^(test| {5}) ([^ ]+) +\.\.\. FAILED.*/\2 failed/p' \
		-e 's/^ok [0-9]+ +[-+] ([^ ]+) .*/\1 ok/p' \
		-e 's/^not ok [0-9]+ +[-+] ([^ ]+) .*/\1 failed/p' "$1"
}
