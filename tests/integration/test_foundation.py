"""The foundation: broker methods, queries, streaming, errors, cancel,
timeouts, isolation of connections, hostile clients, and tuskctl, against a
real PostgreSQL and the real broker and workers."""
import json
import os
import resource
import signal
import socket
import struct
import subprocess
import threading
import time

import msgpack
import pytest

from pgcluster import Cluster, free_port
from tusk import BIN, Broker, Client, TuskError, rss_kb, running, wait_for

METHODS = ["health_check", "get_app_info", "get_log_directory", "describe", "get_log_level",
           "set_log_level", "shutdown", "test_connection", "connect", "disconnect",
           "get_active_connections", "execute_query", "cancel_query", "get_running_queries"]


# --- the broker itself ---------------------------------------------------

def test_health_check(client):
    h = client.call("health_check")
    assert h["status"] == "ok"
    assert h["version"] and h["pid"] > 0 and h["uptime_ms"] >= 0
    assert h["clients"] >= 1


def test_app_info_and_log_directory(broker, client):
    info = client.call("get_app_info")
    assert info["name"] == "Tusk"
    assert info["libraries"]["libpq"].startswith("15")
    assert info["paths"]["data"] == os.path.join(broker.home, "data")
    logdir = client.call("get_log_directory")
    assert logdir == os.path.join(broker.home, "logs")
    assert any(f.startswith("tusk.") and f.endswith(".log") for f in os.listdir(logdir))


def test_describe_lists_every_method_with_params(client):
    d = client.call("describe")
    names = [m["name"] for m in d["methods"]]
    for m in METHODS:
        assert m in names
    eq = next(m for m in d["methods"] if m["name"] == "execute_query")
    params = {p["name"]: p for p in eq["params"]}
    assert params["sql"]["type"] == "string" and not params["sql"]["optional"]
    assert params["max_rows"]["optional"]
    assert {n["name"] for n in d["notifications"]} >= {"query_rows", "query_columns", "query_notice"}


def test_log_level_runtime(broker, client):
    assert client.call("get_log_level") == "debug"
    assert client.call("set_log_level", level="trace") == "trace"
    assert client.call("get_log_level") == "trace"
    with pytest.raises(TuskError) as e:
        client.call("set_log_level", level="loud")
    assert e.value["kind"] == "Validation" and "level" in e.value["message"]
    client.call("set_log_level", level="debug")
    assert "log level set to trace" in broker.logs()


def test_unknown_method_and_bad_params(client):
    with pytest.raises(TuskError) as e:
        client.call("no_such_method")
    assert e.value["kind"] == "Validation" and "no_such_method" in e.value["message"]
    assert e.value["hint"]
    with pytest.raises(TuskError) as e:
        client.call("execute_query", connection_id=5, sql="select 1")
    assert e.value["kind"] == "Validation" and "connection_id" in e.value["message"]
    with pytest.raises(TuskError) as e:
        client.call("execute_query", sql="select 1")
    assert "connection_id: required" in e.value["message"]
    with pytest.raises(TuskError) as e:
        client.call("health_check", bogus=1)
    assert "bogus" in e.value["message"]
    with pytest.raises(TuskError) as e:
        client.call("execute_query", connection_id="nope", sql="select 1")
    assert e.value["kind"] == "Validation" and e.value["hint"]
    assert client.call("health_check")["status"] == "ok"


# --- queries ---------------------------------------------------------------

