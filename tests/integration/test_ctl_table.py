"""tuskctl table, activity and backend against a real broker and server."""
import json
import os
import signal
import subprocess

import pytest

from pgcluster import ROLE, ROLE_PW
from tusk import BIN, wait_for


@pytest.fixture(scope="module")
def ctl_conn(broker, pg):
    pg.psql("""DROP TABLE IF EXISTS "Ctl Items", ct CASCADE;
        CREATE TABLE "Ctl Items" (id int PRIMARY KEY, "Name" text, qty int);
        INSERT INTO "Ctl Items" SELECT i, 'item ' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE i % 4 END
            FROM generate_series(1, 12) i;
        ALTER TABLE "Ctl Items" OWNER TO tusk;
        CREATE TABLE ct (a int, b text); ALTER TABLE ct OWNER TO tusk""", db="tuskdb")
    url = "postgresql://tusk@127.0.0.1:%d/tuskdb?sslmode=disable" % pg.port
    r = broker.ctl("--json", "connect", "--name", "ctltable", url, env={"PGPASSWORD": "tuskpw"}, check=True)
    cid = json.loads(r.stdout)["connection_id"]
    yield "ctltable"
    broker.ctl("disconnect", cid)


def test_table_sorts_filters_and_pages(broker, ctl_conn):
    r = broker.ctl("table", "-c", ctl_conn, "--limit", "5", '"Ctl Items"', check=True)
    out = r.stdout.decode()
    lines = out.splitlines()
    assert [x.strip() for x in lines[0].split("|")] == ["id", "Name", "qty"]
    assert "item 5" in out and "item 6" not in out
    assert "(5 rows, more follow" in lines[-1] and 'editable (key Ctl Items_pkey)' in lines[-1]
    r = broker.ctl("table", "-c", ctl_conn, "-f", "csv", "--all", "--limit", "2", "--order", "-qty,id",
                   "--filter", "qty is not null", "--filter", "id <= 9", 'public."Ctl Items"', check=True)
    want = sorted(((i % 4, i) for i in range(1, 10) if i % 3), key=lambda x: (-x[0], x[1]))
    assert r.stdout.decode().splitlines() == ["id,Name,qty"] + ["%d,item %d,%d" % (i, i, q) for q, i in want]
    r = broker.ctl("table", "-c", ctl_conn, "-f", "csv", "--filter", '"Name" ~ EM 1', '"Ctl Items"', check=True)
    assert [l.split(",")[0] for l in r.stdout.decode().splitlines()[1:]] == ["1", "10", "11", "12"]
    r = broker.ctl("table", "-c", ctl_conn, "-f", "csv", "--filter", "id in 2, 4,99", '"Ctl Items"', check=True)
    assert r.stdout.decode().splitlines()[1:] == ["2,item 2,2", "4,item 4,0"]
    r = broker.ctl("--json", "table", "-c", ctl_conn, "--limit", "3", '"Ctl Items"', check=True)
    page = json.loads(r.stdout)
    assert page["keys"] == [{"id": "1"}, {"id": "2"}, {"id": "3"}] and page["next"] == ["3"]
    r = broker.ctl("table", "-c", ctl_conn, "ct", check=True)
    assert "not editable: the table has no primary key" in r.stdout.decode()


def test_table_errors(broker, ctl_conn):
    r = broker.ctl("table", "-c", ctl_conn, "Ctl Items")  # unquoted: folded, so not found
    assert r.returncode == 1 and b"no table or view public.ctl items" in r.stderr
    r = broker.ctl("table", "-c", ctl_conn, "--filter", "id ?? 3", '"Ctl Items"')
    assert r.returncode == 2 and b"--filter takes" in r.stderr
    r = broker.ctl("table", "-c", ctl_conn, "--order", "nope", '"Ctl Items"')
    assert r.returncode == 1 and b'has no column "nope"' in r.stderr


def test_activity_and_backend(broker, ctl_conn, pg):
    env = dict(os.environ, PGPASSWORD=ROLE_PW, PGAPPNAME="ctl-sleeper")
    sleeper = subprocess.Popen(["psql", "-X", "-q", "-h", pg.sock, "-p", str(pg.port), "-U", ROLE, "-d", "tuskdb",
                                "-c", "SELECT pg_sleep(120)"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        def sleeping():
            r = broker.ctl("--json", "activity", "-c", ctl_conn, check=True)
            return [b for b in json.loads(r.stdout) if b["application"] == "ctl-sleeper" and
                    b["state"] == "active"]
        pid = wait_for(sleeping)[0]["pid"]
        r = broker.ctl("activity", "-c", ctl_conn, check=True)
        lines = r.stdout.decode().splitlines()
        assert [x.strip() for x in lines[0].split("|")][:3] == ["PID", "USER", "DATABASE"]
        mine = [l for l in lines if l.split()[0] == str(pid)]
        assert mine and "pg_sleep(120)" in mine[0] and "Timeout:PgSleep" in mine[0]
        assert any("(this)" in l for l in lines)
        # --watch prints again and again until interrupted
        w = subprocess.Popen([os.path.join(BIN, "tuskctl"), "activity", "-c", ctl_conn, "--watch",
                              "--interval", "200"], env=broker.env, stdout=subprocess.PIPE)
        got = b""
        while got.count(b"PID") < 2:
            got += w.stdout.read1(65536)
        w.send_signal(signal.SIGINT)
        w.wait(20)
        r = broker.ctl("backend", "cancel", "-c", ctl_conn, str(pid), check=True)
        assert r.stdout.decode() == "cancelled the query of backend %d\n" % pid
        assert sleeper.wait(30) != 0 and b"canceling statement" in sleeper.stderr.read()
        r = broker.ctl("backend", "terminate", "-c", ctl_conn, "2147483000")
        assert r.returncode == 1 and b"no server process has pid 2147483000" in r.stderr
        assert broker.ctl("backend", "stop", "1").returncode == 2
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
        sleeper.wait()
