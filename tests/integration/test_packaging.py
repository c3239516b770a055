"""Packaging: make install/uninstall, the Debian package, man pages, bash
completion, the desktop entry and AppStream metadata, one version.

The .deb is built once (`make deb`, which also runs lintian and fails on its
errors and warnings), installed with dpkg (root only, as CI runs), exercised
through the installed binaries against the session's PostgreSQL with a
private TUSK_HOME, and removed again — also when a test fails. A tusk
package that was installed before the suite ran is left alone (those tests
are skipped)."""
import collections
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest

from tusk import BIN, ROOT, Broker, wait_for, children_of, running

VERSION = open(os.path.join(ROOT, "VERSION")).read().strip()
APP_ID = "io.github.tusk.Tusk"
IS_ROOT = os.geteuid() == 0


def make_env():
    """The environment for a nested make: not the jobserver of a make above us."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "SAN", "BUILD"):
        env.pop(k, None)
    return env


def make(*args, timeout=600):
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory"] + list(args), env=make_env(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    assert r.returncode == 0, "make %s failed:\n%s" % (" ".join(args), r.stdout.decode(errors="replace")[-6000:])
    return r.stdout.decode(errors="replace")


def run(cmd, env=None, input=None, timeout=60):
    return subprocess.run(cmd, env=env, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def built(name):
    """Does this tree build `name`? (The window and its gateway come with ui/shell.)"""
    src = {"tusk": "ui/shell", "tusk-ui": "ui/gateway"}.get(name)
    return os.path.isdir(os.path.join(ROOT, src)) if src else True




def exe_of(pid):
    """The program a process runs: its /proc exe link. The broker and the
    workers are not dumpable, so to anyone but root that link is closed:
    then (and only then) the path they were started by (absolute for both),
    resolved as the link is."""
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except PermissionError:
        if IS_ROOT:
            raise
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return os.path.realpath(f.read().split(b"\0")[0].decode())




class Home:
    """A private TUSK_HOME for installed binaries; its broker is stopped at the end."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tp.", dir="/tmp")
        self.env = dict(os.environ)
        self.env["TUSK_HOME"] = self.dir
        self.env.pop("XDG_RUNTIME_DIR", None)
        # the installed binaries are release builds: keep the sanitizer settings out
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            self.env.pop(k, None)

    def broker_pid(self):
        try:
            with open(os.path.join(self.dir, "run", "tuskd.lock")) as f:
                return int(f.read().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def close(self, ctl):
        pid = self.broker_pid()
        if pid and running(pid):
            run([ctl, "--no-start", "shutdown"], env=self.env)
            try:
                wait_for(lambda: not running(pid), timeout=20)
            except AssertionError:
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


def exercise(prefix, pg, libexec):
    """tuskctl health starts the tuskd beside it, which runs the worker from
    libexec; a query against the session cluster works."""
    ctl = os.path.join(prefix, "bin", "tuskctl")
    h = Home()
    try:
        r = run([ctl, "health"], env=h.env)
        assert r.returncode == 0, r.stderr.decode()
        assert b"tuskd " + VERSION.encode() in r.stdout
        pid = h.broker_pid()
        assert pid and exe_of(pid) == os.path.join(prefix, "bin", "tuskd")
        url = "postgresql://tusk@127.0.0.1:%d/tuskdb" % pg.port
        r = run([ctl, "connect", "--password-stdin", "-n", "pkg", url], env=h.env, input=b"tuskpw\n")
        assert r.returncode == 0, r.stderr.decode()
        r = run([ctl, "query", "-c", "pkg", "-f", "csv", "select 6 * 7 as answer"], env=h.env)
        assert r.returncode == 0 and r.stdout == b"answer\n42\n", r.stderr.decode()
        workers = children_of(pid)
        assert workers and all(exe_of(w) == os.path.join(libexec, "tusk-worker") for w in workers)
        r = run([ctl, "--json", "status"], env=h.env)
        info = json.loads(r.stdout)
        assert info["app"]["version"] == VERSION
        assert [c["name"] for c in info["connections"]] == ["pkg"]
        r = run([ctl, "disconnect", "pkg"], env=h.env)
        assert r.returncode == 0, r.stderr.decode()
        if built("tusk"):
            window(prefix, libexec, h.env)
    finally:
        h.close(ctl)


def window(prefix, libexec, env):
    """tusk without a display: it runs its gateway from libexec, which serves
    the installed web UI; the page and its script load with the address's token."""
    env = dict(env)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("TUSK_WEB_DIR", None)
    p = subprocess.Popen([os.path.join(prefix, "bin", "tusk")], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        url = p.stdout.readline().decode().strip()
        assert url.startswith("http://127.0.0.1:"), p.stderr.read1(4096) if url == "" else url
        gw = children_of(p.pid)
        assert [exe_of(g) for g in gw] == [os.path.join(libexec, "tusk-ui")]
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        page = opener.open(url, timeout=10).read()
        with open(os.path.join(prefix, "share", "tusk", "web", "index.html"), "rb") as f:
            assert page == f.read()
        assets = re.findall(rb'(?:src|href)="\.?(/assets/[^"]+)"', page)
        assert assets
        base = url.split("/?")[0]
        for a in assets:
            assert opener.open(base + a.decode(), timeout=10).status == 200
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(20) == 0


# --- the tree's own files ---------------------------------------------------


@pytest.fixture(scope="module")
def data():
    """make all data: the release binaries, man pages, metainfo, icons."""
    make("all", "data")
    return os.path.join(ROOT, "build", "data")


def test_one_version_everywhere(data):
    for prog in ("tuskd", "tuskctl", "tusk-worker", "tusk-ui", "tusk"):
        for b in (os.path.join(ROOT, "build", "bin"), BIN):
            p = os.path.join(b, prog)
            if built(prog):
                r = run([p, "--version"])
                assert r.returncode == 0 and r.stdout.decode().split() == [prog, VERSION], (p, r.stdout)
    b = Broker()
    try:
        assert b.client().call("get_app_info")["version"] == VERSION
    finally:
        b.stop()
        b.cleanup()
    with open(os.path.join(data, APP_ID + ".metainfo.xml")) as f:
        assert re.findall(r'<release version="([^"]+)"', f.read()) == [VERSION]
    for m in ("tusk.1", "tuskctl.1", "tuskd.8"):
        with open(os.path.join(data, "man", m)) as f:
            assert ".Os Tusk %s\n" % VERSION in f.read()
    web = os.path.join(ROOT, "ui", "web", "package.json")
    if os.path.exists(web):
        with open(web) as f:
            assert json.load(f)["version"] == VERSION


def man_text(path, section_name=None):
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    r = run(["man", "--warnings", "-l", path], env=env)
    assert r.returncode == 0 and r.stderr == b"", (path, r.stderr.decode())
    return r.stdout.decode()


def test_man_pages_render_without_warnings(data):
    for m in ("tusk.1", "tuskctl.1", "tuskd.8"):
        text = man_text(os.path.join(data, "man", m))
        assert "NAME" in text and "SEE ALSO" in text


C_STR = r'"(?:[^"\\]|\\.)*"'


def cli_macros():
    """The #define bodies of ui/cli (usages and getopt tables are partly
    built from them, e.g. conn-spec.h's CONN_SPEC_USAGE): {NAME: body}."""
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "ui", "cli", "*.[ch]"))):
        with open(path) as f:
            src = f.read()
        for m in re.finditer(r"^#define (\w+)[ \t]+((?:.*\\\n)*.*)$", src, re.M):
            out[m.group(1)] = m.group(2).replace("\\\n", "\n")
    return out


