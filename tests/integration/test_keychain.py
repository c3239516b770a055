"""The keychain: a real gnome-keyring on a private D-Bus session, and the
ways it can be missing, locked or hung."""
import os
import select

import pytest

from keyring import Keyring
from tusk import Broker, TuskError


def keyring_broker(mode, **kw):
    kr = Keyring(mode)
    b = Broker(env=dict(kr.env(), DISPLAY=None), **kw)
    return kr, b


@pytest.mark.parametrize("mode,available,words", [
    ("unlocked", True, "unlocked"),
    ("locked", False, "locked"),
    ("nosecrets", False, "no Secret Service"),
    ("nobus", False, "session bus"),
])
def test_availability(mode, available, words):
    kr, b = keyring_broker(mode)
    try:
        c = b.client()
        assert c.call("check_keychain_available") is available
        st = c.call("get_keychain_status")
        assert st["available"] is available and words in st["message"]
        if not available:
            assert st["hint"] and ("gnome-keyring" in st["hint"] or "unlock" in st["hint"])
    finally:
        b.stop()
        b.cleanup()
        kr.stop()


def unanswered(c):
    """Nothing has come back on c's socket yet."""
    return not c.pending and not c.responses and not select.select([c.s], [], [], 0)[0]


def test_hung_keychain_never_blocks_the_broker():
    """The broker answers others while a keychain call hangs, and once one
    timed out it does not wait on the keychain again for a while. (How fast
    is `make bench`'s business: nothing here is timed.)"""
    kr, b = keyring_broker("hung", extra_args=["--set", "keychain_timeout_ms=8000"])
    try:
        c = b.client()
        other = b.client()
        mid = c.send("check_keychain_available")
        for _ in range(5):
            assert other.call("health_check")["status"] == "ok"
        assert unanswered(c), "health_check waited for the hung keychain"
        assert c.wait_reply(mid) is False
        st = c.call("get_keychain_status")
        assert st["available"] is False and "did not answer" in st["message"]
        assert b.logs().count("did not finish within") == 1
        # backing off: the next questions are answered without asking it
        assert c.call("check_keychain_available") is False
        assert c.call("check_keychain_available") is False
        assert b.logs().count("did not finish within") == 1
    finally:
        b.stop()
        b.cleanup()
        kr.stop()


# --- passwords of saved connections ------------------------------------------------

SECRET = "s3cr3t-tuskpw-not-anywhere"


def set_role_password(pg, pw):
    pg.psql("ALTER ROLE tusk PASSWORD '%s'" % pw)


def grep_everywhere(b, needle):
    """Every place a secret must never be: files under TUSK_HOME (the database,
    logs, the socket dir), and the argv/environment of the broker and workers."""
    hits = []
    for root, _, files in os.walk(b.home):
        for n in files:
            p = os.path.join(root, n)
            try:
                with open(p, "rb") as f:
                    if needle.encode() in f.read():
                        hits.append(p)
            except OSError:
                pass
    pids = [b.proc.pid] + b.worker_pids() if b.proc and b.proc.poll() is None else []
    for pid in pids:
        for what in ("cmdline", "environ"):
            try:
                with open("/proc/%d/%s" % (pid, what), "rb") as f:
                    if needle.encode() in f.read():
                        hits.append("/proc/%d/%s" % (pid, what))
            except OSError:
                pass
    return hits


