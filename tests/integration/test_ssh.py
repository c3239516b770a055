"""SSH tunnels against a real sshd on loopback: every authentication method,
host key verification (unknown, trusted on first use, changed), forwarding
refused, TLS through the tunnel, cancel and kill_worker through it, a
dropped tunnel, cleanup on the server, a local end other processes cannot
use, and secrets that appear nowhere."""
import glob
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import sshd as sshd_lib
from sshd import KEY_PASSPHRASE, PASSWORD, USER, Sshd
from tlsca import CLIENT_KEY_PASSPHRASE
from tusk import BIN, ROOT, Broker, TuskError, wait_for, rss_kb

DB_PASSWORD = "tuskpw"
RELEASE_WORKER = os.path.join(ROOT, "build", "bin", "tusk-worker")

if os.geteuid() != 0:
    # sshd logs in another user (password, keys, the agent) only when it runs
    # as root, and the suite creates that user (tests/lib/sshd.py)
    pytest.skip("the SSH suite needs root: it creates the local user %s and runs sshd as root "
                "(CI runs as root)" % USER, allow_module_level=True)




@pytest.fixture(scope="module")
def sshd(pg, tls_pg):
    s = Sshd(permit_open=[("127.0.0.1", pg.port), ("127.0.0.1", tls_pg.port), ("localhost", tls_pg.port)])
    yield s
    s.stop()


@pytest.fixture(scope="module")
def home(sshd):
    """The broker's $HOME: ~/.ssh/known_hosts knows the server as 127.0.0.1."""
    h = tempfile.mkdtemp(prefix="tho.", dir="/tmp")
    os.makedirs(os.path.join(h, ".ssh"))
    with open(os.path.join(h, ".ssh", "known_hosts"), "w") as f:
        f.write(sshd.known_hosts_line("127.0.0.1"))
    yield h
    shutil.rmtree(h, ignore_errors=True)


@pytest.fixture(scope="module")
def agent(sshd):
    a = sshd.agent()
    yield a
    a.stop()


@pytest.fixture(scope="module")
def sb(home, agent):
    """A broker in the user's session: its HOME and its agent."""
    b = Broker(env={"HOME": home, "SSH_AUTH_SOCK": agent.sock})
    yield b
    b.stop()
    b.cleanup()


def tunnel(sshd, auth="password", key=None, host="127.0.0.1"):
    m = {"type": auth}
    if key:
        m["path"] = sshd.keys[key] if key in sshd.keys else key
    return {"host": host, "port": sshd.port, "username": USER, "auth_method": m}


def connect(c, cluster, sshd, auth="password", key=None, ssh_host="127.0.0.1", secrets=None, **over):
    if secrets is None:
        secrets = {"ssh_password": PASSWORD} if auth == "password" else {}
    secrets = dict(secrets, password=DB_PASSWORD)
    cfg = cluster.config(ssh_tunnel=tunnel(sshd, auth, key, ssh_host), **over)
    return c.call("connect", config=cfg, **secrets)["connection_id"]


def active(c, cid):
    return [x for x in c.call("get_active_connections") if x["connection_id"] == cid][0]


def server_port(c, cid):
    _, rows, _ = c.query(cid, "select inet_server_port()")
    return rows[0][0]


def session_count_drops_to(sshd, n, timeout=10):
    wait_for(lambda: sshd.sessions() <= n, timeout)


def test_password_through_the_tunnel_and_nothing_left_after(sb, pg, sshd):
    c = sb.client()
    before = sshd.log_text().count("Disconnected from user %s" % USER)
    cid = connect(c, pg, sshd)
    assert server_port(c, cid) == pg.port
    a = active(c, cid)
    t = a["ssh_tunnel"]
    assert t["host"] == "127.0.0.1" and t["port"] == sshd.port and t["username"] == USER
    assert t["auth_method"] == "password" and t["local_port"] > 0
    assert t["host_key"] == "ssh-ed25519 " + sshd.host_fingerprint()
    assert a["tls"] is False  # pg has no TLS: disabled in its config
    assert sshd.sessions() >= 1
    c.call("disconnect", connection_id=cid)
    # the worker said goodbye: the server has no session left
    session_count_drops_to(sshd, 0)
    wait_for(lambda: sshd.log_text().count("Disconnected from user %s" % USER) > before)


