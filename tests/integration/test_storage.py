"""The local store: saved connections and preferences in a real SQLite file
(TUSK_HOME/data/tusk.db) owned by the real broker — surviving restarts,
validation, secrets kept beside (never in) the database, connect by id,
corruption made by writing bytes into the file (backup, repair, salvage,
notice), a newer schema refused, unwritable directories, and tuskctl."""
import glob
import hashlib
import json
import math
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import time

import msgpack
import pytest

from tusk import BIN, Broker, TuskError

NOBODY = 65534


def db_path(b):
    return os.path.join(b.home, "data", "tusk.db")


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def fresh():
    """A broker of its own (tests here restart it and write into its files)."""
    b = Broker()
    yield b
    if b.proc and b.proc.poll() is None:
        b.stop()
    b.cleanup()


@pytest.fixture(scope="module")
def files():
    """Files a config may point at: a CA, a client cert and key, an SSH key."""
    d = tempfile.mkdtemp(prefix="tusk-files.", dir="/tmp")
    paths = {}
    for name in ("ca.pem", "client.crt", "client.key", "id_ed25519"):
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write("not a real %s\n" % name)
        paths[name] = p
    os.makedirs(os.path.join(d, "a-directory"))
    paths["dir"] = os.path.join(d, "a-directory")
    yield paths
    shutil.rmtree(d, ignore_errors=True)


MODES = ["disable", "prefer", "require", "verify-ca", "verify-full"]
HOSTS = ["db%d.example.com", "10.1.2.%d", "2001:db8::%d", "/var/run/postgresql-%d"]


def rich_config(i, files):
    """Connection i of a set that uses every field in every shape."""
    host = HOSTS[i % 4] % i
    # names long enough that the table and its indexes span several pages
    cfg = dict(name="Conn %02d — ünïcødé — %s" % (i, " ".join(["padding"] * 10)), host=host, port=5000 + i, database="db_%d" % i,
               username="user%d" % i, ssl_mode=MODES[i % 5], read_only=(i % 3 == 0),
               statement_timeout_ms=None if i % 4 == 0 else i * 250)
    if cfg["ssl_mode"] in ("verify-ca", "verify-full"):
        cfg["ssl_ca_cert"] = files["ca.pem"]
    if i % 7 == 0:
        cfg["ssl_client_cert"] = files["client.crt"]
        cfg["ssl_client_key"] = files["client.key"]
    if not host.startswith("/"):
        kind = i % 6
        if kind == 1:
            cfg["ssh_tunnel"] = dict(host="bastion%d.example.com" % i, port=22, username="jump",
                                     auth_method={"type": "password"})
        elif kind == 2:
            cfg["ssh_tunnel"] = dict(host="192.0.2.%d" % i, port=2200 + i, username="deploy",
                                     auth_method={"type": "key_file", "path": files["id_ed25519"]})
        elif kind == 3:
            cfg["ssh_tunnel"] = dict(host="jump.example.org", username="agentuser",
                                     auth_method={"type": "agent"})
    return cfg


def expected(cfg):
    """What the broker answers for a config it saved (defaults filled)."""
    out = dict(ssl_ca_cert=None, ssl_client_cert=None, ssl_client_key=None, ssh_tunnel=None,
               read_only=False, statement_timeout_ms=None, port=5432, ssl_mode="prefer")
    out.update(cfg)
    if out["ssh_tunnel"]:
        t = dict(port=22)
        t.update(out["ssh_tunnel"])
        out["ssh_tunnel"] = t
    return out


PREFS = {
    "nil": None,
    "true": True,
    "false": False,
    "zero": 0,
    "small": 127,
    "uint8": 255,
    "uint16": 65535,
    "uint32": 2 ** 32 - 1,
    "int64.max": 2 ** 63 - 1,
    "uint64.max": 2 ** 64 - 1,
    "int64.min": -2 ** 63,
    "negative": -33,
    "float": 1.5,
    "float.tiny": 5e-324,
    "float.inf": float("inf"),
    "string": "ünïcødé ✓ \u0000 inside",
    "empty.string": "",
    "binary": bytes(range(256)),
    "array": [1, "two", [3.0, None], {"four": [True]}],
    "map": {"theme": "dark", "sizes": {"font": 13, "ratio": 0.25}, "empty": {}, "list": []},
}


def save_all(c, files, n=50):
    saved = {}
    for i in range(n):
        r = c.call("save_connection", config=rich_config(i, files))
        assert "warnings" not in r
        saved[r["config"]["id"]] = r["config"]
        want = expected(rich_config(i, files))
        for k, v in want.items():
            assert r["config"][k] == v, (k, r["config"][k], v)
    return saved


# --- persistence -------------------------------------------------------------------

