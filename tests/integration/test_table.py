"""A table's data and safe edits (open_table, apply_edits) against a real
server: values round-trip exactly, keyset paging is right for any order
(mixed directions, NULLs, ties), filters and values are bound (never SQL),
concurrent changes are conflicts that apply nothing, and what cannot be
edited says why."""
import os
import subprocess

import pytest

from tusk import BIN, TuskError, wait_for

TABLE = "Order Items"


def sql(pg, text):
    """Run SQL in tuskdb as the tusk role (it owns what it creates)."""
    return pg.psql(text, db="tuskdb", user="tusk", password="tuskpw")


def open_table(c, cid, table=TABLE, schema="public", **kw):
    return c.call("open_table", connection_id=cid, schema=schema, table=table, **kw)


def all_rows(c, cid, table, **kw):
    """Every row, page by page through `next`; returns (rows, pages)."""
    rows, after, pages = [], None, 0
    while True:
        p = dict(kw)
        if after is not None:
            p["after"] = after
        r = open_table(c, cid, table, **p)
        rows += r["rows"]
        pages += 1
        after = r["next"]
        if after is None:
            return rows, pages
        assert pages < 1000


@pytest.fixture(scope="module")
def tables(pg):
    sql(pg, """
    DROP TABLE IF EXISTS "Order Items", nokey, pg_rows, kw CASCADE;
    DROP VIEW IF EXISTS v_items, v_agg;
    DROP MATERIALIZED VIEW IF EXISTS mv_items;
    CREATE TABLE "Order Items" (id int PRIMARY KEY, "Name" text, price numeric, tags text[],
        doc jsonb, pic bytea, ok bool, f4 real, f8 float8, at timestamptz,
        doubled int GENERATED ALWAYS AS (id * 2) STORED,
        serial_no int GENERATED ALWAYS AS IDENTITY);
    INSERT INTO "Order Items" (id, "Name", price) SELECT i, 'item ' || i, i * 1.5
        FROM generate_series(1, 20) i;
    CREATE TABLE nokey (a int, b text);
    INSERT INTO nokey SELECT i, 'r' || i FROM generate_series(1, 7) i;
    CREATE TABLE pg_rows (id int PRIMARY KEY, g int, s text);
    INSERT INTO pg_rows SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE i % 3 END,
        CASE WHEN i % 4 = 0 THEN NULL ELSE chr(97 + i % 6) END FROM generate_series(1, 40) i;
    CREATE VIEW v_items AS SELECT id, "Name" FROM "Order Items";
    CREATE VIEW v_agg AS SELECT count(*) AS n FROM "Order Items";
    CREATE MATERIALIZED VIEW mv_items AS SELECT id FROM "Order Items";
    """)
    yield


def test_a_page_has_keys_xmins_and_a_cursor(conn, pg, tables):
    c, cid = conn
    r = open_table(c, cid, limit=5)
    assert r["editable"] and r["reason"] is None and r["kind"] == "table"
    assert r["key_columns"] == ["id"] and r["paging"] == "keyset"
    assert [row[0] for row in r["rows"]] == [1, 2, 3, 4, 5]
    assert r["keys"] == [{"id": str(i)} for i in range(1, 6)]
    xmin = sql(pg, 'SELECT xmin FROM "Order Items" WHERE id = 1').strip()
    assert r["xmins"][0] == xmin
    cols = {col["name"]: col for col in r["columns"]}
    assert cols["id"]["key"] and not cols["id"]["nullable"]
    assert not cols["doubled"]["editable"] and cols["doubled"]["generated"]
    assert not cols["serial_no"]["editable"] and cols["serial_no"]["identity"] == "always"
    assert cols["Name"]["editable"] and cols["tags"]["data_type"] == "_text"
    # the statement quotes what needs quoting and binds every value
    assert 'FROM public."Order Items" t' in r["sql"] and "$1" in r["sql"]
    r2 = open_table(c, cid, limit=5, after=r["next"])
    assert [row[0] for row in r2["rows"]] == [6, 7, 8, 9, 10]
    last = open_table(c, cid, limit=5, after=open_table(c, cid, limit=15)["next"])
    assert [row[0] for row in last["rows"]] == [16, 17, 18, 19, 20] and last["next"] is None


