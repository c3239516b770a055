#!/usr/bin/python3
"""A stand-in for tusk-worker that says what a test tells it to.

The broker runs it as its worker (`tuskd --worker WRAPPER`, the wrapper
being `exec fakeworker.py DIR "$@"`). Each process takes the scenario a
test left in DIR/next.json (renaming it, so exactly one worker takes each)
and acts it out on fd 3 in msgpack-RPC, as worker/main.c would; when there
is none it becomes the real worker (DIR/real names it: the same process,
the same socket), so a broker running it also serves real connections.

A scenario is a list of steps:
  {"hello": true}            the first message: hello {pid, version}
  {"expect": "connect"}      read until the broker orders this (pings are
                             answered meanwhile); remember its msgid
  {"reply": RESULT}          answer the remembered order with RESULT
  {"send": MESSAGE}          send MESSAGE (a JSON list; "$MSGID" and "$PID"
                             in it are replaced)
  {"raw": "HEX"}             send these bytes as they are
  {"log_flood": N}           send N log records (info, 100 bytes each) at once
  {"serve": true}            answer pings until the broker closes the socket
Every string is sent as a msgpack str.

Tests use the class FakeWorkers (imported from here) to set it up.
"""
import glob
import json
import os
import shutil
import socket
import sys
import tempfile

import msgpack

HERE = os.path.abspath(__file__)


class FakeWorkers:
    """The scenario directory, and the wrapper to give tuskd as --worker."""

    def __init__(self, real_worker, version):
        self.version = version
        self.dir = tempfile.mkdtemp(prefix="tfw.", dir="/tmp")
        with open(os.path.join(self.dir, "real"), "w") as f:
            f.write(real_worker)
        self.wrapper = os.path.join(self.dir, "worker.sh")
        with open(self.wrapper, "w") as f:
            f.write('#!/bin/sh\nexec /usr/bin/python3 %s %s "$@"\n' % (HERE, self.dir))
        os.chmod(self.wrapper, 0o755)

    def next(self, steps):
        """The next worker the broker starts acts out steps."""
        tmp = os.path.join(self.dir, "next.tmp")
        with open(tmp, "w") as f:
            json.dump({"version": self.version, "steps": steps}, f)
        os.rename(tmp, os.path.join(self.dir, "next.json"))

    def taken(self):
        """Pids of the fake workers that took a scenario."""
        return {int(p.split(".")[-2]) for p in glob.glob(os.path.join(self.dir, "claimed.*.json"))}

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    d = sys.argv[1]
    args = sys.argv[2:]
    mine = os.path.join(d, "claimed.%d.json" % os.getpid())
    try:
        os.rename(os.path.join(d, "next.json"), mine)
    except FileNotFoundError:
        with open(os.path.join(d, "real")) as f:
            real = f.read().strip()
        os.execv(real, [real] + args)
    with open(mine) as f:
        sc = json.load(f)
    sock = socket.socket(fileno=3)
    unpacker = msgpack.Unpacker(raw=False)
    state = {"msgid": 0}

    def subst(v):
        if v == "$MSGID":
            return state["msgid"]
        if v == "$PID":
            return os.getpid()
        if isinstance(v, list):
            return [subst(x) for x in v]
        if isinstance(v, dict):
            return {k: subst(x) for k, x in v.items()}
        return v

    def send(msg):
        sock.sendall(msgpack.packb(subst(msg), use_bin_type=True))

    def messages():
        while True:
            for m in unpacker:
                yield m
            data = sock.recv(65536)
            if not data:
                return
            unpacker.feed(data)

    def answer_ping(m):
        if m[0] == 0 and m[2] == "ping":
            send([1, m[1], None, {}])
            return True
        if m[0] == 0 and m[2] == "close":
            send([1, m[1], None, None])
            sys.exit(0)
        return False

    incoming = messages()
    for step in sc["steps"]:
        if "hello" in step:
            send([2, "hello", [{"pid": os.getpid(), "version": sc["version"]}]])
        elif "expect" in step:
            for m in incoming:
                if answer_ping(m):
                    continue
                if m[0] == 0 and m[2] == step["expect"]:
                    state["msgid"] = m[1]
                    break
            else:
                return
        elif "reply" in step:
            send([1, state["msgid"], None, step["reply"]])
        elif "send" in step:
            send(step["send"])
        elif "raw" in step:
            sock.sendall(bytes.fromhex(step["raw"]))
        elif "log_flood" in step:
            rec = msgpack.packb([2, "log", [{"level": 2, "message": "flood " + "f" * 94}]], use_bin_type=True)
            sock.sendall(rec * step["log_flood"])
        elif "serve" in step:
            for m in incoming:
                answer_ping(m)
            return


if __name__ == "__main__":
    main()