def c_string(expr, macros):
    """The text of a C string concatenation whose parts may be macros."""
    out = ""
    for tok in re.findall(r"%s|[A-Za-z_]\w*" % C_STR, expr):
        if tok.startswith('"'):
            out += tok[1:-1].replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        else:
            assert tok in macros, "a usage string uses %s, which no ui/cli file defines" % tok
            out += c_string(macros[tok], macros)
    return out


def longs(text):
    return sorted(set(re.findall(r"--[a-z][a-z-]*", text)))


Cmd = collections.namedtuple("Cmd", "fn opts usage")


def cli_table():
    """tuskctl's commands from ui/cli/main.c's table: {name: Cmd(function,
    [--option the usage shows, ...], usage)}; usages may be built from macros."""
    with open(os.path.join(ROOT, "ui", "cli", "main.c")) as f:
        src = f.read()
    table = src[src.index("cmds[] = {"):src.index("};", src.index("cmds[] = {"))]
    macros = cli_macros()
    out = {}
    for m in re.finditer(r'\{\s*"([a-z-]+)",\s*(cmd_\w+),\s*((?:(?:%s|[A-Z][A-Z0-9_]*)\s*)+),' % C_STR, table):
        usage = c_string(m.group(3), macros)
        out[m.group(1)] = Cmd(m.group(2), longs(usage), usage)
    # every entry was understood: as many as the table has
    assert len(out) == len(re.findall(r'\{\s*"[a-z-]+",\s*cmd_\w+,', table)), "cannot parse ui/cli/main.c's table"
    return out


