#!/usr/bin/env python3
"""A/B of what monitoring costs: single-event ingest (wrk, 64 connections, one JSON event per
request, both views of monitoring-ab.yaml live) and GET /healthz, alternating two tandem binaries
(`bench/monitoring-ab.py OLD NEW`, ROUNDS=4 SECONDS_PER_RUN=10 by default); prints medians and ratios."""
import json, os, re, shutil, statistics, subprocess, sys, tempfile, time, urllib.request
binaries = sys.argv[1:3]
rounds = int(os.environ.get("ROUNDS", "4"))
seconds = int(os.environ.get("SECONDS_PER_RUN", "10"))
here = os.path.dirname(os.path.abspath(__file__))
results = {b: {"ingest": [], "healthz": []} for b in binaries}


def ingest_lua():
    """The throughput benchmark's one-event wrk script (bench/throughput/run.py), written out."""
    source = open(os.path.join(here, "throughput", "run.py")).read()
    start, end = source.index('INGEST_LUA = r"""'), source.index('DONE_LUA = r"""')
    namespace = {}
    exec(source[start:end], namespace)
    countries = '"US","IN","BR","DE","GB","FR","JP","ID","MX","IT"'
    path = os.path.join(tempfile.mkdtemp(prefix="ab-lua-"), "ingest.lua")
    with open(path, "w") as f:
        f.write(namespace["INGEST_LUA"] % {"countries": countries, "done": ""})
    return path


LUA = ingest_lua()

def start(binary):
    d = tempfile.mkdtemp(prefix="ab-")
    log = open(os.path.join(d, "server.log"), "w")
    p = subprocess.Popen([binary, "serve", "--config", os.path.join(here, "monitoring-ab.yaml"), "--data-dir", d + "/data",
                          "--port", "0", "--no-batch", "--no-auth", "--log-level", "warning"], stdout=log, stderr=log)
    for _ in range(200):
        time.sleep(0.1)
        text = open(os.path.join(d, "server.log")).read()
        m = re.search(r"listening on http://127.0.0.1:(\d+)", text)
        if m:
            return p, int(m.group(1)), d
    raise RuntimeError(text)

def wrk(url, lua=None):
    args = ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency"] + (["-s", lua] if lua else []) + [url]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        rps -= int(non2xx.group(1)) / seconds
    return rps

for r in range(rounds):
    for b in (binaries if r % 2 == 0 else list(reversed(binaries))):
        p, port, d = start(b)
        try:
            base = f"http://127.0.0.1:{port}"
            results[b]["healthz"].append(wrk(base + "/healthz"))
            results[b]["ingest"].append(wrk(base + "/v1/streams/pageviews/events", LUA))
            print(b, "round", r + 1, "healthz", round(results[b]["healthz"][-1]), "ingest", round(results[b]["ingest"][-1]), flush=True)
        finally:
            p.terminate(); p.wait(); shutil.rmtree(d, ignore_errors=True)
a, b = binaries
for k in ("ingest", "healthz"):
    ma, mb = statistics.median(results[a][k]), statistics.median(results[b][k])
    print(f"{k}: {os.path.basename(a)} median {ma:,.0f}/s, {os.path.basename(b)} median {mb:,.0f}/s, ratio {mb / ma:.3f}")
for x in binaries:
    print(f"{os.path.basename(x)}: ingest / healthz = {statistics.median(results[x]['ingest']) / statistics.median(results[x]['healthz']):.3f}")
print(json.dumps(results))
