"""Never lose work, the broker's side: the query history (every client,
search, filters, paging, masking checked in the raw tusk.db bytes, pruning,
the on/off switch, written before the broker stops), saved queries, the
window's workspace, a session per tab (connect new_session, labels,
independence of sessions), tuskctl history and saved, and a damaged tusk.db
keeping the new tables' rows."""
import json
import os
import time

import pytest

from tusk import Broker, TuskError, running, wait_for
from test_storage import db_path, pages, scribble


def saved_conn(c, pg, name):
    return c.call("save_connection", config=pg.config(name=name), password="tuskpw")["config"]["id"]


def run(c, cid, sql):
    return c.call("execute_query", connection_id=cid, sql=sql, max_rows=100)


def history(c, **kw):
    return c.call("get_history", **kw)


@pytest.fixture
def fresh():
    b = Broker()
    yield b
    if b.proc and b.proc.poll() is None:
        b.stop()
    b.cleanup()


def test_every_client_is_recorded_with_what_it_ran(broker, pg):
    c = broker.client()
    sid = saved_conn(c, pg, "hist clients")
    assert c.call("connect", id=sid)["connection_id"] == sid
    run(c, sid, "select 'from a script' as clients_probe")
    r = broker.ctl("query", "-c", sid, "select g as clients_probe from generate_series(1, 3) g", check=True)
    assert b"clients_probe" in r.stdout
    with pytest.raises(TuskError):
        run(c, sid, "select clients_probe from no_such_table_here")
    h = history(c, search="clients_probe")
    assert [x["client"] for x in h] == ["other", "tuskctl", "other"]
    err, ctl, script = h
    assert ctl["sql"] == "select g as clients_probe from generate_series(1, 3) g"
    assert ctl["row_count"] == 3 and ctl["status"] == "ok" and "error_code" not in ctl
    assert ctl["id"] == sid and ctl["connection_id"] == sid and ctl["connection_name"] == "hist clients"
    assert ctl["database"] == "tuskdb" and ctl["elapsed_ms"] >= 0 and ctl["started_at"].endswith("Z")
    assert script["row_count"] == 1 and script["history_id"] < ctl["history_id"] < err["history_id"]
    assert err["status"] == "error" and err["error_code"] == "42P01" and err["row_count"] == 0
    # a quick connection has no saved id; a cancelled statement says so
    q = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    mid = c.send("execute_query", dict(connection_id=q, sql="select pg_sleep(60) as cancel_probe",
                                       query_id="hist-cancel"))
    wait_for(lambda: any(x["query_id"] == "hist-cancel" and x["state"] == "running"
                         for x in c.call("get_running_queries")))
    c.call("cancel_query", query_id="hist-cancel")
    with pytest.raises(TuskError):
        c.wait_reply(mid)
    x = history(c, search="cancel_probe")[0]
    assert x["status"] == "cancelled" and x["error_code"] == "57014" and "id" not in x
    assert x["connection_id"] == q
    for cid in (sid, q):
        c.call("disconnect", connection_id=cid)
    c.call("delete_connection", id=sid)


