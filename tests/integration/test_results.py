"""Working with results: export_query and import_file against a real
PostgreSQL (bytes compared with psql's own COPY), query_progress, cancel,
column types as PostgreSQL prints them, tuskctl export and import."""
import json
import os
import subprocess
import threading

import pytest

import tusk
from tusk import TuskError, wait_for

# Values that make CSV hard: quotes, commas, newlines, NULL vs '', unicode,
# numeric precision, float extremes, zoned timestamps, arrays, json.
TRICKY = r"""
create table tricky (
  id int primary key, t text, n numeric(30,12), f float8, r real, ts timestamptz,
  d date, arr int[], tarr text[], j json, jb jsonb, b bytea, flag bool, iv interval);
insert into tricky values
 (1, 'plain', 1.5, 0.1, 0.1, '2024-01-02 03:04:05.678+02', '2024-01-02', '{1,2,3}', '{"a b","c,d"}',
  '{"k": "v", "n": 1.50}', '{"k": [1, 2.0]}', '\x00ff', true, '1 day 2 hours'),
 (2, 'with "quotes" and, commas', 12345678901234567.123456789012, 1.7976931348623157e308,
  3.4028235e38, '1999-12-31 23:59:59.999999-08', '0001-01-01 BC', '{}', '{NULL,""}',
  '"a\\b\"c"', '{"uni": "\u00e9\u4e2d"}', '\x', false, '-3 mons'),
 (3, E'multi\nline\r\nvalue', -0.000000000001, 5e-324, -1.17549435e-38, 'infinity', 'infinity',
  '{{1,2},{3,4}}', '{"x\"y"}', 'null', '[]', null, null, null),
 (4, '', 0, 'NaN', '-Infinity', '-infinity', null, null, null, null, null, null, null, null),
 (5, null, null, '-0', '0', null, null, '{-1}', null, '{"a":null}', '{"b": "tab\there"}',
  '\xdeadbeef', true, '00:00:00.000001'),
 (6, 'ünïcödé 中文 🐘', 99999999999999999.999999999999, 123456789.123456789, 1e-45,
  '2038-01-19 03:14:07+00', '2000-02-29', '{2147483647,-2147483648}', '{"\\\\"}', '{}', '{}',
  '\x5c', false, '1 year 2 mons 3 days 04:05:06.789');
"""


def same(a, b):
    """Rows of two tables, EXCEPT both ways (as text: json has no equality)."""
    return ("select (select count(*) from (select r1.*::text from %s r1 except select r2.*::text from %s r2) x),"
            " (select count(*) from (select r2.*::text from %s r2 except select r1.*::text from %s r1) y)"
            % (a, b, b, a))


@pytest.fixture(scope="module")
def tricky(pg):
    pg.psql("drop table if exists tricky", db="tuskdb")
    pg.psql(TRICKY + "alter table tricky owner to tusk;", db="tuskdb")
    return "tricky"