@pytest.mark.parametrize("key", ["plain", "ecdsa", "rsa"])
def test_key_files_of_each_type(sb, pg, sshd, key):
    c = sb.client()
    cid = connect(c, pg, sshd, auth="key_file", key=key)
    assert server_port(c, cid) == pg.port
    c.call("disconnect", connection_id=cid)


def test_key_with_a_passphrase(sb, pg, sshd):
    c = sb.client()
    cid = connect(c, pg, sshd, auth="key_file", key="pass", secrets={"ssh_key_passphrase": KEY_PASSPHRASE})
    assert server_port(c, cid) == pg.port
    c.call("disconnect", connection_id=cid)
    with pytest.raises(TuskError) as e:
        connect(c, pg, sshd, auth="key_file", key="pass")
    assert e.value["kind"] == "Credential" and e.value["code"] == "ssh_key_passphrase"
    assert "protected by a passphrase" in e.value["message"]
    with pytest.raises(TuskError) as e:
        connect(c, pg, sshd, auth="key_file", key="pass", secrets={"ssh_key_passphrase": "not-it"})
    assert e.value["kind"] == "Credential" and e.value["code"] == "ssh_key_passphrase"
    assert "wrong passphrase" in e.value["message"]


def test_agent(sb, pg, sshd):
    c = sb.client()
    cid = connect(c, pg, sshd, auth="agent")
    assert server_port(c, cid) == pg.port
    c.call("disconnect", connection_id=cid)
    assert "Accepted publickey for %s" % USER in sshd.log_text()


def test_wrong_and_missing_password(sb, pg, sshd):
    c = sb.client()
    with pytest.raises(TuskError) as e:
        connect(c, pg, sshd, secrets={"ssh_password": "not-the-password"})
    assert e.value["kind"] == "Credential" and e.value["code"] == "ssh_password"
    assert "refused the password" in e.value["message"]
    with pytest.raises(TuskError) as e:
        connect(c, pg, sshd, secrets={})
    assert e.value["kind"] == "Credential" and e.value["code"] == "ssh_password"
    assert "ssh_password" in e.value["hint"]


def test_key_the_server_does_not_know(sb, pg, sshd):
    c = sb.client()
    with pytest.raises(TuskError) as e:
        connect(c, pg, sshd, auth="key_file", key=sshd.stranger)
    assert e.value["kind"] == "Credential" and "did not accept the key" in e.value["message"]
    assert "authorized_keys" in e.value["hint"]


def test_unknown_host_then_trust_then_connect(sb, pg, sshd):
    c = sb.client()
    fpr = sshd.host_fingerprint()
    kh = os.path.join(sb.home, "data", "known_hosts")
    # the server as ::1 is on record nowhere
    with pytest.raises(TuskError) as e:
        connect(c, pg, sshd, ssh_host="::1")
    err = e.value
    assert err["kind"] == "Connection" and "not known" in err["message"]
    hk = err["host_key"]
    assert hk["status"] == "unknown" and hk["key_type"] == "ssh-ed25519" and hk["fingerprint"] == fpr
    assert hk["host"] == "::1" and hk["port"] == sshd.port and hk["connection_id"]
    assert fpr in err["detail"] and "trust_host_key" in err["hint"]
    # only that exact fingerprint is accepted
    with pytest.raises(TuskError) as e2:
        c.call("trust_host_key", connection_id=hk["connection_id"], fingerprint=fpr[:-2] + "AA")
    assert e2.value["kind"] == "Validation"
    with pytest.raises(TuskError) as e2:
        c.call("trust_host_key", connection_id="00000000-0000-4000-8000-000000000000", fingerprint=fpr)
    assert e2.value["kind"] == "Validation"
    assert c.call("trust_host_key", connection_id=hk["connection_id"], fingerprint=fpr) is None
    with open(kh) as f:
        assert f.read() == sshd.known_hosts_line("::1")
    assert oct(os.stat(kh).st_mode & 0o777) == "0o600"
    # used up: no second trust for the same offer
    with pytest.raises(TuskError):
        c.call("trust_host_key", connection_id=hk["connection_id"], fingerprint=fpr)
    cid = connect(c, pg, sshd, ssh_host="::1")
    assert server_port(c, cid) == pg.port
    c.call("disconnect", connection_id=cid)