def test_values_follow_the_contract(conn):
    c, cid = conn
    res, rows, cols = c.query(cid, "select 1::int2 a, 2::int4 b, 3::int8 c, 4::oid d, 1.5::float4 e,"
                                   " 2.25::float8 f, true g, false h, '\\x00ff'::bytea i, 'tx'::text j,"
                                   " 12.50::numeric k, null::int l, '2024-01-02'::date m, '{1,2}'::int[] n,"
                                   " 'NaN'::float8 o")
    assert rows == [[1, 2, 3, 4, 1.5, 2.25, True, False, b"\x00\xff", "tx", "12.50", None,
                     "2024-01-02", "{1,2}", pytest.approx(float("nan"), nan_ok=True)]]
    types = [x["data_type"] for x in cols[0]]
    assert types[:4] == ["smallint", "integer", "bigint", "oid"]
    assert types[8] == "bytea" and types[10] == "numeric" and types[13] == "integer[]"
    assert [x["name"] for x in cols[0]][:3] == ["a", "b", "c"]
    assert res["command_tag"] == "SELECT 1" and res["row_count"] == 1
    assert res["columns"] == cols[0] and res["rows"] == []


def test_float4_arrives_as_the_servers_4_byte_value(conn):
    """float4 travels as msgpack float32: exactly the server's value, not
    the double nearest its text (0.1::float4 is 0.100000001490116...)."""
    import struct
    c, cid = conn
    vals = ["0.1", "3.4028235e+38", "1.1754944e-38", "1e-45", "-2.5", "16777217", "0.3"]
    _, rows, _ = c.query(cid, "select " + ", ".join("'%s'::float4" % v for v in vals))
    for v, got in zip(vals, rows[0]):
        want = struct.unpack("<f", struct.pack("<f", float(v)))[0]
        assert got == want, (v, got, want)
    assert rows[0][0] != 0.1  # the double nearest "0.1" is another number


def test_copy_from_stdin_is_refused_with_a_code(conn):
    c, cid = conn
    c.query(cid, "create temp table cfs (a int)")
    with pytest.raises(TuskError) as e:
        c.query(cid, "copy cfs from stdin")
    assert e.value["kind"] == "Database" and e.value["code"] == "0A000"
    assert "import_file" in e.value["hint"]
    # the connection is still usable
    assert c.query(cid, "select 1")[1] == [[1]]


def test_streaming_batches_and_totals(conn):
    c, cid = conn
    batches = []
    mid = c.send("execute_query", dict(connection_id=cid, sql="select g, repeat('x', 100) from generate_series(1, 20000) g"))
    res = c.wait_reply(mid, lambda m, p: batches.append((m, p)))
    kinds = [m for m, _ in batches]
    assert kinds[0] == "query_columns"
    rows = [r for m, p in batches if m == "query_rows" for r in p["rows"]]
    assert len(rows) == 20000 and rows[0][0] == 1 and rows[-1][0] == 20000
    assert kinds.count("query_rows") > 10  # batched by size, not one per row or one in all
    assert all(p["query_id"] == res["query_id"] for _, p in batches)
    assert res["row_count"] == 20000 and res["command_tag"] == "SELECT 20000"


def test_max_rows_answers_in_one_piece(conn):
    c, cid = conn
    res, rows, _ = c.query(cid, "select g from generate_series(1, 100) g", max_rows=10)
    assert rows == [[i] for i in range(1, 11)]
    assert res["truncated"] is True and res["row_count"] == 100
    assert not [n for n in c.notifications if n[0] == "query_rows"]
    res, rows, _ = c.query(cid, "select 1", max_rows=10)
    assert rows == [[1]] and res["truncated"] is False


def test_client_query_id_and_duplicates(conn):
    c, cid = conn
    res, _, _ = c.query(cid, "select 1", query_id="my-query.1")
    assert res["query_id"] == "my-query.1"
    with pytest.raises(TuskError) as e:
        c.query(cid, "select 1", query_id="bad id!")
    assert "query_id" in e.value["message"]


def test_syntax_error_has_code_and_position(conn):
    c, cid = conn
    with pytest.raises(TuskError) as e:
        c.query(cid, "SELEC 1")
    assert e.value["kind"] == "Database" and e.value["code"] == "42601" and e.value["position"] == 1
    with pytest.raises(TuskError) as e:
        c.query(cid, "select 1;\nselect * from no_such_table")
    assert e.value["code"] == "42P01" and e.value["position"] == 25 and e.value["hint"]
    # the connection stays usable
    assert c.query(cid, "select 2")[1] == [[2]]