ORDERS = [
    [{"column": "g"}],
    [{"column": "g", "desc": True}],
    [{"column": "s", "desc": True}, {"column": "g"}],
    [{"column": "g"}, {"column": "s", "desc": True}],
    [{"column": "s"}, {"column": "g", "desc": True}, {"column": "id", "desc": True}],
    [{"column": "id", "desc": True}],
]


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: ",".join(
    x["column"] + (" desc" if x.get("desc") else "") for x in o))
def test_keyset_pages_follow_the_servers_order(conn, pg, tables, order):
    """Walking pages of 3 gives exactly ORDER BY ..., id (NULLs, ties, mixed directions)."""
    c, cid = conn
    rows, pages = all_rows(c, cid, "pg_rows", order_by=order, limit=3)
    by = ", ".join('"%s"%s' % (o["column"], " DESC" if o.get("desc") else "") for o in order)
    if not any(o["column"] == "id" for o in order):
        by += ", id" + (" DESC" if order[-1].get("desc") else "")  # the key follows the last direction
    want = [int(x) for x in sql(pg, "SELECT id FROM pg_rows ORDER BY %s" % by).split()]
    assert [r[0] for r in rows] == want
    assert pages == 14  # 40 rows, 3 a page, the last one short


def test_filters(conn, pg, tables):
    c, cid = conn

    def ids(*filters, table="pg_rows"):
        rows, _ = all_rows(c, cid, table, filter=list(filters), limit=7)
        return [r[0] for r in rows]

    def psql_ids(where):
        return [int(x) for x in sql(pg, "SELECT id FROM pg_rows WHERE %s ORDER BY id" % where).split()]

    assert ids({"column": "g", "op": "=", "value": 1}) == psql_ids("g = 1")
    assert ids({"column": "g", "op": "!=", "value": 1}) == psql_ids("g <> 1")
    assert ids({"column": "g", "op": "<", "value": 2}) == psql_ids("g < 2")
    assert ids({"column": "id", "op": ">", "value": 35}) == psql_ids("id > 35")
    assert ids({"column": "id", "op": "<=", "value": "3"}) == [1, 2, 3]
    assert ids({"column": "g", "op": "is_null"}) == psql_ids("g IS NULL")
    assert ids({"column": "s", "op": "is_not_null"}, {"column": "g", "op": "=", "value": 0}) == \
        psql_ids("s IS NOT NULL AND g = 0")
    assert ids({"column": "id", "op": "in", "value": [3, 5, 99]}) == [3, 5]
    assert ids({"column": "Name", "op": "contains", "value": "EM 1"}, table=TABLE) == \
        [1] + list(range(10, 20))
    assert ids({"column": "Name", "op": "starts_with", "value": "item 2"}, table=TABLE) == [2, 20]
    # LIKE's wildcards in a value are just characters
    assert ids({"column": "Name", "op": "contains", "value": "%"}, table=TABLE) == []
    assert ids({"column": "Name", "op": "starts_with", "value": "item_"}, table=TABLE) == []