def test_search_filters_and_pages(broker, pg):
    c = broker.client()
    a = c.call("connect", config=pg.config(name="hist a"), password="tuskpw")["connection_id"]
    b = c.call("connect", config=pg.config(name="hist b"), password="tuskpw")["connection_id"]
    for i in range(12):
        run(c, a if i % 2 else b, "select %d as pagingword_%d, 'Überprüfung' as umlaut" % (i, i))
    with pytest.raises(TuskError):
        run(c, a, "select 1/0 as pagingword_err")
    got = history(c, search="pagingword")
    assert len(got) == 13 and got[0]["sql"].endswith("pagingword_err")
    ids = [x["history_id"] for x in got]
    assert ids == sorted(ids, reverse=True)
    # prefixes of words, several words, words without accents, underscores split words
    assert len(history(c, search="pagingw")) == 13
    assert [x["sql"] for x in history(c, search="pagingword_3 as")] == \
        ["select 3 as pagingword_3, 'Überprüfung' as umlaut"]
    assert len(history(c, search="uberprufung pagingword")) == 12
    assert len(history(c, search="pagingword", connection_id=a)) == 7
    assert [x["error_code"] for x in history(c, search="pagingword", status="error")] == ["22012"]
    assert len(history(c, search="pagingword", status="ok", connection_id=b)) == 6
    # pages
    p1 = history(c, search="pagingword", limit=5)
    p2 = history(c, search="pagingword", limit=5, before=p1[-1]["history_id"])
    p3 = history(c, search="pagingword", limit=5, before=p2[-1]["history_id"])
    assert [x["history_id"] for x in p1 + p2 + p3] == ids
    for bad in (dict(limit=0), dict(limit=10001), dict(status="fine"), dict(search="?!"), dict(before=0)):
        with pytest.raises(TuskError) as e:
            history(c, **bad)
        assert e.value["kind"] == "Validation" and list(bad)[0] in e.value["message"]
    for cid in (a, b):
        c.call("disconnect", connection_id=cid)


SECRETS = {
    "CREATE ROLE hist_r1 LOGIN PASSWORD 'S3cretPlainA'": "PASSWORD '********'",
    "ALTER ROLE hist_r1 WITH ENCRYPTED PASSWORD $pw$S3cretDollarB$pw$": "PASSWORD $pw$********$pw$",
    "alter user hist_r1 password E'S3cret\\'EscC'": "password E'********'",
    "select * from dblink('host=x password=S3cretConnD dbname=y', 'select 1') as t(a int)":
        "password=******** dbname=y",
    "CREATE USER MAPPING FOR tusk SERVER hist_srv OPTIONS (user 'u', password 'S3cretFdwE')":
        "password '********'",
    "select 'postgresql://u:S3cretUriF@h/db' as uri": "u:********@h",
}


def test_passwords_never_reach_the_history_on_disk(fresh, pg):
    c = fresh.client()
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    for sql in SECRETS:
        try:
            run(c, cid, sql)
        except TuskError:
            pass  # no privilege, no dblink: recorded all the same
    got = {x["sql"] for x in history(c, search="hist_r1") + history(c, search="dblink") +
           history(c, search="hist_srv") + history(c, search="uri")}
    assert len(got) == len(SECRETS), got
    for sql, shown in SECRETS.items():
        assert any(shown in g for g in got), (shown, got)
        assert not any("S3cret" in g for g in got)
    assert history(c, search="S3cretPlainA") == []
    c.call("disconnect", connection_id=cid)
    raw = b""
    for suffix in ("", "-wal"):
        p = db_path(fresh) + suffix
        if os.path.exists(p):
            with open(p, "rb") as f:
                raw += f.read()
    assert b"hist_r1" in raw  # the history is there
    assert b"S3cret" not in raw
    fresh.stop()
    with open(db_path(fresh), "rb") as f:
        assert b"S3cret" not in f.read()


def test_max_entries_prunes_the_oldest_in_batches(fresh, pg):
    c = fresh.client()
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    for bad in (0, -1, "ten", 10**8):
        with pytest.raises(TuskError) as e:
            c.call("set_preference", key="history.max_entries", value=bad)
        assert e.value["kind"] == "Validation"
    c.call("set_preference", key="history.max_entries", value=20)
    for i in range(60):
        run(c, cid, "select %d as prune_%d" % (i, i))
    h = history(c, limit=1000)
    assert 20 <= len(h) <= 22, len(h)  # pruned when a tenth over the bound
    assert h[0]["sql"] == "select 59 as prune_59"
    assert all(int(x["sql"].split()[1]) >= 60 - len(h) for x in h)
    # the bound holds after a restart too
    fresh.stop()
    fresh.start()
    c = fresh.client()
    assert 20 <= len(history(c, limit=1000)) <= 22


