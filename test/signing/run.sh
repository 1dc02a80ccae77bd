#!/usr/bin/env bash
# The signing snippets of doc/tenant-context.md ("Signing the context"),
# tested: each language's signing function (test/signing/tenant_context.*)
# signs fixed values with a fixed 40-character key, and each result must be
# the value followed by the HMAC-SHA256 that `openssl dgst -sha256 -hmac`
# computes (python's hmac where openssl is missing); and each file's snippet
# must still be in the doc, word for word.  No server is needed.
#
# One line per check: "ok LANG", "FAIL LANG: why" or "skip LANG: why" for a
# language whose runtime is missing; exit status 1 on any failure.  The C
# snippet needs libssl-dev and libpq-dev: run as root, this installs them
# when missing, as make test does for its packages.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DOC=$(cd "$HERE/../../doc" && pwd)/tenant-context.md
KEY=tenant-guard-signing-test-key-0123456789 # 40 characters
# tenants|exp|pid (empty: no pid)
CASES=(
	"5|1767225600|"
	"5,7|1767225600|4242"
	"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|2000000000|"
	"ümlaut-firm,42|1767225600|2147483647"
)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tenant_guard-signing.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
failed=0

ok() { echo "ok $*"; }
fail() { echo "FAIL $*"; failed=1; }
skip() { echo "skip $*"; }

if [ "${#KEY}" -ne 40 ]; then
	fail "setup: the key is ${#KEY} characters, not 40"
fi

# The expected HMAC-SHA256 of $1 under $KEY, lowercase hex.
reference() {
	if command -v openssl >/dev/null 2>&1; then
		printf '%s' "$1" | openssl dgst -sha256 -hmac "$KEY" | sed 's/^.*= *//'
	else
		python3 -c 'import hashlib, hmac, sys
print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' "$KEY" "$1"
	fi
}

# The signed value the doc specifies: tenants;exp=N[;pid=N];sig=HEX.
expected() {
	local tenants=$1 exp=$2 pid=$3 value
	value="$tenants;exp=$exp"
	[ -n "$pid" ] && value="$value;pid=$pid"
	printf '%s;sig=%s\n' "$value" "$(reference "$value")"
}

