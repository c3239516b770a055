#!/bin/sh
# Are the Debian packages Tusk needs present? Exit 0 if so; otherwise list
# what is missing (quietly with --quiet) and exit 1.
quiet=${1:-}
missing=""
for m in libpq libevent msgpack sqlite3 libseccomp libssh libsecret-1 cmocka libsoup-3.0 webkit2gtk-4.1; do
	pkg-config --exists "$m" 2>/dev/null || missing="$missing $m(pkg-config)"
done
for c in cc clang make pkg-config /usr/bin/python3 /usr/lib/postgresql/15/bin/initdb psql openssl \
    gnome-keyring-daemon dbus-run-session /usr/sbin/sshd ssh-keygen chromium Xvfb xdotool node npm valgrind \
    rsvg-convert systemd-socket-activate dpkg-buildpackage dh lintian desktop-file-validate appstreamcli man; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
/usr/bin/python3 -c 'import msgpack, pytest' 2>/dev/null || missing="$missing python3-msgpack/python3-pytest"
[ -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ] || missing="$missing libclang-rt-14-dev"
if [ -n "$missing" ]; then
	[ "$quiet" = --quiet ] || echo "missing:$missing" >&2
	exit 1
fi
exit 0