def test_injection_in_filters_and_values_is_just_data(conn, pg, tables):
    c, cid = conn
    evil = "'; DROP TABLE nokey; --"
    r = open_table(c, cid, filter=[{"column": "Name", "op": "=", "value": evil}])
    assert r["rows"] == []
    r = open_table(c, cid, filter=[{"column": "id", "op": "=", "value": 20}])
    res = c.call("apply_edits", connection_id=cid, schema="public", table=TABLE, edits=[
        {"op": "update", "key": r["keys"][0], "xmin": r["xmins"][0], "values": {"Name": evil}},
        {"op": "insert", "values": {"id": 21, "Name": 'x"); DROP TABLE nokey; --'}}])
    assert res["applied"] == 2
    r = open_table(c, cid, filter=[{"column": "Name", "op": "=", "value": evil}])
    assert [row[0] for row in r["rows"]] == [20]
    r = open_table(c, cid, filter=[{"column": "Name", "op": "contains", "value": '"); drop'}])
    assert [row[0] for row in r["rows"]] == [21]
    assert sql(pg, "SELECT count(*) FROM nokey").strip() == "7"
    # a column name that is not one is refused, never spliced into SQL
    with pytest.raises(TuskError) as e:
        open_table(c, cid, order_by=[{"column": 'id; DROP TABLE nokey'}])
    assert e.value["kind"] == "Validation" and "order_by[0].column" in e.value["message"]


def test_values_round_trip_exactly(conn, pg, tables):
    """NULLs, unicode, bytea, arrays, JSON, floats, timestamps: what is stored is what was sent."""
    c, cid = conn
    values = {
        "Name": "Zoë 🐘 \u65e5\u672c \"quoted\" back\\slash",
        "price": "12345678901234567890.000000000000000001",
        "tags": '{"a b",NULL,"c\\"d",ü}',
        "doc": '{"k": [1, 2.5, null, "ü"], "n": {"x": true}}',
        "pic": bytes(range(256)),
        "ok": True,
        "f4": 0.1,
        "f8": 0.1 + 0.2,
        "at": "2024-02-29 23:59:59.123456+00",
    }
    r = open_table(c, cid, filter=[{"column": "id", "op": "=", "value": 3}])
    res = c.call("apply_edits", connection_id=cid, schema="public", table=TABLE, edits=[
        {"op": "update", "key": r["keys"][0], "xmin": r["xmins"][0], "values": values},
        {"op": "insert", "values": dict(values, id=50)},
        {"op": "insert", "values": {"id": 51, "Name": None, "tags": None, "pic": None, "ok": None}},
    ])
    assert res["applied"] == 3 and res["conflicts"] == []
    r = open_table(c, cid, filter=[{"column": "id", "op": "in", "value": [3, 50, 51]}])
    names = [col["name"] for col in r["columns"]]
    for row in r["rows"][:2]:
        got = dict(zip(names, row))
        for k in ("Name", "price", "tags", "doc", "pic", "ok", "f8"):
            assert got[k] == values[k], k
        assert got["f4"] == pytest.approx(0.1, rel=1e-7)  # a float4, the nearest to 0.1
        assert got["doubled"] == got["id"] * 2
    assert sql(pg, "SELECT f4 = 0.1::real, f8 = 0.1::float8 + 0.2::float8, at = '2024-02-29 23:59:59.123456+00' "
                   "FROM \"Order Items\" WHERE id = 50").strip() == "t|t|t"
    null_row = dict(zip(names, r["rows"][2]))
    assert null_row["Name"] is None and null_row["pic"] is None and null_row["ok"] is None
    # a value read back goes back unchanged: a second update with it changes nothing
    row3 = dict(zip(names, r["rows"][0]))
    again = {k: row3[k] for k in values}
    res = c.call("apply_edits", connection_id=cid, schema="public", table=TABLE, edits=[
        {"op": "update", "key": r["keys"][0], "xmin": r["xmins"][0], "values": again}])
    assert res["applied"] == 1
    assert open_table(c, cid, filter=[{"column": "id", "op": "=", "value": 3}])["rows"][0] == r["rows"][0]