# The two references agree (openssl's output format differs by version).
if command -v openssl >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
	o=$(printf '%s' "5;exp=1767225600" | openssl dgst -sha256 -hmac "$KEY" | sed 's/^.*= *//')
	p=$(python3 -c 'import hashlib, hmac, sys
print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' "$KEY" "5;exp=1767225600")
	if [ -n "$o" ] && [ "$o" = "$p" ]; then
		ok "reference: openssl dgst and python hmac agree"
	else
		fail "reference: openssl dgst says '$o', python hmac '$p'"
	fi
elif ! command -v openssl >/dev/null 2>&1 && ! command -v python3 >/dev/null 2>&1; then
	fail "reference: neither openssl nor python3 is installed"
	exit 1
fi

# check LANG COMMAND...: run COMMAND KEY TENANTS EXP [PID] for every case.
check() {
	local lang=$1 c tenants exp pid got want bad=
	shift
	for c in "${CASES[@]}"; do
		IFS='|' read -r tenants exp pid <<<"$c"
		want=$(expected "$tenants" "$exp" "$pid")
		if [ -n "$pid" ]; then
			got=$("$@" "$KEY" "$tenants" "$exp" "$pid" 2>"$TMP/err")
		else
			got=$("$@" "$KEY" "$tenants" "$exp" 2>"$TMP/err")
		fi
		if [ "$got" != "$want" ]; then
			bad="for '$tenants' exp $exp pid '${pid}': got '$got' $(head -c 300 "$TMP/err"), want '$want'"
			break
		fi
	done
	if [ -n "$bad" ]; then
		fail "$lang: $bad"
	else
		ok "$lang"
	fi
}

# snippet LANG FILE: the lines between FILE's snippet markers are a block of
# lines of the doc.
snippet() {
	local lang=$1 file=$2
	if ! command -v python3 >/dev/null 2>&1; then
		skip "$lang snippet: python3 is missing to compare it with the doc"
		return
	fi
	if python3 - "$HERE/$file" "$DOC" 2>"$TMP/snippet.err" <<-'PY'; then
		import sys
		lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
		begin = [i for i, l in enumerate(lines) if "--- snippet begin ---" in l]
		end = [i for i, l in enumerate(lines) if "--- snippet end ---" in l]
		if len(begin) != 1 or len(end) != 1 or end[0] <= begin[0] + 1:
		    sys.exit("no snippet markers in " + sys.argv[1])
		block = "\n".join(lines[begin[0] + 1:end[0]]) + "\n"
		doc = open(sys.argv[2], encoding="utf-8").read()
		if ("\n" + block) not in doc:
		    sys.exit("its snippet is not in doc/tenant-context.md word for word")
	PY
		ok "$lang snippet in doc/tenant-context.md"
	else
		fail "$lang snippet: $file: $(tail -n 1 "$TMP/snippet.err")"
	fi
}

# Python
snippet python tenant_context.py
if command -v python3 >/dev/null 2>&1; then
	check python python3 "$HERE/tenant_context.py"
else
	skip "python: python3 is not installed"
fi

# Ruby
snippet ruby tenant_context.rb
if ! command -v ruby >/dev/null 2>&1; then
	skip "ruby: ruby is not installed"
elif ! ruby -ropenssl -e 1 >/dev/null 2>&1; then
	skip "ruby: ruby does not run or has no openssl library ($(ruby -ropenssl -e 1 2>&1 | head -n 1))"
else
	check ruby ruby "$HERE/tenant_context.rb"
fi

# Node
snippet node tenant_context.js
if command -v node >/dev/null 2>&1; then
	check node node "$HERE/tenant_context.js"
else
	skip "node: node is not installed"
fi

# Go
snippet go tenant_context.go
if ! command -v go >/dev/null 2>&1; then
	skip "go: go is not installed"
elif (cd "$TMP" && GOCACHE="$TMP/gocache" GOPATH="$TMP/gopath" GO111MODULE=off \
	go build -o "$TMP/tenant_context_go" "$HERE/tenant_context.go") >"$TMP/go.log" 2>&1; then
	check go "$TMP/tenant_context_go"
else
	fail "go: does not build: $(head -c 600 "$TMP/go.log")"
fi

# C: OpenSSL's HMAC, and libpq for set_tenant_context() (compiled, not run)
snippet c tenant_context.c
c_missing=()
for pkg in libssl-dev libpq-dev; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		c_missing+=("$pkg")
done
if [ "${#c_missing[@]}" -gt 0 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "==> installing ${c_missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null 2>&1
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${c_missing[@]}" \
		>/dev/null 2>&1 && c_missing=()
fi
CC=${CC:-cc}
read -r -a c_flags <<<"$(pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)"
if ! command -v "$CC" >/dev/null 2>&1; then
	skip "c: no C compiler ($CC)"
elif ! printf '#include <openssl/hmac.h>\n#include <libpq-fe.h>\n' |
	"$CC" "${c_flags[@]}" -E -x c - >/dev/null 2>&1; then
	skip "c: no OpenSSL or libpq headers (sudo apt-get install ${c_missing[*]:-libssl-dev libpq-dev}, or run as root)"
elif "$CC" -std=c99 -Wall -Wextra -Werror "${c_flags[@]}" -o "$TMP/tenant_context_c" \
	"$HERE/tenant_context.c" -lpq -lcrypto >"$TMP/c.log" 2>&1; then
	check c "$TMP/tenant_context_c"
else
	fail "c: does not compile: $(head -c 600 "$TMP/c.log")"
fi

exit "$failed"
