import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// `tandem recompute VIEW [--full]`: queues a batch job, and follows it with `--wait`.
struct Recompute: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute a view (or all views) in the batch layer.",
        discussion: "Incremental by default: from the published version's cut, merged into a copy of it. One job per view at a time.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "The view (default: every view).") var view: String?
    @Flag(help: "Recompute from offset 0 instead of incrementally.") var full = false
    @Flag(help: "Follow the job until it ends, with a progress bar on a terminal.") var wait = false

    func run() async throws {
        var request: [String: Any] = ["mode": full ? "full" : "incremental", "trigger": "cli"]
        if let view { request["view"] = view }
        let client = APIClient(base: options.server)
        let (status, reply) = try await client.send(.POST, "/v1/jobs", body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: request)))
        guard status == 202 else {
            printError("HTTP \(status): \(String(buffer: reply))")
            throw ExitCode(1)
        }
        let object = try JSONSerialization.jsonObject(with: Data(reply.readableBytesView)) as? [String: Any] ?? [:]
        let jobs = (object["jobs"] as? [[String: Any]]) ?? [object]
        for job in jobs { print(JobLine.describe(job)) }
        guard wait else { return }
        var failed = false
        for job in jobs {
            guard let id = job["id"] as? String else { continue }
            let final = try await JobLine.follow(id, client: client)
            failed = failed || final["state"] as? String != "succeeded"
        }
        if failed { throw ExitCode(1) }
    }
}

/// `tandem jobs [ID] [--follow]`: lists jobs, or shows one.
struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List batch jobs, or show one (and follow it with --follow).")
    @OptionGroup var options: ServerOptions
    @Argument(help: "A job id such as j_000042.") var id: String?
    @Flag(help: "Follow the job until it ends, with a progress bar on a terminal.") var follow = false
    @Option(help: "How many jobs to list.") var limit: Int = 20

    func run() async throws {
        let client = APIClient(base: options.server)
        if let id {
            if follow {
                _ = try await JobLine.follow(id, client: client)
            } else {
                print(String(buffer: try await client.expectOK(.GET, "/v1/jobs/\(id)")))
            }
            return
        }
        let body = try await client.json(.GET, "/v1/jobs?limit=\(limit)") as? [String: Any]
        print("ID        VIEW                    MODE         STATE      SCANNED/TOTAL          ROWS      VERSION  ERROR")
        for job in body?["jobs"] as? [[String: Any]] ?? [] { print(JobLine.describe(job)) }
    }
}

enum JobLine {
    static func describe(_ job: [String: Any]) -> String {
        let progress = job["progress"] as? [String: Any] ?? [:]
        func column(_ value: Any?, _ width: Int) -> String {
            let text = value.map { "\($0)" } ?? "-"
            return (text == "<null>" ? "-" : text).padding(toLength: width, withPad: " ", startingAt: 0)
        }
        return column(job["id"], 10) + column(job["view"], 24) + column(job["mode"], 13) + column(job["state"], 11)
            + column("\(progress["scanned"] ?? 0)/\(progress["total"] ?? 0)", 23) + column(job["rows_written"], 10) + column(job["version"], 9)
            + ((job["error"] as? String) ?? "")
    }

    /// Polls a job until it ends, drawing a progress bar on a terminal.
    static func follow(_ id: String, client: APIClient) async throws -> [String: Any] {
        let bar = Progress(total: 1000, enabled: isatty(STDERR_FILENO) != 0)
        while true {
            let job = try await client.json(.GET, "/v1/jobs/\(id)") as? [String: Any] ?? [:]
            let progress = job["progress"] as? [String: Any] ?? [:]
            let scanned = progress["scanned"] as? Int ?? 0, total = progress["total"] as? Int ?? 0
            if total > 0 { bar.update(scanned * 1000 / total) }
            if let state = job["state"] as? String, state == "succeeded" || state == "failed" {
                bar.finish()
                print(describe(job))
                return job
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
