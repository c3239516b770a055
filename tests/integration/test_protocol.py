"""Every method and every notification, against a real broker, checked
against the shape `describe` declares for it (common/shape.h).

The client used here checks each answer, error and notification it reads;
the last test fails unless every method describe lists answered at least
once with a result, and every notification arrived at least once. A method
added to the table without a call here, or a result that drifts from its
declaration, fails this file.
"""
import os
import shutil
import subprocess
import tempfile

import pytest

from shapes import Protocol
from sshd import PASSWORD, USER, Sshd
from tusk import BIN, Broker, Client, TuskError, wait_for

SEEN_RESULTS = set()
SEEN_NOTIFICATIONS = set()
PROBLEMS = []


def tuskd_describe():
    """The table as the build declares it (tuskd --describe)."""
    import msgpack
    out = subprocess.run([os.path.join(BIN, "tuskd"), "--describe"], check=True,
                         stdout=subprocess.PIPE).stdout
    return msgpack.unpackb(out, raw=False)


PROTO = Protocol(tuskd_describe())


class CheckedClient(Client):
    """A client that holds every message it reads to the declared shapes."""

    def __init__(self, sock):
        super().__init__(sock)
        self.sent = {}

    def send(self, method, params=None, msgid=None):
        mid = super().send(method, params, msgid)
        self.sent[mid] = method
        return mid

    def read_msg(self):
        m = super().read_msg()
        if m[0] == 2:
            params = m[2][0] if m[2] else None
            errs = PROTO.check_notification(m[1], params)
            SEEN_NOTIFICATIONS.add(m[1])
            PROBLEMS.extend(errs)
            assert not errs, errs
        elif m[0] == 1:
            method = self.sent.get(m[1], "?")
            if m[2] is not None:
                errs = PROTO.check_error(m[2], method)
            else:
                errs = PROTO.check_result(method, m[3]) if method in PROTO.methods else \
                    ["reply to an unknown method %s" % method]
                SEEN_RESULTS.add(method)
            PROBLEMS.extend(errs)
            assert not errs, errs
        return m


@pytest.fixture(scope="module")
def sshd(pg):
    s = Sshd(permit_open=[("127.0.0.1", pg.port)])
    yield s
    s.stop()


@pytest.fixture(scope="module")
def pb():
    home = tempfile.mkdtemp(prefix="thp.", dir="/tmp")
    os.makedirs(os.path.join(home, ".ssh"))
    b = Broker(env={"HOME": home})
    yield b
    b.stop()
    b.cleanup()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def c(pb):
    cl = CheckedClient(pb.sock)
    yield cl
    cl.close()


def test_the_broker_answers_the_build_table(c):
    d = c.call("describe")
    assert [m["name"] for m in d["methods"]] == [m["name"] for m in PROTO.describe["methods"]]
    assert d == PROTO.describe


def test_about_the_broker(c):
    c.call("health_check")
    c.call("get_app_info")
    c.call("get_log_directory")
    assert c.call("get_log_level") == "debug"
    assert c.call("set_log_level", level="debug") == "debug"
    c.call("check_database_health")
    c.call("dismiss_storage_notice")
    c.call("check_keychain_available")
    c.call("get_keychain_status")


def test_preferences(c):
    assert c.call("set_preference", key="ui.theme", value="dark") is None
    assert c.call("get_preference", key="ui.theme") == "dark"
    assert c.call("get_preference", key="no.such") is None
    assert any(p["key"] == "ui.theme" for p in c.call("list_preferences"))


def test_saved_connections(c, pg):
    r = c.call("save_connection", config=pg.config(name="proto saved"), password="tuskpw")
    cid = r["config"]["id"]
    assert c.call("get_connection", id=cid)["name"] == "proto saved"
    assert c.call("get_connection", id="00000000-0000-4000-8000-000000000000") is None
    assert any(x["id"] == cid for x in c.call("list_connections"))
    assert isinstance(c.call("has_stored_password", connection_id=cid), bool)
    assert c.call("test_connection", id=cid)["success"] is True
    assert c.call("test_connection", config=pg.config(), password="wrong")["success"] is False
    assert c.call("connect", id=cid)["connection_id"] == cid
    assert c.call("disconnect", connection_id=cid) is None
    assert c.call("delete_connection", id=cid) == {"warnings": []}


