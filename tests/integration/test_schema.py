"""Knowing the database: get_schema, describe_object, the schema cache and
schema_changed, the DDL round trip against pg_dump, quote_ident against the
server's, and tuskctl schema / describe.

The fixture (data/schema_fixture.sql) has every kind of object the
contract names, with names that need quoting: mixed case, spaces, unicode,
keywords."""
import json
import os
import subprocess

import pytest

from pgcluster import ROLE, ROLE_PW, SUPER_PW
from tusk import BIN, TuskError, wait_for

DATA = os.path.join(os.path.dirname(__file__), "data")

# The fixture's objects in an order their DDL can run in (dependencies
# first); sequences owned by a column come with their table.
ROUND_TRIP = [
    ("public", "mood"), ("public", "positive_int"), ("public", "address"),
    ("public", "floatrange"), ("public", "invoice_no"), ("Sales", "customers"),
    ("public", "touch"), ("public", "orders"), ("Sales", "Order Items"), ("public", "Ünïcode"),
    ("public", "measurements"), ("public", "measurements_2023"), ("public", "measurements_2024"),
    ("public", "measurements_rest"), ("public", "bookings"), ("public", "big_orders"),
    ("public", "order_totals"), ("public", "remote_orders"), ("public", "order_count(text)"),
    ("public", "order_count(text, date)"), ("public", "archive"), ("public", "product"),
]
OWNED_SEQUENCES = {("Sales", "customers_id_seq"), ("public", "orders_id_seq"),
                   ("public", "Ünïcode_id_seq")}


def qi(name):
    """quote_ident, for the test's own SQL (checked against the server below)."""
    import re
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name not in ("user", "select", "order"):
        return name
    return '"' + name.replace('"', '""') + '"'


def make_db(pg, name, fixture=True):
    pg.psql("DROP DATABASE IF EXISTS %s" % name)
    pg.psql("CREATE DATABASE %s OWNER %s" % (name, ROLE))
    with open(os.path.join(DATA, "schema_prelude.sql")) as f:
        pg.psql(f.read(), db=name)
    if fixture:
        with open(os.path.join(DATA, "schema_fixture.sql")) as f:
            pg.psql(f.read(), db=name, user=ROLE, password=ROLE_PW)


@pytest.fixture(scope="module")
def fixture_db(pg):
    make_db(pg, "schemadb")
    return "schemadb"


@pytest.fixture
def sconn(client, pg, fixture_db):
    r = client.call("connect", config=pg.config(database=fixture_db), password="tuskpw")
    yield client, r["connection_id"]
    try:
        client.call("disconnect", connection_id=r["connection_id"])
    except Exception:
        pass


def by_name(items, name):
    return next(x for x in items if x["name"] == name)


