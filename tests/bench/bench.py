"""Tusk's benchmarks, side by side with psql and a bare libpq client in the
same run, reported as ratios (absolute times drift on shared machines).

Run by `make bench` (tests/bench/run.sh) against the release build. Prints
a markdown report and writes it to build/bench/results.md.
"""
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from pgcluster import Cluster  # noqa: E402
from tusk import Broker, Client, descendants  # noqa: E402

BIN = os.path.join(ROOT, "build", "bin")
BARE = os.path.join(ROOT, "build", "bench", "bare_client")
ROUNDS = int(os.environ.get("TUSK_BENCH_ROUNDS", "5"))
ROWS = int(os.environ.get("TUSK_BENCH_ROWS", "1000000"))
WINDOW_RUNS = int(os.environ.get("TUSK_BENCH_WINDOW_RUNS", "10"))

report = []


def out(line=""):
    print(line, flush=True)
    report.append(line)


def med(xs):
    return statistics.median(xs)


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))]


def timed(cmd, env=None, stdout=subprocess.DEVNULL):
    """Wall time and the child's peak RSS (kB) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE)
    t = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (cmd[0], r.stderr.decode()[-2000:]))
    return t


def peak_rss_of(cmd, env=None):
    """Run cmd under /usr/bin/time -f %M: its peak RSS in kB."""
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    return int(r.stderr.decode().strip().splitlines()[-1])


def smaps(pid):
    """Rss, Pss and private (unique) memory of a process, in kB."""
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":"):
                out[parts[0][:-1]] = int(parts[1])
    out["Uss"] = out.get("Private_Clean", 0) + out.get("Private_Dirty", 0)
    return out


def rss_kb(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    """Peak RSS of a process, sampled every 20 ms."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop_ev = pid, 0, threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            try:
                self.peak = max(self.peak, rss_kb(self.pid))
            except OSError:
                break
            time.sleep(0.02)

    def stop(self):
        self.stop_ev.set()
        self.join()
        return self.peak


def setup_data(pg):
    pg.psql("""
        CREATE TABLE bench_1m AS
        SELECT g::int8 AS id, substr(md5(g::text), 1, 20)::text AS name,
               now() - g * interval '1 second' AS at, (g %% 100000) / 100.0::numeric(12,2) AS amount,
               g %% 2 = 0 AS flag, md5(g::text)::uuid AS uid,
               jsonb_build_object('k', g %% 10, 'v', 'x') AS doc, g / 7.0::float8 AS ratio
        FROM generate_series(1, %d) g;
        GRANT SELECT ON bench_1m TO tusk;
    """ % ROWS, db="tuskdb")
    # set hint bits and statistics now, not during the first measured round
    pg.psql("VACUUM (FREEZE, ANALYZE) bench_1m", db="tuskdb")


def bench_stream(pg, b):
    q = "select * from bench_1m"
    conninfo = "host=127.0.0.1 port=%d user=tusk dbname=tuskdb sslmode=disable" % pg.port
    env = dict(os.environ, PGPASSWORD="tuskpw")
    url = "postgresql://tusk@127.0.0.1:%d/tuskdb?sslmode=disable" % pg.port
    b.ctl("connect", "-n", "bench", url, env={"PGPASSWORD": "tuskpw"}, check=True)
    cmds = {
        "tuskctl --format csv": [os.path.join(BIN, "tuskctl"), "query", "-c", "bench", "-f", "csv", q],
        "psql -At": ["psql", "-X", "-At", conninfo, "-c", q],
        "bare libpq (csv)": [BARE, conninfo, "csv", q],
        "bare libpq (touch)": [BARE, conninfo, "rows", q],
    }
    envs = {"tuskctl --format csv": b.env}
    times = {k: [] for k in cmds}
    broker_peak = 0
    for _ in range(ROUNDS):
        for name, cmd in cmds.items():
            s = Sampler(b.proc.pid) if name.startswith("tuskctl") else None
            if s:
                s.start()
            times[name].append(timed(cmd, env=envs.get(name, env)))
            if s:
                broker_peak = max(broker_peak, s.stop())
    rss = {name: peak_rss_of(cmd, env=envs.get(name, env)) for name, cmd in cmds.items()}
    base = med(times["bare libpq (csv)"])
    out("### Streaming %s rows × 8 mixed columns to /dev/null (median of %d)" % (format(ROWS, ","), ROUNDS))
    out()
    out("| client | time | range | vs bare libpq (csv) | per-round ratio: median (range) | client peak RSS |")
    out("|---|---|---|---|---|---|")
    for name in cmds:
        t = med(times[name])
        r = [a / b_ for a, b_ in zip(times[name], times["bare libpq (csv)"])]
        out("| %s | %.2f s | %.2f–%.2f s | %.2f× | %.2f× (%.2f–%.2f×) | %.0f MB |"
            % (name, t, min(times[name]), max(times[name]), t / base, med(r), min(r), max(r), rss[name] / 1024))
    out()
    out("Rounds interleave the clients (each round runs each once), so a ratio within a round shares the"
        " machine's load of that moment; the range columns are the spread over the rounds. The ratio of the"
        " medians and the median of the per-round ratios differ when the machine's load changes between"
        " rounds; read both.")
    out()
    out("Broker peak RSS while streaming: **%.1f MB** (target < 32 MB)." % (broker_peak / 1024))
    out()
    b.ctl("disconnect", "bench", check=True)
    return med(times["tuskctl --format csv"]) / base


def proc_switches(pid):
    """Voluntary + involuntary context switches of a process so far."""
    n = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                n += int(line.split()[1])
    return n