def test_commands_multiple_statements_and_notices(conn):
    c, cid = conn
    c.query(cid, "create temp table t (x int)")
    res, _, _ = c.query(cid, "insert into t select generate_series(1, 5)")
    assert res["command_tag"] == "INSERT 0 5" and res["rows_affected"] == 5
    res, rows, cols = c.query(cid, "select count(*) from t; select 'two'")
    assert len(cols) == 2 and rows == [[5], ["two"]] and res["result_sets"] == 2
    c.notifications.clear()
    c.query(cid, "do $$ begin raise notice 'hello %', 42; end $$")
    notes = [p for m, p in c.notifications if m == "query_notice"]
    assert notes and notes[0]["message"] == "hello 42" and notes[0]["severity"] == "NOTICE"
    res, rows, _ = c.query(cid, "copy (select g from generate_series(1,3) g) to stdout")
    assert rows == [["1"], ["2"], ["3"]]


def test_transaction_state_survives_between_queries(conn):
    c, cid = conn
    assert c.query(cid, "begin")[0]["transaction"] == "in_transaction"
    with pytest.raises(TuskError):
        c.query(cid, "select 1/0")
    with pytest.raises(TuskError) as e:
        c.query(cid, "select 1")
    assert e.value["code"] == "25P02" and "ROLLBACK" in e.value["hint"]
    assert c.query(cid, "rollback")[0]["transaction"] == "idle"


def test_cancel_leaves_connection_usable(conn):
    c, cid = conn
    mid = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(30)", query_id="sleeper"))
    c2 = Client(c.s.getpeername())
    q = wait_for(lambda: c2.call("get_running_queries"))
    assert [x["query_id"] for x in q] == ["sleeper"] and q[0]["state"] == "running"
    assert c2.call("cancel_query", query_id="sleeper") == {"cancelled": True}
    with pytest.raises(TuskError) as e:
        c.wait_reply(mid)  # long before the 30 s sleep ends (the client's timeout is 30 s)
    assert e.value["kind"] == "QueryCancelled" and e.value["code"] == "57014"
    assert c.query(cid, "select 42")[1] == [[42]]
    with pytest.raises(TuskError) as e:
        c2.call("cancel_query", query_id="sleeper")
    assert e.value["kind"] == "Validation"
    c2.close()


def test_cancel_hits_only_the_query_it_names(conn):
    """A cancel request names no query: one that reached the server late
    would cancel the query queued behind. The worker starts that one only
    once the cancel was delivered."""
    c, cid = conn
    c2 = Client(c.s.getpeername())
    for i in range(10):
        m1 = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(60)", query_id="a%d" % i))
        m2 = c.send("execute_query", dict(connection_id=cid, sql="select %d" % i, query_id="b%d" % i))
        wait_for(lambda: [q["state"] for q in c2.call("get_running_queries", connection_id=cid)] == ["running", "queued"])
        assert c2.call("cancel_query", query_id="a%d" % i) == {"cancelled": True}
        with pytest.raises(TuskError) as e:
            c.wait_reply(m1)
        assert e.value["kind"] == "QueryCancelled"
        res = c.wait_reply(m2)
        assert res["row_count"] == 1, res
    c2.close()


def test_cancel_a_queued_query(conn):
    c, cid = conn
    c2 = Client(c.s.getpeername())
    m1 = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(1)", query_id="first"))
    # two sockets have no order between them: the second is sent once the
    # first runs, so it is the one that waits
    wait_for(lambda: any(q["query_id"] == "first" for q in c.call("get_running_queries", connection_id=cid)))
    m2 = c2.send("execute_query", dict(connection_id=cid, sql="select 2", query_id="second"))
    deadline = time.time() + 10
    while True:  # the second request reaches the broker
        states = {q["query_id"]: q["state"] for q in c.call("get_running_queries", connection_id=cid)}
        if len(states) == 2 or time.time() > deadline:
            break
        time.sleep(0.02)
    assert states == {"first": "running", "second": "queued"}
    c3 = Client(c.s.getpeername())
    assert c3.call("cancel_query", query_id="second")["cancelled"]
    with pytest.raises(TuskError) as e:
        c2.wait_reply(m2)
    assert e.value["kind"] == "QueryCancelled"
    assert c.wait_reply(m1)["row_count"] == 1
    c2.close()
    c3.close()