def test_test_connection_reports_an_unknown_host_key_too(sb, pg, sshd):
    c = sb.client()
    r = c.call("test_connection", config=pg.config(ssh_tunnel=tunnel(sshd, host="localhost")),
               password=DB_PASSWORD, ssh_password=PASSWORD)
    assert r["success"] is False
    hk = r["error"]["host_key"]
    assert hk["status"] == "unknown" and hk["host"] == "localhost" and hk["connection_id"]
    r = c.call("test_connection", config=pg.config(ssh_tunnel=tunnel(sshd)), password=DB_PASSWORD,
               ssh_password=PASSWORD)
    assert r["success"] is True and r["error"] is None


def write_wrong_key(path, sshd, host):
    other = sshd_lib.keygen(os.path.join(tempfile.mkdtemp(dir=sshd.dir), "k"))
    with open(other + ".pub") as f:
        kind, blob = f.read().split()[:2]
    with open(path, "a") as f:
        f.write("[%s]:%d %s %s\n" % (host, sshd.port, kind, blob))
    return sshd_lib.fingerprint(other + ".pub")


def test_changed_host_key_is_refused(sb, pg, sshd, home):
    c = sb.client()
    tusk_kh = os.path.join(sb.home, "data", "known_hosts")
    user_kh = os.path.join(home, ".ssh", "known_hosts")
    saved = {p: open(p).read() if os.path.exists(p) else None for p in (tusk_kh, user_kh)}
    try:
        # Tusk's file records another key for the server as "localhost"
        old = write_wrong_key(tusk_kh, sshd, "localhost")
        with pytest.raises(TuskError) as e:
            connect(c, pg, sshd, ssh_host="localhost")
        err = e.value
        assert err["kind"] == "Connection" and "different host key" in err["message"]
        assert old in err["detail"] and sshd.host_fingerprint() in err["detail"]
        hk = err["host_key"]
        assert hk["status"] == "changed" and hk["fingerprint"] == sshd.host_fingerprint()
        assert old in hk["known_fingerprint"]
        assert "ssh-keygen -R" in err["hint"]
        # no way around it but editing the file
        with pytest.raises(TuskError):
            c.call("trust_host_key", connection_id=hk["connection_id"], fingerprint=hk["fingerprint"])
        # a changed key in the user's own file is refused as well, even when
        # Tusk's file has the right one
        with open(tusk_kh, "w") as f:
            f.write(sshd.known_hosts_line("localhost"))
        old = write_wrong_key(user_kh, sshd, "localhost")
        with pytest.raises(TuskError) as e:
            connect(c, pg, sshd, ssh_host="localhost")
        assert e.value["host_key"]["status"] == "changed" and old in e.value["detail"]
    finally:
        for p, text in saved.items():
            if text is None:
                os.unlink(p)
            else:
                with open(p, "w") as f:
                    f.write(text)


def test_forwarding_refused_by_the_server(sb, pg, sshd):
    c = sb.client()
    with pytest.raises(TuskError) as e:
        connect(c, pg, sshd, port=pg.port + 1 if pg.port < 65535 else pg.port - 1)
    err = e.value
    assert err["kind"] == "Connection" and "refused to forward" in err["message"]
    assert "PermitOpen" in err["hint"]


def test_tls_through_the_tunnel(sb, tls_pg, tls_ca, sshd):
    c = sb.client()
    # the database's name as the SSH server resolves it, checked against the certificate
    cid = connect(c, tls_pg, sshd, host="localhost", ssl_mode="verify-full", ssl_ca_cert=tls_ca.path("ca.crt"))
    a = active(c, cid)
    assert a["tls"] is True and a["tls_version"] in ("TLSv1.2", "TLSv1.3")
    _, rows, _ = c.query(cid, "select ssl from pg_stat_ssl where pid = pg_backend_pid()")
    assert rows == [[True]]
    c.call("disconnect", connection_id=cid)
    # a client certificate through the tunnel, too
    cid = connect(c, tls_pg, sshd, database="certdb", ssl_mode="verify-ca", ssl_ca_cert=tls_ca.path("ca.crt"),
                  ssl_client_cert=tls_ca.path("client.crt"), ssl_client_key=tls_ca.path("client-enc.key"),
                  secrets={"ssh_password": PASSWORD, "ssl_key_passphrase": CLIENT_KEY_PASSPHRASE})
    _, rows, _ = c.query(cid, "select current_database()")
    assert rows == [["certdb"]]
    c.call("disconnect", connection_id=cid)




