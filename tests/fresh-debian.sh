#!/bin/bash
# tests/fresh-debian.sh — do the README's two commands work on a really
# fresh Debian 12? (docs/testing.md: run it whenever dependencies change.)
#
#   sudo tests/fresh-debian.sh [DIR]      (DIR: build/fresh-debian)
#
# 1. debootstrap a minimal bookworm (variant minbase: the essential packages
#    and apt, nothing else) into DIR, and make it a machine: hostname, hosts,
#    Debian's archive with updates and security, and what this machine needs
#    to reach the archive and the npm registry (locally added CA
#    certificates, apt and npm proxy or registry settings).
# 2. Put a clean clone of HEAD into it (uncommitted changes are not tested).
# 3. Enter it in private mount, PID, UTS and IPC namespaces (pivot_root, not
#    chroot, so user namespaces work there as on a machine: WebKit's
#    bubblewrap needs them), with an init that reaps orphans, as a
#    machine's does. Mounts and processes die with the namespaces.
# 4. There, as a new user would: as root, install what the README says to
#    install first; create a user with sudo rights; as that user clone the
#    tree, run `make run` (bounded: it must install, build, start the demo
#    PostgreSQL and print the address, the page must load and the demo
#    database answer; then ^C and the stop commands it printed), then
#    `make test`.
# Exit 0 only if both passed; the last line is the summary. Logs go to
# DIR.logs/. DIR is removed after a pass, kept after a failure (remove it
# with `rm -rf --one-file-system DIR`).
#
# Environment:
#   TUSK_FRESH_MIRROR, TUSK_FRESH_SECURITY_MIRROR   Debian archive URLs
#       (default: the ones this machine's apt uses for bookworm)
#   TUSK_FRESH_VARIANT    debootstrap variant (minbase)
#   TUSK_FRESH_KEEP=1     keep DIR after a pass too
#   TUSK_FRESH_REUSE=1    reuse DIR's system if it is there (skips debootstrap;
#                         a new user and clone all the same): for debugging a
#                         failure quickly, never as the proof
#   TUSK_FRESH_RUN_TIMEOUT, TUSK_FRESH_TEST_TIMEOUT   seconds (3600, 5400)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

# The whole script is read before it runs (functions, called at the end):
# editing it during a run changes nothing under the run's feet.

# --- stage 2: PID 2 in the new namespaces, still on this machine's root
enter() {
	dir=$1
	logs=$2
	hostname tusk-fresh
	mount --bind "$dir" "$dir" # a mount point, for pivot_root
	mount -t proc -o nosuid,nodev,noexec proc "$dir/proc"
	mount --rbind /sys "$dir/sys"
	mount --rbind /dev "$dir/dev"
	mount -t tmpfs -o nosuid,nodev,mode=1777 shm "$dir/dev/shm"
	mount -t tmpfs -o nosuid,nodev,mode=755 run "$dir/run"
	mkdir -p "$dir/var/log/tusk-fresh"
	mount --bind "$logs" "$dir/var/log/tusk-fresh"
	cd "$dir"
	mkdir -p .host
	pivot_root . .host
	cd /
	umount -l /.host
	rmdir /.host
	exec /bin/bash /root/tusk-fresh-inside.sh
}

# --- stage 1: this machine
main() {
if [ "$(id -u)" != 0 ]; then
	echo "fresh-debian: needs root (debootstrap, mounts): sudo $0 $*" >&2
	exit 1
fi
DIR=${1:-$ROOT/build/fresh-debian}
mkdir -p "$(dirname "$DIR")"
DIR=$(cd "$(dirname "$DIR")" && pwd)/$(basename "$DIR")
LOGS=$DIR.logs
VARIANT=${TUSK_FRESH_VARIANT:-minbase}
start=$(date +%s)
say() { printf '[fresh-debian %s] %s\n' "$(date +%T)" "$*"; }

if grep -q " ${DIR}[/ ]" /proc/self/mountinfo; then
	echo "fresh-debian: something is mounted under $DIR; unmount it first" >&2
	exit 1
fi
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ]; then
	say "note: uncommitted changes are not tested (a clone of HEAD is)"
fi

site_of() { # the archive this machine's apt uses for a suite
	# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
	apt-get indextargets --format '$(RELEASE) $(SITE)' 2>/dev/null | awk -v r="$1" '$1 == r { print $2; exit }'
}
MIRROR=${TUSK_FRESH_MIRROR:-$(site_of bookworm)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${TUSK_FRESH_SECURITY_MIRROR:-$(site_of bookworm-security)}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}