def test_fifty_connections_and_twenty_preferences_survive_a_restart(fresh, files):
    c = fresh.client()
    saved = save_all(c, files)
    for k, v in PREFS.items():
        assert c.call("set_preference", key=k, value=v) is None
    # a float32 keeps its width (msgpack 0xca), sent and answered as bytes
    raw = msgpack.packb([0, 900, "set_preference", [{"key": "float32", "value": 0}]], use_bin_type=True)
    raw = raw[:-1] + b"\xca" + struct.pack(">f", 1.25)
    c.send_raw(raw)
    assert c.wait_reply(900) is None
    fresh.stop()
    assert not os.path.exists(db_path(fresh) + "-wal")  # closed cleanly: checkpointed

    fresh.start()
    c = fresh.client()
    listed = c.call("list_connections")
    assert len(listed) == 50
    assert {x["id"]: x for x in listed} == saved
    names = [x["name"] for x in listed]
    assert names == sorted(names, key=str.lower)
    for cid, cfg in saved.items():
        assert c.call("get_connection", id=cid) == cfg
    assert c.call("get_connection", id="00000000-0000-4000-8000-000000000000") is None
    for k, v in PREFS.items():
        got = c.call("get_preference", key=k)
        assert got == v and type(got) is type(v), k
    assert c.call("get_preference", key="never.set") is None
    prefs = {p["key"]: p for p in c.call("list_preferences")}
    assert set(prefs) == set(PREFS) | {"float32"}
    assert prefs["nil"]["value"] is None and re.match(r"\d{4}-\d\d-\d\dT", prefs["nil"]["updated_at"])
    c.send_raw(msgpack.packb([0, 901, "get_preference", [{"key": "float32"}]], use_bin_type=True))
    reply = b""
    while not reply.endswith(b"\xca" + struct.pack(">f", 1.25)):
        reply += c.s.recv(100)
    # the file: WAL, the migrations table, no SQL pasted values (STRICT types hold)
    fresh.stop()
    assert os.stat(db_path(fresh)).st_mode & 0o077 == 0
    db = sqlite3.connect(db_path(fresh))
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert db.execute("select max(version) from schema_migrations").fetchone()[0] >= 1
    assert db.execute("select count(*) from connections").fetchone()[0] == 50
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    db.close()


def test_update_keeps_created_at_and_bumps_updated_at(broker, files):
    c = broker.client()
    first = c.call("save_connection", config=dict(name="Updatable", host="a.example.com", database="d",
                                                   username="u"))["config"]
    again = dict(first, host="b.example.com", port=6543, read_only=True,
                 created_at="1999-01-01T00:00:00.000Z", updated_at="1999-01-01T00:00:00.000Z")
    second = c.call("save_connection", config=again)["config"]
    assert second["id"] == first["id"]
    assert second["created_at"] == first["created_at"]
    assert second["updated_at"] > first["updated_at"]
    assert second["host"] == "b.example.com" and second["port"] == 6543 and second["read_only"] is True
    assert c.call("get_connection", id=first["id"]) == second
    # renaming to another case of its own name is fine
    third = c.call("save_connection", config=dict(second, name="UPDATABLE"))["config"]
    assert third["name"] == "UPDATABLE" and third["created_at"] == first["created_at"]
    assert third["updated_at"] > second["updated_at"]
    c.call("delete_connection", id=first["id"])


# --- validation ------------------------------------------------------------------------

BASE = dict(name="valid", host="db.example.com", database="app", username="me")


def validation_cases(files):
    ssh = dict(host="bastion.example.com", username="jump", auth_method={"type": "agent"})
    return [
        (dict(name=""), "name: must not be empty"),
        (dict(name="   "), "name: must not be empty"),
        (dict(name="TAKEN name"), "name: 'TAKEN name' is already used by the saved connection 'Taken Name'"),
        (dict(name="ärger"), "is already used by the saved connection 'Ärger'"),
        (dict(host="bad host!"), "host: 'bad host!' is not a valid host name or IP address"),
        (dict(host=""), "host: '' is not a valid host name or IP address"),
        (dict(host="999.1.1.1"), "is not a valid host name or IP address"),
        (dict(port=0), "port: 0 is not between 1 and 65535"),
        (dict(port=65536), "port: 65536 is not between 1 and 65535"),
        (dict(port=2 ** 40), "port: 1099511627776 is not between 1 and 65535"),
        (dict(username=""), "username: must not be empty"),
        (dict(database=""), "database: must not be empty"),
        (dict(ssl_mode="sometimes"), "ssl_mode: 'sometimes' is not one of disable, prefer, require, verify-ca, verify-full"),
        (dict(ssl_mode="verify-ca"), "ssl_ca_cert: required for ssl_mode verify-ca"),
        (dict(ssl_mode="verify-full"), "ssl_ca_cert: required for ssl_mode verify-full"),
        (dict(ssl_mode="verify-full", ssl_ca_cert="/nonexistent/ca.pem"),
         "ssl_ca_cert: cannot read /nonexistent/ca.pem: No such file or directory"),
        (dict(ssl_mode="verify-ca", ssl_ca_cert=files["dir"]), "ssl_ca_cert: %s is not a regular file" % files["dir"]),
        (dict(ssl_mode="verify-ca", ssl_ca_cert="relative/ca.pem"), "ssl_ca_cert: 'relative/ca.pem' must be an absolute path"),
        (dict(ssh_tunnel=dict(ssh, auth_method={"type": "key_file"})),
         "ssh_tunnel.auth_method.path: required for key_file"),
        (dict(ssh_tunnel=dict(ssh, auth_method={"type": "key_file", "path": "relative/key"})),
         "ssh_tunnel.auth_method.path: 'relative/key' must be an absolute path"),
        (dict(ssh_tunnel=dict(ssh, local_port=15432)),
         "config.ssh_tunnel.local_port: not a setting: the tunnel's local end is always a free loopback port"),
        (dict(ssh_tunnel=dict(ssh, auth_method={"type": "agent", "path": files["id_ed25519"]})),
         "ssh_tunnel.auth_method.path: only used with type key_file, not agent"),
        (dict(ssh_tunnel=dict(ssh, auth_method={"type": "kerberos"})),
         "ssh_tunnel.auth_method.type: 'kerberos' is not one of password, key_file, agent"),
        (dict(ssh_tunnel=dict(ssh, auth_method={})), "config.ssh_tunnel.auth_method.type: required"),
        (dict(ssh_tunnel={k: v for k, v in ssh.items() if k != "username"}), "config.ssh_tunnel.username: required"),
        (dict(ssh_tunnel=dict(ssh, username="")), "ssh_tunnel.username: must not be empty"),
        (dict(ssh_tunnel=dict(ssh, host="not a host")), "ssh_tunnel.host: 'not a host' is not a valid host name"),
        (dict(ssh_tunnel=dict(ssh, port=0)), "ssh_tunnel.port: 0 is not between 1 and 65535"),
        (dict(host="/var/run/postgresql", ssh_tunnel=ssh), "host: a socket directory cannot be reached through an SSH tunnel"),
        (dict(statement_timeout_ms=-5), "statement_timeout_ms: must be 0 (none) or a positive number of milliseconds"),
        (dict(id="not-a-uuid"), "id: 'not-a-uuid' is not a UUID"),
        (dict(color="blue"), "config.unknown argument 'color'"),
    ]