def test_get_schema_lists_every_kind_with_exact_names(sconn):
    c, cid = sconn
    s = c.call("get_schema", connection_id=cid)
    assert s["database"] == "schemadb" and s["user"] == "tusk" and s["warnings"] == []
    assert s["search_path"] == ["public"] and s["system"] is False
    assert s["server_version"] >= 120000
    names = [x["name"] for x in s["schemas"]]
    assert names == ["Sales", "public"]
    assert {"name": "postgres_fdw", "version": "1.1", "schema": "public"} in s["extensions"]
    sales, public = by_name(s["schemas"], "Sales"), by_name(s["schemas"], "public")
    assert sales["comment"] == "Orders and who places them" and sales["owner"] == "tusk"

    kinds = {r["name"]: r["kind"] for r in public["relations"]}
    assert kinds == {"orders": "table", "Ünïcode": "table", "measurements": "partitioned_table",
                     "measurements_2023": "table", "measurements_2024": "table",
                     "measurements_rest": "table", "bookings": "table", "big_orders": "view",
                     "order_totals": "materialized_view", "remote_orders": "foreign_table"}
    assert by_name(public["relations"], "measurements_2024")["parent"] == \
        {"schema": "public", "name": "measurements"}
    assert "parent" not in by_name(public["relations"], "orders")
    assert by_name(public["relations"], "big_orders")["comment"] == "orders over 100"

    items = by_name(sales["relations"], "Order Items")
    assert [col["name"] for col in items["columns"]] == ["order_id", "line", "select", "user", "sku"]
    cols = {col["name"]: col for col in by_name(public["relations"], "orders")["columns"]}
    assert cols["id"]["primary_key"] and cols["id"]["type"] == "bigint" and not cols["id"]["nullable"]
    assert cols["id"]["default"] == "nextval('orders_id_seq'::regclass)"
    assert cols["total"]["generated"] == "((qty)::numeric * price)" and cols["total"]["default"] is None
    assert cols["price"]["type"] == "numeric(10,2)" and cols["qty"]["type"] == "positive_int"
    assert cols["note"]["nullable"] and not cols["note"]["primary_key"]
    cust = {col["name"]: col for col in by_name(sales["relations"], "customers")["columns"]}
    assert cust["id"]["identity"] == "always" and cust["Email"]["comment"] == "where invoices go"
    assert by_name(public["relations"], "Ünïcode")["columns"][1]["identity"] == "by_default"

    funcs = {(f["name"], f["identity_arguments"]): f for f in public["functions"]}
    assert funcs[("order_count", "region text")]["result"] == "bigint"
    assert funcs[("order_count", "region text")]["comment"] == "orders of a region"
    assert funcs[("order_count", "region text, since date")]["kind"] == "function"
    assert funcs[("archive", "IN before date")]["kind"] == "procedure"
    assert funcs[("archive", "IN before date")]["result"] is None
    assert funcs[("product", "numeric")]["kind"] == "aggregate"
    assert funcs[("touch", "")]["result"] == "trigger"
    # a range's constructors and an extension's functions are not the user's
    assert not any(f["name"].startswith(("floatrange", "postgres_fdw")) for f in public["functions"])
    assert public["sequences"] == ["invoice_no", "orders_id_seq", "Ünïcode_id_seq"]
    assert sales["sequences"] == ["customers_id_seq"]
    types = {t["name"]: t for t in public["types"]}
    assert types["mood"] == {"name": "mood", "kind": "enum", "values": ["sad", "ok", "it's great"],
                             "comment": "how a customer feels"}
    assert types["positive_int"]["kind"] == "domain" and types["positive_int"]["base_type"] == "integer"
    assert types["address"]["kind"] == "composite" and types["floatrange"]["kind"] == "range"

    system = c.call("get_schema", connection_id=cid, system=True)
    snames = [x["name"] for x in system["schemas"]]
    assert "pg_catalog" in snames and "information_schema" in snames and "pg_toast" not in snames
    pgc = by_name(system["schemas"], "pg_catalog")
    assert any(r["name"] == "pg_class" for r in pgc["relations"])
    assert any(f["name"] == "now" for f in pgc["functions"])


def pg_dumps(pg, dbs, table=None):
    """pg_dump --schema-only of each database (at once), as lists of lines."""
    procs = []
    for db in dbs:
        cmd = ["pg_dump", "--schema-only", "-h", pg.sock, "-p", str(pg.port), "-U", "postgres", db]
        if table:
            cmd += ["--table", table]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                                      env=dict(os.environ, PGPASSWORD=SUPER_PW)))
    outs = []
    for p in procs:
        out = p.communicate()[0]
        assert p.returncode == 0
        # what must differ between two dumps: pg_dump's header lines and the
        # random key of its \\restrict guard (newer pg_dump releases)
        outs.append([ln for ln in out.splitlines()
                     if not ln.startswith(("-- Dumped ", "\\restrict ", "\\unrestrict "))])
    return outs