rm -rf --one-file-system "$LOGS"
mkdir -p "$LOGS"
if [ "${TUSK_FRESH_REUSE:-}" = 1 ] && [ -e "$DIR/.tusk-fresh-base" ]; then
	say "reusing the system in $DIR (TUSK_FRESH_REUSE=1: not a proof)"
else
	rm -rf --one-file-system "$DIR"
	if ! command -v debootstrap >/dev/null 2>&1; then
		say "installing debootstrap"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >"$LOGS/host-apt.log" 2>&1 ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } >>"$LOGS/host-apt.log" 2>&1
	fi
	say "debootstrap --variant=$VARIANT bookworm $DIR $MIRROR"
	if ! debootstrap --variant="$VARIANT" bookworm "$DIR" "$MIRROR" >"$LOGS/debootstrap.log" 2>&1; then
		tail -20 "$LOGS/debootstrap.log"
		echo "fresh-debian: FAIL (debootstrap)"
		exit 1
	fi
	touch "$DIR/.tusk-fresh-base"
fi

# What a machine has and debootstrap does not write: a name, hosts, the
# archive's updates and security suites.
echo tusk-fresh >"$DIR/etc/hostname"
cat >"$DIR/etc/hosts" <<'EOF'
127.0.0.1	localhost
127.0.1.1	tusk-fresh
::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
EOF
cat >"$DIR/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
EOF
cp -L /etc/resolv.conf "$DIR/etc/resolv.conf"
# No daemon starts in the tree (it has no init, and it shares this machine's
# network: an sshd on port 22 or a PostgreSQL on 5432 would collide). Tusk's
# tests start their own servers.
printf '#!/bin/sh\nexit 101\n' >"$DIR/usr/sbin/policy-rc.d"
chmod 755 "$DIR/usr/sbin/policy-rc.d"

# How this machine reaches the archive and the registry: locally added CA
# certificates (ca-certificates, once installed there, adds them to the
# bundle), proxies, an npm registry other than the default.
if [ -d /usr/local/share/ca-certificates ]; then
	mkdir -p "$DIR/usr/local/share/ca-certificates"
	cp -R /usr/local/share/ca-certificates/. "$DIR/usr/local/share/ca-certificates/"
fi
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
	mkdir -p "$DIR/etc/ssl/certs"
	cp /etc/ssl/certs/ca-certificates.crt "$DIR/etc/ssl/certs/"
fi
apt-config dump 2>/dev/null | grep -Ei '^Acquire::(http|https|ftp)::Proxy' >"$DIR/etc/apt/apt.conf.d/80tusk-fresh-proxy" || true
: >"$DIR/etc/environment.tusk-fresh"
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
	eval "val=\${$v:-}"
	[ -n "$val" ] && echo "$v=$val" >>"$DIR/etc/environment.tusk-fresh"
done
[ -n "${http_proxy:-}" ] && echo "Acquire::http::Proxy \"$http_proxy\";" >>"$DIR/etc/apt/apt.conf.d/80tusk-fresh-proxy"
[ -n "${https_proxy:-}" ] && echo "Acquire::https::Proxy \"$https_proxy\";" >>"$DIR/etc/apt/apt.conf.d/80tusk-fresh-proxy"
cat "$DIR/etc/environment.tusk-fresh" >>"$DIR/etc/environment"
rm -f "$DIR/etc/npmrc"
if command -v npm >/dev/null 2>&1; then
	for k in registry proxy https-proxy noproxy; do
		val=$(npm config get "$k" 2>/dev/null || true)
		case "$k=$val" in
		registry=https://registry.npmjs.org/ | *=null | *=undefined | *=) ;;
		*) echo "$k=$val" >>"$DIR/etc/npmrc" ;;
		esac
	done
fi

# The source: a clean clone of HEAD, as a repository to clone from.
rm -rf "$DIR/srv/tusk.git"
git init -q --bare "$DIR/srv/tusk.git"
git -C "$ROOT" push -q "$DIR/srv/tusk.git" HEAD:refs/heads/main
git -C "$DIR/srv/tusk.git" symbolic-ref HEAD refs/heads/main
say "testing $(git -C "$ROOT" log -1 --format='%h %s' | cut -c1-70)"

