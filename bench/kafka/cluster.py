#!/usr/bin/env python3
"""Several servers on Kafka (issue 14): bulk ingest and speed-layer throughput of one `tandem serve`
and of three sharing one Kafka cluster and one PostgreSQL database, alternating, on the same
seeded pageviews.

    scripts/bench-kafka.sh --cluster [--divided] [--events N] [--repeat N]

For each run: fresh servers (Kafka backend, a fresh topic prefix, a fresh database on one
PostgreSQL cluster), stream `pageviews` (4 partitions keyed by user_id) and the views url_hourly and
hourly defined on the first server (the others follow them). The NDJSON file is split into as many
parts as there are servers, and one `tandem post` per server sends its part at the same time; timed
until every event is acknowledged, then until every server's two views have consumed every event.
Reports medians and the ratio three / one; writes .build-bench/kafka/cluster-N.json.

By default each server runs every view over every partition (replicated), so three servers do
three times the speed-layer work. With --divided (`kafka.divide_partitions: true`) the servers
divide the partitions among them, and "caught up" means that, for each partition, its owner has
consumed every event. With the broker, the clients and the
servers on the same two cores, the figures say what the topology costs here, not what it gains on
three machines.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as single  # noqa: E402  (bench/kafka/run.py: the serving helpers, the paths)

serving, log, WORK = single.serving, single.log, single.WORK


def psql(url, sql):
    subprocess.run(["psql", url, "-qAtc", sql], check=True, stdout=subprocess.DEVNULL)


def psql_value(url, sql):
    return subprocess.run(["psql", url, "-qAtc", sql], check=True, stdout=subprocess.PIPE, text=True).stdout.strip()


def split(ndjson, parts):
    """The file's lines in `parts` files of consecutive lines; returns their paths."""
    with open(ndjson, "rb") as f:
        lines = f.readlines()
    paths = []
    size = (len(lines) + parts - 1) // parts
    for i in range(parts):
        path = f"{ndjson}.part{i}of{parts}"
        if not os.path.exists(path):
            with open(path, "wb") as out:
                out.writelines(lines[i * size:(i + 1) * size])
        paths.append(path)
    return paths


def consumed(t):
    return min(sum(t.get(f"/v1/views/{v}")["status"]["offsets"]) for v in ("url_hourly", "hourly"))


def consumed_divided(nodes):
    """Events the servers' owners have consumed: per partition, the furthest any server got (its
    owner; the others hold it at the published cut), summed, for each view."""
    least = None
    for view in ("url_hourly", "hourly"):
        offsets = [t.get(f"/v1/views/{view}")["status"]["offsets"] for t in nodes]
        total = sum(max(column) for column in zip(*offsets))
        least = total if least is None else min(least, total)
    return least