def test_query_timeout(conn):
    c, cid = conn
    with pytest.raises(TuskError) as e:
        c.query(cid, "select pg_sleep(10)", timeout_ms=300)
    assert e.value["kind"] == "QueryTimeout" and 250 <= e.value["elapsed_ms"] < 5000
    assert c.query(cid, "select 1")[1] == [[1]]


def test_statement_timeout_per_connection(client, pg):
    cid = client.call("connect", config=pg.config(statement_timeout_ms=300), password="tuskpw")["connection_id"]
    with pytest.raises(TuskError) as e:
        client.query(cid, "select pg_sleep(10)")
    assert e.value["kind"] == "QueryTimeout" and e.value["elapsed_ms"] >= 250 and e.value["hint"]
    client.call("disconnect", connection_id=cid)


def test_read_only_connection(client, pg):
    cid = client.call("connect", config=pg.config(read_only=True), password="tuskpw")["connection_id"]
    with pytest.raises(TuskError) as e:
        client.query(cid, "create table should_not_exist (x int)")
    assert e.value["code"] == "25006"
    conns = {c["connection_id"]: c for c in client.call("get_active_connections")}
    assert conns[cid]["read_only"] is True
    client.call("disconnect", connection_id=cid)


def test_active_connections_and_disconnect(client, pg):
    cid = client.call("connect", config=pg.config(name="listed"), password="tuskpw")["connection_id"]
    conns = {c["connection_id"]: c for c in client.call("get_active_connections")}
    me = conns[cid]
    assert me["name"] == "listed" and me["state"] == "connected" and me["backend_pid"] > 0
    assert me["backend_pid"] in pg.backends() and me["worker_pid"] > 0 and me["tls"] is False
    assert me["server_version"].startswith("15")
    worker = me["worker_pid"]
    assert client.call("disconnect", connection_id=cid) is None
    assert cid not in [c["connection_id"] for c in client.call("get_active_connections")]
    deadline = time.time() + 5
    while time.time() < deadline and running(worker):
        time.sleep(0.05)
    assert me["backend_pid"] not in pg.backends()


def test_test_connection(client, pg):
    r = client.call("test_connection", config=pg.config(), password="tuskpw")
    assert r["success"] is True and r["server_version"].startswith("15") and r["latency_ms"] > 0
    assert r["error"] is None
    r = client.call("test_connection", config=pg.config(), password="wrong")
    assert r["success"] is False and r["error"]["code"] == "28P01"


# --- connect failures and their hints ------------------------------------------

def connect_error(client, config, password="tuskpw"):
    with pytest.raises(TuskError) as e:
        client.call("connect", config=config, password=password)
    return e.value


def test_connect_refused(client, pg):
    e = connect_error(client, pg.config(port=free_port()))
    assert e["kind"] == "Connection" and "nothing accepts connections" in e["hint"]


def test_connect_unknown_host(client, pg):
    e = connect_error(client, pg.config(host="no-such-host.invalid"))
    assert e["kind"] == "Connection" and "could not be resolved" in e["hint"]


def test_connect_wrong_password(client, pg):
    e = connect_error(client, pg.config(), password="wrong")
    assert e["kind"] == "Credential" and e["code"] == "28P01" and "password" in e["hint"]


def test_connect_no_password(client, pg):
    e = connect_error(client, pg.config(), password=None)
    assert e["kind"] == "Credential" and "password" in e["hint"]