def test_switching_history_off_and_on(broker, pg):
    c = broker.client()
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    with pytest.raises(TuskError) as e:
        c.call("set_preference", key="history.enabled", value="no")
    assert e.value["kind"] == "Validation"
    c.call("set_preference", key="history.enabled", value=False)
    try:
        run(c, cid, "select 'while off' as switch_probe_off")
        assert history(c, search="switch_probe_off") == []
    finally:
        c.call("set_preference", key="history.enabled", value=True)
    run(c, cid, "select 'on again' as switch_probe_on")
    assert len(history(c, search="switch_probe_on")) == 1
    c.call("disconnect", connection_id=cid)


def test_history_is_written_before_the_broker_stops(fresh, pg):
    c = fresh.client()
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    for i in range(50):
        run(c, cid, "select %d as stop_probe" % i)
    fresh.stop()  # at once: the batch still in memory is written on the way out
    fresh.start()
    c = fresh.client()
    assert len(history(c, search="stop_probe", limit=100)) == 50


def test_delete_history(broker, pg):
    c = broker.client()
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    for i in range(3):
        run(c, cid, "select %d as delete_probe" % i)
    h = history(c, search="delete_probe")
    assert c.call("delete_history", history_ids=[h[0]["history_id"], 999999999])["deleted"] == 1
    assert len(history(c, search="delete_probe")) == 2
    for bad in ({}, dict(all=True, history_ids=[1]), dict(history_ids=["x"]), dict(history_ids=[0])):
        with pytest.raises(TuskError) as e:
            c.call("delete_history", **bad)
        assert e.value["kind"] == "Validation"
    assert c.call("delete_history", all=True)["deleted"] >= 2
    assert history(c) == []
    c.call("disconnect", connection_id=cid)


def test_saved_queries(broker, pg):
    c = broker.client()
    sid = saved_conn(c, pg, "saved q conn")
    q = c.call("save_query", name="Active users", sql="select * from pg_stat_activity",
               description="who is on", folder="ops", id=sid)
    assert q["name"] == "Active users" and q["folder"] == "ops" and q["id"] == sid
    assert q["created_at"] == q["updated_at"]
    with pytest.raises(TuskError) as e:
        c.call("save_query", name="ACTIVE USERS", sql="select 1")
    assert e.value["kind"] == "Validation" and "name" in e.value["message"]
    q2 = c.call("save_query", saved_query_id=q["saved_query_id"], name="active users", sql="select 2")
    assert q2["saved_query_id"] == q["saved_query_id"] and q2["created_at"] == q["created_at"]
    assert q2["updated_at"] > q["updated_at"] and q2["folder"] is None and q2["id"] is None
    for bad in (dict(name="", sql="x"), dict(name="n" * 201, sql="x"), dict(name="x", sql="x", folder=""),
                dict(name="x", sql="x", id="00000000-0000-4000-8000-000000000000"),
                dict(name="x", sql="x", id="nope"),
                dict(name="x", sql="x", saved_query_id="00000000-0000-4000-8000-000000000000")):
        with pytest.raises(TuskError) as e:
            c.call("save_query", **bad)
        assert e.value["kind"] == "Validation", bad
    c.call("save_query", name="with conn", sql="select 3", id=sid)
    assert [x["name"] for x in c.call("list_saved_queries")] == ["active users", "with conn"]
    # deleting the connection keeps the query, without its connection
    c.call("delete_connection", id=sid)
    wc = [x for x in c.call("list_saved_queries") if x["name"] == "with conn"][0]
    assert wc["id"] is None
    for x in c.call("list_saved_queries"):
        assert c.call("delete_saved_query", saved_query_id=x["saved_query_id"]) is None
    with pytest.raises(TuskError) as e:
        c.call("delete_saved_query", saved_query_id=q["saved_query_id"])
    assert e.value["kind"] == "Validation"