# --- stage 3, inside: as root, then as a new user
cat >"$DIR/root/tusk-fresh-inside.sh" <<'INSIDE'
set -u
L=/var/log/tusk-fresh
U=tusk-user
RUN_TIMEOUT=@RUN_TIMEOUT@
TEST_TIMEOUT=@TEST_TIMEOUT@
say() { printf '[fresh-debian %s] %s\n' "$(date +%T)" "$*"; }
result() { echo "$1" >>"$L/results"; say "$1"; }
export DEBIAN_FRONTEND=noninteractive
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
install -d -m 1777 /run/lock
install -d -m 755 /run/user

# 1. what the README says to install first (its "apt install" line)
first=$(sed -n 's/^apt install \([^#]*[^# ]\).*/\1/p' /srv/README.md | head -1)
if [ -z "$first" ]; then
	result "FAIL: the README names nothing to install first (no 'apt install' line)"
	exit 1
fi
say "as root: apt install $first"
# shellcheck disable=SC2086 # a list of packages
if ! { apt-get update && apt-get install -y $first; } >"$L/first-install.log" 2>&1; then
	tail -20 "$L/first-install.log"
	result "FAIL: apt install $first"
	exit 1
fi
result "ok: apt install $first"

# 2. a new user with sudo rights, logged in: /run/user/UID as logind makes
# it; sudo without a password, since no one is there to type it
userdel -r "$U" >/dev/null 2>&1 || true
useradd --create-home --shell /bin/bash "$U"
usermod -aG sudo "$U"
echo "$U ALL=(ALL:ALL) NOPASSWD: ALL" >/etc/sudoers.d/tusk-fresh
chmod 440 /etc/sudoers.d/tusk-fresh
uid=$(id -u "$U")
rm -rf "/run/user/$uid"
install -d -m 700 -o "$U" -g "$U" "/run/user/$uid"
chown -R "$U:" /srv/tusk.git

# shellcheck disable=SC2046
as_user() {
	runuser -u "$U" -- env -i HOME="/home/$U" USER="$U" LOGNAME="$U" SHELL=/bin/bash \
	    PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games XDG_RUNTIME_DIR="/run/user/$uid" \
	    TERM=dumb $(cat /etc/environment.tusk-fresh) "$@" # proxies, if any: NAME=VALUE words
}

if ! as_user sh -c 'git clone -q /srv/tusk.git ~/tusk' >"$L/clone.log" 2>&1; then
	cat "$L/clone.log"
	result "FAIL: git clone"
	exit 1
fi

# 3. make run: installs, builds, starts; without a display it prints the
# address and serves until ^C
say "as $U: make run (at most ${RUN_TIMEOUT}s to print the address)"
# in a session of its own, whose id (its shell's pid) ^C below goes to
rm -f "/home/$U/make-run.sid"
as_user setsid sh -c 'echo $$ >~/make-run.sid; cd ~/tusk && exec make run' >"$L/make-run.log" 2>&1 </dev/null &
runner=$!
url=""
t0=$(date +%s)
while [ $(($(date +%s) - t0)) -lt "$RUN_TIMEOUT" ] && kill -0 "$runner" 2>/dev/null; do
	url=$(grep -Eo '^http://127\.0\.0\.1:[0-9]+/\?token=[0-9a-f]{64}$' "$L/make-run.log" | head -1)
	[ -n "$url" ] && break
	sleep 2
done
run_ok=1
if [ -z "$url" ]; then
	tail -40 "$L/make-run.log"
	result "FAIL: make run printed no address within ${RUN_TIMEOUT}s"
	run_ok=0