def test_ddl_recreates_each_object_as_pg_dump_sees_it(sconn, pg):
    c, cid = sconn
    s = c.call("get_schema", connection_id=cid)
    listed = set()
    for sc in s["schemas"]:
        for r in sc["relations"]:
            listed.add((sc["name"], r["name"]))
        for seq in sc["sequences"]:
            listed.add((sc["name"], seq))
        for t in sc["types"]:
            listed.add((sc["name"], t["name"]))
        for f in sc["functions"]:
            listed.add((sc["name"], f["name"]))
    covered = {(sch, name.split("(")[0]) for sch, name in ROUND_TRIP} | OWNED_SEQUENCES
    assert listed == covered, "the round trip must cover every fixture object"

    make_db(pg, "schemacopy", fixture=False)
    pg.psql('CREATE SCHEMA "Sales"; COMMENT ON SCHEMA "Sales" IS \'Orders and who places them\'',
            db="schemacopy", user=ROLE, password=ROLE_PW)
    ddls = {}
    for sch, name in ROUND_TRIP:
        d = c.call("describe_object", connection_id=cid, schema=sch, name=name)
        assert d["warnings"] == [], (name, d["warnings"])
        ddls[(sch, name)] = d["ddl"]
        pg.psql(d["ddl"], db="schemacopy", user=ROLE, password=ROLE_PW)
    for sch, name in ROUND_TRIP + sorted(OWNED_SEQUENCES):
        if "(" in name or (sch, name) in [("public", n) for n in
                                          ("mood", "positive_int", "address", "floatrange",
                                           "touch", "archive", "product")]:
            continue  # pg_dump --table dumps relations only: the whole dump below covers these
        pattern = "%s.%s" % (qi(sch), qi(name))
        original, copy = pg_dumps(pg, ["schemadb", "schemacopy"], pattern)
        # (an identity sequence is dumped with its table, not by itself)
        assert any("CREATE" in ln for ln in original) or name.endswith("_id_seq"), pattern
        assert original == copy, "%s differs:\n%s" % (pattern, "\n".join(
            "- %s\n+ %s" % (a, b) for a, b in zip(original, copy) if a != b) or "(length)")
    original, copy = pg_dumps(pg, ["schemadb", "schemacopy"])
    assert original == copy