def test_passwords_live_in_the_keychain(pg):
    set_role_password(pg, SECRET)
    kr = Keyring("unlocked")
    b = Broker(env=dict(kr.env(), DISPLAY=None))
    try:
        c = b.client()
        r = c.call("save_connection", config=pg.config(name="kc"), password=SECRET)
        cid = r["config"]["id"]
        assert not r.get("warnings")
        assert kr.lookup(kind="db", connection=cid) == SECRET
        assert c.call("has_stored_password", connection_id=cid) is True
        assert c.call("connect", id=cid) == {"connection_id": cid}
        assert c.query(cid, "select 1")[1] == [[1]]
        assert grep_everywhere(b, SECRET) == []
        # a restart: the password comes back from the keychain
        b.stop()
        b.start()
        c = b.client()
        assert c.call("connect", id=cid) == {"connection_id": cid}
        assert grep_everywhere(b, SECRET) == []
        c.call("disconnect", connection_id=cid)
        # deleting the connection removes its secret
        c.call("delete_connection", id=cid)
        assert kr.lookup(kind="db", connection=cid) is None
        assert c.call("has_stored_password", connection_id=cid) is False
        for f in kr.files():
            if not os.path.isfile(f):
                continue  # the bus socket
            with open(f, "rb") as fh:
                assert SECRET.encode() not in fh.read(), f  # gnome-keyring encrypts its file
    finally:
        b.stop()
        b.cleanup()
        kr.stop()
        set_role_password(pg, "tuskpw")


def test_stored_password_rejected_and_missing(pg):
    kr = Keyring("unlocked")
    b = Broker(env=dict(kr.env(), DISPLAY=None))
    try:
        c = b.client()
        cid = c.call("save_connection", config=pg.config(name="wrong"), password="not-it")["config"]["id"]
        with pytest.raises(TuskError) as e:
            c.call("connect", id=cid)
        assert e.value["kind"] == "Credential" and "rejected the password stored for this connection" in e.value["hint"]
        bare = c.call("save_connection", config=pg.config(name="nopw"))["config"]["id"]
        with pytest.raises(TuskError) as e:
            c.call("connect", id=bare)
        assert e.value["kind"] == "Credential" and "no password is stored" in e.value["hint"]
        # the password given with connect works, and may then be saved
        assert c.call("connect", id=bare, password="tuskpw") == {"connection_id": bare}
    finally:
        b.stop()
        b.cleanup()
        kr.stop()


@pytest.mark.parametrize("mode", ["locked", "nosecrets", "nobus", "hung"])
def test_without_a_keychain_the_session_keeps_it(pg, mode):
    set_role_password(pg, SECRET)
    kr = Keyring(mode)
    b = Broker(env=dict(kr.env(), DISPLAY=None), extra_args=["--set", "keychain_timeout_ms=5000"])
    try:
        c = b.client()
        other = b.client()
        mid = c.send("save_connection", dict(config=pg.config(name="fallback-" + mode), password=SECRET))
        if mode == "hung":
            for _ in range(5):
                assert other.call("health_check")["status"] == "ok"
            assert unanswered(c), "health_check waited for the hung keychain"
        r = c.wait_reply(mid)
        cid = r["config"]["id"]
        assert c.call("get_connection", id=cid)["name"] == "fallback-" + mode  # saved anyway
        w = r["warnings"][0]
        assert "kept for this session only" in w["message"]
        assert "restarts" in w["hint"] and ("gnome-keyring" in w["hint"] or "unlock" in w["hint"]
                                            or "hung" in w["hint"])
        assert c.call("has_stored_password", connection_id=cid) is False
        assert c.call("connect", id=cid) == {"connection_id": cid}  # from the session
        assert grep_everywhere(b, SECRET) == []
        c.call("disconnect", connection_id=cid)
        b.stop()
        b.start()  # gone with the broker
        c = b.client()
        with pytest.raises(TuskError) as e:
            c.call("connect", id=cid)
        assert e.value["kind"] == "Credential"
        assert grep_everywhere(b, SECRET) == []
    finally:
        b.stop()
        b.cleanup()
        kr.stop()
        set_role_password(pg, "tuskpw")


def test_tuskctl_keychain_status():
    kr, b = keyring_broker("locked")
    try:
        r = b.ctl("keychain", "status", check=True)
        assert b"NOT available" in r.stdout and b"locked" in r.stdout and b"hint:" in r.stdout
        assert b.ctl("--json", "keychain", "status").returncode == 0
    finally:
        b.stop()
        b.cleanup()
        kr.stop()