def child_usage(cmd, env):
    """Run cmd: its wall time (s), CPU time (ms) and context switches."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    t = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) * 1000
    return t, cpu, (r1.ru_nvcsw + r1.ru_nivcsw) - (r0.ru_nvcsw + r0.ru_nivcsw)


def bench_stream_cpu(pg, b):
    """Where streaming time goes: CPU time and context switches of each
    process on both paths (tuskctl, broker, worker, the server's backend;
    the bare client), rounds interleaved."""
    if not pg.psql("select to_regclass('bench_1m')", db="tuskdb").strip():
        setup_data(pg)
    q = "select * from bench_1m"
    conninfo = "host=127.0.0.1 port=%d user=tusk dbname=tuskdb sslmode=disable" % pg.port
    env = dict(os.environ, PGPASSWORD="tuskpw")
    url = "postgresql://tusk@127.0.0.1:%d/tuskdb?sslmode=disable" % pg.port
    b.ctl("connect", "-n", "benchcpu", url, env={"PGPASSWORD": "tuskpw"}, check=True)
    c = b.client()
    cid = [x for x in c.call("get_active_connections") if x["name"] == "benchcpu"][0]["connection_id"]
    w = [x for x in c.call("list_workers") if x["connection_id"] == cid and x["state"] != "dead"][0]
    procs = {"broker": b.proc.pid, "worker": w["pid"], "backend": w["backend_pid"]}
    tusk = [os.path.join(BIN, "tuskctl"), "query", "-c", "benchcpu", "-f", "csv", q]
    bare = [BARE, conninfo, "csv", q]
    keys = ["tuskctl", "broker", "worker", "backend", "bare client"]
    cpu = {k: [] for k in keys}
    cs = {k: [] for k in keys}
    wall = {"tusk": [], "bare": []}
    for _ in range(ROUNDS):
        before = {k: (proc_cpu_s(p), proc_switches(p)) for k, p in procs.items()}
        t, u, n = child_usage(tusk, b.env)
        wall["tusk"].append(t)
        cpu["tuskctl"].append(u)
        cs["tuskctl"].append(n)
        for k, p in procs.items():
            cpu[k].append((proc_cpu_s(p) - before[k][0]) * 1000)
            cs[k].append(proc_switches(p) - before[k][1])
        t, u, n = child_usage(bare, env)
        wall["bare"].append(t)
        cpu["bare client"].append(u)
        cs["bare client"].append(n)
    b.ctl("disconnect", "benchcpu", check=True)
    tusk_sum = sum(med(cpu[k]) for k in ("tuskctl", "broker", "worker", "backend"))
    bare_sum = med(cpu["bare client"]) + med(cpu["backend"])
    out("### Where streaming time goes: CPU per process, `select * from bench_1m` to CSV (median of %d)" % ROUNDS)
    out()
    out("| process | CPU time | range | context switches |")
    out("|---|---|---|---|")
    for k in ("backend", "worker", "broker", "tuskctl", "bare client"):
        out("| %s | %.0f ms | %.0f–%.0f ms | %.0f |" % (k, med(cpu[k]), min(cpu[k]), max(cpu[k]), med(cs[k])))
    out()
    out("Whole Tusk path: **%.0f ms** of CPU (backend included) for %.2f s of wall time; bare path: %.0f ms"
        " (its backend counted as Tusk's, the same query) for %.2f s. On %d CPUs the Tusk path cannot"
        " finish before its CPU total / %d = %.2f s; the bare client's bound is its slowest process, the"
        " backend (%.2f s)." % (tusk_sum, med(wall["tusk"]), bare_sum, med(wall["bare"]), os.cpu_count(),
                                os.cpu_count(), tusk_sum / 1000 / os.cpu_count(),
                                max(med(cpu["backend"]), med(cpu["bare client"])) / 1000))
    out()


def bench_copy(pg, b):
    """export_query and import_file against psql's \\copy, on bench_1m."""
    if not pg.psql("select to_regclass('bench_1m')", db="tuskdb").strip():
        setup_data(pg)
    pg.psql("DROP TABLE IF EXISTS bench_imp; CREATE TABLE bench_imp (LIKE bench_1m);"
            "ALTER TABLE bench_imp OWNER TO tusk", db="tuskdb")
    url = "postgresql://tusk@127.0.0.1:%d/tuskdb?sslmode=disable" % pg.port
    b.ctl("connect", "-n", "benchcopy", url, env={"PGPASSWORD": "tuskpw"}, check=True)
    env = dict(os.environ, PGPASSWORD="tuskpw")
    psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(pg.port),
            "-U", "tusk", "-d", "tuskdb", "-c"]
    d = tempfile.mkdtemp(prefix="tbc.", dir="/tmp")
    tf, pf = os.path.join(d, "tusk.csv"), os.path.join(d, "psql.csv")
    ctl = os.path.join(BIN, "tuskctl")
    q = "select * from bench_1m"
    # the timezone is the server's for both (the session default)
    exports = {
        "tuskctl export -f csv": ([ctl, "export", "-c", "benchcopy", "-f", "csv", "-o", tf, q], b.env),
        "psql \\copy … to FILE csv header": (psql + ["\\copy (%s) to '%s' csv header" % (q, pf)], env),
    }
    imports = {
        "tuskctl import": ([ctl, "import", "-c", "benchcopy", "-t", "bench_imp", pf], b.env),
        "psql \\copy … from FILE csv header": (psql + ["\\copy bench_imp from '%s' csv header" % pf], env),
    }
    times = {k: [] for k in list(exports) + list(imports)}
    peak = 0
    for _ in range(ROUNDS):
        for name, (cmd, e) in list(exports.items()) + list(imports.items()):
            if name in imports:
                pg.psql("TRUNCATE bench_imp", db="tuskdb")
            s = Sampler(b.proc.pid) if name.startswith("tuskctl") else None
            if s:
                s.start()
            times[name].append(timed(cmd, env=e))
            if s:
                peak = max(peak, s.stop())
    with open(tf, "rb") as f1, open(pf, "rb") as f2:
        same = f1.read() == f2.read()
    size = os.path.getsize(tf)
    n = pg.psql("select count(*) from bench_imp", db="tuskdb").strip()
    out("### Export and import: %s rows × 8 columns, %.0f MB of CSV (median of %d)"
        % (format(ROWS, ","), size / 1e6, ROUNDS))
    out()
    out("| operation | time | vs psql |")
    out("|---|---|---|")
    ratios = {}
    for group in (exports, imports):
        names = list(group)
        base = med(times[names[1]])
        for name in names:
            t = med(times[name])
            ratios[name] = t / base
            out("| %s | %.2f s | %.2f× |" % (name, t, t / base))
    out()
    out("The exported file is %s psql's (%d bytes); the import loaded %s rows. Broker peak RSS "
        "during export and import: **%.1f MB** (target < 32 MB); targets: export and import "
        "within 1.25× psql." % ("byte-identical to" if same else "**different from**", size, n,
                                peak / 1024))
    out()
    b.ctl("disconnect", "benchcopy", check=True)
    subprocess.run(["rm", "-rf", d])
    return ratios


def bench_cancel(pg, b):
    conninfo = "host=127.0.0.1 port=%d user=tusk dbname=tuskdb sslmode=disable" % pg.port
    env = dict(os.environ, PGPASSWORD="tuskpw")
    r = subprocess.run([BARE, conninfo, "cancel", "20"], env=env, stdout=subprocess.PIPE, check=True)
    bare = [float(x) for x in r.stdout.split()]
    c = b.client()
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    ours = []
    for i in range(20):
        mid = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(30)", query_id="c%d" % i))
        time.sleep(0.2)
        t0 = time.perf_counter()
        c2 = c.send("cancel_query", dict(query_id="c%d" % i))
        try:
            c.wait_reply(mid)
        except Exception:
            pass
        ours.append((time.perf_counter() - t0) * 1000)
        c.wait_reply(c2)
    c.call("disconnect", connection_id=cid)
    out("### Cancel: request → the query's end (median of 20)")
    out()
    out("| path | median | p90 |")
    out("|---|---|---|")
    out("| bare PQcancel | %.1f ms | %.1f ms |" % (med(bare), sorted(bare)[17]))
    out("| Tusk cancel_query (client → broker → worker → server → back) | %.1f ms | %.1f ms |"
        % (med(ours), sorted(ours)[17]))
    out()
    out("Ratio: **%.2f×** (target within 2×)." % (med(ours) / med(bare)))
    out()


def bench_connect(pg, b):
    conninfo = "host=127.0.0.1 port=%d user=tusk dbname=tuskdb sslmode=disable" % pg.port
    env = dict(os.environ, PGPASSWORD="tuskpw")
    bare, psql, ours = [], [], []
    c = b.client()
    for _ in range(20):
        t0 = time.perf_counter()
        subprocess.run([BARE, conninfo, "connect"], env=env, stdout=subprocess.DEVNULL, check=True)
        bare.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        subprocess.run(["psql", "-X", "-At", conninfo, "-c", "select 1"], env=env,
                       stdout=subprocess.DEVNULL, check=True)
        psql.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
        c.query(cid, "select 1")
        ours.append((time.perf_counter() - t0) * 1000)
        c.call("disconnect", connection_id=cid)
    out("### Connect + `select 1` (median of 20; scram-sha-256 on loopback)")
    out()
    out("| path | median |")
    out("|---|---|")
    out("| bare libpq, fresh process | %.1f ms |" % med(bare))
    out("| psql -c 'select 1' | %.1f ms |" % med(psql))
    out("| Tusk connect + execute_query (worker spawn and sandbox included) | %.1f ms |" % med(ours))
    out()
    out("Ratio to the bare client: **%.2f×** (target within 1.2×)." % (med(ours) / med(bare)))
    out()


