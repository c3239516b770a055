"""The worker's sandbox, against the real broker, workers and PostgreSQL:
`tusk-worker --sandbox-selftest` at the kernel's Landlock ABI and at forced
lower ones (the fallback taken for real), everything a worker does still
working with the sandbox on (queries, cancel, a large stream, a Unix
socket, a host name, TLS verify-full with a CA file), the broker's log
saying what was applied, SIGSYS reported as a sandbox violation, the
process state seen from outside (also for an unprivileged user), the
memory cap, and a valgrind run of a sandboxed worker (LeakSanitizer cannot
run inside the sandbox)."""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from tusk import BIN, ROOT, Broker, TuskError

WORKER = os.path.join(BIN, "tusk-worker")
SAN = "/asan" in BIN or os.path.basename(os.path.dirname(BIN)) == "asan"
FATAL = ["exec", "ptrace", "process_vm_readv", "mount", "unshare"]


@pytest.fixture(scope="module")
def files():
    """A private directory with a tusk.db to hide, a CA to allow, a place to write."""
    d = tempfile.mkdtemp(prefix="tsbx.", dir="/tmp")
    os.makedirs(os.path.join(d, "data"))
    os.makedirs(os.path.join(d, "san"))
    with open(os.path.join(d, "data", "tusk.db"), "w") as f:
        f.write("SQLite format 3\0 secrets")
    with open(os.path.join(d, "ca.crt"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\n")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def listener():
    """A TCP port that accepts: a connect there is refused only by the sandbox."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    yield s.getsockname()[1]
    s.close()


def selftest(files, pg, other, *extra):
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "log_path=%s/san/report:detect_leaks=1:abort_on_error=0" % files
    env["UBSAN_OPTIONS"] = "log_path=%s/san/ubsan:print_stacktrace=1" % files
    r = subprocess.run([WORKER, "--sandbox-selftest", "--host", "localhost", "--port", str(pg.port),
                        "--other-port", str(other), "--deny-read", os.path.join(files, "data", "tusk.db"),
                        "--ca", os.path.join(files, "ca.crt"), "--write-dir", os.path.join(files, "data")]
                       + list(extra), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120)
    lines = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^(ok|fallback|FAIL) (.+?): (.*)$", line)
        if m:
            lines[m.group(2)] = (m.group(1), m.group(3))
    # nothing created, no sanitizer report left behind (LSan ran in the parent)
    assert os.listdir(os.path.join(files, "data")) == ["tusk.db"]
    assert os.listdir(os.path.join(files, "san")) == [], r.stderr
    return r, lines


def native_abi(files, pg, other):
    r, lines = selftest(files, pg, other)
    verdict, detail = lines["landlock"]
    return int(detail.split()[1]) if verdict == "ok" else 0


def test_selftest_native_abi(files, pg, listener):
    r, lines = selftest(files, pg, listener)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAIL" not in r.stdout
    assert lines["no_new_privs"] == ("ok", "1") and lines["dumpable"] == ("ok", "0")
    assert lines["rlimits"][1].startswith("core 0, nofile 32, as ")
    tusk_db = os.path.join(files, "data", "tusk.db")
    abi = int(lines["landlock"][1].split()[1])
    assert lines["read " + tusk_db] == ("ok", "EACCES")
    assert lines["read " + os.path.join(files, "ca.crt")] == ("ok", "allowed")
    assert [v for k, v in lines.items() if k.startswith("create ")] == [("ok", "EACCES")]
    assert lines["resolve localhost"][0] == "ok"
    assert lines["connect 127.0.0.1:%d" % pg.port][0] == "ok"
    other = lines["connect 127.0.0.1:%d" % listener]
    assert other == (("ok", "EACCES") if abi >= 4 else ("fallback", "allowed (no network rules at ABI %d)" % abi))
    for name in ("mkdir", "unlink", "bind tcp", "socket netlink", "socket raw", "fork", "signal parent",
                 "raise rlimit", "set dumpable", "ioctl TIOCSTI"):
        assert lines[name][0] == "ok", name
    for name in FATAL:
        assert lines[name] == ("ok", "killed by SIGSYS"), name
    if SAN:
        # a sanitizer's report from a locked-down worker reaches its file, symbolised
        assert lines["asan report"][0] == "ok" and "symbolised" in lines["asan report"][1]
        assert lines["ubsan report"][0] == "ok"
    # the applied sandbox is described on stderr
    assert "landlock ABI %d" % abi in r.stderr


@pytest.mark.parametrize("forced", ["2", "1", "none"])
def test_selftest_lower_abi_takes_the_fallback(files, pg, listener, forced):
    abi = 0 if forced == "none" else int(forced)
    if native_abi(files, pg, listener) < abi:
        pytest.skip("the kernel's Landlock ABI is below %d" % abi)
    r, lines = selftest(files, pg, listener, "--landlock-abi", forced)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAIL" not in r.stdout
    tusk_db = os.path.join(files, "data", "tusk.db")
    other = lines["connect 127.0.0.1:%d" % listener]
    # no network rules below ABI 4: the other port is reached, and said so
    assert other == ("fallback", "allowed (no network rules at ABI %d)" % abi)
    assert lines["connect 127.0.0.1:%d" % pg.port][0] == "ok"
    assert lines["read " + os.path.join(files, "ca.crt")] == ("ok", "allowed")
    create = [v for k, v in lines.items() if k.startswith("create ")][0]
    if abi > 0:
        assert lines["landlock"] == ("ok", "ABI %d" % abi)
        assert lines["read " + tusk_db] == ("ok", "EACCES")
        assert create == ("ok", "EACCES")
        assert "landlock ABI %d (lowered)" % abi in r.stderr
        assert "no network rules" in r.stderr
    else:
        assert lines["landlock"][0] == "fallback"
        assert lines["read " + tusk_db] == ("fallback", "allowed (no Landlock)")
        # without Landlock the seccomp filter still refuses opening for writing
        # (a sanitizer build lets the runtime write its reports)
        assert create == (("fallback", "allowed (no Landlock; sanitizer build)") if SAN else ("ok", "EACCES"))
        assert "landlock: none (turned off" in r.stderr
    for name in FATAL:
        assert lines[name] == ("ok", "killed by SIGSYS"), name
    for name in ("fork", "bind tcp", "ioctl TIOCSTI", "raise rlimit"):
        assert lines[name][0] == "ok", name


def test_selftest_usage_errors():
    r = subprocess.run([WORKER, "--sandbox-selftest", "--landlock-abi", "x"], stderr=subprocess.PIPE,
                       stdout=subprocess.PIPE, timeout=30)
    assert r.returncode == 2 and b"usage" in r.stderr


# --- a worker's real work, with the sandbox on ---------------------------------

def test_queries_cancel_and_stream_work(broker, conn):
    c, cid = conn
    assert c.query(cid, "select 41 + 1")[1] == [[42]]
    # notices still arrive
    c.query(cid, "do $$ begin raise notice 'hello from the sandbox'; end $$")
    assert any(n[0] == "query_notice" and n[1]["message"] == "hello from the sandbox" for n in c.notifications)
    # cancel opens a second TCP connection to the server's port
    mid = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(30)", query_id="sbx-sleeper"))
    time.sleep(0.3)
    c2 = broker.client()
    assert c2.call("cancel_query", query_id="sbx-sleeper") == {"cancelled": True}
    with pytest.raises(TuskError) as e:
        c.wait_reply(mid)
    assert e.value["kind"] == "QueryCancelled"
    res, rows, _ = c.query(cid, "select g, md5(g::text) from generate_series(1, 100000) g")
    assert res["row_count"] == 100000 and len(rows) == 100000 and rows[-1][0] == 100000


def test_unix_socket_connection(client, pg):
    cid = client.call("connect", config=pg.config(host=pg.sock), password="tuskpw")["connection_id"]
    assert client.query(cid, "select current_user")[1] == [["tusk"]]
    client.call("disconnect", connection_id=cid)


def test_hostname_connection(broker, client, pg):
    cid = client.call("connect", config=pg.config(host="localhost"), password="tuskpw")["connection_id"]
    assert client.query(cid, "select inet_client_addr()::text")[1] == [["127.0.0.1/32"]]
    client.call("disconnect", connection_id=cid)
    assert "localhost resolved to" in broker.logs()


def test_tls_verify_full_by_name_reads_the_ca(broker, client, tls_pg, tls_ca):
    ca = tls_ca.path("ca.crt")
    cfg = tls_pg.config(host="localhost", ssl_mode="verify-full", ssl_ca_cert=ca)
    cid = client.call("connect", config=cfg, password="tuskpw")["connection_id"]
    me = {x["connection_id"]: x for x in client.call("get_active_connections")}[cid]
    assert me["tls"] is True
    assert client.query(cid, "select ssl from pg_stat_ssl where pid = pg_backend_pid()")[1] == [[True]]
    client.call("disconnect", connection_id=cid)
    assert "readable only %s" % ca in broker.logs()
    # the certificate is still verified: another CA fails
    with pytest.raises(TuskError) as e:
        client.call("connect", config=dict(cfg, ssl_ca_cert=tls_ca.path("wrong-ca.crt")), password="tuskpw")
    assert e.value["kind"] == "Connection" and "certificate verify failed" in e.value["message"]


def test_unknown_host_is_still_reported(client, pg):
    with pytest.raises(TuskError) as e:
        client.call("connect", config=pg.config(host="no-such-host.invalid"), password="tuskpw")
    assert e.value["kind"] == "Connection" and "could not be resolved" in e.value["hint"]


def test_broker_log_says_what_was_applied(broker, conn):
    c, cid = conn
    c.query(cid, "select 1")
    pg_port = [x for x in c.call("get_active_connections") if x["connection_id"] == cid][0]["port"]
    logs = broker.logs()
    assert "sandbox: no_new_privs, not dumpable; rlimits core 0, nofile 32, as " in logs
    assert "seccomp allow-list" in logs
    m = re.search(r"landlock ABI (\d+): no change to files anywhere \(handled ([a-z_,]+)\)", logs)
    if m:
        abi = int(m.group(1))
        assert "write_file" in m.group(2) and "read_file" not in m.group(2)
        if abi >= 4:
            assert "sandbox: connection: landlock ABI %d: readable only (no file); tcp connect to port %d only" % (
                abi, pg_port) in logs
        else:
            assert "no network rules (ABI %d)" % abi in logs
    else:
        assert "landlock: none" in logs


def test_sigsys_is_a_sandbox_violation(broker, pg):
    c = broker.client()
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    wpid = {x["connection_id"]: x for x in c.call("get_active_connections")}[cid]["worker_pid"]
    os.kill(wpid, signal.SIGSYS)
    deadline = time.time() + 10
    lost = None
    while time.time() < deadline:
        lost = {x["connection_id"]: x for x in c.call("get_active_connections")}[cid]
        if lost["state"] == "lost":
            break
        time.sleep(0.05)
    assert lost["state"] == "lost" and "sandbox violation" in lost["lost_reason"]
    with pytest.raises(TuskError) as e:
        c.query(cid, "select 1")
    assert e.value["kind"] == "Connection"


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def test_worker_state_seen_from_outside(broker, conn):
    c, cid = conn
    wpid = {x["connection_id"]: x for x in c.call("get_active_connections")}[cid]["worker_pid"]
    st = proc_status(wpid)
    assert st["NoNewPrivs"].strip() == "1"
    assert st["Seccomp"].strip() == "2"  # a filter
    with open("/proc/%d/limits" % wpid) as f:
        limits = f.read()
    assert re.search(r"Max core file size\s+0\s+0", limits)
    assert re.search(r"Max open files\s+32\s+32", limits)


def as_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def test_unprivileged_worker_is_not_dumpable(pg):
    """As an ordinary user (nobody when we are root, else ourselves): the
    worker's /proc files belong to root (not dumpable)."""
    root_run = os.geteuid() == 0
    uid = 65534 if root_run else os.getuid()
    drop = as_nobody if root_run else None
    home = tempfile.mkdtemp(prefix="th.", dir="/tmp")
    os.makedirs(os.path.join(home, "san"))
    for root, dirs, _ in os.walk(home):
        for d in [root] + [os.path.join(root, x) for x in dirs]:
            if root_run:
                os.chown(d, 65534, 65534)
    b = Broker(home=home, start=False)
    b.out = open(os.path.join(home, "tuskd.out"), "ab")
    b.proc = subprocess.Popen([os.path.join(BIN, "tuskd"), "--foreground", "--log-level", "debug"], env=b.env,
                              stdout=b.out, stderr=subprocess.STDOUT, preexec_fn=drop)
    try:
        deadline = time.time() + 10
        while not os.path.exists(b.sock) and time.time() < deadline:
            time.sleep(0.02)
        env = dict(b.env, PGPASSWORD="tuskpw")
        r = subprocess.run([os.path.join(BIN, "tuskctl"), "connect", "-h", "127.0.0.1", "-p", str(pg.port),
                            "-U", "tusk", "-d", "tuskdb", "--ssl-mode", "disable", "-n", "mine"], env=env,
                           preexec_fn=drop, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([os.path.join(BIN, "tuskctl"), "query", "-c", "mine", "select 7"], env=env,
                           preexec_fn=drop, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert r.returncode == 0 and b"7" in r.stdout, r.stderr
        workers = b.worker_pids()
        assert len(workers) == 1
        w = workers[0]
        assert proc_status(w)["Uid"].split()[0] == str(uid)
        assert proc_status(w)["NoNewPrivs"].strip() == "1"
        # not dumpable: the kernel gives its /proc files to root
        assert os.stat("/proc/%d/environ" % w).st_uid == 0
        control = subprocess.Popen(["sleep", "30"], preexec_fn=drop)
        try:
            assert os.stat("/proc/%d/environ" % control.pid).st_uid == uid
        finally:
            control.kill()
            control.wait()
        assert "landlock" in b.logs()
    finally:
        b.stop()
        b.cleanup()


def test_memory_cap_ends_the_worker_out_of_memory(pg):
    b = Broker(extra_args=["--set", "worker_memory_mb=128"])
    try:
        c = b.client(timeout=120)
        cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
        assert c.query(cid, "select 1")[1] == [[1]]
        # ~48 MiB of 256 KiB rows kept for one answer: more than 128 MiB with the copies
        with pytest.raises(TuskError) as e:
            c.query(cid, "select g, repeat('x', 262144) from generate_series(1, 400) g", max_rows=1000)
        assert e.value["kind"] == "WorkerLost" and "out of memory" in e.value["reason"]
        assert "worker_memory_mb" not in b.output()
    finally:
        b.stop()
        b.cleanup()
    # the same query fits under the default cap
    b = Broker()
    try:
        c = b.client(timeout=120)
        cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
        res, rows, _ = c.query(cid, "select g, repeat('x', 262144) from generate_series(1, 400) g",
                               max_rows=1000)
        assert res["truncated"] is True and len(rows) > 100
    finally:
        b.stop()
        b.cleanup()


def test_worker_memory_setting_is_checked():
    r = subprocess.run([os.path.join(BIN, "tuskd"), "--foreground", "--set", "worker_memory_mb=1"],
                       env=dict(os.environ, TUSK_HOME=tempfile.mkdtemp(prefix="th.", dir="/tmp")),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode != 0 and b"worker_memory_mb" in r.stderr


RELEASE_WORKER = os.path.join(ROOT, "build", "bin", "tusk-worker")


@pytest.mark.skipif(not shutil.which("valgrind") or not os.path.exists(RELEASE_WORKER),
                    reason="needs valgrind and the release build")
def test_sandboxed_worker_has_no_leaks_under_valgrind(pg):
    """LeakSanitizer cannot run in a locked-down worker (it needs ptrace):
    run the release worker, seccomp filter on, under valgrind instead."""
    d = tempfile.mkdtemp(prefix="tvg.", dir="/tmp")
    wrapper = os.path.join(d, "worker.sh")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec /usr/bin/valgrind --vgdb=no --leak-check=full --show-leak-kinds=definite,indirect"
                " --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file=%s/vg.%%p %s \"$@\"\n"
                % (d, RELEASE_WORKER))
    os.chmod(wrapper, 0o755)
    b = Broker(extra_args=["--worker", wrapper, "--set", "heartbeat_misses=30"])
    try:
        c = b.client(timeout=120)
        cid = c.call("connect", config=pg.config(host="localhost"), password="tuskpw")["connection_id"]
        assert c.query(cid, "select 1")[1] == [[1]]
        mid = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(30)", query_id="vg-sleeper"))
        time.sleep(1.0)
        assert b.client().call("cancel_query", query_id="vg-sleeper") == {"cancelled": True}
        with pytest.raises(TuskError):
            c.wait_reply(mid)
        res, rows, _ = c.query(cid, "select g from generate_series(1, 20000) g")
        assert len(rows) == 20000
        c.call("disconnect", connection_id=cid)
        deadline = time.time() + 60
        while b.worker_pids() and time.time() < deadline:
            time.sleep(0.1)
        logs = b.logs()
        assert "seccomp allow-list" in logs
        assert "crashed" not in logs and "exit status 99" not in logs
        reports = glob.glob(os.path.join(d, "vg.*"))
        assert len(reports) == 1
        with open(reports[0]) as f:
            text = f.read()
        assert "ERROR SUMMARY: 0 errors" in text, text[-5000:]
    finally:
        b.stop()
        b.cleanup()
        shutil.rmtree(d, ignore_errors=True)
