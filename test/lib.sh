# Shell functions shared by `make test` (test/run-tests.sh) and `make demo`
# (test/demo/demo.sh): installing what is missing, building, and running a
# throwaway PostgreSQL cluster with tenant_guard preloaded.
#
# PostgreSQL refuses to run as root, so when these scripts run as root the
# clusters run as the postgres system user; a developer without root runs
# them as himself, after installing the packages and the extension once.

TG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
PG_CONFIG=${PG_CONFIG:-$PG_BINDIR/pg_config}
# Debian packages the build and the test suites need.
TG_PACKAGES=(postgresql-15 postgresql-server-dev-15 libpq-dev libipc-run-perl make gcc)

tg_log() { printf '==> %s\n' "$*"; }
tg_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

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

# Install the Debian packages the project needs (plus any named), once.
tg_ensure_packages() {
	local missing
	missing=$(tg_missing_packages "$@")
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		tg_die "missing packages: $missing
Install them with:  sudo apt-get update && sudo apt-get install -y $missing
or run this command as root, which installs them itself."
	fi
	tg_log "installing $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
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

# tg_start_cluster DIR PORT: initdb in DIR (which must not exist) and start a
# server on PORT with tenant_guard preloaded; its socket is in DIR too.
tg_start_cluster() {
	local dir=$1 port=$2
	tg_as_owner mkdir -p "$dir"
	tg_as_owner "$PG_BINDIR/initdb" -D "$dir/data" -U postgres -A trust \
		-E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log"; tg_die "initdb failed"; }
	tg_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<-CONF
		port = $port
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$dir'
		shared_preload_libraries = 'tenant_guard'
		fsync = off
		log_line_prefix = '%m [%p] %q%a '
	CONF
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
	echo "$dir"
}