def test_tuskctl_saved_and_history(broker, pg):
    c = broker.client()
    sid = saved_conn(c, pg, "ctl saved conn")
    c.call("connect", id=sid)
    r = broker.ctl("saved", "add", "Answer", "-d", "the answer", "--folder", "misc", "-c", "ctl saved conn",
                   "select 42 as ctl_saved_answer", check=True)
    assert b"-- Answer (in misc)" in r.stdout
    assert b"Answer" in broker.ctl("saved", check=True).stdout
    assert b"select 42" in broker.ctl("saved", "show", "answer", check=True).stdout
    out = broker.ctl("saved", "run", "answer", "-f", "csv", check=True).stdout
    assert out.splitlines() == [b"ctl_saved_answer", b"42"]
    out = broker.ctl("saved", "run", "Answer", "-c", sid, check=True).stdout
    assert b"42" in out
    r = broker.ctl("saved", "add", "answer", "select 43 as ctl_saved_answer", check=True)
    assert len(c.call("list_saved_queries")) == 1 and c.call("list_saved_queries")[0]["sql"].startswith("select 43")
    assert broker.ctl("saved", "run", "nope").returncode == 1
    assert broker.ctl("saved", "frobnicate").returncode == 2
    # history, by any client, searched, by connection
    out = broker.ctl("history", "ctl_saved_answer", check=True).stdout.decode()
    lines = [x for x in out.splitlines() if "ctl_saved_answer" in x]
    assert len(lines) == 2 and "tuskctl" in lines[0] and "ctl saved conn" in lines[0]
    js = json.loads(broker.ctl("--json", "history", "-c", "ctl saved conn", "-n", "1", check=True).stdout)
    assert len(js) == 1 and js[0]["id"] == sid and js[0]["client"] == "tuskctl"
    js = json.loads(broker.ctl("--json", "history", "--status", "error", "ctl_saved_answer", check=True).stdout)
    assert js == []
    assert broker.ctl("history", "-c", "no such connection").returncode == 1
    assert broker.ctl("history", "-n", "0").returncode == 2
    assert broker.ctl("saved", "rm", "answer", check=True).returncode == 0
    assert c.call("list_saved_queries") == []
    c.call("disconnect", connection_id=sid)
    c.call("delete_connection", id=sid)


def test_workspace(fresh):
    c = fresh.client()
    assert c.call("get_workspace") is None
    ws = {"version": 1, "active": 1, "tabs": [
        {"id": "t1", "title": "Query 1", "sql": "select 'ü' -- ✓\n" * 100, "cursor": [3, 4],
         "connection": None, "file": None, "dirty": True},
        {"id": "t2", "title": "report.sql", "sql": "", "file": "/home/u/report.sql", "dirty": False}]}
    saved_at = c.call("save_workspace", workspace=ws)["saved_at"]
    assert saved_at.endswith("Z")
    assert c.call("get_workspace") == ws
    for bad in ([], "x", None):
        with pytest.raises(TuskError) as e:
            c.call("save_workspace", workspace=bad)
        assert e.value["kind"] == "Validation"
    with pytest.raises(TuskError) as e:
        c.call("save_workspace", workspace={"tabs": [{"sql": "x" * (17 * 1024 * 1024)}]})
    assert e.value["kind"] == "Validation" and "workspace" in e.value["message"]
    assert c.call("get_workspace") == ws  # a refused save changes nothing
    fresh.stop()
    fresh.start()
    assert fresh.client().call("get_workspace") == ws


