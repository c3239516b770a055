"""A limit on everything a peer controls (broker/limits.c, the max_*
settings): queries and SQL bytes queued on a connection, open connections,
connected clients, a client's unanswered requests and unread answers, a
worker's log records, the log files. Past a limit a peer gets a clear error
(Validation, code "limit.NAME", a hint naming the setting) or is not read
for a while; it is logged once; the broker's memory stays bounded and
another client's queries run normally throughout."""
import glob
import os
import select
import socket
import threading
import time

import msgpack
import pytest

from fakeworker import FakeWorkers
from tusk import BIN, ROOT, Broker, Client, TuskError, rss_kb, wait_for

# The floods below send 256 MiB; at most 32 MiB may wait (max_queued_bytes).
# AddressSanitizer's shadow memory and allocator caches add ~a third to what
# the broker really holds, hence more room in the sanitizer build (the
# integration suite's); either bound is far below what the flood would cost.
RSS_MAX_KB = (128 if "asan" in BIN else 100) * 1024


def quiet_broker(*args, **kw):
    """A broker whose RSS shows what it holds: AddressSanitizer's quarantine
    (freed memory kept resident) is off."""
    b = Broker(extra_args=list(args), start=False, **kw)
    b.env["ASAN_OPTIONS"] += ":quarantine_size_mb=0"
    return b.start()


class Bystander:
    """Another client running queries on its own connection all along."""

    def __init__(self, b, pg):
        self.b = b
        self.c = Client(b.sock)
        self.cid = self.c.call("connect", config=pg.config(name="bystander"), password="tuskpw")["connection_id"]
        self.stop = threading.Event()
        self.errors = []
        self.ran = 0
        self.rss = []
        self.t = threading.Thread(target=self.loop)
        self.t.start()

    def loop(self):
        try:
            while not self.stop.is_set():
                n = self.ran
                assert self.c.query(self.cid, "select %d, count(*) from generate_series(1, 100)" % n)[1] == [[n, 100]]
                self.ran += 1
                self.rss.append(rss_kb(self.b.proc.pid))
        except Exception as e:  # noqa: BLE001
            self.errors.append(repr(e))

    def finish(self, at_least=1):
        # it kept running while the other client was at the limit
        wait_for(lambda: self.ran >= at_least or self.errors, timeout=60)
        self.stop.set()
        self.t.join(60)
        assert self.errors == [] and self.ran >= at_least
        self.c.call("disconnect", connection_id=self.cid)
        self.c.close()
        return max(self.rss)


def read_replies(c, n):
    """n responses (in any order): {msgid: (error, result)}."""
    out = {}
    while len(out) < n:
        m = c.read_msg()
        if m[0] == 1:
            out[m[1]] = (m[2], m[3])
    return out


def met_limit(b, code):
    return [l for l in b.logs().splitlines() if "met %s" % code in l]