def test_describe_object_in_full(sconn):
    c, cid = sconn
    o = c.call("describe_object", connection_id=cid, schema="public", name="orders")
    assert (o["schema"], o["name"], o["kind"], o["owner"]) == ("public", "orders", "table", "tusk")
    assert o["primary_key"] == {"name": "orders_pkey", "columns": ["id"]}
    assert [col["name"] for col in o["columns"]][:3] == ["id", "customer_region", "customer_name"]
    assert o["columns"][0]["position"] == 1
    fk = by_name(o["foreign_keys"], "orders_customer_fk")
    assert fk["columns"] == ["customer_region", "customer_name"]
    assert (fk["ref_schema"], fk["ref_table"], fk["ref_columns"]) == ("Sales", "customers", ["region", "name"])
    assert (fk["on_update"], fk["on_delete"], fk["match"]) == ("CASCADE", "RESTRICT", "SIMPLE")
    refs = o["referenced_by"]
    assert [(r["schema"], r["table"], r["columns"], r["ref_columns"]) for r in refs] == \
        [("Sales", "Order Items", ["order_id"], ["id"])]
    assert {i["name"] for i in o["indexes"]} == {"orders_pkey", "orders_placed_idx", "orders_note_idx"}
    assert by_name(o["indexes"], "orders_pkey")["constraint"] == "orders_pkey"
    assert by_name(o["indexes"], "orders_placed_idx")["comment"] == "recent first"
    assert {(x["name"], x["type"]) for x in o["constraints"]} >= {
        ("price_not_negative", "check"), ("orders_pkey", "primary_key"),
        ("orders_customer_fk", "foreign_key")}
    t = by_name(o["triggers"], "orders_touch")
    assert t["enabled"] == "origin" and "EXECUTE FUNCTION public.touch()" in t["definition"]
    assert o["size_bytes"] > 0 and o["definition"] is None

    m = c.call("describe_object", connection_id=cid, schema="public", name="measurements")
    assert m["kind"] == "partitioned_table" and m["partition_key"] == "RANGE (logdate)"
    assert [p["name"] for p in m["partitions"]] == ["measurements_2023", "measurements_2024",
                                                    "measurements_rest"]
    assert m["partitions"][2]["bound"] == "DEFAULT"
    p = c.call("describe_object", connection_id=cid, schema="public", name="measurements_2023")
    assert p["partition_of"]["name"] == "measurements"
    v = c.call("describe_object", connection_id=cid, schema="public", name="big_orders")
    assert v["kind"] == "view" and "WHERE" in v["definition"]
    e = c.call("describe_object", connection_id=cid, schema="public", name="mood", kind="enum")
    assert e["values"] == ["sad", "ok", "it's great"] and e["columns"] == []
    d = c.call("describe_object", connection_id=cid, schema="public", name="positive_int")
    assert d["kind"] == "domain" and d["constraints"][0]["name"] == "positive"
    f = c.call("describe_object", connection_id=cid, schema="public", name="order_count(region text)")
    assert f["kind"] == "function" and f["arguments"] == "region text" and f["result"] == "bigint"
    assert "CREATE OR REPLACE FUNCTION public.order_count(region text)" in f["ddl"]

    # bad input: a Validation error that names what was asked for
    with pytest.raises(TuskError) as ex:
        c.call("describe_object", connection_id=cid, schema="Sales", name="Nope")
    assert ex.value["kind"] == "Validation" and '"Sales"."Nope"' in ex.value["message"]
    with pytest.raises(TuskError) as ex:
        c.call("describe_object", connection_id=cid, schema="public", name="ORDERS")
    assert ex.value["kind"] == "Validation" and 'public."ORDERS"' in ex.value["message"]
    with pytest.raises(TuskError) as ex:
        c.call("describe_object", connection_id=cid, schema="public", name="order_count")
    assert ex.value["kind"] == "Validation" and "2 objects" in ex.value["message"]
    assert "argument types" in ex.value["hint"]
    with pytest.raises(TuskError) as ex:
        c.call("describe_object", connection_id=cid, schema="public", name="orders", kind="view")
    assert ex.value["kind"] == "Validation" and "no view named public.orders" in ex.value["message"]
    with pytest.raises(TuskError) as ex:
        c.call("describe_object", connection_id=cid, schema="public", name="orders", kind="tables")
    assert ex.value["kind"] == "Validation" and ex.value["message"].startswith("kind:")


def changes(client, cid):
    return [p["version"] for n, p in client.notifications
            if n == "schema_changed" and p["connection_id"] == cid]


def test_ddl_through_tusk_bumps_the_version_and_tells_clients(broker, pg, fixture_db):
    pg.psql("DROP DATABASE IF EXISTS cachedb")
    pg.psql("CREATE DATABASE cachedb OWNER tusk")
    watcher, writer = broker.client(), broker.client()
    cfg = pg.config(database="cachedb")
    wid = watcher.call("connect", config=cfg, password="tuskpw")["connection_id"]
    xid = writer.call("connect", config=cfg, password="tuskpw")["connection_id"]
    try:
        first = watcher.call("get_schema", connection_id=wid)
        again = watcher.call("get_schema", connection_id=wid)
        assert again["version"] == first["version"] and again["fetched_at"] == first["fetched_at"]
        assert first["schemas"][0]["relations"] == []
        # DDL from another client, on another session of the same database
        writer.query(xid, 'create table "New Table" (id int)')
        wait_for(lambda: (watcher.call("health_check"), changes(watcher, wid))[1])
        assert changes(watcher, wid) == [first["version"] + 1]
        now = watcher.call("get_schema", connection_id=wid)
        assert now["version"] == first["version"] + 1
        assert [r["name"] for r in now["schemas"][0]["relations"]] == ["New Table"]
        # plain queries change nothing
        writer.query(xid, "select 1; insert into \"New Table\" values (1)")
        assert watcher.call("get_schema", connection_id=wid)["version"] == now["version"]
        # DDL in a transaction: once when it runs, once when it ends
        writer.query(xid, "begin; create table tx_only (id int)")
        writer.query(xid, "rollback")
        wait_for(lambda: (watcher.call("health_check"), len(changes(watcher, wid)) == 3)[1])
        last = watcher.call("get_schema", connection_id=wid)
        assert last["version"] == now["version"] + 2
        assert [r["name"] for r in last["schemas"][0]["relations"]] == ["New Table"]
        # a change made behind Tusk's back shows on refresh, and is announced
        pg.psql("create table behind (id int)", db="cachedb", user=ROLE, password=ROLE_PW)
        assert watcher.call("get_schema", connection_id=wid)["version"] == last["version"]
        fresh = watcher.call("get_schema", connection_id=wid, refresh=True)
        assert fresh["version"] == last["version"] + 1
        assert "behind" in [r["name"] for r in fresh["schemas"][0]["relations"]]
        assert changes(watcher, wid)[-1] == fresh["version"]
    finally:
        watcher.close()
        writer.close()