def test_backpressure_through_the_tunnel(pg, sshd, home):
    """A client that does not read holds the stream back all the way (broker,
    worker, tunnel, SSH window, server) without the worker growing, and then
    gets every row."""
    b = Broker(env={"HOME": home}, start=False)
    # AddressSanitizer's quarantine keeps freed memory resident (libpq frees
    # one result per row): without it, RSS shows what is really held
    b.env["ASAN_OPTIONS"] += ":quarantine_size_mb=0"
    b.start()
    try:
        c = b.client(timeout=120)
        cid = connect(c, pg, sshd)
        worker = active(c, cid)["worker_pid"]
        before = rss_kb(worker)
        mid = c.send("execute_query", dict(connection_id=cid,
                                           sql="select g, repeat('y', 200) from generate_series(1, 400000) g"))
        time.sleep(2.0)  # not reading
        grown = rss_kb(worker) - before
        got = 0

        def note(m, p):
            nonlocal got
            if m == "query_rows":
                got += len(p["rows"])
        res = c.wait_reply(mid, note)
        assert got == 400000 and res["row_count"] == 400000
        assert grown < 32 * 1024, "the worker grew %d kB while its client did not read" % grown
        c.call("disconnect", connection_id=cid)
    finally:
        b.stop()
        b.cleanup()


def test_cancel_through_the_tunnel(sb, pg, sshd):
    c = sb.client()
    cid = connect(c, pg, sshd, auth="agent")
    channels = sb.logs().count("opening a channel for another local connection")
    mid = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(30)", query_id="tun-sleep"))
    wait_for(lambda: "pg_sleep(30)" in pg.psql("select string_agg(query, ';') from pg_stat_activity"))
    t0 = time.time()
    assert sb.client().call("cancel_query", query_id="tun-sleep")["cancelled"] is True
    with pytest.raises(TuskError) as e:
        c.wait_reply(mid)
    assert e.value["kind"] == "QueryCancelled" and time.time() - t0 < 10
    # the request went through a channel of its own
    assert sb.logs().count("opening a channel for another local connection") == channels + 1
    # the connection stays usable
    assert server_port(c, cid) == pg.port
    c.call("disconnect", connection_id=cid)


def test_kill_worker_ends_the_backend_through_the_tunnel(sb, pg, sshd):
    c = sb.client()
    cid = connect(c, pg, sshd, auth="key_file", key="plain")
    backend = active(c, cid)["backend_pid"]
    assert backend in pg.backends()
    c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(30)"))
    wait_for(lambda: "pg_sleep(30)" in pg.psql("select string_agg(query, ';') from pg_stat_activity"))
    r = sb.client().call("kill_worker", connection_id=cid)
    assert r["killed"] is True and r["backend_pid"] == backend and r["backend_terminated"] is True
    wait_for(lambda: backend not in pg.backends())
    session_count_drops_to(sshd, 0)


def test_dropped_tunnel_is_a_connection_error(sb, pg, sshd):
    c = sb.client()
    cid = connect(c, pg, sshd)
    backend = active(c, cid)["backend_pid"]
    mid = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(30)"))
    wait_for(lambda: "pg_sleep(30)" in pg.psql("select string_agg(query, ';') from pg_stat_activity"))
    for pid in sshd.session_pids():
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(TuskError) as e:
        c.wait_reply(mid)
    assert e.value["kind"] == "Connection" and "SSH tunnel" in e.value["message"]
    assert "was lost" in e.value["message"]
    lost = wait_for(lambda: [x for x in c.call("get_active_connections")
                             if x["connection_id"] == cid and x["state"] == "lost"])
    assert lost[0]["lost_reason"] == "the SSH tunnel was lost"
    # its backend still ran pg_sleep: a helper ends it through a new tunnel
    wait_for(lambda: backend not in pg.backends(), timeout=15)