def bench_cold_start():
    times = []
    for _ in range(10):
        home = tempfile.mkdtemp(prefix="tb.", dir="/tmp")
        env = dict(os.environ, TUSK_HOME=home)
        sock = os.path.join(home, "run", "tuskd.sock")
        t0 = time.perf_counter()
        p = subprocess.Popen([os.path.join(BIN, "tuskd"), "--foreground"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            try:
                c = Client(sock)
                c.call("health_check")
                break
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.0005)
        times.append((time.perf_counter() - t0) * 1000)
        c.close()
        p.send_signal(signal.SIGTERM)
        p.wait()
        subprocess.run(["rm", "-rf", home])
    out("### Cold start: exec of tuskd → first health_check answered (median of 10)")
    out()
    out("**%.1f ms** (target < 20 ms)." % med(times))
    out()


def bench_idle_and_cycles(pg, b):
    c = b.client()
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    time.sleep(0.5)
    w = [x for x in c.call("list_workers") if x["connection_id"] == cid and x["state"] != "dead"][0]
    worker = smaps(w["pid"])
    c.call("disconnect", connection_id=cid)
    c.close()
    b2 = Broker()
    time.sleep(0.5)
    broker = smaps(b2.proc.pid)
    c = b2.client()
    for _ in range(10):  # warm up allocator pools
        cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
        c.call("disconnect", connection_id=cid)
    before = rss_kb(b2.proc.pid)
    for _ in range(100):
        cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
        c.query(cid, "select 1")
        c.call("disconnect", connection_id=cid)
    time.sleep(0.5)
    after = rss_kb(b2.proc.pid)
    c.close()
    b2.stop(check=False)
    b2.cleanup()
    out("### Memory")
    out()
    out("| process | RSS | PSS | private (USS) |")
    out("|---|---|---|---|")
    for name, m in (("idle broker (target < 10 MB)", broker), ("idle worker, connected (target < 6 MB)", worker)):
        out("| %s | %.1f MB | %.1f MB | %.1f MB |" % (name, m["Rss"] / 1024, m["Pss"] / 1024, m["Uss"] / 1024))
    out()
    out("RSS counts the shared libraries' pages (libpq, OpenSSL, libc...) in every process;")
    out("USS is what one more process really costs.")
    out()
    out("| broker cycles | RSS |")
    out("|---|---|")
    out("| broker before / after 100 connect+query+disconnect cycles | %.1f MB / %.1f MB: **%+.1f%%** (target < 5%%) |"
        % (before / 1024, after / 1024, (after - before) * 100.0 / before))
    out()


def proc_cpu_s(pid):
    """User + system CPU seconds of a process (all its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def bench_history(pg, b):
    """10,000 `select 1` in a loop with the query history on and 10,000 with
    it off, in the same run: recording must cost under 3%. The machine is
    shared, so the two loops are cut into blocks that alternate (on, off,
    off, on, ...): drift in the machine's load falls on both alike, and the
    median of the block pairs' ratios is not moved by a block that another
    process happened to slow down. The broker's own CPU time (its loop and
    the history thread) is measured too."""
    c = b.client()
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    n = int(os.environ.get("TUSK_BENCH_HISTORY_N", "10000"))
    block = 250

    def loop(k):
        t0 = time.perf_counter()
        for _ in range(k):
            c.query(cid, "select 1")
        return time.perf_counter() - t0

    loop(2000)  # warm up
    c.call("delete_history", all=True)
    times = {True: [], False: []}
    cpu = {True: 0.0, False: 0.0}
    for r in range(n // block):
        for on in ((True, False) if r % 2 == 0 else (False, True)):
            c.call("set_preference", key="history.enabled", value=on)
            c0 = proc_cpu_s(b.proc.pid)
            times[on].append(loop(block))
            if on:
                c.call("get_history", limit=1)  # what is still queued is written now, on this block's account
            cpu[on] += proc_cpu_s(b.proc.pid) - c0
    c.call("set_preference", key="history.enabled", value=True)
    kept = len(c.call("get_history", search="select", limit=10000))
    c.call("delete_history", all=True)
    c.call("disconnect", connection_id=cid)
    c.close()
    on, off = sum(times[True]), sum(times[False])
    pairs = sorted(a / b_ for a, b_ in zip(times[True], times[False]))
    out("### Query history")
    out()
    out("| %d × `select 1` with history on, %d with it off (blocks of %d, alternating) | on | off | on / off |"
        % (n, n, block))
    out("|---|---|---|---|")
    out("| wall time, median of the %d block pairs' ratios (target < 1.03) | | | **%.3f** |" % (len(pairs), med(pairs)))
    out("| wall time, all blocks | %.0f ms (%.0f µs/query) | %.0f ms (%.0f µs/query) | %.3f |"
        % (on * 1000, on * 1e6 / n, off * 1000, off * 1e6 / n, on / off))
    out("| the broker's CPU (loop and history thread) | %.1f µs/query | %.1f µs/query | %.3f |"
        % (cpu[True] * 1e6 / n, cpu[False] * 1e6 / n, cpu[True] / cpu[False] if cpu[False] else float("nan")))
    out()
    out("Entries recorded: %d (every statement run while on). Recording is a few copies on the" % kept)
    out("broker's loop; masking and the SQLite writes happen in batches on the history thread.")
    out()


def bench_sessions(pg, b):
    """20 query tabs on one saved connection: 20 sessions (workers). What
    they cost in private memory (USS) and proportional set size (PSS)."""
    c = b.client()
    sid = c.call("save_connection", config=pg.config(name="bench sessions"), password="tuskpw")["config"]["id"]
    ids = [c.call("connect", id=sid, new_session=True, label="Query %d" % (i + 1))["connection_id"]
           for i in range(20)]
    for cid in ids:
        c.query(cid, "select * from pg_class limit 100")
    time.sleep(0.5)
    pids = [w["pid"] for w in c.call("list_workers") if w["connection_id"] in ids and w["state"] != "dead"]
    assert len(pids) == 20, pids
    m = [smaps(p) for p in pids]
    uss = sum(x["Uss"] for x in m) / 1024
    pss = sum(x["Pss"] for x in m) / 1024
    rss = sum(x["Rss"] for x in m) / 1024
    for cid in ids:
        c.call("disconnect", connection_id=cid)
    c.call("delete_connection", id=sid)
    c.close()
    out("### A session per tab")
    out()
    out("| 20 sessions (workers) on one saved connection, connected, each ran a query | total | per session |")
    out("|---|---|---|")
    out("| private memory (USS; target < 60 MB, 3 MB a session) | **%.1f MB** | %.2f MB |" % (uss, uss / 20))
    out("| PSS (shared pages divided among the processes that map them) | %.1f MB | %.2f MB |" % (pss, pss / 20))
    out("| RSS (counts shared libraries in each) | %.1f MB | %.2f MB |" % (rss, rss / 20))
    out()


def bench_valgrind(pg):
    home = tempfile.mkdtemp(prefix="tv.", dir="/tmp")
    env = dict(os.environ, TUSK_HOME=home)
    log = os.path.join(home, "valgrind.log")
    p = subprocess.Popen(["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
                          "--log-file=" + log, os.path.join(BIN, "tuskd"), "--foreground"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = os.path.join(home, "run", "tuskd.sock")
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            c = Client(sock)
            c.call("health_check")
            break
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.1)
    for _ in range(20):
        cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
        c.query(cid, "select g from generate_series(1, 1000) g")
        c.call("disconnect", connection_id=cid)
    c.close()
    p.send_signal(signal.SIGTERM)
    p.wait(120)
    text = open(log).read()
    m = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
    definite = m.group(1) if m else "0"
    errs = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    out("### valgrind: the broker over 20 connect/query/disconnect cycles")
    out()
    out("definitely lost: **%s bytes**; memcheck errors: %s." % (definite, errs.group(1) if errs else "?"))
    out()
    subprocess.run(["rm", "-rf", home])


def bench_supervision(pg):
    out("### Supervision")
    out()
    # hang → kill and report, at the default 1 s heartbeat
    b = Broker()
    c = b.client()
    hang = []
    for _ in range(5):
        cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
        w = [x for x in c.call("list_workers") if x["connection_id"] == cid and x["state"] != "dead"][0]
        mid = c.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(60)"))
        time.sleep(0.1)
        t0 = time.perf_counter()
        os.kill(w["pid"], signal.SIGSTOP)
        try:
            c.wait_reply(mid)
        except Exception:
            pass
        hang.append((time.perf_counter() - t0) * 1000)
        c.call("disconnect", connection_id=cid)
    # kill_worker → backend gone from pg_stat_activity
    gone = []
    for _ in range(5):
        cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
        w = [x for x in c.call("list_workers") if x["connection_id"] == cid and x["state"] != "dead"][0]
        c.send("execute_query", dict(connection_id=cid, sql="select count(*) from generate_series(1, 1e10::bigint)"))
        time.sleep(0.2)
        t0 = time.perf_counter()
        Client(b.sock).call("kill_worker", connection_id=cid)
        while w["backend_pid"] in pg.backends():
            time.sleep(0.002)
        gone.append((time.perf_counter() - t0) * 1000)
        c.call("disconnect", connection_id=cid)
    out("| what | median | max |")
    out("|---|---|---|")
    out("| SIGSTOP of a busy worker → its query fails WorkerLost (hung), heartbeat 1 s | %.0f ms | %.0f ms |"
        % (med(hang), max(hang)))
    out("| kill_worker → backend gone from pg_stat_activity | %.0f ms | %.0f ms |" % (med(gone), max(gone)))
    out()
    # p99 of 19 busy connections, with and without a neighbour killed every second
    def run_load(seconds, kill):
        lat, stop, errors = [], threading.Event(), []

        def loop():
            cl = Client(b.sock)
            cid = cl.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    cl.query(cid, "select count(*) from generate_series(1, 1000)")
                except Exception as e:  # noqa: BLE001
                    errors.append(e)
                lat.append((time.perf_counter() - t) * 1000)
            cl.call("disconnect", connection_id=cid)
        ts = [threading.Thread(target=loop) for _ in range(19)]
        for t in ts:
            t.start()
        time.sleep(0.5)
        lat.clear()
        end = time.time() + seconds
        killer = Client(b.sock)
        while time.time() < end:
            if kill:
                cid = killer.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
                killer.send("execute_query", dict(connection_id=cid, sql="select pg_sleep(30)"))
                time.sleep(0.1)
                Client(b.sock).call("kill_worker", connection_id=cid)
                killer.call("disconnect", connection_id=cid)
                time.sleep(max(0, 0.9))
            else:
                time.sleep(1)
        stop.set()
        for t in ts:
            t.join()
        return p99(lat), len(lat), len(errors)
    base, n1, e1 = run_load(5, False)
    with_kill, n2, e2 = run_load(5, True)
    out("| 19 busy connections | p99 latency | queries | errors |")
    out("|---|---|---|---|")
    out("| quiet neighbours | %.1f ms | %d | %d |" % (base, n1, e1))
    out("| a neighbour killed every second | %.1f ms | %d | %d |" % (with_kill, n2, e2))
    out()
    out("p99 ratio: **%.2f×**." % (with_kill / base))
    out()
    b.stop(check=False)
    b.cleanup()


def bench_many(pg):
    """100 connections open at once from one client process, 10 threads
    (each its own socket to the broker): the time until all are connected
    and have answered `select 1`, against 100 bare libpq connects made the
    same way (10 threads of one process); then what the broker and the 100
    workers hold."""
    n, nthreads = 100, 10
    conninfo = "host=127.0.0.1 port=%d user=tusk dbname=tuskdb sslmode=disable" % pg.port
    env = dict(os.environ, PGPASSWORD="tuskpw")
    rounds = max(3, ROUNDS)
    ours, bare, procs, mem = [], [], [], None
    b = Broker()
    try:
        for r in range(rounds):
            r_bare = subprocess.run([BARE, conninfo, "many", str(n), str(nthreads)], env=env,
                                    stdout=subprocess.PIPE, check=True)
            bare.append(float(r_bare.stdout.decode().strip()))
            # a process per connection, as Tusk's workers are: 10 threads each
            # start 10 `bare_client connect` one after the other
            t0 = time.perf_counter()
            def bare_procs():
                for _ in range(n // nthreads):
                    subprocess.run([BARE, conninfo, "connect"], env=env, stdout=subprocess.DEVNULL, check=True)
            ps = [threading.Thread(target=bare_procs) for _ in range(nthreads)]
            for t in ps:
                t.start()
            for t in ps:
                t.join()
            procs.append((time.perf_counter() - t0) * 1000)
            clients = [Client(b.sock, timeout=60) for _ in range(nthreads)]
            ids = [[] for _ in range(nthreads)]
            errors = []
            go = threading.Barrier(nthreads + 1)

            def opener(i):
                go.wait()
                try:
                    for _ in range(n // nthreads):
                        cid = clients[i].call("connect", config=pg.config(), password="tuskpw")["connection_id"]
                        clients[i].query(cid, "select 1")
                        ids[i].append(cid)
                except Exception as e:  # noqa: BLE001
                    errors.append(e)
            ts = [threading.Thread(target=opener, args=(i,)) for i in range(nthreads)]
            for t in ts:
                t.start()
            go.wait()
            t0 = time.perf_counter()
            for t in ts:
                t.join()
            ours.append((time.perf_counter() - t0) * 1000)
            assert not errors, errors[:3]
            if r == rounds - 1:
                time.sleep(0.5)
                all_ids = {c for xs in ids for c in xs}
                pids = [w["pid"] for w in clients[0].call("list_workers")
                        if w["connection_id"] in all_ids and w["state"] != "dead"]
                assert len(pids) == n, len(pids)
                mem = (smaps(b.proc.pid), [smaps(p) for p in pids])
            for i in range(nthreads):
                for cid in ids[i]:
                    clients[i].call("disconnect", connection_id=cid)
                clients[i].close()
    finally:
        b.stop(check=False)
        b.cleanup()
    broker, workers = mem
    uss = [w["Uss"] / 1024 for w in workers]
    pss = [w["Pss"] / 1024 for w in workers]
    out("### Many connections: %d open at once from one client, %d threads (median of %d)" % (n, nthreads, rounds))
    out()
    out("| path | all connected (median) | range |")
    out("|---|---|---|")
    out("| bare libpq, %d threads of one process (connect + `select 1`) | %.0f ms | %.0f–%.0f ms |"
        % (nthreads, med(bare), min(bare), max(bare)))
    out("| bare libpq, a fresh process per connection (%d threads each run `bare_client connect` %d times) | %.0f ms | %.0f–%.0f ms |"
        % (nthreads, n // nthreads, med(procs), min(procs), max(procs)))
    out("| Tusk: %d socket clients, connect + execute_query `select 1` (target < 3 s) | **%.0f ms** | %.0f–%.0f ms |"
        % (nthreads, med(ours), min(ours), max(ours)))
    out()
    out("Ratio to the bare client in one process: **%.2f×** (per-round ratios %.2f–%.2f×); to a fresh bare"
        " process per connection: **%.2f×** (%.2f–%.2f×). Tusk starts a sandboxed worker process per"
        " connection, so the second is the like-for-like figure; the first adds what exec and dynamic"
        " linking cost." % (med(ours) / med(bare), min(o / b_ for o, b_ in zip(ours, bare)),
                             max(o / b_ for o, b_ in zip(ours, bare)), med(ours) / med(procs),
                             min(o / p_ for o, p_ in zip(ours, procs)), max(o / p_ for o, p_ in zip(ours, procs))))
    out()
    out("| with %d connected | RSS | PSS | private (USS) |" % n)
    out("|---|---|---|---|")
    out("| broker (target RSS < 20 MB) | **%.1f MB** | %.1f MB | %.1f MB |"
        % (broker["Rss"] / 1024, broker["Pss"] / 1024, broker["Uss"] / 1024))
    out("| %d workers, sum | %.1f MB | %.1f MB | %.1f MB |"
        % (n, sum(w["Rss"] for w in workers) / 1024, sum(pss), sum(uss)))
    out("| one worker, median (max) (target private < 3 MB) | %.2f MB | %.2f (%.2f) MB | **%.2f (%.2f) MB** |"
        % (med([w["Rss"] / 1024 for w in workers]), med(pss), max(pss), med(uss), max(uss)))
    out()
    out("19 busy connections while a neighbour is killed every second: see Supervision (errors column).")
    out()


def psql_timings(pg, sql, n):
    """psql's own \\timing of one statement, run n times in one session (ms)."""
    script = "\\timing on\n" + (sql + ";\n") * n
    env = dict(os.environ, PGPASSWORD="tuskpw")
    r = subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "tusk", "-d", "tuskdb"],
                       input=script, env=env, stdout=subprocess.PIPE, text=True, check=True)
    return [float(x) for x in re.findall(r"^Time: ([0-9.]+) ms", r.stdout, re.M)]


