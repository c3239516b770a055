"""Supervision and visibility: hung, crashed and killed workers are found,
reported and cleaned up (server backends included); workers are listed,
killable and observable from any client and from tuskctl."""
import json
import os
import select
import shutil
import signal
import subprocess
import threading
import time

import pytest

from tusk import BIN, ROOT, Broker, Client, TuskError, cpu_burners, wait_for

HB = 300  # heartbeat interval for these tests, ms


@pytest.fixture(scope="module")
def sbroker():
    b = Broker(extra_args=["--set", "heartbeat_ms=%d" % HB, "--set", "kill_grace_ms=500"])
    yield b
    b.stop()
    b.cleanup()


def connect(c, pg, **kw):
    return c.call("connect", config=pg.config(**kw), password="tuskpw")["connection_id"]


def worker_of(c, cid):
    for w in c.call("list_workers"):
        if w["connection_id"] == cid and w["role"] == "connection" and w["state"] != "dead":
            return w
    raise AssertionError("no live worker for %s" % cid)




def lost_state(c, cid):
    for x in c.call("get_active_connections"):
        if x["connection_id"] == cid and x["state"] == "lost":
            return x
    return None


def test_list_workers_shows_a_busy_worker(sbroker, pg):
    c = sbroker.client()
    cid = connect(c, pg, name="visible")
    mid = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(60)", query_id="vis-q"))
    other = sbroker.client()
    w = wait_for(lambda: (lambda x: x if x["state"] == "busy" and (x["query_elapsed_ms"] or 0) >= 300 else None)(
        worker_of(other, cid)))
    assert w["query_id"] == "vis-q" and w["query_sql"] == "select pg_sleep(60)"
    assert w["pid"] > 0 and w["backend_pid"] in pg.backends()
    assert w["connection_name"] == "visible" and w["rss_bytes"] > 1000000 and w["cpu_ms"] >= 0
    assert w["heartbeat_age_ms"] < 10 * HB and w["started_at"] and w["died_at"] is None
    other.call("cancel_query", query_id="vis-q")
    with pytest.raises(TuskError):
        c.wait_reply(mid)
    wait_for(lambda: worker_of(c, cid)["state"] == "idle")
    c.call("disconnect", connection_id=cid)


@pytest.mark.parametrize("load", [0, 2], ids=["idle", "two-cpu-burners"])
def test_stopped_worker_is_killed_as_hung(sbroker, pg, load):
    """A real hang is caught within two heartbeat intervals, on a busy
    machine too (the broker's own lateness is forgiven, a stopped worker's
    silence is not)."""
    c = sbroker.client()
    cid = connect(c, pg)
    w = worker_of(c, cid)
    mid = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(60)"))
    wait_for(lambda: worker_of(c, cid)["state"] == "busy")
    with cpu_burners(load):
        t0 = time.time()
        os.kill(w["pid"], signal.SIGSTOP)
        with pytest.raises(TuskError) as e:
            c.wait_reply(mid)
        took = time.time() - t0
    assert e.value["kind"] == "WorkerLost" and e.value["reason"].startswith("hung")
    assert took < 3 * HB / 1000 + 1.0, took  # two intervals, plus scheduling slack
    lost = wait_for(lambda: lost_state(c, cid))
    assert lost["lost_reason"].startswith("hung")
    # the orphaned backend is ended by a helper worker
    wait_for(lambda: w["backend_pid"] not in pg.backends(), timeout=10)
    assert "hung" in sbroker.logs()


@pytest.mark.parametrize("sig,name", [(signal.SIGSEGV, "SIGSEGV"), (signal.SIGABRT, "SIGABRT")])
def test_crashed_worker_reports_the_signal(sbroker, pg, sig, name):
    c = sbroker.client()
    cid = connect(c, pg)
    w = worker_of(c, cid)
    os.kill(w["pid"], sig)
    lost = wait_for(lambda: lost_state(c, cid))
    assert "crashed" in lost["lost_reason"] and name in lost["lost_reason"]
    dead = [x for x in c.call("list_workers") if x["worker_id"] == w["worker_id"]][0]
    assert dead["state"] == "dead" and name in dead["death_reason"] and dead["died_at"]
    # and it can be reopened under the same id
    assert c.call("connect", config=pg.config(id=cid), password="tuskpw")["connection_id"] == cid
    assert c.query(cid, "select 1")[1] == [[1]]
    c.call("disconnect", connection_id=cid)