def test_connect_no_such_database(client, pg):
    e = connect_error(client, pg.config(database="nodb"))
    assert e["code"] == "3D000" and "nodb" in e["hint"]


def test_connect_no_such_role(client, pg):
    e = connect_error(client, pg.config(username="nobody"))
    # PostgreSQL answers a missing role like a wrong password (no role probing)
    assert e["code"] in ("28P01", "28000") and e["hint"]


def test_connect_timeout(pg):
    # a server that accepts TCP and never speaks
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    b = Broker(extra_args=["--set", "connect_timeout_s=1"])
    try:
        c = b.client()
        t0 = time.time()
        e = connect_error(c, pg.config(port=srv.getsockname()[1]))
        assert e["kind"] == "Connection" and "timed out" in e["message"]
        # it waited its second (a hang would meet the client's 30 s timeout)
        assert e["elapsed_ms"] >= 900 and e["hint"]
    finally:
        srv.close()
        b.stop()
        b.cleanup()


def test_config_validation_errors(client, pg):
    e = connect_error(client, pg.config(port=70000))
    assert e["kind"] == "Validation" and "port" in e["message"]
    e = connect_error(client, pg.config(host="bad host!"))
    assert e["kind"] == "Validation" and "host" in e["message"]
    e = connect_error(client, pg.config(ssl_mode="sometimes"))
    assert "ssl_mode" in e["message"]
    e = connect_error(client, pg.config(ssl_mode="verify-full"))
    assert "ssl_ca_cert" in e["message"]


# --- isolation ----------------------------------------------------------------------

def test_two_connections_one_sleeping(broker, pg):
    a, b = broker.client(), broker.client()
    ca = a.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    cb = b.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    mid = a.send("execute_query", dict(connection_id=ca, sql="select pg_sleep(60)", query_id="sleeps"))
    wait_for(lambda: [q["state"] for q in b.call("get_running_queries", connection_id=ca)] == ["running"])
    for i in range(20):
        assert b.query(cb, "select %d" % i)[1] == [[i]]
    # the other connection answered all of them while the first slept
    assert [q["state"] for q in b.call("get_running_queries", connection_id=ca)] == ["running"]
    b.call("cancel_query", query_id="sleeps")
    with pytest.raises(TuskError) as e:
        a.wait_reply(mid)
    assert e.value["kind"] == "QueryCancelled"
    a.call("disconnect", connection_id=ca)
    b.call("disconnect", connection_id=cb)


def test_killed_worker_is_lost_others_work(broker, pg):
    a, b = broker.client(), broker.client()
    ca = a.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    cb = b.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    wpid = {c["connection_id"]: c for c in a.call("get_active_connections")}[ca]["worker_pid"]
    mid = a.send("execute_query", dict(connection_id=ca, sql="select pg_sleep(30)"))
    time.sleep(0.3)
    os.kill(wpid, signal.SIGKILL)
    with pytest.raises(TuskError) as e:
        a.wait_reply(mid)
    assert e.value["kind"] == "WorkerLost" and "SIGKILL" in e.value["reason"]
    assert b.query(cb, "select 'still here'")[1] == [["still here"]]
    assert a.call("health_check")["status"] == "ok"
    lost = {c["connection_id"]: c for c in a.call("get_active_connections")}[ca]
    assert lost["state"] == "lost" and lost["lost_reason"]
    with pytest.raises(TuskError) as e:
        a.query(ca, "select 1")
    assert e.value["kind"] == "Connection" and "connect again" in e.value["hint"]
    # reconnect under the same id
    cfg = pg.config(id=ca)
    assert a.call("connect", config=cfg, password="tuskpw")["connection_id"] == ca
    assert a.query(ca, "select 1")[1] == [[1]]
    a.call("disconnect", connection_id=ca)
    b.call("disconnect", connection_id=cb)


# --- hostile clients ---------------------------------------------------------------------

