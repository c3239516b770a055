"""Test-side helpers: a msgpack-RPC client for the broker, and a broker
process under a private TUSK_HOME.

Binaries come from $TUSK_BIN (default build/bin). Sanitizer reports of the
broker and its workers are written under the broker's home (ASAN_OPTIONS
log_path) and make the test that stopped the broker fail.
"""
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import msgpack

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("TUSK_BIN", os.path.join(ROOT, "build", "bin")))


def wait_for(pred, timeout=15, step=0.02):
    """Poll pred until it returns something true (returned), or fail."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("condition not met in %ss" % timeout)


def children_of(pid):
    """Live (not zombie) child processes of pid."""
    pids = []
    for path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(path) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(")") + 2:].split()
        if rest[0] != "Z" and int(rest[1]) == pid:
            pids.append(int(path.split("/")[2]))
    return pids


@contextlib.contextmanager
def cpu_burners(n=2):
    """n processes that burn a CPU each while the block runs (a busy
    machine: a laptop compiling something); always stopped after."""
    procs = [subprocess.Popen(["/usr/bin/python3", "-c", "while 1: pass"]) for _ in range(n)]
    try:
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def running(pid):
    """Is pid a live process (not a zombie)? One that is reaped while we
    look (an init that reaps at once, as systemd does) is not."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return st[st.rfind(")") + 2:].split()[0] != "Z"


def live_children():
    """{ppid: [pid, ...]} of the live (not zombie) processes."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(")") + 2:].split()
        if rest[0] != "Z":
            kids.setdefault(int(rest[1]), []).append(int(d))
    return kids


def descendants(pid):
    """The live (not zombie) processes below pid, children first."""
    kids = live_children()
    out, todo = [], list(kids.get(pid, []))
    while todo:
        q = todo.pop()
        out.append(q)
        todo += kids.get(q, [])
    return out


def rss_kb(pid):
    """Resident memory of a process, in kB."""
    with open("/proc/%d/status" % pid) as f:
        return int([l for l in f if l.startswith("VmRSS")][0].split()[1])


class TuskError(Exception):
    """An error answer from the broker (the wire error map)."""

    def __init__(self, err):
        self.err = err
        super().__init__("%s: %s (hint: %s)" % (err.get("kind"), err.get("message"), err.get("hint")))

    def __getitem__(self, k):
        return self.err.get(k)


class Client:
    """One connection to the broker's socket."""

    def __init__(self, sock_path, timeout=30):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(sock_path)
        self.unpacker = msgpack.Unpacker(raw=False, max_buffer_size=200 * 1024 * 1024)
        self.msgid = 0
        self.pending = []   # messages read but not yet consumed
        self.notifications = []
        self.responses = {}  # answers to other requests, kept until asked for

    def close(self):
        self.s.close()

    def send_raw(self, data):
        self.s.sendall(data)

    def send(self, method, params=None, msgid=None):
        if msgid is None:
            self.msgid += 1
            msgid = self.msgid
        args = [params] if params is not None else []
        self.s.sendall(msgpack.packb([0, msgid, method, args], use_bin_type=True))
        return msgid

    def read_msg(self):
        while True:
            if self.pending:
                return self.pending.pop(0)
            for m in self.unpacker:
                self.pending.append(m)
            if self.pending:
                continue
            data = self.s.recv(1 << 20)
            if not data:
                raise EOFError("broker closed the connection")
            self.unpacker.feed(data)

    def wait_reply(self, msgid, on_notify=None):
        """Read until the response to msgid; notifications are kept (or passed on)."""
        while True:
            m = self.responses.pop(msgid, None) or self.read_msg()
            if m[0] == 2:
                if on_notify:
                    on_notify(m[1], m[2][0] if m[2] else None)
                else:
                    self.notifications.append((m[1], m[2][0] if m[2] else None))
                continue
            if m[0] == 1 and m[1] == msgid:
                if m[2] is not None:
                    raise TuskError(m[2])
                return m[3]
            if m[0] == 1:
                self.responses[m[1]] = m
                continue
            raise AssertionError("unexpected message %r" % (m,))

    def call(self, method, params=None, **kw):
        if params is None and kw:
            params = kw
        return self.wait_reply(self.send(method, params))

    def query(self, connection_id, sql, **kw):
        """execute_query, gathering streamed rows: returns (result, rows, columns)."""
        rows, columns = [], []
        p = dict(connection_id=connection_id, sql=sql)
        p.update(kw)
        mid = self.send("execute_query", p)

        def note(method, params):
            if method == "query_rows":
                rows.extend(params["rows"])
            elif method == "query_columns":
                columns.append(params["columns"])
            else:
                self.notifications.append((method, params))
        res = self.wait_reply(mid, note)
        if kw.get("max_rows") is not None:
            rows = res["rows"]
        return res, rows, columns


