#!/bin/sh
# Install the Debian 12 packages Tusk needs to build, test, benchmark and
# package itself. Run as root (CI does); safe to run again.
set -eu
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: must run as root (apt-get)" >&2
	exit 1
fi
PKGS="
 build-essential pkg-config git ca-certificates openssl
 libpq-dev libevent-dev libmsgpack-dev libsqlite3-dev sqlite3
 libseccomp-dev libssh-dev libsecret-1-dev libglib2.0-dev
 libsoup-3.0-dev libwebkit2gtk-4.1-dev
 libcmocka-dev clang libclang-rt-14-dev valgrind
 postgresql postgresql-client
 gnome-keyring dbus libsecret-tools
 openssh-server openssh-client
 chromium xvfb xauth imagemagick webkit2gtk-driver xdotool
 python3 python3-pytest python3-msgpack
 tmux procps psmisc iproute2 util-linux time
 desktop-file-utils appstream debhelper dpkg-dev fakeroot lintian man-db librsvg2-bin systemd
"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
# Node.js may come from elsewhere than Debian (it brings its own npm).
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing
fi
echo "install-deps: all packages present"