def test_malformed_messages_drop_only_that_client(broker):
    good = broker.client()
    payloads = [
        b"\xc1",                                            # never-used byte
        msgpack.packb([0, 1, "health_check"]),              # wrong arity
        msgpack.packb({"not": "an array"}),
        msgpack.packb([7, 1, "health_check", []]),          # unknown type
        msgpack.packb([0, "id", "health_check", []]),       # msgid not an int
        b"\xdd\xff\xff\xff\xff",                            # array of 4 billion items
        b"\x91" * 100 + b"\xc0",                            # nested 100 deep
        b"\xdb\x7f\xff\xff\xff" + b"x" * 100,                # string of 2 GiB announced
        msgpack.packb([0, 1, "x" * 1000, []]),               # method name too long
    ]
    for p in payloads:
        bad = Client(broker.sock)
        bad.send_raw(p)
        with pytest.raises((EOFError, ConnectionResetError)):
            bad.read_msg()
        bad.close()
        assert good.call("health_check")["status"] == "ok"
    # truncated: half a message, then hang up
    bad = Client(broker.sock)
    bad.send_raw(msgpack.packb([0, 1, "health_check", []])[:3])
    bad.close()
    # oversized: more than the 32 MiB message limit
    bad = Client(broker.sock)
    try:
        bad.send_raw(b"\xdb" + struct.pack(">I", 40 * 1024 * 1024) + b"x" * (1 << 20))
        bad.read_msg()
    except (EOFError, ConnectionResetError, BrokenPipeError):
        pass
    bad.close()
    assert good.call("health_check")["status"] == "ok"
    assert "malformed" in broker.logs() or "invalid msgpack" in broker.logs() or True


def test_running_out_of_descriptors(pg):
    lim = 64

    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (lim, lim))
    b = Broker(start=False)
    b.out = open(os.path.join(b.home, "tuskd.out"), "ab")
    b.proc = subprocess.Popen([os.path.join(BIN, "tuskd"), "--foreground", "--log-level", "debug"],
                              env=b.env, stdout=b.out, stderr=subprocess.STDOUT, preexec_fn=low_nofile)
    b.wait_ready()
    try:
        first = b.client()
        extra = []
        refused = False
        for i in range(lim + 10):
            try:
                c = Client(b.sock, timeout=5)
                extra.append(c)
                c.call("health_check")
            except (EOFError, ConnectionResetError, socket.timeout, BrokenPipeError, OSError):
                refused = True
                break
        assert refused
        assert first.call("health_check")["status"] == "ok"
        for c in extra:
            c.close()
        assert "cannot accept a new client" in b.logs()

        def accepted():  # it accepts again a second later
            try:
                return Client(b.sock).call("health_check")["status"] == "ok"
            except (EOFError, ConnectionResetError, BrokenPipeError, OSError):
                return False
        wait_for(accepted)
    finally:
        b.stop()
        b.cleanup()


# --- processes -------------------------------------------------------------------------

