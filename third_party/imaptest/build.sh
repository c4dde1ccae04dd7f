#!/usr/bin/env bash
# Builds Dovecot's imaptest from the tarball beside this script against
# Debian's dovecot-dev (see README.md here for where it comes from).
#
#   usage: third_party/imaptest/build.sh OUTDIR
#   result: OUTDIR/imaptest (the binary) and OUTDIR/tests (the scripted
#   test groups); prints the binary's path.
#
# Needs: apt-get install dovecot-dev autoconf automake libtool pkg-config make gcc libssl-dev
# (.ci/run installs them). An OUTDIR that already holds a build is reused.
# The result is installed with a rename, so two builds racing for the same
# OUTDIR (two test binaries) each see either nothing or a whole build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build.sh OUTDIR}"
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
if [ -x "$out/imaptest" ] && [ -d "$out/tests" ]; then echo "$out/imaptest"; exit 0; fi

dovecot_lib=/usr/lib/dovecot
if [ ! -f "$dovecot_lib/dovecot-config" ] || [ ! -f /usr/include/dovecot/imap-parser.h ]; then
	echo "imaptest build: Dovecot's development files are missing ($dovecot_lib/dovecot-config, /usr/include/dovecot);" \
		"install the Debian package dovecot-dev (and autoconf automake libtool pkg-config make gcc libssl-dev)" >&2
	exit 3
fi
for tool in autoreconf libtoolize aclocal automake pkg-config make gcc; do
	command -v "$tool" >/dev/null || { echo "imaptest build: $tool not found (apt-get install autoconf automake libtool pkg-config make gcc)" >&2; exit 3; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
src="$work/src"
mkdir "$src"
tar -xzf "$here/imaptest-release-2.3-0de0dbf.tar.gz" -C "$src"
cd "$src"
# Debian's dovecot 2.3.19.1+dfsg1-2.1+deb12u7 gave imap_parser_create() a
# fourth argument (struct imap_parser_params); pass the default parameters
# at imaptest's three call sites. Older headers need no change.
if grep -q "struct imap_parser_params" /usr/include/dovecot/imap-parser.h; then
	sed -i 's/imap_parser_create(\(.*\), (size_t)-1);/imap_parser_create(\1, (size_t)-1, \&(const struct imap_parser_params){ .list_count_limit = 0 });/' \
		src/commands.c src/imap-client.c src/test-parser.c
fi
# A crash of imaptest's own (its client_update_plan asserts that a client
# that is not logged in has an empty plan; a client that a checkpoint meets
# while it reconnects after LOGOUT can still hold the old session's plan,
# and the stress run then aborts): drop the old plan instead, since nothing
# else can be sent before LOGIN. This changes no check imaptest makes.
# Recorded in README.md here; the build folder's name carries "-p1".
sed -i 's|i_assert(client->plan_size == 0);|client->plan_size = 0; /* barid: see third_party/imaptest/README.md */|' src/client-state.c
grep -q "barid: see third_party/imaptest/README.md" src/client-state.c || { echo "imaptest build: the client-state.c patch did not apply" >&2; exit 1; }
log="$work/build.log"
{
	./autogen.sh
	./configure --with-dovecot="$dovecot_lib" LDFLAGS="-Wl,-rpath,$dovecot_lib"
	make -j"$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
} >"$log" 2>&1 || { echo "imaptest build failed; last lines of the log:" >&2; tail -30 "$log" >&2; exit 1; }

stage="$work/out"
mkdir "$stage"
cp src/imaptest "$stage/imaptest"
cp -r src/tests "$stage/tests"
cp "$log" "$stage/build.log"
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
rm -rf "$tmp"
cp -r "$stage" "$tmp"
if ! mv -T "$tmp" "$out" 2>/dev/null; then
	# Another build got there first (mv -T refuses a non-empty target).
	rm -rf "$tmp"
	[ -x "$out/imaptest" ] || { echo "imaptest build: could not install into $out" >&2; exit 1; }
fi
echo "$out/imaptest"
