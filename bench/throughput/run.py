#!/usr/bin/env python3
"""Throughput benchmark (issue 10): bulk load, full recompute, single-event ingest, freshness and
the memory of `tandem serve`, next to PostgreSQL 15, DuckDB and chDB, on the same seeded events,
one engine at a time.

The usual way to run it is `scripts/bench.sh`, which also runs the serving harness and writes
BENCHMARKS.md. By hand, with the virtual environment that bench/throughput/README.md describes:

    .build-bench/venv/bin/python bench/throughput/run.py --events 1000000 --tandem .build/release/tandem
    .build-bench/venv/bin/python bench/throughput/run.py --report     # results -> BENCHMARKS.md

Everything generated stays under .build-bench/throughput/ (the events themselves are shared with
the serving harness, under .build-bench/serving/data/).
"""

import argparse
import datetime as dt
import http.client
import importlib.util
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WORK = os.path.join(REPO, ".build-bench", "throughput")

# The serving harness's helpers (data generator, Tandem server, free_port, summary, machine...).
# Loaded by path: this file is also called run.py, so `import run` would import itself.
_spec = importlib.util.spec_from_file_location("serving_run", os.path.join(REPO, "bench", "serving", "run.py"))
serving = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(serving)
log, loadavg, free_port = serving.log, serving.loadavg, serving.free_port

ENGINES = ["tandem", "postgres", "duckdb", "chdb"]
COLUMNS = [("ts", "timestamptz"), ("url", "text"), ("user_id", "text"), ("country", "text"),
           ("latency_ms", "double precision")]

# PostgreSQL: durable (fsync and synchronous_commit on, the defaults), with the memory settings a
# user would give a 24 GiB machine for a bulk load and its aggregation.
PG_SETTINGS = {"fsync": "on", "synchronous_commit": "on", "shared_buffers": "1GB", "work_mem": "64MB",
               "maintenance_work_mem": "256MB", "max_wal_size": "4GB", "max_connections": "200"}


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def rnd(x, n=2):
    return None if x is None else round(x, n)


def proc_cpu_seconds(pid):
    """User + system CPU seconds of a live process (/proc/PID/stat, fields 14 and 15)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def cluster_cpu_seconds(pgdata):
    """CPU seconds of a PostgreSQL cluster: the postmaster's own and its reaped children's (fields
    14-17 of /proc/PID/stat), plus its live children's (backends, background workers)."""
    try:
        with open(os.path.join(pgdata, "postmaster.pid")) as f:
            pm = int(f.readline())
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(pid) == pm:
            total += sum(int(x) for x in fields[11:15]) / tick
        elif int(fields[1]) == pm:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def tandem_pg_cpu(t):
    """CPU seconds so far of the private PostgreSQL cluster that `tandem serve` manages."""
    return cluster_cpu_seconds(os.path.join(t.dir, "data", "postgres", "data"))


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_waited(cmd, logpath, env=None):
    """Runs cmd to completion with its output in logpath; returns (exit code, wall seconds, peak
    RSS in KiB, CPU seconds). The peak is VmHWM read from /proc every 20 ms by a thread while the
    main thread waits (wait4's ru_maxrss is no use here: with vfork it includes this process's
    own peak, since the child starts in our address space)."""
    import threading

    with open(logpath, "w") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        peak = [0]
        done = threading.Event()

        def poll():
            while not done.is_set():
                try:
                    with open(f"/proc/{p.pid}/status") as f:
                        for line in f:
                            if line.startswith("VmHWM"):
                                peak[0] = max(peak[0], int(line.split()[1]))
                except (OSError, ValueError):
                    pass
                done.wait(0.02)

        th = threading.Thread(target=poll, daemon=True)
        th.start()
        _, status, ru = os.wait4(p.pid, 0)
        secs = time.perf_counter() - t0
        done.set()
        th.join()
    p.returncode = os.waitstatus_to_exitcode(status)   # already reaped: keep Popen from waiting
    return p.returncode, secs, peak[0], ru.ru_utime + ru.ru_stime