def accepted_longs(text, macros):
    """The long options a piece of ui/cli accepts: its getopt tables (with
    their macros) and the arguments it compares argv with."""
    for _ in range(3):
        text = re.sub(r"\b[A-Z][A-Z0-9_]*LONGOPTS\b", lambda m: macros.get(m.group(0), m.group(0)), text)
    return set("--" + o for o in re.findall(r'\{ "([a-z-]+)", (?:no|required)_argument', text)) | \
        set(re.findall(r'strcmp\(argv\[\w+\], "(--[a-z-]+)"\)', text))


def cli_function(fn):
    """(the body of a ui/cli function, its whole file)."""
    for path in glob.glob(os.path.join(ROOT, "ui", "cli", "*.c")):
        with open(path) as f:
            src = f.read()
        m = re.search(r"\n%s\(int argc, char \*\*argv\)\n\{(.*?)\n\}\n" % fn, src, re.S)
        if m:
            return m.group(1), src
    raise AssertionError("no function %s in ui/cli" % fn)


def getopt_longs(fn):
    """The long options a command's function accepts itself."""
    return accepted_longs(cli_function(fn)[0], cli_macros())


def file_longs(fn):
    """The long options the file of a command's function accepts (its
    subcommands' functions are there too)."""
    return accepted_longs(cli_function(fn)[1], cli_macros())


def all_longs():
    """Every long option tuskctl accepts anywhere."""
    macros = cli_macros()
    out = set()
    for path in glob.glob(os.path.join(ROOT, "ui", "cli", "*.c")):
        with open(path) as f:
            out |= accepted_longs(f.read(), macros)
    return out


def help_forms(name, text):
    """The forms `tuskctl NAME help` prints: its `tuskctl NAME SUB ...` lines,
    with the options of the placeholders (SETTINGS: ...) they name."""
    forms, defs, cur = [], {}, None
    for line in text.split("\n"):
        m = re.match(r"^(?:usage:)?\s*tuskctl %s ([a-z]+)(.*)$" % re.escape(name), line)
        d = re.match(r"^([A-Z]+):\s*(.*)$", line)
        if m:
            cur = [m.group(1), m.group(2)]
            forms.append(cur)
        elif d:
            cur = [None, d.group(2)]
            defs[d.group(1)] = cur
        elif line.startswith(" ") and cur:
            cur[1] += " " + line
    assert forms, "`tuskctl %s help` shows no forms" % name
    out = []
    for sub, rest in forms:
        opts = set(longs(rest))
        for word, (_, body) in defs.items():
            if re.search(r"\b%s\b" % word, rest):
                opts |= set(longs(body))
        out.append((sub, sorted(opts)))
    return out


def usage_forms(name, usage):
    """A command's forms: [(SUBCOMMAND or None, [--option, ...])]. The usage
    `prefs get KEY | prefs set [--string] KEY VALUE | prefs list` has three;
    a usage that says `(NAME help)` has them in `tuskctl NAME help`."""
    if "(%s help)" % name in usage:
        r = run([os.path.join(BIN, "tuskctl"), name, "help"])
        assert r.returncode == 0, r.stderr.decode()
        return help_forms(name, r.stdout.decode())
    out = []
    for form in re.split(r"\s+\|\s+(?=%s\b)" % re.escape(name), usage):
        words = form.split()
        sub = words[1] if len(words) > 1 and re.fullmatch(r"[a-z]+", words[1]) else None
        out.append((sub, longs(form)))
    return out


def mentions(option, text):
    """Is --option in the text as a whole word (not as the start of another)?"""
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(option), text) is not None