def test_a_session_per_tab(broker, pg):
    c = broker.client()
    sid = saved_conn(c, pg, "tabs conn")
    t1 = c.call("connect", id=sid, new_session=True, label="Query 1")["connection_id"]
    t2 = c.call("connect", id=sid, new_session=True, label="Query 2")["connection_id"]
    assert len({t1, t2, sid}) == 3
    act = {a["connection_id"]: a for a in c.call("get_active_connections")}
    assert act[t1]["saved_id"] == sid and act[t1]["label"] == "Query 1" and act[t2]["label"] == "Query 2"
    assert act[t1]["worker_pid"] != act[t2]["worker_pid"]
    # one tab's long query does not hold up the other's
    mid = c.send("execute_query", dict(connection_id=t1, sql="select pg_sleep(30)", query_id="tab-sleep"))
    wait_for(lambda: any(q["query_id"] == "tab-sleep" and q["state"] == "running"
                         for q in c.call("get_running_queries")))
    assert run(c, t2, "select 1")["rows"] == [[1]]
    assert any(q["query_id"] == "tab-sleep" and q["state"] == "running" for q in c.call("get_running_queries"))
    c.call("cancel_query", query_id="tab-sleep")
    with pytest.raises(TuskError):
        c.wait_reply(mid)
    # SET, temporary tables and transactions belong to their tab
    run(c, t1, "set search_path = tab_one")
    run(c, t1, "create temp table tab_tmp (x int)")
    run(c, t1, "begin")
    assert run(c, t2, "show search_path")["rows"] != [["tab_one"]]
    with pytest.raises(TuskError):
        run(c, t2, "select * from tab_tmp")
    assert run(c, t1, "select count(*) from tab_tmp")["transaction"] == "in_transaction"
    assert run(c, t2, "select 1")["transaction"] == "idle"
    run(c, t1, "rollback")
    # the label follows the tab's title; tuskctl shows it under the connection
    c.call("set_connection_label", connection_id=t2, label="report.sql")
    w = {x["connection_id"]: x for x in c.call("list_workers") if x["state"] != "dead"}
    assert w[t2]["label"] == "report.sql" and w[t2]["saved_id"] == sid and w[t1]["label"] == "Query 1"
    out = broker.ctl("workers", check=True).stdout.decode()
    assert "tabs conn \u00b7 report.sql" in out and "tabs conn \u00b7 Query 1" in out
    for bad in ("x" * 201, "a\nb"):
        with pytest.raises(TuskError) as e:
            c.call("set_connection_label", connection_id=t2, label=bad)
        assert e.value["kind"] == "Validation"
    with pytest.raises(TuskError):
        c.call("connect", id=sid, new_session=True, label="tab\x01")
    # history tells the tabs apart, and both belong to the saved connection
    assert {x["connection_id"] for x in history(c, id=sid, limit=50)} == {t1, t2}
    # closing a tab ends its session only
    pid2 = act[t2]["worker_pid"]
    c.call("disconnect", connection_id=t2)
    wait_for(lambda: not running(pid2))
    assert run(c, t1, "select 2")["rows"] == [[2]]
    # without new_session, connect by id still answers the one open session
    assert c.call("connect", id=sid)["connection_id"] == sid
    assert c.call("connect", id=sid)["connection_id"] == sid
    for cid in (t1, sid):
        c.call("disconnect", connection_id=cid)
    c.call("delete_connection", id=sid)


@pytest.mark.parametrize("case", ["damaged header", "damaged table page"])
def test_a_damaged_file_keeps_history_saved_queries_and_workspace(fresh, pg, case):
    c = fresh.client()
    for i in range(40):
        c.call("save_connection", config=pg.config(name="salvage conn %02d %s" % (i, "x" * 180)))
    sid = c.call("list_connections")[0]["id"]
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    for i in range(30):
        run(c, cid, "select %d as salvage_probe" % i)
    c.call("save_query", name="kept", sql="select 'kept'", id=sid)
    ws = {"tabs": [{"title": "Query 1", "sql": "select 'survives'"}], "active": 0}
    c.call("save_workspace", workspace=ws)
    fresh.stop()
    path = db_path(fresh)
    if case == "damaged header":
        scribble(path, 1, 100)
    else:
        page, _ = pages(path, "connections", "leaf")[1]
        scribble(path, page)
    fresh.start()
    c = fresh.client()
    n = c.call("get_app_info")["storage_notice"]
    assert n and n["action"] == "salvaged"
    assert len(history(c, search="salvage_probe", limit=100)) == 30
    q = c.call("list_saved_queries")
    assert [x["name"] for x in q] == ["kept"]
    assert c.call("get_workspace") == ws
    # the history goes on being written into the new file
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    run(c, cid, "select 'after' as salvage_after")
    assert len(history(c, search="salvage_after")) == 1