def test_every_validation_rule_names_the_field_and_writes_nothing(broker, files):
    c = broker.client()
    taken = c.call("save_connection", config=dict(BASE, name="Taken Name"))["config"]
    umlaut = c.call("save_connection", config=dict(BASE, name="Ärger"))["config"]
    before = c.call("list_connections")
    for over, message in validation_cases(files):
        with pytest.raises(TuskError) as e:
            c.call("save_connection", config=dict(BASE, **over), password="never-written")
        assert e.value["kind"] == "Validation", (over, e.value.err)
        assert message in e.value["message"], (over, e.value["message"])
        # an update that breaks a rule leaves the saved row as it was
        with pytest.raises(TuskError) as e:
            c.call("save_connection", config=dict(taken, **over) if "name" not in over or over["name"] != "TAKEN name"
                   else dict(umlaut, name="taken NAME"))
        assert e.value["kind"] == "Validation"
    assert c.call("list_connections") == before
    # secrets beside a tunnel that does not use them
    with pytest.raises(TuskError) as e:
        c.call("save_connection", config=dict(BASE, name="no tunnel"), ssh_password="x")
    assert e.value["message"].startswith("ssh_password:") and e.value["hint"]
    with pytest.raises(TuskError) as e:
        c.call("save_connection", config=dict(BASE, name="no key"), ssh_key_passphrase="x")
    assert e.value["message"].startswith("ssh_key_passphrase:")
    # the name is trimmed, the fields of a valid config all kept
    ok = c.call("save_connection", config=dict(BASE, name="  padded  ", statement_timeout_ms=0))["config"]
    assert ok["name"] == "padded" and ok["statement_timeout_ms"] == 0
    assert len(c.call("list_connections")) == len(before) + 1
    for x in (taken, umlaut, ok):
        c.call("delete_connection", id=x["id"])


def test_preference_bounds(broker):
    c = broker.client()
    cases = [
        (dict(key="", value=1), "key: must not be empty"),
        (dict(key="k" * 257, value=1), "key: 257 bytes is longer than 256"),
        (dict(key="bad\nkey", value=1), "key: control characters are not allowed"),
        (dict(key="big", value=b"x" * (1024 * 1024)), "value: 1048581 bytes encoded is more than the 1048576 allowed"),
        (dict(key="broker.heartbeat_ms", value=5), "value: broker.heartbeat_ms must be an integer between 10 and 3600000"),
        (dict(key="broker.heartbeat_ms", value="fast"), "must be an integer"),
        (dict(key="broker.no_such_setting", value=1), "key: 'broker.no_such_setting' is not a broker setting"),
    ]
    for p, message in cases:
        with pytest.raises(TuskError) as e:
            c.call("set_preference", p)
        assert e.value["kind"] == "Validation" and message in e.value["message"], (p, e.value.err)
        assert p["key"] not in [x["key"] for x in c.call("list_preferences")]
    with pytest.raises(TuskError) as e:
        c.call("get_preference", key="")
    assert e.value["message"] == "key: must not be empty"
    with pytest.raises(TuskError) as e:
        c.call("set_preference", key="k")
    assert "value: required" in e.value["message"]
    assert c.call("set_preference", key="k" * 256, value=b"x" * (1024 * 1024 - 5)) is None
    assert len(c.call("get_preference", key="k" * 256)) == 1024 * 1024 - 5


# --- secrets and connect by id ---------------------------------------------------------

def test_connect_by_id_uses_the_stored_password(broker, pg):
    c = broker.client()
    r = c.call("save_connection", config=pg.config(name="saved pg"), password="tuskpw")
    cid = r["config"]["id"]
    assert len(r["warnings"]) == 1
    assert r["warnings"][0]["message"].startswith("the database password is kept for this session only")
    assert "Secret Service" in r["warnings"][0]["hint"] and "again after the broker restarts" in r["warnings"][0]["hint"]
    t = c.call("test_connection", id=cid)
    assert t["success"] is True and t["server_version"].startswith("15")
    assert c.call("connect", id=cid) == {"connection_id": cid}
    assert c.query(cid, "select current_user")[1] == [["tusk"]]
    # open already: the same id, no second worker
    workers = len(broker.worker_pids())
    assert c.call("connect", id=cid) == {"connection_id": cid}
    assert len(broker.worker_pids()) == workers
    active = {x["connection_id"]: x for x in c.call("get_active_connections")}
    assert active[cid]["name"] == "saved pg"
    c.call("disconnect", connection_id=cid)
    # a given password wins over the stored one
    with pytest.raises(TuskError) as e:
        c.call("connect", id=cid, password="wrong")
    assert e.value["kind"] == "Credential" and e.value["code"] == "28P01"
    # id and config together, neither, an unknown id
    with pytest.raises(TuskError) as e:
        c.call("connect", id=cid, config=pg.config())
    assert e.value["kind"] == "Validation" and "not both" in e.value["message"]
    with pytest.raises(TuskError) as e:
        c.call("connect", {})
    assert e.value["kind"] == "Validation" and "either id" in e.value["message"]
    with pytest.raises(TuskError) as e:
        c.call("connect", id="5b0e1f0e-0000-4000-8000-000000000000")
    assert e.value["kind"] == "Validation" and e.value["message"].startswith("id: no saved connection")
    # "" forgets the stored password; the server's Credential error says one is needed
    c.call("save_connection", config=r["config"], password="")
    with pytest.raises(TuskError) as e:
        c.call("connect", id=cid)
    assert e.value["kind"] == "Credential" and "password" in e.value["hint"]
    assert c.call("connect", id=cid, password="tuskpw") == {"connection_id": cid}
    c.call("disconnect", connection_id=cid)
    c.call("delete_connection", id=cid)