def test_tuskctl_man_page_documents_every_command_and_exit_status(data):
    table = cli_table()
    r = run([os.path.join(BIN, "tuskctl"), "--help"])
    listed = re.findall(r"^  ([a-z][a-z-]*) ", r.stdout.decode(), re.M)
    assert sorted(listed) == sorted(table), "ui/cli/main.c's table and --help disagree"
    text = man_text(os.path.join(data, "man", "tuskctl.1"))
    commands = text[text.index("\nCOMMANDS"):text.index("\nENVIRONMENT")]
    for name, cmd in table.items():
        assert re.search(r"^     %s\b" % re.escape(name), commands, re.M), "tuskctl(1) lacks the command " + name
        for o in cmd.opts:
            assert mentions(o, commands), "tuskctl(1) lacks %s of %s" % (o, name)
        for sub, opts in usage_forms(name, cmd.usage):
            if sub:
                assert re.search(r"^     %s %s\b" % (re.escape(name), sub), commands, re.M), \
                    "tuskctl(1) lacks the command %s %s" % (name, sub)
            for o in opts:
                assert mentions(o, commands), "tuskctl(1) lacks %s of %s %s" % (o, name, sub or "")
    # and every option tuskctl accepts, also those no usage line shows
    for o in sorted(all_longs()):
        assert mentions(o, text), "tuskctl(1) lacks " + o
    status = text[text.index("\nEXIT STATUS"):text.index("\nEXAMPLES")]
    for code in ("0", "1", "2", "130"):
        assert re.search(r"^     %s\s" % code, status, re.M)


def tuskd_defaults():
    """The settings' defaults, from broker/main.c's default_settings (the
    constants it names come from common/*.h)."""
    consts = {}
    for path in glob.glob(os.path.join(ROOT, "common", "*.h")):
        with open(path) as f:
            consts.update(re.findall(r"^#define ([A-Z][A-Z0-9_]*) (\d+)\s*$", f.read(), re.M))
    with open(os.path.join(ROOT, "broker", "main.c")) as f:
        src = f.read()
    start = src.index("default_settings = {")
    body = src[start:src.index("};", start)]
    out = {}
    for name, expr in re.findall(r"\.(\w+) = ([^,]+),", body):
        expr = re.sub(r"\b(\d+)[uU]?[lL]*\b", r"\1", expr)
        expr = re.sub(r"\b[A-Z][A-Z0-9_]*\b", lambda m: consts[m.group(0)], expr)
        assert re.fullmatch(r"[\d\s*+()]+", expr), "cannot read the default of " + name
        out[name] = eval(expr)
    return out


def test_tuskd_man_page_documents_every_option_and_setting(data):
    r = run([os.path.join(BIN, "tuskd"), "--help"])
    help_text = r.stdout.decode()
    opts = set(re.findall(r"--[a-z][a-z-]*", help_text))
    assert opts >= {"--foreground", "--log-level", "--log-stderr", "--worker", "--set", "--version"}
    # broker/settings.c's settings_usage(): "  NAME  MIN..MAX  meaning"
    settings = re.findall(r"^  ([a-z]+(?:_[a-z]+)+)\s+(\d+)\.\.(\d+)\s", help_text.split("\nsettings")[1], re.M)
    defaults = tuskd_defaults()
    assert len(settings) >= 11 and sorted(s for s, _, _ in settings) == sorted(defaults)
    text = man_text(os.path.join(data, "man", "tuskd.8"))
    options = text[text.index("\nOPTIONS"):text.index("\nENVIRONMENT")]
    for o in opts:
        assert mentions(o, options), "tuskd(8) lacks " + o
    for s, lo, hi in settings:
        # "name (default; min..max)", as --help and the code say
        assert re.search(r"^\s+%s \(%d; %s\.\.%s\)" % (s, defaults[s], lo, hi), options, re.M), \
            "tuskd(8) lacks the setting %s (%d; %s..%s)" % (s, defaults[s], lo, hi)
    # the settings are preferences too (docs/storage.md): the page says how
    assert "broker.NAME" in options and "tuskctl prefs set broker." in " ".join(text.split())
    for sec in ("FILES", "SIGNALS", "EXIT STATUS", "Socket activation"):
        assert sec in text
    for sig in ("SIGTERM", "SIGINT", "SIGHUP"):
        assert sig in text
    # docs/protocol.md's table of the broker.* preferences has each, with its default
    with open(os.path.join(ROOT, "docs", "protocol.md")) as f:
        proto = f.read()
    for s, _, _ in settings:
        assert re.search(r"^\| `broker\.%s` \| [^|]+ \| %d \|" % (s, defaults[s]), proto, re.M), \
            "docs/protocol.md lacks broker.%s" % s