else
	say "make run serves $url ($(($(date +%s) - t0))s)"
	# as a browser: the token is traded for a cookie and a redirect
	page=$(as_user /usr/bin/python3 -c 'import sys, urllib.request as u, http.cookiejar as c
print(u.build_opener(u.HTTPCookieProcessor(c.CookieJar())).open(sys.argv[1], timeout=20).read().decode())' "$url" 2>&1)
	if ! printf '%s' "$page" | grep -q '<title>Tusk</title>'; then
		printf '%s\n' "$page" | tail -5
		result "FAIL: make run: the page did not load"
		run_ok=0
	fi
	if ! demo=$(as_user sh -c 'cd ~/tusk && build/bin/tuskctl query -c Demo "select count(*) from customers"' 2>&1); then
		printf '%s\n' "$demo"
		result "FAIL: make run: the Demo connection does not answer"
		run_ok=0
	fi
fi
# ^C, as in its terminal, then the stop commands it printed
sid=$(cat "/home/$U/make-run.sid" 2>/dev/null)
[ -n "$sid" ] && kill -INT -- "-$sid" 2>/dev/null
for _ in $(seq 30); do kill -0 "$runner" 2>/dev/null || break; sleep 1; done
if kill -0 "$runner" 2>/dev/null; then
	result "FAIL: make run did not stop on ^C within 30s"
	run_ok=0
	[ -n "$sid" ] && kill -KILL -- "-$sid" 2>/dev/null
fi
wait "$runner" 2>/dev/null
stopdemo=$(sed -n 's/^ *\(scripts\/demo-pg\.sh stop .*[^ ]\) *# stops the demo database$/\1/p' "$L/make-run.log" | head -1)
as_user sh -c "cd ~/tusk && build/bin/tuskctl shutdown" >>"$L/make-run.log" 2>&1
[ -n "$stopdemo" ] && as_user sh -c "cd ~/tusk && $stopdemo" >>"$L/make-run.log" 2>&1
[ "$run_ok" = 1 ] && result "ok: make run (address printed, page loaded, Demo answered, stopped on ^C)"

# 4. make test
say "as $U: make test (at most ${TEST_TIMEOUT}s)"
t0=$(date +%s)
as_user timeout -k 30 "$TEST_TIMEOUT" sh -c 'cd ~/tusk && make test' >"$L/make-test.log" 2>&1 </dev/null
rc=$?
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$L/make-test.log" | tail -1)
took=$(($(date +%s) - t0))
if [ "$rc" -eq 0 ]; then
	result "ok: make test in ${took}s: $summary"
	test_ok=1
else
	grep -E '^failed:|^FAILED|^ERROR|^not ok' "$L/make-test.log" | head -40
	tail -5 "$L/make-test.log"
	result "FAIL: make test (exit $rc) in ${took}s: ${summary:-no summary line}"
	test_ok=0
fi

# 5. what is still running after both: a leak of the project's, or of the
# commands above. Listed, then ended one by one (PID 1 is the reaper).
left=""
for p in /proc/[0-9]*; do
	pid=${p#/proc/}
	[ "$pid" = 1 ] || [ "$pid" = $$ ] && continue
	[ -r "$p/cmdline" ] || continue
	cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-120)
	[ -n "$cmd" ] || continue
	left="$left $pid"
	echo "  still running: $pid $cmd" >>"$L/leftovers.log"
done
if [ -n "$left" ]; then
	say "processes still running after the commands (see leftovers.log):"
	cat "$L/leftovers.log"
	for pid in $left; do kill -TERM "$pid" 2>/dev/null; done
	sleep 2
	for pid in $left; do kill -KILL "$pid" 2>/dev/null; done
fi
[ "$run_ok" = 1 ] && [ "$test_ok" = 1 ]
INSIDE
sed -i -e "s/@RUN_TIMEOUT@/${TUSK_FRESH_RUN_TIMEOUT:-3600}/" -e "s/@TEST_TIMEOUT@/${TUSK_FRESH_TEST_TIMEOUT:-5400}/" \
    "$DIR/root/tusk-fresh-inside.sh"
git -C "$ROOT" show HEAD:README.md >"$DIR/srv/README.md"

# PID 1 of the new PID namespace: reaps every orphan (as a machine's init
# does: tests wait for daemons to be gone), ends with the inside script.
REAPER='
import os, signal, subprocess, sys
child = subprocess.Popen(sys.argv[1:])
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        sys.exit(1)
    if pid == child.pid:
        code = os.waitstatus_to_exitcode(status)
        sys.exit(code if code >= 0 else 128 - code)
'
say "entering the new system (logs: $LOGS)"
set +e
unshare --mount --uts --ipc --pid --fork --propagation private \
    /usr/bin/python3 -c "$REAPER" /bin/bash "$0" --enter "$DIR" "$LOGS"
rc=$?
set -e
elapsed=$(($(date +%s) - start))
took=$(printf '%dm%02ds' $((elapsed / 60)) $((elapsed % 60)))
echo
sed 's/^/  /' "$LOGS/results" 2>/dev/null
if [ "$rc" -eq 0 ]; then
	[ "${TUSK_FRESH_KEEP:-}" = 1 ] || rm -rf --one-file-system "$DIR"
	echo "fresh-debian: PASS in $took on a debootstrapped Debian 12 ($VARIANT): $(grep -o 'make test in .*' "$LOGS/results")"
	exit 0
fi
echo "fresh-debian: FAIL in $took (logs in $LOGS; the system is kept in $DIR)"
exit 1
}

if [ "${1:-}" = --enter ]; then
	enter "$2" "$3"
else
	main "$@"
fi
exit