def test_kill_worker_ends_a_runaway_query(sbroker, pg):
    c = sbroker.client()
    cid = connect(c, pg)
    w = worker_of(c, cid)
    mid = c.send("execute_query", dict(connection_id=cid,
                                        sql="select count(*) from generate_series(1, 10000000000)"))
    wait_for(lambda: any(q["state"] == "running" for q in c.call("get_running_queries")))
    time.sleep(0.3)
    assert w["backend_pid"] in pg.backends()
    k = sbroker.client()
    r = k.call("kill_worker", worker_id=w["worker_id"])
    assert r["killed"] is True and r["reason"] == "killed by the user"
    assert r["backend_pid"] == w["backend_pid"] and r["backend_terminated"] is True
    # ended (how fast: make bench, "Supervision")
    wait_for(lambda: w["backend_pid"] not in pg.backends())
    with pytest.raises(TuskError) as e:
        c.wait_reply(mid)
    assert e.value["kind"] == "WorkerLost" and e.value["reason"] == "killed by the user"
    assert lost_state(c, cid)["lost_reason"] == "killed by the user"
    with pytest.raises(TuskError) as e:
        k.call("kill_worker", worker_id=w["worker_id"])
    assert e.value["kind"] == "Validation"


def test_kill_worker_escalates_to_sigkill(sbroker, pg):
    c = sbroker.client()
    cid = connect(c, pg)
    w = worker_of(c, cid)
    mid = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(60)"))
    time.sleep(0.2)
    os.kill(w["pid"], signal.SIGSTOP)  # it will not hear SIGTERM
    r = sbroker.client().call("kill_worker", connection_id=cid)
    assert r["killed"] is True and r["backend_terminated"] is True
    with pytest.raises(TuskError) as e:
        c.wait_reply(mid)
    assert e.value["kind"] == "WorkerLost"
    assert w["backend_pid"] not in pg.backends()


def test_backend_end_refused_gets_a_hint(sbroker, pg):
    pg.psql("REVOKE EXECUTE ON FUNCTION pg_terminate_backend(integer, bigint) FROM PUBLIC", db="tuskdb")
    try:
        c = sbroker.client()
        cid = connect(c, pg)
        w = worker_of(c, cid)
        sub = sbroker.client()
        sub.call("subscribe", topics=["connections"])
        c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(60)"))
        time.sleep(0.2)
        os.kill(w["pid"], signal.SIGKILL)
        ev = []

        def got():
            try:
                m = sub.read_msg()
            except Exception:
                return None
            if m[0] == 2 and m[2][0]["type"].startswith("backend") and m[2][0]["connection_id"] == cid:
                ev.append(m[2][0])
                return True
            return None
        sub.s.settimeout(10)
        wait_for(got, timeout=10, step=0)
        assert ev[0]["type"] == "backend_not_ended" and "permission denied" in ev[0]["reason"]
        assert "pg_terminate_backend" in sbroker.logs()
        assert w["backend_pid"] in pg.backends()
    finally:
        pg.psql("GRANT EXECUTE ON FUNCTION pg_terminate_backend(integer, bigint) TO PUBLIC", db="tuskdb")
        for pid in pg.backends():
            pg.psql("select pg_terminate_backend(%d)" % pid)


def test_refused_backend_end_hint_in_kill_answer(sbroker, pg):
    pg.psql("REVOKE EXECUTE ON FUNCTION pg_terminate_backend(integer, bigint) FROM PUBLIC", db="tuskdb")
    try:
        c = sbroker.client()
        cid = connect(c, pg)
        w = worker_of(c, cid)
        c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(60)"))
        time.sleep(0.2)
        os.kill(w["pid"], signal.SIGSTOP)
        r = sbroker.client().call("kill_worker", connection_id=cid)
        assert r["killed"] is True and r["backend_terminated"] is None
        assert "permission denied" in r["backend_error"] and "pg_signal_backend" in r["hint"]
    finally:
        pg.psql("GRANT EXECUTE ON FUNCTION pg_terminate_backend(integer, bigint) TO PUBLIC", db="tuskdb")
        for pid in pg.backends():
            pg.psql("select pg_terminate_backend(%d)" % pid)