def test_tusk_man_page_documents_the_window_and_its_gateway(data):
    """tusk(1) has every option of `tusk --help` and `tusk-ui --help` (the
    gateway lives in libexec, so its options are documented there)."""
    if not built("tusk"):
        pytest.skip("the desktop window is not built in this tree")
    text = man_text(os.path.join(data, "man", "tusk.1"))
    for prog in ("tusk", "tusk-ui"):
        r = run([os.path.join(BIN, prog), "--help"])
        assert r.returncode == 0
        opts = longs(r.stdout.decode())
        assert opts
        for o in opts + ["--version", "--help"]:
            assert mentions(o, text), "tusk(1) lacks %s of %s" % (o, prog)
    assert "TUSK_WEB_DIR" in text


def test_desktop_entry_and_metainfo_validate(data):
    desktop = os.path.join(ROOT, "packaging", "desktop", APP_ID + ".desktop")
    r = run(["desktop-file-validate", desktop])
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout.decode() + r.stderr.decode()
    r = run(["appstreamcli", "validate", "--no-net", "--pedantic", os.path.join(data, APP_ID + ".metainfo.xml")])
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    with open(desktop) as f:
        entry = f.read()
    assert "\nIcon=%s\n" % APP_ID in entry and "\nExec=tusk\n" in entry
    with open(os.path.join(data, APP_ID + ".metainfo.xml")) as f:
        meta = f.read()
    assert "<id>%s</id>" % APP_ID in meta and ">%s.desktop</launchable>" % APP_ID in meta


def test_icon_sizes_are_rendered_from_the_svg(data):
    for n in (16, 32, 48, 64, 128, 256):
        png = os.path.join(data, "icons", "%dx%d" % (n, n), APP_ID + ".png")
        with open(png, "rb") as f:
            head = f.read(24)
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(head[16:20], "big") == n and int.from_bytes(head[20:24], "big") == n


# --- bash completion -----------------------------------------------------------

COMPLETE = r'''
source "$1"
shift
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
_tuskctl
printf '%s\n' "${COMPREPLY[@]}"
'''


