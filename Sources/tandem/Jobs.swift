import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import TandemAPI

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
        let client = try options.client()
        let (status, reply) = try await client.send(.POST, "/v1/jobs", body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: request)))
        guard status == 202 else {
            printError("HTTP \(status): \(String(buffer: reply))")
            throw ExitCode(1)
        }
        var jobs: [JobResponse]
        var skipped: [JobsResponse.Skipped] = []
        if view == nil {
            let answer = try APIClient.decode(JobsResponse.self, from: reply)
            jobs = answer.jobs
            skipped = answer.skipped ?? []
        } else {
            jobs = [try APIClient.decode(JobResponse.self, from: reply)]
        }
        for job in jobs { print(JobLine.describe(job)) }
        // A view that already has a job queued or running got none: say so, and with --wait
        // fail, since what was asked was not done.
        for entry in skipped {
            printError("skipped \(entry.view): \(entry.code) (it already has a queued or running job; run it again once that ends)")
        }
        guard wait else { return }
        var failed = !skipped.isEmpty
        for job in jobs {
            let final = try await JobLine.follow(job.id, client: client)
            failed = failed || final.state != "succeeded"
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
        let client = try options.client()
        if let id {
            if follow {
                _ = try await JobLine.follow(id, client: client)
            } else {
                print(String(buffer: try await client.expectOK(.GET, "/v1/jobs/\(id)")))
            }
            return
        }
        let body = try await client.decode(JobsResponse.self, .GET, "/v1/jobs?limit=\(limit)")
        print("ID        VIEW                    MODE         STATE      SCANNED/TOTAL          ROWS      VERSION  ERROR")
        for job in body.jobs { print(JobLine.describe(job)) }
    }
}

enum JobLine {
    static func describe(_ job: JobResponse) -> String {
        func column(_ value: (any CustomStringConvertible)?, _ width: Int) -> String {
            (value?.description ?? "-").padding(toLength: width, withPad: " ", startingAt: 0)
        }
        return column(job.id, 10) + column(job.view, 24) + column(job.mode, 13) + column(job.state, 11)
            + column("\(job.progress.scanned)/\(job.progress.total)", 23) + column(job.rowsWritten, 10) + column(job.version, 9) + (job.error ?? "")
    }

    /// Polls a job until it ends, drawing a progress bar on a terminal.
    static func follow(_ id: String, client: APIClient) async throws -> JobResponse {
        let bar = Progress(total: 1000, enabled: isatty(STDERR_FILENO) != 0)
        while true {
            let job = try await client.decode(JobResponse.self, .GET, "/v1/jobs/\(id)")
            if job.progress.total > 0 { bar.update(Int(job.progress.scanned * 1000 / job.progress.total)) }
            if job.state == "succeeded" || job.state == "failed" {
                bar.finish()
                print(describe(job))
                return job
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