def test_queued_queries_and_their_bytes_are_bounded(pg):
    b = quiet_broker()
    try:
        by = Bystander(b, pg)
        c = b.client(timeout=120)
        watcher = b.client()
        cids, blockers = [], []
        for name in ("big", "small"):
            cid = c.call("connect", config=pg.config(name=name), password="tuskpw")["connection_id"]
            blockers.append(c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(600)")))
            wait_for(lambda: any(q["state"] == "running" for q in watcher.call("get_running_queries", connection_id=cid)))
            cids.append(cid)
        # 1,000 queries of 256 KiB each: 32 MiB of SQL may wait (max_queued_bytes)
        head, tail = "select 1 /* ", " */"
        big = head + "x" * (256 * 1024 - len(head) - len(tail)) + tail
        ids = [c.send("execute_query", dict(connection_id=cids[0], sql=big)) for _ in range(1000)]
        rss_during = rss_kb(b.proc.pid)
        errors = [e for e, _ in read_replies(c, 872).values()]
        assert all(e["kind"] == "Validation" and e["code"] == "limit.queued_bytes" for e in errors), errors[0]
        assert "max_queued_bytes" in errors[0]["hint"] and "tuskd --set" in errors[0]["hint"]
        queued = [q for q in watcher.call("get_running_queries", connection_id=cids[0]) if q["state"] == "queued"]
        assert len(queued) == 128
        assert len(met_limit(b, "limit.queued_bytes")) == 1  # logged once for this client
        # 1,000 small ones: 256 may wait (max_queued_queries)
        small = [c.send("execute_query", dict(connection_id=cids[1], sql="select %d" % i)) for i in range(1000)]
        replies = read_replies(c, 1000 - 256)
        assert all(e["code"] == "limit.queued_queries" for e, _ in replies.values())
        assert "max_queued_queries" in list(replies.values())[0][0]["hint"]
        assert len(met_limit(b, "limit.queued_queries")) == 1
        rss_after = rss_kb(b.proc.pid)
        assert rss_during < RSS_MAX_KB and rss_after < RSS_MAX_KB, (rss_during, rss_after)
        # everything that waited is answered when the connections go
        for cid in cids:
            watcher.call("disconnect", connection_id=cid)
        rest = read_replies(c, 2 + 128 + 256)
        assert set(blockers) <= set(rest)
        assert all(e is not None and e["kind"] == "QueryCancelled" for e, _ in rest.values())
        assert len(set(rest) & set(ids)) == 128 and len(set(rest) & set(small)) == 256
        assert by.finish() < RSS_MAX_KB
    finally:
        b.stop()
        b.cleanup()


def test_open_connections_are_bounded(pg):
    b = quiet_broker("--set", "max_connections=8")
    try:
        by = Bystander(b, pg)  # one of the eight
        c = b.client(timeout=120)
        for i in range(500):
            c.send("connect", dict(config=pg.config(name="many-%d" % i), password="tuskpw"))
        replies = read_replies(c, 500)
        ok = [r for e, r in replies.values() if e is None]
        errors = [e for e, _ in replies.values() if e is not None]
        assert len(ok) == 7 and len(errors) == 493, [e for e in errors if e["code"] != "limit.connections"]
        assert all(e["kind"] == "Validation" and e["code"] == "limit.connections" for e in errors)
        assert "max_connections" in errors[0]["hint"] and "disconnect" in errors[0]["hint"]
        assert len(met_limit(b, "limit.connections")) == 1
        # a test counts too
        with pytest.raises(TuskError) as e:
            c.call("test_connection", config=pg.config(), password="tuskpw")
        assert e.value["code"] == "limit.connections"
        assert rss_kb(b.proc.pid) < RSS_MAX_KB
        # one closed: one may open
        c.call("disconnect", connection_id=ok[0]["connection_id"])
        cid = c.call("connect", config=pg.config(name="again"), password="tuskpw")["connection_id"]
        assert c.query(cid, "select 1")[1] == [[1]]
        assert by.finish() < RSS_MAX_KB
    finally:
        b.stop()
        b.cleanup()


def test_clients_are_bounded(pg):
    b = quiet_broker("--set", "max_clients=4")
    try:
        by = Bystander(b, pg)  # one of the four
        kept = [b.client() for _ in range(3)]
        for k in kept:
            assert k.call("health_check")["status"] == "ok"
        extra = [Client(b.sock) for _ in range(40)]
        for x in extra:
            with pytest.raises((TuskError, EOFError, ConnectionError)) as e:
                x.call("health_check")
            if isinstance(e.value, TuskError):
                assert e.value["code"] == "limit.clients" and "max_clients" in e.value["hint"]
        for x in extra:
            x.close()
        assert len(met_limit(b, "limit.clients")) >= 1
        kept[0].close()
        b.clients.remove(kept[0])

        def room():
            n = Client(b.sock)
            try:
                return n.call("health_check")["status"] == "ok"
            except (TuskError, EOFError, ConnectionError):
                return False
            finally:
                n.close()
        wait_for(room)
        assert by.finish() < RSS_MAX_KB
    finally:
        b.stop()
        b.cleanup()


def test_unanswered_requests_are_bounded_by_backpressure(pg):
    b = quiet_broker("--set", "max_client_requests=4")
    try:
        c = b.client(timeout=120)
        cid = c.call("connect", config=pg.config(name="patient"), password="tuskpw")["connection_id"]
        ids = [c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(600), %d" % i, query_id="p%d" % i))
               for i in range(10)]
        watcher = b.client()
        wait_for(lambda: len(watcher.call("get_running_queries", connection_id=cid)) == 4)
        # the other six wait in the socket, unread: the broker holds four
        time.sleep(0.5)
        assert len(watcher.call("get_running_queries", connection_id=cid)) == 4
        assert len(met_limit(b, "limit.client_requests")) == 1
        for i in range(10):
            wait_for(lambda: any(q["query_id"] == "p%d" % i for q in watcher.call("get_running_queries")))
            watcher.call("cancel_query", query_id="p%d" % i)
        replies = read_replies(c, 10)
        assert sorted(replies) == sorted(ids)
        assert all(e["kind"] == "QueryCancelled" for e, _ in replies.values())
        assert c.query(cid, "select 1")[1] == [[1]]
    finally:
        b.stop()
        b.cleanup()


def test_a_client_that_does_not_read_is_not_read(pg):
    b = quiet_broker()
    try:
        by = Bystander(b, pg)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(b.sock)
        s.setblocking(False)
        # describe answers ~20 KB: the answers pile up until the broker stops reading
        req = lambda i: msgpack.packb([0, i, "describe", []], use_bin_type=True)
        sent, n, pending = 0, 0, b""
        while True:
            if not pending:
                n += 1
                pending = req(n)
            _, w, _ = select.select([], [s], [], 3.0)
            if not w:
                break  # nothing taken for 3 s: the broker stopped reading us
            try:
                k = s.send(pending)
            except BlockingIOError:
                continue
            pending = pending[k:]
            sent += k
            assert n < 200000, "the broker kept reading a client that never reads"
        rss = rss_kb(b.proc.pid)
        assert rss < RSS_MAX_KB, rss
        # now read: the broker resumes and answers every request sent whole,
        # then the one cut short once its rest is sent
        s.setblocking(True)
        s.settimeout(60)
        u = msgpack.Unpacker(raw=False, max_buffer_size=1 << 30)
        got = set()

        def read_until(k):
            while len(got) < k:
                data = s.recv(1 << 20)
                assert data, "the broker closed the connection"
                u.feed(data)
                for m in u:
                    assert m[0] == 1 and m[2] is None
                    got.add(m[1])
        read_until(n - 1 if pending else n)
        s.sendall(pending)
        read_until(n)
        assert got == set(range(1, n + 1))
        s.close()
        assert by.finish() < RSS_MAX_KB
    finally:
        b.stop()
        b.cleanup()


# --- worker log records and the log files --------------------------------------------

with open(os.path.join(ROOT, "VERSION")) as f:
    VERSION = f.read().strip()
CONNECTED = [{"hello": True}, {"expect": "connect"},
             {"reply": {"backend_pid": 0, "server_version": "15.0", "tls": False}}]


@pytest.fixture
def fake():
    f = FakeWorkers(os.path.join(BIN, "tusk-worker"), VERSION)
    yield f
    f.cleanup()


def log_dir_size(b):
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(b.home, "logs", "*")))