def complete(words, env):
    script = os.path.join(ROOT, "packaging", "completion", "tuskctl.bash")
    t0 = time.time()
    r = run(["bash", "-c", COMPLETE, "bash", script] + list(words), env=env, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    return sorted(x for x in r.stdout.decode().split("\n") if x), time.time() - t0


def test_completion_commands_options_and_connection_names(pg):
    b = Broker()
    env = dict(b.env, PATH=BIN + ":" + os.environ["PATH"])
    try:
        table = cli_table()
        got, _ = complete(["tuskctl", ""], env)
        assert got == sorted(list(table) + ["help"])
        got, _ = complete(["tuskctl", "--json", "wo"], env)
        assert got == ["workers"]
        for name, cmd in table.items():
            forms = usage_forms(name, cmd.usage)
            subs = [s for s, _ in forms if s]
            if subs:
                got, _ = complete(["tuskctl", name, ""], env)
                assert set(subs) <= set(got) <= set(subs) | {"help"}, \
                    "completion of `tuskctl %s `: %s" % (name, got)
            for sub, opts in forms:
                got, _ = complete(["tuskctl", name] + ([sub] if sub else []) + ["--"], env)
                # every option the usage shows, and only options the command takes
                # (a subcommand's: those of the file that implements it)
                takes = file_longs(cmd.fn) if sub else getopt_longs(cmd.fn)
                assert set(opts) <= set(got) <= set(opts) | takes, \
                    "completion of `tuskctl %s %s--`: %s" % (name, sub + " " if sub else "", got)
        assert complete(["tuskctl", "query", "-f", ""], env)[0] == ["csv", "json", "table"]
        assert complete(["tuskctl", "logs", "-f", ""], env)[0] == []  # -f is --follow there
        assert complete(["tuskctl", "events", "--topics", "workers,q"], env)[0] == ["workers,queries"]
        assert complete(["tuskctl", "log-level", "d"], env)[0] == ["debug"]
        # the modes the broker takes (common/config.c)
        with open(os.path.join(ROOT, "common", "config.c")) as f:
            modes = re.findall(r'"([a-z-]+)"', re.search(r"modes\[\] = \{([^}]*)\}", f.read()).group(1))
        assert len(modes) >= 5
        assert complete(["tuskctl", "connect", "--ssl-mode", ""], env)[0] == sorted(modes)
        assert complete(["tuskctl", "connections", "edit", "-s", ""], env)[0] == sorted(modes)
        assert complete(["tuskctl", "connections", "add", "--ssh-auth", ""], env)[0] == \
            ["agent", "key_file", "password"]
        assert complete(["tuskctl", "top", "--sort", ""], env)[0] == ["cpu", "elapsed", "memory"]
        assert complete(["tuskctl", "keychain", ""], env)[0] == ["status"]
        b.ctl("connect", "-n", "complete-me", "postgresql://tusk@127.0.0.1:%d/tuskdb" % pg.port,
              env={"PGPASSWORD": "tuskpw"}, check=True)
        assert complete(["tuskctl", "disconnect", "comp"], env)[0] == ["complete-me"]
        assert complete(["tuskctl", "query", "-c", "complete"], env)[0] == ["complete-me"]
        b.ctl("disconnect", "complete-me", check=True)
        # saved connections by name (shell-quoted), for connect and the
        # connections subcommands that take one
        for n in ("saved-me", "saved two"):
            b.ctl("connections", "add", "-n", n, "postgresql://tusk@127.0.0.1:%d/tuskdb" % pg.port, check=True)
        assert complete(["tuskctl", "connect", "sav"], env)[0] == ["saved-me", "saved\\ two"]
        for sub in ("show", "edit", "rm", "test"):
            assert complete(["tuskctl", "connections", sub, "saved\\ "], env)[0] == ["saved\\ two"], sub
        assert complete(["tuskctl", "connections", "show", "saved-me", ""], env)[0] == []
        assert complete(["tuskctl", "connections", "add", "sav"], env)[0] == []
        # preference keys: those set, and the broker's settings
        b.ctl("prefs", "set", "ui.theme", "dark", check=True)
        assert complete(["tuskctl", "prefs", "get", "ui"], env)[0] == ["ui.theme"]
        assert complete(["tuskctl", "prefs", "set", "broker.worker_m"], env)[0] == ["broker.worker_memory_mb"]
        assert complete(["tuskctl", "prefs", "set", "--string", "ui.t"], env)[0] == ["ui.theme"]
    finally:
        b.stop()
    # no broker: no names, quickly, and none is started
    for words in (["disconnect", ""], ["connect", ""], ["connections", "show", ""]):
        got, took = complete(["tuskctl"] + words, env)
        assert got == [] and took < 5, words
    got, took = complete(["tuskctl", "prefs", "get", ""], env)  # only the broker's settings
    assert got and all(k.startswith("broker.") for k in got) and took < 5, got
    assert not os.path.exists(b.sock)
    b.cleanup()


# --- make install / uninstall ----------------------------------------------------


def test_make_install_and_uninstall_destdir(pg):
    dest = tempfile.mkdtemp(prefix="tdest.", dir="/tmp")
    data_home = tempfile.mkdtemp(prefix="tuser.", dir="/tmp")
    try:
        make("install", "DESTDIR=" + dest, "PREFIX=/opt/tusk")
        p = dest + "/opt/tusk"
        expect = ["bin/tuskctl", "bin/tuskd", "libexec/tusk/tusk-worker", "share/man/man1/tuskctl.1",
                  "share/man/man8/tuskd.8", "share/bash-completion/completions/tuskctl",
                  "lib/systemd/user/tuskd.socket", "lib/systemd/user/tuskd.service"]
        if built("tusk"):
            expect += ["bin/tusk", "libexec/tusk/tusk-ui", "share/tusk/web/index.html",
                       "share/applications/%s.desktop" % APP_ID, "share/metainfo/%s.metainfo.xml" % APP_ID,
                       "share/man/man1/tusk.1", "share/icons/hicolor/scalable/apps/%s.svg" % APP_ID] + \
                      ["share/icons/hicolor/%dx%d/apps/%s.png" % (n, n, APP_ID) for n in (16, 32, 48, 64, 128, 256)]
        for e in expect:
            assert os.path.isfile(os.path.join(p, e)), e
        assert not os.path.exists(os.path.join(p, "bin", "tusk-worker"))
        with open(os.path.join(p, "lib/systemd/user/tuskd.service")) as f:
            assert "\nExecStart=/opt/tusk/bin/tuskd --foreground\n" in f.read()
        # the installed layout works from wherever it lies
        exercise(p, pg, os.path.join(p, "libexec", "tusk"))
        open(os.path.join(data_home, "keep"), "w").close()
        make("uninstall", "DESTDIR=" + dest, "PREFIX=/opt/tusk")
        left = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs]
        assert left == [], "make uninstall left %s" % left
        assert os.path.exists(os.path.join(data_home, "keep"))
    finally:
        shutil.rmtree(dest, ignore_errors=True)
        shutil.rmtree(data_home, ignore_errors=True)


