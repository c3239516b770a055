"""The real things the end-to-end tests need: a PostgreSQL cluster and a
broker under a private TUSK_HOME, from the same helpers as the integration
tests (tests/lib). Prints one JSON line describing them, then waits; when
its standard input closes (the Node test process ended, however it ended)
it stops both and exits non-zero if the broker left sanitizer reports or
did not stop cleanly.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from pgcluster import Cluster  # noqa: E402
from tusk import Broker, TuskError  # noqa: E402


def main():
    pg = Cluster()
    # the gateway runs without leak checks: GLib keeps its type system for
    # the life of the process by design
    b = Broker()
    try:
        print(json.dumps({
            "home": b.home, "sock": b.sock, "bin": os.path.dirname(os.path.join(b.env.get("TUSK_BIN", ""), "x")),
            "broker_pid": b.proc.pid, "pg": {"port": pg.port, "sock": pg.sock, "pid": pg.pid,
                                             "config": pg.config()},
        }), flush=True)
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
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