def bench_table(pg, b):
    """open_table's keyset paging over 1,000,000 rows: the first page and the
    page at row 999,000 cost the same; psql's keyset query for comparison."""
    pg.psql("""
        DROP TABLE IF EXISTS bench_keyset;
        CREATE TABLE bench_keyset (id int8 PRIMARY KEY, name text NOT NULL, amount numeric(12, 2),
                                   at timestamptz, note text);
        INSERT INTO bench_keyset SELECT g, md5(g::text), (g %% 100000) / 100.0, now() - g * interval '1 s',
               CASE WHEN g %% 10 = 0 THEN NULL ELSE 'note ' || g END FROM generate_series(1, %d) g;
        CREATE INDEX ON bench_keyset (name);
        ALTER TABLE bench_keyset OWNER TO tusk;
    """ % ROWS, db="tuskdb")
    pg.psql("VACUUM (FREEZE, ANALYZE) bench_keyset", db="tuskdb")
    c = b.client()
    cid = c.call("connect", config=pg.config(), password="tuskpw")["connection_id"]
    deep = ROWS - 1000
    name_at = pg.psql("SELECT name || '|' || id FROM bench_keyset ORDER BY name DESC, id DESC OFFSET %d LIMIT 1"
                      % (deep - 1), db="tuskdb").strip().split("|")
    cases = [
        ("by key, first page", {}, "SELECT * FROM bench_keyset ORDER BY id LIMIT 101"),
        ("by key, page at row %d" % deep, {"after": [str(deep)]},
         "SELECT * FROM bench_keyset WHERE id > %d ORDER BY id LIMIT 101" % deep),
        ("by name desc, first page", {"order_by": [{"column": "name", "desc": True}]},
         "SELECT * FROM bench_keyset ORDER BY name DESC, id DESC LIMIT 101"),
        ("by name desc, page at row %d" % deep,
         {"order_by": [{"column": "name", "desc": True}], "after": name_at},
         "SELECT * FROM bench_keyset WHERE (name, id) < ('%s', %s) ORDER BY name DESC, id DESC LIMIT 101"
         % tuple(name_at)),
    ]
    out("### Table data: `open_table` keyset paging over %d rows, 100-row pages (median of 20)" % ROWS)
    out()
    out("| page | Tusk open_table (catalog + page, client → broker → worker → server) | psql, the same keyset query (\\timing) |")
    out("|---|---|---|")
    worst = 0
    for label, kw, psql_sql in cases:
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            r = c.call("open_table", connection_id=cid, schema="public", table="bench_keyset", limit=100, **kw)
            times.append((time.perf_counter() - t0) * 1000)
            assert len(r["rows"]) == 100
        worst = max(worst, med(times))
        out("| %s | %.1f ms | %.1f ms |" % (label, med(times), med(psql_timings(pg, psql_sql, 20))))
    c.call("disconnect", connection_id=cid)
    out()
    out("Slowest page: **%.1f ms** (target < 50 ms a page, the deepest as fast as the first)." % worst)
    out()