def test_the_local_end_refuses_others(sb, pg, sshd):
    c = sb.client()
    cid = connect(c, pg, sshd)
    port = active(c, cid)["ssh_tunnel"]["local_port"]
    opened = sb.logs().count("opening a channel for another local connection")
    probe = ("import socket, struct\n"
             "try:\n"
             "    s = socket.create_connection(('127.0.0.1', %d), timeout=5)\n"
             "    s.sendall(struct.pack('!ii', 8, 80877103))\n"
             "    print('answer', repr(s.recv(1)))\n"
             "except OSError as e:\n"
             "    print('refused', e.errno)\n" % port)
    # another user of the machine
    r = subprocess.run(["runuser", "-u", USER, "--", "/usr/bin/python3", "-c", probe], cwd="/tmp",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("refused") or r.stdout.strip() == "answer b''", r.stdout
    # and another process of the same user
    r = subprocess.run(["/usr/bin/python3", "-c", probe], stdout=subprocess.PIPE, text=True, timeout=30)
    assert r.stdout.startswith("refused") or r.stdout.strip() == "answer b''", r.stdout
    wait_for(lambda: sb.logs().count("refused a connection to the local end") >= 2)
    assert sb.logs().count("opening a channel for another local connection") == opened  # none for them
    assert server_port(c, cid) == pg.port
    c.call("disconnect", connection_id=cid)


def test_without_an_agent_or_an_answer(pg, sshd, home):
    """A broker whose session has no agent, and an SSH port that never speaks."""
    b = Broker(env={"HOME": home, "SSH_AUTH_SOCK": None}, extra_args=["--set", "connect_timeout_s=2"])
    try:
        c = b.client()
        with pytest.raises(TuskError) as e:
            connect(c, pg, sshd, auth="agent")
        assert e.value["kind"] == "Credential" and e.value["code"] == "ssh_agent"
        assert "SSH_AUTH_SOCK" in e.value["message"]
        mute = socket.socket()
        mute.bind(("127.0.0.1", 0))
        mute.listen(1)
        cfg = pg.config(ssh_tunnel={"host": "127.0.0.1", "port": mute.getsockname()[1], "username": USER,
                                    "auth_method": {"type": "password"}})
        t0 = time.time()
        with pytest.raises(TuskError) as e:
            c.call("connect", config=cfg, password=DB_PASSWORD, ssh_password=PASSWORD)
        mute.close()
        assert e.value["kind"] == "Connection" and "SSH handshake" in e.value["message"]
        assert 1.5 < time.time() - t0 < 8
        with pytest.raises(TuskError) as e:
            c.call("connect", config=dict(cfg, ssh_tunnel=dict(cfg["ssh_tunnel"], port=sshd_lib.free_port())),
                   password=DB_PASSWORD, ssh_password=PASSWORD)
        assert "Connection refused" in e.value["message"] and "sshd" in e.value["hint"]
    finally:
        b.stop()
        b.cleanup()


def test_keepalives_both_ways(pg, home):
    """An idle tunnel stays up: ours reach the server, and we answer its own."""
    s = Sshd(permit_open=[("127.0.0.1", pg.port)], log_level="DEBUG3",
             extra=["ClientAliveInterval 1", "ClientAliveCountMax 2"])
    # ours every 3 s; between them the server finds the client silent, and asks
    b = Broker(env={"HOME": home}, extra_args=["--set", "ssh_keepalive_s=3"])
    try:
        with open(os.path.join(b.home, "data", "known_hosts"), "w") as f:
            f.write(s.known_hosts_line())
        c = b.client()
        cid = connect(c, pg, s)
        time.sleep(5)
        assert server_port(c, cid) == pg.port
        log = s.log_text()
        assert log.count("Received SSH2_MSG_IGNORE") >= 1  # our keepalive
        assert "for keepalive" in log  # its client-alive checks, answered
        assert "Timeout, client not responding" not in log
        c.call("disconnect", connection_id=cid)
    finally:
        b.stop()
        b.cleanup()
        s.stop()


def test_ctl_connects_through_ssh(sb, pg, sshd):
    base = ["--json", "connect", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "tusk", "-d", "tuskdb",
            "--ssl-mode", "disable", "--password-stdin"]
    ssh = "%s@127.0.0.1:%d" % (USER, sshd.port)
    r = sb.ctl(*base, "-n", "ctl-ssh-pw", "--ssh", ssh, "--ssh-password-stdin",
               input=("%s\n%s\n" % (DB_PASSWORD, PASSWORD)).encode())
    assert r.returncode == 0, r.stderr
    r = sb.ctl(*base, "-n", "ctl-ssh-key", "--ssh", ssh, "--ssh-key", sshd.keys["pass"], "--ssh-passphrase-stdin",
               input=("%s\n%s\n" % (DB_PASSWORD, KEY_PASSPHRASE)).encode())
    assert r.returncode == 0, r.stderr
    r = sb.ctl(*base, "-n", "ctl-ssh-agent", "--ssh", ssh, "--ssh-agent", input=(DB_PASSWORD + "\n").encode())
    assert r.returncode == 0, r.stderr
    c = sb.client()
    names = {x["name"]: x for x in c.call("get_active_connections")}
    assert {n: names[n]["ssh_tunnel"]["auth_method"] for n in ("ctl-ssh-pw", "ctl-ssh-key", "ctl-ssh-agent")} == \
        {"ctl-ssh-pw": "password", "ctl-ssh-key": "key_file", "ctl-ssh-agent": "agent"}
    status = sb.ctl("status").stdout.decode()
    assert [line for line in status.splitlines() if "ctl-ssh-key" in line and ssh in line]
    for n in ("ctl-ssh-pw", "ctl-ssh-key", "ctl-ssh-agent"):
        assert sb.ctl("disconnect", n).returncode == 0
    # an unknown host key (the server as "localhost" is on record nowhere):
    # the error says how to trust it; then it connects
    new = ["-n", "ctl-ssh-new", "--ssh", "%s@localhost:%d" % (USER, sshd.port), "--ssh-agent"]
    r = sb.ctl(*base, *new, input=(DB_PASSWORD + "\n").encode())
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "not known" in err and sshd.host_fingerprint() in err
    line = [x for x in err.splitlines() if x.startswith("to trust it: tuskctl trust-host-key ")]
    assert line, err
    r = sb.ctl(*line[0].split("tuskctl ")[1].split())
    assert r.returncode == 0, r.stderr
    r = sb.ctl(*base, *new, input=(DB_PASSWORD + "\n").encode())
    assert r.returncode == 0, r.stderr
    assert sb.ctl("disconnect", "ctl-ssh-new").returncode == 0
    # usage errors
    assert sb.ctl("connect", "--ssh", "nohost").returncode == 2
    assert sb.ctl("connect", "--ssh-agent").returncode == 2
    assert sb.ctl("connect", "--ssh", ssh, "--ssh-agent", "--ssh-key", "/x").returncode == 2


def test_ctl_on_a_terminal_asks_to_trust_and_for_secrets(pg, sshd, home):
    """On a terminal tuskctl shows an unknown host key and asks; then asks for
    the SSH password and the database password, and connects."""
    b = Broker(env={"HOME": home})  # its known_hosts knows the server as 127.0.0.1 only
    try:
        env = {k: v for k, v in b.env.items() if k != "PGPASSWORD"}
        args = [os.path.join(BIN, "tuskctl"), "connect", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "tusk",
                "-d", "tuskdb", "--ssl-mode", "disable", "-n", "tty-ssh",
                "--ssh", "%s@localhost:%d" % (USER, sshd.port)]
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(args[0], args, env)
        seen = b""

        def expect(text, timeout=30):
            nonlocal seen
            deadline = time.time() + timeout
            while text.encode() not in seen:
                r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.time()))
                if not r:
                    raise AssertionError("no %r on the terminal: %r" % (text, seen.decode(errors="replace")))
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    raise AssertionError("tuskctl ended before %r: %r" % (text, seen.decode(errors="replace")))
        expect("Trust it and connect [y/N]? ")
        assert sshd.host_fingerprint().encode() in seen and b"is not known" in seen
        os.write(fd, b"y\n")
        expect("SSH password for %s@localhost: " % USER)
        os.write(fd, (PASSWORD + "\n").encode())
        expect("Password for tusk@127.0.0.1:%d/tuskdb: " % pg.port)
        os.write(fd, (DB_PASSWORD + "\n").encode())
        expect("connected: ")
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        # secrets typed on the terminal are not echoed
        assert PASSWORD.encode() not in seen and DB_PASSWORD.encode() not in seen
        with open(os.path.join(b.home, "data", "known_hosts")) as f:
            assert f.read() == sshd.known_hosts_line("localhost")
        c = b.client()
        assert [x for x in c.call("get_active_connections") if x["name"] == "tty-ssh"][0]["state"] == "connected"
    finally:
        b.stop()
        b.cleanup()