def one_run(args, servers, run_index, parts):
    database = f"bench_cluster_{run_index}_{servers}"
    base = args.postgres.rsplit("/", 1)[0]
    psql(args.postgres, f"DROP DATABASE IF EXISTS {database}")
    psql(args.postgres, f"CREATE DATABASE {database}")
    yaml_text = (f"log: {{backend: kafka}}\nkafka: {{bootstrap_servers: \"{args.bootstrap}\", "
                 f"topic_prefix: \"cluster{run_index}x{servers}.\", replication_factor: 1, "
                 f"divide_partitions: {'true' if args.divided else 'false'}}}\n")
    nodes = [serving.Tandem(args.tandem, f"cluster-{run_index}-{servers}-{i}", 4, work=WORK) for i in range(servers)]
    try:
        for t in nodes:
            t.start(yaml_text, extra_args=("--postgres-url", f"{base}/{database}"))
        nodes[0].setup()
        for t in nodes[1:]:   # the definitions reach the other servers within a second
            while True:
                try:
                    t.get("/v1/views/hourly")
                    break
                except RuntimeError:
                    time.sleep(0.2)
        if args.divided:
            # A steady cluster: every partition has its owner before the events come (a fresh
            # consumer group takes some seconds to form, which is not what this measures).
            deadline = time.perf_counter() + 120
            while psql_value(f"{base}/{database}", "SELECT count(*) || '/' || count(DISTINCT instance) FROM tandem_partition_owners") != f"4/{servers}":
                if time.perf_counter() > deadline:
                    raise RuntimeError("the servers did not divide the partitions")
                time.sleep(0.2)
        load_avg = serving.loadavg()
        failures = []

        def post(t, path):
            p = subprocess.run([args.tandem, "post", "--server", t.url, "pageviews", path],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if p.returncode != 0:
                failures.append(p.stdout[-2000:])

        t0 = time.perf_counter()
        threads = [threading.Thread(target=post, args=(t, path)) for t, path in zip(nodes, parts)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        posted = time.perf_counter() - t0
        if failures:
            raise RuntimeError(f"tandem post failed: {failures[0]}")
        for t in (nodes[:1] if args.divided else nodes):
            while (consumed_divided(nodes) if args.divided else consumed(t)) < args.events:
                if time.perf_counter() - t0 > 1800:
                    raise RuntimeError("a server did not catch up")
                time.sleep(0.1)
        caught_up = time.perf_counter() - t0
        rss = [t.rss_kb().get("VmHWM") for t in nodes]
    finally:
        for t in nodes:
            t.stop()
            shutil.rmtree(t.dir, ignore_errors=True)
        psql(args.postgres, f"DROP DATABASE IF EXISTS {database}")
    out = {"servers": servers, "post_seconds": round(posted, 2), "caught_up_seconds": round(caught_up, 2),
           "ingest_eps": round(args.events / posted), "speed_eps": round(args.events / caught_up),
           "server_peak_rss_kb": rss, "load_before": load_avg}
    log(f"{servers} server(s), run {run_index}: posted in {posted:.2f} s ({out['ingest_eps']:,}/s), every server's views "
        f"caught up after {caught_up:.2f} s ({out['speed_eps']:,}/s); peak RSS {[r // 1024 for r in rss]} MiB")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--divided", action="store_true", help="servers divide the partitions (kafka.divide_partitions)")
    ap.add_argument("--tandem", default=os.path.join(single.REPO, ".build", "release", "tandem"), type=os.path.abspath)
    ap.add_argument("--bootstrap", default=os.environ.get("TANDEM_TEST_KAFKA_BOOTSTRAP"))
    ap.add_argument("--postgres", default=os.environ.get("TANDEM_TEST_POSTGRES_URL"))
    args = ap.parse_args()
    if not args.bootstrap or not args.postgres:
        sys.exit("no broker or PostgreSQL: run through scripts/bench-kafka.sh --cluster, which starts both")
    os.makedirs(WORK, exist_ok=True)
    paths = serving.data_paths(args.events, args.seed)
    if not os.path.exists(paths["ndjson"]):
        serving.generate(args.events, args.seed)
    runs = []
    for r in range(args.repeat):
        for servers in ((1, 3) if r % 2 == 0 else (3, 1)):
            runs.append(one_run(args, servers, r + 1, split(paths["ndjson"], servers)))
    summary = {}
    for servers in (1, 3):
        mine = [x for x in runs if x["servers"] == servers]
        summary[servers] = {k: statistics.median(x[k] for x in mine) for k in ("post_seconds", "caught_up_seconds", "ingest_eps", "speed_eps")}
    ratio = {k: round(summary[3][k] / summary[1][k], 2) for k in ("ingest_eps", "speed_eps")}
    result = {"events": args.events, "repeat": args.repeat, "divided": args.divided, "machine": serving.machine(), "runs": runs,
              "median": {str(k): v for k, v in summary.items()}, "three_over_one": ratio,
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with open(os.path.join(WORK, f"cluster{'-divided' if args.divided else ''}-{args.events}.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"\n{args.events:,} events, {'divided' if args.divided else 'replicated'}, {args.repeat} runs each, medians:")
    print("| servers | tandem post, one client per server (acknowledged) | every server's views caught up |")
    print("|---|---|---|")
    for servers in (1, 3):
        s = summary[servers]
        print(f"| {servers} | {s['ingest_eps']:,.0f} events/s ({s['post_seconds']} s) | {s['speed_eps']:,.0f} events/s ({s['caught_up_seconds']} s) |")
    print(f"| three ÷ one | {ratio['ingest_eps']}× | {ratio['speed_eps']}× |")


if __name__ == "__main__":
    main()
