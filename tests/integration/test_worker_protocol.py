"""The broker's table of what a worker may send in which state
(broker/workers.c, worker_notes), driven by a fake worker
(tests/lib/fakeworker.py) that sends one message outside its state per
case. Each time: the broker logs it once, drops that worker (its connection
lost with a "protocol violation" reason, its pending requests failed with
WorkerLost), and goes on: another client's queries on a real connection
run normally."""
import os

import pytest

from fakeworker import FakeWorkers
from tusk import BIN, ROOT, Broker, TuskError, wait_for

with open(os.path.join(ROOT, "VERSION")) as f:
    VERSION = f.read().strip()

CONNECT_REPLY = {"backend_pid": 0, "server_version": "15.0", "tls": False}
HOST_KEY = {"host": "h", "port": 22, "key_type": "ssh-ed25519", "fingerprint": "SHA256:x", "line": "h ssh-ed25519 AAAA"}


@pytest.fixture(scope="module")
def fake():
    f = FakeWorkers(os.path.join(BIN, "tusk-worker"), VERSION)
    yield f
    f.cleanup()


@pytest.fixture(scope="module")
def fb(fake):
    b = Broker(extra_args=["--worker", fake.wrapper])
    yield b
    b.stop()
    b.cleanup()


@pytest.fixture(scope="module")
def bystander(fb, pg):
    """Another client with a real connection (no scenario: the real worker)."""
    c = fb.client()
    cid = c.call("connect", config=pg.config(name="bystander"), password="tuskpw")["connection_id"]
    assert c.query(cid, "select 1")[1] == [[1]]
    yield c, cid


def lost(c, cid):
    for x in c.call("get_active_connections"):
        if x["connection_id"] == cid and x["state"] == "lost":
            return x
    return None


def drops_logged(b, pid):
    return [l for l in b.logs().splitlines() if "(pid %d): protocol violation" % pid in l and "dropping it" in l]


HELLO = {"hello": True}
CONNECTED = [HELLO, {"expect": "connect"}, {"reply": CONNECT_REPLY}]
BUSY = CONNECTED + [{"expect": "query"}]

# (name, steps up to the point the message is sent, the message step, what the reason says)
CASES = [
    ("host_key while idle", CONNECTED, {"send": [2, "host_key", [HOST_KEY]]}, "notification 'host_key' while idle"),
    ("query_rows while idle", CONNECTED, {"send": [2, "query_rows", [{"query_id": "q", "rows": []}]]},
     "notification 'query_rows' while idle"),
    ("query_columns while idle", CONNECTED,
     {"send": [2, "query_columns", [{"query_id": "q", "result_index": 0, "columns": []}]]},
     "notification 'query_columns' while idle"),
    ("hello twice", CONNECTED, HELLO, "notification 'hello' while idle"),
    ("hello twice while connecting", [HELLO, {"expect": "connect"}], HELLO, "notification 'hello' while connecting"),
    ("an unknown notification", CONNECTED, {"send": [2, "mine_bitcoin", [{}]]},
     "unknown notification 'mine_bitcoin' while idle"),
    ("a request", CONNECTED, {"send": [0, 7, "list_workers", [{}]]}, "request 'list_workers' while idle"),
    ("a reply to nothing", CONNECTED, {"send": [1, 4242, None, {}]}, "response to an unknown request while idle"),
    ("bytes that are not msgpack-RPC", CONNECTED, {"raw": "c1"}, "while idle"),
    ("a malformed log record", CONNECTED, {"send": [2, "log", [{"level": 2}]]},
     "malformed notification 'log' while idle"),
    ("a log record with an unknown field", CONNECTED, {"send": [2, "log", [{"level": 2, "message": "m", "x": 1}]]},
     "malformed notification 'log' while idle"),
    ("a log record with a bad level", CONNECTED, {"send": [2, "log", [{"level": 9, "message": "m"}]]},
     "log record level 'log' while idle"),
    ("a malformed connect reply", [HELLO, {"expect": "connect"}], {"reply": {"backend_pid": "x", "tls": False}},
     "malformed reply to 'connect' while connecting"),
    ("a connect reply with an unknown field", [HELLO, {"expect": "connect"}],
     {"reply": dict(CONNECT_REPLY, evil=True)}, "malformed reply to 'connect' while connecting"),
    ("host_key while busy", BUSY, {"send": [2, "host_key", [HOST_KEY]]}, "notification 'host_key' while busy"),
    ("hello while busy", BUSY, HELLO, "notification 'hello' while busy"),
    ("a request while busy", BUSY, {"send": [0, 9, "connect", [{}]]}, "request 'connect' while busy"),
]


@pytest.mark.parametrize("name,before,message,reason", CASES, ids=[c[0] for c in CASES])
def test_out_of_state_message_drops_only_that_worker(fb, fake, pg, bystander, name, before, message, reason):
    had = fake.taken()
    fake.next(before + [message, {"serve": True}])
    c = fb.client()
    connecting = before[-1] == {"expect": "connect"}
    busy = before[-1] == {"expect": "query"}
    if connecting:
        # the pending connect fails with WorkerLost, saying why
        with pytest.raises(TuskError) as e:
            c.call("connect", config=pg.config(name="fake"), password="tuskpw")
        assert e.value["kind"] == "WorkerLost", e.value
        assert e.value["reason"].startswith("protocol violation") and reason in e.value["reason"], e.value
    else:
        cid = c.call("connect", config=pg.config(name="fake"), password="tuskpw")["connection_id"]
        if busy:
            with pytest.raises(TuskError) as e:
                c.query(cid, "select 1")
            assert e.value["kind"] == "WorkerLost", e.value
            assert e.value["reason"].startswith("protocol violation") and reason in e.value["reason"], e.value
        x = wait_for(lambda: lost(c, cid))
        assert x["lost_reason"].startswith("protocol violation") and reason in x["lost_reason"], x
        with pytest.raises(TuskError) as e:
            c.query(cid, "select 1")
        assert e.value["kind"] == "Connection" and "protocol violation" in e.value["message"]
        c.call("disconnect", connection_id=cid)
    pid = (fake.taken() - had).pop()
    # logged once, and that worker is gone
    wait_for(lambda: drops_logged(fb, pid))
    assert len(drops_logged(fb, pid)) == 1, drops_logged(fb, pid)
    wait_for(lambda: pid not in fb.worker_pids())
    # the broker goes on: another client's real connection runs normally
    bc, bcid = bystander
    assert bc.query(bcid, "select 40 + 2")[1] == [[42]]
    assert c.call("health_check")["status"] == "ok"
    c.close()


def test_a_well_behaved_fake_is_served(fb, fake, pg):
    """The fake worker itself is sound: following the protocol it stays
    connected (so the cases above fail for the message, not the fake)."""
    fake.next(CONNECTED + [{"serve": True}])
    c = fb.client()
    cid = c.call("connect", config=pg.config(name="fake-ok"), password="tuskpw")["connection_id"]
    st = [x for x in c.call("get_active_connections") if x["connection_id"] == cid][0]
    assert st["state"] == "connected" and st["server_version"] == "15.0"
    c.call("disconnect", connection_id=cid)
