"""Socket activation: tuskd serves on a listening socket passed the systemd
way (LISTEN_PID/LISTEN_FDS, descriptor 3), as tuskd.socket passes it.

With systemd's own tool (systemd-socket-activate, from the systemd package)
and with a harness of ours that binds the socket and execs tuskd on it, so
that the refusals (a second broker, a socket that is not ours, a bad count)
are tried too. Without systemd the broker binds its own socket: every other
suite shows that."""
import os
import shutil
import socket
import stat
import subprocess

from tusk import BIN, Broker, Client, wait_for

ACTIVATE = shutil.which("systemd-socket-activate")




def proc_read(path):
    """A /proc file of the broker's or a worker's. Workers (and the release
    broker) are not dumpable: to anyone but root their files are closed, and
    None says so; root reads them all."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except PermissionError:
        if os.geteuid() == 0:
            raise
        return None


def ino(path):
    """The socket file's inode (None when there is none): a rebind changes it."""
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def listening_socket(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    return s


def new_home():
    b = Broker(start=False)
    run = os.path.join(b.home, "run")
    os.makedirs(run, mode=0o700, exist_ok=True)
    os.chmod(run, 0o700)
    return b


def start_inherited(b, sock, listen_pid="self", listen_fds="1", args=()):
    """Exec tuskd with `sock` as descriptor 3 and LISTEN_* set for it."""
    def child():
        os.dup2(sock.fileno(), 3)
    env = dict(b.env)
    env["LISTEN_FDS"] = listen_fds
    env["LISTEN_FDNAMES"] = "tuskd.socket"
    # the pid is only known in the child: a shell sets it and execs tuskd
    pid = '$$' if listen_pid == "self" else listen_pid
    cmd = ["/bin/sh", "-c", 'LISTEN_PID=%s exec "$0" "$@"' % pid, os.path.join(BIN, "tuskd"),
           "--foreground", "--log-level", "debug"] + list(args)
    b.out = open(os.path.join(b.home, "tuskd.out"), "ab")
    b.proc = subprocess.Popen(cmd, env=env, stdout=b.out, stderr=subprocess.STDOUT,
                              preexec_fn=child, pass_fds=(3,))
    return b


def run_inherited(b, sock, **kw):
    """Run tuskd on `sock` to its end: (exit code, its output)."""
    start_inherited(b, sock, **kw)
    rc = b.proc.wait(30)
    b.out.close()
    return rc, b.output()


def test_systemd_socket_activate_starts_and_serves(pg):
    assert ACTIVATE, "systemd-socket-activate is missing: scripts/install-deps.sh installs it (package systemd)"
    b = new_home()
    env = dict(b.env)
    b.out = open(os.path.join(b.home, "tuskd.out"), "ab")
    b.proc = subprocess.Popen(
        [ACTIVATE, "-l", b.sock, "-E", "TUSK_HOME", "-E", "ASAN_OPTIONS", "-E", "UBSAN_OPTIONS",
         os.path.join(BIN, "tuskd"), "--log-level", "debug"],
        env=env, stdout=b.out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: ino(b.sock))
        before = ino(b.sock)
        # nothing runs tuskd until the first client connects
        assert not os.path.exists(os.path.join(b.home, "run", "tuskd.lock"))
        c = b.client()
        h = c.call("health_check")
        assert h["status"] == "ok" and h["pid"] == b.proc.pid
        assert "passed by systemd" in b.logs()
        # the broker serves on systemd's socket: never unlinked or bound again
        assert ino(b.sock) == before
        assert stat.S_IMODE(os.stat(os.path.join(b.home, "run")).st_mode) == 0o700
        # a query goes through a worker that inherited neither the socket nor LISTEN_*
        cid = c.call("connect", config=pg.config(name="activated"), password="tuskpw")["connection_id"]
        res, rows, _ = c.query(cid, "select 6 * 7")
        assert rows == [[42]]
        workers = b.worker_pids()
        assert workers
        for w in workers:
            env = proc_read("/proc/%d/environ" % w)
            assert env is None or b"LISTEN_" not in env
        fdinfo = proc_read("/proc/%d/fdinfo/3" % b.proc.pid)
        if fdinfo is not None:
            flags = int([ln.split()[1] for ln in fdinfo.decode().splitlines() if ln.startswith("flags:")][0], 8)
            assert flags & os.O_CLOEXEC
        # tuskctl finds it the usual way, and does not start another
        r = b.ctl("--no-start", "--json", "status", check=True)
        assert b'"pid":%d' % b.proc.pid in r.stdout
        c.call("disconnect", connection_id=cid)
    finally:
        b.stop()
    # systemd owns the socket file: the broker left it in place
    assert ino(b.sock) == before
    assert "stopped" in b.logs()
    b.cleanup()


def test_inherited_socket_second_broker_refused():
    b = new_home()
    s = listening_socket(b.sock)
    before = ino(b.sock)
    try:
        start_inherited(b, s)
        b.wait_ready()
        pid = b.proc.pid
        # another activation while the first runs: the lock says no, the socket stays
        b2 = Broker(home=b.home, start=False)
        rc, out = run_inherited(b2, s)
        assert rc == 0, out
        assert "already running" in out and str(pid) in out
        assert ino(b.sock) == before
        c = Client(b.sock)
        assert c.call("health_check")["pid"] == pid
        c.close()
    finally:
        s.close()
        b.stop()
    assert ino(b.sock) == before
    b.cleanup()


def test_inherited_socket_on_another_path_is_refused():
    b = new_home()
    other = os.path.join(b.home, "elsewhere.sock")
    s = listening_socket(other)
    try:
        rc, out = run_inherited(b, s)
    finally:
        s.close()
    assert rc == 1, out
    assert other in out and b.sock in out and "ListenStream" in out
    assert not os.path.exists(b.sock)
    b.cleanup()


def test_inherited_sockets_must_be_exactly_one():
    b = new_home()
    s = listening_socket(b.sock)
    try:
        rc, out = run_inherited(b, s, listen_fds="2")
    finally:
        s.close()
    assert rc == 1 and "exactly one" in out, out
    b.cleanup()


def test_inherited_descriptor_must_be_a_listening_socket():
    b = new_home()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # bound to nothing, not listening
    try:
        rc, out = run_inherited(b, s)
    finally:
        s.close()
    assert rc == 1 and "not a listening Unix stream socket" in out, out
    b.cleanup()


def test_sockets_meant_for_another_process_are_ignored():
    b = new_home()
    s = listening_socket(b.sock)
    before = ino(b.sock)
    try:
        # LISTEN_PID names someone else (a parent that forgot to clear it)
        start_inherited(b, s, listen_pid="1")
        # the broker binds a socket of its own at its path (until then, a
        # client would reach ours, which nobody serves)
        wait_for(lambda: ino(b.sock) not in (None, before))
        b.wait_ready()
        assert "passed by systemd" not in b.logs()
    finally:
        s.close()
        b.stop()
    assert not os.path.exists(b.sock)
    b.cleanup()
