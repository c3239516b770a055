"""The server's activity (get_server_activity) and ending a backend
(cancel_backend, terminate_backend) against a real server: a psql session
holding a lock and another waiting on it, Tusk's own sessions, and a role
that may not signal others."""
import os
import subprocess

import pytest

from pgcluster import ROLE, ROLE_PW
from tusk import TuskError, wait_for


class Psql:
    """A psql session fed line by line (as the tusk role, which may see and
    signal its own sessions, in tuskdb)."""

    def __init__(self, pg, app):
        env = dict(os.environ, PGPASSWORD=ROLE_PW, PGAPPNAME=app)
        self.p = subprocess.Popen(["psql", "-X", "-q", "-h", pg.sock, "-p", str(pg.port), "-U", ROLE,
                                   "-d", "tuskdb"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def finish(self):
        """End the input; what psql wrote (once; later calls repeat it)."""
        if not hasattr(self, "out"):
            try:
                self.p.stdin.close()
            except BrokenPipeError:
                pass
            self.p.stdin = None
            self.out, self.err = self.p.communicate(timeout=60)
        return self.out, self.err


def backend(c, cid, app):
    """The activity entry of the session with this application_name, or None."""
    for b in c.call("get_server_activity", connection_id=cid):
        if b["application"] == app:
            return b
    return None


@pytest.fixture
def lock(pg):
    pg.psql("DROP TABLE IF EXISTS lk; CREATE TABLE lk (x int); ALTER TABLE lk OWNER TO tusk", db="tuskdb")
    holder, waiter = Psql(pg, "lk-holder"), Psql(pg, "lk-waiter")
    try:
        holder.send("BEGIN; LOCK TABLE lk IN ACCESS EXCLUSIVE MODE; SELECT 'locked';")
        # psql connects and takes the lock in its own time: the tests start once it holds it
        wait_for(lambda: pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lk-holder'"
                                 " AND state = 'idle in transaction'").strip() == "1", timeout=30)
        yield holder, waiter
    finally:
        for p in (holder, waiter):
            if p.p.poll() is None:
                p.p.kill()
            p.finish()


def test_a_waiting_session_names_the_one_blocking_it(conn, pg, lock):
    c, cid = conn
    holder, waiter = lock
    h = wait_for(lambda: (lambda b: b if b and b["state"] == "idle in transaction" else None)(
        backend(c, cid, "lk-holder")))
    waiter.send("SELECT count(*) FROM lk;")
    # The waiter joins the lock's queue a moment before it reports its wait
    # event, and pg_blocking_pids() reads the lock table live while
    # pg_stat_activity is a snapshot: wait until both say it waits.
    w = wait_for(lambda: (lambda b: b if b and b["blocked_by"] and b["wait_event_type"] else None)(
        backend(c, cid, "lk-waiter")))
    assert w["blocked_by"] == [h["pid"]] and w["wait_event_type"] == "Lock"
    assert w["state"] == "active" and "count(*) FROM lk" in w["query"]
    assert w["user"] == "tusk" and w["database"] == "tuskdb" and w["backend_type"] == "client backend"
    assert w["query_start"].endswith("Z") and w["query_ms"] >= 0 and w["xact_ms"] >= 0
    assert h["blocked_by"] == [] and h["xact_start"] is not None
    # cancel ends the waiting query, not its session
    r = c.call("cancel_backend", connection_id=cid, pid=w["pid"])
    assert r == {"ok": True, "pid": w["pid"], "message": None}
    wait_for(lambda: (lambda b: b and b["state"] == "idle")(backend(c, cid, "lk-waiter")))
    # terminate ends the holder
    r = c.call("terminate_backend", connection_id=cid, pid=h["pid"])
    assert r["ok"]
    wait_for(lambda: backend(c, cid, "lk-holder") is None)
    out, err = waiter.finish()
    assert "canceling statement due to user request" in err
    holder.send("SELECT 'still ' || 'here';")  # psql finds its session gone
    out, err = holder.finish()
    assert "locked" in out and "still here" not in out, (out, err)


def test_tusk_sessions_are_marked(conn, pg):
    c, cid = conn
    other = c.call("connect", config=pg.config(name="other"), password="tuskpw")["connection_id"]
    try:
        acts = c.call("get_server_activity", connection_id=cid)
        mine = [b for b in acts if b.get("tusk_connection_id") == cid]
        theirs = [b for b in acts if b.get("tusk_connection_id") == other]
        assert len(mine) == 1 and mine[0]["self"] and mine[0]["application"] == "tusk"
        assert len(theirs) == 1 and not theirs[0]["self"]
        assert all(not b["self"] for b in acts if b is not mine[0])
        with pytest.raises(TuskError) as e:
            c.call("terminate_backend", connection_id=cid, pid=mine[0]["pid"])
        assert e.value["kind"] == "Validation" and "own session" in e.value["message"]
        # ending another Tusk session from here is allowed
        assert c.call("terminate_backend", connection_id=cid, pid=theirs[0]["pid"])["ok"]
    finally:
        try:
            c.call("disconnect", connection_id=other)
        except TuskError:
            pass


def test_no_such_backend(conn):
    c, cid = conn
    r = c.call("cancel_backend", connection_id=cid, pid=2147483000)
    assert r["ok"] is False and "no server process" in r["message"]
    with pytest.raises(TuskError) as e:
        c.call("terminate_backend", connection_id=cid, pid=0)
    assert e.value["kind"] == "Validation" and "pid" in e.value["message"]


def test_a_role_without_the_privilege_gets_the_servers_error(client, pg, lock):
    holder, _ = lock
    pg.psql("DROP ROLE IF EXISTS weak; CREATE ROLE weak LOGIN PASSWORD 'weakpw'")
    cid = client.call("connect", config=pg.config(username="weak"), password="weakpw")["connection_id"]
    try:
        acts = client.call("get_server_activity", connection_id=cid)
        h = [b for b in acts if b["query"] == "<insufficient privilege>" and b["user"] == "tusk"]
        assert h, "another role's session shows without its query"
        pid = int(pg.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'lk-holder'").strip())
        for method in ("cancel_backend", "terminate_backend"):
            with pytest.raises(TuskError) as e:
                client.call(method, connection_id=cid, pid=pid)
            assert e.value["kind"] == "Database" and e.value["code"] == "42501"
            assert "must be a member of the role" in e.value["message"]  # the server's own words
            assert "pg_signal_backend" in e.value["hint"]
        assert pg.psql("SELECT count(*) FROM pg_stat_activity WHERE pid = %d" % pid).strip() == "1"
    finally:
        client.call("disconnect", connection_id=cid)