def test_a_concurrent_change_is_a_conflict_and_nothing_is_applied(conn, pg, tables):
    c, cid = conn
    r = open_table(c, cid, filter=[{"column": "id", "op": "in", "value": [4, 5, 6]}])
    keys, xmins = r["keys"], r["xmins"]
    # between the read and the apply, psql changes row 5 and deletes row 6
    sql(pg, """UPDATE "Order Items" SET "Name" = 'psql was here' WHERE id = 5;
               DELETE FROM "Order Items" WHERE id = 6""")
    before = sql(pg, 'SELECT * FROM "Order Items" ORDER BY id')
    res = c.call("apply_edits", connection_id=cid, schema="public", table=TABLE, edits=[
        {"op": "update", "key": keys[0], "xmin": xmins[0], "values": {"Name": "mine 4"}},
        {"op": "update", "key": keys[1], "xmin": xmins[1], "values": {"Name": "mine 5"}},
        {"op": "delete", "key": keys[2], "xmin": xmins[2]},
        {"op": "insert", "values": {"id": 60}},
    ])
    assert res["applied"] == 0
    conflicts = {x["index"]: x for x in res["conflicts"]}
    assert set(conflicts) == {1, 2}
    assert conflicts[1]["reason"] == "changed" and conflicts[1]["op"] == "update"
    names = [col["name"] for col in r["columns"]]
    current = dict(zip(names, conflicts[1]["current"]))
    assert current["Name"] == "psql was here" and current["id"] == 5
    assert conflicts[1]["xmin"] == sql(pg, 'SELECT xmin FROM "Order Items" WHERE id = 5').strip()
    assert conflicts[2]["reason"] == "deleted" and conflicts[2]["current"] is None
    # the table is exactly as psql left it: edit 0 and the insert were rolled back
    assert sql(pg, 'SELECT * FROM "Order Items" ORDER BY id') == before
    # with the current xmin the edit goes through
    res = c.call("apply_edits", connection_id=cid, schema="public", table=TABLE, edits=[
        {"op": "update", "key": keys[1], "xmin": conflicts[1]["xmin"], "values": {"Name": "mine 5"}}])
    assert res["applied"] == 1


def test_a_failing_statement_rolls_back_everything(conn, pg, tables):
    c, cid = conn
    r = open_table(c, cid, filter=[{"column": "id", "op": "=", "value": 7}])
    with pytest.raises(TuskError) as e:
        c.call("apply_edits", connection_id=cid, schema="public", table=TABLE, edits=[
            {"op": "update", "key": r["keys"][0], "xmin": r["xmins"][0], "values": {"Name": "never"}},
            {"op": "insert", "values": {"id": 1}}])
    assert e.value["kind"] == "Database" and e.value["code"] == "23505"
    assert e.value["message"].startswith("edits[1] (insert): duplicate key")
    assert sql(pg, 'SELECT "Name" FROM "Order Items" WHERE id = 7').strip() == "item 7"
    # the session is usable afterwards, outside any transaction
    res, _, _ = c.query(cid, "SELECT 1", max_rows=10)
    assert res["transaction"] == "idle"


def test_edits_inside_an_open_transaction_are_refused(conn, pg, tables):
    c, cid = conn
    c.query(cid, "BEGIN", max_rows=0)
    r = open_table(c, cid, limit=1)
    with pytest.raises(TuskError) as e:
        c.call("apply_edits", connection_id=cid, schema="public", table=TABLE, edits=[
            {"op": "update", "key": r["keys"][0], "xmin": r["xmins"][0], "values": {"Name": "x"}}])
    assert e.value["kind"] == "Validation" and "inside a transaction" in e.value["message"]
    c.query(cid, "ROLLBACK", max_rows=0)