def proc_text(pid, what):
    try:
        with open("/proc/%d/%s" % (pid, what), "rb") as f:
            return f.read()
    except OSError:
        return b""


def test_secrets_appear_nowhere(sb, pg, sshd, tls_pg, tls_ca):
    c = sb.client()
    cids = [connect(c, pg, sshd),
            connect(c, pg, sshd, auth="key_file", key="pass", secrets={"ssh_key_passphrase": KEY_PASSPHRASE}),
            connect(c, tls_pg, sshd, database="certdb", ssl_client_cert=tls_ca.path("client.crt"),
                    ssl_client_key=tls_ca.path("client-enc.key"),
                    secrets={"ssh_password": PASSWORD, "ssl_key_passphrase": CLIENT_KEY_PASSPHRASE})]
    secrets = [s.encode() for s in (PASSWORD, KEY_PASSPHRASE, CLIENT_KEY_PASSPHRASE)]
    pids = [sb.proc.pid] + sb.worker_pids()
    assert len(pids) >= 4
    for pid in pids:
        for what in ("cmdline", "environ"):
            text = proc_text(pid, what)
            assert not any(s in text for s in secrets), (pid, what)
    for cid in cids:
        c.call("disconnect", connection_id=cid)
    files = [p for p in glob.glob(os.path.join(sb.home, "**"), recursive=True) if os.path.isfile(p)]
    assert any("logs" in p for p in files)
    for p in files:
        with open(p, "rb") as f:
            text = f.read()
        assert not any(s in text for s in secrets), p


