#!/usr/bin/python3
"""Write the fuzz seed corpora: tests/fuzz/seeds/<target>/ (target = the
fuzz_<target>.c name). Seeds are small, valid-looking inputs that start the
fuzzer near the interesting code; the fuzzer mutates from there.

Run with Debian's python (it has msgpack): /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import os
import shutil
import struct

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")

P = msgpack.packb

CONFIG = {"host": "h", "database": "d", "username": "u"}
SSH = {"host": "s", "username": "u", "auth_method": {"type": "agent"}}

RPC = {
    "health": P([0, 1, "health_check", []]),
    "query": P([0, 2, "execute_query", [{"connection_id": "x", "sql": "select 1", "max_rows": 5}]]),
    "connect": P([0, 3, "connect", [{"config": dict(CONFIG, ssh_tunnel=SSH), "password": "p"}]]),
    "rows": P([2, "query_rows", [{"query_id": "q", "rows": [[1, "a", None, True, 1.5, b"\0"]]}]]),
    "reply": P([1, 4, None, {"connection_id": "c"}]),
    "error": P([1, 5, {"kind": "Validation", "message": "m", "hint": None}, None]),
}

FULL = {
    "id": "123e4567-e89b-42d3-a456-426614174000", "name": "prod", "host": "db.example.com",
    "port": 6432, "database": "app", "username": "me", "ssl_mode": "verify-full",
    "ssl_ca_cert": "/etc/ssl/certs/ca-certificates.crt", "ssl_client_cert": "/c",
    "ssl_client_key": "/k", "read_only": True, "statement_timeout_ms": 30000,
    "created_at": "2026-01-01T00:00:00.000Z", "updated_at": None,
    "ssh_tunnel": {"host": "bastion", "port": 22, "username": "j",
                   "auth_method": {"type": "key_file", "path": "/root/.ssh/id"}},
}

CONFIGS = {
    "minimal": P(CONFIG),
    "full": P(FULL),
    "ipv6": P(dict(CONFIG, host="::1", port=65535, ssl_mode="require")),
    "socket": P(dict(CONFIG, host="/var/run/postgresql", ssl_mode="disable")),
    "ssh_password": P(dict(CONFIG, ssh_tunnel=dict(SSH, auth_method={"type": "password"}))),
    "bad_host": P(dict(CONFIG, host="a..b", name="  ")),
}


def scan(limits, seed, stream):
    """fuzz_scan_stream input: limits selector, 4-byte chunk seed, stream."""
    return bytes([limits]) + struct.pack("<I", seed) + stream


SCAN = {
    "messages": scan(0, 1, RPC["health"] + RPC["rows"] + RPC["reply"]),
    "one_byte": scan(0, 4, RPC["connect"]),
    "wide_headers": scan(2, 7, P(["x" * 300, b"y" * 300,
                                  list(range(20)), {str(i): i for i in range(20)},
                                  2 ** 40, -2 ** 40, 1.5]) + b"\xd4\x01\x02\xc7\x03\x05abc"),
    "small_limits": scan(1, 9, P([[["deep"]]]) + P("s" * 40)),
    "bad_byte": scan(0, 2, RPC["query"] + b"\xc1"),
    "truncated": scan(3, 3, RPC["connect"][:-3]),
}


def write(target, seeds):
    d = os.path.join(SEEDS, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("rpc", RPC)
    write("config", CONFIGS)
    write("scan_stream", SCAN)