def test_a_catalog_read_is_queued_listed_and_cancelled_like_a_query(sconn, broker, pg, fixture_db):
    c, cid = sconn
    other = broker.client()
    try:
        sleeper = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(60)",
                                               query_id="schema-sleep"))
        wait_for(lambda: any(q["query_id"] == "schema-sleep" and q["state"] == "running"
                             for q in other.call("get_running_queries")))
        reader = c.send("get_schema", dict(connection_id=cid, refresh=True))

        def queued():
            return [q for q in other.call("get_running_queries", connection_id=cid)
                    if q["sql"].startswith("-- get_schema") and q["state"] == "queued"]
        wait_for(queued)
        # another connection to the same database is not held up by this one
        oid = other.call("connect", config=pg.config(database=fixture_db),
                         password="tuskpw")["connection_id"]
        assert other.call("get_schema", connection_id=oid, refresh=True)["schemas"]
        other.call("disconnect", connection_id=oid)
        assert other.call("cancel_query", query_id=queued()[0]["query_id"])["cancelled"] is True
        with pytest.raises(TuskError) as ex:
            c.wait_reply(reader)
        assert ex.value["kind"] == "QueryCancelled"
        assert other.call("cancel_query", query_id="schema-sleep")["cancelled"] is True
        with pytest.raises(TuskError):
            c.wait_reply(sleeper)
        assert c.call("get_schema", connection_id=cid)["schemas"]
    finally:
        other.close()


def test_literals_in_ddl_read_back_as_written(client, pg):
    """Comments and enum labels with quotes, backslashes and unicode come
    back from the server exactly after running describe_object's DDL."""
    pg.psql("DROP DATABASE IF EXISTS litdb")
    pg.psql("CREATE DATABASE litdb OWNER tusk")
    tricky = "it's a \\ back\\slash, \"quoted\", Ünïcode\nnew line"
    lit = "E'" + tricky.replace("\\", "\\\\").replace("'", "''").replace("\n", "\\n") + "'"
    pg.psql("create type \"My Enum\" as enum (%s, 'plain'); comment on type \"My Enum\" is %s"
            % (lit, lit), db="litdb", user=ROLE, password=ROLE_PW)
    cid = client.call("connect", config=pg.config(database="litdb"), password="tuskpw")["connection_id"]
    try:
        d = client.call("describe_object", connection_id=cid, schema="public", name="My Enum")
        assert d["values"] == [tricky, "plain"] and d["comment"] == tricky
        pg.psql('drop type "My Enum"', db="litdb")
        pg.psql(d["ddl"], db="litdb", user=ROLE, password=ROLE_PW)
        again = client.call("describe_object", connection_id=cid, schema="public", name="My Enum")
        assert again["values"] == [tricky, "plain"] and again["comment"] == tricky
    finally:
        client.call("disconnect", connection_id=cid)