def test_queries_streamed_and_whole(c, pg):
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    res, rows, cols = c.query(cid, "select g, 'x' || g, g::float4 / 3, g % 2 = 0, "
                                   "'\\x00ff'::bytea, null from generate_series(1, 3000) g")
    assert len(rows) == 3000 and res["row_count"] == 3000
    res = c.call("execute_query", connection_id=cid, sql="select 1 as one", max_rows=10)
    assert res["rows"] == [[1]]
    # a notice, and several result sets
    c.query(cid, "do $$ begin raise notice 'hello %', 42; end $$; select 1; select 2")
    assert any(n[0] == "query_notice" for n in c.notifications)
    active = c.call("get_active_connections")
    assert any(a["connection_id"] == cid for a in active)
    c.call("list_workers")
    # a running query, listed and cancelled
    mid = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(30)", query_id="proto-sleep"))
    wait_for(lambda: any(q["query_id"] == "proto-sleep" and q["state"] == "running"
                         for q in c.call("get_running_queries")))
    assert any(q["query_id"] == "proto-sleep" for q in c.call("get_running_queries", connection_id=cid))
    assert c.call("cancel_query", query_id="proto-sleep")["cancelled"] is True
    with pytest.raises(TuskError) as e:
        c.wait_reply(mid)
    assert e.value["kind"] == "QueryCancelled"
    c.call("disconnect", connection_id=cid)


def test_schema_family(c, pg):
    """get_schema (read, cached, with system schemas), describe_object, and
    schema_changed after DDL."""
    pg.psql("CREATE DATABASE protoschema OWNER tusk")
    cid = c.call("connect", config=pg.config(database="protoschema"), password="tuskpw")["connection_id"]
    c.query(cid, "create table \"Proto T\" (id int primary key, \"user\" text default 'x'); "
                 "create type proto_mood as enum ('a', 'b'); "
                 "create function proto_f(x int) returns int language sql as 'select x'")
    first = c.call("get_schema", connection_id=cid)
    assert c.call("get_schema", connection_id=cid)["version"] == first["version"]
    c.call("get_schema", connection_id=cid, system=True, refresh=True)
    d = c.call("describe_object", connection_id=cid, schema="public", name="Proto T")
    assert d["kind"] == "table" and d["ddl"].startswith("CREATE TABLE")
    c.call("describe_object", connection_id=cid, schema="public", name="proto_mood", kind="enum")
    c.call("describe_object", connection_id=cid, schema="public", name="proto_f(integer)")
    c.query(cid, "create table proto_more (id int)")
    assert any(n == "schema_changed" and p["connection_id"] == cid for n, p in c.notifications)


def test_export_and_import(c, pg, tmp_path):
    """export_query with query_progress on the way, then import_file."""
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    path = str(tmp_path / "p.csv")
    res = c.call("export_query", connection_id=cid, path=path, format="csv",
                 sql="select g, repeat('x', 100) as s from generate_series(1, 100000) g")
    assert res["row_count"] == 100000 and os.path.getsize(path) == res["bytes"]
    assert any(n[0] == "query_progress" for n in c.notifications)
    c.query(cid, "create temp table p (g int, s text)")
    res = c.call("import_file", connection_id=cid, table="p", path=path, format="csv",
                 options={"header": True})
    assert res["row_count"] == 100000


def test_history_saved_queries_workspace_sessions(c, pg):
    saved = c.call("save_connection", config=pg.config(name="proto sessions"), password="tuskpw")["config"]["id"]
    first = c.call("connect", id=saved, label="Query 1")["connection_id"]
    other = c.call("connect", id=saved, new_session=True, label="Query 2")["connection_id"]
    assert first == saved and other != saved
    assert c.call("set_connection_label", connection_id=other, label="report.sql") is None
    c.call("execute_query", connection_id=other, sql="select 42 as proto_history", max_rows=1)
    with pytest.raises(TuskError):
        c.call("execute_query", connection_id=other, sql="select * from proto_no_such_table")
    h = c.call("get_history", search="proto_history")
    assert h and h[0]["sql"] == "select 42 as proto_history" and h[0]["id"] == saved
    e = c.call("get_history", connection_id=other, status="error", limit=5)
    assert e[0]["error_code"] == "42P01"
    assert c.call("delete_history", history_ids=[h[0]["history_id"]])["deleted"] == 1
    q = c.call("save_query", name="proto saved query", sql="select 1", description="d", id=saved, folder="f")
    assert c.call("save_query", saved_query_id=q["saved_query_id"], name="proto saved query",
                  sql="select 2")["sql"] == "select 2"
    assert any(x["saved_query_id"] == q["saved_query_id"] for x in c.call("list_saved_queries"))
    assert c.call("delete_saved_query", saved_query_id=q["saved_query_id"]) is None
    c.call("get_workspace")
    ws = {"tabs": [{"title": "Query 1", "sql": "select 1"}], "active": 0}
    assert "saved_at" in c.call("save_workspace", workspace=ws)
    assert c.call("get_workspace") == ws
    assert c.call("delete_history", all=True)["deleted"] >= 1
    for cid in (first, other):
        c.call("disconnect", connection_id=cid)
    c.call("delete_connection", id=saved)


