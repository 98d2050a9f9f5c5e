#!/usr/bin/env python3
"""Kafka backend benchmark (issue 14): bulk ingest over HTTP and speed-layer throughput of one
`tandem serve` on the embedded log and on Kafka, alternating, on the same seeded pageviews.

    scripts/bench-kafka.sh [--events N] [--repeat N]

For each run and backend: a fresh server (its own data directory and managed PostgreSQL), stream
`pageviews` (4 partitions keyed by user_id) and the views url_hourly and hourly; then
`tandem post` of the NDJSON file, timed until it returns (every event acknowledged: fsynced by the
embedded log, on the broker with acks=all for Kafka), and the time until both views' speed layers
have consumed every event. Reports medians and the ratio Kafka / embedded; writes
.build-bench/kafka/results-N.json.

The broker is Tansu 0.6 with its in-memory storage (scripts/kafka.sh), on the same two cores: it
does not write to disk, and it competes with Tandem and the client for the CPU. The figures say
what Tandem's Kafka path costs next to its own log on this machine, not what a Kafka cluster does.
"""

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WORK = os.path.join(REPO, ".build-bench", "kafka")

_spec = importlib.util.spec_from_file_location("serving_run", os.path.join(REPO, "bench", "serving", "run.py"))
serving = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(serving)
log = serving.log


def one_run(args, backend, run_index, ndjson):
    yaml_text = ""
    if backend == "kafka":
        yaml_text = (f"log: {{backend: kafka}}\nkafka: {{bootstrap_servers: \"{args.bootstrap}\", "
                     f"topic_prefix: \"bench{run_index}.\", replication_factor: 1}}\n")
    t = serving.Tandem(args.tandem, f"{backend}-{run_index}", 4, work=WORK)
    t.start(yaml_text)
    try:
        t.setup()
        load_avg = serving.loadavg()
        t0 = time.perf_counter()
        post = subprocess.run([args.tandem, "post", "--server", t.url, "pageviews", ndjson],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        posted = time.perf_counter() - t0
        if post.returncode != 0:
            raise RuntimeError(f"tandem post failed: {post.stdout[-2000:]}")
        t.wait_caught_up()
        consumed = time.perf_counter() - t0
        status = t.get("/v1/status")
        stream = next(s for s in status["streams"] if s["name"] == "pageviews")
        ends = sum(stream["end_offsets"].values())
        rss = t.rss_kb().get("VmHWM")
    finally:
        t.stop()
        shutil.rmtree(t.dir, ignore_errors=True)
    out = {"backend": backend, "post_seconds": round(posted, 2), "consumed_seconds": round(consumed, 2),
           "ingest_eps": round(args.events / posted), "speed_eps": round(args.events / consumed),
           "end_offsets_total": ends, "server_peak_rss_kb": rss, "load_before": load_avg}
    log(f"{backend} run {run_index}: posted in {posted:.2f} s ({out['ingest_eps']:,}/s), consumed by both views "
        f"after {consumed:.2f} s ({out['speed_eps']:,}/s); peak RSS {rss / 1024:.0f} MiB")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--tandem", default=os.path.join(REPO, ".build", "release", "tandem"), type=os.path.abspath)
    ap.add_argument("--bootstrap", default=os.environ.get("TANDEM_TEST_KAFKA_BOOTSTRAP"))
    args = ap.parse_args()
    if not args.bootstrap:
        sys.exit("no broker: run through scripts/bench-kafka.sh, which starts one")
    os.makedirs(WORK, exist_ok=True)
    paths = serving.data_paths(args.events, args.seed)
    if not os.path.exists(paths["ndjson"]):
        serving.generate(args.events, args.seed)
    runs = []
    for r in range(args.repeat):
        for backend in (("embedded", "kafka") if r % 2 == 0 else ("kafka", "embedded")):
            runs.append(one_run(args, backend, r + 1, paths["ndjson"]))
    summary = {}
    for backend in ("embedded", "kafka"):
        mine = [x for x in runs if x["backend"] == backend]
        summary[backend] = {k: statistics.median(x[k] for x in mine) for k in ("post_seconds", "consumed_seconds", "ingest_eps", "speed_eps")}
    ratio = {k: round(summary["kafka"][k] / summary["embedded"][k], 2) for k in ("ingest_eps", "speed_eps")}
    result = {"events": args.events, "repeat": args.repeat, "machine": serving.machine(), "runs": runs, "median": summary,
              "kafka_over_embedded": ratio, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with open(os.path.join(WORK, f"results-{args.events}.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"\n{args.events:,} events, {args.repeat} runs each, medians:")
    print("| backend | tandem post (acknowledged) | both views caught up |")
    print("|---|---|---|")
    for backend in ("embedded", "kafka"):
        s = summary[backend]
        print(f"| {backend} | {s['ingest_eps']:,.0f} events/s ({s['post_seconds']} s) | {s['speed_eps']:,.0f} events/s ({s['consumed_seconds']} s) |")
    print(f"| Kafka ÷ embedded | {ratio['ingest_eps']}× | {ratio['speed_eps']}× |")


if __name__ == "__main__":
    main()