# --- the Debian package ----------------------------------------------------------


def test_build_depends_cover_every_library_the_makefile_links(data):
    """Each pkg-config module of the Makefile comes from a -dev package named
    in debian/control's Build-Depends (so the package builds where make does)."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        mk = f.read()
    mods = set()
    for line in re.findall(r"^PKGS_\w+\s*=\s*(.*)$", mk, re.M):
        mods.update(w for w in line.split() if not w.startswith("$("))
    with open(os.path.join(ROOT, "packaging", "debian", "control")) as f:
        control = f.read()
    bd = control[control.index("Build-Depends:"):control.index("Standards-Version:")]
    named = set(re.findall(r"([a-z0-9][a-z0-9.+-]+)", bd.split(":", 1)[1]))
    for m in sorted(mods):
        pc = run(["pkg-config", "--variable=pcfiledir", m]).stdout.decode().strip()
        assert pc, "pkg-config does not know " + m
        owner = run(["dpkg", "-S", os.path.join(pc, m + ".pc")]).stdout.decode().split(":")[0]
        assert owner in named, "%s (from %s) is missing from Build-Depends" % (owner, m)


def test_copyright_names_every_bundled_npm_package(data):
    """The web UI bundles its npm dependencies: debian/copyright must name each."""
    web = os.path.join(ROOT, "ui", "web")
    if not os.path.exists(os.path.join(web, "package.json")):
        pytest.skip("this tree has no web UI")
    r = run(["npm", "--prefix", web, "ls", "--omit=dev", "--all", "--parseable"], timeout=120)
    dirs = [d for d in r.stdout.decode().split("\n")[1:] if "/node_modules/" in d]
    assert dirs, r.stderr.decode()
    with open(os.path.join(ROOT, "packaging", "debian", "copyright")) as f:
        text = f.read()
    for d in dirs:
        name = d.split("/node_modules/")[-1]
        scope = name.split("/")[0] + "/*" if name.startswith("@") else None
        assert "node_modules/%s/*" % name in text or (scope and "node_modules/%s" % scope in text), \
            "debian/copyright does not name the bundled npm package " + name


@pytest.fixture(scope="module")
def deb(data):
    """make deb (debhelper on a copy of the tree, then lintian): the .deb's path."""
    out = make("deb")
    debs = glob.glob(os.path.join(ROOT, "build", "deb", "tusk_%s_*.deb" % VERSION))
    assert len(debs) == 1, out
    return debs[0]


def dpkg_installed():
    r = run(["dpkg-query", "-W", "-f=${Status}", "tusk"])
    return r.returncode == 0 and r.stdout.decode().endswith(" installed")


def dpkg_known():
    return run(["dpkg-query", "-W", "tusk"]).returncode == 0


@pytest.fixture(scope="module")
def installed(deb):
    if not IS_ROOT:
        pytest.skip("installing the .deb needs root (CI runs as root)")
    if dpkg_known():
        pytest.skip("a tusk package is already installed here: not replacing it")
    r = run(["dpkg", "-i", deb], timeout=300)
    try:
        assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
        files = run(["dpkg", "-L", "tusk"]).stdout.decode().split("\n")
        yield [f for f in files if f and os.path.isfile(f)]
    finally:
        # whatever happened, nothing of the package stays for the suites after us
        if dpkg_known():
            run(["dpkg", "-P", "tusk"], timeout=300)


def test_deb_version_and_dependencies(deb):
    r = run(["dpkg-deb", "-f", deb, "Package", "Version", "Depends", "Recommends"])
    f = r.stdout.decode()
    assert "Package: tusk\n" in f and "Version: %s\n" % VERSION in f
    assert "libpq5" in f and "libevent" in f and "Recommends: gnome-keyring" in f
    assert "postgresql-client" not in f
    stage = os.path.join(ROOT, "build", "deb", "tusk-%s" % VERSION)
    with open(os.path.join(stage, "debian", "changelog")) as c:
        assert c.readline().startswith("tusk (%s) " % VERSION)
    # the package build has no git: its release date comes through the changelog
    for f in ("man/tuskd.8", APP_ID + ".metainfo.xml"):
        with open(os.path.join(ROOT, "build", "data", f)) as a, open(os.path.join(stage, "build", "data", f)) as b:
            assert a.read() == b.read(), f


