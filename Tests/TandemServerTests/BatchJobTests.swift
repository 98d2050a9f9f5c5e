import Aggregation
import BatchLayer
import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import Ingest
import NIOCore
import SpeedLayer
import Synchronization
import TandemAPI
import TandemServer
import TandemTestSupport
import Testing

/// Recompute jobs through the real application and a real PostgreSQL.
@Suite("Batch jobs")
struct BatchJobTests {
    /// No double sums: every state encodes exactly, whatever the merge order.
    static let view = #"""
        {"name":"jobs_view","stream":"pageviews","dimensions":["url"],"bucket":"1m",
         "aggregates":{"views":{"fn":"count"},"n_sum":{"fn":"sum","field":"n"},"n_max":{"fn":"max","field":"n"},"users":{"fn":"distinct","field":"user_id"}}}
        """#

    func post(_ client: some TestClientProtocol, _ uri: String, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }

    /// Submits a job (retrying while another runs) and waits until it ends; returns it (`nil`
    /// when it did not end).
    func runJob(_ client: some TestClientProtocol, mode: String) async throws -> JobResponse? {
        var id: String?
        for _ in 0..<1000 where id == nil {
            let response = try await post(client, "/v1/jobs", #"{"view":"jobs_view","mode":"\#(mode)"}"#)
            if response.status == .accepted {
                id = try decode(JobResponse.self, response).id
            } else {
                #expect(response.status == .conflict)
                #expect(try errorBody(response).code == "job_running")
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        let name = try #require(id)
        for _ in 0..<2000 {
            let job = try await client.get(JobResponse.self, "/v1/jobs/\(name)")
            if job.state == "succeeded" || job.state == "failed" { return job }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("job \(name) did not end")
        return nil
    }

    func postEvents(_ client: some TestClientProtocol, count: Int, seed: UInt64) async throws {
        let body = TestEvent.random(count: count, seed: seed).map(\.json).joined(separator: "\n")
        #expect(try await client.post(body, contentType: "application/x-ndjson").status == .ok)
    }

    @Test func fullAndIncrementalVersionsAreIdentical() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try TestDatabase.create()
        try await withApp(directory: directory, database: database, configure: { $0.ingest.eventTimeBounds.maxFutureMilliseconds = nil }) {
            client async throws in
            #expect(try await post(client, "/v1/views", Self.view).status == .created)
            try await postEvents(client, count: 2000, seed: 1)
            let first = try await runJob(client, mode: "full")
            #expect(first?.state == "succeeded")
            try await postEvents(client, count: 1500, seed: 2)
            let incremental = try await runJob(client, mode: "incremental")
            #expect(incremental?.mode == "incremental")
            #expect(incremental?.progress.total == 1500)
            let components = try #require(TestComponents.current)
            let view = try #require(components.views.compiledView("jobs_view"))
            let batch = try #require(components.batch)
            let incrementalVersion = try #require(batch.publication(for: view))
            let incrementalRows = try await batch.read(incrementalVersion, from: .min, to: .max)
            let full = try await runJob(client, mode: "full")
            #expect(full?.progress.total == 3500)
            let fullVersion = try #require(batch.publication(for: view))
            #expect(fullVersion.id > incrementalVersion.id)
            #expect(fullVersion.cut == incrementalVersion.cut)
            let fullRows = try await batch.read(fullVersion, from: .min, to: .max)
            #expect(fullRows.count > 100)
            #expect(fullRows == incrementalRows)
            #expect(full?.rowsWritten == Int64(fullRows.count))
            let jobs = try await client.get(JobsResponse.self, "/v1/jobs")
            #expect(jobs.jobs.count == 4)  // the new view's first job, then three
        }
    }

    /// The late records an answer over the whole of the test events counts.
    func lateRecords(_ client: some TestClientProtocol, view: String = "jobs_view") async throws -> (Int64?, QueryResponse.Provenance) {
        let query = #"{"view":"\#(view)","from":"2025-11-19T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all"}"#
        let response = try await post(client, "/v1/query", query)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        let provenance = try decode(QueryResponse.self, response).provenance
        return (provenance.lateRecords, provenance)
    }

    /// A version published before versions kept their largest event times (and their rows late
    /// counts): answers over it cannot say how many records were late, and say so with `null`;
    /// its next job runs full even when asked for an incremental one, and from then on the count
    /// is back, equal to that of the same view computed by the speed layer from offset 0.
    @Test func aVersionWithoutLateCountsAnswersNullUntilAFullJob() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try TestDatabase.create()
        let configure: (inout TandemConfiguration) -> Void = { $0.ingest.eventTimeBounds.maxFutureMilliseconds = nil }
        try await withApp(directory: directory, database: database, configure: configure) { client async throws in
            #expect(try await post(client, "/v1/views", Self.view).status == .created)
            try await postEvents(client, count: 2000, seed: 11)
            #expect(try await runJob(client, mode: "full")?.state == "succeeded")
            let (late, provenance) = try await lateRecords(client)
            #expect(provenance.source == "batch+speed")
            #expect((late ?? 0) > 0, "random event times over three hours: many arrive behind the watermark")
        }
        // As a version built by an earlier Tandem would be.
        try database.execute("UPDATE tandem_view_versions SET max_event_times = NULL")
        try await withApp(directory: directory, database: database, configure: configure) { client async throws in
            let (late, provenance) = try await lateRecords(client)
            #expect(provenance.source == "batch+speed")
            #expect(late == nil)
            try await postEvents(client, count: 500, seed: 12)
            #expect(try await lateRecords(client).0 == nil)
            let job = try await runJob(client, mode: "incremental")
            #expect(job?.state == "succeeded")
            #expect(job?.mode == "full")
            #expect(job?.progress.total == 2500)
            try await postEvents(client, count: 300, seed: 13)
            // The same view from offset 0, in the speed layer alone (its first job may or may not
            // have published yet: both answers count the same records).
            let twin = Self.view.replacingOccurrences(of: "jobs_view", with: "twin_view")
            #expect(try await post(client, "/v1/views", twin).status == .created)
            var agreed = false
            for _ in 0..<500 where !agreed {
                let (mine, provenance) = try await lateRecords(client)
                let (theirs, twinProvenance) = try await lateRecords(client, view: "twin_view")
                if provenance.lagRecords == 0 && twinProvenance.lagRecords == 0 {
                    #expect(mine != nil)
                    #expect(mine == theirs)
                    agreed = mine != nil && mine == theirs
                    break
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(agreed, "both views caught up and counted the same late records")
        }
    }

    @Test func jobErrorsAndHostileNames() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try TestDatabase.create()
        try await withApp(directory: directory, database: database) { client async throws in
            let unknown = try await post(client, "/v1/jobs", #"{"view":"nope","mode":"full"}"#)
            #expect(unknown.status == .notFound)
            #expect(try errorBody(unknown).code == "unknown_view")
            #expect(try await client.execute(uri: "/v1/jobs/j_999999", method: .get).status == .notFound)
            for name in [#"x\"; DROP TABLE tandem_jobs; --"#, "Robert'); DROP TABLE x;--", "a b", "tandem_vv_1\\\""] {
                let hostile = Self.view.replacingOccurrences(of: "jobs_view", with: name)
                let response = try await post(client, "/v1/views", hostile)
                #expect(response.status == .badRequest, "\(name)")
            }
            let field = Self.view.replacingOccurrences(of: #""field":"n"}"#, with: #""field":"n; DROP TABLE tandem_jobs"}"#)
            #expect(try await post(client, "/v1/views", field).status == .badRequest)
            // The jobs table is still there: the list answers and decodes.
            await #expect(throws: Never.self) { try await client.get(JobsResponse.self, "/v1/jobs") }
        }
    }

    /// Waits (bounded) until a job with this trigger has succeeded.
    func waitForJob(_ client: some TestClientProtocol, trigger: String, view: String) async throws -> JobResponse? {
        for _ in 0..<800 {
            let jobs = try await client.get(JobsResponse.self, "/v1/jobs").jobs
            if let job = jobs.first(where: { $0.trigger == trigger && $0.view == view && $0.state == "succeeded" }) {
                return job
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    @Test func schedulesAndSpeedStateSizeTriggerJobs() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try TestDatabase.create()
        try await withApp(
            directory: directory, database: database,
            configure: {
                $0.ingest.eventTimeBounds.maxFutureMilliseconds = nil
                $0.speed.stateRowLimit = 50
            }
        ) { client async throws in
            let scheduled = Self.view.replacingOccurrences(of: #""bucket":"1m","#, with: #""bucket":"1m","schedule":"every 1s","#)
            #expect(try await post(client, "/v1/views", scheduled).status == .created)
            let job = try await waitForJob(client, trigger: "schedule", view: "jobs_view")
            #expect(job != nil, "no scheduled job ran within 8 s")
            #expect(job?.mode == "incremental")
            let badSchedule = Self.view.replacingOccurrences(of: "jobs_view", with: "other").replacingOccurrences(
                of: #""bucket":"1m","#, with: #""bucket":"1m","schedule":"every now and then","#)
            let refused = try await post(client, "/v1/views", badSchedule)
            #expect(refused.status == .badRequest)
            #expect(try errorBody(refused).code == "invalid_view")
            // A view without a schedule whose speed state passes 50 rows gets an incremental job.
            #expect(try await post(client, "/v1/views", Self.view.replacingOccurrences(of: "jobs_view", with: "sized")).status == .created)
            // (Its first full job must be done first, or its cut could take in the events below.)
            #expect(try await waitForJob(client, trigger: "new_view", view: "sized") != nil)
            try await postEvents(client, count: 2000, seed: 9)
            #expect(try await waitForJob(client, trigger: "size", view: "sized") != nil, "no job was triggered by the speed state's size")
        }
    }

    @Test func aFailedAttemptPublishesNothingAndIsRetried() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try TestDatabase.create()
        try await withApp(
            directory: directory, database: database,
            configure: {
                $0.ingest.eventTimeBounds.maxFutureMilliseconds = nil
                $0.batch.retryDelay = .milliseconds(20)
            }
        ) { client async throws in
            #expect(try await post(client, "/v1/views", Self.view).status == .created)
            #expect(try await waitForJob(client, trigger: "new_view", view: "jobs_view") != nil)
            try await postEvents(client, count: 500, seed: 4)
            // The next version will be number 2: a table already in its way makes the attempt fail.
            try database.execute("CREATE TABLE tandem_vv_2 (x int)")
            let job = try await runJob(client, mode: "incremental")
            #expect(job?.state == "succeeded")
            #expect(job?.attempts == 2)
            #expect(job?.version == 3)
            let query = #"{"view":"jobs_view","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all"}"#
            let answer = try decode(QueryResponse.self, try await post(client, "/v1/query", query))
            #expect(answer.provenance.batchVersion == 3)
            #expect(answer.rows.first?["views"]?.int == 500)
        }
    }

    @Test func aPublishWhoseAnswerIsLostIsReadBackAndKept() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try TestDatabase.create()
        // The first publish of the view commits, and then its answer is "lost".
        let lost = Mutex(0)
        let faults = BatchFaults(publishAnswerLost: { view in
            lost.withLock { count in
                count += 1
                return view == "jobs_view" && count == 1
            }
        })
        try await withApp(
            directory: directory, database: database, batchFaults: faults, configure: { $0.ingest.eventTimeBounds.maxFutureMilliseconds = nil }
        ) { client async throws in
            #expect(try await post(client, "/v1/views", Self.view).status == .created)
            let first = try #require(try await waitForJob(client, trigger: "new_view", view: "jobs_view"))
            #expect(first.attempts == 1, "the publish went through: no second attempt")
            #expect(first.version == 1)
            #expect(lost.withLock { $0 } == 1)
            try await postEvents(client, count: 300, seed: 5)
            let query = #"{"view":"jobs_view","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all"}"#
            var answer = try decode(QueryResponse.self, try await post(client, "/v1/query", query))
            #expect(answer.provenance.batchVersion == 1)
            #expect(answer.provenance.complete)
            // Version 1's table was kept: an incremental job merges into it.
            #expect(try database.scalar("SELECT count(*) FROM tandem_view_versions WHERE id = 1 AND state = 'published'") == "1")
            let incremental = try await runJob(client, mode: "incremental")
            #expect(incremental?.state == "succeeded")
            #expect(incremental?.mode == "incremental")
            answer = try decode(QueryResponse.self, try await post(client, "/v1/query", query))
            #expect(answer.provenance.batchVersion == incremental?.version)
            #expect(answer.rows.first?["views"]?.int == 300)
        }
    }

    @Test func withoutADatabaseJobsAre503AndAnswersComeFromTheSpeedLayer() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withApp(directory: directory) { client async throws in
            #expect(try await post(client, "/v1/views", Self.view).status == .created)
            let response = try await post(client, "/v1/jobs", #"{"view":"jobs_view"}"#)
            #expect(response.status == .serviceUnavailable)
            #expect(try errorBody(response).code == "batch_unavailable")
        }
    }
}