def test_delete_removes_the_row_and_the_secret(broker, pg):
    c = broker.client()
    cfg = c.call("save_connection", config=pg.config(name="to delete"), password="tuskpw")["config"]
    assert c.call("connect", id=cfg["id"]) == {"connection_id": cfg["id"]}
    # the open session stays open, and the answer says so
    w = c.call("delete_connection", id=cfg["id"])["warnings"]
    assert len(w) == 1 and w[0]["message"].startswith("'to delete' is still open"), w
    assert "disconnect" in w[0]["hint"]
    assert c.call("get_connection", id=cfg["id"]) is None
    assert cfg["id"] not in [x["id"] for x in c.call("list_connections")]
    db = sqlite3.connect(db_path(broker))
    assert db.execute("select count(*) from connections where id = ?", (cfg["id"],)).fetchone()[0] == 0
    db.close()
    assert c.query(cfg["id"], "select 1")[1] == [[1]]
    c.call("disconnect", connection_id=cfg["id"])
    with pytest.raises(TuskError) as e:
        c.call("delete_connection", id=cfg["id"])
    assert e.value["kind"] == "Validation" and "no saved connection" in e.value["message"]
    # saved again under the same id: no password is left for it
    c.call("save_connection", config=dict(cfg, created_at=None, updated_at=None))
    with pytest.raises(TuskError) as e:
        c.call("connect", id=cfg["id"])
    assert e.value["kind"] == "Credential"
    assert c.call("delete_connection", id=cfg["id"]) == {"warnings": []}


def test_a_key_file_missing_now_is_saved_with_a_warning_and_refused_at_connect(broker, pg, tmp_path):
    c = broker.client()
    key = str(tmp_path / "on-a-usb-stick" / "id_ed25519")
    cfg = pg.config(name="key later", ssh_tunnel=dict(host="bastion.example.com", username="jump",
                                                      auth_method={"type": "key_file", "path": key}))
    r = c.call("save_connection", config=cfg)
    assert r["config"]["ssh_tunnel"]["auth_method"] == {"type": "key_file", "path": key}
    w = r["warnings"]
    assert len(w) == 1 and w[0]["message"].startswith("ssh_tunnel.auth_method.path: cannot read %s" % key), w
    assert "saved anyway" in w[0]["message"] and "mounted" in w[0]["hint"]
    cid = r["config"]["id"]
    assert c.call("get_connection", id=cid)["name"] == "key later"
    for method in ("connect", "test_connection"):
        with pytest.raises(TuskError) as e:
            c.call(method, id=cid)
        assert e.value["kind"] == "Validation", e.value.err
        assert e.value["message"].startswith("ssh_tunnel.auth_method.path: cannot read %s" % key)
        assert "exists" in e.value["hint"]
    # tuskctl says it too, and saves
    r = broker.ctl("connections", "add", "-n", "key later 2", "-h", "10.0.0.1", "-U", "u", "-d", "d",
                   "--ssh", "jump@bastion.example.com", "--ssh-key", key)
    assert r.returncode == 0, r.stderr
    assert b"warning: ssh_tunnel.auth_method.path: cannot read" in r.stderr
    # once the file is there, the warning is gone
    os.makedirs(os.path.dirname(key))
    with open(key, "w") as f:
        f.write("not really a key\n")
    assert "warnings" not in c.call("save_connection", config=dict(cfg, id=cid))
    c.call("delete_connection", id=cid)


def test_renaming_an_open_connection_renames_its_session(broker, pg):
    c = broker.client()
    events = broker.client()
    events.call("subscribe", topics=["connections"])
    cfg = c.call("save_connection", config=pg.config(name="before"), password="tuskpw")["config"]
    cid = cfg["id"]
    c.call("connect", id=cid)
    renamed = dict(cfg, name="after", created_at=None, updated_at=None)
    assert c.call("save_connection", config=renamed)["config"]["name"] == "after"
    # at once, without a reconnect: the session, its worker and an event
    act = [a for a in c.call("get_active_connections") if a["connection_id"] == cid]
    assert act and act[0]["name"] == "after"
    ws = [w for w in c.call("list_workers") if w["connection_id"] == cid and w["state"] != "dead"]
    assert ws and all(w["connection_name"] == "after" for w in ws)
    while True:  # the socket's timeout bounds the wait
        m = events.read_msg()
        if m[0] == 2 and m[2][0]["type"] == "renamed" and m[2][0]["connection_id"] == cid:
            break
    assert m[2][0]["name"] == "after"
    assert c.query(cid, "select 1")[1] == [[1]]
    c.call("disconnect", connection_id=cid)
    c.call("delete_connection", id=cid)