def test_deb_layout(installed):
    have = set(installed)
    for p in ["/usr/bin/tuskctl", "/usr/bin/tuskd", "/usr/libexec/tusk/tusk-worker",
              "/usr/share/man/man1/tuskctl.1.gz", "/usr/share/man/man8/tuskd.8.gz",
              "/usr/share/bash-completion/completions/tuskctl", "/usr/lib/systemd/user/tuskd.socket",
              "/usr/lib/systemd/user/tuskd.service", "/usr/share/doc/tusk/copyright"]:
        assert p in have, p
    if built("tusk"):
        for p in ["/usr/bin/tusk", "/usr/libexec/tusk/tusk-ui", "/usr/share/tusk/web/index.html",
                  "/usr/share/applications/%s.desktop" % APP_ID, "/usr/share/metainfo/%s.metainfo.xml" % APP_ID,
                  "/usr/share/icons/hicolor/scalable/apps/%s.svg" % APP_ID,
                  "/usr/share/icons/hicolor/48x48/apps/%s.png" % APP_ID, "/usr/share/man/man1/tusk.1.gz"]:
            assert p in have, p
    with open("/usr/lib/systemd/user/tuskd.service") as f:
        assert "\nExecStart=/usr/bin/tuskd --foreground\n" in f.read()
    with open("/usr/lib/systemd/user/tuskd.socket") as f:
        assert "\nListenStream=%t/tusk/tuskd.sock\n" in f.read()
    # the socket unit is enabled for every user (deb-systemd-helper)
    assert os.path.islink("/etc/systemd/user/sockets.target.wants/tuskd.socket")
    # systemd's own checks of the units (ExecStart exists, man:tuskd(8) resolves)
    rt = tempfile.mkdtemp(prefix="trt.", dir="/tmp")
    try:
        r = run(["systemd-analyze", "--user", "verify", "/usr/lib/systemd/user/tuskd.socket",
                 "/usr/lib/systemd/user/tuskd.service"], env=dict(os.environ, XDG_RUNTIME_DIR=rt))
        assert r.returncode == 0 and not r.stderr.strip(), r.stdout.decode() + r.stderr.decode()
    finally:
        shutil.rmtree(rt, ignore_errors=True)


def test_installed_binaries_run_against_postgresql(installed, pg):
    for prog in ("/usr/bin/tuskctl", "/usr/bin/tuskd", "/usr/libexec/tusk/tusk-worker"):
        r = run([prog, "--version"])
        assert r.stdout.decode().split() == [os.path.basename(prog), VERSION]
    exercise("/usr", pg, "/usr/libexec/tusk")


def test_installed_man_pages_render(installed):
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    pages = [("1", "tuskctl"), ("8", "tuskd")] + ([("1", "tusk")] if built("tusk") else [])
    for sec, page in pages:
        r = run(["man", "--warnings", sec, page], env=env)
        assert r.returncode == 0 and r.stderr == b"", (page, r.stderr.decode())
        assert page.upper() + "(" + sec + ")" in r.stdout.decode()


def test_installed_desktop_entry_and_metainfo_validate(installed):
    if not built("tusk"):
        pytest.skip("the desktop window is not built in this tree: no desktop entry is installed")
    r = run(["desktop-file-validate", "/usr/share/applications/%s.desktop" % APP_ID])
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout.decode()
    r = run(["appstreamcli", "validate", "--no-net", "/usr/share/metainfo/%s.metainfo.xml" % APP_ID])
    assert r.returncode == 0, r.stdout.decode()


def test_installed_bash_completion_is_found_by_name(installed):
    script = "/usr/share/bash-completion/completions/tuskctl"
    r = run(["bash", "-c", 'source "$1" && complete -p tuskctl', "bash", script])
    assert r.returncode == 0 and b"-F _tuskctl" in r.stdout


def test_dpkg_remove_and_purge_leave_nothing(installed):
    r = run(["dpkg", "-r", "tusk"], timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    left = [f for f in installed if os.path.lexists(f)]
    assert left == [], "dpkg -r left %s" % left
    for d in ("/usr/libexec/tusk", "/usr/share/tusk"):
        assert not os.path.exists(d), d
    r = run(["dpkg", "-P", "tusk"], timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    assert not dpkg_known()
    assert glob.glob("/etc/systemd/user/*/tuskd.*") == []
