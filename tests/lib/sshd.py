"""A throwaway OpenSSH server on loopback for Tusk's tunnel tests.

Runs as root (sshd needs it) with its own config, host key and log in a
short temporary directory; /etc/ssh is never read for the server's config.
A local user of its own (`tusktunnel`; distinct secrets, so a test can look
for them in logs and files) is created when missing: with UsePAM no, a
locked account is refused even for keys, so it gets a real password. Client keys for that user: ed25519 without a passphrase
(`id_plain`), ed25519 with one (`id_pass`, passphrase KEY_PASSPHRASE), ecdsa and
rsa without (`id_ecdsa`, `id_rsa`), and `id_agent` for an ssh-agent.

Forwarding is allowed only to the (host, port) pairs given as
`permit_open`, so a test can see the server refuse another target.
Stopped by PID; the directory is removed.
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from tusk import descendants, live_children

SSHD = "/usr/sbin/sshd"  # sshd re-execs itself: it needs an absolute path
USER, PASSWORD, KEY_PASSPHRASE = "tusktunnel", "ssh-Secret-7f3a", "key-Secret-91c2"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ensure_user(name=USER, password=PASSWORD):
    """Create the local test user if it is missing, and (re)set its password."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        r = subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode not in (0, 9):  # 9: created meanwhile by another run
            raise RuntimeError("useradd failed: %s" % r.stderr)
    subprocess.run(["chpasswd"], input="%s:%s\n" % (name, password), text=True, check=True)
    return pwd.getpwnam(name)


def keygen(path, kind="ed25519", passphrase="", comment="tusk-test"):
    args = ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", comment, "-f", path]
    if kind == "rsa":
        args += ["-b", "2048"]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return path


def fingerprint(pub_path):
    """The SHA256 fingerprint of a public key file, as ssh-keygen prints it."""
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", pub_path], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return out.split()[1]


class Agent:
    """An ssh-agent on a private socket, holding the given keys."""

    def __init__(self, directory, keys):
        self.sock = os.path.join(directory, "agent.sock")
        self.proc = subprocess.Popen(["ssh-agent", "-D", "-a", self.sock], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not os.path.exists(self.sock):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("ssh-agent did not start")
            time.sleep(0.02)
        env = dict(os.environ, SSH_AUTH_SOCK=self.sock)
        for k in keys:
            subprocess.run(["ssh-add", "-q", k], env=env, check=True, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Sshd:
    """One running sshd on 127.0.0.1 and ::1."""

    def __init__(self, permit_open=(), log_level="VERBOSE", extra=()):
        self.user = ensure_user()
        os.makedirs("/run/sshd", exist_ok=True)  # privilege separation directory
        self.dir = tempfile.mkdtemp(prefix="tsh.", dir="/tmp")
        os.chmod(self.dir, 0o755)  # sshd reads authorized_keys as the user
        self.port = free_port()
        self.host_key = keygen(os.path.join(self.dir, "host_ed25519"), comment="tusk-test-host")
        self.client = os.path.join(self.dir, "client")
        os.mkdir(self.client, 0o700)
        self.keys = {
            "plain": keygen(os.path.join(self.client, "id_plain")),
            "pass": keygen(os.path.join(self.client, "id_pass"), passphrase=KEY_PASSPHRASE),
            "ecdsa": keygen(os.path.join(self.client, "id_ecdsa"), "ecdsa"),
            "rsa": keygen(os.path.join(self.client, "id_rsa"), "rsa"),
            "agent": keygen(os.path.join(self.client, "id_agent")),
        }
        # a key the server does not know (for "key refused")
        self.stranger = keygen(os.path.join(self.client, "id_stranger"))
        with open(os.path.join(self.dir, "authorized_keys"), "w") as f:
            for k in self.keys.values():
                with open(k + ".pub") as pub:
                    f.write(pub.read())
        os.chmod(os.path.join(self.dir, "authorized_keys"), 0o644)
        self.log = os.path.join(self.dir, "sshd.log")
        permits = " ".join("%s:%d" % (("[%s]" % h) if ":" in h else h, p) for h, p in permit_open)
        conf = [
            "Port %d" % self.port,
            "ListenAddress 127.0.0.1",
            "ListenAddress ::1",
            "HostKey %s" % self.host_key,
            "PidFile %s/sshd.pid" % self.dir,
            "StrictModes no",  # /tmp is 1777
            "AuthorizedKeysFile %s/authorized_keys" % self.dir,
            "UsePAM no",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin no",
            "AllowUsers %s" % USER,
            "AllowTcpForwarding local",
            "PermitOpen %s" % (permits or "none"),
            "AllowAgentForwarding no",
            "X11Forwarding no",
            "PermitTunnel no",
            "GatewayPorts no",
            "PrintMotd no",
            "MaxAuthTries 10",
            "LogLevel %s" % log_level,
        ] + list(extra)
        self.config = os.path.join(self.dir, "sshd_config")
        with open(self.config, "w") as f:
            f.write("\n".join(conf) + "\n")
        subprocess.run([SSHD, "-t", "-f", self.config], check=True)
        self.start()

    def start(self):
        self.proc = subprocess.Popen([SSHD, "-D", "-f", self.config, "-E", self.log],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.pid = self.proc.pid
        deadline = time.time() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-2.0"):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("sshd did not start: %s" % self.log_text())
            time.sleep(0.05)

    def host_fingerprint(self):
        return fingerprint(self.host_key + ".pub")

    def known_hosts_line(self, host="127.0.0.1"):
        with open(self.host_key + ".pub") as f:
            kind, blob = f.read().split()[:2]
        return "[%s]:%d %s %s\n" % (host, self.port, kind, blob)

    def agent(self, keys=("agent",)):
        return Agent(self.dir, [self.keys[k] for k in keys])

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sessions(self):
        """Live per-connection processes of this sshd (its children)."""
        return len(live_children().get(self.pid, []))

    def session_pids(self):
        """Pids of the per-connection sshd processes (children and grandchildren)."""
        return descendants(self.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