def test_passwords_never_reach_the_disk(pg):
    b = Broker()
    try:
        c = b.client()
        secret = "Zebra-Password-4711"
        cfg = c.call("save_connection", config=pg.config(name="secretive"), password=secret)["config"]
        c.call("save_connection", config=dict(BASE, name="ssh secretive", ssh_tunnel=dict(
            host="bastion.example.com", username="j", auth_method={"type": "password"})),
            ssh_password="Ssh-Secret-0815")
        with pytest.raises(TuskError):
            c.call("connect", id=cfg["id"])  # the stored password is wrong for the server
        c.call("set_log_level", level="trace")
        r = b.ctl("connections", "add", "-n", "from ctl", "--password-stdin",
                  "postgresql://tusk@127.0.0.1:%d/tuskdb" % pg.port, input=b"tuskpw-Ctl-Secret-42\n")
        assert r.returncode == 0, r.stderr
        b.stop()
        for path in glob.glob(os.path.join(b.home, "**", "*"), recursive=True):
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    data = f.read()
                for s in (secret, "Ssh-Secret-0815", "tuskpw-Ctl-Secret-42"):
                    assert s.encode() not in data, "%s found in %s" % (s, path)
        assert os.path.exists(db_path(b))
    finally:
        if b.proc.poll() is None:
            b.stop()
        b.cleanup()


def test_secrets_are_for_the_session_only(pg):
    b = Broker()
    try:
        c = b.client()
        cid = c.call("save_connection", config=pg.config(name="session"), password="tuskpw")["config"]["id"]
        assert c.call("connect", id=cid) == {"connection_id": cid}
        b.stop()
        b.start()
        c = b.client()
        with pytest.raises(TuskError) as e:
            c.call("connect", id=cid)
        assert e.value["kind"] == "Credential"
        assert c.call("connect", id=cid, password="tuskpw") == {"connection_id": cid}
    finally:
        b.stop()
        b.cleanup()


# --- broker settings from preferences ------------------------------------------------------

def test_broker_settings_read_from_preferences():
    b = Broker()
    try:
        c = b.client()
        c.call("set_preference", key="broker.heartbeat_ms", value=250)
        c.call("set_preference", key="broker.dead_workers_kept", value=3)
        b.stop()
        b.start()
        logs = b.logs()
        assert "setting heartbeat_ms = 250 (preference broker.heartbeat_ms)" in logs
        assert "setting dead_workers_kept = 3" in logs
        b.stop()
        b.extra_args = ["--set", "heartbeat_ms=300"]
        b.start()
        assert "setting heartbeat_ms from --set (the preference is ignored)" in b.logs()
        b.stop()
        # a bad value written behind the broker's back is ignored, not obeyed
        db = sqlite3.connect(db_path(b))
        db.execute("update preferences set value = ? where key = 'broker.dead_workers_kept'",
                   (msgpack.packb(-7),))
        db.commit()
        db.close()
        b.extra_args = []
        b.start()
        assert "ignoring the preference broker.dead_workers_kept" in b.logs()
        assert b.client().call("health_check")["status"] == "ok"
    finally:
        if b.proc.poll() is None:
            b.stop()
        b.cleanup()


# --- corruption ---------------------------------------------------------------------------

def populate(b, files, n=50):
    c = b.client()
    saved = save_all(c, files, n)
    for k, v in PREFS.items():
        c.call("set_preference", key=k, value=v)
    b.stop()
    assert not os.path.exists(db_path(b) + "-wal")
    return saved


def pages(path, name, pagetype=None):
    db = sqlite3.connect(path)
    q = "select pageno, ncell from dbstat where name = ?" + (" and pagetype = ?" if pagetype else "")
    r = db.execute(q, (name, pagetype) if pagetype else (name,)).fetchall()
    db.close()
    return r


def scribble(path, page, n=4096, offset=0, psize=4096):
    with open(path, "r+b") as f:
        f.seek((page - 1) * psize + offset)
        f.write(bytes((i * 37 + 11) & 0xff for i in range(n)))


def not_sqlite(path):
    with open(path, "wb") as f:
        f.write(b"these are not the bytes of a database\n" * 300)
    return None


