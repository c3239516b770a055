"""Real Secret Service environments for the keychain tests.

Each environment is a private D-Bus session bus (dbus-daemon) in a temporary
directory, and what runs on it:
  - "unlocked": gnome-keyring-daemon with a login keyring unlocked;
  - "locked": a login keyring that stays locked (unlocked with a wrong password);
  - "nosecrets": a bus on which nothing provides org.freedesktop.secrets;
  - "hung": org.freedesktop.secrets is activatable, but the program D-Bus
    starts never answers;
  - "nobus": no session bus at all.
`env()` gives the variables a broker needs to use it; DISPLAY is always
removed so that nothing can ever open a prompt.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=%(dir)s</listen>
  <auth>EXTERNAL</auth>
  %(servicedir)s
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

# never answers; its name carries the environment's directory, so stop()
# ends it with the rest (else it outlived the tests by five minutes)
HANG_SERVICE = """[D-BUS Service]
Name=org.freedesktop.secrets
Exec=/bin/bash -c "exec -a tusk-hung-secrets:%(dir)s /bin/sleep 300 </dev/null >/dev/null 2>&1"
"""

KEYRING_PW = "keyring-test-pw"


class Keyring:
    def __init__(self, mode="unlocked"):
        self.mode = mode
        self.dir = tempfile.mkdtemp(prefix="kr.", dir="/tmp")
        self.run = os.path.join(self.dir, "run")
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.run, mode=0o700)
        os.makedirs(self.data, mode=0o700)
        self.bus_pid = None
        self.address = None
        if mode == "nobus":
            return
        self._start_bus()
        if mode in ("unlocked", "locked"):
            if mode == "locked":
                # make the keyring with one password, then unlock with another
                self._start_keyring(KEYRING_PW)
                self._stop_bus()
                self._start_bus()
                self._start_keyring("not-the-password")
            else:
                self._start_keyring(KEYRING_PW)

    def _base_env(self):
        env = dict(os.environ)
        for k in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL"):
            env.pop(k, None)
        env["XDG_RUNTIME_DIR"] = self.run
        env["XDG_DATA_HOME"] = self.data
        return env

    def _start_bus(self):
        servicedir = ""
        if self.mode == "hung":
            sd = os.path.join(self.dir, "services")
            os.makedirs(sd, exist_ok=True)
            with open(os.path.join(sd, "org.freedesktop.secrets.service"), "w") as f:
                f.write(HANG_SERVICE % {"dir": self.dir})
            servicedir = "<servicedir>%s</servicedir>" % sd
        elif self.mode in ("unlocked", "locked"):
            servicedir = "<standard_session_servicedirs/>"
        conf = os.path.join(self.dir, "bus.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONF % {"dir": self.dir, "servicedir": servicedir})
        r = subprocess.run(["dbus-daemon", "--config-file=" + conf, "--fork", "--print-address=1",
                            "--print-pid=1"], env=self._base_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, check=True)
        lines = r.stdout.split()
        self.address, self.bus_pid = lines[0], int(lines[1])

    def _stop_bus(self):
        if self.bus_pid:
            try:
                os.kill(self.bus_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.bus_pid = None
        time.sleep(0.2)  # gnome-keyring leaves with its bus

    def _start_keyring(self, password):
        env = self.env()
        subprocess.run(["gnome-keyring-daemon", "--unlock", "--components=secrets"],
                       input=password.encode(), env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            r = subprocess.run(["gdbus", "call", "--session", "-d", "org.freedesktop.DBus", "-o",
                                "/org/freedesktop/DBus", "-m", "org.freedesktop.DBus.NameHasOwner",
                                "org.freedesktop.secrets"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
            if "true" in r.stdout:
                return
            time.sleep(0.05)
        raise RuntimeError("gnome-keyring did not come up")

    def env(self):
        """Variables for a process that should use this keychain."""
        env = self._base_env()
        if self.address:
            env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        return env

    def lookup(self, **attrs):
        """What secret-tool finds (None when nothing)."""
        args = []
        for k, v in attrs.items():
            args += [k, v]
        r = subprocess.run(["secret-tool", "lookup"] + args, env=self.env(), stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=10)
        return r.stdout.decode() if r.returncode == 0 else None

    def files(self):
        """Every file of the keyring's data directory (to grep for secrets)."""
        out = []
        for root, _, names in os.walk(self.dir):
            out += [os.path.join(root, n) for n in names]
        return out

    def stop(self):
        self._stop_bus()
        # the hung "service" and gnome-keyring may outlive the bus briefly
        subprocess.run(["pkill", "-f", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)
