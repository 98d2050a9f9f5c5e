/// The dashboard at `/`: static files compiled into the binary (no build step, no npm, no
/// third-party code; charts are hand-written SVG). The page holds no data: it reads
/// `/v1/status` every 2 seconds, and `/v1/views` and `/v1/query` for the chart, with the token
/// given in the page's address (`/#token=tdm_...`, which browsers never send to the server) or
/// typed into its form, and kept for the browser tab's session.
enum Dashboard {
    struct File: Sendable {
        var contentType: String
        var text: String
    }

    /// Each path and its file.
    static let files: [(String, File)] = [
        ("/", File(contentType: "text/html; charset=utf-8", text: html)),
        ("/dashboard/app.js", File(contentType: "text/javascript; charset=utf-8", text: script)),
        ("/dashboard/app.css", File(contentType: "text/css; charset=utf-8", text: style)),
    ]

    /// The paths, which need no token.
    static let paths = Set(files.map(\.0))

    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Tandem</title>
        <link rel="stylesheet" href="/dashboard/app.css">
        </head>
        <body>
        <header>
          <h1>Tandem</h1>
          <span id="version"></span>
          <span id="updated" class="muted">connecting…</span>
        </header>
        <form id="login" hidden>
          <p>This server needs a token with the query scope.</p>
          <input id="token" type="password" placeholder="tdm_…" autocomplete="off" size="60">
          <button type="submit">Show the dashboard</button>
        </form>
        <main id="main">
          <section id="alerts-section"><h2>Alerts</h2><div id="alerts"><p class="muted">none</p></div></section>
          <section><h2>Ingest</h2><table id="streams"><thead><tr>
            <th>stream</th><th>partitions</th><th>events</th><th>events/s</th><th>rate, last 5 min</th><th>errors/s</th><th>refused since start</th><th>size</th>
          </tr></thead><tbody></tbody></table></section>
          <section><h2>Views</h2><table id="views"><thead><tr>
            <th>view</th><th>stream</th><th>freshness</th><th>batch version</th><th>staleness</th><th>watermark age</th><th>late records</th><th>poison</th><th>state rows</th>
          </tr></thead><tbody></tbody></table></section>
          <section><h2>Lag per partition</h2><table id="lag"><thead><tr>
            <th>view</th><th>partition</th><th>consumed</th><th>lag (records)</th><th>lag (seconds)</th>
          </tr></thead><tbody></tbody></table></section>
          <section><h2>Merged time series</h2>
            <label>view <select id="view-select"></select></label>
            <label>aggregate <select id="aggregate-select"></select></label>
            <label>range <select id="range-select">
              <option value="1">1 hour</option><option value="6" selected>6 hours</option><option value="24">1 day</option><option value="168">7 days</option>
            </select></label>
            <div id="chart-box"><svg id="view-chart" class="chart" width="960" height="280" data-points="0"></svg></div>
            <p id="chart-note" class="muted"></p>
          </section>
          <section><h2>Jobs</h2><table id="jobs"><thead><tr>
            <th>job</th><th>view</th><th>mode</th><th>trigger</th><th>state</th><th>started</th><th>duration</th><th>records</th><th>rows written</th><th>error</th>
          </tr></thead><tbody></tbody></table>
          <p class="muted" id="job-counts"></p></section>
          <section><h2>Process</h2><p id="process" class="muted"></p></section>
        </main>
        <script src="/dashboard/app.js"></script>
        </body>
        </html>
        """#

    static let style = #"""
        body { font: 14px/1.4 system-ui, sans-serif; margin: 0 24px 24px; color: #1d2330; background: #f7f8fa; }
        header { display: flex; gap: 16px; align-items: baseline; border-bottom: 1px solid #d9dde5; margin-bottom: 8px; }
        h1 { font-size: 22px; margin: 12px 0; }
        h2 { font-size: 16px; margin: 20px 0 8px; }
        section { background: #fff; border: 1px solid #e1e4ea; border-radius: 6px; padding: 4px 14px 12px; margin-top: 12px; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: 4px 10px 4px 0; border-bottom: 1px solid #eef0f4; white-space: nowrap; }
        td.num, th.num { text-align: right; }
        .muted { color: #6b7385; }
        .alert { background: #fdecea; border-left: 4px solid #d93025; padding: 6px 10px; margin: 4px 0; }
        .ok { color: #188038; } .bad { color: #d93025; font-weight: 600; } .warn { color: #b06000; }
        svg.spark polyline { fill: none; stroke: #1a73e8; stroke-width: 1.5; }
        svg.chart .series { fill: none; stroke: #1a73e8; stroke-width: 2; }
        svg.chart .point { fill: #1a73e8; }
        svg.chart .late { fill: #d93025; }
        svg.chart .cut { stroke: #188038; stroke-width: 2; stroke-dasharray: 6 4; }
        svg.chart .watermark { stroke: #b06000; stroke-width: 1.5; stroke-dasharray: 2 3; }
        svg.chart .axis { stroke: #9aa0ac; } svg.chart text { font-size: 11px; fill: #4a5161; }
        label { margin-right: 16px; }
        """#

    static let script = #"""
        "use strict";
        const samples = [];
        let token = null, views = {}, refreshes = 0, chartBusy = false;

        function readToken() {
          const match = location.hash.match(/token=([^&]+)/);
          if (match) {
            sessionStorage.setItem("tandem-token", decodeURIComponent(match[1]));
            history.replaceState(null, "", location.pathname);  // the token leaves the address bar
          }
          token = sessionStorage.getItem("tandem-token");
        }

        async function api(path, body) {
          const headers = {};
          if (token) headers["Authorization"] = "Bearer " + token;
          if (body !== undefined) headers["Content-Type"] = "application/json";
          const response = await fetch(path, { method: body === undefined ? "GET" : "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
          if (response.status === 401 || response.status === 403) { showLogin(); throw new Error("unauthorized"); }
          const json = await response.json();
          if (!response.ok) throw new Error(json.error ? json.error.code + ": " + json.error.message : String(response.status));
          return json;
        }

        function showLogin() {
          document.getElementById("login").hidden = false;
          document.getElementById("main").hidden = true;
        }

        document.getElementById("login").addEventListener("submit", (event) => {
          event.preventDefault();
          sessionStorage.setItem("tandem-token", document.getElementById("token").value.trim());
          readToken();
          document.getElementById("login").hidden = true;
          document.getElementById("main").hidden = false;
          refresh();
        });

        const el = (tag, attrs = {}, text) => {
          const node = document.createElement(tag);
          for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
          if (text !== undefined) node.textContent = text;
          return node;
        };
        const svg = (tag, attrs = {}) => {
          const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
          for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
          return node;
        };
        const fmt = (n) => n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US", { maximumFractionDigits: 1 });
        const bytes = (n) => n >= 1 << 30 ? fmt(n / (1 << 30)) + " GiB" : n >= 1 << 20 ? fmt(n / (1 << 20)) + " MiB" : n >= 1024 ? fmt(n / 1024) + " KiB" : fmt(n) + " B";
        const seconds = (s) => s === null || s === undefined ? "–" : s < 1 ? fmt(s * 1000) + " ms" : s < 120 ? fmt(s) + " s" : s < 7200 ? fmt(s / 60) + " min" : fmt(s / 3600) + " h";
        const total = (offsets) => Object.values(offsets).reduce((a, b) => a + b, 0);

        function row(table, cells) {
          const tr = el("tr");
          for (const cell of cells) {
            const td = el("td");
            if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell;
            if (typeof cell === "number") td.className = "num";
            tr.appendChild(td);
          }
          table.appendChild(tr);
        }

        function sparkline(values, id) {
          const width = 160, height = 28, max = Math.max(1, ...values);
          const node = svg("svg", { width, height, class: "spark", id, "data-points": values.length });
          const step = values.length > 1 ? width / (values.length - 1) : width;
          node.appendChild(svg("polyline", { points: values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`).join(" ") }));
          return node;
        }

        // Events and refused requests per second between consecutive status samples.
        function rates(stream) {
          const points = [];
          for (let i = 1; i < samples.length; i++) {
            const a = samples[i - 1], b = samples[i];
            const sa = a.status.streams.find((s) => s.name === stream), sb = b.status.streams.find((s) => s.name === stream);
            if (!sa || !sb) continue;
            const dt = (b.time - a.time) / 1000;
            if (dt <= 0) continue;
            points.push({ events: Math.max(0, total(sb.end_offsets) - total(sa.end_offsets)) / dt,
                          errors: Math.max(0, ((sb.ingest || {}).failed || 0) - ((sa.ingest || {}).failed || 0)) / dt });
          }
          return points;
        }

        function render(status) {
          document.getElementById("version").textContent = "version " + status.version + ", up " + seconds(status.uptime_seconds);
          document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
          const alerts = document.getElementById("alerts");
          alerts.replaceChildren();
          if (status.alerts.length === 0) alerts.appendChild(el("p", { class: "muted ok" }, "no alert"));
          for (const alert of status.alerts) alerts.appendChild(el("div", { class: "alert" }, `${alert.rule} · ${alert.subject} · since ${alert.since}: ${alert.message}`));

          const streams = document.querySelector("#streams tbody");
          streams.replaceChildren();
          for (const stream of status.streams) {
            const points = rates(stream.name), last = points[points.length - 1] || { events: 0, errors: 0 };
            const failures = Object.entries((stream.ingest || {}).failures || {}).map(([code, n]) => `${code}: ${n}`).join(", ");
            row(streams, [stream.name, stream.partitions, total(stream.end_offsets), fmt(last.events), sparkline(points.map((p) => p.events), "ingest-" + stream.name),
                          fmt(last.errors), failures || "0", bytes(stream.size_bytes)]);
          }

          const viewRows = document.querySelector("#views tbody"), lag = document.querySelector("#lag tbody");
          viewRows.replaceChildren(); lag.replaceChildren();
          for (const view of status.views) {
            row(viewRows, [view.view, view.stream, view.freshness_ms === null || view.freshness_ms === undefined ? "–" : seconds(view.freshness_ms / 1000),
                           view.batch_version === null || view.batch_version === undefined ? "none" : "v" + view.batch_version, seconds(view.staleness_seconds),
                           seconds(view.watermark_age_seconds), view.late_records, view.poison_records, view.state_rows]);
            for (const partition of view.partitions) {
              const cls = partition.lag_seconds > 60 ? "bad" : partition.lag_records > 0 ? "warn" : "ok";
              row(lag, [view.view, partition.partition, partition.consumed, el("span", { class: cls }, fmt(partition.lag_records)), seconds(partition.lag_seconds)]);
            }
          }

          const jobs = document.querySelector("#jobs tbody");
          jobs.replaceChildren();
          for (const job of status.recent_jobs) {
            const duration = job.started_at ? ((job.finished_at ? Date.parse(job.finished_at) : Date.now()) - Date.parse(job.started_at)) / 1000 : null;
            row(jobs, [job.id, job.view, job.mode, job.trigger, el("span", { class: job.state === "failed" ? "bad" : job.state === "succeeded" ? "ok" : "warn" }, job.state),
                       job.started_at || "–", seconds(duration), `${job.progress.scanned} / ${job.progress.total}`, job.rows_written ?? "–", job.error || ""]);
          }
          document.getElementById("job-counts").textContent = "since start: " + (Object.entries(status.jobs).map(([s, n]) => `${n} ${s}`).join(", ") || "no job");
          const p = status.process || {};
          document.getElementById("process").textContent = `RSS ${bytes(p.resident_bytes || 0)}, CPU ${fmt(p.cpu_seconds)} s, ${fmt(p.open_files)} open files` +
            (status.serving_cache ? `, serving cache ${bytes(status.serving_cache.used_bytes)} of ${bytes(status.serving_cache.max_bytes)}` : "");
        }

        async function loadViews(status) {
          const select = document.getElementById("view-select");
          const names = status.views.map((v) => v.view);
          if (names.join() === Object.keys(views).join()) return;
          const list = await api("/v1/views");
          views = {};
          for (const view of list.views) if (names.includes(view.name)) views[view.name] = view;
          const current = select.value;
          select.replaceChildren(...Object.keys(views).map((name) => el("option", { value: name }, name)));
          if (names.includes(current)) select.value = current;
          fillAggregates();
        }

        function fillAggregates() {
          const view = views[document.getElementById("view-select").value];
          const select = document.getElementById("aggregate-select");
          const current = select.value;
          const names = view ? Object.keys(view.aggregates) : [];
          select.replaceChildren(...names.map((name) => el("option", { value: name }, name)));
          if (names.includes(current)) select.value = current;
        }

        // The view's merged series over the range that ends at its watermark (or now), with the
        // cut (the batch/speed boundary) and the watermark marked, and buckets that took late
        // records drawn red.
        async function renderChart(status) {
          const name = document.getElementById("view-select").value, view = views[name];
          const aggregate = document.getElementById("aggregate-select").value;
          const chart = document.getElementById("view-chart"), note = document.getElementById("chart-note");
          if (!view || !aggregate || chartBusy) return;
          chartBusy = true;
          try {
            const info = status.views.find((v) => v.view === name) || {};
            const hours = Number(document.getElementById("range-select").value);
            const end = info.watermark ? Date.parse(info.watermark) + 3600e3 : Date.now();
            const bucket = parseBucket(view.bucket);
            const step = Math.max(bucket, Math.ceil(hours * 3600e3 / 240 / bucket) * bucket);
            // A whole number of steps, so that the range is aligned to the granularity.
            const to = Math.ceil(end / step) * step, from = to - Math.ceil(hours * 3600e3 / step) * step;
            const answer = await api("/v1/query", { view: name, from: new Date(from).toISOString(), to: new Date(to).toISOString(),
                                                    granularity: (step / 1000) + "s", aggregates: [aggregate] });
            const points = answer.rows.filter((r) => typeof r[aggregate] === "number").map((r) => ({ t: Date.parse(r.time), v: r[aggregate] }));
            drawChart(chart, points, from, to, info, step);
            const cut = info.cut_event_time ? ` · cut: the batch version holds the log up to a record of event time ${info.cut_event_time}, the speed layer what came after` : " · no batch version yet (speed layer only)";
            note.textContent = `${points.length} buckets of ${seconds(step / 1000)} · source ${answer.provenance.source} · freshness ${answer.provenance.freshness_ms ?? "–"} ms` +
              cut + ` · ${answer.provenance.late_records ?? "unknown"} late records in this range, ${info.late_records || 0} since the view started (red: buckets at or before the watermark that late records reached)`;
          } catch (error) {
            note.textContent = "chart: " + error.message;
          } finally {
            chartBusy = false;
          }
        }

        function parseBucket(text) {
          const match = /^(\d+)(ms|s|m|h|d)$/.exec(text || "1m");
          const unit = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[match ? match[2] : "m"];
          return (match ? Number(match[1]) : 1) * unit;
        }

        function drawChart(chart, points, from, to, info, step) {
          const width = 960, height = 280, left = 60, bottom = 24, top = 10, right = 10;
          const max = Math.max(1, ...points.map((p) => p.v));
          const x = (t) => left + ((t - from) / (to - from)) * (width - left - right);
          const y = (v) => top + (1 - v / max) * (height - top - bottom);
          chart.replaceChildren();
          chart.appendChild(svg("line", { class: "axis", x1: left, y1: height - bottom, x2: width - right, y2: height - bottom }));
          chart.appendChild(svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: height - bottom }));
          for (const v of [0, max / 2, max]) {
            const label = svg("text", { x: 4, y: y(v) + 4 }); label.textContent = fmt(v); chart.appendChild(label);
          }
          for (const t of [from, (from + to) / 2, to]) {
            const label = svg("text", { x: Math.min(x(t) - 30, width - 110), y: height - 6 }); label.textContent = new Date(t).toISOString().slice(5, 16).replace("T", " "); chart.appendChild(label);
          }
          chart.appendChild(svg("polyline", { class: "series", points: points.map((p) => `${x(p.t + step / 2).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ") }));
          const watermark = info.watermark ? Date.parse(info.watermark) : null;
          const lateTimes = (info.late_buckets || []).map((b) => Date.parse(b.time));
          let lateShown = 0;
          for (const p of points) {
            const late = lateTimes.some((t) => t >= p.t && t < p.t + step);
            if (late) lateShown++;
            chart.appendChild(svg("circle", { class: late ? "point late" : "point", cx: x(p.t + step / 2).toFixed(1), cy: y(p.v).toFixed(1), r: late ? 4 : 2 }));
          }
          if (info.cut_event_time) {
            const cx = x(Date.parse(info.cut_event_time));
            chart.appendChild(svg("line", { class: "cut", x1: cx, y1: top, x2: cx, y2: height - bottom }));
            const label = svg("text", { x: cx + 4, y: top + 12 }); label.textContent = "cut"; chart.appendChild(label);
          }
          if (watermark !== null) {
            const wx = x(watermark);
            chart.appendChild(svg("line", { class: "watermark", x1: wx, y1: top, x2: wx, y2: height - bottom }));
            const label = svg("text", { x: wx + 4, y: top + 26 }); label.textContent = "watermark"; chart.appendChild(label);
          }
          chart.setAttribute("data-points", String(points.length));
          chart.setAttribute("data-late-points", String(lateShown));
        }

        async function refresh() {
          try {
            const status = await api("/v1/status");
            samples.push({ time: Date.now(), status });
            while (samples.length > 150) samples.shift();
            render(status);
            await loadViews(status);
            await renderChart(status);
            document.body.dataset.refreshes = String(++refreshes);
          } catch (error) {
            if (error.message !== "unauthorized") document.getElementById("updated").textContent = "error: " + error.message;
          }
        }

        readToken();
        document.getElementById("view-select").addEventListener("change", () => { fillAggregates(); refresh(); });
        document.getElementById("aggregate-select").addEventListener("change", refresh);
        document.getElementById("range-select").addEventListener("change", refresh);
        refresh();
        setInterval(refresh, 2000);
        """#
}