@pytest.mark.skipif(not shutil.which("valgrind") or not os.path.exists(RELEASE_WORKER),
                    reason="needs valgrind and the release build")
def test_tunnel_worker_has_no_leaks_under_valgrind(pg, sshd, home):
    """LeakSanitizer cannot run in a locked-down worker: the release worker,
    sandboxed, under valgrind, through a tunnel: key with a passphrase,
    stream, cancel (its thread and second channel), a refused key, close."""
    d = tempfile.mkdtemp(prefix="tvg.", dir="/tmp")
    wrapper = os.path.join(d, "worker.sh")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec /usr/bin/valgrind --vgdb=no --leak-check=full --show-leak-kinds=definite,indirect"
                " --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file=%s/vg.%%p %s \"$@\"\n"
                % (d, RELEASE_WORKER))
    os.chmod(wrapper, 0o755)
    b = Broker(env={"HOME": home}, extra_args=["--worker", wrapper, "--set", "heartbeat_misses=30",
                                               "--set", "connect_timeout_s=60"])
    try:
        c = b.client(timeout=120)
        cid = connect(c, pg, sshd, auth="key_file", key="pass", secrets={"ssh_key_passphrase": KEY_PASSPHRASE})
        _, rows, _ = c.query(cid, "select g from generate_series(1, 20000) g")
        assert len(rows) == 20000
        mid = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(30)", query_id="vg-tunnel"))
        wait_for(lambda: "pg_sleep(30)" in pg.psql("select string_agg(query, ';') from pg_stat_activity"),
                 timeout=30)
        assert b.client().call("cancel_query", query_id="vg-tunnel") == {"cancelled": True}
        with pytest.raises(TuskError):
            c.wait_reply(mid)
        c.call("disconnect", connection_id=cid)
        with pytest.raises(TuskError):
            connect(c, pg, sshd, auth="key_file", key=sshd.stranger)
        wait_for(lambda: not b.worker_pids(), timeout=60, step=0.1)
        assert "crashed" not in b.logs() and "exit status 99" not in b.logs()
        reports = glob.glob(os.path.join(d, "vg.*"))
        assert len(reports) == 2
        for r in reports:
            with open(r) as f:
                text = f.read()
            assert "ERROR SUMMARY: 0 errors" in text, text[-5000:]
    finally:
        b.stop()
        b.cleanup()
        shutil.rmtree(d, ignore_errors=True)
