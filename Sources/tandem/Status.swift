import ArgumentParser
import Events
import Foundation
import NIOHTTP1
import TandemAPI

/// `tandem status`: one screen on streams, lag, jobs, freshness and alerts, from `/v1/status`;
/// `--watch` redraws it every few seconds with the ingest rate between two reads.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Sum up streams, lag, jobs, freshness and alerts (--watch to refresh).")
    @OptionGroup var options: ServerOptions
    @Flag(name: .long, help: "Redraw the screen every --interval seconds until interrupted.") var watch = false
    @Option(name: .long, help: "Seconds between two reads with --watch.") var interval: Double = 2

    func run() async throws {
        guard interval > 0, interval <= 3600 else { throw ValidationError("--interval must be more than 0 and at most 3600 seconds") }
        let client = try options.client()
        var previous: (time: Date, status: StatusResponse)?
        repeat {
            let status = try await client.decode(StatusResponse.self, .GET, "/v1/status")
            let now = Date()
            let screen = Self.render(status, previous: previous, at: now)
            // Clear the terminal and go home before each redraw.
            print(watch ? "\u{1B}[2J\u{1B}[H" + screen : screen)
            fflush(nil)
            previous = (now, status)
            if watch { try await Task.sleep(for: .seconds(interval)) }
        } while watch
    }

    /// The screen for `status`; with a previous read, each stream's events per second since it.
    static func render(_ status: StatusResponse, previous: (time: Date, status: StatusResponse)?, at now: Date) -> String {
        func pad(_ value: some CustomStringConvertible, _ width: Int) -> String {
            let text = value.description
            return text.count >= width ? text + " " : text.padding(toLength: width, withPad: " ", startingAt: 0)
        }
        func seconds(_ value: Double?) -> String {
            guard let value else { return "-" }
            if value < 1 { return "\(Int(value * 1000)) ms" }
            if value < 120 { return String(format: "%.1f s", value) }
            if value < 7200 { return String(format: "%.1f min", value / 60) }
            return String(format: "%.1f h", value / 3600)
        }
        var lines = ["tandem \(status.version), up \(seconds(Double(status.uptimeSeconds)))"]
        lines.append("")
        lines.append(pad("STREAM", 20) + pad("EVENTS", 14) + pad("EVENTS/S", 12) + pad("REFUSED", 10) + "BYTES")
        for stream in status.streams {
            let events = stream.endOffsets.values.values.reduce(0, +)
            var rate = "-"
            if let previous, let before = previous.status.streams.first(where: { $0.name == stream.name }) {
                let elapsed = now.timeIntervalSince(previous.time)
                if elapsed > 0 { rate = String(format: "%.0f", Double(events - before.endOffsets.values.values.reduce(0, +)) / elapsed) }
            }
            lines.append(pad(stream.name, 20) + pad(events, 14) + pad(rate, 12) + pad(stream.ingest?.failed ?? 0, 10) + "\(stream.sizeBytes)")
            if let invalid = stream.invalidMessages, invalid > 0 {
                lines.append("  \(invalid) messages in its Kafka topic are not valid events (skipped)")
            }
        }
        lines.append("")
        lines.append(
            pad("VIEW", 20) + pad("LAG", 12) + pad("LAG TIME", 11) + pad("FRESHNESS", 11) + pad("VERSION", 9) + pad("STALENESS", 11) + pad("LATE", 8)
                + "STATE ROWS")
        for view in status.views {
            let lag = view.partitions.reduce(0) { $0 + $1.lagRecords }
            let lagTime = view.partitions.map(\.lagSeconds).max()
            lines.append(
                pad(view.view, 20) + pad(lag, 12) + pad(seconds(lagTime), 11) + pad(seconds(view.freshnessMs.map { Double($0) / 1000 }), 11)
                    + pad(view.batchVersion.map { "v\($0)" } ?? "-", 9) + pad(seconds(view.stalenessSeconds), 11) + pad(view.lateRecords, 8)
                    + "\(view.stateRows)")
        }
        lines.append("")
        let counts = status.jobs.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        lines.append("JOBS since start: " + (counts.isEmpty ? "none" : counts))
        for job in status.recentJobs.prefix(5) {
            lines.append("  \(pad(job.id, 10))\(pad(job.view, 20))\(pad(job.mode, 12))\(pad(job.state, 10))\(job.error ?? "")")
        }
        lines.append("")
        if status.alerts.isEmpty {
            lines.append("ALERTS: none")
        } else {
            lines.append("ALERTS:")
            for alert in status.alerts { lines.append("  [\(alert.rule)] \(alert.subject) since \(alert.since): \(alert.message)") }
        }
        if let instances = status.instances, !instances.isEmpty {
            lines.append("")
            lines.append("SERVERS on the database:")
            for instance in instances {
                lines.append(
                    "  \(pad(instance.address, 28))pid \(pad(instance.pid, 9))\(pad(instance.dataDir, 36))heartbeat \(seconds(instance.heartbeatAgeSeconds)) ago"
                        + (instance.runner ? " batch runner" : "") + (instance.current ? " (this one)" : "")
                        + (instance.partitions.map { partitions in
                            " partitions " + partitions.keys.sorted().map { "\($0)\(partitions[$0]!.sorted())" }.joined(separator: " ")
                        } ?? ""))
            }
        }
        return lines.joined(separator: "\n")
    }
}
