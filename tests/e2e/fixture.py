"""The real things the end-to-end tests need: a PostgreSQL cluster and a
broker under a private TUSK_HOME, from the same helpers as the integration
tests (tests/lib). Prints one JSON line describing them, then waits; when
its standard input closes (the Node test process ended, however it ended)
it stops everything and exits non-zero if the broker left sanitizer reports
or did not stop cleanly.

Options add what a test file needs:
  --sshd           an OpenSSH server on loopback that forwards to the
                   clusters (tests/lib/sshd.py); the broker gets a HOME of
                   its own whose ~/.ssh knows no host, so the server's key
                   is unknown until trusted
  --tls            a second cluster that admits only TLS, with database
                   certdb taking client certificates (tests/lib/tlsca.py)
  --damaged-store  the broker starts on a tusk.db that is not a database:
                   it salvages and keeps a storage notice
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from pgcluster import Cluster  # noqa: E402
from tusk import Broker, TuskError  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sshd", action="store_true")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--damaged-store", action="store_true")
    args = ap.parse_args()
    pg = Cluster()
    info = {}
    stops = []
    env = {}
    tls_pg = None
    if args.tls:
        from tlsca import CLIENT_KEY_PASSPHRASE, TlsCA
        ca = TlsCA()
        stops.append(ca.cleanup)
        tls_pg = Cluster(tls=ca, hba=["local all all scram-sha-256", "hostssl certdb tusk 127.0.0.0/8 cert",
                                      "hostssl all all 127.0.0.0/8 scram-sha-256"])
        stops.append(tls_pg.stop)
        tls_pg.psql("CREATE DATABASE certdb OWNER tusk")
        info["tls"] = {"port": tls_pg.port, "ca": os.path.join(ca.dir, "ca.crt"),
                       "cert": os.path.join(ca.dir, "client.crt"), "key": os.path.join(ca.dir, "client-enc.key"),
                       "passphrase": CLIENT_KEY_PASSPHRASE}
    if args.sshd:
        import sshd as sshd_lib
        targets = [("127.0.0.1", pg.port)] + ([("127.0.0.1", tls_pg.port)] if tls_pg else [])
        sshd = sshd_lib.Sshd(permit_open=targets)
        stops.append(sshd.stop)
        home = tempfile.mkdtemp(prefix="te2e.", dir="/tmp")
        stops.append(lambda: shutil.rmtree(home, ignore_errors=True))
        env["HOME"] = home
        info["sshd"] = {"port": sshd.port, "user": sshd_lib.USER, "password": sshd_lib.PASSWORD,
                        "key_pass": sshd.keys["pass"], "key_passphrase": sshd_lib.KEY_PASSPHRASE,
                        "fingerprint": sshd.host_fingerprint()}
    b = Broker(env=env, start=False)
    if args.damaged_store:
        os.makedirs(os.path.join(b.home, "data"), mode=0o700, exist_ok=True)
        with open(os.path.join(b.home, "data", "tusk.db"), "wb") as f:
            f.write(b"these are not the bytes of a database\n" * 300)
    # the gateway runs without leak checks: GLib keeps its type system for
    # the life of the process by design
    b.start()
    try:
        print(json.dumps(dict(info, **{
            "home": b.home, "sock": b.sock, "bin": os.path.dirname(os.path.join(b.env.get("TUSK_BIN", ""), "x")),
            "broker_pid": b.proc.pid, "pg": {"port": pg.port, "sock": pg.sock, "pid": pg.pid,
                                             "config": pg.config()},
        })), flush=True)
        for line in sys.stdin:
            cmd = line.strip()
            if cmd.startswith("call "):
                req = json.loads(cmd[5:])
                c = b.client()
                try:
                    res = c.call(req["method"], req.get("params"))
                    print(json.dumps({"ok": True, "out": res}, default=repr), flush=True)
                except TuskError as e:
                    print(json.dumps({"ok": False, "error": e.err}, default=repr), flush=True)
                finally:
                    c.close()
                    b.clients.remove(c)
            elif cmd == "restart":
                # the broker stops cleanly (no sanitizer reports) and starts again
                try:
                    b.stop()
                    b.start()
                    print(json.dumps({"ok": True, "out": b.proc.pid}), flush=True)
                except Exception as e:  # noqa: BLE001
                    print(json.dumps({"ok": False, "error": str(e)}), flush=True)
            elif cmd.startswith("psql "):
                try:
                    out = pg.psql(cmd[5:], db="tuskdb")
                    print(json.dumps({"ok": True, "out": out}), flush=True)
                except Exception as e:  # noqa: BLE001
                    print(json.dumps({"ok": False, "error": str(e)}), flush=True)
    finally:
        ok = True
        try:
            b.stop()
        except AssertionError as e:
            sys.stderr.write("broker: %s\n" % e)
            ok = False
        b.cleanup()
        pg.stop()
        for stop in reversed(stops):
            stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