def psql_out(pg, meta, *flags, db="tuskdb"):
    """Run a psql command (\\copy, a query) as the role tusk; returns stdout bytes."""
    env = dict(os.environ, PGPASSWORD="tuskpw", PGTZ="UTC")
    r = subprocess.run(["psql", "-X", "-q", *flags, "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                        "-p", str(pg.port), "-U", "tusk", "-d", db, "-c", meta],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode == 0, r.stderr
    return r.stdout


def export(c, cid, sql, path, fmt="csv", options=None, **kw):
    notes = []
    p = dict(connection_id=cid, sql=sql, path=str(path), format=fmt)
    if options is not None:
        p["options"] = options
    p.update(kw)
    res = c.wait_reply(c.send("export_query", p), lambda m, a: notes.append((m, a)))
    return res, notes


def test_csv_export_is_byte_identical_to_psql_copy(conn, pg, tricky, tmp_path):
    c, cid = conn
    c.query(cid, "set timezone = 'UTC'")
    sql = "select * from tricky order by id"
    res, _ = export(c, cid, sql + ";  \n", tmp_path / "out.csv")
    want = tmp_path / "psql.csv"
    psql_out(pg, "\\copy (%s) to '%s' csv header" % (sql, want))
    got = (tmp_path / "out.csv").read_bytes()
    assert got == want.read_bytes()
    assert res["row_count"] == 6 and res["bytes"] == len(got)
    assert res["path"] == str(tmp_path / "out.csv") and res["elapsed_ms"] >= 0
    # no temporary file is left beside it
    assert sorted(os.listdir(tmp_path)) == ["out.csv", "psql.csv"]


def test_csv_options_and_tsv(conn, pg, tricky, tmp_path):
    c, cid = conn
    c.query(cid, "set timezone = 'UTC'")
    sql = "select id, t, n, arr from tricky order by id"
    export(c, cid, sql, tmp_path / "a.csv", options={"header": False, "delimiter": ";",
                                                     "null": "\\N", "quote": "'"})
    psql_out(pg, "\\copy (%s) to '%s' with (format csv, delimiter ';', null '\\N', quote '''')"
             % (sql, tmp_path / "b.csv"))
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    # TSV: CSV with a tab delimiter (NULL stays apart from '', header on any server)
    export(c, cid, sql, tmp_path / "a.tsv", fmt="tsv")
    psql_out(pg, "\\copy (%s) to '%s' with (format csv, header, delimiter E'\\t')"
             % (sql, tmp_path / "b.tsv"))
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()
    assert b"\t" in (tmp_path / "a.tsv").read_bytes()


def test_json_and_ndjson_keep_row_to_json_values(conn, pg, tricky, tmp_path):
    c, cid = conn
    c.query(cid, "set timezone = 'UTC'")
    sql = "select * from tricky order by id"
    out = psql_out(pg, "select row_to_json(x.*) from (%s) x" % sql, "-At")
    rows = out.decode().rstrip("\n").split("\n")
    assert len(rows) == 6
    res, _ = export(c, cid, sql, tmp_path / "a.ndjson", fmt="ndjson")
    assert (tmp_path / "a.ndjson").read_bytes() == out
    assert res["row_count"] == 6
    export(c, cid, sql, tmp_path / "a.json", fmt="json")
    text = (tmp_path / "a.json").read_text()
    assert text == "[\n" + ",\n".join(rows) + "\n]\n"
    data = json.loads(text)
    # numbers are the server's digits, not a double's
    assert '"n":12345678901234567.123456789012' in text
    assert data[1]["j"] == 'a\\b"c' and data[0]["jb"] == {"k": [1, 2.0]}
    assert data[3]["t"] == "" and data[4]["t"] is None
    export(c, cid, "select 1 where false", tmp_path / "e.json", fmt="json")
    assert (tmp_path / "e.json").read_text() == "[]\n"


def test_sql_inserts_read_back(conn, pg, tricky, tmp_path):
    c, cid = conn
    pg.psql("drop table if exists tricky_sql; create table tricky_sql (like tricky);"
            "alter table tricky_sql owner to tusk", db="tuskdb")
    res, _ = export(c, cid, "select * from tricky order by id", tmp_path / "a.sql", fmt="sql",
                    options={"table": "public.Tricky_SQL"})
    text = (tmp_path / "a.sql").read_bytes().decode()  # \r\n inside a value stays
    assert text.startswith("INSERT INTO public.tricky_sql (id, t, n, f, r, ts, d, arr, tarr, j, jb, b, flag, iv) VALUES (1, 'plain', ")
    assert res["row_count"] == 6 and text.count("INSERT INTO ") == 6
    c.query(cid, text)  # the statements run as they are
    assert c.query(cid, same("tricky", "tricky_sql"))[1] == [[0, 0]]
    # identifiers as quote_ident writes them
    export(c, cid, 'select 1 as "Select", 2 as "user", 3 as "a""b", 4 as plain_1',
           tmp_path / "b.sql", fmt="sql", options={"table": '"My Table"'})
    assert (tmp_path / "b.sql").read_text() == \
        'INSERT INTO "My Table" ("Select", "user", "a""b", plain_1) VALUES (1, 2, 3, 4);\n'


def test_markdown(conn, tmp_path):
    c, cid = conn
    export(c, cid, "select 1 as n, 'a|b' as s, null::text as z, E'x\\ny' as m", tmp_path / "a.md",
           fmt="markdown")
    assert (tmp_path / "a.md").read_text() == \
        "| n | s | z | m |\n| ---: | --- | --- | --- |\n| 1 | a\\|b | NULL | x<br>y |\n"


def test_export_bad_input(conn, tmp_path):
    c, cid = conn
    cases = [
        (dict(format="xml"), "format"),
        (dict(path="relative.csv"), "path"),
        (dict(path=str(tmp_path)), "path"),
        (dict(path=str(tmp_path / "nodir" / "x.csv")), "path"),
        (dict(options={"delimiter": ",,"}), "options.delimiter"),
        (dict(options={"bogus": 1}), "options"),
        (dict(format="sql", options={"table": "a.b.c"}), "options.table"),
    ]
    for over, field in cases:
        p = dict(connection_id=cid, sql="select 1", path=str(tmp_path / "x.csv"), format="csv")
        p.update(over)
        with pytest.raises(TuskError) as e:
            c.call("export_query", p)
        assert e.value["kind"] == "Validation" and e.value["message"].startswith(field), e.value.err
    # a server error leaves no file, and an existing file as it was
    (tmp_path / "keep.csv").write_text("old\n")
    with pytest.raises(TuskError) as e:
        export(c, cid, "select 1/0", tmp_path / "keep.csv")
    assert e.value["code"] == "22012"
    assert os.listdir(tmp_path) == ["keep.csv"] and (tmp_path / "keep.csv").read_text() == "old\n"


def test_export_progress_and_cancel(conn, tmp_path):
    c, cid = conn
    res, notes = export(c, cid, "select g, repeat('x', 100) from generate_series(1, 100000) g",
                        tmp_path / "big.csv")
    prog = [a for m, a in notes if m == "query_progress"]
    assert prog and all(p["query_id"] == res["query_id"] for p in prog)
    assert prog[-1]["bytes"] <= res["bytes"] and prog[-1]["rows"] <= 100000
    assert [p["bytes"] for p in prog] == sorted(p["bytes"] for p in prog)
    assert res["row_count"] == 100000
    # cancel: no partial file, an existing target untouched
    (tmp_path / "t.csv").write_text("before\n")
    mid = c.send("export_query", dict(connection_id=cid, path=str(tmp_path / "t.csv"), format="csv",
                                     query_id="exp-cancel",
                                     sql="select g, repeat('x', 1000), pg_sleep(0.0005) "
                                         "from generate_series(1, 100000) g"))
    # rows arrive: the server runs it (a cancel before it starts would miss)
    wait_for(lambda: any(q["query_id"] == "exp-cancel" and q["row_count"] > 0
                         for q in c.call("get_running_queries")))
    assert c.call("cancel_query", query_id="exp-cancel")["cancelled"] is True
    with pytest.raises(TuskError) as e:
        c.wait_reply(mid)
    assert e.value["kind"] == "QueryCancelled"
    assert sorted(os.listdir(tmp_path)) == ["big.csv", "t.csv"]
    assert (tmp_path / "t.csv").read_text() == "before\n"
    # the connection goes on
    assert c.query(cid, "select 1")[1] == [[1]]


def test_import_round_trip(conn, pg, tricky, tmp_path):
    c, cid = conn
    pg.psql("drop table if exists tricky_copy; create table tricky_copy (like tricky);"
            "alter table tricky_copy owner to tusk", db="tuskdb")
    for fmt in ("csv", "tsv"):
        c.query(cid, "truncate tricky_copy")
        export(c, cid, "table tricky", tmp_path / ("rt." + fmt), fmt=fmt)
        res = c.call("import_file", connection_id=cid, table="tricky_copy", format=fmt,
                     path=str(tmp_path / ("rt." + fmt)))
        assert res["row_count"] == 6 and res["elapsed_ms"] >= 0
        assert c.query(cid, same("tricky", "tricky_copy"))[1] == [[0, 0]]


def test_import_options_and_columns(conn, pg, tmp_path):
    c, cid = conn
    pg.psql('drop table if exists "Imp"; create table "Imp" (a int, "B c" text, d text default \'dflt\');'
            'alter table "Imp" owner to tusk', db="tuskdb")
    (tmp_path / "x.txt").write_text("2|two\n3|NIL\n")
    res = c.call("import_file", connection_id=cid, table='public."Imp"', format="csv",
                 path=str(tmp_path / "x.txt"),
                 options={"header": False, "delimiter": "|", "null": "NIL", "columns": ["a", "B c"]})
    assert res["row_count"] == 2
    _, rows, _ = c.query(cid, 'select * from "Imp" order by a')
    assert rows == [[2, "two", "dflt"], [3, None, "dflt"]]


def test_import_error_names_line_and_column_and_commits_nothing(conn, pg, tmp_path):
    c, cid = conn
    pg.psql("drop table if exists imp_err; create table imp_err (a int, b int);"
            "alter table imp_err owner to tusk", db="tuskdb")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,4\n5,x\n7,8\n")
    with pytest.raises(TuskError) as e:
        c.call("import_file", connection_id=cid, table="imp_err", format="csv",
               path=str(tmp_path / "bad.csv"))
    err = e.value.err
    assert err["kind"] == "Database" and err["code"] == "22P02"
    assert err["line"] == 4 and err["column"] == "b"
    assert c.query(cid, "select count(*) from imp_err")[1] == [[0]]
    for over, field in [(dict(format="json"), "format"), (dict(table="a b"), "table"),
                        (dict(path="rel.csv"), "path"), (dict(path="/nonexistent/x.csv"), "path"),
                        (dict(options={"columns": [1]}), "options.columns")]:
        p = dict(connection_id=cid, table="imp_err", format="csv", path=str(tmp_path / "bad.csv"))
        p.update(over)
        with pytest.raises(TuskError) as e:
            c.call("import_file", p)
        assert e.value["kind"] == "Validation" and e.value["message"].startswith(field), e.value.err
    # inside an open transaction an import is refused
    c.query(cid, "begin")
    with pytest.raises(TuskError) as e:
        c.call("import_file", connection_id=cid, table="imp_err", format="csv",
               path=str(tmp_path / "bad.csv"))
    assert "transaction" in e.value["message"]
    c.query(cid, "rollback")


def test_import_large_with_progress_and_cancel(conn, pg, tmp_path):
    c, cid = conn
    pg.psql("drop table if exists imp_big; create table imp_big (a int, b text);"
            "alter table imp_big owner to tusk", db="tuskdb")
    n = 200000
    with open(tmp_path / "big.csv", "w") as f:
        f.write("a,b\n")
        for i in range(n):
            f.write('%d,"row ""%d""\nsecond line"\n' % (i, i))
    notes = []
    res = c.wait_reply(c.send("import_file", dict(connection_id=cid, table="imp_big", format="csv",
                                                  path=str(tmp_path / "big.csv"))),
                       lambda m, a: notes.append((m, a)))
    assert res["row_count"] == n
    prog = [a for m, a in notes if m == "query_progress"]
    assert prog and prog[-1]["bytes"] <= os.path.getsize(tmp_path / "big.csv")
    assert all(p["rows"] <= n for p in prog)
    # cancel: nothing committed
    c.query(cid, "truncate imp_big")
    pg.psql("create or replace function slow() returns trigger language plpgsql as "
            "$$ begin perform pg_sleep(0.0005); return new; end $$;"
            "create trigger slow before insert on imp_big for each row execute function slow()",
            db="tuskdb")
    mid = c.send("import_file", dict(connection_id=cid, table="imp_big", format="csv",
                                     path=str(tmp_path / "big.csv"), query_id="imp-cancel"))
    wait_for(lambda: any(q["query_id"] == "imp-cancel" and q["row_count"] > 0
                         for q in c.call("get_running_queries")))
    assert c.call("cancel_query", query_id="imp-cancel")["cancelled"] is True
    with pytest.raises(TuskError) as e:
        c.wait_reply(mid)
    assert e.value["kind"] == "QueryCancelled"
    assert c.query(cid, "select count(*) from imp_big")[1] == [[0]]
    pg.psql("drop trigger slow on imp_big", db="tuskdb")


def test_column_types_as_postgresql_prints_them(conn, pg):
    c, cid = conn
    pg.psql("drop table if exists typed; create table typed (a int[], b varchar(20), c numeric(12,2),"
            " d numeric, e char(3), f bit(4), g varbit(8), h timestamp(3), i timestamptz(0),"
            " j time(2), k timetz, l interval day to second(3), m interval year, n varchar(5)[],"
            " o numeric(5,-2), p \"char\", q bpchar, r double precision, s int8, t text[][],"
            " u interval(1), v bit varying);"
            "alter table typed owner to tusk", db="tuskdb")
    want = pg.psql("select string_agg(format_type(atttypid, atttypmod), '|' order by attnum) "
                   "from pg_attribute where attrelid = 'typed'::regclass and attnum > 0",
                   db="tuskdb").strip().split("|")
    res, _, cols = c.query(cid, "select * from typed")
    assert [x["data_type"] for x in cols[0]] == want
    assert want[:3] == ["integer[]", "character varying(20)", "numeric(12,2)"]


def test_quote_ident_matches_the_server(conn):
    """Every keyword, and some awkward names, quoted in the INSERT column
    list exactly as the server's quote_ident quotes them."""
    c, cid = conn
    _, rows, _ = c.query(cid, "select word, quote_ident(word) from pg_get_keywords() "
                              "union all select x, quote_ident(x) from unnest(array["
                              "'Abc', '_x', '1a', 'a$b', 'é', 'a b', 'a\"b', 'x1_']) x")
    names = [r[0] for r in rows]
    sql = "select " + ", ".join('1 as "%s"' % n.replace('"', '""') for n in names)
    res = c.call("export_query", connection_id=cid, sql=sql, path="/tmp/tusk-qi-%d.sql" % os.getpid(),
                 format="sql", options={"table": "t"})
    with open(res["path"]) as f:
        text = f.read()
    os.unlink(res["path"])
    cols = text[text.index("(") + 1:text.index(") VALUES")]
    assert cols == ", ".join(r[1] for r in rows)


def test_tuskctl_export_and_import(broker, conn, pg, tmp_path):
    c, cid = conn
    pg.psql("drop table if exists ctl_imp; create table ctl_imp (a int, b text);"
            "alter table ctl_imp owner to tusk", db="tuskdb")
    spec = cid
    r = broker.ctl("export", "-c", spec, "-f", "csv", "-o", str(tmp_path / "o.csv"),
                   "select g as a, 'v' || g as b from generate_series(1, 3) g", check=True)
    assert (tmp_path / "o.csv").read_text() == "a,b\n1,v1\n2,v2\n3,v3\n"
    assert r.stdout.startswith(b"exported 3 rows (19 bytes) to %s" % str(tmp_path / "o.csv").encode())
    # a relative output path is the caller's
    r = subprocess.run([os.path.join(tusk.BIN, "tuskctl"), "export",
                        "-c", spec, "-f", "json", "-o", "rel.json", "select 1 as x"],
                       cwd=tmp_path, env=broker.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "rel.json").read_text() == '[\n{"x":1}\n]\n'
    r = broker.ctl("import", "-c", spec, "-t", "ctl_imp", str(tmp_path / "o.csv"), check=True)
    assert r.stdout.startswith(b"imported 3 rows into ctl_imp")
    assert c.query(cid, "select * from ctl_imp order by a")[1] == [[1, "v1"], [2, "v2"], [3, "v3"]]
    r = broker.ctl("import", "-c", spec, "-t", "ctl_imp", "--no-header", str(tmp_path / "o.csv"))
    assert r.returncode == 1 and b"at: line 1, column a" in r.stderr, r.stderr
    # json output, and the other options
    r = broker.ctl("--json", "export", "-c", spec, "-f", "sql", "--table", "x.y", "-o",
                   str(tmp_path / "o.sql"), "select 1 as a", check=True)
    assert json.loads(r.stdout)["row_count"] == 1
    assert (tmp_path / "o.sql").read_text() == "INSERT INTO x.y (a) VALUES (1);\n"
    (tmp_path / "p.txt").write_text("v9;9\n")
    broker.ctl("import", "-c", spec, "-t", "ctl_imp", "--no-header", "-d", ";", "--columns", "b,a",
               str(tmp_path / "p.txt"), check=True)
    assert c.query(cid, "select * from ctl_imp where a = 9")[1] == [[9, "v9"]]
    assert broker.ctl("export", "-c", spec, "select 1").returncode == 2
    # tuskctl shows the column types as PostgreSQL prints them
    r = broker.ctl("--json", "query", "-c", spec, "select '{1}'::int[] a, 1.5::numeric(5,2) b", check=True)
    cols = json.loads(r.stdout)["result_sets"][0]["columns"]
    assert [x["data_type"] for x in cols] == ["integer[]", "numeric(5,2)"]


def test_transaction_state_after_success_and_error(conn):
    """Each answer says where the session's transaction stands, errors too."""
    c, cid = conn
    assert c.query(cid, "begin")[0]["transaction"] == "in_transaction"
    with pytest.raises(TuskError) as e:
        c.query(cid, "select 1/0")
    assert e.value.err["transaction"] == "failed_transaction"
    with pytest.raises(TuskError) as e:
        c.query(cid, "select 1")
    assert e.value["code"] == "25P02" and e.value.err["transaction"] == "failed_transaction"
    assert c.query(cid, "rollback")[0]["transaction"] == "idle"
    with pytest.raises(TuskError) as e:
        c.query(cid, "select 1/0")
    assert e.value.err["transaction"] == "idle"