def truncated(path):
    # cut in the middle of the connections' rows (the schema, pages at the
    # start of the file, stays whole whatever its size)
    leaves = sorted(p for p, _ in pages(path, "connections", "leaf"))
    os.truncate(path, leaves[len(leaves) // 2] * 4096)
    return None


def bad_header(path):
    scribble(path, 1, 100)
    return 0


def bad_index_page(path):
    page, _ = pages(path, "connections_name_key", "leaf")[-1]
    scribble(path, page)
    return 0


def bad_index_cells(path):
    page, _ = pages(path, "connections_name_key", "leaf")[0]
    with open(path, "r+b") as f:
        f.seek((page - 1) * 4096 + 8)  # the cell pointers of a leaf
        f.write(b"\x00" * 16)
    return 0


def bad_table_page(path):
    page, ncell = pages(path, "connections", "leaf")[2]
    scribble(path, page)
    return ncell


CORRUPTIONS = {
    "not sqlite": (not_sqlite, "salvaged"),
    "truncated": (truncated, "salvaged"),
    "damaged header": (bad_header, "salvaged"),
    "damaged index page": (bad_index_page, "salvaged"),
    "damaged index cells": (bad_index_cells, "repaired"),
    "damaged table page": (bad_table_page, "salvaged"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_corruption_ends_in_a_working_broker(fresh, files, case):
    damage, action = CORRUPTIONS[case]
    saved = populate(fresh, files)
    path = db_path(fresh)
    lost_expected = damage(path)
    damaged = sha(path)

    fresh.start()
    c = fresh.client()
    assert c.call("health_check")["status"] == "ok"
    h = c.call("check_database_health")
    n = h["notice"]
    assert h["is_healthy"] is True and h["errors"] == []  # the new file is sound
    assert n and n["action"] == action and n["errors"] and n["message"] and n["hint"]
    assert h["backup_path"] == n["backup_path"] and h["lost_rows"] == n["lost_rows"]
    backup = n["backup_path"]
    assert re.fullmatch(re.escape(path) + r"\.\d{8}-\d{6}\.corrupt", backup), backup
    assert sha(backup) == damaged, "the backup differs from the damaged file"
    assert c.call("get_app_info")["storage_notice"] == n

    assert os.stat(path).st_mode & 0o077 == 0 and os.stat(backup).st_mode & 0o077 == 0
    conns = c.call("list_connections")
    prefs = c.call("list_preferences")
    assert n["salvaged_rows"] == len(conns) + len(prefs)
    for x in conns:
        assert saved[x["id"]] == x, "a salvaged connection differs"
    for p in prefs:
        assert p["value"] == PREFS[p["key"]]
    if lost_expected is not None:
        assert n["lost_rows"] == lost_expected
        assert len(conns) == 50 - lost_expected and len(prefs) == len(PREFS)
    if case == "not sqlite":
        assert conns == [] and prefs == [] and n["lost_rows"] == 0 and "nothing in it" in n["message"]
    if case == "truncated":
        assert 0 < len(conns) < 50 and n["lost_rows"] > 0
    if case == "damaged table page":
        assert n["lost_rows"] > 0 and "could not be read" in n["message"]

    # tuskctl shows it
    r = fresh.ctl("health", check=True)
    assert b"NOTICE (" + action.encode() + b"," in r.stdout and backup.encode() in r.stdout
    j = json.loads(fresh.ctl("--json", "health", check=True).stdout)
    assert j["status"] == "ok" and j["storage"]["notice"]["backup_path"] == backup
    assert b"storage NOTICE: " + n["message"].encode() in fresh.ctl("status", check=True).stdout

    # the broker works on the new file, and the notice outlives a restart
    new = c.call("save_connection", config=dict(BASE, name="after the damage"))["config"]
    fresh.stop()
    fresh.start()
    c = fresh.client()
    assert c.call("get_connection", id=new["id"]) == new
    assert c.call("check_database_health")["notice"]["backup_path"] == backup
    r = fresh.ctl("health", "--dismiss", check=True)
    assert b"storage notice dismissed" in r.stdout
    assert c.call("check_database_health")["notice"] is None
    assert c.call("dismiss_storage_notice") == {"dismissed": False}
    fresh.stop()
    fresh.start()
    assert fresh.client().call("get_app_info")["storage_notice"] is None
    assert sha(backup) == damaged  # never touched, never removed
    assert "is damaged" in fresh.logs() and backup in fresh.logs()


def test_damage_found_at_run_time_is_repaired(fresh, files):
    populate(fresh, files, n=30)
    path = db_path(fresh)
    # one byte of one key in the name index: the pages stay well formed (the
    # quick check at start passes), the index no longer matches its table
    page, _ = pages(path, "connections_name_key", "leaf")[0]
    with open(path, "r+b") as f:
        f.seek((page - 1) * 4096)
        data = bytearray(f.read(4096))
        i = data.rfind(b"conn ") + 30  # inside the padding: the keys keep their order
        data[i] = ord("#")
        f.seek((page - 1) * 4096)
        f.write(data)
    damaged = sha(path)
    fresh.start()
    c = fresh.client()
    assert c.call("get_app_info")["storage_notice"] is None
    h = c.call("check_database_health")
    assert h["is_healthy"] is False
    assert any("missing from index connections_name_key" in x for x in h["errors"]), h["errors"]
    n = h["notice"]
    assert n["action"] == "repaired" and n["lost_rows"] == 0 and n["salvaged_rows"] == 30 + len(PREFS)
    assert sha(n["backup_path"]) == damaged
    again = c.call("check_database_health")
    assert again["is_healthy"] is True and again["notice"] == n
    assert len(c.call("list_connections")) == 30


def test_a_newer_database_is_refused_untouched(fresh):
    fresh.client().call("set_preference", key="k", value=1)
    fresh.stop()
    path = db_path(fresh)
    db = sqlite3.connect(path)
    db.execute("insert into schema_migrations values (999, 'from a future Tusk', 0)")
    db.commit()
    db.execute("pragma journal_mode=delete")
    db.close()
    before = sha(path)
    r = subprocess.run([os.path.join(BIN, "tuskd"), "--foreground"], env=fresh.env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode != 0
    assert b"written by a newer Tusk (schema version 999" in r.stderr and path.encode() in r.stderr
    assert b"hint:" in r.stderr
    assert sha(path) == before
    assert not glob.glob(path + ".*.corrupt")
    fresh.proc = None


# --- directories the broker cannot use ------------------------------------------------

# An ordinary user's broker: nobody's when we are root (root may write
# anywhere), else our own.
IS_ROOT = os.geteuid() == 0


def run_unprivileged(home):
    env = dict(os.environ, TUSK_HOME=home, ASAN_OPTIONS="detect_leaks=0")
    env.pop("XDG_RUNTIME_DIR", None)
    drop = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"] if IS_ROOT else []
    return subprocess.run(drop + [os.path.join(BIN, "tuskd"), "--foreground"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)


def give(path):
    """Make path the unprivileged user's (it is ours already when we are not root)."""
    if IS_ROOT:
        os.chown(path, NOBODY, NOBODY)


def test_unusable_data_directory_is_an_initialization_error():
    base = tempfile.mkdtemp(prefix="tusk-ro.", dir="/tmp")
    try:
        # a parent that is missing and cannot be made: the user cannot
        # create in base (root's, or ours without the write bit)
        os.chmod(base, 0o755 if IS_ROOT else 0o555)
        home = os.path.join(base, "missing", "home")
        r = run_unprivileged(home)
        os.chmod(base, 0o755)
        assert r.returncode != 0
        assert b"cannot create directory " + os.path.join(base, "missing").encode() + b": Permission denied" in r.stderr
        assert b"hint:" in r.stderr
        # a data directory that cannot be written
        home = os.path.join(base, "ro-data")
        os.makedirs(os.path.join(home, "data"))
        give(home)
        give(os.path.join(home, "data"))
        os.chmod(os.path.join(home, "data"), 0o555)
        r = run_unprivileged(home)
        assert r.returncode != 0
        assert b"directory " + os.path.join(home, "data").encode() + b" is not writable: Permission denied" in r.stderr
        # a database file that cannot be written
        home = os.path.join(base, "ro-db")
        data = os.path.join(home, "data")
        os.makedirs(data)
        sqlite3.connect(os.path.join(data, "tusk.db")).execute("create table x (y)").connection.close()
        for p in (home, data, os.path.join(data, "tusk.db")):
            give(p)
        os.chmod(os.path.join(data, "tusk.db"), 0o444)
        r = run_unprivileged(home)
        assert r.returncode != 0
        assert b"cannot write the database " + os.path.join(data, "tusk.db").encode() + b": Permission denied" in r.stderr
        assert b"hint:" in r.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_database_path_taken_by_a_directory(fresh):
    fresh.stop()
    path = db_path(fresh)
    os.unlink(path)
    os.makedirs(path)
    r = subprocess.run([os.path.join(BIN, "tuskd"), "--foreground"], env=fresh.env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode != 0 and path.encode() in r.stderr and b"hint:" in r.stderr
    assert os.path.isdir(path)
    fresh.proc = None


# --- tuskctl -----------------------------------------------------------------------------

def test_tuskctl_connections(broker, pg):
    url = "postgresql://tusk@127.0.0.1:%d/tuskdb?sslmode=disable" % pg.port
    r = broker.ctl("connections", "add", "-n", "CtlSaved", url, "--password-stdin", input=b"tuskpw\n")
    assert r.returncode == 0, r.stderr
    assert b"added: CtlSaved" in r.stdout and b"kept for this session only" in r.stderr
    r = broker.ctl("connections", "add", "-n", "ctlsaved", url)
    assert r.returncode == 1 and b"already used" in r.stderr
    r = broker.ctl("connections", "add", "-n", "leaky", "postgresql://tusk:tuskpw@127.0.0.1/tuskdb")
    assert r.returncode == 2 and b"password" in r.stderr
    r = broker.ctl("connections", "add", "postgresql://tusk@127.0.0.1/tuskdb")
    assert r.returncode == 2 and b"--name" in r.stderr
    listed = json.loads(broker.ctl("--json", "connections", "list", check=True).stdout)
    mine = [x for x in listed if x["name"] == "CtlSaved"][0]
    assert mine["port"] == pg.port and mine["ssl_mode"] == "disable" and mine["username"] == "tusk"
    assert b"CtlSaved" in broker.ctl("connections", "list", check=True).stdout
    shown = json.loads(broker.ctl("--json", "connections", "show", "ctlsaved", check=True).stdout)
    assert shown == mine
    assert json.loads(broker.ctl("--json", "connections", "show", mine["id"][:8], check=True).stdout) == mine

    r = broker.ctl("connections", "test", "CtlSaved", check=True)
    assert r.stdout.startswith(b"ok: ")
    r = broker.ctl("--json", "connect", "ctlsaved", check=True)
    assert json.loads(r.stdout) == {"connection_id": mine["id"]}
    r = broker.ctl("query", "-c", "CtlSaved", "-f", "csv", "show default_transaction_read_only", check=True)
    assert r.stdout == b"default_transaction_read_only\noff\n"
    broker.ctl("disconnect", "CtlSaved", check=True)

    r = broker.ctl("connections", "edit", "ctlsaved", "--read-only", "--statement-timeout", "4000",
                   "-n", "CtlSaved RO", check=True)
    assert b"saved: CtlSaved RO" in r.stdout
    edited = json.loads(broker.ctl("--json", "connections", "show", "ctlsaved ro", check=True).stdout)
    assert edited["created_at"] == mine["created_at"] and edited["updated_at"] > mine["updated_at"]
    assert edited["read_only"] is True and edited["statement_timeout_ms"] == 4000
    broker.ctl("connect", "CtlSaved RO", check=True)
    r = broker.ctl("query", "-c", "CtlSaved RO", "-f", "csv", "show default_transaction_read_only", check=True)
    assert r.stdout.endswith(b"on\n")
    broker.ctl("disconnect", "CtlSaved RO", check=True)

    # forget the password: connect now fails with the server's Credential error
    broker.ctl("connections", "edit", "CtlSaved RO", "--forget-password", check=True)
    r = broker.ctl("connect", "CtlSaved RO")
    assert r.returncode == 1 and b"Credential" in r.stderr
    r = broker.ctl("connect", "CtlSaved RO", "--password-stdin", input=b"tuskpw\n", check=True)
    broker.ctl("disconnect", "CtlSaved RO", check=True)
    r = broker.ctl("connections", "test", "CtlSaved RO", "--no-password")
    assert r.returncode == 1 and b"password" in r.stderr

    r = broker.ctl("connections", "rm", "ctlsaved ro", check=True)
    assert b"deleted: CtlSaved RO" in r.stdout
    r = broker.ctl("connect", "CtlSaved RO")
    assert r.returncode == 1 and b"no saved connection matches" in r.stderr
    # quick connect by URI still works, flags after it too
    r = broker.ctl("--json", "connect", url, "-n", "quick", env={"PGPASSWORD": "tuskpw"}, check=True)
    broker.ctl("disconnect", "quick", check=True)
    r = broker.ctl("connections", "add", "-n", "tunnel", "-h", "10.0.0.1", "-U", "u", "-d", "d",
                   "--ssh-host", "bastion.example.com", "--ssh-user", "jump", "--ssh-auth", "password",
                   "--ssh-port", "2222", "--password-stdin", "--ssh-secret-stdin", input=b"dbpw\nsshpw\n")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count(b"kept for this session only") == 2
    t = json.loads(broker.ctl("--json", "connections", "show", "tunnel", check=True).stdout)["ssh_tunnel"]
    assert t == {"host": "bastion.example.com", "port": 2222, "username": "jump",
                 "auth_method": {"type": "password"}}
    broker.ctl("connections", "edit", "tunnel", "--no-ssh", check=True)
    assert json.loads(broker.ctl("--json", "connections", "show", "tunnel", check=True).stdout)["ssh_tunnel"] is None
    broker.ctl("connections", "rm", "tunnel", check=True)


def test_tuskctl_prefs(broker):
    values = [("ui.theme", "dark", "dark"), ("editor.font_size", "13", 13), ("ratio", "0.5", 0.5),
              ("flag", "true", True), ("nothing", "null", None), ("quoted", '"13"', "13"),
              ("nested", '{"a": [1, 2.5, false, null, "x"], "b": {}}', {"a": [1, 2.5, False, None, "x"], "b": {}}),
              ("big", str(2 ** 63 - 1), 2 ** 63 - 1)]
    c = broker.client()
    for key, text, value in values:
        broker.ctl("prefs", "set", key, text, check=True)
        assert c.call("get_preference", key=key) == value, key
        assert json.loads(broker.ctl("--json", "prefs", "get", key, check=True).stdout) == value
    broker.ctl("prefs", "set", "--string", "forced", "13", check=True)
    assert c.call("get_preference", key="forced") == "13"
    assert broker.ctl("prefs", "get", "ui.theme", check=True).stdout == b"dark\n"
    listed = {p["key"]: p["value"] for p in json.loads(broker.ctl("--json", "prefs", "list", check=True).stdout)}
    for key, _, value in values:
        assert listed[key] == value
    assert b"editor.font_size" in broker.ctl("prefs", "list", check=True).stdout
    r = broker.ctl("prefs", "set", "broker.heartbeat_ms", "1")
    assert r.returncode == 1 and b"between 10 and 3600000" in r.stderr
    assert broker.ctl("prefs", "set", "only-a-key").returncode == 2


def test_tuskctl_health_shows_storage(broker):
    r = broker.ctl("health", check=True)
    assert b"ok: tuskd" in r.stdout and b"storage: ok" in r.stdout
    j = json.loads(broker.ctl("--json", "health", check=True).stdout)
    assert j["status"] == "ok" and j["storage"]["is_healthy"] is True and j["storage"]["notice"] is None
    assert j["storage"]["path"] == db_path(broker)
    r = broker.ctl("health", "--dismiss", check=True)
    assert b"no storage notice to dismiss" in r.stdout


def run_tty(b, args, answer, timeout=30):
    """Run tuskctl on a pseudo-terminal; type answer at the password prompt
    (once the prompt shows with echo off). Never waits past the timeout."""
    import pty
    import select
    import termios
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(os.path.join(BIN, "tuskctl"), ["tuskctl"] + list(args), b.env)
    out, answered, deadline = b"", False, time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        prompt = b"assword for" in out.rsplit(b"\n", 1)[-1]  # a prompt, not a message
        if not answered and prompt and not termios.tcgetattr(fd)[3] & termios.ECHO:
            os.write(fd, answer.encode() + b"\n")
            answered = True
    status = None
    while status is None and time.time() < deadline + 5:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
        else:
            time.sleep(0.05)
    if status is None:  # stuck waiting for input: fail, do not hang the suite
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out, answered


def test_tuskctl_prompts_on_a_terminal(broker, pg):
    url = "postgresql://tusk@127.0.0.1:%d/tuskdb" % pg.port
    rc, out, asked = run_tty(broker, ["connections", "add", "-n", "prompted", "-W", url], "tuskpw")
    assert asked and rc == 0, out
    assert b"tuskpw" not in out  # no echo
    r = broker.ctl("connections", "test", "prompted", check=True)  # the stored password
    assert r.stdout.startswith(b"ok: ")
    broker.ctl("connections", "edit", "prompted", "--forget-password", check=True)
    rc, out, asked = run_tty(broker, ["connect", "prompted"], "tuskpw")
    assert asked and rc == 0 and b"connected: " in out, out
    broker.ctl("disconnect", "prompted", check=True)
    rc, out, asked = run_tty(broker, ["connect", "prompted", "--no-password"], "tuskpw")
    assert not asked and rc == 1, out
    broker.ctl("connections", "rm", "prompted", check=True)