def test_a_revoked_catalog_gives_what_is_visible_and_says_what_is_not(client, pg):
    pg.psql("DROP DATABASE IF EXISTS revokedb")
    pg.psql("CREATE DATABASE revokedb OWNER tusk")
    pg.psql("create table t (id int primary key); create function f() returns int "
            "language sql as 'select 1'; create trigger trg before insert on t for each row "
            "execute function suppress_redundant_updates_trigger(); "
            "alter table t owner to tusk; "
            "revoke select on pg_catalog.pg_proc from public; "
            "revoke select on pg_catalog.pg_trigger from public", db="revokedb")
    cid = client.call("connect", config=pg.config(database="revokedb"),
                      password="tuskpw")["connection_id"]
    try:
        s = client.call("get_schema", connection_id=cid)
        public = by_name(s["schemas"], "public")
        assert [r["name"] for r in public["relations"]] == ["t"]
        assert public["functions"] == []
        assert len(s["warnings"]) == 1
        assert s["warnings"][0].startswith("functions and procedures could not be read: "
                                           "permission denied for table pg_proc")
        d = client.call("describe_object", connection_id=cid, schema="public", name="t")
        assert d["primary_key"]["columns"] == ["id"] and d["triggers"] == []
        assert any(w.startswith("triggers could not be read") for w in d["warnings"])
        # the session is usable as before
        assert client.call("execute_query", connection_id=cid, sql="select 1",
                           max_rows=1)["transaction"] == "idle"
    finally:
        client.call("disconnect", connection_id=cid)


def test_a_read_inside_the_users_transaction_leaves_it_as_it_was(sconn):
    c, cid = sconn
    c.query(cid, "begin; create table inside_tx (id int)")
    s = c.call("get_schema", connection_id=cid, refresh=True)
    assert "inside_tx" in [r["name"] for r in by_name(s["schemas"], "public")["relations"]]
    d = c.call("describe_object", connection_id=cid, schema="public", name="inside_tx")
    assert d["ddl"].startswith("CREATE TABLE public.inside_tx")
    # the transaction is still open, and its search_path untouched
    r = c.call("execute_query", connection_id=cid, sql="show search_path", max_rows=1)
    assert r["transaction"] == "in_transaction" and r["rows"] == [['"$user", public']]
    c.query(cid, "rollback")
    s = c.call("get_schema", connection_id=cid)
    assert "inside_tx" not in [r["name"] for r in by_name(s["schemas"], "public")["relations"]]
    # a failed transaction: the catalog cannot be read until it ends
    with pytest.raises(TuskError):
        c.query(cid, "begin; select 1/0")
    with pytest.raises(TuskError) as ex:
        c.call("get_schema", connection_id=cid, refresh=True)
    assert ex.value["code"] == "25P02" and "ROLLBACK" in ex.value["hint"]
    c.query(cid, "rollback")
    assert c.call("get_schema", connection_id=cid, refresh=True)["schemas"]


@pytest.fixture
def ctl_conn(broker, pg, fixture_db):
    uri = "postgresql://tusk@127.0.0.1:%d/%s?sslmode=disable" % (pg.port, fixture_db)
    r = broker.ctl("connect", uri, "--password-stdin", "--name", "schemas", input=b"tuskpw\n")
    assert r.returncode == 0, r.stderr
    yield "schemas"
    broker.ctl("disconnect", "schemas")


def out(r):
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