def test_what_cannot_be_edited_says_why(conn, pg, tables):
    c, cid = conn
    r = open_table(c, cid, "nokey", limit=3)
    assert not r["editable"] and "no primary key" in r["reason"] and r["keys"] == []
    rows, pages = all_rows(c, cid, "nokey", limit=3)  # paged by ctid
    assert sorted(x[0] for x in rows) == list(range(1, 8)) and pages == 3
    r = open_table(c, cid, "v_agg")
    assert not r["editable"] and r["reason"] == "the view is not updatable" and r["kind"] == "view"
    r = open_table(c, cid, "v_items", limit=8)
    assert not r["editable"] and "base table" in r["reason"] and r["paging"] == "offset"
    rows, pages = all_rows(c, cid, "v_items", limit=8)
    assert len(rows) == len(set(x[0] for x in rows)) and pages >= 3
    r = open_table(c, cid, "mv_items", limit=1)
    assert not r["editable"] and "materialized view" in r["reason"]
    for table, edit in (("nokey", {"op": "insert", "values": {"a": 1}}),
                        ("v_items", {"op": "insert", "values": {"id": 1}})):
        with pytest.raises(TuskError) as e:
            c.call("apply_edits", connection_id=cid, schema="public", table=table, edits=[edit])
        assert e.value["kind"] == "Validation" and "not editable" in e.value["message"]
    r = open_table(c, cid, limit=1)
    for col, why in (("doubled", "generated"), ("serial_no", "identity")):
        with pytest.raises(TuskError) as e:
            c.call("apply_edits", connection_id=cid, schema="public", table=TABLE, edits=[
                {"op": "update", "key": r["keys"][0], "xmin": r["xmins"][0], "values": {col: 1}}])
        assert e.value["kind"] == "Validation" and why in e.value["message"]
        assert "edits[0].values.%s" % col in e.value["message"]


def test_a_read_only_connection_is_not_editable(client, pg, tables):
    cid = client.call("connect", config=pg.config(read_only=True), password="tuskpw")["connection_id"]
    try:
        r = client.call("open_table", connection_id=cid, schema="public", table=TABLE, limit=1)
        assert not r["editable"] and r["reason"] == "the connection is read-only"
        assert not any(col["editable"] for col in r["columns"])
        with pytest.raises(TuskError) as e:
            client.call("apply_edits", connection_id=cid, schema="public", table=TABLE, edits=[
                {"op": "update", "key": r["keys"][0], "xmin": r["xmins"][0], "values": {"Name": "x"}}])
        assert "read-only" in e.value["message"]
    finally:
        client.call("disconnect", connection_id=cid)


def test_bad_requests_name_the_field(conn, tables):
    c, cid = conn
    r = open_table(c, cid, limit=2)
    k, x = r["keys"], r["xmins"]
    cases = [
        (dict(table="nope"), "table: no table or view public.nope"),
        (dict(table="order items"), "no table or view"),
        (dict(filter=[{"column": "id", "op": "like", "value": 1}]), "filter[0].op"),
        (dict(filter=[{"column": "id", "op": "="}]), "filter[0].value: required"),
        (dict(filter=[{"column": "id", "op": "in", "value": []}]), "filter[0].value"),
        (dict(order_by=[{"column": "id", "desc": "yes"}]), "order_by[0].desc"),
        (dict(after=["1", "2", "3"]), "after: expected 1 values"),
        (dict(limit=0), "limit"),
    ]
    for kw, msg in cases:
        with pytest.raises(TuskError) as e:
            open_table(c, cid, **kw)
        assert e.value["kind"] == "Validation" and msg in e.value["message"], kw
    edits_cases = [
        ([{"op": "update", "xmin": x[0], "values": {"Name": "a"}}], "edits[0].key: required"),
        ([{"op": "update", "key": k[0], "values": {"Name": "a"}}], "edits[0].xmin: required"),
        ([{"op": "update", "key": k[0], "xmin": x[0]}], "edits[0].values: required"),
        ([{"op": "update", "key": {"Name": "a"}, "xmin": x[0], "values": {"Name": "a"}}],
         "not a column of the row key"),
        ([{"op": "update", "key": k[0], "xmin": x[0], "values": {"nope": 1}}], "has no column \"nope\""),
        ([{"op": "update", "key": k[0], "xmin": x[0], "values": {"tags": [1, 2]}}], "values.tags"),
        ([{"op": "delete", "key": k[0], "xmin": x[0]}, {"op": "update", "key": k[0], "xmin": x[0],
          "values": {"Name": "a"}}], "edits[1]: the same row as edits[0]"),
        ([{"op": "upsert"}], "edits[0].op"),
        ([], "edits: 1 to"),
    ]
    for edits, msg in edits_cases:
        with pytest.raises(TuskError) as e:
            c.call("apply_edits", connection_id=cid, schema="public", table=TABLE, edits=edits)
        assert e.value["kind"] == "Validation" and msg in e.value["message"], edits