def test_a_worker_flooding_its_log_is_rate_limited(pg, fake):
    b = Broker(extra_args=["--worker", fake.wrapper, "--set", "worker_log_rate=50"])
    try:
        fake.next(CONNECTED + [{"log_flood": 20000}, {"serve": True}])
        c = b.client()
        t0 = time.time()
        cid = c.call("connect", config=pg.config(name="chatty"), password="tuskpw")["connection_id"]
        pid = fake.taken().pop()
        wait_for(lambda: "(pid %d) sends more than 50 log records a second" % pid in b.logs())
        c.call("disconnect", connection_id=cid)
        wait_for(lambda: "(pid %d): " % pid in b.logs() and "log records dropped" in b.logs())
        took = time.time() - t0
        logs = b.logs()
        forwarded = logs.count("worker[%d]: flood" % pid)
        dropped = [l for l in logs.splitlines() if "(pid %d): " % pid in l and "log records dropped" in l]
        assert len(dropped) == 1 and logs.count("sends more than 50 log records") == 1
        n = int(dropped[0].split("(pid %d): " % pid)[1].split()[0])
        assert n + forwarded == 20000
        assert forwarded <= 50 * (int(took) + 2), (forwarded, took)
        # the broker goes on
        real = c.call("connect", config=pg.config(name="real"), password="tuskpw")["connection_id"]
        assert c.query(real, "select 1")[1] == [[1]]
    finally:
        b.stop()
        b.cleanup()


def test_the_log_files_stay_under_their_caps(pg, fake):
    b = Broker(extra_args=["--worker", fake.wrapper, "--set", "worker_log_rate=1000000",
                           "--set", "log_file_max_mb=1", "--set", "log_dir_max_mb=2"], start=False)
    # yesterday's and older days' files, 1 MiB each: the oldest must go
    os.makedirs(os.path.join(b.home, "logs"), exist_ok=True)
    now = time.time()
    for d in range(1, 5):
        name = time.strftime("tusk.%Y-%m-%d.log", time.gmtime(now - d * 86400))
        with open(os.path.join(b.home, "logs", name), "w") as f:
            f.write("old\n" * (256 * 1024))
    b.start()
    try:
        assert log_dir_size(b) <= 2 * 1024 * 1024
        fake.next(CONNECTED + [{"log_flood": 30000}, {"serve": True}])  # ~4 MB of records
        c = b.client()
        cid = c.call("connect", config=pg.config(name="flood"), password="tuskpw")["connection_id"]
        wait_for(lambda: "reached its cap" in b.logs(), timeout=60)
        c.call("disconnect", connection_id=cid)
        assert c.call("health_check")["status"] == "ok"
        logs = b.logs()
        assert logs.count("reached its cap") == 1
        today = time.strftime("tusk.%Y-%m-%d.log", time.gmtime())
        assert os.path.getsize(os.path.join(b.home, "logs", today)) <= 1024 * 1024
        assert log_dir_size(b) <= 2 * 1024 * 1024
    finally:
        b.stop()
        b.cleanup()
