#!/usr/bin/env python3
"""Serving benchmark (issue 9): query latency of Tandem over HTTP against PostgreSQL 15 and DuckDB
answering the same questions from their own precomputed view tables, one engine at a time.

Run it with the virtual environment that bench/serving/README.md describes, from anywhere:

    .build-bench/venv/bin/python bench/serving/run.py --events 1000000
    .build-bench/venv/bin/python bench/serving/run.py --events 10000000
    .build-bench/venv/bin/python bench/serving/run.py --report      # results-*.json -> results.md

Everything generated (data, data directories, logs, result JSON) stays under .build-bench/serving/.
"""

import argparse
import datetime as dt
import http.client
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORK = os.path.join(REPO, ".build-bench", "serving")
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))

# The data: 7 days ending at a fixed time that is not on the hour, so the events touch 169 hour
# buckets. Queries use hour-aligned ranges.
END_MS = int(dt.datetime(2026, 11, 22, 0, 30, tzinfo=dt.timezone.utc).timestamp() * 1000)
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
START_MS = END_MS - 7 * DAY_MS
CUT_MS = START_MS + 6 * DAY_MS           # speed scenario: days 1-6 in the batch layer, day 7 not
N_URLS = 10_000
N_USERS = 1_000_000
ZIPF_S = 1.1
LATE_FRACTION = 0.05
LATE_MAX_MS = 10 * 60 * 1000
# 50 countries with Zipf weights (s = 1, in this order). They are drawn after every other field,
# so the other fields (and every answer of this harness) are the same as before they were added.
COUNTRIES = ["US", "IN", "BR", "DE", "GB", "FR", "JP", "ID", "MX", "IT",
             "ES", "CA", "RU", "KR", "TR", "PL", "NL", "AU", "VN", "PH",
             "AR", "CO", "TH", "EG", "SE", "BE", "CH", "NG", "PK", "BD",
             "ZA", "UA", "AT", "CL", "MY", "PT", "RO", "CZ", "GR", "IL",
             "DK", "FI", "NO", "IE", "NZ", "SG", "HU", "PE", "SA", "KE"]
COUNTRY_ZIPF_S = 1.0