def tail(path, n=1500):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def git_commit():
    try:
        c = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return c + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine_info():
    m = serving.machine()
    m["date"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    m["git_commit"] = git_commit()
    m["loadavg"] = open("/proc/loadavg").read().split()[:3]
    return m


def uptime_load(s):
    return s.split("load average:")[-1].strip() if s else "?"


# ---------------------------------------------------------------------------------------------
# Tandem


def tandem_post(t, path, extra_args, logpath):
    """`tandem post pageviews FILE`, timed until the CLI returns (every event durable). Also the
    client's peak RSS and CPU, and the server's CPU over the same interval."""
    cpu0, pg0 = proc_cpu_seconds(t.proc.pid), tandem_pg_cpu(t)
    rc, secs, peak_kb, cpu = run_waited([t.binary, "post", "--server", t.url, *extra_args, "pageviews", path], logpath)
    cpu1, pg1 = proc_cpu_seconds(t.proc.pid), tandem_pg_cpu(t)
    if rc != 0:
        raise RuntimeError(f"tandem post failed ({rc}): {tail(logpath)}")
    out = {"seconds": round(secs, 2), "client_peak_rss_kb": peak_kb, "client_cpu_seconds": round(cpu, 2),
           "server_cpu_seconds": rnd(cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None,
           "managed_postgres_cpu_seconds": rnd(pg1 - pg0) if pg0 is not None and pg1 is not None else None,
           "last_output": tail(logpath, 300).strip().splitlines()[-1:] or [""]}
    log(f"tandem post: {secs:.2f} s, client peak RSS {peak_kb / 1024:.0f} MiB, client CPU "
        f"{out['client_cpu_seconds']} s, server CPU {out['server_cpu_seconds']} s")
    return out


INGEST_LUA = r"""
-- One JSON event per request, POSTed to /v1/streams/pageviews/events. Each thread pre-formats
-- 4,096 distinct requests (urls log-uniform over /page/1../page/10000, random users, countries
-- and latencies, ts = the time the thread started plus k ms) and cycles through them, so that the
-- client spends its CPU on sending, not on building bodies.
local countries = {%(countries)s}
local reqs = {}
local i = 0
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  math.randomseed(4242 + (tid or 0))
  local base = os.time() * 1000 + (tid or 0) * 5000
  for k = 1, 4096 do
    local body = string.format('{"ts":%%d,"url":"/page/%%d","user_id":"u%%d","country":"%%s","latency_ms":%%.1f}',
      base + k, math.floor(10000 ^ math.random()), math.random(0, 999999),
      countries[math.random(#countries)], 20 + math.random() * 300)
    reqs[k] = wrk.format("POST", "/v1/streams/pageviews/events", {["Content-Type"] = "application/json"}, body)
  end
end
function request()
  i = i %% #reqs + 1
  return reqs[i]
end
""" + "%(done)s"

DONE_LUA = r"""
function done(summary, latency, requests)
  io.write(string.format("WRKJSON {\"requests\":%d,\"duration_us\":%d,\"errors_status\":%d,\"errors_connect\":%d,\"errors_read\":%d,\"errors_write\":%d,\"errors_timeout\":%d,\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d,\"max_us\":%d}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


def write_lua():
    ingest = os.path.join(WORK, "ingest.lua")
    with open(ingest, "w") as f:
        f.write(INGEST_LUA % {"countries": ",".join(f'"{c}"' for c in serving.COUNTRIES), "done": DONE_LUA})
    done = os.path.join(WORK, "done.lua")
    with open(done, "w") as f:
        f.write(DONE_LUA)
    return ingest, done


def wrk_run(label, url, lua, seconds, connections, threads, server_pid):
    """wrk; counts only 2xx answers (wrk's errors.status is every answer with status > 399, and its
    'Non-2xx or 3xx' line every answer outside 200-399). A run with any error is marked."""
    wrk = shutil.which("wrk")
    if not wrk:
        raise RuntimeError("wrk is missing: apt-get install wrk")
    cpu0, ch0 = proc_cpu_seconds(server_pid), children_cpu()
    r = subprocess.run([wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
                        "-s", lua, url], capture_output=True, text=True)
    cpu1, ch1 = proc_cpu_seconds(server_pid), children_cpu()
    m = re.search(r"WRKJSON (\{.*\})", r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({r.returncode}): {r.stdout[-1500:]} {r.stderr[-1500:]}")
    d = json.loads(m.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    secs = d["duration_us"] / 1e6
    bad = max(d["errors_status"], int(non2xx.group(1)) if non2xx else 0)
    sock = d["errors_connect"] + d["errors_read"] + d["errors_write"] + d["errors_timeout"]
    out = {"label": label, "url": url, "connections": connections, "threads": threads, "seconds": seconds,
           "requests": d["requests"], "non_2xx": bad, "socket_errors": sock,
           "rps_2xx": round((d["requests"] - bad) / secs), "rps_all": round(d["requests"] / secs),
           "p50_ms": d["p50_us"] / 1000, "p90_ms": d["p90_us"] / 1000, "p99_ms": d["p99_us"] / 1000,
           "max_ms": d["max_us"] / 1000, "errors": bad > 0 or sock > 0,
           "server_cores": rnd((cpu1 - cpu0) / secs) if cpu0 is not None and cpu1 is not None else None,
           "wrk_cores": rnd((ch1 - ch0) / secs)}
    log(f"wrk {label}: {out['rps_2xx']:,} 2xx/s (non-2xx {bad}, socket errors {sock}), p50 {out['p50_ms']} ms, "
        f"p99 {out['p99_ms']} ms; server {out['server_cores']} cores, wrk {out['wrk_cores']} cores")
    return out


def freshness(t, samples):
    """POST one event with a unique url and ts = now; from receiving its 200, poll a merged query
    of url_hourly filtered on that url until it counts 1."""
    post = http.client.HTTPConnection("127.0.0.1", t.port, timeout=30)
    query = http.client.HTTPConnection("127.0.0.1", t.port, timeout=30)
    hdr = {"Content-Type": "application/json"}
    lat, polls, failures = [], [], 0
    H = serving.HOUR_MS
    for i in range(samples):
        url = f"/fresh/{i}"
        now = int(time.time() * 1000)
        post.request("POST", "/v1/streams/pageviews/events", headers=hdr, body=json.dumps(
            {"ts": now, "url": url, "user_id": f"fresh{i}", "country": "US", "latency_ms": 1.0}))
        r = post.getresponse()
        body = r.read()
        t0 = time.perf_counter()
        if r.status != 200:
            raise RuntimeError(f"freshness: POST answered {r.status} {body[:300]!r}")
        q = json.dumps({"view": "url_hourly", "from": serving.iso((now // H - 1) * H),
                        "to": serving.iso((now // H + 2) * H), "granularity": "all",
                        "filter": {"field": "url", "op": "=", "value": url}, "aggregates": ["views"]})
        n = 0
        while True:
            query.request("POST", "/v1/query", headers=hdr, body=q)
            r = query.getresponse()
            payload = r.read()
            t1 = time.perf_counter()
            n += 1
            if r.status != 200:
                raise RuntimeError(f"freshness: query answered {r.status} {payload[:300]!r}")
            rows = json.loads(payload)["rows"]
            if rows and rows[0].get("views") == 1:
                lat.append(t1 - t0)
                polls.append(n)
                break
            if t1 - t0 > 10:
                failures += 1
                break
        time.sleep(0.005)
    out = serving.summary(lat) if lat else {}
    out.update({"samples": samples, "not_visible_within_10s": failures, "polls_median": median(polls),
                "polls_max": max(polls) if polls else None})
    out["p50_ms"] = out.pop("median_ms", None)
    log(f"freshness: {out}")
    return out


def run_tandem(args, paths, result):
    phase = result["tandem"] = {"binary": args.tandem, "runs": [], "post_args": args.post_args}
    ingest_lua, done_lua = write_lua()
    for r in range(args.repeat):
        live = r == args.repeat - 1
        run = {"uptime_before": loadavg()}
        phase["runs"].append(run)
        log(f"--- tandem run {r + 1}/{args.repeat} ---")
        t = serving.Tandem(args.tandem, f"run{r + 1}", args.partitions, work=WORK)
        t.start()
        try:
            t.setup()
            run["load"] = tandem_post(t, paths["ndjson"], args.post_args.split(), os.path.join(WORK, "post.log"))
            run["load"]["events_per_s"] = round(args.events / run["load"]["seconds"])
            run["speed_catch_up_after_post_seconds"] = round(t.wait_caught_up(), 2)
            run["jobs_before_recompute"] = [{k: j.get(k) for k in ("id", "view", "trigger", "state", "mode")}
                                            for j in t.jobs()]
            run["wait_auto_jobs_seconds"] = round(t.wait_jobs_idle(), 2)
            run["rss_after_load_kb"] = t.rss_kb()
            run["uptime_before_recompute"] = loadavg()
            cpu0, pg0 = proc_cpu_seconds(t.proc.pid), tandem_pg_cpu(t)
            secs, jobs = t.recompute_full()
            pg1 = tandem_pg_cpu(t)
            run["recompute"] = {"seconds": round(secs, 2), "calls": len(t.recompute_attempts), "jobs": jobs,
                                "server_cpu_seconds": rnd(proc_cpu_seconds(t.proc.pid) - cpu0),
                                "managed_postgres_cpu_seconds": rnd(pg1 - pg0) if pg0 is not None and pg1 is not None else None}
            waited, sc = t.wait_cached({v: j["version"] for v, j in jobs.items()})
            run["cache_ready_after_recompute_seconds"] = round(waited, 2)
            run["serving_cache"] = sc
            run["rss_after_recompute_kb"] = t.rss_kb()
            total = t.post("/v1/query", {"view": "hourly", "from": serving.iso(serving.SERIES_FROM_MS),
                                         "to": serving.iso(serving.SERIES_TO_MS), "granularity": "all",
                                         "aggregates": ["views"]})["rows"]
            run["views_check"] = {"hourly_total_views": total[0]["views"] if total else 0,
                                  "ok": bool(total) and total[0]["views"] == args.events}
            if not run["views_check"]["ok"]:
                log(f"tandem run {r + 1}: the hourly view counts {run['views_check']['hourly_total_views']} events, "
                    f"not {args.events}")
            log(f"tandem run {r + 1}: rss after load {run['rss_after_load_kb']}, after recompute "
                f"{run['rss_after_recompute_kb']}")
            if live:
                lv = phase["live"] = {"uptime_before": loadavg()}
                lv["freshness"] = freshness(t, args.freshness_samples)
                lv["healthz"], lv["ingest"] = [], []
                for k in range(args.repeat):
                    lv.setdefault("uptime_before_wrk", []).append(loadavg())
                    lv["healthz"].append(wrk_run("GET /healthz", t.url + "/healthz", done_lua, args.ingest_seconds,
                                                 args.connections, 2, t.proc.pid))
                    lv["ingest"].append(wrk_run("POST one event", t.url + "/v1/streams/pageviews/events", ingest_lua,
                                                args.ingest_seconds, args.connections, 2, t.proc.pid))
                lv["rss_end_kb"] = t.rss_kb()
                lv["status_after"] = t.get("/v1/status")
                lv["view_status"] = {v: t.get(f"/v1/views/{v}")["status"] for v in ("url_hourly", "hourly")}
        finally:
            t.stop()
        run["server_log"] = serving.server_log_findings(t.logpath)
        if run["server_log"]["warnings_or_errors"]:
            log(f"tandem run {r + 1}: server log has {run['server_log']['warnings_or_errors']} warnings/errors: "
                f"{run['server_log']['first'][:3]}")
        if not args.keep:
            shutil.rmtree(t.dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# PostgreSQL 15: a throwaway cluster of our own (scripts/postgres.sh turns fsync off, which would
# not be a durable peer).


def pg_bindir():
    pgc = shutil.which("pg_config")
    if pgc:
        d = subprocess.run([pgc, "--bindir"], capture_output=True, text=True).stdout.strip()
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    cands = sorted((d for d in os.listdir("/usr/lib/postgresql") if os.path.exists(
        f"/usr/lib/postgresql/{d}/bin/initdb")), key=lambda v: [int(x) for x in re.findall(r"\d+", v)]) \
        if os.path.isdir("/usr/lib/postgresql") else []
    if not cands:
        raise RuntimeError("PostgreSQL server binaries not found (scripts/install-deps.sh)")
    return f"/usr/lib/postgresql/{cands[-1]}/bin"


def as_owner(cmd):
    return (["runuser", "-u", "postgres", "--"] + cmd) if os.getuid() == 0 else cmd


class PgCluster:
    live = []

    def __init__(self, settings):
        self.bin = pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="tandem-bench-pg.", dir="/tmp")
        PgCluster.live.append(self)
        os.chmod(self.dir, 0o755)
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        r = subprocess.run(as_owner([f"{self.bin}/initdb", "-D", self.data, "--auth=trust", "-U", "postgres",
                                     "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]), capture_output=True, text=True)
        if r.returncode != 0:
            self.stop()
            raise RuntimeError(f"initdb failed: {r.stdout[-800:]} {r.stderr[-800:]}")
        opts = " ".join(f"-c {k}={v}" for k, v in settings.items())
        for _ in range(8):
            self.port = free_port()
            r = subprocess.run(as_owner([f"{self.bin}/pg_ctl", "-D", self.data, "-l", f"{self.dir}/server.log", "-w",
                                         "-t", "60", "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 "
                                         f"-k {self.dir} {opts}", "start"]), capture_output=True, text=True)
            if r.returncode == 0:
                break
        else:
            log_text = tail(f"{self.dir}/server.log")
            self.stop()
            raise RuntimeError(f"PostgreSQL did not start: {log_text}")
        subprocess.run(as_owner([f"{self.bin}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                                 "bench"]), check=True)
        self.dsn = f"postgres://postgres@127.0.0.1:{self.port}/bench"

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(as_owner([f"{self.bin}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"]),
                           capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        if self in PgCluster.live:
            PgCluster.live.remove(self)


PGBENCH_SQL = r"""\set k random(1, 10000)
\set u random(0, 999999)
\set c random(1, 50)
INSERT INTO pv_ingest (ts, url, user_id, country, latency_ms) VALUES (now(), '/page/' || :k, 'u' || :u, 'c' || :c, 80.5);
"""


def pgbench_run(pg, seconds, clients):
    pgbench = os.path.join(pg.bin, "pgbench") if os.path.exists(os.path.join(pg.bin, "pgbench")) else shutil.which("pgbench")
    if not pgbench:
        raise RuntimeError("pgbench is missing (it ships with PostgreSQL's packages)")
    script = os.path.join(WORK, "pgbench-insert.sql")
    with open(script, "w") as f:
        f.write(PGBENCH_SQL)
    r = subprocess.run([pgbench, "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-n", "-c", str(clients),
                        "-j", "2", "-T", str(seconds), "-M", "prepared", "-f", script, "bench"],
                       capture_output=True, text=True)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", r.stdout)
    if r.returncode != 0 or not tps:
        raise RuntimeError(f"pgbench failed ({r.returncode}): {r.stdout[-1500:]} {r.stderr[-1500:]}")
    failed = re.search(r"number of failed transactions: (\d+)", r.stdout)
    lat = re.search(r"latency average = ([\d.]+) ms", r.stdout)
    done = re.search(r"number of transactions actually processed: (\d+)", r.stdout)
    out = {"clients": clients, "threads": 2, "seconds": seconds, "mode": "prepared", "tps": round(float(tps.group(1))),
           "transactions": int(done.group(1)) if done else None, "failed": int(failed.group(1)) if failed else 0,
           "latency_avg_ms": float(lat.group(1)) if lat else None}
    out["errors"] = out["failed"] > 0
    log(f"pgbench: {out}")
    return out


def run_postgres(args, paths, result):
    import psycopg

    phase = result["postgres"] = {"settings": PG_SETTINGS, "runs": []}
    phase["uptime_before"] = loadavg()
    pg = PgCluster(PG_SETTINGS)
    try:
        conn = psycopg.connect(pg.dsn, autocommit=True)
        conn.execute("SET TimeZone = 'UTC'")
        phase["server_version"] = conn.execute("SHOW server_version").fetchone()[0]
        phase["effective"] = {k: conn.execute(f"SHOW {k}").fetchone()[0] for k in PG_SETTINGS}
        cols = ", ".join(f"{c} {t}" for c, t in COLUMNS)
        for r in range(args.repeat):
            log(f"--- postgres run {r + 1}/{args.repeat} ---")
            run = {"uptime_before": loadavg()}
            phase["runs"].append(run)
            conn.execute("DROP TABLE IF EXISTS pageviews, pageviews_json, staging, pv_url_hour, pv_hour")
            conn.execute("CHECKPOINT")
            conn.execute(f"CREATE TABLE pageviews ({cols})")
            t0 = time.perf_counter()
            conn.execute(f"COPY pageviews FROM '{paths['csv']}' WITH (FORMAT csv, HEADER true)")
            run["load_csv_seconds"] = round(time.perf_counter() - t0, 2)
            # NDJSON: every line into a jsonb column (CSV format with quote and delimiter bytes that
            # never occur, so a line is one field, taken verbatim), then typed columns.
            conn.execute("CREATE TABLE staging (doc jsonb)")
            conn.execute(f"CREATE TABLE pageviews_json ({cols})")
            t0 = time.perf_counter()
            conn.execute(f"COPY staging FROM '{paths['ndjson']}' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')")
            t1 = time.perf_counter()
            conn.execute("INSERT INTO pageviews_json SELECT (doc->>'ts')::timestamptz, doc->>'url', doc->>'user_id', "
                         "doc->>'country', (doc->>'latency_ms')::double precision FROM staging")
            t2 = time.perf_counter()
            run["load_ndjson_seconds"] = round(t2 - t0, 2)
            run["load_ndjson_steps"] = {"copy_jsonb": round(t1 - t0, 2), "insert_select": round(t2 - t1, 2)}
            run["rows_check"] = {"csv": conn.execute("SELECT count(*) FROM pageviews").fetchone()[0],
                                 "ndjson": conn.execute("SELECT count(*) FROM pageviews_json").fetchone()[0]}
            conn.execute("DROP TABLE staging, pageviews_json")
            conn.execute("CHECKPOINT")
            run["uptime_before_recompute"] = loadavg()
            steps = {}
            t0 = time.perf_counter()
            for name, sql in [
                ("pv_url_hour", "CREATE TABLE pv_url_hour AS SELECT url, date_trunc('hour', ts) AS hour, count(*) AS views "
                                "FROM pageviews GROUP BY 1, 2"),
                ("pv_url_hour_index", "CREATE INDEX ON pv_url_hour (url, hour)"),
                ("pv_hour", "CREATE TABLE pv_hour AS SELECT date_trunc('hour', ts) AS hour, count(*) AS views, "
                            "count(DISTINCT user_id) AS users, percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) "
                            "AS p95 FROM pageviews GROUP BY 1"),
                ("pv_hour_index", "CREATE UNIQUE INDEX ON pv_hour (hour)"),
                ("analyze", "ANALYZE pv_url_hour, pv_hour")]:
                s0 = time.perf_counter()
                conn.execute(sql)
                steps[name] = round(time.perf_counter() - s0, 2)
            run["recompute_seconds"] = round(time.perf_counter() - t0, 2)
            run["recompute_steps"] = steps
            run["views_check"] = dict(zip(("url_hour_rows", "url_hour_views", "hour_rows"), conn.execute(
                "SELECT (SELECT count(*) FROM pv_url_hour), (SELECT sum(views) FROM pv_url_hour), "
                "(SELECT count(*) FROM pv_hour)").fetchone()))
            run["views_check"]["url_hour_views"] = int(run["views_check"]["url_hour_views"])
            log(f"postgres run {r + 1}: COPY CSV {run['load_csv_seconds']} s, NDJSON {run['load_ndjson_seconds']} s "
                f"({run['load_ndjson_steps']}), recompute {run['recompute_seconds']} s {steps}; {run['views_check']}")
        conn.execute("DROP TABLE IF EXISTS pageviews, pv_url_hour, pv_hour")
        conn.execute("CHECKPOINT")
        conn.execute("CREATE TABLE pv_ingest (ts timestamptz NOT NULL, url text NOT NULL, user_id text, country text, "
                     "latency_ms double precision)")
        phase["pgbench"] = []
        for k in range(args.repeat):
            phase.setdefault("uptime_before_pgbench", []).append(loadavg())
            phase["pgbench"].append(pgbench_run(pg, args.ingest_seconds, args.connections))
        conn.close()
    finally:
        pg.stop()


# ---------------------------------------------------------------------------------------------
# DuckDB and chDB: in process, each phase in a child process of its own (so that one engine's
# memory and threads are gone before the next starts, and a crash is reported, not fatal).

DUCK_COLS = "{'ts': 'TIMESTAMPTZ', 'url': 'VARCHAR', 'user_id': 'VARCHAR', 'country': 'VARCHAR', 'latency_ms': 'DOUBLE'}"


def phase_duckdb(args, paths):
    import duckdb

    phase = {"version": duckdb.__version__, "runs": [], "storage": "in-memory database (not durable)",
             "functions": {"exact": "count(DISTINCT user_id), quantile_cont(latency_ms, 0.95)",
                           "approx": "approx_count_distinct(user_id) (HyperLogLog), approx_quantile(latency_ms, 0.95) (T-Digest)"}}
    for r in range(args.repeat):
        log(f"--- duckdb run {r + 1}/{args.repeat} ---")
        run = {"uptime_before": loadavg()}
        phase["runs"].append(run)
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        phase["threads"] = con.execute("SELECT current_setting('threads')").fetchone()[0]
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE pageviews AS SELECT * FROM read_csv('{paths['csv']}', header = true, columns = {DUCK_COLS})")
        run["load_csv_seconds"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE pageviews_json AS SELECT * FROM read_json('{paths['ndjson']}', "
                    f"format = 'newline_delimited', columns = {DUCK_COLS})")
        run["load_ndjson_seconds"] = round(time.perf_counter() - t0, 2)
        run["rows_check"] = {"csv": con.execute("SELECT count(*) FROM pageviews").fetchone()[0],
                             "ndjson": con.execute("SELECT count(*) FROM pageviews_json").fetchone()[0]}
        con.execute("DROP TABLE pageviews_json")
        for kind, distinct, q95 in (("exact", "count(DISTINCT user_id)", "quantile_cont(latency_ms, 0.95)"),
                                    ("approx", "approx_count_distinct(user_id)", "approx_quantile(latency_ms, 0.95)")):
            con.execute("DROP TABLE IF EXISTS pv_url_hour; DROP TABLE IF EXISTS pv_hour")
            run[f"uptime_before_recompute_{kind}"] = loadavg()
            t0 = time.perf_counter()
            con.execute("CREATE TABLE pv_url_hour AS SELECT url, date_trunc('hour', ts) AS hour, count(*) AS views "
                        "FROM pageviews GROUP BY ALL ORDER BY url, hour")
            t1 = time.perf_counter()
            con.execute(f"CREATE TABLE pv_hour AS SELECT date_trunc('hour', ts) AS hour, count(*) AS views, "
                        f"{distinct} AS users, {q95} AS p95 FROM pageviews GROUP BY ALL ORDER BY hour")
            t2 = time.perf_counter()
            run[f"recompute_{kind}_seconds"] = round(t2 - t0, 2)
            run[f"recompute_{kind}_steps"] = {"pv_url_hour": round(t1 - t0, 2), "pv_hour": round(t2 - t1, 2)}
        run["views_check"] = dict(zip(("url_hour_rows", "url_hour_views", "hour_rows"), con.execute(
            "SELECT (SELECT count(*) FROM pv_url_hour), (SELECT sum(views) FROM pv_url_hour), "
            "(SELECT count(*) FROM pv_hour)").fetchone()))
        run["views_check"]["url_hour_views"] = int(run["views_check"]["url_hour_views"])
        con.close()
        log(f"duckdb run {r + 1}: {json.dumps({k: v for k, v in run.items() if k != 'uptime_before'})}")
    return phase


CH_STRUCT = "ts DateTime64(3, 'UTC'), url String, user_id String, country String, latency_ms Float64"


def phase_chdb(args, paths):
    import chdb
    from chdb import session as chs

    phase = {"version": getattr(chdb, "__version__", "?"), "runs": [],
             "storage": "MergeTree tables in a chDB session directory (parts are not fsynced)",
             "functions": {"exact": "uniqExact(user_id), quantileExactInclusive(0.95)(latency_ms)",
                           "approx": "uniq(user_id) (adaptive sampling), quantileTDigest(0.95)(latency_ms)"}}
    for r in range(args.repeat):
        log(f"--- chdb run {r + 1}/{args.repeat} ---")
        run = {"uptime_before": loadavg()}
        phase["runs"].append(run)
        d = os.path.join(WORK, f"chdb-session-{r + 1}")
        shutil.rmtree(d, ignore_errors=True)
        s = chs.Session(d)
        try:
            phase["engine_version"] = str(s.query("SELECT version()", "CSV")).strip().strip('"')
            s.query("CREATE DATABASE IF NOT EXISTS bench ENGINE = Atomic")
            settings = "SETTINGS date_time_input_format = 'best_effort'"
            for kind, fmt, path in (("csv", "CSVWithNames", paths["csv"]), ("ndjson", "JSONEachRow", paths["ndjson"])):
                table = "pageviews" if kind == "csv" else "pageviews_json"
                s.query(f"CREATE TABLE bench.{table} ({CH_STRUCT}) ENGINE = MergeTree ORDER BY tuple()")
                t0 = time.perf_counter()
                s.query(f"INSERT INTO bench.{table} SELECT * FROM file('{path}', '{fmt}', "
                        f"'{CH_STRUCT.replace(chr(39), chr(92) + chr(39))}') {settings}")
                run[f"load_{kind}_seconds"] = round(time.perf_counter() - t0, 2)
            run["rows_check"] = {k: int(str(s.query(f"SELECT count() FROM bench.{t}", "CSV")).strip())
                                 for k, t in (("csv", "pageviews"), ("ndjson", "pageviews_json"))}
            s.query("DROP TABLE bench.pageviews_json SYNC")
            for kind, distinct, q95 in (("exact", "uniqExact(user_id)", "quantileExactInclusive(0.95)(latency_ms)"),
                                        ("approx", "uniq(user_id)", "quantileTDigest(0.95)(latency_ms)")):
                s.query("DROP TABLE IF EXISTS bench.pv_url_hour SYNC")
                s.query("DROP TABLE IF EXISTS bench.pv_hour SYNC")
                run[f"uptime_before_recompute_{kind}"] = loadavg()
                t0 = time.perf_counter()
                s.query("CREATE TABLE bench.pv_url_hour ENGINE = MergeTree ORDER BY (url, hour) AS "
                        "SELECT url, toStartOfHour(ts) AS hour, count() AS views FROM bench.pageviews GROUP BY url, hour")
                t1 = time.perf_counter()
                s.query(f"CREATE TABLE bench.pv_hour ENGINE = MergeTree ORDER BY hour AS SELECT toStartOfHour(ts) AS hour, "
                        f"count() AS views, {distinct} AS users, {q95} AS p95 FROM bench.pageviews GROUP BY hour")
                t2 = time.perf_counter()
                run[f"recompute_{kind}_seconds"] = round(t2 - t0, 2)
                run[f"recompute_{kind}_steps"] = {"pv_url_hour": round(t1 - t0, 2), "pv_hour": round(t2 - t1, 2)}
            vals = str(s.query("SELECT (SELECT count() FROM bench.pv_url_hour), (SELECT sum(views) FROM bench.pv_url_hour), "
                               "(SELECT count() FROM bench.pv_hour)", "CSV")).strip().split(",")
            run["views_check"] = dict(zip(("url_hour_rows", "url_hour_views", "hour_rows"), (int(v) for v in vals)))
        finally:
            s.close()
            shutil.rmtree(d, ignore_errors=True)
        log(f"chdb run {r + 1}: {json.dumps({k: v for k, v in run.items() if k != 'uptime_before'})}")
    return phase


def run_inprocess_peer(name, args, result):
    """Runs phase_<name> in a child Python process; records its peak RSS."""
    out = os.path.join(WORK, f"phase-{name}.json")
    if os.path.exists(out):
        os.remove(out)
    cmd = [sys.executable, os.path.abspath(__file__), "--phase", name, "--phase-out", out,
           "--events", str(args.events), "--repeat", str(args.repeat), "--seed", str(args.seed)]
    logpath = os.path.join(WORK, f"phase-{name}.log")
    rc, secs, peak_kb, _ = run_waited(cmd, logpath)
    sys.stdout.write(tail(logpath, 6000))
    if rc != 0 or not os.path.exists(out):
        lines = [x for x in tail(logpath, 4000).strip().splitlines() if x.strip()]
        raise RuntimeError(f"the {name} process exited with {rc}: {lines[-1].strip() if lines else 'no output'} "
                           f"(see {os.path.relpath(logpath, REPO)})")
    with open(out) as f:
        phase = json.load(f)
    phase["process_peak_rss_kb"] = peak_kb
    result[name] = phase


# ---------------------------------------------------------------------------------------------
# Summary: medians over the runs


def summarize(res):
    n = res["events"]
    s = {}
    t = res.get("tandem", {})
    if t.get("runs"):
        runs = [r for r in t["runs"] if "load" in r]
        s["tandem_load_seconds"] = median([r["load"]["seconds"] for r in runs])
        s["tandem_load_eps"] = n / s["tandem_load_seconds"] if s["tandem_load_seconds"] else None
        s["tandem_post_peak_rss_kb"] = median([r["load"]["client_peak_rss_kb"] for r in runs])
        s["tandem_post_peak_rss_max_kb"] = max([r["load"]["client_peak_rss_kb"] for r in runs], default=None)
        s["tandem_catch_up_seconds"] = median([r.get("speed_catch_up_after_post_seconds") for r in runs])
        rruns = [r for r in runs if "recompute" in r]
        s["tandem_recompute_seconds"] = median([r["recompute"]["seconds"] for r in rruns])
        for v in ("url_hourly", "hourly"):
            s[f"tandem_job_{v}_seconds"] = median([r["recompute"]["jobs"].get(v, {}).get("seconds") for r in rruns])
        s["tandem_url_hourly_rows"] = next((r["recompute"]["jobs"].get("url_hourly", {}).get("rows_written")
                                            for r in rruns), None)
        s["tandem_rss_after_load_kb"] = median([r.get("rss_after_load_kb", {}).get("VmRSS") for r in runs])
        s["tandem_rss_after_recompute_kb"] = median([r.get("rss_after_recompute_kb", {}).get("VmRSS") for r in runs])
        s["tandem_rss_peak_kb"] = max([r.get("rss_after_recompute_kb", {}).get("VmHWM", 0) for r in runs], default=None)
        lv = t.get("live", {})
        if lv.get("ingest"):
            s["tandem_ingest_rps"] = median([w["rps_2xx"] for w in lv["ingest"]])
            s["tandem_ingest_errors"] = sum(w["non_2xx"] + w["socket_errors"] for w in lv["ingest"])
            s["tandem_ingest_p99_ms"] = median([w["p99_ms"] for w in lv["ingest"]])
        if lv.get("healthz"):
            s["healthz_rps"] = median([w["rps_2xx"] for w in lv["healthz"]])
            s["healthz_errors"] = sum(w["non_2xx"] + w["socket_errors"] for w in lv["healthz"])
        if lv.get("freshness"):
            s["freshness"] = lv["freshness"]
        if lv.get("rss_end_kb"):
            s["tandem_rss_end_kb"] = lv["rss_end_kb"].get("VmRSS")
            s["tandem_rss_end_peak_kb"] = lv["rss_end_kb"].get("VmHWM")
    for e in ("postgres", "duckdb", "chdb"):
        p = res.get(e, {})
        runs = p.get("runs") or []
        if not runs:
            continue
        for k in ("load_csv_seconds", "load_ndjson_seconds", "recompute_seconds", "recompute_exact_seconds",
                  "recompute_approx_seconds"):
            v = median([r.get(k) for r in runs])
            if v is not None:
                s[f"{e}_{k}"] = v
        for k in ("csv", "ndjson"):
            v = s.get(f"{e}_load_{k}_seconds")
            s[f"{e}_load_{k}_eps"] = n / v if v else None
        if e != "postgres":
            s[f"{e}_recompute_seconds"] = s.get(f"{e}_recompute_exact_seconds")
        s[f"{e}_url_hour_rows"] = runs[-1].get("views_check", {}).get("url_hour_rows")
    if res.get("postgres", {}).get("pgbench"):
        pb = res["postgres"]["pgbench"]
        s["pgbench_tps"] = median([x["tps"] for x in pb])
        s["pgbench_failed"] = sum(x["failed"] for x in pb)
    return s


# ---------------------------------------------------------------------------------------------
# BENCHMARKS.md


def f_rate(eps):
    if eps is None:
        return "–"
    return f"{eps / 1e6:.2f} M/s" if eps >= 1e6 else f"{eps / 1e3:.0f} k/s"


def f_s(x):
    return "–" if x is None else (f"{x:.2f} s" if x < 10 else f"{x:.1f} s")


def f_mib(kb):
    return "–" if kb is None else f"{kb / 1024:,.0f} MiB"


def f_ratio(x):
    return "–" if x is None else f"{x:.2f}×"


def div(a, b):
    return a / b if a is not None and b else None


def met(ok):
    return "–" if ok is None else ("**met**" if ok else "not met")


def phase_failed(res, e):
    p = res.get(e)
    if p is None:
        return "not run"
    if p.get("error") and not p.get("runs"):
        return "failed: " + re.sub(r"[|\n]", " ", p["error"])[:200]
    return None


def throughput_section(res):
    n = res["events"]
    s = summarize(res)
    L = []
    rep = res.get("repeat")
    L.append(f"### {n:,} events\n")
    d = res.get("data", {})
    L.append(f"Run {res.get('started')}, {rep} run{'s' if rep != 1 else ''} of every load and recompute "
             f"(medians shown; each run is a fresh server or database), {res.get('ingest_seconds')} s per "
             f"wrk/pgbench run, {rep} of each, alternating; {d.get('ndjson_bytes', 0) / 1e6:,.0f} MB NDJSON, "
             f"{d.get('csv_bytes', 0) / 1e6:,.0f} MB CSV. Tandem: `{res.get('tandem_binary')}`.\n")

    loads = []
    for e in ENGINES:
        ph = res.get(e, {})
        for x in [ph.get("uptime_before")] + [r.get("uptime_before") for r in ph.get("runs", [])]:
            try:
                loads.append(float(uptime_load(x).split(",")[0]))
            except (ValueError, AttributeError):
                pass
    if loads:
        cores = res.get("machine", {}).get("cores")
        L.append(f"The 1-minute load average before the phases and runs was {min(loads):.2f}–{max(loads):.2f} on "
                 f"{cores} cores" + (" (partly the benchmark's own previous step; above the core count it also means "
                                     "other work was running, which lowers every figure)" if cores and max(loads) > cores
                                     else "") + ".\n")

    def cell(e, text):
        return phase_failed(res, e) or text

    # bulk load
    tl = cell("tandem", f"`tandem post` NDJSON over HTTP, durable, speed layer live: **{f_rate(s.get('tandem_load_eps'))}** "
                        f"({f_s(s.get('tandem_load_seconds'))}); client peak RSS {f_mib(s.get('tandem_post_peak_rss_kb'))}")
    pl = cell("postgres", f"COPY CSV **{f_rate(s.get('postgres_load_csv_eps'))}** ({f_s(s.get('postgres_load_csv_seconds'))}); "
                          f"NDJSON via jsonb {f_rate(s.get('postgres_load_ndjson_eps'))} ({f_s(s.get('postgres_load_ndjson_seconds'))})")
    dl = cell("duckdb", f"CSV **{f_rate(s.get('duckdb_load_csv_eps'))}** ({f_s(s.get('duckdb_load_csv_seconds'))}); "
                        f"NDJSON {f_rate(s.get('duckdb_load_ndjson_eps'))} ({f_s(s.get('duckdb_load_ndjson_seconds'))})")
    cl = cell("chdb", f"CSV **{f_rate(s.get('chdb_load_csv_eps'))}** ({f_s(s.get('chdb_load_csv_seconds'))}); "
                      f"NDJSON {f_rate(s.get('chdb_load_ndjson_eps'))} ({f_s(s.get('chdb_load_ndjson_seconds'))})")
    te = s.get("tandem_load_eps")
    load_ok = None
    if te is not None:
        load_ok = te >= 1e6 and (s.get("postgres_load_csv_eps") is None or te >= s["postgres_load_csv_eps"])
    rss_ok = None if s.get("tandem_post_peak_rss_max_kb") is None else s["tandem_post_peak_rss_max_kb"] < 200 * 1024
    groups = s.get("tandem_url_hourly_rows") or s.get("postgres_url_hour_rows") or s.get("duckdb_url_hour_rows")
    # recompute
    tr = cell("tandem", f"**{f_s(s.get('tandem_recompute_seconds'))}** (jobs run concurrently: url×hour "
                        f"{f_s(s.get('tandem_job_url_hourly_seconds'))}, per hour {f_s(s.get('tandem_job_hourly_seconds'))})")
    pr = cell("postgres", f"**{f_s(s.get('postgres_recompute_seconds'))}** (exact, with the (url, hour) index and ANALYZE)")
    dr = cell("duckdb", f"**{f_s(s.get('duckdb_recompute_exact_seconds'))}** exact; {f_s(s.get('duckdb_recompute_approx_seconds'))} approximate")
    cr = cell("chdb", f"**{f_s(s.get('chdb_recompute_exact_seconds'))}** exact; {f_s(s.get('chdb_recompute_approx_seconds'))} approximate")
    rec_ok = None
    if s.get("tandem_recompute_seconds") is not None and s.get("duckdb_recompute_exact_seconds") is not None:
        rec_ok = s["tandem_recompute_seconds"] <= s["duckdb_recompute_exact_seconds"]
    # single-event ingest
    ir = s.get("tandem_ingest_rps")
    ierr = s.get("tandem_ingest_errors")
    ti = cell("tandem", f"**{ir:,.0f} requests/s** (wrk, 2xx only" + (f"; **{ierr} errors**" if ierr else ", no errors")
              + f"); `GET /healthz` on the same server: {s['healthz_rps']:,.0f}/s" if ir is not None and s.get("healthz_rps") else "–")
    pb = s.get("pgbench_tps")
    pi = cell("postgres", f"single-row INSERT, pgbench, 64 clients, synchronous commit: **{pb:,.0f} tps**"
              + (f" ({s['pgbench_failed']} failed)" if s.get("pgbench_failed") else "") if pb else "–")
    r_pg, r_hz = div(ir, pb), div(ir, s.get("healthz_rps"))
    ing_ok = None if r_pg is None or r_hz is None else (r_pg >= 1.2 and r_hz >= 0.8 and not ierr)
    # freshness
    fr = s.get("freshness") or {}
    tf = cell("tandem", f"p50 {fr.get('p50_ms')} ms, **p99 {fr.get('p99_ms')} ms**, max {fr.get('max_ms')} ms "
                        f"({fr.get('n')} samples" + (f", {fr['not_visible_within_10s']} not visible within 10 s"
                                                     if fr.get("not_visible_within_10s") else "") + ")" if fr else "–")
    fr_ok = None if not fr or fr.get("p99_ms") is None else (fr["p99_ms"] <= 50 and not fr.get("not_visible_within_10s"))
    # RSS
    trss = cell("tandem", f"**{f_mib(s.get('tandem_rss_after_load_kb'))}** after the load, **{f_mib(s.get('tandem_rss_after_recompute_kb'))}** "
                          f"after the recompute (peak {f_mib(s.get('tandem_rss_peak_kb'))}); {f_mib(s.get('tandem_rss_end_kb'))} after "
                          f"the ingest and freshness runs")

    L.append("| work | Tandem | PostgreSQL 15 | DuckDB | chDB | target |")
    L.append("|---|---|---|---|---|---|")
    L.append(f"| bulk load of {n:,} events | {tl} | {pl} | {dl} | {cl} | ≥ 1 M events/s and ≥ PostgreSQL's COPY CSV: "
             f"{met(load_ok)}; `tandem post` RSS < 200 MB: {met(rss_ok)} |")
    L.append(f"| full recompute: url×hour counts ({groups:,} groups) plus per-hour count, distinct users and p95 latency | "
             f"{tr} | {pr} | {dr} | {cr} | no slower than DuckDB: {met(rec_ok)} |" if groups else
             f"| full recompute of both views | {tr} | {pr} | {dr} | {cr} | no slower than DuckDB: {met(rec_ok)} |")
    L.append(f"| single-event ingest, 64 connections, durable | {ti} | {pi} | | | ≥ 1.2× pgbench: {met(None if r_pg is None else r_pg >= 1.2)} "
             f"({f_ratio(r_pg)}); ≥ 0.8× healthz: {met(None if r_hz is None else r_hz >= 0.8)} ({f_ratio(r_hz)}) |")
    L.append(f"| freshness (200 → visible in a merged query) | {tf} | | | | p99 ≤ 50 ms: {met(fr_ok)} |")
    L.append(f"| RSS of `tandem serve` | {trss} | | | | reported |")
    L.append("")

    # ratios
    L.append("Ratios, Tandem ÷ peer (medians). For rates (events/s, requests/s) above 1 means Tandem is faster; "
             "for times (recompute) below 1 means Tandem is faster.\n")
    L.append("| figure | ÷ PostgreSQL | ÷ DuckDB | ÷ chDB |")
    L.append("|---|---|---|---|")
    te = s.get("tandem_load_eps")
    L.append("| load rate, Tandem NDJSON ÷ peer CSV | " + " | ".join(
        f_ratio(div(te, s.get(f"{e}_load_csv_eps"))) for e in ("postgres", "duckdb", "chdb")) + " |")
    L.append("| load rate, Tandem NDJSON ÷ peer NDJSON | " + " | ".join(
        f_ratio(div(te, s.get(f"{e}_load_ndjson_eps"))) for e in ("postgres", "duckdb", "chdb")) + " |")
    tr_s = s.get("tandem_recompute_seconds")
    L.append("| recompute time, Tandem ÷ peer (exact functions) | " + " | ".join(
        f_ratio(div(tr_s, s.get(k))) for k in ("postgres_recompute_seconds", "duckdb_recompute_exact_seconds",
                                               "chdb_recompute_exact_seconds")) + " |")
    L.append("| recompute time, Tandem ÷ peer (approximate functions) | – | " + " | ".join(
        f_ratio(div(tr_s, s.get(k))) for k in ("duckdb_recompute_approx_seconds", "chdb_recompute_approx_seconds")) + " |")
    L.append(f"| single-event ingest, Tandem ÷ pgbench INSERT | {f_ratio(r_pg)} | | |")
    L.append(f"\nSingle-event ingest, Tandem ÷ `GET /healthz` on the same server and wrk settings: {f_ratio(r_hz)}.\n")
    return L


def details_section(res):
    L = []
    n = res["events"]
    L.append(f"#### Every run at {n:,} events\n")
    t = res.get("tandem", {})
    if t.get("runs"):
        L.append("| Tandem run | `tandem post` | CPU during the load: client / server / its PostgreSQL | catch-up after post "
                 "| recompute (url×hour / hourly) | CPU during the recompute: server / its PostgreSQL "
                 "| RSS after load / recompute | jobs before the recompute | load average before |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for i, r in enumerate(t["runs"], 1):
            if "load" not in r:
                continue
            rc = r.get("recompute", {})
            jobs = rc.get("jobs", {})
            auto = [f"{j['view']} {j['mode']} ({j['trigger']})" for j in r.get("jobs_before_recompute", [])
                    if j.get("trigger") not in ("new_view",)]
            L.append(f"| {i} | {f_s(r['load']['seconds'])} ({f_rate(r['load']['events_per_s'])}) | "
                     f"{r['load']['client_cpu_seconds']} / {r['load']['server_cpu_seconds']} / "
                     f"{r['load'].get('managed_postgres_cpu_seconds', '–')} s | "
                     f"{f_s(r.get('speed_catch_up_after_post_seconds'))} | {f_s(rc.get('seconds'))} "
                     f"({f_s(jobs.get('url_hourly', {}).get('seconds'))} / {f_s(jobs.get('hourly', {}).get('seconds'))}) | "
                     f"{rc.get('server_cpu_seconds', '–')} / {rc.get('managed_postgres_cpu_seconds', '–')} s | "
                     f"{f_mib(r.get('rss_after_load_kb', {}).get('VmRSS'))} / {f_mib(r.get('rss_after_recompute_kb', {}).get('VmRSS'))} | "
                     f"{', '.join(auto) or 'none besides the first jobs of new views'} | {uptime_load(r.get('uptime_before'))} |")
        L.append("")
        lv = t.get("live", {})
        if lv.get("ingest"):
            L.append("| wrk run (64 connections, 2 threads) | 2xx/s | non-2xx | socket errors | p50 ms | p99 ms | server cores | wrk cores |")
            L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
            for w in [x for pair in zip(lv.get("healthz", []), lv["ingest"]) for x in pair]:
                L.append(f"| {w['label']} | {w['rps_2xx']:,} | {w['non_2xx']} | {w['socket_errors']} | {w['p50_ms']} | "
                         f"{w['p99_ms']} | {w['server_cores']} | {w['wrk_cores']} |")
            L.append("")
        logs = [r.get("server_log", {}).get("warnings_or_errors", 0) for r in t["runs"]]
        L.append(f"Server log lines with warning/error/critical, per run: {logs}.\n")
        if t.get("error"):
            L.append(f"Tandem: **failed**: `{t['error'][:400]}`\n")
    for e, label in (("postgres", "PostgreSQL"), ("duckdb", "DuckDB"), ("chdb", "chDB")):
        p = res.get(e, {})
        if p.get("error"):
            L.append(f"{label}: **failed**: `{p['error'][:400]}`\n")
        if not p.get("runs"):
            continue
        parts = []
        for i, r in enumerate(p["runs"], 1):
            x = f"run {i}: CSV {f_s(r.get('load_csv_seconds'))}, NDJSON {f_s(r.get('load_ndjson_seconds'))}"
            if "recompute_seconds" in r:
                x += f", recompute {f_s(r['recompute_seconds'])}"
            if "recompute_exact_seconds" in r:
                x += f", recompute exact {f_s(r['recompute_exact_seconds'])} / approximate {f_s(r.get('recompute_approx_seconds'))}"
            x += f" (load average {uptime_load(r.get('uptime_before'))})"
            parts.append(x)
        ver = p.get("server_version") or p.get("version")
        if p.get("engine_version"):
            ver += f" (ClickHouse {p['engine_version']})"
        para = f"{label} {ver}: " + "; ".join(parts) + "."
        if e == "postgres" and p.get("pgbench"):
            para += " pgbench: " + ", ".join(f"{x['tps']:,} tps ({x['failed']} failed, {x['latency_avg_ms']} ms average)"
                                             for x in p["pgbench"]) + "."
        if p.get("process_peak_rss_kb"):
            para += f" Peak RSS of the {label} process: {f_mib(p['process_peak_rss_kb'])}."
        if p.get("from_earlier_run"):
            para += f" (From an earlier run: {p['from_earlier_run']}.)"
        L.append(para + "\n")
    checks = []
    for e in ("postgres", "duckdb", "chdb"):
        for r in res.get(e, {}).get("runs", [])[-1:]:
            v = r.get("views_check", {})
            checks.append(f"{e} {v.get('url_hour_rows', '?'):,} url×hour rows summing to {v.get('url_hour_views', 0):,} views, "
                          f"{v.get('hour_rows')} hours" if v else f"{e}: no check")
    tr = [r for r in t.get("runs", []) if "recompute" in r]
    if tr:
        j = tr[-1]["recompute"]["jobs"]
        vc = [r.get("views_check", {}) for r in tr]
        checks.append(f"Tandem's url_hourly job wrote {j.get('url_hourly', {}).get('rows_written', 0):,} rows from "
                      f"{j.get('url_hourly', {}).get('scanned', 0):,} records, hourly {j.get('hourly', {}).get('rows_written')} rows, "
                      + ("and the hourly view counts every event in every run" if all(v.get("ok") for v in vc) else
                         f"and the hourly view counts **{[v.get('hourly_total_views') for v in vc]}** events"))
    if checks:
        L.append("Sanity check of the recomputed views: " + "; ".join(checks) + ".\n")
    L.append("Load average before each phase: " + "; ".join(
        f"{e}: {uptime_load(res[e].get('uptime_before') or (res[e].get('runs') or [{}])[0].get('uptime_before'))}"
        for e in ENGINES if e in res) + ".\n")
    return L


SERVING_TARGETS = {"a_url_series": ("p99 ≤ 2 ms", 2.0), "b_top10_24h": ("p99 ≤ 5 ms", 5.0)}
SERVING_SPEED_TARGETS = {"a_url_series": ("p99 ≤ 4 ms", 4.0), "b_top10_24h": ("p99 ≤ 10 ms", 10.0)}


def serving_section(sr):
    L = []
    n = sr["events"]
    L.append(f"### {n:,} events\n")
    L.append(f"Run {sr.get('started')}: {sr.get('runs')} timed runs of each query after {sr.get('warmup')} warm-ups; "
             f"median and p99 (nearest rank) in milliseconds, measured at the client. Tandem over HTTP (one keep-alive "
             f"connection), PostgreSQL over psycopg with prepared statements, DuckDB in process.\n")
    names = {"a_url_series": "(a) one url, hourly views over 7 days", "b_top10_24h": "(b) top-10 urls over the last 24 h",
             "c_hourly_7d": "(c) views, distinct users, p95 latency per hour over 7 days"}
    tb, ts_, pg, dk = (sr.get(k, {}).get("queries") or {} for k in ("tandem_batch", "tandem_speed", "postgres", "duckdb"))

    def mp(q, k):
        x = q.get(k)
        return f"{x['median_ms']:.2f} / {x['p99_ms']:.2f}" if x else "–"

    L.append("| query (median / p99 ms) | Tandem, all in batch | Tandem, day 7 in the speed layer | PostgreSQL 15 | DuckDB "
             "| Tandem ÷ PostgreSQL | Tandem ÷ DuckDB | target |")
    L.append("|---|---|---|---|---|---|---|---|")
    for k, label in names.items():
        tgt = []
        if k in SERVING_TARGETS and k in tb:
            tgt.append(f"batch {SERVING_TARGETS[k][0]}: {met(tb[k]['p99_ms'] <= SERVING_TARGETS[k][1])}")
        if k in SERVING_SPEED_TARGETS and k in ts_:
            tgt.append(f"speed {SERVING_SPEED_TARGETS[k][0]}: {met(ts_[k]['p99_ms'] <= SERVING_SPEED_TARGETS[k][1])}")
        rp = div(tb.get(k, {}).get("median_ms"), pg.get(k, {}).get("median_ms"))
        rd = div(tb.get(k, {}).get("median_ms"), dk.get(k, {}).get("median_ms"))
        L.append(f"| {label} | {mp(tb, k)} | {mp(ts_, k)} | {mp(pg, k)} | {mp(dk, k)} | {f_ratio(rp)} | {f_ratio(rd)} | "
                 f"{'; '.join(tgt) or '–'} |")
    L.append("")
    L.append("Ratios are of medians, batch scenario; below 1 means Tandem answers faster.\n")
    b = sr.get("tandem_batch", {})
    w, hz = b.get("throughput_a"), b.get("throughput_baseline_healthz")
    if w:
        L.append(f"Throughput of (a), random mid-popularity urls, wrk -t{w['threads']} -c{w['connections']} -d{w['seconds']}s: "
                 f"**{w['rps']:,} requests/s** (non-2xx {w['non_2xx']}, socket errors {w['socket_errors']}; target ≥ 5,000/s: "
                 f"{met(w['rps'] >= 5000 and not w['non_2xx'])})"
                 + (f"; `GET /healthz` with the same wrk settings: {hz['rps']:,}/s, so {f_ratio(div(w['rps'], hz['rps']))} of it"
                    if hz and hz.get("rps") else "") + ".\n")
    if b.get("rss_cached_kb"):
        L.append(f"RSS of `tandem serve` with both views cached: **{f_mib(b['rss_cached_kb']['VmRSS'])}** "
                 f"(peak {f_mib(b['rss_cached_kb']['VmHWM'])}).\n")
    cc = sr.get("cross_check", {})
    for c in cc.get("comparisons", []):
        if c.get("engine"):
            ok = [c.get("total_views_ok"), c.get("top10_exact"), c.get("hourly_views_exact")] + \
                 [u.get("exact") for u in c.get("series_urls", {}).values()]
            L.append(f"Cross-check, {c['engine']}: counts "
                     + ("identical to " + str(cc.get("reference")) if all(x is not False for x in ok) else "**differ** from " + str(cc.get("reference")))
                     + (f"; distinct users off by {c['users_rel_error_median'] * 100:.1f} % median, "
                        f"p95 by {c['p95_rel_error_median'] * 100:.1f} % median (sketches)" if c.get("users_rel_error_median") is not None else "")
                     + ".")
    errs = [f"{k}: {sr[k]['error']}" for k in ("tandem_batch", "tandem_speed", "postgres", "duckdb") if sr.get(k, {}).get("error")]
    if errs:
        L.append("\n**Failed phases**: " + "; ".join(errs))
    L.append("")
    return L


def load_results(directory, sizes, include_smoke):
    out = []
    if not os.path.isdir(directory):
        return out
    for fn in os.listdir(directory):
        m = re.fullmatch(r"results-(\d+)\.json", fn)
        if not m:
            continue
        n = int(m.group(1))
        if sizes and n not in sizes:
            continue
        with open(os.path.join(directory, fn)) as f:
            r = json.load(f)
        if r.get("smoke") and not include_smoke and not sizes:
            continue
        out.append(r)
    return sorted(out, key=lambda r: r["events"])


def write_benchmarks_md(path, sizes=None, include_smoke=False):
    tput = load_results(WORK, sizes, include_smoke)
    serv = load_results(serving.WORK, sizes, True)
    if not sizes:
        have = {r["events"] for r in tput}
        serv = [r for r in serv if r["events"] in have]
    first = tput[0] if tput else (serv[0] if serv else {})
    m = first.get("machine", {})
    L = ["# Benchmarks", ""]
    L.append("Generated by `scripts/bench.sh` (do not edit by hand; rerun it). What it measures, on the same seeded "
             "pageviews for every engine (7 days, 5 % up to 10 minutes late, 10,000 Zipf urls, 1M users, 50 countries, "
             "lognormal latency), one engine at a time, in one run on the machine below:")
    L.append("")
    L.append("- **Throughput** (issue 10, `bench/throughput/`): bulk load of the whole file, a full recompute of two "
             "views, single-event ingest from 64 connections, freshness, and the memory of `tandem serve`; Tandem next "
             "to PostgreSQL 15, DuckDB and chDB. Loads and recomputes are medians of several runs (stated per table), "
             "each on a fresh server or database.")
    L.append("- **Serving** (issue 9, `bench/serving/`): dashboard query latency over HTTP next to PostgreSQL and DuckDB "
             "answering from their own precomputed tables.")
    L.append("")
    L.append("Reproduce with `scripts/bench.sh` (1M and 10M events; `--events N` for one size, `--repeat N`, `--smoke` for "
             "a two-minute check, `--help`). The methods are in `bench/throughput/README.md` and `bench/serving/README.md`; "
             "every figure is in `.build-bench/throughput/results-N.json` and `.build-bench/serving/results-N.json`.")
    L.append("")
    L.append("## Machine\n")
    L.append(f"- CPU: {m.get('cpu', '?')}, {m.get('cores', '?')} cores")
    L.append(f"- RAM: {m.get('ram_gib', '?')} GiB; OS: {m.get('os', '?')} (Linux {m.get('kernel', '?')})")
    L.append(f"- Date: {m.get('date', first.get('started', '?'))}; git commit: {m.get('git_commit', '?')}")
    L.append(f"- Load average (1, 5, 15 min) when the run started: {', '.join(m.get('loadavg', []) or ['?'])}")
    vers = []
    for r in tput[-1:]:
        if r.get("postgres", {}).get("server_version"):
            vers.append(f"PostgreSQL {r['postgres']['server_version']}")
        if r.get("duckdb", {}).get("version"):
            vers.append(f"DuckDB {r['duckdb']['version']}")
        if r.get("chdb", {}).get("version"):
            vers.append(f"chDB {r['chdb']['version']} (ClickHouse {r['chdb'].get('engine_version', '?')})")
    if vers:
        L.append(f"- Peers: {', '.join(vers)}")
    L.append("")
    L.append("On a machine this small the benchmark's own client (wrk, pgbench, `tandem post`) shares the cores with the "
             "engine, and other work on the machine moves every figure; compare ratios measured in the same run.\n")
    L.append("## Throughput (issue 10)\n")
    if not tput:
        L.append("No throughput results (`bench/throughput/run.py` has not run).\n")
    for r in tput:
        L += throughput_section(r)
    L.append("How each engine was run: Tandem: `tandem serve` (the binary named above) with its own data directory and managed "
             "PostgreSQL, a stream of 2 partitions keyed by `user_id`, views `url_hourly` (url × 1 h, count) and `hourly` "
             "(1 h: count, distinct `user_id` as HyperLogLog, p95 of `latency_ms` as DDSketch); the load is `tandem post` of "
             "the NDJSON file with its defaults, timed until it returns (every event durable); the recompute is "
             "`tandem recompute --full --wait` for both views once the speed layer has caught up and no job runs. "
             "PostgreSQL: a throwaway cluster with fsync and synchronous_commit on, "
             + ", ".join(f"{k}={v}" for k, v in PG_SETTINGS.items() if k not in ("fsync", "synchronous_commit"))
             + "; server-side COPY. DuckDB: in-memory database in the Python process (not durable). chDB: MergeTree "
             "tables in a session directory, `INSERT ... SELECT FROM file()`. Exact peer functions: `count(DISTINCT)` and "
             "`percentile_cont` / `quantile_cont` / `uniqExact` and `quantileExactInclusive`; approximate: "
             "`approx_count_distinct`, `approx_quantile` (DuckDB), `uniq`, `quantileTDigest` (chDB).\n")
    L.append("## Serving (issue 9)\n")
    if not serv:
        L.append("No serving results (`bench/serving/run.py` has not run).\n")
    for r in serv:
        L += serving_section(r)
    micro = os.path.join(REPO, ".build-bench", "micro", "results.txt")
    if os.path.exists(micro):
        L.append("## Micro-benchmarks\n")
        mt = dt.datetime.fromtimestamp(os.path.getmtime(micro), dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        L.append(f"`bench/micro/run.sh`, output of {mt}, verbatim:\n")
        L.append("```")
        L.append(open(micro, errors="replace").read().rstrip("\n"))
        L.append("```\n")
    if tput:
        L.append("## Details\n")
        for r in tput:
            L += details_section(r)
    with open(path, "w") as f:
        f.write("\n".join(L).rstrip("\n") + "\n")
    log(f"wrote {path}")


# ---------------------------------------------------------------------------------------------


def cleanup_on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="events to generate and load (default 1000000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of every load and recompute, and of every wrk/pgbench "
                                                          "measurement; medians are reported (default 3)")
    ap.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of " + ",".join(ENGINES))
    ap.add_argument("--tandem", default=os.environ.get("TANDEM_BIN", os.path.join(REPO, ".build", "release", "tandem")))
    ap.add_argument("--partitions", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--ingest-seconds", type=int, default=15, help="length of each wrk and pgbench run (default 15)")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections and pgbench clients (default 64)")
    ap.add_argument("--freshness-samples", type=int, default=200)
    ap.add_argument("--post-args", default="", help="extra arguments for `tandem post` (default: none, its defaults)")
    ap.add_argument("--smoke", action="store_true", help="mark the results as a smoke run (left out of BENCHMARKS.md "
                                                         "unless asked for by size)")
    ap.add_argument("--fresh", action="store_true", help="with --engines, do not keep the other engines' figures from "
                                                         "an earlier results-N.json")
    ap.add_argument("--keep", action="store_true", help="keep the Tandem data directories")
    ap.add_argument("--report", action="store_true", help="only write BENCHMARKS.md from the results files")
    ap.add_argument("--sizes", default="", help="with --report: the sizes to include (default: every non-smoke size)")
    ap.add_argument("--output", default=os.path.join(REPO, "BENCHMARKS.md"), help="where --report writes")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--phase-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)

    if args.phase == "generate":     # a child process, so that this one stays small
        serving.generate(args.events, args.seed)
        return
    if args.phase:      # a child process running one in-process peer
        paths = serving.data_paths(args.events, args.seed)
        phase = {"duckdb": phase_duckdb, "chdb": phase_chdb}[args.phase](args, paths)
        with open(args.phase_out, "w") as f:
            json.dump(phase, f, indent=1, default=str)
        return
    if args.report:
        sizes = {int(x) for x in args.sizes.split(",") if x.strip()}
        write_benchmarks_md(args.output, sizes or None, include_smoke=bool(sizes))
        return

    signal.signal(signal.SIGTERM, cleanup_on_signal)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    bad = [e for e in engines if e not in ENGINES]
    if bad:
        ap.error(f"unknown engines {bad}")
    if "tandem" in engines and not os.access(args.tandem, os.X_OK):
        ap.error(f"no tandem binary at {args.tandem} (build it, or pass --tandem PATH)")
    out = os.path.join(WORK, f"results-{args.events}.json")
    result = {"events": args.events, "repeat": args.repeat, "seed": args.seed, "partitions": args.partitions,
              "ingest_seconds": args.ingest_seconds, "connections": args.connections, "smoke": args.smoke,
              "started": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": machine_info(), "tandem_binary": args.tandem, "engines": engines}
    if set(engines) != set(ENGINES) and not args.fresh and os.path.exists(out):
        with open(out) as f:
            old = json.load(f)
        for e in ENGINES:
            if e not in engines and e in old:
                result[e] = old[e]
                result[e]["from_earlier_run"] = old[e].get("from_earlier_run", old.get("started"))

    def save():
        with open(out, "w") as f:
            json.dump(result, f, indent=1, default=str)

    t_all = time.perf_counter()
    result["uptime_start"] = loadavg()
    paths = serving.data_paths(args.events, args.seed)
    if not os.path.exists(paths["meta"]):
        subprocess.run([sys.executable, os.path.abspath(__file__), "--phase", "generate", "--events", str(args.events),
                        "--seed", str(args.seed)], check=True)
    result["data"] = serving.generate(args.events, args.seed)       # reads the meta file
    for name in engines:
        log(f"=== {name} ===")
        result["uptime_before_" + name] = loadavg()
        t0 = time.perf_counter()
        try:
            result.pop(name, None)
            if name == "tandem":
                run_tandem(args, paths, result)
            elif name == "postgres":
                run_postgres(args, paths, result)
            else:
                run_inprocess_peer(name, args, result)
        except KeyboardInterrupt:
            for pg in list(PgCluster.live):
                pg.stop()
            raise
        except Exception as e:  # keep going: the report says what failed
            log(f"{name} FAILED: {e!r}")
            result.setdefault(name, {})["error"] = repr(e)
        result.setdefault(name, {})["phase_seconds"] = round(time.perf_counter() - t0, 1)
        log(f"{name}: phase took {result[name]['phase_seconds']} s")
        save()
    result["summary"] = summarize(result)
    result["total_seconds"] = round(time.perf_counter() - t_all, 1)
    save()
    log(f"wrote {out} ({result['total_seconds']} s)")
    print("\n".join(throughput_section(result)))


if __name__ == "__main__":
    main()
