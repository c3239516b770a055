"""TLS: every ssl_mode against a server that admits only TLS and one without
TLS, CA checks, host-name checks, client certificates (plain and
passphrase-protected keys), and the hints that tell the failures apart."""
import glob
import os

import pytest

from tlsca import CLIENT_KEY_PASSPHRASE
from tusk import TuskError

# (mode, against the TLS-only server, against the server without TLS):
# True = connects, else the words its hint must hold
MODES = [
    ("disable", "requires TLS", True),
    ("prefer", True, True),
    ("require", True, "no TLS"),
    ("verify-ca", True, "no TLS"),
    ("verify-full", True, "no TLS"),
]


def connect(client, cluster, **over):
    secrets = {k: over.pop(k) for k in list(over) if k in ("password", "ssl_key_passphrase")}
    secrets.setdefault("password", "tuskpw")
    return client.call("connect", config=cluster.config(**over), **secrets)["connection_id"]


def active(client, cid):
    return [c for c in client.call("get_active_connections") if c["connection_id"] == cid][0]


@pytest.mark.parametrize("mode,tls_outcome,plain_outcome", MODES, ids=[m[0] for m in MODES])
def test_ssl_mode_against_both_servers(client, pg, tls_pg, tls_ca, mode, tls_outcome, plain_outcome):
    over = {"ssl_mode": mode}
    if mode.startswith("verify"):
        over["ssl_ca_cert"] = tls_ca.path("ca.crt")
    for cluster, outcome, encrypted in ((tls_pg, tls_outcome, True), (pg, plain_outcome, False)):
        if outcome is True:
            cid = connect(client, cluster, **over)
            a = active(client, cid)
            assert a["tls"] is encrypted
            if encrypted:
                assert a["tls_version"] in ("TLSv1.2", "TLSv1.3") and a["tls_cipher"]
                _, rows, _ = client.query(cid, "select ssl, version from pg_stat_ssl where pid = pg_backend_pid()")
                assert rows == [[True, a["tls_version"]]]
            else:
                assert a["tls_version"] is None
            client.call("disconnect", connection_id=cid)
        else:
            with pytest.raises(TuskError) as e:
                connect(client, cluster, **over)
            assert e.value["kind"] == "Connection", e.value.err
            assert outcome in e.value["hint"], e.value.err


def test_wrong_ca_is_not_trusted(client, tls_pg, tls_ca):
    for mode in ("verify-ca", "verify-full"):
        with pytest.raises(TuskError) as e:
            connect(client, tls_pg, ssl_mode=mode, ssl_ca_cert=tls_ca.path("wrong-ca.crt"))
        assert e.value["kind"] == "Connection"
        assert "certificate verify failed" in e.value["message"]
        assert "not trusted" in e.value["hint"] and "wrong-ca.crt" in e.value["hint"]


def test_host_name_mismatch_names_both_names(client, tls_pg, tls_ca):
    ca = tls_ca.path("ca.crt")
    # 127.0.0.2 reaches the same server, but the certificate does not name it
    with pytest.raises(TuskError) as e:
        connect(client, tls_pg, host="127.0.0.2", ssl_mode="verify-full", ssl_ca_cert=ca)
    assert "does not match host name" in e.value["message"]
    hint = e.value["hint"]
    assert '"localhost"' in hint and '"127.0.0.2"' in hint and "verify-ca" in hint
    # verify-ca checks the CA only: the same address is fine
    cid = connect(client, tls_pg, host="127.0.0.2", ssl_mode="verify-ca", ssl_ca_cert=ca)
    assert active(client, cid)["tls"] is True
    client.call("disconnect", connection_id=cid)
    # and by a name the certificate lists, verify-full is too
    cid = connect(client, tls_pg, host="localhost", ssl_mode="verify-full", ssl_ca_cert=ca)
    client.call("disconnect", connection_id=cid)


def test_client_certificate_authentication(client, tls_pg, tls_ca):
    cert = dict(ssl_client_cert=tls_ca.path("client.crt"), ssl_client_key=tls_ca.path("client.key"))
    # certdb admits role tusk by certificate only: no password is sent
    cid = client.call("connect", config=tls_pg.config(database="certdb", ssl_mode="verify-full",
                                                      ssl_ca_cert=tls_ca.path("ca.crt"), **cert))["connection_id"]
    _, rows, _ = client.query(cid, "select current_user, current_database(), s.client_dn "
                                   "from pg_stat_ssl s where s.pid = pg_backend_pid()")
    assert rows == [["tusk", "certdb", "/CN=tusk"]]
    client.call("disconnect", connection_id=cid)
    # without the certificate the server says what it wants
    with pytest.raises(TuskError) as e:
        client.call("connect", config=tls_pg.config(database="certdb"))
    assert "client certificate" in e.value["message"]
    assert "ssl_client_cert" in e.value["hint"]


def test_client_key_with_a_passphrase(client, tls_pg, tls_ca):
    cfg = tls_pg.config(database="certdb", ssl_client_cert=tls_ca.path("client.crt"),
                        ssl_client_key=tls_ca.path("client-enc.key"))
    cid = client.call("connect", config=cfg, ssl_key_passphrase=CLIENT_KEY_PASSPHRASE)["connection_id"]
    _, rows, _ = client.query(cid, "select current_user")
    assert rows == [["tusk"]]
    client.call("disconnect", connection_id=cid)
    # no passphrase: a Credential error that names the secret (never a prompt)
    with pytest.raises(TuskError) as e:
        client.call("connect", config=cfg)
    assert e.value["kind"] == "Credential" and e.value["code"] == "ssl_key_passphrase"
    assert "ssl_key_passphrase" in e.value["hint"]
    with pytest.raises(TuskError) as e:
        client.call("connect", config=cfg, ssl_key_passphrase="not-the-passphrase")
    assert e.value["kind"] == "Credential" and e.value["code"] == "ssl_key_passphrase"
    assert "does not decrypt" in e.value["hint"]


def test_ctl_connects_with_tls_and_a_client_key_passphrase(broker, tls_pg, tls_ca):
    r = broker.ctl("--json", "connect", "-h", "127.0.0.1", "-p", str(tls_pg.port), "-U", "tusk", "-d", "certdb",
                   "--ssl-mode", "verify-full", "--ssl-ca", tls_ca.path("ca.crt"),
                   "--ssl-cert", tls_ca.path("client.crt"), "--ssl-key", tls_ca.path("client-enc.key"),
                   "--ssl-key-passphrase-stdin", "-n", "ctl-tls", "--no-password",
                   input=(CLIENT_KEY_PASSPHRASE + "\n").encode())
    assert r.returncode == 0, r.stderr
    c = broker.client()
    a = [x for x in c.call("get_active_connections") if x["name"] == "ctl-tls"][0]
    assert a["tls"] is True
    r = broker.ctl("disconnect", "ctl-tls")
    assert r.returncode == 0, r.stderr


def test_passphrase_is_in_no_file_and_no_log(broker):
    texts = []
    for path in glob.glob(os.path.join(broker.home, "**"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                texts.append(f.read())
    assert texts and not any(CLIENT_KEY_PASSPHRASE.encode() in t for t in texts)