SERIES_FROM_MS = START_MS // HOUR_MS * HOUR_MS                 # 2026-11-15T00:00Z
SERIES_TO_MS = -(-END_MS // HOUR_MS) * HOUR_MS                 # 2026-11-22T01:00Z (169 buckets)
TOP_FROM_MS = SERIES_TO_MS - DAY_MS                            # the last 24 hours
TOP_TO_MS = SERIES_TO_MS
MID_RANKS = (100, 1000)                                        # "mid-popularity" urls, by Zipf rank
CHECK_RANKS = [1, 150, 700, 5000]                              # urls whose series are cross-checked


def url_name(rank):
    return f"/page/{rank}"


def iso(ms):
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def loadavg():
    out = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    log(f"uptime: {out}")
    return out


def summary(samples_s):
    xs = sorted(x * 1000 for x in samples_s)
    n = len(xs)
    return {
        "n": n,
        "median_ms": round(statistics.median(xs), 3),
        "p99_ms": round(xs[max(0, math.ceil(0.99 * n) - 1)], 3),
        "max_ms": round(xs[-1], 3),
        "min_ms": round(xs[0], 3),
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Data


def data_paths(events, seed):
    d = os.path.join(WORK, "data")
    # pv2: the files gained a `country` field (issue 10); the old pv-* files are not reused.
    base = os.path.join(d, f"pv2-{events}-s{seed}")
    return {
        "dir": d,
        "ndjson": base + ".ndjson",
        "csv": base + ".csv",
        "ndjson_days1_6": base + ".days1-6.ndjson",
        "ndjson_day7": base + ".day7.ndjson",
        "meta": base + ".meta.json",
    }


def generate(events, seed):
    """Pageviews in arrival order: 95% in event-time order, 5% up to 10 minutes late."""
    import numpy as np

    p = data_paths(events, seed)
    if os.path.exists(p["meta"]):
        log(f"data: reusing {p['ndjson']}")
        with open(p["meta"]) as f:
            return json.load(f)
    os.makedirs(p["dir"], exist_ok=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    ts = START_MS + rng.integers(0, END_MS - START_MS, size=events, dtype=np.int64)
    weights = np.arange(1, N_URLS + 1, dtype=np.float64) ** -ZIPF_S
    weights /= weights.sum()
    rank = rng.choice(N_URLS, size=events, p=weights) + 1
    user = rng.integers(0, N_USERS, size=events)
    latency = np.round(rng.lognormal(mean=math.log(80.0), sigma=0.7, size=events), 1)
    late = rng.random(events) < LATE_FRACTION
    delay = np.where(late, rng.integers(1, LATE_MAX_MS + 1, size=events), 0)
    cw = np.arange(1, len(COUNTRIES) + 1, dtype=np.float64) ** -COUNTRY_ZIPF_S
    country = rng.choice(len(COUNTRIES), size=events, p=cw / cw.sum())
    order = np.argsort(ts + delay, kind="stable")           # the order events arrive in
    ts, rank, user, latency, country = ts[order], rank[order], user[order], latency[order], country[order]
    tstr = np.datetime_as_string(ts.astype("datetime64[ms]"), unit="ms")
    day7 = ts >= CUT_MS
    out_of_order = int(np.count_nonzero(np.diff(ts) < 0))

    fj = open(p["ndjson"], "w")
    fa = open(p["ndjson_days1_6"], "w")
    fb = open(p["ndjson_day7"], "w")
    fc = open(p["csv"], "w")
    fc.write("ts,url,user_id,country,latency_ms\n")
    chunk = 500_000
    for lo in range(0, events, chunk):
        hi = min(events, lo + chunk)
        t_l = tstr[lo:hi].tolist()
        r_l = rank[lo:hi].tolist()
        u_l = user[lo:hi].tolist()
        l_l = latency[lo:hi].tolist()
        c_l = [COUNTRIES[c] for c in country[lo:hi].tolist()]
        d_l = day7[lo:hi].tolist()
        js = [f'{{"ts":"{t}Z","url":"/page/{r}","user_id":"u{u}","country":"{c}","latency_ms":{l}}}\n'
              for t, r, u, c, l in zip(t_l, r_l, u_l, c_l, l_l)]
        fj.write("".join(js))
        fa.write("".join(j for j, d in zip(js, d_l) if not d))
        fb.write("".join(j for j, d in zip(js, d_l) if d))
        fc.write("".join(f"{t}Z,/page/{r},u{u},{c},{l}\n" for t, r, u, c, l in zip(t_l, r_l, u_l, c_l, l_l)))
    for f in (fj, fa, fb, fc):
        f.close()
    meta = {
        "events": events, "seed": seed, "start": iso(START_MS), "end": iso(END_MS),
        "urls": N_URLS, "users": N_USERS, "zipf_s": ZIPF_S, "countries": len(COUNTRIES),
        "country_zipf_s": COUNTRY_ZIPF_S,
        "late_fraction": LATE_FRACTION, "late_max_minutes": LATE_MAX_MS // 60000,
        "late_events": int(late.sum()), "out_of_order_pairs": out_of_order,
        "day7_events": int(day7.sum()), "ndjson_bytes": os.path.getsize(p["ndjson"]),
        "csv_bytes": os.path.getsize(p["csv"]), "seconds": round(time.perf_counter() - t0, 1),
    }
    with open(p["meta"], "w") as f:
        json.dump(meta, f, indent=1)
    log(f"data: generated {events} events in {meta['seconds']} s ({meta['ndjson_bytes'] / 1e6:.0f} MB NDJSON)")
    return meta


def query_urls(runs, warmup, seed):
    """The url of every run of query (a), the same for every engine."""
    rnd = random.Random(seed * 7919 + 1)
    return [url_name(rnd.randint(*MID_RANKS)) for _ in range(runs + warmup)]


# ---------------------------------------------------------------------------------------------
# Tandem


class Tandem:
    def __init__(self, binary, name, partitions, work=None):
        work = work or WORK      # bench/throughput/run.py keeps its servers under its own directory
        self.binary = binary
        self.partitions = partitions
        self.dir = os.path.join(work, "tandem-" + name)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.logpath = os.path.join(work, f"tandem-{name}.log")

    def start(self, yaml_text=None, extra_args=()):
        """Starts `tandem serve`; `yaml_text`, when given, is its tandem.yaml (bench/kafka sets the
        log backend with it); `extra_args` go to `tandem serve` (bench/kafka/cluster.py gives the
        servers one database with --postgres-url)."""
        if os.path.exists(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir)
        if yaml_text:
            with open(os.path.join(self.dir, "tandem.yaml"), "w") as f:
                f.write(yaml_text)
        self.logfile = open(self.logpath, "w")
        # cwd = the data directory's parent, so that no other ./tandem.yaml is picked up.
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--data-dir", os.path.join(self.dir, "data"),
             "--host", "127.0.0.1", "--port", str(self.port), "--no-auth", *extra_args],
            cwd=self.dir, stdout=self.logfile, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tandem serve exited ({self.proc.returncode}); see {self.logpath}")
            try:
                if self.get("/readyz").get("ready", True):
                    log(f"tandem serve pid {self.proc.pid} on {self.url}, log {self.logpath}")
                    return
            except (OSError, RuntimeError, urllib.error.URLError, json.JSONDecodeError):
                pass
            time.sleep(0.3)
        raise RuntimeError("tandem serve did not become ready")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logfile.close()

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: {e.code} {e.read()[:500]!r}")

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body):
        return self.request("POST", path, body)

    def rss_kb(self):
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS", "VmHWM")):
                    k, v = line.split(":")
                    out[k] = int(v.split()[0])
        return out

    def setup(self):
        self.post("/v1/streams", {
            "name": "pageviews", "partitions": self.partitions, "time_field": "ts",
            "key_field": "user_id",
            "fields": {"ts": {"type": "timestamp", "required": True},
                       "url": {"type": "string", "required": True},
                       "user_id": {"type": "string"},
                       "country": {"type": "string"},
                       "latency_ms": {"type": "double"}}})
        self.post("/v1/views", {
            "name": "url_hourly", "stream": "pageviews", "dimensions": ["url"], "bucket": "1h",
            "aggregates": {"views": {"fn": "count"}}})
        self.post("/v1/views", {
            "name": "hourly", "stream": "pageviews", "bucket": "1h",
            "aggregates": {"views": {"fn": "count"},
                           "users": {"fn": "distinct", "field": "user_id"},
                           "p95": {"fn": "quantile", "field": "latency_ms", "q": 0.95}}})

    def ingest(self, path):
        """`tandem post` from the file; returns seconds until acknowledged, the client's peak RSS
        (VmHWM, KiB: tells whether it streams the file) and its last output line."""
        t0 = time.perf_counter()
        p = subprocess.Popen([self.binary, "post", "--server", self.url, "pageviews", path],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        peak = 0
        while p.poll() is None:
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM"):
                            peak = max(peak, int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.1)
        out = p.stdout.read()
        secs = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"tandem post failed ({p.returncode}): {out[-2000:]}")
        last = out.strip().splitlines()[-1] if out.strip() else ""
        log(f"post: {last} in {secs:.1f} s, client peak RSS {peak / 1024:.0f} MiB")
        return secs, peak, last

    def wait_caught_up(self, timeout=1800):
        """Until both views' speed layers consumed the whole log; returns seconds waited."""
        t0 = time.perf_counter()
        while True:
            st = self.get("/v1/status")
            ends = [v for s in st["streams"] if s["name"] == "pageviews"
                    for _, v in sorted(s["end_offsets"].items(), key=lambda kv: int(kv[0]))]
            ok = True
            for v in ("url_hourly", "hourly"):
                offs = self.get(f"/v1/views/{v}")["status"]["offsets"]
                ok = ok and list(offs) == ends
            if ok:
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError("speed layer did not catch up")
            time.sleep(0.2)

    def jobs(self):
        return self.get("/v1/jobs?limit=100")["jobs"]

    def wait_jobs_idle(self, timeout=3600):
        t0 = time.perf_counter()
        while any(j["state"] in ("queued", "running") for j in self.jobs()):
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError("jobs did not finish")
            time.sleep(0.5)
        return time.perf_counter() - t0

    def recompute_full(self):
        """`tandem recompute --full --wait` for both views. A view whose automatic job (the speed
        state passing batch.speed_state_row_limit) is still queued or running is skipped by the
        CLI (409 job_running): wait for it and recompute that view alone."""
        known = {j["id"] for j in self.jobs()}
        per_job, attempts = {}, []
        t0 = time.perf_counter()
        missing = ["url_hourly", "hourly"]
        for attempt in range(5):
            self.wait_jobs_idle()
            cmd = [self.binary, "recompute", "--server", self.url, "--full", "--wait"]
            if len(missing) == 1:
                cmd.insert(2, missing[0])
            r = subprocess.run(cmd, capture_output=True, text=True)
            attempts.append({"views": list(missing), "rc": r.returncode, "output": (r.stdout + r.stderr)[-600:]})
            new = [j for j in self.jobs() if j["id"] not in known]
            for j in new:
                known.add(j["id"])
                if j["state"] != "succeeded":
                    raise RuntimeError(f"job {j['id']} {j['state']}: {j.get('error')}")
                if j.get("trigger") != "cli" or j["mode"] != "full":
                    continue
                s = dt.datetime.fromisoformat(j["started_at"].replace("Z", "+00:00"))
                e = dt.datetime.fromisoformat(j["finished_at"].replace("Z", "+00:00"))
                per_job[j["view"]] = {"id": j["id"], "version": j["version"], "seconds": round((e - s).total_seconds(), 2),
                                      "rows_written": j["rows_written"], "scanned": j["progress"]["scanned"],
                                      "cut": j["cut"]}
            missing = [v for v in ("url_hourly", "hourly") if v not in per_job]
            if not missing:
                break
            log(f"recompute: no full job for {missing} yet (an automatic job was running); again")
        else:
            raise RuntimeError(f"recompute: no full job for {missing}: {attempts}")
        secs = time.perf_counter() - t0
        self.recompute_attempts = attempts
        log(f"recompute --full --wait: {secs:.1f} s in {len(attempts)} call(s); jobs {per_job}")
        return secs, per_job

    def wait_cached(self, versions, timeout=600):
        t0 = time.perf_counter()
        while True:
            sc = self.get("/v1/status")["serving_cache"]
            views = {v["view"]: v for v in sc["views"]}
            if all(views.get(n, {}).get("cached") and views[n]["version"] == ver for n, ver in versions.items()):
                return time.perf_counter() - t0, sc
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"serving cache not ready: {sc}")
            time.sleep(0.2)


