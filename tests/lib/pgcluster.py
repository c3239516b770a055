"""Throwaway PostgreSQL clusters for Tusk's tests.

A cluster lives in a short temporary directory (Unix socket paths are
limited to 107 bytes), listens on loopback on a free port, uses
scram-sha-256, and has a role `tusk` (password `tuskpw`) owning database
`tuskdb`. As root, the server runs as the `postgres` user (PostgreSQL
refuses to run as root). Stopped by PID, directory removed.

initdb costs ~1.5 s; the first cluster of a run is kept as a template in
$TUSK_PG_TEMPLATE (or /tmp) and later clusters are copied from it.
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
SUPER_PW = "superpw"
ROLE, ROLE_PW, DB = "tusk", "tuskpw", "tuskdb"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _owner():
    """The user the server runs as: postgres when we are root."""
    if os.geteuid() != 0:
        return None
    return os.environ.get("PG_RUNAS", "postgres")


def _run_as(cmd, **kw):
    owner = _owner()
    if owner:
        cmd = ["runuser", "-u", owner, "--"] + cmd
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def _chown(path):
    owner = _owner()
    if not owner:
        return
    pw = pwd.getpwnam(owner)
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)


def _template():
    """A freshly initdb'd data directory to copy from."""
    base = os.environ.get("TUSK_PG_TEMPLATE") or os.path.join(tempfile.gettempdir(), "tusk-pgtemplate-%d" % os.getuid())
    data = os.path.join(base, "data")
    if os.path.exists(os.path.join(data, "PG_VERSION")):
        return data
    os.makedirs(base, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tpl.", dir=base)
    pwfile = os.path.join(tmp, "pw")
    with open(pwfile, "w") as f:
        f.write(SUPER_PW + "\n")
    _chown(tmp)
    _run_as([PG_BIN + "/initdb", "-D", tmp + "/data", "-U", "postgres", "--pwfile=" + pwfile,
             "-A", "scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], cwd=tmp)
    try:
        os.rename(tmp + "/data", data)
    except OSError:
        pass  # another run made it first
    shutil.rmtree(tmp, ignore_errors=True)
    return data


class Cluster:
    """One running PostgreSQL server."""

    def __init__(self, tls=None, hba=None, conf_extra="", listen="127.0.0.1"):
        self.dir = tempfile.mkdtemp(prefix="tpg.", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.sock = os.path.join(self.dir, "sock")
        self.data = os.path.join(self.dir, "data")
        os.mkdir(self.sock)
        shutil.copytree(_template(), self.data, symlinks=True)
        conf = [
            "listen_addresses = '%s'" % listen,
            "port = %d" % self.port,
            "unix_socket_directories = '%s'" % self.sock,
            "password_encryption = 'scram-sha-256'",
            "fsync = off", "synchronous_commit = off", "full_page_writes = off",
            "max_connections = 200",
        ]
        self.tls = tls
        if tls:
            for name in ("server.crt", "server.key"):
                shutil.copy(os.path.join(tls.dir, name), os.path.join(self.data, name))
            os.chmod(os.path.join(self.data, "server.key"), 0o600)
            conf += ["ssl = on", "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'",
                     "ssl_ca_file = '%s'" % os.path.join(tls.dir, "ca.crt")]
        conf.append(conf_extra)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n".join(conf) + "\n")
        if hba is None:
            hba = ["local all all scram-sha-256",
                   "host all all 127.0.0.1/32 scram-sha-256",
                   "host all all ::1/128 scram-sha-256"]
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("\n".join(hba) + "\n")
        _chown(self.dir)
        _run_as([PG_BIN + "/pg_ctl", "-D", self.data, "-l", self.dir + "/server.log", "-w", "-t", "30",
                 "start"], cwd=self.dir)
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        self.psql("CREATE ROLE %s LOGIN PASSWORD '%s'" % (ROLE, ROLE_PW))
        self.psql("CREATE DATABASE %s OWNER %s" % (DB, ROLE))

    def psql(self, sql, db="postgres", user="postgres", password=SUPER_PW):
        """Run SQL as the superuser over the Unix socket; returns stdout."""
        env = dict(os.environ, PGPASSWORD=password)
        r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.sock,
                            "-p", str(self.port), "-U", user, "-d", db, "-c", sql],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql failed: %s" % r.stderr)
        return r.stdout

    def config(self, **over):
        """A Tusk connection config for this cluster."""
        c = {"host": "127.0.0.1", "port": self.port, "database": DB, "username": ROLE,
             "ssl_mode": "disable" if not self.tls else "require"}
        c.update(over)
        return c

    def backends(self, app="tusk"):
        """Backend pids of sessions with this application_name."""
        out = self.psql("select pid from pg_stat_activity where application_name = '%s'" % app)
        return [int(x) for x in out.split()]

    def stop(self):
        try:
            os.kill(self.pid, signal.SIGINT)
            for _ in range(300):
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.02)
        except ProcessLookupError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