def test_others_unaffected_while_workers_are_killed(sbroker, pg):
    n = 10
    stop = threading.Event()
    errors = []
    counts = [0] * n

    def loop(i):
        cl = Client(sbroker.sock)
        cid = connect(cl, pg)
        try:
            while not stop.is_set():
                rows = cl.query(cid, "select %d, count(*) from generate_series(1, 2000)" % i)[1]
                assert rows == [[i, 2000]]
                counts[i] += 1
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
        finally:
            cl.call("disconnect", connection_id=cid)
            cl.close()
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    killer = sbroker.client()
    victims = []
    for _ in range(5):
        cid = connect(killer, pg)
        mid = killer.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(30)"))
        time.sleep(0.2)
        r = Client(sbroker.sock).call("kill_worker", connection_id=cid)
        assert r["killed"]
        with pytest.raises(TuskError):
            killer.wait_reply(mid)
        victims.append(cid)
    stop.set()
    for t in threads:
        t.join(60)
    assert errors == []
    assert all(c > 0 for c in counts)


SAN_BIN = os.path.join(ROOT, "build", "asan", "bin")


def test_simultaneous_connects_under_cpu_load_lose_no_worker(pg):
    """20 connects at once while two processes burn both CPUs, with the
    sanitizer build (the slowest to start) and the default heartbeat: every
    worker gets to say hello and connect; none is taken for hung."""
    bin_dir = SAN_BIN if os.path.exists(os.path.join(SAN_BIN, "tuskd")) else BIN
    b = Broker(bin_dir=bin_dir)
    n = 20
    errors, done = [], []
    start = threading.Barrier(n)

    def one(i):
        cl = Client(b.sock, timeout=120)
        try:
            start.wait(60)
            cid = connect(cl, pg, name="burn-%d" % i)
            assert cl.query(cid, "select %d" % i)[1] == [[i]]
            done.append(cid)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
        finally:
            cl.close()
    try:
        with cpu_burners(2):
            threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(180)
        assert errors == [] and len(done) == n
        logs = b.logs()
        assert "hung: no answer" not in logs and "did not start" not in logs
        assert not [w for w in b.client().call("list_workers") if w["state"] == "dead"]
    finally:
        b.stop()
        b.cleanup()


def test_events_stream(sbroker, pg):
    sub = sbroker.client()
    assert sub.call("subscribe", topics=["connections", "queries"]) is None
    with pytest.raises(TuskError) as e:
        sub.call("subscribe", topics=["nope"])
    assert e.value["kind"] == "Validation"
    c = sbroker.client()
    cid = connect(c, pg, name="evented")
    c.query(cid, "select 1", query_id="ev-ok")
    with pytest.raises(TuskError):
        c.query(cid, "select 1/0", query_id="ev-fail")
    c.call("disconnect", connection_id=cid)
    seen = []
    sub.s.settimeout(5)
    deadline = time.time() + 5
    while time.time() < deadline and ("connections", "disconnected") not in seen:
        m = sub.read_msg()
        if m[0] == 2 and m[1] == "event":
            ev = m[2][0]
            seen.append((ev["topic"], ev["type"]))
            if ev["type"] == "failed" and ev["query_id"] == "ev-fail":
                assert ev["error"]["code"] == "22012"
    for want in [("connections", "connecting"), ("connections", "connected"), ("queries", "started"),
                 ("queries", "finished"), ("queries", "failed"), ("connections", "disconnected")]:
        assert want in seen
    assert not [s for s in seen if s[0] == "workers"]  # not subscribed


def test_heartbeat_does_not_count_backpressure_as_hang(sbroker, pg):
    c = sbroker.client(timeout=120)
    cid = connect(c, pg)
    mid = c.send("execute_query", dict(connection_id=cid,
                                        sql="select g, repeat('z', 300) from generate_series(1, 300000) g"))
    time.sleep(8 * HB / 1000)  # not reading for many heartbeat intervals
    rows = 0

    def note(m, p):
        nonlocal rows
        if m == "query_rows":
            rows += len(p["rows"])
    res = c.wait_reply(mid, note)
    assert rows == 300000 and res["row_count"] == 300000
    assert worker_of(c, cid)["state"] == "idle"
    c.call("disconnect", connection_id=cid)


# --- tuskctl --------------------------------------------------------------------