def q_series(url):
    return {"view": "url_hourly", "from": iso(SERIES_FROM_MS), "to": iso(SERIES_TO_MS),
            "granularity": "1h", "filter": {"field": "url", "op": "=", "value": url},
            "aggregates": ["views"]}


def q_top():
    return {"view": "url_hourly", "from": iso(TOP_FROM_MS), "to": iso(TOP_TO_MS),
            "granularity": "all", "group_by": ["url"], "aggregates": ["views"],
            "order_by": {"aggregate": "views", "desc": True}, "limit": 10}


def q_hourly():
    return {"view": "hourly", "from": iso(SERIES_FROM_MS), "to": iso(SERIES_TO_MS), "granularity": "1h"}


class TandemClient:
    """One persistent keep-alive HTTP connection, like a dashboard's backend would hold."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def query(self, body):
        data = json.dumps(body).encode()
        t0 = time.perf_counter()
        self.conn.request("POST", "/v1/query", body=data, headers={"Content-Type": "application/json"})
        r = self.conn.getresponse()
        payload = r.read()
        secs = time.perf_counter() - t0
        if r.status != 200:
            raise RuntimeError(f"query {body}: {r.status} {payload[:500]!r}")
        return secs, payload


def tandem_time_to_ms(s):
    return int(dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def tandem_queries(t, urls, runs, warmup, which=("a", "b", "c")):
    c = TandemClient(t.port)
    res, prov = {}, {}
    # (key, result name, the body of run i): (a) draws a url per run, (b) and (c) repeat one body.
    queries = (("a", "a_url_series", lambda i: q_series(urls[i])),
               ("b", "b_top10_24h", lambda i: q_top()),
               ("c", "c_hourly_7d", lambda i: q_hourly()))
    for key, name, body in queries:
        if key not in which:
            continue
        times = []
        for i in range(runs + warmup):
            secs, payload = c.query(body(i))
            if i >= warmup:
                times.append(secs)
        res[name] = summary(times)
        res[name]["rows_last"] = len(json.loads(payload)["rows"])
        prov[key] = json.loads(payload)["provenance"]
    for k, v in res.items():
        log(f"tandem {k}: median {v['median_ms']} ms, p99 {v['p99_ms']} ms, max {v['max_ms']} ms")
    return res, prov


def tandem_answers(t):
    """The answers compared with the peers."""
    c = TandemClient(t.port)
    out = {"series": {}, "top": None, "hourly": None}
    for r in CHECK_RANKS:
        _, p = c.query(q_series(url_name(r)))
        out["series"][url_name(r)] = {tandem_time_to_ms(x["time"]): x["views"] for x in json.loads(p)["rows"]}
    _, p = c.query(q_top())
    out["top"] = [(x["url"], x["views"]) for x in json.loads(p)["rows"]]
    _, p = c.query(q_hourly())
    out["hourly"] = {tandem_time_to_ms(x["time"]): (x["views"], x["users"], x["p95"]) for x in json.loads(p)["rows"]}
    return out


WRK_LUA = r"""
local urls = {%(urls)s}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  math.randomseed(1000 + (tid or 0))
end
function request()
  local u = urls[math.random(#urls)]
  local body = '{"view":"url_hourly","from":"%(from)s","to":"%(to)s","granularity":"1h","aggregates":["views"],'
    .. '"filter":{"field":"url","op":"=","value":"' .. u .. '"}}'
  return wrk.format("POST", "/v1/query", {["Content-Type"] = "application/json"}, body)
end
function done(summary, latency, requests)
  io.write(string.format("WRKJSON {\"requests\":%%d,\"duration_us\":%%d,\"errors_status\":%%d,\"errors_connect\":%%d,\"errors_read\":%%d,\"errors_timeout\":%%d,\"p50_us\":%%d,\"p90_us\":%%d,\"p99_us\":%%d,\"max_us\":%%d}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def wrk_throughput(t, seconds, connections=16, threads=2):
    lua = os.path.join(WORK, "series.lua")
    urls = ",".join(f'"{url_name(r)}"' for r in range(MID_RANKS[0], MID_RANKS[1] + 1))
    with open(lua, "w") as f:
        f.write(WRK_LUA % {"urls": urls, "from": iso(SERIES_FROM_MS), "to": iso(SERIES_TO_MS)})
    wrk = shutil.which("wrk")
    if not wrk:
        raise RuntimeError("wrk is missing: apt-get install wrk")
    r = subprocess.run([wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
                        "-s", lua, t.url + "/v1/query"], capture_output=True, text=True)
    m = re.search(r"WRKJSON (\{.*\})", r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed: {r.stdout} {r.stderr}")
    d = json.loads(m.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    out = {"connections": connections, "threads": threads, "seconds": seconds,
           "requests": d["requests"], "rps": round(d["requests"] / (d["duration_us"] / 1e6)),
           "p50_ms": d["p50_us"] / 1000, "p90_ms": d["p90_us"] / 1000, "p99_ms": d["p99_us"] / 1000,
           "max_ms": d["max_us"] / 1000, "non_2xx": int(non2xx.group(1)) if non2xx else 0,
           "socket_errors": d["errors_connect"] + d["errors_read"] + d["errors_timeout"]}
    log(f"wrk: {out}")
    return out


def wrk_baseline(t, seconds, connections=16, threads=2):
    """The same wrk against GET /healthz: what this machine's HTTP stack gives in this run."""
    r = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", t.url + "/healthz"],
                       capture_output=True, text=True)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    out = {"route": "GET /healthz", "connections": connections, "threads": threads, "seconds": seconds,
           "rps": round(float(m.group(1))) if m else None}
    log(f"wrk baseline: {out}")
    return out


def server_log_findings(path):
    warn = []
    with open(path, errors="replace") as f:
        for line in f:
            if re.search(r"\b(warning|error|critical)\b", line):
                warn.append(line.strip()[:300])
    return {"warnings_or_errors": len(warn), "first": warn[:10]}


def run_tandem_batch(args, paths, urls, result):
    phase = result.setdefault("tandem_batch", {})
    phase["uptime_before"] = loadavg()
    t = Tandem(args.tandem, "batch", args.partitions)
    t.start()
    try:
        t.setup()
        phase["ingest_seconds"], phase["post_client_peak_rss_kb"], _ = t.ingest(paths["ndjson"])
        phase["ingest_events_per_s"] = round(args.events / phase["ingest_seconds"])
        phase["speed_catch_up_after_post_seconds"] = round(t.wait_caught_up(), 2)
        phase["jobs_before_recompute"] = [{k: j[k] for k in ("id", "view", "trigger", "state", "mode")}
                                          for j in t.jobs()]
        phase["wait_auto_jobs_seconds"] = round(t.wait_jobs_idle(), 2)
        phase["rss_before_recompute_kb"] = t.rss_kb()
        phase["uptime_before_recompute"] = loadavg()
        phase["recompute_seconds"], phase["recompute_jobs"] = t.recompute_full()
        phase["recompute_calls"] = len(t.recompute_attempts)
        versions = {v: j["version"] for v, j in phase["recompute_jobs"].items()}
        waited, sc = t.wait_cached(versions)
        phase["cache_ready_after_recompute_seconds"] = round(waited, 2)
        phase["serving_cache"] = sc
        phase["rss_cached_kb"] = t.rss_kb()
        log(f"serving cache ready: {sc}; rss {phase['rss_cached_kb']}")
        phase["uptime_before_queries"] = loadavg()
        phase["queries"], phase["provenance"] = tandem_queries(t, urls, args.runs, args.warmup)
        phase["rss_after_queries_kb"] = t.rss_kb()
        result["answers"]["tandem_batch"] = tandem_answers(t)
        if args.wrk_seconds > 0:
            phase["uptime_before_wrk"] = loadavg()
            phase["throughput_baseline_healthz"] = wrk_baseline(t, 5)
            phase["throughput_a"] = wrk_throughput(t, args.wrk_seconds)
            phase["rss_after_wrk_kb"] = t.rss_kb()
        phase["status_after"] = t.get("/v1/status")
    finally:
        t.stop()
    phase["server_log"] = server_log_findings(t.logpath)
    if not args.keep:
        shutil.rmtree(t.dir, ignore_errors=True)


def run_tandem_speed(args, paths, urls, result):
    phase = result.setdefault("tandem_speed", {})
    phase["uptime_before"] = loadavg()
    t = Tandem(args.tandem, "speed", args.partitions)
    t.start()
    try:
        t.setup()
        phase["ingest_days1_6_seconds"], _, _ = t.ingest(paths["ndjson_days1_6"])
        t.wait_caught_up()
        t.wait_jobs_idle()
        phase["jobs_before_recompute"] = [{k: j[k] for k in ("id", "view", "trigger", "state", "mode")}
                                          for j in t.jobs()]
        phase["recompute_seconds"], phase["recompute_jobs"] = t.recompute_full()
        phase["recompute_calls"] = len(t.recompute_attempts)
        versions = {v: j["version"] for v, j in phase["recompute_jobs"].items()}
        t.wait_cached(versions)
        cut = phase["recompute_jobs"]["url_hourly"]["cut"]
        phase["ingest_day7_seconds"], _, _ = t.ingest(paths["ndjson_day7"])
        phase["speed_catch_up_day7_seconds"] = round(t.wait_caught_up(), 2)
        # Day 7 must be in the speed layer only: no job may have published a newer version.
        sc = t.get("/v1/status")["serving_cache"]
        phase["serving_cache"] = sc
        phase["published_versions_unchanged"] = all(
            v["version"] == versions[v["view"]] for v in sc["views"] if v["view"] in versions)
        phase["jobs_after_day7"] = [{k: j[k] for k in ("id", "view", "trigger", "state", "mode", "version")}
                                    for j in t.jobs() if j["id"] > max(x["id"] for x in phase["recompute_jobs"].values())]
        phase["view_status"] = {v: t.get(f"/v1/views/{v}")["status"] for v in ("url_hourly", "hourly")}
        phase["rss_kb"] = t.rss_kb()
        phase["uptime_before_queries"] = loadavg()
        phase["queries"], phase["provenance"] = tandem_queries(t, urls, args.runs, args.warmup)
        pa = phase["provenance"]["a"]
        phase["speed_only_check"] = {
            "cut": pa["cut"], "speed_offsets": pa["speed_offsets"], "source": pa["source"],
            "batch_version": pa["batch_version"], "published_cut_was": cut,
            "ok": pa["cut"] == cut and pa["source"] == "batch+speed"
                  and all(pa["speed_offsets"][k] > cut[k] for k in cut)}
        result["answers"]["tandem_speed"] = tandem_answers(t)
        phase["rss_after_queries_kb"] = t.rss_kb()
    finally:
        t.stop()
    phase["server_log"] = server_log_findings(t.logpath)
    if not args.keep:
        shutil.rmtree(t.dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Peers

PEER_SQL = {
    "a": "SELECT hour, views FROM pv_url_hour WHERE url = {p} AND hour >= {p} AND hour < {p} ORDER BY hour",
    "b": "SELECT url, sum(views) AS v FROM pv_url_hour WHERE hour >= {p} AND hour < {p} "
         "GROUP BY url ORDER BY v DESC, url LIMIT 10",
    "c": "SELECT hour, views, users, p95 FROM pv_hour WHERE hour >= {p} AND hour < {p} ORDER BY hour",
}


def utc(ms):
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)


def peer_queries(name, execute, urls, runs, warmup):
    """execute(key, params) runs one query and fetches all its rows."""
    res = {}
    cases = {
        "a_url_series": ("a", lambda i: (urls[i], utc(SERIES_FROM_MS), utc(SERIES_TO_MS))),
        "b_top10_24h": ("b", lambda i: (utc(TOP_FROM_MS), utc(TOP_TO_MS))),
        "c_hourly_7d": ("c", lambda i: (utc(SERIES_FROM_MS), utc(SERIES_TO_MS))),
    }
    for label, (key, params) in cases.items():
        times = []
        for i in range(runs + warmup):
            t0 = time.perf_counter()
            rows = execute(key, params(i))
            secs = time.perf_counter() - t0
            if i >= warmup:
                times.append(secs)
        res[label] = summary(times)
        res[label]["rows_last"] = len(rows)
        log(f"{name} {label}: median {res[label]['median_ms']} ms, p99 {res[label]['p99_ms']} ms")
    return res


def peer_answers(execute):
    out = {"series": {}, "top": None, "hourly": None}
    for r in CHECK_RANKS:
        rows = execute("a", (url_name(r), utc(SERIES_FROM_MS), utc(SERIES_TO_MS)))
        out["series"][url_name(r)] = {int(h.timestamp() * 1000): int(v) for h, v in rows}
    rows = execute("b", (utc(TOP_FROM_MS), utc(TOP_TO_MS)))
    out["top"] = [(u, int(v)) for u, v in rows]
    rows = execute("c", (utc(SERIES_FROM_MS), utc(SERIES_TO_MS)))
    out["hourly"] = {int(h.timestamp() * 1000): (int(v), int(u), float(p)) for h, v, u, p in rows}
    return out


def run_postgres(args, paths, urls, result):
    import psycopg

    phase = result.setdefault("postgres", {})
    phase["uptime_before"] = loadavg()
    pgdir = subprocess.run([os.path.join(REPO, "scripts", "postgres.sh"), "start"],
                           capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    try:
        env = open(os.path.join(pgdir, "env")).read()
        dsn = re.search(r"TANDEM_TEST_POSTGRES_URL=(\S+)", env).group(1)
        conn = psycopg.connect(dsn, autocommit=True)
        phase["server_version"] = conn.execute("SHOW server_version").fetchone()[0]
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute("CREATE TABLE pageviews (ts timestamptz NOT NULL, url text NOT NULL, user_id text, country text, "
                     "latency_ms double precision)")
        t0 = time.perf_counter()
        # Server-side COPY (the file is readable by the postgres user).
        conn.execute(f"COPY pageviews FROM '{paths['csv']}' WITH (FORMAT csv, HEADER true)")
        phase["load_seconds"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        conn.execute("CREATE TABLE pv_url_hour AS SELECT url, date_trunc('hour', ts) AS hour, count(*) AS views "
                     "FROM pageviews GROUP BY 1, 2")
        conn.execute("CREATE INDEX ON pv_url_hour (url, hour)")
        conn.execute("CREATE TABLE pv_hour AS SELECT date_trunc('hour', ts) AS hour, count(*) AS views, "
                     "count(DISTINCT user_id) AS users, "
                     "percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95 FROM pageviews GROUP BY 1")
        conn.execute("CREATE UNIQUE INDEX ON pv_hour (hour)")
        conn.execute("ANALYZE pv_url_hour")
        conn.execute("ANALYZE pv_hour")
        phase["build_views_seconds"] = round(time.perf_counter() - t0, 2)
        phase["pv_url_hour_rows"] = conn.execute("SELECT count(*) FROM pv_url_hour").fetchone()[0]
        log(f"postgres: COPY {phase['load_seconds']} s, views {phase['build_views_seconds']} s, "
            f"pv_url_hour {phase['pv_url_hour_rows']} rows")
        sql = {k: v.format(p="%s") for k, v in PEER_SQL.items()}
        cur = conn.cursor()

        def execute(key, params):
            cur.execute(sql[key], params, prepare=True)
            return cur.fetchall()

        phase["plans"] = {k: "\n".join(r[0] for r in conn.execute(
            "EXPLAIN " + sql[k], p).fetchall()) for k, p in
            {"a": (urls[0], utc(SERIES_FROM_MS), utc(SERIES_TO_MS)), "b": (utc(TOP_FROM_MS), utc(TOP_TO_MS)),
             "c": (utc(SERIES_FROM_MS), utc(SERIES_TO_MS))}.items()}
        phase["uptime_before_queries"] = loadavg()
        phase["queries"] = peer_queries("postgres", execute, urls, args.runs, args.warmup)
        result["answers"]["postgres"] = peer_answers(execute)
        conn.close()
    finally:
        subprocess.run([os.path.join(REPO, "scripts", "postgres.sh"), "stop", pgdir], check=False)


def run_duckdb(args, paths, urls, result):
    import duckdb

    phase = result.setdefault("duckdb", {})
    phase["uptime_before"] = loadavg()
    phase["version"] = duckdb.__version__
    con = duckdb.connect()       # in memory, in process
    con.execute("SET TimeZone = 'UTC'")
    t0 = time.perf_counter()
    con.execute(f"""CREATE TABLE pageviews AS SELECT * FROM read_csv('{paths['csv']}', header = true,
                    columns = {{'ts': 'TIMESTAMPTZ', 'url': 'VARCHAR', 'user_id': 'VARCHAR', 'country': 'VARCHAR',
                               'latency_ms': 'DOUBLE'}})""")
    phase["load_seconds"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    con.execute("CREATE TABLE pv_url_hour AS SELECT url, date_trunc('hour', ts) AS hour, count(*) AS views "
                "FROM pageviews GROUP BY ALL ORDER BY url, hour")
    con.execute("CREATE TABLE pv_hour AS SELECT date_trunc('hour', ts) AS hour, count(*) AS views, "
                "count(DISTINCT user_id) AS users, quantile_cont(latency_ms, 0.95) AS p95 "
                "FROM pageviews GROUP BY ALL ORDER BY hour")
    phase["build_views_seconds"] = round(time.perf_counter() - t0, 2)
    con.execute("DROP TABLE pageviews")   # the raw events are not needed to answer
    log(f"duckdb: load {phase['load_seconds']} s, views {phase['build_views_seconds']} s")
    sql = {k: v.format(p="?") for k, v in PEER_SQL.items()}

    def execute(key, params):
        return con.execute(sql[key], list(params)).fetchall()

    phase["uptime_before_queries"] = loadavg()
    phase["queries"] = peer_queries("duckdb", execute, urls, args.runs, args.warmup)
    result["answers"]["duckdb"] = peer_answers(execute)
    con.close()


# ---------------------------------------------------------------------------------------------
# Cross-check


def decode_answers(a):
    """Answers as read back from JSON: keys of the series and hourly maps are epoch ms again."""
    return {"series": {u: {int(h): v for h, v in s.items()} for u, s in a["series"].items()},
            "top": [tuple(x) for x in a["top"]],
            "hourly": {int(h): tuple(v) for h, v in a["hourly"].items()}}


def cross_check(answers, events):
    """Counts must agree exactly everywhere; distinct users and p95 are sketches in Tandem."""
    ref_name = next((n for n in ("postgres", "duckdb") if n in answers), None)
    out = {"reference": ref_name, "comparisons": []}
    if "postgres" in answers and "duckdb" in answers:
        p, d = answers["postgres"], answers["duckdb"]
        same = p["series"] == d["series"] and p["top"] == d["top"] and \
            all(p["hourly"][h][:2] == d["hourly"][h][:2] and abs(p["hourly"][h][2] - d["hourly"][h][2]) < 1e-6
                for h in p["hourly"]) and p["hourly"].keys() == d["hourly"].keys()
        out["comparisons"].append({"a": "postgres", "b": "duckdb", "identical": same})
    for name in ("tandem_batch", "tandem_speed"):
        if name not in answers:
            continue
        t = answers[name]
        c = {"engine": name}
        c["total_views"] = sum(v[0] for v in t["hourly"].values())
        c["total_views_ok"] = c["total_views"] == events
        c["hourly_rows"] = len(t["hourly"])
        if ref_name:
            r = answers[ref_name]
            c["series_urls"] = {u: {"buckets": len(t["series"][u]), "views": sum(t["series"][u].values()),
                                    "exact": t["series"][u] == r["series"][u]} for u in t["series"]}
            c["top10_exact"] = t["top"] == r["top"]
            c["top10_same_set_and_counts"] = sorted(t["top"], key=lambda x: (-x[1], x[0])) == \
                sorted(r["top"], key=lambda x: (-x[1], x[0]))
            c["top10_tandem"] = t["top"]
            c["top10_ref"] = r["top"]
            c["hourly_views_exact"] = all(t["hourly"].get(h, (None,))[0] == r["hourly"][h][0] for h in r["hourly"]) \
                and t["hourly"].keys() == r["hourly"].keys()
            uerr = [abs(t["hourly"][h][1] - r["hourly"][h][1]) / r["hourly"][h][1] for h in r["hourly"] if h in t["hourly"]]
            perr = [abs(t["hourly"][h][2] - r["hourly"][h][2]) / r["hourly"][h][2] for h in r["hourly"] if h in t["hourly"]]
            c["users_rel_error_median"] = round(statistics.median(uerr), 4) if uerr else None
            c["users_rel_error_max"] = round(max(uerr), 4) if uerr else None
            c["p95_rel_error_median"] = round(statistics.median(perr), 4) if perr else None
            c["p95_rel_error_max"] = round(max(perr), 4) if perr else None
        elif "tandem_batch" in answers and name == "tandem_speed":
            b = answers["tandem_batch"]
            c["same_as_tandem_batch"] = t["series"] == b["series"] and t["top"] == b["top"]
        out["comparisons"].append(c)
    if "tandem_batch" in answers and "tandem_speed" in answers:
        a, b = answers["tandem_batch"], answers["tandem_speed"]
        out["comparisons"].append({"a": "tandem_batch", "b": "tandem_speed",
                                   "series_and_top_identical": a["series"] == b["series"] and a["top"] == b["top"],
                                   "hourly_views_identical": {h: v[0] for h, v in a["hourly"].items()} ==
                                   {h: v[0] for h, v in b["hourly"].items()}})
    return out


# ---------------------------------------------------------------------------------------------
# Report


def machine():
    mem = next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1]
    osr = dict(l.strip().split("=", 1) for l in open("/etc/os-release") if "=" in l)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return {"cores": os.cpu_count(), "cpu": cpu, "ram_gib": round(int(mem) / 1024 / 1024, 1),
            "os": osr.get("PRETTY_NAME", "").strip('"'), "kernel": platform.release()}


def fmt(q, key, field):
    v = (q or {}).get(key, {}).get(field)
    return "–" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))


def report_markdown(results):
    lines = []
    for r in results:
        n = r["events"]
        lines.append(f"### {n:,} events (run {r['started']}, {r['runs']} runs after {r['warmup']} warm-ups)\n")
        lines.append(f"Data: {r['data'].get('ndjson_bytes', 0) / 1e6:.0f} MB NDJSON, "
                     f"{r['data'].get('late_events', 0):,} late events, {r['data'].get('day7_events', 0):,} in day 7.\n")
        lines.append("| query | engine | median ms | p99 ms | max ms | rows |")
        lines.append("|---|---|---:|---:|---:|---:|")
        names = {"a_url_series": "(a) one url, hourly, 7 d", "b_top10_24h": "(b) top-10 urls, last 24 h",
                 "c_hourly_7d": "(c) count, distinct users, p95 per hour, 7 d"}
        engines = [("tandem_batch", "Tandem (HTTP, all in batch)"), ("tandem_speed", "Tandem (HTTP, day 7 in speed layer)"),
                   ("postgres", "PostgreSQL 15 (psycopg, prepared)"), ("duckdb", "DuckDB (in process)")]
        for key, label in names.items():
            for e, elabel in engines:
                q = r.get(e, {}).get("queries")
                if not q or key not in q:
                    continue
                lines.append(f"| {label} | {elabel} | {fmt(q, key, 'median_ms')} | {fmt(q, key, 'p99_ms')} | "
                             f"{fmt(q, key, 'max_ms')} | {q[key].get('rows_last', '')} |")
        lines.append("")
        tb = r.get("tandem_batch", {})
        if tb.get("throughput_a"):
            w = tb["throughput_a"]
            lines.append(f"Throughput of (a), random mid-popularity urls, wrk -t{w['threads']} -c{w['connections']} "
                         f"-d{w['seconds']}s: **{w['rps']:,} requests/s**, p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms, "
                         f"non-2xx {w['non_2xx']}, socket errors {w['socket_errors']}"
                         + (f"; baseline in the same run, GET /healthz with the same wrk settings: "
                            f"{tb['throughput_baseline_healthz']['rps']:,} requests/s" if tb.get("throughput_baseline_healthz") else "")
                         + ".\n")
        lines.append("| step | seconds |")
        lines.append("|---|---:|")
        for label, v in [("Tandem `tandem post` (whole file)", tb.get("ingest_seconds")),
                         ("Tandem speed layer catch-up after post returned", tb.get("speed_catch_up_after_post_seconds")),
                         ("Tandem `recompute --full --wait` (both views)", tb.get("recompute_seconds")),
                         ("Tandem serving cache ready after recompute", tb.get("cache_ready_after_recompute_seconds")),
                         ("PostgreSQL COPY", r.get("postgres", {}).get("load_seconds")),
                         ("PostgreSQL build view tables + index + ANALYZE", r.get("postgres", {}).get("build_views_seconds")),
                         ("DuckDB read_csv", r.get("duckdb", {}).get("load_seconds")),
                         ("DuckDB build view tables", r.get("duckdb", {}).get("build_views_seconds"))]:
            if v is not None:
                lines.append(f"| {label} | {v:.1f} |")
        for view, j in tb.get("recompute_jobs", {}).items():
            lines.append(f"| job {j['id']} `{view}` (full, {j['scanned']:,} records, {j['rows_written']:,} rows) | {j['seconds']:.1f} |")
        lines.append("")
        if tb.get("rss_cached_kb"):
            sc = tb.get("serving_cache", {})
            lines.append(f"RSS of `tandem serve` with both views cached: **{tb['rss_cached_kb']['VmRSS'] / 1024:.0f} MiB** "
                         f"(peak {tb['rss_cached_kb']['VmHWM'] / 1024:.0f} MiB); after the queries and wrk "
                         f"{tb.get('rss_after_wrk_kb', tb.get('rss_after_queries_kb', {})).get('VmRSS', 0) / 1024:.0f} MiB; "
                         f"serving cache {sc.get('used_bytes', 0) / 1e6:.1f} MB estimated ("
                         + ", ".join(f"{v['view']}: {v['rows']:,} rows" for v in sc.get("views", [])) + ").\n")
        lines.append("Load average before each phase: " + "; ".join(
            f"{e}: {r[e]['uptime_before'].split('load average:')[-1].strip()}" for e, _ in engines if e in r) + "\n")
    return "\n".join(lines)


def write_report():
    results = []
    for fn in sorted(os.listdir(WORK)):
        if fn.startswith("results-") and fn.endswith(".json"):
            with open(os.path.join(WORK, fn)) as f:
                results.append(json.load(f))
    results.sort(key=lambda r: r["events"])
    md = report_markdown(results)
    path = os.path.join(WORK, "report.md")
    with open(path, "w") as f:
        f.write(md)
    print(md)
    log(f"wrote {path}")


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=100, help="timed runs per query (after the warm-ups)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--scenario", choices=["batch", "speed", "both"], default="both")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--partitions", type=int, default=2)
    ap.add_argument("--wrk-seconds", type=int, default=12, help="0 skips the throughput run")
    ap.add_argument("--tandem", default=os.environ.get("TANDEM_BIN", "/work/bench-bin/tandem"))
    ap.add_argument("--fresh", action="store_true",
                    help="do not merge with an earlier results-N.json (by default a partial rerun replaces only its phases)")
    ap.add_argument("--keep", action="store_true", help="keep the Tandem data directories")
    ap.add_argument("--report", action="store_true", help="only write report.md from results-*.json")
    args = ap.parse_args()

    os.makedirs(WORK, exist_ok=True)
    if args.report:
        write_report()
        return
    result = {"events": args.events, "runs": args.runs, "warmup": args.warmup, "seed": args.seed,
              "scenario": args.scenario, "partitions": args.partitions,
              "started": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": machine(), "tandem_binary": args.tandem, "answers": {},
              "ranges": {"series": [iso(SERIES_FROM_MS), iso(SERIES_TO_MS)], "top": [iso(TOP_FROM_MS), iso(TOP_TO_MS)],
                         "cut_event_time": iso(CUT_MS)}}
    out = os.path.join(WORK, f"results-{args.events}.json")
    answers_path = os.path.join(WORK, f"answers-{args.events}.json")
    if not args.fresh and os.path.exists(out) and os.path.exists(answers_path):
        # A partial rerun (--scenario, --skip-peers) replaces only the phases it runs.
        with open(out) as f:
            old = json.load(f)
        with open(answers_path) as f:
            old_answers = json.load(f)
        for k in ("tandem_batch", "tandem_speed", "postgres", "duckdb"):
            if k in old:
                result[k] = old[k]
                result[k]["from_earlier_run"] = old[k].get("from_earlier_run", old.get("started"))
            if k in old_answers:
                result["answers"][k] = decode_answers(old_answers[k])

    def save():
        with open(out, "w") as f:
            json.dump(result, f, indent=1, default=str)

    result["uptime_start"] = loadavg()
    result["data"] = generate(args.events, args.seed)
    paths = data_paths(args.events, args.seed)
    urls = query_urls(args.runs, args.warmup, args.seed)
    phases = []
    if args.scenario in ("batch", "both"):
        phases.append(("tandem_batch", run_tandem_batch))
    if args.scenario in ("speed", "both"):
        phases.append(("tandem_speed", run_tandem_speed))
    if not args.skip_peers:
        phases += [("postgres", run_postgres), ("duckdb", run_duckdb)]
    for name, fn in phases:
        log(f"=== {name} ===")
        t0 = time.perf_counter()
        try:
            result.pop(name, None)
            result["answers"].pop(name, None)
            fn(args, paths, urls, result)
        except Exception as e:  # keep going: report what failed
            log(f"{name} FAILED: {e!r}")
            result.setdefault(name, {})["error"] = repr(e)
        result.setdefault(name, {})["phase_seconds"] = round(time.perf_counter() - t0, 1)
        save()
    result["cross_check"] = cross_check(result["answers"], args.events)
    log("cross-check: " + json.dumps(result["cross_check"], default=str)[:3000])
    # Answers are bulky: keep them in their own file.
    with open(answers_path, "w") as f:
        json.dump(result.pop("answers"), f, default=str)
    save()
    log(f"wrote {out}")
    print(report_markdown([result]))


if __name__ == "__main__":
    main()