def test_identifiers_are_quoted_as_the_server_quotes_them(conn, pg, tables):
    """Every keyword the server knows as a column name: Tusk's statements
    quote exactly what quote_ident() quotes, and they run."""
    c, cid = conn
    kw = [line.split("|") for line in sql(pg, "SELECT word, catcode FROM pg_get_keywords() ORDER BY word").split()]
    cols = ", ".join('"%s" int' % w for w, _ in kw)
    sql(pg, "DROP TABLE IF EXISTS kw; CREATE TABLE kw (\"Key\" int PRIMARY KEY, %s); "
            "INSERT INTO kw (\"Key\") VALUES (1)" % cols)
    r = open_table(c, cid, "kw")
    values = {w: 1 for w, _ in kw}
    res = c.call("apply_edits", connection_id=cid, schema="public", table="kw", dry_run=True, edits=[
        {"op": "update", "key": r["keys"][0], "xmin": r["xmins"][0], "values": values}])
    assert res["dry_run"] and res["applied"] == 0
    stmt = res["statements"][0]["sql"]
    quoted = dict(line.split("|", 1) for line in sql(
        pg, "SELECT word, quote_ident(word) FROM pg_get_keywords()").split("\n") if line)
    for i, (w, _) in enumerate(kw):
        assert " %s = $%d" % (quoted[w], i + 1) in stmt, w
    assert sql(pg, "SELECT sum(\"all\") FROM kw").strip() == ""  # the dry run changed nothing
    res = c.call("apply_edits", connection_id=cid, schema="public", table="kw", edits=[
        {"op": "update", "key": r["keys"][0], "xmin": r["xmins"][0], "values": values}])
    assert res["applied"] == 1
    # the unit test of sqlident.c checks the same list, when its binary is built here
    unit = os.path.join(os.path.dirname(BIN), "tests", "test_sqlident")
    if os.path.exists(unit):
        path = os.path.join(pg.dir, "keywords.txt")
        with open(path, "w") as f:
            f.write("\n".join("%s|%s" % (w, k) for w, k in kw) + "\n")
        subprocess.run([unit], env=dict(os.environ, TUSK_PG_KEYWORDS=path), check=True,
                       stdout=subprocess.DEVNULL)


def test_edits_waiting_on_a_lock_are_cancelled_with_cancel_query(conn, pg, client, tables):
    c, cid = conn
    other = c.call("connect", config=pg.config(name="locker"), password="tuskpw")["connection_id"]
    try:
        c.query(other, 'BEGIN; SELECT * FROM "Order Items" WHERE id = 8 FOR UPDATE', max_rows=10)
        r = open_table(c, cid, filter=[{"column": "id", "op": "in", "value": [8, 9]}])
        mid = c.send("apply_edits", dict(connection_id=cid, schema="public", table=TABLE, query_id="edit-q", edits=[
            {"op": "update", "key": r["keys"][1], "xmin": r["xmins"][1], "values": {"Name": "first"}},
            {"op": "update", "key": r["keys"][0], "xmin": r["xmins"][0], "values": {"Name": "waits"}}]))
        wait_for(lambda: any(q["query_id"] == "edit-q" and q["state"] == "running"
                             for q in client.call("get_running_queries")))
        assert client.call("cancel_query", query_id="edit-q")["cancelled"] is True
        with pytest.raises(TuskError) as e:
            c.wait_reply(mid)
        assert e.value["kind"] == "QueryCancelled" and e.value["message"].startswith("edits[1] (update)")
        assert sql(pg, 'SELECT "Name" FROM "Order Items" WHERE id IN (8, 9) ORDER BY id') == "item 8\nitem 9\n"
    finally:
        c.call("disconnect", connection_id=other)