def test_tuskctl_workers_and_kill(sbroker, pg):
    url = "postgresql://tusk@127.0.0.1:%d/tuskdb" % pg.port
    sbroker.ctl("connect", "-n", "ctl-kill", url, env={"PGPASSWORD": "tuskpw"}, check=True)
    p = subprocess.Popen([os.path.join(BIN, "tuskctl"), "query", "-c", "ctl-kill", "select pg_sleep(60)"],
                         env=sbroker.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    r = wait_for(lambda: (lambda r: r if b"busy" in r.stdout and b"pg_sleep" in r.stdout else None)(
        sbroker.ctl("workers", check=True)))
    assert b"ctl-kill" in r.stdout
    ws = json.loads(sbroker.ctl("--json", "workers", check=True).stdout)
    mine = [w for w in ws if w["connection_name"] == "ctl-kill" and w["state"] == "busy"][0]
    r = sbroker.ctl("kill", "ctl-kill", check=True)
    assert b"killed by the user" in r.stdout and b"server backend %d ended" % mine["backend_pid"] in r.stdout
    out, err = p.communicate(timeout=10)
    assert p.returncode == 1 and b"WorkerLost" in err
    r = sbroker.ctl("workers", "--all", check=True)
    assert b"recently ended" in r.stdout and b"killed by the user" in r.stdout
    r = sbroker.ctl("kill", "999999")
    assert r.returncode == 1
    sbroker.ctl("disconnect", "ctl-kill", check=True)


def test_tuskctl_events(sbroker, pg):
    p = subprocess.Popen([os.path.join(BIN, "tuskctl"), "--json", "events", "--topics", "connections"],
                         env=sbroker.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    c = sbroker.client()
    out = b""

    def cycle_seen(n):
        """A name among the first n cycles whose connect and disconnect
        tuskctl printed, or None."""
        nonlocal out
        while select.select([p.stdout], [], [], 0.1)[0]:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            out += chunk
        events = [json.loads(l) for l in out.splitlines()]
        types = {(e["type"], e["name"]) for e in events}
        for j in range(n):
            if ("connected", "ev-ctl-%d" % j) in types and ("disconnected", "ev-ctl-%d" % j) in types:
                return "ev-ctl-%d" % j
        return None
    # tuskctl subscribes at its own pace: connect and disconnect again until
    # it has reported one whole cycle
    name = None
    for i in range(50):
        cid = connect(c, pg, name="ev-ctl-%d" % i)
        c.call("disconnect", connection_id=cid)
        deadline = time.time() + 2
        while name is None and time.time() < deadline:
            name = cycle_seen(i + 1)
        if name:
            break
    assert name, out
    p.send_signal(signal.SIGINT)
    rest, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert all(json.loads(l)["type"] for l in (out + rest).splitlines())


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by scripts/install-deps.sh")
def test_tuskctl_top_in_a_terminal(sbroker, pg):
    c = sbroker.client()
    cid = connect(c, pg, name="top-me")
    c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(20)"))
    sess = "tusktop%d" % os.getpid()
    env = " ".join("%s=%s" % (k, sbroker.env[k]) for k in ("TUSK_HOME", "ASAN_OPTIONS", "UBSAN_OPTIONS"))
    cmd = "env %s %s top --interval 200; echo TOP-EXIT=$?; sleep 30" % (env, os.path.join(BIN, "tuskctl"))
    subprocess.run(["tmux", "new-session", "-d", "-s", sess, "-x", "200", "-y", "40", cmd], check=True)
    try:
        def screen():
            return subprocess.run(["tmux", "capture-pane", "-p", "-t", sess], stdout=subprocess.PIPE,
                                  text=True).stdout
        s = wait_for(lambda: (lambda t: t if "top-me" in t else None)(screen()), timeout=10)
        assert "tusk top" in s and "sorted by cpu" in s and "busy" in s and "pg_sleep" in s
        subprocess.run(["tmux", "send-keys", "-t", sess, "e"], check=True)
        wait_for(lambda: "sorted by elapsed" in screen(), timeout=5)
        subprocess.run(["tmux", "send-keys", "-t", sess, "q"], check=True)
        wait_for(lambda: "TOP-EXIT=0" in screen(), timeout=5)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", sess])
    c.call("disconnect", connection_id=cid)