class Broker:
    """tuskd --foreground under a private TUSK_HOME."""

    def __init__(self, home=None, extra_args=(), env=None, start=True, bin_dir=None):
        self.bin = bin_dir or BIN
        self.home = home or tempfile.mkdtemp(prefix="th.", dir="/tmp")
        self.sock = os.path.join(self.home, "run", "tuskd.sock")
        self.env = dict(os.environ)
        self.env["TUSK_HOME"] = self.home
        self.env.pop("XDG_RUNTIME_DIR", None)
        os.makedirs(os.path.join(self.home, "san"), exist_ok=True)
        # crashes stay crashes (tests send SIGSEGV/SIGABRT on purpose); memory errors
        # are still reported by the instrumentation
        san = "log_path=%s/san/report:detect_leaks=1:abort_on_error=0:handle_segv=0:handle_abort=0:handle_sigbus=0:handle_sigfpe=0" % self.home
        self.env["ASAN_OPTIONS"] = san
        self.env["UBSAN_OPTIONS"] = "log_path=%s/san/ubsan:print_stacktrace=1" % self.home
        if env:
            for k, v in env.items():
                if v is None:
                    self.env.pop(k, None)
                else:
                    self.env[k] = v
        self.extra_args = list(extra_args)
        self.proc = None
        self.clients = []
        if start:
            self.start()

    def start(self, wait=True):
        self.out = open(os.path.join(self.home, "tuskd.out"), "ab")
        self.proc = subprocess.Popen([os.path.join(self.bin, "tuskd"), "--foreground", "--log-level", "debug"]
                                     + self.extra_args, env=self.env, stdout=self.out, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("tuskd exited with %s: %s" % (self.proc.returncode, self.output()))
            try:
                c = Client(self.sock)
                c.call("health_check")
                c.close()
                return
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.01)
        raise RuntimeError("tuskd did not come up: %s" % self.output())

    def client(self, timeout=30):
        c = Client(self.sock, timeout)
        self.clients.append(c)
        return c

    def output(self):
        try:
            with open(os.path.join(self.home, "tuskd.out"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def logs(self):
        text = ""
        for p in sorted(glob.glob(os.path.join(self.home, "logs", "tusk.*.log"))):
            with open(p, errors="replace") as f:
                text += f.read()
        return text

    def ctl(self, *args, input=None, env=None, timeout=60, check=False):
        """Run tuskctl against this broker."""
        e = dict(self.env)
        if env:
            e.update(env)
        r = subprocess.run([os.path.join(self.bin, "tuskctl")] + list(args), env=e, input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("tuskctl %s failed (%d): %s" % (args, r.returncode, r.stderr.decode()))
        return r

    def worker_pids(self):
        """Live child processes of the broker (its workers)."""
        return children_of(self.proc.pid)

    def sanitizer_reports(self):
        reports = []
        for p in glob.glob(os.path.join(self.home, "san", "*")):
            with open(p, errors="replace") as f:
                reports.append(f.read())
        out = self.output()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in out:
                reports.append(out)
                break
        return reports

    def stop(self, check=True):
        for c in self.clients:
            try:
                c.close()
            except OSError:
                pass
        self.clients = []
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
                raise AssertionError("tuskd did not stop on SIGTERM")
        elif self.proc:
            rc = self.proc.returncode
        self.out.close()
        if check:
            reports = self.sanitizer_reports()
            assert not reports, "sanitizer reports:\n" + "\n".join(reports)[:20000]
            assert rc == 0, "tuskd exited with %s: %s" % (rc, self.output()[-4000:])
        return rc

    def cleanup(self):
        shutil.rmtree(self.home, ignore_errors=True)