def test_table_data_and_server_activity(c, pg):
    pg.psql("DROP TABLE IF EXISTS proto_t; CREATE TABLE proto_t (id int PRIMARY KEY, v text); "
            "INSERT INTO proto_t VALUES (1, 'a'), (2, NULL), (3, 'c'); ALTER TABLE proto_t OWNER TO tusk",
            db="tuskdb")
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    page = c.call("open_table", connection_id=cid, schema="public", table="proto_t", limit=2,
                  order_by=[{"column": "v", "desc": True}], filter=[{"column": "id", "op": "<", "value": 9}])
    assert len(page["rows"]) == 2 and page["next"] is not None and page["editable"]
    r = c.call("apply_edits", connection_id=cid, schema="public", table="proto_t", edits=[
        {"op": "update", "key": page["keys"][0], "xmin": page["xmins"][0], "values": {"v": "b"}},
        {"op": "insert", "values": {"id": 4, "v": "d"}}])
    assert r["applied"] == 2 and r["conflicts"] == []
    # a conflict: the row changed since it was read
    r = c.call("apply_edits", connection_id=cid, schema="public", table="proto_t", edits=[
        {"op": "delete", "key": page["keys"][0], "xmin": page["xmins"][0]}])
    assert r["applied"] == 0 and r["conflicts"][0]["reason"] == "changed"
    acts = c.call("get_server_activity", connection_id=cid)
    assert any(a.get("tusk_connection_id") == cid for a in acts)
    assert c.call("cancel_backend", connection_id=cid, pid=2147483000)["ok"] is False
    assert c.call("terminate_backend", connection_id=cid, pid=2147483000)["ok"] is False
    c.call("disconnect", connection_id=cid)


def test_events_and_kill(c, pb, pg):
    watcher = CheckedClient(pb.sock)
    assert watcher.call("subscribe") is None
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    c.query(cid, "select 1")
    r = c.call("kill_worker", connection_id=cid)
    assert r["killed"] is True
    # read the events that came meanwhile (each is checked as it is read)
    watcher.call("health_check")
    kinds = {(p["topic"], p["type"]) for n, p in watcher.notifications if n == "event"}
    assert ("connections", "connected") in kinds and ("queries", "finished") in kinds
    assert any(t == "workers" for t, _ in kinds)
    watcher.close()


def test_errors_have_the_error_shape(c):
    for method, params in [("connect", {}), ("disconnect", {"connection_id": "nope"}),
                           ("cancel_query", {"query_id": "nope"}), ("no_such_method", {}),
                           ("set_log_level", {"level": "loud"})]:
        with pytest.raises(TuskError):
            c.call(method, params)


def test_a_method_name_sent_as_bin_is_understood(pb):
    """Older msgpack-RPC clients send the method as raw/bin (Neovim accepts both)."""
    import msgpack
    cl = Client(pb.sock)
    cl.send_raw(msgpack.packb([0, 7, b"health_check", []], use_bin_type=True))
    m = cl.read_msg()
    assert m[0] == 1 and m[1] == 7 and m[2] is None and m[3]["status"] == "ok"
    cl.close()


def test_trust_host_key(c, pg, sshd):
    tun = {"host": "::1", "port": sshd.port, "username": USER, "auth_method": {"type": "password"}}
    with pytest.raises(TuskError) as e:
        c.call("connect", config=pg.config(ssh_tunnel=tun), password="tuskpw", ssh_password=PASSWORD)
    hk = e.value["host_key"]
    assert c.call("trust_host_key", connection_id=hk["connection_id"], fingerprint=hk["fingerprint"]) is None


def test_shutdown_answers_nil():
    b = Broker()
    cl = CheckedClient(b.sock)
    assert cl.call("shutdown") is None
    assert b.proc.wait(20) == 0
    cl.close()
    b.stop()
    b.cleanup()


def test_zz_every_method_and_notification_was_checked():
    assert not PROBLEMS, PROBLEMS
    missing = sorted(set(PROTO.methods) - SEEN_RESULTS)
    assert not missing, "methods never answered with a result here: %s" % missing
    unseen = sorted(set(PROTO.notifications) - SEEN_NOTIFICATIONS)
    assert not unseen, "notifications never received here: %s" % unseen