def test_tuskctl_schema_lists_like_psqls_d_family(broker, ctl_conn):
    text = out(broker.ctl("schema", "-c", ctl_conn))
    lines = text.splitlines()
    assert lines[0].split("|")[0].strip() == "Schema" and "Kind" in lines[0]
    assert " Sales  | Order Items       | table             |" in text
    assert " public | measurements_2023 | table             | partition of public.measurements" in text
    assert " public | order_count       | function          | (region text) → bigint" in text
    assert " public | mood              | enum type         | 'sad', 'ok', 'it''s great'" in text
    assert lines[-1] == "(25 objects)"
    # patterns as psql takes them: unquoted folds to lower case, quotes keep case
    text = out(broker.ctl("schema", "-c", ctl_conn, "public.measurements_202?"))
    assert text.splitlines()[-1] == "(2 objects)"
    assert out(broker.ctl("schema", "-c", ctl_conn, "Sales.*")) == "No matching objects.\n"
    text = out(broker.ctl("schema", "-c", ctl_conn, '"Sales".*'))
    assert text.splitlines()[-1] == "(3 objects)"
    text = out(broker.ctl("schema", "-c", ctl_conn, "--kind", "schema"))
    assert text.splitlines()[2].split("|")[0].strip() == "Sales" and "Orders and who" in text
    text = out(broker.ctl("schema", "-c", ctl_conn, "--kind", "view,matview"))
    assert "big_orders" in text and "order_totals" in text and text.splitlines()[-1] == "(2 objects)"
    objs = json.loads(out(broker.ctl("--json", "schema", "-c", ctl_conn, "--kind", "table", "*ders")))
    assert [(o["schema"], o["name"], o["kind"]) for o in objs] == [("public", "orders", "table")]
    assert [c["name"] for c in objs[0]["columns"]][0] == "id"
    assert "pg_class" in out(broker.ctl("schema", "-c", ctl_conn, "--system", "pg_catalog.pg_cl*"))
    r = broker.ctl("schema", "-c", ctl_conn, "--kind", "tables")
    assert r.returncode == 2 and b"--kind" in r.stderr


def test_tuskctl_describe_prints_what_psqls_d_name_prints(broker, ctl_conn):
    text = out(broker.ctl("describe", "-c", ctl_conn, "orders"))
    assert text.startswith('Table "public.orders"\n')
    assert " id              | bigint                   |           | not null | " \
           "nextval('public.orders_id_seq'::regclass)" in text
    assert "generated always as (((qty)::numeric * price)) stored" in text
    for heading, line in [
            ("Indexes:", '    "orders_pkey" PRIMARY KEY, btree (id)'),
            ("Check constraints:", '    "price_not_negative" CHECK ((price >= (0)::numeric))'),
            ("Foreign-key constraints:", '    "orders_customer_fk" FOREIGN KEY (customer_region, '
             'customer_name) REFERENCES "Sales".customers(region, name) ON UPDATE CASCADE ON DELETE RESTRICT'),
            ("Referenced by:", '    TABLE "Sales"."Order Items" CONSTRAINT "Order Items_order_id_fkey" '
             'FOREIGN KEY (order_id) REFERENCES public.orders(id) ON DELETE CASCADE'),
            ("Triggers:", "    orders_touch BEFORE UPDATE ON public.orders FOR EACH ROW EXECUTE "
             "FUNCTION public.touch()")]:
        assert heading + "\n" + line + "\n" in text, heading
    text = out(broker.ctl("describe", "-c", ctl_conn, '"Sales"."Order Items"'))
    assert text.startswith('Table "Sales.Order Items"\n') and " select   | text " in text
    text = out(broker.ctl("describe", "-c", ctl_conn, "measurements"))
    assert "Partition key: RANGE (logdate)\n" in text
    assert "Partitions:\n    public.measurements_2023 FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')\n" in text
    ddl = out(broker.ctl("describe", "-c", ctl_conn, "--ddl", "mood"))
    assert ddl.startswith("CREATE TYPE public.mood AS ENUM (")
    d = json.loads(out(broker.ctl("--json", "describe", "-c", ctl_conn, "--kind", "function",
                                  "order_count(text, date)")))
    assert d["arguments"] == "region text, since date"
    # unquoted folds to lower case (as in psql), quoted stays exact
    assert out(broker.ctl("describe", "-c", ctl_conn, "Public.Orders")).startswith('Table "public.orders"')
    r = broker.ctl("describe", "-c", ctl_conn, '"Orders"')
    assert r.returncode == 1 and b'named public."Orders"' in r.stderr
    r = broker.ctl("describe", "-c", ctl_conn, "nope")
    assert r.returncode == 1 and b"named public.nope" in r.stderr and b"Validation" in r.stderr
    # the method table is still there
    assert "get_schema(" in out(broker.ctl("methods"))
    assert "get_schema(" in out(broker.ctl("describe"))