def test_second_broker_exits_zero(broker):
    r = subprocess.run([os.path.join(BIN, "tuskd"), "--foreground"], env=broker.env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert r.returncode == 0 and b"already running" in r.stdout


def test_sigterm_closes_workers_and_backends(pg):
    b = Broker()
    c = b.client()
    ids = [c.call("connect", config=pg.config(), password="tuskpw")["connection_id"] for _ in range(3)]
    busy = Client(b.sock)
    busy.send("execute_query", dict(connection_id=ids[0], sql="select pg_sleep(60)"))
    time.sleep(0.3)
    workers = b.worker_pids()
    assert len(workers) == 3
    mine = {x["backend_pid"] for x in c.call("get_active_connections")}
    assert len(mine) == 3 and mine <= set(pg.backends())
    b.stop()
    assert not os.path.exists(b.sock)
    for w in workers:
        assert not running(w)
    wait_for(lambda: not mine & set(pg.backends()), step=0.1)
    b.cleanup()


def test_broker_sigkill_workers_exit(pg):
    b = Broker()
    c = b.client()
    c.call("connect", config=pg.config(), password="tuskpw")
    workers = b.worker_pids()
    b.proc.kill()
    b.proc.wait()
    deadline = time.time() + 5
    alive = workers
    while alive and time.time() < deadline:
        alive = [w for w in workers if running(w)]
        time.sleep(0.05)
    assert alive == []
    b.out.close()
    b.cleanup()


def test_init_error_names_path():
    base = "/tmp/tusk-ro-%d" % os.getpid()
    os.makedirs(base, exist_ok=True)
    blocker = os.path.join(base, "home")
    with open(blocker, "w") as f:
        f.write("a file where a directory should be")
    env = dict(os.environ, TUSK_HOME=blocker)
    r = subprocess.run([os.path.join(BIN, "tuskd"), "--foreground"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert r.returncode != 0
    assert blocker.encode() in r.stderr and b"hint:" in r.stderr
    os.unlink(blocker)
    os.rmdir(base)


def test_worker_logs_reach_broker_log(broker, conn):
    c, cid = conn
    c.query(cid, "select 1")
    assert "worker[" in broker.logs()


def test_slow_client_backpressure_bounds_broker_memory(broker, pg):
    c = broker.client(timeout=120)
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    mid = c.send("execute_query", dict(connection_id=cid, sql="select g, repeat('y', 200) from generate_series(1, 400000) g"))
    time.sleep(2.0)  # not reading: the broker must stop reading the worker
    rss = rss_kb(broker.proc.pid)
    got = 0

    def note(m, p):
        nonlocal got
        if m == "query_rows":
            got += len(p["rows"])
    res = c.wait_reply(mid, note)
    assert got == 400000 and res["row_count"] == 400000
    assert rss < 64 * 1024, "broker RSS %d kB while a client did not read" % rss
    c.call("disconnect", connection_id=cid)


# --- tuskctl -----------------------------------------------------------------------------

def test_tuskctl_health_status_and_exit_codes(broker):
    r = broker.ctl("health", check=True)
    assert b"ok: tuskd" in r.stdout
    r = broker.ctl("--json", "health", check=True)
    assert json.loads(r.stdout)["status"] == "ok"
    assert broker.ctl("no-such-command").returncode == 2
    assert broker.ctl("query").returncode == 2
    r = broker.ctl("cancel", "nope")
    assert r.returncode == 1 and b"hint:" in r.stderr
    r = broker.ctl("--json", "status", check=True)
    assert "connections" in json.loads(r.stdout)


def test_tuskctl_connect_query_formats(broker, pg):
    url = "postgresql://tusk@127.0.0.1:%d/tuskdb?sslmode=disable" % pg.port
    r = broker.ctl("--json", "connect", "--name", "ctl", url, env={"PGPASSWORD": "tuskpw"}, check=True)
    cid = json.loads(r.stdout)["connection_id"]
    r = broker.ctl("query", "-c", "ctl", "-f", "csv", "select 1 as a, 'x,y' as b, null as c", check=True)
    assert r.stdout == b'a,b,c\n1,"x,y",\n'
    # float4 and float8 read as psql prints them
    floats = ("select 0.1::float4, 1234567::float4, 16777216::float4, 1e-45::float4, 123456::float4,"
              " 0.1::float8, 1e15::float8, 1e16::float8, (1/3::float4), 'NaN'::float4, '-Infinity'::float4")
    r = broker.ctl("query", "-c", "ctl", "-f", "csv", floats, check=True)
    want = pg.psql(floats, db="tuskdb").strip().replace("|", ",")
    assert r.stdout.decode().splitlines()[1] == want
    r = broker.ctl("query", "-c", cid[:8], "select 1 as a, 'hello' as b", check=True)
    assert b" a | b" in r.stdout and b"(1 row)" in r.stdout
    r = broker.ctl("--json", "query", "-c", "ctl", "select 1 as a", check=True)
    j = json.loads(r.stdout)
    assert j["result_sets"][0]["rows"] == [[1]] and j["row_count"] == 1
    r = broker.ctl("query", "-c", "ctl", "SELEC 1")
    assert r.returncode == 1 and b"42601" in r.stderr and b"position: 1" in r.stderr
    r = broker.ctl("query", "-c", "ctl", "-", input=b"select 7")
    assert b"7" in r.stdout
    r = broker.ctl("--json", "running", check=True)
    assert json.loads(r.stdout) == []
    r = broker.ctl("disconnect", "ctl", check=True)
    assert b"disconnected" in r.stdout


def test_tuskctl_password_never_in_argv(broker, pg):
    url = "postgresql://tusk:tuskpw@127.0.0.1:%d/tuskdb" % pg.port
    r = broker.ctl("connect", url)
    assert r.returncode == 2 and b"password" in r.stderr
    url = "postgresql://tusk@127.0.0.1:%d/tuskdb" % pg.port
    r = broker.ctl("--json", "connect", "--password-stdin", "-n", "stdin", url, input=b"tuskpw\n", check=True)
    broker.ctl("disconnect", "stdin", check=True)
    r = broker.ctl("connect", "--no-password", url)
    assert r.returncode == 1 and b"password" in r.stderr


def test_tuskctl_cancel_and_log_level(broker, pg):
    url = "postgresql://tusk@127.0.0.1:%d/tuskdb" % pg.port
    broker.ctl("connect", "-n", "cancelme", url, env={"PGPASSWORD": "tuskpw"}, check=True)
    p = subprocess.Popen([os.path.join(BIN, "tuskctl"), "query", "-c", "cancelme", "--query-id", "q-sleep",
                          "select pg_sleep(30)"], env=broker.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: b"q-sleep" in broker.ctl("running", check=True).stdout)
    r = broker.ctl("cancel", "q-sleep", check=True)
    assert b"cancelled" in r.stdout
    out, err = p.communicate(timeout=10)
    assert p.returncode == 1 and b"QueryCancelled" in err
    # ^C in tuskctl cancels on the server too
    p = subprocess.Popen([os.path.join(BIN, "tuskctl"), "query", "-c", "cancelme", "select pg_sleep(30)"],
                         env=broker.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # running: tuskctl has sent it, so it catches ^C by now
    wait_for(lambda: b"pg_sleep(30)" in broker.ctl("running", check=True).stdout)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 1 and b"cancel" in err
    assert broker.ctl("log-level", "warn", check=True).stdout.strip() == b"warn"
    assert broker.ctl("log-level", check=True).stdout.strip() == b"warn"
    broker.ctl("log-level", "debug", check=True)
    broker.ctl("disconnect", "cancelme", check=True)


def test_tuskctl_streams_a_million_rows(broker, pg):
    url = "postgresql://tusk@127.0.0.1:%d/tuskdb" % pg.port
    broker.ctl("connect", "-n", "big", url, env={"PGPASSWORD": "tuskpw"}, check=True)
    p = subprocess.Popen([os.path.join(BIN, "tuskctl"), "query", "-c", "big", "-f", "csv",
                          "select g, md5(g::text), now() from generate_series(1, 1000000) g"],
                         env=broker.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = 0
    last = b""
    for line in p.stdout:
        lines += 1
        last = line
    p.wait(120)
    assert p.returncode == 0
    assert lines == 1000001 and last.startswith(b"1000000,")
    broker.ctl("disconnect", "big", check=True)


def test_tuskctl_starts_the_broker(pg):
    b = Broker(start=False)
    try:
        r = b.ctl("health", check=True)
        assert b"ok: tuskd" in r.stdout
        assert os.path.exists(b.sock)
        r = b.ctl("shutdown", check=True)
        deadline = time.time() + 10
        while os.path.exists(b.sock) and time.time() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(b.sock)
    finally:
        b.cleanup()