def bench_frontend(pg, b):
    """The web frontend in Chromium on bench_1m (tests/bench/frontend.mjs)."""
    if not pg.psql("select to_regclass('bench_1m')", db="tuskdb").strip():
        setup_data(pg)
    time.sleep(0.5)
    broker_idle = smaps(b.proc.pid)
    # the terminal's figure for the same query in the same run (issue 16, goal 1)
    url = "postgresql://tusk@127.0.0.1:%d/tuskdb?sslmode=disable" % pg.port
    b.ctl("connect", "-n", "bench-csv", url, env={"PGPASSWORD": "tuskpw"}, check=True)
    ctl = [os.path.join(BIN, "tuskctl"), "query", "-c", "bench-csv", "-f", "csv", "select * from bench_1m"]
    ctl_before = [timed(ctl, env=b.env) for _ in range(min(ROUNDS, 3))]
    env = dict(b.env, BENCH_PG_PORT=str(pg.port), TUSK_BIN=BIN, BENCH_ROUNDS=str(min(ROUNDS, 5)),
               BENCH_BROKER_PID=str(b.proc.pid))
    r = subprocess.run(["node", os.path.join(HERE, "frontend.mjs")], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError("frontend.mjs failed: %s" % r.stderr.decode()[-3000:])
    m = json.loads(r.stdout.decode().strip().splitlines()[-1])
    ctl_times = ctl_before + [timed(ctl, env=b.env) for _ in range(min(ROUNDS, 3))]
    b.ctl("disconnect", "bench-csv", check=True)
    ctl_ms = med(ctl_times) * 1000
    mb = 1024 * 1024
    out("### The web frontend in Chromium: `%s` (%s rows x 8 columns, median of %d)"
        % (m["sql"], format(m["rows"], ","), len(m["runs"])))
    out()
    out("| what | measured | target |")
    out("|---|---|---|")
    lasts = [x["last_row_ms"] for x in m["runs"]]
    bares = [x["last_row_ms"] for x in m["bare"]]
    out("| time to first row (Run to the first batch in the page) | %.0f ms | |" % m["first_row_ms"])
    out("| the first result in a fresh page: first row / last row (not in the medians) | %.0f ms / %.2f s | |"
        % (m["cold"]["first_row_ms"], m["cold"]["last_row_ms"] / 1000))
    out("| time to last row (Run to the whole result in the grid's store; %.2f–%.2f s) | %.2f s | |"
        % (min(lasts) / 1000, max(lasts) / 1000, m["last_row_ms"] / 1000))
    out("| `tuskctl --format csv` on the same query, same run (median of %d, %.2f–%.2f s) | %.2f s | |"
        % (len(ctl_times), min(ctl_times), max(ctl_times), ctl_ms / 1000))
    out("| the page's last row vs tuskctl | **%.2f×** | ≤ 1.5× |" % (m["last_row_ms"] / ctl_ms))
    out("| a bare WebSocket page on the same gateway receiving the same %s messages in %s WebSocket messages (%.1f MB), doing nothing else (%.2f–%.2f s) | %.2f s | |"
        % (format(m["ws_messages"], ","), format(m["ws_frames"], ","), m["ws_bytes"] / 1e6, min(bares) / 1000, max(bares) / 1000, m["bare_ms"] / 1000))
    out("| the page vs that bare WebSocket (the page's own cost) | %.2f× | |" % (m["last_row_ms"] / m["bare_ms"]))
    out("| the bare WebSocket vs tuskctl (the gateway + Chromium's cost) | %.2f× | |" % (m["bare_ms"] / ctl_ms))
    a = m["arriving"]
    out("| frame time while the rows arrive (all runs): median / p95 / max | %.1f / %.1f / %.1f ms (%d frames) | 16.7 ms (60 fps) |"
        % (a["median_ms"], a["p95_ms"], a["max_ms"], a["frames"]))
    out("| JS heap after the result (after GC) | **%.1f MB** | < 150 MB (seed: < 500 MB) |" % (m["js_heap_used"] / mb))
    out("| row batches held as bytes (ArrayBuffers, outside the JS heap) | %.1f MB | |" % (m["row_bytes"] / mb))
    out("| JS heap + row bytes | %.1f MB | |" % ((m["js_heap_used"] + m["row_bytes"]) / mb))
    for k, what in (("sweep", "sweeping the whole result (0.5% a frame)"), ("wheel", "wheel-like scrolling (3 rows a frame)")):
        s = m["scroll"][k]
        out("| frame time %s: median / p95 / max | %.1f / %.1f / %.1f ms (%d frames) | 16.7 ms (60 fps) |"
            % (what, s["median_ms"], s["p95_ms"], s["max_ms"], s["frames"]))
    g = m.get("grid", {})
    for k, what in (("sort_text", "sorting the 1M rows by a text column"), ("sort_number", "sorting them by a float column"),
                    ("filter", "filtering them by text"), ("select_copy_1k", "selecting (Shift+PageDown) and copying ~1,000 rows"),
                    ("select_copy_100k", "selecting all (Shift+Ctrl+End) and copying (capped at 100,000 rows)"),
                    ("cell_viewer", "opening the cell viewer")):
        if k not in g:
            continue
        s = g[k]
        extra = (" in %.1f s" % (s["total_ms"] / 1000)) if "total_ms" in s else ""
        out("| frame time %s%s: median / p95 / max | %.1f / %.1f / %.1f ms (%d frames) | 16.7 ms (60 fps) |"
            % (what, extra, s["median_ms"], s["p95_ms"], s["max_ms"], s["frames"]))
    out("| DOM nodes in the page | %s | |" % m["dom_nodes"])
    out()
    kinds = ["renderer", "network", "browser", "gpu-process", "gateway", "broker", "worker"]
    out("CPU time of each process while the result arrives (median of %d runs; the server's backend not included):" % len(m["runs"]))
    out()
    out("| process | the page | bare WebSocket |")
    out("|---|---|---|")
    for k in kinds + sorted(set(m["cpu"]) - set(kinds)):
        out("| %s | %.0f ms | %.0f ms |" % (k, m["cpu"].get(k, 0), m["bare_cpu"].get(k, 0)))
    out("| all | %.0f ms | %.0f ms |" % (sum(m["cpu"].values()), sum(m["bare_cpu"].values())))
    out()
    gw_idle, gw_page = m["gateway_idle"], m["gateway_with_page"]
    out("| process | RSS | PSS | private (USS) |")
    out("|---|---|---|---|")
    out("| idle broker | %.1f MB | %.1f MB | %.1f MB |" % (broker_idle["Rss"] / 1024, broker_idle["Pss"] / 1024, broker_idle["Uss"] / 1024))
    out("| idle tusk-ui gateway | %.1f MB | %.1f MB | %.1f MB |" % (gw_idle["Rss"] / 1024, gw_idle["Pss"] / 1024, gw_idle["Uss"] / 1024))
    out("| tusk-ui with one idle page connected | %.1f MB | %.1f MB | %.1f MB |" % (gw_page["Rss"] / 1024, gw_page["Pss"] / 1024, gw_page["Uss"] / 1024))
    out()
    out("Broker + gateway idle: RSS **%.1f MB**, PSS %.1f MB (target < 15 MB)."
        % ((broker_idle["Rss"] + gw_page["Rss"]) / 1024, (broker_idle["Pss"] + gw_page["Pss"]) / 1024))
    out()


def xvfb_start():
    """An Xvfb server on a free display: (process, ":N")."""
    x = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return x, ":" + x.stdout.readline().decode().strip()


def proc_tree(pid):
    """pid and its live descendants."""
    return [pid] + descendants(pid)


def window_memory(pid):
    """[(name, smaps)] of the window's processes (tusk and its descendants)."""
    rows = []
    for q in proc_tree(pid):
        try:
            with open("/proc/%d/cmdline" % q) as f:
                name = os.path.basename(f.read().split("\0")[0])
            rows.append((name, smaps(q)))
        except OSError:
            pass
    order = ["tusk", "WebKitWebProcess", "WebKitNetworkProcess", "tusk-ui"]
    rows.sort(key=lambda r: order.index(r[0]) if r[0] in order else len(order))
    return rows


def window_open(env):
    """exec of tusk → its "ready" line (the page painted the connection list):
    (the running tusk, ms)."""
    t0 = time.perf_counter()
    p = subprocess.Popen([os.path.join(BIN, "tusk")], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.readline()  # the address
    line = p.stdout.readline()
    ms = (time.perf_counter() - t0) * 1000
    if line.strip() != b"ready":
        p.kill()
        raise RuntimeError("tusk ended before its page was ready (exit %s)" % p.wait())
    return p, ms


def window_close(p):
    p.send_signal(signal.SIGTERM)
    if p.wait(timeout=30) != 0:
        raise RuntimeError("tusk exited %d" % p.returncode)


def broker_gone(sock):
    while True:
        try:
            Client(sock).close()
        except (FileNotFoundError, ConnectionRefusedError):
            return
        time.sleep(0.005)


class WebDriver:
    """A W3C WebDriver session on WebKitWebDriver (plain HTTP)."""

    def __init__(self, port):
        self.base, self.sid = "http://127.0.0.1:%d" % port, None

    def req(self, method, path, body=None):
        import urllib.error
        import urllib.request
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(self.base + path, data=data, method=method,
                                   headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(r, timeout=120) as f:
                return json.loads(f.read())["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError("%s %s: %s" % (method, path, e.read()[:300]))

    def start(self, caps):
        self.sid = self.req("POST", "/session", {"capabilities": {"alwaysMatch": caps}})["sessionId"]

    def run(self, script):
        return self.req("POST", "/session/%s/execute/sync" % self.sid, {"script": script, "args": []})

    def stop(self):
        self.req("DELETE", "/session/%s" % self.sid)


def window_after_1m(pg, env):
    """The window driven by WebKitWebDriver: connect, run `select * from
    bench_1m` in its tab, wait for the whole result in the grid's store;
    [(name, smaps)] of the window's processes then, and the rows held."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    drv = subprocess.Popen(["WebKitWebDriver", "--port=%d" % port], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    wd = WebDriver(port)
    try:
        deadline = time.time() + 20
        while True:
            try:
                wd.req("GET", "/status")
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        wd.start({"webkitgtk:browserOptions": {"binary": os.path.join(BIN, "tusk"), "args": ["--automation"]}})
        tusk = [q for q in proc_tree(drv.pid) if open("/proc/%d/comm" % q).read().strip() == "tusk"][0]
        until = lambda cond, what, secs=60: wait_js(wd, cond, what, secs)  # noqa: E731
        until("return window.tusk?.link === 'open' && window.tusk.tabs.length > 0", "the page up")
        wd.run("""window.tusk.connect({config: {name: 'bench', host: '127.0.0.1', port: %d, database: 'tuskdb',
                    username: 'tusk', ssl_mode: 'disable'}}, {password: 'tuskpw'}).then((id) => {
                  const t = window.tusk.tabs[window.tusk.current]; t.connectionId = id;
                  window.__benchRun = t.run('select * from bench_1m', 0); })""" % pg.port)
        until("const t = window.tusk.tabs[window.tusk.current]; return !!window.__benchRun && !t.running && !!(t.totals || t.error)",
              "the 1M-row result", 300)
        r = wd.run("const t = window.tusk.tabs[window.tusk.current]; return {rows: t.store?.rowCount, error: t.error?.message ?? null}")
        if r["error"]:
            raise RuntimeError(r["error"])
        time.sleep(3)
        mem = window_memory(tusk)
        wd.stop()
        return mem, r["rows"]
    finally:
        drv.terminate()
        drv.wait()


def wait_js(wd, cond, what, secs):
    deadline = time.time() + secs
    while time.time() < deadline:
        if wd.run(cond):
            return
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for %s" % what)


def bench_window(pg, b):
    """The tusk window under Xvfb: exec → the page painted the connection
    list (the page tells the shell, which prints "ready" with
    TUSK_REPORT_READY), with the broker running and with tusk starting it;
    then RSS and PSS of every process of the window when idle."""
    x, display = xvfb_start()
    home = tempfile.mkdtemp(prefix="tw.", dir="/tmp")
    base = dict(os.environ, DISPLAY=display, HOME=home, XDG_CACHE_HOME=home + "/cache", XDG_DATA_HOME=home + "/data",
                XDG_CONFIG_HOME=home + "/config", NO_AT_BRIDGE="1", TUSK_REPORT_READY="1")
    base.pop("XDG_RUNTIME_DIR", None)
    warm = dict(base, TUSK_HOME=b.home)
    own_home = tempfile.mkdtemp(prefix="tw.", dir="/tmp")
    own = dict(base, TUSK_HOME=own_home)
    own_sock = os.path.join(own_home, "run", "tuskd.sock")
    try:
        window_close(window_open(warm)[0])  # a first run fills the page cache
        running, cold = [], []
        for _ in range(WINDOW_RUNS):
            p, ms = window_open(warm)
            running.append(ms)
            window_close(p)
            p, ms = window_open(own)
            cold.append(ms)
            window_close(p)
            subprocess.run([os.path.join(BIN, "tuskctl"), "--no-start", "shutdown"], env=own,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            broker_gone(own_sock)
        p, _ = window_open(warm)
        time.sleep(3)
        idle = window_memory(p.pid)
        window_close(p)
        after, rows = None, 0
        if os.environ.get("TUSK_BENCH_WINDOW_1M", "1") != "0":
            if not pg.psql("select to_regclass('bench_1m')", db="tuskdb").strip():
                setup_data(pg)
            after, rows = window_after_1m(pg, warm)
    finally:
        x.terminate()
        x.wait()
        subprocess.run(["rm", "-rf", home, own_home])
    out("### The tusk window under Xvfb (load average %.1f)" % os.getloadavg()[0])
    out()
    out("| what | median of %d | range | target |" % WINDOW_RUNS)
    out("|---|---|---|---|")
    out("| exec of `tusk` → the connection list painted, broker running | **%.0f ms** | %.0f–%.0f ms | < 500 ms |"
        % (med(running), min(running), max(running)))
    out("| exec of `tusk` → the connection list painted, tusk starts the broker | **%.0f ms** | %.0f–%.0f ms | < 800 ms |"
        % (med(cold), min(cold), max(cold)))
    out()
    after = after or []
    out("| process | idle (3 s after ready): RSS / PSS / USS | after `select * from bench_1m` (%s rows in the grid): RSS / PSS / USS |"
        % (format(rows, ",") if after else "not measured: TUSK_BENCH_WINDOW_1M=0"))
    out("|---|---|---|")
    mb = lambda m: "%.1f / %.1f / %.1f MB" % (m["Rss"] / 1024, m["Pss"] / 1024, m["Uss"] / 1024)  # noqa: E731
    names = [n for n, _ in idle] + [n for n, _ in after if n not in dict(idle)]
    for name in names:
        out("| %s | %s | %s |" % (name, mb(dict(idle)[name]) if name in dict(idle) else "–",
                                  mb(dict(after)[name]) if name in dict(after) else "–"))
    total = lambda rows: {k: sum(m[k] for _, m in rows) for k in ("Rss", "Pss", "Uss")}  # noqa: E731
    out("| **all of the window** | **%s** | **%s** |" % (mb(total(idle)), mb(total(after)) if after else "–"))
    out()
    out("Targets: the window's processes together under 150 MB PSS idle, under 300 MB after the 1M-row result.")
    out()


def bench_keychain():
    """The broker's answers while a keychain call hangs (a gnome-keyring
    that never answers), and the answer once it backs off."""
    from keyring import Keyring
    out("### A hung keychain")
    out()
    kr = Keyring("hung")
    b = Broker(env=dict(kr.env(), DISPLAY=None), extra_args=["--set", "keychain_timeout_ms=2000"])
    try:
        c, other = b.client(), b.client()
        mid = c.send("check_keychain_available")
        during = []
        t_end = time.perf_counter() + 1.5
        while time.perf_counter() < t_end:
            t0 = time.perf_counter()
            other.call("health_check")
            during.append((time.perf_counter() - t0) * 1000)
        c.wait_reply(mid)
        backoff = []
        for _ in range(20):
            t0 = time.perf_counter()
            c.call("check_keychain_available")
            backoff.append((time.perf_counter() - t0) * 1000)
        out("| what | median | max |")
        out("|---|---|---|")
        out("| health_check while a keychain call hangs (%d calls) | %.2f ms | %.2f ms |"
            % (len(during), med(during), max(during)))
        out("| check_keychain_available after a timeout (backing off) | %.2f ms | %.2f ms |"
            % (med(backoff), max(backoff)))
        out()
    finally:
        b.stop(check=False)
        b.cleanup()
        kr.stop()


SCHEMA_TABLES = int(os.environ.get("TUSK_BENCH_TABLES", "5000"))
SCHEMA_DB = "schemabench"


def setup_schema(pg):
    """A database of SCHEMA_TABLES tables x 20 columns, each with a primary
    key, a foreign key to the previous table and one more index."""
    pg.psql("DROP DATABASE IF EXISTS %s" % SCHEMA_DB)
    pg.psql("CREATE DATABASE %s OWNER tusk" % SCHEMA_DB)
    types = ["int not null default 0", "text", "numeric(12,2)", "timestamptz default now()", "boolean",
             "jsonb", "bigint", "varchar(40)", "date", "uuid"]
    stmts = []
    for i in range(SCHEMA_TABLES):
        cols = ["id int primary key",
                "parent_id int" + (" references s_t%d (id)" % (i - 1) if i else "")]
        cols += ["c%d %s" % (c, types[c % len(types)]) for c in range(1, 19)]
        stmts.append("create table s_t%d (%s); create index on s_t%d (c1);" % (i, ", ".join(cols), i))
    path = os.path.join(tempfile.mkdtemp(prefix="tbs."), "schema.sql")
    with open(path, "w") as f:
        for k in range(0, len(stmts), 100):
            f.write("begin;\n" + "\n".join(stmts[k:k + 100]) + "\ncommit;\n")
    env = dict(os.environ, PGPASSWORD="tuskpw")
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(pg.port),
                    "-U", "tusk", "-d", SCHEMA_DB, "-f", path], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    os.unlink(path)
    os.rmdir(os.path.dirname(path))


def bench_schema(pg, b):
    """get_schema on SCHEMA_TABLES x 20 columns, beside psql's \\d; the
    broker's memory with it cached; the tree and completion in Chromium."""
    t0 = time.monotonic()
    setup_schema(pg)
    made_s = time.monotonic() - t0
    c = b.client()
    cid = c.call("connect", config=pg.config(database=SCHEMA_DB), password="tuskpw")["connection_id"]
    time.sleep(0.3)
    rss_before = rss_kb(b.proc.pid)
    client = os.path.join(ROOT, "build", "bench", "schema_client")

    def timed_schema(rounds, refresh):
        r = subprocess.run([client, b.sock, cid, str(rounds), "1" if refresh else "0"], check=True,
                           stdout=subprocess.PIPE, text=True).stdout.split("\n")
        rows = [ln.split() for ln in r if ln.strip()]
        return [float(x[0]) for x in rows], int(rows[-1][1])

    cold, size = timed_schema(max(ROUNDS, 3), True)
    cached, _ = timed_schema(31, False)
    cached = cached[1:]  # the first round finds the answer's size
    time.sleep(0.3)
    rss_cached = rss_kb(b.proc.pid)
    s = c.call("get_schema", connection_id=cid)
    ncols = sum(len(r["columns"]) for sc in s["schemas"] for r in sc["relations"])
    nrels = sum(len(sc["relations"]) for sc in s["schemas"])
    env = dict(os.environ, PGPASSWORD="tuskpw")
    psql = ["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "tusk", "-d", SCHEMA_DB]
    d_list = [timed(psql + ["-c", "\\d"], env=env) * 1000 for _ in range(3)]
    d_all = [timed(psql + ["-c", "\\d s_t*"], env=env) * 1000]
    c.call("disconnect", connection_id=cid)
    c.close()
    env2 = dict(b.env, BENCH_PG_PORT=str(pg.port), BENCH_DB=SCHEMA_DB, TUSK_BIN=BIN,
                BENCH_TABLES=str(SCHEMA_TABLES))
    r = subprocess.run(["node", os.path.join(HERE, "schema.mjs")], env=env2, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError("schema.mjs failed: %s" % r.stderr.decode()[-3000:])
    m = json.loads(r.stdout.decode().strip().splitlines()[-1])
    pc = m["page_get_schema"]
    out("### Knowing the database: %s tables, %s columns, %s indexes, %s foreign keys"
        % (format(nrels, ","), format(ncols, ","), format(2 * SCHEMA_TABLES, ","), format(SCHEMA_TABLES - 1, ",")))
    out()
    out("(made in %.0f s; get_schema's answer is %.1f MB of msgpack; load average %.1f on %d CPUs)"
        % (made_s, size / 1048576, os.getloadavg()[0], os.cpu_count()))
    out()
    out("| what | median | target | ratio |")
    out("|---|---|---|---|")
    out("| `get_schema` cold (reads the catalog), at the broker's socket | **%.0f ms** | < 1 s | |" % med(cold))
    out("| `get_schema` from the cache, at the broker's socket (p95 %.1f ms) | **%.1f ms** | < 20 ms | |"
        % (sorted(cached)[int(len(cached) * 0.95)], med(cached)))
    out("| psql `\\d` (the list of relations, no columns) | %.0f ms | | get_schema cold: %.2f× |"
        % (med(d_list), med(cold) / med(d_list)))
    out("| psql `\\d s_t*` (every table with its columns, indexes, keys) | %.1f s | | get_schema cold: %.3f× |"
        % (med(d_all) / 1000, med(cold) / med(d_all)))
    out("| `get_schema` into the page (gateway + decode), cold | %.0f ms | | |" % med(pc["cold"]))
    out("| `get_schema` into the page (gateway + decode), cached | %.0f ms | | |" % med(pc["cached"]))
    out("| the tree's first level (click to the next frame; %d schemas) | **%.1f ms** | < 100 ms | |"
        % (m["tree_schemas"], m["tree_first_level_ms"]))
    out("| a schema's Tables group opened (click to the next frame; %d rows drawn of %s) | %.1f ms | | |"
        % (m["tree_items"], format(SCHEMA_TABLES, ","), m["tree_expand_ms"]))
    f = m["filter_frames"]
    out("| frame interval while the filter takes `s_t%d` a character a frame, and back: median / p95 / max | **%.1f / %.1f / %.1f ms** (%d frames) | 16.7 ms (60 fps) | |"
        % (SCHEMA_TABLES - 1, f["median_ms"], f["p95_ms"], f["max_ms"], f["n"]))
    cm = m["completion"]
    out("| completion: index of the schema (once per version) | %.1f ms | | |" % cm["index_build_ms"])
    for k, what in (("tables", "`select * from s_t49|` (%d options)"), ("alias_columns", "`select x.| from s_tN x` (%d options)"),
                    ("statement_columns", "`select c1, c| from s_t10 a join s_t11 b` (%d options)")):
        out("| completion lookup %s: median / max | **%.2f / %.2f ms** | < 16 ms | |"
            % (what % cm[k]["options"], cm[k]["median_ms"], cm[k]["max_ms"]))
    out("| broker RSS with the connection open | %.1f MB | | |" % (rss_before / 1024))
    out("| broker RSS with the schema cached | **%.1f MB** | < 32 MB | |" % (rss_cached / 1024))
    out()


def main():
    which = sys.argv[1:] or ["stream", "streamcpu", "copy", "cancel", "connect", "cold", "memory", "history", "sessions", "valgrind",
                             "supervision", "many", "keychain", "table", "frontend", "schema", "window"]
    pg = Cluster()
    b = Broker()
    try:
        out("## Tusk benchmarks")
        out()
        out("Measured %s on %s (%d CPUs); PostgreSQL 15 on loopback; release build."
            % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.uname().nodename, os.cpu_count()))
        out()
        if "stream" in which:
            setup_data(pg)
            bench_stream(pg, b)
        if "streamcpu" in which:
            bench_stream_cpu(pg, b)
        if "copy" in which:
            bench_copy(pg, b)
        if "cancel" in which:
            bench_cancel(pg, b)
        if "connect" in which:
            bench_connect(pg, b)
        if "cold" in which:
            bench_cold_start()
        if "memory" in which:
            bench_idle_and_cycles(pg, b)
        if "history" in which:
            bench_history(pg, b)
        if "sessions" in which:
            bench_sessions(pg, b)
        if "valgrind" in which:
            bench_valgrind(pg)
        if "supervision" in which:
            bench_supervision(pg)
        if "many" in which:
            bench_many(pg)
        if "keychain" in which:
            bench_keychain()
        if "table" in which:
            bench_table(pg, b)
        if "frontend" in which:
            bench_frontend(pg, b)
        if "schema" in which:
            bench_schema(pg, b)
        if "window" in which:
            bench_window(pg, b)
    finally:
        b.stop(check=False)
        b.cleanup()
        pg.stop()
        os.makedirs(os.path.join(ROOT, "build", "bench"), exist_ok=True)
        with open(os.path.join(ROOT, "build", "bench", "results.md"), "w") as f:
            f.write("\n".join(report) + "\n")


if __name__ == "__main__":
    main()
